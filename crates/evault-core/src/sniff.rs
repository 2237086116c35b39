//! Media type sniffing and image header facts, from the first bytes of a file.
//!
//! Only headers are parsed: nothing is decoded. A file that claims to be an
//! image but whose header cannot be read is still recorded (the bytes are the
//! evidence), with a warning that tells staff to re-take it.

use std::io::Cursor;

use crate::entry::ImageInfo;

/// How many leading bytes are kept for sniffing and header parsing.
pub const PREFIX_LEN: usize = 1 << 20;

/// What sniffing found.
#[derive(Clone, Debug, PartialEq)]
pub struct Sniffed {
    /// The media type, from the content (and the name for text).
    pub media_type: String,
    /// Image facts read from the headers, for images.
    pub image: Option<ImageInfo>,
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
    sniff(prefix, tail, bytes.len() as u64, name)
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

/// Sniffs a file from its first bytes (`prefix`), its last two bytes and its name.
pub(crate) fn sniff(prefix: &[u8], tail: [u8; 2], size: u64, name: &str) -> Sniffed {
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
    let image = claims_image.then(|| image_info(prefix, tail, &media_type, &claim, &mut warnings));
    Sniffed {
        media_type,
        image,
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
    warnings: &mut Vec<String>,
) -> ImageInfo {
    let mut info = ImageInfo::default();
    match imagesize::blob_size(prefix) {
        Ok(size) => {
            info.width = u32::try_from(size.width).ok();
            info.height = u32::try_from(size.height).ok();
        }
        Err(err) => warnings.push(format!(
            "IMAGE NOT READABLE: {claim} but its image header cannot be parsed ({err}); the bytes are recorded as they are, re-take the photo if it does not open"
        )),
    }
    if media_type == "image/jpeg" && tail != [0xFF, 0xD9] && !is_motion_photo(prefix) {
        warnings.push(
            "JPEG DAMAGED: the file does not end with a JPEG end-of-image marker, so it is probably truncated (an interrupted copy); the bytes are recorded as they are, re-copy or re-take the photo"
                .to_owned(),
        );
    }
    if let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(prefix)) {
        read_exif(&exif, &mut info);
    }
    info
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

fn read_exif(exif: &exif::Exif, info: &mut ImageInfo) {
    info.orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v));
    info.camera_make = ascii(exif, exif::Tag::Make);
    info.camera_model = ascii(exif, exif::Tag::Model);
    info.captured_at = ascii(exif, exif::Tag::DateTimeOriginal).and_then(|s| {
        chrono::NaiveDateTime::parse_from_str(&s, "%Y:%m:%d %H:%M:%S")
            .ok()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
    });
    info.captured_offset = ascii(exif, exif::Tag::OffsetTimeOriginal).filter(|o| {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_lying_extension() {
        let s = sniff(b"time,sender,text\n", *b"t\n", 17, "chat.csv");
        assert_eq!(s.media_type, "text/csv");
        assert!(s.warnings.is_empty());
        let mut png = Vec::new();
        image::RgbImage::new(2, 3)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let s = sniff(&png, [0, 0], png.len() as u64, "photo.jpg");
        assert_eq!(s.media_type, "image/png");
        assert!(s.warnings[0].contains("ends in .jpg"), "{:?}", s.warnings);
        let info = s.image.unwrap();
        assert_eq!((info.width, info.height), (Some(2), Some(3)));
    }

    #[test]
    fn garbage_named_as_image_is_flagged() {
        let s = sniff(b"not an image at all", *b"ll", 19, "IMG_1.jpg");
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
        let s = sniff(&plain, *b"\x00\x00", plain.len() as u64 + 100, "IMG_1.jpg");
        assert!(
            s.warnings.iter().any(|w| w.starts_with("JPEG DAMAGED")),
            "{:?}",
            s.warnings
        );
        let whole = sniff(&plain, [0xFF, 0xD9], plain.len() as u64, "IMG_1.jpg");
        assert!(whole.warnings.is_empty(), "{:?}", whole.warnings);
        // A Google motion photo: XMP declares the video appended after the JPEG.
        let motion =
            jpeg(b"http://ns.adobe.com/xap/1.0/\0<GCamera:MicroVideo>1</GCamera:MicroVideo>");
        let s = sniff(
            &motion,
            *b"mp",
            motion.len() as u64 + 5_000_000,
            "PXL_1.MP.jpg",
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.image.unwrap().width, Some(4));
    }
}
