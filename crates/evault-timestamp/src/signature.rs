//! Signature checks with the signer's public key: RSA PKCS#1 v1.5,
//! RSASSA-PSS and ECDSA over P-256 or P-384, each with SHA-256, SHA-384 or
//! SHA-512.

use const_oid::ObjectIdentifier;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Sha256, Sha384, Sha512};

use rsa::pss::Pss;

use crate::asn1::{Reader, Tlv, tag};
use crate::digest::Hash;
use crate::error::{Error, Malformed, Result};
use crate::oids;

/// A signature scheme and its hash, from an AlgorithmIdentifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// RSA PKCS#1 v1.5; the hash the OID names (`None`: rsaEncryption,
    /// the signer's digest algorithm decides).
    Pkcs1(Option<Hash>),
    /// RSASSA-PSS (RFC 4055) with MGF1 over the same hash and this salt length.
    Pss { hash: Hash, salt: usize },
    /// ECDSA with this hash.
    Ecdsa(Hash),
}

impl Scheme {
    /// The scheme an algorithm OID and its parameters name.
    pub(crate) fn of(oid: ObjectIdentifier, params: Option<Tlv<'_>>) -> Result<Self> {
        Ok(match oid {
            oids::RSA_ENCRYPTION => Self::Pkcs1(None),
            oids::SHA256_WITH_RSA => Self::Pkcs1(Some(Hash::Sha256)),
            oids::SHA384_WITH_RSA => Self::Pkcs1(Some(Hash::Sha384)),
            oids::SHA512_WITH_RSA => Self::Pkcs1(Some(Hash::Sha512)),
            oids::RSASSA_PSS => pss(params)?,
            oids::ECDSA_SHA256 => Self::Ecdsa(Hash::Sha256),
            oids::ECDSA_SHA384 => Self::Ecdsa(Hash::Sha384),
            oids::ECDSA_SHA512 => Self::Ecdsa(Hash::Sha512),
            oids::SHA1_WITH_RSA | oids::ECDSA_SHA1 => {
                return Err(Error::invalid(
                    "algorithm",
                    format!(
                        "signature algorithm {oid} uses SHA-1, which is not accepted (SHA-256, SHA-384 or SHA-512 are)"
                    ),
                ));
            }
            other => {
                return Err(Error::invalid(
                    "algorithm",
                    format!(
                        "signature algorithm {other} is not supported (RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA are)"
                    ),
                ));
            }
        })
    }

    /// The hash the scheme names, if it names one.
    pub(crate) fn hash(self) -> Option<Hash> {
        match self {
            Self::Pkcs1(h) => h,
            Self::Pss { hash, .. } | Self::Ecdsa(hash) => Some(hash),
        }
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1): the hash, MGF1 over the same hash,
/// the salt length and trailer field 1. The SHA-1 defaults are refused.
fn pss(params: Option<Tlv<'_>>) -> Result<Scheme> {
    const WHAT: &str = "RSASSA-PSS parameters";
    let unsupported = |why: &str| {
        Error::invalid(
            "algorithm",
            format!(
                "RSASSA-PSS {why} (SHA-256, SHA-384 or SHA-512 with MGF1 over the same hash are)"
            ),
        )
    };
    let params = params.ok_or_else(|| unsupported("without parameters means SHA-1"))?;
    let mut p = params.contents(tag::SEQUENCE, WHAT)?;
    let hash = match p.peek() {
        Some(t) if t == tag::context(0) => {
            let mut h = p.explicit(0)?;
            let (oid, _) = h.algorithm()?;
            h.end()?;
            Hash::from_oid(oid, "algorithm")?
        }
        _ => return Err(unsupported("with the default hash, SHA-1,")),
    };
    match p.peek() {
        Some(t) if t == tag::context(1) => {
            let mut m = p.explicit(1)?;
            let (mgf, mgf_params) = m.algorithm()?;
            m.end()?;
            let mgf_hash = match mgf_params {
                Some(inner) => {
                    let mut r = Reader::new(inner.raw, WHAT);
                    let (oid, _) = r.algorithm()?;
                    r.end()?;
                    Some(oid)
                }
                None => None,
            };
            if mgf != oids::MGF1
                || mgf_hash
                    .map(|o| Hash::from_oid(o, "algorithm"))
                    .transpose()?
                    != Some(hash)
            {
                return Err(unsupported(
                    "with a mask generation other than MGF1 over its own hash",
                ));
            }
        }
        _ => {
            return Err(unsupported(
                "with the default mask generation, MGF1 with SHA-1,",
            ));
        }
    }
    let salt = match p.peek() {
        Some(t) if t == tag::context(2) => {
            let mut s = p.explicit(2)?;
            let v = s.any()?.small(WHAT)?;
            s.end()?;
            usize::try_from(v).map_err(|_| Malformed::new(WHAT, "salt length out of range"))?
        }
        _ => 20,
    };
    if let Some(t) = p.peek()
        && t == tag::context(3)
    {
        let mut tf = p.explicit(3)?;
        if tf.any()?.small(WHAT)? != 1 {
            return Err(unsupported("with a trailer field other than 1"));
        }
        tf.end()?;
    }
    p.end()?;
    Ok(Scheme::Pss { hash, salt })
}

/// Fails when `spki` holds an RSA key, or an EC key on P-256 or P-384,
/// that cannot be decoded; other key types and curves are left to the
/// checks that use them.
pub(crate) fn check_key(spki: &[u8]) -> Result<()> {
    let mut key = Tlv::parse_all(spki, "public key")?.contents(tag::SEQUENCE, "public key")?;
    let (key_oid, params) = key.algorithm()?;
    let ok = match key_oid {
        oids::RSA_ENCRYPTION | oids::RSASSA_PSS => rsa_public_key(spki).is_ok(),
        oids::EC_PUBLIC_KEY => match params.map(|p| p.oid("public key")).transpose()? {
            Some(oids::P256) => p256::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok(),
            Some(oids::P384) => p384::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok(),
            // Other curves are left to the checks that use them: a chain
            // certificate on one makes the TSA "not trusted", not the token invalid.
            _ => true,
        },
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "certificate",
            "a certificate's RSA or EC public key is unreadable",
        ))
    }
}

/// An RSA public key from a SubjectPublicKeyInfo whose algorithm is
/// rsaEncryption or id-RSASSA-PSS (the same RSAPublicKey inside).
fn rsa_public_key(spki: &[u8]) -> Result<rsa::PublicKey> {
    let unreadable = || Error::invalid("certificate", "unreadable RSA public key");
    let mut key = Tlv::parse_all(spki, "public key")?.contents(tag::SEQUENCE, "public key")?;
    let (oid, _) = key.algorithm()?;
    if oid == oids::RSA_ENCRYPTION {
        return rsa::PublicKey::from_public_key_der(spki).map_err(|_| unreadable());
    }
    let bits = key.expect(tag::BIT_STRING)?.value;
    match bits.split_first() {
        Some((0, der)) => rsa::PublicKey::from_pkcs1_der(der).map_err(|_| unreadable()),
        _ => Err(unreadable()),
    }
}

/// Checks `signature` over `message` (hashed with `hash`) by the key in
/// `spki` (a DER SubjectPublicKeyInfo), for signature scheme `scheme`.
pub(crate) fn verify(
    spki: &[u8],
    scheme: Scheme,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    if scheme.hash().is_some_and(|h| h != hash) {
        return Err(Error::invalid(
            "algorithm",
            "the signature algorithm and the digest algorithm disagree",
        ));
    }
    let mut key = Tlv::parse_all(spki, "public key")?.contents(tag::SEQUENCE, "public key")?;
    let (key_oid, params) = key.algorithm()?;
    let bad = |_| Error::invalid("signature", "the signature does not match the signed bytes");
    let digest = hash.digest(message);
    let rsa_key = || rsa_public_key(spki);
    match (key_oid, scheme) {
        (oids::RSA_ENCRYPTION, Scheme::Pkcs1(_)) => {
            let scheme = match hash {
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            rsa_key()?
                .verify(scheme, &digest, signature)
                .map_err(|_| bad(()))
        }
        // A PSS signature by an rsaEncryption key, or by an id-RSASSA-PSS
        // key (whose own parameters, if any, only restrict its use).
        (oids::RSA_ENCRYPTION | oids::RSASSA_PSS, Scheme::Pss { salt, .. }) => {
            let key = rsa_key()?;
            match hash {
                Hash::Sha256 => key.verify(Pss::<Sha256>::new_with_salt(salt), &digest, signature),
                Hash::Sha384 => key.verify(Pss::<Sha384>::new_with_salt(salt), &digest, signature),
                Hash::Sha512 => key.verify(Pss::<Sha512>::new_with_salt(salt), &digest, signature),
            }
            .map_err(|_| bad(()))
        }
        (oids::EC_PUBLIC_KEY, Scheme::Ecdsa(_)) => {
            let curve = match params {
                Some(p) => Some(p.oid("public key")?),
                None => None,
            };
            match curve {
                Some(oids::P256) => {
                    let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki)
                        .map_err(|_| Error::invalid("certificate", "unreadable P-256 key"))?;
                    let sig =
                        p256::ecdsa::DerSignature::from_bytes(signature).map_err(|_| bad(()))?;
                    key.verify_prehash(&digest, &sig).map_err(|_| bad(()))
                }
                Some(oids::P384) => {
                    let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki)
                        .map_err(|_| Error::invalid("certificate", "unreadable P-384 key"))?;
                    let sig =
                        p384::ecdsa::DerSignature::from_bytes(signature).map_err(|_| bad(()))?;
                    key.verify_prehash(&digest, &sig).map_err(|_| bad(()))
                }
                _ => Err(Error::invalid(
                    "algorithm",
                    "elliptic curve is not supported (P-256 and P-384 are)",
                )),
            }
        }
        (other, scheme) => Err(Error::invalid(
            "algorithm",
            format!("public key type {other} does not suit the signature scheme {scheme:?}"),
        )),
    }
}
