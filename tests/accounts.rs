//! `evault user`/`evault token`: the accounts log is append-only, hash-chained,
//! holds no secret in clear, refuses bad changes, and `verify` checks it.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use crate::serve_util::{add_user, setup};
use crate::util::{evault, run};

fn user_add(vault: &std::path::Path, args: &[&str], password: &str) -> (i32, String) {
    let mut child = evault(vault)
        .args(["user", "add"])
        .args(args)
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_account_changes_are_refused_with_what_to_do() {
    let s = setup();
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["kim", "--role", "station"],
            "short",
            "shorter than 10 characters",
        ),
        (
            &["mei", "--role", "station"],
            "long enough password",
            "exists already",
        ),
        (
            &["Kim Lee", "--role", "station"],
            "long enough password",
            "lowercase letters",
        ),
        (
            &["kim", "--role", "boss"],
            "long enough password",
            "possible values",
        ),
    ];
    for (args, password, says) in cases {
        let (code, err) = user_add(&s.vault, args, password);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, _, err) = run(evault(&s.vault).args(["user", "remove", "nobody"]));
    assert_eq!(code, 2);
    assert!(err.contains("no user \"nobody\""), "{err}");
    let (code, _, err) = run(evault(&s.vault).args(["user", "remove", "shop-sync"]));
    assert_eq!(code, 2);
    assert!(err.contains("evault token revoke"), "{err}");
    let (code, out, _) = run(evault(&s.vault).args(["user", "list", "--json"]));
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "lin", "mei", "ravi", "shop-sync"]);
    assert!(
        list[0].get("secret").is_none() && !out.contains("argon2"),
        "{out}"
    );
}

#[test]
fn no_password_or_token_is_stored_in_clear_and_every_change_is_a_new_line() {
    let s = setup();
    let log = s.vault.join("accounts.jsonl");
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(
        !text.contains("password-mei") && !text.contains(&s.token),
        "{text}"
    );
    assert!(text.contains("\"password\":\"$argon2id$"), "{text}");
    let before = fs::read(&log).unwrap();
    assert_eq!(run(evault(&s.vault).args(["user", "remove", "ravi"])).0, 0);
    add_user(&s.vault, "ravi", "service");
    let after = fs::read(&log).unwrap();
    assert!(after.starts_with(&before), "earlier lines changed");
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&after).lines().last().unwrap()).unwrap();
    assert_eq!(
        (
            last["type"].as_str(),
            last["seq"].as_u64(),
            last["role"].as_str()
        ),
        (Some("user-add"), Some(7), Some("service"))
    );
    assert_eq!(last["recorded_by"], "tester");
}

#[test]
fn verify_names_an_edited_accounts_log() {
    let s = setup();
    let (code, out, err) = run(evault(&s.vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
    let log = s.vault.join("accounts.jsonl");
    let text = fs::read_to_string(&log).unwrap();

    // A station promoted to admin by editing its line.
    let promoted = text.replacen(
        "\"name\":\"mei\",\"role\":\"station\"",
        "\"name\":\"mei\",\"role\":\"admin\"",
        1,
    );
    assert_ne!(promoted, text);
    fs::write(&log, &promoted).unwrap();
    let (code, out, _) = run(evault(&s.vault).arg("verify"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[broken-link]") && out.contains("accounts.jsonl"),
        "{out}"
    );
    // The server refuses to start on it, saying why.
    let (code, _, err) = run(evault(&s.vault).args(["serve", "--listen", "127.0.0.1:0"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("accounts.jsonl") && err.contains("line 2 does not follow"),
        "{err}"
    );

    // A removal deleted from the middle.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = run(evault(&s.vault).arg("verify"));
    assert_eq!(code, 1);
    assert!(
        out.contains("[wrong-seq]") && out.contains("[broken-link]"),
        "{out}"
    );

    // A half-written last line.
    fs::write(&log, format!("{text}{{\"v\":1,\"seq\":6")).unwrap();
    let (code, out, _) = run(evault(&s.vault).arg("verify"));
    assert_eq!(code, 1);
    assert!(out.contains("[torn-last-line]"), "{out}");
    let (code, err) = user_add(
        &s.vault,
        &["kim", "--role", "station"],
        "long enough password",
    );
    assert_eq!(code, 2);
    assert!(err.contains("not completely written"), "{err}");
}
