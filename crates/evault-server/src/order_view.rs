//! An order's story for its page: the summary PDF's timeline (the same
//! events, in the same order, with the same times and words) merged with
//! what only the log holds: notes, exports, checkpoints, stamps,
//! retractions, and the retracted entries themselves, struck through.

use chrono::NaiveDateTime;
use evault_core::{Body, Evidence, EvidenceKind, OrderLog, Vault};
use evault_export::timeline::{Event, Source};

/// One line of the order page's timeline.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The time as shown.
    pub when: String,
    /// What happened.
    pub what: String,
    /// The entry it comes from.
    pub seq: u64,
    /// A CSS class and label: `photo`, `carrier`, `chat`, `email`,
    /// `dispute`, `note`, `export`, `checkpoint`, `stamp`, `retract`, `file`,
    /// `video`.
    pub kind: &'static str,
    /// Shown in the summary PDF's timeline too.
    pub in_pdf: bool,
    /// The entry was retracted, for this reason.
    pub retracted: Option<String>,
    /// The entry is a photo (a thumbnail can be shown).
    pub photo: bool,
    /// The entry is a video (a player can be shown).
    pub video: bool,
    /// For a still grabbed from a packing video: where.
    pub still_of: Option<String>,
    /// A file that can be downloaded.
    pub file: bool,
    /// May be retracted (a live entry that is not a retraction).
    pub retractable: bool,
    key: (NaiveDateTime, u64, usize),
}

/// The rows, in time order.
pub(crate) fn rows(vault: &Vault, log: &OrderLog) -> Result<Vec<Row>, evault_export::Error> {
    let story = evault_export::story(vault, log)?;
    let retracted_by: std::collections::HashMap<u64, String> = log
        .entries
        .iter()
        .filter_map(|r| match &r.entry.body {
            Body::Retract { target, reason } => Some((*target, reason.clone())),
            _ => None,
        })
        .collect();
    let evidence = |seq: u64| log.get(seq).and_then(|r| r.entry.evidence());
    let mut rows: Vec<Row> = story
        .iter()
        .map(|e| {
            let ev = evidence(e.seq);
            let mut row = row_of_event(e, ev);
            row.retractable = true;
            row
        })
        .collect();
    let in_story: std::collections::HashSet<u64> = story.iter().map(|e| e.seq).collect();
    for r in &log.entries {
        let seq = r.entry.seq;
        let at = r.entry.recorded_at.datetime();
        let (kind, what, file) = match &r.entry.body {
            Body::Evidence(e) if retracted_by.contains_key(&seq) || !in_story.contains(&seq) => {
                let kind = if e.kind == EvidenceKind::PackingVideo {
                    "video"
                } else if e.image.is_some() {
                    "photo"
                } else {
                    "file"
                };
                let what = format!(
                    "recorded in the vault: {} ({}, {})",
                    e.name,
                    e.kind,
                    crate::desk_pages::size(e.size)
                );
                (kind, what, true)
            }
            Body::Evidence(_) => continue,
            Body::Dispute(_) if !retracted_by.contains_key(&seq) => continue,
            Body::Dispute(d) => (
                "dispute",
                format!("dispute recorded: {} on {}", d.reason, d.platform),
                false,
            ),
            Body::Note { text } => ("note", format!("note: {text}"), false),
            Body::Retract { target, reason } => (
                "retract",
                format!("entry {target} retracted: {reason}"),
                false,
            ),
            Body::Export(x) => (
                "export",
                format!(
                    "bundle exported for {} ({}, entries 1 to {}, {} upload files, SHA-256 {})",
                    x.profile, x.reason, x.through_seq, x.upload_files, x.bundle_sha256
                ),
                false,
            ),
            Body::Checkpoint(c) => (
                "checkpoint",
                format!(
                    "checkpoint over entries 1 to {} (Merkle root {}{})",
                    c.size,
                    c.root,
                    if c.signatures.is_empty() {
                        String::new()
                    } else {
                        format!(", {} signature(s)", c.signatures.len())
                    }
                ),
                false,
            ),
            Body::Stamp(s) => (
                "stamp",
                format!(
                    "RFC 3161 time-stamp over checkpoint entry {}: {} by {}",
                    s.checkpoint, s.time, s.tsa
                ),
                false,
            ),
            Body::Repair { cut_bytes, .. } => (
                "note",
                format!(
                    "repair: a torn last line of {cut_bytes} bytes was cut (kept in the blob store)"
                ),
                false,
            ),
            _ => continue,
        };
        let ev = r.entry.evidence();
        rows.push(Row {
            when: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            what,
            seq,
            kind,
            in_pdf: false,
            retracted: retracted_by.get(&seq).cloned(),
            photo: ev.is_some_and(|e| e.image.is_some()),
            video: ev.is_some_and(|e| e.kind == EvidenceKind::PackingVideo),
            still_of: ev.and_then(still_of),
            file,
            // Files, notes and disputes may be retracted; the log's own
            // records (exports, checkpoints, stamps, retractions) stand.
            retractable: !retracted_by.contains_key(&seq)
                && matches!(
                    r.entry.body,
                    Body::Evidence(_) | Body::Note { .. } | Body::Dispute(_)
                ),
            // After the PDF's events of the same instant and entry.
            key: (at.naive_utc(), seq, usize::MAX),
        });
    }
    rows.sort_by_key(|r| r.key);
    // A photo's thumbnail, a video's player and an entry's buttons are shown
    // once, on its first line (a carrier file gives many events).
    let mut seen = std::collections::HashSet::new();
    for r in &mut rows {
        if !seen.insert(r.seq) {
            r.photo = false;
            r.video = false;
            r.file = false;
            r.retractable = false;
            r.still_of = None;
        }
    }
    Ok(rows)
}

fn row_of_event(e: &Event, ev: Option<&Evidence>) -> Row {
    let kind = match e.source {
        Source::Photo if ev.is_some_and(|x| x.kind == EvidenceKind::PackingVideo) => "video",
        Source::Photo => "photo",
        Source::Carrier => "carrier",
        Source::Chat => "chat",
        Source::Email => "email",
        _ => "dispute",
    };
    Row {
        when: e.when(),
        what: e.what.clone(),
        seq: e.seq,
        kind,
        in_pdf: true,
        retracted: None,
        photo: matches!(e.source, Source::Photo) && ev.is_some_and(|x| x.image.is_some()),
        video: kind == "video",
        still_of: ev.and_then(still_of),
        file: ev.is_some(),
        retractable: true,
        key: e.key(),
    }
}

/// "still at 00:06 of the packing video (capture …)".
fn still_of(e: &Evidence) -> Option<String> {
    let f = e.device.as_ref()?.frame_of.as_ref()?;
    let s = f.offset_ms / 1000;
    Some(format!(
        "a still grabbed at {:02}:{:02} of packing video {}",
        s / 60,
        s % 60,
        f.capture
    ))
}
