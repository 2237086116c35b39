//! Sniffing and image headers (dimensions, EXIF) from any bytes, under the
//! names of the kinds of file recorded.
#![no_main]

use evault_core::sniff_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["IMG_0001.jpg", "photo.png", "scan.heic", "clip.webp", "chat.txt"] {
        let _ = sniff_bytes(name, data);
    }
});
