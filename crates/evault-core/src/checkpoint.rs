//! Checkpoints: the size and RFC 9162 Merkle root of an order's log at one
//! moment, recorded as an entry. A checkpoint held elsewhere (in a bundle,
//! later signed or time-stamped) is what shows that a history was not
//! rewritten or cut after it: the hash chain alone cannot.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::entry::{Body, Recorded};
use crate::error::{Error, Result};
use crate::id::{EntryHash, OrderId};
use crate::keys::{PublicKey, StationKey};
use crate::merkle::root;
use crate::read::OrderLog;
use crate::vault::Vault;

/// A checkpoint entry: entries 1 to `size` of the order's log hash to `root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The id of the vault that recorded it.
    pub vault: String,
    /// How many entries it covers (entries 1 to `size`, all before it).
    pub size: u64,
    /// The RFC 9162 Merkle root over those entries' leaf hashes.
    pub root: EntryHash,
    /// Signatures over [`Checkpoint::signed_message`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<CheckpointSignature>,
}

/// One signature over a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointSignature {
    /// The signing key's fingerprint ([`crate::PublicKey::fingerprint`]).
    pub key: String,
    /// The ed25519 signature, 64 bytes in hex.
    pub ed25519: String,
}

impl Checkpoint {
    /// The bytes a signature covers: the checkpoint's statement about `order`.
    pub fn signed_message(&self, order: &OrderId) -> Vec<u8> {
        format!(
            "evault-checkpoint/1\nvault {}\norder {}\nsize {}\nroot {}\n",
            self.vault, order, self.size, self.root
        )
        .into_bytes()
    }

    /// The root that the first `size` of `before` (the entry hashes before
    /// this checkpoint) have now; `None` when it claims more entries than that.
    pub fn root_now(&self, before: &[EntryHash]) -> Option<EntryHash> {
        let n = usize::try_from(self.size).ok()?;
        Some(EntryHash::from_bytes(root(before.get(..n)?)))
    }

    /// Whether the entries before it still hash to its root.
    pub fn matches(&self, before: &[EntryHash]) -> bool {
        self.root_now(before) == Some(self.root)
    }

    /// Each signature, checked against `keys` (matched by fingerprint).
    pub fn check_signatures<'k>(
        &self,
        order: &OrderId,
        keys: &'k [PublicKey],
    ) -> Vec<(&CheckpointSignature, SignatureCheck<'k>)> {
        let message = self.signed_message(order);
        self.signatures
            .iter()
            .map(|sig| {
                let check = match keys.iter().find(|k| k.fingerprint() == sig.key) {
                    None => SignatureCheck::UnknownKey,
                    Some(k) if k.verifies(&message, &sig.ed25519) => SignatureCheck::Verified(k),
                    Some(k) => SignatureCheck::Invalid(k),
                };
                (sig, check)
            })
            .collect()
    }
}

/// What checking one checkpoint signature found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureCheck<'k> {
    /// The key with this fingerprint signed these bytes.
    Verified(&'k PublicKey),
    /// The key with this fingerprint did not sign these bytes.
    Invalid(&'k PublicKey),
    /// No key with this fingerprint is known.
    UnknownKey,
}

impl OrderLog {
    /// The RFC 9162 root of the first `size` entries (`None` when the log is shorter).
    pub fn root_at(&self, size: u64) -> Option<EntryHash> {
        let n = usize::try_from(size).ok()?;
        let leaves: Vec<EntryHash> = self.entries.get(..n)?.iter().map(|r| r.hash).collect();
        Some(EntryHash::from_bytes(root(&leaves)))
    }
}

impl Vault {
    /// Records a checkpoint over every entry of the order's log so far.
    /// Entries appended meanwhile by other stations come after it and are
    /// not covered (its `size` says what is).
    /// With `key`, the checkpoint is signed; the key must be registered in the vault.
    pub fn checkpoint(
        &self,
        order: &OrderId,
        actor: &Actor,
        key: Option<&StationKey>,
    ) -> Result<Recorded> {
        let log = self.log(order)?;
        if log.entries.is_empty() {
            return Err(Error::UnknownOrder(order.to_string()));
        }
        let size = log.entries.len() as u64;
        let root = log
            .root_at(size)
            .ok_or_else(|| Error::UnknownOrder(order.to_string()))?;
        let mut checkpoint = Checkpoint {
            vault: self.id().to_owned(),
            size,
            root,
            signatures: Vec::new(),
        };
        if let Some(key) = key {
            let public = key.public();
            if !self.keys()?.iter().any(|k| k.key == public.key) {
                return Err(Error::Key {
                    name: key.name().to_owned(),
                    why: format!(
                        "its public key ({}) is not registered in this vault; register it with `evault key add` or make the key with `evault key new`",
                        public.fingerprint()
                    ),
                });
            }
            checkpoint.signatures.push(CheckpointSignature {
                key: public.fingerprint(),
                ed25519: key.sign(&checkpoint.signed_message(order)),
            });
        }
        self.commit_body(order, Body::Checkpoint(checkpoint), actor)
    }
}
