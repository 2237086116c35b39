//! Typed identifiers: order ids, blob ids and entry hashes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The longest order id accepted, in UTF-8 bytes.
pub const MAX_ORDER_ID_BYTES: usize = 200;

/// An order id exactly as the platform shows it (`112-7739151-0042185`, `AE#8812-331`, `注文-0042`).
///
/// Any printable Unicode is accepted; empty ids, control characters, invisible
/// formatting characters (zero-width and bidirectional controls), leading or
/// trailing whitespace and ids over [`MAX_ORDER_ID_BYTES`] bytes are refused.
/// The only way to build one is [`FromStr`], which validates.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(String);

/// Invisible characters that would let two different ids look the same:
/// format controls (zero-width, bidirectional), fillers, variation selectors
/// and tag characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E0FFF}')
}

impl FromStr for OrderId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let refuse = |why| Error::InvalidOrderId {
            id: s.chars().take(80).collect(),
            why,
        };
        if s.is_empty() {
            return Err(refuse("it is empty"));
        }
        if s.len() > MAX_ORDER_ID_BYTES {
            return Err(refuse("it is longer than 200 bytes"));
        }
        if s.chars().any(char::is_control) {
            return Err(refuse(
                "it contains a control character (newline, tab, NUL, ...)",
            ));
        }
        if s.chars().any(is_invisible_format) {
            return Err(refuse(
                "it contains an invisible formatting character (zero-width or bidirectional control)",
            ));
        }
        if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
            return Err(refuse(
                "it starts or ends with whitespace; give the id exactly as the platform shows it",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl OrderId {
    /// The id exactly as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folder name this order is stored under.
    ///
    /// `<slug>-<20 hex>`: a readable ASCII slug (lowercase letters, digits,
    /// `-`, `_`, at most 40 characters) followed by the first 80 bits of
    /// SHA-256 over a domain prefix and the exact id. The result contains no
    /// dot, no separator and no uppercase letter, so it cannot escape the
    /// vault, collide on a case-insensitive file system (`so-1` and `SO-1`
    /// get different hashes) or hit a Windows reserved name. The exact id is
    /// recorded in every entry of the order, and checked on open.
    pub fn storage_key(&self) -> String {
        let mut slug = String::new();
        for c in self.0.chars() {
            let mapped = match c {
                'a'..='z' | '0'..='9' | '-' => c,
                'A'..='Z' => c.to_ascii_lowercase(),
                _ => '_',
            };
            if mapped == '_' && slug.ends_with('_') {
                continue;
            }
            slug.push(mapped);
            if slug.len() >= 40 {
                break;
            }
        }
        let slug = slug.trim_matches(|c| c == '_' || c == '-');
        let digest = Sha256::new()
            .chain_update(b"evault/1 order-key\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        let hash = hex(&digest[..10]);
        if slug.is_empty() {
            format!("o-{hash}")
        } else {
            format!("{slug}-{hash}")
        }
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl Serialize for OrderId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrderId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `N` bytes from exactly `2 × N` lowercase hex digits.
pub(crate) fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps raw digest bytes.
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
            /// The raw digest bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// Lowercase hex, without any prefix.
            pub fn to_hex(&self) -> String {
                hex(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                let hex = s.strip_prefix($prefix).unwrap_or(s);
                parse_hex::<32>(hex)
                    .map(Self)
                    .ok_or_else(|| format!("{s:?} is not a {}64 lowercase hex digest", $prefix))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                if !s.starts_with($prefix) {
                    return Err(serde::de::Error::custom(format!("expected prefix {:?}", $prefix)));
                }
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_id!(
    /// A blob's identity: the plain SHA-256 of its bytes (what `sha256sum` prints). Serialized as bare hex.
    BlobId,
    ""
);
digest_id!(
    /// The BLAKE3 hash of a blob's bytes. Serialized as bare hex.
    Blake3Hash,
    ""
);
digest_id!(
    /// The hash of one manifest line: the RFC 9162 leaf hash SHA-256(0x00 ‖ line bytes).
    /// Serialized as `sha256:<hex>`.
    EntryHash,
    "sha256:"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_ids_are_accepted_and_round_trip() {
        for id in [
            "112-7739151-0042185",
            "AE#8812-331",
            "SO-2026-10481",
            "注文-0042",
            "PO 5512/B",
        ] {
            let parsed: OrderId = id.parse().unwrap();
            assert_eq!(parsed.as_str(), id);
        }
    }

    #[test]
    fn hostile_ids_are_refused() {
        let long = "x".repeat(201);
        for id in [
            "",
            " SO-1",
            "SO-1 ",
            "a\nb",
            "a\0b",
            "a\u{202E}b",
            long.as_str(),
        ] {
            assert!(id.parse::<OrderId>().is_err(), "{id:?} accepted");
        }
        assert!("x".repeat(200).parse::<OrderId>().is_ok());
    }

    #[test]
    fn storage_keys_are_safe_and_distinct() {
        let ids = [
            "../x",
            "/etc/x",
            "a/../../b",
            "CON",
            "aux.txt",
            "trailing.",
            "trailing ",
            "so-1",
            "SO-1",
            "..",
            "注文-0042",
        ];
        let mut keys = std::collections::HashSet::new();
        for id in ids {
            let Ok(order) = id.parse::<OrderId>() else {
                continue;
            };
            let key = order.storage_key();
            assert!(
                key.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'_'),
                "{key}"
            );
            assert!(!key.starts_with('-') && key.len() <= 62, "{key}");
            assert!(keys.insert(key.to_ascii_lowercase()), "collision for {id}");
        }
        assert_eq!(
            "CON".parse::<OrderId>().unwrap().storage_key().len(),
            3 + 1 + 20
        );
    }

    #[test]
    fn digests_round_trip() {
        let h = EntryHash::from_bytes([0xab; 32]);
        let s = serde_json::to_string(&h).unwrap();
        assert_eq!(s, format!("\"sha256:{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<EntryHash>(&s).unwrap(), h);
        assert!(serde_json::from_str::<EntryHash>(&format!("\"{}\"", "ab".repeat(32))).is_err());
        assert!("AB".repeat(32).parse::<BlobId>().is_err());
    }
}
