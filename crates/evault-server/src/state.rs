//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use evault_core::Vault;

use crate::auth::Gate;

/// Size limits on what a client may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest packing video, in bytes.
    pub video_bytes: u64,
    /// The largest file of any other kind (photos, chats, PDFs), in bytes.
    pub file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            video_bytes: 4 << 30,
            file_bytes: 64 << 20,
        }
    }
}

/// The shared state of one server.
#[derive(Clone)]
pub struct AppState {
    pub(crate) vault: Vault,
    /// The order index the desk searches.
    pub(crate) index: Arc<crate::order_index::SharedIndex>,
    /// Exports started from the desk.
    pub(crate) exports: Arc<crate::exports::Jobs>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) limits: Limits,
    /// Whether pages are served over TLS (cookies are then `Secure`).
    pub(crate) tls: bool,
    pub(crate) session_ttl: Duration,
    pub(crate) checklist: Arc<Vec<crate::ChecklistItem>>,
    /// Thumbnails made at once (decoding is CPU-bound).
    pub(crate) thumbnails: Arc<tokio::sync::Semaphore>,
}
