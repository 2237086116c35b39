//! Making a photo fit a platform: orientation applied, resized, re-encoded as
//! JPEG without metadata, quality searched to meet a byte budget.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::decode::decode;
use crate::heif::HeifConvert;

/// Lowest JPEG quality tried before the image is made smaller instead.
const MIN_QUALITY: u8 = 45;
const MAX_QUALITY: u8 = 88;

/// A fitted JPEG.
#[derive(Clone, Debug)]
pub(crate) struct Fitted {
    /// The JPEG bytes (no EXIF, no GPS).
    pub(crate) jpeg: Vec<u8>,
    /// Width after orientation and resizing.
    pub(crate) width: u32,
    /// Height after orientation and resizing.
    pub(crate) height: u32,
    /// The JPEG quality used.
    pub(crate) quality: u8,
    /// Width and height of the original, as stored (0x0 when unknown).
    pub(crate) original: (u32, u32),
    /// How it was decoded: conversion, orientation, colour.
    pub(crate) steps: Vec<String>,
    /// The program that converted the original first, if any.
    pub(crate) converter: Option<String>,
}

/// Why a photo has no upload copy.
#[derive(Clone, Debug)]
pub(crate) enum FitError {
    /// Its image data cannot be decoded (the bytes may be intact).
    Undecodable(String),
    /// No readable copy fits the budget.
    TooLarge(String),
}

/// Fits a photo into `long_edge` pixels and `budget` bytes.
pub(crate) fn fit_photo(
    bytes: &[u8],
    long_edge: u32,
    budget: u64,
    heif: Option<&HeifConvert>,
) -> Result<Fitted, FitError> {
    let decoded = decode(bytes, long_edge, heif).map_err(FitError::Undecodable)?;
    let rgb = decoded.image;
    let (w, h) = rgb.dimensions();
    let internal = |e: String| FitError::TooLarge(e);
    let src = Image::from_vec_u8(w, h, rgb.into_raw(), PixelType::U8x3)
        .map_err(|e| internal(e.to_string()))?;
    let mut edge = long_edge.min(w.max(h));
    loop {
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
                .map_err(|e| internal(e.to_string()))?;
            dst.into_vec()
        };
        if let Some(fitted) = fit_quality(&resized, tw, th, budget).map_err(internal)? {
            return Ok(Fitted {
                jpeg: fitted.0,
                width: tw,
                height: th,
                quality: fitted.1,
                original: decoded.original,
                steps: decoded.steps,
                converter: decoded.converter,
            });
        }
        edge = edge * 3 / 4;
        if edge < 320 {
            break;
        }
    }
    Err(FitError::TooLarge(format!(
        "it cannot be made smaller than {budget} bytes while staying readable (320 px)"
    )))
}

/// The JPEG of `rgb` (`w` x `h`) at the highest quality that fits `budget`
/// (at most `MAX_QUALITY`, at least `MIN_QUALITY`), or `None`.
///
/// Large images are first measured on a sample: every other 16x16 block
/// (one 4:2:0 MCU) of every other block row, a quarter of the pixels with
/// the same local detail. The sample's size times the area ratio predicts
/// the full size at any quality to about 1.5% (measured on 12 MP photos)
/// for a quarter of the cost, so the quality search runs on the sample and
/// the full image is encoded at the quality found; when the prediction was
/// high enough that the next quality may fit too, that one is tried. When
/// the full encode misses the budget, when the prediction was more than 3%
/// too high (a sample unlike the whole), or when the image is too small to
/// sample, the search runs on full encodes.
fn fit_quality(rgb: &[u8], w: u32, h: u32, budget: u64) -> Result<Option<(Vec<u8>, u8)>, String> {
    let full = |q: u8| {
        encode(rgb, w, h, q).map(|j| {
            let n = j.len();
            (j, n)
        })
    };
    let Some((sample, sw, sh)) = sample(rgb, w, h) else {
        let (first, n) = full(MAX_QUALITY)?;
        if n as u64 <= budget {
            return Ok(Some((first, MAX_QUALITY)));
        }
        return highest_fitting(budget, (MAX_QUALITY, n), full);
    };
    let scale = f64::from(w) * f64::from(h) / (f64::from(sw) * f64::from(sh));
    let mut known = [0usize; MAX_QUALITY as usize + 1];
    let mut predict = |q: u8| -> Result<((), usize), String> {
        let slot = &mut known[usize::from(q)];
        if *slot == 0 {
            *slot = (encode(&sample, sw, sh, q)?.len() as f64 * scale) as usize;
        }
        Ok(((), *slot))
    };
    let (_, top) = predict(MAX_QUALITY)?;
    let q = if top as u64 <= budget {
        MAX_QUALITY
    } else {
        highest_fitting(budget, (MAX_QUALITY, top), &mut predict)?.map_or(MIN_QUALITY, |(_, q)| q)
    };
    let (jpeg, n) = full(q)?;
    if n as u64 > budget {
        return highest_fitting(budget, (q, n), full);
    }
    if q == MAX_QUALITY {
        return Ok(Some((jpeg, q)));
    }
    let error = n as f64 / predict(q)?.1.max(1) as f64;
    // A sample unlike the whole (content repeating every 32 px lines up
    // with the sampling) predicts far too high: search on full encodes.
    if error < 0.97 {
        let (top, n88) = full(MAX_QUALITY)?;
        if n88 as u64 <= budget {
            return Ok(Some((top, MAX_QUALITY)));
        }
        return highest_fitting(budget, (MAX_QUALITY, n88), full);
    }
    // Correct the next quality's prediction by this one's error.
    if predict(q + 1)?.1 as f64 * error <= budget as f64 {
        let (better, m) = full(q + 1)?;
        if m as u64 <= budget {
            return Ok(Some((better, q + 1)));
        }
    }
    Ok(Some((jpeg, q)))
}

/// Every other 16x16 block of every other block row of `rgb`, packed into
/// one image; `None` when the image has fewer than 8 blocks a side.
fn sample(rgb: &[u8], w: u32, h: u32) -> Option<(Vec<u8>, u32, u32)> {
    const B: usize = 16;
    let (w, h) = (w as usize, h as usize);
    let (nx, ny) = ((w / B).div_ceil(2), (h / B).div_ceil(2));
    if w / B < 8 || h / B < 8 {
        return None;
    }
    let (sw, sh) = (nx * B, ny * B);
    let mut out = Vec::with_capacity(sw * sh * 3);
    for by in 0..ny {
        for y in by * 2 * B..by * 2 * B + B {
            for bx in 0..nx {
                let start = (y * w + bx * 2 * B) * 3;
                out.extend_from_slice(rgb.get(start..start + B * 3)?);
            }
        }
    }
    Some((out, u32::try_from(sw).ok()?, u32::try_from(sh).ok()?))
}

/// The highest quality below `too_big.0` (and at least `MIN_QUALITY`) whose
/// JPEG fits `budget`, assuming size grows with quality. JPEG size grows
/// roughly exponentially with quality, so the next quality tried is
/// interpolated on log size between the closest known points (about 3
/// encodes instead of a binary search's 6); the answer is the same.
fn highest_fitting<T>(
    budget: u64,
    too_big: (u8, usize),
    mut probe: impl FnMut(u8) -> Result<(T, usize), String>,
) -> Result<Option<(T, u8)>, String> {
    let target = (budget.max(1) as f64).ln();
    let ln = |n: usize| (n.max(1) as f64).ln();
    let (mut hi, mut prev_hi) = (too_big, None::<(u8, usize)>);
    let mut best: Option<(T, u8, usize)> = None;
    // After three probes, bisect only: never much worse than a binary search.
    let mut probes = 0;
    loop {
        let floor = best.as_ref().map_or(MIN_QUALITY, |b| b.1 + 1);
        if floor >= hi.0 {
            return Ok(best.map(|(jpeg, q, _)| (jpeg, q)));
        }
        // A line through the closest point that fits and the closest that
        // does not; before anything fits, the slope of the last two misses
        // (or about x2 per 12 quality steps).
        let (q0, s0, slope) = match (&best, prev_hi) {
            (Some((_, q, n)), _) => (
                f64::from(*q),
                ln(*n),
                (ln(hi.1) - ln(*n)) / f64::from(hi.0 - q),
            ),
            (None, Some(p)) => (
                f64::from(hi.0),
                ln(hi.1),
                (ln(p.1) - ln(hi.1)) / f64::from(p.0 - hi.0),
            ),
            (None, None) => (f64::from(hi.0), ln(hi.1), std::f64::consts::LN_2 / 12.0),
        };
        probes += 1;
        // Before anything fits, aim 3% under the budget: landing just
        // below it closes the bracket from underneath in one more probe.
        let aim = if best.is_some() {
            target
        } else {
            target + 0.97f64.ln()
        };
        let guess = if probes > 3 {
            f64::from(floor) + f64::from(hi.0 - 1 - floor) / 2.0
        } else {
            q0 + (aim - s0) / slope.max(1e-3)
        };
        let q = (guess.floor() as i64).clamp(i64::from(floor), i64::from(hi.0) - 1) as u8;
        let (value, n) = probe(q)?;
        if n as u64 <= budget {
            best = Some((value, q, n));
        } else {
            prev_hi = Some(hi);
            hi = (q, n);
        }
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn quality_search_finds_the_highest_fitting_quality_in_few_encodes() {
        // Monotone size curves of different shapes, and every budget.
        let curves: [fn(u8) -> usize; 3] = [
            |q| (20_000.0 * (f64::from(q) / 12.0).exp2()) as usize,
            |q| 50_000 + 3_000 * usize::from(q),
            |q| {
                if q < 70 {
                    100_000
                } else {
                    100_000 + 40_000 * usize::from(q - 69)
                }
            },
        ];
        let mut worst = 0;
        for curve in curves {
            for budget in (40_000..2_000_000u64).step_by(7_919) {
                let mut calls = 0;
                let got = super::highest_fitting(
                    budget,
                    (super::MAX_QUALITY, curve(super::MAX_QUALITY)),
                    |q| {
                        calls += 1;
                        Ok(((), curve(q)))
                    },
                )
                .unwrap()
                .map(|(_, q)| q);
                let want = (super::MIN_QUALITY..super::MAX_QUALITY)
                    .rev()
                    .find(|q| curve(*q) as u64 <= budget);
                assert_eq!(got, want, "budget {budget}");
                worst = worst.max(calls);
            }
        }
        assert!(worst <= 9, "{worst} encodes in the worst case");
    }

    use super::*;

    #[test]
    fn sampled_quality_search_fits_and_is_within_one_step_of_the_best() {
        // A 1280x960 gradient with deterministic noise: detail like a photo's.
        check_search(false);
        // Noise only in every other band of 16 rows: exactly what the
        // sample takes, so it predicts twice the real size.
        check_search(true);
    }

    fn check_search(banded: bool) {
        let (w, h) = (1280u32, 960u32);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let base = ((i / 3) % w * 255 / w) as u8;
                let row = i / 3 / w;
                if banded && (row / 16) % 2 == 1 {
                    base
                } else {
                    base.wrapping_add((x % 48) as u8)
                }
            })
            .collect();
        let sizes: Vec<usize> = (MIN_QUALITY..=MAX_QUALITY)
            .map(|q| encode(&rgb, w, h, q).unwrap().len())
            .collect();
        let size = |q: u8| sizes[usize::from(q - MIN_QUALITY)];
        for budget in [
            size(MIN_QUALITY) as u64 - 1,
            size(50) as u64 + 10,
            size(67) as u64,
            (size(75) as u64 + size(76) as u64) / 2,
            size(MAX_QUALITY) as u64 + 1,
        ] {
            let best = (MIN_QUALITY..=MAX_QUALITY)
                .rev()
                .find(|q| size(*q) as u64 <= budget);
            let got = fit_quality(&rgb, w, h, budget).unwrap();
            match (best, got) {
                (None, None) => {}
                (Some(best), Some((jpeg, q))) => {
                    assert!(
                        jpeg.len() as u64 <= budget,
                        "budget {budget}: {} bytes",
                        jpeg.len()
                    );
                    assert_eq!(jpeg.len(), size(q));
                    assert!(
                        q + 1 >= best && q <= best,
                        "budget {budget}: quality {q}, best {best}"
                    );
                }
                (best, got) => panic!("budget {budget}: best {best:?}, got {:?}", got.map(|g| g.1)),
            }
        }
    }
}
