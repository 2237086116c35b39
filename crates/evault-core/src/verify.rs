//! Verification: every chain link, sequence number and blob of the vault.
//!
//! Findings are data, not errors. A [`Severity::Problem`] means the vault
//! does not match what was recorded; a [`Severity::Notice`] is worth knowing
//! but not a sign of tampering (e.g. a blob left by an interrupted add).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::checkpoint::SignatureCheck;
use crate::entry::{Body, Entry, Timestamp};
use crate::error::{IoContext, Result};
use crate::id::{Blake3Hash, BlobId, EntryHash, OrderId};
use crate::manifest::{OrderDir, lines};
use crate::merkle::leaf_hash;
use crate::store::{BlobDigests, hash_reader};
use crate::vault::Vault;

/// What to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Only this order (blobs not referenced by it are not reported).
    pub order: Option<OrderId>,
    /// Re-hash blobs with BLAKE3 only (SHA-256 is not recomputed).
    pub fast: bool,
    /// The certificates a time-stamp authority's chain must reach for its
    /// stamps to count as trusted (none: every valid stamp is "valid, TSA
    /// not trusted").
    pub tsa_anchors: evault_timestamp::Anchors,
}

/// Told about [`Vault::verify_with_progress`] as it re-hashes blobs, the
/// bulk of its work. Called from worker threads; every method does nothing
/// by default, and `()` ignores everything.
///
/// [`blob_done`](Self::blob_done) is called once for each blob
/// [`planned`](Self::planned) announced (the [`Report`]'s `blobs`); for a
/// vault whose blobs are intact, the [`hashed`](Self::hashed) bytes add up to
/// the planned bytes and to the report's `bytes`.
pub trait VerifyProgress: Sync {
    /// Before the first blob: how many blobs will be re-hashed, and their
    /// recorded size in bytes.
    fn planned(&self, _blobs: u64, _bytes: u64) {}
    /// `bytes` more bytes of a blob were read and hashed (a large blob is
    /// reported in several steps).
    fn hashed(&self, _bytes: u64) {}
    /// A blob is done: re-hashed, or found unreadable.
    fn blob_done(&self) {}
}

impl VerifyProgress for () {}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The vault does not match what was recorded.
    Problem,
    /// Worth knowing; not a mismatch.
    Notice,
}

/// One thing verification found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Problem or notice.
    pub severity: Severity,
    /// A stable code (`broken-link`, `blob-altered`, ...), listed in `docs/format.md`.
    pub code: &'static str,
    /// The order (as recorded, or its folder name when unreadable).
    pub order: Option<String>,
    /// The entry's sequence number (or line number for unreadable lines).
    pub seq: Option<u64>,
    /// The evidence file's recorded name, or the path in the vault.
    pub file: Option<String>,
    /// What was expected.
    pub expected: Option<String>,
    /// What was found.
    pub found: Option<String>,
    /// A sentence saying what this means and what to do.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Problem => "PROBLEM",
            Severity::Notice => "notice",
        };
        write!(f, "{sev} [{}]", self.code)?;
        if let Some(o) = &self.order {
            write!(f, " order {o:?}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " entry {s}")?;
        }
        if let Some(file) = &self.file {
            write!(f, " file {file:?}")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(e), Some(x)) = (&self.expected, &self.found) {
            write!(f, " (expected {e}, found {x})")?;
        }
        Ok(())
    }
}

/// The result of [`Vault::verify`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// Orders checked.
    pub orders: u64,
    /// Entries checked.
    pub entries: u64,
    /// Blobs re-hashed.
    pub blobs: u64,
    /// Bytes re-hashed.
    pub bytes: u64,
    /// Whether SHA-256 was skipped (`--fast`).
    pub fast: bool,
    /// Everything found, problems first.
    pub findings: Vec<Finding>,
    /// Checkpoint signatures that verified with a registered key.
    pub signatures: Vec<SignedCheckpoint>,
    /// RFC 3161 stamps that verified (trusted or not).
    pub stamps: Vec<StampedCheckpoint>,
}

/// An RFC 3161 stamp whose token checked out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StampedCheckpoint {
    /// The order.
    pub order: String,
    /// The stamp entry.
    pub seq: u64,
    /// The checkpoint entry it is over.
    pub checkpoint: u64,
    /// The entries that checkpoint covers (1 to `size`).
    pub size: u64,
    /// The TSA's time, RFC 3339.
    pub time: String,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// `valid and trusted` or `valid, TSA not trusted`.
    pub verdict: &'static str,
    /// The anchor reached, or why the TSA is not trusted.
    pub trust: String,
}

/// A checkpoint signature that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedCheckpoint {
    /// The order.
    pub order: String,
    /// The checkpoint entry.
    pub seq: u64,
    /// The entries it covers (1 to `size`).
    pub size: u64,
    /// The key's registered name.
    pub key: String,
    /// The key's fingerprint.
    pub fingerprint: String,
}

impl Report {
    /// True when there is no [`Severity::Problem`].
    pub fn ok(&self) -> bool {
        self.findings.iter().all(|f| f.severity == Severity::Notice)
    }
}

#[derive(Clone)]
pub(crate) struct Ref {
    order: String,
    seq: u64,
    name: String,
    size: u64,
    blake3: Blake3Hash,
}

pub(crate) struct Ctx {
    vault_id: String,
    keys: Vec<crate::PublicKey>,
    signed: Vec<SignedCheckpoint>,
    anchors: evault_timestamp::Anchors,
    stamped: Vec<StampedCheckpoint>,
    findings: Vec<Finding>,
    refs: BTreeMap<BlobId, Vec<Ref>>,
    entries: u64,
}

impl Ctx {
    /// A new check of vault `vault_id`, whose registered keys are `keys`.
    pub(crate) fn new(
        vault_id: String,
        keys: Vec<crate::PublicKey>,
        anchors: evault_timestamp::Anchors,
    ) -> Self {
        Self {
            findings: Vec::new(),
            refs: BTreeMap::new(),
            entries: 0,
            vault_id,
            keys,
            signed: Vec::new(),
            anchors,
            stamped: Vec::new(),
        }
    }

    /// The blobs the checked entries reference.
    #[cfg_attr(not(feature = "object-store"), allow(dead_code))]
    pub(crate) fn refs(&self) -> &BTreeMap<BlobId, Vec<Ref>> {
        &self.refs
    }

    /// The report: problems first.
    pub(crate) fn into_report(self, orders: u64, blobs: u64, bytes: u64, fast: bool) -> Report {
        let mut findings = self.findings;
        findings.sort_by_key(|f| f.severity == Severity::Notice);
        Report {
            orders,
            entries: self.entries,
            blobs,
            bytes,
            fast,
            findings,
            signatures: self.signed,
            stamps: self.stamped,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        order: Option<&str>,
        seq: Option<u64>,
        file: Option<&str>,
        expected: Option<String>,
        found: Option<String>,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            code,
            order: order.map(str::to_owned),
            seq,
            file: file.map(str::to_owned),
            expected,
            found,
            message,
        });
    }
}

fn name_of(entry: &Entry) -> Option<&str> {
    entry.evidence().map(|e| e.name.as_str())
}

impl Vault {
    /// Verifies the whole vault, or one order.
    pub fn verify(&self, options: &VerifyOptions) -> Result<Report> {
        self.verify_with_progress(options, &())
    }

    /// [`Vault::verify`], telling `progress` as blobs are re-hashed. A
    /// vault on object storage is verified in the store, not in its
    /// working copy (which may lack blobs).
    pub fn verify_with_progress(
        &self,
        options: &VerifyOptions,
        progress: &dyn VerifyProgress,
    ) -> Result<Report> {
        #[cfg(feature = "object-store")]
        if let Some(log) = self.object_log() {
            return crate::verify_objects(log, options);
        }
        let mut ctx = Ctx::new(
            self.id().to_owned(),
            self.keys()?,
            options.tsa_anchors.clone(),
        );
        let dirs: Vec<(String, OrderDir)> = match &options.order {
            Some(order) => {
                let dir = self.order_dir(order);
                if !dir.manifest().is_file() {
                    return Err(crate::Error::UnknownOrder(order.to_string()));
                }
                vec![(order.storage_key(), dir)]
            }
            None => self.order_dirs()?.into_iter().collect(),
        };
        for (key, dir) in &dirs {
            verify_order(key, dir, &mut ctx)?;
        }
        if options.order.is_none() {
            self.verify_accounts(&mut ctx)?;
        }
        let (blobs, bytes) = self.verify_blobs(options, progress, &mut ctx)?;
        Ok(ctx.into_report(dirs.len() as u64, blobs, bytes, options.fast))
    }

    fn verify_blobs(
        &self,
        options: &VerifyOptions,
        progress: &dyn VerifyProgress,
        ctx: &mut Ctx,
    ) -> Result<(u64, u64)> {
        let store = self.store();
        let listed = store.list()?;
        let stored: HashSet<BlobId> = listed.iter().filter_map(|(id, _)| *id).collect();
        let to_hash: Vec<(BlobId, PathBuf)> = ctx
            .refs
            .keys()
            .filter(|id| stored.contains(id))
            .map(|id| (*id, store.path(id)))
            .collect();
        let fast = options.fast;
        let planned_bytes = to_hash
            .iter()
            .filter_map(|(id, _)| ctx.refs.get(id)?.first().map(|r| r.size))
            .sum();
        progress.planned(to_hash.len() as u64, planned_bytes);
        let hashed: Vec<(BlobId, Result<BlobDigests>)> = to_hash
            .par_iter()
            .map(|(id, path)| {
                let r = File::open(path)
                    .map_err(|e| crate::Error::Io {
                        action: "opening blob",
                        path: path.clone(),
                        source: e,
                    })
                    .and_then(|file| {
                        let mut counted = Counted { file, progress };
                        hash_reader(&mut counted, fast, path)
                    });
                progress.blob_done();
                (*id, r)
            })
            .collect();
        let bytes = judge_blobs(ctx, &stored, hashed);
        if options.order.is_none() {
            for (id, path) in &listed {
                let rel = path
                    .strip_prefix(self.root())
                    .unwrap_or(path)
                    .display()
                    .to_string();
                match id {
                    Some(id) if !ctx.refs.contains_key(id) => ctx.push(Severity::Notice, "unreferenced-blob", None, None, Some(&rel), None, None,
                        "stored but not referenced by any entry (an interrupted add leaves these; adding the file again records it)".into()),
                    Some(_) => {}
                    None => ctx.push(Severity::Notice, "stray-file", None, None, Some(&rel), None, None,
                        "a file in the blob store whose name is not a blob address; it is not part of any order".into()),
                }
            }
            let tmp = store.tmp_dir();
            if let Ok(items) = std::fs::read_dir(&tmp) {
                for item in items.flatten() {
                    let rel = item
                        .path()
                        .strip_prefix(self.root())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    ctx.push(Severity::Notice, "temporary-file", None, None, Some(&rel), None, None,
                        "left by an interrupted add; not part of any order, safe to delete when no evault is running".into());
                }
            }
        }
        Ok((to_hash.len() as u64, bytes))
    }
}

/// Findings for the referenced blobs: missing from `stored`, or re-hashed
/// (`hashed`) to other bytes than recorded. Returns the bytes hashed.
pub(crate) fn judge_blobs(
    ctx: &mut Ctx,
    stored: &HashSet<BlobId>,
    hashed: Vec<(BlobId, Result<BlobDigests>)>,
) -> u64 {
    let mut bytes = 0;
    let refs = ctx.refs.clone();
    let by_blake3: HashMap<Blake3Hash, BlobId> =
        refs.iter().map(|(id, r)| (r[0].blake3, *id)).collect();
    let describe = |id: &BlobId, refs: &BTreeMap<BlobId, Vec<Ref>>| {
        refs.get(id).and_then(|r| r.first()).map_or_else(
            || format!("blob {}", id.to_hex()),
            |r| {
                format!(
                    "blob {} (order {:?} entry {}, {:?})",
                    id.to_hex(),
                    r.order,
                    r.seq,
                    r.name
                )
            },
        )
    };
    for (id, r) in &refs {
        if stored.contains(id) {
            continue;
        }
        for x in r {
            ctx.push(Severity::Problem, "blob-missing", Some(&x.order), Some(x.seq), Some(&x.name), Some(id.to_hex()), Some("no file".into()),
                    format!("the recorded bytes are missing from the store (blobs/sha256/{}/{}); restore the vault from a backup", &id.to_hex()[..2], id.to_hex()));
        }
    }
    for (id, result) in hashed {
        let r = &refs[&id];
        let (sha, b3, size) = match result {
            Ok(v) => v,
            Err(e) => {
                for x in r {
                    ctx.push(
                        Severity::Problem,
                        "blob-unreadable",
                        Some(&x.order),
                        Some(x.seq),
                        Some(&x.name),
                        None,
                        None,
                        format!("cannot read the blob: {e}"),
                    );
                }
                continue;
            }
        };
        bytes += size;
        let altered_to = match sha {
            Some(sha) if sha != id => Some((sha.to_hex(), stored_twin(&refs, &sha))),
            None if b3 != r[0].blake3 => Some((
                format!("blake3 {}", b3.to_hex()),
                by_blake3.get(&b3).copied(),
            )),
            _ => None,
        };
        if let Some((found, twin)) = altered_to {
            let twin = twin
                .map(|t| {
                    format!(
                        "; its bytes are those of {} (blobs swapped?)",
                        describe(&t, &refs)
                    )
                })
                .unwrap_or_default();
            for x in r {
                let expected = if sha.is_some() {
                    id.to_hex()
                } else {
                    format!("blake3 {}", x.blake3.to_hex())
                };
                ctx.push(Severity::Problem, "blob-altered", Some(&x.order), Some(x.seq), Some(&x.name), Some(expected), Some(found.clone()),
                        format!("the stored bytes ({size} bytes, recorded {}) were changed after they were recorded{twin}; restore the file from a backup", x.size));
            }
            continue;
        }
        for x in r.iter().filter(|x| x.blake3 != b3 || x.size != size) {
            ctx.push(Severity::Problem, "digest-mismatch", Some(&x.order), Some(x.seq), Some(&x.name),
                    Some(format!("blake3 {} / {} bytes", x.blake3.to_hex(), x.size)), Some(format!("blake3 {} / {size} bytes", b3.to_hex())),
                    "the entry's recorded BLAKE3 or size does not match the blob (the entry was edited)".into());
        }
    }
    bytes
}

/// A blob file that tells `progress` about every read.
struct Counted<'a> {
    file: File,
    progress: &'a dyn VerifyProgress,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if n > 0 {
            self.progress.hashed(n as u64);
        }
        Ok(n)
    }
}

impl Vault {
    /// Checks `accounts.jsonl` (when the vault has one) like an order's log.
    fn verify_accounts(&self, ctx: &mut Ctx) -> Result<()> {
        let path = self.accounts_path();
        // Under the accounts lock (shared), when it exists, so that a change
        // being written is seen whole or not at all; verify creates nothing.
        let lock = std::fs::File::open(self.root.join(crate::accounts::ACCOUNTS_LOCK)).ok();
        if let Some(l) = &lock {
            l.lock_shared().ctx(
                "locking (shared)",
                self.root.join(crate::accounts::ACCOUNTS_LOCK),
            )?;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).ctx("reading", path),
        };
        check_accounts(&bytes, crate::accounts::ACCOUNTS_LOG, ctx);
        Ok(())
    }
}

/// Checks the accounts log's `bytes` (named `label` in findings) like an
/// order's log.
pub(crate) fn check_accounts(bytes: &[u8], label: &str, ctx: &mut Ctx) {
    let (entries, found) = crate::accounts::check_log(bytes);
    ctx.entries += entries;
    for (code, seq, message) in found {
        ctx.push(
            Severity::Problem,
            code,
            None,
            Some(seq),
            Some(label),
            None,
            None,
            message,
        );
    }
}

fn stored_twin(refs: &BTreeMap<BlobId, Vec<Ref>>, sha: &BlobId) -> Option<BlobId> {
    refs.contains_key(sha).then_some(*sha)
}

/// A checkpoint entry (on line `line_no`) against the lines before it as they are now.
fn check_checkpoint(
    c: &crate::Checkpoint,
    leaves: &[EntryHash],
    line_no: u64,
    label: &str,
    ctx: &mut Ctx,
) {
    let seq = Some(line_no);
    let before = line_no - 1;
    if c.size > before {
        ctx.push(
            Severity::Problem,
            "bad-checkpoint",
            Some(label),
            seq,
            None,
            Some(format!("at most {before} entries")),
            Some(format!("{} entries", c.size)),
            "this checkpoint claims to cover entries that come after it: it was edited or forged"
                .into(),
        );
        return;
    }
    let now = c.root_now(leaves);
    if now != Some(c.root) {
        ctx.push(Severity::Problem, "checkpoint-mismatch", Some(label), seq, None, Some(c.root.to_string()), now.map(|h| h.to_string()),
            format!("entries 1 to {} no longer hash to the root this checkpoint recorded: the history before it was rewritten after the checkpoint was taken (compare with copies of the checkpoint held elsewhere, such as exported bundles)", c.size));
    }
    if c.vault != ctx.vault_id {
        let vault = ctx.vault_id.clone();
        ctx.push(
            Severity::Notice,
            "checkpoint-other-vault",
            Some(label),
            seq,
            None,
            Some(vault),
            Some(c.vault.clone()),
            "this checkpoint was recorded by another vault: the order's log was copied from it"
                .into(),
        );
    }
}

/// A checkpoint's signatures, against the vault's registered keys.
fn check_signatures(c: &crate::Checkpoint, order: &OrderId, seq: u64, label: &str, ctx: &mut Ctx) {
    let keys = std::mem::take(&mut ctx.keys);
    for (sig, check) in c.check_signatures(order, &keys) {
        match check {
            SignatureCheck::UnknownKey => ctx.push(Severity::Problem, "signature-unknown-key", Some(label), Some(seq), None, None, Some(sig.key.clone()),
                "this checkpoint is signed by a key that is not registered in the vault (keys/): a signature nobody can check, or a forged one".into()),
            SignatureCheck::Invalid(k) => ctx.push(Severity::Problem, "signature-invalid", Some(label), Some(seq), None, None, Some(format!("{} ({})", k.name, sig.key)),
                format!("the signature by {} does not match this checkpoint's bytes: the checkpoint was changed after it was signed, or the signature was forged", k.name)),
            SignatureCheck::Verified(k) => ctx.signed.push(SignedCheckpoint {
                order: label.to_owned(),
                seq,
                size: c.size,
                key: k.name.clone(),
                fingerprint: sig.key.clone(),
            }),
        }
    }
    ctx.keys = keys;
}

/// A stamp entry: its token must verify over the checkpoint it names.
fn check_stamp(
    s: &crate::StampRecord,
    checkpoints: &HashMap<u64, crate::Checkpoint>,
    order: &OrderId,
    seq: u64,
    label: &str,
    ctx: &mut Ctx,
) {
    match s.check(order, checkpoints, &ctx.anchors) {
        Ok(checked) => {
            let line = checked.summary(label, seq, s.checkpoint);
            if !ctx.anchors.is_empty() && matches!(checked.stamp.trust, evault_timestamp::Trust::NotTrusted { .. }) {
                ctx.push(Severity::Notice, "stamp-untrusted", Some(label), Some(seq), None, Some("a chain to the given TSA trust anchors".into()), Some(line.tsa.clone()),
                    format!("this stamp is valid but its TSA is not among the trust anchors given ({}); trust it only if you trust that TSA", line.trust));
            }
            ctx.stamped.push(line);
        }
        Err(e) => ctx.push(Severity::Problem, "stamp-invalid", Some(label), Some(seq), None, None, Some(e.clone()),
            format!("the RFC 3161 time-stamp over checkpoint entry {} does not verify ({e}): the token or the checkpoint was changed, or the token is for other data", s.checkpoint)),
    }
}

fn verify_order(key: &str, dir: &OrderDir, ctx: &mut Ctx) -> Result<()> {
    let (head, bytes, complete) = dir.snapshot()?;
    check_log(key, Head::File(head), &bytes, complete, ctx);
    Ok(())
}

/// What an order keeps beside its log to compare it with.
pub(crate) enum Head {
    /// The local layout's `HEAD` file, as read (`None`: missing).
    File(Option<crate::manifest::HeadRead>),
    /// The object layout keeps none (every entry is its own create-only object).
    #[cfg_attr(not(feature = "object-store"), allow(dead_code))]
    NotKept,
}

/// Checks one order's log (`bytes`, complete lines up to `complete`).
pub(crate) fn check_log(key: &str, head: Head, bytes: &[u8], complete: usize, ctx: &mut Ctx) {
    let mut label = key.to_owned();
    let mut expected_seq = 1u64;
    let mut prev: Option<EntryHash> = None;
    let mut prev_name: Option<String> = None;
    let mut seen: HashMap<u64, (bool, EntryHash)> = HashMap::new(); // seq -> (is retract/repair, hash)
    let mut retracted: HashSet<u64> = HashSet::new();
    let mut last_at: Option<Timestamp> = None;
    let mut order_id: Option<OrderId> = None;
    let mut last_seq = 0u64;
    let mut leaves: Vec<EntryHash> = Vec::new();
    let mut checkpoints: HashMap<u64, crate::Checkpoint> = HashMap::new();
    for (i, line) in lines(&bytes[..complete]).enumerate() {
        ctx.entries += 1;
        let line_no = i as u64 + 1;
        let hash = leaf_hash(line);
        leaves.push(hash);
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(e) => {
                ctx.push(Severity::Problem, "unreadable-entry", Some(&label), Some(line_no), None, None, None,
                    format!("line {line_no} is not a valid entry ({e}): it was edited or damaged; restore the vault from a backup"));
                prev = Some(hash);
                prev_name = None;
                expected_seq = expected_seq.saturating_add(1);
                last_seq = expected_seq - 1;
                continue;
            }
        };
        let seq = entry.seq;
        let name = name_of(&entry).map(str::to_owned);
        if entry.v != crate::entry::LINE_VERSION {
            ctx.push(
                Severity::Problem,
                "unknown-version",
                Some(&label),
                Some(seq),
                name.as_deref(),
                Some(crate::entry::LINE_VERSION.to_string()),
                Some(entry.v.to_string()),
                "this entry has a line version this evault does not know: it was edited, or written by a newer evault (upgrade evault)".into(),
            );
        }
        match &order_id {
            None => {
                label = entry.order.to_string();
                if entry.order.storage_key() != key {
                    ctx.push(
                        Severity::Problem,
                        "misplaced-order",
                        Some(&label),
                        Some(seq),
                        None,
                        Some(entry.order.storage_key()),
                        Some(key.to_owned()),
                        "the log is stored under another order's folder (it was moved or copied)"
                            .into(),
                    );
                }
                order_id = Some(entry.order.clone());
            }
            Some(o) if *o != entry.order => {
                ctx.push(
                    Severity::Problem,
                    "wrong-order",
                    Some(&label),
                    Some(seq),
                    name.as_deref(),
                    Some(o.to_string()),
                    Some(entry.order.to_string()),
                    "this entry belongs to another order (it was copied into this log)".into(),
                );
            }
            Some(_) => {}
        }
        if seq != expected_seq {
            let hint = if seq > expected_seq {
                "entries are missing before it (deleted)"
            } else {
                "it repeats or goes back (an inserted or reordered entry)"
            };
            ctx.push(
                Severity::Problem,
                "wrong-seq",
                Some(&label),
                Some(seq),
                name.as_deref(),
                Some(expected_seq.to_string()),
                Some(seq.to_string()),
                format!("line {line_no} has sequence number {seq}: {hint}"),
            );
        }
        if entry.prev != prev {
            let shown =
                |h: Option<EntryHash>| h.map_or_else(|| "none".to_owned(), |h| h.to_string());
            let target = prev_name
                .as_deref()
                .map(|n| format!(" ({n:?})"))
                .unwrap_or_default();
            ctx.push(Severity::Problem, "broken-link", Some(&label), Some(seq), name.as_deref(), Some(shown(entry.prev)), Some(shown(prev)),
                format!("this entry records a different hash for the line before it (line {}{target}): that line was changed, or lines were deleted, inserted or reordered", line_no.saturating_sub(1)));
        }
        if let Some(last) = last_at.filter(|last| entry.recorded_at < *last) {
            ctx.push(
                Severity::Notice,
                "clock-backwards",
                Some(&label),
                Some(seq),
                name.as_deref(),
                Some(format!("at or after {last}")),
                Some(entry.recorded_at.to_string()),
                "recorded_at goes backwards: the recording station's clock was set back".into(),
            );
        }
        last_at = Some(entry.recorded_at);
        match &entry.body {
            Body::Evidence(e) => {
                ctx.refs.entry(e.sha256).or_default().push(Ref {
                    order: label.clone(),
                    seq,
                    name: e.name.clone(),
                    size: e.size,
                    blake3: e.blake3,
                });
            }
            Body::Retract { target, .. } => {
                let bad = match seen.get(target) {
                    None => Some("it voids an entry that does not come before it"),
                    Some((true, _)) => Some("it voids a retraction or repair"),
                    Some(_) if retracted.contains(target) => {
                        Some("it voids an entry that was already retracted")
                    }
                    _ => None,
                };
                if let Some(why) = bad {
                    ctx.push(
                        Severity::Problem,
                        "bad-retraction",
                        Some(&label),
                        Some(seq),
                        None,
                        None,
                        Some(format!("target {target}")),
                        why.into(),
                    );
                }
                retracted.insert(*target);
            }
            Body::Repair {
                cut_sha256,
                cut_blake3,
                cut_bytes,
            } => {
                ctx.refs.entry(*cut_sha256).or_default().push(Ref {
                    order: label.clone(),
                    seq,
                    name: "(torn line cut by repair)".into(),
                    size: *cut_bytes,
                    blake3: *cut_blake3,
                });
            }
            Body::Checkpoint(c) => {
                check_checkpoint(c, &leaves, line_no, &label, ctx);
                check_signatures(c, &entry.order, line_no, &label, ctx);
                checkpoints.insert(seq, c.clone());
            }
            Body::Stamp(s) => check_stamp(s, &checkpoints, &entry.order, seq, &label, ctx),
            Body::Note { .. } | Body::Dispute(_) | Body::Export(_) => {}
        }
        seen.insert(
            seq,
            (
                matches!(entry.body, Body::Retract { .. } | Body::Repair { .. }),
                hash,
            ),
        );
        expected_seq = seq.saturating_add(1);
        last_seq = seq;
        prev = Some(hash);
        prev_name = name;
    }
    if complete < bytes.len() {
        ctx.push(Severity::Problem, "torn-last-line", Some(&label), Some(last_seq.saturating_add(1)), None, None, Some(format!("{} bytes without a newline", bytes.len() - complete)),
            format!("the log ends with an incomplete line (an interrupted write, never acknowledged); run `evault repair {label:?}` to cut it"));
    }
    let Head::File(head) = head else {
        return;
    };
    match head {
        Some(Ok(head)) if head.seq > last_seq => ctx.push(
            Severity::Problem,
            "log-truncated",
            Some(&label),
            Some(head.seq),
            None,
            Some(format!("entries up to {}", head.seq)),
            Some(format!("entries up to {last_seq}")),
            "the log is shorter than its HEAD file records: entries were removed from its end"
                .into(),
        ),
        Some(Ok(head)) => {
            if let Some((_, hash)) = seen.get(&head.seq).filter(|(_, h)| *h != head.hash) {
                ctx.push(Severity::Problem, "head-mismatch", Some(&label), Some(head.seq), None, Some(head.hash.to_string()), Some(hash.to_string()),
                    "this entry differs from the hash its HEAD file recorded when it was written: the entry was changed".into());
            }
        }
        Some(Err(e)) => ctx.push(
            Severity::Notice,
            "head-unreadable",
            Some(&label),
            None,
            None,
            None,
            None,
            format!("the HEAD file cannot be read ({e}); it is rewritten by the next append"),
        ),
        None if last_seq > 0 => ctx.push(
            Severity::Notice,
            "head-missing",
            Some(&label),
            None,
            None,
            None,
            None,
            "the HEAD file is missing; it is rewritten by the next append".into(),
        ),
        None => {}
    }
}
