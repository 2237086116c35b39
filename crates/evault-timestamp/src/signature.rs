//! Signature checks with the signer's public key: RSA PKCS#1 v1.5 and
//! ECDSA over P-256 or P-384, each with SHA-256, SHA-384 or SHA-512.

use const_oid::ObjectIdentifier;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Sha256, Sha384, Sha512};

use crate::asn1::{Tlv, tag};
use crate::digest::Hash;
use crate::error::{Error, Result};
use crate::oids;

/// The key family a signature algorithm needs, and the hash it names.
fn algorithm(oid: ObjectIdentifier) -> Result<(bool, Option<Hash>)> {
    // (is RSA, hash named by the algorithm)
    Ok(match oid {
        oids::RSA_ENCRYPTION => (true, None),
        oids::SHA256_WITH_RSA => (true, Some(Hash::Sha256)),
        oids::SHA384_WITH_RSA => (true, Some(Hash::Sha384)),
        oids::SHA512_WITH_RSA => (true, Some(Hash::Sha512)),
        oids::ECDSA_SHA256 => (false, Some(Hash::Sha256)),
        oids::ECDSA_SHA384 => (false, Some(Hash::Sha384)),
        oids::ECDSA_SHA512 => (false, Some(Hash::Sha512)),
        other => {
            return Err(Error::invalid(
                "algorithm",
                format!(
                    "signature algorithm {other} is not supported (RSA PKCS#1 v1.5 and ECDSA are)"
                ),
            ));
        }
    })
}

/// The hash a certificate's signature algorithm names.
pub(crate) fn certificate_hash(oid: ObjectIdentifier) -> Result<Hash> {
    algorithm(oid)?
        .1
        .ok_or_else(|| Error::invalid("algorithm", "certificate signature names no hash"))
}

/// Fails when `spki` holds an RSA or EC key that cannot be decoded (an EC
/// key must be on P-256 or P-384); other key types are left to the checks
/// that use them.
pub(crate) fn check_key(spki: &[u8]) -> Result<()> {
    let mut key = Tlv::parse_all(spki, "public key")?.contents(tag::SEQUENCE, "public key")?;
    let (key_oid, params) = key.algorithm()?;
    let ok = match key_oid {
        oids::RSA_ENCRYPTION => rsa::PublicKey::from_public_key_der(spki).is_ok(),
        oids::EC_PUBLIC_KEY => match params.map(|p| p.oid("public key")).transpose()? {
            Some(oids::P256) => p256::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok(),
            Some(oids::P384) => p384::ecdsa::VerifyingKey::from_public_key_der(spki).is_ok(),
            _ => false,
        },
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "certificate",
            "a certificate's public key is unreadable or on a curve other than P-256/P-384",
        ))
    }
}

/// Checks `signature` over `message` (hashed with `hash`) by the key in
/// `spki` (a DER SubjectPublicKeyInfo), for signature algorithm `alg`.
pub(crate) fn verify(
    spki: &[u8],
    alg: ObjectIdentifier,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let (rsa_alg, named) = algorithm(alg)?;
    if named.is_some_and(|h| h != hash) {
        return Err(Error::invalid(
            "algorithm",
            "the signature algorithm and the digest algorithm disagree",
        ));
    }
    let mut key = Tlv::parse_all(spki, "public key")?.contents(tag::SEQUENCE, "public key")?;
    let (key_oid, params) = key.algorithm()?;
    let bad = |_| Error::invalid("signature", "the signature does not match the signed bytes");
    let digest = hash.digest(message);
    match key_oid {
        oids::RSA_ENCRYPTION if rsa_alg => {
            let key = rsa::PublicKey::from_public_key_der(spki)
                .map_err(|_| Error::invalid("certificate", "unreadable RSA public key"))?;
            let scheme = match hash {
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            key.verify(scheme, &digest, signature).map_err(|_| bad(()))
        }
        oids::EC_PUBLIC_KEY if !rsa_alg => {
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
        other => Err(Error::invalid(
            "algorithm",
            format!("public key type {other} does not suit the signature algorithm {alg}"),
        )),
    }
}
