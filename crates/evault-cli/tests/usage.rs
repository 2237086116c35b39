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
