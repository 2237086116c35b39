//! A vault on object storage behind a store that fails: moto's S3 server
//! on loopback behind a proxy that answers 503 to some requests, and to
//! others only after passing them on (the write landed, the client is told
//! it failed, as after a timeout). Nothing is lost, nothing recorded twice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::objects::{Moto, evault_on};
use crate::util::{noise, ok};

/// Which requests fail: of every `every`, the first is answered 503 without
/// reaching the store, the second reaches it and is then answered 503.
struct Flaky {
    port: u16,
    seen: Arc<AtomicU64>,
}

const EVERY: u64 = 4;

impl Flaky {
    fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let seen = Arc::new(AtomicU64::new(0));
        let counter = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, counter) = (upstream.clone(), counter.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &counter);
                });
            }
        });
        Self { port, seen }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Answers the requests of one connection, one at a time.
fn serve(client: TcpStream, upstream: &str, counter: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    loop {
        // The request head, with `Connection: close` towards the store.
        let mut head = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if !lower.starts_with("connection:") {
                head.extend_from_slice(line.as_bytes());
            }
        }
        head.extend_from_slice(b"Connection: close\r\n\r\n");
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let unavailable = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
        if n.is_multiple_of(EVERY) {
            client.write_all(unavailable)?;
            continue;
        }
        let mut store = TcpStream::connect(upstream)?;
        store.write_all(&head)?;
        store.write_all(&body)?;
        let mut answer = Vec::new();
        store.read_to_end(&mut answer)?;
        if n % EVERY == 1 {
            // It landed; the client hears that it failed.
            client.write_all(unavailable)?;
            continue;
        }
        client.write_all(&answer)?;
        return Ok(()); // the store's answer said `Connection: close`
    }
}

#[test]
fn a_store_failing_every_other_request_records_each_file_and_note_once() {
    let moto = Moto::start();
    moto.bucket("vault");
    let flaky = Flaky::start(&moto.endpoint);
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://vault/flaky";
    let through_proxy = || {
        let mut c = evault_on(&moto);
        c.args(["--vault", url, "--by", "mei"])
            .env("AWS_ENDPOINT_URL", flaky.endpoint())
            .env("EVAULT_WORKDIR", dir.path().join("work"));
        c
    };
    ok(through_proxy().arg("init"));
    let src = dir.path().join("dump/FLAKY-1");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..10 {
        std::fs::write(src.join(format!("photo-{i}.bin")), noise(100 + i, 3000)).unwrap();
    }
    let out = ok(through_proxy()
        .args(["import", "--order-from", "folder"])
        .arg(dir.path().join("dump")));
    assert!(out.contains("10 added"), "{out}");
    for i in 0..5 {
        ok(through_proxy().args(["note", "FLAKY-1", &format!("note {i}")]));
    }
    assert!(
        flaky.seen.load(Ordering::SeqCst) > 2 * 15,
        "the proxy saw too few requests"
    );

    // Read straight from the store, through a new working copy.
    let log = ok(evault_on(&moto)
        .args(["--vault", url, "log", "FLAKY-1", "--json"])
        .env("EVAULT_WORKDIR", dir.path().join("check")));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap();
    assert_eq!(entries.len(), 15, "{log}");
    for i in 0..10 {
        let name = format!("FLAKY-1/photo-{i}.bin");
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["name"] == name.as_str())
                .count(),
            1,
            "{name}"
        );
    }
    for i in 0..5 {
        let text = format!("note {i}");
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["text"] == text.as_str())
                .count(),
            1,
            "{text}"
        );
    }
    let verified = ok(evault_on(&moto).args(["--vault", url, "verify"]));
    assert!(
        verified.contains("verify: OK: 1 orders, 15 entries, 10 blobs")
            && verified.contains("0 problems, 0 notices"),
        "{verified}"
    );
}
