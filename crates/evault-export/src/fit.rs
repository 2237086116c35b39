//! Making a photo fit a platform: orientation applied, resized, re-encoded as
//! JPEG without metadata, quality searched to meet a byte budget.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader};

/// Decoding limits: a decompression bomb is refused, not decoded.
pub const MAX_SIDE: u32 = 20_000;
/// At most this many pixels (about 100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;
const MAX_ALLOC: u64 = 1 << 30;

/// Lowest JPEG quality tried before the image is made smaller instead.
const MIN_QUALITY: u8 = 45;
const MAX_QUALITY: u8 = 88;

/// A fitted JPEG.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// The JPEG bytes (no EXIF, no GPS).
    pub jpeg: Vec<u8>,
    /// Width after orientation and resizing.
    pub width: u32,
    /// Height after orientation and resizing.
    pub height: u32,
    /// The JPEG quality used.
    pub quality: u8,
    /// Width and height of the original, as stored.
    pub original: (u32, u32),
}

/// Decodes `bytes` within the limits and applies the EXIF orientation.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("cannot decode the image: {e}"))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "the image claims {w}x{h} pixels, over the {MAX_PIXELS} pixel safety limit (a decompression bomb?); it was not decoded"
        ));
    }
    let orientation = decoder
        .orientation()
        .map_err(|e| format!("cannot read the orientation: {e}"))?;
    let mut img = DynamicImage::from_decoder(decoder)
        .map_err(|e| format!("cannot decode the image within the safety limits: {e}"))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Fits a photo into `long_edge` pixels and `budget` bytes.
pub fn fit_photo(bytes: &[u8], long_edge: u32, budget: u64) -> Result<Fitted, String> {
    let img = decode(bytes)?;
    let original = (img.width(), img.height());
    let rgb = img.into_rgb8();
    let (w, h) = rgb.dimensions();
    let src =
        Image::from_vec_u8(w, h, rgb.into_raw(), PixelType::U8x3).map_err(|e| e.to_string())?;
    let mut edge = long_edge.min(w.max(h));
    for _ in 0..6 {
        let scale = f64::from(edge) / f64::from(w.max(h));
        let (tw, th) = (
            ((f64::from(w) * scale).round() as u32).max(1),
            ((f64::from(h) * scale).round() as u32).max(1),
        );
        let resized = if (tw, th) == (w, h) {
            src.buffer().to_vec()
        } else {
            let mut dst = Image::new(tw, th, PixelType::U8x3);
            Resizer::new()
                .resize(
                    &src,
                    &mut dst,
                    &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
                )
                .map_err(|e| e.to_string())?;
            dst.into_vec()
        };
        // Binary search for the highest quality that fits.
        let (mut lo, mut hi, mut best) = (MIN_QUALITY, MAX_QUALITY, None);
        while lo <= hi {
            let q = lo + (hi - lo) / 2;
            let jpeg = encode(&resized, tw, th, q)?;
            if jpeg.len() as u64 <= budget {
                best = Some((jpeg, q));
                lo = q + 1;
            } else {
                hi = q - 1;
            }
        }
        if let Some((jpeg, quality)) = best {
            return Ok(Fitted {
                jpeg,
                width: tw,
                height: th,
                quality,
                original,
            });
        }
        edge = edge * 3 / 4;
        if edge < 320 {
            break;
        }
    }
    Err(format!(
        "it cannot be made smaller than {budget} bytes while staying readable (320 px)"
    ))
}

fn encode(rgb: &[u8], w: u32, h: u32, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (w16, h16) = (
        u16::try_from(w).map_err(|e| e.to_string())?,
        u16::try_from(h).map_err(|e| e.to_string())?,
    );
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| format!("cannot encode the JPEG: {e}"))?;
    Ok(out)
}
