//! RFC 3161 time-stamps: real TSAs (OpenSSL, RSA and EC keys), replies
//! checked by evault and by `openssl ts -verify`, forgeries refused or named.

use std::fs;
use std::path::Path;
use std::process::Command;

use evault_core::timestamp::{Anchors, Expected, Trust, check_reply};
use evault_core::{OrderId, Vault};

use crate::tsa::{Alg, Tsa, openssl_verifies};
use crate::util::{copy_dir, evault, forge_line, manifest, ok, refused, run};

const ORDER: &str = "SO-2026-7781";

/// `evault stamp request ORDER -o OUT` on `vault`.
fn stamp_request(vault: &Path, out: &Path) -> Command {
    let mut cmd = evault(vault);
    cmd.args(["stamp", "request", ORDER, "-o"]).arg(out);
    cmd
}

/// A vault with one note in ORDER.
fn vault_with_note(dir: &Path) -> std::path::PathBuf {
    let vault = dir.join("vault");
    ok(evault(&vault).arg("init"));
    ok(evault(&vault).args(["note", ORDER, "box sealed with tape #4411"]));
    vault
}

/// The bytes a stamp over checkpoint `seq` covers, written to `out`.
fn checkpoint_message(vault: &Path, seq: u64, out: &Path) -> Vec<u8> {
    let order: OrderId = ORDER.parse().unwrap();
    let log = Vault::open(vault).unwrap().log(&order).unwrap();
    let (_, message) = log.checkpoint_message(&order, seq).unwrap();
    fs::write(out, &message).unwrap();
    message
}

fn trusted(reply: &[u8], message: &[u8], anchors: &Anchors) -> bool {
    let expected = Expected {
        message,
        nonce: None,
    };
    check_reply(reply, &expected, anchors).is_ok_and(|s| matches!(s.trust, Trust::Trusted { .. }))
}

/// A request made by `openssl ts -query` (`digest` over `data`, certReq
/// not set), written in `dir`; returns its path.
fn openssl_query(dir: &Path, digest: &str, data: &[u8]) -> std::path::PathBuf {
    let (data_path, query) = (
        dir.join(format!("{digest}.data")),
        dir.join(format!("{digest}.tsq")),
    );
    fs::write(&data_path, data).unwrap();
    ok(Command::new("openssl")
        .args(["ts", "-query", &format!("-{digest}"), "-data"])
        .arg(&data_path)
        .arg("-out")
        .arg(&query));
    query
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn rsa_and_ec_tokens_verify_and_agree_with_openssl() {
    // The last names its certificate by the original ESSCertID (SHA-1).
    for (alg, name, v1) in [
        (Alg::Rsa, "RSA", false),
        (Alg::P256, "P-256", false),
        (Alg::P384, "P-384", false),
        (Alg::P256, "P-256 v1", true),
    ] {
        let tsa = Tsa::new(alg, name);
        if v1 {
            tsa.use_ess_cert_id_v1();
        }
        let tmp = tempfile::tempdir().unwrap();
        let vault = vault_with_note(tmp.path());
        let query = tmp.path().join("checkpoint.tsq");
        let out = ok(&mut stamp_request(&vault, &query));
        assert!(out.contains("checkpoint #2"), "{out}");
        // OpenSSL reads the request: SHA-256, a nonce, certReq set.
        let text = ok(Command::new("openssl")
            .args(["ts", "-query", "-text", "-in"])
            .arg(&query));
        assert!(text.contains("Hash Algorithm: sha256"), "{text}");
        assert!(text.contains("Certificate required: yes"), "{text}");
        assert!(!text.contains("Nonce: unspecified"), "{text}");

        let reply = tsa.reply(&query);
        let out = ok(evault(&vault)
            .arg("--tsa-ca")
            .arg(tsa.ca())
            .args(["stamp", "attach", ORDER])
            .arg(&reply));
        assert!(out.contains("valid and trusted"), "{name}: {out}");
        assert!(out.contains(&format!("CN={name} TSA")), "{out}");
        // The same reply again: reported (checked again), not recorded twice.
        let log = fs::read(manifest(&vault, ORDER)).unwrap();
        let out = ok(evault(&vault).args(["stamp", "attach", ORDER]).arg(&reply));
        assert!(
            out.contains("already recorded: this reply is SO-2026-7781 #3"),
            "{out}"
        );
        assert_eq!(fs::read(manifest(&vault, ORDER)).unwrap(), log);

        let msg_path = tmp.path().join("checkpoint.msg");
        let message = checkpoint_message(&vault, 2, &msg_path);
        assert!(openssl_verifies(&reply, &msg_path, &tsa.ca()), "{name}");
        assert!(
            !openssl_verifies(&reply, &query, &tsa.ca()),
            "openssl must reject other data"
        );

        let out = ok(evault(&vault).arg("--tsa-ca").arg(tsa.ca()).arg("verify"));
        assert!(out.contains("1 time-stamp valid and trusted"), "{out}");
        let out = ok(evault(&vault).arg("verify"));
        assert!(out.contains("1 time-stamp valid, TSA not trusted"), "{out}");

        // Tampered tokens: the same verdict as OpenSSL where it matters,
        // and never accepted by evault when OpenSSL rejects them.
        let anchors = Anchors::load(&tsa.ca()).unwrap();
        let good = fs::read(&reply).unwrap();
        assert!(trusted(&good, &message, &anchors));
        let imprint = position(&good, &sha256(&message));
        let gen_time = position(&good, &[0x18, 0x0f]) + 5; // a digit of the year
        let must_fail = [good.len() - 1, imprint + 7, gen_time];
        let sweep = (0..good.len()).step_by(29);
        let tampered_path = tmp.path().join("tampered.tsr");
        let ca = {
            let out = Command::new("openssl")
                .args(["x509", "-outform", "DER", "-in"])
                .arg(tsa.ca())
                .output()
                .unwrap();
            let at = position(&good, &out.stdout);
            at..at + out.stdout.len()
        };
        for i in must_fail.into_iter().chain(sweep) {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            fs::write(&tampered_path, &bad).unwrap();
            let ours = trusted(&bad, &message, &anchors);
            let theirs = openssl_verifies(&tampered_path, &msg_path, &tsa.ca());
            assert!(
                !ours || theirs,
                "{name}: evault accepted a token OpenSSL rejects (byte {i} flipped)"
            );
            if must_fail.contains(&i) {
                assert!(!ours && !theirs, "{name}: byte {i} flipped must fail both");
            }
            // Only the copy of the CA certificate the token carries is
            // covered by no signature (the trust anchor stands in for it).
            assert!(
                !ours || ca.contains(&i),
                "{name}: byte {i} flipped outside the CA copy was accepted"
            );
        }
    }
}

#[test]
fn tokens_naming_their_certificate_by_the_original_ess_cert_id_verify() {
    // OpenSSL's own default (and so many small TSAs'): signingCertificate
    // with a SHA-1 ESSCertID, no signingCertificateV2.
    let tsa = Tsa::new(Alg::Rsa, "Legacy");
    tsa.use_ess_cert_id_v1();
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    let query = tmp.path().join("checkpoint.tsq");
    ok(&mut stamp_request(&vault, &query));
    let reply = tsa.reply(&query);
    let good = fs::read(&reply).unwrap();
    const V1: [u8; 11] = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0c,
    ];
    const V2: [u8; 11] = [
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
    ];
    assert!(good.windows(11).any(|w| w == V1), "no signingCertificate");
    assert!(
        !good.windows(11).any(|w| w == V2),
        "signingCertificateV2 present"
    );

    let msg_path = tmp.path().join("checkpoint.msg");
    let message = checkpoint_message(&vault, 2, &msg_path);
    let anchors = Anchors::load(&tsa.ca()).unwrap();
    assert!(trusted(&good, &message, &anchors));
    assert!(openssl_verifies(&reply, &msg_path, &tsa.ca()));
    let out = ok(evault(&vault)
        .arg("--tsa-ca")
        .arg(tsa.ca())
        .args(["stamp", "attach", ORDER])
        .arg(&reply));
    assert!(out.contains("valid and trusted"), "{out}");
    let out = ok(evault(&vault).arg("--tsa-ca").arg(tsa.ca()).arg("verify"));
    assert!(out.contains("1 time-stamp valid and trusted"), "{out}");

    // The SHA-1 hash must name the certificate that signed: one bit off and
    // the token is invalid, for evault (naming the check) and for OpenSSL.
    let at = position(&good, &sha1(&tsa.cert_der()));
    let mut bad = good.clone();
    bad[at + 3] ^= 0x01;
    let expected = Expected {
        message: &message,
        nonce: None,
    };
    let err = check_reply(&bad, &expected, &anchors)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ESSCertID does not name the certificate"),
        "{err}"
    );
    let bad_path = tmp.path().join("bad.tsr");
    fs::write(&bad_path, &bad).unwrap();
    assert!(!openssl_verifies(&bad_path, &msg_path, &tsa.ca()));
}

fn sha1(bytes: &[u8]) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    Sha1::digest(bytes).to_vec()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).to_vec()
}

#[test]
fn foreign_refused_and_forged_stamps_are_refused_or_named() {
    let good = Tsa::new(Alg::Rsa, "Good");
    let other = Tsa::new(Alg::P256, "Other");
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    let query = tmp.path().join("q.tsq");
    ok(&mut stamp_request(&vault, &query));
    let log = manifest(&vault, ORDER);
    let before = fs::read(&log).unwrap();

    // A reply to another vault's request: its nonce and imprint differ.
    let elsewhere = tempfile::tempdir().unwrap();
    let vault2 = vault_with_note(elsewhere.path());
    let query2 = elsewhere.path().join("q2.tsq");
    ok(&mut stamp_request(&vault2, &query2));
    let err = refused(
        evault(&vault)
            .args(["stamp", "attach", ORDER])
            .arg(good.reply(&query2)),
    );
    assert!(
        err.contains("answers none of the waiting requests"),
        "{err}"
    );

    // A TSA that refuses (SHA-1 is not among its digests).
    let sha1 = openssl_query(tmp.path(), "sha1", b"x");
    let err = refused(
        evault(&vault)
            .args(["stamp", "attach", ORDER])
            .arg(good.reply(&sha1)),
    );
    assert!(err.contains("refused the request (status 2"), "{err}");

    // Not a reply at all.
    let junk = tmp.path().join("junk.tsr");
    fs::write(&junk, "HTTP/1.1 502 Bad Gateway\r\n").unwrap();
    let err = refused(evault(&vault).args(["stamp", "attach", ORDER]).arg(&junk));
    assert!(err.contains("malformed time-stamp reply"), "{err}");
    let err = refused(&mut stamp_request(&vault, &query));
    assert!(err.contains("already exists"), "{err}");
    let err = refused(&mut stamp_request(
        &vault,
        &tmp.path().join("no-such-folder/q.tsq"),
    ));
    assert!(
        err.contains("does not exist (nothing was recorded)"),
        "{err}"
    );
    let err = refused(evault(&vault).args(["stamp", ORDER, "--tsa", "https://tsa.example/"]));
    assert!(err.contains("only http:// URLs"), "{err}");
    assert_eq!(
        fs::read(&log).unwrap(),
        before,
        "a refused reply recorded something"
    );

    // A valid token from a TSA outside the trust anchors: recorded, never "trusted".
    let reply = other.reply(&query);
    let out = ok(evault(&vault)
        .arg("--tsa-ca")
        .arg(good.ca())
        .args(["stamp", "attach", ORDER])
        .arg(&reply));
    assert!(out.contains("valid, TSA not trusted"), "{out}");
    let msg = tmp.path().join("msg");
    checkpoint_message(&vault, 2, &msg);
    assert!(!openssl_verifies(&reply, &msg, &good.ca()));
    assert!(openssl_verifies(&reply, &msg, &other.ca()));
    let out = ok(evault(&vault).arg("--tsa-ca").arg(good.ca()).arg("verify"));
    assert!(out.contains("[stamp-untrusted]"), "{out}");
    assert!(out.contains("1 time-stamp valid, TSA not trusted"), "{out}");
    // Anchors as a folder of certificates (other files in it are ignored).
    let roots = tmp.path().join("roots");
    fs::create_dir(&roots).unwrap();
    fs::copy(other.ca(), roots.join("other-root.crt")).unwrap();
    fs::write(roots.join("notes.txt"), "not a certificate").unwrap();
    let out = ok(evault(&vault).arg("--tsa-ca").arg(&roots).arg("verify"));
    assert!(out.contains("1 time-stamp valid and trusted"), "{out}");

    // Forged stamp entries, re-chained so that only the stamp check can tell.
    let pristine = tmp.path().join("pristine");
    copy_dir(&vault, &pristine);
    forge_line(
        &log,
        "\"type\":\"stamp\"",
        "\"checkpoint\":2",
        "\"checkpoint\":1",
    );
    let (code, out, _) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[stamp-invalid]"), "{out}");
    assert!(out.contains("not an earlier checkpoint"), "{out}");

    // The entry's displayed time edited (the token still verifies).
    fs::remove_dir_all(&vault).unwrap();
    copy_dir(&pristine, &vault);
    let line = fs::read_to_string(&log).unwrap();
    let time = line.split("\"time\":\"").nth(1).unwrap();
    let time = &time[..time.find('"').unwrap()];
    forge_line(
        &log,
        "\"type\":\"stamp\"",
        &format!("\"time\":\"{time}\""),
        "\"time\":\"2020-01-01T00:00:00Z\"",
    );
    let (code, out, _) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the entry was edited"), "{out}");

    // A real token, but over another vault's checkpoint.
    fs::remove_dir_all(&vault).unwrap();
    copy_dir(&pristine, &vault);
    let q3 = elsewhere.path().join("q3.tsq");
    ok(&mut stamp_request(&vault2, &q3));
    let foreign = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(fs::read(other.reply(&q3)).unwrap())
    };
    let line = fs::read_to_string(&log).unwrap();
    let ours = line.split("\"reply\":\"").nth(1).unwrap();
    let ours = &ours[..ours.find('"').unwrap()];
    forge_line(&log, "\"type\":\"stamp\"", ours, &foreign);
    let (code, out, _) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[stamp-invalid]"), "{out}");
    assert!(out.contains("over other data"), "{out}");

    // Trust anchors that cannot be read: an error, nothing checked.
    let err = refused(evault(&vault).args(["--tsa-ca", "/nonexistent/roots.pem", "verify"]));
    assert!(
        err.contains("trust anchors /nonexistent/roots.pem"),
        "{err}"
    );
    assert!(err.contains("--tsa-ca"), "{err}");

    fs::remove_dir_all(&vault).unwrap();
    copy_dir(&pristine, &vault);
    // One bit of the signed TSTInfo (a digit of its genTime) flipped in the
    // stored reply. (The copy of the CA certificate a token carries is
    // covered by no signature: flipping bits there can leave a valid token.)
    let line = fs::read_to_string(&log).unwrap();
    let b64 = line.split("\"reply\":\"").nth(1).unwrap();
    let b64 = &b64[..b64.find('"').unwrap()];
    let flipped = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut reply = engine.decode(b64).unwrap();
        let gen_time = position(&reply, &[0x18, 0x0f]) + 5;
        reply[gen_time] ^= 0x01;
        engine.encode(reply)
    };
    forge_line(&log, "\"type\":\"stamp\"", b64, &flipped);
    let (code, out, _) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[stamp-invalid]"), "{out}");
}

#[test]
fn stamp_over_http_records_a_checked_reply() {
    let tsa = Tsa::new(Alg::P384, "Loopback");
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    let url = tsa.serve(1);
    let out = ok(evault(&vault)
        .arg("--tsa-ca")
        .arg(tsa.ca())
        .args(["stamp", ORDER, "--tsa", &url]));
    assert!(out.contains("checkpoint #2"), "{out}");
    assert!(
        out.contains("valid and trusted (chains to CN=Loopback Root CA)"),
        "{out}"
    );
    let log = ok(evault(&vault).args(["log", ORDER]));
    assert!(
        log.contains("RFC 3161 time-stamp over checkpoint #2"),
        "{log}"
    );
    // The request went out as a standard TimeStampReq OpenSSL can read.
    let query = tsa.dir.path().join("http-0.tsq");
    ok(Command::new("openssl")
        .args(["ts", "-query", "-text", "-in"])
        .arg(&query));

    // No TSA listening: the error names the URL and the request stays for `attach`.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    ok(evault(&vault).args(["note", ORDER, "label printed"]));
    let err = refused(evault(&vault).args(["stamp", ORDER, "--tsa", &url]));
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("stamp attach"), "{err}");
}

#[test]
fn stamped_bundles_carry_tokens_that_openssl_and_verify_bundle_check() {
    use crate::export::{ORDER as SAMPLE, disputed, export, find_member, members, rewrite};
    let tsa = Tsa::new(Alg::Rsa, "Bundle");
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 0, "stripe");
    let url = tsa.serve(1);
    ok(evault(&vault).args(["stamp", SAMPLE, "--tsa", &url]));
    let zip = tmp.path().join("stamped.zip");
    let (code, out, err) = export(&vault, &zip, &[]);
    assert_eq!(code, 0, "{out}{err}");

    let out = ok(evault(&vault)
        .arg("--tsa-ca")
        .arg(tsa.ca())
        .arg("verify-bundle")
        .arg(&zip));
    assert!(out.contains("1 time-stamp valid and trusted"), "{out}");
    let out = ok(evault(&vault).arg("verify-bundle").arg(&zip));
    assert!(out.contains("1 time-stamp valid, TSA not trusted"), "{out}");

    // The copies in evault/stamps/ are what `openssl ts -verify` needs.
    let files = members(&zip);
    let (tsr, data) = (tmp.path().join("b.tsr"), tmp.path().join("b.data"));
    fs::write(&tsr, find_member(&files, ".tsr")).unwrap();
    fs::write(&data, find_member(&files, ".data")).unwrap();
    assert!(openssl_verifies(&tsr, &data, &tsa.ca()));
    let readme = String::from_utf8(find_member(&files, "/README.txt")).unwrap();
    assert!(
        readme.contains("openssl ts -verify -in evault/stamps/"),
        "{readme}"
    );

    // The summary PDF's appendix shows the authority's time.
    let pdf = tmp.path().join("summary.pdf");
    fs::write(&pdf, find_member(&files, "/data/upload/01-summary.pdf")).unwrap();
    let text = ok(Command::new("pdftotext").arg(&pdf).arg("-"));
    assert!(text.contains("according to the time-stamp"), "{text}");
    assert!(text.contains("CN=Bundle TSA"), "{text}");

    // A stamp copy swapped for another reply is named.
    let other = tempfile::tempdir().unwrap();
    let vault2 = vault_with_note(other.path());
    let q = other.path().join("q.tsq");
    ok(&mut stamp_request(&vault2, &q));
    let foreign = fs::read(tsa.reply(&q)).unwrap();
    let bad = tmp.path().join("swapped.zip");
    rewrite(
        &zip,
        &bad,
        |name, bytes| {
            if name.ends_with(".tsr") {
                bytes.clone_from(&foreign);
            }
        },
        |_, _| {},
    );
    let (code, out, _) = run(evault(&vault).arg("verify-bundle").arg(&bad));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[stamp-copy-differs]"), "{out}");
    assert!(out.contains("differs from stamp entry"), "{out}");

    // A copy removed, and one added that no stamp entry accounts for.
    let bad = tmp.path().join("removed-and-added.zip");
    let kept: Vec<(String, Vec<u8>)> = members(&zip)
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".data"))
        .collect();
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(fs::File::create(&bad).unwrap());
        let top = kept[0].0.split('/').next().unwrap().to_owned();
        for (name, bytes) in &kept {
            w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.start_file(
            format!("{top}/evault/stamps/entry-99.tsr"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        w.write_all(&foreign).unwrap();
        w.finish().unwrap();
    }
    let (code, out, _) = run(evault(&vault).arg("verify-bundle").arg(&bad));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is missing (or over 1 MiB)"), "{out}");
    assert!(out.contains("matches no valid stamp entry"), "{out}");
}

#[test]
fn an_attach_cut_short_before_the_request_is_removed_is_finished_not_repeated() {
    let tsa = Tsa::new(Alg::P256, "Crash");
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    let query = tmp.path().join("q.tsq");
    ok(&mut stamp_request(&vault, &query));
    let reply = tsa.reply(&query);
    let waiting = fs::read_dir(manifest(&vault, ORDER).with_file_name("stamp-requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    assert_eq!(waiting.len(), 1);
    let kept = fs::read(&waiting[0]).unwrap();
    assert_eq!(
        kept,
        fs::read(&query).unwrap(),
        "the vault keeps the request as written"
    );
    ok(evault(&vault).args(["stamp", "attach", ORDER]).arg(&reply));
    // As if the process died after the entry was durable but before the
    // request was removed: the request is back.
    fs::write(&waiting[0], &kept).unwrap();
    let out = ok(evault(&vault).args(["stamp", "attach", ORDER]).arg(&reply));
    assert!(
        out.contains("already recorded: this reply is SO-2026-7781 #3"),
        "{out}"
    );
    let log = fs::read_to_string(manifest(&vault, ORDER)).unwrap();
    assert_eq!(log.matches("\"type\":\"stamp\"").count(), 1, "{log}");
    assert!(!waiting[0].exists());
    ok(evault(&vault).arg("verify"));
}

#[test]
fn simultaneous_attaches_of_one_reply_record_it_once() {
    let tsa = Tsa::new(Alg::Rsa, "Race");
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    for round in 0..3 {
        let query = tmp.path().join(format!("q{round}.tsq"));
        ok(&mut stamp_request(&vault, &query));
        let reply = tsa.reply(&query);
        // A request that is never answered waits beside it.
        ok(&mut stamp_request(
            &vault,
            &tmp.path().join(format!("w{round}.tsq")),
        ));
        let children: Vec<_> = (0..4)
            .map(|_| {
                evault(&vault)
                    .args(["stamp", "attach", ORDER])
                    .arg(&reply)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // One records it; the others find it recorded (whether or not the
        // request was still there) and say so.
        let mut recorded = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let (stdout, err) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert_eq!(out.status.code(), Some(0), "round {round}: {err}");
            if stdout.starts_with("stamped ") {
                recorded += 1;
            } else {
                assert!(stdout.starts_with("already recorded: "), "{stdout}");
            }
        }
        assert_eq!(recorded, 1, "round {round}");
        let log = fs::read_to_string(manifest(&vault, ORDER)).unwrap();
        let stamps = log.matches("\"type\":\"stamp\"").count();
        assert_eq!(stamps, round + 1, "round {round}: {log}");
    }
    ok(evault(&vault).arg("verify"));
}

#[test]
fn a_token_without_the_tsa_certificate_is_invalid_whatever_the_anchors() {
    let tsa = Tsa::new(Alg::P256, "NoCert");
    let tmp = tempfile::tempdir().unwrap();
    // certReq not set: OpenSSL's TSA leaves its certificate out.
    let query = openssl_query(tmp.path(), "sha256", b"evault-checkpoint/1\n");
    let reply = fs::read(tsa.reply(&query)).unwrap();
    let expected = Expected {
        message: b"evault-checkpoint/1\n",
        nonce: None,
    };
    // Even with the TSA's own certificate among the anchors.
    let anchors = Anchors::load(&tsa.dir.path().join("tsa.pem")).unwrap();
    let err = check_reply(&reply, &expected, &anchors).unwrap_err();
    assert!(
        err.to_string()
            .contains("does not carry the TSA's certificate"),
        "{err}"
    );
}

#[test]
fn a_token_signed_after_its_certificate_expired_is_invalid_for_both() {
    let tsa = Tsa::expired(Alg::Rsa, "Expired");
    let tmp = tempfile::tempdir().unwrap();
    let vault = vault_with_note(tmp.path());
    let query = tmp.path().join("q.tsq");
    ok(&mut stamp_request(&vault, &query));
    let reply = tsa.reply(&query);
    let log = manifest(&vault, ORDER);
    let before = fs::read(&log).unwrap();
    let err = refused(
        evault(&vault)
            .arg("--tsa-ca")
            .arg(tsa.ca())
            .args(["stamp", "attach", ORDER])
            .arg(&reply),
    );
    assert!(err.contains("fails a check, certificate:"), "{err}");
    assert!(err.contains("is valid from 2020-01-01"), "{err}");
    assert_eq!(fs::read(&log).unwrap(), before);
    let msg = tmp.path().join("msg");
    checkpoint_message(&vault, 2, &msg);
    assert!(!openssl_verifies(&reply, &msg, &tsa.ca()));
}
