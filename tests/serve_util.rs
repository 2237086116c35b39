//! A real `evault serve` on an ephemeral loopback port, and an HTTP client
//! that keeps a session cookie.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::util::{evault, run};

/// A running server, killed on drop.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub stdout: Vec<String>,
}

impl Served {
    /// Starts `evault serve --listen 127.0.0.1:0 ARGS` on `vault`; returns once it listens.
    pub fn start(vault: &Path, args: &[&str]) -> Self {
        let mut child = evault(vault)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_else(|| {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("evault serve did not start: {err}")
        });
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        let mut stdout = vec![first];
        if url.starts_with("https") {
            stdout.extend(lines.by_ref().take(2).map_while(Result::ok));
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url, stdout }
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A vault with one user per role (password `password-<name>`) and a service token.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub vault: PathBuf,
    pub token: String,
}

pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    for (name, role) in [
        ("mei", "station"),
        ("ravi", "station"),
        ("lin", "service"),
        ("ana", "admin"),
    ] {
        add_user(&vault, name, role);
    }
    let (code, token, err) =
        run(evault(&vault).args(["token", "new", "shop-sync", "--role", "service"]));
    assert_eq!(code, 0, "{err}");
    Setup {
        dir,
        vault,
        token: token.trim().to_owned(),
    }
}

pub fn add_user(vault: &Path, name: &str, role: &str) {
    let mut c = evault(vault);
    c.args(["user", "add", name, "--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "password-{name}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client: a cookie jar of one session, its CSRF token, or a bearer token.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookie: None,
            csrf: None,
            bearer: None,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
        }
    }

    /// Logs in as `user` (password `password-<user>`) at `station`.
    pub fn login(base: &str, user: &str, station: &str) -> Self {
        let mut c = Self::new(base);
        let a = c.login_with(user, &format!("password-{user}"), station);
        assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
        c
    }

    pub fn login_with(&mut self, user: &str, password: &str, station: &str) -> Answer {
        let body = serde_json::json!({"user": user, "password": password, "station": station});
        let a = self.send(
            "POST",
            "/api/v1/session",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        );
        if a.status == 200 {
            let set = a.header("set-cookie").unwrap().to_owned();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
            self.csrf = a.json()["csrf"].as_str().map(str::to_owned);
        }
        a
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], &[])
    }

    /// Sends a request with the session's cookie and CSRF token (or the bearer token).
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &self.bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self.agent.run(req.body(body.to_vec()).unwrap()).unwrap();
        answer(resp)
    }

    /// Uploads `bytes` as evidence of `order`, hashed "on the device".
    pub fn upload(
        &self,
        order: &str,
        name: &str,
        kind: &str,
        bytes: &[u8],
        capture: &str,
    ) -> Answer {
        use sha2::Digest;
        let sha = crate::util::hex(&sha2::Sha256::digest(bytes));
        let name = percent(name);
        self.send(
            "POST",
            &format!("/api/v1/orders/{}/evidence", percent(order)),
            &[
                ("x-evault-name", &name),
                ("x-evault-kind", kind),
                ("x-evault-device-sha256", &sha),
                ("x-evault-device-time", "2026-12-07T09:30:00.000+08:00"),
                ("idempotency-key", capture),
            ],
            bytes,
        )
    }
}

fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let mut body = Vec::new();
    resp.body_mut().as_reader().read_to_end(&mut body).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

/// `encodeURIComponent`.
pub fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `evault log ORDER --json` of a vault.
pub fn log_json(vault: &Path, order: &str) -> Vec<Value> {
    let (code, out, err) = run(evault(vault).args(["log", order, "--json"]));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// `evault verify` passes.
pub fn verifies(vault: &Path) {
    let (code, out, err) = run(evault(vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
}

/// A shipping label as a phone would photograph it: grey paper with a
/// Code 128 of `order` and a QR code of `tracking`, as a JPEG.
pub fn label_photo(order: &str, tracking: &str) -> Vec<u8> {
    use rxing::Writer;
    let writer = rxing::MultiFormatWriter;
    let bars = writer
        .encode(order, &rxing::BarcodeFormat::CODE_128, 600, 160)
        .unwrap();
    let qr = writer
        .encode(tracking, &rxing::BarcodeFormat::QR_CODE, 240, 240)
        .unwrap();
    let mut img = image::GrayImage::from_pixel(1200, 900, image::Luma([225]));
    let mut paste = |m: &rxing::common::BitMatrix, x0: u32, y0: u32| {
        for y in 0..m.getHeight() {
            for x in 0..m.getWidth() {
                if m.get(x, y) {
                    img.put_pixel(x0 + x, y0 + y, image::Luma([20]));
                }
            }
        }
    };
    paste(&bars, 120, 150);
    paste(&qr, 800, 520);
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}
