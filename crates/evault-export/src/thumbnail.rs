//! Small previews of recorded photos (for pages; never evidence).

use crate::fit::{FitError, fit_photo};
use crate::heif::{HeifConvert, is_heif};

/// A JPEG of `bytes` (any image the export reads) at most `long_edge`
/// pixels on its long side, upright, in sRGB; `Err` says why not.
pub fn thumbnail(bytes: &[u8], long_edge: u32) -> Result<Vec<u8>, String> {
    let heif = if is_heif(bytes) {
        Some(HeifConvert::find()?)
    } else {
        None
    };
    match fit_photo(bytes, long_edge, u64::MAX, heif.as_ref()) {
        Ok(fitted) => Ok(fitted.jpeg),
        Err(FitError::Undecodable(why) | FitError::TooLarge(why)) => Err(why),
    }
}
