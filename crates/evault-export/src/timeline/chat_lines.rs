//! Chats written one message per line, each starting with its date and
//! time: WhatsApp on iPhone (`[29/01/2018, 12:24:03] Ann: hi`) and Android
//! (`29/01/2018, 12:24 - Ann: hi`, older `29.01.18, 12:24: Ann: hi`), in
//! every region's date order and clock; Signal and other exports written
//! as `[2021-03-02 09:04] Ann: hi` or `2021-03-02 09:04 Ann: hi`.
//!
//! The file's own form is the one most of its lines have. A line in that
//! form starts a message; a line that begins like a date but is not in
//! that form, or whose date is not real, is kept verbatim as a record not
//! read, in its place; any other line continues the record before it.
//! So a message is never shown under another sender or at another time.

use super::clock::{self, DateOrder, Trailing, Written, invisible};
use super::time::Column;
use super::{Event, Reading, Record, Source, chat_what};

/// What follows the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum After {
    /// `[time] name: text` (iPhone).
    Bracket,
    /// `time - name: text` (Android).
    Dash,
    /// `time: name: text` (older Android).
    Colon,
    /// `time name: text`.
    Space,
}

/// The layout of a record's first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Form {
    after: After,
    sep: char,
    /// Digits of the first and last date field.
    digits: [usize; 2],
    /// Whether a 12-hour marker follows the time.
    marked: bool,
}

/// The shapes, one per [`After`] (in its order).
const SHAPES: &[&str] = &[
    "chat lines \"[date, time] name: text\" (WhatsApp on iPhone, Signal)",
    "chat lines \"date, time - name: text\" (WhatsApp on Android)",
    "chat lines \"date, time: name: text\" (older WhatsApp)",
    "chat lines \"date time name: text\"",
];

impl Form {
    fn shape(self) -> &'static str {
        SHAPES[self.after as usize]
    }
}

/// The first line of a record, split.
struct Start<'a> {
    written: Written,
    form: Form,
    /// The sender; `None` for a system line (`Messages are end-to-end encrypted`).
    who: Option<&'a str>,
    text: &'a str,
}

/// The longest sender name taken (a longer "name" is text with a colon).
const MAX_NAME: usize = 80;

fn start(line: &str, trailing: Trailing) -> Option<Start<'_>> {
    let line = line.trim_start_matches(|c: char| invisible(c) || c.is_whitespace());
    let (written, rest, after) = if let Some(inner) = line.strip_prefix('[') {
        let (w, n) = clock::scan(inner, trailing)?;
        let rest = inner[n..].trim_start_matches(|c: char| invisible(c) || c == ' ');
        (w, rest.strip_prefix(']')?, After::Bracket)
    } else {
        let (w, n) = clock::scan(line, trailing)?;
        let rest = line[n..].trim_start_matches(invisible);
        let trimmed = rest.trim_start_matches([' ', '\u{a0}', '\u{202f}']);
        if let Some(r) = trimmed.strip_prefix(['-', '–']) {
            (w, r, After::Dash)
        } else if let Some(r) = rest.strip_prefix(':') {
            (w, r, After::Colon)
        } else if trimmed.len() < rest.len() {
            (w, trimmed, After::Space)
        } else {
            return None;
        }
    };
    let rest = rest.trim_start_matches(|c: char| invisible(c) || c.is_whitespace());
    let (who, text) = match rest.split_once(':') {
        Some((who, text))
            if !who.trim().is_empty()
                && who.chars().count() <= MAX_NAME
                && (text.is_empty() || text.starts_with([' ', '\u{a0}'])) =>
        {
            (
                Some(who.trim_matches(|c: char| invisible(c) || c.is_whitespace())),
                text.trim_start(),
            )
        }
        // `time name: text` needs a sender: without one it is not this form.
        _ if after == After::Space => return None,
        _ => (None, rest),
    };
    Some(Start {
        form: Form {
            after,
            sep: written.sep,
            digits: written.digits(),
            marked: written.marked_after(),
        },
        written,
        who,
        text,
    })
}

/// One record being built.
enum Building<'a> {
    Message {
        at: chrono::NaiveDateTime,
        shown: String,
        who: Option<&'a str>,
        text: String,
    },
    NotRead {
        line: usize,
        text: String,
    },
}

/// The lines that start records, with their line index (few, or all, of a
/// file's lines: only those are kept, not every line).
fn starts(text: &str, trailing: Trailing) -> Vec<(usize, Start<'_>)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| Some((i, start(l, trailing)?)))
        .collect()
}

/// How many lines have each form, in the order the forms are first met.
fn forms(starts: &[(usize, Start<'_>)]) -> Vec<(Form, usize)> {
    let mut counts: Vec<(Form, usize)> = Vec::new();
    for (_, s) in starts {
        match counts.iter_mut().find(|(f, _)| *f == s.form) {
            Some((_, n)) => *n += 1,
            None => counts.push((s.form, 1)),
        }
    }
    counts
}

/// The file's main form: most lines, a form with a separator before one
/// without; ties go to the form met first.
fn main_form(counts: &[(Form, usize)]) -> Option<&(Form, usize)> {
    counts
        .iter()
        .rev()
        .max_by_key(|(f, n)| (*n, f.after != After::Space, f.after == After::Bracket))
}

pub(super) fn read(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    // Whether a word after a time is a 12-hour marker or the start of the
    // sender's name (`09:04 Em Nguyen: hi`; `1:05 PM: Ann: hi`) is decided
    // for the whole file: the reading whose main form more lines share, a
    // form with a separator before one without; on a tie, markers when the
    // hours are all on a 12-hour clock.
    // (the lines that start records, the forms' counts, how good the reading is)
    type Parse<'a> = (
        Vec<(usize, Start<'a>)>,
        Vec<(Form, usize)>,
        (usize, bool, bool, bool),
    );
    let mut best: Option<Parse<'_>> = None;
    for trailing in [Trailing::No, Trailing::Yes] {
        let starts = starts(text, trailing);
        let counts = forms(&starts);
        let Some(&(main, most)) = main_form(&counts) else {
            continue;
        };
        let twelve = trailing == Trailing::Yes
            && starts
                .iter()
                .filter(|(_, s)| s.form == main)
                .all(|(_, s)| s.written.on_12_hour_clock());
        let key = (
            most,
            main.after != After::Space,
            main.after == After::Bracket,
            twelve,
        );
        if best.as_ref().is_none_or(|(_, _, k)| key > *k) {
            best = Some((starts, counts, key));
        }
    }
    let Some((starts, counts, _)) = best else {
        return Err(SHAPES);
    };
    let Some(&(main, most)) = main_form(&counts) else {
        return Err(SHAPES);
    };
    // Besides the main form, any other that many lines have (exports joined
    // into one file) is read, each with its own date order. A line of a rare
    // form is not read: it is more likely text that begins with a date.
    let mut orders: Vec<(Form, DateOrder, Column)> = Vec::new();
    let mut notes = Vec::new();
    for &(form, n) in &counts {
        if form != main && (n < 2 || n * 10 < most) {
            continue;
        }
        let written = starts
            .iter()
            .filter(|(_, s)| s.form == form)
            .map(|(_, s)| &s.written);
        let (order, ambiguous) = DateOrder::infer(written);
        let column = Column::with(order, ambiguous && order != DateOrder::Ymd);
        notes.extend(column.note());
        orders.push((form, order, column));
    }
    notes.dedup();
    let mut built: Vec<Building<'_>> = Vec::new();
    let mut first_lines = Vec::new();
    let mut next = starts.iter().peekable();
    for (i, line) in text.lines().enumerate() {
        let s = next.next_if(|(at, _)| *at == i).map(|(_, s)| s);
        let message = s.and_then(|s| {
            let (_, order, column) = orders.iter().find(|(f, _, _)| *f == s.form)?;
            Some((s.written.resolve(*order)?, s, column))
        });
        if let Some((at, s, column)) = message {
            first_lines.push(i + 1);
            built.push(Building::Message {
                at,
                shown: column.shown(at, s.written.has_seconds()),
                who: s.who,
                text: s.text.to_owned(),
            });
        } else if s.is_some() || clock::looks_dated(line) || built.is_empty() {
            // Begins like a record but is not one of this file's, or comes
            // before the first record (a title): kept as it is.
            if built.is_empty() && line.trim().is_empty() {
                continue;
            }
            built.push(Building::NotRead {
                line: i + 1,
                text: line.to_owned(),
            });
        } else if let Some(last) = built.last_mut() {
            let (Building::Message { text, .. } | Building::NotRead { text, .. }) = last;
            text.push('\n');
            text.push_str(line);
        }
    }
    let records = built
        .into_iter()
        .enumerate()
        .map(|(ord, b)| match b {
            Building::Message {
                at,
                shown,
                who,
                text,
            } => {
                let text = text.trim_end();
                Record::Read(Event {
                    at,
                    shown,
                    what: chat_what(who, text),
                    seq,
                    source: Source::Chat,
                    ord,
                })
            }
            Building::NotRead { line, text } => Record::NotRead {
                line,
                text: text.trim_end().to_owned(),
            },
        })
        .collect();
    Ok(Reading {
        shape: Some(main.shape()),
        records,
        notes,
        tried: Vec::new(),
        first_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(r: &Reading) -> Vec<String> {
        r.records
            .iter()
            .map(|r| match r {
                Record::Read(e) => format!("{} | {}", e.at, e.what),
                Record::NotRead { line, text } => format!("line {line} not read | {text}"),
            })
            .collect()
    }

    #[test]
    fn iphone_android_and_continuations() {
        let wa = "[24/11/2026, 18:02] Buyer: 包裹没有到\n[24/11/2026, 18:20] Seller: tracking shows delivered\nat your door\n";
        let r = read(4, wa).unwrap();
        assert_eq!(
            texts(&r),
            [
                "2026-11-24 18:02:00 | chat, Buyer: 包裹没有到",
                "2026-11-24 18:20:00 | chat, Seller: tracking shows delivered\nat your door"
            ]
        );
        assert!(r.events().all(|e| e.shown.contains("zone unknown")));
        // A line that begins like a date is never glued onto the message before it.
        let r = read(
            4,
            "24/11/26, 18:02 - Buyer: hi\n2026-11-30 is the deadline: refund please\n",
        )
        .unwrap();
        assert_eq!(
            texts(&r),
            [
                "2026-11-24 18:02:00 | chat, Buyer: hi",
                "line 2 not read | 2026-11-30 is the deadline: refund please"
            ]
        );
        let r = read(4, "2026-11-24 18:02 buyer: the package never arrived\n").unwrap();
        assert_eq!(r.read(), 1);
    }

    #[test]
    fn us_phones_are_month_first_and_system_lines_have_no_sender() {
        let wa = "1/7/23, 9:05 AM - Messages and calls are end-to-end encrypted.\n1/7/23, 9:06 AM - Ann: hi\n1/13/23, 2:10\u{202f}PM - Bob: late\n";
        let r = read(4, wa).unwrap();
        assert_eq!(
            texts(&r),
            [
                "2023-01-07 09:05:00 | chat: Messages and calls are end-to-end encrypted.",
                "2023-01-07 09:06:00 | chat, Ann: hi",
                "2023-01-13 14:10:00 | chat, Bob: late"
            ]
        );
        assert!(r.notes.is_empty());
    }

    #[test]
    fn a_line_of_another_form_or_an_impossible_date_is_kept_verbatim() {
        let wa = "WhatsApp Chat with Ann\n[29/01/2018, 12:24:03] Ann: one\n31/02/2018, 10:00 - Bob: forged?\n[31/02/2018, 10:00:00] Bob: no such day\n[29/01/2018, 12:25:00] Ann: two\n";
        let r = read(4, wa).unwrap();
        assert_eq!(
            texts(&r),
            [
                "line 1 not read | WhatsApp Chat with Ann",
                "2018-01-29 12:24:03 | chat, Ann: one",
                "line 3 not read | 31/02/2018, 10:00 - Bob: forged?",
                "line 4 not read | [31/02/2018, 10:00:00] Bob: no such day",
                "2018-01-29 12:25:00 | chat, Ann: two"
            ]
        );
        assert_eq!(r.lines_not_read(), 3);
    }

    #[test]
    fn a_sender_is_not_a_clock_marker() {
        // 24-hour file: `Em`, `Sa`, `Ch` begin names.
        let r = read(4, "2021-03-02 09:04 Em Nguyen: hi\n2021-03-02 18:02 Ch Wang: ok\n2021-03-02 18:03 Sa: yes\n").unwrap();
        assert_eq!(
            texts(&r),
            [
                "2021-03-02 09:04:00 | chat, Em Nguyen: hi",
                "2021-03-02 18:02:00 | chat, Ch Wang: ok",
                "2021-03-02 18:03:00 | chat, Sa: yes"
            ]
        );
        // 12-hour file in the old `time: name: text` form.
        let r = read(4, "1/29/18, 1:05 PM: Ann: hi\n1/29/18, 1:06 PM: Em: ok\n").unwrap();
        assert_eq!(
            texts(&r),
            [
                "2018-01-29 13:05:00 | chat, Ann: hi",
                "2018-01-29 13:06:00 | chat, Em: ok"
            ]
        );
    }

    #[test]
    fn not_a_chat() {
        assert!(read(4, "hello\nworld\n").is_err());
    }
}
