//! TimeStampReq (RFC 3161 §2.4.1): built over a message's SHA-256, with a
//! nonce and `certReq` set so the reply carries the TSA's certificate.

use crate::asn1::{Reader, Tlv, encode, encode_unsigned, tag};
use crate::digest::Hash;
use crate::error::{Error, Malformed, Result};
use crate::oids;

/// The facts of a time-stamp request that a reply must echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The hash algorithm of the imprint.
    pub hash: Hash,
    /// The hashed message (the imprint).
    pub imprint: Vec<u8>,
    /// The nonce as unsigned big-endian bytes without leading zeros.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA was asked to include its certificate.
    pub cert_req: bool,
}

impl Request {
    /// A SHA-256 request over `message` with `nonce` and `certReq` set.
    pub fn new(message: &[u8], nonce: [u8; 8]) -> Self {
        Self {
            hash: Hash::Sha256,
            imprint: Hash::Sha256.digest(message),
            nonce: Some(strip_zeros(&nonce).to_vec()),
            cert_req: true,
        }
    }

    /// The DER encoding, as `openssl ts -query` writes it.
    pub fn to_der(&self) -> Vec<u8> {
        let oid = match self.hash {
            Hash::Sha256 => oids::SHA256,
            Hash::Sha384 => oids::SHA384,
            Hash::Sha512 => oids::SHA512,
        };
        let mut alg = encode(tag::OID, oid.as_bytes());
        alg.extend_from_slice(&encode(tag::NULL, &[]));
        let mut imprint = encode(tag::SEQUENCE, &alg);
        imprint.extend_from_slice(&encode(tag::OCTET_STRING, &self.imprint));
        let mut body = encode_unsigned(&[1]);
        body.extend_from_slice(&encode(tag::SEQUENCE, &imprint));
        if let Some(nonce) = &self.nonce {
            body.extend_from_slice(&encode_unsigned(nonce));
        }
        if self.cert_req {
            body.extend_from_slice(&encode(tag::BOOLEAN, &[0xff]));
        }
        encode(tag::SEQUENCE, &body)
    }

    /// Reads a DER TimeStampReq (one evault or OpenSSL wrote).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        const WHAT: &str = "time-stamp request";
        let mut req = Tlv::parse_all(der, WHAT)?.contents(tag::SEQUENCE, WHAT)?;
        if req.any()?.small(WHAT)? != 1 {
            return Err(Malformed::new(WHAT, "version is not 1").into());
        }
        let (hash, imprint) = read_imprint(&mut req, WHAT)?;
        req.optional(tag::OID)?; // reqPolicy
        let nonce = match req.optional(tag::INTEGER)? {
            Some(n) => Some(unsigned(n.integer(WHAT)?, WHAT)?.to_vec()),
            None => None,
        };
        let cert_req = match req.optional(tag::BOOLEAN)? {
            Some(b) => b.value == [0xff],
            None => false,
        };
        req.optional(tag::context(0))?; // extensions
        req.end()?;
        Ok(Self {
            hash,
            imprint,
            nonce,
            cert_req,
        })
    }
}

/// A MessageImprint: its hash algorithm and hashed message.
pub(crate) fn read_imprint(r: &mut Reader<'_>, what: &'static str) -> Result<(Hash, Vec<u8>)> {
    let mut imprint = r.sequence()?;
    let (oid, _) = imprint.algorithm()?;
    let hash = Hash::from_oid(oid, "imprint")?;
    let digest = imprint.any()?.octets(what)?.to_vec();
    imprint.end()?;
    if digest.len() != hash.digest(b"").len() {
        return Err(Error::invalid("imprint", "the hash has the wrong length"));
    }
    Ok((hash, digest))
}

/// A non-negative INTEGER's magnitude without leading zeros.
pub(crate) fn unsigned<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a [u8], Malformed> {
    if bytes[0] & 0x80 != 0 {
        return Err(Malformed::new(what, "negative integer"));
    }
    Ok(strip_zeros(bytes))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_back() {
        let req = Request::new(b"evault-checkpoint/1\n", [0, 0, 0x80, 1, 2, 3, 4, 5]);
        let back = Request::from_der(&req.to_der()).expect("reads back");
        assert_eq!(back, req);
        assert_eq!(back.nonce.as_deref(), Some(&[0x80, 1, 2, 3, 4, 5][..]));
    }

    #[test]
    fn a_truncated_request_is_refused() {
        let der = Request::new(b"m", [1; 8]).to_der();
        assert!(Request::from_der(&der[..der.len() - 1]).is_err());
    }
}
