//! Bundles carry the checkpoint they were cut at, inclusion proofs and a
//! consistency proof from the previous export; `verify-bundle --previous`
//! confirms two bundles tell one history, and catches a rewritten one.

use std::path::Path;

use crate::export::{ORDER, disputed, export, members, rewrite};
use crate::util::{evault, forge_line, manifest, run};

fn checkpoint_json(zip: &Path) -> serde_json::Value {
    let (_, bytes) = members(zip)
        .into_iter()
        .find(|(n, _)| n.ends_with("/evault/checkpoint.json"))
        .expect("the bundle has evault/checkpoint.json");
    serde_json::from_slice(&bytes).unwrap()
}

fn verify(vault: &Path, zip: &Path, previous: Option<&Path>) -> (i32, Vec<String>) {
    let mut cmd = evault(vault);
    cmd.args(["verify-bundle", "--json"]).arg(zip);
    if let Some(p) = previous {
        cmd.arg("--previous").arg(p);
    }
    let (code, out, err) = run(&mut cmd);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    let codes = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    (code, codes)
}

#[test]
fn later_bundles_prove_they_extend_earlier_ones_and_rewrites_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 0, "paypal");
    let (a, b, c) = (
        tmp.path().join("a.zip"),
        tmp.path().join("b.zip"),
        tmp.path().join("c.zip"),
    );
    assert_eq!(export(&vault, &a, &[]).0, 0);
    let cp_a = checkpoint_json(&a);
    assert!(cp_a.get("previous").is_none());
    assert!(!cp_a["inclusion"].as_array().unwrap().is_empty());
    assert_eq!(verify(&vault, &a, None), (0, vec![]));
    let (_, log, _) = run(evault(&vault).args(["log", ORDER]));
    assert!(log.contains("checkpoint: entries 1 to"), "{log}");

    // The order grows; the second bundle proves the first is a prefix of it.
    assert_eq!(
        run(evault(&vault).args(["note", ORDER, "buyer replied"])).0,
        0
    );
    assert_eq!(export(&vault, &b, &[]).0, 0);
    let cp_b = checkpoint_json(&b);
    assert_eq!(cp_b["previous"]["size"], cp_a["size"]);
    assert_eq!(cp_b["previous"]["root"], cp_a["root"]);
    assert_eq!(verify(&vault, &b, None), (0, vec![]));
    assert_eq!(verify(&vault, &b, Some(&a)), (0, vec![]));

    // A tampered earlier bundle is refused as a reference.
    let bad_a = tmp.path().join("a-bad.zip");
    rewrite(
        &a,
        &bad_a,
        |n, b| {
            if n.ends_with("evault/checkpoint.json") {
                *b = String::from_utf8(b.clone())
                    .unwrap()
                    .replacen("\"size\": ", "\"size\": 1", 1)
                    .into_bytes();
            }
        },
        |_, _| {},
    );
    let (code, codes) = verify(&vault, &b, Some(&bad_a));
    assert_eq!(code, 1);
    assert!(codes.iter().any(|c| c == "previous-invalid"), "{codes:?}");

    // The history is rewritten and re-chained: verify names the checkpoint
    // that catches it, and a bundle made from it disagrees with the earlier one.
    // Line 1 edited and every later line and HEAD re-chained, as a forger would.
    forge_line(
        &manifest(&vault, ORDER),
        "\"seq\":1,",
        "\"recorded_by\":\"",
        "\"recorded_by\":\"forger-",
    );
    let (code, out, _) = run(evault(&vault).args(["verify", "--json"]));
    assert_eq!(code, 1);
    assert!(out.contains("checkpoint-mismatch"), "{out}");
    // Export refuses to cut a bundle at a checkpoint the log no longer matches...
    let (code, _, err) = export(&vault, &c, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("does not match its checkpoint entry"), "{err}");
    // ...also after one more entry: it never cuts or signs over a rewritten history.
    assert_eq!(run(evault(&vault).args(["note", ORDER, "cover-up"])).0, 0);
    assert_eq!(export(&vault, &c, &[]).0, 2);
    // A history re-created from scratch (another vault, the same order id)
    // verifies on its own, but not as the continuation of the earlier bundle.
    let other = tempfile::tempdir().unwrap();
    let forged = disputed(other.path(), 0, "paypal");
    assert_eq!(export(&forged, &c, &[]).0, 0);
    assert_eq!(verify(&forged, &c, None), (0, vec![]));
    let (code, codes) = verify(&vault, &c, Some(&b));
    assert_eq!(code, 1);
    assert!(codes.iter().any(|c| c == "history-differs"), "{codes:?}");
}
