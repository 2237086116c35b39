//! The binary's commands, outputs and exit codes (0 ok, 1 problem found, 2 error).

use std::fs;
use std::path::Path;

use crate::util::{blob_path, evault, noise, run, writable};

fn init(dir: &Path) -> std::path::PathBuf {
    let vault = dir.join("vault");
    let (code, out, err) = run(evault(&vault).arg("init"));
    assert_eq!(code, 0, "{out}{err}");
    vault
}

#[test]
fn usage_and_missing_vault_are_exit_2_with_advice() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(evault(&tmp.path().join("none")).args(["orders"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("not an evault vault") && err.contains("evault init"),
        "{err}"
    );
    let (code, _, _) = run(evault(tmp.path()).args(["add"]));
    assert_eq!(code, 2);
    let (code, _, _) = run(evault(tmp.path()).args(["frobnicate"]));
    assert_eq!(code, 2);
    let vault = init(tmp.path());
    let (code, _, err) = run(evault(&vault).arg("init"));
    assert_eq!(code, 2, "init over a vault must refuse");
    assert!(err.contains("already a vault"), "{err}");
}

#[test]
fn add_get_round_trip_and_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let f = tmp.path().join("IMG_0001.jpg");
    let data = noise(7, 70_000);
    fs::write(&f, &data).unwrap();
    let (code, out, err) = run(evault(&vault)
        .args(["add", "SO-1", "--kind", "label-photo", "--note", "box 1"])
        .arg(&f));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("added SO-1 #1 IMG_0001.jpg (label-photo"),
        "{out}"
    );
    // Same bytes again in the same order: reported, not appended.
    let (code, out, _) = run(evault(&vault).args(["add", "SO-1"]).arg(&f));
    assert_eq!(code, 0);
    assert!(
        out.contains("already recorded") && out.contains("#1"),
        "{out}"
    );
    // Same bytes in another order: a new entry, the blob stored once.
    assert_eq!(run(evault(&vault).args(["add", "SO-2"]).arg(&f)).0, 0);
    let blobs = walkdir::WalkDir::new(vault.join("blobs"))
        .into_iter()
        .filter(|e| e.as_ref().unwrap().file_type().is_file())
        .count();
    assert_eq!(blobs, 1);

    let back = tmp.path().join("back.jpg");
    let (code, _, err) = run(evault(&vault).args(["get", "SO-1", "1", "-o"]).arg(&back));
    assert_eq!(code, 0, "{err}");
    assert_eq!(fs::read(&back).unwrap(), data);
    let (code, _, err) = run(evault(&vault).args(["get", "SO-1", "1", "-o"]).arg(&back));
    assert_eq!(code, 2, "get must not overwrite without --force");
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = run(evault(&vault)
        .args(["get", "SO-1", "9", "-o"])
        .arg(tmp.path().join("x")));
    assert_eq!(code, 2);
    assert!(err.contains("no entry 9"), "{err}");

    // log --json has every recorded field.
    let (code, out, _) = run(evault(&vault).args(["log", "SO-1", "--json"]));
    assert_eq!(code, 0);
    let entries: serde_json::Value = serde_json::from_str(&out).unwrap();
    let e = &entries[0];
    for field in [
        "seq",
        "prev",
        "order",
        "recorded_at",
        "recorded_by",
        "station",
        "kind",
        "name",
        "size",
        "sha256",
        "blake3",
        "source_mtime",
        "note",
        "hash",
    ] {
        assert!(e.get(field).is_some(), "log --json lacks {field}: {e}");
    }
    assert_eq!(e["recorded_by"], "tester");
    assert_eq!(e["station"], "test-station");
    assert_eq!(e["note"], "box 1");
}

#[test]
fn get_refuses_altered_bytes_with_exit_1_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let f = tmp.path().join("a.bin");
    fs::write(&f, noise(8, 3_000_000)).unwrap();
    assert_eq!(run(evault(&vault).args(["add", "SO-1"]).arg(&f)).0, 0);
    let hex: String = <sha2::Sha256 as sha2::Digest>::digest(fs::read(&f).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let blob = blob_path(&vault, &hex);
    writable(&blob);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[2_500_000] ^= 0x40;
    fs::write(&blob, bytes).unwrap();
    let out = tmp.path().join("out.bin");
    let (code, _, err) = run(evault(&vault).args(["get", "SO-1", "1", "-o"]).arg(&out));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not match"), "{err}");
    assert!(!out.exists(), "altered bytes must not be handed out");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "no temp file left beside the output"
    );
}

#[test]
fn bad_input_is_exit_2_and_records_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let good = tmp.path().join("good.jpg");
    fs::write(&good, noise(9, 1000)).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["add", "SO-1", "/nonexistent/x.jpg"], "x.jpg"),
        (
            &["add", "SO-1", "--kind", "selfie"],
            "unknown evidence kind",
        ),
        (&["note", "SO-1", ""], "empty"),
        (&["retract", "SO-1", "1", "--reason", "x"], "no entries"),
        (
            &["import", "/nonexistent", "--order-from", "filename:SO-\\d+"],
            "capture group",
        ),
    ];
    for (args, says) in cases {
        let mut cmd = evault(&vault);
        cmd.args(args);
        if args[2] == "--kind" {
            cmd.arg(&good);
        }
        let (code, _, err) = run(&mut cmd);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A missing file among good ones: nothing of that command is recorded.
    let (code, _, _) = run(evault(&vault)
        .args(["add", "SO-1"])
        .arg(&good)
        .arg("/nonexistent/y.jpg"));
    assert_eq!(code, 2);
    let (code, out, _) = run(evault(&vault).args(["orders", "--json"]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]");
}

#[test]
fn retract_voids_an_entry_without_deleting_it() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let f = tmp.path().join("wrong.jpg");
    fs::write(&f, noise(10, 2000)).unwrap();
    assert_eq!(run(evault(&vault).args(["add", "SO-1"]).arg(&f)).0, 0);
    let (code, out, err) =
        run(evault(&vault).args(["retract", "SO-1", "1", "--reason", "wrong parcel"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#2"), "{out}");
    let (code, _, err) = run(evault(&vault).args(["retract", "SO-1", "1", "--reason", "again"]));
    assert_eq!(code, 2);
    assert!(err.contains("already"), "{err}");
    let (code, _, _) = run(evault(&vault).args(["retract", "SO-1", "2", "--reason", "undo"]));
    assert_eq!(code, 2, "a retraction cannot be retracted");
    // The retracted bytes may be recorded again (a new entry).
    let (code, out, _) = run(evault(&vault).args(["add", "SO-1"]).arg(&f));
    assert_eq!(code, 0);
    assert!(out.contains("added SO-1 #3"), "{out}");
    let (_, log, _) = run(evault(&vault).args(["log", "SO-1"]));
    assert!(
        log.contains("wrong.jpg") && log.contains("retract"),
        "{log}"
    );
    assert_eq!(run(evault(&vault).arg("verify")).0, 0);
}

#[test]
fn import_maps_orders_skips_clutter_and_never_follows_symlinks_out() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let dump = tmp.path().join("dump");
    for (rel, seed) in [
        ("SO-1/a.jpg", 1),
        ("SO-1/sub/b.jpg", 2),
        ("SO-2/c.jpg", 3),
        ("SO-2/.DS_Store", 4),
        ("SO-2/Thumbs.db", 5),
        ("SO-2/.hidden.jpg", 6),
    ] {
        fs::create_dir_all(dump.join(rel).parent().unwrap()).unwrap();
        fs::write(dump.join(rel), noise(seed, 500)).unwrap();
    }
    let secret = tmp.path().join("secret.txt");
    fs::write(&secret, "outside the dump").unwrap();
    std::os::unix::fs::symlink(&secret, dump.join("SO-2/link.jpg")).unwrap();
    fs::write(dump.join("loose.jpg"), noise(7, 500)).unwrap();

    let (code, out, err) = run(evault(&vault)
        .arg("import")
        .arg(&dump)
        .args(["--order-from", "folder"]));
    assert_eq!(
        code, 2,
        "a file that maps to no order is not recorded: {out}{err}"
    );
    assert!(
        out.contains("added SO-1 #1 SO-1/a.jpg") && out.contains("added SO-1 #2 SO-1/sub/b.jpg"),
        "{out}"
    );
    assert!(out.contains("added SO-2 #1 SO-2/c.jpg"), "{out}");
    assert!(
        out.contains("link.jpg") && out.contains("symbolic link"),
        "{out}"
    );
    for clutter in [".DS_Store", "Thumbs.db", ".hidden.jpg"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("skipped") && l.contains(clutter) && l.contains("clutter")),
            "{clutter}: {out}"
        );
    }
    assert!(
        err.contains("NOT RECORDED") && err.contains("loose.jpg"),
        "{err}"
    );
    assert!(out.contains("import: 3 added"), "{out}");
    let (_, orders, _) = run(evault(&vault).args(["orders", "--json"]));
    let orders: serde_json::Value = serde_json::from_str(&orders).unwrap();
    assert_eq!(orders.as_array().unwrap().len(), 2);
    let so2 = fs::read_to_string(crate::util::manifest(&vault, "SO-2")).unwrap();
    for never in ["link.jpg", ".DS_Store", "Thumbs.db", ".hidden.jpg"] {
        assert!(!so2.contains(never), "{never} must not be recorded: {so2}");
    }

    // filename:REGEX, and a re-import records nothing twice.
    let flat = tmp.path().join("flat");
    fs::create_dir_all(&flat).unwrap();
    fs::write(flat.join("SO-9_label.jpg"), noise(11, 400)).unwrap();
    fs::write(flat.join("SO-9_box.jpg"), noise(12, 400)).unwrap();
    let (code, out, err) = run(evault(&vault)
        .arg("import")
        .arg(&flat)
        .args(["--order-from", r"filename:^(SO-\d+)_"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("import: 2 added"), "{out}");
    let (code, out, _) = run(evault(&vault)
        .arg("import")
        .arg(&flat)
        .args(["--order-from", r"filename:^(SO-\d+)_"]));
    assert_eq!(code, 0);
    assert!(out.contains("import: 0 added, 2 already recorded"), "{out}");
}

#[test]
fn progress_bars_stay_off_a_pipe() {
    // stderr is a pipe here: import, verify and export draw no bar and
    // print nothing there.
    let tmp = tempfile::tempdir().unwrap();
    let vault = init(tmp.path());
    let dump = tmp.path().join("dump/SO-7");
    fs::create_dir_all(&dump).unwrap();
    fs::write(
        dump.join("IMG_0001.jpg"),
        crate::util::sample("SO-2026-10481/DSC00017.jpg"),
    )
    .unwrap();
    fs::write(dump.join("notes.txt"), "packed at 9:40\n").unwrap();
    for args in [
        vec![
            "import",
            tmp.path().join("dump").to_str().unwrap(),
            "--order-from",
            "folder",
        ],
        vec!["verify"],
        vec![
            "export",
            "SO-7",
            "--platform",
            "paypal",
            "--reason",
            "damaged",
            "-o",
        ],
    ] {
        let mut cmd = evault(&vault);
        cmd.args(&args);
        if args[0] == "export" {
            cmd.arg(tmp.path().join("b.zip"));
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert_eq!(err, "", "{args:?} wrote to stderr");
    }
}
