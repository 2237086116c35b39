//! Reading a TimeStampResp (RFC 3161 §2.4.2): its status, the CMS
//! SignedData of the token (RFC 5652 §5) and the TSTInfo it signs.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use const_oid::ObjectIdentifier;

use crate::asn1::{Reader, Tlv, tag};
use crate::digest::Hash;
use crate::error::{Error, Malformed, Result};
use crate::oids;
use crate::request::read_imprint;
use crate::signature::Scheme;

const RESPONSE: &str = "time-stamp reply";
const TOKEN: &str = "time-stamp token";
const TST: &str = "TSTInfo";

/// The token inside a granted reply; errors when the TSA refused.
pub(crate) fn token_of(reply: &[u8]) -> Result<&[u8]> {
    let mut resp = Tlv::parse_all(reply, RESPONSE)?.contents(tag::SEQUENCE, RESPONSE)?;
    let mut status = resp.sequence()?;
    let code = status.any()?.small(RESPONSE)?;
    let mut text = String::new();
    if let Some(strings) = status.optional(tag::SEQUENCE)? {
        let mut strings = strings.contents(tag::SEQUENCE, RESPONSE)?;
        while !strings.is_empty() {
            let s = strings.any()?;
            text.push_str(": ");
            text.push_str(&String::from_utf8_lossy(s.value));
        }
    }
    if let Some(bits) = status.optional(tag::BIT_STRING)? {
        text.push_str(&format!("; failure: {}", failure_names(bits.value)));
    }
    status.end()?;
    // 0 granted, 1 grantedWithMods; anything else carries no usable token.
    if code > 1 {
        let name = match code {
            2 => "rejection",
            3 => "waiting",
            4 => "revocationWarning",
            5 => "revocationNotification",
            _ => "unknown",
        };
        return Err(Error::Refused {
            status: code,
            text: format!(" {name}{text}"),
        });
    }
    let token = resp
        .optional(tag::SEQUENCE)?
        .ok_or(Malformed::new(RESPONSE, "status granted but no token"))?;
    resp.end()?;
    Ok(token.raw)
}

/// The names of the bits set in a PKIFailureInfo BIT STRING (RFC 3161
/// §2.4.2), whose first byte counts the unused bits of the last.
fn failure_names(bits: &[u8]) -> String {
    const NAMES: [(usize, &str); 8] = [
        (0, "badAlg"),
        (2, "badRequest"),
        (5, "badDataFormat"),
        (14, "timeNotAvailable"),
        (15, "unacceptedPolicy"),
        (16, "unacceptedExtension"),
        (17, "addInfoNotAvailable"),
        (25, "systemFailure"),
    ];
    let Some((_, body)) = bits.split_first() else {
        return "none named".into();
    };
    let set = |n: usize| body.get(n / 8).is_some_and(|b| b & (0x80 >> (n % 8)) != 0);
    let mut names: Vec<String> = NAMES
        .iter()
        .filter(|(n, _)| set(*n))
        .map(|(_, name)| (*name).to_owned())
        .collect();
    for n in 0..body.len() * 8 {
        if set(n) && !NAMES.iter().any(|(k, _)| *k == n) {
            names.push(format!("bit {n}"));
        }
    }
    if names.is_empty() {
        "none named".into()
    } else {
        names.join(", ")
    }
}

/// Who signed: by issuer and serial number, or by subject key identifier.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignerId<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    KeyId(&'a [u8]),
}

/// The one SignerInfo of a token.
#[derive(Clone, Debug)]
pub(crate) struct Signer<'a> {
    pub id: SignerId<'a>,
    pub digest: Hash,
    pub digest_oid: ObjectIdentifier,
    /// The signed attributes' contents (the SET's elements).
    pub attrs: &'a [u8],
    pub scheme: Scheme,
    pub signature: &'a [u8],
}

impl Signer<'_> {
    /// The bytes the signature covers: the attributes as a DER SET.
    pub fn signed_bytes(&self) -> Vec<u8> {
        crate::asn1::encode(tag::SET, self.attrs)
    }

    /// The single value of attribute `oid`; `None` when absent.
    pub fn attribute(&self, oid: ObjectIdentifier) -> Result<Option<Tlv<'_>>> {
        let mut found = None;
        let mut attrs = Reader::new(self.attrs, "signed attributes");
        while !attrs.is_empty() {
            let mut attr = attrs.sequence()?;
            let kind = attr.any()?.oid("signed attributes")?;
            let mut values = attr
                .expect(tag::SET)?
                .contents(tag::SET, "signed attributes")?;
            let value = values.any()?;
            values.end()?;
            attr.end()?;
            if kind == oid {
                if found.is_some() {
                    return Err(Error::invalid(
                        "signed-attributes",
                        format!("attribute {oid} appears twice"),
                    ));
                }
                found = Some(value);
            }
        }
        Ok(found)
    }
}

/// A token's SignedData: the TSTInfo bytes, the certificates, the signer.
#[derive(Clone, Debug)]
pub(crate) struct SignedToken<'a> {
    pub tst_info: &'a [u8],
    pub certs: Vec<&'a [u8]>,
    pub signer: Signer<'a>,
}

impl<'a> SignedToken<'a> {
    /// Reads a TimeStampToken (a ContentInfo holding SignedData).
    pub fn parse(token: &'a [u8]) -> Result<Self> {
        let mut info = Tlv::parse_all(token, TOKEN)?.contents(tag::SEQUENCE, TOKEN)?;
        if info.any()?.oid(TOKEN)? != oids::SIGNED_DATA {
            return Err(Error::invalid(
                "content-type",
                "the token is not CMS SignedData",
            ));
        }
        let mut explicit = info.explicit(0)?;
        info.end()?;
        let mut sd = explicit.sequence()?;
        explicit.end()?;
        sd.any()?.small(TOKEN)?; // version
        let mut digests = sd.expect(tag::SET)?.contents(tag::SET, TOKEN)?;
        let mut digest_algorithms = Vec::new();
        while !digests.is_empty() {
            digest_algorithms.push(digests.algorithm()?.0);
        }
        let mut encap = sd.sequence()?;
        if encap.any()?.oid(TOKEN)? != oids::TST_INFO {
            return Err(Error::invalid(
                "content-type",
                "the signed content is not a TSTInfo",
            ));
        }
        let mut econtent = encap.explicit(0)?;
        encap.end()?;
        let tst_info = econtent.any()?.octets(TOKEN)?;
        econtent.end()?;
        let mut certs = Vec::new();
        if let Some(set) = sd.optional(tag::context(0))? {
            let mut set = set.contents(tag::context(0), TOKEN)?;
            while !set.is_empty() {
                let cert = set.any()?;
                // Other CertificateChoices (attribute certificates) are skipped.
                if cert.tag == tag::SEQUENCE {
                    certs.push(cert.raw);
                }
            }
        }
        sd.optional(tag::context(1))?; // crls
        let mut signers = sd.expect(tag::SET)?.contents(tag::SET, TOKEN)?;
        sd.end()?;
        let signer = read_signer(&mut signers)?;
        if !digest_algorithms.contains(&signer.digest_oid) {
            return Err(
                Malformed::new(TOKEN, "the signer's digest algorithm is not listed").into(),
            );
        }
        if !signers.is_empty() {
            return Err(Error::invalid(
                "signature",
                "the token has more than one signer",
            ));
        }
        Ok(Self {
            tst_info,
            certs,
            signer,
        })
    }
}

fn read_signer<'a>(signers: &mut Reader<'a>) -> Result<Signer<'a>> {
    const WHAT: &str = "signer info";
    let mut si = signers.sequence()?;
    let version = si.any()?.small(WHAT)?;
    let id = match si.peek() {
        Some(tag::SEQUENCE) if version == 1 => {
            let mut ias = si.sequence()?;
            let issuer = ias.expect(tag::SEQUENCE)?.raw;
            let serial = ias.any()?.integer(WHAT)?;
            ias.end()?;
            SignerId::IssuerSerial { issuer, serial }
        }
        Some(t) if t == tag::context_primitive(0) && version == 3 => {
            SignerId::KeyId(si.any()?.value)
        }
        _ => return Err(Malformed::new(WHAT, "unknown signer identifier").into()),
    };
    let (digest_oid, _) = si.algorithm()?;
    let digest = Hash::from_oid(digest_oid, "algorithm")?;
    let attrs = si
        .optional(tag::context(0))?
        .ok_or_else(|| Error::invalid("signed-attributes", "the signer has no signed attributes"))?
        .value;
    let (algorithm, params) = si.algorithm()?;
    let scheme = Scheme::of(algorithm, params)?;
    let signature = si.any()?.octets(WHAT)?;
    si.optional(tag::context(1))?; // unsigned attributes
    si.end()?;
    Ok(Signer {
        id,
        digest,
        digest_oid,
        attrs,
        scheme,
        signature,
    })
}

/// The TSTInfo facts evault checks and shows (RFC 3161 §2.4.2).
#[derive(Clone, Debug)]
pub(crate) struct TstInfo {
    /// The policy in dotted form (read by hand: an arc may exceed what
    /// const-oid holds, and the policy is only shown).
    pub policy: String,
    pub hash: Hash,
    pub imprint: Vec<u8>,
    pub serial: Vec<u8>,
    pub gen_time: DateTime<Utc>,
    pub accuracy_micros: Option<u64>,
    /// The nonce's DER INTEGER contents (two's complement: some TSAs send
    /// negative nonces).
    pub nonce: Option<Vec<u8>>,
    /// The `tsa` GeneralName's DER, when the TSA names itself.
    pub tsa_name: Option<Vec<u8>>,
}

impl TstInfo {
    pub fn parse(der: &[u8]) -> Result<Self> {
        let mut tst = Tlv::parse_all(der, TST)?.contents(tag::SEQUENCE, TST)?;
        if tst.any()?.small(TST)? != 1 {
            return Err(Malformed::new(TST, "version is not 1").into());
        }
        let policy_tlv = tst.any()?;
        if policy_tlv.tag != tag::OID {
            return Err(Malformed::new(TST, "expected the policy object identifier").into());
        }
        let policy = oid_text(policy_tlv.value).ok_or(Malformed::new(
            TST,
            "the policy object identifier is not valid DER",
        ))?;
        let (hash, imprint) = read_imprint(&mut tst, TST)?;
        let serial = tst.any()?.integer(TST)?.to_vec();
        let gen_time = generalized_time(tst.expect(tag::GENERALIZED_TIME)?.value)?;
        let accuracy_micros = match tst.optional(tag::SEQUENCE)? {
            Some(acc) => Some(accuracy(acc)?),
            None => None,
        };
        tst.optional(tag::BOOLEAN)?; // ordering
        let nonce = match tst.optional(tag::INTEGER)? {
            Some(n) => Some(n.integer(TST)?.to_vec()),
            None => None,
        };
        let tsa_name = match tst.optional(tag::context(0))? {
            Some(name) => {
                let mut r = name.contents(tag::context(0), TST)?;
                let general_name = r.any()?;
                r.end()?;
                Some(general_name.raw.to_vec())
            }
            None => None,
        };
        tst.optional(tag::context(1))?; // extensions
        tst.end()?;
        Ok(Self {
            policy,
            hash,
            imprint,
            serial,
            gen_time,
            accuracy_micros,
            nonce,
            tsa_name,
        })
    }
}

/// An OBJECT IDENTIFIER's contents in dotted form, whatever the size of
/// its arcs; `None` when the encoding is not valid DER.
pub(crate) fn oid_text(bytes: &[u8]) -> Option<String> {
    // Each arc as base-128 groups, turned into decimal digits by hand (an
    // arc may exceed every integer type: 2.25.<UUID> or text as arcs).
    let mut arcs: Vec<Vec<u8>> = Vec::new();
    let mut groups = Vec::new();
    for &b in bytes {
        if groups.is_empty() && b == 0x80 {
            return None; // a leading zero group
        }
        groups.push(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(std::mem::take(&mut groups));
        }
    }
    if !groups.is_empty() || arcs.is_empty() {
        return None;
    }
    let decimal = |groups: &[u8], minus: u8| -> String {
        // Little-endian base-10 digits.
        let mut digits = vec![0u8];
        for g in groups {
            let mut carry = u32::from(*g);
            for d in &mut digits {
                let v = u32::from(*d) * 128 + carry;
                *d = (v % 10) as u8;
                carry = v / 10;
            }
            while carry > 0 {
                digits.push((carry % 10) as u8);
                carry /= 10;
            }
        }
        // Less the first arc's share of the first subidentifier (0, 40 or
        // 80; never more than the value).
        let (mut rest, mut borrow) = (minus, 0u8);
        for d in &mut digits {
            if rest == 0 && borrow == 0 {
                break;
            }
            let sub = rest % 10 + borrow;
            rest /= 10;
            if *d >= sub {
                *d -= sub;
                borrow = 0;
            } else {
                *d = *d + 10 - sub;
                borrow = 1;
            }
        }
        while digits.len() > 1 && digits.last() == Some(&0) {
            digits.pop();
        }
        digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
    };
    // The first subidentifier is 40 * first + second (first 0, 1 or 2).
    let first: u128 = arcs[0]
        .iter()
        .take(3)
        .fold(0u128, |v, g| (v << 7) | u128::from(*g));
    let (a, minus) = match (arcs[0].len(), first) {
        (1..=3, 0..40) => (0, 0),
        (1..=3, 40..80) => (1, 40),
        _ => (2, 80),
    };
    let mut text = format!("{a}.{}", decimal(&arcs[0], minus));
    for arc in &arcs[1..] {
        text.push('.');
        text.push_str(&decimal(arc, 0));
    }
    Some(text)
}

/// Accuracy ::= SEQUENCE { seconds INTEGER OPT, millis [0] OPT, micros [1] OPT }.
fn accuracy(acc: Tlv<'_>) -> Result<u64> {
    let mut r = acc.contents(tag::SEQUENCE, TST)?;
    let mut total = 0u64;
    if let Some(s) = r.optional(tag::INTEGER)? {
        total = total.saturating_add(s.small(TST)?.saturating_mul(1_000_000));
    }
    for (n, scale) in [(0u8, 1000u64), (1, 1)] {
        if let Some(v) = r.optional(tag::context_primitive(n))? {
            let v = Tlv {
                tag: tag::INTEGER,
                ..v
            };
            total = total.saturating_add(v.small(TST)?.saturating_mul(scale));
        }
    }
    r.end()?;
    Ok(total)
}

/// GeneralizedTime as DER requires it: `YYYYMMDDHHMMSS[.f*]Z`.
fn generalized_time(value: &[u8]) -> Result<DateTime<Utc>, Malformed> {
    let bad = Malformed::new(TST, "genTime is not a DER GeneralizedTime");
    let text = std::str::from_utf8(value).map_err(|_| bad.clone())?;
    let body = text.strip_suffix('Z').ok_or(bad.clone())?;
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.len() != 14
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.ends_with('0')
        || fraction.len() > 9
    {
        return Err(bad);
    }
    let naive = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").map_err(|_| bad.clone())?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits: u32 = fraction.parse().map_err(|_| bad.clone())?;
        digits * 10u32.pow(9 - fraction.len() as u32)
    };
    let at = naive.and_utc() + chrono::Duration::nanoseconds(i64::from(nanos));
    // Guard against years chrono accepts but no TSA would issue.
    let floor = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(1990, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or(bad.clone())?,
    );
    if at < floor {
        return Err(bad);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_identifiers_of_any_size_read_as_dotted_text() {
        let enc = |arcs: &[&str]| {
            // Encodes decimal arcs of any size (via u128 here: enough for tests).
            let v: Vec<u128> = arcs.iter().map(|a| a.parse().unwrap()).collect();
            let mut out = Vec::new();
            for arc in std::iter::once(v[0] * 40 + v[1]).chain(v[2..].iter().copied()) {
                let mut g = vec![(arc & 0x7f) as u8];
                let mut x = arc >> 7;
                while x > 0 {
                    g.push((x & 0x7f) as u8 | 0x80);
                    x >>= 7;
                }
                g.reverse();
                out.extend(g);
            }
            out
        };
        for oid in [
            "1.2.840.113549.1.9.16.1.4",
            "0.9.2342.19200300.100.1.1",
            "2.5.4.97",
            "2.999.3",
            "2.25.340282366920938463463374607431768211455",
        ] {
            let arcs: Vec<&str> = oid.split('.').collect();
            assert_eq!(oid_text(&enc(&arcs)).as_deref(), Some(oid));
        }
        // An arc beyond 128 bits: 2^140, written by hand in base 128.
        let mut big = vec![0x2a];
        big.push(0x80 | 0x01);
        big.extend([0x80; 19]);
        big.push(0x00);
        assert_eq!(
            oid_text(&big).as_deref(),
            Some("1.2.1393796574908163946345982392040522594123776")
        );
        assert_eq!(oid_text(&[0x2a, 0x80, 0x01]), None); // leading zero group
        assert_eq!(oid_text(&[0x2a, 0x86]), None); // cut short
        assert_eq!(oid_text(&[]), None);
    }

    #[test]
    fn generalized_times() {
        let t = generalized_time(b"20261126033741Z").expect("plain");
        assert_eq!(t.to_rfc3339(), "2026-11-26T03:37:41+00:00");
        let t = generalized_time(b"20261126033741.25Z").expect("fraction");
        assert_eq!(t.timestamp_subsec_millis(), 250);
        for bad in [
            &b"20261126033741"[..],
            b"20261126033741.20Z",
            b"2026112603374Z",
            b"20261326033741Z",
            b"20261126033741+0100",
        ] {
            assert!(
                generalized_time(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
