//! The order's chat, e-mail and tracking files: what was read from each,
//! what the fit report says of it, and its text for the verbatim copy.

use evault_core::EvidenceKind;
use serde::Serialize;

use crate::timeline::Reading;

/// The most lines of one file shown as recorded, whatever the profile.
pub(crate) const MAX_VERBATIM_LINES: usize = 2_000;

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

    /// Whether the PDFs show its text as recorded: some of it was not read,
    /// or it is an e-mail (whose text is the message).
    pub(crate) fn needs_verbatim(&self) -> bool {
        self.text.is_some()
            && (self.kind == EvidenceKind::Email
                || self.reading.unrecognised()
                || self.reading.lines_not_read() > 0)
    }

    /// Whether it is shown with the chats (chat exports and e-mails).
    pub(crate) fn is_message(&self) -> bool {
        matches!(self.kind, EvidenceKind::ChatLog | EvidenceKind::Email)
    }

    /// Whether anything of it can be shown in a PDF.
    pub(crate) fn in_pdf(&self) -> bool {
        self.reading.read() > 0 || self.text.is_some()
    }

    /// Lines of its verbatim copy (capped at [`MAX_VERBATIM_LINES`]).
    pub(crate) fn verbatim_lines(&self) -> usize {
        if !self.needs_verbatim() {
            return 0;
        }
        self.text
            .as_deref()
            .map_or(0, |t| t.lines().count().min(MAX_VERBATIM_LINES))
    }

    /// One phrase for the fit report and the PDF: the shape and the counts.
    pub(crate) fn summary(&self) -> String {
        let r = &self.reading;
        match r.shape {
            Some(shape) => {
                let mut s = format!("read as {shape}: {} {} read", r.read(), self.noun());
                match r.lines_not_read() {
                    0 if self.kind == EvidenceKind::Email => {}
                    0 => s.push_str(", every line read"),
                    n => s.push_str(&format!(
                        ", {n} line{} not read (shown as recorded)",
                        if n == 1 { "" } else { "s" }
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
