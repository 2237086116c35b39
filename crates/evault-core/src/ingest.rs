//! Importing a folder dump: walk, map files to orders, hash in parallel, group commit.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::actor::Actor;
use crate::append::{AddOutcome, Item, NewEvidence};
use crate::error::{Error, Result};
use crate::id::OrderId;
use crate::kind::EvidenceKind;
use crate::vault::Vault;

/// Files per group commit.
const BATCH_FILES: usize = 128;
/// Bytes per group commit, at most: large enough that flushes are rare.
const BATCH_BYTES: u64 = 128 << 20;
/// Bytes of the first and last group commits: small, so that little hashing
/// happens before the pipeline fills and little flushing after it drains.
const EDGE_BATCH_BYTES: u64 = 16 << 20;

/// The byte budget of batch `k` when `remaining` bytes are left: ramps up
/// from [`EDGE_BATCH_BYTES`] and shrinks again towards the end.
fn batch_budget(k: u32, remaining: u64) -> u64 {
    let ramp = EDGE_BATCH_BYTES.saturating_mul(1 << k.min(16));
    ramp.min(BATCH_BYTES)
        .min((remaining / 4).max(EDGE_BATCH_BYTES))
}

/// Names that cameras, phones and operating systems leave behind.
const CLUTTER: [&str; 6] = [
    "thumbs.db",
    "ehthumbs.db",
    "desktop.ini",
    "__macosx",
    "$recycle.bin",
    "system volume information",
];

/// Options for [`Vault::import`].
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The kind for every file; `None` picks [`EvidenceKind::default_for`] per file.
    pub kind: Option<EvidenceKind>,
}

/// Told about an import's progress (from worker threads).
pub trait ImportProgress: Sync {
    /// The walk is done: how many files and bytes will be read.
    fn planned(&self, _files: u64, _bytes: u64) {}
    /// A file was read and hashed.
    fn hashed(&self, _bytes: u64) {}
    /// A file is durably recorded (or found already recorded).
    fn committed(&self, _order: &OrderId, _outcome: &AddOutcome) {}
}

impl ImportProgress for () {}

/// A file the import did not record, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The file, relative to the import folder.
    pub path: PathBuf,
    /// Why it was skipped (hidden, clutter, symlink, not in an order folder, ...).
    pub why: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// Every recorded or already-recorded file, in walk order.
    pub outcomes: Vec<(OrderId, AddOutcome)>,
    /// Files left out on purpose.
    pub skipped: Vec<Skipped>,
    /// Files that could not be read or mapped (the rest of the import went on).
    pub errors: Vec<(PathBuf, String)>,
}

impl ImportReport {
    /// Number of new entries.
    pub fn added(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, AddOutcome::Added(_)))
            .count()
    }
    /// Number of files whose bytes were already recorded in their order.
    pub fn already_recorded(&self) -> usize {
        self.outcomes.len() - self.added()
    }
}

/// Maps a file (path relative to the import folder) to its order: the first-level folder's name.
pub fn order_from_folder(relative: &Path) -> std::result::Result<OrderId, String> {
    let mut parts = relative.components();
    let first = parts.next().ok_or("empty path")?;
    if parts.next().is_none() {
        return Err("it is not inside an order folder (with --order-from folder, put files in DIR/<order id>/)".into());
    }
    let name = first
        .as_os_str()
        .to_str()
        .ok_or("the folder name is not valid UTF-8")?;
    name.parse::<OrderId>().map_err(|e| e.to_string())
}

fn is_clutter(name: &str) -> bool {
    name.starts_with('.') || CLUTTER.contains(&name.to_lowercase().as_str())
}

struct Planned {
    order: OrderId,
    path: PathBuf,
    name: String,
    size: u64,
}

impl Vault {
    /// Imports every file under `dir` in sorted order. `map` gives each file's
    /// order from its path relative to `dir` ([`order_from_folder`] or your own).
    /// Hidden files, OS clutter and symlinks are skipped (symlinks are never followed).
    /// Files are hashed in parallel and committed in groups; each group is
    /// durable before [`ImportProgress::committed`] is called for its files.
    pub fn import(
        &self,
        dir: &Path,
        map: &(dyn Fn(&Path) -> std::result::Result<OrderId, String> + Sync),
        options: &ImportOptions,
        actor: &Actor,
        progress: &dyn ImportProgress,
    ) -> Result<ImportReport> {
        if !dir.is_dir() {
            return Err(Error::Import {
                path: dir.to_owned(),
                why: "it is not a directory".into(),
            });
        }
        let mut report = ImportReport::default();
        let plan = plan(dir, map, &mut report)?;
        progress.planned(plan.len() as u64, plan.iter().map(|p| p.size).sum());
        let mut batches = Vec::new();
        let mut rest = plan.as_slice();
        let mut remaining: u64 = plan.iter().map(|p| p.size).sum();
        while !rest.is_empty() {
            let budget = batch_budget(batches.len() as u32, remaining);
            let mut n = 0;
            let mut bytes = 0;
            while n < rest.len() && n < BATCH_FILES && (n == 0 || bytes + rest[n].size <= budget) {
                bytes += rest[n].size;
                n += 1;
            }
            let (batch, tail) = rest.split_at(n);
            batches.push(batch);
            rest = tail;
            remaining -= bytes;
        }
        // A pipeline of two: batch N is committed (its fsyncs wait for the
        // disk) on a second thread while batch N+1 is read and hashed.
        std::thread::scope(|scope| {
            let mut committing = None;
            for batch in batches {
                let groups = self.stage_batch(batch, options, progress, &mut report);
                if let Some((prev, handle)) = committing.take() {
                    report_batch(prev, join(handle)?, progress, &mut report);
                }
                committing = Some((batch, scope.spawn(move || self.commit(groups, actor))));
            }
            if let Some((prev, handle)) = committing {
                report_batch(prev, join(handle)?, progress, &mut report);
            }
            Ok(report)
        })
    }

    /// Copies and hashes a batch into `tmp/` in parallel, grouped by order.
    fn stage_batch(
        &self,
        batch: &[Planned],
        options: &ImportOptions,
        progress: &dyn ImportProgress,
        report: &mut ImportReport,
    ) -> Vec<(OrderId, Vec<Item>)> {
        let staged: Vec<_> = batch
            .par_iter()
            .map(|p| {
                let item = NewEvidence {
                    name: p.name.clone(),
                    ..NewEvidence::from_path(p.path.clone())
                }
                .kind(options.kind);
                let r = self.stage(item);
                progress.hashed(p.size);
                r
            })
            .collect();
        let mut groups: Vec<(OrderId, Vec<Item>)> = Vec::new();
        for (p, r) in batch.iter().zip(staged) {
            match r {
                Ok(pending) => match groups.iter_mut().find(|(o, _)| *o == p.order) {
                    Some((_, items)) => items.push(Item::Evidence(pending)),
                    None => groups.push((p.order.clone(), vec![Item::Evidence(pending)])),
                },
                Err(e) => report.errors.push((p.path.clone(), e.to_string())),
            }
        }
        groups
    }
}

type Committed = Vec<(OrderId, Vec<AddOutcome>)>;

fn join(handle: std::thread::ScopedJoinHandle<'_, Result<Committed>>) -> Result<Committed> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Hands a durable batch's outcomes to `progress` and `report`, in walk order.
fn report_batch(
    batch: &[Planned],
    mut done: Committed,
    progress: &dyn ImportProgress,
    report: &mut ImportReport,
) {
    for p in batch {
        if let Some((_, outcomes)) = done.iter_mut().find(|(o, _)| *o == p.order)
            && !outcomes.is_empty()
        {
            let outcome = outcomes.remove(0);
            progress.committed(&p.order, &outcome);
            report.outcomes.push((p.order.clone(), outcome));
        }
    }
}

fn plan(
    dir: &Path,
    map: &(dyn Fn(&Path) -> std::result::Result<OrderId, String> + Sync),
    report: &mut ImportReport,
) -> Result<Vec<Planned>> {
    let mut plan = Vec::new();
    let mut walker = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        if let Ok(e) = &entry
            && is_clutter(&e.file_name().to_string_lossy())
        {
            let relative = e.path().strip_prefix(dir).unwrap_or(e.path()).to_owned();
            if e.file_type().is_dir() {
                walker.skip_current_dir();
            }
            report.skipped.push(Skipped {
                path: relative,
                why: "hidden file or operating-system clutter".into(),
            });
            continue;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map_or_else(|| dir.to_owned(), Path::to_path_buf);
                report.errors.push((path, e.to_string()));
                continue;
            }
        };
        let relative = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .to_owned();
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            report.skipped.push(Skipped {
                path: relative,
                why: "symbolic link (never followed)".into(),
            });
            continue;
        }
        if !ft.is_file() {
            report.skipped.push(Skipped {
                path: relative,
                why: "not a regular file".into(),
            });
            continue;
        }
        // Recorded with `/` between folders on every platform.
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect();
        let Some(name) = parts.map(|p| p.join("/")) else {
            report.errors.push((
                relative,
                "the path is not valid UTF-8; rename the file".into(),
            ));
            continue;
        };
        match map(&relative) {
            Ok(order) => {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                plan.push(Planned {
                    order,
                    path: entry.into_path(),
                    name,
                    size,
                });
            }
            Err(why) => report
                .errors
                .push((relative, format!("no order for this file: {why}"))),
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_mapping() {
        assert_eq!(
            order_from_folder(Path::new("SO-1/a.jpg")).unwrap().as_str(),
            "SO-1"
        );
        assert_eq!(
            order_from_folder(Path::new("SO-1/x/a.jpg"))
                .unwrap()
                .as_str(),
            "SO-1"
        );
        assert!(order_from_folder(Path::new("a.jpg")).is_err());
        assert!(is_clutter(".DS_Store") && is_clutter("Thumbs.db") && !is_clutter("IMG_1.jpg"));
    }
}
