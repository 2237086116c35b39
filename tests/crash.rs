//! kill -9 at many instants of a running import: nothing acknowledged is
//! lost; at worst a torn last line that `repair` cuts.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use evault_core::{Severity, Vault, VerifyOptions};

use crate::util::{evault, noise, order, run};

const ORDERS: [&str; 4] = ["SO-1001", "SO-1002", "SO-1003", "SO-1004"];

/// 160 distinct files of 40-120 kB in four order folders, new bytes per round.
fn source(dir: &Path, round: u64, files: &mut BTreeMap<(String, String), Vec<u8>>) {
    for i in 0..160u64 {
        let order = ORDERS[(i % 4) as usize];
        let name = format!("IMG_{round}_{i:04}.bin");
        let data = noise(round * 1000 + i + 1, 40_000 + (i as usize * 337) % 80_000);
        fs::create_dir_all(dir.join(order)).unwrap();
        fs::write(dir.join(order).join(&name), &data).unwrap();
        files.insert((order.to_owned(), format!("{order}/{name}")), data);
    }
}

/// Runs an import and kills it with SIGKILL after `after`; returns the
/// (order, seq, name) of every "added" line it printed (acknowledged).
fn import_and_kill(vault: &Path, src: &Path, after: Duration) -> Vec<(String, u64, String)> {
    let mut child = evault(vault)
        .arg("import")
        .arg(src)
        .args(["--order-from", "folder"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill(); // SIGKILL on Unix
    child.wait().unwrap();
    reader
        .join()
        .unwrap()
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("added ")?;
            let (order, rest) = rest.split_once(" #")?;
            let (seq, rest) = rest.split_once(' ')?;
            let (name, _) = rest.split_once(" (")?;
            Some((order.to_owned(), seq.parse().ok()?, name.to_owned()))
        })
        .collect()
}

#[test]
fn kill_9_loop_over_a_running_import_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    let mut files = BTreeMap::new();
    let mut sources = Vec::new();

    let mut acknowledged = Vec::new();
    let mut torn_repaired = 0;
    for (i, ms) in [3u64, 10, 25, 40, 60, 90, 130, 180, 250, 400]
        .into_iter()
        .enumerate()
    {
        // Each round imports a new folder of new bytes, so each kill lands in
        // the middle of real work (hashing, group commit, appending).
        let src = tmp.path().join(format!("dcim-{i}"));
        source(&src, i as u64, &mut files);
        acknowledged.extend(import_and_kill(&vault, &src, Duration::from_millis(ms)));
        sources.push(src);
        let report = Vault::open(&vault)
            .unwrap()
            .verify(&VerifyOptions {
                fast: true,
                ..Default::default()
            })
            .unwrap();
        let problems: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .collect();
        for p in &problems {
            assert_eq!(
                p.code, "torn-last-line",
                "only a torn last line may follow a crash: {p}"
            );
            let (code, _, err) = run(evault(&vault).args(["repair", p.order.as_deref().unwrap()]));
            assert_eq!(code, 0, "{err}");
            torn_repaired += 1;
        }
        for f in &report.findings {
            assert!(
                matches!(
                    f.code,
                    "torn-last-line" | "temporary-file" | "unreferenced-blob" | "head-missing"
                ),
                "unexpected finding after a crash: {f}"
            );
        }
    }
    // Let the imports finish: every file recorded exactly once.
    for src in &sources {
        let (code, out, err) = run(evault(&vault)
            .arg("import")
            .arg(src)
            .args(["--order-from", "folder"]));
        assert_eq!(code, 0, "{out}{err}");
    }
    let (code, out, err) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 problems"), "{out}");

    let v = Vault::open(&vault).unwrap();
    let mut seen = BTreeSet::new();
    for o in ORDERS {
        let log = v.log(&order(o)).unwrap();
        for r in &log.entries {
            if let Some(e) = r.entry.evidence() {
                let data = &files[&(o.to_owned(), e.name.clone())];
                assert_eq!(e.size, data.len() as u64);
                assert!(
                    seen.insert((o, e.name.clone())),
                    "{o} {} recorded twice",
                    e.name
                );
            }
        }
    }
    assert_eq!(
        seen.len(),
        files.len(),
        "every file is recorded once in the end"
    );
    for (o, seq, name) in &acknowledged {
        let log = v.log(&order(o)).unwrap();
        let e = log.get(*seq).and_then(|r| r.entry.evidence());
        assert_eq!(
            e.map(|e| e.name.as_str()),
            Some(name.as_str()),
            "acknowledged {o} #{seq} {name} was lost"
        );
    }
    eprintln!(
        "{} of {} files acknowledged before a kill, {torn_repaired} torn tails repaired",
        acknowledged.len(),
        files.len()
    );
    assert!(
        !acknowledged.is_empty(),
        "the kills all came before any acknowledgement: the test proved nothing"
    );
}
