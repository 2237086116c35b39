//! A user's profile file from any bytes: profiles or a clean error.
#![no_main]

use evault_export::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = Profile::from_json(data, "fuzz") {
        for p in &list {
            let _ = p.accepts("image/jpeg");
            let _ = Profile::find(&p.name, &list);
        }
    }
});
