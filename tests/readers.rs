//! The timeline readers on chat and tracking exports as sellers have them.
//!
//! Every fixture in `tests/fixtures/exports` was written for these tests
//! from the app's or provider's documented (or, for chat apps, observed)
//! format; the version each follows is named at its test. Each test checks
//! who said what and when, whether the time's zone is known, the order, and
//! that what cannot be read is kept verbatim in its place.

use std::path::Path;

use evault_core::EvidenceKind;
use evault_export::timeline::{Reading, Record, read};

fn fixture(kind: EvidenceKind, rel: &str) -> Reading {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exports")
        .join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    read(kind, 7, &bytes).expect("a chat or tracking kind")
}

fn chat(rel: &str) -> Reading {
    fixture(EvidenceKind::ChatLog, &format!("chat/{rel}"))
}

fn tracking(rel: &str) -> Reading {
    fixture(EvidenceKind::TrackingEvents, &format!("tracking/{rel}"))
}

/// Each record as `instant | shown | what`, or `line N not read | text`.
fn rows(r: &Reading) -> Vec<String> {
    r.records
        .iter()
        .map(|rec| match rec {
            Record::Read(e) => format!("{} | {} | {}", e.at, e.shown, e.what),
            Record::NotRead { line, text } => format!("line {line} not read | {text}"),
        })
        .collect()
}

/// WhatsApp 2.23 on iPhone, region United States: month first, 12-hour
/// clock with a narrow no-break space before AM/PM, a left-to-right mark
/// before media lines, a message over three lines.
#[test]
fn whatsapp_iphone_us() {
    let r = chat("whatsapp-iphone-en-us.txt");
    assert_eq!(
        r.shape,
        Some("chat lines \"[date, time] name: text\" (WhatsApp on iPhone, Signal)")
    );
    assert_eq!(
        rows(&r),
        [
            "2026-11-20 09:05:12 | 2026-11-20 09:05:12 (zone unknown) | chat, Shop: Hi! Your order 112-7739151 shipped today.",
            "2026-11-20 09:05:40 | 2026-11-20 09:05:40 (zone unknown) | chat, Shop: \u{200e}image omitted",
            "2026-11-24 18:02:03 | 2026-11-24 18:02:03 (zone unknown) | chat, Buyer: It has not arrived.\nThe tracking says delivered\nbut nothing is at my door",
            "2026-11-24 18:20:55 | 2026-11-24 18:20:55 (zone unknown) | chat, Shop: The carrier photo shows your porch.",
            "2026-12-01 00:01:00 | 2026-12-01 00:01:00 (zone unknown) | chat, Buyer: Opening a case.",
        ]
    );
    assert!(
        r.notes.is_empty(),
        "the 24th decides month-first: {:?}",
        r.notes
    );
}

/// WhatsApp on Android, German: dotted day-first dates with 2-digit years,
/// a byte-order mark on some lines, a system line with no sender, a message
/// holding a date and a colon.
#[test]
fn whatsapp_android_de() {
    let r = chat("whatsapp-android-de.txt");
    assert_eq!(
        rows(&r),
        [
            "2026-11-29 12:24:00 | 2026-11-29 12:24 (zone unknown) | chat: Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
            "2026-11-29 12:25:00 | 2026-11-29 12:25 (zone unknown) | chat, Käufer: Wo ist mein Paket?",
            "2026-11-29 13:40:00 | 2026-11-29 13:40 (zone unknown) | chat, Verkäufer: Laut DHL zugestellt: 28.11., 10:12 Uhr",
            "2026-11-30 08:02:00 | 2026-11-30 08:02 (zone unknown) | chat, Käufer: <Medien ausgeschlossen>",
        ]
    );
}

/// WhatsApp on Android, Spanish (Mexico): `a. m.`/`p. m.`, one with a
/// no-break space inside.
#[test]
fn whatsapp_android_es() {
    let r = chat("whatsapp-android-es.txt");
    let at: Vec<String> = r.events().map(|e| e.at.to_string()).collect();
    assert_eq!(
        at,
        [
            "2026-11-09 22:37:00",
            "2026-11-10 08:15:00",
            "2026-11-13 12:05:00"
        ]
    );
    assert_eq!(r.lines_not_read(), 0);
}

/// WhatsApp on iPhone in Chinese (year first, 上午/下午 before the time),
/// Arabic (Arabic-Indic digits, right-to-left marks, the Arabic comma,
/// ص/م) and Korean on Android (`2026. 11. 24. 오후 3:10`).
#[test]
fn whatsapp_zh_ar_ko() {
    let at = |r: &Reading| -> Vec<String> {
        r.events().map(|e| format!("{} {}", e.at, e.what)).collect()
    };
    assert_eq!(
        at(&chat("whatsapp-iphone-zh.txt")),
        [
            "2026-11-21 17:21:28 chat, 买家: 包裹没有到",
            "2026-11-22 09:01:00 chat, 卖家: 已经签收"
        ]
    );
    assert_eq!(
        at(&chat("whatsapp-iphone-ar.txt")),
        [
            "2026-11-24 21:41:35 chat, المشتري: أين طلبي؟",
            "2026-11-25 08:00:00 chat, البائع: تم التسليم"
        ]
    );
    assert_eq!(
        at(&chat("whatsapp-android-ko.txt")),
        [
            "2026-11-24 15:10:00 chat, 구매자: 택배가 안 왔어요",
            "2026-11-25 09:02:00 chat, 판매자: 배송 완료로 나옵니다"
        ]
    );
}

/// A file whose dates never tell day from month says so, in the reading
/// and at every time it shows.
#[test]
fn an_undecided_date_order_is_said() {
    let r = chat("whatsapp-android-ambiguous.txt");
    assert_eq!(r.read(), 2);
    assert!(
        r.notes[0].starts_with("date order ambiguous"),
        "{:?}",
        r.notes
    );
    assert!(
        r.events()
            .all(|e| e.shown.contains("day/month order assumed"))
    );
}

/// Lines that begin like a record but cannot be one stay in place,
/// verbatim, never glued under the message before them.
#[test]
fn unreadable_lines_stay_in_place() {
    let r = chat("whatsapp-android-unreadable-lines.txt");
    assert_eq!(
        rows(&r),
        [
            "line 1 not read | WhatsApp Chat with Buyer",
            "2026-11-24 18:02:00 | 2026-11-24 18:02 (zone unknown) | chat, Buyer: hello",
            "line 3 not read | 2026-11-30 is my deadline: refund please",
            "2026-11-24 18:03:00 | 2026-11-24 18:03 (zone unknown) | chat, Buyer: are you there?",
            "line 5 not read | 31/11/2026, 09:00 - Shop: this date does not exist",
            "2026-11-25 08:00:00 | 2026-11-25 08:00 (zone unknown) | chat, Shop: yes",
        ]
    );
    assert_eq!((r.read(), r.lines_not_read()), (3, 3));
}

/// Signal, as signal-export (sigexport 2.x) writes Markdown: a reaction
/// line continues the message before it.
#[test]
fn signal_export() {
    let r = chat("signal-sigexport.md");
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 18:02:11 | 2026-11-24 18:02:11 (zone unknown) | chat, Buyer: The parcel is not here\n(- Shop: 👍 -)",
            "2026-11-24 18:05:00 | 2026-11-24 18:05:00 (zone unknown) | chat, Shop: Checking with the carrier",
        ]
    );
}

/// LINE 13 "Send chat history" in English and Japanese: date lines, tab
/// columns, a quoted message over two lines, 午後 before the time, a
/// system line with an empty sender column.
#[test]
fn line_chat_history() {
    let r = chat("line-en.txt");
    assert_eq!(r.shape, Some("LINE chat history text"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 10:30:00 | 2026-11-24 10:30 (zone unknown) | chat, Buyer: Where is my parcel?",
            "2026-11-24 10:31:00 | 2026-11-24 10:31 (zone unknown) | chat, Shop: It was delivered\nyesterday at 14:05",
            "2026-11-25 09:00:00 | 2026-11-25 09:00 (zone unknown) | chat, Buyer: [Photo]",
        ]
    );
    let r = chat("line-ja.txt");
    let what: Vec<String> = r.events().map(|e| format!("{} {}", e.at, e.what)).collect();
    assert_eq!(
        what,
        [
            "2026-11-24 15:18:00 chat, 購入者: 荷物が届きません",
            "2026-11-24 22:05:00 chat: メッセージの送信を取り消しました"
        ]
    );
}

/// Telegram Desktop 4.x "Export chat history" (JSON): `text` as a string or
/// a list of pieces; `date_unixtime` gives the instant, so the offset of
/// the exporting computer is known; attachments and service actions.
#[test]
fn telegram_desktop_json() {
    let r = chat("telegram-result.json");
    assert_eq!(r.shape, Some("Telegram Desktop JSON"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 10:02:00 | 2026-11-24T18:02:00+08:00 | chat, Buyer: The parcel is not here",
            "2026-11-24 10:05:00 | 2026-11-24T18:05:00+08:00 | chat, Shop: Tracking: https://t.17track.net/en#nums=LX1 says delivered",
            "2026-11-24 10:06:30 | 2026-11-24T18:06:30+08:00 | chat, Shop: [photo: photo_1@24-11-2026_18-06-30.jpg]",
            "2026-11-24 10:07:00 | 2026-11-24T18:07:00+08:00 | chat, Buyer: [pin message]",
        ]
    );
}

/// Telegram Desktop 4.x "Export chat history" in its default format, HTML:
/// times in the date's `title` with the exporting computer's offset, the
/// sender carried over to "joined" messages, a photo, a day separator and a
/// service message (kept, not read).
#[test]
fn telegram_desktop_html() {
    let r = chat("telegram-messages.html");
    assert_eq!(r.shape, Some("Telegram Desktop HTML"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 10:02:00 | 2026-11-24T18:02:00+08:00 | chat, Buyer: The parcel is not here.\nTracking says \"delivered\"",
            "2026-11-24 10:02:40 | 2026-11-24T18:02:40+08:00 | chat, Buyer: Can you check with the carrier?",
            "2026-11-24 10:05:00 | 2026-11-24T18:05:00+08:00 | chat, Shop & Co: [media]",
            "line 4 not read | Buyer pinned \"Can you check with the carrier?\"",
        ]
    );
}

/// Facebook Messenger "Download your information" (JSON, 2023): newest
/// first, text as UTF-8 bytes in `\u00XX` escapes, times in milliseconds
/// (UTC).
#[test]
fn messenger_json() {
    let r = chat("messenger-message_1.json");
    assert_eq!(r.shape, Some("Messenger/Instagram JSON"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 10:00:00 | 2026-11-24 10:00:00 UTC | chat, Renée: Où est mon colis ? 📦",
            "2026-11-24 10:02:00 | 2026-11-24 10:02:00 UTC | chat, Renée: [1 photo]",
            "2026-11-24 10:05:00 | 2026-11-24 10:05:00 UTC | chat, Shop: Le colis a été livré hier à 14 h 05.",
        ]
    );
}

/// AfterShip Tracking API 2024-04, GET /trackings/{id}: `checkpoints[]`
/// with `checkpoint_time` (with the place's offset, or none), `message`,
/// `location` or city/state/country parts.
/// https://www.aftership.com/docs/tracking/2024-04/model/checkpoint
#[test]
fn aftership() {
    let r = tracking("aftership.json");
    assert_eq!(r.shape, Some("AfterShip JSON (checkpoints)"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-18 02:02:00 | 2026-11-18T10:02:00+08:00 | carrier (4px LX123456789CN): Accepted by carrier, Shenzhen, Guangdong, CN",
            "2026-11-24 16:31:00 | 2026-11-24T11:31:00-05:00 | carrier (4px LX123456789CN): Delivered, left at front door, Brooklyn, NY, 11215, United States, USA",
            "2026-11-20 09:15:00 | 2026-11-20 09:15:00 (zone unknown) | carrier (4px LX123456789CN): Arrived at destination country, USA",
        ]
    );
}

/// 17TRACK API v2.2, gettrackinfo: `track_info.tracking.providers[].events[]`
/// with `time_iso`, `description`, `location`.
/// https://api.17track.net/en/doc?version=v2.2
#[test]
fn seventeen_track() {
    let r = tracking("17track.json");
    assert_eq!(
        r.shape,
        Some("17TRACK JSON (track_info.tracking.providers[].events)")
    );
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 16:31:00 | 2026-11-24T11:31:00-05:00 | carrier (Yanwen YT2616912345678901): Delivered, BROOKLYN, NY",
            "2026-11-18 02:02:00 | 2026-11-18T10:02:00+08:00 | carrier (Yanwen YT2616912345678901): Picked up, SHENZHEN",
        ]
    );
}

/// EasyPost Tracker object (API v2): `tracking_details[]` with `datetime`
/// (UTC), `message`, `tracking_location{city,state,country,zip}`.
/// https://docs.easypost.com/docs/trackers
/// Shippo Track object: `tracking_history[]` with `status_date`,
/// `status_details`, `location` (or null).
/// https://docs.goshippo.com/api-reference/tracking-status/get-a-tracking-status
#[test]
fn easypost_and_shippo() {
    assert_eq!(
        rows(&tracking("easypost.json")),
        [
            "2026-11-17 08:25:26 | 2026-11-17T08:25:26Z | carrier (USPS 9400110898825022579493): Shipping Label Created, HOUSTON, TX, 77063",
            "2026-11-24 16:31:00 | 2026-11-24T16:31:00Z | carrier (USPS 9400110898825022579493): Delivered, In/At Mailbox, BROOKLYN, NY, 11215",
        ]
    );
    assert_eq!(
        rows(&tracking("shippo.json")),
        [
            "2026-11-18 19:04:00 | 2026-11-18T19:04:00Z | carrier (usps 9205590164917312751089): Your shipment has been accepted at the USPS origin facility., San Francisco, CA, 94103, US",
            "2026-11-24 16:31:00 | 2026-11-24T16:31:00Z | carrier (usps 9205590164917312751089): Your shipment has been delivered.",
        ]
    );
}

/// A plain `events[]` list: `timestamp`/`date`, `description`/`status`,
/// `location` as an object or a string; an event without a time is kept.
#[test]
fn plain_events() {
    assert_eq!(
        rows(&tracking("events-plain.json")),
        [
            "2026-11-18 10:02:00 | 2026-11-18 10:02:00 (zone unknown) | carrier (Cainiao LP00123456789012): Parcel accepted, Shenzhen, CN",
            "2026-11-24 16:31:00 | 2026-11-24T16:31:00Z | carrier (Cainiao LP00123456789012): Delivered, Brooklyn, NY",
            "line 3 not read | {\"status\":\"Exception: address unclear\"}",
        ]
    );
}

/// USPS Web Tools Track/Confirm Fields (TrackFieldRequest, API 3.x):
/// `TrackSummary` and `TrackDetail` with `EventDate` + `EventTime` (local,
/// no zone); a TrackDetail as one line of text (no year) is kept verbatim.
/// https://www.usps.com/business/web-tools-apis/track-and-confirm-api.htm
#[test]
fn usps_xml() {
    assert_eq!(
        rows(&tracking("usps-trackfield.xml")),
        [
            "2026-11-24 08:36:00 | 2026-11-24 08:36 (zone unknown) | carrier (9400110200828077631698): Out for Delivery, BROOKLYN, NY, 11215",
            "line 2 not read | Nov 23 9:10 pm Arrived at USPS Regional Facility BROOKLYN NY NETWORK DISTRIBUTION CENTER",
            "2026-11-24 12:24:00 | 2026-11-24 12:24 (zone unknown) | carrier (9400110200828077631698): Delivered, Front Door/Porch, BROOKLYN, NY, 11215",
        ]
    );
}

/// UPS Tracking XML (TrackResponse, Developer Guide 2019): `Activity` with
/// `Date` YYYYMMDD + `Time` HHMMSS (local), `Status/StatusType/Description`,
/// `ActivityLocation/Address`. FedEx Track Service v18 (SOAP `TrackReply`):
/// `Events` with `Timestamp` (offset), `EventDescription`, `Address`. DHL
/// Express XML Services 6.2 `TrackingResponse`: `ShipmentEvent` with
/// `Date` + `Time` (local), `ServiceEvent/Description`,
/// `ServiceArea/Description`.
#[test]
fn ups_fedex_dhl_xml() {
    let r = tracking("ups-track.xml");
    assert_eq!(r.shape, Some("UPS XML (Activity)"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 11:31:00 | 2026-11-24 11:31:00 (zone unknown) | carrier (1Z12345E0291980793): DELIVERED, BROOKLYN, NY, 11215, US",
            "2026-11-17 12:00:00 | 2026-11-17 12:00:00 (zone unknown) | carrier (1Z12345E0291980793): BILLING INFORMATION RECEIVED, US",
        ]
    );
    let r = tracking("fedex-trackreply.xml");
    assert_eq!(
        rows(&r),
        [
            "2026-11-24 16:31:00 | 2026-11-24T11:31:00-05:00 | carrier (FDXE 858871312004): Delivered, BROOKLYN, NY, 11215, US",
            "2026-11-18 02:02:00 | 2026-11-18T10:02:00+08:00 | carrier (FDXE 858871312004): Picked up, SHENZHEN, CN",
        ]
    );
    let r = tracking("dhl-tracking.xml");
    assert_eq!(r.shape, Some("DHL XML (ShipmentEvent)"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-18 10:02:00 | 2026-11-18 10:02:00 (zone unknown) | carrier (8564385550): Shipment picked up, SHENZHEN - CHINA MAINLAND",
            "2026-11-24 11:31:00 | 2026-11-24 11:31:00 (zone unknown) | carrier (8564385550): Delivered - Signed for by, NEW YORK CITY GATEWAY,NY - USA",
        ]
    );
}

/// A file in no shape the readers know names every shape tried.
#[test]
fn no_shape_names_the_shapes_tried() {
    let r = tracking("unknown-shape.json");
    assert!(r.unrecognised());
    assert!(r.records.is_empty());
    for shape in [
        "AfterShip JSON (checkpoints)",
        "17TRACK JSON (track_info.tracking.providers[].events)",
        "USPS XML (TrackDetail)",
        "DHL XML (ShipmentEvent)",
    ] {
        assert!(r.tried.contains(&shape), "{shape}: {:?}", r.tried);
    }
    let r = fixture(EvidenceKind::ChatLog, "tracking/unknown-shape.json");
    assert!(r.unrecognised());
    assert!(r.tried.contains(&"Telegram Desktop JSON"), "{:?}", r.tried);
}

/// An e-mail as mail clients save it (`.eml`, RFC 5322 + MIME 1.0):
/// encoded-word headers (UTF-8 and ISO-8859-1), multipart/alternative with
/// a quoted-printable ISO-8859-1 text part. One event at its `Date`, with
/// its offset.
#[test]
fn email_eml() {
    let r = fixture(EvidenceKind::Email, "email/buyer-reply.eml");
    assert_eq!(r.shape, Some("e-mail (RFC 5322)"));
    assert_eq!(
        rows(&r),
        [
            "2026-11-25 08:14:05 | 2026-11-25T09:14:05+01:00 | e-mail, Renée Martin <renee@example.com>: Re: Commande 112-7739151 – colis non reçu"
        ]
    );
}

/// Every line of every chat fixture read line by line is kept: in a
/// message (as its text or a continuation) or as a record not read.
#[test]
fn no_line_of_a_chat_is_lost() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exports/chat");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let r = read(EvidenceKind::ChatLog, 7, &bytes).unwrap();
        let text = evault_export::timeline::decode(&bytes).unwrap();
        assert_eq!(
            r.unaccounted_lines(&text),
            Vec::<usize>::new(),
            "{}",
            path.display()
        );
        if r.shape
            .is_some_and(|s| s.starts_with("chat lines") || s.starts_with("LINE"))
        {
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
    // The check fails when a line is lost.
    let r = read(
        EvidenceKind::ChatLog,
        7,
        b"24/11/2026, 18:02 - Buyer: hello\n",
    )
    .unwrap();
    assert_eq!(
        r.unaccounted_lines("24/11/2026, 18:02 - Buyer: hello\nsomething else\n"),
        [2]
    );
}
