//! Every fuzz target's seeds (`fuzz/corpus/<target>/`) and every input a
//! fuzzer found a fault with (`tests/fixtures/fuzz/<target>/`, kept as
//! regression tests) run through the same code the target runs: each must
//! give a result or a clean error, never a panic.

use std::fs;
use std::path::{Path, PathBuf};

use evault_core::timestamp::{Anchors, Expected, check_reply};
use evault_core::{EvidenceKind, OrderLog, sniff_bytes};
use evault_export::Profile;
use evault_export::timeline::read;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        root.join("fuzz/corpus").join(target),
        root.join("tests/fixtures/fuzz").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let bytes = fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    assert!(!out.is_empty(), "no inputs for {target}");
    out.sort();
    out
}

#[test]
fn log_parse() {
    for (path, data) in inputs("log_parse") {
        if let Ok(log) = OrderLog::parse(&data, "fuzz") {
            assert!(
                log.root_at(log.entries.len() as u64).is_some(),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn verify_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    for (path, data) in inputs("verify_bundle") {
        let zip = tmp.path().join("in.zip");
        fs::write(&zip, &data).unwrap();
        // A seed is a bundle evault made: it verifies.
        let report = evault_export::verify_bundle(&zip, &Anchors::none());
        if path.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")) {
            assert!(report.unwrap().ok(), "{}", path.display());
        }
    }
}

#[test]
fn tsa_reply_and_certificates() {
    let anchors = Anchors::from_bytes(
        [
            include_str!("../fuzz/anchors/rsa.pem"),
            include_str!("../fuzz/anchors/p256.pem"),
            include_str!("../fuzz/anchors/p384.pem"),
        ]
        .concat()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(anchors.len(), 3);
    let expected = Expected {
        message: b"evault fuzz checkpoint",
        nonce: None,
    };
    for (path, data) in inputs("tsa_reply") {
        let stamp = check_reply(&data, &expected, &anchors);
        if path.extension().is_some_and(|e| e == "tsr") {
            assert!(stamp.is_ok(), "{}: {stamp:?}", path.display());
        }
    }
    for (_, data) in inputs("certificate") {
        let _ = Anchors::from_bytes(&data);
    }
}

#[test]
fn timeline_readers() {
    for (path, data) in inputs("timeline") {
        let Some((first, file)) = data.split_first() else {
            continue;
        };
        let kind = match first % 3 {
            0 => EvidenceKind::ChatLog,
            1 => EvidenceKind::TrackingEvents,
            _ => EvidenceKind::Email,
        };
        let reading = read(kind, 7, file).unwrap();
        if let Some(text) = evault_export::timeline::decode(file) {
            assert_eq!(
                reading.unaccounted_lines(&text),
                Vec::<usize>::new(),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn sniff_and_profiles() {
    for (_, data) in inputs("sniff") {
        for name in [
            "IMG_0001.jpg",
            "photo.png",
            "scan.heic",
            "clip.webp",
            "chat.txt",
        ] {
            let _ = sniff_bytes(name, &data);
        }
    }
    for (path, data) in inputs("profile") {
        let _ = Profile::from_json(&data, &path.display().to_string());
    }
}
