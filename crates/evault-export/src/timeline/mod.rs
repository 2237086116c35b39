//! The story in time order: photos (captured and recorded), carrier events
//! and chat messages, read from the order's evidence.
//!
//! Every reader returns a [`Reading`]: the file's records in file order,
//! each either read (an [`Event`] with its sender and time) or kept
//! verbatim as a line not read, so nothing is dropped and nothing is put
//! under another message. Accepted shapes are listed in `docs/bundle.md`
//! ("What the timeline reads"); a file that matches none is exported as
//! recorded and the reading names the shapes tried.
//!
//! Times with a UTC offset are ordered by their instant; times without one
//! (most chat exports) are shown as written and marked "zone unknown", and
//! ordered as if they were UTC: the timeline never invents a zone. Records
//! of one file with equal times keep the file's order.

mod chat_json;
mod chat_lines;
mod clock;
mod csv;
mod email;
mod line_app;
mod telegram_html;
mod time;
mod tracking;
mod tracking_xml;

use chrono::NaiveDateTime;
use evault_core::{Evidence, EvidenceKind};

/// One moment of the story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The instant used for ordering.
    pub at: NaiveDateTime,
    /// The time as shown (with its offset, or marked "zone unknown").
    pub shown: String,
    /// What happened.
    pub what: String,
    /// Which evidence entry it comes from.
    pub seq: u64,
    /// What kind of source it comes from.
    pub source: Source,
    /// Its place in its file (ties in time keep the file's order).
    pub ord: usize,
}

/// Where an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A photo's camera time or its recording time.
    Photo,
    /// A carrier's tracking event.
    Carrier,
    /// A chat message.
    Chat,
    /// An e-mail.
    Email,
    /// A record in the vault (a dispute).
    Record,
}

impl Event {
    /// An event at a vault `recorded_at` time (RFC 3339, UTC).
    pub(crate) fn at_recorded(seq: u64, recorded_at: &str, what: String) -> Option<Event> {
        let (at, shown) = time::parse(recorded_at)?;
        Some(Event {
            at,
            shown,
            what,
            seq,
            source: Source::Record,
            ord: 0,
        })
    }

    /// The time as the summary PDF's timeline shows it
    /// (`2026-11-18 09:12:31 +08:00`, `… UTC`, or as written).
    pub fn when(&self) -> String {
        crate::summary::pretty_time(&self.shown)
    }

    /// The sort key of the merged timeline: the instant, then the entry,
    /// then the place in its file.
    pub fn key(&self) -> (NaiveDateTime, u64, usize) {
        (self.at, self.seq, self.ord)
    }
}

/// One record of a source file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A message or carrier event that was read.
    Read(Event),
    /// Text that starts a record but could not be read (its time, its
    /// shape), kept verbatim in its place.
    NotRead {
        /// Its place in the file, from 1: the line of a text or CSV file,
        /// the item's number in a JSON or XML list or an HTML export.
        line: usize,
        /// The text as recorded (one or more lines).
        text: String,
    },
}

/// What reading one chat or tracking file gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// The shape that was read (`WhatsApp (iPhone)`, `AfterShip JSON`...);
    /// `None` when the file matches no shape.
    pub shape: Option<&'static str>,
    /// The records, in file order.
    pub records: Vec<Record>,
    /// Remarks a reader should see (`date order ambiguous: ...`).
    pub notes: Vec<String>,
    /// The shapes tried, when none matched.
    pub tried: Vec<&'static str>,
    /// For chats read line by line, the line (from 1) each record read
    /// starts on.
    pub(crate) first_lines: Vec<usize>,
}

impl Reading {
    /// The events read, in file order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.records.iter().filter_map(|r| match r {
            Record::Read(e) => Some(e),
            Record::NotRead { .. } => None,
        })
    }

    /// How many records were read.
    pub fn read(&self) -> usize {
        self.events().count()
    }

    /// How many lines of the file were not read (blank lines aside).
    pub fn lines_not_read(&self) -> usize {
        self.records
            .iter()
            .map(|r| match r {
                Record::NotRead { text, .. } => {
                    text.lines().filter(|l| !l.trim().is_empty()).count().max(1)
                }
                Record::Read(_) => 0,
            })
            .sum()
    }

    /// For chats read line by line (WhatsApp-style lines, LINE), the lines
    /// of `text` (numbered from 1) found in no record: not the first line of
    /// a record read, not inside a record's text (a continuation, a record
    /// not read), not a LINE title, "saved on" or date line. Empty when
    /// every line is kept; always empty for other shapes. A check of the
    /// readers' rule that no line is lost.
    pub fn unaccounted_lines(&self, text: &str) -> Vec<usize> {
        let line_shape = self
            .shape
            .is_some_and(|s| s.starts_with("chat lines") || s.starts_with("LINE"));
        if !line_shape {
            return Vec::new();
        }
        let clean = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && *c != '"' && !crate::pdf::is_invisible(*c))
                .collect()
        };
        let kept: Vec<String> = self
            .records
            .iter()
            .map(|r| match r {
                Record::Read(e) => clean(&e.what),
                Record::NotRead { text, .. } => clean(text),
            })
            .collect();
        let titled = text.trim_start().starts_with("[LINE]");
        text.lines()
            .enumerate()
            .filter(|(i, raw)| {
                let l = clean(raw);
                !(l.is_empty()
                    || self.first_lines.contains(&(i + 1))
                    || (titled && *i < 2)
                    || line_app::date_line_text(raw)
                    || kept.iter().any(|k| k.contains(&l)))
            })
            .map(|(i, _)| i + 1)
            .collect()
    }

    /// Whether the file matched no shape at all.
    pub fn unrecognised(&self) -> bool {
        self.shape.is_none()
    }

    /// A reading of a file that matched none of `tried`.
    fn none(tried: Vec<&'static str>, why: Option<String>) -> Self {
        Reading {
            shape: None,
            records: Vec::new(),
            notes: why.into_iter().collect(),
            tried,
            first_lines: Vec::new(),
        }
    }
}

/// Reads a chat, e-mail or tracking file (by its evidence kind); `None` for
/// kinds the timeline does not read (photos, invoices...). Never fails: what
/// cannot be read is kept verbatim or named in [`Reading::tried`].
pub fn read(kind: EvidenceKind, seq: u64, bytes: &[u8]) -> Option<Reading> {
    let reader: fn(u64, &str) -> Reading = match kind {
        EvidenceKind::TrackingEvents => tracking::read,
        EvidenceKind::ChatLog => chat,
        EvidenceKind::Email => return Some(email::read(seq, bytes)),
        _ => return None,
    };
    Some(match decode(bytes) {
        Some(text) => reader(seq, &text),
        None => Reading::none(
            Vec::new(),
            Some("not read: it is not text (UTF-8, or UTF-16 with a byte-order mark); a chat or tracking export saved in another encoding can be converted to UTF-8 and recorded again".into()),
        ),
    })
}

/// The text of a chat message event: `chat, <sender>: <text>`, or
/// `chat: <text>` for a line with no sender (the transcripts strip these
/// prefixes).
pub(crate) fn chat_what(who: Option<&str>, said: &str) -> String {
    match who {
        Some(who) => format!("chat, {who}: {said}"),
        None => format!("chat: {said}"),
    }
}

/// Text from UTF-8 (a byte-order mark dropped) or BOM-marked UTF-16;
/// `None` for other bytes.
pub fn decode(bytes: &[u8]) -> Option<String> {
    let utf16 = |le: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| {
                if le {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    match bytes {
        [0xef, 0xbb, 0xbf, rest @ ..] => std::str::from_utf8(rest).ok().map(str::to_owned),
        [0xff, 0xfe, ..] => utf16(true),
        [0xfe, 0xff, ..] => utf16(false),
        _ => std::str::from_utf8(bytes).ok().map(str::to_owned),
    }
}

/// What the PDFs show of a file as recorded: an e-mail's headers and text
/// body, other files' text ([`decode`]).
pub(crate) fn shown_text(kind: EvidenceKind, bytes: &[u8]) -> Option<String> {
    match kind {
        EvidenceKind::Email => email::text(bytes),
        _ => decode(bytes),
    }
}

/// Chat exports: JSON (Telegram, Messenger/Instagram, a plain list),
/// Telegram's HTML, CSV, LINE text, then line-per-message text (WhatsApp and
/// the like).
fn chat(seq: u64, text: &str) -> Reading {
    let mut tried = Vec::new();
    for reader in [
        chat_json::read,
        telegram_html::read,
        csv::read_chat,
        line_app::read,
        chat_lines::read,
    ] {
        match reader(seq, text) {
            Ok(reading) => return reading,
            Err(shapes) => tried.extend_from_slice(shapes),
        }
    }
    Reading::none(tried, None)
}

/// Photo events: captured (camera time, with its offset when recorded) and recorded (vault clock, UTC).
pub(crate) fn photo_events(seq: u64, e: &Evidence, recorded_at: &str) -> Vec<Event> {
    let mut out = Vec::new();
    let photo = |time: &str, what: String, ord: usize| {
        let (at, shown) = time::parse(time)?;
        Some(Event {
            at,
            shown,
            what,
            seq,
            source: Source::Photo,
            ord,
        })
    };
    if let Some(img) = &e.image
        && let Some(at) = &img.captured_at
    {
        let stamp = match &img.captured_offset {
            Some(off) => format!("{at}{off}"),
            None => at.clone(),
        };
        if let Some(mut ev) = photo(&stamp, format!("photo taken: {} ({})", e.name, e.kind), 0) {
            if img.captured_offset.is_none() {
                ev.shown = format!("{at} (camera time, zone unknown)");
            }
            out.push(ev);
        }
    }
    let length = e
        .video
        .as_ref()
        .and_then(|v| v.duration_ms)
        .map(|ms| format!(", {}:{:02} long", ms / 60_000, ms / 1000 % 60))
        .unwrap_or_default();
    out.extend(photo(
        recorded_at,
        format!("recorded in the vault: {} ({}{length})", e.name, e.kind),
        1,
    ));
    out
}

/// The timeline as text, one event per line, in time order.
pub(crate) fn render(mut events: Vec<Event>) -> String {
    events.sort_by_key(Event::key);
    let mut s = String::from(
        "Timeline (times with an offset are ordered by their instant; \"zone unknown\" times are ordered as if UTC)\n\n",
    );
    for e in events {
        // One line per event: a line break inside a message cannot pass for another event.
        let what = e.what.replace(['\n', '\r'], " ");
        s.push_str(&format!("{}  [entry {}]  {what}\n", e.shown, e.seq));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_keep_the_files_order() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_opt(18, 2, 0))
            .unwrap();
        let ev = |seq, ord, what: &str| Event {
            at,
            shown: "2026-11-24 18:02 (zone unknown)".into(),
            what: what.into(),
            seq,
            source: Source::Chat,
            ord,
        };
        let text = render(vec![
            ev(5, 1, "second"),
            ev(5, 0, "first"),
            ev(4, 9, "earlier entry"),
        ]);
        let order: Vec<&str> = text
            .lines()
            .skip(2)
            .map(|l| l.rsplit("  ").next().unwrap())
            .collect();
        assert_eq!(order, ["earlier entry", "first", "second"]);
    }
}
