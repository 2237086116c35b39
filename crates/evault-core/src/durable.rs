//! Making writes durable: fsync of files and directories, batched.
//!
//! On Linux a batch of more than a few items is flushed with one `syncfs` of
//! the vault's file system (group commit); elsewhere, and for small batches,
//! every file and directory is fsynced on its own.

use std::fs::{File, OpenOptions};
use std::io::Write;
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

/// Appends `bytes` to `path` (created when missing) and returns the file,
/// not yet flushed: the caller makes it durable, alone or in a batch.
pub(crate) fn append_to(path: &Path, bytes: &[u8]) -> Result<File> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .ctx("opening", path)?;
    if !bytes.is_empty() {
        file.write_all(bytes).ctx("appending to", path)?;
    }
    Ok(file)
}

/// Cuts `path` to its first `len` bytes, durably.
pub(crate) fn cut_to(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .ctx("opening", path)?;
    file.set_len(len).ctx("truncating", path)?;
    file.sync_all().ctx("syncing", path)
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
