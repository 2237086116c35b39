//! `evault serve`'s JSON API against a real server on loopback: roles on
//! every route, sessions, CSRF, throttled logins, idempotent and checked
//! uploads, limits, concurrent clients, a killed server, TLS.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::serve_util::{Client, Served, log_json, percent, setup, verifies};
use crate::util::{evault, noise, run};

#[test]
fn every_route_needs_a_session_or_token_and_the_right_role() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let anon = Client::new(&server.url);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let ravi = Client::login(&server.url, "ravi", "pack-02");
    let lin = Client::login(&server.url, "lin", "desk-1");

    assert_eq!(
        mei.upload("SO-1", "label.jpg", "label-photo", &noise(1, 3000), "c1")
            .status,
        201
    );
    assert_eq!(
        ravi.upload("SO-2", "box.jpg", "packing-photo", &noise(2, 3000), "c2")
            .status,
        201
    );

    // No session: 401 everywhere, with a JSON code.
    for (method, path) in [
        ("GET", "/api/v1/session"),
        ("GET", "/api/v1/orders/SO-1"),
        ("GET", "/api/v1/orders/SO-1/entries/1/content"),
        ("POST", "/api/v1/orders/SO-1/evidence"),
        ("GET", "/api/v1/station"),
        ("GET", "/api/v1/uploads/u1"),
        ("PUT", "/api/v1/uploads/u1/0"),
        ("POST", "/api/v1/orders/SO-1/uploads/u1/finish"),
        ("GET", "/api/v1/orders/SO-1/entries/1/thumbnail"),
    ] {
        // No body: a refusal comes before the body is read (clients that send one
        // should ask `Expect: 100-continue`, docs/api.md).
        let a = anon.send(method, path, &[("x-evault-name", "x.jpg")], &[]);
        assert_eq!(
            (a.status, a.code().as_str()),
            (401, "unauthenticated"),
            "{method} {path}"
        );
    }
    // Logging out without a session does nothing but clear the cookie.
    assert_eq!(anon.send("DELETE", "/api/v1/session", &[], &[]).status, 204);
    // A page without a session goes to the login page.
    let a = anon.get("/station");
    assert_eq!((a.status, a.header("location")), (303, Some("/login")));
    // A station sees the orders it recorded, not another station's.
    assert_eq!(mei.get("/api/v1/orders/SO-1").status, 200);
    let a = mei.get("/api/v1/orders/SO-2");
    assert_eq!((a.status, a.code().as_str()), (403, "forbidden"));
    let a = mei.get("/api/v1/orders/SO-2/entries/1/content");
    assert_eq!(a.status, 403);
    // Service reads every order; an unknown order is a 404 with its code.
    assert_eq!(lin.get("/api/v1/orders/SO-2").status, 200);
    assert_eq!(lin.get("/api/v1/orders/SO-404").code(), "no-such-order");
    // A state-changing request without the CSRF token is refused, with it accepted.
    let mut no_csrf = mei.clone();
    no_csrf.csrf = None;
    let a = no_csrf.upload("SO-1", "x.jpg", "packing-photo", &[], "c3");
    assert_eq!((a.status, a.code().as_str()), (403, "csrf"));
    let mut wrong = mei.clone();
    wrong.csrf = Some("A".repeat(43));
    assert_eq!(
        wrong
            .upload("SO-1", "x.jpg", "packing-photo", &[], "c3")
            .code(),
        "csrf"
    );

    // The API token: reads with its role; a wrong one is refused.
    let mut bot = Client::new(&server.url);
    bot.bearer = Some(s.token.clone());
    assert_eq!(bot.get("/api/v1/orders/SO-1").status, 200);
    bot.bearer = Some(format!("{}x", s.token));
    assert_eq!(bot.get("/api/v1/orders/SO-1").code(), "bad-token");

    // Operator and station come from the login, never from the request.
    let entries = log_json(&s.vault, "SO-1");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["recorded_by"], "mei");
    assert_eq!(entries[0]["station"], "pack-01");
    assert_eq!(entries[0]["device"]["capture"], "c1");
    assert_eq!(
        entries[0]["device"]["time"],
        "2026-12-07T09:30:00.000+08:00"
    );
    assert_eq!(entries[0]["device"]["sha256"], entries[0]["sha256"]);

    // Logout ends the session.
    assert_eq!(lin.send("DELETE", "/api/v1/session", &[], &[]).status, 204);
    assert_eq!(lin.get("/api/v1/orders/SO-1").status, 401);
    verifies(&s.vault);
}

#[test]
fn removing_a_user_or_changing_a_password_ends_its_sessions() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let lin = Client::login(&server.url, "lin", "desk-1");
    assert_eq!(mei.get("/api/v1/session").status, 200);

    let mut c = evault(&s.vault);
    c.args(["user", "passwd", "mei", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "a new password for mei").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(mei.get("/api/v1/session").status, 401);
    let mut again = Client::new(&server.url);
    assert_eq!(
        again.login_with("mei", "password-mei", "pack-01").status,
        401
    );
    assert_eq!(
        again
            .login_with("mei", "a new password for mei", "pack-01")
            .status,
        200
    );

    assert_eq!(lin.get("/api/v1/session").status, 200);
    assert_eq!(run(evault(&s.vault).args(["user", "remove", "lin"])).0, 0);
    assert_eq!(lin.get("/api/v1/session").status, 401);

    let mut bot = Client::new(&server.url);
    bot.bearer = Some(s.token.clone());
    assert_eq!(bot.get("/api/v1/session").status, 200);
    assert_eq!(
        run(evault(&s.vault).args(["token", "revoke", "shop-sync"])).0,
        0
    );
    assert_eq!(bot.get("/api/v1/session").status, 401);
}

#[test]
fn a_session_id_planted_before_login_is_never_used() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let planted = "evault_session=attacker-chose-this";
    let mut c = Client::new(&server.url);
    c.cookie = Some(planted.to_owned());
    assert_eq!(c.login_with("mei", "password-mei", "pack-01").status, 200);
    assert_ne!(c.cookie.as_deref(), Some(planted));
    let mut attacker = Client::new(&server.url);
    attacker.cookie = Some(planted.to_owned());
    assert_eq!(attacker.get("/api/v1/session").status, 401);
    let cookie = c.cookie.clone().unwrap();
    assert!(cookie.len() > "evault_session=".len() + 40, "{cookie}");
}

#[test]
fn failed_logins_are_throttled_per_user() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mut c = Client::new(&server.url);
    for _ in 0..5 {
        let a = c.login_with("mei", "guess", "pack-01");
        assert_eq!((a.status, a.code().as_str()), (401, "bad-login"));
    }
    // Now even the right password waits; another user is not affected.
    let a = c.login_with("mei", "password-mei", "pack-01");
    assert_eq!((a.status, a.code().as_str()), (429, "too-many-attempts"));
    let wait: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 900, "{wait}");
    assert_eq!(c.login_with("ravi", "password-ravi", "pack-02").status, 200);
    // An unknown user name fails the same way as a wrong password.
    let a = c.login_with("nobody", "password-nobody", "pack-01");
    assert_eq!((a.status, a.code().as_str()), (401, "bad-login"));
    // A login that is not JSON, or lacks the station, is a 4xx with a code.
    let a = c.send(
        "POST",
        "/api/v1/session",
        &[("content-type", "text/plain")],
        b"user=mei",
    );
    assert_eq!((a.status, a.code().as_str()), (415, "bad-json"));
    let body = br#"{"user":"ravi","password":"password-ravi","station":" "}"#;
    let a = c.send(
        "POST",
        "/api/v1/session",
        &[("content-type", "application/json")],
        body,
    );
    assert_eq!((a.status, a.code().as_str()), (400, "invalid-station"));
}

#[test]
fn a_retried_upload_records_once_and_a_wrong_device_hash_records_nothing() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let photo = noise(7, 40_000);
    let first = mei.upload("SO-7", "IMG_1.jpg", "packing-photo", &photo, "cap-7");
    assert_eq!(first.status, 201);
    assert_eq!(first.json()["status"], "recorded");
    for _ in 0..2 {
        let again = mei.upload("SO-7", "IMG_1.jpg", "packing-photo", &photo, "cap-7");
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["status"], "already-recorded");
        assert_eq!(again.json()["seq"], first.json()["seq"]);
    }
    // Same bytes under another capture id: the order's same-bytes rule.
    let twin = mei.upload("SO-7", "IMG_1 copy.jpg", "packing-photo", &photo, "cap-8");
    assert_eq!((twin.status, twin.json()["seq"].as_u64()), (200, Some(1)));
    // The capture id reused for other bytes is a client bug: 409.
    let other = mei.upload(
        "SO-7",
        "IMG_2.jpg",
        "packing-photo",
        &noise(8, 500),
        "cap-7",
    );
    assert_eq!(
        (other.status, other.code().as_str()),
        (409, "idempotency-key-reused")
    );
    // Bytes changed in transit: the device's hash does not match.
    let mut changed = photo.clone();
    changed[100] ^= 1;
    let sha = crate::util::hex(&<sha2::Sha256 as sha2::Digest>::digest(&photo));
    let a = mei.send(
        "POST",
        "/api/v1/orders/SO-7/evidence",
        &[
            ("x-evault-name", "IMG_3.jpg"),
            ("x-evault-device-sha256", &sha),
        ],
        &changed,
    );
    assert_eq!((a.status, a.code().as_str()), (422, "device-hash-mismatch"));
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("send it again")
    );
    assert_eq!(log_json(&s.vault, "SO-7").len(), 1);
    assert_eq!(fs::read_dir(s.vault.join("tmp")).unwrap().count(), 0);
    verifies(&s.vault);
}

#[test]
fn bad_headers_ids_and_names_are_refused_or_kept_harmless() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "missing-name"),
        (
            &[("x-evault-name", "a.jpg"), ("x-evault-kind", "selfie")],
            "invalid-field",
        ),
        (
            &[
                ("x-evault-name", "a.jpg"),
                ("x-evault-device-sha256", "abc"),
            ],
            "invalid-header",
        ),
        (&[("x-evault-name", "a%0Ab.jpg")], "invalid-name"),
        (
            &[("x-evault-name", "a.jpg"), ("idempotency-key", "no spaces")],
            "invalid-header",
        ),
    ];
    for (headers, code) in cases {
        let a = mei.send("POST", "/api/v1/orders/SO-9/evidence", headers, &[]);
        assert_eq!((a.status, a.code().as_str()), (400, code), "{headers:?}");
    }
    // Traversal in the order id stays inside the vault (ids are keys, not paths).
    let a = mei.upload("../../etc", "x.txt", "other", b"hello", "t1");
    assert_eq!(a.status, 201, "{:?}", a.json());
    assert!(!s.dir.path().join("etc").exists());
    let a = mei.get(&format!("/api/v1/orders/{}", percent("../../etc")));
    assert_eq!(a.json()["order"], "../../etc");
    // A traversal-looking file name is only a name.
    let a = mei.upload("SO-9", "../../../evil.sh", "other", b"#!/bin/sh\n", "t2");
    assert_eq!(a.status, 201);
    let content = mei.get("/api/v1/orders/SO-9/entries/1/content");
    let disposition = content.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(!disposition.contains('/'), "{disposition}");
    // No route outside the API: a JSON 404.
    assert_eq!(mei.get("/etc/passwd").code(), "no-such-route");
    assert_eq!(
        mei.get("/api/v1/orders/SO-9/entries/x/content").code(),
        "bad-path"
    );
}

#[test]
fn html_and_svg_uploads_come_back_only_as_attachments() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let html = b"<!doctype html><script>alert(document.cookie)</script>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
    assert_eq!(
        mei.upload("SO-X", "chat.html", "chat-log", html, "h1")
            .status,
        201
    );
    assert_eq!(
        mei.upload("SO-X", "logo.svg", "other", svg, "h2").status,
        201
    );
    for (seq, body) in [(1, &html[..]), (2, &svg[..])] {
        let a = mei.get(&format!("/api/v1/orders/SO-X/entries/{seq}/content"));
        assert_eq!(a.status, 200);
        assert_eq!(a.body, body);
        assert!(
            a.header("content-disposition")
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        let csp = a.header("content-security-policy").unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("sandbox"),
            "{csp}"
        );
    }
    // A note entry has no content.
    assert_eq!(run(evault(&s.vault).args(["note", "SO-X", "checked"])).0, 0);
    assert_eq!(
        mei.get("/api/v1/orders/SO-X/entries/3/content").code(),
        "not-a-file"
    );
}

#[test]
fn uploads_over_the_limit_are_refused_whole() {
    let s = setup();
    let server = Served::start(&s.vault, &["--max-file-mib", "1"]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    assert_eq!(
        mei.upload("SO-L", "small.jpg", "packing-photo", &noise(1, 1000), "l0")
            .status,
        201
    );
    // With a Content-Length (and Expect: 100-continue): refused before the body is sent.
    let big = noise(2, (1 << 20) + 1);
    let reply = raw(
        &server.url,
        &mei,
        &[
            ("content-length", &big.len().to_string()),
            ("expect", "100-continue"),
        ],
        &[],
    );
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("too-large"), "{reply}");
    // Chunked, without a length: refused once the limit is crossed.
    let mut body = Vec::new();
    for chunk in big.chunks(64 * 1024) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let reply = raw(
        &server.url,
        &mei,
        &[("transfer-encoding", "chunked")],
        &body,
    );
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("too-large"), "{reply}");
    assert_eq!(log_json(&s.vault, "SO-L").len(), 1);
    assert_eq!(fs::read_dir(s.vault.join("tmp")).unwrap().count(), 0);
}

/// Sends an upload of `big.jpg` to SO-L over a raw connection (writing as
/// much of `body` as the server takes) and returns the reply.
fn raw(url: &str, c: &Client, headers: &[(&str, &str)], body: &[u8]) -> String {
    let mut all = vec![("x-evault-name", "big.jpg")];
    all.extend_from_slice(headers);
    raw_to(url, c, "POST /api/v1/orders/SO-L/evidence", &all, body)
}

/// Sends `request` ("METHOD PATH") with the session's cookie and CSRF token
/// over a raw connection, writing as much of `body` as the server takes.
fn raw_to(url: &str, c: &Client, request: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let mut head = format!(
        "{request} HTTP/1.1\r\nhost: x\r\ncookie: {}\r\nx-csrf-token: {}\r\nconnection: close\r\n",
        c.cookie.as_deref().unwrap(),
        c.csrf.as_deref().unwrap()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(64 * 1024) {
        if stream.write_all(chunk).is_err() {
            break;
        }
    }
    let mut reply = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
    reply
}

#[test]
fn eight_clients_uploading_to_one_order_get_contiguous_entries() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let clients: Vec<Client> = (0..8)
        .map(|i| {
            Client::login(
                &server.url,
                if i % 2 == 0 { "mei" } else { "ravi" },
                &format!("pack-{i}"),
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for (i, c) in clients.iter().enumerate() {
            scope.spawn(move || {
                for j in 0..5 {
                    let n = (i * 5 + j) as u64;
                    let a = c.upload(
                        "SO-8",
                        &format!("IMG_{n}.jpg"),
                        "packing-photo",
                        &noise(100 + n, 20_000),
                        &format!("c{n}"),
                    );
                    assert_eq!(a.status, 201, "{:?}", a.json());
                }
            });
        }
    });
    let entries = log_json(&s.vault, "SO-8");
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    let mut captures: Vec<&str> = entries
        .iter()
        .map(|e| e["device"]["capture"].as_str().unwrap())
        .collect();
    captures.sort_unstable();
    captures.dedup();
    assert_eq!(captures.len(), 40);
    verifies(&s.vault);
}

#[test]
fn a_server_killed_mid_upload_keeps_every_acknowledged_entry_and_no_partial_one() {
    let s = setup();
    let mut server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    for i in 0..3 {
        assert_eq!(
            mei.upload(
                "SO-K",
                &format!("{i}.jpg"),
                "packing-photo",
                &noise(i, 50_000),
                &format!("k{i}")
            )
            .status,
            201
        );
    }
    // Half a body, then the server dies.
    let mut stream = TcpStream::connect(server.url.trim_start_matches("http://")).unwrap();
    let head = format!(
        "POST /api/v1/orders/SO-K/evidence HTTP/1.1\r\nhost: x\r\ncookie: {}\r\nx-csrf-token: {}\r\nx-evault-name: half.jpg\r\ncontent-length: 4000000\r\n\r\n",
        mei.cookie.as_deref().unwrap(),
        mei.csrf.as_deref().unwrap()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&noise(99, 2_000_000)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.kill();
    let entries = log_json(&s.vault, "SO-K");
    assert_eq!(entries.len(), 3);
    let (code, out, err) = run(evault(&s.vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
    // A restarted server carries on.
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    assert_eq!(
        mei.upload("SO-K", "3.jpg", "packing-photo", &noise(3, 50_000), "k3")
            .json()["seq"],
        4
    );
}

#[test]
fn plain_http_off_loopback_is_refused_and_self_signed_tls_serves() {
    let s = setup();
    let (code, _, err) = run(evault(&s.vault).args(["serve", "--listen", "0.0.0.0:0"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("refusing plain HTTP") && err.contains("--self-signed"),
        "{err}"
    );

    let server = Served::start(&s.vault, &["--self-signed"]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let printed = server
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .unwrap()
        .to_owned();
    let cert = s.vault.join("serve/tls-cert.pem");
    let (_, openssl, _) = run(std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert));
    assert_eq!(openssl.trim().rsplit('=').next().unwrap(), printed);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(s.vault.join("serve/tls-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
    }
    // A real TLS client that trusts only that certificate logs in; the cookie is Secure.
    let port = server.url.rsplit(':').next().unwrap();
    let body = r#"{"user":"mei","password":"password-mei","station":"pack-01"}"#;
    let (code, out, err) = run(std::process::Command::new("curl")
        .args(["-sS", "-i", "--cacert"])
        .arg(&cert)
        .args([
            "--resolve",
            &format!("localhost:{port}:127.0.0.1"),
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ])
        .arg(format!("https://localhost:{port}/api/v1/session")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().next().unwrap().trim_end().ends_with(" 200"),
        "{out}"
    );
    let cookie = out
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    // The same certificate next time (a phone checks it once).
    drop(server);
    let again = Served::start(&s.vault, &["--self-signed"]);
    assert!(again.stdout.iter().any(|l| l.ends_with(&printed)));
}

#[test]
fn a_full_disk_answers_507_and_records_nothing() {
    let Some(tmpfs) = crate::util::Tmpfs::mount("6m") else {
        eprintln!(
            "SKIPPED: this machine does not allow mounting a tmpfs (CI runs as root and does)"
        );
        return;
    };
    let vault = tmpfs.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    crate::serve_util::add_user(&vault, "mei", "station");
    let server = Served::start(&vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    assert_eq!(
        mei.upload("SO-F", "1.jpg", "packing-photo", &noise(1, 2_000_000), "f1")
            .status,
        201
    );
    let a = mei.upload("SO-F", "2.jpg", "packing-photo", &noise(2, 5_000_000), "f2");
    assert_eq!(
        (a.status, a.code().as_str()),
        (507, "disk-full"),
        "{:?}",
        a.json()
    );
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("nothing of this upload was recorded")
    );
    assert_eq!(log_json(&vault, "SO-F").len(), 1);
    assert_eq!(fs::read_dir(vault.join("tmp")).unwrap().count(), 0);
    verifies(&vault);
}

#[test]
fn a_video_sent_in_slices_is_recorded_as_one_entry_once() {
    use sha2::{Digest, Sha256};
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let ravi = Client::login(&server.url, "ravi", "pack-02");
    let video = noise(42, 700_000);
    let slices: Vec<&[u8]> = video.chunks(256 * 1024).collect();
    let hex = |b: &[u8]| crate::util::hex(&Sha256::digest(b));
    let put = |c: &Client, n: usize, bytes: &[u8], sha: &str| {
        c.send(
            "PUT",
            &format!("/api/v1/uploads/vid-1/{n}"),
            &[("x-evault-device-sha256", sha)],
            bytes,
        )
    };
    let whole = hex(&video);
    let finish = |c: &Client, count: usize| {
        c.send(
            "POST",
            "/api/v1/orders/SO-V/uploads/vid-1/finish",
            &[
                ("x-evault-name", "packing.webm"),
                ("x-evault-kind", "packing-video"),
                ("x-evault-device-sha256", &whole),
                ("x-evault-slices", &count.to_string()),
            ],
            &[],
        )
    };
    // A slice changed in transit is not kept.
    let a = put(&mei, 0, slices[1], &hex(slices[0]));
    assert_eq!((a.status, a.code().as_str()), (422, "device-hash-mismatch"));
    for (n, slice) in slices.iter().enumerate().skip(1) {
        assert_eq!(put(&mei, n, slice, &hex(slice)).status, 200);
    }
    let a = finish(&mei, slices.len());
    assert_eq!((a.status, a.code().as_str()), (409, "slices-missing"));
    assert!(
        a.json()["message"].as_str().unwrap().contains("slices 0 "),
        "{:?}",
        a.json()
    );
    // Another account's upload of the same id is its own (nothing of mei's is seen).
    assert_eq!(
        ravi.get("/api/v1/uploads/vid-1").json()["slices"],
        serde_json::json!([])
    );
    assert_eq!(
        mei.get("/api/v1/uploads/vid-1").json()["slices"],
        serde_json::json!([1, 2])
    );
    // Resent (twice: a retry), then finished: one entry, its bytes the slices in order.
    for _ in 0..2 {
        assert_eq!(put(&mei, 0, slices[0], &hex(slices[0])).status, 200);
    }
    let first = finish(&mei, slices.len());
    assert_eq!(first.status, 201, "{:?}", first.json());
    let again = finish(&mei, slices.len());
    assert_eq!(
        (again.status, again.json()["status"].as_str()),
        (200, Some("already-recorded"))
    );
    let entries = log_json(&s.vault, "SO-V");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "packing-video");
    assert_eq!(entries[0]["sha256"], whole.as_str());
    assert_eq!(entries[0]["device"]["capture"], "vid-1");
    assert_eq!(mei.get("/api/v1/orders/SO-V/entries/1/content").body, video);
    assert!(!s.vault.join("serve/uploads/mei/vid-1").exists());
    // A whole-video hash that does not match records nothing.
    for (n, slice) in slices.iter().enumerate() {
        let path = format!("/api/v1/uploads/vid-2/{n}");
        assert_eq!(
            mei.send(
                "PUT",
                &path,
                &[("x-evault-device-sha256", &hex(slice))],
                slice
            )
            .status,
            200
        );
    }
    let a = mei.send(
        "POST",
        "/api/v1/orders/SO-V/uploads/vid-2/finish",
        &[
            ("x-evault-name", "b.webm"),
            ("x-evault-device-sha256", &hex(b"other")),
            ("x-evault-slices", "3"),
        ],
        &[],
    );
    assert_eq!((a.status, a.code().as_str()), (422, "device-hash-mismatch"));
    assert_eq!(log_json(&s.vault, "SO-V").len(), 1);
    verifies(&s.vault);
}

#[test]
fn thumbnails_are_small_upright_previews_kept_outside_the_log() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let ravi = Client::login(&server.url, "ravi", "pack-02");
    let photo = crate::util::sample("SO-2026-10481/DSC00017.jpg");
    assert_eq!(
        mei.upload("SO-T", "DSC00017.jpg", "packing-photo", &photo, "t1")
            .status,
        201
    );
    assert_eq!(
        mei.upload("SO-T", "notes.txt", "other", b"text", "t2")
            .status,
        201
    );
    let log_before = fs::read(crate::util::manifest(&s.vault, "SO-T")).unwrap();

    let a = mei.get("/api/v1/orders/SO-T/entries/1/thumbnail");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("image/jpeg"));
    let img = image::load_from_memory(&a.body).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    let cached: Vec<_> = fs::read_dir(s.vault.join("serve/thumbs"))
        .unwrap()
        .collect();
    assert_eq!(cached.len(), 1);
    assert_eq!(
        mei.get("/api/v1/orders/SO-T/entries/1/thumbnail").body,
        a.body
    );
    assert_eq!(
        mei.get("/api/v1/orders/SO-T/entries/2/thumbnail").code(),
        "not-an-image"
    );
    assert_eq!(
        ravi.get("/api/v1/orders/SO-T/entries/1/thumbnail").status,
        403
    );
    assert_eq!(
        fs::read(crate::util::manifest(&s.vault, "SO-T")).unwrap(),
        log_before
    );
    verifies(&s.vault);
}

#[test]
fn hostile_upload_ids_methods_and_altered_blobs_are_refused() {
    let s = setup();
    let server = Served::start(&s.vault, &["--max-video-mib", "1"]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let sha = crate::util::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"x"));
    // Upload ids name folders: dots alone, or a leading dot, are refused.
    for id in ["..", ".", ".hidden", "%2E%2E"] {
        let a = mei.send(
            "PUT",
            &format!("/api/v1/uploads/{id}/0"),
            &[("x-evault-device-sha256", &sha)],
            b"x",
        );
        assert_eq!(
            (a.status, a.code().as_str()),
            (400, "invalid-header"),
            "{id}"
        );
    }
    assert!(!s.vault.join("serve/uploads").exists());
    // A malformed slice hash is a malformed header; a slice over the limit is refused before its body.
    let a = mei.send(
        "PUT",
        "/api/v1/uploads/v1/0",
        &[("x-evault-device-sha256", "zz")],
        b"x",
    );
    assert_eq!(a.code(), "invalid-header");
    let big = noise(5, (1 << 20) + 1);
    let reply = raw_to(
        &server.url,
        &mei,
        "PUT /api/v1/uploads/v1/0",
        &[
            ("x-evault-device-sha256", &sha),
            ("content-length", &big.len().to_string()),
            ("expect", "100-continue"),
        ],
        &[],
    );
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    // Slices make a packing video only.
    assert_eq!(
        mei.send(
            "PUT",
            "/api/v1/uploads/v1/0",
            &[("x-evault-device-sha256", &sha)],
            b"x"
        )
        .status,
        200
    );
    let a = mei.send(
        "POST",
        "/api/v1/orders/SO-H/uploads/v1/finish",
        &[
            ("x-evault-name", "a.jpg"),
            ("x-evault-kind", "label-photo"),
            ("x-evault-device-sha256", &sha),
            ("x-evault-slices", "1"),
        ],
        &[],
    );
    assert_eq!((a.status, a.code().as_str()), (400, "invalid-field"));
    // A wrong method is a JSON error too.
    let a = mei.send("DELETE", "/api/v1/orders/SO-H", &[], &[]);
    assert_eq!((a.status, a.code().as_str()), (405, "method-not-allowed"));

    // A blob altered in place (same size) never arrives as a clean answer.
    let photo = noise(9, 600_000);
    assert_eq!(
        mei.upload("SO-H", "p.jpg", "packing-photo", &photo, "h1")
            .status,
        201
    );
    let hex = crate::util::hex(&<sha2::Sha256 as sha2::Digest>::digest(&photo));
    let blob = crate::util::blob_path(&s.vault, &hex);
    crate::util::writable(&blob);
    let mut altered = photo.clone();
    altered[300_000] ^= 1;
    fs::write(&blob, &altered).unwrap();
    let (code, _, err) = run(std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-b",
            mei.cookie.as_deref().unwrap(),
        ])
        .arg(format!(
            "{}/api/v1/orders/SO-H/entries/1/content",
            server.url
        )));
    assert_ne!(code, 0, "curl took an altered blob as complete: {err}");

    // Logging out of a session that already ended just clears the cookie.
    let mut gone = mei.clone();
    assert_eq!(mei.send("DELETE", "/api/v1/session", &[], &[]).status, 204);
    gone.csrf = None;
    let a = gone.send("DELETE", "/api/v1/session", &[], &[]);
    assert_eq!(a.status, 204);
    assert!(a.header("set-cookie").unwrap().contains("Max-Age=0"));
}

#[test]
fn the_server_reads_the_codes_on_a_label_photo_and_records_nothing() {
    let s = setup();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let photo = crate::serve_util::label_photo("SO-2026-10481", "1Z999AA10123456784");
    let a = mei.send("POST", "/api/v1/labels/read", &[], &photo);
    assert_eq!(a.status, 200, "{:?}", a.json());
    let codes = a.json()["codes"].clone();
    let texts: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"SO-2026-10481"), "{codes}");
    assert!(texts.contains(&"1Z999AA10123456784"), "{codes}");
    // A photo without codes is an empty list; bytes that are no image are a 422.
    let plain = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(400, 300, image::Luma([200])))
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .unwrap();
        out.into_inner()
    };
    assert_eq!(
        mei.send("POST", "/api/v1/labels/read", &[], &plain).json()["codes"],
        serde_json::json!([])
    );
    let a = mei.send("POST", "/api/v1/labels/read", &[], b"not an image");
    assert_eq!((a.status, a.code().as_str()), (422, "not-an-image"));
    assert_eq!(
        Client::new(&server.url)
            .send("POST", "/api/v1/labels/read", &[], &[])
            .status,
        401
    );
    // Nothing was recorded: the vault has no order.
    assert!(
        fs::read_dir(s.vault.join("orders"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_station_sees_its_own_orders_only_for_24_hours() {
    use std::sync::Arc;
    let s = setup();
    // Recorded by mei two days ago (the library with a clock set back), and just now.
    let vault = evault_core::Vault::open(&s.vault)
        .unwrap()
        .with_clock(Arc::new(|| {
            chrono::Utc::now() - chrono::TimeDelta::hours(48)
        }));
    let mei_actor = evault_core::Actor::new("mei", "pack-01").unwrap();
    let old = crate::util::bytes("old.jpg", noise(1, 1000));
    vault
        .add(&crate::util::order("SO-OLD"), vec![old], &mei_actor)
        .unwrap();
    let server = Served::start(&s.vault, &[]);
    let mei = Client::login(&server.url, "mei", "pack-01");
    let lin = Client::login(&server.url, "lin", "desk-1");
    assert_eq!(
        mei.upload("SO-NEW", "new.jpg", "packing-photo", &noise(2, 1000), "n1")
            .status,
        201
    );
    assert_eq!(mei.get("/api/v1/orders/SO-NEW").status, 200);
    let a = mei.get("/api/v1/orders/SO-OLD");
    assert_eq!((a.status, a.code().as_str()), (403, "forbidden"));
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("last 24 hours")
    );
    assert_eq!(lin.get("/api/v1/orders/SO-OLD").status, 200);
}
