//! RFC 9162 (Certificate Transparency v2) Merkle tree hashing over an order's entries.
//!
//! Leaf hash: SHA-256(0x00 ‖ entry line bytes). Node hash: SHA-256(0x01 ‖ left ‖ right).
//! The root of an empty tree is SHA-256 of the empty string. The leaf hash of a
//! line is also its [`EntryHash`], the value the next line carries as `prev`.

use sha2::{Digest, Sha256};

use crate::id::EntryHash;

/// The RFC 9162 leaf hash of one entry line (without its newline).
pub fn leaf_hash(line: &[u8]) -> EntryHash {
    let digest = Sha256::new()
        .chain_update([0u8])
        .chain_update(line)
        .finalize();
    EntryHash::from_bytes(digest.into())
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The RFC 9162 Merkle tree hash (root) over leaf hashes, in order.
pub fn root(leaves: &[EntryHash]) -> [u8; 32] {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one.as_bytes(),
        _ => {
            // Split at the largest power of two strictly less than n.
            let k = leaves.len().next_power_of_two() / 2;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly less than `n` (`n` ≥ 2).
fn split(n: usize) -> usize {
    n.next_power_of_two() / 2
}

/// The RFC 9162 inclusion proof (audit path, section 2.1.3.1) of leaf
/// `index` in the tree over `leaves`; `None` when `index` is out of range.
pub fn inclusion_proof(leaves: &[EntryHash], index: usize) -> Option<Vec<[u8; 32]>> {
    fn path(m: usize, d: &[EntryHash], out: &mut Vec<[u8; 32]>) {
        if d.len() <= 1 {
            return;
        }
        let k = split(d.len());
        if m < k {
            path(m, &d[..k], out);
            out.push(root(&d[k..]));
        } else {
            path(m - k, &d[k..], out);
            out.push(root(&d[..k]));
        }
    }
    (index < leaves.len()).then(|| {
        let mut out = Vec::new();
        path(index, leaves, &mut out);
        out
    })
}

/// Checks an inclusion proof (RFC 9162 section 2.1.3.2): leaf hash `leaf`
/// is entry `index` (from 0) of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &[u8; 32],
    index: u64,
    size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// The RFC 9162 consistency proof (section 2.1.4.1) that the tree of the
/// first `old_size` leaves is a prefix of the tree over `leaves`; `None`
/// unless 0 < `old_size` ≤ `leaves.len()`.
pub fn consistency_proof(leaves: &[EntryHash], old_size: usize) -> Option<Vec<[u8; 32]>> {
    fn sub(m: usize, d: &[EntryHash], whole: bool, out: &mut Vec<[u8; 32]>) {
        if m == d.len() {
            if !whole {
                out.push(root(d));
            }
            return;
        }
        let k = split(d.len());
        if m <= k {
            sub(m, &d[..k], whole, out);
            out.push(root(&d[k..]));
        } else {
            sub(m - k, &d[k..], false, out);
            out.push(root(&d[..k]));
        }
    }
    (old_size > 0 && old_size <= leaves.len()).then(|| {
        let mut out = Vec::new();
        sub(old_size, leaves, true, &mut out);
        out
    })
}

/// Checks a consistency proof (RFC 9162 section 2.1.4.2): the tree of
/// `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<[u8; 32]> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::hex;

    /// The test vectors of RFC 6962's reference implementation (certificate-transparency, merkle_tree_test).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn empty_tree_root() {
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn rfc6962_roots() {
        let leaves: Vec<EntryHash> = LEAVES.iter().map(|l| leaf_hash(&unhex(l))).collect();
        for (n, expected) in ROOTS.iter().enumerate() {
            assert_eq!(
                hex(&root(&leaves[..=n])),
                *expected,
                "tree of {} leaves",
                n + 1
            );
        }
    }

    fn unhex32(s: &str) -> [u8; 32] {
        unhex(s).try_into().unwrap()
    }

    fn rfc_leaves() -> Vec<EntryHash> {
        LEAVES.iter().map(|l| leaf_hash(&unhex(l))).collect()
    }

    /// Paths from the RFC 6962 reference tests (certificate-transparency, merkle_tree_test).
    #[test]
    fn rfc6962_proof_vectors() {
        let leaves = rfc_leaves();
        let path: Vec<String> = inclusion_proof(&leaves, 0)
            .unwrap()
            .iter()
            .map(|h| hex(h))
            .collect();
        assert_eq!(
            path,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        let cons: Vec<String> = consistency_proof(&leaves, 6)
            .unwrap()
            .iter()
            .map(|h| hex(h))
            .collect();
        assert_eq!(
            cons,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        let r8 = unhex32(ROOTS[7]);
        let r6 = unhex32(ROOTS[5]);
        let proof: Vec<[u8; 32]> = cons.iter().map(|h| unhex32(h)).collect();
        assert!(verify_consistency(6, 8, &r6, &r8, &proof));
        assert!(!verify_consistency(6, 8, &r8, &r6, &proof));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Every proof made for a random tree verifies, and fails once anything is changed.
        #[test]
        fn proofs_verify_and_tampering_is_caught(n in 1usize..70, seed in 0u64..u64::MAX) {
            let leaves: Vec<EntryHash> = (0..n)
                .map(|i| leaf_hash(format!("{seed}-{i}").as_bytes()))
                .collect();
            let full = root(&leaves);
            let size = n as u64;
            for i in 0..n {
                let proof = inclusion_proof(&leaves, i).unwrap();
                let leaf = *leaves[i].as_bytes();
                proptest::prop_assert!(verify_inclusion(&leaf, i as u64, size, &proof, &full));
                proptest::prop_assert!(!verify_inclusion(&leaf, size, size, &proof, &full));
                if n > 1 {
                    let other = *leaves[(i + 1) % n].as_bytes();
                    proptest::prop_assert!(!verify_inclusion(&other, i as u64, size, &proof, &full));
                    let mut bad = proof.clone();
                    bad[0][0] ^= 1;
                    proptest::prop_assert!(!verify_inclusion(&leaf, i as u64, size, &bad, &full));
                }
            }
            proptest::prop_assert!(inclusion_proof(&leaves, n).is_none());
            for m in 1..=n {
                let old = root(&leaves[..m]);
                let proof = consistency_proof(&leaves, m).unwrap();
                proptest::prop_assert!(verify_consistency(m as u64, size, &old, &full, &proof));
                if m < n {
                    // A rewritten old tree, or a proof for another size, fails.
                    let mut forged = leaves[..m].to_vec();
                    forged[m - 1] = leaf_hash(b"forged");
                    proptest::prop_assert!(!verify_consistency(m as u64, size, &root(&forged), &full, &proof));
                    if let Some(first) = proof.first() {
                        let mut bad = proof.clone();
                        bad[0] = [first[0] ^ 1; 32];
                        proptest::prop_assert!(!verify_consistency(m as u64, size, &old, &full, &bad));
                    }
                }
            }
            proptest::prop_assert!(consistency_proof(&leaves, 0).is_none());
        }
    }
}
