//! A vault on object storage (`docs/format.md` section 2.2), worked on
//! through a local **working copy**: a directory in the local layout that
//! mirrors what this process has read or written. The object store is the
//! record; the working copy is a cache of it that every command, export and
//! page can read as files.
//!
//! - An append takes the order's local lock, brings the working copy's log
//!   up to the store's (checking that one continues the other), builds its
//!   lines on that tail, and creates each line's entry object create-only.
//!   An entry counts only once its object exists; when another writer took
//!   a `seq` first, the entries not yet written are built again on the new
//!   tail, after a random wait. The working copy then takes the written
//!   lines from the store, as it takes anyone's.
//! - Every blob is stored in the object store before a line names it.
//! - Reads bring the order (or, for listings, every order) up to date
//!   first; a blob the working copy lacks is fetched and checked against
//!   its name.

use std::collections::HashMap;
use std::fs;
use std::io::BufRead;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};

use crate::Actor;
use crate::append::{AddOutcome, Item, PlacedItem};
use crate::durable::{append_to, cut_to};
use crate::entry::{Body, Entry};
use crate::error::{Error, IoContext, Result};
use crate::id::{BlobId, OrderId};
use crate::manifest::{Head, OrderDir, backoff, lines};
use crate::merkle::leaf_hash;
use crate::object_lock::Retention;
use crate::object_log::{ObjectLog, Put};
use crate::store::Store;
use crate::vault::{Vault, create_layout, holds_anything, new_config, vault_id_of};

/// How many times an append starts again after losing a race.
const MAX_TRIES: u32 = 64;

/// Blob uploads at once.
const PARALLEL: usize = 16;

/// The object store a vault lives in.
pub(crate) struct Remote {
    pub(crate) log: ObjectLog,
    url: String,
    /// Per order key: the `seq` up to which the working copy's log was found
    /// to be the store's.
    confirmed: Mutex<HashMap<String, u64>>,
}

fn diverged(order: &str, root: &Path, seq: u64) -> Error {
    Error::ObjectStore {
        what: format!("reading order {order:?}"),
        why: format!(
            "the working copy {} holds entry {seq}, which differs from the object store's or is not there: \
             it is not a copy of this vault (or entries were deleted from the store; run `evault --vault URL verify`). \
             Move the working copy aside; a new one is filled from the store",
            root.display()
        ),
    }
}

impl Remote {
    /// Stores the blobs `placed` (from the working copy's store):
    /// `(id, existed)`, where a blob this commit just staged (and hashed) is
    /// not hashed again, and one that was there already is. Blobs up to
    /// 16 MiB go 16 at a time (at most 256 MiB held), larger ones in parts,
    /// 2 at a time (at most 64 MiB held).
    pub(crate) fn upload_blobs(&self, store: &Store, placed: &[(BlobId, bool)]) -> Result<()> {
        let mut placed = placed.to_vec();
        // Once each, checked if any of its copies existed already.
        placed.sort_by_key(|(id, existed)| (*id, !*existed));
        placed.dedup_by_key(|(id, _)| *id);
        let (large, small): (Vec<_>, Vec<_>) = placed.into_iter().partition(|(id, _)| {
            fs::metadata(store.path(id)).is_ok_and(|m| m.len() > crate::object_log::WHOLE_BYTES)
        });
        let log = &self.log;
        for (blobs, at_once) in [(small, PARALLEL), (large, 2)] {
            log.block_on(
                futures_util::stream::iter(blobs.iter().map(|(id, existed)| async move {
                    log.put_blob_file(id, &store.path(id), *existed)
                        .await
                        .map(drop)
                }))
                .buffer_unordered(at_once)
                .try_collect::<Vec<()>>(),
            )?;
        }
        Ok(())
    }
}

impl Vault {
    /// Creates a vault in the object store at `url` (`s3://bucket/prefix`
    /// or `gs://bucket/prefix`, configured as [`ObjectLog::from_url`]), and
    /// opens it with `workdir` (new or empty) as its working copy. With
    /// `object_lock_days` (S3 only), the bucket must have Object Lock, and
    /// its default retention becomes COMPLIANCE for that many days (never
    /// shortened) before anything is written.
    pub fn init_remote(url: &str, workdir: &Path, object_lock_days: Option<u32>) -> Result<Self> {
        Self::init_remote_with(ObjectLog::from_url(url)?, url, workdir, object_lock_days)
    }

    /// [`init_remote`](Self::init_remote) with an opened store (`url` names it in messages).
    pub fn init_remote_with(
        log: ObjectLog,
        url: &str,
        workdir: &Path,
        object_lock_days: Option<u32>,
    ) -> Result<Self> {
        let refused = |why: String| Error::ObjectStore {
            what: format!("creating a vault at {url}"),
            why,
        };
        // Everything is checked before the first write.
        if log.block_on(log.get_rest("evault.json"))?.is_some() {
            return Err(refused("it is already a vault".into()));
        }
        if holds_anything(workdir)? {
            return Err(Error::InitRefused {
                path: workdir.to_owned(),
                why: "the working copy of a new vault must be a new or empty directory (pass --workdir)".into(),
            });
        }
        if let Some(days) = object_lock_days {
            match log.retention()? {
                None => return Err(refused(
                    "Object Lock is an S3 feature; on Google Cloud Storage set a retention policy on the bucket".into(),
                )),
                Some(Retention::None) => return Err(refused(
                    "the bucket has no Object Lock, so it cannot keep evidence from deletion: create a bucket with \
                     Object Lock enabled (`aws s3api create-bucket --object-lock-enabled-for-bucket …`) or enable it \
                     on this versioned bucket, then run init again".into(),
                )),
                Some(Retention::Default { mode, days: held }) if mode == "COMPLIANCE" && held > days => {
                    return Err(refused(format!(
                        "the bucket already keeps every new object COMPLIANCE for {held} days; evault does not shorten it (give --object-lock-days {held} or more)"
                    )));
                }
                Some(Retention::Default { mode, days: held }) if mode == "COMPLIANCE" && held == days => {}
                Some(_) => log.set_compliance_days(days)?,
            }
        }
        let config = new_config(url)?;
        // Already there with the same bytes (a fresh id) is our own write,
        // landed before a failure was reported; other bytes are refused.
        log.block_on(log.put_exact("evault.json", config))?;
        Self::open_remote_with(log, url, workdir)
    }

    /// Opens the vault in the object store at `url`, with `workdir` (a new
    /// or empty directory, or a working copy of this vault) as its working
    /// copy.
    pub fn open_remote(url: &str, workdir: &Path) -> Result<Self> {
        Self::open_remote_with(ObjectLog::from_url(url)?, url, workdir)
    }

    /// [`open_remote`](Self::open_remote) with an opened store (`url` names it in messages).
    pub fn open_remote_with(log: ObjectLog, url: &str, workdir: &Path) -> Result<Self> {
        let config = log
            .block_on(log.get_rest("evault.json"))?
            .ok_or_else(|| Error::ObjectStore {
                what: format!("opening {url}"),
                why: "there is no evault.json: no vault under this prefix (create one with `evault --vault URL init`)".into(),
            })?;
        vault_id_of(&config, Path::new("evault.json"))?;
        let cfg_path = workdir.join("evault.json");
        match fs::read(&cfg_path) {
            Ok(held) if held == config => {}
            Ok(_) => {
                return Err(Error::InitRefused {
                    path: workdir.to_owned(),
                    why: format!("it is the working copy of another vault, not of {url}"),
                });
            }
            Err(_) => {
                if holds_anything(workdir)? {
                    return Err(Error::InitRefused {
                        path: workdir.to_owned(),
                        why: "it is not empty and not a working copy of this vault; pick a new or empty directory".into(),
                    });
                }
                create_layout(workdir)?;
                fs::write(&cfg_path, &config).ctx("writing", &cfg_path)?;
            }
        }
        let mut vault = Self::open(workdir)?;
        vault.remote = Some(Arc::new(Remote {
            log,
            url: url.to_owned(),
            confirmed: Mutex::default(),
        }));
        vault.pull_keys()?;
        vault.pull_accounts_locked()?;
        Ok(vault)
    }

    /// The object store's URL, when the vault lives in one.
    pub fn object_store_url(&self) -> Option<&str> {
        self.remote.as_deref().map(|r| r.url.as_str())
    }

    /// The object store's log, when the vault lives in one.
    pub fn object_log(&self) -> Option<&ObjectLog> {
        self.remote.as_deref().map(|r| &r.log)
    }

    /// Brings the working copy up to the object store: the accounts, the
    /// keys, and every order (one listing of the store's entry objects,
    /// then reads of the new ones); the number of entries read. A no-op on
    /// a local vault.
    pub fn pull(&self) -> Result<u64> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(0);
        };
        self.pull_accounts_locked()?;
        self.pull_keys()?;
        let names = remote.log.block_on(remote.log.list_rest("orders"))?;
        let mut newest: HashMap<&str, u64> = HashMap::new();
        for name in &names {
            let Some((key, file)) = name
                .strip_prefix("orders/")
                .and_then(|r| r.split_once("/log/"))
            else {
                continue;
            };
            let Some(seq) = file
                .strip_suffix(".json")
                .and_then(crate::object_log::seq_of_name)
            else {
                continue;
            };
            let n = newest.entry(key).or_default();
            *n = (*n).max(seq);
        }
        let mut read = 0;
        let mut failed = None;
        for (key, seq) in newest {
            let dir = OrderDir::from_dir(self.orders_dir().join(key));
            let held = match dir.read_head() {
                Some(Ok(head)) => head.seq,
                _ => 0,
            };
            if held >= seq {
                continue;
            }
            let order = match first_order(&dir)? {
                Some(order) => order,
                None => {
                    let first = format!("orders/{key}/log/{:020}.json", 1);
                    let Some(line) = remote.log.block_on(remote.log.get_rest(&first))? else {
                        continue; // no entry 1: verify names the gap
                    };
                    let entry: Entry =
                        serde_json::from_slice(&line).map_err(|e| Error::DamagedLog {
                            order: key.to_owned(),
                            line: 1,
                            why: format!("entry object 1 cannot be read ({e}); run `evault --vault URL verify`"),
                        })?;
                    if entry.order.storage_key() != key {
                        continue; // misfiled: verify names it
                    }
                    entry.order
                }
            };
            // One order that cannot be taken does not hold up the others;
            // the first failure is returned once all were tried.
            let pulled = fs::create_dir_all(&dir.dir)
                .ctx("creating", &dir.dir)
                .and_then(|()| dir.lock(&order))
                .and_then(|_lock| self.pull_order(remote, &dir, &order));
            match pulled {
                Ok(n) => read += n,
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(read),
        }
    }

    /// Brings one order of the working copy up to the object store's,
    /// under the order's lock. A no-op on a local vault.
    pub(crate) fn pull_one(&self, order: &OrderId) -> Result<()> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(());
        };
        let dir = self.order_dir(order);
        fs::create_dir_all(&dir.dir).ctx("creating", &dir.dir)?;
        let _lock = dir.lock(order)?;
        self.pull_order(remote, &dir, order).map(drop)
    }

    /// Appends to the working copy's log the store's entries after its
    /// last, checking that they continue it; the caller holds the lock.
    fn pull_order(&self, remote: &Remote, dir: &OrderDir, order: &OrderId) -> Result<u64> {
        let tail = match dir.tail(order) {
            // Only a pull killed while writing leaves a torn line here: the
            // store holds every acknowledged entry, so the torn bytes go.
            Err(Error::TornTail(_)) => {
                let (_, complete) = dir.read()?;
                cut_to(&dir.manifest(), complete as u64)?;
                dir.tail(order)?
            }
            other => other?,
        };
        let key = order.storage_key();
        let confirmed = remote
            .confirmed
            .lock()
            .map(|c| c.get(&key).copied())
            .unwrap_or_default();
        // The working copy's last entry is read back too, unless it was
        // already found to be the store's.
        let check_last = tail.seq > 0 && confirmed != Some(tail.seq);
        let from = if check_last { tail.seq } else { tail.seq + 1 };
        let mut got = remote.log.entries_from(order, from)?.into_iter().peekable();
        if check_last {
            match got.next() {
                Some((seq, line)) if seq == tail.seq && Some(leaf_hash(&line)) == tail.hash => {}
                _ => return Err(diverged(order.as_str(), &self.root, tail.seq)),
            }
        }
        let (mut seq, mut prev) = (tail.seq, tail.hash);
        let mut bytes = Vec::new();
        for (s, line) in got {
            let entry: Option<Entry> = serde_json::from_slice(&line).ok();
            let fits = s == seq + 1
                && !line.contains(&b'\n')
                && entry
                    .as_ref()
                    .is_some_and(|e| e.seq == s && e.prev == prev && e.order == *order);
            if !fits {
                return Err(Error::DamagedLog {
                    order: order.to_string(),
                    line: s,
                    why: format!(
                        "the object store's entry object {s} does not continue entry {seq}; run `evault --vault URL verify`"
                    ),
                });
            }
            prev = Some(leaf_hash(&line));
            seq = s;
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
        if let Some(hash) = prev.filter(|_| !bytes.is_empty()) {
            let path = dir.manifest();
            append_to(&path, &bytes)?
                .sync_data()
                .ctx("syncing", &path)?;
            dir.write_head(&Head { seq, hash })?;
        }
        if let Ok(mut c) = remote.confirmed.lock() {
            c.insert(key, seq);
        }
        Ok(seq - tail.seq)
    }

    /// The object-store half of `append_under_lock`: see the module's text.
    pub(crate) fn append_remote(
        &self,
        remote: &Remote,
        dir: &OrderDir,
        order: &OrderId,
        items: Vec<PlacedItem>,
        actor: &Actor,
    ) -> Result<(fs::File, Option<Head>, Vec<AddOutcome>)> {
        // By now every item is an entry body (evidence was placed).
        let mut pending: Vec<(usize, Option<bool>, Body)> = items
            .into_iter()
            .enumerate()
            .map(|(i, (existed, item))| match item {
                Item::Body(body) => Ok((i, existed, body)),
                Item::Evidence(p) => Err(Error::ObjectStore {
                    what: format!("appending {:?} to order {order:?}", p.name),
                    why: "its blob was not placed before the append (a bug in evault)".into(),
                }),
            })
            .collect::<Result<_>>()?;
        let mut done: Vec<Option<AddOutcome>> = (0..pending.len()).map(|_| None).collect();
        for lost_races in 0..MAX_TRIES {
            self.pull_order(remote, dir, order)?;
            let first = dir.tail(order)?.seq + 1;
            let round = pending
                .iter()
                .map(|(_, existed, body)| (*existed, Item::Body(body.clone())))
                .collect();
            let (bytes, _, outcomes) = self.plan_lines(dir, order, round, actor)?;
            let mut landed = 0;
            for (i, line) in lines(&bytes).enumerate() {
                match remote.log.put_entry(order, first + i as u64, line)? {
                    Put::Landed => landed += 1,
                    Put::Taken(_) => break,
                }
            }
            // Items before the first line that did not land are done; the
            // rest are judged again on the new tail.
            let mut written = 0;
            let mut again = Vec::new();
            for (item, outcome) in pending.into_iter().zip(outcomes) {
                let adds = matches!(outcome, AddOutcome::Added(_));
                if !again.is_empty() || (adds && written == landed) {
                    again.push(item);
                    continue;
                }
                written += usize::from(adds);
                if let Some(slot) = done.get_mut(item.0) {
                    *slot = Some(outcome);
                }
            }
            pending = again;
            if pending.is_empty() {
                // Every entry is in the store (acknowledged): a failure to
                // take them back only leaves the working copy behind, and
                // the next read takes them.
                let _ = self.pull_order(remote, dir, order);
                let file = append_to(&dir.manifest(), &[])?;
                return Ok((file, None, done.into_iter().flatten().collect()));
            }
            std::thread::sleep(backoff(lost_races));
        }
        Err(Error::ObjectStore {
            what: format!("appending to order {order:?}"),
            why: format!(
                "another writer took the next entry {MAX_TRIES} times in a row; retry later"
            ),
        })
    }

    /// Fetches a blob the working copy lacks from the object store, checked
    /// against its name; `false` on a local vault.
    pub(crate) fn fetch_blob(&self, id: &BlobId) -> Result<bool> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(false);
        };
        let hex = id.to_hex();
        let rest = format!("blobs/sha256/{}/{hex}", &hex[..2]);
        let Some(mut reader) = remote.log.reader(&rest)? else {
            return Ok(false);
        };
        let staged = self.store.stage(&mut reader, Path::new(&rest))?;
        if staged.sha256 != *id {
            return Err(Error::ObjectStore {
                what: format!("reading blob {hex}"),
                why: "the object store's copy does not hold the bytes of its name (altered there); run `evault --vault URL verify`".into(),
            });
        }
        staged
            .file
            .as_file()
            .sync_all()
            .ctx("syncing", staged.file.path())?;
        self.store.persist(staged)?;
        Ok(true)
    }

    /// Writes the store's public keys the working copy lacks.
    fn pull_keys(&self) -> Result<()> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(());
        };
        for name in remote.log.block_on(remote.log.list_rest("keys"))? {
            let path = self.root.join(&name);
            if path.is_file() || !name.ends_with(".pub.pem") || name.matches('/').count() != 1 {
                continue;
            }
            if let Some(bytes) = remote.log.block_on(remote.log.get_rest(&name))? {
                fs::create_dir_all(self.root.join("keys"))
                    .ctx("creating", self.root.join("keys"))?;
                fs::write(&path, bytes).ctx("writing", &path)?;
            }
        }
        Ok(())
    }

    /// Stores a public key the vault registered in the object store.
    pub(crate) fn push_key(&self, name: &str, pem: &[u8]) -> Result<()> {
        if let Some(remote) = self.remote.as_deref() {
            remote
                .log
                .block_on(remote.log.put_exact(&format!("keys/{name}"), pem.to_vec()))?;
        }
        Ok(())
    }

    /// [`pull_accounts`](Self::pull_accounts) under `accounts.lock`.
    fn pull_accounts_locked(&self) -> Result<()> {
        let lock_path = self.root.join(crate::accounts::ACCOUNTS_LOCK);
        let Some(_lock) = crate::manifest::lock_file(&lock_path)? else {
            return Err(Error::ObjectStore {
                what: "taking the store's accounts".into(),
                why: format!(
                    "another evault holds {} for more than {} s; try again",
                    lock_path.display(),
                    crate::manifest::LOCK_WAIT.as_secs()
                ),
            });
        };
        self.pull_accounts()
    }

    /// Brings the working copy's `accounts.jsonl` up to the store's
    /// `accounts/` objects; the caller holds `accounts.lock`. A torn last
    /// line (a pull killed while writing) is cut; the working copy's last
    /// line must be the store's, else it is refused as not a copy of it.
    pub(crate) fn pull_accounts(&self) -> Result<()> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(());
        };
        let path = self.accounts_path();
        let mut held = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).ctx("reading", path),
        };
        let complete = held.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < held.len() {
            cut_to(&path, complete as u64)?;
            held.truncate(complete);
        }
        let have = lines(&held).count();
        let names = remote.log.block_on(remote.log.list_rest("accounts"))?;
        let not_a_copy = || Error::AccountsDamaged {
            path: path.clone(),
            why: format!(
                "line {have} of the working copy's accounts log is not the object store's: it is not a copy of this vault; move the working copy aside (a new one is filled from the store)"
            ),
        };
        if have > 0 {
            let name = format!("accounts/{have:020}.json");
            let last = lines(&held).last().unwrap_or_default();
            if names.get(have - 1) != Some(&name)
                || remote.log.block_on(remote.log.get_rest(&name))?.as_deref() != Some(last)
            {
                return Err(not_a_copy());
            }
        }
        let mut bytes = Vec::new();
        for (i, name) in names.iter().enumerate().skip(have) {
            let n = i + 1;
            if *name != format!("accounts/{n:020}.json") {
                return Err(Error::AccountsDamaged {
                    path: path.clone(),
                    why: format!(
                        "the object store's {name} is not line {n} of the accounts log; run `evault --vault URL verify`"
                    ),
                });
            }
            let line = remote
                .log
                .block_on(remote.log.get_rest(name))?
                .ok_or_else(|| Error::ObjectStore {
                    what: format!("reading {name}"),
                    why: "listed, then not found (deleted behind the vault's back?); run `evault --vault URL verify`".into(),
                })?;
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
        if !bytes.is_empty() {
            append_to(&path, &bytes)?
                .sync_data()
                .ctx("syncing", &path)?;
        }
        Ok(())
    }

    /// Creates accounts line `seq` in the object store; `false` when another
    /// writer took it first.
    pub(crate) fn push_account(&self, seq: u64, line: &[u8]) -> Result<bool> {
        let Some(remote) = self.remote.as_deref() else {
            return Ok(true);
        };
        let name = format!("accounts/{seq:020}.json");
        let log = &remote.log;
        match log.block_on(log.put_exact(&name, line.to_vec())) {
            Ok(_) => Ok(true),
            // Another writer's line, or ours after a failure that hid it.
            Err(e) => match log.block_on(log.get_rest(&name))? {
                Some(held) => Ok(held == line),
                None => Err(e),
            },
        }
    }
}

/// The order of a working copy's log, from its first line.
fn first_order(dir: &OrderDir) -> Result<Option<OrderId>> {
    let path = dir.manifest();
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).ctx("opening", path),
    };
    let mut line = Vec::new();
    std::io::BufReader::new(file)
        .read_until(b'\n', &mut line)
        .ctx("reading", &path)?;
    Ok(serde_json::from_slice::<Entry>(line.trim_ascii_end())
        .ok()
        .map(|e| e.order))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use crate::{Actor, NewEvidence, ObjectLog, OrderId, Vault, VerifyOptions};

    /// 16 threads, each its own working copy, on one in-memory store (whose
    /// create is atomic under a lock): every note and file once, in a chain.
    #[test]
    fn sixteen_working_copies_appending_to_one_order_lose_and_duplicate_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
        let open = |i: usize| {
            let log = ObjectLog::new(store.clone(), "v").unwrap();
            let work = dir.path().join(format!("work-{i}"));
            if i == 0 {
                Vault::init_remote_with(log, "memory://v", &work, None).unwrap()
            } else {
                Vault::open_remote_with(log, "memory://v", &work).unwrap()
            }
        };
        let first = open(0);
        let order: OrderId = "RACE-16".parse().unwrap();
        std::thread::scope(|s| {
            for i in 1..=16 {
                let (vault, order) = (open(i), &order);
                s.spawn(move || {
                    let actor = Actor::new(format!("t{i}"), "mem").unwrap();
                    for j in 0..3 {
                        vault.note(order, &format!("{i}/{j}"), &actor).unwrap();
                    }
                    let file = NewEvidence::from_reader(
                        format!("f{i}.bin"),
                        std::io::Cursor::new(format!("file {i}").into_bytes()),
                    );
                    vault.add(order, vec![file], &actor).unwrap();
                });
            }
        });
        let log = first.log(&order).unwrap();
        assert_eq!(log.entries.len(), 16 * 4);
        for (i, r) in log.entries.iter().enumerate() {
            assert_eq!(r.entry.seq, i as u64 + 1);
        }
        for i in 1..=16 {
            for j in 0..3 {
                let text = format!("{i}/{j}");
                let n = log
                    .entries
                    .iter()
                    .filter(
                        |r| matches!(&r.entry.body, crate::Body::Note { text: t } if *t == text),
                    )
                    .count();
                assert_eq!(n, 1, "{text}");
            }
        }
        assert!(first.verify(&VerifyOptions::default()).unwrap().ok());
        let report =
            crate::verify_objects(first.object_log().unwrap(), &VerifyOptions::default()).unwrap();
        assert!(report.ok(), "{:?}", report.findings);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }
}
