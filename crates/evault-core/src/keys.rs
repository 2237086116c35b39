//! Station keys: ed25519 key pairs that sign checkpoints. The private key
//! is a PKCS#8 PEM file kept by its owner (mode 0600, never in the vault);
//! the public key is registered in the vault as `keys/<name>.pub.pem`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::durable::sync_dir;
use crate::error::{Error, IoContext, Result};
use crate::id::{hex, parse_hex};
use crate::vault::Vault;

/// The folder of registered public keys, inside the vault.
const KEYS_DIR: &str = "keys";
const PUB_SUFFIX: &str = ".pub.pem";

fn key_error(name: &str, why: impl Into<String>) -> Error {
    Error::Key {
        name: name.to_owned(),
        why: why.into(),
    }
}

/// Key names: 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`, not starting with `.`.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(key_error(
            name,
            "a key name is 1 to 64 lowercase letters, digits, '.', '_' or '-' (not starting with '.')",
        ))
    }
}

/// A public key registered in a vault (or carried in a bundle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Its name (`station-3`, `mei`).
    pub name: String,
    /// The key.
    pub key: VerifyingKey,
}

impl PublicKey {
    /// `sha256:` and the SHA-256 of the 32-byte public key, in hex.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key)
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> Result<String> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| key_error(&self.name, e.to_string()))
    }

    /// Reads a SPKI PEM public key.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self> {
        let key = VerifyingKey::from_public_key_pem(pem)
            .map_err(|e| key_error(name, format!("not an ed25519 public key in PEM ({e})")))?;
        Ok(Self {
            name: name.to_owned(),
            key,
        })
    }

    /// Whether `signature` (64 bytes, hex) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature_hex: &str) -> bool {
        let Some(bytes) = parse_hex::<64>(signature_hex) else {
            return false;
        };
        self.key
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

fn fingerprint(key: &VerifyingKey) -> String {
    format!("sha256:{}", hex(&Sha256::digest(key.as_bytes())))
}

/// A station's or operator's signing key.
#[derive(Clone)]
pub struct StationKey {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationKey")
            .field("name", &self.name)
            .field("fingerprint", &fingerprint(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

impl StationKey {
    /// A new random key pair.
    pub fn generate(name: &str) -> Result<Self> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| key_error(name, format!("no randomness from the OS: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a PKCS#8 PEM private key file; its name is the file name without
    /// `.pem` (and without `.key`).
    pub fn load(path: &Path) -> Result<Self> {
        let pem = fs::read_to_string(path).ctx("reading the key", path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = name
            .trim_end_matches(".pem")
            .trim_end_matches(".key")
            .to_owned();
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            key_error(
                &path.display().to_string(),
                format!(
                    "not an ed25519 private key in PKCS#8 PEM ({e}); make one with `evault key new`"
                ),
            )
        })?;
        Ok(Self { name, key })
    }

    /// Writes the private key as PKCS#8 PEM to a new file readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<()> {
        // PKCS#8 v1 (RFC 8410, no public key inside): OpenSSL 3.0 does not
        // read the v2 form with the public key that the key type writes.
        let pem = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_error(&self.name, e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).ctx("creating", dir)?;
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).ctx("creating the key file", path)?;
        file.write_all(pem.as_bytes()).ctx("writing", path)?;
        file.sync_all().ctx("syncing", path)?;
        Ok(())
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The signature over `message`, in hex.
    pub fn sign(&self, message: &[u8]) -> String {
        hex(&self.key.sign(message).to_bytes())
    }
}

impl Vault {
    fn keys_dir(&self) -> PathBuf {
        self.root().join(KEYS_DIR)
    }

    /// Registers a public key (`keys/<name>.pub.pem`); a name is never reused.
    pub fn add_key(&self, key: &PublicKey) -> Result<()> {
        check_name(&key.name)?;
        let dir = self.keys_dir();
        fs::create_dir_all(&dir).ctx("creating", &dir)?;
        if let Some(same) = self.keys()?.iter().find(|k| k.key == key.key) {
            return Err(key_error(
                &key.name,
                format!("this public key is already registered as {}", same.name),
            ));
        }
        let path = dir.join(format!("{}{PUB_SUFFIX}", key.name));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => key_error(
                    &key.name,
                    "a key of this name is already registered in the vault; choose another name",
                ),
                _ => Error::Io {
                    action: "creating",
                    path: path.clone(),
                    source: e,
                },
            })?;
        let pem = key.to_pem()?;
        file.write_all(pem.as_bytes()).ctx("writing", &path)?;
        file.sync_all().ctx("syncing", &path)?;
        sync_dir(&dir)?;
        self.push_key(&format!("{}{PUB_SUFFIX}", key.name), pem.as_bytes())
    }

    /// The registered public keys, by name.
    pub fn keys(&self) -> Result<Vec<PublicKey>> {
        let dir = self.keys_dir();
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.ctx("listing", &dir)?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_suffix(PUB_SUFFIX) else {
                continue;
            };
            let pem = fs::read_to_string(entry.path()).ctx("reading", entry.path())?;
            out.push(PublicKey::from_pem(name, &pem)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
