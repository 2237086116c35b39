//! Choosing, fitting and naming the upload files of a bundle: photos as
//! JPEGs or as PDF pages, the summary PDF, merged category files, and the
//! profile's limits checked on the final set.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Arc;

use evault_core::{Evidence, EvidenceKind, Vault};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::bag::hex;
use crate::error::{Error, Result};
use crate::export::FitLine;
use crate::fit::{FitError, Fitted, fit_photo};
use crate::heif::HeifConvert;
use crate::pdf::{CJK_FONT_ENV, Fonts, char_name};
use crate::profile::{Profile, SlotModel};
use crate::progress::{ExportProgress, ExportStage};
use crate::sources::{SourceFile, is_source};
use crate::summary::{Part, Photo, Shown, Story};

/// One file to upload, in upload order.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    /// Pages, for PDFs.
    pub(crate) pages: Option<usize>,
    /// What the file is, for the fit report and the derivation.
    pub(crate) what: String,
    /// Made by evault from the log (a PDF), not from one original.
    pub(crate) generated: bool,
}

/// The planned upload files and what happened to each evidence file.
pub(crate) struct Plan {
    pub(crate) uploads: Vec<Upload>,
    pub(crate) fit: Vec<FitLine>,
    /// A summary PDF kept in the bundle for a profile that cannot take PDFs.
    pub(crate) summary_only: Option<Upload>,
    /// Extra lines for the fit report.
    pub(crate) notes: Vec<String>,
    /// Photos left out of the uploads: `entry N NAME: why`.
    pub(crate) photos_left_out: Vec<String>,
}

/// A plan, or the photos found undecodable while fitting (the plan is
/// made again without them).
enum Step {
    Done(Plan),
    Undecodable(Vec<Bad>),
}

/// A photo that cannot be decoded: its entry, and why.
type Bad = (u64, String);

/// Photos that cannot be decoded, by entry, with why.
type Undecodable = BTreeMap<u64, String>;

/// Image evidence left out of the uploads, with a short reason for the
/// summary's count ("because stripe takes at most 4 files").
#[derive(Default)]
struct Gone(Vec<(u64, String, String)>);

impl Gone {
    fn add(&mut self, seq: u64, e: &Evidence, why: impl Into<String>) {
        if e.image.is_some() {
            self.0.push((seq, e.name.clone(), why.into()));
        }
    }

    /// What the summary says of the photos when some are left out:
    /// "38 photos recorded, 27 shown; 11 left out: 9 because …, 2 because …".
    fn note(&self, recorded: usize) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let mut groups: Vec<(&str, usize)> = Vec::new();
        for (_, _, why) in &self.0 {
            match groups.iter_mut().find(|(w, _)| w == why) {
                Some(g) => g.1 += 1,
                None => groups.push((why, 1)),
            }
        }
        let k = self.0.len();
        let why: Vec<String> = groups.iter().map(|(w, n)| format!("{n} {w}")).collect();
        Some(format!(
            "{recorded} photos recorded, {} shown in this bundle's uploads; {k} left out: {} (evault/fit-report.txt names each)",
            recorded.saturating_sub(k),
            why.join(", ")
        ))
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(seq, name, why)| format!("entry {seq} {name}: left out {why}"))
            .collect()
    }
}

/// The number of photos recorded (image evidence, not retracted).
fn recorded_photos(inp: &Inputs<'_>) -> usize {
    inp.evidence
        .iter()
        .filter(|(_, e)| e.image.is_some())
        .count()
}

/// Who recorded an entry and when: `seq -> (recorded_at, "operator at station")`.
pub(crate) type Recorders = HashMap<u64, (String, String)>;

/// What planning needs.
pub(crate) struct Inputs<'a> {
    pub(crate) vault: &'a Vault,
    pub(crate) profile: &'a Profile,
    /// Evidence in upload priority order.
    pub(crate) evidence: &'a [(u64, &'a Evidence)],
    pub(crate) originals: bool,
    pub(crate) story: &'a Story<'a>,
    pub(crate) recorders: &'a Recorders,
    pub(crate) progress: &'a dyn ExportProgress,
}

/// The fewest bytes a readable photo copy needs.
const MIN_SHARE: u64 = 20_000;

/// Image types evault decodes into platform copies (HEIF and AVIF through
/// `heif-convert`).
fn is_photo(media_type: &str) -> bool {
    matches!(
        media_type,
        "image/jpeg"
            | "image/png"
            | "image/webp"
            | "image/gif"
            | "image/tiff"
            | "image/bmp"
            | "image/heif"
            | "image/heic"
            | "image/avif"
    )
}

fn needs_heif(media_type: &str) -> bool {
    matches!(media_type, "image/heif" | "image/heic" | "image/avif")
}

fn short_kind(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::PackingPhoto => "packing",
        EvidenceKind::LabelPhoto => "label",
        EvidenceKind::PackingVideo => "video",
        EvidenceKind::LogisticsSnapshot => "tracking",
        EvidenceKind::TrackingEvents => "events",
        EvidenceKind::ChatLog => "chat",
        EvidenceKind::Email => "email",
        EvidenceKind::Invoice => "invoice",
        EvidenceKind::ListingSnapshot => "listing",
        _ => "other",
    }
}

/// `NN-what.ext`, shortened to the profile's name length.
fn upload_name(n: usize, what: &str, ext: &str, max_chars: Option<u32>) -> String {
    let mut stem = format!("{n:02}-{what}");
    if let Some(max) = max_chars {
        let room = (max as usize).saturating_sub(ext.len() + 1).max(2);
        stem.truncate(room);
    }
    format!("{stem}.{ext}")
}

fn ext_of(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    }
}

fn line(seq: u64, e: &Evidence, upload: Option<&Upload>, action: String) -> FitLine {
    FitLine {
        seq,
        name: e.name.clone(),
        kind: e.kind,
        upload: upload.map(|u| u.name.clone()),
        bytes: upload.map_or(0, |u| u.bytes.len() as u64),
        sha256: upload.map(|u| hex(&Sha256::digest(&u.bytes))),
        action,
        converter: None,
    }
}

impl Inputs<'_> {
    fn does_not_fit(&self, why: String) -> Error {
        Error::DoesNotFit {
            profile: self.profile.name.clone(),
            why,
        }
    }

    fn kept(&self) -> &'static str {
        if self.originals {
            "it stays in the originals"
        } else {
            "not in this bundle: --no-originals"
        }
    }

    fn not_taken(&self, e: &Evidence) -> String {
        format!(
            "left out: {} is not a type {} takes ({})",
            e.media_type,
            self.profile.name,
            self.kept()
        )
    }

    fn photo(&self, seq: u64, e: &Evidence, shown: Shown) -> Photo {
        let (recorded_at, by) = self.recorders.get(&seq).cloned().unwrap_or_default();
        Photo {
            seq,
            evidence: e.clone(),
            recorded_at,
            by,
            shown,
        }
    }

    fn render(
        &self,
        story: &Story<'_>,
        fonts: &Fonts,
        part: Part,
        photos: &[Photo],
        notes: &mut Missing,
    ) -> Result<(Vec<u8>, usize)> {
        let (pdf, missing) = story
            .render(fonts, part, photos)
            .map_err(|why| Error::Pdf { why })?;
        notes.0.extend(missing);
        Ok((pdf.bytes, pdf.pages))
    }

    /// The chat or tracking file of an entry.
    fn source(&self, seq: u64) -> Option<&SourceFile> {
        self.story.sources.iter().find(|s| s.seq == seq)
    }

    /// The most units (lines, or 500-character pieces of longer lines) of
    /// files not fully read that can be shown as recorded while `pages`
    /// (the page counts of the PDFs with that budget) stay within the
    /// profile's page limits.
    fn verbatim_room(&self, pages: impl Fn(usize) -> Vec<usize>) -> usize {
        let all: usize = self
            .story
            .sources
            .iter()
            .map(SourceFile::verbatim_units)
            .sum();
        let fits = |v: usize| {
            let p = pages(v);
            let total: usize = p.iter().sum();
            self.profile
                .max_pages_per_file
                .is_none_or(|m| p.iter().all(|n| *n <= m as usize))
                && self
                    .profile
                    .max_pages_total
                    .is_none_or(|m| total <= m as usize)
        };
        if fits(all) {
            return all;
        }
        // The largest budget that fits (0 is taken as fitting: the caller
        // checked the PDFs without any verbatim copy).
        let (mut lo, mut hi) = (0, all);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// The fit report's words for a chat or tracking file merged into a PDF.
    fn merged(&self, seq: u64, story: &Story<'_>, part: Part, pdf: &str) -> String {
        let Some(src) = self.source(seq) else {
            return format!("merged into {pdf}");
        };
        let mut s = format!("merged into {pdf}: {}", src.summary());
        if src.needs_verbatim() {
            let units = story
                .verbatim_shares(part)
                .iter()
                .find(|(s, _)| *s == seq)
                .map_or(0, |(_, n)| *n);
            if let (_, Some(cut)) = src.verbatim(units) {
                let why = if src.cut_by_pages(units) {
                    format!("{} page limit", self.profile.name)
                } else {
                    crate::sources::CAP_WHY.to_owned()
                };
                s.push_str(&format!(
                    "; as recorded: {} ({why}), {}",
                    cut.shown(),
                    if self.originals {
                        "the whole file is in the originals"
                    } else {
                        "the whole file is not in this bundle: --no-originals"
                    }
                ));
            }
        }
        s
    }

    /// Fits photos in parallel, each within `share` bytes. Photos whose
    /// image cannot be decoded are all returned (`Err`), the others'
    /// copies are then thrown away: the plan is made again without them.
    fn fit_all(
        &self,
        photos: &[(u64, &Evidence)],
        share: u64,
        heif: Option<&HeifConvert>,
    ) -> Result<std::result::Result<Vec<Fitted>, Vec<Bad>>> {
        let long_edge = self.profile.photo_long_edge;
        self.progress
            .start(ExportStage::FitPhotos, photos.len() as u64);
        let results = photos
            .par_iter()
            .map(|(seq, e)| {
                let bytes = read_blob(self.vault, *seq, e)?;
                let fitted = fit_photo(&bytes, long_edge, share, heif);
                self.progress.advance(ExportStage::FitPhotos, 1);
                Ok(fitted)
            })
            .collect::<Vec<Result<_>>>();
        let mut fitted = Vec::new();
        let mut bad = Vec::new();
        // Integrity failures and photos too large stop the export (the
        // first in upload order, whichever thread met it first).
        for ((seq, e), r) in photos.iter().zip(results) {
            match r? {
                Ok(f) => fitted.push(f),
                Err(FitError::Undecodable(why)) => bad.push((*seq, why)),
                Err(FitError::TooLarge(why)) => return Err(self.does_not_fit(format!("{} (entry {seq}) cannot be made into an upload copy within its share of {share} bytes: {why}. Retract a less important photo or use a profile with more room", e.name))),
            }
        }
        Ok(if bad.is_empty() { Ok(fitted) } else { Err(bad) })
    }

    /// The fit report's words for a photo that cannot be decoded.
    fn undecodable(&self, why: &str) -> String {
        format!(
            "left out: the image cannot be decoded ({why}); its bytes are as recorded ({}); re-save it from the camera or phone and record the copy",
            self.kept()
        )
    }

    /// Refuses a photo share too small to make a readable copy, naming what took the room.
    fn check_share(&self, share: u64, photos: usize, taken_by: &str) -> Result<()> {
        if photos > 0 && share < MIN_SHARE {
            return Err(self.does_not_fit(format!("{taken_by} leaves {share} bytes for each of the {photos} photos, under the {MIN_SHARE} a readable copy needs; retract less important photos, shorten long chat or tracking files, or use a profile with more room")));
        }
        Ok(())
    }
}

/// Characters no font covered, across all PDFs.
#[derive(Default)]
struct Missing(Vec<char>);

impl Missing {
    /// What the fit report says of characters no font covered: which they
    /// are, by name, and what would cover them (only advice that is true
    /// on this machine).
    fn note(mut self, fonts: &Fonts) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        self.0.dedup();
        let n = self.0.len();
        let names = |cs: &[char]| {
            let mut shown: Vec<String> = cs.iter().take(4).map(|c| char_name(*c)).collect();
            if cs.len() > 4 {
                shown.push(format!("and {} more", cs.len() - 4));
            }
            shown.join(", ")
        };
        let (cjk, rest): (Vec<char>, Vec<char>) = self.0.iter().partition(|c| is_cjk(**c));
        let (symbols, other): (Vec<char>, Vec<char>) = rest.iter().partition(|c| is_symbol(**c));
        let mut advice = Vec::new();
        if !cjk.is_empty() {
            advice.push(match &fonts.cjk_path {
                None => format!("{}: no CJK font is installed; install fonts-wqy-microhei or fonts-noto-cjk (Debian/Ubuntu), or set {CJK_FONT_ENV} to a font file", names(&cjk)),
                Some(p) => format!("{}: the CJK font found ({}) lacks them; fonts-noto-cjk covers more, or set {CJK_FONT_ENV} to a font file that has them", names(&cjk), p.display()),
            });
        }
        if !symbols.is_empty() {
            advice.push(if fonts.has_symbols() {
                format!(
                    "{}: the emoji font found lacks them (newer emoji); no other font evault uses has them",
                    names(&symbols)
                )
            } else {
                format!(
                    "{}: install fonts-symbola (Debian/Ubuntu; monochrome emoji and symbols)",
                    names(&symbols)
                )
            });
        }
        if !other.is_empty() {
            advice.push(format!(
                "{}: no font evault uses covers them (it uses DejaVu Sans, a CJK font and an emoji font)",
                names(&other)
            ));
        }
        Some(format!(
            "PDF text: {n} character{} no font covered {} shown in brackets, emoji by name and others by code point; {}. Export again after installing a font to show them",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
            advice.join("; ")
        ))
    }
}

/// Chinese, Japanese and Korean scripts and their punctuation.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Arrows, symbols, dingbats and emoji.
fn is_symbol(c: char) -> bool {
    matches!(c as u32, 0x2190..=0x2BFF | 0x1F000..=0x1FAFF)
}

/// Plans the upload files for the profile.
pub(crate) fn plan(inp: &Inputs<'_>) -> Result<Plan> {
    let fonts = Fonts::load().ok_or_else(|| Error::Pdf {
        why: "the built-in font cannot be loaded".into(),
    })?;
    if inp.profile.slots == SlotModel::None {
        return archive(inp, &fonts);
    }
    // HEIF and AVIF photos need heif-convert: found before anything is made.
    let heif_photos: Vec<String> = inp
        .evidence
        .iter()
        .filter(|(_, e)| needs_heif(&e.media_type))
        .map(|(seq, e)| format!("entry {seq} {}", e.name))
        .collect();
    let heif = if heif_photos.is_empty() {
        None
    } else {
        Some(HeifConvert::find().map_err(|why| Error::MissingTool {
            profile: inp.profile.name.clone(),
            what: format!(
                "{} HEIF/AVIF photo(s) ({})",
                heif_photos.len(),
                heif_photos.join(", ")
            ),
            why,
        })?)
    };
    // Photos found undecodable are left out and the plan made again
    // (every round leaves out at least one more, so this ends).
    let mut undecodable = Undecodable::new();
    loop {
        let step = if inp.profile.slots == SlotModel::Flat && inp.profile.accepts("image/jpeg") {
            flat(inp, &fonts, &undecodable, heif.as_ref())?
        } else {
            in_pdfs(inp, &fonts, &undecodable, heif.as_ref())?
        };
        match step {
            Step::Done(mut plan) => {
                check_limits(inp.profile, &plan.uploads)?;
                plan.fit.sort_by_key(|f| f.upload.is_none());
                return Ok(plan);
            }
            Step::Undecodable(bad) => undecodable.extend(bad),
        }
    }
}

/// The archive profile: no uploads; the summary rides along in `data/`.
fn archive(inp: &Inputs<'_>, fonts: &Fonts) -> Result<Plan> {
    let mut missing = Missing::default();
    let fit = inp
        .evidence
        .iter()
        .map(|(seq, e)| {
            let action = if inp.originals {
                "archive profile: original only"
            } else {
                "archive profile without originals: not in this bundle"
            };
            line(*seq, e, None, action.into())
        })
        .collect();
    let photos: Vec<Photo> = inp
        .evidence
        .iter()
        .filter(|(_, e)| inp.originals && e.image.is_some())
        .map(|(seq, e)| {
            inp.photo(
                *seq,
                e,
                Shown::Original(format!(
                    "data/originals/{}",
                    crate::export::original_name(*seq, e)
                )),
            )
        })
        .collect();
    let (bytes, pages) = inp.render(
        inp.story,
        fonts,
        Part::Summary { with_chats: true },
        &photos,
        &mut missing,
    )?;
    Ok(Plan {
        uploads: Vec::new(),
        fit,
        summary_only: Some(Upload {
            name: "summary.pdf".into(),
            bytes,
            pages: Some(pages),
            what: "the summary (not an upload: the archive profile has none)".into(),
            generated: true,
        }),
        notes: missing.note(fonts).into_iter().collect(),
        photos_left_out: Vec::new(),
    })
}

/// Flat profiles that take photos: the summary PDF first (when PDFs are
/// taken), then one JPEG per photo and other files as recorded.
fn flat(
    inp: &Inputs<'_>,
    fonts: &Fonts,
    undecodable: &Undecodable,
    heif: Option<&HeifConvert>,
) -> Result<Step> {
    let profile = inp.profile;
    let mut fit = Vec::new();
    let mut gone = Gone::default();
    let with_summary = profile.accepts("application/pdf");
    let max_files = profile.max_files.map_or(usize::MAX, |n| n as usize);
    let room = max_files.saturating_sub(usize::from(with_summary));
    let mut chosen: Vec<(u64, &Evidence)> = Vec::new();
    let mut summary_reads: Vec<(u64, &Evidence)> = Vec::new();
    for (seq, e) in inp.evidence {
        if let Some(why) = undecodable.get(seq) {
            fit.push(line(*seq, e, None, inp.undecodable(why)));
            gone.add(*seq, e, "because the image data cannot be decoded");
        } else if !is_photo(&e.media_type) && !profile.accepts(&e.media_type) {
            if with_summary && is_source(e.kind) && inp.source(*seq).is_some_and(SourceFile::in_pdf)
            {
                summary_reads.push((*seq, e));
                continue;
            }
            fit.push(line(*seq, e, None, inp.not_taken(e)));
            gone.add(
                *seq,
                e,
                format!("because {} takes no {}", profile.name, e.media_type),
            );
        } else if chosen.len() >= room {
            fit.push(line(*seq, e, None, format!("left out: {} takes at most {max_files} files and more important evidence came first ({})", profile.name, inp.kept())));
            gone.add(
                *seq,
                e,
                format!("because {} takes at most {max_files} files", profile.name),
            );
        } else {
            chosen.push((*seq, e));
        }
    }
    let recorded = recorded_photos(inp);
    let part = Part::Summary { with_chats: true };
    let per_file = profile.max_file_bytes.unwrap_or(u64::MAX);
    let mut missing = Missing::default();
    // The summary, and what is left for each photo; when that is too
    // little for a readable copy of every photo, the least important are
    // left out and the summary made again.
    let mut note;
    let (summary, story, names, share) = loop {
        let names = flat_names(inp, &chosen, with_summary);
        let photos: Vec<Photo> = chosen
            .iter()
            .zip(&names)
            .filter(|((_, e), _)| e.image.is_some())
            .map(|((seq, e), name)| inp.photo(*seq, e, Shown::Upload(name.clone())))
            .collect();
        note = gone.note(recorded);
        let noted = Story {
            photos_note: note.as_deref(),
            ..*inp.story
        };
        // Files not fully read are shown as recorded as far as the page limits
        // of an uploaded summary allow.
        let verbatim = if with_summary {
            inp.verbatim_room(|v| {
                vec![
                    Story {
                        verbatim: v,
                        ..noted
                    }
                    .pages(fonts, part, &photos),
                ]
            })
        } else {
            usize::MAX
        };
        let story = Story { verbatim, ..noted };
        let mut scratch = Missing::default();
        let (bytes, pages) = inp.render(&story, fonts, part, &photos, &mut scratch)?;
        let summary = Upload {
            name: upload_name(1, "summary", "pdf", profile.names.max_chars),
            bytes,
            pages: Some(pages),
            what: "the summary: order facts, statement, timeline, photo captions, chat transcript, integrity appendix".into(),
            generated: true,
        };
        let mut left = profile.max_total_bytes.unwrap_or(u64::MAX);
        if with_summary {
            left = left.saturating_sub(summary.bytes.len() as u64);
        }
        let photo_count = chosen
            .iter()
            .filter(|(_, e)| is_photo(&e.media_type))
            .count() as u64;
        for (_, e) in &chosen {
            if !is_photo(&e.media_type) {
                left = left.saturating_sub(e.size);
            }
        }
        // Every photo gets an equal share of what is left; they are fitted in parallel.
        let share = (left / photo_count.max(1)).min(per_file);
        let fits = (left / MIN_SHARE).max(1);
        if share >= MIN_SHARE || photo_count <= 1 || photo_count <= fits {
            missing.0.extend(scratch.0);
            break (summary, story, names, share);
        }
        // Keep the most important photos that fit, at least one.
        let mut keep = fits;
        let mut kept = Vec::new();
        for (seq, e) in chosen.drain(..) {
            if !is_photo(&e.media_type) {
                kept.push((seq, e));
            } else if keep > 0 {
                keep -= 1;
                kept.push((seq, e));
            } else {
                fit.push(line(seq, e, None, format!("left out: {} takes at most {} in all, too little for a readable copy of every photo, and more important evidence came first ({})", profile.name, limit_bytes(profile.max_total_bytes), inp.kept())));
                gone.add(
                    seq,
                    e,
                    format!(
                        "because {} takes at most {} in all",
                        profile.name,
                        limit_bytes(profile.max_total_bytes)
                    ),
                );
            }
        }
        chosen = kept;
    };
    let mut uploads = Vec::new();
    let mut summary_only = None;
    if with_summary {
        for (seq, e) in summary_reads {
            let how = inp.merged(seq, &story, part, &summary.name);
            fit.push(line(
                seq,
                e,
                Some(&summary),
                format!(
                    "{how}; {} does not take {}, so {}",
                    profile.name,
                    e.media_type,
                    inp.kept()
                ),
            ));
        }
        uploads.push(summary);
    } else {
        summary_only = Some(Upload {
            name: "summary.pdf".into(),
            what: format!(
                "the summary ({} takes no PDF: read it, paste the statement into the platform's text box)",
                profile.name
            ),
            ..summary
        });
    }
    let photo_items: Vec<(u64, &Evidence)> = chosen
        .iter()
        .filter(|(_, e)| is_photo(&e.media_type))
        .copied()
        .collect();
    let taken_by = if with_summary {
        "what the summary PDF and the files uploaded as recorded take"
    } else {
        "what the files uploaded as recorded take"
    };
    inp.check_share(share, photo_items.len(), taken_by)?;
    let mut fitted = match inp.fit_all(&photo_items, share, heif)? {
        Ok(f) => f.into_iter(),
        Err(bad) => return Ok(Step::Undecodable(bad)),
    };
    for ((seq, e), name) in chosen.iter().zip(names) {
        let mut converter = None;
        let (bytes, action) = if is_photo(&e.media_type) {
            let f = fitted
                .next()
                .ok_or_else(|| inp.does_not_fit("internal: a photo was not fitted".into()))?;
            let action = format!(
                "{}x{} -> {}x{}, {}, JPEG quality {}, metadata (EXIF, GPS) removed",
                f.original.0,
                f.original.1,
                f.width,
                f.height,
                f.steps.join(", "),
                f.quality
            );
            converter = f.converter;
            (f.jpeg, action)
        } else {
            if e.size > per_file {
                return Err(inp.does_not_fit(format!("{} (entry {seq}) has {} bytes and {} takes at most {per_file} per file; retract it or shrink it", e.name, e.size, profile.name)));
            }
            (
                read_blob(inp.vault, *seq, e)?,
                "uploaded as recorded".into(),
            )
        };
        let upload = as_recorded(inp, *seq, e, name, bytes)?;
        fit.push(FitLine {
            converter: converter.take(),
            ..line(*seq, e, Some(&upload), action)
        });
        uploads.push(upload);
    }
    Ok(Step::Done(Plan {
        uploads,
        fit,
        summary_only,
        notes: missing.note(fonts).into_iter().collect(),
        photos_left_out: gone.lines(),
    }))
}

/// The upload names of a flat plan's chosen files, after the summary.
fn flat_names(inp: &Inputs<'_>, chosen: &[(u64, &Evidence)], with_summary: bool) -> Vec<String> {
    let first = 1 + usize::from(with_summary);
    chosen
        .iter()
        .enumerate()
        .map(|(i, (_, e))| {
            let ext = if is_photo(&e.media_type) {
                "jpg"
            } else {
                ext_of(&e.media_type)
            };
            upload_name(
                first + i,
                short_kind(e.kind),
                ext,
                inp.profile.names.max_chars,
            )
        })
        .collect()
}

/// Which PDF of a PDF-only plan a photo goes to.
fn photo_part(per_category: bool, kind: EvidenceKind) -> Part {
    if per_category
        && matches!(
            kind,
            EvidenceKind::LabelPhoto | EvidenceKind::LogisticsSnapshot
        )
    {
        Part::Shipping
    } else {
        Part::Summary {
            with_chats: !per_category,
        }
    }
}

/// Profiles that take one file per category (Stripe, Shopify) or PDFs only
/// (card): photos become PDF pages (the fitted JPEG embedded as it is),
/// carrier events and chats are merged into their category's PDF.
fn in_pdfs(
    inp: &Inputs<'_>,
    fonts: &Fonts,
    undecodable: &Undecodable,
    heif: Option<&HeifConvert>,
) -> Result<Step> {
    let profile = inp.profile;
    let per_category = profile.slots == SlotModel::PerCategory;
    if !profile.accepts("application/pdf") {
        return Err(inp.does_not_fit(
            "this profile takes neither photos nor PDFs; evault has nothing it can upload to it"
                .into(),
        ));
    }
    let mut fit = Vec::new();
    let mut gone = Gone::default();
    let shown = |kind: EvidenceKind| {
        inp.story
            .sources
            .iter()
            .any(|s| s.kind == kind && s.in_pdf())
    };
    let has_chat = shown(EvidenceKind::ChatLog) || shown(EvidenceKind::Email);
    let has_carrier = shown(EvidenceKind::TrackingEvents);
    let mut photos: Vec<(u64, &Evidence)> = Vec::new();
    let mut as_is: Vec<(u64, &Evidence)> = Vec::new();
    let mut merged: Vec<(u64, &Evidence, Part)> = Vec::new();
    for (seq, e) in inp.evidence {
        if let Some(why) = undecodable.get(seq) {
            fit.push(line(*seq, e, None, inp.undecodable(why)));
            gone.add(*seq, e, "because the image data cannot be decoded");
        } else if is_photo(&e.media_type) && e.image.is_some() {
            photos.push((*seq, e));
        } else if is_source(e.kind) && inp.source(*seq).is_some_and(SourceFile::in_pdf) {
            let part = match (per_category, e.kind) {
                (false, _) => Part::Summary { with_chats: true },
                (true, EvidenceKind::ChatLog | EvidenceKind::Email) => Part::Communication,
                (true, _) => Part::Shipping,
            };
            merged.push((*seq, e, part));
        } else if profile.accepts(&e.media_type)
            && e.media_type == "application/pdf"
            && profile.pdfa
        {
            fit.push(line(*seq, e, None, format!("left out: {} requires PDF/A, and evault neither converts a recorded PDF nor checks that it is one ({})", profile.name, inp.kept())));
        } else if profile.accepts(&e.media_type)
            && (!per_category || (e.kind == EvidenceKind::Invoice && as_is.is_empty()))
        {
            as_is.push((*seq, e));
        } else {
            let why = if per_category
                && e.kind == EvidenceKind::Invoice
                && profile.accepts(&e.media_type)
            {
                format!(
                    "left out: {} takes one receipt file and an earlier invoice is it ({})",
                    profile.name,
                    inp.kept()
                )
            } else if per_category {
                format!(
                    "left out: {} takes one file per category and this file has no category of its own ({})",
                    profile.name,
                    inp.kept()
                )
            } else {
                inp.not_taken(e)
            };
            gone.add(
                *seq,
                e,
                format!("because {} takes no {}", profile.name, e.media_type),
            );
            fit.push(line(*seq, e, None, why));
        }
    }
    // The PDFs to make, in upload order.
    let mut parts = vec![Part::Summary {
        with_chats: !per_category,
    }];
    if per_category {
        if has_carrier
            || photos
                .iter()
                .any(|(_, e)| photo_part(true, e.kind) == Part::Shipping)
        {
            parts.push(Part::Shipping);
        }
        if has_chat {
            parts.push(Part::Communication);
        }
    }
    let max_files = profile.max_files.map_or(usize::MAX, |n| n as usize);
    while parts.len() + as_is.len() > max_files {
        let Some((seq, e)) = as_is.pop() else {
            return Err(inp.does_not_fit(format!(
                "{} takes at most {max_files} files, fewer than the {} PDFs evault makes",
                profile.name,
                parts.len()
            )));
        };
        fit.push(line(
            seq,
            e,
            None,
            format!(
                "left out: {} takes at most {max_files} files ({})",
                profile.name,
                inp.kept()
            ),
        ));
    }
    // Drop the least important photos until the pages fit without any
    // verbatim copy; then show as much of the files not fully read as
    // recorded as the pages left allow.
    let mut dropped = Vec::new();
    let mut missing = Missing::default();
    let recorded = recorded_photos(inp);
    let pages_why = format!(
        "because {} takes at most {} pages per file and {} in all",
        profile.name,
        limit_n(profile.max_pages_per_file),
        limit_n(profile.max_pages_total)
    );
    // The summary's photo count, with `dropped` more left out by pages.
    let note_with = |gone: &Gone, dropped: &[(u64, &Evidence)]| {
        let mut all = Gone(gone.0.clone());
        for (seq, e) in dropped {
            all.add(*seq, e, pages_why.clone());
        }
        all.note(recorded)
    };
    let pages_with =
        |verbatim: usize, photos: &[(u64, &Evidence)], note: Option<&str>| -> Vec<usize> {
            let story = Story {
                verbatim,
                photos_note: note,
                ..*inp.story
            };
            parts
                .iter()
                .map(|part| {
                    let ph: Vec<Photo> = photos
                        .iter()
                        .filter(|(_, e)| photo_part(per_category, e.kind) == *part)
                        .map(|(s, e)| inp.photo(*s, e, Shown::Placeholder))
                        .collect();
                    story.pages(fonts, *part, &ph)
                })
                .collect()
        };
    loop {
        let note = note_with(&gone, &dropped);
        let pages = pages_with(0, &photos, note.as_deref());
        let total: usize = pages.iter().sum();
        let per_ok = profile
            .max_pages_per_file
            .is_none_or(|m| pages.iter().all(|p| *p <= m as usize));
        let total_ok = profile.max_pages_total.is_none_or(|m| total <= m as usize);
        if per_ok && total_ok {
            break;
        }
        match photos.pop() {
            Some(p) => dropped.push(p),
            None => {
                return Err(inp.does_not_fit(format!("the PDFs take {total} pages without any photo ({pages:?} per file) and {} takes at most {} per file, {} in all: the timeline or the chat transcript is too long; retract long chat or tracking files, or use another profile", profile.name, limit_n(profile.max_pages_per_file), limit_n(profile.max_pages_total))));
            }
        }
    }
    for (seq, e) in dropped.iter().rev() {
        fit.push(line(*seq, e, None, format!("left out: {} takes at most {} pages per file and {} in all, and more important evidence came first ({})", profile.name, limit_n(profile.max_pages_per_file), limit_n(profile.max_pages_total), inp.kept())));
        gone.add(*seq, e, pages_why.clone());
    }
    let note = gone.note(recorded);
    let verbatim = inp.verbatim_room(|v| pages_with(v, &photos, note.as_deref()));
    // A shipping file left with nothing to show is not made.
    let shipping_photos = photos
        .iter()
        .any(|(_, e)| photo_part(per_category, e.kind) == Part::Shipping);
    parts.retain(|p| *p != Part::Shipping || has_carrier || shipping_photos);
    let story = Story {
        verbatim,
        photos_note: note.as_deref(),
        ..*inp.story
    };
    // Bytes: what the PDFs take without photos, then an equal share per photo.
    let mut overhead = Vec::new();
    for part in &parts {
        overhead.push(
            inp.render(&story, fonts, *part, &[], &mut Missing::default())?
                .0
                .len() as u64,
        );
    }
    let as_is_bytes: u64 = as_is
        .iter()
        .fold(0u64, |n, (_, e)| n.saturating_add(e.size));
    let per_file = profile.max_file_bytes.unwrap_or(u64::MAX);
    for (seq, e) in &as_is {
        if e.size > per_file {
            return Err(inp.does_not_fit(format!("{} (entry {seq}) has {} bytes and {} takes at most {per_file} per file; retract it or shrink it", e.name, e.size, profile.name)));
        }
    }
    const CAPTION: u64 = 6_000;
    let total_room = profile
        .max_total_bytes
        .unwrap_or(u64::MAX)
        .saturating_sub(overhead.iter().sum::<u64>().saturating_add(as_is_bytes));
    let share_of = |photos: &[(u64, &Evidence)]| {
        let mut share = (total_room / (photos.len() as u64).max(1)).saturating_sub(CAPTION);
        for (part, over) in parts.iter().zip(&overhead) {
            let n = photos
                .iter()
                .filter(|(_, e)| photo_part(per_category, e.kind) == *part)
                .count() as u64;
            if let Some(each) = per_file.saturating_sub(*over).checked_div(n) {
                share = share.min(each.saturating_sub(CAPTION));
            }
        }
        share
    };
    // Too little room for a readable copy of every photo: the least
    // important are left out (at least one is kept; if even that one has
    // too little room, the export is refused below).
    let mut share = share_of(&photos);
    let bytes_why = format!(
        "because {} takes at most {} per file and {} in all",
        profile.name,
        limit_bytes(profile.max_file_bytes),
        limit_bytes(profile.max_total_bytes)
    );
    let mut story = story;
    let mut bytes_note = None;
    while share < MIN_SHARE && photos.len() > 1 {
        if let Some((seq, e)) = photos.pop() {
            fit.push(line(seq, e, None, format!("left out: {} takes at most {} per file and {} in all, too little for a readable copy of every photo, and more important evidence came first ({})", profile.name, limit_bytes(profile.max_file_bytes), limit_bytes(profile.max_total_bytes), inp.kept())));
            gone.add(seq, e, bytes_why.clone());
        }
        share = share_of(&photos);
        bytes_note = gone.note(recorded);
    }
    if bytes_note.is_some() {
        story.photos_note = bytes_note.as_deref();
        // A shipping file left with nothing to show is not made (its
        // share of the room stays unused: the shares only grow).
        let shipping_photos = photos
            .iter()
            .any(|(_, e)| photo_part(per_category, e.kind) == Part::Shipping);
        parts.retain(|p| *p != Part::Shipping || has_carrier || shipping_photos);
    }
    inp.check_share(
        share,
        photos.len(),
        "what the PDFs' text and the files uploaded as recorded take",
    )?;
    let fitted = match inp.fit_all(&photos, share, heif)? {
        Ok(f) => f,
        Err(bad) => return Ok(Step::Undecodable(bad)),
    };
    let fitted: HashMap<u64, Fitted> = photos.iter().map(|(s, _)| *s).zip(fitted).collect();
    let mut uploads = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let mine: Vec<(u64, &Evidence)> = photos
            .iter()
            .filter(|(_, e)| photo_part(per_category, e.kind) == *part)
            .copied()
            .collect();
        let shown: Vec<Photo> = mine
            .iter()
            .filter_map(|(s, e)| {
                let f = fitted.get(s)?;
                Some(inp.photo(
                    *s,
                    e,
                    Shown::Page(Arc::new(f.jpeg.clone()), f.width, f.height),
                ))
            })
            .collect();
        let (bytes, pages) = inp.render(&story, fonts, *part, &shown, &mut missing)?;
        let (stem, what) = match part {
            Part::Summary { with_chats: false } => (
                "summary",
                "the summary: order facts, statement, timeline, captioned photos, integrity appendix",
            ),
            Part::Summary { with_chats: true } => (
                "summary",
                "the summary: order facts, statement, timeline, captioned photos, chat transcript, integrity appendix",
            ),
            Part::Shipping => (
                "shipping",
                "shipping documentation: carrier events, label and tracking photos",
            ),
            Part::Communication => (
                "messages",
                "communication with the buyer: chat transcripts and e-mails",
            ),
        };
        let upload = Upload {
            name: upload_name(i + 1, stem, "pdf", profile.names.max_chars),
            bytes,
            pages: Some(pages),
            what: what.into(),
            generated: true,
        };
        for (n, (seq, e)) in mine.iter().enumerate() {
            if let Some(f) = fitted.get(seq) {
                let action = format!(
                    "page image {} of {}: {}x{} -> {}x{}, {}, JPEG quality {}, metadata removed, embedded without re-encoding",
                    n + 1,
                    upload.name,
                    f.original.0,
                    f.original.1,
                    f.width,
                    f.height,
                    f.steps.join(", "),
                    f.quality
                );
                fit.push(FitLine {
                    converter: f.converter.clone(),
                    ..line(*seq, e, Some(&upload), action)
                });
            }
        }
        for (seq, e, _) in merged.iter().filter(|m| m.2 == *part) {
            let how = inp.merged(*seq, &story, *part, &upload.name);
            fit.push(line(*seq, e, Some(&upload), how));
        }
        uploads.push(upload);
    }
    for (seq, e) in as_is {
        let name = upload_name(
            uploads.len() + 1,
            short_kind(e.kind),
            ext_of(&e.media_type),
            profile.names.max_chars,
        );
        let upload = as_recorded(inp, seq, e, name, read_blob(inp.vault, seq, e)?)?;
        fit.push(line(seq, e, Some(&upload), "uploaded as recorded".into()));
        uploads.push(upload);
    }
    Ok(Step::Done(Plan {
        uploads,
        fit,
        summary_only: None,
        notes: missing.note(fonts).into_iter().collect(),
        photos_left_out: gone.lines(),
    }))
}

fn limit_bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "no limit".into(), |b| format!("{b} bytes"))
}

fn limit_n(v: Option<u32>) -> String {
    v.map_or_else(|| "no limit".into(), |n| n.to_string())
}

/// A recorded file uploaded as it is. A PDF's pages are counted so that
/// the profile's page limits hold for it too; one whose pages cannot be
/// counted is refused when the profile limits pages.
fn as_recorded(
    inp: &Inputs<'_>,
    seq: u64,
    e: &Evidence,
    name: String,
    bytes: Vec<u8>,
) -> Result<Upload> {
    let limits_pages =
        inp.profile.max_pages_per_file.is_some() || inp.profile.max_pages_total.is_some();
    let pages = match (e.media_type == "application/pdf").then(|| pdf_pages(&bytes)) {
        Some(None) if limits_pages => {
            return Err(inp.does_not_fit(format!(
                "{} (entry {seq}) is a PDF whose pages evault cannot count (damaged or encrypted), and {} limits pages; retract it, or record a copy saved again by a PDF tool",
                e.name, inp.profile.name
            )));
        }
        counted => counted.flatten(),
    };
    Ok(Upload {
        name,
        bytes,
        pages,
        what: format!("entry {seq} {}", e.name),
        generated: false,
    })
}

/// The number of pages of a PDF, or `None` when it cannot be read (a page
/// tree that cannot be resolved reads as no pages: that is `None` too).
fn pdf_pages(bytes: &[u8]) -> Option<usize> {
    let pdf = hayro_syntax::Pdf::new(bytes.to_vec()).ok()?;
    Some(pdf.pages().len()).filter(|n| *n > 0)
}

/// A blob's bytes, checked against their hash as they are read.
pub(crate) fn read_blob(vault: &Vault, seq: u64, e: &Evidence) -> Result<Vec<u8>> {
    // The recorded size is only a hint (the reader checks the bytes).
    let mut bytes = Vec::with_capacity(usize::try_from(e.size.min(64 << 20)).unwrap_or(0));
    vault
        .open_blob(&e.sha256)?
        .read_to_end(&mut bytes)
        .map_err(|err| unreadable(seq, e, err))?;
    Ok(bytes)
}

/// The error for evidence whose bytes cannot be read from the vault (or
/// do not match its hash).
pub(crate) fn unreadable(seq: u64, e: &Evidence, err: std::io::Error) -> Error {
    Error::Photo {
        name: e.name.clone(),
        seq,
        why: format!("reading its bytes from the vault: {err}"),
    }
}

/// The profile's own limits, checked on the final upload set: a bundle that
/// breaks them is never written.
fn check_limits(profile: &Profile, files: &[Upload]) -> Result<()> {
    let fail = |why: String| {
        Err(Error::DoesNotFit {
            profile: profile.name.clone(),
            why,
        })
    };
    if let Some(max) = profile.max_files
        && files.len() > max as usize
    {
        return fail(format!("{} files, at most {max}", files.len()));
    }
    let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if let Some(max) = profile.max_total_bytes
        && total > max
    {
        return fail(format!(
            "{total} bytes in all, at most {max}: retract a less important photo or use a profile with more room"
        ));
    }
    let mut names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return fail(format!(
            "two upload files would both be named {}: the profile's name length is too short for this many files",
            w[0]
        ));
    }
    let pages: usize = files.iter().filter_map(|f| f.pages).sum();
    if let Some(max) = profile.max_pages_total
        && pages > max as usize
    {
        let each: Vec<String> = files
            .iter()
            .filter_map(|f| {
                let p = f.pages?;
                let source = if f.generated {
                    String::new()
                } else {
                    format!(" ({})", f.what)
                };
                Some(format!(
                    "{}{source} {p} page{}",
                    f.name,
                    if p == 1 { "" } else { "s" }
                ))
            })
            .collect();
        return fail(format!(
            "{pages} PDF pages in all, at most {max}: {}; retract a long recorded PDF or use a profile with more room",
            each.join(", ")
        ));
    }
    for f in files {
        let (name, size) = (&f.name, f.bytes.len() as u64);
        if !profile.accepts(mime_of(name)) {
            return fail(format!("{name} is not a type {} takes", profile.name));
        }
        if let Some(max) = profile.max_file_bytes
            && size > max
        {
            return fail(format!("{name} has {size} bytes, at most {max}"));
        }
        if let (Some(max), Some(p)) = (profile.max_pages_per_file, f.pages)
            && p > max as usize
        {
            return fail(format!(
                "{name} ({}) has {p} pages, at most {max}: retract it or use a profile with more room",
                f.what
            ));
        }
        if let Some(max) = profile.names.max_chars
            && name.chars().count() > max as usize
        {
            return fail(format!("{name} is longer than {max} characters"));
        }
        if profile.names.ascii_only
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return fail(format!("{name} is not a plain ASCII name"));
        }
    }
    Ok(())
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        _ => "image/jpeg",
    }
}
