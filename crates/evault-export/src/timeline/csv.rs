//! CSV chats (`time,sender,text`) and tracking events (`time,event,place`).

use super::time::Column;
use super::{Event, Reading, Record, Source};

/// One CSV record: its first line (from 1), its fields, and its text as
/// written.
struct Row<'a> {
    line: usize,
    fields: Vec<String>,
    raw: &'a str,
}

/// The most fields a record is split into (more commas stay in the last).
const MAX_FIELDS: usize = 256;

/// Splits CSV text into records of fields (RFC 4180: a field that begins
/// with `"` is quoted, `""` inside it is a quote, and it may hold commas and
/// line breaks, which stay in the field instead of starting a new record; a
/// `"` inside an unquoted field is text). Fields are trimmed; blank records
/// are dropped. A quote still open at the end of the text would swallow
/// every record after it: its record and the lines after it are returned
/// one line a record, with the line as their only field.
fn end_record<'a>(fields: &mut Vec<String>, line: usize, raw: &'a str, rows: &mut Vec<Row<'a>>) {
    let done: Vec<String> = fields.drain(..).map(|f| f.trim().to_owned()).collect();
    if done.iter().any(|f| !f.is_empty()) {
        rows.push(Row {
            line,
            fields: done,
            raw: raw.trim_end_matches(['\r', '\n']),
        });
    }
    fields.push(String::new());
}

fn records(text: &str) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    let mut fields = vec![String::new()];
    let (mut quoted, mut line, mut start_line, mut start) = (false, 1, 1, 0);
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        let at_field_start = fields.last().is_none_or(|f| f.trim().is_empty());
        let n = fields.len();
        let field = fields.last_mut();
        match (c, quoted) {
            ('"', true) if chars.peek().map(|(_, c)| *c) == Some('"') => {
                chars.next();
                field.into_iter().for_each(|f| f.push('"'));
            }
            ('"', true) => quoted = false,
            ('"', false) if at_field_start => {
                field.into_iter().for_each(String::clear);
                quoted = true;
            }
            (',', false) if n < MAX_FIELDS => fields.push(String::new()),
            ('\r', false) if chars.peek().map(|(_, c)| *c) == Some('\n') => {}
            ('\n' | '\r', false) => {
                let end = at + c.len_utf8();
                end_record(&mut fields, start_line, &text[start..end], &mut rows);
                (start, start_line) = (end, line);
            }
            (c, _) => field.into_iter().for_each(|f| f.push(c)),
        }
    }
    if quoted {
        // The open quote's record, and every line after it, one by one.
        for (i, l) in text[start..].lines().enumerate() {
            if !l.trim().is_empty() {
                rows.push(Row {
                    line: start_line + i,
                    fields: vec![l.trim().to_owned()],
                    raw: l,
                });
            }
        }
    } else {
        end_record(&mut fields, start_line, &text[start..], &mut rows);
    }
    rows
}

/// The header (names lowercased) and the rows under it.
fn table(text: &str) -> Option<(Vec<String>, Vec<Row<'_>>)> {
    let mut rows = records(text).into_iter();
    let header = rows
        .next()?
        .fields
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    Some((header, rows.collect()))
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.as_str()))
}

const TIME: [&str; 6] = [
    "time",
    "timestamp",
    "date",
    "datetime",
    "date_time",
    "sent_at",
];

/// Reads a CSV table whose header names a time column and the columns
/// `parts` asks for; `make` turns a row's parts into the event text.
fn read_table(
    seq: u64,
    text: &str,
    source: Source,
    shape: &'static str,
    parts: &[&[&str]],
    make: impl Fn(&[&str]) -> String,
) -> Result<Reading, &'static [&'static str]> {
    let tried: &'static [&'static str] = match source {
        Source::Chat => &["CSV with time, sender and text columns"],
        _ => &["CSV with time, event and (optional) place columns"],
    };
    let (header, rows) = table(text).ok_or(tried)?;
    let t = column(&header, &TIME).ok_or(tried)?;
    let cols: Vec<Option<usize>> = parts.iter().map(|names| column(&header, names)).collect();
    // Every part but a last optional one (the place) must be there.
    let required = if source == Source::Carrier {
        1
    } else {
        cols.len()
    };
    if cols[..required].iter().any(Option::is_none) {
        return Err(tried);
    }
    let times = Column::new(
        rows.iter()
            .filter_map(|r| r.fields.get(t).map(String::as_str)),
    );
    let mut records = Vec::new();
    for (ord, row) in rows.iter().enumerate() {
        let field = |i: Option<usize>| i.and_then(|i| row.fields.get(i)).map_or("", String::as_str);
        let values: Vec<&str> = cols.iter().map(|c| field(*c)).collect();
        match row.fields.get(t).and_then(|v| times.parse(v)) {
            Some((at, shown)) => records.push(Record::Read(Event {
                at,
                shown,
                what: make(&values),
                seq,
                source,
                ord,
            })),
            None => records.push(Record::NotRead {
                line: row.line,
                text: row.raw.to_owned(),
            }),
        }
    }
    // A header alone, or rows none of which could be read, is not this shape.
    if !records.iter().any(|r| matches!(r, Record::Read(_))) {
        return Err(tried);
    }
    Ok(Reading {
        shape: Some(shape),
        records,
        notes: times.note().into_iter().collect(),
        tried: Vec::new(),
        first_lines: Vec::new(),
    })
}

/// `time,sender,text` (and synonyms).
pub(super) fn read_chat(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    read_table(
        seq,
        text,
        Source::Chat,
        "CSV chat",
        &[
            &["sender", "from", "name", "author"],
            &["text", "message", "body", "content"],
        ],
        |v| super::chat_what(Some(v[0]), v[1]),
    )
}

/// `time,event,place` (and synonyms).
pub(super) fn read_tracking(seq: u64, text: &str) -> Result<Reading, &'static [&'static str]> {
    read_table(
        seq,
        text,
        Source::Carrier,
        "CSV tracking events",
        &[
            &["event", "status", "description", "message", "activity"],
            &["location", "place", "city"],
        ],
        |v| {
            if v[1].is_empty() {
                format!("carrier: {}", v[0])
            } else {
                format!("carrier: {}, {}", v[0], v[1])
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_line_breaks_stay_in_their_field() {
        // A message with a line break must not become a forged second message.
        let csv = "time,sender,text\r\n2026-11-24 18:02,buyer,\"where is it?\n2026-11-24 18:03,seller,it was refunded\"\r\n2026-11-24 18:20,seller,\"tracking says \"\"delivered\"\", at the door\"\n";
        let rows = table(csv).unwrap().1;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].fields[2],
            "where is it?\n2026-11-24 18:03,seller,it was refunded"
        );
        assert_eq!(
            rows[1].fields[2],
            "tracking says \"delivered\", at the door"
        );
        assert_eq!((rows[0].line, rows[1].line), (2, 4));
    }

    #[test]
    fn a_quote_inside_a_field_is_text_and_an_open_quote_swallows_nothing() {
        // `5"` is an inch mark, not the start of a quoted field.
        let r = read_chat(4, "time,sender,text\n2026-11-24 18:02,buyer,5\" screen broken\n2026-11-24 18:03,seller,sorry\n").unwrap();
        let what: Vec<String> = r.events().map(|e| e.what.clone()).collect();
        assert_eq!(
            what,
            ["chat, buyer: 5\" screen broken", "chat, seller: sorry"]
        );
        // A quote left open keeps its record and the lines after it apart, as not read.
        let r = read_chat(4, "time,sender,text\n2026-11-24 18:02,buyer,hello\n2026-11-24 18:03,buyer,\"oops\n2026-11-24 18:04,seller,hi\n").unwrap();
        assert_eq!(r.read(), 1);
        assert_eq!(
            r.records[1..],
            [
                Record::NotRead {
                    line: 3,
                    text: "2026-11-24 18:03,buyer,\"oops".into()
                },
                Record::NotRead {
                    line: 4,
                    text: "2026-11-24 18:04,seller,hi".into()
                }
            ]
        );
    }

    #[test]
    fn rows_without_a_time_stay_in_place() {
        let r = read_chat(
            4,
            "time,sender,text\n2026-11-24T18:02:00+08:00,buyer,\"hello, seller\"\nsoon,seller,hi\n",
        )
        .unwrap();
        assert_eq!(r.read(), 1);
        assert_eq!(
            r.records[1],
            Record::NotRead {
                line: 3,
                text: "soon,seller,hi".into()
            }
        );
        let t = read_tracking(
            6,
            "time,location,event\n2026-11-18T10:02:00+08:00,Shenzhen,Accepted\n",
        )
        .unwrap();
        assert_eq!(
            t.events().next().unwrap().what,
            "carrier: Accepted, Shenzhen"
        );
        assert!(read_tracking(6, "no,useful,columns\n1,2,3\n").is_err());
        // A header alone is not a chat that was read.
        assert!(read_chat(4, "time,sender,text\n").is_err());
    }
}
