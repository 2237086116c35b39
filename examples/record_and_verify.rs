//! Uses evault-core as a library: records the sample evidence of one order,
//! adds a note, reads the log back, reads a blob back (checked against its
//! hash) and verifies the vault.
//!
//! ```sh
//! cargo run --example record_and_verify -- /tmp/my-vault
//! ```
//! Without an argument it works in a new temporary directory.

use std::error::Error;
use std::io::Read;
use std::path::Path;

use evault_core::{Actor, AddOutcome, Body, NewEvidence, OrderId, Vault, VerifyOptions};

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = tempfile::tempdir()?;
    let root = match std::env::args_os().nth(1) {
        Some(dir) => dir.into(),
        None => scratch.path().join("vault"),
    };
    let vault = if root.join("evault.json").exists() {
        Vault::open(&root)?
    } else {
        Vault::init(&root)?
    };
    let actor = Actor::new("example", "library-demo")?;
    let order: OrderId = "112-7739151-0042185".parse()?;

    // Every file of the sample order, in one durable commit.
    let samples =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/evidence/112-7739151-0042185");
    let mut files: Vec<_> = std::fs::read_dir(&samples)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let items = files.into_iter().map(NewEvidence::from_path).collect();
    for outcome in vault.add(&order, items, &actor)? {
        match outcome {
            AddOutcome::Added(r) => println!("recorded #{} as {}", r.entry.seq, r.hash),
            AddOutcome::AlreadyRecorded { name, seq } => {
                println!("{name} was already recorded as #{seq}")
            }
        }
    }
    vault.note(&order, "buyer reports the parcel as not received", &actor)?;

    // Read the order back and re-read the first photo's bytes.
    let log = vault.log(&order)?;
    for r in &log.entries {
        match &r.entry.body {
            Body::Evidence(e) => {
                println!("#{} {} {} {} bytes", r.entry.seq, e.kind, e.name, e.size)
            }
            other => println!("#{} {other:?}", r.entry.seq),
        }
    }
    if let Some(e) = log.entries.iter().find_map(|r| r.entry.evidence()) {
        let mut bytes = Vec::new();
        vault.open_blob(&e.sha256)?.read_to_end(&mut bytes)?;
        println!(
            "read {} bytes of {} back, hash checked",
            bytes.len(),
            e.name
        );
    }

    let report = vault.verify(&VerifyOptions::default())?;
    for finding in &report.findings {
        println!("{finding}");
    }
    println!(
        "verify: {} orders, {} entries, {} blobs: {}",
        report.orders,
        report.entries,
        report.blobs,
        if report.ok() { "OK" } else { "PROBLEMS" }
    );
    Ok(())
}
