//! Progress receivers of `Vault::verify_with_progress` and
//! `evault_export::export_with_progress`: every stage's steps add up to the
//! total it announced, and to what the report or the bundle says was done.

use std::fs;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::TimeZone;
use evault_core::{DisputeReason, Evidence, VerifyOptions, VerifyProgress};
use evault_export::{ExportOptions, ExportProgress, ExportStage, Paper, Profile};

use crate::util::{actor, blob_path, order, sample_vault};

#[derive(Default)]
struct VerifyCount {
    planned_calls: AtomicU64,
    planned_blobs: AtomicU64,
    planned_bytes: AtomicU64,
    hashed: AtomicU64,
    done: AtomicU64,
}

impl VerifyProgress for VerifyCount {
    fn planned(&self, blobs: u64, bytes: u64) {
        self.planned_calls.fetch_add(1, Ordering::SeqCst);
        self.planned_blobs.store(blobs, Ordering::SeqCst);
        self.planned_bytes.store(bytes, Ordering::SeqCst);
    }
    fn hashed(&self, bytes: u64) {
        assert!(bytes > 0);
        self.hashed.fetch_add(bytes, Ordering::SeqCst);
    }
    fn blob_done(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

impl VerifyCount {
    fn get(&self) -> [u64; 5] {
        [
            &self.planned_calls,
            &self.planned_blobs,
            &self.planned_bytes,
            &self.hashed,
            &self.done,
        ]
        .map(|a| a.load(Ordering::SeqCst))
    }
}

#[test]
fn verify_progress_adds_up_to_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = sample_vault(tmp.path());
    for options in [
        VerifyOptions::default(),
        VerifyOptions {
            fast: true,
            ..VerifyOptions::default()
        },
        VerifyOptions {
            order: Some(order("注文-0042")),
            ..VerifyOptions::default()
        },
    ] {
        let count = VerifyCount::default();
        let report = vault.verify_with_progress(&options, &count).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        assert!(report.blobs > 0 && report.bytes > 0);
        let [calls, blobs, bytes, hashed, done] = count.get();
        assert_eq!(calls, 1);
        assert_eq!((blobs, done), (report.blobs, report.blobs), "{options:?}");
        assert_eq!((bytes, hashed), (report.bytes, report.bytes), "{options:?}");
        // The quiet call reports the same.
        assert_eq!(vault.verify(&options).unwrap(), report);
    }

    // A missing blob is not planned; the others are still counted.
    let all = vault.verify(&VerifyOptions::default()).unwrap();
    let log = vault.log(&order("注文-0042")).unwrap();
    let gone: &Evidence = log.entries[0].entry.evidence().unwrap();
    let path = blob_path(vault.root(), &gone.sha256.to_hex());
    crate::util::writable(path.parent().unwrap());
    fs::remove_file(&path).unwrap();
    let count = VerifyCount::default();
    let report = vault
        .verify_with_progress(&VerifyOptions::default(), &count)
        .unwrap();
    assert!(report.findings.iter().any(|f| f.code == "blob-missing"));
    let [calls, blobs, bytes, hashed, done] = count.get();
    assert_eq!(calls, 1);
    assert_eq!((blobs, done), (all.blobs - 1, report.blobs));
    assert_eq!((bytes, hashed), (all.bytes - gone.size, report.bytes));
}

/// Every call, in order.
#[derive(Default)]
struct ExportLog(Mutex<Vec<(ExportStage, bool, u64)>>);

impl ExportProgress for ExportLog {
    fn start(&self, stage: ExportStage, total: u64) {
        self.0.lock().unwrap().push((stage, true, total));
    }
    fn advance(&self, stage: ExportStage, done: u64) {
        self.0.lock().unwrap().push((stage, false, done));
    }
}

impl ExportLog {
    /// `(stage, total, sum of its steps)` in the order the stages ran;
    /// panics when a step comes outside its stage.
    fn stages(self) -> Vec<(ExportStage, u64, u64)> {
        let mut stages: Vec<(ExportStage, u64, u64)> = Vec::new();
        for (stage, start, n) in self.0.into_inner().unwrap() {
            if start {
                assert!(
                    stages.iter().all(|s| s.0 != stage),
                    "{stage:?} started twice"
                );
                stages.push((stage, n, 0));
            } else {
                let last = stages.last_mut().expect("a step before any stage");
                assert_eq!(last.0, stage, "a {stage:?} step during {:?}", last.0);
                last.2 += n;
            }
        }
        stages
    }
}

/// `Payload-Oxum: BYTES.COUNT` from the bundle's bag-info.txt.
fn payload_bytes(bundle: &std::path::Path) -> u64 {
    let (_, info) = crate::export::members(bundle)
        .into_iter()
        .find(|(name, _)| name.ends_with("/bag-info.txt"))
        .unwrap();
    let info = String::from_utf8(info).unwrap();
    let oxum = info
        .lines()
        .find_map(|l| l.strip_prefix("Payload-Oxum: "))
        .unwrap();
    oxum.split_once('.').unwrap().0.parse().unwrap()
}

#[test]
fn export_progress_adds_up_to_the_bundle() {
    use ExportStage::{CheckOriginals, FitPhotos, WriteBundle};
    let tmp = tempfile::tempdir().unwrap();
    let vault = sample_vault(tmp.path());
    let o = order("112-7739151-0042185");
    let log = vault.log(&o).unwrap();
    let originals: u64 = log
        .entries
        .iter()
        .filter_map(|r| r.entry.evidence())
        .map(|e| e.size)
        .sum();
    for (platform, with_originals) in [
        ("paypal", true),
        ("stripe", true),
        ("stripe", false),
        ("archive", true),
    ] {
        let options = ExportOptions {
            profile: Profile::find(platform, &[]).unwrap(),
            reason: Some(DisputeReason::NotReceived),
            statement: Some("Shipped on time; the carrier shows it delivered.".into()),
            originals: with_originals,
            created: chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
            paper: Paper::A4,
            key: None,
            strict: false,
        };
        let out = tmp.path().join(format!("{platform}-{with_originals}.zip"));
        let progress = ExportLog::default();
        let report =
            evault_export::export_with_progress(&vault, &o, &options, &actor(), &out, &progress)
                .unwrap();
        let stages = progress.stages();
        let case = format!("{platform} originals={with_originals}: {stages:?}");
        for (stage, total, done) in &stages {
            assert_eq!(total, done, "{stage:?} of {case}");
        }
        let photos = report
            .fit
            .iter()
            .filter(|f| f.action.contains("JPEG quality"))
            .count() as u64;
        let mut expected = Vec::new();
        if platform != "archive" {
            assert!(photos > 0, "{case}");
            expected.push((FitPhotos, photos, photos));
        }
        if with_originals {
            expected.push((CheckOriginals, originals, originals));
        }
        let payload = payload_bytes(&out);
        expected.push((WriteBundle, payload, payload));
        assert_eq!(stages, expected, "{case}");
    }
}
