//! Media type sniffing and image header facts, from the first bytes of a file.
//!
//! Only headers are parsed: nothing is decoded. A file that claims to be an
//! image but whose header cannot be read is still recorded (the bytes are the
//! evidence), with a warning that tells staff to re-take it.

use std::io::{BufRead, Cursor, Seek, SeekFrom};

use crate::entry::ImageInfo;
use crate::heif_meta::{heif_exif, heif_facts};

/// How many leading bytes are kept for sniffing and header parsing.
pub const PREFIX_LEN: usize = 1 << 20;

/// What sniffing found.
#[derive(Clone, Debug, PartialEq)]
pub struct Sniffed {
    /// The media type, from the content (and the name for text).
    pub media_type: String,
    /// Image facts read from the headers, for images.
    pub image: Option<ImageInfo>,
    /// Container facts (videos).
    pub video: Option<crate::entry::VideoInfo>,
    /// What staff should know (a name that lies, a header that cannot be read).
    pub warnings: Vec<String>,
}

/// What recording a file would find out about it from its bytes and name:
/// the media type, image facts and warnings. Reads headers only (the first
/// [`PREFIX_LEN`] bytes and the last two), as recording does.
pub fn sniff_bytes(name: &str, bytes: &[u8]) -> Sniffed {
    let prefix = &bytes[..bytes.len().min(PREFIX_LEN)];
    let tail = match bytes {
        [.., a, b] => [*a, *b],
        _ => [0, 0],
    };
    sniff(
        prefix,
        tail,
        bytes.len() as u64,
        name,
        Some(&mut Cursor::new(bytes)),
    )
}

/// Extensions that mean the same thing.
fn same_extension(a: &str, b: &str) -> bool {
    let norm = |e: &str| match e {
        "jpeg" | "jpe" | "jfif" => "jpg".to_owned(),
        "tiff" => "tif".to_owned(),
        "heif" => "heic".to_owned(),
        other => other.to_owned(),
    };
    norm(a) == norm(b)
}

fn extension(name: &str) -> Option<String> {
    let file = name.rsplit('/').next().unwrap_or(name);
    let (stem, ext) = file.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

fn text_type(ext: Option<&str>) -> &'static str {
    match ext {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("eml") => "message/rfc822",
        Some("html" | "htm") => "text/html",
        _ => "text/plain",
    }
}

const IMAGE_EXTENSIONS: [&str; 11] = [
    "jpg", "jpeg", "png", "webp", "gif", "heic", "heif", "avif", "tif", "tiff", "bmp",
];

/// The whole file, read where metadata lies beyond the prefix (a HEIF
/// `meta` box after the image data, a WebP's EXIF chunk at its end).
pub(crate) trait Whole: BufRead + Seek {}
impl<T: BufRead + Seek> Whole for T {}

/// Sniffs a file from its first bytes (`prefix`), its last two bytes and
/// its name; image metadata is read from `whole` (the file) when given.
pub(crate) fn sniff(
    prefix: &[u8],
    tail: [u8; 2],
    size: u64,
    name: &str,
    whole: Option<&mut dyn Whole>,
) -> Sniffed {
    let ext = extension(name);
    let mut warnings = Vec::new();
    let media_type = match infer::get(prefix) {
        Some(t) => {
            if let Some(ext) = &ext
                && !same_extension(ext, t.extension())
            {
                warnings.push(format!(
                    "the name ends in .{ext} but the content is {} (.{}); recorded as {}; check it is the right file",
                    t.mime_type(),
                    t.extension(),
                    t.mime_type()
                ));
            }
            t.mime_type().to_owned()
        }
        None if size == 0 => {
            warnings.push(
                "the file is empty (0 bytes); re-copy it from the camera or phone".to_owned(),
            );
            "application/octet-stream".to_owned()
        }
        None if std::str::from_utf8(trim_partial_utf8(prefix)).is_ok() => {
            text_type(ext.as_deref()).to_owned()
        }
        None => "application/octet-stream".to_owned(),
    };
    let claims_image = media_type.starts_with("image/")
        || ext
            .as_deref()
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e));
    let claim = if media_type.starts_with("image/") {
        format!("its content starts like {media_type}")
    } else {
        format!("its name ends in .{}", ext.as_deref().unwrap_or_default())
    };
    let mut cursor = Cursor::new(prefix);
    let whole: &mut dyn Whole = match whole {
        Some(w) => w,
        None => &mut cursor,
    };
    let image = claims_image.then(|| {
        image_info(
            prefix,
            tail,
            &media_type,
            &claim,
            &mut *whole,
            &mut warnings,
        )
    });
    let video = match crate::video_meta::video_info(&media_type, &mut *whole, size) {
        Some(Ok(v)) => v,
        Some(Err(why)) => {
            warnings.push(format!(
                "VIDEO NOT READABLE: its content starts like {media_type} but {why}; the bytes are recorded as they are. Check the file plays, and record it again from the camera if it does not"
            ));
            None
        }
        None => None,
    };
    Sniffed {
        media_type,
        image,
        video,
        warnings,
    }
}

/// A prefix may end inside a multi-byte character; drop up to 3 trailing bytes of it.
fn trim_partial_utf8(prefix: &[u8]) -> &[u8] {
    match std::str::from_utf8(prefix) {
        Err(e) if e.error_len().is_none() => &prefix[..e.valid_up_to()],
        _ => prefix,
    }
}

fn image_info(
    prefix: &[u8],
    tail: [u8; 2],
    media_type: &str,
    claim: &str,
    whole: &mut dyn Whole,
    warnings: &mut Vec<String>,
) -> ImageInfo {
    let mut info = ImageInfo::default();
    let heif = matches!(media_type, "image/heif" | "image/heic" | "image/avif");
    // The size, and a header-level decode: what a decoder needs before the
    // pixels (frame header, tables, supported coding).
    let header = if heif {
        heif_facts(&mut &mut *whole).map(|f| (f.width, f.height))
    } else if media_type == "image/jpeg" {
        rewind(whole).and_then(|()| jpeg_header(whole))
    } else {
        rewind(whole).and_then(|()| other_header(whole))
    };
    match header {
        Ok((w, h)) => {
            info.width = Some(w);
            info.height = Some(h);
        }
        Err(why) => warnings.push(format!(
            "IMAGE NOT READABLE: {claim} but {why}; the bytes are recorded as they are. Re-take or re-save it now, while the camera copy exists: it cannot be shown to a platform"
        )),
    }
    if media_type == "image/jpeg" && tail != [0xFF, 0xD9] && !is_motion_photo(prefix) {
        warnings.push(
            "JPEG DAMAGED: the file does not end with a JPEG end-of-image marker, so it is probably truncated (an interrupted copy); the bytes are recorded as they are, re-copy or re-take the photo"
                .to_owned(),
        );
    }
    let (exif, xmp) = metadata(media_type, prefix, whole);
    let mut exif_time = false;
    match exif {
        Some(Ok(exif)) => exif_time = read_exif(&exif, &mut info),
        Some(Err(err)) => match err.distill_partial_result(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            warnings.push(format!(
                "EXIF PARTLY DAMAGED: {} part(s) of the EXIF metadata could not be read ({first}); the rest was read",
                errors.len()
            ));
        }) {
            Ok(exif) => exif_time = read_exif(&exif, &mut info),
            // No EXIF at all, or none that can be read: nothing to say
            // unless it claimed to be there.
            Err(exif::Error::NotFound(_) | exif::Error::BlankValue(_)) => {}
            Err(e) => warnings.push(format!(
                "EXIF UNREADABLE: the EXIF metadata cannot be read ({e}); no camera time or orientation was taken from it"
            )),
        },
        None => {}
    }
    if heif {
        // The HEIF's own rotation (irot) is part of the image; its EXIF
        // orientation is not applied by decoders.
        info.orientation = None;
    }
    if !exif_time {
        let text = xmp.unwrap_or_else(|| String::from_utf8_lossy(prefix).into_owned());
        if let Some((at, offset, tag)) = xmp_time(&text) {
            info.captured_at = Some(at);
            info.captured_offset = offset;
            warnings.push(format!(
                "the camera time was read from the XMP metadata ({tag}): the file has no EXIF capture time"
            ));
        }
    }
    info
}

/// The EXIF orientation (1–8) of an image file of any container (JPEG,
/// PNG, WebP, TIFF), read leniently. HEIF files give `None`: their own
/// rotation (`irot`) is what decoders apply.
pub fn exif_orientation(bytes: &[u8]) -> Option<u16> {
    let media_type = infer::get(bytes).map(|t| t.mime_type())?;
    if matches!(media_type, "image/heif" | "image/heic" | "image/avif") {
        return None;
    }
    let prefix = &bytes[..bytes.len().min(PREFIX_LEN)];
    let exif = match metadata(media_type, prefix, &mut Cursor::new(bytes)).0? {
        Ok(e) => e,
        Err(e) => e.distill_partial_result(|_| {}).ok()?,
    };
    let mut info = ImageInfo::default();
    read_exif(&exif, &mut info);
    info.orientation
}

type Metadata = (Option<Result<exif::Exif, exif::Error>>, Option<String>);

/// The EXIF (read leniently) and, for JPEG, the XMP of an image.
fn metadata(media_type: &str, prefix: &[u8], whole: &mut dyn Whole) -> Metadata {
    let lenient = || {
        let mut reader = exif::Reader::new();
        reader.continue_on_error(true);
        reader
    };
    match media_type {
        "image/jpeg" => jpeg_metadata(prefix),
        // Some writers (Pillow among them) start a WebP's EXIF chunk with
        // JPEG's "Exif\0\0" header, which kamadak-exif refuses.
        "image/webp" => (
            rewind(whole)
                .ok()
                .and_then(|()| webp_exif(whole))
                .map(|raw| lenient().read_raw(raw)),
            None,
        ),
        // Read from the item's extents: kamadak-exif stops at 128 KiB.
        "image/heif" | "image/heic" | "image/avif" => (
            rewind(whole)
                .ok()
                .and_then(|()| heif_exif(&mut &mut *whole).ok().flatten())
                .map(|raw| lenient().read_raw(raw)),
            None,
        ),
        // The other containers kamadak-exif knows; GIF and BMP have no EXIF.
        "image/png" | "image/tiff" => (
            rewind(whole)
                .ok()
                .map(|()| lenient().read_from_container(&mut &mut *whole)),
            None,
        ),
        _ => (None, None),
    }
}

/// The payload of a WebP's EXIF chunk, without a leading "Exif\0\0".
fn webp_exif(r: &mut dyn Whole) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut head = [0u8; 12];
    r.read_exact(&mut head).ok()?;
    if &head[..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return None;
    }
    for _ in 0..1_000 {
        let mut chunk = [0u8; 8];
        r.read_exact(&mut chunk).ok()?;
        let len = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        if &chunk[..4] == b"EXIF" {
            let mut raw = Vec::new();
            r.take(u64::from(len).min(16 << 20))
                .read_to_end(&mut raw)
                .ok()?;
            if raw.starts_with(b"Exif\0\0") {
                raw.drain(..6);
            }
            return Some(raw);
        }
        // Chunks are padded to an even length.
        r.seek(SeekFrom::Current(i64::from(len + (len & 1)))).ok()?;
    }
    None
}

fn rewind(r: &mut dyn Whole) -> Result<(), String> {
    r.seek(SeekFrom::Start(0))
        .map(|_| ())
        .map_err(|e| format!("it cannot be read ({e})"))
}

/// A JPEG's frame size, after the decoder has read every header and table.
fn jpeg_header(r: &mut dyn Whole) -> Result<(u32, u32), String> {
    let mut d = jpeg_decoder::Decoder::new(r);
    d.read_info().map_err(|e| match e {
        jpeg_decoder::Error::Unsupported(f) => {
            format!("its image data is in a form evault cannot decode ({f:?})")
        }
        e => format!("its image data is damaged ({e})"),
    })?;
    let info = d.info().ok_or("it has no frame header")?;
    Ok((u32::from(info.width), u32::from(info.height)))
}

/// The size of a PNG, WebP, GIF, TIFF or BMP, from its decoder's header read.
fn other_header(r: &mut dyn Whole) -> Result<(u32, u32), String> {
    use image::ImageDecoder as _;
    let reader = image::ImageReader::new(r)
        .with_guessed_format()
        .map_err(|e| format!("its image header cannot be parsed ({e})"))?;
    if reader.format().is_none() {
        return Err(
            "its image header cannot be parsed (not an image format evault decodes)".into(),
        );
    }
    let decoder = reader
        .into_decoder()
        .map_err(|e| format!("its image header cannot be parsed ({e})"))?;
    Ok(decoder.dimensions())
}

/// The EXIF (read leniently) and XMP of a JPEG, from its APP1 segments.
/// Stray bytes between segments are skipped, as decoders do.
fn jpeg_metadata(prefix: &[u8]) -> Metadata {
    const EXIF: &[u8] = b"Exif\0\0";
    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
    let (mut exif, mut xmp) = (None, None);
    let mut at = 2;
    while at + 4 <= prefix.len() {
        if prefix[at] != 0xFF {
            at += 1;
            continue;
        }
        let marker = prefix[at + 1];
        if marker == 0xFF || marker == 0x00 || (0xD0..=0xD7).contains(&marker) {
            at += 1;
            continue;
        }
        // Start of scan or end of image: no metadata follows.
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([prefix[at + 2], prefix[at + 3]]));
        let Some(body) = prefix.get(at + 4..at + 2 + len.max(2)) else {
            break;
        };
        if marker == 0xE1 && exif.is_none() && body.starts_with(EXIF) {
            let mut reader = exif::Reader::new();
            reader.continue_on_error(true);
            exif = Some(reader.read_raw(body[EXIF.len()..].to_vec()));
        } else if marker == 0xE1 && xmp.is_none() && body.starts_with(XMP) {
            xmp = Some(String::from_utf8_lossy(&body[XMP.len()..]).into_owned());
        }
        at += 2 + len.max(2);
    }
    (exif, xmp)
}

/// The capture time in an XMP packet: `DateTimeOriginal`, `CreateDate` or
/// `DateCreated` under any namespace prefix (`exif:`, `xmp:` or the older
/// `xap:`, `photoshop:`), as an attribute or an element. Returns the local
/// time, its offset and the tag it came from.
fn xmp_time(text: &str) -> Option<(String, Option<String>, String)> {
    for local in ["DateTimeOriginal", "CreateDate", "DateCreated"] {
        let needle = format!(":{local}");
        for (i, _) in text.match_indices(&needle) {
            let prefix: String = text[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if prefix.is_empty() {
                continue;
            }
            let rest = text[i + needle.len()..].trim_start();
            let value = if let Some(r) = rest.strip_prefix('=') {
                let r = r.trim_start();
                r.chars()
                    .next()
                    .filter(|q| matches!(q, '"' | '\''))
                    .and_then(|q| r[1..].split(q).next())
            } else if let Some(r) = rest.strip_prefix('>') {
                r.split('<').next()
            } else {
                None
            };
            if let Some((at, offset)) = value.and_then(|v| xmp_date(v.trim())) {
                return Some((at, offset, format!("{prefix}:{local}")));
            }
        }
    }
    None
}

/// `2026-11-18T09:00:00[.123][+08:00|Z]` (seconds may be missing).
fn xmp_date(v: &str) -> Option<(String, Option<String>)> {
    let (local, zone) = match v
        .find(['+', 'Z'])
        .or_else(|| v.rfind('-').filter(|i| *i > 10))
    {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let local = local.split('.').next()?;
    let t = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M"))
        .ok()?;
    let offset = match zone {
        Some("Z") => Some("+00:00".to_owned()),
        Some(z) if z.len() == 6 && z.as_bytes()[3] == b':' => Some(z.to_owned()),
        _ => None,
    };
    Some((t.format("%Y-%m-%dT%H:%M:%S").to_string(), offset))
}

/// Motion photos (Google, Samsung) carry a video after the JPEG's end
/// marker, declared in the XMP near the start of the file.
fn is_motion_photo(prefix: &[u8]) -> bool {
    [&b"MotionPhoto"[..], b"MicroVideo"]
        .iter()
        .any(|m| prefix.windows(m.len()).any(|w| w == *m))
}

fn ascii(exif: &exif::Exif, tag: exif::Tag) -> Option<String> {
    let field = exif.get_field(tag, exif::In::PRIMARY)?;
    match &field.value {
        exif::Value::Ascii(parts) => {
            let s = String::from_utf8_lossy(parts.first()?);
            let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!s.is_empty()).then(|| s.to_owned())
        }
        _ => None,
    }
}

/// Reads the EXIF facts; returns whether a capture time was found
/// (DateTimeOriginal, else DateTimeDigitized).
fn read_exif(exif: &exif::Exif, info: &mut ImageInfo) -> bool {
    info.orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    info.camera_make = ascii(exif, exif::Tag::Make);
    info.camera_model = ascii(exif, exif::Tag::Model);
    let time = |tag| {
        ascii(exif, tag).and_then(|s| {
            chrono::NaiveDateTime::parse_from_str(&s, "%Y:%m:%d %H:%M:%S")
                .ok()
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        })
    };
    let (at, offset_tag) = match time(exif::Tag::DateTimeOriginal) {
        Some(t) => (Some(t), exif::Tag::OffsetTimeOriginal),
        None => (
            time(exif::Tag::DateTimeDigitized),
            exif::Tag::OffsetTimeDigitized,
        ),
    };
    info.captured_at = at;
    info.captured_offset = ascii(exif, offset_tag).filter(|o| {
        let b = o.as_bytes();
        b.len() == 6
            && matches!(b[0], b'+' | b'-')
            && b[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
    });
    info.gps = exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .is_some()
        || exif
            .get_field(exif::Tag::GPSLongitude, exif::In::PRIMARY)
            .is_some();
    info.captured_at.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_lying_extension() {
        let s = sniff(b"time,sender,text\n", *b"t\n", 17, "chat.csv", None);
        assert_eq!(s.media_type, "text/csv");
        assert!(s.warnings.is_empty());
        let mut png = Vec::new();
        image::RgbImage::new(2, 3)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let s = sniff(&png, [0, 0], png.len() as u64, "photo.jpg", None);
        assert_eq!(s.media_type, "image/png");
        assert!(s.warnings[0].contains("ends in .jpg"), "{:?}", s.warnings);
        let info = s.image.unwrap();
        assert_eq!((info.width, info.height), (Some(2), Some(3)));
    }

    #[test]
    fn garbage_named_as_image_is_flagged() {
        let s = sniff(b"not an image at all", *b"ll", 19, "IMG_1.jpg", None);
        assert!(
            s.warnings.iter().any(|w| w.contains("IMAGE NOT READABLE")),
            "{:?}",
            s.warnings
        );
    }

    fn jpeg(extra: &[u8]) -> Vec<u8> {
        let mut jpg = Vec::new();
        image::RgbImage::new(4, 5)
            .write_to(&mut Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
            .unwrap();
        // An APP1 segment with the given payload right after SOI.
        let mut out = jpg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(extra.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(extra);
        out.extend_from_slice(&jpg[2..]);
        out
    }

    #[test]
    fn truncated_jpeg_is_flagged_but_a_motion_photo_is_not() {
        let plain = jpeg(b"nothing special");
        let s = sniff(
            &plain,
            *b"\x00\x00",
            plain.len() as u64 + 100,
            "IMG_1.jpg",
            None,
        );
        assert!(
            s.warnings.iter().any(|w| w.starts_with("JPEG DAMAGED")),
            "{:?}",
            s.warnings
        );
        let whole = sniff(&plain, [0xFF, 0xD9], plain.len() as u64, "IMG_1.jpg", None);
        assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        // A Google motion photo: XMP declares the video appended after the JPEG.
        let motion =
            jpeg(b"http://ns.adobe.com/xap/1.0/\0<GCamera:MicroVideo>1</GCamera:MicroVideo>");
        let s = sniff(
            &motion,
            *b"mp",
            motion.len() as u64 + 5_000_000,
            "PXL_1.MP.jpg",
            None,
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.image.unwrap().width, Some(4));
    }
}
