//! Everything the command prints goes through here.

use std::io::Write;

/// Writes a line to stdout.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// Writes a warning to stderr.
pub fn warn(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "warning: {msg}");
}

/// Writes an error (with its causes) to stderr.
pub fn error(err: &anyhow::Error) {
    let _ = writeln!(std::io::stderr().lock(), "error: {err:#}");
}

/// True when the error is a closed stdout (e.g. `evault log X | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs `print` and returns `status`, also when stdout was closed early
/// (`evault verify | head -n1` still exits 1 when there are problems).
pub fn printed(
    status: crate::Status,
    print: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<crate::Status> {
    match print() {
        Err(e) if is_broken_pipe(&e) => Ok(status),
        Err(e) => Err(e),
        Ok(()) => Ok(status),
    }
}

/// `1.2 MB`-style sizes.
pub fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}
