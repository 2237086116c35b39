//! E-mails (`.eml`, RFC 5322 with MIME) read with mail-parser: one event at
//! the message's `Date` (its offset kept), from its sender, with its
//! subject; and the text the PDF shows: the headers a reader needs and the
//! plain-text body (an HTML-only message turned into text by mail-parser).

use mail_parser::{Address, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::{Event, Reading, Record, Source, time};

const SHAPES: &[&str] = &["e-mail (RFC 5322)"];

/// The most bytes of an e-mail's text shown (its body can be a whole thread).
const MAX_TEXT: usize = 256 << 10;

fn first(a: Option<&Address<'_>>) -> Option<String> {
    let a = a?.first()?;
    Some(match (a.name(), a.address()) {
        (Some(n), Some(addr)) => format!("{n} <{addr}>"),
        (Some(n), None) => n.to_owned(),
        (None, Some(addr)) => addr.to_owned(),
        (None, None) => return None,
    })
}

/// Whether a `Date` header's zone gives an offset: a numeric one other
/// than `-0000`, or a name RFC 5322 defines (mail-parser reads any other
/// name as UTC, which would invent a zone).
fn zone_known(raw: &str) -> bool {
    const NAMED: [&str; 12] = [
        "UT", "GMT", "UTC", "Z", "EDT", "EST", "CDT", "CST", "MDT", "MST", "PDT", "PST",
    ];
    let zone = raw
        .split_whitespace()
        .skip_while(|t| !t.contains(':'))
        .nth(1);
    match zone {
        Some(z) if z.starts_with(['+', '-']) => z != "-0000",
        Some(z) => NAMED.contains(&z.to_ascii_uppercase().as_str()),
        None => false,
    }
}

pub(super) fn read(seq: u64, bytes: &[u8]) -> Reading {
    let Some(m) = MessageParser::default().parse(bytes) else {
        return Reading::none(SHAPES.to_vec(), None);
    };
    let from = first(m.from()).unwrap_or_else(|| "(no sender)".into());
    let subject = m.subject().unwrap_or("(no subject)");
    let raw_date = m.header_raw("Date").unwrap_or_default();
    let when = m.date().filter(|d| d.is_valid()).and_then(|d| {
        if zone_known(raw_date) {
            time::parse(&d.to_rfc3339())
        } else {
            // `-0000`, a zone name mail-parser does not know (`JST`), or
            // none: the sender's local time, zone not known (RFC 5322 §3.3).
            let at = chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())?
                .and_hms_opt(d.hour.into(), d.minute.into(), d.second.into())?;
            Some((at, time::unzoned(at, true)))
        }
    });
    // A Date without any zone, which mail-parser does not read.
    let when = when.or_else(|| {
        let t = raw_date.trim();
        [
            "%a, %d %b %Y %H:%M:%S",
            "%d %b %Y %H:%M:%S",
            "%a, %d %b %Y %H:%M",
        ]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .map(|at| (at, time::unzoned(at, true)))
    });
    let record = match when {
        Some((at, shown)) => Record::Read(Event {
            at,
            shown,
            what: format!("e-mail, {from}: {subject}"),
            seq,
            source: Source::Email,
            ord: 0,
        }),
        None => Record::NotRead {
            line: 1,
            text: format!("e-mail without a readable Date header, from {from}: {subject}"),
        },
    };
    Reading {
        shape: Some(SHAPES[0]),
        records: vec![record],
        notes: Vec::new(),
        tried: Vec::new(),
        first_lines: Vec::new(),
    }
}

/// What the PDFs show of an e-mail: From and To (decoded), Date as written,
/// Subject (decoded), then the plain-text body; `None` when it is not an e-mail.
pub(crate) fn text(bytes: &[u8]) -> Option<String> {
    let m = MessageParser::default().parse(bytes)?;
    let mut s = String::new();
    for (label, value) in [
        ("From", first(m.from())),
        ("To", first(m.to())),
        ("Date", m.header_raw("Date").map(|d| d.trim().to_owned())),
        ("Subject", m.subject().map(str::to_owned)),
    ] {
        if let Some(v) = value {
            s.push_str(&format!("{label}: {v}\n"));
        }
    }
    s.push('\n');
    let body = m.body_text(0).unwrap_or_default();
    let mut cut = body.len().min(MAX_TEXT);
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    s.push_str(body[..cut].trim_end());
    if cut < body.len() {
        s.push_str(&format!(
            "\n[the body continues for {} more bytes; the whole message is the original file]",
            body.len() - cut
        ));
    }
    // Attachments are named and hashed, never opened: their bytes stay
    // inside the original message file.
    let attachments: Vec<String> = m
        .attachments()
        .map(|a| {
            let name = a.attachment_name().unwrap_or("(no name)");
            let kind = a.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or("*")),
            );
            let bytes = a.contents();
            let sha = Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            format!("- {name} ({kind}, {} bytes, SHA-256 {sha})", bytes.len())
        })
        .collect();
    if !attachments.is_empty() {
        s.push_str(&format!(
            "\n\nAttachments ({}; not opened, kept inside the original message):\n{}",
            attachments.len(),
            attachments.join("\n")
        ));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &[u8] = b"From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.com>\r\nTo: shop@example.com\r\nDate: Tue, 24 Nov 2026 18:02:00 +0100\r\nSubject: =?UTF-8?B?T8O5IGVzdCBtb24gY29saXMgPw==?=\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nJe n'ai rien re=E7u.\r\n";

    #[test]
    fn an_email_is_one_event_at_its_date() {
        let r = read(3, MAIL);
        let e = r.events().next().unwrap();
        assert_eq!(e.at.to_string(), "2026-11-24 17:02:00");
        assert_eq!(e.shown, "2026-11-24T18:02:00+01:00");
        assert_eq!(
            e.what,
            "e-mail, Renée <renee@example.com>: Où est mon colis ?"
        );
        let t = text(MAIL).unwrap();
        assert!(
            t.starts_with("From: Renée <renee@example.com>\nTo: shop@example.com\n"),
            "{t}"
        );
        assert!(t.ends_with("\n\nJe n'ai rien reçu."), "{t}");
    }

    #[test]
    fn legacy_charsets_and_unknown_zones() {
        let gbk = b"From: buyer@example.cn\r\nDate: Tue, 24 Nov 2026 18:02:00 -0000\r\nSubject: =?GBK?B?sPy5/A==?=\r\nContent-Type: text/plain; charset=GBK\r\n\r\n\xb0\xfc\xb9\xfc\r\n";
        let r = read(3, gbk);
        let e = r.events().next().unwrap();
        assert_eq!(e.what, "e-mail, buyer@example.cn: 包裹");
        assert_eq!(e.shown, "2026-11-24 18:02:00 (zone unknown)");
        assert!(text(gbk).unwrap().ends_with("\n\n包裹"));
    }

    #[test]
    fn a_zone_name_rfc_5322_does_not_define_is_not_invented() {
        for (date, shown) in [
            (
                "Tue, 24 Nov 2026 18:02:00 JST",
                "2026-11-24 18:02:00 (zone unknown)",
            ),
            (
                "Tue, 24 Nov 2026 18:02:00",
                "2026-11-24 18:02:00 (zone unknown)",
            ),
            ("Tue, 24 Nov 2026 18:02:00 EST", "2026-11-24T18:02:00-05:00"),
            (
                "Tue, 24 Nov 2026 18:02:00 +0100 (CET)",
                "2026-11-24T18:02:00+01:00",
            ),
        ] {
            let mail = format!("From: a@b.c\r\nDate: {date}\r\nSubject: s\r\n\r\nx\r\n");
            let r = read(3, mail.as_bytes());
            let got = r.events().next().map(|e| e.shown.clone());
            assert_eq!(got.as_deref(), Some(shown), "{date}: {:?}", r.records);
        }
    }

    #[test]
    fn attachments_are_listed_with_their_hashes_not_opened() {
        let mail = b"From: a@b.c\r\nDate: Tue, 24 Nov 2026 18:02:00 +0100\r\nSubject: photos\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nSee the photo.\r\n--XX\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"box.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--XX--\r\n";
        let t = text(mail).unwrap();
        // SHA-256 of the decoded bytes, "hello".
        let line = "- box.jpg (image/jpeg, 5 bytes, SHA-256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824)";
        assert!(t.contains("See the photo."), "{t}");
        assert!(
            t.ends_with(&format!(
                "Attachments (1; not opened, kept inside the original message):\n{line}"
            )),
            "{t}"
        );
    }

    #[test]
    fn no_date_is_not_read() {
        let r = read(3, b"From: a@b.c\r\nSubject: hi\r\n\r\nbody\r\n");
        assert_eq!(r.read(), 0);
        assert_eq!(r.lines_not_read(), 1);
    }
}
