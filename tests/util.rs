//! Shared helpers: a deterministic clock, a sample vault, the binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use evault_core::{Actor, Clock, NewEvidence, OrderId, Vault};

/// A clock that starts at 2026-11-01T08:00:00Z and moves 1.5 s per reading.
pub fn fixed_clock() -> Clock {
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
    let ticks = Arc::new(AtomicI64::new(0));
    Arc::new(move || -> DateTime<Utc> {
        let n = ticks.fetch_add(1, Ordering::SeqCst);
        start + chrono::Duration::milliseconds(1500 * n)
    })
}

pub fn order(id: &str) -> OrderId {
    id.parse().unwrap()
}

pub fn actor() -> Actor {
    Actor::new("mei", "pack-02").unwrap()
}

/// The repository's sample evidence file `examples/evidence/<rel>`.
pub fn sample(rel: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/evidence")
            .join(rel),
    )
    .unwrap()
}

/// Evidence from bytes (no file, so no mtime: reproducible).
pub fn bytes(name: &str, data: impl Into<Vec<u8>>) -> NewEvidence {
    NewEvidence::from_reader(name, std::io::Cursor::new(data.into()))
}

/// Records the fixed sample content: two orders, photos, a chat log, a note,
/// a retraction. Same input and clock give byte-identical manifests.
pub fn fill_sample(vault: &Vault) {
    let a = actor();
    let o1 = order("112-7739151-0042185");
    let o2 = order("注文-0042");
    vault
        .add(
            &o1,
            vec![
                bytes("IMG_2041.jpg", sample("112-7739151-0042185/IMG_2041.jpg")),
                bytes(
                    "label-IMG_2044.jpg",
                    sample("112-7739151-0042185/label-IMG_2044.jpg"),
                ),
                bytes(
                    "chat-with-buyer.txt",
                    sample("112-7739151-0042185/chat-with-buyer.txt"),
                ),
            ],
            &a,
        )
        .unwrap();
    vault
        .note(&o1, "sealed with tamper tape #4411", &a)
        .unwrap();
    vault
        .add(
            &o2,
            vec![bytes("DSC00017.jpg", sample("SO-2026-10481/DSC00017.jpg"))],
            &a,
        )
        .unwrap();
    vault
        .add(
            &o2,
            vec![bytes("wrong.txt", "photo of the wrong parcel\n")],
            &a,
        )
        .unwrap();
    vault.retract(&o2, 2, "wrong parcel", &a).unwrap();
    vault
        .add(
            &o1,
            vec![bytes(
                "tracking-events.csv",
                sample("112-7739151-0042185/tracking-events.csv"),
            )],
            &a,
        )
        .unwrap();
}

/// A new vault with the sample content, in `dir/vault`.
pub fn sample_vault(dir: &Path) -> Vault {
    let vault = Vault::init(dir.join("vault"))
        .unwrap()
        .with_clock(fixed_clock());
    fill_sample(&vault);
    vault
}

/// The manifest of `order` in `vault`.
pub fn manifest(vault: &Path, order: &str) -> PathBuf {
    vault
        .join("orders")
        .join(self::order(order).storage_key())
        .join("manifest.jsonl")
}

/// The blob file for a SHA-256 hex digest.
pub fn blob_path(vault: &Path, hex: &str) -> PathBuf {
    vault.join("blobs/sha256").join(&hex[..2]).join(hex)
}

/// Copies a directory tree (files keep their bytes; permissions are not copied).
pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).sort_by_file_name() {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Makes a (read-only) file writable, so a test can tamper with it.
pub fn writable(path: &Path) {
    let mut p = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    p.set_readonly(false);
    fs::set_permissions(path, p).unwrap();
}

/// The `evault` binary built by `cargo test --workspace`.
pub fn evault_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join(format!("evault{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// `evault --vault VAULT` with a fixed operator and station.
pub fn evault(vault: &Path) -> Command {
    let mut c = Command::new(evault_bin());
    c.arg("--vault")
        .arg(vault)
        .env("EVAULT_OPERATOR", "tester")
        .env("EVAULT_STATION", "test-station");
    c.env_remove("EVAULT_VAULT");
    c
}

/// A small tmpfs mounted for one test (needs root, as on CI), unmounted on drop.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "4m"); `None` when this machine does not allow mounts.
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remounts read-only.
    pub fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(ok.success(), "remount read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The real programs the tests drive, and what installs each one
/// (`scripts/test` installs them all when missing).
const PEERS: [(&str, &str); 11] = [
    ("node", "apt-get install nodejs npm"),
    ("curl", "apt-get install curl"),
    ("heif-enc", "apt-get install libheif-examples"),
    ("unzip", "apt-get install unzip"),
    ("pdfinfo", "apt-get install poppler-utils"),
    ("pdftotext", "apt-get install poppler-utils"),
    ("pdfimages", "apt-get install poppler-utils"),
    ("pdftoppm", "apt-get install poppler-utils"),
    ("openssl", "apt-get install openssl"),
    ("sha256sum", "apt-get install coreutils"),
    ("python3", "apt-get install python3"),
];

/// What to install for a program that was not found.
fn install_hint(program: &str) -> String {
    PEERS.iter().find(|(p, _)| *p == program).map_or_else(
        || format!("{program} is not installed"),
        |(_, how)| format!("{program} is not installed: {how}, or run scripts/test, which installs every peer the tests drive"),
    )
}

/// Runs a command; returns (exit code, stdout, stderr). A program that is
/// not installed fails the test with the package to install.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{}", install_hint(&cmd.get_program().to_string_lossy()))
        }
        Err(e) => panic!("{cmd:?}: {e}"),
    };
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if err.contains("No module named bagit") {
        panic!(
            "the Python package bagit is not installed: python3 -m pip install bagit, or run scripts/test"
        );
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

/// `bagit.py --validate` on an unpacked bag, run as `python3 -m bagit` so
/// that it is found wherever pip put its scripts (pyenv shims included).
pub fn bagit_validate(bag: &Path) -> String {
    ok(Command::new("python3")
        .args(["-m", "bagit", "--validate", "."])
        .current_dir(bag))
}

/// Runs a command that must succeed (exit 0); returns its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{cmd:?}: {out}{err}");
    out
}

/// Runs a command that must be refused (exit 2); returns its stderr.
pub fn refused(cmd: &mut Command) -> String {
    let (code, out, err) = run(cmd);
    assert_eq!(code, 2, "{cmd:?}: {out}{err}");
    err
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic pseudo-random bytes (xorshift), distinct per seed.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Re-links the `prev` of every line after `from` (0-based) and rewrites
/// `HEAD`, as a forger re-chaining an edited log would; writes the log.
pub fn rechain(log: &Path, lines: &mut [String], from: usize) {
    use sha2::{Digest, Sha256};
    let leaf = |l: &str| {
        let d = Sha256::new()
            .chain_update([0u8])
            .chain_update(l.as_bytes())
            .finalize();
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    const PREV: &str = "\"prev\":\"sha256:";
    for i in from + 1..lines.len() {
        let prev = leaf(&lines[i - 1]);
        let at = lines[i].find(PREV).unwrap() + PREV.len();
        lines[i].replace_range(at..at + 64, &prev);
    }
    fs::write(log, lines.join("\n") + "\n").unwrap();
    let last = lines.last().unwrap();
    fs::write(
        log.with_file_name("HEAD"),
        format!(
            "{{\"seq\":{},\"hash\":\"sha256:{}\"}}\n",
            lines.len(),
            leaf(last)
        ),
    )
    .unwrap();
}

/// Replaces `from` by `to` in the first line of the log that contains
/// `marker`, then re-chains the later lines and `HEAD` ([`rechain`]).
pub fn forge_line(log: &Path, marker: &str, from: &str, to: &str) {
    let mut lines: Vec<String> = fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let at = lines.iter().position(|l| l.contains(marker)).unwrap();
    assert!(
        lines[at].contains(from),
        "{from:?} is not in line {}",
        at + 1
    );
    lines[at] = lines[at].replacen(from, to, 1);
    rechain(log, &mut lines, at);
}
