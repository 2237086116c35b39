//! Appending entries: staging evidence, the group commit, the checks made
//! under an order's lock.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::actor::{Actor, check_text};
use crate::dispute::Dispute;
use crate::durable::{append_to, barrier};
use crate::entry::{Body, DeviceClaim, Entry, Evidence, LINE_VERSION, Recorded, Timestamp};
use crate::error::{Error, IoContext, Result};
use crate::id::{BlobId, OrderId};
use crate::kind::EvidenceKind;
use crate::manifest::{Head, OrderDir, OrderLock, Tail};
use crate::merkle::leaf_hash;
use crate::read::{OrderLog, read_log};
use crate::sniff::{Sniffed, sniff};
use crate::store::Staged;
use crate::vault::Vault;

/// Where the bytes of a new piece of evidence come from.
pub enum Source {
    /// A file on disk (its modification time is recorded).
    Path(PathBuf),
    /// Any reader (e.g. an upload).
    Reader(Box<dyn Read + Send>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Self::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

/// A file to record as evidence.
#[derive(Debug)]
pub struct NewEvidence {
    /// The bytes.
    pub source: Source,
    /// The name to record (file name, or path relative to an import folder).
    pub name: String,
    /// The kind; `None` picks [`EvidenceKind::default_for`].
    pub kind: Option<EvidenceKind>,
    /// An optional note.
    pub note: Option<String>,
    /// What the capturing device said (its SHA-256 must match the bytes, or nothing is recorded).
    pub device: Option<DeviceClaim>,
}

impl NewEvidence {
    /// Evidence from a file; its recorded name is the file name.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Self {
            source: Source::Path(path),
            name,
            kind: None,
            note: None,
            device: None,
        }
    }

    /// Evidence from a reader, recorded under `name`.
    pub fn from_reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        Self {
            source: Source::Reader(Box::new(reader)),
            name: name.into(),
            kind: None,
            note: None,
            device: None,
        }
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: Option<EvidenceKind>) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the note.
    pub fn note(mut self, note: Option<String>) -> Self {
        self.note = note;
        self
    }

    /// Sets the device's claim; [`Vault::add`] then refuses the file
    /// ([`Error::DeviceHashMismatch`]) unless its SHA-256 matches the bytes.
    pub fn device(mut self, device: Option<DeviceClaim>) -> Self {
        self.device = device;
        self
    }
}

/// What happened to one piece of evidence.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "most outcomes are additions; boxing would only add an allocation"
)]
pub enum AddOutcome {
    /// A new entry was appended (its warnings are in the entry).
    Added(Recorded),
    /// The same bytes are already recorded in this order (and not retracted).
    AlreadyRecorded {
        /// The name given now.
        name: String,
        /// The entry that holds them.
        seq: u64,
    },
}

/// A staged item waiting for its manifest line.
pub(crate) struct Pending {
    pub staged: Staged,
    pub name: String,
    pub kind: Option<EvidenceKind>,
    pub note: Option<String>,
    pub mtime: Option<Timestamp>,
    pub device: Option<DeviceClaim>,
    /// What the header says (sniffed while staging, in parallel).
    pub sniffed: Sniffed,
}

/// An item ready to append, with whether its blob was already stored (`None`: not evidence).
pub(crate) type PlacedItem = (Option<bool>, Item);

/// One order's share of a commit.
pub(crate) enum Item {
    Evidence(Pending),
    Body(Body),
}

impl Vault {
    /// Stages one item: copies and hashes it into `tmp/`.
    pub(crate) fn stage(&self, item: NewEvidence) -> Result<Pending> {
        let (mut staged, mtime) = match item.source {
            Source::Path(path) => {
                let mut file = File::open(&path).ctx("opening", &path)?;
                let meta = file.metadata().ctx("reading", &path)?;
                if !meta.is_file() {
                    return Err(Error::Import {
                        path,
                        why: "it is not a regular file".into(),
                    });
                }
                let mtime = meta
                    .modified()
                    .ok()
                    .map(|t| Timestamp::from_datetime(t.into()));
                (self.store.stage(&mut file, &path)?, mtime)
            }
            Source::Reader(mut reader) => {
                (self.store.stage(&mut reader, Path::new(&item.name))?, None)
            }
        };
        if let Some(note) = &item.note {
            check_text("note", note, 10_000)?;
        }
        if let Some(claim) = &item.device {
            if claim.sha256 != staged.sha256 {
                return Err(Error::DeviceHashMismatch {
                    name: item.name,
                    claimed: claim.sha256,
                    received: staged.sha256,
                });
            }
            let frame_of = claim.frame_of.as_ref().map(|f| f.capture.clone());
            for (field, value) in [
                ("device time", &claim.time),
                ("capture id", &claim.capture),
                ("video capture id", &frame_of),
            ] {
                if let Some(v) = value {
                    check_text(field, v, 200)?;
                }
            }
        }
        // Sniff now (in parallel when importing) and free the prefix.
        let prefix = std::mem::take(&mut staged.prefix);
        // Metadata beyond the prefix (a HEIF's meta box after the image
        // data, a WebP's EXIF at its end) is read from the staged copy.
        let mut whole = (staged.size > prefix.len() as u64)
            .then(|| staged.file.reopen().ok().map(std::io::BufReader::new))
            .flatten();
        let sniffed = sniff(
            &prefix,
            staged.tail,
            staged.size,
            &item.name,
            whole.as_mut().map(|w| w as &mut dyn crate::sniff::Whole),
        );
        drop(whole);
        Ok(Pending {
            staged,
            sniffed,
            name: item.name,
            kind: item.kind,
            note: item.note,
            device: item.device,
            mtime,
        })
    }

    /// Records evidence files in an order. Acknowledged (returns `Ok`) only once
    /// every blob and manifest line is durable.
    pub fn add(
        &self,
        order: &OrderId,
        items: Vec<NewEvidence>,
        actor: &Actor,
    ) -> Result<Vec<AddOutcome>> {
        let pending = items
            .into_iter()
            .map(|i| self.stage(i).map(Item::Evidence))
            .collect::<Result<Vec<_>>>()?;
        let mut out = self.commit(vec![(order.clone(), pending)], actor)?;
        Ok(out.pop().map(|(_, o)| o).unwrap_or_default())
    }

    /// Appends a note.
    pub fn note(&self, order: &OrderId, text: &str, actor: &Actor) -> Result<Recorded> {
        let mut v = self.notes(order, [text.to_owned()], actor)?;
        v.pop()
            .ok_or_else(|| Error::UnknownOrder(order.to_string()))
    }

    /// Appends several notes in one durable commit.
    pub fn notes(
        &self,
        order: &OrderId,
        texts: impl IntoIterator<Item = String>,
        actor: &Actor,
    ) -> Result<Vec<Recorded>> {
        let items = texts
            .into_iter()
            .map(|text| check_text("note", &text, 10_000).map(|()| Item::Body(Body::Note { text })))
            .collect::<Result<Vec<_>>>()?;
        self.commit_bodies(order, items, actor)
    }

    /// Records a dispute opened against the order.
    pub fn dispute(&self, order: &OrderId, dispute: Dispute, actor: &Actor) -> Result<Recorded> {
        check_text("platform", &dispute.platform, 100)?;
        for (field, value) in [
            ("case id", &dispute.case_id),
            ("amount", &dispute.amount),
            ("due date", &dispute.due),
        ] {
            if let Some(v) = value {
                check_text(field, v, 200)?;
            }
        }
        self.record(order, Body::Dispute(dispute), actor)
    }

    /// Records an entry of any type but evidence (evidence goes through
    /// [`Vault::add`], retractions through [`Vault::retract`]).
    pub fn record(&self, order: &OrderId, body: Body, actor: &Actor) -> Result<Recorded> {
        if matches!(
            body,
            Body::Evidence(_)
                | Body::Retract { .. }
                | Body::Repair { .. }
                | Body::Checkpoint(_)
                | Body::Stamp(_)
        ) {
            return Err(Error::InvalidText {
                field: "entry",
                why: "evidence, retractions, repairs, checkpoints and stamps have their own calls",
            });
        }
        self.commit_body(order, body, actor)
    }

    /// Voids entry `seq` (which stays in the log) with a reason.
    pub fn retract(
        &self,
        order: &OrderId,
        seq: u64,
        reason: &str,
        actor: &Actor,
    ) -> Result<Recorded> {
        check_text("reason", reason, 10_000)?;
        self.pull_one(order)?;
        if !self.order_dir(order).manifest().is_file() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        // The target is checked under the order's lock (in the append).
        let body = Body::Retract {
            target: seq,
            reason: reason.to_owned(),
        };
        self.commit_body(order, body, actor)
    }

    /// Appends one entry of `body` and returns it.
    pub(crate) fn commit_body(
        &self,
        order: &OrderId,
        body: Body,
        actor: &Actor,
    ) -> Result<Recorded> {
        self.commit_bodies(order, vec![Item::Body(body)], actor)?
            .pop()
            .ok_or_else(|| Error::UnknownOrder(order.to_string()))
    }

    /// Appends `body` unless the order already holds the same record (a
    /// live `stamp` entry with the same reply), checked under the order's
    /// lock so that two processes attaching one reply record it once; returns
    /// the entry that holds it and whether it is new.
    pub(crate) fn commit_body_once(
        &self,
        order: &OrderId,
        body: Body,
        actor: &Actor,
    ) -> Result<(Recorded, bool)> {
        let outcome = self
            .commit(vec![(order.clone(), vec![Item::Body(body)])], actor)?
            .pop()
            .and_then(|(_, mut o)| o.pop());
        let unknown = || Error::UnknownOrder(order.to_string());
        match outcome.ok_or_else(unknown)? {
            AddOutcome::Added(r) => Ok((r, true)),
            AddOutcome::AlreadyRecorded { seq, .. } => {
                let earlier = self.log(order)?.get(seq).cloned();
                Ok((earlier.ok_or_else(unknown)?, false))
            }
        }
    }

    fn commit_bodies(
        &self,
        order: &OrderId,
        items: Vec<Item>,
        actor: &Actor,
    ) -> Result<Vec<Recorded>> {
        let mut out = self.commit(vec![(order.clone(), items)], actor)?;
        Ok(out
            .pop()
            .map(|(_, o)| o)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| match o {
                AddOutcome::Added(r) => Some(r),
                AddOutcome::AlreadyRecorded { .. } => None,
            })
            .collect())
    }

    /// Group commit: make the staged blobs durable, move them into the store,
    /// then append each order's lines under its lock and make them durable.
    pub(crate) fn commit(
        &self,
        mut batch: Vec<(OrderId, Vec<Item>)>,
        actor: &Actor,
    ) -> Result<Vec<(OrderId, Vec<AddOutcome>)>> {
        batch.retain(|(_, items)| !items.is_empty());
        // 1. Blob data durable.
        let staged_files: Vec<(&File, &Path)> = batch
            .iter()
            .flat_map(|(_, items)| items)
            .filter_map(|i| match i {
                Item::Evidence(p) => Some((p.staged.file.as_file(), p.staged.file.path())),
                Item::Body(_) => None,
            })
            .collect();
        barrier(&self.root, &staged_files, &[])?;
        drop(staged_files);

        // 2. Blobs in place, their directory entries durable.
        let mut new_dirs = Vec::new();
        let mut placed_blobs = Vec::new();
        let mut staged: Vec<(OrderId, Vec<PlacedItem>)> = Vec::new();
        for (order, items) in batch {
            let mut v = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Item::Evidence(p) => {
                        let Pending {
                            staged: s,
                            name,
                            kind,
                            note,
                            mtime,
                            device,
                            sniffed,
                        } = p;
                        let kind = kind.unwrap_or_else(|| {
                            EvidenceKind::default_for(&sniffed.media_type, &name)
                        });
                        let evidence = Evidence {
                            kind,
                            name,
                            size: s.size,
                            media_type: sniffed.media_type,
                            sha256: s.sha256,
                            blake3: s.blake3,
                            source_mtime: mtime,
                            note,
                            image: sniffed.image,
                            warnings: sniffed.warnings,
                            video: sniffed.video,
                            device,
                        };
                        // Fsynced even when the blob existed: another process
                        // may have stored it and not yet made its name durable.
                        let id = s.sha256;
                        let (dir, existed) = self.store.persist(s)?;
                        placed_blobs.push((id, existed));
                        if !new_dirs.contains(&dir) {
                            new_dirs.push(dir);
                        }
                        v.push((Some(existed), Item::Body(Body::Evidence(evidence))));
                    }
                    body @ Item::Body(_) => v.push((None, body)),
                }
            }
            staged.push((order, v));
        }
        barrier(&self.root, &[], &new_dirs)?;
        // On object storage, every blob is stored there before a line names it.
        #[cfg(feature = "object-store")]
        if let Some(remote) = &self.remote {
            remote.upload_blobs(&self.store, &placed_blobs)?;
        }
        #[cfg(not(feature = "object-store"))]
        drop(placed_blobs);

        // 3. Lines appended under each order's lock (taken in key order: no deadlock).
        staged.sort_by_key(|(o, _)| o.storage_key());
        let mut held: Vec<(OrderDir, OrderLock, File, Option<Head>)> = Vec::new();
        let mut new_order_dirs = Vec::new();
        let mut results = Vec::new();
        let mut failure = None;
        for (order, items) in staged {
            match self.append_locked(&order, items, actor, &mut new_order_dirs) {
                Ok((dir, lock, file, head, outcomes)) => {
                    held.push((dir, lock, file, head));
                    results.push((order, outcomes));
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }

        // 4. Lines durable, then HEADs moved, then locks released (on drop).
        let manifests: Vec<PathBuf> = held.iter().map(|(d, ..)| d.manifest()).collect();
        let files: Vec<(&File, &Path)> = held
            .iter()
            .zip(&manifests)
            .map(|((_, _, f, _), p)| (f, p.as_path()))
            .collect();
        barrier(&self.root, &files, &new_order_dirs)?;
        // HEAD is a hint written after the lines are durable: failing to
        // write it (a full disk) must not turn a durable commit into an
        // error; a lagging HEAD is accepted everywhere.
        for (dir, _, _, head) in &held {
            if let Some(head) = head {
                let _ = dir.write_head(head);
            }
        }
        drop(held);
        match failure {
            Some(e) => Err(e),
            None => Ok(results),
        }
    }

    #[allow(clippy::type_complexity)]
    fn append_locked(
        &self,
        order: &OrderId,
        items: Vec<PlacedItem>,
        actor: &Actor,
        new_dirs: &mut Vec<PathBuf>,
    ) -> Result<(OrderDir, OrderLock, File, Option<Head>, Vec<AddOutcome>)> {
        let dir = self.order_dir(order);
        if !dir.dir.is_dir() {
            fs::create_dir_all(&dir.dir).ctx("creating", &dir.dir)?;
            new_dirs.push(self.orders_dir());
            new_dirs.push(dir.dir.clone());
        }
        let lock = dir.lock(order)?;
        if !dir.manifest().exists() && !new_dirs.contains(&dir.dir) {
            new_dirs.push(dir.dir.clone());
        }
        let (file, head, outcomes) = self.append_under_lock(&dir, order, items, actor)?;
        Ok((dir, lock, file, head, outcomes))
    }

    /// Appends lines to an order whose lock the caller holds (one write, not
    /// yet fsynced; on object storage, written there first, see `remote.rs`).
    pub(crate) fn append_under_lock(
        &self,
        dir: &OrderDir,
        order: &OrderId,
        items: Vec<PlacedItem>,
        actor: &Actor,
    ) -> Result<(File, Option<Head>, Vec<AddOutcome>)> {
        #[cfg(feature = "object-store")]
        if let Some(remote) = &self.remote {
            return self.append_remote(remote, dir, order, items, actor);
        }
        let (bytes, head, outcomes) = self.plan_lines(dir, order, items, actor)?;
        let file = append_to(&dir.manifest(), &bytes)?;
        Ok((file, head, outcomes))
    }

    /// The lines `items` add to the order (each ending in `\n`), the `HEAD`
    /// they leave, and what became of each item, in order.
    pub(crate) fn plan_lines(
        &self,
        dir: &OrderDir,
        order: &OrderId,
        items: Vec<PlacedItem>,
        actor: &Actor,
    ) -> Result<(Vec<u8>, Option<Head>, Vec<AddOutcome>)> {
        let tail = dir.tail(order)?;
        check_head(dir, order, &tail)?;
        // The log is read only when needed: a blob already in the store may
        // already be in this order; a retraction must name a live entry; a
        // time-stamp reply may be recorded already.
        // On object storage a blob new to this working copy may be in the
        // order already (recorded at another station): read the log then too.
        let remote = self.object_store_url().is_some();
        let needs_log = items.iter().any(|(existed, item)| {
            *existed == Some(true)
                || (remote && existed.is_some())
                || matches!(item, Item::Body(Body::Retract { .. } | Body::Stamp(_)))
        });
        let log = if needs_log {
            read_log(dir, order.as_str())?
        } else {
            OrderLog::default()
        };
        let mut retracted = log.retracted();
        let mut known: HashMap<BlobId, u64> = HashMap::new();
        for r in &log.entries {
            if let (Some(e), false) = (r.entry.evidence(), retracted.contains(&r.entry.seq)) {
                known.entry(e.sha256).or_insert(r.entry.seq);
            }
        }
        for (_, item) in &items {
            if let Item::Body(Body::Retract { target, .. }) = item {
                check_retraction(&log, &retracted, order, *target)?;
                retracted.insert(*target);
            }
        }
        let now = Timestamp::from_datetime((self.clock)());
        let mut seq = tail.seq;
        let mut prev = tail.hash;
        let mut bytes = Vec::new();
        let mut outcomes = Vec::new();
        for (_, item) in items {
            let Item::Body(mut body) = item else { continue };
            if let Body::Stamp(s) = &body
                && let Some(r) = log.entries.iter().find(|r| {
                    !retracted.contains(&r.entry.seq)
                        && matches!(&r.entry.body, Body::Stamp(x) if x.reply == s.reply)
                })
            {
                outcomes.push(AddOutcome::AlreadyRecorded {
                    name: "time-stamp reply".into(),
                    seq: r.entry.seq,
                });
                continue;
            }
            if let Body::Evidence(e) = &mut body {
                if let Some(&seq) = known.get(&e.sha256) {
                    outcomes.push(AddOutcome::AlreadyRecorded {
                        name: e.name.clone(),
                        seq,
                    });
                    continue;
                }
                known.insert(e.sha256, seq.saturating_add(1));
                if let Some(last) = tail.recorded_at.filter(|last| *last > now) {
                    e.warnings.push(format!(
                        "recorded_at {now} is earlier than the previous entry's {last}: the station clock may have been set back"
                    ));
                }
            }
            seq = seq.checked_add(1).ok_or_else(|| Error::DamagedLog {
                order: order.to_string(),
                line: seq,
                why: "its last sequence number is the largest possible".into(),
            })?;
            let entry = Entry {
                v: LINE_VERSION,
                seq,
                prev,
                order: order.clone(),
                recorded_at: now,
                recorded_by: actor.operator().to_owned(),
                station: actor.station().to_owned(),
                body,
            };
            let line = serde_json::to_vec(&entry)?;
            let hash = leaf_hash(&line);
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
            prev = Some(hash);
            outcomes.push(AddOutcome::Added(Recorded { entry, hash }));
        }
        let head = prev
            .filter(|_| !bytes.is_empty())
            .map(|hash| Head { seq, hash });
        Ok((bytes, head, outcomes))
    }
}

/// Refuses to append to a log whose end no longer matches its `HEAD` (an
/// edited or truncated tail would otherwise be buried under new entries).
/// A `HEAD` behind the log is fine: it is written after the lines are durable.
fn check_head(dir: &OrderDir, order: &OrderId, tail: &Tail) -> Result<()> {
    let Some(Ok(head)) = dir.read_head() else {
        return Ok(());
    };
    let why = if head.seq > tail.seq {
        format!(
            "it ends at entry {} but its HEAD file records entry {}: entries were removed from its end",
            tail.seq, head.seq
        )
    } else if head.seq == tail.seq && tail.hash != Some(head.hash) {
        format!(
            "its last entry ({}) differs from the hash its HEAD file recorded: the entry was changed",
            tail.seq
        )
    } else {
        return Ok(());
    };
    Err(Error::LogMismatch {
        order: order.to_string(),
        why,
    })
}

/// Whether entry `target` may be retracted.
fn check_retraction(
    log: &OrderLog,
    retracted: &HashSet<u64>,
    order: &OrderId,
    target: u64,
) -> Result<()> {
    let Some(entry) = log.get(target) else {
        return Err(Error::UnknownSeq {
            order: order.to_string(),
            seq: target,
            len: log.entries.len() as u64,
        });
    };
    let why = match entry.entry.body {
        Body::Retract { .. } => "it is itself a retraction; record the entry again instead",
        Body::Repair { .. } => "it records a repair, which cannot be voided",
        _ if retracted.contains(&target) => "it is already retracted",
        _ => return Ok(()),
    };
    Err(Error::WrongEntry {
        order: order.to_string(),
        seq: target,
        why,
    })
}
