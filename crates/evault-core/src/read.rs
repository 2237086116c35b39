//! Reading the vault back: order logs, order summaries, blobs (hash-checked).

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::Read;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dispute::Dispute;
use crate::entry::{Body, Entry, Evidence, Recorded, Timestamp};
use crate::error::{Error, IoContext, Result};
use crate::id::{BlobId, OrderId};
use crate::manifest::{OrderDir, lines};
use crate::merkle::leaf_hash;
use crate::vault::Vault;

/// An order as listed by [`Vault::orders`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderSummary {
    /// The order id.
    pub order: OrderId,
    /// Its folder name under `orders/`.
    pub key: String,
    /// Number of entries.
    pub entries: u64,
    /// Number of evidence entries not retracted.
    pub evidence: u64,
    /// Sum of the sizes of those evidence files.
    pub bytes: u64,
    /// When the last entry was recorded.
    pub last_recorded_at: Option<Timestamp>,
}

/// An order's entries as read back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderLog {
    /// The entries, in sequence order.
    pub entries: Vec<Recorded>,
    /// Bytes after the last newline (a torn write), 0 when the log is clean.
    pub torn_bytes: u64,
}

impl OrderLog {
    /// The entry with this sequence number.
    pub fn get(&self, seq: u64) -> Option<&Recorded> {
        self.entries.iter().find(|r| r.entry.seq == seq)
    }

    /// Sequence numbers voided by retractions.
    pub fn retracted(&self) -> HashSet<u64> {
        self.entries
            .iter()
            .filter_map(|r| match r.entry.body {
                Body::Retract { target, .. } => Some(target),
                _ => None,
            })
            .collect()
    }

    /// The latest dispute record that is not retracted.
    pub fn latest_dispute(&self) -> Option<&Dispute> {
        let retracted = self.retracted();
        self.entries
            .iter()
            .rev()
            .filter(|r| !retracted.contains(&r.entry.seq))
            .find_map(|r| match &r.entry.body {
                Body::Dispute(d) => Some(d),
                _ => None,
            })
    }
}

impl Vault {
    /// Reads an order's entries.
    pub fn log(&self, order: &OrderId) -> Result<OrderLog> {
        self.pull_one(order)?;
        let dir = self.order_dir(order);
        if !dir.manifest().is_file() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        read_log(&dir, order.as_str())
    }

    /// The order's log exactly as stored: its complete lines (a torn last
    /// line is left out), read under the order's shared lock.
    pub fn log_bytes(&self, order: &OrderId) -> Result<Vec<u8>> {
        self.pull_one(order)?;
        let dir = self.order_dir(order);
        if !dir.manifest().is_file() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        let (_, mut bytes, complete) = dir.snapshot()?;
        bytes.truncate(complete);
        Ok(bytes)
    }

    /// Lists every order with its counts.
    pub fn orders(&self) -> Result<Vec<OrderSummary>> {
        self.pull()?;
        let mut out = Vec::new();
        for (key, dir) in self.order_dirs()? {
            let log = read_log(&dir, &key)?;
            let Some(first) = log.entries.first() else {
                continue;
            };
            let retracted = log.retracted();
            let live: Vec<&Evidence> = log
                .entries
                .iter()
                .filter(|r| !retracted.contains(&r.entry.seq))
                .filter_map(|r| r.entry.evidence())
                .collect();
            out.push(OrderSummary {
                order: first.entry.order.clone(),
                key,
                entries: log.entries.len() as u64,
                evidence: live.len() as u64,
                bytes: live.iter().map(|e| e.size).sum(),
                last_recorded_at: log.entries.last().map(|r| r.entry.recorded_at),
            });
        }
        out.sort_by(|a, b| a.order.cmp(&b.order));
        Ok(out)
    }

    /// The folders under `orders/`, by name.
    pub(crate) fn order_dirs(&self) -> Result<BTreeMap<String, OrderDir>> {
        let orders = self.orders_dir();
        let mut out = BTreeMap::new();
        for item in fs::read_dir(&orders).ctx("reading", &orders)? {
            let item = item.ctx("reading", &orders)?;
            // `is_dir` follows a symlinked order folder, as reads do, so
            // verify checks every order that can be read.
            if item.path().is_dir() {
                out.insert(
                    item.file_name().to_string_lossy().into_owned(),
                    OrderDir::from_dir(item.path()),
                );
            }
        }
        Ok(out)
    }

    /// Opens a blob for reading; the reader fails at the end if the bytes do not match `id`.
    pub fn open_blob(&self, id: &BlobId) -> Result<VerifiedReader> {
        let file = match self.store.open(id) {
            Err(Error::BlobMissing(_)) if self.fetch_blob(id)? => self.store.open(id)?,
            other => other?,
        };
        Ok(VerifiedReader {
            file,
            expected: *id,
            hasher: Sha256::new(),
            checked: false,
        })
    }
}

/// Parses a manifest. `label` names the order in errors.
pub(crate) fn read_log(dir: &OrderDir, label: &str) -> Result<OrderLog> {
    let (bytes, _) = dir.read()?;
    OrderLog::parse(&bytes, label)
}

impl OrderLog {
    /// Parses an order's log from its bytes (`manifest.jsonl`, one entry
    /// per line, as in a vault or a bundle's `evault/manifest.jsonl`): a
    /// last line without its newline is a torn write, counted in
    /// [`OrderLog::torn_bytes`]. `label` names the order in errors. Only
    /// parses: the chain and checkpoints are checked by `verify`.
    pub fn parse(bytes: &[u8], label: &str) -> Result<OrderLog> {
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut entries = Vec::new();
        for (i, line) in lines(&bytes[..complete]).enumerate() {
            let entry: Entry = serde_json::from_slice(line).map_err(|e| Error::DamagedLog {
                order: label.to_owned(),
                line: i as u64 + 1,
                why: e.to_string(),
            })?;
            entries.push(Recorded {
                hash: leaf_hash(line),
                entry,
            });
        }
        Ok(OrderLog {
            entries,
            torn_bytes: (bytes.len() - complete) as u64,
        })
    }
}

/// A blob reader that checks SHA-256 when it reaches the end: the last read
/// fails with [`std::io::ErrorKind::InvalidData`] if the bytes do not match.
pub struct VerifiedReader {
    file: File,
    expected: BlobId,
    hasher: Sha256,
    checked: bool,
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.hasher.update(&buf[..n]);
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            let found = BlobId::from_bytes(self.hasher.clone().finalize().into());
            if found != self.expected {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    Error::BlobMismatch {
                        expected: self.expected.to_hex(),
                        found: found.to_hex(),
                    },
                ));
            }
        }
        Ok(n)
    }
}
