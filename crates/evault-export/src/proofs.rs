//! `evault/checkpoint.json`: the checkpoint a bundle was exported at, an
//! RFC 9162 inclusion proof for every exported entry, and a consistency
//! proof from the previous export's checkpoint.

use evault_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
};
use evault_core::{Body, Checkpoint, EntryHash, OrderLog};
use serde::{Deserialize, Serialize};

use crate::bag::hex;

/// The content of `evault/checkpoint.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointFile {
    /// The vault that recorded the checkpoint.
    pub(crate) vault: String,
    /// The order.
    pub(crate) order: String,
    /// The checkpoint entry's `seq`.
    pub(crate) seq: u64,
    /// Entries covered (1 to `size`).
    pub(crate) size: u64,
    /// Their RFC 9162 root (`sha256:` hex).
    pub(crate) root: String,
    /// One proof per exported evidence entry covered by the checkpoint.
    pub(crate) inclusion: Vec<Inclusion>,
    /// The checkpoint of the order's previous export, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<Previous>,
}

/// An inclusion proof: entry `seq`'s line hashes to `leaf`, and `path` leads from it to the root.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Inclusion {
    pub(crate) seq: u64,
    pub(crate) leaf: String,
    pub(crate) path: Vec<String>,
}

/// The previous export's checkpoint, and the proof that its tree is a prefix of this one.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Previous {
    /// The `export` entry that recorded the previous bundle.
    pub(crate) export_seq: u64,
    /// That bundle's SHA-256.
    pub(crate) bundle_sha256: String,
    /// Its checkpoint entry's `seq`.
    pub(crate) checkpoint_seq: u64,
    pub(crate) size: u64,
    pub(crate) root: String,
    pub(crate) consistency: Vec<String>,
}

/// A SHA-256 digest written as hex, with or without `sha256:`.
fn unhex32(s: &str) -> Option<[u8; 32]> {
    let bare = s.strip_prefix("sha256:").unwrap_or(s);
    let hash: EntryHash = format!("sha256:{bare}").parse().ok()?;
    Some(*hash.as_bytes())
}

/// Builds the file for a bundle covering `log` (whose entry `cp_seq` is the checkpoint `cp`).
pub(crate) fn build(
    log: &OrderLog,
    cp_seq: u64,
    cp: &Checkpoint,
    exported: &[u64],
) -> CheckpointFile {
    let leaves: Vec<EntryHash> = log.entries.iter().map(|r| r.hash).collect();
    let size = usize::try_from(cp.size)
        .unwrap_or(usize::MAX)
        .min(leaves.len());
    let covered = &leaves[..size];
    let inclusion = exported
        .iter()
        .filter_map(|seq| {
            let index = usize::try_from(seq.checked_sub(1)?).ok()?;
            let path = inclusion_proof(covered, index)?;
            Some(Inclusion {
                seq: *seq,
                leaf: covered[index].to_string(),
                path: path.iter().map(|h| hex(h)).collect(),
            })
        })
        .collect();
    // The latest earlier export whose bundle was cut at a checkpoint.
    let previous = log.entries.iter().rev().find_map(|r| {
        let Body::Export(x) = &r.entry.body else {
            return None;
        };
        let at = log.get(x.through_seq)?;
        let Body::Checkpoint(old) = &at.entry.body else {
            return None;
        };
        let old_size = usize::try_from(old.size).ok()?;
        let proof = consistency_proof(covered, old_size)?;
        Some(Previous {
            export_seq: r.entry.seq,
            bundle_sha256: x.bundle_sha256.clone(),
            checkpoint_seq: x.through_seq,
            size: old.size,
            root: old.root.to_string(),
            consistency: proof.iter().map(|h| hex(h)).collect(),
        })
    });
    CheckpointFile {
        vault: cp.vault.clone(),
        order: log
            .entries
            .first()
            .map(|r| r.entry.order.to_string())
            .unwrap_or_default(),
        seq: cp_seq,
        size: cp.size,
        root: cp.root.to_string(),
        inclusion,
        previous,
    }
}

/// The RFC 9162 root of the first `size` lines (`None` when there are fewer).
pub(crate) fn prefix_root(lines: &[&[u8]], size: u64) -> Option<[u8; 32]> {
    let n = usize::try_from(size).ok()?;
    let leaves: Vec<EntryHash> = lines.get(..n)?.iter().map(|l| leaf_hash(l)).collect();
    Some(root(&leaves))
}

/// Checks the file against the bundled log's lines; returns what is wrong.
pub(crate) fn check(file: &CheckpointFile, lines: &[&[u8]]) -> Vec<String> {
    let mut wrong = Vec::new();
    let Some(root_now) = prefix_root(lines, file.size) else {
        return vec![format!(
            "it covers {} entries but the bundled log has {}",
            file.size,
            lines.len()
        )];
    };
    let Some(root) = unhex32(&file.root) else {
        return vec!["its root is not a SHA-256 hash".into()];
    };
    if root_now != root {
        wrong.push(format!(
            "entries 1 to {} of the bundled log hash to sha256:{}, not to its root {}: the log was rewritten",
            file.size,
            hex(&root_now),
            file.root
        ));
    }
    let entry = usize::try_from(file.seq)
        .ok()
        .and_then(|s| lines.get(s.checked_sub(1)?))
        .and_then(|l| serde_json::from_slice::<evault_core::Entry>(l).ok());
    match entry.map(|e| e.body) {
        Some(Body::Checkpoint(c))
            if c.size == file.size && c.root.to_string() == file.root && c.vault == file.vault => {}
        _ => wrong.push(format!(
            "entry {} of the bundled log is not this checkpoint",
            file.seq
        )),
    }
    for inc in &file.inclusion {
        let path: Option<Vec<[u8; 32]>> = inc.path.iter().map(|h| unhex32(h)).collect();
        let leaf = usize::try_from(inc.seq)
            .ok()
            .and_then(|s| lines.get(s.checked_sub(1)?))
            .map(|l| leaf_hash(l));
        let ok = match (path, leaf, unhex32(&inc.leaf)) {
            (Some(path), Some(leaf), Some(claimed)) => {
                *leaf.as_bytes() == claimed
                    && verify_inclusion(&claimed, inc.seq - 1, file.size, &path, &root)
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "the inclusion proof of entry {} does not lead to the root",
                inc.seq
            ));
        }
    }
    if let Some(p) = &file.previous {
        let proof: Option<Vec<[u8; 32]>> = p.consistency.iter().map(|h| unhex32(h)).collect();
        let ok = match (proof, unhex32(&p.root)) {
            (Some(proof), Some(old)) => {
                verify_consistency(p.size, file.size, &old, &root, &proof)
                    && prefix_root(lines, p.size) == Some(old)
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "the previous export's checkpoint (entries 1 to {}) is not a prefix of this one",
                p.size
            ));
        }
    }
    wrong
}
