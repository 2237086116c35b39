//! RFC 3161 time-stamps over checkpoints: a request kept in the order's
//! folder until its reply is attached, and a `stamp` entry holding the
//! TSA's reply. The token shows that the checkpoint's statement (vault,
//! order, size, Merkle root) existed at the TSA's time.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use evault_timestamp::{Anchors, Expected, Request, Stamp};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::checkpoint::Checkpoint;
use crate::durable::sync_dir;
use crate::entry::{Body, Recorded};
use crate::error::{Error, IoContext, Result};
use crate::id::OrderId;
use crate::keys::StationKey;
use crate::read::OrderLog;
use crate::vault::Vault;
use crate::verify::StampedCheckpoint;

/// The folder (inside the order's folder) holding requests awaiting a reply.
const PENDING_DIR: &str = "stamp-requests";

/// A `stamp` entry: a TSA's reply over the checkpoint entry `checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampRecord {
    /// The checkpoint entry's sequence number.
    pub checkpoint: u64,
    /// The TSA's time (genTime) as read when recorded; `verify` re-reads it
    /// from the token.
    pub time: String,
    /// The signing certificate's subject, as read when recorded.
    pub tsa: String,
    /// The DER TimeStampResp, base64 (RFC 4648, padded).
    pub reply: String,
}

impl StampRecord {
    /// The reply's DER bytes.
    pub fn reply_der(&self) -> Option<Vec<u8>> {
        BASE64.decode(&self.reply).ok()
    }

    /// Checks the entry's token against the checkpoint it names, looked up
    /// in `checkpoints` (the earlier checkpoint entries of the order, by
    /// `seq`), with `anchors` deciding trust. The entry's `time` and `tsa`,
    /// shown without reading the token, must say what the token says. The
    /// error says which check failed.
    pub fn check<'c>(
        &self,
        order: &OrderId,
        checkpoints: &'c HashMap<u64, Checkpoint>,
        anchors: &Anchors,
    ) -> std::result::Result<CheckedStamp<'c>, String> {
        let checkpoint = checkpoints
            .get(&self.checkpoint)
            .ok_or_else(|| format!("entry {} is not an earlier checkpoint", self.checkpoint))?;
        let message = checkpoint.signed_message(order);
        let reply = self
            .reply_der()
            .ok_or_else(|| "the reply is not base64".to_owned())?;
        let expected = Expected {
            message: &message,
            nonce: None,
        };
        let stamp =
            evault_timestamp::check_reply(&reply, &expected, anchors).map_err(|e| e.to_string())?;
        let time = stamp_time(&stamp);
        if self.time != time || self.tsa != stamp.tsa {
            return Err(format!(
                "the entry says {} by {} but its token says {time} by {}: the entry was edited",
                self.time, self.tsa, stamp.tsa
            ));
        }
        Ok(CheckedStamp {
            checkpoint,
            message,
            reply,
            stamp,
        })
    }
}

/// A stamp entry whose token verified ([`StampRecord::check`]).
#[derive(Clone, Debug)]
pub struct CheckedStamp<'c> {
    /// The checkpoint it is over.
    pub checkpoint: &'c Checkpoint,
    /// The checkpoint's signed bytes: what the token's imprint covers.
    pub message: Vec<u8>,
    /// The DER TimeStampResp.
    pub reply: Vec<u8>,
    /// What the token says, and the trust in its TSA.
    pub stamp: Stamp,
}

impl CheckedStamp<'_> {
    /// The report line for stamp entry `seq` (over checkpoint entry
    /// `checkpoint`) of `order`.
    pub fn summary(&self, order: &str, seq: u64, checkpoint: u64) -> StampedCheckpoint {
        StampedCheckpoint {
            order: order.to_owned(),
            seq,
            checkpoint,
            size: self.checkpoint.size,
            time: stamp_time(&self.stamp),
            tsa: self.stamp.tsa.clone(),
            verdict: self.stamp.verdict(),
            trust: self.stamp.trust.describe(),
        }
    }
}

/// A token's time as entries and reports write it (RFC 3339, UTC).
pub fn stamp_time(stamp: &Stamp) -> String {
    stamp
        .time
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A request written by [`Vault::stamp_request`], awaiting its reply.
#[derive(Clone, Debug)]
pub struct PendingStamp {
    /// The checkpoint entry it is over.
    pub checkpoint: u64,
    /// The DER TimeStampReq (what to send to the TSA).
    pub request: Vec<u8>,
    /// Where the vault keeps it until the reply is attached.
    pub path: PathBuf,
}

impl OrderLog {
    /// The checkpoint at entry `seq` and the bytes a time-stamp over it covers.
    pub fn checkpoint_message(&self, order: &OrderId, seq: u64) -> Option<(&Checkpoint, Vec<u8>)> {
        match &self.get(seq)?.entry.body {
            Body::Checkpoint(c) => Some((c, c.signed_message(order))),
            _ => None,
        }
    }

    /// The last checkpoint if only stamp entries follow it.
    fn covering_checkpoint(&self) -> Option<u64> {
        for r in self.entries.iter().rev() {
            match r.entry.body {
                Body::Stamp(_) => continue,
                Body::Checkpoint(_) => return Some(r.entry.seq),
                _ => return None,
            }
        }
        None
    }
}

impl Vault {
    fn pending_dir(&self, order: &OrderId) -> PathBuf {
        self.order_dir(order).dir.join(PENDING_DIR)
    }

    /// Writes a time-stamp request over the order's latest checkpoint,
    /// recording a new checkpoint first (signed with `key`, if given) when
    /// entries other than stamps came after the last one. The request is
    /// kept in the vault until [`Vault::stamp_attach`] takes its reply.
    pub fn stamp_request(
        &self,
        order: &OrderId,
        actor: &Actor,
        key: Option<&StationKey>,
    ) -> Result<PendingStamp> {
        let mut log = self.log(order)?;
        if log.entries.is_empty() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        let seq = match log.covering_checkpoint() {
            Some(seq) => seq,
            None => {
                let seq = self.checkpoint(order, actor, key)?.entry.seq;
                log = self.log(order)?;
                seq
            }
        };
        let (_, message) = log
            .checkpoint_message(order, seq)
            .ok_or_else(|| Error::UnknownOrder(order.to_string()))?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| Error::Io {
            action: "drawing a nonce",
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let request = Request::new(&message, nonce).to_der();
        let dir = self.pending_dir(order);
        fs::create_dir_all(&dir).ctx("creating", &dir)?;
        let path = dir.join(format!("{seq}-{}.tsq", crate::id::hex(&nonce)));
        // Written whole or not at all: a temporary file, fsynced, renamed.
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).ctx("creating a file in", &dir)?;
        tmp.write_all(&request).ctx("writing", tmp.path())?;
        tmp.as_file().sync_all().ctx("syncing", tmp.path())?;
        tmp.persist_noclobber(&path)
            .map_err(|e| e.error)
            .ctx("creating", &path)?;
        sync_dir(&dir)?;
        Ok(PendingStamp {
            checkpoint: seq,
            request,
            path,
        })
    }

    /// The order's requests awaiting a reply, oldest checkpoint first.
    pub fn pending_stamps(&self, order: &OrderId) -> Result<Vec<PendingStamp>> {
        let dir = self.pending_dir(order);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.ctx("listing", &dir)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(seq) = name
                .strip_suffix(".tsq")
                .and_then(|n| n.split_once('-'))
                .and_then(|(seq, _)| seq.parse().ok())
            else {
                continue;
            };
            let request = match fs::read(&path) {
                Ok(r) => r,
                // Used up by an attach running at the same time.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).ctx("reading", &path),
            };
            out.push(PendingStamp {
                checkpoint: seq,
                request,
                path,
            });
        }
        out.sort_by(|a, b| (a.checkpoint, &a.path).cmp(&(b.checkpoint, &b.path)));
        Ok(out)
    }

    /// Checks a TSA reply against the order's pending requests (imprint,
    /// nonce, status, signature, ESSCertID(v2), EKU, chain to `anchors`) and
    /// records it as a `stamp` entry; the request is then removed. A reply
    /// that answers no pending request, or fails a check, records nothing.
    /// A reply the order already holds in a live `stamp` entry (attached
    /// before, or by another process at the same time) is not recorded
    /// again: the earlier entry is returned, checked again, with `new` false.
    pub fn stamp_attach(
        &self,
        order: &OrderId,
        reply: &[u8],
        anchors: &Anchors,
        actor: &Actor,
    ) -> Result<Attached> {
        let log = self.log(order)?;
        let pending = self.pending_stamps(order)?;
        let mut refusal = None;
        let mut unreadable = Vec::new();
        for p in &pending {
            // An unreadable request (not written by evault) answers nothing;
            // it is named if no other request matches.
            let Ok(request) = Request::from_der(&p.request) else {
                unreadable.push(p.path.display().to_string());
                continue;
            };
            let Some((_, message)) = log.checkpoint_message(order, p.checkpoint) else {
                continue;
            };
            let expected = Expected {
                message: &message,
                nonce: request.nonce.as_deref(),
            };
            match evault_timestamp::check_reply(reply, &expected, anchors) {
                Ok(stamp) => {
                    let record = StampRecord {
                        checkpoint: p.checkpoint,
                        time: stamp_time(&stamp),
                        tsa: stamp.tsa.clone(),
                        reply: BASE64.encode(reply),
                    };
                    // Recorded already (by an attach that stopped before it
                    // removed the request, or one running at the same time):
                    // the earlier entry is kept, the reply not recorded twice.
                    let (recorded, new) =
                        self.commit_body_once(order, Body::Stamp(record), actor)?;
                    remove_pending(&p.path)?;
                    return Ok(Attached {
                        recorded,
                        stamp,
                        new,
                    });
                }
                // A nonce or imprint mismatch means "not this request": try the next.
                Err(evault_timestamp::Error::Invalid {
                    check: "nonce" | "imprint",
                    ..
                }) => {}
                Err(e) => refusal = Some(e),
            }
        }
        // The request this reply answered may be used up: it was recorded.
        if let Some(earlier) = self.attached_before(order, reply, anchors)? {
            return Ok(earlier);
        }
        Err(match refusal {
            None if pending.is_empty() => stamp_error(
                order,
                "no time-stamp request is waiting for a reply; run `evault stamp request` first",
            ),
            Some(evault_timestamp::Error::Malformed(e)) => stamp_error(
                order,
                format!("the file is not a time-stamp reply (a DER TimeStampResp): {e}"),
            ),
            Some(e @ evault_timestamp::Error::Refused { .. }) => stamp_error(order, e.to_string()),
            Some(e) => stamp_error(
                order,
                format!("the reply fails a check, {e}; nothing was recorded"),
            ),
            None if !unreadable.is_empty() => stamp_error(
                order,
                format!(
                    "the reply answers none of the readable waiting requests, and these cannot be read (delete them if you did not put them there): {}",
                    unreadable.join(", ")
                ),
            ),
            None => stamp_error(
                order,
                "the reply answers none of the waiting requests (its nonce or hash differs): it is a reply to another request",
            ),
        })
    }
}

impl Vault {
    /// The live `stamp` entry of `order` that holds exactly `reply`, checked
    /// again over its checkpoint; `None` when there is none.
    fn attached_before(
        &self,
        order: &OrderId,
        reply: &[u8],
        anchors: &Anchors,
    ) -> Result<Option<Attached>> {
        let log = self.log(order)?;
        let encoded = BASE64.encode(reply);
        let retracted = log.retracted();
        let Some((recorded, checkpoint)) = log.entries.iter().find_map(|r| match &r.entry.body {
            Body::Stamp(s) if s.reply == encoded && !retracted.contains(&r.entry.seq) => {
                Some((r, s.checkpoint))
            }
            _ => None,
        }) else {
            return Ok(None);
        };
        let Some((_, message)) = log.checkpoint_message(order, checkpoint) else {
            return Ok(None);
        };
        let expected = Expected {
            message: &message,
            nonce: None,
        };
        let stamp = evault_timestamp::check_reply(reply, &expected, anchors).map_err(|e| {
            stamp_error(
                order,
                format!("the reply is already entry #{} and now fails a check, {e}; run `evault verify`", recorded.entry.seq),
            )
        })?;
        Ok(Some(Attached {
            recorded: recorded.clone(),
            stamp,
            new: false,
        }))
    }
}

/// What [`Vault::stamp_attach`] did.
#[derive(Debug)]
pub struct Attached {
    /// The `stamp` entry holding the reply.
    pub recorded: Recorded,
    /// What the token says, checked.
    pub stamp: Stamp,
    /// `false` when the order already held this reply: nothing was recorded now.
    pub new: bool,
}

fn remove_pending(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        // Another attach of the same reply removed it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.ctx("removing", path)?,
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn stamp_error(order: &OrderId, why: impl Into<String>) -> Error {
    Error::Stamp {
        order: order.to_string(),
        why: why.into(),
    }
}
