//! `evault copy`: a whole vault from a directory to object storage (to
//! migrate) or back (for an offline archive), checking as it goes, in the
//! object layout of `docs/format.md` section 2.2. Every write is
//! create-only or a new file, so running the copy again resumes it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt};

use crate::durable::barrier;
use crate::entry::Entry;
use crate::error::{Error, IoContext, Result};
use crate::id::BlobId;
use crate::manifest::{Head, OrderDir, lines};
use crate::merkle::leaf_hash;
use crate::object_log::ObjectLog;
use crate::store::Store;
use crate::vault::Vault;

/// Transfers at once.
const PARALLEL: usize = 8;

/// What a copy did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Blobs written.
    pub blobs_copied: u64,
    /// Blobs the destination held already.
    pub blobs_present: u64,
    /// Bytes of the blobs written.
    pub bytes_copied: u64,
    /// Orders copied (every order of the source).
    pub orders: u64,
    /// Log entries written.
    pub entries_copied: u64,
    /// Log entries the destination held already.
    pub entries_present: u64,
}

/// Told about a copy's progress (from worker threads).
pub trait CopyProgress: Sync {
    /// A blob was copied or found present: its size.
    fn blob(&self, _bytes: u64) {}
    /// An order's log was copied.
    fn order(&self) {}
}

impl CopyProgress for () {}

/// The entry lines of a manifest, checked: contiguous from 1, each `prev`
/// the hash of the line before, each naming `order_key`'s order.
fn checked_lines<'a>(bytes: &'a [u8], label: &str) -> Result<Vec<&'a [u8]>> {
    let mut prev = None;
    let mut out = Vec::new();
    for (i, line) in lines(bytes).enumerate() {
        let damaged = |why: String| Error::DamagedLog {
            order: label.to_owned(),
            line: i as u64 + 1,
            why: format!("{why}; run `evault verify` and fix the source before copying"),
        };
        let entry: Entry = serde_json::from_slice(line).map_err(|e| damaged(e.to_string()))?;
        if entry.seq != i as u64 + 1 || entry.prev != prev {
            return Err(damaged(format!(
                "entry {} does not follow entry {i} (a broken chain)",
                entry.seq
            )));
        }
        prev = Some(leaf_hash(line));
        out.push(line);
    }
    Ok(out)
}

/// Copies the vault at `src` into the object store `dst`: the vault's
/// config, keys, accounts, every blob (checked against its name), then
/// every order's log (its chain checked) as one object per entry.
pub fn copy_to_objects(
    src: &Vault,
    dst: &ObjectLog,
    progress: &dyn CopyProgress,
) -> Result<CopyReport> {
    let root = src.root();
    let mut report = CopyReport::default();
    let config = root.join("evault.json");
    let bytes = fs::read(&config).ctx("reading", &config)?;
    dst.block_on(dst.put_exact("evault.json", bytes))?;
    let keys = root.join("keys");
    if keys.is_dir() {
        for item in fs::read_dir(&keys).ctx("reading", &keys)? {
            let path = item.ctx("reading", &keys)?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(name) = name.filter(|n| n.ends_with(".pub.pem")) {
                let bytes = fs::read(&path).ctx("reading", &path)?;
                dst.block_on(dst.put_exact(&format!("keys/{name}"), bytes))?;
            }
        }
    }
    let accounts = src.accounts_path();
    if accounts.is_file() {
        let bytes = fs::read(&accounts).ctx("reading", &accounts)?;
        for (i, line) in lines(&bytes).enumerate() {
            dst.block_on(dst.put_exact(&format!("accounts/{:020}.json", i + 1), line.to_vec()))?;
        }
    }

    // The logs are read before the blobs are listed: a blob is durable
    // before any line that names it, so every blob these logs name is
    // listed, even if evidence is added during the copy.
    let orders = src.order_dirs()?;
    let logs: Vec<(String, Vec<u8>)> = orders
        .iter()
        .map(|(key, dir)| {
            let (_, mut bytes, complete) = dir.snapshot()?;
            bytes.truncate(complete);
            Ok((key.clone(), bytes))
        })
        .collect::<Result<_>>()?;
    // Blobs first: an entry is never there without its blob.
    let blobs: Vec<(BlobId, PathBuf)> = src
        .store()
        .list()?
        .into_iter()
        .filter_map(|(id, path)| id.map(|id| (id, path)))
        .collect();
    let done: Vec<(bool, u64)> = dst.block_on(
        futures_util::stream::iter(blobs.iter().map(|(id, path)| async move {
            let (new, size) = dst.put_blob_file(id, path, true).await?;
            progress.blob(size);
            Ok::<_, Error>((new, size))
        }))
        .buffer_unordered(PARALLEL)
        .try_collect(),
    )?;
    for (new, size) in done {
        if new {
            report.blobs_copied += 1;
            report.bytes_copied += size;
        } else {
            report.blobs_present += 1;
        }
    }

    let counts: Vec<(u64, u64)> = dst.block_on(
        futures_util::stream::iter(logs.iter().map(|(key, bytes)| async move {
            let lines = checked_lines(bytes, key)?;
            let (mut new, mut old) = (0, 0);
            // In seq order, so that a reader never lists a gap.
            for (i, line) in lines.into_iter().enumerate() {
                if dst
                    .put_exact(
                        &format!("orders/{key}/log/{:020}.json", i + 1),
                        line.to_vec(),
                    )
                    .await?
                {
                    new += 1;
                } else {
                    old += 1;
                }
            }
            progress.order();
            Ok::<_, Error>((new, old))
        }))
        .buffer_unordered(PARALLEL)
        .try_collect(),
    )?;
    report.orders = counts.len() as u64;
    for (new, old) in counts {
        report.entries_copied += new;
        report.entries_present += old;
    }
    Ok(report)
}

fn blob_rest(id: &BlobId) -> String {
    let hex = id.to_hex();
    format!("blobs/sha256/{}/{hex}", &hex[..2])
}

/// Writes `bytes` to `path` through a temporary file beside it (created
/// with the default mode, as the vault's own files are), fsynced, renamed
/// over it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.copy-{}", std::process::id()));
    let mut f = fs::File::create(&tmp).ctx("creating", &tmp)?;
    f.write_all(bytes).ctx("writing", &tmp)?;
    f.sync_all().ctx("syncing", &tmp)?;
    fs::rename(&tmp, path).ctx("renaming into", path)?;
    Ok(())
}

/// Refuses to change a file an earlier copy (or the vault's own use)
/// wrote: it must hold `bytes`, or a beginning of them when `grows`.
fn check_held(path: &Path, bytes: &[u8], grows: bool) -> Result<()> {
    match fs::read(path) {
        Ok(held) if held == bytes || (grows && bytes.starts_with(&held)) => Ok(()),
        Ok(_) => Err(Error::ObjectStore {
            what: format!("copying into {}", path.display()),
            why: "the directory's file is not the object store's (nor a beginning of it): the two copies have diverged; copy into a new directory".into(),
        }),
        Err(_) => Ok(()),
    }
}

/// Copies the vault in the object store `src` into the directory `dst` (new,
/// empty, or an earlier copy of the same vault, which is completed): every
/// blob (checked against its name) through the vault's own store, then
/// every order's log (its chain checked) with its `HEAD`.
pub fn copy_from_objects(
    src: &ObjectLog,
    dst: &Path,
    progress: &dyn CopyProgress,
) -> Result<CopyReport> {
    let mut report = CopyReport::default();
    let config = src
        .block_on(src.get_rest("evault.json"))?
        .ok_or_else(|| Error::ObjectStore {
            what: format!("copying from {src:?}"),
            why: "there is no evault.json: no vault under this prefix".into(),
        })?;
    crate::vault::vault_id_of(&config, Path::new("evault.json"))?;
    let cfg_path = dst.join("evault.json");
    match fs::read(&cfg_path) {
        Ok(held) if held == config => {}
        Ok(_) => {
            return Err(Error::InitRefused {
                path: dst.to_owned(),
                why: "it holds another vault".into(),
            });
        }
        Err(_) if crate::vault::holds_anything(dst)? => {
            return Err(Error::InitRefused {
                path: dst.to_owned(),
                why: "the directory is not empty; pick a new or empty directory".into(),
            });
        }
        Err(_) => {
            // First, so that running the copy again recognises its own work.
            // Until the copy ends, the directory is a vault with fewer orders
            // (the blobs come before the logs that name them).
            fs::create_dir_all(dst).ctx("creating", dst)?;
            write_file(&cfg_path, &config)?;
        }
    }
    crate::vault::create_layout(dst)?;
    // The logs are listed before the blobs (see copy_to_objects).
    let entries = src.block_on(src.list_rest("orders"))?;
    let store = Store::new(dst);
    let names = src.block_on(src.list_rest("blobs/sha256"))?;
    let wanted: Vec<(BlobId, &String)> = names
        .iter()
        .filter_map(|n| {
            let id: BlobId = n.rsplit('/').next()?.parse().ok()?;
            (blob_rest(&id) == *n).then_some((id, n))
        })
        .filter(|(id, _)| !store.path(id).is_file())
        .collect();
    report.blobs_present = names.len() as u64 - wanted.len() as u64;
    // Streamed to the vault's staging files (never whole in memory), 8 at a
    // time, checked against their names, placed in batches after one flush
    // each.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(PARALLEL)
        .build()
        .map_err(|e| Error::ObjectStore {
            what: "starting the copy's threads".into(),
            why: e.to_string(),
        })?;
    for batch in wanted.chunks(64) {
        use rayon::prelude::*;
        let staged: Vec<crate::store::Staged> = pool.install(|| {
            batch
                .par_iter()
                .map(|(id, name)| {
                    let mut reader = src
                        .reader(name)?
                        .ok_or_else(|| Error::BlobMissing(id.to_hex()))?;
                    let s = store.stage(&mut reader, Path::new(name.as_str()))?;
                    if s.sha256 != *id {
                        return Err(Error::ObjectStore {
                            what: format!("copying blob {}", id.to_hex()),
                            why: "the object store's copy does not hold the bytes of its name (altered there); nothing of it was kept".into(),
                        });
                    }
                    progress.blob(s.size);
                    Ok(s)
                })
                .collect::<Result<_>>()
        })?;
        report.bytes_copied += staged.iter().map(|s| s.size).sum::<u64>();
        let files: Vec<(&fs::File, &Path)> = staged
            .iter()
            .map(|s| (s.file.as_file(), s.file.path()))
            .collect();
        barrier(dst, &files, &[])?;
        drop(files);
        let mut dirs = Vec::new();
        for s in staged {
            let (dir, _) = store.persist(s)?;
            dirs.push(dir);
            report.blobs_copied += 1;
        }
        dirs.sort();
        dirs.dedup();
        barrier(dst, &[], &dirs)?;
    }

    let keys = src.block_on(src.list_rest("keys"))?;
    if !keys.is_empty() {
        fs::create_dir_all(dst.join("keys")).ctx("creating", dst.join("keys"))?;
    }
    for name in keys {
        let bytes = src.block_on(src.get_rest(&name))?.unwrap_or_default();
        check_held(&dst.join(&name), &bytes, false)?;
        write_file(&dst.join(&name), &bytes)?;
    }
    let accounts = src.block_on(src.list_rest("accounts"))?;
    if !accounts.is_empty() {
        let mut bytes = Vec::new();
        for name in accounts {
            bytes.extend(src.block_on(src.get_rest(&name))?.unwrap_or_default());
            bytes.push(b'\n');
        }
        let _lock = crate::manifest::lock_file(&dst.join("accounts.lock"))?;
        check_held(&dst.join("accounts.jsonl"), &bytes, true)?;
        write_file(&dst.join("accounts.jsonl"), &bytes)?;
    }

    let mut keys: Vec<&str> = entries
        .iter()
        .filter_map(|n| {
            n.strip_prefix("orders/")?
                .split_once("/log/")
                .map(|(k, _)| k)
        })
        .collect();
    keys.dedup();
    let mut written_dirs = Vec::new();
    for key in keys {
        let names: Vec<&String> = entries
            .iter()
            .filter(|n| n.starts_with(&format!("orders/{key}/log/")))
            .collect();
        let objects: Vec<Vec<u8>> = src.block_on(
            futures_util::stream::iter(names.iter().map(|n| async move {
                src.get_rest(n).await?.ok_or_else(|| Error::ObjectStore {
                    what: format!("reading {n}"),
                    why: "listed, then not found".into(),
                })
            }))
            .buffered(PARALLEL)
            .try_collect(),
        )?;
        let mut manifest = Vec::new();
        for (i, (name, line)) in names.iter().zip(&objects).enumerate() {
            let seq = name
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".json"))
                .and_then(crate::object_log::seq_of_name);
            if seq != Some(i as u64 + 1) || line.contains(&b'\n') {
                return Err(Error::DamagedLog {
                    order: key.to_owned(),
                    line: i as u64 + 1,
                    why: format!(
                        "{name} is not entry {} of the log (run `evault --vault URL verify`)",
                        i + 1
                    ),
                });
            }
            manifest.extend_from_slice(line);
            manifest.push(b'\n');
        }
        let checked = checked_lines(&manifest, key)?;
        let (Some(last), n) = (checked.last(), checked.len() as u64) else {
            continue;
        };
        let head = Head {
            seq: n,
            hash: leaf_hash(last),
        };
        let dir = OrderDir::from_dir(dst.join("orders").join(key));
        fs::create_dir_all(&dir.dir).ctx("creating", &dir.dir)?;
        let first: Entry = serde_json::from_slice(checked[0]).map_err(|e| Error::DamagedLog {
            order: key.to_owned(),
            line: 1,
            why: e.to_string(),
        })?;
        // Under the order's lock, as an append: nothing local is lost.
        let _lock = dir.lock(&first.order)?;
        check_held(&dir.manifest(), &manifest, true)?;
        let held = fs::read(dir.manifest()).unwrap_or_default();
        report.entries_present += lines(&held).count() as u64;
        report.entries_copied += n - lines(&held).count() as u64;
        write_file(&dir.manifest(), &manifest)?;
        dir.write_head(&head)?;
        written_dirs.push(dir.dir.clone());
        report.orders += 1;
        progress.order();
    }
    barrier(
        dst,
        &[],
        &[dst.to_owned(), dst.join("orders"), dst.join("blobs")],
    )?;
    Ok(report)
}
