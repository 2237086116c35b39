//! TLS: a certificate from files, or a self-signed one kept in the vault.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ServeError;

/// Where `--self-signed` keeps its certificate and key, inside the vault.
const SELF_SIGNED_DIR: &str = "serve";

/// A certificate chain and key, PEM.
pub(crate) struct Pem {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

fn read(path: &Path) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|e| ServeError::Tls(format!("cannot read {}: {e}", path.display())))
}

/// Reads `--tls-cert` and `--tls-key`.
pub(crate) fn from_files(cert: &Path, key: &Path) -> Result<Pem, ServeError> {
    Ok(Pem {
        cert: read(cert)?,
        key: read(key)?,
    })
}

/// The vault's self-signed certificate, made on first use for `names`.
/// Both files are written to temporary names, fsynced, then renamed: a
/// crash leaves both, neither, or one that the next start replaces.
pub(crate) fn self_signed(
    vault_root: &Path,
    mut names: Vec<String>,
) -> Result<(Pem, PathBuf), ServeError> {
    let dir = vault_root.join(SELF_SIGNED_DIR);
    let (cert_path, key_path) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
    if cert_path.is_file() && key_path.is_file() {
        return Ok((from_files(&cert_path, &key_path)?, cert_path));
    }
    names.sort();
    names.dedup();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| ServeError::Tls(format!("cannot make a self-signed certificate: {e}")))?;
    let io = |what: &Path, e: std::io::Error| {
        ServeError::Tls(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let key_pem = made.signing_key.serialize_pem();
    let cert_pem = made.cert.pem();
    for (path, bytes) in [
        (&key_path, key_pem.as_bytes()),
        (&cert_path, cert_pem.as_bytes()),
    ] {
        write_private(&dir, path, bytes).map_err(|e| io(path, e))?;
    }
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(&dir, e))?;
    Ok((
        Pem {
            cert: cert_pem.into_bytes(),
            key: key_pem.into_bytes(),
        },
        cert_path,
    ))
}

/// Writes `bytes` to `path` readable by the owner only (tempfile's mode is
/// 0600), fsynced, replacing a leftover.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

/// The SHA-256 fingerprint of the first certificate in a PEM chain, as
/// browsers show it (`AB:CD:…`).
pub(crate) fn fingerprint(cert_pem: &[u8]) -> Result<String, ServeError> {
    let text = std::str::from_utf8(cert_pem)
        .map_err(|_| ServeError::Tls("the certificate is not PEM text".into()))?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = text
        .find(begin)
        .ok_or_else(|| ServeError::Tls("no CERTIFICATE block in the certificate file".into()))?
        + begin.len();
    let end = text[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| ServeError::Tls("the certificate block has no end".into()))?;
    let b64: String = text[start..start + end].split_whitespace().collect();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| ServeError::Tls(format!("the certificate is not valid base64 ({e})")))?;
    let digest = Sha256::digest(der);
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}
