//! The service desk: its API over real HTTP, and its pages in a real
//! browser (Debian's Chromium, headless, driven by `tests/browser/desk.mjs`)
//! from finding an order to a downloaded Stripe bundle that `evault
//! verify-bundle`, `unzip -t` and poppler read back. Screenshots are kept in
//! `target/artifacts/screenshots/desk-*.png`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::serve_util::{Client, Served, log_json, setup, verifies};
use crate::util::{evault, ok, run};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample orders recorded by mei at pack-01, and two open disputes
/// elsewhere: one overdue, one due tomorrow on an order with no label.
fn desk_vault(vault: &Path) {
    ok(evault(vault)
        .args(["--by", "mei", "--station", "pack-01", "import"])
        .args(["--order-from", "folder"])
        .arg(repo().join("examples/evidence")));
    let today = chrono::Utc::now().date_naive();
    for (order, platform, reason, due) in [
        (
            "SO-2026-20001",
            "paypal",
            "not-received",
            today + chrono::Days::new(1),
        ),
        (
            "SO-2026-20002",
            "amazon",
            "damaged",
            today - chrono::Days::new(3),
        ),
    ] {
        let note = vault.with_extension("note.txt");
        fs::write(&note, order).unwrap();
        ok(evault(vault)
            .args(["--by", "mei", "--station", "pack-02", "add", order])
            .arg(&note));
        ok(evault(vault).args([
            "--by",
            "ana",
            "--station",
            "desk",
            "dispute",
            order,
            "--platform",
            platform,
            "--reason",
            reason,
            "--due",
            &due.to_string(),
        ]));
    }
}

#[test]
fn the_desk_api_answers_the_desk_roles_only_and_names_what_is_wrong() {
    let s = setup();
    desk_vault(&s.vault);
    let server = Served::start(&s.vault, &[]);
    let anon = Client::new(&server.url);
    let desk = anon.get("/desk");
    assert_eq!(desk.status, 303);
    assert_eq!(desk.header("location"), Some("/login?next=%2Fdesk"));
    assert_eq!(anon.get("/api/v1/orders").status, 401);

    let mei = Client::login(&server.url, "mei", "pack-01");
    for path in [
        "/api/v1/orders?q=2026",
        "/api/v1/disputes",
        "/api/v1/profiles",
    ] {
        let r = mei.get(path);
        assert_eq!((r.status, r.code().as_str()), (403, "forbidden"), "{path}");
    }
    let r = mei.send(
        "POST",
        "/api/v1/orders/SO-2026-10481/notes",
        &[("content-type", "application/json")],
        br#"{"text":"hi"}"#,
    );
    assert_eq!(r.status, 403);
    let page = mei.get("/orders");
    assert_eq!(page.status, 403);
    assert!(String::from_utf8_lossy(&page.body).contains("mei is a station account"));

    let lin = Client::login(&server.url, "lin", "desk-1");
    // A page for an order that does not exist says so, as a page.
    let page = lin.get("/orders/NO-SUCH-ORDER");
    assert_eq!(page.status, 404);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(String::from_utf8_lossy(&page.body).contains(r#"data-code="no-such-order""#));
    // Search: exact, prefix, substring (any case), filters, paging.
    let found = |q: &str| {
        let r = lin.get(&format!("/api/v1/orders?{q}"));
        assert_eq!(r.status, 200, "{q}: {:?}", String::from_utf8_lossy(&r.body));
        assert!(
            r.header("server-timing")
                .is_some_and(|t| t.starts_with("search;dur="))
        );
        r.json()
    };
    let ids = |v: &Value| -> Vec<String> {
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order"].as_str().unwrap().to_owned())
            .collect()
    };
    let v = found("q=so-2026-10481");
    assert_eq!(ids(&v), ["SO-2026-10481"]);
    assert_eq!(v["orders"][0]["match"], "exact");
    let v = found("q=so-2026");
    assert_eq!(v["total"], 3);
    assert!(
        v["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["match"] == "prefix")
    );
    let v = found("q=7739151");
    assert_eq!(ids(&v), ["112-7739151-0042185"]);
    assert_eq!(v["orders"][0]["match"], "substring");
    assert_eq!(found("station=PACK-02")["total"], 2);
    assert_eq!(found("operator=mei&dispute=no")["total"], 2);
    assert_eq!(found("dispute=yes")["total"], 2);
    let today = chrono::Utc::now().date_naive();
    assert_eq!(found(&format!("from={today}&to={today}"))["total"], 4);
    assert_eq!(found("to=2000-01-01")["total"], 0);
    let v = found("per_page=1&page=2");
    assert_eq!((v["total"].as_u64(), ids(&v).len()), (Some(4), 1));
    let r = lin.get("/api/v1/orders?from=yesterday");
    assert_eq!((r.status, r.code().as_str()), (400, "invalid-field"));
    assert!(r.json()["message"].as_str().unwrap().contains("YYYY-MM-DD"));

    // Disputes due: overdue first; the order without a label says so.
    let d = lin.get("/api/v1/disputes").json();
    let d = d["disputes"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["order"], "SO-2026-20002");
    assert_eq!(d[0]["days_left"], -3);
    assert_eq!(d[1]["order"], "SO-2026-20001");
    assert_eq!(
        d[1]["missing"],
        json!(["no label photo", "no carrier events"])
    );

    // Records: a note, a dispute, a retraction; refusals name the field.
    let post = |path: &str, body: Value| {
        lin.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
    };
    let r = post(
        "/api/v1/orders/SO-2026-10481/notes",
        json!({"text": "Buyer called"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.json());
    assert_eq!(r.json()["entry"]["recorded_by"], "lin");
    assert_eq!(r.json()["entry"]["station"], "desk-1");
    let seq = r.json()["entry"]["seq"].as_u64().unwrap();
    let r = post(
        "/api/v1/orders/SO-2026-10481/retractions",
        json!({"seq": seq, "reason": " "}),
    );
    assert_eq!((r.status, r.code().as_str()), (400, "invalid-field"));
    let r = post(
        "/api/v1/orders/SO-2026-10481/retractions",
        json!({"seq": 99, "reason": "x"}),
    );
    assert_eq!((r.status, r.code().as_str()), (404, "no-such-entry"));
    let r = post(
        "/api/v1/orders/SO-2026-10481/retractions",
        json!({"seq": seq, "reason": "wrong order"}),
    );
    assert_eq!(r.status, 201);
    let r = post(
        "/api/v1/orders/SO-2026-10481/retractions",
        json!({"seq": seq, "reason": "again"}),
    );
    assert_eq!((r.status, r.code().as_str()), (409, "wrong-entry"));
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("already retracted")
    );
    for (path, body) in [
        ("/api/v1/orders/NO-SUCH/notes", json!({"text": "x"})),
        (
            "/api/v1/orders/NO-SUCH/exports",
            json!({"profile": "stripe"}),
        ),
    ] {
        let r = post(path, body);
        assert_eq!(
            (r.status, r.code().as_str()),
            (404, "no-such-order"),
            "{path}"
        );
    }
    let r = post(
        "/api/v1/orders/SO-2026-10481/disputes",
        json!({"platform": "stripe", "reason": "not-received", "due": "12/20/2026"}),
    );
    assert_eq!((r.status, r.code().as_str()), (400, "invalid-field"));
    let r = post(
        "/api/v1/orders/SO-2026-10481/disputes",
        json!({"platform": "myspace", "reason": "not-received"}),
    );
    assert_eq!((r.status, r.code().as_str()), (400, "unknown-profile"));
    let r = post("/api/v1/orders/SO-2026-10481/notes", json!({"txt": "x"}));
    assert_eq!((r.status, r.code().as_str()), (422, "bad-json"));

    // A packing video gets a player on the order's page, and a still grabbed
    // from it says where it was taken.
    let video = crate::util::noise(7, 5000);
    let r = lin.send(
        "POST",
        "/api/v1/orders/SO-2026-10481/evidence",
        &[
            ("x-evault-name", "packing.webm"),
            ("x-evault-kind", "packing-video"),
        ],
        &video,
    );
    assert_eq!(r.status, 201, "{:?}", r.json());
    let still = crate::serve_util::label_photo("SO-2026-10481", "1Z999");
    let sha = crate::util::hex(&<sha2::Sha256 as sha2::Digest>::digest(&still));
    let r = lin.send(
        "POST",
        "/api/v1/orders/SO-2026-10481/evidence",
        &[
            ("x-evault-name", "still.jpg"),
            ("x-evault-kind", "packing-photo"),
            ("x-evault-device-sha256", &sha),
            ("idempotency-key", "S-1"),
            ("x-evault-frame-of", "V-1@6000"),
        ],
        &still,
    );
    assert_eq!(r.status, 201, "{:?}", r.json());
    let page = String::from_utf8(lin.get("/orders/SO-2026-10481").body).unwrap();
    assert!(page.contains(r#"<video class="player""#), "{page}");
    assert!(
        page.contains("a still grabbed at 00:06 of packing video V-1"),
        "{page}"
    );
    assert!(page.contains("/thumbnail\""), "{page}");

    // An export that cannot fit fails with what to drop, and records nothing.
    let before = log_json(&s.vault, "112-7739151-0042185").len();
    let r = post(
        "/api/v1/orders/112-7739151-0042185/exports",
        json!({"profile": "stripe", "reason": "not-received", "statement": "x".repeat(30_000)}),
    );
    assert_eq!(r.status, 202);
    let job = r.json()["job"].as_str().unwrap().to_owned();
    let done = wait_job(&lin, &job);
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "does-not-fit");
    assert!(
        done["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shorten it"),
        "{done}"
    );
    assert_eq!(log_json(&s.vault, "112-7739151-0042185").len(), before);

    // The order's verify report, fast and full; a blob altered is named.
    let v = lin.get("/api/v1/orders/112-7739151-0042185/verify").json();
    assert_eq!(
        (v["ok"].as_bool(), v["full"].as_bool()),
        (Some(true), Some(false))
    );
    let entry = log_json(&s.vault, "SO-2026-10481")
        .into_iter()
        .find(|e| e["type"] == "evidence")
        .unwrap();
    let hex = entry["sha256"].as_str().unwrap();
    let blob = crate::util::blob_path(&s.vault, hex);
    crate::util::writable(&blob);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[100] ^= 1;
    fs::write(&blob, bytes).unwrap();
    let v = lin
        .get("/api/v1/orders/SO-2026-10481/verify?full=true")
        .json();
    assert_eq!(v["ok"], false);
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"blob-altered"), "{codes:?}");

    // An order recorded by the CLI while the server runs is found after a refresh.
    fs::write(s.dir.path().join("late.txt"), "late").unwrap();
    ok(evault(&s.vault)
        .args(["--by", "mei", "--station", "pack-09", "add", "SO-LATE-1"])
        .arg(s.dir.path().join("late.txt")));
    let started = Instant::now();
    loop {
        if found("q=so-late")["total"] == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the index never saw SO-LATE-1"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(s.vault.join("index/orders.jsonl").is_file());
}

/// Polls an export job until it is no longer running.
fn wait_job(client: &Client, job: &str) -> Value {
    let started = Instant::now();
    loop {
        let v = client.get(&format!("/api/v1/exports/{job}")).json();
        if v["state"] != "running" {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_checked_bundle_that_was_altered_is_named_on_the_check_route() {
    let s = setup();
    desk_vault(&s.vault);
    let zip = s.dir.path().join("b.zip");
    ok(evault(&s.vault)
        .args([
            "--by",
            "lin",
            "--station",
            "desk",
            "export",
            "112-7739151-0042185",
        ])
        .args(["--platform", "paypal", "--reason", "not-received", "-o"])
        .arg(&zip));
    let server = Served::start(&s.vault, &[]);
    let lin = Client::login(&server.url, "lin", "desk-1");
    let check = |bundle: &[u8]| {
        let boundary = "xEvaultBoundary";
        let mut body = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"bundle\"; filename=\"b.zip\"\r\ncontent-type: application/zip\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bundle);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        lin.send(
            "POST",
            "/api/v1/bundles/check",
            &[("content-type", &ct)],
            &body,
        )
    };
    let good = fs::read(&zip).unwrap();
    let r = check(&good);
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["ok"], true, "{}", r.json());
    // Flip one byte of a stored (not deflated) upload: the member's hash no longer matches.
    let mut bad = good.clone();
    let at = find(&bad, b"%PDF").expect("a stored PDF in the zip") + 200;
    bad[at] ^= 0x20;
    let r = check(&bad).json();
    assert_eq!(r["ok"], false, "{r}");
    assert!(!r["findings"].as_array().unwrap().is_empty());
    let r = check(b"not a zip");
    assert_eq!((r.status, r.code().as_str()), (422, "unreadable-bundle"));
    assert!(s.vault.join("serve").read_dir().unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("check-")
    }));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The zip's members under `data/upload/`, in name order: (name, bytes).
fn uploads_in(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        if let Some((_, upload)) = name.split_once("/data/upload/") {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            out.push((upload.to_owned(), bytes));
        }
    }
    out.sort();
    out
}

#[test]
fn an_agent_answers_a_stripe_dispute_in_the_browser_end_to_end() {
    let modules = repo().join("tests/browser/node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "playwright-core is not installed: run scripts/test (it runs `npm ci --prefix tests/browser`)"
    );
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("chromium is not installed: apt-get install chromium, or run scripts/test")
        });
    let s = setup();
    desk_vault(&s.vault);
    let shots = repo().join("target/artifacts/screenshots");
    fs::create_dir_all(&shots).unwrap();
    let downloads = s.dir.path().join("downloads");
    fs::create_dir_all(&downloads).unwrap();
    let server = Served::start(&s.vault, &[]);
    let order = "112-7739151-0042185";

    let (code, out, err) = run(Command::new("node")
        .arg(repo().join("tests/browser/desk.mjs"))
        .env("EVAULT_URL", &server.url)
        .env("CHROMIUM", chromium)
        .env("SHOTS", &shots)
        .env("ORDER", order)
        .env("FRAGMENT", "7739151")
        .env(
            "EML",
            repo().join("tests/fixtures/exports/email/buyer-reply.eml"),
        )
        .env("DOWNLOADS", &downloads));
    assert_eq!(code, 0, "the browser run failed:\n{err}");
    let r: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));

    assert_eq!(r["station_refused"], true);
    let disputes = r["disputes"].as_array().unwrap();
    assert_eq!(disputes[0]["order"], "SO-2026-20002");
    assert!(disputes[0]["urgency"].as_str().unwrap().contains("overdue"));
    assert!(
        disputes[0]["text"]
            .as_str()
            .unwrap()
            .contains("3 days overdue")
    );
    assert_eq!(disputes[1]["order"], "SO-2026-20001");
    assert!(disputes[1]["urgency"].as_str().unwrap().contains("soon"));
    assert!(
        disputes[1]["text"]
            .as_str()
            .unwrap()
            .contains("no evidence of shipment yet"),
        "{disputes:?}"
    );
    assert_eq!(r["found"], json!([order]));
    assert!(
        r["retracted"][0]
            .as_str()
            .unwrap()
            .contains("noted on the wrong order")
    );
    assert!(
        r["statement"]
            .as_str()
            .unwrap()
            .starts_with("The buyer reports that the order did not arrive"),
        "{}",
        r["statement"]
    );
    assert!(
        r["limits"].as_str().unwrap().contains("Stripe"),
        "{}",
        r["limits"]
    );
    assert!(
        r["check"].as_str().unwrap().starts_with("Intact"),
        "{}",
        r["check"]
    );
    assert!(
        !r["disputes_after"]
            .as_array()
            .unwrap()
            .contains(&json!(order)),
        "{}",
        r["disputes_after"]
    );

    // The downloaded bundle: real tools accept it, and it holds exactly the
    // upload list the page showed, in that order, with those sizes and pages.
    let bundle = PathBuf::from(r["bundle"].as_str().unwrap());
    ok(evault(&s.vault).arg("verify-bundle").arg(&bundle));
    ok(Command::new("unzip").arg("-t").arg(&bundle));
    let members = uploads_in(&bundle);
    let shown: Vec<(String, u64)> = r["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["name"].as_str().unwrap().to_owned(),
                u["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let zipped: Vec<(String, u64)> = members
        .iter()
        .map(|(n, b)| (n.clone(), b.len() as u64))
        .collect();
    assert_eq!(shown, zipped);
    for (u, (name, bytes)) in r["uploads"].as_array().unwrap().iter().zip(&members) {
        if name.ends_with(".pdf") {
            let pdf = s.dir.path().join(name);
            fs::write(&pdf, bytes).unwrap();
            let info = ok(Command::new("pdfinfo").arg(&pdf));
            let pages = info
                .lines()
                .find_map(|l| l.strip_prefix("Pages:"))
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap();
            assert_eq!(u["pages"].as_u64(), Some(pages), "{name}");
        }
    }
    let first = fs::read(r["first_upload"].as_str().unwrap()).unwrap();
    assert_eq!(
        first, members[0].1,
        "the single download is the bundle's first upload file"
    );

    // The order page's timeline is the summary PDF's: the same events in the same order.
    let summary = members
        .iter()
        .find(|(n, _)| n.contains("summary"))
        .expect("a summary PDF");
    let pdf = s.dir.path().join("summary.pdf");
    fs::write(&pdf, &summary.1).unwrap();
    let text = ok(Command::new("pdftotext").arg(&pdf).arg("-"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat.find("Timeline").expect("a Timeline section");
    let section = &flat[start..];
    let in_pdf: Vec<u64> = section
        .match_indices("[entry ")
        .map_while(|(i, _)| {
            let rest = &section[i + 7..];
            rest[..rest.find(']')?].parse().ok()
        })
        .collect();
    let timeline = r["timeline"].as_array().unwrap();
    let on_page: Vec<u64> = timeline
        .iter()
        .map(|t| t["seq"].as_u64().unwrap())
        .collect();
    assert!(on_page.len() >= 8, "{timeline:#?}");
    assert_eq!(in_pdf[..on_page.len()], on_page[..], "{section}");
    let mut at = 0;
    for t in timeline {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let (when, what) = (
            words(t["when"].as_str().unwrap()),
            words(t["what"].as_str().unwrap()),
        );
        let found = section[at..]
            .find(&when)
            .unwrap_or_else(|| panic!("{when:?} not after {at} in the PDF: {section}"));
        at += found + when.len();
        let head: String = what.chars().take(30).collect();
        assert!(
            section[at..].trim_start().starts_with(&head),
            "{what:?} at {at}: {section}"
        );
    }
    // Log-only rows are there too: the note (retracted), the retraction, the export.
    assert!(timeline.iter().any(|t| {
        t["what"]
            .as_str()
            .unwrap()
            .contains("dispute recorded: not-received on stripe")
    }));
    for kind in ["note", "retract", "export", "checkpoint"] {
        assert!(
            r["log_rows"].as_array().unwrap().contains(&json!(kind)),
            "{kind}: {}",
            r["log_rows"]
        );
    }

    // What the agent did is in the log, under their name and desk.
    let log = log_json(&s.vault, order);
    let by_lin: Vec<&str> = log
        .iter()
        .filter(|e| e["recorded_by"] == "lin")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_lin,
        [
            "note",
            "evidence",
            "retract",
            "dispute",
            "checkpoint",
            "export"
        ]
    );
    assert!(
        log.iter()
            .all(|e| e["recorded_by"] != "lin" || e["station"] == "desk-berlin")
    );
    let email = log.iter().find(|e| e["kind"] == "email").unwrap();
    assert_eq!(email["name"], "buyer-reply.eml");
    verifies(&s.vault);
    for page in ["disputes", "orders", "order", "answer", "export", "check"] {
        for width in ["desktop", "phone"] {
            let shot = shots.join(format!("desk-{page}-{width}.png"));
            assert!(
                fs::metadata(&shot).unwrap().len() > 10_000,
                "{}",
                shot.display()
            );
        }
    }
}
