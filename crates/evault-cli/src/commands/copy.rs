//! `evault copy SRC DST`: a directory to object storage, or back.

use std::path::Path;

use anyhow::{Result, bail};
use evault_core::{ObjectLog, Vault, copy_from_objects, copy_to_objects};

use crate::{Status, out};

fn is_objects(s: &str) -> bool {
    s.starts_with("s3://") || s.starts_with("gs://")
}

pub fn copy(src: &str, dst: &str) -> Result<Status> {
    let report = match (is_objects(src), is_objects(dst)) {
        (false, true) => {
            let vault = Vault::open(src)?;
            copy_to_objects(&vault, &ObjectLog::from_url(dst)?, &())?
        }
        (true, false) => copy_from_objects(&ObjectLog::from_url(src)?, Path::new(dst), &())?,
        (true, true) => bail!(
            "both {src} and {dst} are object storage; copy to a directory first (or use the store's own replication)"
        ),
        (false, false) => bail!(
            "both {src} and {dst} are directories; copy them with `cp -a` (or rsync), then `evault verify`"
        ),
    };
    out!(
        "copied {} blobs ({} bytes; {} already there) and {} log entries ({} already there) of {} orders from {src} to {dst}",
        report.blobs_copied,
        report.bytes_copied,
        report.blobs_present,
        report.entries_copied,
        report.entries_present,
        report.orders
    );
    Ok(Status::Ok)
}
