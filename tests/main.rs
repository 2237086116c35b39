//! Integration tests: the library and the real `evault` binary, on real files.
//! Run with `cargo test --workspace` (which also builds the binary).

mod golden;
mod tamper;
mod util;
