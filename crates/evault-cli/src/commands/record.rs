//! Commands that append: init, add, note, retract, repair.

use std::path::PathBuf;

use anyhow::{Result, bail};
use evault_core::{AddOutcome, NewEvidence, Recorded, RepairOutcome, Vault};

use crate::cli::Global;
use crate::output::{size, warn};
use crate::{Status, out, settings};

pub fn init(g: &Global, object_lock_days: Option<u32>) -> Result<Status> {
    if let Some(url) = settings::object_store_url(g) {
        let dir = settings::workdir(g, url)?;
        let vault = Vault::init_remote(url, &dir, object_lock_days)?;
        // Told, not judged (a key may lack the right to read it).
        let retention = match vault.object_log().map(|l| l.retention()).transpose() {
            Ok(r) => r.flatten().map(|r| r.to_string()),
            Err(e) => Some(format!("not known ({e})")),
        };
        out!(
            "created vault {url} ({}, id {}); working copy {}",
            evault_core::FORMAT,
            vault.id(),
            dir.display()
        );
        if let Some(retention) = retention {
            out!("retention: {retention}");
        }
        return Ok(Status::Ok);
    }
    if object_lock_days.is_some() {
        bail!(
            "--object-lock-days is for a vault on S3 (--vault s3://BUCKET/PREFIX); a directory's files are kept by its file system"
        );
    }
    let dir = settings::vault_dir(g)?;
    let vault = Vault::init(&dir)?;
    out!(
        "created vault {} ({}, id {})",
        dir.display(),
        evault_core::FORMAT,
        vault.id()
    );
    Ok(Status::Ok)
}

/// Prints one outcome; shared with `import`.
pub fn print_outcome(order: &str, outcome: &AddOutcome) -> Result<()> {
    match outcome {
        AddOutcome::Added(Recorded { entry, .. }) => {
            if let Some(e) = entry.evidence() {
                out!(
                    "added {order} #{} {} ({}, {}, {}, sha256 {})",
                    entry.seq,
                    e.name,
                    e.kind,
                    e.media_type,
                    size(e.size),
                    &e.sha256.to_hex()[..16]
                );
                for w in &e.warnings {
                    warn(&format!("{order} #{} {}: {w}", entry.seq, e.name));
                }
            }
        }
        AddOutcome::AlreadyRecorded { name, seq } => {
            out!("already recorded: {name} is entry #{seq} of {order}; not added again");
        }
    }
    Ok(())
}

pub fn add(
    g: &Global,
    order: &str,
    files: &[PathBuf],
    kind: Option<&str>,
    note: Option<String>,
) -> Result<Status> {
    let order = settings::order(order)?;
    let kind = settings::kind(kind)?;
    let actor = settings::actor(g)?;
    let vault = settings::open(g)?;
    for f in files {
        if !f.is_file() {
            bail!(
                "{} is not a readable file; check the path (nothing was recorded)",
                f.display()
            );
        }
    }
    let items = files
        .iter()
        .map(|f| NewEvidence::from_path(f).kind(kind).note(note.clone()))
        .collect();
    for outcome in vault.add(&order, items, &actor)? {
        print_outcome(order.as_str(), &outcome)?;
    }
    Ok(Status::Ok)
}

pub fn note(g: &Global, order: &str, text: &str) -> Result<Status> {
    let order = settings::order(order)?;
    let actor = settings::actor(g)?;
    let r = settings::open(g)?.note(&order, text, &actor)?;
    out!("noted {order} #{}", r.entry.seq);
    Ok(Status::Ok)
}

pub fn checkpoint(g: &Global, order: &str) -> Result<Status> {
    let order = settings::order(order)?;
    let actor = settings::actor(g)?;
    let key = settings::key(g)?;
    let r = settings::open(g)?.checkpoint(&order, &actor, key.as_ref())?;
    if let evault_core::Body::Checkpoint(c) = &r.entry.body {
        let signed = key
            .map(|k| format!(", signed by {}", k.name()))
            .unwrap_or_default();
        out!(
            "checkpoint {order} #{}: entries 1 to {}, Merkle root {}{signed}",
            r.entry.seq,
            c.size,
            c.root
        );
    }
    Ok(Status::Ok)
}

pub fn retract(g: &Global, order: &str, seq: u64, reason: &str) -> Result<Status> {
    let order = settings::order(order)?;
    let actor = settings::actor(g)?;
    let r = settings::open(g)?.retract(&order, seq, reason, &actor)?;
    out!(
        "retracted {order} #{seq} (recorded as #{}; the entry stays in the log)",
        r.entry.seq
    );
    Ok(Status::Ok)
}

pub fn repair(g: &Global, order: &str) -> Result<Status> {
    let order = settings::order(order)?;
    let actor = settings::actor(g)?;
    match settings::open(g)?.repair(&order, &actor)? {
        RepairOutcome::NothingToRepair => out!("{order}: the log ends cleanly; nothing to repair"),
        RepairOutcome::NewlineRestored { seq } => out!(
            "{order}: entry #{seq} was complete and correctly linked but had lost its newline; the newline was restored (no recorded byte changed)"
        ),
        RepairOutcome::Cut { bytes, entry } => out!(
            "{order}: cut a torn last line of {bytes} bytes (kept as blob {}); recorded as #{}",
            match &entry.entry.body {
                evault_core::Body::Repair { cut_sha256, .. } => cut_sha256.to_hex(),
                _ => String::new(),
            },
            entry.entry.seq
        ),
    }
    Ok(Status::Ok)
}
