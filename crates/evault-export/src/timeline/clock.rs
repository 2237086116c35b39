//! Date-times as chat apps and carriers write them.
//!
//! A phone writes the date in its region's order (`29/01/2018`,
//! `1/29/18`, `2018/1/29`, `29.01.18`, `2018. 1. 29.`), with `/ . -`
//! separators, 2- or 4-digit years, a 24-hour or a 12-hour clock whose
//! marker depends on the language (`PM`, `p. m.`, `下午`, `오후`, `م`...),
//! sometimes before the time, often after a narrow no-break space, and
//! with invisible direction marks around it. [`scan`] reads such a prefix
//! without deciding the day/month order; [`DateOrder::infer`] decides it
//! from a whole file, because one line alone (`1/7/23`) cannot.

use chrono::{NaiveDate, NaiveDateTime};

/// Morning or afternoon on a 12-hour clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Half {
    Am,
    Pm,
}

/// 12-hour clock markers, compared with case, dots and spaces ignored
/// (`a. m.`, `A.M.` and `am` are one marker). Languages: en, es, pt, fr,
/// it, nl (am/pm, a. m./p. m.), de (vorm./nachm.), zh (上午/下午), ja
/// (午前/午後), ko (오전/오후), ar (ص/م), fa (ق.ظ./ب.ظ.), el (π.μ./μ.μ.),
/// sv/da/no (fm/em), tr (ÖÖ/ÖS), vi (SA/CH),
/// id/ms (pagi/malam are not clock markers there: both use 24 hours),
/// and the spelled-out `in the morning`/`in the afternoon` of some phones.
const MARKERS: &[(&str, Half)] = &[
    ("inthemorning", Half::Am),
    ("intheafternoon", Half::Pm),
    ("intheevening", Half::Pm),
    ("atnight", Half::Pm),
    ("am", Half::Am),
    ("pm", Half::Pm),
    ("vorm", Half::Am),
    ("nachm", Half::Pm),
    ("上午", Half::Am),
    ("下午", Half::Pm),
    ("午前", Half::Am),
    ("午後", Half::Pm),
    ("오전", Half::Am),
    ("오후", Half::Pm),
    ("ص", Half::Am),
    ("م", Half::Pm),
    ("قظ", Half::Am),
    ("بظ", Half::Pm),
    ("πμ", Half::Am),
    ("μμ", Half::Pm),
    ("fm", Half::Am),
    ("em", Half::Pm),
    ("öö", Half::Am),
    ("ös", Half::Pm),
    ("sa", Half::Am),
    ("ch", Half::Pm),
];

/// Characters with no glyph (direction marks and isolates, zero-width
/// spaces, variation selectors): skipped wherever a time is read.
pub(crate) use crate::pdf::is_invisible as invisible;

/// Spaces of every width count as one space.
fn space(c: char) -> bool {
    c == ' '
        || c == '\t'
        || matches!(
            c,
            '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{3000}'
        )
}

/// A decimal digit in ASCII, Arabic-Indic or Eastern Arabic-Indic form.
fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '\u{660}'..='\u{669}' => Some(c as u32 - 0x660),
        '\u{6f0}'..='\u{6f9}' => Some(c as u32 - 0x6f0),
        _ => None,
    }
}

/// A cursor over text that skips invisible marks.
struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().find(|c| !invisible(*c))
    }

    fn bump(&mut self) -> Option<char> {
        let mut it = self.s[self.at..].char_indices();
        for (i, c) in it.by_ref() {
            if !invisible(c) {
                self.at += i + c.len_utf8();
                return Some(c);
            }
        }
        None
    }

    fn eat(&mut self, want: impl Fn(char) -> bool) -> bool {
        if self.peek().is_some_and(want) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn spaces(&mut self) {
        while self.eat(space) {}
    }

    /// Up to `max` digits; their value and count.
    fn number(&mut self, max: usize) -> Option<(u32, usize)> {
        let mut value = 0u32;
        let mut n = 0;
        while n < max {
            let Some(d) = self.peek().and_then(digit) else {
                break;
            };
            self.bump();
            value = value * 10 + d;
            n += 1;
        }
        // More digits than allowed is not a date field.
        if n == 0 || self.peek().and_then(digit).is_some() {
            return None;
        }
        Some((value, n))
    }

    /// A 12-hour marker at the cursor (the longest that is one), consumed.
    fn marker(&mut self) -> Option<Half> {
        let start = self.at;
        let mut canon = String::new();
        let mut best = None;
        let mut probe = Cursor {
            s: self.s,
            at: self.at,
        };
        while let Some(c) = probe.peek() {
            if c == '.' || space(c) {
                probe.bump();
            } else if c.is_alphabetic() {
                probe.bump();
                canon.extend(c.to_lowercase());
                let boundary = !probe.peek().is_some_and(char::is_alphabetic);
                if boundary {
                    // A trailing dot belongs to the marker (`a. m.`).
                    let mut end = probe.at;
                    if probe.s[end..].starts_with('.') {
                        end += 1;
                    }
                    if let Some((_, half)) = MARKERS.iter().find(|(m, _)| *m == canon) {
                        best = Some((end, *half));
                    }
                }
            } else {
                break;
            }
            if canon.chars().count() > 16 {
                break;
            }
        }
        match best {
            Some((end, half)) => {
                self.at = end;
                Some(half)
            }
            None => {
                self.at = start;
                None
            }
        }
    }
}

/// A date-time as written, its day/month order not yet decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    /// The three date fields in written order.
    fields: [u32; 3],
    /// The digits of the first and last field (a 4-digit first field is a year).
    widths: [usize; 2],
    /// The date separator (`/`, `.`, `-`).
    pub(crate) sep: char,
    hour: u32,
    minute: u32,
    second: Option<u32>,
    half: Option<Half>,
    /// Whether a 12-hour marker came after the time.
    trailing: bool,
}

/// How a file writes its dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DateOrder {
    /// 29/01/2018
    Dmy,
    /// 1/29/2018
    Mdy,
    /// 2018/1/29
    Ymd,
}

impl DateOrder {
    /// `D/M/Y`-style label for reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            DateOrder::Dmy => "day/month/year",
            DateOrder::Mdy => "month/day/year",
            DateOrder::Ymd => "year/month/day",
        }
    }

    /// The order a file's dates are written in, decided from all of them:
    /// a 4-digit first field is a year; a first field over 12 means
    /// day-first, a second over 12 month-first. When no date decides it,
    /// the order under which the file's times run forward (apps write
    /// their exports in time order) is taken; `ambiguous` is true when that
    /// does not decide either (day-first is then assumed).
    pub(crate) fn infer<'a>(
        all: impl IntoIterator<Item = &'a Written> + Clone,
    ) -> (DateOrder, bool) {
        let (mut day, mut month, mut year) = (0usize, 0usize, 0usize);
        for w in all.clone() {
            if w.widths[0] == 4 {
                year += 1;
            } else if w.fields[0] > 12 {
                day += 1;
            } else if w.fields[1] > 12 {
                month += 1;
            }
        }
        if year > day + month {
            return (DateOrder::Ymd, false);
        }
        if day != month {
            let order = if day > month {
                DateOrder::Dmy
            } else {
                DateOrder::Mdy
            };
            return (order, false);
        }
        let backwards = |order: DateOrder| {
            let times: Vec<NaiveDateTime> = all
                .clone()
                .into_iter()
                .filter_map(|w| w.resolve(order))
                .collect();
            let steps = times.windows(2).filter(|p| p[1] < p[0]).count();
            (steps, times.len())
        };
        let (d_back, d_read) = backwards(DateOrder::Dmy);
        let (m_back, m_read) = backwards(DateOrder::Mdy);
        // Fewer lines going back in time, then more lines read.
        match (d_back, std::cmp::Reverse(d_read)).cmp(&(m_back, std::cmp::Reverse(m_read))) {
            std::cmp::Ordering::Less => (DateOrder::Dmy, false),
            std::cmp::Ordering::Greater => (DateOrder::Mdy, false),
            std::cmp::Ordering::Equal => (DateOrder::Dmy, true),
        }
    }
}

impl Written {
    /// The date-time under a day/month order; `None` when it is not a real
    /// date or time (a 13th month, 25 o'clock, `13:05 PM`).
    pub(crate) fn resolve(&self, order: DateOrder) -> Option<NaiveDateTime> {
        let [a, b, c] = self.fields;
        let (y, m, d, y_width) = match order {
            _ if self.widths[0] == 4 => (a, b, c, 4),
            DateOrder::Ymd => return None,
            DateOrder::Dmy => (c, b, a, self.widths[1]),
            DateOrder::Mdy => (c, a, b, self.widths[1]),
        };
        let year = match y_width {
            // Two-digit years: chat apps and tracking did not exist before 2000.
            2 => 2000 + y,
            4 if (1970..=2200).contains(&y) => y,
            _ => return None,
        };
        // Some phones write a 24-hour time with the marker as well
        // (`00:04 AM`, `23:59 PM`): the hour says it all. `13:05 AM` is
        // not a time.
        let hour = match (self.half, self.hour) {
            (None, h) if h < 24 => h,
            (Some(Half::Am), h @ 0..=12) => h % 12,
            // Japanese writes 12:05 PM as 午後0:05.
            (Some(Half::Pm), h @ 0..=12) => h % 12 + 12,
            (Some(Half::Pm), h @ 13..=23) => h,
            _ => return None,
        };
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, m, d)?;
        date.and_hms_opt(hour, self.minute, self.second.unwrap_or(0))
    }

    /// Whether the year comes first, and the digits of the last date field
    /// (part of a file's form: days and months have 1 or 2 digits, years 2
    /// or 4).
    pub(crate) fn digits(&self) -> [usize; 2] {
        [usize::from(self.widths[0] == 4), self.widths[1]]
    }

    /// Whether the time is one a 12-hour clock writes (hour 1 to 12, or 0
    /// to 11 with a Japanese marker before it).
    pub(crate) fn on_12_hour_clock(&self) -> bool {
        self.hour <= 12 && (self.hour > 0 || self.half.is_some())
    }

    /// Whether a 12-hour marker came after the time (part of a file's form).
    pub(crate) fn marked_after(&self) -> bool {
        self.trailing
    }

    /// Whether the time had seconds.
    pub(crate) fn has_seconds(&self) -> bool {
        self.second.is_some()
    }
}

/// A date as written, its day/month order not yet decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WrittenDate {
    fields: [u32; 3],
    widths: [usize; 2],
    sep: char,
}

/// A time of day as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WrittenTime {
    hour: u32,
    minute: u32,
    second: Option<u32>,
    half: Option<Half>,
    /// Whether a marker came after the time.
    trailing: bool,
}

impl WrittenTime {
    /// 00:00, for a date given without a time.
    pub(crate) const MIDNIGHT: WrittenTime = WrittenTime {
        hour: 0,
        minute: 0,
        second: None,
        half: None,
        trailing: false,
    };
}

impl Written {
    /// A date and a time read apart (a date header line, then times).
    pub(crate) fn join(date: WrittenDate, time: WrittenTime) -> Self {
        Written {
            fields: date.fields,
            widths: date.widths,
            sep: date.sep,
            hour: time.hour,
            minute: time.minute,
            second: time.second,
            half: time.half,
            trailing: time.trailing,
        }
    }
}

/// A year written as a Japanese era (`R4` is 2022, `H30` 2018, `S64` 1989).
fn era_year(c: &mut Cursor<'_>) -> Option<u32> {
    let base = match c.peek()? {
        'R' => 2018,
        'H' => 1988,
        'S' => 1925,
        _ => return None,
    };
    let mark = c.at;
    c.bump();
    match c.number(2) {
        Some((n, _)) if n >= 1 => Some(base + n),
        _ => {
            c.at = mark;
            None
        }
    }
}

fn date_at(c: &mut Cursor<'_>) -> Option<WrittenDate> {
    c.spaces();
    let (a, wa) = match era_year(c) {
        Some(y) => (y, 4),
        None => c.number(4)?,
    };
    c.spaces();
    let sep = c.peek().filter(|ch| matches!(ch, '/' | '.' | '-'))?;
    c.bump();
    c.spaces();
    let (b, _) = c.number(2)?;
    c.spaces();
    if !c.eat(|ch| ch == sep) {
        return None;
    }
    c.spaces();
    let (mut year_or_day, wc) = match era_year(c) {
        Some(y) if wa != 4 => (y, 4),
        Some(_) => return None,
        None => c.number(4)?,
    };
    if !(wa == 4 || wc == 2 || wc == 4) || (wa == 4 && wc == 4) {
        return None;
    }
    // A Thai Buddhist-era year (`2565 BE`) is 543 years ahead.
    let mut probe = Cursor { s: c.s, at: c.at };
    probe.spaces();
    if wc == 4 && probe.s[probe.at..].starts_with("BE") {
        year_or_day = year_or_day.checked_sub(543)?;
        c.at = probe.at + 2;
    }
    // `2018. 1. 29.` (Korean) ends the date with its separator.
    if sep == '.' {
        c.eat(|ch| ch == '.');
    }
    Some(WrittenDate {
        fields: [a, b, year_or_day],
        widths: [wa, wc],
        sep,
    })
}

/// Whether a word after the time may be a 12-hour marker (the file
/// decides: `09:04 Em Nguyen: hi` begins a name in a 24-hour file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trailing {
    /// When it is one.
    Yes,
    /// Never.
    No,
}

fn time_at(c: &mut Cursor<'_>, trailing: Trailing) -> Option<WrittenTime> {
    c.spaces();
    let before = c.marker();
    c.spaces();
    let (hour, _) = c.number(2)?;
    // `21:41`, or `21.41` (Finnish, Indonesian).
    let sep = c.peek().filter(|ch| matches!(ch, ':' | '.'))?;
    c.bump();
    let (minute, wm) = c.number(2)?;
    if wm != 2 || minute > 59 {
        return None;
    }
    let mut second = None;
    let mark = c.at;
    if c.eat(|ch| ch == sep) {
        match c.number(2) {
            Some((sec, 2)) if sec <= 60 => second = Some(sec.min(59)),
            _ => c.at = mark,
        }
    }
    // `13:34. - Ann: hi`: a dot after the time.
    if c.s[c.at..].starts_with(". ") {
        c.at += 1;
    }
    let end_time = c.at;
    c.spaces();
    let after = match (before, trailing) {
        (None, Trailing::Yes) => c.marker(),
        _ => None,
    };
    c.at = if after.is_some() { c.at } else { end_time };
    Some(WrittenTime {
        hour,
        minute,
        second,
        half: before.or(after),
        trailing: after.is_some(),
    })
}

/// Reads a date and a time at the start of `s` (after optional spaces):
/// `DATE[,] [MARKER]H:MM[:SS][ MARKER]`. Returns what was read and the
/// byte length of `s` it took (trailing spaces not included).
pub(crate) fn scan(s: &str, trailing: Trailing) -> Option<(Written, usize)> {
    let mut c = Cursor { s, at: 0 };
    let Some(date) = date_at(&mut c) else {
        // `21:41:35, 3/27/22` (Vietnamese): the time first.
        let mut c = Cursor { s, at: 0 };
        let time = time_at(&mut c, Trailing::No)?;
        c.eat(|ch| ch == ',');
        let date = date_at(&mut c)?;
        return Some((Written::join(date, time), c.at));
    };
    // `,` or the Arabic comma; `klo` (Finnish) or `à` (French) before the time.
    c.eat(|ch| ch == ',' || ch == '،');
    c.spaces();
    for word in ["klo ", "à ", "um "] {
        if c.s[c.at..].starts_with(word) {
            c.at += word.len();
        }
    }
    let time = time_at(&mut c, trailing)?;
    Some((Written::join(date, time), c.at))
}

/// Reads a date at the start of `s`; the byte length it took.
pub(crate) fn scan_date(s: &str) -> Option<(WrittenDate, usize)> {
    let mut c = Cursor { s, at: 0 };
    let date = date_at(&mut c)?;
    Some((date, c.at))
}

/// Reads a time of day at the start of `s`; the byte length it took.
pub(crate) fn scan_time(s: &str) -> Option<(WrittenTime, usize)> {
    let mut c = Cursor { s, at: 0 };
    let time = time_at(&mut c, Trailing::Yes)?;
    Some((time, c.at))
}

/// Whether a line begins with a date (`12/3/22`, `[2018-01-29`): in a chat
/// export such a line starts a record, so it is never glued onto the
/// message before it, even when it cannot be read.
pub(crate) fn looks_dated(line: &str) -> bool {
    let mut c = Cursor { s: line, at: 0 };
    c.spaces();
    c.eat(|ch| ch == '[');
    date_at(&mut c).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, order: DateOrder) -> String {
        let (w, _) = scan(s, Trailing::Yes).unwrap_or_else(|| panic!("not scanned: {s:?}"));
        w.resolve(order)
            .map_or_else(|| "invalid".into(), |t| t.to_string())
    }

    #[test]
    fn phone_forms_are_read() {
        use DateOrder::*;
        for (s, order, want) in [
            ("1/29/18, 12:24:03 PM", Mdy, "2018-01-29 12:24:03"),
            ("1/29/18, 12:24:03\u{202f}AM", Mdy, "2018-01-29 00:24:03"),
            ("29/01/2018, 21:24", Dmy, "2018-01-29 21:24:00"),
            ("06.08.2016, 13:23", Dmy, "2016-08-06 13:23:00"),
            ("06-08-2016 13:23", Dmy, "2016-08-06 13:23:00"),
            ("2022/7/21 05:21:28", Ymd, "2022-07-21 05:21:28"),
            ("2022/7/21 下午5:21:28", Ymd, "2022-07-21 17:21:28"),
            ("2018. 1. 29. 오후 3:10:05", Ymd, "2018-01-29 15:10:05"),
            ("29/1/18 3:10 p. m.", Dmy, "2018-01-29 15:10:00"),
            ("29/1/18 3:10 a.m.", Dmy, "2018-01-29 03:10:00"),
            ("29/1/18, 12:05 vorm.", Dmy, "2018-01-29 00:05:00"),
            (
                "\u{200f}٢٩\u{200f}/١\u{200f}/٢٠١٨ ٣:١٠ م",
                Dmy,
                "2018-01-29 15:10:00",
            ),
            ("2018/01/29 午後3:10", Ymd, "2018-01-29 15:10:00"),
            ("2018/01/29 午後0:05", Ymd, "2018-01-29 12:05:00"),
            ("2018/01/29 午前0:05", Ymd, "2018-01-29 00:05:00"),
            ("1/29/18 13:05 PM", Mdy, "2018-01-29 13:05:00"),
            ("1/29/18 13:05 AM", Mdy, "invalid"),
            ("1/30/18, 00:04:03 AM", Mdy, "2018-01-30 00:04:03"),
            ("3/27/22 21.41.35", Mdy, "2022-03-27 21:41:35"),
            ("3/27/2565 BE, 21:41:35", Mdy, "2022-03-27 21:41:35"),
            ("3/27/R4, 21:41:35", Mdy, "2022-03-27 21:41:35"),
            ("R7/02/09 15:18", Ymd, "2025-02-09 15:18:00"),
            ("21:41:35, 3/27/22", Mdy, "2022-03-27 21:41:35"),
            (
                "\u{200f}27\u{200f}/3\u{200f}/2022، 21:41:35",
                Dmy,
                "2022-03-27 21:41:35",
            ),
            ("13.6.2018 klo 21.25.15", Dmy, "2018-06-13 21:25:15"),
            ("12/07/2017 à 22:35", Dmy, "2017-07-12 22:35:00"),
            (
                "05/01/2021, 3:07 in the afternoon",
                Dmy,
                "2021-01-05 15:07:00",
            ),
            ("24/8/21 PM 9:50", Dmy, "2021-08-24 21:50:00"),
            ("31/02/2018 10:00", Dmy, "invalid"),
        ] {
            assert_eq!(at(s, order), want, "{s}");
        }
    }

    #[test]
    fn scan_stops_where_the_time_ends() {
        let s = "[1/29/18, 12:24:03 PM] Ann: hi";
        let (_, n) = scan(&s[1..], Trailing::Yes).unwrap();
        assert_eq!(&s[1 + n..], "] Ann: hi");
        let s = "29/01/2018, 12:24 - Ann: pm is fine";
        let (w, n) = scan(s, Trailing::Yes).unwrap();
        assert_eq!(&s[n..], " - Ann: pm is fine");
        assert_eq!(w.half, None);
        let s = "2026-11-24 18:02 buyer: hi";
        let (_, n) = scan(s, Trailing::Yes).unwrap();
        assert_eq!(&s[n..], " buyer: hi");
        assert!(scan("12345/1/2 10:00", Trailing::Yes).is_none());
        assert!(scan("hello 1/2/20", Trailing::Yes).is_none());
        assert!(scan("1/2/20 no time", Trailing::Yes).is_none());
    }

    #[test]
    fn the_file_decides_the_date_order() {
        let w = |s: &str| scan(s, Trailing::Yes).unwrap().0;
        let us = [w("1/7/23, 10:00"), w("1/13/23, 10:00")];
        assert_eq!(DateOrder::infer(&us), (DateOrder::Mdy, false));
        let eu = [w("1/7/23, 10:00"), w("13/7/23, 10:00")];
        assert_eq!(DateOrder::infer(&eu), (DateOrder::Dmy, false));
        // Only month-first runs forward: 7 Jan, 8 Jan, 1 Feb.
        let forward = [w("1/7/23, 10:00"), w("1/8/23, 10:00"), w("2/1/23, 10:00")];
        assert_eq!(DateOrder::infer(&forward), (DateOrder::Mdy, false));
        // Both orders run forward: ambiguous.
        let same = [w("1/7/23, 10:00"), w("1/7/23, 11:00")];
        assert_eq!(DateOrder::infer(&same), (DateOrder::Dmy, true));
        let iso = [w("2023-01-07 10:00")];
        assert_eq!(DateOrder::infer(&iso), (DateOrder::Ymd, false));
    }

    #[test]
    fn dated_lines_are_recognised() {
        assert!(looks_dated("[1/29/18, 12:24:03 PM] Ann: hi"));
        assert!(looks_dated("2026-11-30 is the deadline"));
        assert!(looks_dated("\u{200e}06.08.16 13:23"));
        assert!(!looks_dated("see you at 10:30"));
        assert!(!looks_dated("2026 was a good year"));
        assert!(!looks_dated("3.1. Hiring;"));
        assert!(!looks_dated("2-3 trees"));
    }
}
