//! Chats exported as JSON:
//! - Telegram Desktop ("Export chat history", JSON; `messages[]` with
//!   `date` (local time), `date_unixtime` (since 2021), `from`/`actor`,
//!   `text` as a string or a list of strings and `{type, text}` pieces);
//! - Facebook Messenger and Instagram ("Download your information", JSON;
//!   `messages[]` with `sender_name`, `timestamp_ms`, `content`, newest
//!   first, text UTF-8 bytes written as `\u00XX` escapes; the 2024
//!   end-to-end encrypted export: `senderName`, `timestamp`, `text`);
//! - a plain list `[{"time", "sender", "text"}]` or `{"messages": [...]}`.
//!
//! A message without a readable time is kept verbatim in its place.

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::Value;

use super::time::{self, Column};
use super::{Event, Reading, Record, Source, chat_what};

const SHAPES: &[&str] = &[
    "Telegram Desktop JSON",
    "Messenger/Instagram JSON",
    "JSON list of {time, sender, text}",
];

/// Which JSON chat this is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Telegram,
    Messenger,
    Plain,
}

pub(super) fn read(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    let value: Value = serde_json::from_str(text.trim_start())
        .or_else(|_| serde_json::from_str(&without_trailing_commas(text)))
        .map_err(|_| SHAPES)?;
    // (the chat it is in, for an export of several chats; the message)
    let mut messages: Vec<(Option<&str>, &Value)> = Vec::new();
    let kind = match &value {
        Value::Array(list) => {
            messages.extend(list.iter().map(|m| (None, m)));
            Kind::Plain
        }
        Value::Object(o) => {
            if let Some(Value::Array(list)) = o.get("messages") {
                messages.extend(list.iter().map(|m| (None, m)));
            } else if let Some(Value::Array(chats)) = o.get("chats").and_then(|c| c.get("list")) {
                // A Telegram export of the whole account: every chat.
                for chat in chats {
                    let name = chat
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("unnamed chat");
                    if let Some(Value::Array(list)) = chat.get("messages") {
                        messages.extend(list.iter().map(|m| (Some(name), m)));
                    }
                }
            } else {
                return Err(SHAPES);
            }
            let first = messages.iter().find_map(|(_, m)| m.as_object());
            match first {
                Some(m)
                    if (m.contains_key("date") || m.contains_key("date_unixtime"))
                        && (m.contains_key("type") || m.contains_key("date_unixtime")) =>
                {
                    Kind::Telegram
                }
                Some(m)
                    if m.contains_key("timestamp_ms")
                        || m.contains_key("senderName")
                        || m.contains_key("sender_name") =>
                {
                    Kind::Messenger
                }
                _ => Kind::Plain,
            }
        }
        _ => return Err(SHAPES),
    };
    let plain_times = Column::new(messages.iter().filter_map(|(_, m)| str_of(m, PLAIN_TIME)));
    let mut records: Vec<Record> = messages
        .iter()
        .enumerate()
        .map(|(i, (chat, m))| {
            let read = match kind {
                Kind::Telegram => telegram(m),
                Kind::Messenger => messenger(m),
                Kind::Plain => plain(m, &plain_times),
            };
            match read {
                Some(((at, shown), who, said)) => Record::Read(Event {
                    at,
                    shown,
                    what: match (who, chat) {
                        (Some(who), Some(chat)) => format!("chat, {who} (in {chat}): {said}"),
                        (None, Some(chat)) => format!("chat (in {chat}): {said}"),
                        (who, None) => chat_what(who.as_deref(), &said),
                    },
                    seq,
                    source: Source::Chat,
                    ord: i,
                }),
                None => Record::NotRead {
                    // JSON has no useful line numbers: the message's place.
                    line: i + 1,
                    text: m.to_string(),
                },
            }
        })
        .collect();
    if !records.iter().any(|r| matches!(r, Record::Read(_))) && kind == Kind::Plain {
        return Err(SHAPES);
    }
    // Messenger writes the newest message first: show them in time order.
    if kind == Kind::Messenger && newest_first(&records) {
        records.reverse();
        for (i, r) in records.iter_mut().enumerate() {
            if let Record::Read(e) = r {
                e.ord = i;
            }
        }
    }
    Ok(Reading {
        shape: Some(
            SHAPES[match kind {
                Kind::Telegram => 0,
                Kind::Messenger => 1,
                Kind::Plain => 2,
            }],
        ),
        records,
        notes: if kind == Kind::Plain {
            plain_times.note().into_iter().collect()
        } else {
            Vec::new()
        },
        tried: Vec::new(),
        first_lines: Vec::new(),
    })
}

type Message = ((NaiveDateTime, String), Option<String>, String);

fn str_of<'a>(m: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| m.get(*k)?.as_str())
}

/// Telegram: `date` is the exporting computer's local time; with
/// `date_unixtime` the instant is known and the offset is shown.
fn telegram(m: &Value) -> Option<Message> {
    let local = m
        .get("date")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%dT%H:%M:%S").ok());
    let utc = m
        .get("date_unixtime")
        .and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| v.as_i64())
        })
        .filter(|u| *u > 0)
        .and_then(|u| chrono::DateTime::from_timestamp(u, 0));
    let when = match (local, utc) {
        (Some(local), Some(utc)) => {
            let offset = local - utc.naive_utc();
            // Offsets are whole minutes within ±14 h; anything else means
            // the two disagree (anonymised exports write 0): local time.
            match i32::try_from(offset.num_seconds())
                .ok()
                .filter(|s| s % 60 == 0 && offset.abs() <= TimeDelta::hours(14))
                .and_then(chrono::FixedOffset::east_opt)
            {
                Some(zone) => (utc.naive_utc(), utc.with_timezone(&zone).to_rfc3339()),
                None => (local, time::unzoned(local, true)),
            }
        }
        (Some(local), None) => (local, time::unzoned(local, true)),
        (None, Some(utc)) => time::from_millis(utc.timestamp_millis())?,
        (None, None) => return None,
    };
    let who = str_of(m, &["from", "actor"]).map(str::to_owned);
    let mut said = match m.get("text") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => other.get("text").and_then(Value::as_str).unwrap_or(""),
            })
            .collect(),
        _ => String::new(),
    };
    if let Some(action) = str_of(m, &["action"]) {
        said = format!("[{}] {said}", action.replace('_', " "));
    }
    let attached = [
        ("photo", "photo"),
        ("file", "file"),
        ("sticker_emoji", "sticker"),
        ("media_type", "media"),
    ]
    .iter()
    .find_map(|(k, what)| m.get(*k).map(|v| (*what, v.as_str().unwrap_or(""))));
    if let Some((what, name)) = attached {
        let name = name.rsplit('/').next().unwrap_or(name);
        said = format!("[{what}: {name}] {said}");
    }
    Some((when, who, said.trim().to_owned()))
}

/// Messenger/Instagram: milliseconds since 1970 (UTC).
fn messenger(m: &Value) -> Option<Message> {
    let ms = m
        .get("timestamp_ms")
        .or_else(|| m.get("timestamp"))?
        .as_i64()?;
    let when = time::from_millis(ms)?;
    let who = str_of(m, &["sender_name", "senderName"]).map(fix_mojibake);
    let mut said = str_of(m, &["content", "text"])
        .map(fix_mojibake)
        .unwrap_or_default();
    for (key, what) in [
        ("photos", "photo"),
        ("videos", "video"),
        ("files", "file"),
        ("audio_files", "audio"),
        ("media", "media"),
    ] {
        if let Some(Value::Array(items)) = m.get(key)
            && !items.is_empty()
        {
            said = format!(
                "[{} {what}{}] {said}",
                items.len(),
                if items.len() == 1 { "" } else { "s" }
            );
        }
    }
    if m.get("is_unsent")
        .or_else(|| m.get("isUnsent"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        said = format!("[unsent] {said}");
    }
    Some((when, who, said.trim().to_owned()))
}

const PLAIN_TIME: &[&str] = &[
    "time",
    "timestamp",
    "date",
    "datetime",
    "sent_at",
    "created_at",
];

/// `{"time", "sender", "text"}` and synonyms.
fn plain(m: &Value, times: &Column) -> Option<Message> {
    let when = match PLAIN_TIME.iter().find_map(|k| m.get(*k))? {
        Value::String(s) => times.parse(s)?,
        Value::Number(n) => {
            let n = n.as_i64()?;
            // Seconds or milliseconds since 1970.
            time::from_number(n)?
        }
        _ => return None,
    };
    let who = str_of(m, &["sender", "from", "author", "name", "user"]).map(str::to_owned);
    let said = str_of(m, &["text", "message", "body", "content"])?;
    Some((when, who, said.trim().to_owned()))
}

/// JSON with commas before `}` or `]` removed (outside strings), as some
/// hand-edited or scraped copies of exports have them.
fn without_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut pending_comma: Option<String> = None;
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if let Some(held) = &mut pending_comma {
            if c.is_whitespace() {
                held.push(c);
                continue;
            }
            let held = pending_comma.take().unwrap_or_default();
            if c == '}' || c == ']' {
                out.push_str(&held[1..]);
            } else {
                out.push_str(&held);
            }
        }
        match c {
            ',' => pending_comma = Some(",".into()),
            '"' => {
                in_string = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push_str(&pending_comma.unwrap_or_default());
    out
}

/// Text whose UTF-8 bytes were written as one `\u00XX` escape each (as
/// Facebook's exports do) decoded back; other text as it is.
fn fix_mojibake(s: &str) -> String {
    if s.chars().all(|c| (c as u32) < 0x100) && s.chars().any(|c| (c as u32) >= 0x80) {
        let bytes: Vec<u8> = s.chars().map(|c| c as u8).collect();
        if let Ok(fixed) = String::from_utf8(bytes) {
            return fixed;
        }
    }
    s.to_owned()
}

/// Whether most steps between read messages go back in time.
fn newest_first(records: &[Record]) -> bool {
    let times: Vec<NaiveDateTime> = records
        .iter()
        .filter_map(|r| match r {
            Record::Read(e) => Some(e.at),
            Record::NotRead { .. } => None,
        })
        .collect();
    let back = times.windows(2).filter(|p| p[1] < p[0]).count();
    let forward = times.windows(2).filter(|p| p[1] > p[0]).count();
    back > forward
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_pieces_and_offsets() {
        let j = r#"{"name":"Ann","type":"personal_chat","id":1,"messages":[
            {"id":1,"type":"message","date":"2023-03-01T10:00:00","date_unixtime":"1677657600","from":"Ann","from_id":"user1","text":["see ",{"type":"link","text":"https://t.me"}," now"]},
            {"id":2,"type":"service","date":"2023-03-01T10:01:00","date_unixtime":"1677657660","actor":"Bob","action":"pin_message","text":""},
            {"id":3,"type":"message","date":"2023-03-01T10:02:00","from":"Bob","text":"old export","photo":"photos/photo_1.jpg"}
        ]}"#;
        let r = read(4, j).unwrap();
        assert_eq!(r.shape, Some("Telegram Desktop JSON"));
        let ev: Vec<&Event> = r.events().collect();
        assert_eq!(ev[0].what, "chat, Ann: see https://t.me now");
        assert_eq!(ev[0].shown, "2023-03-01T10:00:00+02:00");
        assert_eq!(ev[0].at.to_string(), "2023-03-01 08:00:00");
        assert_eq!(ev[1].what, "chat, Bob: [pin message]");
        assert_eq!(ev[2].what, "chat, Bob: [photo: photo_1.jpg] old export");
        assert!(ev[2].shown.contains("zone unknown"));
    }

    #[test]
    fn messenger_mojibake_and_order() {
        let j = r#"{"participants":[{"name":"Ren\u00c3\u00a9e"}],"messages":[
            {"sender_name":"Ren\u00c3\u00a9e","timestamp_ms":1577880060000,"content":"o\u00c3\u00b9 est mon colis ?","type":"Generic"},
            {"sender_name":"Shop","timestamp_ms":1577880000000,"photos":[{"uri":"x.jpg"}],"type":"Generic"}
        ]}"#;
        let r = read(4, j).unwrap();
        let ev: Vec<&Event> = r.events().collect();
        assert_eq!(ev[0].what, "chat, Shop: [1 photo]");
        assert_eq!(ev[1].what, "chat, Renée: où est mon colis ?");
        assert_eq!(ev[1].shown, "2020-01-01 12:01:00 UTC");
    }

    #[test]
    fn plain_lists_keep_unreadable_messages() {
        let r = read(4, r#"{"messages":[{"time":"2026-11-24T10:00:00Z","sender":"b","text":"hi"},{"time":"later","sender":"c","text":"x"}]}"#).unwrap();
        assert_eq!(r.read(), 1);
        assert!(
            matches!(&r.records[1], Record::NotRead { line: 2, text } if text.contains("later"))
        );
        assert!(read(4, r#"{"a":1}"#).is_err());
        assert!(read(4, "[1,2]").is_err());
    }
}
