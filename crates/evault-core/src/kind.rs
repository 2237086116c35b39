//! Evidence kinds and the default kind for a file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What a piece of evidence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Photo of the contents or the packing.
    PackingPhoto,
    /// Photo of the shipping label.
    LabelPhoto,
    /// Video of the packing.
    PackingVideo,
    /// Screenshot of a tracking page or carrier portal.
    LogisticsSnapshot,
    /// Carrier tracking events (CSV or JSON export).
    TrackingEvents,
    /// Chat with the buyer.
    ChatLog,
    /// An e-mail.
    Email,
    /// An invoice or receipt.
    Invoice,
    /// A snapshot of the listing.
    ListingSnapshot,
    /// Anything else.
    Other,
}

impl EvidenceKind {
    /// All kinds, in documentation order.
    pub const ALL: [EvidenceKind; 10] = [
        Self::PackingPhoto,
        Self::LabelPhoto,
        Self::PackingVideo,
        Self::LogisticsSnapshot,
        Self::TrackingEvents,
        Self::ChatLog,
        Self::Email,
        Self::Invoice,
        Self::ListingSnapshot,
        Self::Other,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PackingPhoto => "packing-photo",
            Self::LabelPhoto => "label-photo",
            Self::PackingVideo => "packing-video",
            Self::LogisticsSnapshot => "logistics-snapshot",
            Self::TrackingEvents => "tracking-events",
            Self::ChatLog => "chat-log",
            Self::Email => "email",
            Self::Invoice => "invoice",
            Self::ListingSnapshot => "listing-snapshot",
            Self::Other => "other",
        }
    }

    /// The kind used when none is given: from the sniffed media type, refined
    /// by words in the file name (case-insensitive). The table is documented
    /// in `docs/format.md`.
    pub fn default_for(media_type: &str, name: &str) -> Self {
        let name = name.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
        let top = media_type.split('/').next().unwrap_or("");
        match (top, media_type) {
            ("image", _) if has(&["label", "waybill", "awb"]) => Self::LabelPhoto,
            ("image", _) if has(&["track", "screenshot", "screen"]) => Self::LogisticsSnapshot,
            ("image", _) if has(&["listing"]) => Self::ListingSnapshot,
            ("image", _) => Self::PackingPhoto,
            ("video", _) => Self::PackingVideo,
            (_, "message/rfc822") => Self::Email,
            (_, "text/csv" | "application/json") if has(&["track", "carrier", "event"]) => {
                Self::TrackingEvents
            }
            ("text", _) | (_, "application/json") if has(&["chat", "whatsapp", "message"]) => {
                Self::ChatLog
            }
            (_, "application/pdf") if has(&["invoice", "receipt"]) => Self::Invoice,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EvidenceKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(
            EvidenceKind::default_for("image/jpeg", "IMG_0001.JPG"),
            EvidenceKind::PackingPhoto
        );
        assert_eq!(
            EvidenceKind::default_for("image/jpeg", "Label-front.jpg"),
            EvidenceKind::LabelPhoto
        );
        assert_eq!(
            EvidenceKind::default_for("image/png", "tracking.png"),
            EvidenceKind::LogisticsSnapshot
        );
        assert_eq!(
            EvidenceKind::default_for("video/mp4", "pack.mp4"),
            EvidenceKind::PackingVideo
        );
        assert_eq!(
            EvidenceKind::default_for("text/csv", "carrier-events.csv"),
            EvidenceKind::TrackingEvents
        );
        assert_eq!(
            EvidenceKind::default_for("text/plain", "WhatsApp Chat.txt"),
            EvidenceKind::ChatLog
        );
        assert_eq!(
            EvidenceKind::default_for("application/pdf", "invoice-42.pdf"),
            EvidenceKind::Invoice
        );
        assert_eq!(
            EvidenceKind::default_for("application/zip", "x.zip"),
            EvidenceKind::Other
        );
        for k in EvidenceKind::ALL {
            assert_eq!(k.as_str().parse::<EvidenceKind>().unwrap(), k);
        }
        assert!("photo".parse::<EvidenceKind>().is_err());
    }
}
