//! The vault: a directory holding `evault.json`, `blobs/`, `orders/` and `tmp/`.

use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::durable::sync_dir;
use crate::entry::Timestamp;
use crate::error::{Error, IoContext, Result};
use crate::id::{OrderId, hex};
use crate::manifest::OrderDir;
use crate::store::Store;

/// The format string of this version of the on-disk layout.
pub const FORMAT: &str = "evault/1";

/// The clock a vault stamps `recorded_at` with.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// `evault.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Config {
    format: String,
    vault_id: String,
    created_at: Timestamp,
}

/// An opened vault.
#[derive(Clone)]
pub struct Vault {
    pub(crate) root: PathBuf,
    pub(crate) id: String,
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    /// The object store this vault lives in, when `root` is its working copy.
    #[cfg(feature = "object-store")]
    pub(crate) remote: Option<Arc<crate::remote::Remote>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("root", &self.root)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl Vault {
    /// Creates a vault in `path` (a new or empty directory).
    pub fn init(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref();
        if root.join("evault.json").exists() {
            return Err(Error::InitRefused {
                path: root.to_owned(),
                why: "it is already a vault".into(),
            });
        }
        if holds_anything(root)? {
            return Err(Error::InitRefused {
                path: root.to_owned(),
                why: "the directory is not empty; pick a new or empty directory".into(),
            });
        }
        if !root.exists() {
            fs::create_dir_all(root).ctx("creating", root)?;
            if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        create_layout(root)?;
        let bytes = new_config(&root.display().to_string())?;
        let cfg_path = root.join("evault.json");
        let tmp = root.join("evault.json.tmp");
        let mut f = File::create(&tmp).ctx("creating", &tmp)?;
        f.write_all(&bytes).ctx("writing", &tmp)?;
        f.sync_all().ctx("syncing", &tmp)?;
        fs::rename(&tmp, &cfg_path).ctx("creating", &cfg_path)?;
        sync_dir(&root.join("blobs"))?;
        sync_dir(root)?;
        Self::open(root)
    }

    /// Opens an existing vault.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let root = path.as_ref().to_owned();
        let cfg_path = root.join("evault.json");
        let bytes = match fs::read(&cfg_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotAVault { path: root });
            }
            Err(e) => return Err(e).ctx("reading", cfg_path),
        };
        let id = vault_id_of(&bytes, &cfg_path)?;
        Ok(Self {
            store: Store::new(&root),
            root,
            id,
            clock: Arc::new(now),
            #[cfg(feature = "object-store")]
            remote: None,
        })
    }

    /// Replaces the clock (for reproducible fixtures and tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The vault directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The vault's unique id (from `evault.json`; a hash of its creation time, process and path).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn orders_dir(&self) -> PathBuf {
        self.root.join("orders")
    }

    pub(crate) fn order_dir(&self, order: &OrderId) -> OrderDir {
        OrderDir::new(&self.orders_dir(), order)
    }
}

/// A new `evault.json`: the format, a fresh vault id (a hash of the time,
/// the process and `place`), the creation time.
pub(crate) fn new_config(place: &str) -> Result<Vec<u8>> {
    let created = Timestamp::from_datetime(now());
    let seed = format!(
        "{created}{:?}{}{place}",
        std::time::Instant::now(),
        std::process::id(),
    );
    let config = Config {
        format: FORMAT.into(),
        vault_id: hex(&Sha256::digest(seed.as_bytes())[..16]),
        created_at: created,
    };
    let mut bytes = serde_json::to_vec_pretty(&config)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The vault id of `evault.json`'s bytes (read from `path`), its format checked.
pub(crate) fn vault_id_of(bytes: &[u8], path: &Path) -> Result<String> {
    let config: Config = serde_json::from_slice(bytes).map_err(|e| Error::UnsupportedFormat {
        path: path.to_owned(),
        found: format!("unreadable ({e})"),
    })?;
    if config.format != FORMAT {
        return Err(Error::UnsupportedFormat {
            path: path.to_owned(),
            found: config.format,
        });
    }
    Ok(config.vault_id)
}

/// Without object storage, a vault is only ever a directory.
#[cfg(not(feature = "object-store"))]
impl Vault {
    /// The object store's URL, when the vault lives in one: never.
    pub fn object_store_url(&self) -> Option<&str> {
        None
    }

    /// Brings the working copy up to the object store's: nothing to do.
    pub fn pull(&self) -> Result<u64> {
        Ok(0)
    }

    pub(crate) fn pull_one(&self, _: &OrderId) -> Result<()> {
        Ok(())
    }

    pub(crate) fn fetch_blob(&self, _: &crate::id::BlobId) -> Result<bool> {
        Ok(false)
    }

    pub(crate) fn pull_accounts(&self) -> Result<()> {
        Ok(())
    }

    pub(crate) fn push_account(&self, _: u64, _: &[u8]) -> Result<bool> {
        Ok(true)
    }

    pub(crate) fn push_key(&self, _: &str, _: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// Whether `dir` exists and holds anything.
pub(crate) fn holds_anything(dir: &Path) -> Result<bool> {
    Ok(dir.exists() && fs::read_dir(dir).ctx("reading", dir)?.next().is_some())
}

/// Creates the directories every vault has (`blobs/sha256`, `orders`, `tmp`) in `root`.
pub(crate) fn create_layout(root: &Path) -> Result<()> {
    for dir in ["blobs/sha256", "orders", "tmp"] {
        fs::create_dir_all(root.join(dir)).ctx("creating", root.join(dir))?;
    }
    Ok(())
}
