//! Error type of the export crate.

use std::path::PathBuf;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an export or a bundle check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The vault refused something.
    #[error(transparent)]
    Vault(#[from] evault_core::Error),
    /// An I/O operation failed on a path.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A profile file cannot be used.
    #[error("{source_name}: {why}")]
    Profile {
        /// Which file.
        source_name: String,
        /// What is wrong.
        why: String,
    },
    /// No profile has this name.
    #[error("unknown platform profile {name:?}; known: {}", known.join(", "))]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The names available.
        known: Vec<String>,
    },
    /// The order has nothing that says which reason to argue.
    #[error(
        "order {0:?} has no dispute record; pass --reason, or record one with `evault dispute`"
    )]
    NoReason(String),
    /// A photo cannot be decoded within the safety limits, or an evidence
    /// file's bytes cannot be read from the vault (or do not match its hash).
    #[error("{name} (entry {seq}): {why}")]
    Photo {
        /// The evidence name.
        name: String,
        /// Its entry.
        seq: u64,
        /// What went wrong.
        why: String,
    },
    /// The evidence cannot be made to fit the profile.
    #[error("the evidence does not fit {profile}: {why}")]
    DoesNotFit {
        /// The profile.
        profile: String,
        /// What to drop or change.
        why: String,
    },
    /// A program evault runs to convert some evidence is missing.
    #[error("{what} need a converter for {profile}: {why}; nothing was written")]
    MissingTool {
        /// The profile.
        profile: String,
        /// Which evidence needs it.
        what: String,
        /// What is missing and how to install it.
        why: String,
    },
    /// `--strict` was given and photos would be left out of the uploads.
    #[error("--strict: {} photo(s) would be left out of the {profile} uploads, so nothing was written: {}", left_out.len(), left_out.join("; "))]
    Strict {
        /// The profile.
        profile: String,
        /// Each photo left out, and why.
        left_out: Vec<String>,
    },
    /// The bundle file cannot be read as a zip at all.
    #[error("{path} cannot be read as a bundle: {why}")]
    UnreadableBundle {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Another station appended to the order while its bundle was being made.
    #[error(
        "order {0:?} changed while its bundle was being made (another station recorded something); export again"
    )]
    OrderChanged(String),
    /// The log does not match the checkpoint the bundle would be cut at.
    #[error(
        "order {order:?}: the log does not match its checkpoint entry {seq} (rewritten, or copied from another vault); run `evault verify` and restore the order from a backup before exporting"
    )]
    CheckpointMismatch {
        /// The order.
        order: String,
        /// The checkpoint entry.
        seq: u64,
    },
    /// A stamp entry's RFC 3161 token does not verify.
    #[error(
        "order {order:?}: the time-stamp in entry {seq} does not verify ({why}); run `evault verify` and restore the order from a backup before exporting"
    )]
    StampInvalid {
        /// The order.
        order: String,
        /// The stamp entry.
        seq: u64,
        /// What failed.
        why: String,
    },
    /// A PDF could not be made.
    #[error("making the PDFs: {why}")]
    Pdf {
        /// Why.
        why: String,
    },
    /// Writing the zip failed.
    #[error("writing the bundle: {0}")]
    Zip(#[from] zip::result::ZipError),
}

pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            action,
            path: path.into(),
            source,
        })
    }
}
