//! A strict DER reader for the few CMS and RFC 3161 structures evault walks
//! by hand. It keeps every element's exact bytes, which signature checks
//! need (the signed attributes are verified over the bytes as sent).

use const_oid::ObjectIdentifier;

use crate::error::Malformed;

/// Universal tags used here.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[n]` constructed, context-specific.
    pub const fn context(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive, context-specific.
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// One element: its tag, its contents and its whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The one element that is all of `bytes`.
    pub fn parse_all(bytes: &'a [u8], what: &'static str) -> Result<Self, Malformed> {
        let mut r = Reader::new(bytes, what);
        let tlv = r.any()?;
        r.end()?;
        Ok(tlv)
    }

    /// A reader over this element's contents, which must have tag `expected`.
    pub fn contents(&self, expected: u8, what: &'static str) -> Result<Reader<'a>, Malformed> {
        if self.tag != expected {
            return Err(Malformed::new(what, "unexpected element type"));
        }
        Ok(Reader::new(self.value, what))
    }

    /// This element as an object identifier.
    pub fn oid(&self, what: &'static str) -> Result<ObjectIdentifier, Malformed> {
        if self.tag != tag::OID {
            return Err(Malformed::new(what, "expected an object identifier"));
        }
        ObjectIdentifier::from_bytes(self.value)
            .map_err(|_| Malformed::new(what, "invalid object identifier"))
    }

    /// The contents of an OCTET STRING.
    pub fn octets(&self, what: &'static str) -> Result<&'a [u8], Malformed> {
        if self.tag != tag::OCTET_STRING {
            return Err(Malformed::new(what, "expected an octet string"));
        }
        Ok(self.value)
    }

    /// The big-endian two's-complement bytes of an INTEGER, checked minimal.
    pub fn integer(&self, what: &'static str) -> Result<&'a [u8], Malformed> {
        if self.tag != tag::INTEGER || self.value.is_empty() {
            return Err(Malformed::new(what, "expected an integer"));
        }
        if self.value.len() > 1
            && ((self.value[0] == 0 && self.value[1] & 0x80 == 0)
                || (self.value[0] == 0xff && self.value[1] & 0x80 != 0))
        {
            return Err(Malformed::new(what, "integer is not minimally encoded"));
        }
        Ok(self.value)
    }

    /// A small non-negative INTEGER.
    pub fn small(&self, what: &'static str) -> Result<u64, Malformed> {
        let bytes = self.integer(what)?;
        if bytes[0] & 0x80 != 0 || bytes.len() > 9 || (bytes.len() == 9 && bytes[0] != 0) {
            return Err(Malformed::new(what, "integer out of range"));
        }
        Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }
}

/// Reads consecutive elements from a byte slice.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`; `what` names the structure in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Fails unless everything was read.
    pub fn end(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed::new(self.what, "trailing bytes"))
        }
    }

    /// The tag of the next element, if any.
    pub fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever it is.
    pub fn any(&mut self) -> Result<Tlv<'a>, Malformed> {
        let bad = |why| Malformed::new(self.what, why);
        let (&tag, after_tag) = self.rest.split_first().ok_or(bad("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(bad("multi-byte tags are not used here"));
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or(bad("truncated"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(bad("indefinite length (BER, not DER)"));
            }
            if n > 4 || after_len.len() < n {
                return Err(bad("length out of range"));
            }
            let (len_bytes, rest) = after_len.split_at(n);
            after_len = rest;
            if len_bytes[0] == 0 {
                return Err(bad("length is not minimally encoded"));
            }
            let len = len_bytes
                .iter()
                .fold(0usize, |n, b| (n << 8) | usize::from(*b));
            if len < 0x80 {
                return Err(bad("length is not minimally encoded"));
            }
            len
        };
        if after_len.len() < len {
            return Err(bad("truncated"));
        }
        let header = self.rest.len() - after_len.len();
        let raw = &self.rest[..header + len];
        let value = &after_len[..len];
        self.rest = &after_len[len..];
        Ok(Tlv { tag, value, raw })
    }

    /// The next element, which must have tag `expected`.
    pub fn expect(&mut self, expected: u8) -> Result<Tlv<'a>, Malformed> {
        match self.peek() {
            Some(t) if t == expected => self.any(),
            Some(_) => Err(Malformed::new(self.what, "unexpected element")),
            None => Err(Malformed::new(self.what, "truncated")),
        }
    }

    /// The next element if it has tag `t`.
    pub fn optional(&mut self, t: u8) -> Result<Option<Tlv<'a>>, Malformed> {
        if self.peek() == Some(t) {
            self.any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// A SEQUENCE and a reader over its contents.
    pub fn sequence(&mut self) -> Result<Reader<'a>, Malformed> {
        let what = self.what;
        self.expect(tag::SEQUENCE)?.contents(tag::SEQUENCE, what)
    }

    /// An `[n] EXPLICIT` wrapper and a reader over what it wraps.
    pub fn explicit(&mut self, n: u8) -> Result<Reader<'a>, Malformed> {
        let what = self.what;
        self.expect(tag::context(n))?
            .contents(tag::context(n), what)
    }

    /// An AlgorithmIdentifier: its OID and its parameters (if any and not NULL).
    pub fn algorithm(&mut self) -> Result<(ObjectIdentifier, Option<Tlv<'a>>), Malformed> {
        let what = self.what;
        let mut alg = self.sequence()?;
        let oid = alg.any()?.oid(what)?;
        let params = match alg.peek() {
            None => None,
            Some(tag::NULL) => {
                alg.any()?;
                None
            }
            Some(_) => Some(alg.any()?),
        };
        alg.end()?;
        Ok((oid, params))
    }
}

/// DER for a definite length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One DER element.
pub(crate) fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// A DER INTEGER holding the unsigned big-endian `bytes`.
pub(crate) fn encode_unsigned(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut value = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        value.push(0);
    }
    value.extend_from_slice(trimmed);
    encode(tag::INTEGER, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let value = vec![7u8; len];
            let der = encode(tag::OCTET_STRING, &value);
            let tlv = Tlv::parse_all(&der, "test").expect("parses");
            assert_eq!(tlv.value.len(), len);
            assert_eq!(tlv.raw.len(), der.len());
        }
    }

    #[test]
    fn ber_and_truncation_are_refused() {
        assert!(Tlv::parse_all(&[0x30, 0x80, 0, 0], "t").is_err());
        assert!(Tlv::parse_all(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], "t").is_err());
        assert!(Tlv::parse_all(&[0x04, 0x03, 1, 2], "t").is_err());
        assert!(Tlv::parse_all(&[0x04, 0x01, 1, 9], "t").is_err());
    }

    #[test]
    fn unsigned_integers_are_minimal_and_positive() {
        assert_eq!(encode_unsigned(&[0, 0, 0x7f]), vec![2, 1, 0x7f]);
        assert_eq!(encode_unsigned(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(encode_unsigned(&[0, 0]), vec![2, 1, 0]);
        let der = encode_unsigned(&[0x80, 1]);
        let tlv = Tlv::parse_all(&der, "t").expect("parses");
        assert!(tlv.integer("t").is_ok());
        assert_eq!(tlv.small("t").expect("small"), 0x8001);
    }
}
