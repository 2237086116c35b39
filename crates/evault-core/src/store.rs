//! The content-addressed blob store: `blobs/sha256/<first 2 hex>/<64 hex>`.
//!
//! A blob is written to a temporary file under `tmp/` while it is hashed
//! (SHA-256 and BLAKE3 in one pass), made durable, then renamed into place
//! read-only. A blob that is already present is not written again.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::error::{Error, IoContext, Result};
use crate::id::{Blake3Hash, BlobId};
use crate::sniff::PREFIX_LEN;

const BUF_LEN: usize = 1 << 20;

/// A blob written to `tmp/` and hashed, not yet in the store.
pub(crate) struct Staged {
    pub file: NamedTempFile,
    pub sha256: BlobId,
    pub blake3: Blake3Hash,
    pub size: u64,
    /// The first bytes (up to 1 MiB), for sniffing.
    pub prefix: Vec<u8>,
    /// The last two bytes.
    pub tail: [u8; 2],
}

/// Where blobs live.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    root: PathBuf,
}

/// Reads until `buf` is full or the reader ends.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Store {
    pub fn new(vault_root: &Path) -> Self {
        Self {
            root: vault_root.to_owned(),
        }
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn path(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.blobs_dir().join(&hex[..2]).join(hex)
    }

    /// Copies `reader` into a temporary file in the vault, hashing as it goes.
    /// `source` names the input in errors.
    pub fn stage(&self, reader: &mut dyn Read, source: &Path) -> Result<Staged> {
        let tmp_dir = self.tmp_dir();
        if !tmp_dir.is_dir() {
            fs::create_dir_all(&tmp_dir).ctx("creating", &tmp_dir)?;
        }
        let mut file = NamedTempFile::with_prefix_in("blob-", &tmp_dir)
            .ctx("creating a temporary file in", &tmp_dir)?;
        let mut sha = Sha256::new();
        let mut b3 = blake3::Hasher::new();
        let mut buf = vec![0u8; BUF_LEN];
        let mut size = 0u64;
        let mut prefix = Vec::new();
        let mut tail = [0u8; 2];
        loop {
            let n = read_full(reader, &mut buf).ctx("reading", source)?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            if prefix.is_empty() {
                prefix.extend_from_slice(&chunk[..n.min(PREFIX_LEN)]);
            }
            sha.update(chunk);
            b3.update(chunk);
            file.write_all(chunk)
                .ctx("writing", file.path().to_owned())?;
            tail = match chunk {
                [.., a, b] => [*a, *b],
                [b] => [tail[1], *b],
                [] => tail,
            };
            size += n as u64;
        }
        Ok(Staged {
            file,
            sha256: BlobId::from_bytes(sha.finalize().into()),
            blake3: Blake3Hash::from_bytes(*b3.finalize().as_bytes()),
            size,
            prefix,
            tail,
        })
    }

    /// Moves a staged (already durable) blob into place, read-only.
    /// Returns the fan-out directory whose entries must be made durable, and
    /// whether the blob was already there.
    pub fn persist(&self, staged: Staged) -> Result<(PathBuf, bool)> {
        let dest = self.path(&staged.sha256);
        let Some(dir) = dest.parent().map(Path::to_path_buf) else {
            return Err(Error::BlobMissing(staged.sha256.to_hex()));
        };
        if dest.is_file() {
            if self.intact(&dest, &staged)? {
                return Ok((dir, true));
            }
            // The stored copy was damaged: the verified new copy replaces it
            // and the damaged one is kept aside in tmp/ (verify lists it).
            let aside = self.tmp_dir().join(format!(
                "damaged-{}-{}",
                staged.sha256.to_hex(),
                std::process::id()
            ));
            fs::rename(&dest, &aside).ctx("moving a damaged blob aside", &dest)?;
            read_only(staged.file.as_file())
                .and_then(|p| fs::set_permissions(staged.file.path(), p))
                .ctx("setting read-only", staged.file.path().to_owned())?;
            staged
                .file
                .persist(&dest)
                .map_err(|e| e.error)
                .ctx("storing blob", &dest)?;
            return Ok((dir, true));
        }
        if !dir.is_dir() {
            fs::create_dir_all(&dir).ctx("creating", &dir)?;
            crate::durable::sync_dir(&self.blobs_dir())?;
        }
        read_only(staged.file.as_file())
            .and_then(|p| fs::set_permissions(staged.file.path(), p))
            .ctx("setting read-only", staged.file.path().to_owned())?;
        match staged.file.persist_noclobber(&dest) {
            Ok(_) => Ok((dir, false)),
            // Another process stored the same content meanwhile.
            Err(e) if dest.is_file() => {
                drop(e);
                Ok((dir, true))
            }
            Err(e) => Err(e.error).ctx("storing blob", dest),
        }
    }

    /// Whether the stored blob at `dest` still holds the staged bytes
    /// (size, then BLAKE3).
    fn intact(&self, dest: &Path, staged: &Staged) -> Result<bool> {
        let mut f = File::open(dest).ctx("opening blob", dest)?;
        if f.metadata().ctx("reading", dest)?.len() != staged.size {
            return Ok(false);
        }
        let (_, b3, _) = hash_reader(&mut f, true, dest)?;
        Ok(b3 == staged.blake3)
    }

    /// Opens a blob for reading.
    pub fn open(&self, id: &BlobId) -> Result<File> {
        let path = self.path(id);
        match File::open(&path) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::BlobMissing(id.to_hex())),
            Err(e) => Err(e).ctx("opening blob", path),
        }
    }

    /// Every file under `blobs/sha256/`, with the id its name claims (None when the name is not a blob name).
    pub fn list(&self) -> Result<Vec<(Option<BlobId>, PathBuf)>> {
        let mut out = Vec::new();
        let root = self.blobs_dir();
        for entry in walkdir::WalkDir::new(&root)
            .min_depth(1)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&root).to_owned();
                Error::Io {
                    action: "listing",
                    path,
                    source: e.into(),
                }
            })?;
            if entry.file_type().is_dir() && entry.depth() == 1 {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            let id = name
                .parse::<BlobId>()
                .ok()
                .filter(|id| self.path(id) == entry.path());
            out.push((id, entry.into_path()));
        }
        Ok(out)
    }
}

/// A blob's SHA-256 (absent in fast mode), its BLAKE3 and its length.
pub(crate) type BlobDigests = (Option<BlobId>, Blake3Hash, u64);

/// Hashes a whole reader: SHA-256 (unless `fast`) and BLAKE3, and the byte count.
pub(crate) fn hash_reader(reader: &mut dyn Read, fast: bool, source: &Path) -> Result<BlobDigests> {
    let mut sha = (!fast).then(Sha256::new);
    let mut b3 = blake3::Hasher::new();
    let mut buf = vec![0u8; BUF_LEN];
    let mut size = 0u64;
    loop {
        let n = read_full(reader, &mut buf).ctx("reading", source)?;
        if n == 0 {
            break;
        }
        if let Some(sha) = sha.as_mut() {
            sha.update(&buf[..n]);
        }
        b3.update(&buf[..n]);
        size += n as u64;
    }
    Ok((
        sha.map(|s| BlobId::from_bytes(s.finalize().into())),
        Blake3Hash::from_bytes(*b3.finalize().as_bytes()),
        size,
    ))
}

/// Blobs are read-only for everyone who can reach the vault (0444 on Unix),
/// so stations running as different users can all read them.
fn read_only(file: &File) -> io::Result<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file;
        Ok(fs::Permissions::from_mode(0o444))
    }
    #[cfg(not(unix))]
    {
        let mut p = file.metadata()?.permissions();
        p.set_readonly(true);
        Ok(p)
    }
}
