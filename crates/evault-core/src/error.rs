//! Error type of the core crate.
//!
//! Policy: one variant per thing a caller can act on. Every variant names the
//! path, order or sequence number involved and its message says what to do.
//! Verification *findings* are not errors: they are data in
//! [`crate::verify::Report`].

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed on a path.
    #[error("{action} {path}: {source}{hint}", hint = io_hint(source))]
    Io {
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not a vault.
    #[error(
        "{path} is not an evault vault (no evault.json); create one with `evault init --vault {path}`"
    )]
    NotAVault {
        /// The directory.
        path: PathBuf,
    },
    /// `init` was pointed at something that is not an empty directory.
    #[error("cannot create a vault in {path}: {why}")]
    InitRefused {
        /// The directory.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The vault's format is not one this build reads.
    #[error("{path} has format {found:?}; this evault reads evault/1 only (upgrade evault)")]
    UnsupportedFormat {
        /// The config file.
        path: PathBuf,
        /// The format string found.
        found: String,
    },
    /// An order id was refused.
    #[error("invalid order id {id:?}: {why}")]
    InvalidOrderId {
        /// The id as given (may be truncated for display).
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A free-text field (operator, station, note, reason) was refused.
    #[error("invalid {field}: {why}")]
    InvalidText {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A device's SHA-256 of a file differs from the bytes received: the
    /// file changed in transit (nothing was recorded).
    #[error(
        "{name:?}: the device computed SHA-256 {claimed} but the bytes received hash to {received}; the file changed in transit and was not recorded: send it again"
    )]
    DeviceHashMismatch {
        /// The file's name.
        name: String,
        /// What the device said.
        claimed: crate::id::BlobId,
        /// What the vault computed.
        received: crate::id::BlobId,
    },
    /// An account (a user or an API token) cannot be added, changed or removed.
    #[error("account {name:?}: {why}")]
    Account {
        /// The account's name.
        name: String,
        /// What is wrong, and what to do.
        why: String,
    },
    /// The accounts log cannot be replayed (edited or damaged).
    #[error(
        "{path} cannot be read: {why}; run `evault verify` to see every finding, and restore the file from a backup"
    )]
    AccountsDamaged {
        /// The accounts log.
        path: PathBuf,
        /// The first thing wrong.
        why: String,
    },
    /// A time-stamp request or reply cannot be made, read or accepted.
    #[error("time-stamp for order {order:?}: {why}")]
    Stamp {
        /// The order.
        order: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// A signing key cannot be made, read or used.
    #[error("key {name}: {why}")]
    Key {
        /// The key's name or file.
        name: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// An unknown evidence kind name.
    #[error(
        "unknown evidence kind {0:?}; use one of: packing-photo, label-photo, packing-video, logistics-snapshot, tracking-events, chat-log, email, invoice, listing-snapshot, other"
    )]
    UnknownKind(String),
    /// An unknown dispute reason.
    #[error(
        "unknown dispute reason {0:?}; use one of: not-received, not-as-described, damaged, unauthorized, other"
    )]
    UnknownReason(String),
    /// The order has no entries.
    #[error("order {0:?} has no entries in this vault (see `evault orders`)")]
    UnknownOrder(String),
    /// A sequence number does not exist in the order.
    #[error("order {order:?} has no entry {seq} (it has {len} entries; see `evault log`)")]
    UnknownSeq {
        /// The order.
        order: String,
        /// The sequence number asked for.
        seq: u64,
        /// How many entries the order has.
        len: u64,
    },
    /// The entry cannot be used for what was asked.
    #[error("order {order:?} entry {seq}: {why}")]
    WrongEntry {
        /// The order.
        order: String,
        /// The entry.
        seq: u64,
        /// Why it cannot be used.
        why: &'static str,
    },
    /// The order's log ends with a torn line: appends are refused until repaired.
    #[error(
        "the log of order {0:?} ends with a torn line (an interrupted write); run `evault verify` then `evault repair {0:?}`"
    )]
    TornTail(String),
    /// The order's log cannot be parsed where it must be.
    #[error(
        "the log of order {order:?} is damaged at line {line}: {why}; run `evault verify` for details"
    )]
    DamagedLog {
        /// The order.
        order: String,
        /// The line number (1-based).
        line: u64,
        /// What is wrong.
        why: String,
    },
    /// The end of an order's log does not match its `HEAD` file: appending is refused.
    #[error(
        "the log of order {order:?} does not match its HEAD file: {why}. Nothing was recorded; run `evault verify` and restore the order's folder from a backup"
    )]
    LogMismatch {
        /// The order.
        order: String,
        /// What differs.
        why: String,
    },
    /// Two order ids map to the same storage key (never expected; refuse rather than mix).
    #[error(
        "order {asked:?} maps to the same storage folder as order {stored:?}; refusing to mix them"
    )]
    KeyCollision {
        /// The order asked for.
        asked: String,
        /// The order stored there.
        stored: String,
    },
    /// The object store refused or failed an operation.
    #[error("object store: {what}: {why}")]
    ObjectStore {
        /// What was being done, and on which object.
        what: String,
        /// Why it failed.
        why: String,
    },
    /// Another process holds the order's lock for too long.
    #[error(
        "order {order:?} is locked by another evault process ({path}) for more than {secs} s; wait for it to finish and retry"
    )]
    LockTimeout {
        /// The order.
        order: String,
        /// The lock file.
        path: PathBuf,
        /// Seconds waited.
        secs: u64,
    },
    /// A blob's content does not match its address.
    #[error(
        "blob {expected} does not match its recorded hash (found {found}); run `evault verify`"
    )]
    BlobMismatch {
        /// The hash it should have.
        expected: String,
        /// The hash its bytes have.
        found: String,
    },
    /// A blob is missing from the store.
    #[error("blob {0} is missing from the store; run `evault verify`")]
    BlobMissing(String),
    /// Import source problem.
    #[error("cannot import {path}: {why}")]
    Import {
        /// The offending path.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A stored line could not be encoded (never expected).
    #[error("encoding an entry: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Attaches the path and action to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            action,
            path: path.into(),
            source,
        })
    }
}

/// What to do about the I/O errors an operator can fix.
fn io_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "; free space on the vault's disk and run the command again (what was acknowledged before is intact; check with `evault verify`)"
        }
        ErrorKind::ReadOnlyFilesystem => {
            "; the vault is on a read-only file system: remount it read-write to record (reading and `evault verify` still work)"
        }
        ErrorKind::PermissionDenied => {
            "; check that this user may write to the vault directory (reading and `evault verify` need read access only)"
        }
        _ => "",
    }
}
