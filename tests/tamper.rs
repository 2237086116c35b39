//! Every tamper class is detected and named precisely; an untouched vault
//! reports nothing (see golden.rs for the clean case).

use std::fs;
use std::path::{Path, PathBuf};

use evault_core::{RepairOutcome, Severity, Vault, VerifyOptions, verify::Finding};

use crate::util::{actor, blob_path, evault, manifest, order, sample_vault, writable};

/// A problem as (code, order, seq, file).
type Named = (&'static str, Option<String>, Option<u64>, Option<String>);

const O1: &str = "112-7739151-0042185";

struct Case {
    _tmp: tempfile::TempDir,
    vault: Vault,
}

impl Case {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let vault = sample_vault(tmp.path());
        assert!(
            vault
                .verify(&VerifyOptions::default())
                .unwrap()
                .findings
                .is_empty()
        );
        Self { _tmp: tmp, vault }
    }
    fn root(&self) -> &Path {
        self.vault.root()
    }
    fn manifest(&self) -> PathBuf {
        manifest(self.root(), O1)
    }
    fn lines(&self) -> Vec<String> {
        fs::read_to_string(self.manifest())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
    fn write_lines(&self, lines: &[String]) {
        fs::write(self.manifest(), lines.join("\n") + "\n").unwrap();
    }
    fn blob_of(&self, seq: u64) -> PathBuf {
        let log = self.vault.log(&order(O1)).unwrap();
        let e = log.get(seq).unwrap().entry.evidence().unwrap().clone();
        let path = blob_path(self.root(), &e.sha256.to_hex());
        writable(&path);
        path
    }
    /// Flips one bit of entry `seq`'s blob in the store.
    fn alter_blob(&self, seq: u64) {
        let path = self.blob_of(seq);
        let mut bytes = fs::read(&path).unwrap();
        bytes[1000] ^= 1;
        fs::write(&path, bytes).unwrap();
    }
    fn findings(&self, fast: bool) -> Vec<Finding> {
        let options = VerifyOptions {
            fast,
            ..VerifyOptions::default()
        };
        self.vault.verify(&options).unwrap().findings
    }
    /// The problems found, as (code, order, seq, file).
    fn problems(&self) -> Vec<Named> {
        self.findings(false)
            .into_iter()
            .filter(|f| f.severity == Severity::Problem)
            .map(|f| (f.code, f.order, f.seq, f.file))
            .collect()
    }
}

fn p(code: &'static str, seq: u64, file: Option<&str>) -> Named {
    (
        code,
        Some(O1.to_owned()),
        Some(seq),
        file.map(str::to_owned),
    )
}

#[test]
fn edited_middle_line_breaks_the_next_link() {
    let c = Case::new();
    let mut lines = c.lines();
    lines[1] = lines[1].replace("label-IMG_2044.jpg", "label-IMG_2045.jpg");
    c.write_lines(&lines);
    assert_eq!(
        c.problems(),
        vec![p("broken-link", 3, Some("chat-with-buyer.txt"))]
    );
    let f = &c.findings(false)[0];
    assert!(f.message.contains("line 2 (\"label-IMG_2045.jpg\")"), "{f}");
    assert_ne!(f.expected, f.found);
}

#[test]
fn edited_last_line_differs_from_head() {
    let c = Case::new();
    let mut lines = c.lines();
    lines[4] = lines[4].replace("tracking-events.csv", "tracking-events-v2.csv");
    c.write_lines(&lines);
    assert_eq!(c.problems(), vec![p("head-mismatch", 5, None)]);
}

#[test]
fn edited_digest_in_an_entry_is_named() {
    let c = Case::new();
    let mut lines = c.lines();
    let b3 = c
        .vault
        .log(&order(O1))
        .unwrap()
        .get(1)
        .unwrap()
        .entry
        .evidence()
        .unwrap()
        .blake3
        .to_hex();
    lines[0] = lines[0].replace(&b3, &"0".repeat(64));
    c.write_lines(&lines);
    let problems = c.problems();
    assert!(
        problems.contains(&p("digest-mismatch", 1, Some("IMG_2041.jpg"))),
        "{problems:?}"
    );
    assert!(
        problems.contains(&p("broken-link", 2, Some("label-IMG_2044.jpg"))),
        "{problems:?}"
    );
}

#[test]
fn deleted_middle_line_is_a_gap() {
    let c = Case::new();
    let mut lines = c.lines();
    lines.remove(2);
    c.write_lines(&lines);
    assert_eq!(
        c.problems(),
        vec![p("wrong-seq", 4, None), p("broken-link", 4, None)]
    );
    assert!(c.findings(false)[0].message.contains("missing before it"));
}

#[test]
fn deleted_last_line_is_a_truncated_log() {
    let c = Case::new();
    let mut lines = c.lines();
    lines.pop();
    c.write_lines(&lines);
    assert_eq!(c.problems(), vec![p("log-truncated", 5, None)]);
}

#[test]
fn inserted_line_is_found() {
    let c = Case::new();
    let mut lines = c.lines();
    lines.insert(2, lines[1].clone());
    c.write_lines(&lines);
    let problems = c.problems();
    assert!(
        problems.contains(&p("wrong-seq", 2, Some("label-IMG_2044.jpg"))),
        "{problems:?}"
    );
    assert!(
        problems.contains(&p("broken-link", 2, Some("label-IMG_2044.jpg"))),
        "{problems:?}"
    );
}

#[test]
fn reordered_lines_are_found() {
    let c = Case::new();
    let mut lines = c.lines();
    lines.swap(1, 2);
    c.write_lines(&lines);
    let problems = c.problems();
    assert!(
        problems.contains(&p("wrong-seq", 3, Some("chat-with-buyer.txt"))),
        "{problems:?}"
    );
    assert!(
        problems.contains(&p("broken-link", 3, Some("chat-with-buyer.txt"))),
        "{problems:?}"
    );
    assert!(
        problems.contains(&p("wrong-seq", 2, Some("label-IMG_2044.jpg"))),
        "{problems:?}"
    );
}

#[test]
fn entry_copied_from_another_order_is_found() {
    let c = Case::new();
    let mut lines = c.lines();
    let other = fs::read_to_string(manifest(c.root(), "注文-0042")).unwrap();
    lines.push(
        other
            .lines()
            .next()
            .unwrap()
            .replace("\"seq\":1,", "\"seq\":6,"),
    );
    c.write_lines(&lines);
    let problems = c.problems();
    assert!(
        problems.contains(&p("wrong-order", 6, Some("DSC00017.jpg"))),
        "{problems:?}"
    );
}

#[test]
fn torn_tail_is_found_and_repair_cuts_only_it() {
    let c = Case::new();
    let before = fs::read(c.manifest()).unwrap();
    let mut torn = before.clone();
    let tail = b"{\"v\":1,\"seq\":6,\"prev\":\"sha2";
    torn.extend_from_slice(tail);
    fs::write(c.manifest(), &torn).unwrap();
    assert_eq!(c.problems(), vec![p("torn-last-line", 6, None)]);
    // Appending refuses to build on a torn log.
    let err = c.vault.note(&order(O1), "more", &actor()).unwrap_err();
    assert!(err.to_string().contains("repair"), "{err}");
    match c.vault.repair(&order(O1), &actor()).unwrap() {
        RepairOutcome::Cut { bytes, entry } => {
            assert_eq!(bytes, tail.len() as u64);
            assert_eq!(entry.entry.seq, 6);
        }
        other => panic!("expected a cut, got {other:?}"),
    }
    let after = fs::read(c.manifest()).unwrap();
    assert!(
        after.starts_with(&before),
        "repair changed acknowledged lines"
    );
    assert!(c.findings(false).is_empty(), "{:?}", c.findings(false));
    assert!(matches!(
        c.vault.repair(&order(O1), &actor()).unwrap(),
        RepairOutcome::NothingToRepair
    ));
}

#[test]
fn missing_blob_is_named() {
    let c = Case::new();
    fs::remove_file(c.blob_of(1)).unwrap();
    assert_eq!(
        c.problems(),
        vec![p("blob-missing", 1, Some("IMG_2041.jpg"))]
    );
}

#[test]
fn altered_blob_is_found_by_full_and_fast_verify() {
    let c = Case::new();
    c.alter_blob(2);
    assert_eq!(
        c.problems(),
        vec![p("blob-altered", 2, Some("label-IMG_2044.jpg"))]
    );
    let fast = c.findings(true);
    assert_eq!(fast.len(), 1);
    assert_eq!((fast[0].code, fast[0].seq), ("blob-altered", Some(2)));
}

#[test]
fn swapped_blobs_are_found_and_said_to_be_swapped() {
    let c = Case::new();
    let (a, b) = (c.blob_of(1), c.blob_of(2));
    let (ba, bb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    fs::write(&a, bb).unwrap();
    fs::write(&b, ba).unwrap();
    assert_eq!(
        c.problems(),
        vec![
            p("blob-altered", 1, Some("IMG_2041.jpg")),
            p("blob-altered", 2, Some("label-IMG_2044.jpg"))
        ]
    );
    let first = &c.findings(false)[0];
    assert!(first.message.contains("blobs swapped"), "{first}");
    assert!(first.message.contains("label-IMG_2044.jpg"), "{first}");
}

#[test]
fn unreferenced_blob_is_a_notice_not_a_problem() {
    let c = Case::new();
    let data = b"left behind by an interrupted add";
    let hex: String = <sha2::Sha256 as sha2::Digest>::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = blob_path(c.root(), &hex);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, data).unwrap();
    let report = c.vault.verify(&VerifyOptions::default()).unwrap();
    assert!(report.ok());
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].code, "unreferenced-blob");
}

#[test]
fn binary_reports_tampering_with_exit_1_and_names_it() {
    let c = Case::new();
    let path = c.blob_of(1);
    fs::write(&path, b"replaced").unwrap();
    let out = evault(c.root()).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("[blob-altered]")
            && stdout.contains("entry 1")
            && stdout.contains("IMG_2041.jpg"),
        "{stdout}"
    );
    let json = evault(c.root())
        .args(["verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["findings"][0]["code"], "blob-altered");
    assert_eq!(v["findings"][0]["seq"], 1);
}

#[test]
fn clock_going_backwards_is_a_notice() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::init(tmp.path().join("v")).unwrap();
    let late = chrono::DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
        .unwrap()
        .to_utc();
    let early = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .to_utc();
    vault
        .clone()
        .with_clock(std::sync::Arc::new(move || late))
        .note(&order(O1), "first", &actor())
        .unwrap();
    vault
        .clone()
        .with_clock(std::sync::Arc::new(move || early))
        .note(&order(O1), "second", &actor())
        .unwrap();
    let report = vault.verify(&VerifyOptions::default()).unwrap();
    assert!(report.ok());
    assert_eq!(
        report
            .findings
            .iter()
            .map(|f| (f.code, f.seq))
            .collect::<Vec<_>>(),
        vec![("clock-backwards", Some(2))]
    );
}

#[test]
fn appending_after_an_edited_or_truncated_tail_is_refused() {
    let c = Case::new();
    let mut lines = c.lines();
    lines[4] = lines[4].replace("tracking-events.csv", "tracking-v2.csv");
    c.write_lines(&lines);
    let err = c.vault.note(&order(O1), "more", &actor()).unwrap_err();
    assert!(
        err.to_string()
            .contains("differs from the hash its HEAD file recorded"),
        "{err}"
    );
    lines.pop();
    c.write_lines(&lines);
    let err = c.vault.note(&order(O1), "more", &actor()).unwrap_err();
    assert!(err.to_string().contains("removed from its end"), "{err}");
    // Nothing was appended: the evidence of tampering is still there.
    assert_eq!(c.lines(), lines);
    assert_eq!(c.problems(), vec![p("log-truncated", 5, None)]);
}

#[test]
fn concurrent_retractions_of_one_entry_record_exactly_one() {
    let c = Case::new();
    let vault = &c.vault;
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                s.spawn(move || vault.retract(&order(O1), 2, &format!("reason {i}"), &actor()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(r.to_string().contains("already retracted"), "{r}");
    }
    assert!(c.findings(false).is_empty(), "{:?}", c.findings(false));
}

#[test]
fn get_of_a_missing_blob_is_exit_1() {
    let c = Case::new();
    fs::remove_file(c.blob_of(1)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, _, err) = crate::util::run(
        evault(c.root())
            .args(["get", O1, "1", "-o"])
            .arg(out.path().join("x.jpg")),
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("missing") && err.contains("restore"), "{err}");
}

#[test]
fn re_adding_the_original_restores_a_damaged_blob() {
    let c = Case::new();
    let path = c.blob_of(1);
    let good = crate::util::sample("112-7739151-0042185/IMG_2041.jpg");
    let mut bad = good.clone();
    bad[100] ^= 0xFF;
    fs::write(&path, &bad).unwrap();
    assert_eq!(
        c.problems(),
        vec![p("blob-altered", 1, Some("IMG_2041.jpg"))]
    );
    let out = c
        .vault
        .add(
            &order(O1),
            vec![crate::util::bytes("IMG_2041.jpg", good.clone())],
            &actor(),
        )
        .unwrap();
    assert!(
        matches!(
            out[0],
            evault_core::AddOutcome::AlreadyRecorded { seq: 1, .. }
        ),
        "{out:?}"
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        good,
        "the verified copy replaces the damaged one"
    );
    let findings = c.findings(false);
    assert!(
        findings.iter().all(|f| f.severity == Severity::Notice),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|f| f.code == "temporary-file"
            && f.file.as_deref().is_some_and(|n| n.contains("damaged-"))),
        "{findings:?}"
    );
}

#[test]
fn repair_restores_a_lost_newline_instead_of_cutting_an_entry() {
    let c = Case::new();
    let before = fs::read(c.manifest()).unwrap();
    fs::write(c.manifest(), &before[..before.len() - 1]).unwrap();
    assert_eq!(
        c.problems(),
        vec![p("torn-last-line", 5, None), p("log-truncated", 5, None)]
    );
    match c.vault.repair(&order(O1), &actor()).unwrap() {
        RepairOutcome::NewlineRestored { seq } => assert_eq!(seq, 5),
        other => panic!("expected the newline restored, got {other:?}"),
    }
    assert_eq!(fs::read(c.manifest()).unwrap(), before);
    assert!(c.findings(false).is_empty(), "{:?}", c.findings(false));
    c.vault
        .note(&order(O1), "appends work again", &actor())
        .unwrap();
}

#[test]
fn verify_into_a_closed_pipe_still_exits_1() {
    let c = Case::new();
    fs::remove_file(c.blob_of(1)).unwrap();
    let mut child = evault(c.root())
        .arg("verify")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `evault verify | head -n0`
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

/// Rewrites the `prev` links of every line after `from` and HEAD (see `util::rechain`).
fn rechain(c: &Case, lines: &mut [String], from: usize) {
    crate::util::rechain(&c.manifest(), lines, from);
}

#[test]
fn history_rewritten_and_rechained_before_a_checkpoint_is_caught_by_it() {
    let c = Case::new();
    let cp = c.vault.checkpoint(&order(O1), &actor(), None).unwrap();
    c.vault
        .note(&order(O1), "after the checkpoint", &actor())
        .unwrap();
    assert!(c.problems().is_empty());
    // Rewritten and re-chained: the chain and HEAD agree, only the checkpoint sees it.
    let mut lines = c.lines();
    let edited = lines[1].replacen("\"recorded_by\":\"", "\"recorded_by\":\"someone-else-", 1);
    assert_ne!(edited, lines[1]);
    lines[1] = edited;
    rechain(&c, &mut lines, 1);
    assert_eq!(
        c.problems(),
        vec![p("checkpoint-mismatch", cp.entry.seq, None)]
    );
}

#[test]
fn checkpoint_claiming_later_entries_is_a_forgery() {
    let c = Case::new();
    let cp = c.vault.checkpoint(&order(O1), &actor(), None).unwrap();
    let mut lines = c.lines();
    let n = cp.entry.seq as usize - 1;
    lines[n] = lines[n].replace(&format!("\"size\":{n}"), &format!("\"size\":{}", n + 5));
    rechain(&c, &mut lines, n);
    assert_eq!(c.problems(), vec![p("bad-checkpoint", cp.entry.seq, None)]);
    // The library refuses to record a checkpoint by hand.
    let forged = evault_core::Body::Checkpoint(evault_core::Checkpoint {
        vault: c.vault.id().to_owned(),
        size: 1,
        root: evault_core::EntryHash::from_bytes([0; 32]),
        signatures: Vec::new(),
    });
    assert!(c.vault.record(&order(O1), forged, &actor()).is_err());
}

#[test]
fn export_refuses_an_altered_blob_and_records_nothing() {
    let c = Case::new();
    c.alter_blob(2);
    let before = fs::read_to_string(c.manifest()).unwrap();
    let outdir = tempfile::tempdir().unwrap();
    // stripe reads the photo to fit it; archive only copies the original.
    for platform in ["stripe", "archive"] {
        let out = outdir.path().join("bundle.zip");
        let (code, _, err) = crate::util::run(
            evault(c.root())
                .args(["export", O1, "--platform", platform])
                .args(["--reason", "damaged", "-o"])
                .arg(&out),
        );
        assert_eq!(code, 2, "{platform}: {err}");
        assert!(
            err.contains("label-IMG_2044.jpg (entry 2)") && err.contains("verify"),
            "{platform}: {err}"
        );
        assert_eq!(
            fs::read_dir(outdir.path()).unwrap().count(),
            0,
            "{platform}"
        );
        let after = fs::read_to_string(c.manifest()).unwrap();
        assert_eq!(after, before, "{platform}: something was recorded");
    }
}
