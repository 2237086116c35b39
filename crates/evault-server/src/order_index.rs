//! The server's copy of the order index ([`evault_core::OrderIndex`]):
//! searched in memory, brought up to date after every append this server
//! makes and, for appends made elsewhere (the CLI, another server), by a
//! scan of the logs' lengths every [`REFRESH_EVERY`]; saved to
//! `index/orders.jsonl` when it changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use evault_core::{OrderId, OrderIndex, Vault};

use crate::error::ApiError;

/// How often changes made outside this server are looked for.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// The index, shared by every request.
pub(crate) struct SharedIndex {
    index: RwLock<OrderIndex>,
    /// Changed since it was last saved.
    dirty: AtomicBool,
}

impl SharedIndex {
    /// Loads the index (rebuilding it from the logs when needed) and
    /// brings it up to date.
    pub(crate) fn open(vault: &Vault) -> Result<Self, evault_core::Error> {
        let (index, refreshed) = OrderIndex::open(vault)?;
        let shared = Self {
            index: RwLock::new(index),
            dirty: AtomicBool::new(refreshed.changed()),
        };
        shared.save_if_changed(vault);
        Ok(shared)
    }

    /// The index, for reading.
    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, OrderIndex>, ApiError> {
        self.index
            .read()
            .map_err(|_| ApiError::internal("the order index lock is poisoned"))
    }

    /// Reads one order's log again after this server appended to it.
    pub(crate) async fn touch(self: &Arc<Self>, vault: &Vault, order: &OrderId) {
        let (me, vault, order) = (self.clone(), vault.clone(), order.clone());
        let _ = tokio::task::spawn_blocking(move || {
            let fresh = OrderIndex::read(&vault, evault_core::Stale::of(&order));
            if let Ok(mut index) = me.index.write() {
                index.apply(fresh);
                me.dirty.store(true, Ordering::SeqCst);
            }
        })
        .await;
    }

    /// Looks for changes made outside this server: a stat per order under
    /// the read lock, the changed logs read with no lock held.
    fn refresh(&self, vault: &Vault) {
        // On object storage: the store's new entries and accounts, taken
        // before the index is locked (searches never wait for the network).
        evault_core::take_store_entries(vault);
        let stale = match self.index.read() {
            Ok(index) => index.stale(vault),
            Err(_) => return,
        };
        let Ok(stale) = stale else {
            return;
        };
        if !stale.is_empty() {
            let fresh = OrderIndex::read(vault, stale);
            if let Ok(mut index) = self.index.write() {
                index.apply(fresh);
                self.dirty.store(true, Ordering::SeqCst);
            }
        }
        self.save_if_changed(vault);
    }

    /// Writes the file when the index changed (a failure only means the
    /// next start reads more logs).
    fn save_if_changed(&self, vault: &Vault) {
        if self.dirty.swap(false, Ordering::SeqCst) {
            let saved = self.index.read().map(|index| index.save(vault));
            if !matches!(saved, Ok(Ok(()))) {
                self.dirty.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Refreshes every [`REFRESH_EVERY`] for as long as the runtime runs.
    pub(crate) fn keep_fresh(self: Arc<Self>, vault: Vault) {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(REFRESH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                let (me, vault) = (self.clone(), vault.clone());
                let _ = tokio::task::spawn_blocking(move || me.refresh(&vault)).await;
            }
        });
    }
}
