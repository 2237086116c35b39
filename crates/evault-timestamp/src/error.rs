//! Errors: a malformed structure, a refused request, or a reply that does
//! not check out (with the check that failed named).

/// A structure that is not valid DER or not shaped as RFC 3161 / RFC 5652 say.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {why}")]
pub struct Malformed {
    /// The structure being read.
    pub what: &'static str,
    /// What is wrong with it.
    pub why: &'static str,
}

impl Malformed {
    pub(crate) fn new(what: &'static str, why: &'static str) -> Self {
        Self { what, why }
    }
}

/// Why a time-stamp reply or token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a time-stamp request, reply or token.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// The TSA answered with a status other than granted.
    #[error("the time-stamp authority refused the request (status {status}{text})")]
    Refused {
        /// PKIStatus (2 rejection, 3 waiting, 4 revocation warning, 5 revoked).
        status: u64,
        /// The status text and failure bits, if the TSA sent any.
        text: String,
    },
    /// One of the checks failed; `check` names it.
    #[error("{check}: {why}")]
    Invalid {
        /// The check that failed: `imprint`, `nonce`, `content-type`,
        /// `message-digest`, `signature`, `ess-cert-id`, `eku`, `certificate`,
        /// `algorithm`.
        check: &'static str,
        /// What was found.
        why: String,
    },
    /// A trust-anchor file could not be read or holds no certificate.
    #[error("trust anchors {path}: {why}")]
    Anchors {
        /// The file or directory given.
        path: String,
        /// What went wrong.
        why: String,
    },
}

impl Error {
    /// An [`Error::Invalid`]: check `check` failed because of `why`.
    pub fn invalid(check: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            check,
            why: why.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
