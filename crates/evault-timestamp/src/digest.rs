//! The hash functions a time-stamp may use: SHA-256, SHA-384, SHA-512.

use const_oid::ObjectIdentifier;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{Error, Result};
use crate::oids;

/// A hash algorithm accepted in imprints, signer infos and certificate ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The algorithm an OID names; SHA-1 and others are refused.
    pub(crate) fn from_oid(oid: ObjectIdentifier, check: &'static str) -> Result<Self> {
        match oid {
            oids::SHA256 => Ok(Self::Sha256),
            oids::SHA384 => Ok(Self::Sha384),
            oids::SHA512 => Ok(Self::Sha512),
            oids::SHA1 => Err(Error::invalid(
                check,
                "SHA-1 is not accepted: evault asks TSAs for SHA-256 and accepts SHA-256, SHA-384 or SHA-512",
            )),
            other => Err(Error::invalid(
                check,
                format!(
                    "hash algorithm {other} is not supported (SHA-256, SHA-384 or SHA-512 are)"
                ),
            )),
        }
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(bytes).to_vec(),
            Self::Sha384 => Sha384::digest(bytes).to_vec(),
            Self::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }

    /// Its name, as OpenSSL spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}
