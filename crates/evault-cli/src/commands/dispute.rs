//! `evault dispute`, `export`, `profiles`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use evault_core::{Dispute, DisputeReason};
use evault_export::{ExportOptions, ExportProgress, ExportStage, Paper, Profile};
use indicatif::ProgressBar;

use crate::cli::Global;
use crate::output::size;
use crate::{Status, out, progress, settings};

#[allow(clippy::too_many_arguments)]
pub fn dispute(
    g: &Global,
    order: &str,
    platform: &str,
    reason: &str,
    due: Option<String>,
    amount: Option<String>,
    case_id: Option<String>,
    profile_file: Option<&Path>,
) -> Result<Status> {
    let order = settings::order(order)?;
    let reason: DisputeReason = reason.parse()?;
    let platform = Profile::find(platform, &extra_profiles(profile_file)?)?.name;
    if let Some(d) = &due {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--due {d:?}: give the deadline as YYYY-MM-DD"))?;
    }
    let actor = settings::actor(g)?;
    let vault = settings::open(g)?;
    match vault.log(&order) {
        Ok(_) => {}
        Err(evault_core::Error::UnknownOrder(_)) => bail!(
            "order {order:?} has no evidence in this vault yet; record its evidence first (see `evault orders`)"
        ),
        Err(e) => return Err(e.into()),
    }
    let r = vault.dispute(
        &order,
        Dispute {
            platform,
            reason,
            case_id,
            amount,
            due,
        },
        &actor,
    )?;
    out!("recorded dispute {order} #{} ({reason})", r.entry.seq);
    Ok(Status::Ok)
}

/// `SOURCE_DATE_EPOCH` (reproducible builds), else now.
fn bagging_time() -> Result<DateTime<Utc>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            let secs: i64 = v
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"))?;
            DateTime::from_timestamp(secs, 0)
                .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is out of range"))
        }
        Err(_) => Ok(Utc::now()),
    }
}

fn extra_profiles(file: Option<&Path>) -> Result<Vec<Profile>> {
    Ok(match file {
        Some(f) => Profile::from_file(f)?,
        None => Vec::new(),
    })
}

/// The choices of `evault export`.
pub struct ExportArgs<'a> {
    pub platform: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub statement: Option<&'a Path>,
    pub originals: bool,
    pub letter: bool,
    pub profile_file: Option<&'a Path>,
    pub strict: bool,
}

/// The export's stages, one bar each (a bar is made anew rather than
/// restyled, so no frame shows one stage's count in another's style).
struct ExportBar {
    bar: Mutex<ProgressBar>,
}

impl ExportBar {
    fn current(&self) -> MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ExportProgress for ExportBar {
    fn start(&self, stage: ExportStage, total: u64) {
        let mut current = self.current();
        current.finish_and_clear();
        *current = progress::bar(match stage {
            ExportStage::FitPhotos => progress::items("fitting photos"),
            ExportStage::CheckOriginals => progress::bytes("checking originals"),
            ExportStage::WriteBundle => progress::bytes("writing the bundle"),
            _ => progress::items("exporting"),
        });
        current.set_length(total);
    }
    fn advance(&self, _stage: ExportStage, done: u64) {
        self.current().inc(done);
    }
}

pub fn export(g: &Global, order: &str, args: ExportArgs<'_>, output: &Path) -> Result<Status> {
    let ExportArgs {
        platform,
        reason,
        statement,
        originals,
        letter,
        profile_file,
        strict,
    } = args;
    let order = settings::order(order)?;
    let reason = reason.map(str::parse::<DisputeReason>).transpose()?;
    let extra = extra_profiles(profile_file)?;
    if output.exists() {
        bail!(
            "{} already exists; choose a new file name (bundles are never overwritten)",
            output.display()
        );
    }
    let statement = statement
        .map(|p| {
            std::fs::read_to_string(p).with_context(|| {
                format!(
                    "reading the statement {} (it must be UTF-8 text)",
                    p.display()
                )
            })
        })
        .transpose()?;
    let actor = settings::actor(g)?;
    let vault = settings::open(g)?;
    let platform = match platform {
        Some(p) => p.to_owned(),
        None => {
            vault
                .log(&order)?
                .latest_dispute()
                .map(|d| d.platform.clone())
            .with_context(|| format!("order {order:?} has no dispute record; pass --platform, or record one with `evault dispute`"))?
        }
    };
    let options = ExportOptions {
        profile: Profile::find(&platform, &extra)?,
        reason,
        statement,
        originals,
        created: bagging_time()?,
        paper: if letter { Paper::Letter } else { Paper::A4 },
        key: settings::key(g)?,
        strict,
    };
    let progress = ExportBar {
        bar: Mutex::new(ProgressBar::hidden()),
    };
    let report =
        evault_export::export_with_progress(&vault, &order, &options, &actor, output, &progress);
    progress.current().finish_and_clear();
    let report = report?;
    for f in &report.files {
        let pages = f
            .pages
            .map(|p| format!(", {p} page{}", if p == 1 { "" } else { "s" }))
            .unwrap_or_default();
        out!("upload {} ({}{pages}): {}", f.name, size(f.bytes), f.what);
    }
    for f in &report.fit {
        let to = f.upload.as_deref().unwrap_or("--");
        out!("  {to} <- #{} {}: {}", f.seq, f.name, f.action);
    }
    for n in &report.notes {
        out!("note: {n}");
    }
    for p in &report.photos_left_out {
        crate::output::warn(&format!(
            "{p} (the original stays in the vault{}; --strict refuses instead)",
            if originals { " and in the bundle" } else { "" }
        ));
    }
    out!(
        "wrote {} ({}, sha256 {}): {} upload files, {} in all; recorded as {order} #{}",
        output.display(),
        size(report.bundle_bytes),
        report.bundle_sha256,
        report.files.len(),
        size(report.upload_bytes),
        report.recorded.entry.seq
    );
    Ok(Status::Ok)
}

pub fn profiles(json: bool, profile_file: Option<&Path>) -> Result<Status> {
    let mut all = Profile::builtin()?;
    all.extend(extra_profiles(profile_file)?);
    if json {
        out!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(Status::Ok);
    }
    let lim =
        |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |b| format!("{:.2} MB", b as f64 / 1e6));
    let num = |v: Option<u32>| v.map_or_else(|| "-".to_owned(), |n| n.to_string());
    out!(
        "{:<12} {:>9} {:>9} {:>5} {:>6}  {:<12} types",
        "profile",
        "per file",
        "total",
        "files",
        "pages",
        "slots"
    );
    for p in &all {
        out!(
            "{:<12} {:>9} {:>9} {:>5} {:>6}  {:<12} {}{}",
            p.name,
            lim(p.max_file_bytes),
            lim(p.max_total_bytes),
            num(p.max_files),
            num(p.max_pages_total.or(p.max_pages_per_file)),
            match p.slots {
                evault_export::SlotModel::PerCategory => "per-category",
                evault_export::SlotModel::Flat => "flat",
                _ => "none",
            },
            if p.types.is_empty() {
                "originals only".to_owned()
            } else {
                p.types.join(", ")
            },
            if p.pdfa { " (PDF/A)" } else { "" }
        );
    }
    Ok(Status::Ok)
}
