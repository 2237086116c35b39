//! An RFC 3161 reply (TimeStampResp) from any bytes, checked over the
//! message the seed replies stamp, with the seeds' roots as anchors: the
//! CMS, TSTInfo, signed-attribute and certificate walkers all run.
#![no_main]

use std::sync::OnceLock;

use evault_timestamp::{Anchors, Expected, check_reply};
use libfuzzer_sys::fuzz_target;

/// The message every seed reply was made over.
const MESSAGE: &[u8] = b"evault fuzz checkpoint";

fn anchors() -> &'static Anchors {
    static A: OnceLock<Anchors> = OnceLock::new();
    A.get_or_init(|| {
        let pem = [
            include_str!("../anchors/rsa.pem"),
            include_str!("../anchors/p256.pem"),
            include_str!("../anchors/p384.pem"),
        ]
        .concat();
        Anchors::from_bytes(pem.as_bytes()).unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let expected = Expected {
        message: MESSAGE,
        nonce: None,
    };
    let _ = check_reply(data, &expected, anchors());
    let _ = check_reply(data, &expected, &Anchors::none());
});
