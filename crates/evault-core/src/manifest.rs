//! An order's folder: its manifest (`manifest.jsonl`), lock file and `HEAD`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, Timestamp};
use crate::error::{Error, IoContext, Result};
use crate::id::{EntryHash, OrderId};
use crate::merkle::leaf_hash;

/// How long an append waits for another process holding the order's lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The files of one order.
#[derive(Clone, Debug)]
pub(crate) struct OrderDir {
    pub dir: PathBuf,
}

/// What the last complete line of a manifest says.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tail {
    pub seq: u64,
    pub hash: Option<EntryHash>,
    pub recorded_at: Option<Timestamp>,
}

/// The `HEAD` file: the last acknowledged entry, written after each append.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub seq: u64,
    pub hash: EntryHash,
}

/// `HEAD` as read: the head, or why it cannot be parsed.
pub(crate) type HeadRead = std::result::Result<Head, String>;

/// A held per-order lock (released on drop, or by the OS when the process dies).
pub(crate) struct OrderLock {
    _file: File,
}

impl OrderDir {
    pub fn new(orders_dir: &Path, order: &OrderId) -> Self {
        Self {
            dir: orders_dir.join(order.storage_key()),
        }
    }

    pub fn from_dir(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.jsonl")
    }

    pub fn head_path(&self) -> PathBuf {
        self.dir.join("HEAD")
    }

    /// Takes the order's lock, waiting up to a minute for another process.
    pub fn lock(&self, order: &OrderId) -> Result<OrderLock> {
        let path = self.dir.join("lock");
        match lock_file(&path)? {
            Some(file) => Ok(OrderLock { _file: file }),
            None => Err(Error::LockTimeout {
                order: order.to_string(),
                path,
                secs: LOCK_WAIT.as_secs(),
            }),
        }
    }

    /// Reads the last complete line without reading the whole manifest.
    /// Fails with [`Error::TornTail`] when the file does not end with a newline.
    pub fn tail(&self, order: &OrderId) -> Result<Tail> {
        let path = self.manifest();
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tail::default()),
            Err(e) => return Err(e).ctx("opening", path),
        };
        let len = file.metadata().ctx("reading", &path)?.len();
        if len == 0 {
            return Ok(Tail::default());
        }
        let mut window = 64 * 1024u64;
        loop {
            let start = len.saturating_sub(window);
            file.seek(SeekFrom::Start(start)).ctx("seeking", &path)?;
            let mut buf = Vec::with_capacity((len - start) as usize);
            file.by_ref()
                .take(len - start)
                .read_to_end(&mut buf)
                .ctx("reading", &path)?;
            if buf.last() != Some(&b'\n') {
                return Err(Error::TornTail(order.to_string()));
            }
            let body = &buf[..buf.len() - 1];
            let line = match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => &body[i + 1..],
                None if start == 0 => body,
                None => {
                    window *= 4;
                    continue;
                }
            };
            let entry: Entry = serde_json::from_slice(line).map_err(|e| Error::DamagedLog {
                order: order.to_string(),
                line: 0,
                why: format!("the last line cannot be read ({e})"),
            })?;
            if &entry.order != order {
                return Err(Error::KeyCollision {
                    asked: order.to_string(),
                    stored: entry.order.to_string(),
                });
            }
            return Ok(Tail {
                seq: entry.seq,
                hash: Some(leaf_hash(line)),
                recorded_at: Some(entry.recorded_at),
            });
        }
    }

    /// Reads the whole manifest: its complete lines and the torn bytes after the last newline.
    pub fn read(&self) -> Result<(Vec<u8>, usize)> {
        let path = self.manifest();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).ctx("reading", path),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Ok((bytes, complete))
    }

    /// Reads `HEAD` and then the manifest under a shared lock, so that a
    /// concurrent append is seen either whole or not at all. Without a lock
    /// file (a read-only copy) it reads `HEAD` first, which never runs ahead
    /// of the durable lines.
    pub fn snapshot(&self) -> Result<(Option<HeadRead>, Vec<u8>, usize)> {
        let lock = File::open(self.dir.join("lock")).ok();
        if let Some(lock) = &lock {
            let path = self.dir.join("lock");
            lock.lock_shared().ctx("locking (shared)", path)?;
        }
        let head = self.read_head();
        let (bytes, complete) = self.read()?;
        drop(lock);
        Ok((head, bytes, complete))
    }

    pub fn read_head(&self) -> Option<HeadRead> {
        let bytes = fs::read(self.head_path()).ok()?;
        Some(serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    }

    /// Replaces `HEAD` atomically. Not fsynced: a stale `HEAD` after a crash
    /// only lags behind the log, which verification accepts.
    pub fn write_head(&self, head: &Head) -> Result<()> {
        let tmp = self.dir.join("HEAD.tmp");
        let mut bytes = serde_json::to_vec(head)?;
        bytes.push(b'\n');
        fs::write(&tmp, bytes).ctx("writing", &tmp)?;
        fs::rename(&tmp, self.head_path()).ctx("replacing", self.head_path())
    }
}

/// Takes an exclusive lock on `path` (created if missing), waiting up to
/// [`LOCK_WAIT`] for another process; `None` when that wait ran out.
pub(crate) fn lock_file(path: &Path) -> Result<Option<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx("opening lock file", path)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(e).ctx("locking", path),
        }
    }
}

/// Splits manifest bytes into lines (without their newline), 1-based order.
pub(crate) fn lines(complete: &[u8]) -> impl Iterator<Item = &[u8]> {
    complete
        .strip_suffix(b"\n")
        .into_iter()
        .flat_map(|body| body.split(|&b| b == b'\n'))
}

/// A random wait that grows with each lost race: up to 5 ms × 2^k, at most
/// one second.
pub(crate) fn backoff(lost: u32) -> Duration {
    let cap = 5u64.saturating_mul(1 << lost.min(8)).min(1000);
    let mut random = [0u8; 8];
    let r = getrandom::fill(&mut random).map_or(cap / 2, |()| u64::from_le_bytes(random) % cap);
    Duration::from_millis(r.max(1))
}
