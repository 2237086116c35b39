//! `evault import`: a folder dump, with a progress bar on a terminal.

use std::path::Path;

use anyhow::{Result, bail};
use evault_core::{AddOutcome, ImportOptions, ImportProgress, OrderId, order_from_folder};
use indicatif::ProgressBar;
use regex::Regex;

use crate::cli::Global;
use crate::commands::record::print_outcome;
use crate::output::warn;
use crate::{Status, out, progress, settings};

type Mapper = Box<dyn Fn(&Path) -> Result<OrderId, String> + Sync>;

fn mapper(spec: &str) -> Result<Mapper> {
    if spec == "folder" {
        return Ok(Box::new(order_from_folder));
    }
    let Some(pattern) = spec.strip_prefix("filename:") else {
        bail!("--order-from must be `folder` or `filename:REGEX`, not {spec:?}");
    };
    let re = Regex::new(pattern)
        .map_err(|e| anyhow::anyhow!("--order-from filename:REGEX: bad regular expression: {e}"))?;
    if re.captures_len() < 2 {
        bail!(
            "--order-from filename:REGEX needs a capture group for the order id, e.g. filename:^(SO-\\d+)_"
        );
    }
    Ok(Box::new(move |rel: &Path| {
        let name = rel
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("the file name is not valid UTF-8")?;
        let id = re
            .captures(name)
            .and_then(|c| c.get(1))
            .ok_or_else(|| format!("the file name does not match {}", re.as_str()))?;
        id.as_str().parse::<OrderId>().map_err(|e| e.to_string())
    }))
}

struct Bar {
    bar: ProgressBar,
}

impl ImportProgress for Bar {
    fn planned(&self, _files: u64, bytes: u64) {
        self.bar.set_length(bytes);
    }
    fn hashed(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn committed(&self, order: &OrderId, outcome: &AddOutcome) {
        self.bar.suspend(|| {
            if let Err(e) = print_outcome(order.as_str(), outcome) {
                warn(&format!("cannot print: {e}"));
            }
        });
    }
}

pub fn import(g: &Global, dir: &Path, order_from: &str, kind: Option<&str>) -> Result<Status> {
    let map = mapper(order_from)?;
    let options = ImportOptions {
        kind: settings::kind(kind)?,
    };
    let actor = settings::actor(g)?;
    let vault = settings::open(g)?;
    let progress = Bar {
        bar: progress::bar(progress::bytes("hashing")),
    };
    let report = vault.import(dir, &map, &options, &actor, &progress)?;
    progress.bar.finish_and_clear();
    for s in &report.skipped {
        out!("skipped {}: {}", s.path.display(), s.why);
    }
    for (path, why) in &report.errors {
        warn(&format!("NOT RECORDED {}: {why}", path.display()));
    }
    let warnings: usize = report
        .outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            AddOutcome::Added(r) => r.entry.evidence().map(|e| e.warnings.len()),
            AddOutcome::AlreadyRecorded { .. } => None,
        })
        .sum();
    out!(
        "import: {} added, {} already recorded, {} skipped, {} warnings, {} not recorded",
        report.added(),
        report.already_recorded(),
        report.skipped.len(),
        warnings,
        report.errors.len()
    );
    Ok(if report.errors.is_empty() {
        Status::Ok
    } else {
        Status::Error
    })
}
