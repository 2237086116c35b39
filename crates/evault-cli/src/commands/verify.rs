//! `evault verify` and `evault verify-bundle`.

use std::fmt::Display;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use evault_core::{VerifyOptions, VerifyProgress};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::Global;
use crate::output::size;
use crate::{Status, out, progress, settings};

/// Bytes re-hashed on the bar, blobs done in its message.
struct Bar {
    bar: ProgressBar,
    blobs: AtomicU64,
    done: AtomicU64,
}

impl VerifyProgress for Bar {
    fn planned(&self, blobs: u64, bytes: u64) {
        self.blobs.store(blobs, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_message(format!("0/{blobs} blobs"));
    }
    fn hashed(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn blob_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let blobs = self.blobs.load(Ordering::Relaxed);
        self.bar.set_message(format!("{done}/{blobs} blobs"));
    }
}

pub fn verify(g: &Global, order: Option<&str>, fast: bool, json: bool) -> Result<Status> {
    let order = order.map(settings::order).transpose()?;
    let target = settings::vault_dir(g)?;
    let url = target
        .to_str()
        .filter(|s| s.starts_with("s3://") || s.starts_with("gs://"));
    let options = VerifyOptions {
        order,
        fast,
        tsa_anchors: settings::tsa_anchors(g)?,
    };
    let progress = Bar {
        bar: progress::bar(progress::bytes("re-hashing {msg}")),
        blobs: AtomicU64::new(0),
        done: AtomicU64::new(0),
    };
    let mut retention = None;
    let report = match url {
        // A vault on object storage (docs/format.md section 2.2).
        Some(url) => evault_core::ObjectLog::from_url(url).and_then(|log| {
            // Told, not judged: a key without the right to read the
            // bucket's configuration still verifies the vault.
            retention = match log.retention() {
                Ok(r) => r.map(|r| r.to_string()),
                Err(e) => Some(format!("not known ({e})")),
            };
            evault_core::verify_objects(&log, &options)
        }),
        None => settings::open(g)?.verify_with_progress(&options, &progress),
    };
    progress.bar.finish_and_clear();
    let report = report?;
    let problems = report
        .findings
        .iter()
        .filter(|f| f.severity == evault_core::Severity::Problem)
        .count();
    let summary = format!(
        "verify: {}: {} orders, {} entries, {} blobs ({}) re-hashed with {}; {problems} problems, {} notices",
        verdict(report.ok()),
        report.orders,
        report.entries,
        report.blobs,
        size(report.bytes),
        if report.fast {
            "BLAKE3"
        } else {
            "SHA-256 and BLAKE3"
        },
        report.findings.len() - problems
    ) + &signed(&report.signatures)
        + &stamped(&report.stamps)
        + &retention
            .map(|r| format!("\nretention: {r}"))
            .unwrap_or_default();
    print_report(report.ok(), json, &report, &report.findings, &summary)
}

pub fn verify_bundle(
    g: &Global,
    file: &Path,
    previous: Option<&Path>,
    json: bool,
) -> Result<Status> {
    let anchors = settings::tsa_anchors(g)?;
    let report = match previous {
        Some(old) => evault_export::verify_bundle_with_previous(file, old, &anchors)?,
        None => evault_export::verify_bundle(file, &anchors)?,
    };
    let summary = format!(
        "verify-bundle: {}: {} files ({}) hashed, {} log entries chained; {} problems",
        verdict(report.ok()),
        report.members,
        size(report.bytes),
        report.log_entries,
        report.findings.len()
    ) + &signed(&report.signatures)
        + &stamped(&report.stamps);
    print_report(report.ok(), json, &report, &report.findings, &summary)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "OK" } else { "PROBLEMS FOUND" }
}

/// `; 2 checkpoint signatures verified (station-1 sha256:… on ORDER #9, ...)`, or nothing.
fn signed(sigs: &[evault_core::SignedCheckpoint]) -> String {
    if sigs.is_empty() {
        return String::new();
    }
    let who: Vec<String> = sigs
        .iter()
        .map(|s| format!("{} {} on {} #{}", s.key, s.fingerprint, s.order, s.seq))
        .collect();
    format!(
        "; {} checkpoint signature{} verified ({})",
        sigs.len(),
        if sigs.len() == 1 { "" } else { "s" },
        who.join(", ")
    )
}

/// `; 1 time-stamp valid and trusted (ORDER #12 over checkpoint #11 at T by TSA)`, or nothing.
fn stamped(stamps: &[evault_core::StampedCheckpoint]) -> String {
    let mut out = String::new();
    for verdict in ["valid and trusted", "valid, TSA not trusted"] {
        let these: Vec<String> = stamps
            .iter()
            .filter(|s| s.verdict == verdict)
            .map(|s| {
                format!(
                    "{} #{} over checkpoint #{} at {} by {}",
                    s.order, s.seq, s.checkpoint, s.time, s.tsa
                )
            })
            .collect();
        if !these.is_empty() {
            out += &format!(
                "; {} time-stamp{} {verdict} ({})",
                these.len(),
                if these.len() == 1 { "" } else { "s" },
                these.join(", ")
            );
        }
    }
    out
}

/// Prints a report (JSON, or one line per finding and a summary) and
/// returns 0 or 1, also when stdout is closed early.
fn print_report(
    ok: bool,
    json: bool,
    report: &impl Serialize,
    findings: &[impl Display],
    summary: &str,
) -> Result<Status> {
    let status = if ok { Status::Ok } else { Status::Problem };
    crate::output::printed(status, || {
        if json {
            out!("{}", serde_json::to_string_pretty(report)?);
            return Ok(());
        }
        for f in findings {
            out!("{f}");
        }
        out!("{summary}");
        Ok(())
    })
}
