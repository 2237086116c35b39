//! Every command on a vault that lives on object storage (moto's S3 server
//! on loopback), through working copies: the same scenario as on a
//! directory, stations racing, an import killed part way, a server, and a
//! working copy that is not the store's.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::objects::{Moto, evault_on, tamper};
use crate::serve_util::Client;
use crate::tsa::{Alg, Tsa};
use crate::util::{noise, ok, run};

/// Where a scenario's vault lives.
enum Backend<'a> {
    Dir(PathBuf),
    S3 {
        moto: &'a Moto,
        url: String,
        workdir: PathBuf,
    },
}

impl Backend<'_> {
    /// `evault --vault …` on this backend.
    fn evault(&self) -> Command {
        match self {
            Backend::Dir(dir) => crate::util::evault(dir),
            Backend::S3 { moto, url, workdir } => {
                let mut c = evault_on(moto);
                c.args(["--vault", url]).env("EVAULT_WORKDIR", workdir);
                c
            }
        }
    }

    /// Flips one byte of the blob `hex`, wherever it is kept.
    fn alter_blob(&self, hex: &str) {
        match self {
            Backend::Dir(dir) => {
                let path = crate::util::blob_path(dir, hex);
                crate::util::writable(&path);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[20] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
            Backend::S3 { moto, url, .. } => {
                let prefix = url.trim_start_matches("s3://vault/");
                let key = format!("{prefix}/blobs/sha256/{}/{hex}", &hex[..2]);
                let bytes = noise(7, 1000);
                tamper(moto, &key, Some(&bytes));
            }
        }
    }
}

const ORDER: &str = "112-7739151-0042185";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/evidence")
}

/// Record, import, note, dispute, export, a signed checkpoint, a time-stamp,
/// verify, then a tamper: the same steps and the same results on either
/// backend.
fn scenario(b: &Backend, scratch: &Path) {
    ok(b.evault().arg("init"));
    let import = || {
        let mut c = b.evault();
        c.args([
            "--by",
            "mei",
            "--station",
            "pack-01",
            "import",
            "--order-from",
            "folder",
        ])
        .arg(examples());
        c
    };
    let out = ok(&mut import());
    assert!(out.contains("8 added"), "{out}");
    // Importing again records nothing twice.
    let out = ok(&mut import());
    assert!(out.contains("0 added, 8 already recorded"), "{out}");
    ok(b.evault().args([
        "--by",
        "lin",
        "--station",
        "desk-1",
        "note",
        ORDER,
        "Buyer called",
    ]));
    ok(b.evault().args([
        "--by",
        "lin",
        "--station",
        "desk-1",
        "dispute",
        ORDER,
        "--platform",
        "stripe",
        "--reason",
        "not-received",
    ]));
    let zip = scratch.join("stripe.zip");
    ok(b.evault()
        .args(["--by", "lin", "--station", "desk-1", "export", ORDER, "-o"])
        .arg(&zip));
    let checked = ok(crate::util::evault(scratch).arg("verify-bundle").arg(&zip));
    assert!(checked.contains("verify-bundle: OK"), "{checked}");
    ok(Command::new("unzip").arg("-tq").arg(&zip));
    let log = ok(b.evault().args(["log", ORDER]));
    assert!(
        log.contains("note: Buyer called") && log.contains("exported a stripe bundle"),
        "{log}"
    );
    // A signed checkpoint (the public key registered in the vault) and an
    // RFC 3161 stamp over it, from a local OpenSSL TSA.
    let key = scratch.join("desk-1.pem");
    ok(b.evault().args(["key", "new", "desk-1", "--out"]).arg(&key));
    let out = ok(b
        .evault()
        .arg("--key")
        .arg(&key)
        .args(["--by", "lin", "checkpoint", ORDER]));
    assert!(out.contains("signed by desk-1"), "{out}");
    let tsa = Tsa::new(Alg::P256, "P-256");
    let query = scratch.join("checkpoint.tsq");
    ok(b.evault()
        .args(["--by", "lin", "stamp", "request", ORDER, "-o"])
        .arg(&query));
    let out = ok(b
        .evault()
        .arg("--tsa-ca")
        .arg(tsa.ca())
        .args(["--by", "lin", "stamp", "attach", ORDER])
        .arg(tsa.reply(&query)));
    assert!(out.contains("valid and trusted"), "{out}");
    let verified = ok(b.evault().arg("--tsa-ca").arg(tsa.ca()).arg("verify"));
    assert!(
        verified.contains("verify: OK: 2 orders, 14 entries, 8 blobs"),
        "{verified}"
    );
    assert!(
        verified.contains("1 checkpoint signature verified (desk-1")
            && verified.contains("1 time-stamp valid and trusted"),
        "{verified}"
    );

    let log: serde_json::Value =
        serde_json::from_str(&ok(b.evault().args(["log", ORDER, "--json"]))).unwrap();
    let hex = log[0]["sha256"].as_str().unwrap().to_owned();
    b.alter_blob(&hex);
    let (code, stdout, _) = run(b.evault().arg("verify"));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("blob-altered") && stdout.contains(&hex),
        "{stdout}"
    );
}

#[test]
fn the_vault_scenario_holds_on_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&Backend::Dir(dir.path().join("vault")), dir.path());
}

#[test]
fn the_vault_scenario_holds_on_s3_through_a_working_copy() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::S3 {
        moto: &moto,
        url: "s3://vault/shop".into(),
        workdir: dir.path().join("work"),
    };
    scenario(&b, dir.path());
    // A second working copy, empty, reads the same vault: logs from the
    // store, blobs fetched (and checked) as a read needs them.
    let other = Backend::S3 {
        moto: &moto,
        url: "s3://vault/shop".into(),
        workdir: dir.path().join("elsewhere"),
    };
    let log = ok(other.evault().args(["log", ORDER]));
    assert!(log.contains("exported a stripe bundle"), "{log}");
    let (code, _, err) = run(other
        .evault()
        .args([
            "--by",
            "lin",
            "export",
            "SO-2026-10481",
            "--platform",
            "paypal",
            "--reason",
            "not-received",
            "-o",
        ])
        .arg(dir.path().join("pp.zip")));
    assert_eq!(code, 0, "{err}");
    // The blob altered in the store is refused when fetched, named.
    let (code, _, err) = run(other
        .evault()
        .args(["--by", "lin", "export", ORDER, "--platform", "stripe", "-o"])
        .arg(dir.path().join("again.zip")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("altered there"), "{err}");
}

#[test]
fn eight_stations_appending_to_one_order_on_s3_lose_and_duplicate_nothing() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://vault/race";
    let work = |i: usize| dir.path().join(format!("work-{}", i % 6));
    ok(evault_on(&moto)
        .args(["--vault", url, "init"])
        .env("EVAULT_WORKDIR", work(0)));
    ok(evault_on(&moto)
        .args(["--vault", url, "--by", "s0", "note", "RACE-1", "opened"])
        .env("EVAULT_WORKDIR", work(0)));
    // 8 processes at a time, 6 working copies (some shared, some not).
    std::thread::scope(|s| {
        for i in 0..8 {
            let (moto, work) = (&moto, work(i));
            s.spawn(move || {
                for j in 0..4 {
                    ok(evault_on(moto)
                        .args(["--vault", url, "--by", &format!("s{i}"), "note", "RACE-1"])
                        .arg(format!("station {i} note {j}"))
                        .env("EVAULT_WORKDIR", &work));
                }
            });
        }
    });
    let fresh = dir.path().join("fresh");
    let log = ok(evault_on(&moto)
        .args(["--vault", url, "log", "RACE-1", "--json"])
        .env("EVAULT_WORKDIR", &fresh));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap();
    assert_eq!(entries.len(), 33);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
    }
    for i in 0..8 {
        for j in 0..4 {
            let text = format!("station {i} note {j}");
            assert_eq!(
                entries
                    .iter()
                    .filter(|e| e["text"] == text.as_str())
                    .count(),
                1,
                "{text}"
            );
        }
    }
    let verified = ok(evault_on(&moto).args(["--vault", url, "verify"]));
    assert!(
        verified.contains("verify: OK: 1 orders, 33 entries"),
        "{verified}"
    );
    // Every working copy catches up to the same log, byte for byte.
    let store = std::fs::read(crate::util::manifest(&fresh, "RACE-1")).unwrap();
    for i in 0..6 {
        ok(evault_on(&moto)
            .args(["--vault", url, "log", "RACE-1"])
            .env("EVAULT_WORKDIR", work(i)));
        assert_eq!(
            std::fs::read(crate::util::manifest(&work(i), "RACE-1")).unwrap(),
            store
        );
    }
}

#[test]
fn an_import_to_s3_killed_part_way_loses_nothing_it_reported_and_resumes() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://vault/killed";
    let src = dir.path().join("dump");
    for o in 0..60 {
        for f in 0..3 {
            let folder = src.join(format!("KILL-{o:03}"));
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join(format!("f{f}.bin")), noise(o * 10 + f, 4000)).unwrap();
        }
    }
    let work = dir.path().join("work");
    ok(evault_on(&moto)
        .args(["--vault", url, "init"])
        .env("EVAULT_WORKDIR", &work));
    let import = || {
        let mut c = evault_on(&moto);
        c.args([
            "--vault",
            url,
            "--by",
            "mei",
            "import",
            "--order-from",
            "folder",
        ])
        .arg(&src)
        .env("EVAULT_WORKDIR", &work);
        c
    };
    let mut child = import()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("added ") {
            reported.push(rest.split_whitespace().nth(2).unwrap().to_owned());
        }
        if reported.len() == 20 {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    child.wait().unwrap();
    assert_eq!(
        reported.len(),
        20,
        "the import ended before 20 files were reported"
    );
    // What it reported is in the store; nothing there is broken (a blob
    // stored before its entry is at most a notice).
    let verify = run(evault_on(&moto).args(["--vault", url, "verify"]));
    assert_eq!(verify.0, 0, "{}", verify.1);
    let fresh = dir.path().join("fresh");
    for name in &reported {
        let order = name.split('/').next().unwrap();
        let log = ok(evault_on(&moto)
            .args(["--vault", url, "log", order])
            .env("EVAULT_WORKDIR", &fresh));
        assert!(
            log.contains(name.as_str()),
            "{name} reported, not in the store: {log}"
        );
    }
    // Run again (same working copy): everything recorded, each file once.
    let out = ok(&mut import());
    assert!(out.contains("0 skipped"), "{out}");
    let verified = ok(evault_on(&moto).args(["--vault", url, "verify"]));
    assert!(
        verified.contains("verify: OK: 60 orders, 180 entries, 180 blobs"),
        "{verified}"
    );
}

#[test]
fn a_server_on_a_working_copy_serves_and_records_into_the_store() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://vault/desk";
    let on = |work: &str| {
        let mut c = evault_on(&moto);
        c.args(["--vault", url])
            .env("EVAULT_WORKDIR", dir.path().join(work));
        c
    };
    ok(on("warehouse").arg("init"));
    ok(on("warehouse")
        .args([
            "--by",
            "mei",
            "--station",
            "pack-01",
            "import",
            "--order-from",
            "folder",
        ])
        .arg(examples()));
    let token = ok(on("warehouse").args([
        "--by", "admin", "token", "new", "desk-app", "--role", "service",
    ]));
    let token = token.trim().to_owned();
    let mut child = on("desk")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let mut client = Client::new(&base);
    client.bearer = Some(token);
    let found = client.get("/api/v1/orders?q=7739151");
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["total"], 1);
    let noted = client.send(
        "POST",
        &format!("/api/v1/orders/{ORDER}/notes"),
        &[("content-type", "application/json")],
        br#"{"text":"answered from the desk"}"#,
    );
    assert_eq!(
        noted.status,
        201,
        "{}",
        String::from_utf8_lossy(&noted.body)
    );
    let photo = client.get(&format!("/api/v1/orders/{ORDER}"));
    assert_eq!(photo.status, 200);
    let _ = child.kill();
    let _ = child.wait();
    // The warehouse's working copy sees the desk's note: it is in the store.
    let log = ok(on("warehouse").args(["log", ORDER]));
    assert!(log.contains("answered from the desk"), "{log}");
    // The accounts log in the store is verified too: a token's role raised
    // behind the vault's back is named (by the next line's chain link).
    ok(on("warehouse").args([
        "--by",
        "admin",
        "token",
        "new",
        "label-printer",
        "--role",
        "station",
    ]));
    let verified = ok(on("desk").arg("verify"));
    assert!(verified.contains("0 problems"), "{verified}");
    let key = "desk/accounts/00000000000000000001.json";
    let script = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
sys.stdout.write(s3.get_object(Bucket="vault", Key=sys.argv[2])["Body"].read().decode())
"#;
    let line = ok(Command::new("python3").args(["-c", script, &moto.endpoint, key]));
    assert!(line.contains("\"service\""), "{line}");
    tamper(
        &moto,
        key,
        Some(line.replace("\"service\"", "\"admin\"").as_bytes()),
    );
    let (code, out, _) = run(on("desk").arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("accounts/"), "{out}");
}

#[test]
fn a_working_copy_that_is_not_the_stores_is_refused_and_the_store_is_untouched() {
    let moto = Moto::start();
    moto.bucket("vault");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let on = |url: &str| {
        let mut c = evault_on(&moto);
        c.args(["--vault", url, "--by", "mei"])
            .env("EVAULT_WORKDIR", &work);
        c
    };
    ok(on("s3://vault/a").arg("init"));
    ok(on("s3://vault/a").args(["note", "DIV-1", "first"]));
    // Another vault's working copy.
    ok(evault_on(&moto)
        .args(["--vault", "s3://vault/b", "init"])
        .env("EVAULT_WORKDIR", dir.path().join("b")));
    let err = crate::util::refused(on("s3://vault/b").args(["note", "DIV-1", "x"]));
    assert!(err.contains("working copy of another vault"), "{err}");
    // A line added to the working copy behind the store's back.
    let manifest = crate::util::manifest(&work, "DIV-1");
    let held = std::fs::read_to_string(&manifest).unwrap();
    let forged = held.replace("\"first\"", "\"forged\"");
    std::fs::write(&manifest, forged).unwrap();
    let before = moto.count("vault", "a/orders/");
    let err = crate::util::refused(on("s3://vault/a").args(["note", "DIV-1", "second"]));
    assert!(
        err.contains("working copy") && err.contains("entry 1"),
        "{err}"
    );
    assert_eq!(moto.count("vault", "a/orders/"), before);
}

#[test]
fn init_with_object_lock_days_keeps_every_entry_and_blob_in_compliance_mode() {
    let moto = Moto::start();
    moto.bucket("plain");
    let dir = tempfile::tempdir().unwrap();
    let on = |url: &str| {
        let mut c = evault_on(&moto);
        c.args(["--vault", url, "--by", "mei"])
            .env("EVAULT_WORKDIR", dir.path().join(url.replace('/', "_")));
        c
    };
    // A bucket without Object Lock is refused, and nothing is created.
    let err = crate::util::refused(on("s3://plain/v").args(["init", "--object-lock-days", "2"]));
    assert!(err.contains("has no Object Lock"), "{err}");
    assert_eq!(moto.count("plain", "v/"), 0);
    let out = ok(on("s3://plain/w").arg("init"));
    assert!(out.contains("retention: none"), "{out}");

    let script = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
"#;
    ok(Command::new("python3").args(["-c", script, &moto.endpoint]));
    let out = ok(on("s3://locked/v").args(["init", "--object-lock-days", "2"]));
    assert!(
        out.contains("retention: every new object is kept COMPLIANCE for 2 days"),
        "{out}"
    );
    // Nothing is written when init is refused: a shorter retention, a
    // prefix that is a vault already, a working copy that is not empty.
    let err = crate::util::refused(on("s3://locked/w").args(["init", "--object-lock-days", "1"]));
    assert!(err.contains("does not shorten"), "{err}");
    let workdir = dir.path().join("s3:__locked_x");
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::write(workdir.join("notes.txt"), "mine").unwrap();
    let err = crate::util::refused(on("s3://locked/x").arg("init"));
    assert!(err.contains("new or empty directory"), "{err}");
    assert_eq!(moto.count("locked", "w/") + moto.count("locked", "x/"), 0);
    let err = crate::util::refused(
        evault_on(&moto)
            .args([
                "--vault",
                "s3://locked/v",
                "init",
                "--object-lock-days",
                "3",
            ])
            .env("EVAULT_WORKDIR", dir.path().join("again")),
    );
    assert!(err.contains("already a vault"), "{err}");
    ok(on("s3://locked/v")
        .args(["add", "LOCK-1"])
        .arg(examples().join("SO-2026-10481/DSC00017.jpg")));
    ok(on("s3://locked/v").args(["note", "LOCK-1", "sealed"]));
    let verified = ok(on("s3://locked/v").arg("verify"));
    assert!(
        verified.contains("retention: every new object is kept COMPLIANCE for 2 days"),
        "{verified}"
    );

    // Every object carries the retention; deleting one is refused by the store.
    let script = r#"
import boto3, botocore, datetime, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
versions = s3.list_object_versions(Bucket="locked", Prefix="v/")["Versions"]
now = datetime.datetime.now(datetime.timezone.utc)
for v in versions:
    h = s3.head_object(Bucket="locked", Key=v["Key"], VersionId=v["VersionId"])
    days = (h["ObjectLockRetainUntilDate"] - now).total_seconds() / 86400
    assert h["ObjectLockMode"] == "COMPLIANCE" and 1.9 < days <= 2.0, (v["Key"], h)
entry = [v for v in versions if "/log/" in v["Key"]][0]
try:
    s3.delete_object(Bucket="locked", Key=entry["Key"], VersionId=entry["VersionId"])
    print("deleted")
except botocore.exceptions.ClientError as e:
    print("refused", len(versions))
"#;
    let out = ok(Command::new("python3").args(["-c", script, &moto.endpoint]));
    // evault.json, one blob, two entries.
    assert_eq!(out.trim(), "refused 4", "{out}");
}
