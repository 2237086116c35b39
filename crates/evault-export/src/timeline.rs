//! The story in time order: photos (captured and recorded), carrier events
//! and chat messages, read from the order's evidence.
//!
//! Accepted inputs (anything else is exported verbatim and said so):
//! - tracking events: CSV with a header naming a time column (`time`,
//!   `timestamp`, `date`), an event column (`event`, `status`,
//!   `description`) and optionally a place column (`location`, `place`,
//!   `city`); or JSON `{"carrier", "tracking_number", "events": [{"time",
//!   "place", "status"}]}`;
//! - chats: WhatsApp-style lines (`[24/11/2026, 18:02] Name: text` or
//!   `24/11/2026, 18:02 - Name: text`), `YYYY-MM-DD HH:MM[:SS] name: text`
//!   lines, CSV `time,sender,text`, or JSON `[{"time", "sender", "text"}]`.
//!
//! Times with a UTC offset are ordered by their instant; times without one
//! (most chat exports) are shown as written and marked "zone unknown", and
//! ordered as if they were UTC: the timeline never invents a zone.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use evault_core::{Evidence, EvidenceKind};
use serde::Deserialize;

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
    /// A record in the vault (a dispute).
    Record,
}

impl Event {
    /// An event at a vault `recorded_at` time (RFC 3339, UTC).
    pub(crate) fn at_recorded(seq: u64, recorded_at: &str, what: String) -> Option<Event> {
        event(seq, Source::Record, recorded_at, what)
    }
}

/// What reading one piece of evidence gave.
pub(crate) enum Read {
    /// Events found.
    Events(Vec<Event>),
    /// Not a shape the timeline reads (the file is still exported).
    Unrecognised,
    /// Not a timeline source (photos, invoices...).
    NotASource,
}

/// Parses a time: RFC 3339 (with offset), or a naive date-time in common forms.
fn parse_time(s: &str) -> Option<(NaiveDateTime, String)> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.with_timezone(&Utc).naive_utc(), s.to_owned()));
    }
    const FORMS: [&str; 8] = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%d/%m/%Y, %H:%M:%S",
        "%d/%m/%Y, %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ];
    // `%Y` also takes 2-digit years (`26` would be year 26): those are read
    // with the `%y` forms instead, and years before 1970 are refused.
    FORMS
        .iter()
        .chain(&[
            "%d/%m/%y, %H:%M:%S",
            "%d/%m/%y, %H:%M",
            "%d/%m/%y %H:%M:%S",
            "%d/%m/%y %H:%M",
        ])
        .filter_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .find(|t| t.year() >= 1970)
        .map(|t| (t, format!("{s} (zone unknown)")))
}

fn event(seq: u64, source: Source, time: &str, what: String) -> Option<Event> {
    let (at, shown) = parse_time(time)?;
    Some(Event {
        at,
        shown,
        what,
        seq,
        source,
    })
}

/// Reads one evidence file's bytes into events.
pub(crate) fn read(seq: u64, e: &Evidence, bytes: &[u8]) -> Read {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return if matches!(e.kind, EvidenceKind::TrackingEvents | EvidenceKind::ChatLog) {
            Read::Unrecognised
        } else {
            Read::NotASource
        };
    };
    let events = match e.kind {
        EvidenceKind::TrackingEvents => tracking(seq, text),
        EvidenceKind::ChatLog => chat(seq, text),
        _ => return Read::NotASource,
    };
    if events.is_empty() {
        Read::Unrecognised
    } else {
        Read::Events(events)
    }
}

/// Splits CSV text into records of fields (RFC 4180: quotes with `""`
/// escapes; a quoted field may hold commas and line breaks, which stay in
/// the field instead of starting a new record). Fields are trimmed; blank
/// records are dropped.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut end_record = |record: &mut Vec<String>| {
        let fields: Vec<String> = record.drain(..).map(|f| f.trim().to_owned()).collect();
        if fields.iter().any(|f| !f.is_empty()) {
            records.push(fields);
        }
        record.push(String::new());
    };
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = record.last_mut() {
                    f.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(String::new()),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n' | '\r', false) => end_record(&mut record),
            (c, _) => {
                if let Some(f) = record.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    end_record(&mut record);
    records
}

/// CSV rows as header-name -> value maps (names lowercased).
fn csv_rows(text: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = csv_records(text).into_iter();
    let header: Vec<String> = records.next()?.iter().map(|h| h.to_lowercase()).collect();
    Some((header, records.collect()))
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.as_str()))
}

#[derive(Deserialize)]
struct TrackingJson {
    carrier: Option<String>,
    tracking_number: Option<String>,
    events: Vec<TrackingEvent>,
}

#[derive(Deserialize)]
struct TrackingEvent {
    time: String,
    place: Option<String>,
    status: String,
}

fn tracking(seq: u64, text: &str) -> Vec<Event> {
    if let Ok(t) = serde_json::from_str::<TrackingJson>(text) {
        let who = [t.carrier, t.tracking_number]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        return t
            .events
            .into_iter()
            .filter_map(|e| {
                let place = e.place.map(|p| format!(", {p}")).unwrap_or_default();
                let carrier = if who.is_empty() {
                    String::new()
                } else {
                    format!(" ({who})")
                };
                event(
                    seq,
                    Source::Carrier,
                    &e.time,
                    format!("carrier{carrier}: {}{place}", e.status),
                )
            })
            .collect();
    }
    let Some((header, rows)) = csv_rows(text) else {
        return Vec::new();
    };
    let (Some(t), Some(ev)) = (
        column(&header, &["time", "timestamp", "date", "datetime"]),
        column(&header, &["event", "status", "description"]),
    ) else {
        return Vec::new();
    };
    let place = column(&header, &["location", "place", "city"]);
    rows.iter()
        .filter_map(|r| {
            let p = place
                .and_then(|i| r.get(i))
                .filter(|p| !p.is_empty())
                .map(|p| format!(", {p}"))
                .unwrap_or_default();
            event(
                seq,
                Source::Carrier,
                r.get(t)?,
                format!("carrier: {}{p}", r.get(ev)?),
            )
        })
        .collect()
}

#[derive(Deserialize)]
struct ChatMessage {
    time: String,
    sender: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChatJson {
    List(Vec<ChatMessage>),
    Wrapped { messages: Vec<ChatMessage> },
}

fn chat(seq: u64, text: &str) -> Vec<Event> {
    let say = |time: &str, who: &str, what: &str| {
        event(
            seq,
            Source::Chat,
            time,
            format!("chat, {}: {}", who.trim(), what.trim()),
        )
    };
    if let Ok(json) = serde_json::from_str::<ChatJson>(text) {
        let (ChatJson::List(m) | ChatJson::Wrapped { messages: m }) = json;
        return m
            .iter()
            .filter_map(|m| say(&m.time, &m.sender, &m.text))
            .collect();
    }
    if let Some((header, rows)) = csv_rows(text)
        && let (Some(t), Some(s), Some(x)) = (
            column(&header, &["time", "timestamp", "date"]),
            column(&header, &["sender", "from", "name"]),
            column(&header, &["text", "message", "body"]),
        )
    {
        return rows
            .iter()
            .filter_map(|r| say(r.get(t)?, r.get(s)?, r.get(x)?))
            .collect();
    }
    let mut out: Vec<Event> = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{200e}').trim();
        // A line starts a message only when its time parses; anything else
        // continues the previous message.
        if let Some(e) = chat_line(line).and_then(|(time, who, what)| say(time, who, what)) {
            out.push(e);
        } else if let Some(last) = out.last_mut().filter(|_| !line.is_empty()) {
            // A continuation of the previous message.
            last.what.push(' ');
            last.what.push_str(line);
        }
    }
    out
}

/// `[time] name: text`, `time - name: text` or `YYYY-MM-DD HH:MM name: text`.
fn chat_line(line: &str) -> Option<(&str, &str, &str)> {
    if let Some(rest) = line.strip_prefix('[') {
        let (time, rest) = rest.split_once(']')?;
        let (who, what) = rest.split_once(':')?;
        return Some((time, who, what));
    }
    if let Some((time, rest)) = line.split_once(" - ")
        && parse_time(time).is_some()
    {
        let (who, what) = rest.split_once(':')?;
        return Some((time, who, what));
    }
    // ISO date, a time, then `name: text`.
    let mut parts = line.splitn(3, ' ');
    let (date, clock, rest) = (parts.next()?, parts.next()?, parts.next()?);
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let time = &line[..date.len() + 1 + clock.len()];
    let (who, what) = rest.split_once(':')?;
    Some((time, who, what))
}

/// Photo events: captured (camera time, with its offset when recorded) and recorded (vault clock, UTC).
pub(crate) fn photo_events(seq: u64, e: &Evidence, recorded_at: &str) -> Vec<Event> {
    let mut out = Vec::new();
    if let Some(img) = &e.image
        && let Some(at) = &img.captured_at
    {
        let stamp = match &img.captured_offset {
            Some(off) => format!("{at}{off}"),
            None => at.clone(),
        };
        if let Some(mut ev) = event(
            seq,
            Source::Photo,
            &stamp,
            format!("photo taken: {} ({})", e.name, e.kind),
        ) {
            if img.captured_offset.is_none() {
                ev.shown = format!("{at} (camera time, zone unknown)");
            }
            out.push(ev);
        }
    }
    if let Some(ev) = event(
        seq,
        Source::Photo,
        recorded_at,
        format!("recorded in the vault: {} ({})", e.name, e.kind),
    ) {
        out.push(ev);
    }
    out
}

/// The timeline as text, one event per line, in time order.
pub(crate) fn render(mut events: Vec<Event>) -> String {
    events.sort_by_key(|e| (e.at, e.seq));
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
    fn quoted_line_breaks_stay_in_their_field() {
        // A message with a line break must not become a forged second message.
        let csv = "time,sender,text\r\n2026-11-24 18:02,buyer,\"where is it?\n2026-11-24 18:03,seller,it was refunded\"\r\n2026-11-24 18:20,seller,\"tracking says \"\"delivered\"\", at the door\"\n";
        let rows = csv_rows(csv).unwrap().1;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            rows[0][2],
            "where is it?\n2026-11-24 18:03,seller,it was refunded"
        );
        assert_eq!(rows[1][2], "tracking says \"delivered\", at the door");
    }

    #[test]
    fn chat_formats_and_tracking_shapes_are_read() {
        let wa = "[24/11/2026, 18:02] Buyer: 包裹没有到\n[24/11/2026, 18:20] Seller: tracking shows delivered\nat your door\n";
        let ev = chat(4, wa);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].what, "chat, Buyer: 包裹没有到");
        assert!(ev[1].what.ends_with("delivered at your door"));
        assert!(ev[0].shown.contains("zone unknown"));
        let two_digit = chat(
            4,
            "24/11/26, 18:02 - Buyer: hi\n2026-11-30 is the deadline: refund please\n",
        );
        assert_eq!(two_digit.len(), 1);
        assert_eq!(two_digit[0].at.to_string(), "2026-11-24 18:02:00");
        assert!(
            two_digit[0]
                .what
                .ends_with("hi 2026-11-30 is the deadline: refund please")
        );
        let iso = chat(4, "2026-11-24 18:02 buyer: the package never arrived\n");
        assert_eq!(iso.len(), 1);
        let csv = chat(
            4,
            "time,sender,text\n2026-11-24T18:02:00+08:00,buyer,\"hello, seller\"\n",
        );
        assert_eq!(csv[0].what, "chat, buyer: hello, seller");
        let json = chat(
            4,
            r#"{"messages":[{"time":"2026-11-24T10:00:00Z","sender":"b","text":"hi"}]}"#,
        );
        assert_eq!(json.len(), 1);

        let t = tracking(
            6,
            "time,location,event\n2026-11-18T10:02:00+08:00,Shenzhen,Accepted\n",
        );
        assert_eq!(t[0].what, "carrier: Accepted, Shenzhen");
        assert_eq!(t[0].at.to_string(), "2026-11-18 02:02:00");
        let j = tracking(
            6,
            r#"{"carrier":"4PX","tracking_number":"LX1","events":[{"time":"2026-11-24T11:31:00-05:00","place":"Brooklyn","status":"Delivered"}]}"#,
        );
        assert_eq!(j[0].what, "carrier (4PX LX1): Delivered, Brooklyn");
        assert!(tracking(6, "no,useful,columns\n1,2,3\n").is_empty());
    }
}
