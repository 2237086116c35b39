//! Trust anchors: the TSA root certificates a user chooses to trust, from a
//! PEM/DER file or a directory of them. A certificate there that is not
//! self-signed (its issuer is not its subject) is an intermediate: used to
//! build chains, as OpenSSL's `-untrusted`, not trusted by itself.

use std::path::Path;

use der::Encode;
use x509_cert::Certificate;

use crate::cert::Cert;
use crate::error::{Error, Result};

/// The certificates a time-stamp chain may end at, and intermediates.
#[derive(Clone, Debug, Default)]
pub struct Anchors {
    /// Self-signed certificates: where a chain may end.
    pub(crate) roots: Vec<Cert>,
    /// Other certificates given: links a chain may use.
    pub(crate) intermediates: Vec<Cert>,
}

impl Anchors {
    /// No anchors: every valid token is "valid, TSA not trusted".
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads a file (PEM with one or more certificates, or one DER
    /// certificate) or every `.pem`, `.crt`, `.cer` and `.der` file of a
    /// directory (not its subdirectories).
    pub fn load(path: &Path) -> Result<Self> {
        let fail = |why: String| Error::Anchors {
            path: path.display().to_string(),
            why,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        let mut files = Vec::new();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).map_err(|e| fail(e.to_string()))? {
                let p = entry.map_err(|e| fail(e.to_string()))?.path();
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if p.is_file() && ["pem", "crt", "cer", "der"].contains(&ext) {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut certs = Vec::new();
        for file in &files {
            let bytes =
                std::fs::read(file).map_err(|e| fail(format!("{}: {e}", file.display())))?;
            let found =
                Self::parse(&bytes).map_err(|why| fail(format!("{}: {why}", file.display())))?;
            certs.extend(found);
        }
        if certs.is_empty() {
            return Err(fail(
                "no certificate found (give a PEM file or a folder of .pem/.crt files)".into(),
            ));
        }
        Ok(Self::sorted(certs))
    }

    /// Reads certificates held in memory: PEM with one or more
    /// certificates, or one DER certificate (as one file of [`Anchors::load`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let certs = Self::parse(bytes).map_err(|why| Error::Anchors {
            path: "(certificates in memory)".into(),
            why,
        })?;
        Ok(Self::sorted(certs))
    }

    fn sorted(certs: Vec<Cert>) -> Self {
        let (roots, intermediates) = certs.into_iter().partition(Cert::is_self_issued);
        Self {
            roots,
            intermediates,
        }
    }

    fn parse(bytes: &[u8]) -> std::result::Result<Vec<Cert>, String> {
        let ders =
            if bytes.starts_with(b"-----BEGIN") || bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                Certificate::load_pem_chain(bytes)
                    .map_err(|e| format!("not a PEM certificate file: {e}"))?
                    .iter()
                    .map(|c| c.to_der().map_err(|e| e.to_string()))
                    .collect::<std::result::Result<Vec<_>, _>>()?
            } else {
                vec![bytes.to_vec()]
            };
        ders.iter()
            .map(|der| Cert::from_der(der).map_err(|e| e.to_string()))
            .collect()
    }

    /// How many certificates there are (roots and intermediates).
    pub fn len(&self) -> usize {
        self.roots.len() + self.intermediates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many are roots (self-signed), where a chain may end.
    pub fn roots(&self) -> usize {
        self.roots.len()
    }
}
