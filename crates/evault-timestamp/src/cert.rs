//! Certificates: the fields checks need, read from the exact DER bytes,
//! plus x509-cert's view for names, validity and extensions.

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectKeyIdentifier};

use crate::asn1::{Tlv, tag};
use crate::digest::Hash;
use crate::error::{Error, Result};
use crate::oids;
use crate::signature::{self, Scheme};

/// One X.509 certificate and its DER bytes.
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    pub x509: Certificate,
}

/// Raw parts of a certificate's DER.
struct Raw<'a> {
    tbs: &'a [u8],
    sig_alg: (ObjectIdentifier, Option<Tlv<'a>>),
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    signature: &'a [u8],
}

impl Cert {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let x509 = Certificate::from_der(der)
            .map_err(|e| Error::invalid("certificate", format!("unreadable certificate: {e}")))?;
        let cert = Self {
            der: der.to_vec(),
            x509,
        };
        signature::check_key(cert.raw()?.spki)?;
        Ok(cert)
    }

    fn raw(&self) -> Result<Raw<'_>> {
        const WHAT: &str = "certificate";
        let mut outer = Tlv::parse_all(&self.der, WHAT)?.contents(tag::SEQUENCE, WHAT)?;
        let tbs_tlv = outer.expect(tag::SEQUENCE)?;
        let sig_alg = outer.algorithm()?;
        let bits = outer.expect(tag::BIT_STRING)?.value;
        outer.end()?;
        let mut tbs = tbs_tlv.contents(tag::SEQUENCE, WHAT)?;
        tbs.optional(tag::context(0))?;
        let serial = tbs.expect(tag::INTEGER)?.value;
        tbs.algorithm()?;
        let issuer = tbs.expect(tag::SEQUENCE)?.raw;
        tbs.expect(tag::SEQUENCE)?; // validity
        let subject = tbs.expect(tag::SEQUENCE)?.raw;
        let spki = tbs.expect(tag::SEQUENCE)?.raw;
        let signature = match bits.split_first() {
            Some((0, sig)) => sig,
            _ => {
                return Err(Error::invalid(
                    "certificate",
                    "signature bit string is not whole bytes",
                ));
            }
        };
        Ok(Raw {
            tbs: tbs_tlv.raw,
            sig_alg,
            serial,
            issuer,
            subject,
            spki,
            signature,
        })
    }

    /// The subject as an RFC 4514 string.
    pub fn subject(&self) -> String {
        self.x509.tbs_certificate().subject().to_string()
    }

    /// The SubjectPublicKeyInfo's DER.
    pub fn spki(&self) -> Result<&[u8]> {
        Ok(self.raw()?.spki)
    }

    /// Whether this certificate is the one a CMS signer identifier names.
    pub fn is(&self, id: &crate::token::SignerId<'_>) -> bool {
        let Ok(raw) = self.raw() else { return false };
        match id {
            crate::token::SignerId::IssuerSerial { issuer, serial } => {
                raw.issuer == *issuer && raw.serial == *serial
            }
            crate::token::SignerId::KeyId(key_id) => matches!(
                self.x509.tbs_certificate().get_extension::<SubjectKeyIdentifier>(),
                Ok(Some((_, ski))) if ski.0.as_bytes() == *key_id
            ),
        }
    }

    /// The serial number's DER contents.
    pub fn serial(&self) -> Result<Vec<u8>> {
        Ok(self.raw()?.serial.to_vec())
    }

    /// Whether its issuer is its subject (a root; its self-signature is
    /// not what makes it trusted, the user's choice is).
    pub fn is_self_issued(&self) -> bool {
        self.raw().is_ok_and(|r| r.issuer == r.subject)
    }

    /// The DER of each subjectAltName entry (GeneralName).
    pub fn alt_names(&self) -> Vec<Vec<u8>> {
        use der::Encode;
        match self
            .x509
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectAltName>()
        {
            Ok(Some((_, san))) => san.0.iter().filter_map(|n| n.to_der().ok()).collect(),
            _ => Vec::new(),
        }
    }

    /// The subject's DER.
    pub fn subject_der(&self) -> Result<Vec<u8>> {
        Ok(self.raw()?.subject.to_vec())
    }

    /// Whether `issuer`'s subject is this certificate's issuer and its key
    /// signed this certificate.
    pub fn issued_by(&self, issuer: &Cert) -> Result<bool> {
        let (me, them) = (self.raw()?, issuer.raw()?);
        if me.issuer != them.subject {
            return Ok(false);
        }
        let scheme = Scheme::of(me.sig_alg.0, me.sig_alg.1)?;
        let hash = scheme
            .hash()
            .ok_or_else(|| Error::invalid("algorithm", "certificate signature names no hash"))?;
        // A signature that does not match: not this issuer. A key or curve
        // evault cannot use: the question cannot be answered (an error).
        match signature::verify(them.spki, scheme, hash, me.tbs, me.signature) {
            Ok(()) => Ok(true),
            Err(Error::Invalid {
                check: "signature", ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fails unless `at` is within the certificate's validity period.
    pub fn valid_at(&self, at: DateTime<Utc>) -> Result<()> {
        let validity = self.x509.tbs_certificate().validity();
        let from = DateTime::<Utc>::from(std::time::SystemTime::from(validity.not_before));
        let to = DateTime::<Utc>::from(std::time::SystemTime::from(validity.not_after));
        if at < from || at > to {
            return Err(Error::invalid(
                "certificate",
                format!(
                    "certificate {} is valid from {from} to {to}, not at {at}",
                    self.subject()
                ),
            ));
        }
        Ok(())
    }

    /// Fails unless the certificate may issue certificates.
    pub fn is_ca(&self) -> bool {
        matches!(
            self.x509.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        )
    }

    /// RFC 3161 §2.3: exactly one, critical, extended key usage of
    /// id-kp-timeStamping.
    pub fn check_time_stamping_eku(&self) -> Result<()> {
        match self
            .x509
            .tbs_certificate()
            .get_extension::<ExtendedKeyUsage>()
        {
            Ok(Some((true, eku))) if eku.0 == [oids::KP_TIME_STAMPING] => Ok(()),
            Ok(Some((false, _))) => Err(Error::invalid(
                "eku",
                format!("{}: the extended key usage is not critical", self.subject()),
            )),
            Ok(Some(_)) => Err(Error::invalid(
                "eku",
                format!(
                    "{}: the extended key usage is not only timeStamping",
                    self.subject()
                ),
            )),
            Ok(None) | Err(_) => Err(Error::invalid(
                "eku",
                format!(
                    "{}: no timeStamping extended key usage (RFC 3161 §2.3)",
                    self.subject()
                ),
            )),
        }
    }

    /// The certificate's hash with `hash`.
    pub fn digest(&self, hash: Hash) -> Vec<u8> {
        hash.digest(&self.der)
    }
}
