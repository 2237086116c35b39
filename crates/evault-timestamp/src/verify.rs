//! Checking a TSA reply or a stored token: status, imprint, nonce, the
//! signed attributes and their signature, ESSCertIDv2 or ESSCertID, the timeStamping
//! EKU, the certificate's validity at the stamped time, and the chain to
//! the user's trust anchors.

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};

use crate::anchors::Anchors;
use der::Decode;

use crate::asn1::{Reader, Tlv, tag};
use crate::cert::Cert;
use crate::digest::Hash;
use crate::error::{Error, Result};
use crate::oids;
use crate::token::{SignedToken, TstInfo, token_of};

/// How long a chain may be before evault gives up (signer to anchor).
const MAX_CHAIN: usize = 8;

/// What a reply or token must be about.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The message whose hash the token must carry.
    pub message: &'a [u8],
    /// The request's nonce (unsigned big-endian, no leading zeros), when the
    /// reply answers a request evault made.
    pub nonce: Option<&'a [u8]>,
}

/// Whether the TSA's certificate chains to one of the user's anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// It does; the anchor's subject.
    Trusted {
        /// The anchor the chain ends at.
        anchor: String,
    },
    /// It does not (or no anchors were given); why.
    NotTrusted {
        /// Where the chain stopped.
        why: String,
    },
}

impl Trust {
    /// `chains to <anchor>`, or why the TSA is not trusted.
    pub fn describe(&self) -> String {
        match self {
            Self::Trusted { anchor } => format!("chains to {anchor}"),
            Self::NotTrusted { why } => why.clone(),
        }
    }
}

/// A token that checked out: what it says and whether its TSA is trusted.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// The TSA's time (genTime).
    pub time: DateTime<Utc>,
    /// The TSA's stated accuracy, in microseconds.
    pub accuracy_micros: Option<u64>,
    /// The token's serial number, hex.
    pub serial: String,
    /// The TSA policy OID.
    pub policy: String,
    /// The signing certificate's subject.
    pub tsa: String,
    /// SHA-256 of the signing certificate, hex.
    pub tsa_cert_sha256: String,
    /// The imprint's hash algorithm.
    pub hash: Hash,
    /// Trust in the TSA.
    pub trust: Trust,
}

impl Stamp {
    /// "valid and trusted" or "valid, TSA not trusted".
    pub fn verdict(&self) -> &'static str {
        match self.trust {
            Trust::Trusted { .. } => "valid and trusted",
            Trust::NotTrusted { .. } => "valid, TSA not trusted",
        }
    }
}

/// Checks a DER TimeStampResp against `expected` and `anchors`.
pub fn check_reply(reply: &[u8], expected: &Expected<'_>, anchors: &Anchors) -> Result<Stamp> {
    check_token(token_of(reply)?, expected, anchors)
}

/// Checks a DER TimeStampToken (CMS ContentInfo) against `expected` and `anchors`.
pub fn check_token(token: &[u8], expected: &Expected<'_>, anchors: &Anchors) -> Result<Stamp> {
    check(
        token,
        Imprint::Message(expected.message),
        expected.nonce,
        anchors,
    )
}

/// Checks a DER TimeStampToken (CMS ContentInfo) or TimeStampResp against
/// a known imprint: the `hash` digest of the stamped data, when only the
/// hash is at hand. The verdicts are those of [`check_token`].
pub fn check_token_digest(
    token_or_reply: &[u8],
    hash: Hash,
    digest: &[u8],
    anchors: &Anchors,
) -> Result<Stamp> {
    let token = match token_of(token_or_reply) {
        Ok(token) => token,
        // Not a reply: taken as a token (its own errors then say why).
        Err(Error::Malformed(_)) => token_or_reply,
        Err(e) => return Err(e),
    };
    check(token, Imprint::Digest(hash, digest), None, anchors)
}

/// What the token's imprint must be.
#[derive(Clone, Copy)]
enum Imprint<'a> {
    /// The hash of this message, with the token's hash algorithm.
    Message(&'a [u8]),
    /// This digest, with this algorithm.
    Digest(Hash, &'a [u8]),
}

fn check(
    token: &[u8],
    imprint: Imprint<'_>,
    nonce: Option<&[u8]>,
    anchors: &Anchors,
) -> Result<Stamp> {
    let signed = SignedToken::parse(token)?;
    let tst = TstInfo::parse(signed.tst_info)?;

    match imprint {
        Imprint::Message(message) if tst.hash.digest(message) != tst.imprint => {
            return Err(Error::invalid(
                "imprint",
                "the token is over other data than this checkpoint",
            ));
        }
        Imprint::Digest(hash, _) if hash != tst.hash => {
            return Err(Error::invalid(
                "imprint",
                format!(
                    "the token's imprint is a {} digest, not {}",
                    tst.hash.name(),
                    hash.name()
                ),
            ));
        }
        Imprint::Digest(_, digest) if digest != tst.imprint => {
            return Err(Error::invalid(
                "imprint",
                "the token is over other data than the digest given",
            ));
        }
        _ => {}
    }
    // The request's nonce is unsigned; the token's is a DER INTEGER.
    if let Some(nonce) = nonce
        && tst.nonce.as_deref() != Some(&integer_contents(nonce)[..])
    {
        return Err(Error::invalid(
            "nonce",
            "the reply's nonce is not the request's (a reply to another request, or replayed)",
        ));
    }

    let signer = &signed.signer;
    let content_type = signer
        .attribute(oids::CONTENT_TYPE)?
        .ok_or_else(|| Error::invalid("content-type", "no content-type attribute"))?;
    if content_type.oid("content type")? != oids::TST_INFO {
        return Err(Error::invalid(
            "content-type",
            "signed content type is not TSTInfo",
        ));
    }
    let digest = signer
        .attribute(oids::MESSAGE_DIGEST)?
        .ok_or_else(|| Error::invalid("message-digest", "no message-digest attribute"))?;
    if digest.octets("message digest")? != signer.digest.digest(signed.tst_info) {
        return Err(Error::invalid(
            "message-digest",
            "the TSTInfo was changed after signing",
        ));
    }

    let mut pool = signed
        .certs
        .iter()
        .map(|der| Cert::from_der(der))
        .collect::<Result<Vec<_>>>()?;
    // The token must carry it (certReq): then whether it verifies does not
    // depend on which anchors the checker happens to hold.
    let at = pool.iter().position(|c| c.is(&signer.id)).ok_or_else(|| {
        Error::invalid(
            "certificate",
            "the token does not carry the TSA's certificate (request with certReq set)",
        )
    })?;
    let cert = pool.remove(at);
    let cert = &cert;
    check_ess_cert_ids(
        signer.attribute(oids::SIGNING_CERTIFICATE)?,
        signer.attribute(oids::SIGNING_CERTIFICATE_V2)?,
        cert,
    )?;
    cert.check_time_stamping_eku()?;
    crate::signature::verify(
        cert.spki()?,
        signer.scheme,
        signer.digest,
        &signer.signed_bytes(),
        signer.signature,
    )?;
    cert.valid_at(tst.gen_time)?;
    if let Some(name) = &tst.tsa_name {
        check_tsa_name(name, cert)?;
    }

    pool.extend(anchors.intermediates.iter().cloned());
    let trust = trust(cert, &pool, anchors, tst.gen_time);
    Ok(Stamp {
        time: tst.gen_time,
        accuracy_micros: tst.accuracy_micros,
        serial: hex(&tst.serial),
        policy: tst.policy,
        tsa: cert.subject(),
        tsa_cert_sha256: hex(&cert.digest(Hash::Sha256)),
        hash: tst.hash,
        trust,
    })
}

/// The signing certificate must be named by ESSCertIDv2 (RFC 5035) or, in
/// tokens from TSAs that send only the original attribute (OpenSSL's
/// default), by ESSCertID (RFC 2634, a SHA-1 hash); when both are present,
/// both must name it.
fn check_ess_cert_ids(v1: Option<Tlv<'_>>, v2: Option<Tlv<'_>>, cert: &Cert) -> Result<()> {
    if v1.is_none() && v2.is_none() {
        return Err(Error::invalid(
            "ess-cert-id",
            "no signingCertificateV2 or signingCertificate attribute (ESSCertIDv2 or ESSCertID)",
        ));
    }
    if let Some(attr) = v2 {
        check_ess_cert_id(attr, cert, true)?;
    }
    if let Some(attr) = v1 {
        check_ess_cert_id(attr, cert, false)?;
    }
    Ok(())
}

/// The first ESSCertID(v2) of `attr` names `cert` by hash (and by serial
/// number when issuerSerial is present). Only v2 may name a hash algorithm
/// (SHA-256 when absent); v1 is always SHA-1.
fn check_ess_cert_id(attr: Tlv<'_>, cert: &Cert, v2: bool) -> Result<()> {
    const WHAT: &str = "signing certificate";
    let name = if v2 { "ESSCertIDv2" } else { "ESSCertID" };
    let mut sc = attr.contents(tag::SEQUENCE, WHAT)?;
    let mut ids = sc.sequence()?;
    let mut id = ids.sequence()?;
    let expected = if !v2 {
        Sha1::digest(&cert.der).to_vec()
    } else if id.peek() == Some(tag::SEQUENCE) {
        cert.digest(Hash::from_oid(id.algorithm()?.0, "ess-cert-id")?)
    } else {
        cert.digest(Hash::Sha256)
    };
    if id.any()?.octets(WHAT)? != expected {
        return Err(Error::invalid(
            "ess-cert-id",
            format!("{name} does not name the certificate that signed"),
        ));
    }
    if let Some(issuer_serial) = id.optional(tag::SEQUENCE)? {
        let mut is = Reader::new(issuer_serial.value, WHAT);
        is.expect(tag::SEQUENCE)?; // GeneralNames
        if is.any()?.integer(WHAT)? != cert.serial()? {
            return Err(Error::invalid(
                "ess-cert-id",
                format!("{name} names another serial number"),
            ));
        }
    }
    id.end()?;
    Ok(())
}

/// The TSTInfo's `tsa` field, when present, must name the signer (RFC 3161
/// §2.4.2; OpenSSL checks it too): a directoryName equal to the
/// certificate's subject, or a name among its subjectAltName entries.
fn check_tsa_name(general_name: &[u8], cert: &Cert) -> Result<()> {
    const DIRECTORY_NAME: u8 = tag::context(4);
    let name = Tlv::parse_all(general_name, "TSTInfo tsa name")?;
    if name.tag == DIRECTORY_NAME {
        let mut r = name.contents(DIRECTORY_NAME, "TSTInfo tsa name")?;
        let dn = r.expect(tag::SEQUENCE)?;
        r.end()?;
        let subject = cert.subject_der()?;
        if dn.raw == subject.as_slice() || same_name(dn.raw, &subject) {
            return Ok(());
        }
        return Err(Error::invalid(
            "tsa-name",
            format!(
                "the token names its TSA {}, but {} signed it",
                x509_cert::name::Name::from_der(dn.raw)
                    .map_or_else(|_| "(unreadable name)".into(), |n| n.to_string()),
                cert.subject()
            ),
        ));
    }
    if cert
        .alt_names()
        .iter()
        .any(|alt| alt.as_slice() == general_name)
    {
        return Ok(());
    }
    Err(Error::invalid(
        "tsa-name",
        format!(
            "the token names its TSA by a name that {} (the signer) does not carry",
            cert.subject()
        ),
    ))
}

/// Two DER Names that differ only in string types, case or spacing (as
/// OpenSSL's canonical comparison allows).
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let canon = |der: &[u8]| {
        x509_cert::name::Name::from_der(der).ok().map(|n| {
            n.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
    };
    matches!((canon(a), canon(b)), (Some(x), Some(y)) if x == y)
}

/// The DER INTEGER contents of an unsigned big-endian number.
fn integer_contents(unsigned: &[u8]) -> Vec<u8> {
    let trimmed = match unsigned.iter().position(|b| *b != 0) {
        Some(i) => &unsigned[i..],
        None => &[0][..],
    };
    let mut out = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
    out
}

/// Follows issuers from the signer through the token's certificates and
/// the intermediates given to a root anchor; every certificate must be
/// valid at the stamped time. Whatever stops the walk (a weak or
/// unsupported algorithm above the TSA certificate included) makes the
/// verdict "not trusted", never "invalid": that is for the token's own
/// signature, imprint and attributes.
fn trust(signer: &Cert, pool: &[Cert], anchors: &Anchors, at: DateTime<Utc>) -> Trust {
    if anchors.roots.is_empty() {
        let why = if anchors.intermediates.is_empty() {
            "no trust anchors given".to_owned()
        } else {
            format!(
                "no trust anchors given: the {} certificate(s) given are not self-signed, so they serve only as intermediates",
                anchors.intermediates.len()
            )
        };
        return Trust::NotTrusted { why };
    }
    let not_trusted = |why: String| Trust::NotTrusted { why };
    let mut current = signer;
    for _ in 0..MAX_CHAIN {
        if let Some(a) = anchors.roots.iter().find(|a| a.der == current.der) {
            return Trust::Trusted {
                anchor: a.subject(),
            };
        }
        // A candidate that is not valid at the stamped time is skipped, not
        // fatal: a renewed certificate of the same name may follow it.
        let mut refused = None;
        for a in &anchors.roots {
            match current.issued_by(a) {
                Ok(true) if a.valid_at(at).is_ok() => {
                    return Trust::Trusted {
                        anchor: a.subject(),
                    };
                }
                Err(e) => refused = Some(e),
                _ => {}
            }
        }
        let mut next = None;
        for c in pool {
            if c.der == current.der || !c.is_ca() || c.valid_at(at).is_err() {
                continue;
            }
            match current.issued_by(c) {
                Ok(true) => {
                    next = Some(c);
                    break;
                }
                Err(e) => refused = Some(e),
                Ok(false) => {}
            }
        }
        match (next, refused) {
            (Some(c), _) => current = c,
            (None, Some(e)) => {
                return not_trusted(format!(
                    "the chain stops at {}: its issuer's signature on it cannot be checked ({e})",
                    current.subject()
                ));
            }
            (None, None) => {
                return not_trusted(format!(
                    "the chain ends at {}, issued by {}, which is not among the trust anchors valid at the stamped time",
                    current.subject(),
                    current.x509.tbs_certificate().issuer()
                ));
            }
        }
    }
    not_trusted(format!("no anchor within {MAX_CHAIN} certificates"))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
