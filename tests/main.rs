//! Integration tests: the library and the real `evault` binary, on real files.
//! Run with `cargo test --workspace` (which also builds the binary).

mod accounts;
mod browser;
mod cli;
mod concurrency;
mod crash;
mod desk;
mod export;
mod export_profiles;
mod export_proofs;
mod export_sources;
mod fs_limits;
mod fuzz_inputs;
mod golden;
mod ids;
mod keys;
mod object_faults;
mod object_vault;
mod objects;
mod order_index;
mod photos;
mod progress;
mod readers;
mod serve;
mod serve_util;
mod sniffing;
mod stamp;
mod tamper;
mod tsa;
mod tsa_tokens;
mod util;
