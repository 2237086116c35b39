//! Uses evault-timestamp (re-exported as `evault_core::timestamp`) on its
//! own: checks an RFC 3161 token or reply from any TSA against the SHA-256
//! of the data it should stamp, offline, with optional trust anchors (roots,
//! and intermediates to build the chain).
//!
//! ```sh
//! cargo run --example check_stamp -- TOKEN.tsr SHA256-HEX [ROOTS.pem|DIR]
//! ```
//! Exits 0 when the token is valid (trusted or not), 1 when it is not.

use std::error::Error;
use std::process::ExitCode;

use evault_core::timestamp::{Anchors, Hash, Trust, check_token_digest};

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [token, digest, rest @ ..] = args.as_slice() else {
        return Err("usage: check_stamp TOKEN SHA256-HEX [ANCHORS]".into());
    };
    let digest = (0..digest.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digest.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()?;
    let anchors = match rest.first() {
        Some(path) => Anchors::load(path.as_ref())?,
        None => Anchors::none(),
    };
    let bytes = std::fs::read(token)?;
    match check_token_digest(&bytes, Hash::Sha256, &digest, &anchors) {
        Ok(stamp) => {
            println!(
                "{}: {} at {} by {}",
                token,
                stamp.verdict(),
                stamp.time,
                stamp.tsa
            );
            match stamp.trust {
                Trust::Trusted { anchor } => println!("  chains to {anchor}"),
                Trust::NotTrusted { why } => println!("  not trusted: {why}"),
            }
            println!("  serial {}, policy {}", stamp.serial, stamp.policy);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{token}: invalid: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
