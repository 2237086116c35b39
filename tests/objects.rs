//! Order logs and blobs on a real S3 server: moto's, on loopback, started
//! and stopped by the test (`pip install "moto[server]>=5.2.6"`, which
//! scripts/test does; earlier 5.2 versions answer 500 instead of 412 to a
//! failed conditional write).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evault_core::{Entry, LINE_VERSION, LogTail, ObjectLog, OrderId, Timestamp, merkle};

/// A moto S3 server on an ephemeral loopback port, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("python3 cannot be started ({e}); install python3, then run scripts/test")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&endpoint).call().is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto's S3 server exited ({status}): pip install \"moto[server]>=5.2.6\", or run scripts/test"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto's S3 server did not answer on {endpoint}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, endpoint }
    }

    /// Creates a bucket.
    pub fn bucket(&self, name: &str) {
        let r = ureq::put(&format!("{}/{name}", self.endpoint)).send_empty();
        assert!(r.is_ok(), "creating bucket {name}: {r:?}");
    }

    /// How many objects `bucket` holds under `prefix` (the first 1000).
    pub fn count(&self, bucket: &str, prefix: &str) -> usize {
        let url = format!("{}/{bucket}?list-type=2&prefix={prefix}", self.endpoint);
        let body = ureq::get(&url)
            .call()
            .map(|mut r| r.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or_default();
        body.matches("<Key>").count()
    }

    /// The settings that point `ObjectLog::from_url_with` at this server.
    pub fn settings(&self) -> Vec<(&str, &str)> {
        vec![
            ("aws_endpoint", self.endpoint.as_str()),
            ("aws_allow_http", "true"),
            ("aws_region", "us-east-1"),
            ("aws_access_key_id", "testing"),
            ("aws_secret_access_key", "testing"),
        ]
    }

    pub fn log(&self, url: &str) -> ObjectLog {
        ObjectLog::from_url_with(url, &self.settings()).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn note(order: &OrderId, tail: &LogTail, text: &str) -> Vec<u8> {
    let entry = Entry {
        v: LINE_VERSION,
        seq: tail.seq + 1,
        prev: tail.hash,
        order: order.clone(),
        recorded_at: Timestamp::from_datetime(chrono::Utc::now()),
        recorded_by: "test".into(),
        station: "moto".into(),
        body: evault_core::Body::Note {
            text: text.to_owned(),
        },
    };
    serde_json::to_vec(&entry).unwrap()
}

#[test]
fn entries_and_blobs_on_s3_are_create_only_and_writers_racing_lose_nothing() {
    let moto = Moto::start();
    moto.bucket("vault");
    let url = "s3://vault/shop-a";
    let order: OrderId = "SO-2026-10481".parse().unwrap();

    // Blobs: the second put of the same address is "already stored".
    let log = moto.log(url);
    let id =
        evault_core::BlobId::from_bytes(<sha2::Sha256 as sha2::Digest>::digest(b"bytes").into());
    assert!(log.put_blob(&id, b"bytes".to_vec()).unwrap());
    assert!(!log.put_blob(&id, b"bytes".to_vec()).unwrap());

    // 8 writers, each with its own client, 8 notes each, on one order.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let log = Arc::new(moto.log(url));
            let order = order.clone();
            std::thread::spawn(move || {
                let mut lost = 0;
                for i in 0..8 {
                    let text = format!("w{w} n{i}");
                    let a = log.append(&order, |t| Ok(note(&order, t, &text)));
                    lost += a.unwrap_or_else(|e| panic!("{e}")).lost_races;
                }
                lost
            })
        })
        .collect();
    let lost: u32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    // They did race: the server refused creates (412), and the losers built on the winners.
    assert!(lost > 0);
    let entries = log.entries(&order).unwrap();
    let mut prev = None;
    let mut texts = Vec::new();
    for (i, (seq, line)) in entries.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1, "contiguous");
        let e: Entry = serde_json::from_slice(line).unwrap();
        assert_eq!((e.seq, e.prev), (*seq, prev), "chained");
        prev = Some(merkle::leaf_hash(line));
        if let evault_core::Body::Note { text } = e.body {
            texts.push(text);
        }
    }
    texts.sort();
    texts.dedup();
    assert_eq!((entries.len(), texts.len()), (64, 64), "every note once");
    // The objects, joined, are the local manifest.
    let manifest = log.manifest(&order).unwrap();
    let parsed = evault_core::OrderLog::parse(&manifest, "SO-2026-10481").unwrap();
    assert_eq!(parsed.entries.len(), 64);
}

/// Every file of a vault directory that is part of the vault (not `tmp/`,
/// `serve/`, `index/`, transient `HEAD.tmp`), with its bytes.
fn vault_files(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .filter(|(rel, _)| {
            !["tmp/", "serve/", "index/"]
                .iter()
                .any(|p| rel.starts_with(p))
                && !rel.ends_with("HEAD.tmp")
        })
        .collect();
    out.sort();
    out
}

/// `evault copy` with this server's settings in the environment.
fn copy(moto: &Moto, src: &str, dst: &str) -> Command {
    let mut c = evault_on(moto);
    c.args(["copy", src, dst]);
    c
}

/// `evault` with this server's settings in the environment.
pub(crate) fn evault_on(moto: &Moto) -> Command {
    let mut c = Command::new(crate::util::evault_bin());
    c.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    c
}

#[test]
fn a_vault_copied_to_s3_and_back_is_byte_identical_and_a_killed_copy_resumes() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let vault = crate::util::sample_vault(dir.path());
    let order: OrderId = "112-7739151-0042185".parse().unwrap();
    vault
        .checkpoint(&order, &crate::util::actor(), None)
        .unwrap();
    crate::serve_util::add_user(vault.root(), "lin", "service");

    // Directory → S3 → a new directory: the same vault, byte for byte.
    let out = crate::util::ok(&mut copy(
        &moto,
        vault.root().to_str().unwrap(),
        "s3://vault/archive",
    ));
    assert!(out.contains("already there"), "{out}");
    let again = crate::util::ok(&mut copy(
        &moto,
        vault.root().to_str().unwrap(),
        "s3://vault/archive",
    ));
    assert!(
        again.starts_with("copied 0 blobs"),
        "running it again writes nothing: {again}"
    );
    let back = dir.path().join("back");
    crate::util::ok(&mut copy(
        &moto,
        "s3://vault/archive",
        back.to_str().unwrap(),
    ));
    assert_eq!(vault_files(vault.root()), vault_files(&back));
    crate::util::ok(crate::util::evault(&back).arg("verify"));
    // Files get the vault's usual modes (blobs read-only, the rest as the umask says).
    use std::os::unix::fs::PermissionsExt;
    for (rel, _) in vault_files(vault.root()) {
        let mode = |root: &std::path::Path| {
            std::fs::metadata(root.join(&rel))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(vault.root()), mode(&back), "{rel}");
    }
    // A directory that has moved on since the copy is not overwritten.
    crate::util::ok(crate::util::evault(&back).args([
        "--by",
        "lin",
        "--station",
        "desk",
        "note",
        order.as_str(),
        "checked",
    ]));
    let err = crate::util::refused(&mut copy(
        &moto,
        "s3://vault/archive",
        back.to_str().unwrap(),
    ));
    assert!(err.contains("diverged"), "{err}");
    // The entry objects are the manifest's lines.
    let log = moto.log("s3://vault/archive");
    let manifest = std::fs::read(crate::util::manifest(vault.root(), order.as_str())).unwrap();
    assert_eq!(log.manifest(&order).unwrap(), manifest);

    // A blob altered in the source is refused, named, and not copied.
    let entry = crate::serve_util::log_json(vault.root(), order.as_str())
        .into_iter()
        .find(|e| e["type"] == "evidence")
        .unwrap();
    let blob = crate::util::blob_path(vault.root(), entry["sha256"].as_str().unwrap());
    crate::util::writable(&blob);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let err = crate::util::refused(&mut copy(
        &moto,
        vault.root().to_str().unwrap(),
        "s3://vault/other",
    ));
    assert!(
        err.contains(entry["sha256"].as_str().unwrap()) && err.contains("evault verify"),
        "{err}"
    );

    // A copy killed part way resumes when run again, and ends the same.
    let big = dir.path().join("big");
    let dump = dir.path().join("dump");
    for i in 0..300 {
        let folder = dump.join(format!("SO-{:03}", i % 30));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(format!("p{i}.bin")),
            crate::util::noise(i, 64 << 10),
        )
        .unwrap();
    }
    crate::util::ok(crate::util::evault(&big).arg("init"));
    crate::util::ok(
        crate::util::evault(&big)
            .args([
                "--by",
                "mei",
                "--station",
                "pack-01",
                "import",
                "--order-from",
                "folder",
            ])
            .arg(&dump),
    );
    let mut child = copy(&moto, big.to_str().unwrap(), "s3://vault/big")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some blobs are up (the logs come after every blob).
    let started = Instant::now();
    while moto.count("vault", "big/blobs/") < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the copy never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        moto.count("vault", "big/orders/") < 300,
        "the copy was not cut short"
    );
    let resumed = crate::util::ok(&mut copy(&moto, big.to_str().unwrap(), "s3://vault/big"));
    assert!(
        !resumed.contains("; 0 already there)"),
        "it resumed: {resumed}"
    );
    let big_back = dir.path().join("big-back");
    crate::util::ok(&mut copy(
        &moto,
        "s3://vault/big",
        big_back.to_str().unwrap(),
    ));
    assert_eq!(vault_files(&big), vault_files(&big_back));
    crate::util::ok(crate::util::evault(&big_back).arg("verify"));
}

/// Changes an object behind the vault's back, as its owner (boto3, which
/// moto brings): `put` with `body`, or `delete`.
pub(crate) fn tamper(moto: &Moto, key: &str, body: Option<&[u8]>) {
    let script = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
if len(sys.argv) > 3:
    s3.put_object(Bucket="vault", Key=sys.argv[2], Body=open(sys.argv[3], "rb").read())
else:
    s3.delete_object(Bucket="vault", Key=sys.argv[2])
"#;
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut c = Command::new("python3");
    c.args(["-c", script, &moto.endpoint, key]);
    if let Some(body) = body {
        std::fs::write(file.path(), body).unwrap();
        c.arg(file.path());
    }
    crate::util::ok(&mut c);
}

/// `evault verify` of a vault on object storage, with this server's settings.
fn verify(moto: &Moto, url: &str) -> (i32, String, String) {
    crate::util::run(evault_on(moto).args(["--vault", url, "verify"]))
}

#[test]
fn verify_on_s3_names_every_tamper_class() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let vault = crate::util::sample_vault(dir.path());
    let order: OrderId = "112-7739151-0042185".parse().unwrap();
    vault
        .checkpoint(&order, &crate::util::actor(), None)
        .unwrap();
    crate::util::ok(&mut copy(
        &moto,
        vault.root().to_str().unwrap(),
        "s3://vault/t",
    ));
    let (code, out, err) = verify(&moto, "s3://vault/t");
    assert_eq!(code, 0, "{out}{err}");

    let entry = |seq: u64| format!("t/orders/{}/log/{seq:020}.json", order.storage_key());
    let findings = |moto: &Moto| {
        let (code, out, err) = verify(moto, "s3://vault/t");
        (code, format!("{out}{err}"))
    };

    // A stray object is a notice.
    tamper(&moto, "t/notes.txt", Some(b"hello"));
    let (code, text) = findings(&moto);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("stray-object"), "{text}");

    // An entry object overwritten behind the vault's back: the next entry's link breaks.
    let held = moto.log("s3://vault/t").entries(&order).unwrap();
    let (first, second) = (held[0].1.clone(), held[1].1.clone());
    let edited = String::from_utf8(first.clone())
        .unwrap()
        .replace("IMG_2041", "IMG_9999");
    assert_ne!(edited.as_bytes(), first.as_slice());
    tamper(&moto, &entry(1), Some(edited.as_bytes()));
    let (code, text) = findings(&moto);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("broken-link"), "{text}");
    tamper(&moto, &entry(1), Some(&first));

    // An entry object deleted: the sequence has a gap.
    tamper(&moto, &entry(2), None);
    let (code, text) = findings(&moto);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("wrong-seq") || text.contains("broken-link"),
        "{text}"
    );
    tamper(&moto, &entry(2), Some(&second));
    assert_eq!(findings(&moto).0, 0);

    // A blob altered in place.
    let e = crate::serve_util::log_json(vault.root(), order.as_str())
        .into_iter()
        .find(|e| e["type"] == "evidence")
        .unwrap();
    let hex = e["sha256"].as_str().unwrap();
    tamper(
        &moto,
        &format!("t/blobs/sha256/{}/{hex}", &hex[..2]),
        Some(b"not the photo"),
    );
    let (code, text) = findings(&moto);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("blob-altered") && text.contains(hex),
        "{text}"
    );
}

#[test]
fn on_a_bucket_with_object_lock_a_copied_entry_cannot_be_deleted() {
    let moto = Moto::start();
    // A bucket whose every new object version is kept in COMPLIANCE mode for a day.
    let script = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
s3.put_object_lock_configuration(Bucket="locked", ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
"#;
    crate::util::ok(Command::new("python3").args(["-c", script, &moto.endpoint]));
    let dir = tempfile::tempdir().unwrap();
    let vault = crate::util::sample_vault(dir.path());
    crate::util::ok(&mut copy(
        &moto,
        vault.root().to_str().unwrap(),
        "s3://locked/v",
    ));
    let (code, out, err) =
        crate::util::run(evault_on(&moto).args(["--vault", "s3://locked/v", "verify"]));
    assert_eq!(code, 0, "{out}{err}");

    // Deleting the entry's version, as the bucket's owner, is refused by the server.
    let order: OrderId = "112-7739151-0042185".parse().unwrap();
    let key = format!("v/orders/{}/log/{:020}.json", order.storage_key(), 1);
    let script = r#"
import boto3, botocore, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
v = s3.list_object_versions(Bucket="locked", Prefix=sys.argv[2])["Versions"][0]["VersionId"]
try:
    s3.delete_object(Bucket="locked", Key=sys.argv[2], VersionId=v)
    print("deleted")
except botocore.exceptions.ClientError as e:
    print("refused", e.response["Error"]["Code"])
"#;
    let out = crate::util::ok(Command::new("python3").args(["-c", script, &moto.endpoint, &key]));
    assert!(out.starts_with("refused"), "{out}");
    let (code, out, err) =
        crate::util::run(evault_on(&moto).args(["--vault", "s3://locked/v", "verify"]));
    assert_eq!(code, 0, "the entry is still there: {out}{err}");
}

#[test]
fn a_packing_video_larger_than_one_put_goes_up_in_parts_and_comes_back_whole() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v");
    crate::util::ok(crate::util::evault(&v).arg("init"));
    // 70 MiB: over the 16 MiB a blob is sent whole, in 16 MiB parts.
    let video = dir.path().join("packing.webm");
    std::fs::write(&video, crate::util::noise(9, 70 << 20)).unwrap();
    crate::util::ok(
        crate::util::evault(&v)
            .args([
                "--by",
                "mei",
                "--station",
                "pack-01",
                "add",
                "SO-VIDEO",
                "--kind",
                "packing-video",
            ])
            .arg(&video),
    );
    crate::util::ok(&mut copy(&moto, v.to_str().unwrap(), "s3://vault/video"));
    let again = crate::util::ok(&mut copy(&moto, v.to_str().unwrap(), "s3://vault/video"));
    assert!(again.starts_with("copied 0 blobs"), "{again}");
    let (code, out, err) =
        crate::util::run(evault_on(&moto).args(["--vault", "s3://vault/video", "verify"]));
    assert_eq!(code, 0, "{out}{err}");
    let back = dir.path().join("back");
    crate::util::ok(&mut copy(&moto, "s3://vault/video", back.to_str().unwrap()));
    assert_eq!(vault_files(&v), vault_files(&back));
    crate::util::ok(crate::util::evault(&back).arg("verify"));
}
