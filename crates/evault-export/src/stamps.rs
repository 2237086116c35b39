//! RFC 3161 stamps in bundles: checked when exporting, copied out as
//! `evault/stamps/entry-<seq>.tsr` (the TSA's reply) and `.data` (the exact
//! checkpoint statement it covers) for `openssl ts -verify`, and checked
//! again by `verify-bundle` from the bundled log.

use std::collections::{BTreeMap, HashMap};

use evault_core::timestamp::Anchors;
use evault_core::{Body, Entry, OrderId, OrderLog};

use crate::bag::Bag;
use crate::error::{Error, Result};
use crate::verify_bundle::BundleReport;

/// Where the copies go inside the bag.
pub(crate) const DIR: &str = "evault/stamps/";

/// A stamp of the log that checked out.
pub(crate) struct LoggedStamp {
    pub seq: u64,
    pub checkpoint: u64,
    pub size: u64,
    pub time: String,
    pub tsa: String,
    pub reply: Vec<u8>,
    pub message: Vec<u8>,
}

/// Every stamp in `log`, checked without trust anchors (whether to trust
/// the TSA is the reader's decision); an invalid one stops the export.
pub(crate) fn checked(log: &OrderLog, order: &OrderId) -> Result<Vec<LoggedStamp>> {
    let mut checkpoints = HashMap::new();
    let mut out = Vec::new();
    for r in &log.entries {
        match &r.entry.body {
            Body::Checkpoint(c) => {
                checkpoints.insert(r.entry.seq, c.clone());
            }
            Body::Stamp(s) => {
                let checked = s
                    .check(order, &checkpoints, &Anchors::none())
                    .map_err(|why| Error::StampInvalid {
                        order: order.to_string(),
                        seq: r.entry.seq,
                        why,
                    })?;
                out.push(LoggedStamp {
                    seq: r.entry.seq,
                    checkpoint: s.checkpoint,
                    size: checked.checkpoint.size,
                    time: evault_core::stamp_time(&checked.stamp),
                    tsa: checked.stamp.tsa.clone(),
                    reply: checked.reply,
                    message: checked.message,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Adds the reply and the data it covers for each stamp.
pub(crate) fn add_to(bag: &mut Bag, stamps: &[LoggedStamp]) {
    for s in stamps {
        bag.tag(&format!("{DIR}entry-{}.tsr", s.seq), s.reply.clone());
        bag.tag(&format!("{DIR}entry-{}.data", s.seq), s.message.clone());
    }
}

/// One line per stamp for the summary's appendix.
pub(crate) fn describe(stamps: &[LoggedStamp]) -> Vec<String> {
    stamps
        .iter()
        .map(|s| {
            format!(
                "entries 1 to {} (checkpoint, entry {}) existed by {} according to the time-stamp authority {} (RFC 3161 token in entry {}; evault checked its signature, the trust in the authority is yours to decide)",
                s.size, s.checkpoint, s.time, s.tsa, s.seq
            )
        })
        .collect()
}

/// `verify-bundle`: every stamp entry of the bundled log, against the
/// checkpoints before it and `anchors`; the copies in `evault/stamps/`
/// must be the same bytes.
pub(crate) fn check_bundled(
    report: &mut BundleReport,
    lines: &[&[u8]],
    texts: &BTreeMap<String, Vec<u8>>,
    anchors: &Anchors,
) {
    const LOG: &str = "evault/manifest.jsonl";
    let mut checkpoints = HashMap::new();
    let mut copies = Vec::new();
    for line in lines {
        let Ok(entry) = serde_json::from_slice::<Entry>(line) else {
            continue;
        };
        match &entry.body {
            Body::Checkpoint(c) => {
                checkpoints.insert(entry.seq, c.clone());
            }
            Body::Stamp(s) => match s.check(&entry.order, &checkpoints, anchors) {
                Ok(checked) => {
                    for (ext, bytes) in [("tsr", &checked.reply), ("data", &checked.message)] {
                        let path = format!("{DIR}entry-{}.{ext}", entry.seq);
                        let why = match texts.get(&path) {
                            Some(copy) if copy == bytes => None,
                            Some(_) => Some("differs from"),
                            None => Some("is missing (or over 1 MiB), though the bundle carries"),
                        };
                        if let Some(why) = why {
                            report.push_finding(
                                "stamp-copy-differs",
                                &path,
                                format!("this file {why} stamp entry {} of the log; check the token with the log's copy", entry.seq),
                            );
                        }
                        copies.push(path);
                    }
                    report.stamps.push(checked.summary(
                        &entry.order.to_string(),
                        entry.seq,
                        s.checkpoint,
                    ));
                }
                Err(why) => report.push_finding(
                    "stamp-invalid",
                    LOG,
                    format!(
                        "the RFC 3161 time-stamp in entry {} does not verify: {why}",
                        entry.seq
                    ),
                ),
            },
            _ => {}
        }
    }
    for path in texts.keys().filter(|p| p.starts_with(DIR)) {
        if !copies.contains(path) {
            report.push_finding(
                "stamp-copy-differs",
                path,
                "this file matches no valid stamp entry of the bundled log: it was added, or its stamp entry does not verify".into(),
            );
        }
    }
}
