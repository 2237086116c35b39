//! Building a bundle for one order and one platform profile.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use evault_core::{
    Actor, Body, DisputeReason, Evidence, EvidenceKind, ExportRecord, OrderId, Recorded, Vault,
};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bag::{Bag, Content, hex};
use crate::error::{Error, IoContext, Result};
use crate::fit::fit_photo;
use crate::profile::{Profile, SlotModel};

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
}

/// What an export did.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// The profile used.
    pub profile: String,
    /// The reason argued.
    pub reason: DisputeReason,
    /// Every evidence file: uploaded (how) or left out (why), in upload order.
    pub fit: Vec<FitLine>,
    /// Bytes of all upload files.
    pub upload_bytes: u64,
    /// The bundle's SHA-256.
    pub bundle_sha256: String,
    /// The bundle's size.
    pub bundle_bytes: u64,
    /// The `export` entry recorded in the order's log.
    pub recorded: Recorded,
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

fn short_kind(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::PackingPhoto => "packing",
        EvidenceKind::LabelPhoto => "label",
        EvidenceKind::PackingVideo => "video",
        EvidenceKind::LogisticsSnapshot => "tracking",
        EvidenceKind::TrackingEvents => "events",
        EvidenceKind::ChatLog => "chat",
        EvidenceKind::Email => "email",
        EvidenceKind::Invoice => "invoice",
        EvidenceKind::ListingSnapshot => "listing",
        _ => "other",
    }
}

/// `NN-kind.ext`, shortened to the profile's name length.
fn upload_name(n: usize, kind: EvidenceKind, ext: &str, max_chars: Option<u32>) -> String {
    let mut stem = format!("{n:02}-{}", short_kind(kind));
    if let Some(max) = max_chars {
        let room = (max as usize).saturating_sub(ext.len() + 1).max(2);
        stem.truncate(room);
    }
    format!("{stem}.{ext}")
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

fn is_photo(media_type: &str) -> bool {
    matches!(media_type, "image/jpeg" | "image/png" | "image/webp")
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
    let profile = &options.profile;
    let mut log = vault.log(order)?;
    // The bundle covers the log through its last entry that is not an export
    // record, so exporting again with nothing new gives the same bundle.
    while log
        .entries
        .last()
        .is_some_and(|r| matches!(r.entry.body, Body::Export(_)))
    {
        log.entries.pop();
    }
    let through_seq = log.entries.last().map_or(0, |r| r.entry.seq);
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

    let mut bag = Bag::new(bag_top(order, &profile.name));
    let (fit, upload_bytes) = plan_uploads(vault, profile, &evidence, options.originals, &mut bag)?;
    if options.originals {
        for (seq, e) in &evidence {
            let (v, id) = (vault.clone(), e.sha256);
            bag.payload(
                format!(
                    "originals/{seq:04}-{}",
                    safe_name(e.name.rsplit('/').next().unwrap_or(&e.name))
                ),
                Content::Blob {
                    open: Box::new(move || Ok(Box::new(v.open_blob(&id)?) as Box<dyn Read>)),
                    size: e.size,
                    sha256: id.to_hex(),
                },
            );
        }
    }
    if bag.oxum().1 == 0 && options.statement.is_none() {
        return Err(Error::DoesNotFit {
            profile: profile.name.clone(),
            why: "the bundle would hold no file at all (no upload files, no originals); drop --no-originals or record evidence first".into(),
        });
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
        .take(log.entries.len())
        .flatten()
        .copied()
        .collect();
    bag.tag("evault/manifest.jsonl", covered);
    let (timeline, unread) = build_timeline(vault, &log, &retracted)?;
    let mut report = fit_report(profile, reason, &fit, upload_bytes);
    for (seq, name) in &unread {
        report.push_str(&format!(
            "\nNot in the timeline: entry {seq} {name}: its format is not one the timeline reads (docs/bundle.md); the file is exported as recorded"
        ));
    }
    bag.tag("evault/fit-report.txt", report.into_bytes());
    bag.tag("evault/timeline.txt", timeline.into_bytes());
    bag.tag("evault/derivation.json", derivation(&fit, &evidence)?);
    bag.tag("README.txt", readme(order, profile, reason).into_bytes());
    let head = log
        .entries
        .last()
        .map(|r| r.hash.to_string())
        .unwrap_or_default();
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
        ("Evault-Log-Head", head),
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
    let mut file = bag.write(tmp_file, &info, options.created)?;
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
            upload_files: fit.iter().filter(|f| f.upload.is_some()).count() as u64,
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
        fit,
        upload_bytes,
        bundle_sha256,
        bundle_bytes,
        recorded,
    })
}

/// The order's story in time order (`evault/timeline.txt`), and the
/// tracking or chat files whose format it could not read.
fn build_timeline(
    vault: &Vault,
    log: &evault_core::OrderLog,
    retracted: &std::collections::HashSet<u64>,
) -> Result<(String, Vec<(u64, String)>)> {
    let mut events = Vec::new();
    let mut unread = Vec::new();
    for r in log
        .entries
        .iter()
        .filter(|r| !retracted.contains(&r.entry.seq))
    {
        let seq = r.entry.seq;
        let recorded = r.entry.recorded_at.to_string();
        match &r.entry.body {
            Body::Evidence(e) if e.image.is_some() => {
                events.extend(crate::timeline::photo_events(seq, e, &recorded));
            }
            Body::Evidence(e)
                if matches!(e.kind, EvidenceKind::TrackingEvents | EvidenceKind::ChatLog)
                    && e.size > 16 << 20 =>
            {
                unread.push((seq, format!("{} (over 16 MiB)", e.name)));
            }
            Body::Evidence(e)
                if matches!(e.kind, EvidenceKind::TrackingEvents | EvidenceKind::ChatLog) =>
            {
                match crate::timeline::read(seq, e, &read_blob(vault, seq, e)?) {
                    crate::timeline::Read::Events(ev) => events.extend(ev),
                    crate::timeline::Read::Unrecognised => unread.push((seq, e.name.clone())),
                    crate::timeline::Read::NotASource => {}
                }
            }
            Body::Dispute(d) => events.extend(crate::timeline::Event::at_recorded(
                seq,
                &recorded,
                format!("dispute recorded: {} on {}", d.reason, d.platform),
            )),
            _ => {}
        }
    }
    Ok((crate::timeline::render(events), unread))
}

/// SHA-256 and size of a file, streamed.
fn hash_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).ctx("reading back", path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).ctx("reading back", path)?;
        if k == 0 {
            return Ok((hex(&h.finalize()), n));
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
}

fn bag_top(order: &OrderId, profile: &str) -> String {
    format!("{}-{profile}", order.storage_key())
}

/// Chooses, fits and names the upload files.
fn plan_uploads(
    vault: &Vault,
    profile: &Profile,
    evidence: &[(u64, &Evidence)],
    originals: bool,
    bag: &mut Bag,
) -> Result<(Vec<FitLine>, u64)> {
    let mut fit = Vec::new();
    let line = |seq: u64, e: &Evidence, action: String| FitLine {
        seq,
        name: e.name.clone(),
        kind: e.kind,
        upload: None,
        bytes: 0,
        sha256: None,
        action,
    };
    if profile.slots == SlotModel::None {
        for (seq, e) in evidence {
            let action = if originals {
                "archive profile: original only"
            } else {
                "archive profile without originals: not in this bundle"
            };
            fit.push(line(*seq, e, action.into()));
        }
        return Ok((fit, 0));
    }
    if profile.slots == SlotModel::PerCategory || !profile.accepts("image/jpeg") {
        return Err(Error::DoesNotFit {
            profile: profile.name.clone(),
            why: "this profile takes one PDF per evidence category (or PDFs only); merging photos into PDF pages is not built yet. Export with a flat profile (paypal, ebay, amazon, marketplace) or archive for now".into(),
        });
    }
    // Candidates in upload order; the rest is left out with a reason.
    let max_files = profile.max_files.map_or(usize::MAX, |n| n as usize);
    let mut chosen: Vec<(u64, &Evidence)> = Vec::new();
    for (seq, e) in evidence {
        if !is_photo(&e.media_type) && !profile.accepts(&e.media_type) {
            fit.push(line(
                *seq,
                e,
                format!(
                    "left out: {} is not a type {} takes ({})",
                    e.media_type,
                    profile.name,
                    if originals {
                        "it stays in the originals"
                    } else {
                        "not in this bundle: --no-originals"
                    }
                ),
            ));
        } else if chosen.len() >= max_files {
            fit.push(line(*seq, e, format!("left out: {} takes at most {max_files} files and more important evidence came first", profile.name)));
        } else {
            chosen.push((*seq, e));
        }
    }
    let per_file = profile.max_file_bytes.unwrap_or(u64::MAX);
    let mut left = profile.max_total_bytes.unwrap_or(u64::MAX);
    // Files uploaded as they are take their share first.
    let mut photos = 0u64;
    for (_, e) in &chosen {
        if is_photo(&e.media_type) {
            photos += 1;
        } else {
            left = left.saturating_sub(e.size);
        }
    }
    // Every photo gets an equal share of what is left; they are fitted in parallel.
    let share = (left / photos.max(1)).min(per_file);
    let long_edge = profile.photo_long_edge;
    let fitted: Vec<Result<Option<crate::fit::Fitted>>> = chosen
        .par_iter()
        .map(|(seq, e)| {
            if !is_photo(&e.media_type) {
                return Ok(None);
            }
            let bytes = read_blob(vault, *seq, e)?;
            fit_photo(&bytes, long_edge, share).map(Some).map_err(|why| Error::DoesNotFit {
                profile: profile.name.clone(),
                why: format!("{} (entry {seq}) cannot be made into an upload copy within its share of {share} bytes: {why}. If it is too large, retract a less important photo or use a profile with more room; if it cannot be decoded, re-save it from the camera and record it again, or retract it", e.name),
            })
        })
        .collect();
    let mut total = 0u64;
    let mut planned = Vec::new();
    for (n, ((seq, e), fitted)) in chosen.iter().zip(fitted).enumerate() {
        let number = n + 1;
        if let Some(fitted) = fitted? {
            let name = upload_name(number, e.kind, "jpg", profile.names.max_chars);
            let action = format!(
                "{}x{} -> {}x{}, orientation applied, JPEG quality {}, metadata (EXIF, GPS) removed",
                fitted.original.0, fitted.original.1, fitted.width, fitted.height, fitted.quality
            );
            total += fitted.jpeg.len() as u64;
            planned.push((name, fitted.jpeg, *seq, (*e).clone(), action));
        } else {
            if e.size > per_file {
                return Err(Error::DoesNotFit {
                    profile: profile.name.clone(),
                    why: format!(
                        "{} (entry {seq}) has {} bytes and {} takes at most {per_file} per file; retract it or shrink it",
                        e.name, e.size, profile.name
                    ),
                });
            }
            let ext = if e.media_type == "application/pdf" {
                "pdf"
            } else {
                "png"
            };
            let bytes = read_blob(vault, *seq, e)?;
            total += bytes.len() as u64;
            planned.push((
                upload_name(number, e.kind, ext, profile.names.max_chars),
                bytes,
                *seq,
                (*e).clone(),
                "uploaded as recorded".into(),
            ));
        }
    }
    check_limits(
        profile,
        &planned
            .iter()
            .map(|p| (p.0.as_str(), p.1.len() as u64))
            .collect::<Vec<_>>(),
    )?;
    for (name, bytes, seq, e, action) in planned {
        fit.push(FitLine {
            seq,
            name: e.name.clone(),
            kind: e.kind,
            upload: Some(name.clone()),
            bytes: bytes.len() as u64,
            sha256: Some(hex(&Sha256::digest(&bytes))),
            action,
        });
        bag.payload(format!("upload/{name}"), Content::Bytes(bytes));
    }
    fit.sort_by_key(|f| f.upload.is_none());
    Ok((fit, total))
}

/// A blob's bytes, checked against their hash as they are read.
fn read_blob(vault: &Vault, seq: u64, e: &Evidence) -> Result<Vec<u8>> {
    // The recorded size is only a hint (the reader checks the bytes).
    let mut bytes = Vec::with_capacity(usize::try_from(e.size.min(64 << 20)).unwrap_or(0));
    vault
        .open_blob(&e.sha256)?
        .read_to_end(&mut bytes)
        .map_err(|err| Error::Photo {
            name: e.name.clone(),
            seq,
            why: format!("reading its bytes from the vault: {err}"),
        })?;
    Ok(bytes)
}

/// The profile's own limits, checked on the final upload set: a bundle that
/// breaks them is never written.
fn check_limits(profile: &Profile, files: &[(&str, u64)]) -> Result<()> {
    let fail = |why: String| {
        Err(Error::DoesNotFit {
            profile: profile.name.clone(),
            why,
        })
    };
    if let Some(max) = profile.max_files
        && files.len() > max as usize
    {
        return fail(format!("{} files, at most {max}", files.len()));
    }
    let total: u64 = files.iter().map(|f| f.1).sum();
    if let Some(max) = profile.max_total_bytes
        && total > max
    {
        return fail(format!("{total} bytes in all, at most {max}"));
    }
    for (name, size) in files {
        if let Some(max) = profile.max_file_bytes
            && *size > max
        {
            return fail(format!("{name} has {size} bytes, at most {max}"));
        }
        if let Some(max) = profile.names.max_chars
            && name.chars().count() > max as usize
        {
            return fail(format!("{name} is longer than {max} characters"));
        }
        if profile.names.ascii_only
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return fail(format!("{name} is not a plain ASCII name"));
        }
    }
    Ok(())
}

fn fit_report(
    profile: &Profile,
    reason: DisputeReason,
    fit: &[FitLine],
    upload_bytes: u64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Fit report: profile {} ({}), reason {reason}",
        profile.name, profile.title
    );
    let _ = writeln!(
        s,
        "Limits: {} per file, {} in all, {} files. Source: {}",
        limit(profile.max_file_bytes),
        limit(profile.max_total_bytes),
        profile
            .max_files
            .map_or("no limit".into(), |n| n.to_string()),
        profile.source
    );
    let _ = writeln!(s, "Upload files: {} bytes in all\n", upload_bytes);
    for f in fit {
        match &f.upload {
            Some(u) => {
                let _ = writeln!(
                    s,
                    "{u}  {} bytes  <- entry {} {} ({}): {}",
                    f.bytes, f.seq, f.name, f.kind, f.action
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "--  entry {} {} ({}): {}",
                    f.seq, f.name, f.kind, f.action
                );
            }
        }
    }
    s
}

fn limit(v: Option<u64>) -> String {
    v.map_or_else(|| "no limit".into(), |b| format!("{b} bytes"))
}

#[derive(Serialize)]
struct Derived<'a> {
    upload: &'a str,
    sha256: String,
    from_seq: u64,
    from_name: &'a str,
    from_sha256: String,
    transform: &'a str,
}

fn derivation(fit: &[FitLine], evidence: &[(u64, &Evidence)]) -> Result<Vec<u8>> {
    let _ = evidence;
    let items: Vec<Derived<'_>> = fit
        .iter()
        .filter_map(|f| {
            let upload = f.upload.as_deref()?;
            let from = evidence.iter().find(|(s, _)| *s == f.seq)?;
            Some(Derived {
                upload,
                sha256: f.sha256.clone().unwrap_or_default(),
                from_seq: f.seq,
                from_name: &f.name,
                from_sha256: from.1.sha256.to_hex(),
                transform: &f.action,
            })
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
        "  data/upload/            the files to upload to the platform, numbered in upload order"
            .into(),
        "  data/originals/         the files exactly as recorded (the number is the log entry)"
            .into(),
        "  data/statement.txt      the seller's statement, when one was given".into(),
        "  evault/manifest.jsonl   the order's log: one entry per line, each carrying the".into(),
        "                          SHA-256 of the line before it (a hash chain)".into(),
        "  evault/derivation.json  which original each upload file was made from, and how".into(),
        "  evault/fit-report.txt   what was resized or left out, and why".into(),
        "  evault/timeline.txt     the story in time order: photos, carrier events, chat".into(),
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
    ];
    lines.join("\n") + "\n"
}
