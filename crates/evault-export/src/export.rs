//! Building a bundle for one order and one platform profile.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use evault_core::{
    Actor, Body, Checkpoint, DisputeReason, EntryHash, Evidence, EvidenceKind, ExportRecord,
    OrderId, Recorded, SignatureCheck, Vault,
};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use crate::bag::{Bag, Content, hash_reader, hex};
use crate::error::{Error, IoContext, Result};
use crate::pdf::Paper;
use crate::plan::{Inputs, Plan, Recorders, Upload, plan, read_blob, unreadable};
use crate::profile::Profile;
use crate::progress::{Counted, ExportProgress, ExportStage};
use crate::sources::{SourceFile, SourceReport};
use crate::summary::Story;
use crate::timeline::{Event, Reading};

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The platform profile.
    pub profile: Profile,
    /// The reason to argue (default: the order's latest dispute record).
    pub reason: Option<DisputeReason>,
    /// The seller's statement.
    pub statement: Option<String>,
    /// Include the original files (`data/originals/`).
    pub originals: bool,
    /// The bagging time (from `SOURCE_DATE_EPOCH` for reproducible bundles).
    pub created: DateTime<Utc>,
    /// The paper size of the PDFs.
    pub paper: Paper,
    /// The key that signs the bundle's checkpoint (registered in the vault).
    pub key: Option<evault_core::StationKey>,
    /// Refuse the export (writing nothing) when any photo would be left
    /// out of the uploads, instead of leaving it out with a warning.
    pub strict: bool,
}

/// One file to upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadFile {
    /// Its name in `data/upload/`.
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// Its pages, for PDFs.
    pub pages: Option<usize>,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// What it is.
    pub what: String,
    /// Made by evault from the log (a PDF), not from one original.
    pub generated: bool,
}

/// One line of the fit report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FitLine {
    /// The evidence entry.
    pub seq: u64,
    /// Its recorded name.
    pub name: String,
    /// Its kind.
    pub kind: EvidenceKind,
    /// The upload file made from it (none: left out).
    pub upload: Option<String>,
    /// Bytes of the upload file.
    pub bytes: u64,
    /// SHA-256 of the upload file (hex).
    pub sha256: Option<String>,
    /// What was done, or why it was left out.
    pub action: String,
    /// The program that converted the original before evault fitted it
    /// (`heif-convert (libheif 1.15.1)` for HEIF and AVIF), if any.
    pub converter: Option<String>,
}

/// What an export did.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The profile used.
    pub profile: String,
    /// The reason argued.
    pub reason: DisputeReason,
    /// The files to upload, in upload order.
    pub files: Vec<UploadFile>,
    /// Every evidence file: uploaded (how) or left out (why), in upload order.
    pub fit: Vec<FitLine>,
    /// Further remarks (fonts missing for some characters, files the timeline could not read).
    pub notes: Vec<String>,
    /// Photos left out of the uploads (undecodable, or over the profile's
    /// limits): `entry N NAME: left out because …`. The caller should warn.
    pub photos_left_out: Vec<String>,
    /// What was read from each chat and tracking file.
    pub sources: Vec<SourceReport>,
    /// Bytes of all upload files.
    pub upload_bytes: u64,
    /// The bundle's SHA-256.
    pub bundle_sha256: String,
    /// The bundle's size.
    pub bundle_bytes: u64,
    /// The `export` entry recorded in the order's log.
    pub recorded: Recorded,
}

/// What an order still lacks to argue `reason`, read from the same
/// evidence list that orders the uploads: for a parcel not received (or an
/// unauthorised payment) a label photo and carrier events or a tracking
/// snapshot; for an item not as described or damaged, photos or video of
/// the contents. Empty when nothing is missing.
pub fn missing_evidence(reason: DisputeReason, present: &[EvidenceKind]) -> Vec<&'static str> {
    use EvidenceKind::*;
    let has = |kinds: &[EvidenceKind]| kinds.iter().any(|k| present.contains(k));
    let mut missing = Vec::new();
    let leads = &kind_order(reason)[..3];
    if leads.contains(&LabelPhoto) && !has(&[LabelPhoto]) {
        missing.push("no label photo");
    }
    if (leads.contains(&TrackingEvents) || leads.contains(&LogisticsSnapshot))
        && !has(&[TrackingEvents, LogisticsSnapshot])
    {
        missing.push("no carrier events");
    }
    if leads.contains(&PackingPhoto) && !has(&[PackingPhoto, PackingVideo]) {
        missing.push("no photos of the contents");
    }
    missing
}

/// The order's story as the summary PDF's timeline tells it: photo times,
/// carrier events, chat messages, e-mails and dispute records of the
/// entries not retracted, in time order ([`Event::key`]).
pub fn story(vault: &Vault, log: &evault_core::OrderLog) -> Result<Vec<Event>> {
    Ok(gather(vault, log, &log.retracted())?.events)
}

/// The order in which kinds lead, for a reason.
fn kind_order(reason: DisputeReason) -> [EvidenceKind; 10] {
    use EvidenceKind::*;
    match reason {
        DisputeReason::NotReceived | DisputeReason::Unauthorized => [
            LabelPhoto,
            LogisticsSnapshot,
            TrackingEvents,
            ChatLog,
            Email,
            PackingPhoto,
            PackingVideo,
            Invoice,
            ListingSnapshot,
            Other,
        ],
        DisputeReason::NotAsDescribed | DisputeReason::Damaged => [
            PackingPhoto,
            ListingSnapshot,
            PackingVideo,
            LabelPhoto,
            ChatLog,
            Email,
            Invoice,
            LogisticsSnapshot,
            TrackingEvents,
            Other,
        ],
        DisputeReason::Other => [
            PackingPhoto,
            LabelPhoto,
            LogisticsSnapshot,
            TrackingEvents,
            ChatLog,
            Email,
            ListingSnapshot,
            Invoice,
            PackingVideo,
            Other,
        ],
    }
}

/// A file name safe in a zip and on every file system (folders flattened).
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '/'
                || c == '\\'
                || c.is_control()
                || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|')
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    s.trim_matches(|c| c == '.' || c == ' ')
        .chars()
        .take(120)
        .collect()
}

/// Builds the bundle for `order` into `out` (which must not exist), and
/// records the export in the order's log.
pub fn export(
    vault: &Vault,
    order: &OrderId,
    options: &ExportOptions,
    actor: &Actor,
    out: &Path,
) -> Result<ExportReport> {
    export_with_progress(vault, order, options, actor, out, &())
}

/// [`export`], telling `progress` as photos are fitted, originals checked
/// and the bundle written.
pub fn export_with_progress(
    vault: &Vault,
    order: &OrderId,
    options: &ExportOptions,
    actor: &Actor,
    out: &Path,
    progress: &dyn ExportProgress,
) -> Result<ExportReport> {
    let profile = &options.profile;
    let mut log = vault.log(order)?;
    // Every bundle is cut at a checkpoint. When the log, its trailing export
    // records aside, ends with a checkpoint covering everything before it,
    // the bundle is cut there (exporting again with nothing new gives the
    // same bundle). Otherwise a new checkpoint over the whole log is
    // recorded once the bundle is planned (an export that cannot fit
    // records nothing).
    // The log must still match every checkpoint it holds, and their
    // signatures must verify: a bundle is never cut, or signed, over a
    // rewritten history.
    let keys = vault.keys()?;
    let hashes: Vec<EntryHash> = log.entries.iter().map(|r| r.hash).collect();
    for (i, r) in log.entries.iter().enumerate() {
        let Body::Checkpoint(c) = &r.entry.body else {
            continue;
        };
        let sigs_ok = c
            .check_signatures(order, &keys)
            .iter()
            .all(|(_, check)| matches!(check, SignatureCheck::Verified(_)));
        if !c.matches(&hashes[..i]) || c.vault != vault.id() || !sigs_ok {
            return Err(Error::CheckpointMismatch {
                order: order.to_string(),
                seq: r.entry.seq,
            });
        }
    }
    let mut stamps = crate::stamps::checked(&log, order)?;
    let last_other = log
        .entries
        .iter()
        .rposition(|r| !matches!(r.entry.body, Body::Export(_)));
    // With a key, only a checkpoint that key signed is reused.
    let signer = options.key.as_ref().map(|k| k.public().fingerprint());
    let reuse = last_other.and_then(|i| match &log.entries[i].entry.body {
        Body::Checkpoint(c)
            if c.size == i as u64
                && signer
                    .as_ref()
                    .is_none_or(|f| c.signatures.iter().any(|s| s.key == *f)) =>
        {
            Some((i, c.clone()))
        }
        _ => None,
    });
    if let Some((i, _)) = &reuse {
        log.entries.truncate(i + 1);
    }
    let reuse = reuse.map(|(_, c)| c);
    let n = log.entries.len() as u64;
    let new_checkpoint = reuse.is_none();
    let (through_seq, checkpoint) = match reuse {
        Some(c) => (n, c),
        None => (
            n + 1,
            Checkpoint {
                vault: vault.id().to_owned(),
                size: n,
                root: log
                    .root_at(n)
                    .ok_or_else(|| Error::OrderChanged(order.to_string()))?,
                signatures: Vec::new(),
            },
        ),
    };
    let retracted = log.retracted();
    let dispute = log.latest_dispute().cloned();
    let reason = options
        .reason
        .or(dispute.as_ref().map(|d| d.reason))
        .ok_or_else(|| Error::NoReason(order.to_string()))?;
    if let (Some(limit), Some(text)) = (profile.text_limit, &options.statement) {
        let n = text.chars().count();
        if n > limit as usize {
            return Err(Error::DoesNotFit {
                profile: profile.name.clone(),
                why: format!(
                    "the statement has {n} characters and {} takes at most {limit}; shorten it",
                    profile.name
                ),
            });
        }
    }
    let mut evidence: Vec<(u64, &Evidence)> = log
        .entries
        .iter()
        .filter(|r| !retracted.contains(&r.entry.seq))
        .filter_map(|r| r.entry.evidence().map(|e| (r.entry.seq, e)))
        .collect();
    let order_of = kind_order(reason);
    evidence.sort_by_key(|(seq, e)| (order_of.iter().position(|k| *k == e.kind), *seq));

    // Who signs the checkpoint: the reused one's signers, or the key that
    // will sign the new one (ed25519 signatures are deterministic).
    let name_of = |fingerprint: &str| {
        keys.iter()
            .find(|k| k.fingerprint() == fingerprint)
            .map_or_else(String::new, |k| k.name.clone())
    };
    let signers: Vec<String> = match &options.key {
        Some(k) if new_checkpoint => {
            let f = k.public().fingerprint();
            vec![format!("{} ({f})", name_of(&f))]
        }
        _ => checkpoint
            .signatures
            .iter()
            .map(|s| format!("{} ({})", name_of(&s.key), s.key))
            .collect(),
    };
    let signed = if signers.is_empty() {
        "; not signed".to_owned()
    } else {
        format!("; signed by {}", signers.join(", "))
    };
    stamps.retain(|s| s.seq < through_seq);
    let head = format!(
        "entries 1 to {} have the Merkle root {} (checkpoint, entry {through_seq}){signed}",
        checkpoint.size, checkpoint.root
    );
    let stamp_lines = crate::stamps::describe(&stamps);
    let gathered = gather(vault, &log, &retracted)?;
    let recorders: Recorders = log
        .entries
        .iter()
        .map(|r| {
            let e = &r.entry;
            (
                e.seq,
                (
                    format!(
                        "{} UTC",
                        e.recorded_at.datetime().format("%Y-%m-%d %H:%M:%S")
                    ),
                    format!("{} at station {}", e.recorded_by, e.station),
                ),
            )
        })
        .collect();
    let story = Story {
        order,
        platform: &profile.name,
        reason,
        dispute: dispute.as_ref(),
        statement: options.statement.as_deref(),
        events: &gathered.events,
        sources: &gathered.sources,
        verbatim: usize::MAX,
        originals: options.originals,
        evidence: &evidence,
        photos_note: None,
        through_seq,
        head: &head,
        stamps: &stamp_lines,
        created: options.created,
        paper: options.paper,
        pdfa: profile.pdfa,
    };
    let Plan {
        uploads,
        fit,
        summary_only,
        mut notes,
        photos_left_out,
    } = plan(&Inputs {
        vault,
        profile,
        evidence: &evidence,
        originals: options.originals,
        story: &story,
        recorders: &recorders,
        progress,
    })?;
    notes.extend(gathered.sources.iter().flat_map(SourceFile::notes));
    if options.strict && !photos_left_out.is_empty() {
        return Err(Error::Strict {
            profile: profile.name.clone(),
            left_out: photos_left_out,
        });
    }
    if uploads.is_empty()
        && (!options.originals || evidence.is_empty())
        && options.statement.is_none()
    {
        return Err(Error::DoesNotFit {
            profile: profile.name.clone(),
            why: "the bundle would hold no evidence at all (no upload files, no originals); drop --no-originals or record evidence first".into(),
        });
    }
    // Every original is read and checked against its SHA-256 (on all cores)
    // before anything is recorded; its SHA-512 goes into the manifest.
    let sha512: Vec<String> = if options.originals {
        let total = evidence.iter().map(|(_, e)| e.size).sum();
        progress.start(ExportStage::CheckOriginals, total);
        evidence
            .par_iter()
            .map(|(seq, e)| original_sha512(vault, *seq, e, progress))
            .collect::<Vec<_>>()
            // The first failure in log order, whichever thread met it first.
            .into_iter()
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let checkpoint = if new_checkpoint {
        let rec = vault.checkpoint(order, actor, options.key.as_ref())?;
        match rec.entry.body {
            Body::Checkpoint(c)
                if rec.entry.seq == through_seq
                    && c.size == checkpoint.size
                    && c.root == checkpoint.root =>
            {
                c
            }
            _ => return Err(Error::OrderChanged(order.to_string())),
        }
    } else {
        checkpoint
    };
    let mut covered_log = vault.log(order)?;
    covered_log
        .entries
        .truncate(usize::try_from(through_seq).unwrap_or(usize::MAX));
    let mut exported: Vec<u64> = fit
        .iter()
        .filter(|f| f.upload.is_some() || options.originals)
        .map(|f| f.seq)
        .collect();
    exported.sort_unstable();
    exported.dedup();
    let proofs = crate::proofs::build(&covered_log, through_seq, &checkpoint, &exported);
    let files: Vec<UploadFile> = uploads.iter().map(upload_file).collect();
    let upload_bytes = files.iter().map(|f| f.bytes).sum();

    let mut bag = Bag::new(bag_top(order, &profile.name));
    for u in uploads {
        bag.payload(format!("upload/{}", u.name), Content::Bytes(u.bytes));
    }
    if let Some(u) = &summary_only {
        bag.payload(u.name.clone(), Content::Bytes(u.bytes.clone()));
    }
    if options.originals {
        for ((seq, e), sha512) in evidence.iter().zip(sha512) {
            let (v, id) = (vault.clone(), e.sha256);
            bag.payload(
                format!("originals/{}", original_name(*seq, e)),
                Content::Blob {
                    open: Box::new(move || Ok(Box::new(v.open_blob(&id)?) as Box<dyn Read>)),
                    size: e.size,
                    sha256: id.to_hex(),
                    sha512,
                },
            );
        }
    }
    if let Some(text) = &options.statement {
        bag.payload(
            "statement.txt".into(),
            Content::Bytes(text.clone().into_bytes()),
        );
    }
    let log_bytes = vault.log_bytes(order)?;
    let covered = log_bytes
        .split_inclusive(|b| *b == b'\n')
        .take(covered_log.entries.len())
        .flatten()
        .copied()
        .collect();
    bag.tag("evault/manifest.jsonl", covered);
    let mut proofs_json = serde_json::to_vec_pretty(&proofs).map_err(|e| Error::Profile {
        source_name: "checkpoint".into(),
        why: e.to_string(),
    })?;
    proofs_json.push(b'\n');
    bag.tag("evault/checkpoint.json", proofs_json);
    // The public keys that signed the covered log's checkpoints.
    let signers: std::collections::HashSet<&str> = covered_log
        .entries
        .iter()
        .filter_map(|r| match &r.entry.body {
            Body::Checkpoint(c) => Some(c.signatures.iter().map(|s| s.key.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    for key in &keys {
        if signers.contains(key.fingerprint().as_str()) {
            bag.tag(
                &format!("evault/keys/{}.pub.pem", key.name),
                key.to_pem()?.into_bytes(),
            );
        }
    }
    crate::stamps::add_to(&mut bag, &stamps);
    let report = fit_report(profile, reason, &files, summary_only.as_ref(), &fit, &notes);
    bag.tag("evault/fit-report.txt", report.into_bytes());
    bag.tag(
        "evault/timeline.txt",
        crate::timeline::render(gathered.events.clone()).into_bytes(),
    );
    bag.tag(
        "evault/derivation.json",
        derivation(&files, &fit, &evidence, through_seq)?,
    );
    bag.tag("README.txt", readme(order, profile, reason).into_bytes());
    let mut info = vec![
        (
            "Bag-Software-Agent",
            format!("evault {}", env!("CARGO_PKG_VERSION")),
        ),
        (
            "Bagging-Date",
            options.created.format("%Y-%m-%d").to_string(),
        ),
        ("External-Identifier", order.to_string()),
        ("Evault-Order-Id", order.to_string()),
        ("Evault-Platform", profile.name.clone()),
        ("Evault-Dispute-Reason", reason.to_string()),
        ("Evault-Log-Through-Seq", through_seq.to_string()),
        (
            "Evault-Log-Head",
            covered_log
                .entries
                .last()
                .map(|r| r.hash.to_string())
                .unwrap_or_default(),
        ),
    ];
    if let Some(d) = &dispute {
        if let Some(case) = &d.case_id {
            info.push(("Evault-Case-Id", case.clone()));
        }
        if let Some(due) = &d.due {
            info.push(("Evault-Due-Date", due.clone()));
        }
    }

    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".evault-export-")
        .tempfile_in(dir)
        .ctx("creating a file in", dir)?;
    let (tmp_file, tmp_path) = tmp.into_parts();
    let mut file = bag.write(tmp_file, &info, options.created, progress)?;
    file.flush().ctx("writing", out)?;
    file.sync_all().ctx("syncing", out)?;
    drop(file);
    let (bundle_sha256, bundle_bytes) = hash_file(&tmp_path)?;
    tmp_path.persist_noclobber(out).map_err(|e| Error::Io {
        action: "writing the bundle (it must not exist yet)",
        path: out.to_owned(),
        source: e.error,
    })?;
    let recorded = match vault.record(
        order,
        Body::Export(ExportRecord {
            profile: profile.name.clone(),
            reason,
            through_seq,
            bundle_sha256: bundle_sha256.clone(),
            bundle_bytes,
            upload_files: files.len() as u64,
        }),
        actor,
    ) {
        Ok(r) => r,
        Err(e) => {
            // No bundle without its custody record.
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
    };
    Ok(ExportReport {
        profile: profile.name.clone(),
        reason,
        files,
        fit,
        notes,
        photos_left_out,
        sources: gathered.sources.iter().map(SourceFile::report).collect(),
        upload_bytes,
        bundle_sha256,
        bundle_bytes,
        recorded,
    })
}

/// What the timeline and the transcripts are made of.
struct Gathered {
    events: Vec<Event>,
    sources: Vec<SourceFile>,
}

/// Chat and tracking files larger than this are not read (they are still
/// exported as recorded).
const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Reads the order's story: photo times, carrier events, chats, disputes.
fn gather(
    vault: &Vault,
    log: &evault_core::OrderLog,
    retracted: &std::collections::HashSet<u64>,
) -> Result<Gathered> {
    let mut events = Vec::new();
    let mut sources = Vec::new();
    for r in log
        .entries
        .iter()
        .filter(|r| !retracted.contains(&r.entry.seq))
    {
        let seq = r.entry.seq;
        let recorded = r.entry.recorded_at.to_string();
        match &r.entry.body {
            Body::Evidence(e)
                if e.image.is_some() || e.kind == evault_core::EvidenceKind::PackingVideo =>
            {
                events.extend(crate::timeline::photo_events(seq, e, &recorded));
            }
            Body::Evidence(e) if crate::sources::is_source(e.kind) => {
                let (reading, text) = if e.size > MAX_SOURCE_BYTES {
                    let why = format!(
                        "not read: over {} MiB (it is exported as recorded; to have its messages read, record the export in parts)",
                        MAX_SOURCE_BYTES >> 20
                    );
                    let reading = Reading {
                        notes: vec![why],
                        ..Reading::default()
                    };
                    (reading, None)
                } else {
                    let bytes = read_blob(vault, seq, e)?;
                    let reading = crate::timeline::read(e.kind, seq, &bytes).unwrap_or_default();
                    (reading, crate::timeline::shown_text(e.kind, &bytes))
                };
                events.extend(reading.events().cloned());
                sources.push(SourceFile {
                    seq,
                    name: e.name.clone(),
                    kind: e.kind,
                    reading,
                    text,
                });
            }
            Body::Dispute(d) => events.extend(crate::timeline::Event::at_recorded(
                seq,
                &recorded,
                format!("dispute recorded: {} on {}", d.reason, d.platform),
            )),
            _ => {}
        }
    }
    events.sort_by_key(Event::key);
    Ok(Gathered { events, sources })
}

/// The name of an original in `data/originals/`: its entry number and its file name.
pub(crate) fn original_name(seq: u64, e: &Evidence) -> String {
    original_name_of(seq, &e.name)
}

/// [`original_name`] from the recorded name.
pub(crate) fn original_name_of(seq: u64, name: &str) -> String {
    format!(
        "{seq:04}-{}",
        safe_name(name.rsplit('/').next().unwrap_or(name))
    )
}

fn upload_file(u: &Upload) -> UploadFile {
    UploadFile {
        name: u.name.clone(),
        bytes: u.bytes.len() as u64,
        pages: u.pages,
        sha256: hex(&Sha256::digest(&u.bytes)),
        what: u.what.clone(),
        generated: u.generated,
    }
}

/// The SHA-512 of an original, read through the vault's SHA-256 check.
fn original_sha512(
    vault: &Vault,
    seq: u64,
    e: &Evidence,
    progress: &dyn ExportProgress,
) -> Result<String> {
    let mut blob = Counted {
        inner: vault.open_blob(&e.sha256)?,
        progress,
        stage: ExportStage::CheckOriginals,
    };
    let (sha512, _) = hash_reader::<Sha512>(&mut blob).map_err(|err| unreadable(seq, e, err))?;
    Ok(sha512)
}

/// SHA-256 and size of a file, streamed.
fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).ctx("reading back", path)?;
    hash_reader::<Sha256>(&mut f).ctx("reading back", path)
}

fn bag_top(order: &OrderId, profile: &str) -> String {
    format!("{}-{profile}", order.storage_key())
}

fn fit_report(
    profile: &Profile,
    reason: DisputeReason,
    files: &[UploadFile],
    summary_only: Option<&Upload>,
    fit: &[FitLine],
    notes: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Fit report: profile {} ({}), reason {reason}",
        profile.name, profile.title
    );
    let _ = writeln!(
        s,
        "Limits: {} per file, {} in all, {} files, {} pages per PDF, {} pages in all. Source: {}",
        limit(profile.max_file_bytes),
        limit(profile.max_total_bytes),
        limit_n(profile.max_files),
        limit_n(profile.max_pages_per_file),
        limit_n(profile.max_pages_total),
        profile.source
    );
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let _ = writeln!(s, "\nUpload files, in upload order ({total} bytes in all):");
    for f in files {
        let pages = f
            .pages
            .map(|p| format!(", {p} page{}", if p == 1 { "" } else { "s" }))
            .unwrap_or_default();
        let _ = writeln!(s, "  {}  {} bytes{pages}: {}", f.name, f.bytes, f.what);
    }
    if let Some(u) = summary_only {
        let _ = writeln!(s, "  (data/{}: {})", u.name, u.what);
    }
    let _ = writeln!(s, "\nEvidence files:");
    for f in fit {
        let to = f.upload.as_deref().unwrap_or("--");
        let _ = writeln!(
            s,
            "  {to}  <- entry {} {} ({}): {}",
            f.seq, f.name, f.kind, f.action
        );
    }
    for n in notes {
        let _ = writeln!(s, "\n{n}");
    }
    s
}

fn limit(v: Option<u64>) -> String {
    v.map_or_else(|| "no limit".into(), |b| format!("{b} bytes"))
}

fn limit_n(v: Option<u32>) -> String {
    v.map_or_else(|| "no limit".into(), |n| n.to_string())
}

#[derive(Serialize)]
struct Derived<'a> {
    upload: &'a str,
    sha256: &'a str,
    what: String,
    made_from: Vec<Source<'a>>,
}

#[derive(Serialize)]
struct Source<'a> {
    seq: u64,
    name: &'a str,
    sha256: String,
    transform: &'a str,
    /// The programs that made the upload copy from the original, in order.
    made_by: Vec<String>,
}

/// `evault/derivation.json`: every upload file and the originals it was made from.
fn derivation(
    files: &[UploadFile],
    fit: &[FitLine],
    evidence: &[(u64, &Evidence)],
    through_seq: u64,
) -> Result<Vec<u8>> {
    let items: Vec<Derived<'_>> = files
        .iter()
        .map(|f| Derived {
            upload: &f.name,
            sha256: &f.sha256,
            what: if f.generated {
                format!(
                    "{}; generated from the order's log, entries 1 to {through_seq}",
                    f.what
                )
            } else {
                f.what.clone()
            },
            made_from: fit
                .iter()
                .filter(|l| l.upload.as_deref() == Some(f.name.as_str()))
                .filter_map(|l| {
                    let from = evidence.iter().find(|(s, _)| *s == l.seq)?;
                    Some(Source {
                        seq: l.seq,
                        name: &l.name,
                        sha256: from.1.sha256.to_hex(),
                        transform: &l.action,
                        made_by: l
                            .converter
                            .iter()
                            .cloned()
                            .chain([format!("evault {}", env!("CARGO_PKG_VERSION"))])
                            .collect(),
                    })
                })
                .collect(),
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&items).map_err(|e| Error::Profile {
        source_name: "derivation".into(),
        why: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

fn readme(order: &OrderId, profile: &Profile, reason: DisputeReason) -> String {
    let lines = [
        format!(
            "Evidence bundle for order {order}, made by evault for {} ({reason}).",
            profile.name
        ),
        String::new(),
        "What is here".into(),
        "  data/upload/            the files to upload to the platform, numbered in upload order;"
            .into(),
        "                          01-summary.pdf (when the platform takes PDFs) tells the story"
            .into(),
        "  data/summary.pdf        the summary, when the platform takes no PDF (read it; it is"
            .into(),
        "                          not an upload file)".into(),
        "  data/originals/         the files exactly as recorded (the number is the log entry)"
            .into(),
        "  data/statement.txt      the seller's statement, when one was given".into(),
        "  evault/manifest.jsonl   the order's log: one entry per line, each carrying the".into(),
        "                          SHA-256 of the line before it (a hash chain)".into(),
        "  evault/derivation.json  which original each upload file was made from, and how".into(),
        "  evault/fit-report.txt   what was resized or left out, and why".into(),
        "  evault/timeline.txt     the story in time order: photos, carrier events, chat".into(),
        "  evault/checkpoint.json  the checkpoint this bundle was cut at (entry count and Merkle"
            .into(),
        "                          root of the log), with proofs for the exported entries".into(),
        "  evault/keys/            the public keys that signed the log's checkpoints, if any (the"
            .into(),
        "                          bundle carries them itself: compare their fingerprints with"
            .into(),
        "                          ones you got from the seller another way)".into(),
        "  evault/stamps/          RFC 3161 time-stamps over checkpoints, if any: entry-N.tsr is"
            .into(),
        "                          the authority's reply (log entry N), entry-N.data the exact"
            .into(),
        "                          checkpoint statement it covers".into(),
        String::new(),
        "What it shows: these bytes were recorded at the times in the log, by the operators".into(),
        "and stations named there, and have not changed since. It does not show what was".into(),
        "packed, and the recording station's clock is not an independent time source.".into(),
        String::new(),
        "How to check it with standard tools".into(),
        "  unzip BUNDLE.zip && cd <the folder inside>".into(),
        "  sha256sum -c manifest-sha256.txt       # every payload file".into(),
        "  sha256sum -c tagmanifest-sha256.txt    # the tag files".into(),
        "  bagit.py --validate .                  # the whole bag (pip install bagit)".into(),
        "  evault verify-bundle BUNDLE.zip        # all of the above, and the log's chain".into(),
        String::new(),
        "Each original's SHA-256 is in its log entry (field \"sha256\"): compare".into(),
        "  sha256sum data/originals/0001-*        with entry 1 of evault/manifest.jsonl".into(),
        String::new(),
        "Trusted time (when evault/stamps/ exists)".into(),
        "  A time-stamp authority (TSA) signed, at its own clock's time, the statement".into(),
        "  \"this vault's order log had SIZE entries with this Merkle root\" (in entry-N.data;"
            .into(),
        "  N is the stamp's log entry). Check it with the TSA's root certificate (from the".into(),
        "  TSA, not from this bundle):".into(),
        "  openssl ts -verify -in evault/stamps/entry-N.tsr -data evault/stamps/entry-N.data \\"
            .into(),
        "    -CAfile TSA-ROOT.pem".into(),
        "  or: evault verify-bundle --tsa-ca TSA-ROOT.pem BUNDLE.zip (also checks that the".into(),
        "  statement matches the log). What it shows: log entries 1 to SIZE existed,".into(),
        "  unchanged, no later than the TSA's time. It does not date anything recorded after"
            .into(),
        "  them, and it is only as trustworthy as the TSA.".into(),
    ];
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use EvidenceKind::*;

    #[test]
    fn missing_evidence_follows_the_reason() {
        let nr = DisputeReason::NotReceived;
        assert_eq!(
            missing_evidence(nr, &[PackingPhoto, ChatLog]),
            ["no label photo", "no carrier events"]
        );
        assert_eq!(missing_evidence(nr, &[LabelPhoto]), ["no carrier events"]);
        assert!(missing_evidence(nr, &[LabelPhoto, LogisticsSnapshot]).is_empty());
        let damaged = DisputeReason::Damaged;
        assert_eq!(
            missing_evidence(damaged, &[LabelPhoto, TrackingEvents]),
            ["no photos of the contents"]
        );
        assert!(missing_evidence(damaged, &[PackingVideo]).is_empty());
        assert_eq!(
            missing_evidence(DisputeReason::Other, &[]),
            [
                "no label photo",
                "no carrier events",
                "no photos of the contents"
            ]
        );
    }
}
