//! # evault-core: an append-only, hash-chained evidence vault
//!
//! A vault is a directory. Each **order** (keyed by the platform's order id)
//! has an append-only manifest of **entries**: evidence files, notes,
//! retractions. Every file's bytes are stored once in a content-addressed
//! **blob** store under their SHA-256, with their BLAKE3 recorded too. Each
//! manifest line carries the hash of the line before it, so editing,
//! deleting, inserting or reordering a line is found by [`Vault::verify`].
//! The lines are also the leaves of an RFC 9162 Merkle tree ([`merkle`]).
//!
//! What the vault can claim: *these bytes were recorded at this time by this
//! operator at this station, and have not changed since*. It cannot say what
//! was packed, and a hash chain alone cannot reveal a history rewritten as a
//! whole; that needs checkpoints kept elsewhere. The on-disk format is
//! specified in `docs/format.md` (`evault/1`).
//!
//! ```
//! use evault_core::{Actor, NewEvidence, OrderId, Vault, VerifyOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let vault = Vault::init(dir.path().join("vault"))?;
//! let order: OrderId = "SO-2026-10481".parse()?;
//! let actor = Actor::new("alice", "pack-01")?;
//!
//! let photo = NewEvidence::from_reader("IMG_0001.jpg", &b"not really a jpeg"[..]);
//! vault.add(&order, vec![photo], &actor)?;
//! vault.note(&order, "Sealed with tamper tape #4411", &actor)?;
//!
//! let log = vault.log(&order)?;
//! assert_eq!(log.entries.len(), 2);
//! assert!(vault.verify(&VerifyOptions::default())?.ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accounts;
mod actor;
mod append;
mod checkpoint;
#[cfg(feature = "object-store")]
mod copy;
mod dispute;
mod durable;
pub mod entry;
mod error;
mod heif_meta;
mod id;
mod index;
mod ingest;
mod keys;
mod kind;
mod manifest;
pub mod merkle;
#[cfg(feature = "object-store")]
mod object_lock;
#[cfg(feature = "object-store")]
mod object_log;
mod read;
#[cfg(feature = "object-store")]
mod remote;
mod repair;
mod sniff;
mod stamp;
mod store;
mod vault;
pub mod verify;
#[cfg(feature = "object-store")]
mod verify_objects;
mod video_meta;

pub use accounts::{
    Account, AccountEntry, AccountKind, Accounts, Change, MIN_PASSWORD_CHARS, Role, TOKEN_PREFIX,
};
pub use actor::Actor;
pub use append::{AddOutcome, NewEvidence, Source};
pub use checkpoint::{Checkpoint, CheckpointSignature, SignatureCheck};
#[cfg(feature = "object-store")]
pub use copy::{CopyProgress, CopyReport, copy_from_objects, copy_to_objects};
pub use dispute::{Dispute, DisputeReason, ExportRecord};
pub use entry::{
    Body, DeviceClaim, Entry, Evidence, FrameOf, ImageInfo, LINE_VERSION, Recorded, Timestamp,
    VideoInfo,
};
pub use error::{Error, Result};
/// RFC 3161 requests and the offline verifier ([`evault_timestamp`]).
pub use evault_timestamp as timestamp;
pub use id::{Blake3Hash, BlobId, EntryHash, MAX_ORDER_ID_BYTES, OrderId};
pub use index::{
    Fresh, IndexedDispute, IndexedOrder, Match, OrderHits, OrderIndex, OrderQuery, Refreshed,
    Stale, take_store_entries,
};
pub use ingest::{ImportOptions, ImportProgress, ImportReport, Skipped, order_from_folder};
pub use keys::{PublicKey, StationKey};
pub use kind::EvidenceKind;
#[cfg(feature = "object-store")]
pub use object_lock::Retention;
#[cfg(feature = "object-store")]
pub use object_log::{Appended, LogTail, ObjectLog};
pub use read::{OrderLog, OrderSummary, VerifiedReader};
pub use repair::RepairOutcome;
pub use sniff::{PREFIX_LEN, Sniffed, exif_orientation, sniff_bytes};
pub use stamp::{Attached, CheckedStamp, PendingStamp, StampRecord, stamp_time};
pub use vault::{Clock, FORMAT, Vault};
pub use verify::{
    Finding, Report, Severity, SignedCheckpoint, StampedCheckpoint, VerifyOptions, VerifyProgress,
};
#[cfg(feature = "object-store")]
pub use verify_objects::verify_objects;
