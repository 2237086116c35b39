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
}
