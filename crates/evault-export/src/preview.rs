//! Pictures of recorded photos for pages and for reading labels; never
//! evidence.

use crate::decode::decode;
use crate::fit::{FitError, fit_photo};
use crate::heif::{HeifConvert, is_heif};

fn heif_for(bytes: &[u8]) -> Result<Option<HeifConvert>, String> {
    if is_heif(bytes) {
        HeifConvert::find().map(Some)
    } else {
        Ok(None)
    }
}

/// A JPEG of `bytes` (any image the export reads) at most `long_edge`
/// pixels on its long side, upright, in sRGB; `Err` says why not.
pub fn thumbnail(bytes: &[u8], long_edge: u32) -> Result<Vec<u8>, String> {
    let heif = heif_for(bytes)?;
    match fit_photo(bytes, long_edge, u64::MAX, heif.as_ref()) {
        Ok(fitted) => Ok(fitted.jpeg),
        Err(FitError::Undecodable(why) | FitError::TooLarge(why)) => Err(why),
    }
}

/// The image as 8-bit grey levels, upright, about `long_edge` pixels on
/// its long side (a JPEG is decoded at a reduced scale when it is larger):
/// `(pixels, width, height)`, rows top to bottom.
pub fn grey(bytes: &[u8], long_edge: u32) -> Result<(Vec<u8>, u32, u32), String> {
    let heif = heif_for(bytes)?;
    let decoded = decode(bytes, long_edge, heif.as_ref())?;
    let luma = image::DynamicImage::ImageRgb8(decoded.image).into_luma8();
    let (w, h) = luma.dimensions();
    Ok((luma.into_raw(), w, h))
}
