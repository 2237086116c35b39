//! Trust anchors from any bytes (PEM or DER): the certificate DER walker.
#![no_main]

use evault_timestamp::Anchors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Anchors::from_bytes(data);
});
