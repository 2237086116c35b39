//! Decoding every image a phone or camera writes into upright sRGB pixels:
//! JPEG (pure Rust, CMYK and YCCK per Adobe APP14), PNG, WebP, GIF (first
//! frame) and TIFF (the `image` crate's pure-Rust decoders), HEIF and AVIF
//! (libheif in a separate process, see `heif`). EXIF orientation is applied
//! for every container; an ICC profile is converted to sRGB.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

use crate::heif::{HeifConvert, is_heif};

/// Decoding limits: a decompression bomb is refused, not decoded.
pub const MAX_SIDE: u32 = 20_000;
/// At most this many pixels (about 100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;
const MAX_ALLOC: u64 = 1 << 30;

/// An image decoded for a platform copy.
pub(crate) struct Decoded {
    /// Upright, sRGB, no alpha (transparent parts on white).
    pub(crate) image: RgbImage,
    /// Width and height of the stored image (0x0 when unknown).
    pub(crate) original: (u32, u32),
    /// What was done to get here, for the fit report: conversion, orientation, colour.
    pub(crate) steps: Vec<String>,
    /// The program that converted the original (HEIF, AVIF), if any.
    pub(crate) converter: Option<String>,
}

/// Decodes `bytes` within the limits. A JPEG is decoded at the smallest
/// DCT scale (1, 1/2, 1/4, 1/8) that still gives at least 3/4 of
/// `long_edge` pixels on its long side, so platform copies are between 3/4
/// of `long_edge` and `long_edge` on their long side (when the original is
/// larger). HEIF and AVIF go through `heif` (an error when it is `None`).
pub(crate) fn decode(
    bytes: &[u8],
    long_edge: u32,
    heif: Option<&HeifConvert>,
) -> Result<Decoded, String> {
    if is_heif(bytes) {
        let tool = heif.ok_or("HEIF/AVIF needs heif-convert, which was not found")?;
        let converted = tool.convert(bytes)?;
        // libheif applied the rotation and mirroring of the HEIF itself
        // (`irot`, `imir`); the EXIF orientation it copied is not applied again.
        let mut d = decode_plain(&converted, long_edge, false)?;
        d.steps.insert(0, format!("converted by {}", tool.version));
        d.steps.insert(
            1,
            "orientation applied (HEIF rotation and mirroring)".into(),
        );
        d.converter = Some(tool.version.clone());
        return Ok(d);
    }
    decode_plain(bytes, long_edge, true)
}

fn decode_plain(bytes: &[u8], long_edge: u32, orient: bool) -> Result<Decoded, String> {
    let (image, original, icc, mut steps) = if bytes.starts_with(&[0xFF, 0xD8]) {
        // A JPEG jpeg-decoder refuses (a restart marker out of place, a
        // scan cut short) may still decode with zune-jpeg, which is more
        // forgiving, as libjpeg is; at full size, so only as a fallback.
        decode_jpeg(bytes, long_edge).or_else(|first| {
            decode_other(bytes)
                .map(|(img, size, icc, mut steps)| {
                    steps.push(format!(
                        "decoded by the second JPEG decoder (the first said: {first})"
                    ));
                    (img, size, icc, steps)
                })
                .map_err(|_| first)
        })?
    } else {
        decode_other(bytes)?
    };
    let mut image = image;
    if orient {
        let o = evault_core::exif_orientation(bytes).and_then(|o| u8::try_from(o).ok());
        match o {
            Some(o) if o > 1 => steps.push(format!("EXIF orientation {o} applied")),
            _ => steps.push("upright as stored (no EXIF orientation)".into()),
        }
        if let Some(o) = o.and_then(image::metadata::Orientation::from_exif) {
            image.apply_orientation(o);
        }
    }
    let mut rgb = flatten_on_white(image);
    if let Some(icc) = icc {
        steps.push(to_srgb(&mut rgb, &icc));
    }
    Ok(Decoded {
        image: rgb,
        original,
        steps,
        converter: None,
    })
}

type Raw = (DynamicImage, (u32, u32), Option<Vec<u8>>, Vec<String>);

fn limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// PNG, WebP, GIF, TIFF, BMP: the `image` crate's decoders.
fn decode_other(bytes: &[u8]) -> Result<Raw, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image: {e}"))?;
    if reader.format().is_none() {
        return Err("it is not an image format evault decodes (JPEG, PNG, WebP, GIF, TIFF, BMP, HEIF, AVIF)".into());
    }
    reader.limits(limits());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("cannot decode the image: {e}"))?;
    let (w, h) = decoder.dimensions();
    check_size(w, h)?;
    let icc = decoder.icc_profile().ok().flatten();
    let img = DynamicImage::from_decoder(decoder)
        .map_err(|e| format!("cannot decode the image within the safety limits: {e}"))?;
    Ok((img, (w, h), icc, Vec::new()))
}

fn check_size(w: u32, h: u32) -> Result<(), String> {
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!(
            "the image claims {w}x{h} pixels, over the safety limits ({MAX_SIDE} px a side, {MAX_PIXELS} pixels: a decompression bomb?); it was not decoded"
        ));
    }
    Ok(())
}

fn decode_jpeg(bytes: &[u8], long_edge: u32) -> Result<Raw, String> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.set_max_decoding_buffer_size(MAX_ALLOC as usize);
    d.read_info()
        .map_err(|e| format!("cannot read the JPEG header: {e}"))?;
    let info = d.info().ok_or("the JPEG has no frame header")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    // The side limit applies to the header; the pixel limit to what is
    // decoded: a 108 MP phone photo headed for 2048 px decodes at 1/4.
    if w > MAX_SIDE || h > MAX_SIDE {
        check_size(w, h)?;
    }
    let mut decoded = (w, h);
    let long = w.max(h).max(1);
    if long_edge > 0 && long_edge < long {
        // Decoded at no less than 3/4 of the target: a 4000 px photo headed
        // for 2048 px decodes at 1/2 (2000 px) and needs no resize at all.
        let want = u64::from(long_edge) * 3 / 4;
        let rw = (u64::from(w) * want).div_ceil(u64::from(long));
        let rh = (u64::from(h) * want).div_ceil(u64::from(long));
        let (sw, sh) = d
            .scale(rw.max(1) as u16, rh.max(1) as u16)
            .map_err(|e| format!("cannot scale the JPEG: {e}"))?;
        decoded = (u32::from(sw), u32::from(sh));
    }
    check_size(decoded.0, decoded.1)?;
    let pixels = d
        .decode()
        .map_err(|e| format!("cannot decode the JPEG: {e}"))?;
    let info = d.info().ok_or("the JPEG has no frame header")?;
    let (dw, dh) = (u32::from(info.width), u32::from(info.height));
    let mut icc = d.icc_profile();
    let mut steps = Vec::new();
    let rgb: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|c| {
                // Native-endian samples; the high byte is the 8-bit value.
                let v = (u16::from_ne_bytes([c[0], c[1]]) >> 8) as u8;
                [v, v, v]
            })
            .collect(),
        // The decoder undoes Adobe's inverted storage (APP14): these are
        // ink amounts, 255 = full ink.
        jpeg_decoder::PixelFormat::CMYK32 => {
            let (rgb, how) = cmyk_to_rgb(&pixels, icc.take().as_deref());
            steps.push(how);
            rgb
        }
    };
    let img = RgbImage::from_raw(dw, dh, rgb).ok_or("the decoded JPEG has the wrong size")?;
    Ok((DynamicImage::ImageRgb8(img), (w, h), icc, steps))
}

/// CMYK ink amounts to RGB: through the file's CMYK ICC profile when it
/// has one that can be read, else by the plain formula.
fn cmyk_to_rgb(cmyk: &[u8], icc: Option<&[u8]>) -> (Vec<u8>, String) {
    if let Some(profile) = icc.and_then(|b| moxcms::ColorProfile::new_from_slice(b).ok())
        && profile.color_space == moxcms::DataColorSpace::Cmyk
        && let Ok(t) = profile.create_transform_8bit(
            moxcms::Layout::Rgba,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
    {
        let mut rgb = vec![0u8; cmyk.len() / 4 * 3];
        if t.transform(cmyk, &mut rgb).is_ok() {
            return (
                rgb,
                format!(
                    "CMYK converted to sRGB through its ICC profile ({})",
                    profile_name(&profile)
                ),
            );
        }
    }
    let rgb = cmyk
        .chunks_exact(4)
        .flat_map(|c| {
            let k = 255 - u16::from(c[3]);
            let f = |v: u8| ((255 - u16::from(v)) * k / 255) as u8;
            [f(c[0]), f(c[1]), f(c[2])]
        })
        .collect();
    (
        rgb,
        "CMYK converted to RGB (no usable CMYK colour profile in the file: approximate colours)"
            .into(),
    )
}

fn profile_name(p: &moxcms::ColorProfile) -> String {
    let name = match &p.description {
        Some(moxcms::ProfileText::PlainString(s)) => s.clone(),
        Some(moxcms::ProfileText::Localizable(l)) => {
            l.first().map(|s| s.value.clone()).unwrap_or_default()
        }
        Some(moxcms::ProfileText::Description(d)) => d.ascii_string.clone(),
        None => String::new(),
    };
    let name: String = name
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    if name.is_empty() {
        "unnamed".into()
    } else {
        format!("\"{name}\"")
    }
}

/// Converts `rgb` from its ICC profile to sRGB; says what was done.
fn to_srgb(rgb: &mut RgbImage, icc: &[u8]) -> String {
    let profile = match moxcms::ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => {
            return format!("its ICC colour profile cannot be read ({e}); colours used as stored");
        }
    };
    let name = profile_name(&profile);
    if profile.color_space != moxcms::DataColorSpace::Rgb {
        return format!(
            "its ICC colour profile {name} is not an RGB profile; colours used as stored"
        );
    }
    // "sRGB IEC61966-2.1" and the like; not "DCI-P3 D65 Gamut with sRGB
    // Transfer" (Samsung), whose primaries are P3.
    if name
        .trim_start_matches('"')
        .to_ascii_lowercase()
        .starts_with("srgb")
    {
        return format!("colours already sRGB (ICC profile {name})");
    }
    let srgb = moxcms::ColorProfile::new_srgb();
    let t = match profile.create_transform_8bit(
        moxcms::Layout::Rgb,
        &srgb,
        moxcms::Layout::Rgb,
        moxcms::TransformOptions::default(),
    ) {
        Ok(t) => t,
        Err(e) => {
            return format!(
                "its ICC colour profile {name} cannot be applied ({e}); colours used as stored"
            );
        }
    };
    let mut out = vec![0u8; rgb.as_raw().len()];
    match t.transform(rgb.as_raw(), &mut out) {
        Ok(()) => {
            let (w, h) = rgb.dimensions();
            if let Some(img) = RgbImage::from_raw(w, h, out) {
                *rgb = img;
            }
            format!("colours converted from ICC profile {name} to sRGB")
        }
        Err(e) => {
            format!("its ICC colour profile {name} cannot be applied ({e}); colours used as stored")
        }
    }
}

/// Transparent pixels (screenshots, labels as PNG) become white, not black.
fn flatten_on_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let px = rgba
        .pixels()
        .flat_map(|p| {
            let a = u16::from(p[3]);
            let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
            [blend(p[0]), blend(p[1]), blend(p[2])]
        })
        .collect();
    RgbImage::from_raw(w, h, px).unwrap_or_else(|| RgbImage::new(w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_png(img: DynamicImage) -> Decoded {
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        decode(&png, 2048, None).unwrap()
    }

    #[test]
    fn transparent_png_becomes_white_not_black() {
        let d = decode_png(DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            40,
            30,
            image::Rgba([0, 0, 0, 0]),
        )));
        assert!(d.image.get_pixel(20, 15)[0] > 240);
        assert_eq!(d.original, (40, 30));
    }

    #[test]
    fn an_icc_profile_is_converted_to_srgb() {
        use image::ImageEncoder as _;
        // A P3 picture (iPhones and Samsung phones write these) of one
        // muted orange; Samsung's profile has "sRGB" in its name.
        for name in ["Display P3", "DCI-P3 D65 Gamut with sRGB Transfer"] {
            let mut p3 = moxcms::ColorProfile::new_display_p3();
            p3.description = Some(moxcms::ProfileText::PlainString(name.into()));
            let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]));
            let mut png = Vec::new();
            let mut enc = image::codecs::png::PngEncoder::new(&mut png);
            enc.set_icc_profile(p3.encode().unwrap()).unwrap();
            enc.write_image(img.as_raw(), 16, 16, image::ExtendedColorType::Rgb8)
                .unwrap();
            let d = decode(&png, 2048, None).unwrap();
            assert!(
                d.steps
                    .iter()
                    .any(|s| s.starts_with("colours converted from ICC profile")),
                "{name}: {:?}",
                d.steps
            );
            // In sRGB the same colour needs more red and less green and blue.
            let p = d.image.get_pixel(8, 8);
            assert!(p[0] > 205 && p[1] < 98 && p[2] < 48, "{name}: {p:?}");
        }
    }

    #[test]
    fn cmyk_jpeg_keeps_its_colours() {
        // Pure red is no cyan, full magenta and yellow, no black. The
        // encoder stores ink amounts inverted with an Adobe APP14 marker,
        // as Photoshop does (CMYK as is, or as YCCK).
        let (w, h) = (64u16, 48u16);
        let stored: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .flat_map(|_| [0, 255, 255, 0])
            .collect();
        for color in [
            jpeg_encoder::ColorType::Cmyk,
            jpeg_encoder::ColorType::CmykAsYcck,
        ] {
            let mut jpg = Vec::new();
            jpeg_encoder::Encoder::new(&mut jpg, 95)
                .encode(&stored, w, h, color)
                .unwrap();
            let d = decode(&jpg, 2048, None).unwrap();
            let p = d.image.get_pixel(32, 24);
            assert!(p[0] > 230 && p[1] < 25 && p[2] < 25, "{color:?}: {p:?}");
            assert!(d.steps.iter().any(|s| s.contains("CMYK")), "{:?}", d.steps);
        }
    }

    #[test]
    fn decompression_bomb_is_refused_before_decoding() {
        // A JPEG whose frame header claims 30000 x 30000 pixels.
        let mut jpg = Vec::new();
        RgbImage::new(8, 8)
            .write_to(&mut Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
            .unwrap();
        let sof = jpg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpg[sof + 5..sof + 7].copy_from_slice(&30_000u16.to_be_bytes());
        jpg[sof + 7..sof + 9].copy_from_slice(&30_000u16.to_be_bytes());
        let err = decode(&jpg, 2048, None).err().unwrap();
        assert!(
            err.contains("safety limits") && err.contains("not decoded"),
            "{err}"
        );
    }
}
