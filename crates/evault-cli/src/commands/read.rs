//! Commands that read: orders, log, get.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use evault_core::{Body, Recorded};

use crate::cli::Global;
use crate::output::size;
use crate::{Status, out, settings};

pub fn orders(g: &Global, json: bool) -> Result<Status> {
    let orders = settings::open(g)?.orders()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&orders)?);
        return Ok(Status::Ok);
    }
    out!(
        "{:<30} {:>7} {:>8} {:>10}  last recorded",
        "order",
        "entries",
        "evidence",
        "bytes"
    );
    for o in &orders {
        let last = o
            .last_recorded_at
            .map(|t| t.to_string())
            .unwrap_or_default();
        out!(
            "{:<30} {:>7} {:>8} {:>10}  {last}",
            o.order.as_str(),
            o.entries,
            o.evidence,
            size(o.bytes)
        );
    }
    Ok(Status::Ok)
}

fn describe(r: &Recorded, retracted: bool) -> String {
    let e = &r.entry;
    let what = match &e.body {
        Body::Evidence(ev) => {
            let mut s = format!(
                "{} {} ({}, {}, sha256 {})",
                ev.kind,
                ev.name,
                ev.media_type,
                size(ev.size),
                &ev.sha256.to_hex()[..16]
            );
            if let Some(img) = &ev.image {
                if let (Some(w), Some(h)) = (img.width, img.height) {
                    s.push_str(&format!(" {w}x{h}"));
                }
                if let Some(at) = &img.captured_at {
                    s.push_str(&format!(
                        " captured {at}{}",
                        img.captured_offset
                            .as_deref()
                            .unwrap_or(" (no zone recorded)")
                    ));
                }
            }
            if let Some(n) = &ev.note {
                s.push_str(&format!(" note: {n}"));
            }
            for w in &ev.warnings {
                s.push_str(&format!("\n      warning: {w}"));
            }
            s
        }
        Body::Note { text } => format!("note: {text}"),
        Body::Retract { target, reason } => format!("retracts #{target}: {reason}"),
        Body::Repair { cut_bytes, .. } => format!("repair: cut a torn line of {cut_bytes} bytes"),
        Body::Dispute(d) => {
            let mut s = format!("dispute on {}: {}", d.platform, d.reason);
            for (label, v) in [("case", &d.case_id), ("amount", &d.amount), ("due", &d.due)] {
                if let Some(v) = v {
                    s.push_str(&format!(", {label} {v}"));
                }
            }
            s
        }
        Body::Export(x) => format!(
            "exported a {} bundle ({}, through #{}, {} upload files, sha256 {})",
            x.profile,
            x.reason,
            x.through_seq,
            x.upload_files,
            x.bundle_sha256.chars().take(16).collect::<String>()
        ),
        Body::Checkpoint(c) => format!(
            "checkpoint: entries 1 to {} have Merkle root {}",
            c.size, c.root
        ),
        Body::Stamp(s) => format!(
            "RFC 3161 time-stamp over checkpoint #{}: {} by {} (run `evault verify` to check it)",
            s.checkpoint, s.time, s.tsa
        ),
        _ => "(entry type not shown)".into(),
    };
    let void = if retracted { " [RETRACTED]" } else { "" };
    format!(
        "#{:<4} {} {}@{}  {what}{void}",
        e.seq, e.recorded_at, e.recorded_by, e.station
    )
}

pub fn log(g: &Global, order: &str, json: bool) -> Result<Status> {
    let order = settings::order(order)?;
    let log = settings::open(g)?.log(&order)?;
    if json {
        let items: Vec<serde_json::Value> = log
            .entries
            .iter()
            .map(evault_core::Recorded::to_json)
            .collect::<Result<_, _>>()?;
        out!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        let retracted = log.retracted();
        for r in &log.entries {
            out!("{}", describe(r, retracted.contains(&r.entry.seq)));
        }
    }
    if log.torn_bytes > 0 {
        crate::output::warn(&format!(
            "the log ends with a torn line of {} bytes; run `evault repair {order:?}`",
            log.torn_bytes
        ));
    }
    Ok(Status::Ok)
}

pub fn get(g: &Global, order: &str, seq: u64, output: &Path, force: bool) -> Result<Status> {
    let order = settings::order(order)?;
    let vault = settings::open(g)?;
    let log = vault.log(&order)?;
    let Some(r) = log.get(seq) else {
        bail!("order {order:?} has no entry {seq} (see `evault log {order:?}`)");
    };
    let Some(ev) = r.entry.evidence() else {
        bail!("entry {seq} of {order:?} is not a file (see `evault log {order:?}`)");
    };
    if output.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            output.display()
        );
    }
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".evault-get-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut reader = match vault.open_blob(&ev.sha256) {
        Ok(r) => r,
        Err(evault_core::Error::BlobMissing(id)) => {
            crate::output::warn(&format!(
                "{order} #{seq} {}: its bytes (blob {id}) are missing from the vault; nothing was written. Run `evault verify` and restore the vault from a backup",
                ev.name
            ));
            return Ok(Status::Problem);
        }
        Err(e) => return Err(e.into()),
    };
    match io::copy(&mut reader, &mut tmp) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            crate::output::warn(&format!(
                "{order} #{seq} {}: {e}; nothing was written",
                ev.name
            ));
            return Ok(Status::Problem);
        }
        Err(e) => return Err(e).context("copying the blob"),
    }
    tmp.as_file_mut().flush()?;
    tmp.persist(output)
        .with_context(|| format!("writing {}", output.display()))?;
    out!(
        "wrote {} ({}, sha256 {} checked)",
        output.display(),
        size(ev.size),
        ev.sha256.to_hex()
    );
    Ok(Status::Ok)
}
