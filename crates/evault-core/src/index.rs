//! The order index: one summary per order, kept beside the logs in
//! `index/orders.jsonl`, so that a service desk finds an order among
//! 100 000 without reading every log.
//!
//! The index is a cache. The logs are the only truth: every summary says
//! how many bytes of its log it was read from, and [`OrderIndex::refresh`]
//! reads again every log whose length differs (a stat per order). A
//! missing, unreadable or foreign index file is rebuilt from the logs;
//! deleting it is always safe. The file is specified in `docs/format.md`.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dispute::Dispute;
use crate::entry::{Body, Timestamp};
use crate::error::{IoContext, Result};
use crate::id::OrderId;
use crate::kind::EvidenceKind;
use crate::manifest::OrderDir;
use crate::read::OrderLog;
use crate::vault::Vault;

/// The first line of `index/orders.jsonl` names this format.
const INDEX_FORMAT: &str = "evault-order-index/1";

/// One order as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedOrder {
    /// The order id.
    pub order: OrderId,
    /// Its folder name under `orders/`.
    pub key: String,
    /// The length of `manifest.jsonl` this summary was read from.
    pub log_bytes: u64,
    /// Number of entries.
    pub entries: u64,
    /// Evidence files not retracted.
    pub evidence: u64,
    /// Their total size.
    pub bytes: u64,
    /// When the first entry was recorded.
    pub first_recorded_at: Timestamp,
    /// When the last entry was recorded.
    pub last_recorded_at: Timestamp,
    /// The UTC days on which entries were recorded, ascending.
    pub days: Vec<NaiveDate>,
    /// The kinds of the evidence files not retracted, ascending.
    pub kinds: Vec<EvidenceKind>,
    /// The stations that recorded entries, ascending.
    pub stations: Vec<String>,
    /// The operators that recorded entries, ascending.
    pub operators: Vec<String>,
    /// The dispute records not retracted, in log order.
    pub disputes: Vec<IndexedDispute>,
}

/// A dispute record, and the export that answered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedDispute {
    /// The dispute entry's sequence number.
    pub seq: u64,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// The dispute.
    pub dispute: Dispute,
    /// The first export for the dispute's platform recorded after it (not
    /// retracted): the answer. `None` while the dispute is open.
    pub answered_by: Option<u64>,
}

impl IndexedOrder {
    /// Summarises a log; `None` for an empty one.
    pub fn from_log(key: String, log: &OrderLog, log_bytes: u64) -> Option<Self> {
        let first = log.entries.first()?;
        let last = log.entries.last()?;
        let retracted = log.retracted();
        let live = || {
            log.entries
                .iter()
                .filter(|r| !retracted.contains(&r.entry.seq))
        };
        let evidence: Vec<_> = live().filter_map(|r| r.entry.evidence()).collect();
        let set = |f: &dyn Fn(&crate::Entry) -> String| -> Vec<String> {
            let s: BTreeSet<String> = log.entries.iter().map(|r| f(&r.entry)).collect();
            s.into_iter().collect()
        };
        let days: BTreeSet<NaiveDate> = log
            .entries
            .iter()
            .map(|r| r.entry.recorded_at.datetime().date_naive())
            .collect();
        let kinds: BTreeSet<EvidenceKind> = evidence.iter().map(|e| e.kind).collect();
        let disputes = live()
            .filter_map(|r| match &r.entry.body {
                Body::Dispute(d) => Some(IndexedDispute {
                    seq: r.entry.seq,
                    recorded_at: r.entry.recorded_at,
                    dispute: d.clone(),
                    answered_by: live()
                        .filter(|x| x.entry.seq > r.entry.seq)
                        .find(
                            |x| matches!(&x.entry.body, Body::Export(e) if e.profile == d.platform),
                        )
                        .map(|x| x.entry.seq),
                }),
                _ => None,
            })
            .collect();
        Some(Self {
            order: first.entry.order.clone(),
            key,
            log_bytes,
            entries: log.entries.len() as u64,
            evidence: evidence.len() as u64,
            bytes: evidence.iter().map(|e| e.size).sum(),
            first_recorded_at: first.entry.recorded_at,
            last_recorded_at: last.entry.recorded_at,
            days: days.into_iter().collect(),
            kinds: kinds.into_iter().collect(),
            stations: set(&|e| e.station.clone()),
            operators: set(&|e| e.recorded_by.clone()),
            disputes,
        })
    }

    /// The disputes no export has answered yet.
    pub fn open_disputes(&self) -> impl Iterator<Item = &IndexedDispute> {
        self.disputes.iter().filter(|d| d.answered_by.is_none())
    }
}

/// What to look for. Every filter given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Part of the order id, any case: exact matches come first, then ids
    /// that start with it, then ids that contain it.
    pub text: Option<String>,
    /// Orders with an entry recorded on or after this UTC day.
    pub from: Option<NaiveDate>,
    /// Orders with an entry recorded on or before this UTC day.
    pub to: Option<NaiveDate>,
    /// Orders a station of this name recorded in (any case).
    pub station: Option<String>,
    /// Orders an operator of this name recorded in (any case).
    pub operator: Option<String>,
    /// `Some(true)`: only orders with a dispute record; `Some(false)`: only
    /// orders without one.
    pub has_dispute: Option<bool>,
    /// How many matches to skip (paging).
    pub offset: usize,
    /// How many matches to return at most.
    pub limit: usize,
}

/// How an order matched [`OrderQuery::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The id, any case.
    Exact,
    /// The id starts with the text.
    Prefix,
    /// The id contains the text.
    Substring,
    /// No text was given.
    Any,
}

/// One page of matches.
#[derive(Clone, Debug)]
pub struct OrderHits<'a> {
    /// How many orders match in all.
    pub total: usize,
    /// This page: best matches first, then the most recently recorded.
    pub orders: Vec<(Match, &'a IndexedOrder)>,
}

/// How [`OrderIndex::open`] or [`OrderIndex::refresh`] found the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Whether the whole index was rebuilt from the logs, and why.
    pub rebuilt: Option<String>,
    /// Orders read again (new or grown logs).
    pub read: usize,
    /// Orders whose folder is gone.
    pub dropped: usize,
}

impl Refreshed {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.rebuilt.is_some() || self.read > 0 || self.dropped > 0
    }
}

/// Orders to read again, found by [`OrderIndex::stale`].
#[derive(Clone, Debug, Default)]
pub struct Stale {
    read: Vec<String>,
    gone: Vec<String>,
}

impl Stale {
    /// Just this order (after an append this process made).
    pub fn of(order: &OrderId) -> Self {
        Self {
            read: vec![order.storage_key()],
            gone: Vec::new(),
        }
    }

    /// Whether every summary is current.
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.gone.is_empty()
    }
}

/// Logs read by [`OrderIndex::read`], to [`apply`](OrderIndex::apply).
#[derive(Debug)]
pub struct Fresh {
    read: Vec<(String, std::result::Result<Option<IndexedOrder>, String>)>,
    gone: Vec<String>,
}

/// The summaries of every order of a vault (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct OrderIndex {
    vault: String,
    orders: Vec<IndexedOrder>,
    /// The lowercase id of each of `orders`, for matching.
    lower: Vec<String>,
    /// Where each order's folder name is in `orders`.
    at: HashMap<String, usize>,
    /// Orders whose log cannot be read: key and why.
    damaged: Vec<(String, String)>,
}

/// The header line of the file.
#[derive(Serialize, Deserialize)]
struct Header {
    index: String,
    vault: String,
}

impl OrderIndex {
    /// Builds the index from every order's log.
    pub fn rebuild(vault: &Vault) -> Result<Self> {
        take_store_entries(vault);
        let mut index = Self {
            vault: vault.id().to_owned(),
            ..Self::default()
        };
        let read = order_lengths(vault)?.into_keys().collect();
        index.apply(Self::read(
            vault,
            Stale {
                read,
                gone: Vec::new(),
            },
        ));
        Ok(index)
    }

    /// Loads `index/orders.jsonl` and refreshes it from the logs, or
    /// rebuilds it when it is missing, unreadable or of another vault.
    pub fn open(vault: &Vault) -> Result<(Self, Refreshed)> {
        match Self::load(vault) {
            Ok(mut index) => {
                let refreshed = index.refresh(vault)?;
                Ok((index, refreshed))
            }
            Err(why) => {
                let index = Self::rebuild(vault)?;
                let refreshed = Refreshed {
                    rebuilt: Some(why),
                    read: index.orders.len(),
                    dropped: 0,
                };
                Ok((index, refreshed))
            }
        }
    }

    fn load(vault: &Vault) -> std::result::Result<Self, String> {
        let path = index_path(vault);
        let file = fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines = std::io::BufReader::new(file).lines();
        let bad = |n: usize, e: &dyn std::fmt::Display| format!("{} line {n}: {e}", path.display());
        let header: Header = match lines.next() {
            Some(line) => {
                serde_json::from_str(&line.map_err(|e| bad(1, &e))?).map_err(|e| bad(1, &e))?
            }
            None => return Err(format!("{} is empty", path.display())),
        };
        if header.index != INDEX_FORMAT || header.vault != vault.id() {
            return Err(format!(
                "{} is {} of vault {}, not {INDEX_FORMAT} of this vault",
                path.display(),
                header.index,
                header.vault
            ));
        }
        let mut index = Self {
            vault: header.vault,
            ..Self::default()
        };
        for (i, line) in lines.enumerate() {
            let line = line.map_err(|e| bad(i + 2, &e))?;
            let order: IndexedOrder = serde_json::from_str(&line).map_err(|e| bad(i + 2, &e))?;
            index.insert(order);
        }
        Ok(index)
    }

    /// Writes `index/orders.jsonl` (a temporary file renamed over it; not
    /// fsynced: a lost or torn index is rebuilt).
    pub fn save(&self, vault: &Vault) -> Result<()> {
        let path = index_path(vault);
        let dir = path.parent().unwrap_or(vault.root());
        fs::create_dir_all(dir).ctx("creating", dir)?;
        let tmp = tempfile::NamedTempFile::new_in(dir).ctx("creating a file in", dir)?;
        let mut out = std::io::BufWriter::new(tmp);
        let header = Header {
            index: INDEX_FORMAT.to_owned(),
            vault: self.vault.clone(),
        };
        let mut sorted: Vec<&IndexedOrder> = self.orders.iter().collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        let lines = std::iter::once(serde_json::to_string(&header))
            .chain(sorted.into_iter().map(serde_json::to_string));
        for line in lines {
            let line = line.map_err(std::io::Error::other).ctx("writing", &path)?;
            out.write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .ctx("writing", &path)?;
        }
        let tmp = out
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("writing", &path)?;
        tmp.persist(&path)
            .map_err(|e| e.error)
            .ctx("renaming into", &path)?;
        Ok(())
    }

    /// Reads again every order whose log length differs from the one its
    /// summary was read from, adds new orders and drops vanished ones.
    pub fn refresh(&mut self, vault: &Vault) -> Result<Refreshed> {
        take_store_entries(vault);
        let stale = self.stale(vault)?;
        Ok(self.apply(Self::read(vault, stale)))
    }

    /// The first step of [`refresh`](Self::refresh), needing only `&self`
    /// (a stat per order): which orders to read again, which are gone.
    pub fn stale(&self, vault: &Vault) -> Result<Stale> {
        let lengths = order_lengths(vault)?;
        let read = lengths
            .iter()
            .filter(|(key, len)| {
                self.at
                    .get(*key)
                    .is_none_or(|i| self.orders[*i].log_bytes != **len)
            })
            .map(|(key, _)| key.clone())
            .collect();
        let gone = self
            .at
            .keys()
            .chain(self.damaged.iter().map(|(k, _)| k))
            .filter(|k| !lengths.contains_key(*k))
            .cloned()
            .collect();
        Ok(Stale { read, gone })
    }

    /// The second step: reads the stale logs (no index needed, so no lock
    /// is held while the disk works).
    pub fn read(vault: &Vault, stale: Stale) -> Fresh {
        let orders = vault.orders_dir();
        let read = stale
            .read
            .into_par_iter()
            .map(|key| {
                let dir = OrderDir::from_dir(orders.join(&key));
                let r = dir
                    .snapshot()
                    .and_then(|(_, bytes, _)| {
                        let log = OrderLog::parse(&bytes, &key)?;
                        Ok(IndexedOrder::from_log(
                            key.clone(),
                            &log,
                            bytes.len() as u64,
                        ))
                    })
                    .map_err(|e| e.to_string());
                (key, r)
            })
            .collect();
        Fresh {
            read,
            gone: stale.gone,
        }
    }

    /// The last step: takes in what [`read`](Self::read) found. A summary
    /// of fewer entries than the one already held is not taken (a slower
    /// reader lost a race; logs only gain entries, even when `repair` cuts
    /// a torn line, since it records the cut).
    pub fn apply(&mut self, fresh: Fresh) -> Refreshed {
        for key in &fresh.gone {
            self.remove(key);
            self.damaged.retain(|(k, _)| k != key);
        }
        let read = fresh.read.len();
        for (key, r) in fresh.read {
            match r {
                Ok(Some(order)) => {
                    let held = self.at.get(&key).map(|i| self.orders[*i].entries);
                    if held.is_none_or(|n| n <= order.entries) {
                        self.damaged.retain(|(k, _)| *k != key);
                        self.insert(order);
                    }
                }
                Ok(None) => {}
                Err(why) => {
                    self.remove(&key);
                    self.damaged.retain(|(k, _)| *k != key);
                    self.damaged.push((key, why));
                }
            }
        }
        self.damaged.sort();
        Refreshed {
            rebuilt: None,
            read,
            dropped: fresh.gone.len(),
        }
    }

    /// Reads one order's log again (after this process appended to it).
    pub fn refresh_order(&mut self, vault: &Vault, order: &OrderId) {
        self.apply(Self::read(vault, Stale::of(order)));
    }

    fn insert(&mut self, order: IndexedOrder) {
        self.remove(&order.key);
        self.at.insert(order.key.clone(), self.orders.len());
        self.lower.push(order.order.as_str().to_lowercase());
        self.orders.push(order);
    }

    fn remove(&mut self, key: &str) {
        let Some(i) = self.at.remove(key) else {
            return;
        };
        self.orders.swap_remove(i);
        self.lower.swap_remove(i);
        if let Some(moved) = self.orders.get(i) {
            self.at.insert(moved.key.clone(), i);
        }
    }

    /// The number of orders indexed.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order is indexed.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// One order's summary.
    pub fn get(&self, order: &OrderId) -> Option<&IndexedOrder> {
        self.at.get(&order.storage_key()).map(|i| &self.orders[*i])
    }

    /// Every summary, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &IndexedOrder> {
        self.orders.iter()
    }

    /// Orders whose log cannot be read (folder name and why): `evault
    /// verify` names what is wrong.
    pub fn damaged(&self) -> &[(String, String)] {
        &self.damaged
    }

    /// The orders matching `query`, best first.
    pub fn search(&self, query: &OrderQuery) -> OrderHits<'_> {
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        let station = query.station.as_deref().map(str::to_lowercase);
        let operator = query.operator.as_deref().map(str::to_lowercase);
        let any_of = |names: &[String], want: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| names.iter().any(|n| n.to_lowercase() == *w))
        };
        let mut hits: Vec<(Match, &IndexedOrder)> = self
            .orders
            .iter()
            .zip(&self.lower)
            .filter_map(|(o, id)| {
                let how = match &text {
                    None => Match::Any,
                    Some(t) => {
                        if id == t {
                            Match::Exact
                        } else if id.starts_with(t.as_str()) {
                            Match::Prefix
                        } else if id.contains(t.as_str()) {
                            Match::Substring
                        } else {
                            return None;
                        }
                    }
                };
                let in_range = (query.from.is_none() && query.to.is_none())
                    || o.days.iter().any(|d| {
                        query.from.is_none_or(|f| *d >= f) && query.to.is_none_or(|t| *d <= t)
                    });
                let ok = in_range
                    && any_of(&o.stations, &station)
                    && any_of(&o.operators, &operator)
                    && query.has_dispute.is_none_or(|h| h != o.disputes.is_empty());
                ok.then_some((how, o))
            })
            .collect();
        let total = hits.len();
        let rank = |(how, o): &(Match, &IndexedOrder)| {
            (*how, std::cmp::Reverse(o.last_recorded_at.datetime()))
        };
        let best = |a: &(Match, &IndexedOrder), b: &(Match, &IndexedOrder)| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.1.order.as_str().cmp(b.1.order.as_str()))
        };
        let end = query.offset.saturating_add(query.limit).min(total);
        if end < total {
            hits.select_nth_unstable_by(end, best);
            hits.truncate(end);
        }
        hits.sort_unstable_by(best);
        let orders = hits.into_iter().skip(query.offset).collect();
        OrderHits { total, orders }
    }

    /// Compares two indexes by what they say of each order (not by how
    /// they were made).
    pub fn same_as(&self, other: &OrderIndex) -> bool {
        fn sorted(ix: &OrderIndex) -> Vec<&IndexedOrder> {
            let mut v: Vec<&IndexedOrder> = ix.orders.iter().collect();
            v.sort_by(|a, b| a.key.cmp(&b.key));
            v
        }
        self.vault == other.vault && sorted(self) == sorted(other) && self.damaged == other.damaged
    }
}

fn index_path(vault: &Vault) -> PathBuf {
    vault.root().join("index").join("orders.jsonl")
}

/// Every order folder with the length of its `manifest.jsonl` (one stat each).
/// On object storage, the working copy first takes the store's new
/// entries ([`Vault::pull`]). An order that cannot be taken is indexed as
/// the working copy holds it; reading the order names what is wrong.
pub fn take_store_entries(vault: &Vault) {
    let _ = vault.pull();
}

fn order_lengths(vault: &Vault) -> Result<HashMap<String, u64>> {
    let orders = vault.orders_dir();
    let mut out = HashMap::new();
    for item in fs::read_dir(&orders).ctx("reading", &orders)? {
        let item = item.ctx("reading", &orders)?;
        let key = item.file_name().to_string_lossy().into_owned();
        if let Ok(meta) = fs::metadata(item.path().join("manifest.jsonl")) {
            out.insert(key, meta.len());
        }
    }
    Ok(out)
}
