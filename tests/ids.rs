//! Order ids exactly as platforms show them, and hostile ones, through the binary.

use std::collections::BTreeSet;
use std::fs;

use evault_core::{OrderId, Vault};

use crate::util::{evault, run};

const GOOD: [&str; 14] = [
    "112-7739151-0042185",
    "AE#8812-331",
    "SO-2026-10481",
    "注文-0042",
    "PO 5512/B",
    "so-1",
    "SO-1",
    "../x",
    "/etc/x",
    "a/../../b",
    "CON",
    "aux.txt",
    "trailing.",
    "..",
];

#[test]
fn every_printable_id_is_its_own_order_inside_the_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    for id in GOOD {
        let (code, out, err) = run(evault(&vault).args(["note", id, &format!("note for {id}")]));
        assert_eq!(code, 0, "{id}: {out}{err}");
    }
    // Nothing was created outside the vault's orders folder, one folder per id.
    let outside: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec!["vault"]);
    let dirs: BTreeSet<String> = fs::read_dir(vault.join("orders"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(dirs.len(), GOOD.len());
    // Distinct even when compared case-insensitively, and portable names.
    let folded: BTreeSet<String> = dirs.iter().map(|d| d.to_lowercase()).collect();
    assert_eq!(folded.len(), GOOD.len());
    for d in &dirs {
        assert!(
            d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
            "{d}"
        );
        assert!(!d.starts_with('.') && !d.ends_with('.'), "{d}");
    }
    // The exact id comes back, from the CLI and the library.
    let (code, out, _) = run(evault(&vault).args(["orders", "--json"]));
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order"].as_str().unwrap())
        .collect();
    assert_eq!(ids, GOOD.into_iter().collect());
    let v = Vault::open(&vault).unwrap();
    for id in GOOD {
        let log = v.log(&id.parse::<OrderId>().unwrap()).unwrap();
        assert_eq!(log.entries.len(), 1);
        assert_eq!(log.entries[0].entry.order.as_str(), id);
    }
}

#[test]
fn hostile_ids_are_refused_with_exit_2_and_nothing_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    let long = "x".repeat(201);
    let bad: [(&str, &str); 8] = [
        ("", "empty"),
        ("a\nb", "control"),
        ("a\tb", "control"),
        (" SO-1", "whitespace"),
        ("SO-1 ", "whitespace"),
        (&long, "200 bytes"),
        ("SO\u{202E}1", "invisible"),
        ("SO\u{200B}1", "invisible"),
    ];
    for (id, why) in bad {
        let (code, _, err) = run(evault(&vault).args(["note", id, "text"]));
        assert_eq!(code, 2, "{id:?} was accepted");
        assert!(
            err.contains("invalid order id") && err.contains(why),
            "{id:?}: {err}"
        );
    }
    assert_eq!(fs::read_dir(vault.join("orders")).unwrap().count(), 0);
    // NUL cannot pass through argv; the library refuses it.
    assert!("a\0b".parse::<OrderId>().is_err());
    assert!(long[..200].parse::<OrderId>().is_ok());
}
