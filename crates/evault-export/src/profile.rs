//! Platform profiles: upload rules as data (`profiles.json`, plus a user's own file).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a platform takes files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlotModel {
    /// One file per evidence category (Stripe, Shopify): photos are merged into PDF pages.
    PerCategory,
    /// A flat list of files (PayPal, eBay, marketplaces).
    Flat,
    /// No platform copies at all (the archive profile).
    None,
}

/// File-name rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRule {
    /// Only ASCII letters, digits, `-` and `_`, and one extension.
    pub ascii_only: bool,
    /// At most this many characters, extension included.
    pub max_chars: Option<u32>,
}

/// One platform's upload rules. Where sources disagree the stricter figure is
/// taken; `source` says which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The name used on the command line.
    pub name: String,
    /// A human title.
    pub title: String,
    /// Where the figures come from.
    pub source: String,
    /// Accepted media types (empty: platform copies are not made).
    pub types: Vec<String>,
    /// Bytes per file.
    pub max_file_bytes: Option<u64>,
    /// Bytes of all uploaded files together.
    pub max_total_bytes: Option<u64>,
    /// Number of files.
    pub max_files: Option<u32>,
    /// Pages per PDF.
    pub max_pages_per_file: Option<u32>,
    /// Pages of all PDFs together.
    pub max_pages_total: Option<u32>,
    /// How files are taken.
    pub slots: SlotModel,
    /// File-name rules.
    pub names: NameRule,
    /// Characters of free text (statement) per field.
    pub text_limit: Option<u32>,
    /// PDFs must be PDF/A.
    pub pdfa: bool,
    /// Long edge, in pixels, of photo copies (0: originals only).
    pub photo_long_edge: u32,
}

const BUILTIN: &str = include_str!("../profiles.json");

impl Profile {
    /// The built-in profiles.
    pub fn builtin() -> Result<Vec<Profile>> {
        serde_json::from_str(BUILTIN).map_err(|e| Error::Profile {
            source_name: "built-in profiles".into(),
            why: e.to_string(),
        })
    }

    /// Profiles from a user's JSON file (an array of profiles, same shape as `evault profiles --json`).
    pub fn from_file(path: &Path) -> Result<Vec<Profile>> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            action: "reading",
            path: path.to_owned(),
            source: e,
        })?;
        Self::from_json(&bytes, &path.display().to_string())
    }

    /// Profiles from JSON bytes (as [`Profile::from_file`]); `source_name`
    /// names them in errors.
    pub fn from_json(bytes: &[u8], source_name: &str) -> Result<Vec<Profile>> {
        let list: Vec<Profile> = serde_json::from_slice(bytes).map_err(|e| Error::Profile {
            source_name: source_name.to_owned(),
            why: e.to_string(),
        })?;
        for p in &list {
            p.check().map_err(|why| Error::Profile {
                source_name: source_name.to_owned(),
                why: format!("profile {:?}: {why}", p.name),
            })?;
        }
        Ok(list)
    }

    /// Finds `name` among the built-in profiles and `extra` (which win).
    pub fn find(name: &str, extra: &[Profile]) -> Result<Profile> {
        let builtin = Self::builtin()?;
        extra
            .iter()
            .chain(&builtin)
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| Error::UnknownProfile {
                name: name.to_owned(),
                known: builtin
                    .iter()
                    .chain(extra)
                    .map(|p| p.name.clone())
                    .collect(),
            })
    }

    /// Whether a media type may be uploaded.
    pub fn accepts(&self, media_type: &str) -> bool {
        self.types.iter().any(|t| t == media_type)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("the name must be lowercase letters, digits and '-'".into());
        }
        if self.slots != SlotModel::None && self.types.is_empty() {
            return Err("a profile with slots must accept at least one type".into());
        }
        if self.slots != SlotModel::None && self.photo_long_edge < 320 {
            return Err("photo_long_edge must be at least 320 pixels".into());
        }
        for t in &self.types {
            if !matches!(t.as_str(), "application/pdf" | "image/jpeg" | "image/png") {
                return Err(format!(
                    "type {t:?} is not one evault produces (application/pdf, image/jpeg, image/png)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_pass_their_own_checks() {
        let all = Profile::builtin().unwrap();
        let names: Vec<_> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "stripe",
                "shopify",
                "paypal",
                "ebay",
                "amazon",
                "card",
                "marketplace",
                "archive"
            ]
        );
        for p in &all {
            p.check().unwrap();
        }
        let card = Profile::find("card", &[]).unwrap();
        assert_eq!(
            (
                card.max_file_bytes,
                card.max_total_bytes,
                card.max_pages_total
            ),
            (Some(2_000_000), Some(4_000_000), Some(18))
        );
        assert_eq!(card.names.max_chars, Some(16));
        assert!(
            Profile::find("myspace", &[])
                .unwrap_err()
                .to_string()
                .contains("stripe")
        );
    }
}
