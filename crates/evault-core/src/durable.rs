//! Making writes durable: fsync of files and directories, batched.
//!
//! On Linux a batch of more than a few items is flushed with one `syncfs` of
//! the vault's file system (group commit); elsewhere, and for small batches,
//! every file and directory is fsynced on its own.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Above this many items a batch uses one `syncfs` instead of one fsync each.
const SYNCFS_THRESHOLD: usize = 4;

/// Fsyncs a directory so that the names created or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .ctx("syncing directory", dir)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Makes every given file's data and every given directory's entries durable.
pub(crate) fn barrier(root: &Path, files: &[(&File, &Path)], dirs: &[PathBuf]) -> Result<()> {
    if files.is_empty() && dirs.is_empty() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    if files.len() + dirs.len() > SYNCFS_THRESHOLD {
        let fd = File::open(root).ctx("opening vault", root)?;
        return rustix::fs::syncfs(&fd)
            .map_err(std::io::Error::from)
            .ctx("flushing the vault's file system (syncfs)", root);
    }
    let _ = (root, SYNCFS_THRESHOLD);
    for (file, path) in files {
        file.sync_all().ctx("syncing", *path)?;
    }
    for dir in dirs {
        sync_dir(dir)?;
    }
    Ok(())
}
