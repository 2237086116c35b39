//! HEIF (HEIC) and AVIF photos, decoded by libheif's `heif-convert` in a
//! separate process under a time and a memory limit: no C decoder of
//! untrusted bytes runs inside evault's process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian/Ubuntu package that has `heif-convert`.
pub const HEIF_PACKAGE: &str = "libheif-examples";
/// Names the `heif-convert` program to use instead of the one on `PATH`.
pub const HEIF_CONVERT_ENV: &str = "EVAULT_HEIF_CONVERT";

/// The converter may use at most this much address space (`prlimit --as`).
const MAX_MEMORY: u64 = 2 << 30;
/// ... this much CPU time (`prlimit --cpu`), in seconds.
const MAX_CPU_SECONDS: u64 = 60;
/// ... and this much wall-clock time before it is killed.
const MAX_WALL: Duration = Duration::from_secs(120);
/// Its output file may be at most this large (`prlimit --fsize`).
const MAX_OUTPUT: u64 = 512 << 20;
/// JPEG quality of the intermediate copy (evault re-encodes it to fit).
const QUALITY: &str = "95";

/// Whether `bytes` are a HEIF-family file (HEIC, HEIF, AVIF): an ISO base
/// media file whose `ftyp` box names an image brand.
pub(crate) fn is_heif(bytes: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 11] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
        b"mif2",
    ];
    let Some(head) = bytes.get(..8) else {
        return false;
    };
    if &head[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let Some(ftyp) = bytes.get(8..size.clamp(8, 256).min(bytes.len())) else {
        return false;
    };
    // Major brand, minor version, then compatible brands.
    ftyp.chunks_exact(4)
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .any(|(_, b)| BRANDS.iter().any(|brand| b == *brand))
}

/// Whether the file declares an alpha plane (an auxiliary image of the
/// alpha type): then it is converted to PNG, keeping transparency.
fn has_alpha(bytes: &[u8]) -> bool {
    [
        &b"urn:mpeg:hevc:2015:auxid:1\0"[..],
        b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    ]
    .iter()
    .any(|urn| bytes.windows(urn.len()).any(|w| w == *urn))
}

/// `heif-convert`, found and asked for its libheif version.
#[derive(Clone, Debug)]
pub(crate) struct HeifConvert {
    path: PathBuf,
    prlimit: PathBuf,
    /// For `derivation.json`: `heif-convert (libheif 1.15.1)`.
    pub(crate) version: String,
}

impl HeifConvert {
    /// Finds `heif-convert` (or the program `EVAULT_HEIF_CONVERT` names)
    /// and `prlimit`; the error says what to install.
    pub(crate) fn find() -> Result<Self, String> {
        let path = match std::env::var_os(HEIF_CONVERT_ENV) {
            Some(p) if Path::new(&p).is_file() => PathBuf::from(p),
            Some(p) => {
                return Err(format!(
                    "{HEIF_CONVERT_ENV} names {}, which does not exist: install the {HEIF_PACKAGE} package (apt-get install {HEIF_PACKAGE}) and unset it, or point it at heif-convert",
                    Path::new(&p).display()
                ));
            }
            None => on_path("heif-convert").ok_or_else(|| {
                format!("heif-convert is not installed: install the {HEIF_PACKAGE} package (apt-get install {HEIF_PACKAGE}), or set {HEIF_CONVERT_ENV} to the program")
            })?,
        };
        let prlimit = on_path("prlimit").ok_or(
            "prlimit (which limits the memory and time of heif-convert) is not installed: install the util-linux package",
        )?;
        // `heif-convert --help` starts with "heif-convert  libheif version: 1.15.1".
        let out = Command::new(&path)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let version = text
            .split_once("libheif version:")
            .and_then(|(_, v)| v.split_whitespace().next())
            .ok_or_else(|| {
                format!(
                    "{} does not look like libheif's heif-convert (no version in its --help)",
                    path.display()
                )
            })?;
        Ok(Self {
            version: format!("heif-convert (libheif {version})"),
            path,
            prlimit,
        })
    }

    /// Converts a HEIF or AVIF file to a JPEG (PNG when it has an alpha
    /// plane), upright: libheif applies the file's rotation and mirroring
    /// (`irot`, `imir`), so the result's EXIF orientation must be ignored.
    /// Returns the converted file's bytes.
    pub(crate) fn convert(&self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let dir = tempfile::Builder::new()
            .prefix("evault-heif-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary folder for heif-convert: {e}"))?;
        let input = dir.path().join("in.heif");
        std::fs::write(&input, bytes)
            .map_err(|e| format!("cannot write {}: {e}", input.display()))?;
        let ext = if has_alpha(bytes) { "png" } else { "jpg" };
        let output = dir.path().join(format!("out.{ext}"));
        let log = dir.path().join("stderr.txt");
        let stderr = std::fs::File::create(&log)
            .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
        let mut child = Command::new(&self.prlimit)
            .arg(format!("--as={MAX_MEMORY}"))
            .arg(format!("--cpu={MAX_CPU_SECONDS}"))
            .arg(format!("--fsize={MAX_OUTPUT}"))
            .arg("--core=0")
            .arg("--")
            .arg(&self.path)
            .args(["--quiet", "-q", QUALITY])
            .arg(&input)
            .arg(&output)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.path.display()))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > MAX_WALL => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not finish within {} s and was stopped",
                        self.version,
                        MAX_WALL.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("cannot wait for heif-convert: {e}")),
            }
        };
        if !status.success() {
            let said = last_words(&log);
            let how = match status.code() {
                Some(code) => format!("exit status {code}"),
                // Killed by a signal: the CPU limit (SIGXCPU/SIGKILL) or memory.
                None => format!(
                    "killed by a signal (over its limits of {MAX_CPU_SECONDS} s CPU and {} MiB memory?)",
                    MAX_MEMORY >> 20
                ),
            };
            return Err(format!("{} refused it ({how}){said}", self.version));
        }
        // With several top-level images heif-convert numbers its outputs;
        // the first is taken.
        let numbered = dir.path().join(format!("out-1.{ext}"));
        let made = if output.is_file() { output } else { numbered };
        read_limited(&made, MAX_OUTPUT)
            .map_err(|e| format!("{} made no readable output ({e})", self.version))
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `: <the last line heif-convert wrote>`, or nothing.
fn last_words(log: &Path) -> String {
    let text = read_limited(log, 64 << 10).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim().chars().take(200).collect::<String>()))
        .unwrap_or_default()
}

fn read_limited(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::fs::File::open(path)?.take(max).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heif_family_is_told_by_its_brands() {
        let ftyp = |major: &[u8; 4], compat: &[&[u8; 4]]| {
            let mut b = Vec::new();
            b.extend_from_slice(&(16 + 4 * compat.len() as u32).to_be_bytes());
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(major);
            b.extend_from_slice(&[0, 0, 0, 0]);
            for c in compat {
                b.extend_from_slice(*c);
            }
            b
        };
        assert!(is_heif(&ftyp(b"heic", &[b"mif1", b"heic"])));
        assert!(is_heif(&ftyp(b"avif", &[b"avif", b"mif1"])));
        assert!(is_heif(&ftyp(b"mif1", &[b"mif1", b"heic"])));
        // A phone video is ISO media too, but not an image.
        assert!(!is_heif(&ftyp(b"isom", &[b"isom", b"mp42"])));
        assert!(!is_heif(&ftyp(b"qt  ", &[b"qt  "])));
        assert!(!is_heif(b"\xFF\xD8\xFF\xE0"));
    }
}
