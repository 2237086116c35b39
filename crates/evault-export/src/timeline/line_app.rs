//! LINE chat history text ("Send chat history", LINE 9 and later on iOS
//! and Android): a title (`[LINE] Chat history with Ann`, `[LINE]
//! Annとのトーク履歴`), a `Saved on:` line, then days: a date line
//! (`2019/01/02(Wed)`, `Wed, 01/02/2019`, `2019.01.02 水曜日`) followed by
//! `TIME<tab>NAME<tab>TEXT` lines (`10:00`, `10:00 AM`, `午前10:00`). A
//! message with line breaks is quoted and runs over several lines.

use super::clock::{self, DateOrder, Written, WrittenDate};
use super::time::Column;
use super::{Event, Reading, Record, Source, chat_what};

const SHAPES: &[&str] = &["LINE chat history text"];

/// Whether a line is a date line (`2019/01/02(Wed)`).
pub(super) fn date_line_text(line: &str) -> bool {
    date_line(line).is_some()
}

/// A date line: a date and at most a weekday name around it.
fn date_line(line: &str) -> Option<WrittenDate> {
    let t = line.trim();
    if t.contains('\t') {
        return None;
    }
    // `Wed, 01/02/2019`: a weekday first.
    let t = match t.split_once(", ") {
        Some((day, rest)) if day.chars().all(char::is_alphabetic) => rest,
        _ => t,
    };
    let (date, n) = clock::scan_date(t)?;
    let rest = t[n..].trim();
    let weekday = rest
        .trim_start_matches(['(', '（'])
        .trim_end_matches([')', '）'])
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ');
    weekday.then_some(date)
}

enum Building {
    Message {
        line: usize,
        at: Option<Written>,
        time_text: String,
        who: String,
        text: String,
    },
    NotRead {
        line: usize,
        text: String,
    },
}

pub(super) fn read(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    let titled = text.trim_start().starts_with("[LINE]");
    let mut day: Option<WrittenDate> = None;
    let mut built: Vec<Building> = Vec::new();
    let mut messages = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    // The last line that closes a quote (ends in an odd run of `"`): a
    // quote opened after it never closes, and is not followed.
    let last_close = lines.iter().rposition(|l| closes_quote(l));
    let mut quote_from: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        // Inside a quoted message every line is its text, whatever it looks like.
        if let Some(from) = quote_from {
            if let Some(Building::Message { text, .. }) = built.last_mut() {
                text.push('\n');
                text.push_str(line);
            }
            if closes_quote(line) || i - from >= MAX_QUOTED_LINES {
                quote_from = None;
            }
            continue;
        }
        if let Some(d) = date_line(line) {
            day = Some(d);
            continue;
        }
        // Before the first date line of a titled file: its title and
        // "saved on" lines are metadata; anything else is kept.
        if titled && day.is_none() && (line.trim().is_empty() || header_line(i, line)) {
            continue;
        }
        let cols = columns(line);
        let (Some(first), Some(second)) = (cols.first(), cols.get(1)) else {
            // Not `time<tab>name...`: a continuation of the message before.
            match built.last_mut() {
                Some(Building::Message { text, .. } | Building::NotRead { text, .. }) => {
                    text.push('\n');
                    text.push_str(line);
                }
                None if !line.trim().is_empty() => built.push(Building::NotRead {
                    line: i + 1,
                    text: (*line).to_owned(),
                }),
                None => {}
            }
            continue;
        };
        // `time<tab>text` and `time<tab><tab>text` are system lines.
        let (who, said) = match cols.get(2) {
            Some(said) => (*second, *said),
            None => ("", *second),
        };
        match clock::scan_time(first).filter(|(_, n)| first[*n..].trim().is_empty()) {
            Some((t, _)) => {
                messages += 1;
                // `"first line` opens a message over several lines.
                if said.starts_with('"')
                    && !closes_quote(&said[1..])
                    && last_close.is_some_and(|c| c > i)
                {
                    quote_from = Some(i);
                }
                built.push(Building::Message {
                    line: i + 1,
                    at: day.map(|d| Written::join(d, t)),
                    time_text: (*first).to_owned(),
                    who: who.to_owned(),
                    text: said.to_owned(),
                });
            }
            None => built.push(Building::NotRead {
                line: i + 1,
                text: (*line).to_owned(),
            }),
        }
    }
    // Without the title, most lines must be LINE's: a chat of another app
    // with a bare date line and a tab in a message is not LINE's.
    let others = lines
        .iter()
        .filter(|l| !l.trim().is_empty() && date_line(l).is_none())
        .count();
    if messages == 0 || (!titled && (day.is_none() || messages * 2 < others)) {
        return Err(SHAPES);
    }
    let written: Vec<&Written> = built
        .iter()
        .filter_map(|b| match b {
            Building::Message { at: Some(w), .. } => Some(w),
            _ => None,
        })
        .collect();
    let (order, ambiguous) = DateOrder::infer(written.iter().copied());
    let column = Column::with(order, ambiguous && !written.is_empty());
    let mut first_lines = Vec::new();
    let records = built
        .into_iter()
        .enumerate()
        .map(|(ord, b)| match b {
            Building::Message {
                line,
                at,
                time_text,
                who,
                text,
            } => {
                let text = unquote(&text);
                match at
                    .as_ref()
                    .and_then(|w| Some((w.resolve(order)?, w.has_seconds())))
                {
                    Some((at, seconds)) => {
                        first_lines.push(line);
                        Record::Read(Event {
                            at,
                            shown: column.shown(at, seconds),
                            what: chat_what(Some(who.as_str()).filter(|w| !w.is_empty()), &text),
                            seq,
                            source: Source::Chat,
                            ord,
                        })
                    }
                    // No date line before it, or not a real date.
                    None => Record::NotRead {
                        line,
                        text: format!("{time_text}\t{who}\t{text}"),
                    },
                }
            }
            Building::NotRead { line, text } => Record::NotRead { line, text },
        })
        .collect();
    Ok(Reading {
        shape: Some(SHAPES[0]),
        records,
        notes: column.note().into_iter().collect(),
        tried: Vec::new(),
        first_lines,
    })
}

/// The most lines one quoted message runs over.
const MAX_QUOTED_LINES: usize = 500;

/// Whether a line ends a quoted message: it ends in an odd run of `"` (an
/// even run is quotes written inside the text, `""`).
fn closes_quote(line: &str) -> bool {
    line.trim_end()
        .chars()
        .rev()
        .take_while(|c| *c == '"')
        .count()
        % 2
        == 1
}

/// The title (`[LINE] Chat history with Ann`, the first line) and the
/// "saved on" line (the second, in the export's language:
/// `保存日時：2019/01/03 10:00`, `儲存日期：...`).
fn header_line(i: usize, line: &str) -> bool {
    (i == 0 && line.trim_start().starts_with("[LINE]")) || i == 1
}

/// `time<tab>name<tab>text`; copies that lost their tabs separate the
/// columns with runs of spaces.
fn columns(line: &str) -> Vec<&str> {
    if line.contains('\t') {
        return line.splitn(3, '\t').collect();
    }
    let mut cols = Vec::new();
    let mut rest = line;
    while cols.len() < 2 {
        let Some(i) = rest.find("  ") else {
            break;
        };
        cols.push(&rest[..i]);
        rest = rest[i..].trim_start_matches(' ');
    }
    if cols.is_empty() {
        return Vec::new();
    }
    cols.push(rest);
    cols
}

/// A multi-line message is written in double quotes.
fn unquote(text: &str) -> String {
    let t = text.trim_end();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if t.contains('\n') => inner.replace("\"\"", "\""),
        _ => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_tab_lines() {
        let text = "[LINE] Chat history with Ann\nSaved on: 2019/01/03 10:00\n\n2019/01/02(Wed)\n10:00\tAnn\tHello\n22:01\tShop\t\"two\nlines\"\n\n2019/01/03(Thu)\n09:00 AM\tAnn\t[Sticker]\n";
        let r = read(4, text).unwrap();
        let ev: Vec<String> = r.events().map(|e| format!("{} {}", e.at, e.what)).collect();
        assert_eq!(
            ev,
            [
                "2019-01-02 10:00:00 chat, Ann: Hello",
                "2019-01-02 22:01:00 chat, Shop: two\nlines",
                "2019-01-03 09:00:00 chat, Ann: [Sticker]"
            ]
        );
        assert_eq!(r.lines_not_read(), 0);
    }

    #[test]
    fn no_line_is_lost_before_the_first_day_or_inside_a_quote() {
        // No blank line after the header; a date and a tab inside a quoted message.
        let text = "[LINE] Chat history with Ann\nSaved on: 2019/01/03 10:00\nnote from the exporter\n2019/01/02(Wed)\n10:00\tAnn\t\"delivery was promised for\n2019/01/05\nand\tnot later\"\n10:05\tShop\tok\n";
        let r = read(4, text).unwrap();
        let rows: Vec<String> = r
            .records
            .iter()
            .map(|rec| match rec {
                Record::Read(e) => format!("{} {}", e.at, e.what),
                Record::NotRead { line, text } => format!("line {line} not read: {text}"),
            })
            .collect();
        assert_eq!(
            rows,
            [
                "line 3 not read: note from the exporter",
                "2019-01-02 10:00:00 chat, Ann: delivery was promised for\n2019/01/05\nand\tnot later",
                "2019-01-02 10:05:00 chat, Shop: ok"
            ]
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn not_line() {
        assert!(read(4, "[1/2/19, 10:00] Ann: hi\n").is_err());
    }
}
