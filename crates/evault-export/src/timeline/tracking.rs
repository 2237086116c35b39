//! Carrier tracking exports: JSON as tracking services and carriers return
//! it, the XML track responses of USPS, UPS, FedEx and DHL (read into the
//! same tree, see [`super::tracking_xml`]), and CSV.
//!
//! One walk finds the lists of events wherever the shape keeps them (keys
//! compared without case or `_`): AfterShip `checkpoints[]`, 17TRACK
//! `track_info.tracking.providers[].events[]`, EasyPost
//! `tracking_details[]`, Shippo `tracking_history[]`, FedEx `scanEvents[]`
//! / `Events`, UPS `activity[]` / `Activity`, USPS `TrackDetail`, DHL
//! `ShipmentEvent` and a plain `events[]`. In each event the time, the
//! description and the place are taken from the fields that shape uses.
//! An event without a readable time is kept verbatim in its place.

use serde_json::{Map, Value};

use super::time::{self, Column};
use super::{Event, Reading, Record, Source};

/// A shape of tracking file: its name when it is JSON and when it is XML.
type Shape = (&'static str, &'static str);

const EVENTS: Shape = ("tracking JSON (events)", "tracking XML (Events)");
const SEVENTEEN_TRACK: Shape = (
    "17TRACK JSON (track_info.tracking.providers[].events)",
    "17TRACK XML",
);

/// Lists of events: the key (compared without case or `_`) and the shape
/// it names.
const LISTS: [(&str, Shape); 12] = [
    (
        "checkpoints",
        ("AfterShip JSON (checkpoints)", "AfterShip XML"),
    ),
    (
        "trackingdetails",
        ("EasyPost JSON (tracking_details)", "EasyPost XML"),
    ),
    (
        "trackinghistory",
        ("Shippo JSON (tracking_history)", "Shippo XML"),
    ),
    (
        "scanevents",
        ("FedEx JSON (scanEvents)", "FedEx XML (scanEvents)"),
    ),
    ("activity", ("UPS JSON (activity)", "UPS XML (Activity)")),
    ("trackdetail", ("USPS JSON", "USPS XML (TrackDetail)")),
    ("tracksummary", ("USPS JSON", "USPS XML (TrackDetail)")),
    ("shipmentevent", ("DHL JSON", "DHL XML (ShipmentEvent)")),
    ("events", EVENTS),
    ("trackingevents", EVENTS),
    (
        "occurrence",
        ("Canada Post JSON", "Canada Post XML (significant-events)"),
    ),
    ("event", EVENTS),
];

/// The shapes named when a file matches none: those the readers were
/// written for.
const TRIED: [&str; 12] = [
    LISTS[0].1.0,
    SEVENTEEN_TRACK.0,
    LISTS[1].1.0,
    LISTS[2].1.0,
    LISTS[3].1.0,
    LISTS[4].1.0,
    EVENTS.0,
    LISTS[5].1.1,
    LISTS[4].1.1,
    LISTS[7].1.1,
    LISTS[10].1.1,
    EVENTS.1,
];

/// Fields holding a whole time, in order of preference.
const TIME: [&str; 16] = [
    "checkpointtime",
    "eventtimestamp",
    "eventdt",
    "scantime",
    "timeiso",
    "datetime",
    "statusdate",
    "timestamp",
    "eventdatetime",
    "occurredat",
    "timeutc",
    "timeraw",
    "time",
    "date",
    "eventtime",
    "createdat",
];
/// Date and time given apart.
const DATE_TIME: [(&str, &str); 3] = [
    ("date", "time"),
    ("eventdate", "eventtime"),
    ("gmtdate", "gmttime"),
];
/// Fields holding what happened (a string, or an object with a description).
const WHAT: [&str; 14] = [
    "message",
    "eventshorttext",
    "statusdetails",
    "eventdescription",
    "description",
    "status",
    "event",
    "details",
    "serviceevent",
    "statustype",
    "tag",
    "subtagmessage",
    "eventtype",
    "eventcode",
];
/// Fields holding where (a string, or an object of address parts).
const WHERE: [&str; 7] = [
    "location",
    "trackinglocation",
    "scanlocation",
    "activitylocation",
    "place",
    "address",
    "servicearea",
];
/// Address parts, in the order shown.
const PARTS: [&str; 23] = [
    "addresslocality",
    "locationname",
    "city",
    "eventcity",
    "eventsite",
    "state",
    "stateorprovincecode",
    "stateprovincecode",
    "stateprovince",
    "province",
    "eventstate",
    "eventprovince",
    "postalcode",
    "zip",
    "zipcode",
    "eventzipcode",
    "eventzip",
    "countryname",
    "country",
    "countrycode",
    "countryiso3",
    "eventcountry",
    "addresscountrycode",
];
/// Who carried it and the tracking number, looked for around the list.
const CARRIER: [&str; 6] = [
    "provider",
    "carrier",
    "slug",
    "courier",
    "carriercode",
    "carriername",
];
const NUMBER: [&str; 6] = [
    "trackingnumber",
    "trackingcode",
    "awbnumber",
    "number",
    "trackingid",
    "id",
];

/// Whether a key is `want` (lowercase ASCII, no `_`) compared without case
/// or `_`/`-`, without allocating.
fn is_key(k: &str, want: &str) -> bool {
    let mut got = k
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase());
    want.chars().all(|w| got.next() == Some(w)) && got.next().is_none()
}

fn get<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.iter().find(|(k, _)| is_key(k, key)).map(|(_, v)| v)
}

/// A field's text, its runs of white space made one space (XML is often
/// indented inside its elements).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => {
            Some(s.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One list of events and what surrounds it.
struct List<'a> {
    shape: Shape,
    items: Vec<&'a Value>,
    carrier: Option<String>,
}

/// Every list of events in the tree (objects' keys in sorted order, as
/// serde_json keeps them; a list's items in file order).
fn lists<'a>(v: &'a Value, around: &[&'a Map<String, Value>], out: &mut Vec<List<'a>>) {
    match v {
        Value::Object(o) => {
            let mut path = around.to_vec();
            path.push(o);
            for (k, child) in o {
                let list = LISTS.iter().find(|(name, _)| is_key(k, name));
                let items: Vec<&Value> = match child {
                    Value::Array(a) => a
                        .iter()
                        .filter(|i| i.is_object() || i.is_string())
                        .collect(),
                    Value::Object(_) => vec![child],
                    Value::String(_) if list.is_some() => vec![child],
                    _ => Vec::new(),
                };
                if let Some((_, shape)) = list
                    && !items.is_empty()
                    && items
                        .iter()
                        .any(|i| i.is_object() || list.is_some_and(|(n, _)| n.starts_with("track")))
                {
                    out.push(List {
                        shape: *shape,
                        items,
                        carrier: carrier(&path),
                    });
                } else {
                    lists(child, &path, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|i| lists(i, around, out)),
        _ => {}
    }
}

/// `CARRIER NUMBER` from the nearest objects around a list.
fn carrier(path: &[&Map<String, Value>]) -> Option<String> {
    let find = |keys: &[&str]| {
        path.iter().rev().find_map(|o| {
            keys.iter().find_map(|k| match get(o, k)? {
                Value::Object(p) => get(p, "name").and_then(text),
                v => text(v),
            })
        })
    };
    let who: Vec<String> = [find(&CARRIER), find(&NUMBER)]
        .into_iter()
        .flatten()
        .collect();
    (!who.is_empty()).then(|| who.join(" "))
}

fn what(o: &Map<String, Value>) -> Option<String> {
    WHAT.iter().find_map(|k| match get(o, k)? {
        Value::Object(inner) => what(inner),
        v => text(v),
    })
}

fn place(o: &Map<String, Value>) -> Option<String> {
    let compose = |o: &Map<String, Value>| {
        if let Some(Value::Object(a)) = get(o, "address") {
            return parts(a);
        }
        parts(o)
    };
    WHERE
        .iter()
        .find_map(|k| match get(o, k)? {
            Value::Object(inner) => compose(inner),
            v => text(v),
        })
        // USPS, AfterShip, LaserShip keep the city, state... on the event.
        .or_else(|| parts(o))
}

fn parts(o: &Map<String, Value>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    // DHL's ServiceArea names the place in its description.
    let named = get(o, "serviceareacode").and(get(o, "description"));
    for k in PARTS.iter().copied().chain(named.map(|_| "description")) {
        if let Some(t) = get(o, k).and_then(text)
            && !seen.contains(&t)
        {
            seen.push(t);
        }
    }
    (!seen.is_empty()).then(|| seen.join(", "))
}

fn when(o: &Map<String, Value>, times: &Column) -> Option<(chrono::NaiveDateTime, String)> {
    // A date and a time given apart; a date alone only when no field holds
    // a whole time (a `date` beside a `time` is not read alone).
    let pair = |with_time: bool| {
        let (date, clock) = date_time(o)?;
        if clock.is_empty() == with_time {
            return None;
        }
        // With an offset beside them (`timezone: "-03:00"`), the instant is known.
        let zone = get(o, "timezone").and_then(text).unwrap_or_default();
        times
            .parse(&format!("{date}T{clock}{zone}"))
            .filter(|_| zone.starts_with(['+', '-']))
            // A numeric date in the file's day/month order, then the
            // carriers' fixed forms (`May 21, 2001`, `20100608`).
            .or_else(|| times.parse(format!("{date} {clock}").trim()))
            .or_else(|| time::date_and_time(&date, &clock))
    };
    pair(true)
        .or_else(|| {
            TIME.iter().find_map(|k| match get(o, k)? {
                Value::String(s) => times.parse(s),
                Value::Number(n) => time::from_number(n.as_i64()?),
                // 17TRACK's `time_raw: {date, time, timezone}`.
                Value::Object(inner) => when(inner, times),
                _ => None,
            })
        })
        .or_else(|| pair(false))
}

/// A date and a time given in two fields (the time may be empty).
fn date_time(o: &Map<String, Value>) -> Option<(String, String)> {
    DATE_TIME.iter().find_map(|(d, t)| {
        let date = get(o, d).and_then(text)?;
        Some((date, get(o, t).and_then(text).unwrap_or_default()))
    })
}

/// Reads events out of a JSON (or XML-turned-JSON) tree.
pub(super) fn read_tree(seq: u64, root: &Value, kind: &str) -> Option<Reading> {
    let mut found = Vec::new();
    lists(root, &[], &mut found);
    if let (Value::Array(items), true) = (root, found.is_empty()) {
        // A bare list of events.
        found.push(List {
            shape: EVENTS,
            items: items.iter().collect(),
            carrier: None,
        });
    }
    let strings: Vec<String> = found
        .iter()
        .flat_map(|l| &l.items)
        .filter_map(|i| i.as_object())
        .flat_map(|o| {
            let pair = date_time(o).map(|(d, t)| format!("{d} {t}"));
            TIME.iter()
                .filter_map(|k| get(o, k).and_then(text))
                .chain(pair)
        })
        .collect();
    let times = Column::new(strings.iter().map(String::as_str));
    let mut records = Vec::new();
    let mut shapes: Vec<Shape> = Vec::new();
    for list in &found {
        for item in &list.items {
            let ord = records.len();
            let read = item.as_object().and_then(|o| {
                let (at, shown) = when(o, &times)?;
                let mut said = what(o)?;
                // The place, unless the description already names it.
                if let Some(p) = place(o)
                    && !said.to_lowercase().contains(&p.to_lowercase())
                {
                    said = format!("{said}, {p}");
                }
                Some((at, shown, said))
            });
            records.push(match read {
                Some((at, shown, said)) => Record::Read(Event {
                    at,
                    shown,
                    what: match &list.carrier {
                        Some(c) => format!("carrier ({c}): {said}"),
                        None => format!("carrier: {said}"),
                    },
                    seq,
                    source: Source::Carrier,
                    ord,
                }),
                None => Record::NotRead {
                    line: ord + 1,
                    text: match item {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                },
            });
        }
        if !shapes.contains(&list.shape) {
            shapes.push(list.shape);
        }
    }
    if !records.iter().any(|r| matches!(r, Record::Read(_))) {
        return None;
    }
    // The first list found names the shape (USPS keeps its newest event in
    // a TrackSummary beside the TrackDetail list).
    let (json, xml) = if has_key(root, "track_info", 0) {
        SEVENTEEN_TRACK
    } else {
        shapes.first().copied().unwrap_or(EVENTS)
    };
    Some(Reading {
        shape: Some(if kind == "XML" { xml } else { json }),
        records,
        notes: times.note().into_iter().collect(),
        tried: Vec::new(),
        first_lines: Vec::new(),
    })
}

/// Whether a key (exactly) appears in the tree, a few levels down.
fn has_key(v: &Value, key: &str, depth: usize) -> bool {
    match v {
        _ if depth > 6 => false,
        Value::Object(o) => o
            .iter()
            .any(|(k, c)| k == key || has_key(c, key, depth + 1)),
        Value::Array(a) => a.iter().take(4).any(|c| has_key(c, key, depth + 1)),
        _ => false,
    }
}

/// Reads a tracking file: JSON, XML or CSV.
pub(super) fn read(seq: u64, text: &str) -> Reading {
    let t = text.trim_start();
    let mut tried: Vec<&'static str> = TRIED.to_vec();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(t)
            && let Some(r) = read_tree(seq, &v, "JSON")
        {
            return r;
        }
    } else if t.starts_with('<') {
        if let Some(v) = super::tracking_xml::tree(t)
            && let Some(r) = read_tree(seq, &v, "XML")
        {
            return r;
        }
    } else {
        match super::csv::read_tracking(seq, text) {
            Ok(r) => return r,
            Err(shapes) => tried.extend_from_slice(shapes),
        }
    }
    Reading::none(tried, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whats(r: &Reading) -> Vec<String> {
        r.events()
            .map(|e| format!("{} | {}", e.shown, e.what))
            .collect()
    }

    #[test]
    fn plain_events_with_place_or_location() {
        let r = read(
            6,
            r#"{"carrier":"4PX","tracking_number":"LX1","events":[{"time":"2026-11-24T11:31:00-05:00","place":"Brooklyn","status":"Delivered"},{"time":"2026-11-23T08:00:00Z","location":{"city":"Newark","state":"NJ"},"description":"Arrived"}]}"#,
        );
        assert_eq!(
            whats(&r),
            [
                "2026-11-24T11:31:00-05:00 | carrier (4PX LX1): Delivered, Brooklyn",
                "2026-11-23T08:00:00Z | carrier (4PX LX1): Arrived, Newark, NJ"
            ]
        );
    }

    #[test]
    fn split_times_and_codes() {
        // 17TRACK's time_raw with its offset; DHL's code when the description is empty.
        let r = read(
            6,
            r#"{"events":[{"time_raw":{"date":"2026-11-24","time":"11:31","timezone":"-05:00"},"description":"Delivered"},{"Date":"2026-11-20","Time":"19:27:00","ServiceEvent":{"Description":"","EventCode":"RW"}}]}"#,
        );
        assert_eq!(
            whats(&r),
            [
                "2026-11-24T11:31-05:00 | carrier: Delivered",
                "2026-11-20 19:27:00 (zone unknown) | carrier: RW"
            ]
        );
        assert_eq!(
            r.events().next().unwrap().at.to_string(),
            "2026-11-24 16:31:00"
        );
    }

    #[test]
    fn a_numeric_date_follows_the_files_order_and_a_missing_time_is_said() {
        let r = read(
            6,
            r#"{"events":[{"date":"05/11/2026","time":"10:00","status":"A"},{"date":"24/11/2026","time":"11:31","status":"B"},{"date":"November 25, 2026","time":"","status":"C"}]}"#,
        );
        assert_eq!(
            whats(&r),
            [
                "2026-11-05 10:00 (zone unknown) | carrier: A",
                "2026-11-24 11:31 (zone unknown) | carrier: B",
                "2026-11-25 (no time; zone unknown) | carrier: C"
            ]
        );
    }

    #[test]
    fn an_event_without_a_time_is_kept() {
        let r = read(
            6,
            r#"{"events":[{"time":"2026-11-24T11:31:00Z","status":"Delivered"},{"status":"Lost?"}]}"#,
        );
        assert_eq!(r.read(), 1);
        assert_eq!(r.lines_not_read(), 1);
    }

    #[test]
    fn no_shape_names_what_was_tried() {
        let r = read(6, r#"{"hello":"world"}"#);
        assert!(r.unrecognised());
        assert!(r.tried.contains(&"Shippo JSON (tracking_history)"));
    }
}
