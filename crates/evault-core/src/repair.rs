//! Repairing a torn last line, and only that.

use std::fs::OpenOptions;
use std::io::Write;

use crate::actor::Actor;
use crate::append::{AddOutcome, Item, NewEvidence};
use crate::durable::barrier;
use crate::entry::{Body, Entry, Recorded};
use crate::error::{Error, IoContext, Result};
use crate::id::OrderId;
use crate::manifest::{Head, lines};
use crate::merkle::leaf_hash;
use crate::vault::Vault;

/// What [`Vault::repair`] did.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "made at most once per repair")]
pub enum RepairOutcome {
    /// The log ends cleanly; nothing was changed.
    NothingToRepair,
    /// The last line was a complete, correctly linked entry that had lost
    /// only its newline (no hashed byte changes): the newline was restored.
    NewlineRestored {
        /// The entry that is now complete.
        seq: u64,
    },
    /// The torn last line was cut, kept as a blob and the cut recorded.
    Cut {
        /// Bytes cut.
        bytes: u64,
        /// The repair entry.
        entry: Recorded,
    },
}

impl Vault {
    /// Cuts a torn last line (and only that), keeping the cut bytes as a blob and recording the cut.
    pub fn repair(&self, order: &OrderId, actor: &Actor) -> Result<RepairOutcome> {
        if let Some(url) = self.object_store_url() {
            // The store holds whole entry objects only; a working copy's
            // torn line is cut whenever the order is read.
            return Err(Error::ObjectStore {
                what: format!("repairing order {order:?} in {url}"),
                why: "a vault on object storage has no torn lines to repair (its working copy cuts its own when it reads the store); run `evault --vault URL verify` to check it".into(),
            });
        }
        let dir = self.order_dir(order);
        if !dir.manifest().is_file() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        let lock = dir.lock(order)?;
        let (bytes, complete) = dir.read()?;
        if complete == bytes.len() {
            return Ok(RepairOutcome::NothingToRepair);
        }
        let torn = bytes[complete..].to_vec();
        if let Some(seq) = next_entry(order, &bytes[..complete], &torn) {
            let path = dir.manifest();
            let mut file = OpenOptions::new()
                .append(true)
                .open(&path)
                .ctx("opening", &path)?;
            file.write_all(b"\n").ctx("appending to", &path)?;
            file.sync_all().ctx("syncing", &path)?;
            let _ = dir.write_head(&Head {
                seq,
                hash: leaf_hash(&torn),
            });
            drop(lock);
            return Ok(RepairOutcome::NewlineRestored { seq });
        }
        let cut = torn.len() as u64;
        let pending = self.stage(NewEvidence::from_reader(
            "torn-line",
            std::io::Cursor::new(torn),
        ))?;
        let (cut_sha256, cut_blake3) = (pending.staged.sha256, pending.staged.blake3);
        let (blob_dir, _) = {
            barrier(
                &self.root,
                &[(pending.staged.file.as_file(), pending.staged.file.path())],
                &[],
            )?;
            self.store.persist(pending.staged)?
        };
        barrier(&self.root, &[], &[blob_dir])?;
        let path = dir.manifest();
        crate::durable::cut_to(&path, complete as u64)?;
        // Still under the lock: nobody appends between the cut and its record.
        let item = Item::Body(Body::Repair {
            cut_bytes: cut,
            cut_sha256,
            cut_blake3,
        });
        let (file, head, mut outcomes) =
            self.append_under_lock(&dir, order, vec![(None, item)], actor)?;
        file.sync_all().ctx("syncing", &path)?;
        if let Some(head) = &head {
            let _ = dir.write_head(head);
        }
        drop(lock);
        let Some(AddOutcome::Added(entry)) = outcomes.pop() else {
            return Err(Error::UnknownOrder(order.to_string()));
        };
        Ok(RepairOutcome::Cut { bytes: cut, entry })
    }
}

/// The sequence number of `line` when it is a complete entry of `order` that
/// links to the last of the `complete` lines (a line that lost only its newline).
fn next_entry(order: &OrderId, complete: &[u8], line: &[u8]) -> Option<u64> {
    let entry: Entry = serde_json::from_slice(line).ok()?;
    let last = lines(complete).last();
    let (want_seq, want_prev) = match last {
        Some(l) => (
            serde_json::from_slice::<Entry>(l)
                .ok()?
                .seq
                .checked_add(1)?,
            Some(leaf_hash(l)),
        ),
        None => (1, None),
    };
    (entry.order == *order && entry.seq == want_seq && entry.prev == want_prev).then_some(entry.seq)
}
