//! The entries of an order's manifest, as stored (one JSON object per line).
//!
//! Field order is fixed by these declarations and is part of the `evault/1`
//! format: lines are hashed over their exact bytes, so they are written once
//! and never re-serialized.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dispute::{Dispute, ExportRecord};
use crate::id::{Blake3Hash, BlobId, EntryHash, OrderId};
use crate::kind::EvidenceKind;

/// The version number carried by every `evault/1` line.
pub const LINE_VERSION: u32 = 1;

/// A UTC instant with millisecond precision, stored as RFC 3339 (`2026-11-25T11:02:03.456Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates to milliseconds.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        let ms = t.timestamp_millis();
        Self(DateTime::from_timestamp_millis(ms).unwrap_or(t))
    }
    /// The instant.
    pub fn datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| Self(t.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

/// One line of an order's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Line format version ([`LINE_VERSION`]).
    pub v: u32,
    /// Sequence number, 1-based and contiguous within the order.
    pub seq: u64,
    /// Hash of the previous line ([`crate::merkle::leaf_hash`]); `null` for seq 1.
    pub prev: Option<EntryHash>,
    /// The order, exactly as given.
    pub order: OrderId,
    /// When the vault appended this entry (the station's UTC clock).
    pub recorded_at: Timestamp,
    /// The operator who recorded it.
    pub recorded_by: String,
    /// The station (host) that recorded it.
    pub station: String,
    /// What the entry says.
    #[serde(flatten)]
    pub body: Body,
}

/// The type-specific part of an entry (`"type"` field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "entries are mostly evidence; boxing would only add an allocation per entry"
)]
pub enum Body {
    /// A file of evidence.
    Evidence(Evidence),
    /// A free-text note.
    Note {
        /// The note.
        text: String,
    },
    /// Voids an earlier entry (which stays in the log).
    Retract {
        /// The voided entry's sequence number.
        target: u64,
        /// Why.
        reason: String,
    },
    /// Records that `evault repair` cut a torn last line.
    Repair {
        /// How many bytes were cut.
        cut_bytes: u64,
        /// The cut bytes, kept in the blob store.
        cut_sha256: BlobId,
        /// The BLAKE3 of the cut bytes.
        cut_blake3: Blake3Hash,
    },
    /// A dispute opened against the order.
    Dispute(Dispute),
    /// An evidence bundle exported from the order.
    Export(ExportRecord),
    /// The size and Merkle root of the log before it ([`Vault::checkpoint`](crate::Vault::checkpoint)).
    Checkpoint(crate::checkpoint::Checkpoint),
    /// An RFC 3161 time-stamp over a checkpoint ([`Vault::stamp_attach`](crate::Vault::stamp_attach)).
    Stamp(crate::stamp::StampRecord),
}

/// An evidence file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the file shows.
    pub kind: EvidenceKind,
    /// The file's name as given (the path relative to the import folder, `/`-separated).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type sniffed from the content.
    pub media_type: String,
    /// SHA-256 of the bytes: the blob's address.
    pub sha256: BlobId,
    /// BLAKE3 of the bytes.
    pub blake3: Blake3Hash,
    /// The source file's modification time, when known.
    pub source_mtime: Option<Timestamp>,
    /// Optional note given with the file.
    pub note: Option<String>,
    /// Image header facts, for images.
    pub image: Option<ImageInfo>,
    /// Warnings raised at ingest (kept with the entry).
    pub warnings: Vec<String>,
    /// Container facts, for videos in a container evault reads (written only when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoInfo>,
    /// What the capturing device said about the file (uploads through
    /// `evault serve`); absent for files recorded from disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceClaim>,
}

/// What a capturing device (a phone or PC uploading to `evault serve`) said
/// about a file. These are the device's claims, kept beside the vault's own
/// facts: its SHA-256 matched the bytes received (or nothing was recorded),
/// its clock is only its clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceClaim {
    /// The SHA-256 the device computed before sending (equal to the entry's `sha256`).
    pub sha256: BlobId,
    /// The device's clock when the file was captured, as it sent it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The device's id for the capture (its idempotency key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// For a still grabbed from a packing video while it recorded: that
    /// video's capture id and the still's offset into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_of: Option<FrameOf>,
}

/// Where in a packing video a still was grabbed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameOf {
    /// The video's capture id (its evidence entry's `device.capture`).
    pub capture: String,
    /// Milliseconds from the video's start.
    pub offset_ms: u64,
}

/// Facts read from a video's container headers (nothing is decoded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoInfo {
    /// `mp4` or `quicktime`, or a Matroska file's `DocType` as written (`webm`, `matroska`).
    pub container: String,
    /// The video track's codec as the container names it (`V_VP9`, `avc1`).
    pub codec: Option<String>,
    /// Frame width in pixels.
    pub width: Option<u32>,
    /// Frame height in pixels.
    pub height: Option<u32>,
    /// Degrees clockwise a player turns the picture (90, 180, 270; an MP4
    /// track's display matrix, as phones held upright write it); width and
    /// height are as stored, before turning. `None`: not turned, or unknown.
    pub rotation: Option<u16>,
    /// Duration in milliseconds (from the header, or the last frame's timestamp).
    pub duration_ms: Option<u64>,
}

/// Facts read from an image's headers (nothing is decoded).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInfo {
    /// Width in pixels, as stored.
    pub width: Option<u32>,
    /// Height in pixels, as stored.
    pub height: Option<u32>,
    /// EXIF orientation (1–8).
    pub orientation: Option<u16>,
    /// Camera make.
    pub camera_make: Option<String>,
    /// Camera model.
    pub camera_model: Option<String>,
    /// EXIF DateTimeOriginal as the camera's local wall time (`2026-11-20T14:03:11`), no zone invented.
    pub captured_at: Option<String>,
    /// EXIF OffsetTimeOriginal (`+08:00`), `null` when the camera did not record one.
    pub captured_offset: Option<String>,
    /// Whether the file carries GPS coordinates.
    pub gps: bool,
}

impl Entry {
    /// The evidence, when this is an evidence entry.
    pub fn evidence(&self) -> Option<&Evidence> {
        match &self.body {
            Body::Evidence(e) => Some(e),
            _ => None,
        }
    }
}

/// An entry as read back, with its exact stored bytes' hash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recorded {
    /// The parsed entry.
    pub entry: Entry,
    /// Hash of the stored line ([`crate::merkle::leaf_hash`]).
    pub hash: EntryHash,
}

impl Recorded {
    /// The entry's fields with its `hash` beside them: the shape `evault log
    /// --json` prints and the server's API answers.
    pub fn to_json(&self) -> serde_json::Result<serde_json::Value> {
        let mut v = serde_json::to_value(&self.entry)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("hash".into(), serde_json::to_value(self.hash)?);
        }
        Ok(v)
    }
}
