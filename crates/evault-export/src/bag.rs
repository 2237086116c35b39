//! Writing a BagIt 1.0 bag into a reproducible zip.
//!
//! Members are written in name order with fixed timestamps and permissions,
//! JPEG/PNG/PDF stored (already compressed) and text deflated, so the same
//! content and date give the same bytes.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};

use chrono::{DateTime, Datelike, Timelike, Utc};
use sha2::{Digest, Sha256, Sha512};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::error::Result;
use crate::progress::{Counted, ExportProgress, ExportStage};

/// Where a member's bytes come from.
pub(crate) enum Content {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A reader opened when the member is written (a blob: the reader checks
    /// the bytes against their SHA-256), with hashes known beforehand.
    Blob {
        open: Box<dyn Fn() -> Result<Box<dyn Read>>>,
        size: u64,
        sha256: String,
        sha512: String,
    },
}

impl Content {
    fn size(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Blob { size, .. } => *size,
        }
    }
}

/// Hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bag being assembled: payload files (under `data/`) and tag files.
pub(crate) struct Bag {
    top: String,
    payload: BTreeMap<String, Content>,
    tags: BTreeMap<String, Vec<u8>>,
}

impl Bag {
    /// A bag whose members live under `top/`.
    pub fn new(top: String) -> Self {
        Self {
            top,
            payload: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    /// Adds a payload file at `data/<path>`.
    pub fn payload(&mut self, path: String, content: Content) {
        self.payload.insert(format!("data/{path}"), content);
    }

    /// Adds a tag file (outside `data/`).
    pub fn tag(&mut self, path: &str, bytes: Vec<u8>) {
        self.tags.insert(path.to_owned(), bytes);
    }

    /// Payload bytes and file count (`Payload-Oxum`).
    pub fn oxum(&self) -> (u64, usize) {
        (
            self.payload.values().map(Content::size).sum(),
            self.payload.len(),
        )
    }

    /// Writes the bag in one pass: `bag_info` lines go into `bag-info.txt`
    /// before the computed `Payload-Oxum`. Members are written in name order;
    /// the manifests sort after `data/`, so the payload's digests (SHA-512
    /// computed while it streams into the zip) are known when they are written.
    /// `progress` is told about the payload as it is written
    /// ([`ExportStage::WriteBundle`], in bytes).
    pub fn write<W: Write + Seek>(
        mut self,
        out: W,
        bag_info: &[(&str, String)],
        created: DateTime<Utc>,
        progress: &dyn ExportProgress,
    ) -> Result<W> {
        let (bytes, count) = self.oxum();
        progress.start(ExportStage::WriteBundle, bytes);
        let mut info = String::new();
        for (k, v) in bag_info {
            info.push_str(&format!("{k}: {}\n", v.replace(['\n', '\r'], " ")));
        }
        info.push_str(&format!("Payload-Oxum: {bytes}.{count}\n"));
        self.tags.insert("bag-info.txt".into(), info.into_bytes());
        self.tags.insert(
            "bagit.txt".into(),
            b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
        );
        const MANIFESTS: [&str; 3] = [
            "manifest-sha256.txt",
            "manifest-sha512.txt",
            "tagmanifest-sha256.txt",
        ];
        let mut names: Vec<String> = self
            .tags
            .keys()
            .chain(self.payload.keys())
            .cloned()
            .collect();
        names.extend(MANIFESTS.map(String::from));
        names.sort();

        let time = zip_time(created);
        let mut zip = zip::ZipWriter::new(out);
        let (mut m256, mut m512, mut tagm) = (String::new(), String::new(), String::new());
        for path in names {
            let name = format!("{}/{path}", self.top);
            let size = self.payload.get(&path).map_or(0, Content::size);
            let options = SimpleFileOptions::default()
                .last_modified_time(time)
                .unix_permissions(0o644)
                .compression_method(method(&path))
                .large_file(size >= u64::from(u32::MAX));
            zip.start_file(name, options)?;
            let manifest = match path.as_str() {
                "manifest-sha256.txt" => Some(std::mem::take(&mut m256)),
                "manifest-sha512.txt" => Some(std::mem::take(&mut m512)),
                "tagmanifest-sha256.txt" => Some(std::mem::take(&mut tagm)),
                _ => None,
            };
            if let Some(text) = manifest {
                if path != "tagmanifest-sha256.txt" {
                    tagm.push_str(&format!(
                        "{}  {path}\n",
                        hex(&Sha256::digest(text.as_bytes()))
                    ));
                }
                zip.write_all(text.as_bytes())
                    .map_err(zip::result::ZipError::Io)?;
            } else if let Some(bytes) = self.tags.get(&path) {
                tagm.push_str(&format!(
                    "{}  {}\n",
                    hex(&Sha256::digest(bytes)),
                    encode_path(&path)
                ));
                zip.write_all(bytes).map_err(zip::result::ZipError::Io)?;
            } else if let Some(content) = self.payload.get(&path) {
                let (sha256, sha512) = match content {
                    Content::Bytes(b) => {
                        zip.write_all(b).map_err(zip::result::ZipError::Io)?;
                        progress.advance(ExportStage::WriteBundle, b.len() as u64);
                        (hex(&Sha256::digest(b)), hex(&Sha512::digest(b)))
                    }
                    Content::Blob {
                        open,
                        sha256,
                        sha512,
                        ..
                    } => {
                        let mut blob = Counted {
                            inner: open()?,
                            progress,
                            stage: ExportStage::WriteBundle,
                        };
                        std::io::copy(&mut blob, &mut zip).map_err(zip::result::ZipError::Io)?;
                        (sha256.clone(), sha512.clone())
                    }
                };
                m256.push_str(&format!("{sha256}  {}\n", encode_path(&path)));
                m512.push_str(&format!("{sha512}  {}\n", encode_path(&path)));
            }
        }
        Ok(zip.finish()?)
    }
}

/// The digest (hex) of what `r` reads, and how many bytes it read.
pub(crate) fn hash_reader<D: Digest>(r: &mut dyn Read) -> std::io::Result<(String, u64)> {
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((hex(&h.finalize()), total));
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
}

/// Already-compressed formats are stored; the rest is deflated.
fn method(path: &str) -> CompressionMethod {
    let lower = path.to_ascii_lowercase();
    let stored = [
        ".jpg", ".jpeg", ".png", ".pdf", ".zip", ".mp4", ".mov", ".heic", ".webp", ".gif",
    ];
    if stored.iter().any(|e| lower.ends_with(e)) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    }
}

/// BagIt 1.0 §2.1.3: CR, LF and `%` in manifest paths are percent-encoded.
pub(crate) fn encode_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Zip timestamps have 2-second resolution and start in 1980.
fn zip_time(t: DateTime<Utc>) -> zip::DateTime {
    let year = u16::try_from(t.year()).unwrap_or(1980).clamp(1980, 2107);
    zip::DateTime::from_date_and_time(
        year,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default()
}
