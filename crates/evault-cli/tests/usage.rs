//! The binary's usage surface. (Having an integration test here also makes
//! `cargo test --workspace` build the `evault` binary that the workspace's
//! `tests/` drive.)

use std::process::Command;

const COMMANDS: [&str; 14] = [
    "init",
    "add",
    "import",
    "orders",
    "log",
    "get",
    "verify",
    "repair",
    "note",
    "retract",
    "dispute",
    "export",
    "profiles",
    "verify-bundle",
];

#[test]
fn help_lists_every_command_and_usage_errors_exit_2() {
    let bin = env!("CARGO_BIN_EXE_evault");
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for c in COMMANDS {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(c)),
            "--help lacks {c}:\n{text}"
        );
    }
    let bad = Command::new(bin).arg("--no-such-flag").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let version = Command::new(bin).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("evault "));
}

const GLOBAL_OPTIONS: [&str; 5] = ["--vault", "--by", "--station", "--key", "--tsa-ca"];

/// The global options sit once under their own heading, after the command's own.
fn assert_global_heading(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_evault"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let headings: Vec<&str> = text.lines().filter(|l| l.ends_with("options:")).collect();
    assert_eq!(
        headings.iter().filter(|h| **h == "Global options:").count(),
        1,
        "{args:?}:\n{text}"
    );
    let (own, global) = text.split_once("\nGlobal options:\n").unwrap();
    for opt in GLOBAL_OPTIONS {
        let listed = |s: &str| {
            s.lines()
                .filter(|l| l.trim_start().starts_with(&format!("{opt} ")))
                .count()
        };
        assert_eq!(listed(global), 1, "{args:?} {opt}:\n{text}");
        assert_eq!(listed(own), 0, "{args:?} {opt} among own options:\n{text}");
    }
}

#[test]
fn global_options_are_listed_once_under_their_own_heading() {
    assert_global_heading(&["verify-bundle", "--help"]);
    assert_global_heading(&["--help"]);
    assert_global_heading(&["-h"]);
    assert_global_heading(&["stamp", "attach", "--help"]);
    assert_global_heading(&["help", "export"]);
    // The command's own options stay under "Options".
    let out = Command::new(env!("CARGO_BIN_EXE_evault"))
        .args(["verify-bundle", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let own = text.split_once("\nGlobal options:\n").unwrap().0;
    assert!(
        own.contains("\nOptions:\n") && own.contains("--previous <OLD.zip>"),
        "{text}"
    );
    assert_eq!(text.matches("--vault").count(), 1, "{text}");
}
