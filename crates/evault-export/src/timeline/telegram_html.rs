//! Telegram Desktop's default chat export, HTML (`messages.html`,
//! `messages2.html`...): one `<div class="message default ...">` per
//! message with its time in the `title` of `<div class="pull_right date
//! details">` (`23.08.2023 13:11:23 UTC-08:00`: the offset is the exporting
//! computer's), the sender in `<div class="from_name">` (left out of a
//! "joined" message, which is from the sender before it), the text in
//! `<div class="text">`; a forwarded message's original author is in its
//! `forwarded body`. Service messages (`message service`) are kept as
//! records not read, except the day separators (negative ids).
//!
//! Not a general HTML parser: the export is regular, and anything else in
//! the file is ignored; a message block whose time cannot be read is kept
//! verbatim (its text, tags removed).

use chrono::NaiveDateTime;

use super::{Event, Reading, Record, Source, chat_what, time};

const SHAPES: &[&str] = &["Telegram Desktop HTML"];

/// The text of HTML: tags removed (`<br>` as a line break), entities decoded,
/// white space of each line collapsed, blank lines dropped.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[i + 1..i + j];
        if tag.starts_with("br") {
            out.push('\n');
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    decode_entities(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // An entity is short: its `;` is among the next few characters.
        let end = rest
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let n = if let Some(hex) =
                        name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()?
                    } else {
                        name.strip_prefix('#')?.parse().ok()?
                    };
                    char::from_u32(n)?
                }
            };
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The inner HTML of the first `<div class="CLASS...">` in `block`, up to
/// its matching `</div>` (one pass over the tags after it).
fn div<'a>(block: &'a str, class: &str) -> Option<&'a str> {
    let open = format!("<div class=\"{class}");
    let start = block.find(&open)?;
    let inner = start + block[start..].find('>')? + 1;
    let mut depth = 1usize;
    for (i, _) in block[inner..].match_indices('<') {
        let tag = &block[inner + i..];
        if tag.starts_with("<div") {
            depth += 1;
        } else if tag.starts_with("</div>") {
            depth -= 1;
            if depth == 0 {
                return Some(&block[inner..inner + i]);
            }
        }
    }
    None
}

/// `23.08.2023 13:11:23 UTC-08:00` (or without the zone).
fn when(title: &str) -> Option<(NaiveDateTime, String)> {
    let (local, zone) = match title.split_once(" UTC") {
        Some((local, zone)) => (local, Some(zone)),
        None => (title, None),
    };
    let t = NaiveDateTime::parse_from_str(local.trim(), "%d.%m.%Y %H:%M:%S").ok()?;
    match zone {
        Some(z) => time::parse(&format!("{}{}", t.format("%Y-%m-%dT%H:%M:%S"), z.trim())),
        None => Some((t, time::unzoned(t, true))),
    }
}

pub(super) fn read(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    if !text.contains("<div class=\"message default") {
        return Err(SHAPES);
    }
    let mut records = Vec::new();
    let mut sender: Option<String> = None;
    let starts: Vec<usize> = text
        .match_indices("<div class=\"message ")
        .map(|(i, _)| i)
        .collect();
    for (n, start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(text.len());
        let block = &text[*start..end];
        let ord = records.len();
        let opening = &block[..block.find('>').unwrap_or(block.len())];
        if opening.contains("message service") {
            // Day separators have negative ids (`message-1`) and say only the date.
            let said = div(block, "body details").map(text_of).unwrap_or_default();
            if !said.is_empty() && !opening.contains("id=\"message-") {
                records.push(Record::NotRead {
                    line: ord + 1,
                    text: said,
                });
            }
            continue;
        }
        // A forwarded message holds its original author's `from_name`: the
        // sender's own is before it (a joined message has none).
        let (own, forwarded) = match block.find("<div class=\"forwarded body") {
            Some(i) => (&block[..i], Some(&block[i..])),
            None => (block, None),
        };
        if let Some(name) = div(own, "from_name").map(text_of).filter(|s| !s.is_empty()) {
            sender = Some(name);
        }
        const DATE: &str = "class=\"pull_right date details\" title=\"";
        let title = block
            .find(DATE)
            .map(|i| &block[i + DATE.len()..])
            .and_then(|t| t.split('"').next())
            .map(decode_entities);
        let mut said = div(block, "text").map(text_of).unwrap_or_default();
        if said.is_empty() && block.contains("class=\"media_wrap") {
            said = "[media]".into();
        }
        if let Some(author) = forwarded
            .and_then(|f| div(f, "from_name"))
            .map(|n| text_of(&n[..n.find("<span").unwrap_or(n.len())]))
        {
            said = format!("[forwarded from {author}] {said}");
        }
        match (title.as_deref().and_then(when), &sender) {
            (Some((at, shown)), Some(who)) => records.push(Record::Read(Event {
                at,
                shown,
                what: chat_what(Some(who), &said),
                seq,
                source: Source::Chat,
                ord,
            })),
            (_, who) => records.push(Record::NotRead {
                line: ord + 1,
                text: format!(
                    "{} {}: {said}",
                    title.unwrap_or_default(),
                    who.as_deref().unwrap_or("(no sender)")
                )
                .trim()
                .to_owned(),
            }),
        }
    }
    Ok(Reading {
        shape: Some(SHAPES[0]),
        records,
        notes: Vec::new(),
        tried: Vec::new(),
        first_lines: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_senders_and_joined_messages() {
        let html = r#"<div class="history">
 <div class="message service" id="message-1"><div class="body details">
23 November 2026
 </div></div>
 <div class="message default clearfix" id="message1"><div class="body">
  <div class="pull_right date details" title="24.11.2026 18:02:00 UTC+08:00">18:02</div>
  <div class="from_name">Batman &amp; Robin</div>
  <div class="text">Where is<br>my <a href="x">parcel</a>?</div>
 </div></div>
 <div class="message default clearfix joined" id="message2"><div class="body">
  <div class="pull_right date details" title="24.11.2026 18:03:30 UTC+08:00">18:03</div>
  <div class="text">&#128230; still nothing</div>
 </div></div>
 <div class="message service" id="message7"><div class="body details">Shop pinned a message</div></div>
</div>"#;
        let r = read(5, html).unwrap();
        let rows: Vec<String> = r
            .records
            .iter()
            .map(|rec| match rec {
                Record::Read(e) => format!("{} | {} | {}", e.at, e.shown, e.what),
                Record::NotRead { line, text } => format!("{line} not read | {text}"),
            })
            .collect();
        assert_eq!(
            rows,
            [
                "2026-11-24 10:02:00 | 2026-11-24T18:02:00+08:00 | chat, Batman & Robin: Where is\nmy parcel?",
                "2026-11-24 10:03:30 | 2026-11-24T18:03:30+08:00 | chat, Batman & Robin: 📦 still nothing",
                "3 not read | Shop pinned a message",
            ]
        );
        assert!(read(5, "<html><body>hi</body></html>").is_err());
    }

    #[test]
    fn a_forwarded_message_keeps_its_sender() {
        let html = r#"<div class="message default clearfix" id="message1"><div class="body">
  <div class="pull_right date details" title="24.11.2026 18:02:00 UTC+08:00">18:02</div>
  <div class="from_name">Buyer</div>
  <div class="text">see this</div></div></div>
 <div class="message default clearfix joined" id="message2"><div class="body">
  <div class="pull_right date details" title="24.11.2026 18:02:10 UTC+08:00">18:02</div>
  <div class="forwarded body">
   <div class="from_name">Courier Bot<span class="date details"> 23.11.2026 09:00:00</span></div>
   <div class="text">Delivered to a neighbour</div>
  </div></div></div>
 <div class="message default clearfix joined" id="message3"><div class="body">
  <div class="pull_right date details" title="24.11.2026 18:02:20 UTC+08:00">18:02</div>
  <div class="text">which neighbour?</div></div></div>"#;
        let r = read(5, html).unwrap();
        let what: Vec<&str> = r.events().map(|e| e.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "chat, Buyer: see this",
                "chat, Buyer: [forwarded from Courier Bot] Delivered to a neighbour",
                "chat, Buyer: which neighbour?"
            ]
        );
    }
}
