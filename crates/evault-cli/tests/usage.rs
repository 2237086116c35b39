//! The binary's usage surface. (Having an integration test here also makes
//! `cargo test --workspace` build the `evault` binary that the workspace's
//! `tests/` drive.)

use std::process::Command;

const COMMANDS: [&str; 17] = [
    "init",
    "add",
    "import",
    "orders",
    "log",
    "get",
    "verify",
    "repair",
    "copy",
    "note",
    "retract",
    "dispute",
    "export",
    "profiles",
    "verify-bundle",
    "completions",
    "man",
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

/// Runs `evault ARGS` with a vault in the environment that does not exist:
/// (exit code, stdout, stderr).
fn evault(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evault"))
        .args(args)
        .env("EVAULT_VAULT", "/nonexistent/evault-vault")
        .output()
        .expect("the evault binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The global options sit once under their own heading, after the command's own.
fn assert_global_heading(args: &[&str]) {
    let (code, text, err) = evault(args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    assert_eq!(
        text.lines().filter(|l| *l == "Global options:").count(),
        1,
        "{args:?}:\n{text}"
    );
    let (own, global) = text
        .split_once("\nGlobal options:\n")
        .expect("a Global options heading");
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
    let (_, text, _) = evault(&["verify-bundle", "--help"]);
    let own = text.split_once("\nGlobal options:\n").unwrap().0;
    assert!(
        own.contains("\nOptions:\n") && own.contains("--previous <OLD.zip>"),
        "{text}"
    );
    assert_eq!(text.matches("--vault").count(), 1, "{text}");
}

#[test]
fn completions_print_a_script_for_each_shell_without_a_vault() {
    for (shell, marker) in [
        ("bash", "complete -F _evault"),
        ("zsh", "#compdef evault"),
        ("fish", "complete -c evault"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = evault(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        assert!(err.is_empty(), "{shell}: {err}");
        assert!(out.contains(marker), "{shell} script lacks {marker:?}");
        assert!(
            out.contains("verify-bundle") && out.contains("tsa-ca"),
            "{shell} script lacks a subcommand or a global option"
        );
    }
    let (code, out, err) = evault(&["completions", "nosuchshell"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.is_empty());
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(err.contains(shell), "the error should name {shell}: {err}");
    }
    let (code, _, _) = evault(&["completions"]);
    assert_eq!(code, Some(2));
}

#[test]
fn man_prints_a_roff_page_without_a_vault() {
    let (code, page, err) = evault(&["man"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    // roff's preamble (string definitions), then the title.
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"));
    assert!(
        first.is_some_and(|l| l.starts_with(".TH evault 1 ")),
        "{page}"
    );
    assert!(page.lines().all(|l| !l.is_empty()), "blank lines in roff");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH \"GLOBAL OPTIONS\"",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "no {section}:\n{page}");
    }
    // roff escapes the hyphens.
    assert!(page.contains("evault\\-verify\\-bundle(1)"), "{page}");
    assert!(page.contains("\\fBEVAULT_VAULT\\fR"), "{page}");

    // One command's page, for the references above.
    let (code, page, err) = evault(&["man", "stamp", "attach"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(page.contains(".TH evault-stamp-attach 1 "), "{page}");
    assert!(page.contains("\\fBevault stamp attach\\fR"), "{page}");
    let (code, out, err) = evault(&["man", "verify-bundel"]);
    assert_eq!(code, Some(2));
    assert!(out.is_empty());
    assert!(err.contains("verify-bundle"), "{err}");
}
