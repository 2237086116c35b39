//! Dispute records: the reason a buyer or card holder gave.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Why the buyer disputes the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisputeReason {
    /// "Item not received".
    NotReceived,
    /// "Not as described" / "significantly not as described".
    NotAsDescribed,
    /// Arrived damaged.
    Damaged,
    /// Unauthorized / fraudulent transaction.
    Unauthorized,
    /// Anything else.
    Other,
}

impl DisputeReason {
    /// All reasons, in documentation order.
    pub const ALL: [DisputeReason; 5] = [
        Self::NotReceived,
        Self::NotAsDescribed,
        Self::Damaged,
        Self::Unauthorized,
        Self::Other,
    ];

    /// The kebab-case name used on the command line and in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotReceived => "not-received",
            Self::NotAsDescribed => "not-as-described",
            Self::Damaged => "damaged",
            Self::Unauthorized => "unauthorized",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for DisputeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DisputeReason {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::UnknownReason(s.to_owned()))
    }
}

/// A dispute opened against an order (recorded as a `dispute` entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// The platform profile (`stripe`, `paypal`, ...).
    pub platform: String,
    /// The reason given.
    pub reason: DisputeReason,
    /// The platform's case or dispute id.
    pub case_id: Option<String>,
    /// The disputed amount as the platform shows it (`49.90 USD`).
    pub amount: Option<String>,
    /// The response deadline (`YYYY-MM-DD`).
    pub due: Option<String>,
}

/// An evidence bundle exported from the order (recorded as an `export`
/// entry: the chain of custody).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// The platform profile.
    pub profile: String,
    /// The reason the bundle argues.
    pub reason: DisputeReason,
    /// The last entry of the order the bundle covers.
    pub through_seq: u64,
    /// SHA-256 of the bundle file (hex).
    pub bundle_sha256: String,
    /// Size of the bundle file.
    pub bundle_bytes: u64,
    /// Number of platform-ready files in it.
    pub upload_files: u64,
}
