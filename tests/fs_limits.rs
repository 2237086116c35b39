//! A read-only vault and a full disk: a clear error, exit 2, the vault still verifies.

use std::fs;

use crate::util::{Tmpfs, evault, noise, run};

fn recorded_vault(tmpfs: &Tmpfs) -> std::path::PathBuf {
    let vault = tmpfs.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    let file = tmpfs.path().join("first.bin");
    fs::write(&file, noise(1, 10_000)).unwrap();
    assert_eq!(run(evault(&vault).args(["add", "SO-1"]).arg(&file)).0, 0);
    vault
}

#[test]
fn read_only_vault_refuses_to_record_and_still_verifies() {
    let Some(tmpfs) = Tmpfs::mount("8m") else {
        eprintln!(
            "SKIPPED: this machine does not allow mounting a tmpfs (CI runs as root and does)"
        );
        return;
    };
    let vault = recorded_vault(&tmpfs);
    let before = fs::read(vault.join("orders")).ok();
    tmpfs.read_only();
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("second.jpg");
    fs::write(&file, noise(2, 5000)).unwrap();

    let (code, _, err) = run(evault(&vault).args(["add", "SO-1"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("read-only file system") && err.contains("remount"),
        "{err}"
    );
    let (code, _, err) = run(evault(&vault).args(["note", "SO-1", "text"]));
    assert_eq!(code, 2, "{err}");

    let (code, out, err) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(evault(&vault).args(["log", "SO-1"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "{out}"
    );
    assert_eq!(fs::read(vault.join("orders")).ok(), before);
}

#[test]
fn full_disk_is_a_clear_error_and_loses_nothing() {
    let Some(tmpfs) = Tmpfs::mount("2m") else {
        eprintln!(
            "SKIPPED: this machine does not allow mounting a tmpfs (CI runs as root and does)"
        );
        return;
    };
    let vault = recorded_vault(&tmpfs);
    let outside = tempfile::tempdir().unwrap();
    let big = outside.path().join("video.mp4");
    fs::write(&big, noise(3, 3_000_000)).unwrap();

    let (code, _, err) = run(evault(&vault).args(["add", "SO-1"]).arg(&big));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("free space"), "{err}");
    let (code, out, err) = run(evault(&vault).arg("verify"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !out.contains("temporary-file"),
        "a failed add must not leave its temp file: {out}"
    );
    // Once there is room again, recording works.
    let small = outside.path().join("label.jpg");
    fs::write(&small, noise(4, 1000)).unwrap();
    assert_eq!(run(evault(&vault).args(["add", "SO-1"]).arg(&small)).0, 0);
    let (_, out, _) = run(evault(&vault).args(["log", "SO-1"]));
    assert_eq!(
        out.lines().filter(|l| l.starts_with('#')).count(),
        2,
        "{out}"
    );
}
