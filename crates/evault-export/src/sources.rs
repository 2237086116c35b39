//! The order's chat, e-mail and tracking files: what was read from each,
//! what the fit report says of it, and its text for the verbatim copy.

use evault_core::EvidenceKind;
use serde::Serialize;

use crate::timeline::Reading;

/// The most characters of one line counted as one unit of the verbatim
/// budget: a longer line (one-line JSON, say) counts as several, and can be
/// cut inside.
pub(crate) const UNIT_CHARS: usize = 500;

/// The most units (lines, or 500-character pieces of longer lines) of one
/// file shown as recorded, whatever the profile.
pub(crate) const MAX_VERBATIM_UNITS: usize = 2_000;

/// Why a copy stops at the per-file cap, for the PDF and the fit report.
pub(crate) const CAP_WHY: &str =
    "at most 2000 lines (or 500-character pieces of longer lines) of a file are shown";

/// Where a verbatim copy stops, when it does not show the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Before line `next` (from 1) of `total`.
    Line { next: usize, total: usize },
    /// Inside line `line`, after its first `chars` characters.
    InLine {
        line: usize,
        chars: usize,
        total: usize,
    },
}

impl Cut {
    /// What the copy shows, for the fit report.
    pub(crate) fn shown(self) -> String {
        match self {
            Cut::Line { next: 1, total } => format!("none of its {total} lines shown"),
            Cut::Line { next, total } => format!("lines 1 to {} of {total} shown", next - 1),
            Cut::InLine {
                line: 1,
                chars,
                total,
            } => format!("the first {chars} characters of line 1 of {total} shown"),
            Cut::InLine { line, chars, total } => format!(
                "lines 1 to {} and the first {chars} characters of line {line}, of {total}, shown",
                line - 1
            ),
        }
    }

    /// What the copy leaves out, for the PDF.
    pub(crate) fn rest(self) -> String {
        match self {
            Cut::Line { next, total } if next == total => {
                format!("Line {total} of {total} is")
            }
            Cut::Line { next, total } => format!("Lines {next} to {total} of {total} are"),
            Cut::InLine { line, chars, total } if line == total => format!(
                "The rest of line {line} of {total}, after its first {chars} characters, is"
            ),
            Cut::InLine { line, chars, total } => format!(
                "The rest of line {line} (after its first {chars} characters) and lines {} to {total} of {total} are",
                line + 1
            ),
        }
    }
}

/// Whether evidence of this kind is read into the timeline (chats,
/// e-mails, tracking files).
pub(crate) fn is_source(kind: EvidenceKind) -> bool {
    matches!(
        kind,
        EvidenceKind::TrackingEvents | EvidenceKind::ChatLog | EvidenceKind::Email
    )
}

/// A chat or tracking file and what was read from it.
pub(crate) struct SourceFile {
    pub(crate) seq: u64,
    pub(crate) name: String,
    pub(crate) kind: EvidenceKind,
    pub(crate) reading: Reading,
    /// The file as text, when it is text (UTF-8, or UTF-16 with a BOM).
    pub(crate) text: Option<String>,
}

/// What reading one chat or tracking file gave, for reports and the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The evidence entry.
    pub seq: u64,
    /// Its recorded name.
    pub name: String,
    /// The shape read (`None`: no shape matched).
    pub shape: Option<String>,
    /// Messages or carrier events read.
    pub read: usize,
    /// Lines not read (kept verbatim).
    pub lines_not_read: usize,
    /// Remarks (date order ambiguous, shapes tried...).
    pub notes: Vec<String>,
}

impl SourceFile {
    fn noun(&self) -> &'static str {
        match (self.kind, self.reading.read() == 1) {
            (EvidenceKind::ChatLog, true) => "message",
            (EvidenceKind::ChatLog, false) => "messages",
            (EvidenceKind::Email, true) => "e-mail",
            (EvidenceKind::Email, false) => "e-mails",
            (_, true) => "event",
            (_, false) => "events",
        }
    }

    /// Whether the PDFs show its text as recorded: some of it was not read
    /// (HTML exports aside), or it is an e-mail (whose text is the message).
    pub(crate) fn needs_verbatim(&self) -> bool {
        // An HTML export read as such is not copied: its source is markup,
        // and every record not read is already shown, as text, in place.
        let html = self.reading.shape.is_some_and(|s| s.contains("HTML"));
        self.text.is_some()
            && (self.kind == EvidenceKind::Email
                || self.reading.unrecognised()
                || (self.reading.lines_not_read() > 0 && !html))
    }

    /// Whether it is shown with the chats (chat exports and e-mails).
    pub(crate) fn is_message(&self) -> bool {
        matches!(self.kind, EvidenceKind::ChatLog | EvidenceKind::Email)
    }

    /// Whether anything of it can be shown in a PDF.
    pub(crate) fn in_pdf(&self) -> bool {
        self.reading.read() > 0 || self.text.is_some()
    }

    /// Budget units of its whole verbatim copy (capped at
    /// [`MAX_VERBATIM_UNITS`]): a line per [`UNIT_CHARS`] characters or
    /// part of them, an empty line one.
    pub(crate) fn verbatim_units(&self) -> usize {
        if !self.needs_verbatim() {
            return 0;
        }
        self.text.as_deref().map_or(0, |t| {
            t.lines()
                .map(|l| l.chars().count().div_ceil(UNIT_CHARS).max(1))
                .sum::<usize>()
                .min(MAX_VERBATIM_UNITS)
        })
    }

    /// The first `units` units of its text, and where they stop.
    pub(crate) fn verbatim(&self, units: usize) -> (String, Option<Cut>) {
        let text = self.text.as_deref().unwrap_or_default();
        let total = text.lines().count();
        let mut out = String::new();
        let mut left = units;
        for (i, line) in text.lines().enumerate() {
            let chars = line.chars().count();
            let need = chars.div_ceil(UNIT_CHARS).max(1);
            if need <= left {
                out.push_str(line);
                out.push('\n');
                left -= need;
                continue;
            }
            if left == 0 {
                return (out, Some(Cut::Line { next: i + 1, total }));
            }
            let chars = left * UNIT_CHARS;
            out.extend(line.chars().take(chars));
            out.push('\n');
            return (
                out,
                Some(Cut::InLine {
                    line: i + 1,
                    chars,
                    total,
                }),
            );
        }
        (out, None)
    }

    /// Whether a copy of `units` units stops short for the pages (else the
    /// per-file cap stopped it).
    pub(crate) fn cut_by_pages(&self, units: usize) -> bool {
        units < self.verbatim_units()
    }

    /// What a record-not-read's number counts: lines of text and CSV files,
    /// items of JSON, XML and HTML exports (messages or events).
    pub(crate) fn place_word(&self) -> &'static str {
        match self.reading.shape {
            Some(s) if ["JSON", "XML", "HTML"].iter().any(|f| s.contains(f)) => {
                if self.kind == EvidenceKind::TrackingEvents {
                    "event"
                } else {
                    "message"
                }
            }
            _ => "line",
        }
    }

    /// One phrase for the fit report and the PDF: the shape and the counts.
    pub(crate) fn summary(&self) -> String {
        let r = &self.reading;
        match r.shape {
            Some(shape) => {
                let mut s = format!("read as {shape}: {} {} read", r.read(), self.noun());
                // Text files count lines; JSON, XML and HTML exports, items.
                let word = self.place_word();
                let n = if word == "line" {
                    r.lines_not_read()
                } else {
                    r.records.len() - r.read()
                };
                match n {
                    0 if self.kind == EvidenceKind::Email => {}
                    0 => s.push_str(", every line read"),
                    n => s.push_str(&format!(
                        ", {n} {word}{} not read (shown {})",
                        if n == 1 { "" } else { "s" },
                        if word == "line" {
                            "as recorded"
                        } else {
                            "in place"
                        }
                    )),
                }
                s
            }
            None if self.text.is_some() => {
                "not in a shape evault reads; shown as recorded".to_owned()
            }
            None => "not read".to_owned(),
        }
    }

    /// Remarks for the fit report: the reader's notes and, when no shape
    /// matched, the shapes tried.
    pub(crate) fn notes(&self) -> Vec<String> {
        let who = format!("entry {} {}", self.seq, self.name);
        let mut out: Vec<String> = self
            .reading
            .notes
            .iter()
            .map(|n| format!("{who}: {n}"))
            .collect();
        if self.reading.unrecognised() && !self.reading.tried.is_empty() {
            out.push(format!(
                "{who}: not in the timeline: it matches none of the shapes evault reads (tried: {}); the file is exported as recorded{}",
                self.reading.tried.join("; "),
                if self.text.is_some() {
                    " and shown as recorded in the PDF, as far as the page limits allow"
                } else {
                    ""
                }
            ));
        }
        out
    }

    /// The report of this file.
    pub(crate) fn report(&self) -> SourceReport {
        SourceReport {
            seq: self.seq,
            name: self.name.clone(),
            shape: self.reading.shape.map(str::to_owned),
            read: self.reading.read(),
            lines_not_read: self.reading.lines_not_read(),
            notes: self.notes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            seq: 4,
            name: "x.json".into(),
            kind: EvidenceKind::TrackingEvents,
            reading: Reading::default(),
            text: Some(text.into()),
        }
    }

    #[test]
    fn html_exports_are_not_copied_as_markup() {
        let mut f = file("<div>...</div>");
        f.reading = Reading {
            shape: Some("Telegram Desktop HTML"),
            records: vec![crate::timeline::Record::NotRead {
                line: 3,
                text: "Shop pinned a message".into(),
            }],
            ..Reading::default()
        };
        assert!(!f.needs_verbatim());
        f.reading.shape = Some("chat lines \"date time name: text\"");
        assert!(f.needs_verbatim());
    }

    #[test]
    fn long_lines_count_as_several_units_and_are_cut_inside() {
        let long = "x".repeat(1_200);
        let f = file(&format!("short\n{long}\nlast\n"));
        assert_eq!(f.verbatim_units(), 1 + 3 + 1);
        assert_eq!(f.verbatim(5), (format!("short\n{long}\nlast\n"), None));
        let (copy, cut) = f.verbatim(3);
        assert_eq!(copy, format!("short\n{}\n", "x".repeat(1_000)));
        let cut = cut.unwrap();
        assert_eq!(
            cut,
            Cut::InLine {
                line: 2,
                chars: 1_000,
                total: 3
            }
        );
        assert_eq!(
            cut.shown(),
            "lines 1 to 1 and the first 1000 characters of line 2, of 3, shown"
        );
        assert_eq!(
            cut.rest(),
            "The rest of line 2 (after its first 1000 characters) and lines 3 to 3 of 3 are"
        );
        let (copy, cut) = f.verbatim(1);
        assert_eq!(copy, "short\n");
        assert_eq!(cut.unwrap().shown(), "lines 1 to 1 of 3 shown");
        assert_eq!(
            f.verbatim(0).1.unwrap().shown(),
            "none of its 3 lines shown"
        );
        assert!(CAP_WHY.contains(&format!(
            "{MAX_VERBATIM_UNITS} lines (or {UNIT_CHARS}-character"
        )));
        let one = file(&long);
        assert_eq!(
            one.verbatim(1).1.unwrap().rest(),
            "The rest of line 1 of 1, after its first 500 characters, is"
        );
    }
}
