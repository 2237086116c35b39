//! `verify-bundle` on any bytes as the zip: a report or a clean error.
#![no_main]

use evault_timestamp::Anchors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if std::io::Write::write_all(&mut file, data).is_err() {
        return;
    }
    let _ = evault_export::verify_bundle(file.path(), &Anchors::none());
});
