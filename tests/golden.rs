//! The golden fixture: a small committed vault (`tests/fixtures/golden-vault`)
//! whose bytes and hashes freeze the `evault/1` format. If this test fails,
//! the format changed: that needs a new format version, not a re-bless.
//! (To re-create the fixture after a deliberate version change:
//! `EVAULT_BLESS=1 cargo test --test integration golden`.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use evault_core::{Vault, VerifyOptions, merkle};

use crate::util::{copy_dir, evault, manifest, sample_vault};

/// The last entry hash of each order: the whole chain hangs from these.
const HEADS: [(&str, &str, &str); 2] = [
    (
        "112-7739151-0042185",
        "sha256:200f7481d7c27299256e7298c3c1f3933bfc513a87967a5d61d7a35fd2322603",
        "4b53eabbfa17fea2eae02399cf46cb01b4790bfae909fe4241e68d23f7ec40bc",
    ),
    (
        "注文-0042",
        "sha256:77f7d74374d3b6187d986a427eaddf6ff9683fcd0e593191efaea4dafb92499c",
        "d8f3c7ade4cdc34ecb434fe844b8b3b1656b8d2e8a09fb0a3e02ba479301cbb6",
    ),
];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden-vault")
}

/// Every file under `root` except lock files and temp files, with its bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read(e.path()).unwrap())
        })
        .filter(|(rel, _)| !rel.ends_with("/lock") && !rel.starts_with("tmp/"))
        .collect()
}

#[test]
fn rebuilding_the_sample_gives_the_committed_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let rebuilt = sample_vault(tmp.path());
    if std::env::var_os("EVAULT_BLESS").is_some() {
        let _ = fs::remove_dir_all(fixture());
        copy_dir(rebuilt.root(), &fixture());
        let _ = fs::remove_dir_all(fixture().join("tmp"));
        for e in walkdir::WalkDir::new(fixture()) {
            let e = e.unwrap();
            if e.file_name() == "lock" {
                fs::remove_file(e.path()).unwrap();
            }
        }
    }
    let mut want = files(&fixture());
    let mut got = files(rebuilt.root());
    // evault.json holds the vault's random id and creation time.
    assert!(want.remove("evault.json").is_some());
    got.remove("evault.json");
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the set of files in a vault changed"
    );
    for (path, bytes) in &want {
        assert!(
            got[path] == *bytes,
            "{path} differs from the golden fixture:\n{}",
            String::from_utf8_lossy(&got[path])
        );
    }
}

#[test]
fn golden_heads_and_merkle_roots_are_frozen() {
    for (order, head, tree_root) in HEADS {
        let bytes = fs::read(manifest(&fixture(), order)).unwrap();
        let lines: Vec<&[u8]> = bytes
            .strip_suffix(b"\n")
            .unwrap()
            .split(|b| *b == b'\n')
            .collect();
        let last = merkle::leaf_hash(lines.last().unwrap());
        let root = merkle::root(
            &lines
                .iter()
                .map(|l| merkle::leaf_hash(l))
                .collect::<Vec<_>>(),
        );
        let root: String = root.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            last.to_string(),
            head,
            "{order}: the last entry hash changed"
        );
        assert_eq!(root, tree_root, "{order}: the Merkle root changed");
    }
}

#[test]
fn golden_vault_verifies_clean_with_library_and_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("golden");
    copy_dir(&fixture(), &copy);
    fs::create_dir_all(copy.join("tmp")).unwrap();
    let report = Vault::open(&copy)
        .unwrap()
        .verify(&VerifyOptions::default())
        .unwrap();
    assert_eq!(
        report.findings,
        vec![],
        "a clean vault must have no findings at all"
    );
    assert_eq!((report.orders, report.entries, report.blobs), (2, 8, 6));
    let out = evault(&copy).arg("verify").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 problems, 0 notices"));
}
