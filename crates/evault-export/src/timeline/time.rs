//! Times as programs write them (JSON, CSV, XML fields), and how a time is
//! shown.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::clock::{self, DateOrder, Trailing, Written, WrittenTime};

/// Machine forms without an offset (ISO 8601 and its common variants).
const NAIVE: [&str; 6] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y%m%dT%H%M%S",
    "%Y/%m/%d %H:%M:%S",
];

/// Parses an RFC 3339 time (ordered by its instant, shown as written) or
/// a naive ISO-style one (shown as `YYYY-MM-DD HH:MM[:SS] (zone unknown)`).
pub(crate) fn parse(s: &str) -> Option<(NaiveDateTime, String)> {
    let s = s.trim();
    if let Some((at, shown)) = with_offset(s) {
        return Some((at, shown));
    }
    NAIVE
        .iter()
        .find_map(|f| Some((NaiveDateTime::parse_from_str(s, f).ok()?, f.contains("%S"))))
        .filter(|(t, _)| t.year() >= 1970)
        .map(|(t, seconds)| (t, unzoned(t, seconds)))
}

/// An RFC 3339 time, or one with a `+0800` offset or a space before the
/// offset (`2026-11-24 18:02:00 +08:00`).
fn with_offset(s: &str) -> Option<(NaiveDateTime, String)> {
    let t = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z"))
        .ok()?;
    (t.year() >= 1970).then(|| (t.with_timezone(&Utc).naive_utc(), s.to_owned()))
}

/// How a time without a zone is shown.
pub(crate) fn unzoned(t: NaiveDateTime, seconds: bool) -> String {
    let f = if seconds {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    format!("{} (zone unknown)", t.format(f))
}

/// An instant in milliseconds since 1970 (UTC), shown in UTC.
pub(crate) fn from_millis(ms: i64) -> Option<(NaiveDateTime, String)> {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).filter(|t| t.year() >= 1970)?;
    let f = if ms % 1000 == 0 {
        "%Y-%m-%d %H:%M:%S UTC"
    } else {
        "%Y-%m-%d %H:%M:%S%.3f UTC"
    };
    Some((t.naive_utc(), t.format(f).to_string()))
}

/// A date and a time given apart (`May 21, 2001` and `12:12 pm`,
/// `20100608` and `143000`, `2019-05-02` and `10:15:00`), with no zone. Numeric dates
/// whose day/month order is not fixed (`05/11/2026`) are not read here:
/// the file's order decides them ([`Column`]). With no time, the day is
/// placed at its start and shown `YYYY-MM-DD (no time; zone unknown)`.
pub(crate) fn date_and_time(date: &str, time: &str) -> Option<(NaiveDateTime, String)> {
    let (date, time) = (date.trim(), time.trim());
    let d = ["%B %d, %Y", "%b %d, %Y", "%Y%m%d", "%Y-%m-%d", "%d %B %Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(date, f).ok())
        .filter(|d| d.year() >= 1970)?;
    if time.is_empty() {
        let at = d.and_time(NaiveTime::MIN);
        return Some((
            at,
            format!("{} (no time; zone unknown)", d.format("%Y-%m-%d")),
        ));
    }
    let upper = time.to_uppercase().replace('.', "");
    // (form, whether it has seconds)
    let (t, seconds) = [
        ("%I:%M %p", false),
        ("%I:%M%p", false),
        ("%H:%M:%S", true),
        ("%H:%M", false),
        ("%H%M%S", true),
        ("%H%M", false),
    ]
    .iter()
    .find_map(|(f, sec)| Some((NaiveTime::parse_from_str(&upper, f).ok()?, *sec)))?;
    let at = d.and_time(t);
    Some((at, unzoned(at, seconds)))
}

/// An instant given as a number: seconds or milliseconds since 1970, for
/// instants from 2001 to 2286 (a smaller or larger number, such as
/// `20261124`, is not taken for a time).
pub(crate) fn from_number(n: i64) -> Option<(NaiveDateTime, String)> {
    match n {
        1_000_000_000..=9_999_999_999 => from_millis(n.checked_mul(1000)?),
        1_000_000_000_000..=9_999_999_999_999 => from_millis(n),
        _ => None,
    }
}

/// A column or field of times written the way people write them
/// (`24/11/2026 18:02`): the day/month order is decided over all of them.
pub(crate) struct Column {
    order: DateOrder,
    ambiguous: bool,
}

/// A whole value written as a date and a time, or a date alone (then at
/// the day's start); whether it had a time.
fn written(v: &str) -> Option<(Written, bool)> {
    if let Some((w, n)) = clock::scan(v, Trailing::Yes) {
        return v[n..].trim().is_empty().then_some((w, true));
    }
    let (d, n) = clock::scan_date(v)?;
    v[n..]
        .trim()
        .is_empty()
        .then(|| (Written::join(d, WrittenTime::MIDNIGHT), false))
}

impl Column {
    /// Decides the date order of `values` (those that are not machine forms).
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let written: Vec<Written> = values
            .into_iter()
            .filter(|v| parse(v).is_none())
            .filter_map(|v| written(v).map(|(w, _)| w))
            .collect();
        let (order, ambiguous) = DateOrder::infer(&written);
        Column {
            order,
            ambiguous: ambiguous && !written.is_empty(),
        }
    }

    /// A column whose order was decided elsewhere.
    pub(crate) fn with(order: DateOrder, ambiguous: bool) -> Self {
        Column { order, ambiguous }
    }

    /// One value: a machine form, else a written date and time taking the
    /// whole value.
    pub(crate) fn parse(&self, v: &str) -> Option<(NaiveDateTime, String)> {
        parse(v).or_else(|| {
            let (w, timed) = written(v)?;
            let at = w.resolve(self.order)?;
            Some(if timed {
                (at, self.shown(at, w.has_seconds()))
            } else {
                let day = self.shown(at, false);
                let day = day.split_once(' ').map_or(day.as_str(), |(d, _)| d);
                let assumed = if self.ambiguous {
                    "; day/month order assumed"
                } else {
                    ""
                };
                (at, format!("{day} (no time; zone unknown{assumed})"))
            })
        })
    }

    /// How a written time is shown (with the assumed order when the file
    /// did not decide it).
    pub(crate) fn shown(&self, at: NaiveDateTime, seconds: bool) -> String {
        let s = unzoned(at, seconds);
        if self.ambiguous {
            format!("{}; day/month order assumed)", s.trim_end_matches(')'))
        } else {
            s
        }
    }

    /// The note for a reading whose date order was not decided.
    pub(crate) fn note(&self) -> Option<String> {
        self.ambiguous.then(|| format!(
            "date order ambiguous: no date in the file tells day/month/year from month/day/year; read as {} (times marked \"day/month order assumed\")",
            self.order.label()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_forms() {
        let (at, shown) = parse("2026-11-18T10:02:00+08:00").unwrap();
        assert_eq!(at.to_string(), "2026-11-18 02:02:00");
        assert_eq!(shown, "2026-11-18T10:02:00+08:00");
        let (at, shown) = parse("2014-10-24T13:58:00").unwrap();
        assert_eq!(at.to_string(), "2014-10-24 13:58:00");
        assert_eq!(shown, "2014-10-24 13:58:00 (zone unknown)");
        assert_eq!(
            parse("2016-07-23T00:00:00.000Z").unwrap().0.to_string(),
            "2016-07-23 00:00:00"
        );
        assert_eq!(
            parse("2026-11-24 18:02:00 +0800").unwrap().0.to_string(),
            "2026-11-24 10:02:00"
        );
        assert!(parse("0026-11-24 18:02").is_none());
        assert!(parse("yesterday").is_none());
        let (at, shown) = date_and_time("May 21, 2001", "12:12 pm").unwrap();
        assert_eq!(at.to_string(), "2001-05-21 12:12:00");
        assert!(shown.ends_with("(zone unknown)"));
        assert_eq!(
            date_and_time("20100608", "143000").unwrap().0.to_string(),
            "2010-06-08 14:30:00"
        );
        assert_eq!(
            from_millis(1_577_880_000_000).unwrap().1,
            "2020-01-01 12:00:00 UTC"
        );
    }

    #[test]
    fn a_column_decides_its_date_order() {
        let col = Column::new(["1/7/2023 10:00", "1/13/2023 10:00"]);
        assert_eq!(
            col.parse("1/7/2023 10:00").unwrap().0.to_string(),
            "2023-01-07 10:00:00"
        );
        assert!(col.note().is_none());
        let col = Column::new(["1/7/2023 10:00"]);
        assert!(col.note().is_some());
        assert!(
            col.parse("1/7/2023 10:00")
                .unwrap()
                .1
                .contains("day/month order assumed")
        );
        assert!(col.parse("1/7/2023 10:00 extra").is_none());
        let col = Column::new(["05/11/2026", "24/11/2026"]);
        assert_eq!(
            col.parse("05/11/2026").unwrap(),
            (
                NaiveDate::from_ymd_opt(2026, 11, 5)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                "2026-11-05 (no time; zone unknown)".to_owned()
            )
        );
    }
}
