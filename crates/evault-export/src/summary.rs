//! The PDFs of a bundle: the summary that tells the story (order facts,
//! statement, timeline, captioned photos, integrity appendix) and, for
//! one-file-per-category platforms, the shipping and communication files.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use evault_core::{Dispute, DisputeReason, Evidence, OrderId};

use evault_core::EvidenceKind;

use crate::pdf::{self, Flow, Fonts, Paper, Pdf};
use crate::sources::SourceFile;
use crate::timeline::{Event, Record, Source};

/// Width of the label column of two-column rows, in points.
const LABEL_W: f32 = 120.0;
/// Width of the time column of the timeline, in points.
const TIME_W: f32 = 190.0;

/// A photo shown in a PDF: its pixels, or a caption pointing at its upload file.
pub(crate) struct Photo {
    pub(crate) seq: u64,
    pub(crate) evidence: Evidence,
    pub(crate) recorded_at: String,
    pub(crate) by: String,
    pub(crate) shown: Shown,
}

/// How a photo appears.
pub(crate) enum Shown {
    /// Embedded: a fitted JPEG of width × height pixels.
    Page(Arc<Vec<u8>>, u32, u32),
    /// Uploaded as its own file.
    Upload(String),
    /// Not uploaded; the original is in the bundle at this path.
    Original(String),
    /// Laid out for counting pages only (no pixels yet).
    Placeholder,
}

/// Everything the PDFs say about one order.
#[derive(Clone, Copy)]
pub(crate) struct Story<'a> {
    pub(crate) order: &'a OrderId,
    pub(crate) platform: &'a str,
    pub(crate) reason: DisputeReason,
    pub(crate) dispute: Option<&'a Dispute>,
    pub(crate) statement: Option<&'a str>,
    /// In time order.
    pub(crate) events: &'a [Event],
    /// The chat and tracking files, in log order.
    pub(crate) sources: &'a [SourceFile],
    /// How many units (lines, or 500-character pieces of longer lines) of
    /// files not fully read may be shown as recorded (the page limits
    /// decide; see `plan`).
    pub(crate) verbatim: usize,
    /// Whether the bundle carries the originals (`data/originals/`).
    pub(crate) originals: bool,
    pub(crate) evidence: &'a [(u64, &'a Evidence)],
    /// What to say of the photos when some are left out of the uploads
    /// (`None`: every photo recorded is shown).
    pub(crate) photos_note: Option<&'a str>,
    pub(crate) through_seq: u64,
    pub(crate) head: &'a str,
    /// One line per RFC 3161 stamp over a covered checkpoint.
    pub(crate) stamps: &'a [String],
    pub(crate) created: DateTime<Utc>,
    pub(crate) paper: Paper,
    pub(crate) pdfa: bool,
}

/// Which PDF to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// The story; with the chat transcript when `with_chats`.
    Summary { with_chats: bool },
    /// Carrier events and label/tracking photos.
    Shipping,
    /// The chat transcripts.
    Communication,
}

impl Part {
    fn title(self) -> &'static str {
        match self {
            Part::Summary { .. } => "Dispute evidence summary",
            Part::Shipping => "Shipping documentation",
            Part::Communication => "Communication with the buyer",
        }
    }
}

impl Story<'_> {
    /// Renders one PDF; also returns the characters no font covered.
    pub(crate) fn render(
        &self,
        fonts: &Fonts,
        part: Part,
        photos: &[Photo],
    ) -> Result<(Pdf, Vec<char>), String> {
        let flow = self.layout(fonts, part, photos);
        let missing = flow.missing.clone();
        let title = format!("{}: order {}", part.title(), self.order);
        let footer = format!("order {}", short(self.order.as_str(), 40));
        let pdf = pdf::render(
            flow,
            fonts,
            &pdf::Meta {
                title: &title,
                footer: &footer,
                created: self.created,
                pdfa: self.pdfa,
            },
        )?;
        Ok((pdf, missing))
    }

    /// The number of pages one PDF takes.
    pub(crate) fn pages(&self, fonts: &Fonts, part: Part, photos: &[Photo]) -> usize {
        self.layout(fonts, part, photos).page_count()
    }

    fn layout<'f>(&self, fonts: &'f Fonts, part: Part, photos: &[Photo]) -> Flow<'f> {
        let mut flow = Flow::new(fonts, self.paper);
        flow.title(&format!("{}: order {}", part.title(), self.order));
        match part {
            Part::Summary { with_chats } => {
                self.facts(&mut flow);
                self.statement(&mut flow);
                self.timeline(&mut flow, None);
                self.photos(&mut flow, photos);
                if with_chats {
                    let shares = self.verbatim_shares(part);
                    self.transcripts(&mut flow, &shares);
                    self.carrier_files(&mut flow, &shares);
                }
                self.appendix(&mut flow);
            }
            Part::Shipping => {
                flow.para("Carrier events and the label and tracking photos of this order, as recorded in the evidence vault. The summary file tells the whole story in time order.");
                self.timeline(&mut flow, Some(Source::Carrier));
                self.carrier_files(&mut flow, &self.verbatim_shares(part));
                self.photos(&mut flow, photos);
            }
            Part::Communication => {
                flow.para("Messages with the buyer, as the recorded chat exports and e-mails show them, each file in the order it was written. Times without a zone are the local time of the phone or the sender that wrote them.");
                self.transcripts(&mut flow, &self.verbatim_shares(part));
            }
        }
        flow
    }

    fn facts(&self, f: &mut Flow<'_>) {
        f.heading("The order and the dispute");
        f.row("Order", self.order.as_str(), LABEL_W, true);
        let d = self.dispute;
        f.row(
            "Platform",
            d.map_or(self.platform, |d| d.platform.as_str()),
            LABEL_W,
            true,
        );
        f.row("Reason", &self.reason.to_string(), LABEL_W, true);
        for (label, value) in [
            ("Case id", d.and_then(|d| d.case_id.as_deref())),
            ("Amount", d.and_then(|d| d.amount.as_deref())),
            ("Respond by", d.and_then(|d| d.due.as_deref())),
        ] {
            f.row(label, value.unwrap_or("not recorded"), LABEL_W, true);
        }
        let photos = self
            .evidence
            .iter()
            .filter(|(_, e)| e.image.is_some())
            .count();
        let text = match self.photos_note {
            Some(note) => format!(
                "{} files recorded, log entries 1 to {}; {note}",
                self.evidence.len(),
                self.through_seq
            ),
            None => format!(
                "{} files recorded ({photos} photos), log entries 1 to {}",
                self.evidence.len(),
                self.through_seq
            ),
        };
        f.row("Evidence", &text, LABEL_W, true);
    }

    fn statement(&self, f: &mut Flow<'_>) {
        f.heading("Seller's statement");
        match self.statement {
            Some(s) => f.para(s.trim()),
            None => f.para(statement_template(self.reason)),
        }
    }

    fn timeline(&self, f: &mut Flow<'_>, only: Option<Source>) {
        let events: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| only.is_none_or(|s| e.source == s))
            .collect();
        f.heading(if only.is_some() {
            "Carrier events"
        } else {
            "Timeline"
        });
        if events.is_empty() {
            f.para("No events were read from the recorded files.");
            return;
        }
        f.para("Times with a UTC offset are ordered by their instant. \"Zone unknown\" times were written without one (most chat exports and some cameras) and are placed as if they were UTC. \"Recorded\" times come from the vault station's clock, in UTC.");
        for e in events {
            f.row(
                &pretty_time(&e.shown),
                &format!("{} [entry {}]", e.what, e.seq),
                TIME_W,
                false,
            );
        }
    }

    fn photos(&self, f: &mut Flow<'_>, photos: &[Photo]) {
        if photos.is_empty() {
            return;
        }
        let embedded = photos
            .iter()
            .any(|p| matches!(p.shown, Shown::Page(..) | Shown::Placeholder));
        if !embedded {
            f.heading(if matches!(photos[0].shown, Shown::Upload(_)) {
                "Photos (uploaded as separate files)"
            } else {
                "Photos (the originals are in this bundle)"
            });
        }
        for (i, p) in photos.iter().enumerate() {
            if embedded {
                f.page_break();
                f.heading(&format!("Photo {}: {}", i + 1, p.evidence.kind));
            } else {
                f.strong(&format!("Photo {}: {}", i + 1, p.evidence.kind));
            }
            self.caption(f, p);
            match &p.shown {
                Shown::Page(bytes, w, h) => f.jpeg(bytes.clone(), *w, *h),
                // Counting pages only: a photo fills the rest of its page.
                Shown::Placeholder => f.page_break(),
                Shown::Upload(_) | Shown::Original(_) => f.space(6.0),
            }
        }
    }

    /// "a frame of the packing video (entry 7), at 00:12": a still grabbed
    /// by the station while the video recorded, named by the video's capture id.
    fn still_of(&self, frame: &evault_core::FrameOf) -> String {
        let secs = frame.offset_ms / 1000;
        let at = format!("{:02}:{:02}", secs / 60, secs % 60);
        let video = self.evidence.iter().find(|(_, e)| {
            e.device.as_ref().and_then(|d| d.capture.as_deref()) == Some(frame.capture.as_str())
        });
        match video {
            Some((seq, v)) => format!(
                "grabbed at {at} of the packing video {} (entry {seq}) while it recorded; {}",
                v.name,
                if self.originals {
                    "the video is in this bundle's originals"
                } else {
                    "the video is kept in the seller's vault"
                }
            ),
            None => format!(
                "grabbed at {at} of a packing video (capture {}) that is not recorded in this order",
                frame.capture
            ),
        }
    }

    fn caption(&self, f: &mut Flow<'_>, p: &Photo) {
        let e = &p.evidence;
        f.row(
            "File",
            &format!("{} (entry {})", e.name, p.seq),
            LABEL_W,
            true,
        );
        let captured = e.image.as_ref().and_then(|i| {
            let at = i.captured_at.as_ref()?;
            Some(match &i.captured_offset {
                Some(off) => format!("{at}{off} (camera clock)"),
                None => format!("{at} (camera clock, zone unknown)"),
            })
        });
        f.row(
            "Captured",
            captured.as_deref().unwrap_or("no camera time in the file"),
            LABEL_W,
            true,
        );
        if let Some(note) = &e.note {
            f.row("Note", note, LABEL_W, true);
        }
        if let Some(frame) = e.device.as_ref().and_then(|d| d.frame_of.as_ref()) {
            f.row("Video still", &self.still_of(frame), LABEL_W, true);
        }
        f.row(
            "Recorded",
            &format!("{} by {}", p.recorded_at, p.by),
            LABEL_W,
            true,
        );
        let sha = e.sha256.to_hex();
        f.row(
            "SHA-256",
            &format!("{}… (original file)", &sha[..16.min(sha.len())]),
            LABEL_W,
            true,
        );
        let copy = match &p.shown {
            Shown::Page(_, w, h) => {
                format!("{w}×{h} JPEG made from the original (evault/derivation.json)")
            }
            Shown::Upload(name) => format!("uploaded as {name}"),
            Shown::Original(path) => format!("not shown; the original is {path}"),
            Shown::Placeholder => String::new(),
        };
        f.row("Shown here", &copy, LABEL_W, true);
    }

    fn transcripts(&self, f: &mut Flow<'_>, shares: &[(u64, usize)]) {
        let chats: Vec<&SourceFile> = self
            .sources
            .iter()
            .filter(|s| s.is_message() && s.in_pdf())
            .collect();
        f.heading(if chats.iter().any(|c| c.kind == EvidenceKind::Email) {
            "Chats and e-mails"
        } else {
            "Chat transcript"
        });
        if chats.is_empty() {
            f.para("No chat messages were read from the recorded files.");
            return;
        }
        for chat in chats {
            f.strong(&format!("{} (entry {})", chat.name, chat.seq));
            let mut about = chat.summary();
            for n in &chat.reading.notes {
                about.push_str("; ");
                about.push_str(n);
            }
            f.para(&upper_first(&about));
            for r in &chat.reading.records {
                match r {
                    Record::Read(m) => {
                        let what = ["chat, ", "chat: ", "e-mail, "]
                            .iter()
                            .find_map(|p| m.what.strip_prefix(p))
                            .unwrap_or(&m.what);
                        f.row(&pretty_time(&m.shown), what, TIME_W, false);
                    }
                    Record::NotRead { line, text } => not_read_row(f, chat, *line, text),
                }
            }
            self.verbatim_copy(f, chat, shares);
            f.space(6.0);
        }
    }

    /// Tracking files not fully read, as recorded (they are evidence).
    fn carrier_files(&self, f: &mut Flow<'_>, shares: &[(u64, usize)]) {
        let files: Vec<&SourceFile> = self
            .sources
            .iter()
            .filter(|s| s.kind == EvidenceKind::TrackingEvents && s.needs_verbatim())
            .collect();
        if files.is_empty() {
            return;
        }
        f.heading("Carrier files as recorded");
        for file in files {
            f.strong(&format!("{} (entry {})", file.name, file.seq));
            f.para(&upper_first(&file.summary()));
            for r in &file.reading.records {
                if let Record::NotRead { line, text } = r {
                    not_read_row(f, file, *line, text);
                }
            }
            self.verbatim_copy(f, file, shares);
        }
    }

    /// The files whose text `part` shows as recorded, in the order shown,
    /// with the lines each gets of the [`Story::verbatim`] budget.
    pub(crate) fn verbatim_shares(&self, part: Part) -> Vec<(u64, usize)> {
        // Messages (chats, e-mails) first, then tracking files; each in log order.
        let (messages, tracking) = match part {
            Part::Summary { with_chats: true } => (true, true),
            Part::Summary { with_chats: false } => (false, false),
            Part::Shipping => (false, true),
            Part::Communication => (true, false),
        };
        let mut budget = self.verbatim;
        let messages = self
            .sources
            .iter()
            .filter(move |s| messages && s.is_message());
        let tracking = self
            .sources
            .iter()
            .filter(move |s| tracking && s.kind == EvidenceKind::TrackingEvents);
        messages
            .chain(tracking)
            .filter(|s| s.needs_verbatim())
            .map(|s| {
                let n = s.verbatim_units().min(budget);
                budget -= n;
                (s.seq, n)
            })
            .collect()
    }

    /// A file's text as recorded: as many lines as its share.
    fn verbatim_copy(&self, f: &mut Flow<'_>, file: &SourceFile, shares: &[(u64, usize)]) {
        let (Some(_), Some((_, shown))) =
            (&file.text, shares.iter().find(|(seq, _)| *seq == file.seq))
        else {
            return;
        };
        let (copy, cut) = file.verbatim(*shown);
        if file.kind == EvidenceKind::Email {
            f.strong("The e-mail (its headers and text as the message holds them)");
        } else if file.reading.shape.is_some() {
            f.strong("As recorded (every line, to compare with the reading above)");
        }
        if !copy.is_empty() {
            f.para(copy.trim_end_matches('\n'));
        }
        if let Some(cut) = cut {
            let whole = if self.originals {
                format!(
                    "the whole file is in this bundle as data/originals/{}",
                    crate::export::original_name_of(file.seq, &file.name)
                )
            } else {
                format!(
                    "the whole file is entry {} of the order's log in the vault",
                    file.seq
                )
            };
            let why = if file.cut_by_pages(*shown) {
                "the platform's page limit leaves no more room"
            } else {
                crate::sources::CAP_WHY
            };
            f.para(&format!("[{} not shown here: {why}; {whole}.]", cut.rest()));
        }
    }

    fn appendix(&self, f: &mut Flow<'_>) {
        f.heading("Integrity: how to check this evidence");
        f.para("Every file was hashed with SHA-256 and BLAKE3 when it was recorded. The hashes, the time (the recording station's clock, UTC), the operator and the station went into one line of an append-only log kept for this order. Each line carries the SHA-256 of the line before it, so changing, removing or reordering an earlier line breaks the links after it unless every later line is rewritten too; a checkpoint (below) held outside the vault, such as in this bundle, is what shows that the history was not rewritten since. Corrections are new lines.");
        f.row(
            "Log entries",
            &format!("1 to {} are covered by this bundle", self.through_seq),
            LABEL_W,
            true,
        );
        f.row("Checkpoint", self.head, LABEL_W, true);
        if self.stamps.is_empty() {
            f.row(
                "Timestamp",
                "none from an independent authority (RFC 3161): the times are the recording station's clock",
                LABEL_W,
                true,
            );
        }
        for stamp in self.stamps {
            f.row("Timestamp", stamp, LABEL_W, true);
        }
        f.para("This document is part of a bundle (a zip holding a BagIt bag). Its manifest-sha256.txt and manifest-sha512.txt list every file with its hashes, evault/manifest.jsonl is the order's log, and evault/derivation.json says which original each uploaded file was made from. To check: unzip the bundle, then in its folder run \"sha256sum -c manifest-sha256.txt\", or run \"evault verify-bundle BUNDLE.zip\", which also checks the log's chain.");
        f.para("What this shows: these files were recorded at the \"Recorded\" times, by the operators and stations named, and have not changed since. What it does not show: the times come from the recording station's clock and are not confirmed by an independent time source (except that a timestamp above shows the entries it covers existed by the authority's time), and a photo shows what the camera saw, not by itself what the parcel held.");
        if self.evidence.len() <= 40 {
            f.strong("Recorded files");
            let mut by_seq: Vec<_> = self.evidence.iter().collect();
            by_seq.sort_by_key(|(seq, _)| *seq);
            for (seq, e) in by_seq {
                let sha = e.sha256.to_hex();
                f.row(
                    &format!("entry {seq}"),
                    &format!(
                        "{} ({}), {} bytes, SHA-256 {}…",
                        e.name,
                        e.kind,
                        e.size,
                        &sha[..16.min(sha.len())]
                    ),
                    LABEL_W,
                    false,
                );
            }
        } else {
            f.para(&format!(
                "{} files are recorded; each is listed with its hashes in evault/manifest.jsonl.",
                self.evidence.len()
            ));
        }
    }
}

/// The statement used when the seller gives none (and the one a form
/// starts from).
pub fn statement_template(reason: DisputeReason) -> &'static str {
    // Only what the records themselves show; the seller's own account goes
    // in --statement.
    match reason {
        DisputeReason::NotReceived => {
            "The buyer reports that the order did not arrive. The records below are the photos of the parcel and its shipping label, with the times they were recorded in our evidence vault, the carrier's events, and our messages with the buyer, put in one time order."
        }
        DisputeReason::NotAsDescribed => {
            "The buyer reports that the item is not as described. The photos below show the item and its packing, with the times they were recorded in our evidence vault; the timeline puts them, the carrier events and our messages with the buyer in one time order."
        }
        DisputeReason::Damaged => {
            "The buyer reports that the item arrived damaged. The photos below show the item and its packing, with the times they were recorded in our evidence vault; the timeline puts them, the carrier events and our messages with the buyer in one time order."
        }
        DisputeReason::Unauthorized => {
            "The cardholder reports that they did not authorise this payment. The records below are the shipping label photo, the carrier's events and our messages with the buyer, with the times they were recorded in our evidence vault."
        }
        DisputeReason::Other => {
            "The records below are the photos, carrier events and messages recorded for this order in our evidence vault, in one time order."
        }
    }
}

/// An RFC 3339 time as `2026-11-18 09:12:31 +08:00` (`UTC` for `Z`);
/// anything else as it is.
pub(crate) fn pretty_time(shown: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(shown) {
        Ok(t) if shown.ends_with('Z') => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        Ok(t) => t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        Err(_) => shown.to_owned(),
    }
}

/// A record not read, in its place: `line 5: not read` (or `message 5`,
/// `event 5`) beside its text as recorded.
fn not_read_row(f: &mut Flow<'_>, file: &SourceFile, n: usize, text: &str) {
    f.row(
        &format!("{} {n}: not read", file.place_word()),
        text,
        TIME_W,
        true,
    );
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}
