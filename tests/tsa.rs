//! A real time-stamp authority for tests: a CA and a TSA certificate made
//! with OpenSSL in a temporary folder, replies made by `openssl ts -reply`,
//! optionally served over HTTP on loopback.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The key type of a test CA and TSA.
#[derive(Clone, Copy, Debug)]
pub enum Alg {
    Rsa,
    P256,
    P384,
}

pub struct Tsa {
    pub dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_args(alg: Alg) -> Vec<&'static str> {
    match alg {
        Alg::Rsa => vec!["-newkey", "rsa:2048"],
        Alg::P256 => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        Alg::P384 => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"],
    }
}

impl Tsa {
    /// A root CA named `name` and a TSA certificate it issued (critical
    /// timeStamping EKU, ESSCertIDv2 with SHA-256, signer digest per key).
    pub fn new(alg: Alg, name: &str) -> Self {
        Self::make(alg, name, false)
    }

    /// The same, but the TSA certificate expired in 2021 (issued with
    /// `openssl ca`, valid 2020-01-01 to 2021-01-01): OpenSSL still signs.
    pub fn expired(alg: Alg, name: &str) -> Self {
        Self::make(alg, name, true)
    }

    fn make(alg: Alg, name: &str, expired: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let digest = if matches!(alg, Alg::P384) {
            "sha384"
        } else {
            "sha256"
        };
        fs::write(
            d.join("tsa.cnf"),
            format!(
                "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n\
                 [ca_ext]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n\
                 [tsa_ext]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = critical,timeStamping\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
                 [tsa]\ndefault_tsa = tsa_config\n\
                 [tsa_config]\nserial = {0}/serial\ncrypto_device = builtin\nsigner_cert = {0}/tsa.pem\ncerts = {0}/ca.pem\nsigner_key = {0}/tsa.key\n\
                 signer_digest = {digest}\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = no\n\
                 ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                d.display()
            ),
        )
        .unwrap();
        let subj = format!("/CN={name} Root CA");
        let mut args = vec!["req", "-x509", "-new"];
        args.extend(key_args(alg));
        args.extend([
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3650",
            "-subj",
            &subj,
            "-config",
            "tsa.cnf",
            "-extensions",
            "ca_ext",
        ]);
        openssl(&args, d);
        let subj = format!("/CN={name} TSA");
        let mut args = vec!["req", "-new"];
        args.extend(key_args(alg));
        args.extend([
            "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", &subj, "-config", "tsa.cnf",
        ]);
        openssl(&args, d);
        if expired {
            fs::create_dir(d.join("db")).unwrap();
            fs::write(d.join("db/index.txt"), "").unwrap();
            fs::write(d.join("db/serial"), "1000\n").unwrap();
            fs::write(
                d.join("ca.cnf"),
                format!(
                    "[ca]\ndefault_ca = dflt\n[dflt]\ndatabase = {0}/db/index.txt\nserial = {0}/db/serial\n\
                     new_certs_dir = {0}/db\ncertificate = {0}/ca.pem\nprivate_key = {0}/ca.key\n\
                     default_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n",
                    d.display()
                ),
            )
            .unwrap();
            openssl(
                &[
                    "ca",
                    "-batch",
                    "-config",
                    "ca.cnf",
                    "-in",
                    "tsa.csr",
                    "-out",
                    "tsa.pem",
                    "-startdate",
                    "20200101000000Z",
                    "-enddate",
                    "20210101000000Z",
                    "-extfile",
                    "tsa.cnf",
                    "-extensions",
                    "tsa_ext",
                ],
                d,
            );
        } else {
            openssl(
                &[
                    "x509",
                    "-req",
                    "-in",
                    "tsa.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "tsa.pem",
                    "-days",
                    "3650",
                    "-extfile",
                    "tsa.cnf",
                    "-extensions",
                    "tsa_ext",
                ],
                d,
            );
        }
        Self { dir }
    }

    /// Makes later replies name the TSA certificate the way OpenSSL does by
    /// default: the original signingCertificate attribute (ESSCertID, SHA-1)
    /// instead of signingCertificateV2.
    pub fn use_ess_cert_id_v1(&self) {
        let cnf = self.dir.path().join("tsa.cnf");
        let text = fs::read_to_string(&cnf).unwrap();
        assert!(text.contains("ess_cert_id_alg = sha256"));
        fs::write(
            &cnf,
            text.replace("ess_cert_id_alg = sha256", "ess_cert_id_alg = sha1"),
        )
        .unwrap();
    }

    /// The TSA certificate, DER.
    pub fn cert_der(&self) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(self.dir.path().join("tsa.pem"))
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// The root certificate (the trust anchor).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `openssl ts -reply` to the request in `query`; returns the reply's path.
    pub fn reply(&self, query: &Path) -> PathBuf {
        let out = self.dir.path().join(format!(
            "reply-{}.tsr",
            query.file_stem().unwrap().to_string_lossy()
        ));
        reply_to(self.dir.path(), query, &out);
        out
    }

    /// Serves `openssl ts -reply` over HTTP on loopback for `requests`
    /// POSTs; returns the URL.
    pub fn serve(&self, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let dir = self.dir.path().to_path_buf();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(requests).enumerate() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                let mut ok = false;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if lower.starts_with("content-type: application/timestamp-query") {
                        ok = true;
                    }
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let query = dir.join(format!("http-{i}.tsq"));
                let reply = dir.join(format!("http-{i}.tsr"));
                fs::write(&query, &body).unwrap();
                let response = if ok {
                    reply_to(&dir, &query, &reply);
                    let tsr = fs::read(&reply).unwrap();
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        tsr.len()
                    )
                    .into_bytes();
                    r.extend(tsr);
                    r
                } else {
                    b"HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
                };
                stream.write_all(&response).unwrap();
            }
        });
        url
    }
}

fn reply_to(dir: &Path, query: &Path, out: &Path) {
    let (query, out) = (query.to_str().unwrap(), out.to_str().unwrap());
    openssl(
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            query,
            "-out",
            out,
        ],
        dir,
    );
}

/// Whether `openssl ts -verify` accepts `reply` over `data` with `ca` as
/// its only trust anchor.
pub fn openssl_verifies(reply: &Path, data: &Path, ca: &Path) -> bool {
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-in"])
        .arg(reply)
        .arg("-data")
        .arg(data)
        .arg("-CAfile")
        .arg(ca)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}
