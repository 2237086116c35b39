//! Several processes (packing stations) append to one order at once.

use std::collections::BTreeSet;
use std::fs;

use evault_core::{Body, Vault, VerifyOptions};

use crate::util::{evault, noise, order, run};

#[test]
fn concurrent_processes_keep_sequence_numbers_contiguous() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    const STATIONS: u64 = 6;
    const EACH: u64 = 8;
    let files = tmp.path().join("files");
    fs::create_dir_all(&files).unwrap();
    std::thread::scope(|s| {
        for station in 0..STATIONS {
            let (vault, files) = (&vault, &files);
            s.spawn(move || {
                for j in 0..EACH {
                    let mut cmd = evault(vault);
                    cmd.env("EVAULT_STATION", format!("pack-{station}"));
                    if j % 2 == 0 {
                        cmd.args([
                            "note",
                            "AE#8812-331",
                            &format!("station {station} note {j}"),
                        ]);
                    } else {
                        let f = files.join(format!("s{station}-{j}.jpg"));
                        fs::write(&f, noise(station * 100 + j + 1, 30_000)).unwrap();
                        cmd.args(["add", "AE#8812-331"]).arg(&f);
                    }
                    let (code, out, err) = run(&mut cmd);
                    assert_eq!(code, 0, "{out}{err}");
                }
            });
        }
    });
    let v = Vault::open(&vault).unwrap();
    let log = v.log(&order("AE#8812-331")).unwrap();
    let seqs: Vec<u64> = log.entries.iter().map(|r| r.entry.seq).collect();
    assert_eq!(seqs, (1..=STATIONS * EACH).collect::<Vec<_>>());
    let what: BTreeSet<String> = log
        .entries
        .iter()
        .map(|r| match &r.entry.body {
            Body::Note { text } => text.clone(),
            Body::Evidence(e) => e.name.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        what.len() as u64,
        STATIONS * EACH,
        "an entry was lost or duplicated"
    );
    let report = v.verify(&VerifyOptions::default()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn concurrent_threads_share_one_vault_handle() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::init(tmp.path().join("vault")).unwrap();
    let actor = crate::util::actor();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (vault, actor) = (&vault, &actor);
            s.spawn(move || {
                for j in 0..25 {
                    vault
                        .note(&order("SO-7"), &format!("thread {t} note {j}"), actor)
                        .unwrap();
                }
            });
        }
    });
    let log = vault.log(&order("SO-7")).unwrap();
    assert_eq!(
        log.entries.iter().map(|r| r.entry.seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    assert!(
        vault
            .verify(&VerifyOptions::default())
            .unwrap()
            .findings
            .is_empty()
    );
}
