//! Checking a bundle offline, from the zip alone, without extracting anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use evault_core::merkle::leaf_hash;
use evault_core::timestamp::Anchors;
use evault_core::{Entry, SignatureCheck};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use crate::bag::hex;
use crate::error::{Error, Result};

/// Most members a bundle may have.
const MAX_MEMBERS: usize = 10_000;
/// Most bytes a bundle may expand to.
const MAX_TOTAL_BYTES: u64 = 8 << 30;
/// The tag files that are parsed, and the most bytes kept of each.
const KEPT: [&str; 7] = [
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "manifest-sha512.txt",
    "tagmanifest-sha256.txt",
    "evault/manifest.jsonl",
    "evault/checkpoint.json",
];
const MAX_KEPT: u64 = 64 << 20;
/// Public key files parsed: at most this many, of at most this many bytes each.
const MAX_KEYS: usize = 256;
const MAX_KEY_BYTES: u64 = 4096;
/// The largest copy of a stamp (a TSA reply, or the data it covers) read.
const MAX_STAMP_BYTES: u64 = 1 << 20;
/// Largest expansion ratio accepted for a member over 1 MiB.
const MAX_RATIO: u64 = 200;

/// One thing wrong with a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleFinding {
    /// A stable code (`hash-mismatch`, `unsafe-name`, ...).
    pub code: &'static str,
    /// The member concerned.
    pub file: Option<String>,
    /// What was expected.
    pub expected: Option<String>,
    /// What was found.
    pub found: Option<String>,
    /// What it means.
    pub message: String,
}

impl std::fmt::Display for BundleFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PROBLEM [{}]", self.code)?;
        if let Some(file) = &self.file {
            write!(f, " {file:?}")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(e), Some(x)) = (&self.expected, &self.found) {
            write!(f, " (expected {e}, found {x})")?;
        }
        Ok(())
    }
}

/// The result of [`verify_bundle`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct BundleReport {
    /// The bag's top folder.
    pub top: String,
    /// Members checked.
    pub members: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Log entries whose chain was checked.
    pub log_entries: u64,
    /// Everything wrong (empty: the bundle is intact).
    pub findings: Vec<BundleFinding>,
    /// Checkpoint signatures in the bundled log that verified with the bundle's keys.
    pub signatures: Vec<evault_core::SignedCheckpoint>,
    /// RFC 3161 stamps of the bundled log that verified (trusted or not).
    pub stamps: Vec<evault_core::StampedCheckpoint>,
}

impl BundleReport {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
    fn push(
        &mut self,
        code: &'static str,
        file: Option<&str>,
        expected: Option<String>,
        found: Option<String>,
        message: impl Into<String>,
    ) {
        self.findings.push(BundleFinding {
            code,
            file: file.map(str::to_owned),
            expected,
            found,
            message: message.into(),
        });
    }

    /// A finding about one file, with nothing to compare.
    pub(crate) fn push_finding(&mut self, code: &'static str, file: &str, message: String) {
        self.push(code, Some(file), None, None, message);
    }
}

/// Whether a member name could escape the folder it is extracted into.
fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("an absolute path");
    }
    if name.len() >= 2 && name.as_bytes()[1] == b':' {
        return Some("a drive letter");
    }
    if name.contains('\\') {
        return Some("a backslash (a Windows path separator)");
    }
    if name.split('/').any(|c| c == "..") {
        return Some("a '..' component");
    }
    if name.chars().any(char::is_control) {
        return Some("a control character");
    }
    None
}

/// Checks a bundle: member names and sizes, every manifest and tag manifest
/// line, `Payload-Oxum`, the order log's hash chain and the originals against
/// their entries. Nothing is extracted.
/// RFC 3161 stamps are checked against `anchors` (none: a valid stamp is
/// "valid, TSA not trusted").
pub fn verify_bundle(path: &Path, anchors: &Anchors) -> Result<BundleReport> {
    verify_inner(path, anchors).map(|(report, _)| report)
}

/// The report, and the tag files that were parsed.
fn verify_inner(
    path: &Path,
    anchors: &Anchors,
) -> Result<(BundleReport, BTreeMap<String, Vec<u8>>)> {
    let unreadable = |why: String| Error::UnreadableBundle {
        path: path.to_owned(),
        why,
    };
    let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| unreadable(e.to_string()))?;
    let mut report = BundleReport::default();
    if zip.len() > MAX_MEMBERS {
        report.push("too-many-members", None, Some(format!("at most {MAX_MEMBERS}")), Some(zip.len().to_string()), "the zip has more members than any bundle evault writes (a zip bomb?); nothing was checked further");
        return Ok((report, BTreeMap::new()));
    }
    if zip.has_duplicate_names() {
        report.push("duplicate-name", None, None, None, "two members share a name: the zip reader keeps one and an unzip tool may keep the other, so what is checked is not what is seen");
    }
    // Pass 1: names, kinds and declared sizes.
    let mut seen = BTreeSet::new();
    let mut tops = BTreeSet::new();
    let mut declared_total = 0u64;
    let mut readable = Vec::new();
    for i in 0..zip.len() {
        let m = zip.by_index_raw(i).map_err(|e| unreadable(e.to_string()))?;
        let Ok(name) = m.name().map(|n| n.into_owned()) else {
            report.push(
                "unsafe-name",
                None,
                None,
                None,
                format!("member {i} has a name that is not UTF-8"),
            );
            continue;
        };
        if let Some(why) = unsafe_name(&name) {
            report.push(
                "unsafe-name",
                Some(&name),
                None,
                None,
                format!(
                    "the member name contains {why}: extracting it could write outside the folder"
                ),
            );
            continue;
        }
        if !seen.insert(name.clone()) {
            report.push(
                "duplicate-name",
                Some(&name),
                None,
                None,
                "two members have this name: a reader would see only one of them",
            );
            continue;
        }
        if m.unix_mode()
            .is_some_and(|mode| mode & 0o170000 == 0o120000)
        {
            report.push(
                "symlink",
                Some(&name),
                None,
                None,
                "the member is a symbolic link; bundles hold regular files only",
            );
            continue;
        }
        if m.is_dir() {
            continue;
        }
        declared_total = declared_total.saturating_add(m.size());
        if m.size() > (1 << 20) && m.size() / m.compressed_size().max(1) > MAX_RATIO {
            report.push(
                "zip-bomb",
                Some(&name),
                Some(format!("a ratio under {MAX_RATIO}:1")),
                Some(format!("{} bytes from {}", m.size(), m.compressed_size())),
                "the member expands far beyond its compressed size; it was not read",
            );
            continue;
        }
        tops.insert(name.split('/').next().unwrap_or_default().to_owned());
        readable.push((i, name));
    }
    if declared_total > MAX_TOTAL_BYTES {
        report.push(
            "zip-bomb",
            None,
            Some(format!("at most {MAX_TOTAL_BYTES} bytes")),
            Some(declared_total.to_string()),
            "the members expand to more than any bundle evault writes; nothing was read",
        );
        return Ok((report, BTreeMap::new()));
    }
    if tops.len() != 1 {
        report.push(
            "not-one-folder",
            None,
            Some("one top folder".into()),
            Some(tops.into_iter().collect::<Vec<_>>().join(", ")),
            "a bundle holds exactly one bag folder",
        );
        return Ok((report, BTreeMap::new()));
    }
    let top = tops.into_iter().next().unwrap_or_default();
    report.top.clone_from(&top);

    // Pass 2: hash every member (reading at most its declared size + 1).
    let mut digests: BTreeMap<String, (String, String, u64)> = BTreeMap::new();
    let mut texts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let (mut kept_keys, mut kept_stamps) = (0usize, 0usize);
    for (i, name) in readable {
        let mut m = zip.by_index(i).map_err(|e| unreadable(e.to_string()))?;
        let declared = m.size();
        let rel = name[top.len()..].trim_start_matches('/').to_owned();
        // Only the files that are parsed are kept in memory (capped); the
        // rest is hashed as it streams.
        let is_key = rel.starts_with("evault/keys/") && rel.ends_with(".pub.pem");
        let is_stamp = rel.starts_with(crate::stamps::DIR);
        let keep = (KEPT.contains(&rel.as_str()) && declared <= MAX_KEPT)
            || (is_key && declared <= MAX_KEY_BYTES && kept_keys < MAX_KEYS)
            || (is_stamp && declared <= MAX_STAMP_BYTES && kept_stamps < MAX_KEYS);
        kept_keys += usize::from(keep && is_key);
        kept_stamps += usize::from(keep && is_stamp);
        let (mut s256, mut s512, mut n) = (Sha256::new(), Sha512::new(), 0u64);
        let mut kept = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut limited = (&mut m).take(declared.saturating_add(1));
        let read = loop {
            match limited.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(k) => {
                    s256.update(&buf[..k]);
                    s512.update(&buf[..k]);
                    if keep {
                        kept.extend_from_slice(&buf[..k]);
                    }
                    n += k as u64;
                }
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = read {
            report.push(
                "unreadable-member",
                Some(&name),
                None,
                None,
                format!("the member cannot be read ({e}): the zip is damaged"),
            );
            continue;
        }
        if n != declared {
            report.push(
                "size-mismatch",
                Some(&name),
                Some(declared.to_string()),
                Some(n.to_string()),
                "the member's data does not match the size its header declares",
            );
            continue;
        }
        report.members += 1;
        report.bytes += n;
        digests.insert(
            rel.clone(),
            (hex(&s256.finalize()), hex(&s512.finalize()), n),
        );
        if keep {
            texts.insert(rel, kept);
        }
    }
    check_bag(&mut report, &digests, &texts);
    check_log(&mut report, &digests, &texts);
    check_checkpoint(&mut report, &texts);
    check_signatures(&mut report, &texts);
    crate::stamps::check_bundled(&mut report, &log_lines(&texts), &texts, anchors);
    Ok((report, texts))
}

/// The bundled log's lines, without their newlines.
fn log_lines(texts: &BTreeMap<String, Vec<u8>>) -> Vec<&[u8]> {
    texts
        .get("evault/manifest.jsonl")
        .map(|log| {
            log.strip_suffix(b"\n")
                .unwrap_or(log)
                .split(|b| *b == b'\n')
                .collect()
        })
        .unwrap_or_default()
}

/// `evault/checkpoint.json` against the bundled log (bundles made before
/// checkpoints existed have none).
fn check_checkpoint(report: &mut BundleReport, texts: &BTreeMap<String, Vec<u8>>) {
    let Some(bytes) = texts.get("evault/checkpoint.json") else {
        return;
    };
    let file: crate::proofs::CheckpointFile = match serde_json::from_slice(bytes) {
        Ok(f) => f,
        Err(e) => {
            report.push(
                "checkpoint-unreadable",
                Some("evault/checkpoint.json"),
                None,
                None,
                format!("the checkpoint file cannot be read ({e})"),
            );
            return;
        }
    };
    for why in crate::proofs::check(&file, &log_lines(texts)) {
        report.push("bad-proof", Some("evault/checkpoint.json"), None, None, why);
    }
    // The bundle is cut at this checkpoint, for this order.
    for (field, want) in [
        ("Evault-Log-Through-Seq", file.seq.to_string()),
        ("Evault-Order-Id", file.order.clone()),
    ] {
        if let Some(got) = bag_info_field(texts, field).filter(|g| *g != want) {
            report.push(
                "bad-proof",
                Some("evault/checkpoint.json"),
                Some(got),
                Some(want),
                format!("the checkpoint file disagrees with bag-info.txt's {field}"),
            );
        }
    }
}

/// Every checkpoint signature in the bundled log, against the public keys
/// the bundle carries (`evault/keys/<name>.pub.pem`).
fn check_signatures(report: &mut BundleReport, texts: &BTreeMap<String, Vec<u8>>) {
    let mut keys = Vec::new();
    for (path, bytes) in texts.iter().filter(|(p, _)| p.starts_with("evault/keys/")) {
        let name = path["evault/keys/".len()..].trim_end_matches(".pub.pem");
        match evault_core::PublicKey::from_pem(name, &String::from_utf8_lossy(bytes)) {
            Ok(k) => keys.push(k),
            Err(e) => report.push("key-unreadable", Some(path), None, None, e.to_string()),
        }
    }
    let lines = log_lines(texts);
    let leaves: Vec<evault_core::EntryHash> = lines.iter().map(|l| leaf_hash(l)).collect();
    for (i, line) in lines.iter().enumerate() {
        let Ok(entry) = serde_json::from_slice::<evault_core::Entry>(line) else {
            continue;
        };
        let evault_core::Body::Checkpoint(c) = &entry.body else {
            continue;
        };
        // A signature only counts for a checkpoint that matches the log.
        if !c.matches(&leaves[..i]) {
            report.push(
                "bad-proof",
                Some("evault/manifest.jsonl"),
                Some(c.root.to_string()),
                None,
                format!("checkpoint entry {} does not match the entries before it in the bundled log: the history was rewritten after it", entry.seq),
            );
            continue;
        }
        for (sig, check) in c.check_signatures(&entry.order, &keys) {
            match check {
                SignatureCheck::UnknownKey => report.push(
                    "signature-unknown-key",
                    Some("evault/manifest.jsonl"),
                    None,
                    Some(sig.key.clone()),
                    format!("checkpoint entry {} is signed by a key the bundle does not carry (evault/keys/)", entry.seq),
                ),
                SignatureCheck::Invalid(k) => report.push(
                    "signature-invalid",
                    Some("evault/manifest.jsonl"),
                    None,
                    Some(format!("{} ({})", k.name, sig.key)),
                    format!("the signature by {} does not match checkpoint entry {}: it was changed after it was signed, or the signature was forged", k.name, entry.seq),
                ),
                SignatureCheck::Verified(k) => report.signatures.push(evault_core::SignedCheckpoint {
                    order: entry.order.to_string(),
                    seq: entry.seq,
                    size: c.size,
                    key: k.name.clone(),
                    fingerprint: sig.key.clone(),
                }),
            }
        }
    }
}

/// Checks `path` as [`verify_bundle`] does, and that the history it holds
/// extends the one in `previous`, an earlier bundle of the same order:
/// the earlier checkpoint's entries must hash to the same root here.
pub fn verify_bundle_with_previous(
    path: &Path,
    previous: &Path,
    anchors: &Anchors,
) -> Result<BundleReport> {
    let (mut report, texts) = verify_inner(path, anchors)?;
    let (old, old_texts) = verify_inner(previous, anchors)?;
    for f in &old.findings {
        report.push(
            "previous-invalid",
            Some(&previous.display().to_string()),
            None,
            None,
            format!("the earlier bundle does not verify: {}", f.message),
        );
    }
    let old_cp: Option<crate::proofs::CheckpointFile> = old_texts
        .get("evault/checkpoint.json")
        .and_then(|b| serde_json::from_slice(b).ok());
    let Some(old_cp) = old_cp else {
        report.push(
            "previous-without-checkpoint",
            Some(&previous.display().to_string()),
            None,
            None,
            "the earlier bundle carries no checkpoint (made before evault recorded them), so the two histories cannot be compared",
        );
        return Ok(report);
    };
    let new_order = serde_json::from_slice::<crate::proofs::CheckpointFile>(
        texts.get("evault/checkpoint.json").map_or(&[][..], |b| b),
    )
    .map(|c| c.order)
    .ok();
    if new_order.as_deref() != Some(old_cp.order.as_str()) {
        report.push(
            "previous-other-order",
            Some(&previous.display().to_string()),
            new_order,
            Some(old_cp.order.clone()),
            "the earlier bundle is of another order",
        );
        return Ok(report);
    }
    let now = crate::proofs::prefix_root(&log_lines(&texts), old_cp.size)
        .map(|r| format!("sha256:{}", crate::bag::hex(&r)));
    if now.as_deref() != Some(old_cp.root.as_str()) {
        report.push(
            "history-differs",
            Some("evault/manifest.jsonl"),
            Some(old_cp.root.clone()),
            now,
            format!("entries 1 to {} of this bundle's log do not hash to the checkpoint of the earlier bundle: the order's history was rewritten or cut between the two exports", old_cp.size),
        );
    }
    Ok(report)
}

/// The value of a `bag-info.txt` field, when the file and the field are there.
fn bag_info_field(texts: &BTreeMap<String, Vec<u8>>, key: &str) -> Option<String> {
    let info = String::from_utf8_lossy(texts.get("bag-info.txt")?).into_owned();
    info.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    })
}

/// Parses `<hex>  <path>` manifest lines.
fn manifest_lines(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| {
            let (h, p) = l.split_once(char::is_whitespace)?;
            let p = p
                .trim_start()
                .replace("%0A", "\n")
                .replace("%0D", "\r")
                .replace("%25", "%");
            Some((h.to_ascii_lowercase(), p))
        })
        .collect()
}

fn check_bag(
    report: &mut BundleReport,
    digests: &BTreeMap<String, (String, String, u64)>,
    texts: &BTreeMap<String, Vec<u8>>,
) {
    for required in [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha256.txt",
    ] {
        if !texts.contains_key(required) {
            report.push(
                "missing-tag-file",
                Some(required),
                None,
                None,
                "a BagIt file every evault bundle has is missing",
            );
        }
    }
    let mut listed = BTreeSet::new();
    for (manifest, sha512) in [
        ("manifest-sha256.txt", false),
        ("manifest-sha512.txt", true),
        ("tagmanifest-sha256.txt", false),
    ] {
        let Some(bytes) = texts.get(manifest) else {
            continue;
        };
        for (want, path) in manifest_lines(bytes) {
            listed.insert(path.clone());
            match digests.get(&path) {
                None => report.push(
                    "missing-file",
                    Some(&path),
                    Some(want),
                    Some("no such member".into()),
                    format!("{manifest} lists a file the bundle does not have"),
                ),
                Some((a, b, _)) => {
                    let got = if sha512 { b } else { a };
                    if *got != want {
                        report.push("hash-mismatch", Some(&path), Some(want), Some(got.clone()), format!("the file's bytes differ from {manifest}: it was changed after the bundle was made"));
                    }
                }
            }
        }
    }
    for path in digests.keys() {
        if !listed.contains(path) && path != "tagmanifest-sha256.txt" {
            report.push(
                "unlisted-file",
                Some(path),
                None,
                None,
                "the file is in no manifest: it was added after the bundle was made",
            );
        }
    }
    if texts.contains_key("bag-info.txt") {
        let (bytes, count) = digests
            .iter()
            .filter(|(p, _)| p.starts_with("data/"))
            .fold((0u64, 0u64), |(b, c), (_, d)| (b + d.2, c + 1));
        let found = format!("{bytes}.{count}");
        match bag_info_field(texts, "Payload-Oxum") {
            Some(oxum) if oxum == found => {}
            Some(oxum) => report.push(
                "oxum-mismatch",
                Some("bag-info.txt"),
                Some(oxum),
                Some(found),
                "the payload's byte and file counts differ from bag-info.txt",
            ),
            None => report.push(
                "oxum-missing",
                Some("bag-info.txt"),
                None,
                None,
                "bag-info.txt has no Payload-Oxum",
            ),
        }
    }
}

/// The order's log in the bundle: each line links to the one before, and each
/// original in `data/originals/` has the SHA-256 its entry records.
fn check_log(
    report: &mut BundleReport,
    digests: &BTreeMap<String, (String, String, u64)>,
    texts: &BTreeMap<String, Vec<u8>>,
) {
    if !texts.contains_key("evault/manifest.jsonl") {
        report.push(
            "missing-tag-file",
            Some("evault/manifest.jsonl"),
            None,
            None,
            "the order's log is missing from the bundle",
        );
        return;
    }
    let mut prev = None;
    let mut by_seq = BTreeMap::new();
    for (i, line) in log_lines(texts).into_iter().enumerate() {
        report.log_entries += 1;
        let Ok(entry) = serde_json::from_slice::<Entry>(line) else {
            report.push(
                "log-unreadable",
                Some("evault/manifest.jsonl"),
                None,
                None,
                format!("line {} is not an evault entry", i + 1),
            );
            return;
        };
        if entry.prev != prev || entry.seq != i as u64 + 1 {
            report.push(
                "log-broken-link",
                Some("evault/manifest.jsonl"),
                None,
                None,
                format!(
                    "entry {} does not link to the line before it: the log was edited",
                    entry.seq
                ),
            );
        }
        prev = Some(leaf_hash(line));
        if let Some(e) = entry.evidence() {
            by_seq.insert(entry.seq, e.sha256.to_hex());
        }
    }
    // bag-info.txt names the hash of the log's last entry: a log cut short
    // (and its manifests rewritten to match) would differ from it.
    let head = bag_info_field(texts, "Evault-Log-Head");
    let last = prev.map(|h| h.to_string()).unwrap_or_default();
    let through = bag_info_field(texts, "Evault-Log-Through-Seq");
    if let Some(through) = through.filter(|t| *t != report.log_entries.to_string()) {
        report.push(
            "log-head-mismatch",
            Some("evault/manifest.jsonl"),
            Some(format!("entries up to {through}")),
            Some(format!("{} entries", report.log_entries)),
            "the log does not end at the entry bag-info.txt names (Evault-Log-Through-Seq)",
        );
    }
    match head {
        Some(head) if head == last => {}
        Some(head) => report.push(
            "log-head-mismatch",
            Some("evault/manifest.jsonl"),
            Some(head),
            Some(last),
            "the log's last entry is not the one bag-info.txt names (Evault-Log-Head): entries were removed or changed",
        ),
        None => report.push(
            "log-head-missing",
            Some("bag-info.txt"),
            None,
            None,
            "bag-info.txt has no Evault-Log-Head",
        ),
    }
    for (path, (sha256, _, _)) in digests
        .iter()
        .filter(|(p, _)| p.starts_with("data/originals/"))
    {
        let file = &path["data/originals/".len()..];
        let seq = file.split('-').next().and_then(|s| s.parse::<u64>().ok());
        match seq.and_then(|s| by_seq.get(&s)) {
            Some(want) if want == sha256 => {}
            Some(want) => report.push(
                "original-mismatch",
                Some(path),
                Some(want.clone()),
                Some(sha256.clone()),
                "the original's bytes differ from what its log entry recorded",
            ),
            None => report.push(
                "original-unrecorded",
                Some(path),
                None,
                None,
                "no evidence entry in the bundled log matches this original's number",
            ),
        }
    }
}
