//! Photos as phones and cameras write them: HEIC (rotation and metadata
//! after the image data, made with the real `heif-enc`), WebP with an EXIF
//! orientation, EXIF with a bad IFD pointer, stray bytes between JPEG
//! segments, and photos no decoder takes — recorded with what is true,
//! exported upright, and never blocking a bundle.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::export::{ORDER, export, find_member, members};
use crate::util::{evault, ok, run};

/// 64x48 pixels: the left half red, the right half blue.
fn halves() -> image::RgbImage {
    image::RgbImage::from_fn(64, 48, |x, _| {
        if x < 32 {
            image::Rgb([255, 0, 0])
        } else {
            image::Rgb([0, 0, 255])
        }
    })
}

fn jpeg_of(img: &image::RgbImage) -> Vec<u8> {
    let mut jpg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 95)
        .encode_image(img)
        .unwrap();
    jpg
}

/// A little-endian EXIF (TIFF) block: Orientation in IFD0, and an Exif IFD
/// with DateTimeOriginal; with `bad_gps`, a GPS IFD pointer past the end.
fn exif(orientation: u16, taken: &str, bad_gps: bool) -> Vec<u8> {
    let n: u16 = if bad_gps { 3 } else { 2 };
    let ifd0 = 8u32;
    let exif_ifd = ifd0 + 2 + 12 * u32::from(n) + 4;
    let data = exif_ifd + 2 + 12 + 4;
    let mut t = b"II\x2a\x00".to_vec();
    t.extend_from_slice(&ifd0.to_le_bytes());
    t.extend_from_slice(&n.to_le_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation));
    entry(&mut t, 0x8769, 4, 1, exif_ifd);
    if bad_gps {
        entry(&mut t, 0x8825, 4, 1, 0x00FF_FF00);
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x9003, 2, 20, data);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(taken.as_bytes());
    t.push(0);
    t
}

/// `jpg` with an APP1 segment holding `payload` right after its SOI.
fn with_app1(jpg: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = jpg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpg[2..]);
    out
}

fn exif_app1(tiff: &[u8]) -> Vec<u8> {
    [&b"Exif\0\0"[..], tiff].concat()
}

/// The offset of the first marker `m` among a JPEG's segments (before SOS).
fn segment(jpg: &[u8], m: u8) -> usize {
    let mut at = 2;
    while jpg[at + 1] != m {
        at += 2 + usize::from(u16::from_be_bytes([jpg[at + 2], jpg[at + 3]]));
    }
    at
}

/// A vault whose order holds `files` (name, bytes), disputed as not received.
fn vault_with(dir: &Path, files: &[(&str, Vec<u8>)]) -> (PathBuf, String, String) {
    let vault = dir.join("vault");
    ok(evault(&vault).arg("init"));
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let (code, out, err) = run(evault(&vault).args(["add", ORDER]).args(&paths));
    assert_eq!(code, 0, "{out}{err}");
    ok(evault(&vault).args([
        "dispute",
        ORDER,
        "--platform",
        "ebay",
        "--reason",
        "not-received",
    ]));
    (vault, out, err)
}

/// Recorded image facts of every evidence entry, by name.
fn images(vault: &Path) -> Vec<(String, serde_json::Value, Vec<String>)> {
    let log: serde_json::Value =
        serde_json::from_str(&ok(evault(vault).args(["log", ORDER, "--json"]))).unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "evidence")
        .filter_map(|ev| {
            Some((
                ev["name"].as_str()?.to_owned(),
                ev["image"].clone(),
                ev["warnings"]
                    .as_array()?
                    .iter()
                    .map(|w| w.as_str().unwrap_or_default().to_owned())
                    .collect(),
            ))
        })
        .collect()
}

/// Asserts `img` shows `halves()` turned 90° clockwise: red on top, blue below.
fn assert_turned_clockwise(img: &image::RgbImage, what: &str) {
    let (w, h) = img.dimensions();
    assert!(h > w, "{what}: {w}x{h} is not portrait");
    let top = img.get_pixel(w / 2, h / 8);
    let bottom = img.get_pixel(w / 2, h * 7 / 8);
    assert!(
        top[0] > 200 && top[2] < 60,
        "{what}: top is {top:?}, not red"
    );
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "{what}: bottom is {bottom:?}, not blue"
    );
}

/// The JPEG upload files of a bundle, decoded.
fn uploaded_photos(zip: &Path) -> Vec<(String, image::RgbImage)> {
    members(zip)
        .into_iter()
        .filter(|(n, _)| n.contains("/data/upload/") && n.ends_with(".jpg"))
        .map(|(n, b)| (n, image::load_from_memory(&b).unwrap().into_rgb8()))
        .collect()
}

/// A HEIC as an iPhone or a Samsung writes it: the image stored sideways
/// with an `irot` rotation (`quarter_turns` anticlockwise), an EXIF
/// orientation decoders must not apply again, and the `meta` box (with
/// the EXIF item's location) after the image data. Made by the real
/// `heif-enc`, then its boxes rearranged.
fn phone_heic(dir: &Path, quarter_turns: u8) -> Vec<u8> {
    let src = dir.join("heif-src.jpg");
    fs::write(
        &src,
        with_app1(
            &jpeg_of(&halves()),
            &exif_app1(&exif(6, "2026:11:18 09:10:11", false)),
        ),
    )
    .unwrap();
    let out = dir.join("heif-enc.heic");
    let (code, o, e) = run(Command::new("heif-enc")
        .args(["-q", "90", "-o"])
        .arg(&out)
        .arg(&src));
    assert_eq!(code, 0, "heif-enc: {o}{e}");
    let heic = fs::read(&out).unwrap();
    let boxes = top_boxes(&heic);
    let get = |k: &[u8]| boxes.iter().find(|b| b.0 == k).unwrap().1.clone();
    let (ftyp, meta, mdat) = (get(b"ftyp"), get(b"meta"), get(b"mdat"));
    let order: Vec<&[u8; 4]> = boxes.iter().map(|b| &b.0).collect();
    assert_eq!(order, [b"ftyp", b"meta", b"mdat"], "heif-enc's layout");
    // mdat moves back by the size of meta: every file offset in iloc too.
    let meta = with_irot(&meta, quarter_turns, -(meta.len() as i64));
    [ftyp, mdat, meta].concat()
}

/// Top-level boxes: (type, whole box bytes).
fn top_boxes(b: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        out.push((
            b[at + 4..at + 8].try_into().unwrap(),
            b[at..at + size].to_vec(),
        ));
        at += size;
    }
    out
}

/// Child boxes of a container body: (offset in `b`, size, type).
fn child_boxes(b: &[u8], from: usize) -> Vec<(usize, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut at = from;
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, size, b[at + 4..at + 8].try_into().unwrap()));
        at += size;
    }
    out
}

fn read_be(b: &[u8], at: usize, n: usize) -> u64 {
    b[at..at + n]
        .iter()
        .fold(0, |v, x| (v << 8) | u64::from(*x))
}

fn write_be(b: &mut [u8], at: usize, n: usize, v: u64) {
    for i in 0..n {
        b[at + i] = (v >> (8 * (n - 1 - i))) as u8;
    }
}

/// `meta` (a whole box) with an `irot` property associated with the
/// primary item, and iloc's file offsets moved by `shift`.
fn with_irot(meta: &[u8], quarter_turns: u8, shift: i64) -> Vec<u8> {
    let mut m = meta.to_vec();
    // meta: 8-byte header, 4 bytes version and flags, then children.
    let kids = child_boxes(&m, 12);
    let find =
        |kids: &[(usize, usize, [u8; 4])], k: &[u8; 4]| *kids.iter().find(|c| &c.2 == k).unwrap();
    let (pitm, _, _) = find(&kids, b"pitm");
    let primary = read_be(&m, pitm + 12, 2);
    // iloc: shift every extent offset (construction method 0: file offsets).
    let (iloc, _, _) = find(&kids, b"iloc");
    let version = m[iloc + 8];
    let sizes = m[iloc + 12];
    let (off_n, len_n) = (usize::from(sizes >> 4), usize::from(sizes & 15));
    let sizes2 = m[iloc + 13];
    let (base_n, idx_n) = (
        usize::from(sizes2 >> 4),
        if version > 0 {
            usize::from(sizes2 & 15)
        } else {
            0
        },
    );
    let (count, mut at) = if version < 2 {
        (read_be(&m, iloc + 14, 2), iloc + 16)
    } else {
        (read_be(&m, iloc + 14, 4), iloc + 18)
    };
    for _ in 0..count {
        at += if version < 2 { 2 } else { 4 };
        let mut method = 0;
        if version > 0 {
            method = read_be(&m, at, 2) & 15;
            at += 2;
        }
        at += 2; // data reference index
        // Only file offsets (method 0) move; idat offsets are relative.
        let shift = if method == 0 { shift } else { 0 };
        let base = read_be(&m, at, base_n);
        if base_n > 0 && base > 0 {
            write_be(&mut m, at, base_n, (base as i64 + shift) as u64);
        }
        at += base_n;
        let extents = read_be(&m, at, 2);
        at += 2;
        for _ in 0..extents {
            at += idx_n;
            if base_n == 0 || base == 0 {
                let off = read_be(&m, at, off_n);
                write_be(&mut m, at, off_n, (off as i64 + shift) as u64);
            }
            at += off_n + len_n;
        }
    }
    // iprp/ipco gets an irot box; ipma associates it with the primary item.
    let (iprp, iprp_size, _) = find(&kids, b"iprp");
    let props = child_boxes(&m[..iprp + iprp_size], iprp + 8);
    let (ipco, ipco_size, _) = find(&props, b"ipco");
    let index = child_boxes(&m[..ipco + ipco_size], ipco + 8).len() as u8 + 1;
    let (ipma, _, _) = find(&props, b"ipma");
    assert!(ipma > ipco, "heif-enc's iprp layout: ipco, then ipma");
    let ipma_version = m[ipma + 8];
    let wide = m[ipma + 11] & 1 == 1;
    assert!(ipma_version == 0 && !wide, "heif-enc's ipma layout");
    let entries = read_be(&m, ipma + 12, 4);
    let mut at = ipma + 16;
    let mut insert_at = None;
    for _ in 0..entries {
        let item = read_be(&m, at, 2);
        let n = usize::from(m[at + 2]);
        if item == primary {
            m[at + 2] += 1;
            insert_at = Some(at + 3 + n);
        }
        at += 3 + n;
    }
    let insert_at = insert_at.expect("the primary item has properties");
    // Essential (0x80): decoders must apply it.
    m.insert(insert_at, 0x80 | index);
    let irot = [0, 0, 0, 9, b'i', b'r', b'o', b't', quarter_turns];
    let ipco_end = ipco + ipco_size;
    m.splice(ipco_end..ipco_end, irot);
    // Grow the sizes of the boxes that now hold more.
    let grow = |m: &mut Vec<u8>, at: usize, by: u64| {
        let v = read_be(m, at, 4);
        write_be(m, at, 4, v + by);
    };
    grow(&mut m, 0, 10);
    grow(&mut m, iprp, 10);
    grow(&mut m, ipco, 9);
    // ipma comes after ipco in iprp, so it moved by the 9 irot bytes.
    grow(&mut m, ipma + 9, 1);
    m
}

#[test]
fn an_iphone_style_heic_is_recorded_as_displayed_and_exported_upright_to_every_profile() {
    let tmp = tempfile::tempdir().unwrap();
    // irot 3: 270° anticlockwise, that is 90° clockwise (what an iPhone
    // held upright writes), and EXIF orientation 6 saying the same.
    let heic = phone_heic(tmp.path(), 3);
    let (vault, _, add_err) = vault_with(tmp.path(), &[("IMG_0001.HEIC", heic)]);
    assert!(!add_err.contains("IMAGE NOT READABLE"), "{add_err}");
    let recorded = images(&vault);
    let (_, info, _) = &recorded[0];
    // The size as displayed, and the camera time from the EXIF item that
    // lies after the image data.
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(48), Some(64)),
        "{info}"
    );
    assert_eq!(info["captured_at"], "2026-11-18T09:10:11", "{info}");
    for platform in [
        "ebay",
        "paypal",
        "amazon",
        "marketplace",
        "stripe",
        "shopify",
        "card",
    ] {
        let out = tmp.path().join(format!("{platform}.zip"));
        let (code, stdout, err) = export(&vault, &out, &["--platform", platform]);
        assert_eq!(code, 0, "{platform}: {stdout}{err}");
        assert!(!err.contains("left out"), "{platform}: {err}");
        let derivation: serde_json::Value =
            serde_json::from_slice(&find_member(&members(&out), "evault/derivation.json")).unwrap();
        let made_by = derivation
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["made_from"].as_array().unwrap().clone())
            .find(|s| s["name"] == "IMG_0001.HEIC")
            .map(|s| s["made_by"].clone())
            .unwrap_or_else(|| panic!("{platform}: no upload made from the HEIC: {derivation}"));
        assert!(
            made_by[0]
                .as_str()
                .unwrap()
                .starts_with("heif-convert (libheif "),
            "{platform}: {made_by}"
        );
        let photos = uploaded_photos(&out);
        if let Some((name, img)) = photos.first() {
            assert_turned_clockwise(img, &format!("{platform} {name}"));
        } else {
            // Photos become PDF pages: the embedded JPEG, as it is.
            let pdf = members(&out)
                .into_iter()
                .find(|(n, _)| n.contains("/data/upload/") && n.ends_with(".pdf"))
                .unwrap();
            let dir = tmp.path().join(format!("{platform}-pdf"));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("f.pdf"), &pdf.1).unwrap();
            ok(Command::new("pdfimages")
                .args(["-j", "f.pdf", "img"])
                .current_dir(&dir));
            let img = image::open(dir.join("img-000.jpg")).unwrap().into_rgb8();
            assert_turned_clockwise(&img, &format!("{platform} {}", pdf.0));
        }
    }
}

#[test]
fn without_heif_convert_an_export_that_needs_it_fails_naming_the_package_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, _, _) = vault_with(tmp.path(), &[("IMG_0001.HEIC", phone_heic(tmp.path(), 1))]);
    let before = ok(evault(&vault).args(["log", ORDER]));
    let out = tmp.path().join("never.zip");
    let (code, _, err) = run(evault(&vault).args(["export", ORDER, "-o"]).arg(&out).env(
        "EVAULT_HEIF_CONVERT",
        tmp.path().join("no-such-heif-convert"),
    ));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("libheif-examples")
            && err.contains("IMG_0001.HEIC")
            && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(ok(evault(&vault).args(["log", ORDER])), before);
}

/// WebP with an EXIF chunk (orientation 6), as cameras and Pillow write it
/// (with and without JPEG's "Exif\0\0" header in the chunk).
fn webp_with_exif(tiff: &[u8], jpeg_header: bool) -> Vec<u8> {
    let img = halves();
    let mut lossless = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
        .encode(img.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
        .unwrap();
    // RIFF, size, WEBP, then the VP8L chunk (padded to even length).
    let vp8l = &lossless[12..];
    let mut vp8x = b"VP8X".to_vec();
    vp8x.extend_from_slice(&10u32.to_le_bytes());
    vp8x.extend_from_slice(&[0x08, 0, 0, 0]); // flags: EXIF
    vp8x.extend_from_slice(&63u32.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&47u32.to_le_bytes()[..3]);
    let payload = if jpeg_header {
        exif_app1(tiff)
    } else {
        tiff.to_vec()
    };
    let mut chunk = b"EXIF".to_vec();
    chunk.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    chunk.extend_from_slice(&payload);
    if payload.len() % 2 == 1 {
        chunk.push(0);
    }
    let body = [&b"WEBP"[..], &vp8x, vp8l, &chunk].concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn webp_orientation_bad_ifd_pointers_and_stray_bytes_are_read_as_decoders_read_them() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = "2026:11:18 09:10:11";
    // Stray bytes between two JPEG segments (before the quantisation table).
    let plain = with_app1(&jpeg_of(&halves()), &exif_app1(&exif(6, taken, false)));
    let dqt = segment(&plain, 0xDB);
    let stray = [&plain[..dqt], &[0x00, 0x13, 0x37][..], &plain[dqt..]].concat();
    let files = [
        (
            "a-webp-plain.webp",
            webp_with_exif(&exif(6, taken, false), false),
        ),
        (
            "b-webp-pillow.webp",
            webp_with_exif(&exif(6, taken, false), true),
        ),
        (
            "c-bad-gps-pointer.jpg",
            with_app1(&jpeg_of(&halves()), &exif_app1(&exif(6, taken, true))),
        ),
        ("d-stray-bytes.jpg", stray),
    ];
    let (vault, _, add_err) = vault_with(tmp.path(), &files);
    assert!(!add_err.contains("IMAGE NOT READABLE"), "{add_err}");
    let recorded = images(&vault);
    assert_eq!(recorded.len(), files.len());
    for (name, info, warnings) in recorded {
        assert_eq!(info["orientation"], 6, "{name}: {info}");
        assert_eq!(info["captured_at"], "2026-11-18T09:10:11", "{name}: {info}");
        assert_eq!(
            (info["width"].as_u64(), info["height"].as_u64()),
            (Some(64), Some(48)),
            "{name}"
        );
        if name.contains("bad-gps") {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.starts_with("EXIF PARTLY DAMAGED")),
                "{name}: {warnings:?}"
            );
        } else {
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
        }
    }
    let out = tmp.path().join("ebay.zip");
    let (code, stdout, err) = export(&vault, &out, &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    let photos = uploaded_photos(&out);
    assert_eq!(photos.len(), 4, "{stdout}");
    for (name, img) in &photos {
        assert_turned_clockwise(img, name);
    }
    assert!(stdout.contains("EXIF orientation 6 applied"), "{stdout}");
}

/// A JPEG that is intact as bytes but no decoder evault runs takes: its
/// frame header says arithmetic coding (SOF9).
fn undecodable(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([seed, 90, 90]));
    let mut jpg = jpeg_of(&img);
    let sof = segment(&jpg, 0xC0);
    jpg[sof + 1] = 0xC9;
    jpg
}

#[test]
fn photos_that_cannot_be_decoded_are_all_named_at_recording_and_left_out_of_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let good = jpeg_of(&halves());
    let (vault, _, add_err) = vault_with(
        tmp.path(),
        &[
            ("label-IMG_1.jpg", good.clone()),
            ("IMG_2.jpg", undecodable(1)),
            ("IMG_3.jpg", undecodable(2)),
        ],
    );
    // Warned at once, while the camera copy still exists.
    for name in ["IMG_2.jpg", "IMG_3.jpg"] {
        assert!(
            add_err.lines().any(|l| l.contains(name)
                && l.contains("IMAGE NOT READABLE")
                && l.contains("re-save it now")),
            "{name}: {add_err}"
        );
    }
    assert!(!add_err.contains("label-IMG_1.jpg"), "{add_err}");
    // --strict refuses, naming both, and writes nothing.
    let strict = tmp.path().join("strict.zip");
    let (code, _, err) = export(&vault, &strict, &["--strict"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("IMG_2.jpg") && err.contains("IMG_3.jpg"),
        "{err}"
    );
    assert!(!strict.exists());
    // Without it: exit 0, every undecodable photo named on stderr and in
    // the fit report, the rest exported, the originals all in the bundle.
    let out = tmp.path().join("ebay.zip");
    let (code, stdout, err) = export(&vault, &out, &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    for name in ["IMG_2.jpg", "IMG_3.jpg"] {
        assert!(
            err.lines().any(|l| l.starts_with("warning:")
                && l.contains(name)
                && l.contains("cannot be decoded")),
            "{name}: {err}"
        );
    }
    let files = members(&out);
    let fit_report =
        String::from_utf8_lossy(&find_member(&files, "evault/fit-report.txt")).into_owned();
    assert_eq!(
        fit_report
            .matches("left out: the image cannot be decoded")
            .count(),
        2,
        "{fit_report}"
    );
    assert_eq!(uploaded_photos(&out).len(), 1);
    assert_eq!(
        files
            .iter()
            .filter(|(n, _)| n.contains("/data/originals/"))
            .count(),
        3
    );
    // The summary counts what it shows.
    let text = pdf_text(tmp.path(), &find_member(&files, "data/summary.pdf"));
    assert!(
        text.contains("3 photos recorded, 1 shown in this bundle's uploads; 2 left out: 2 because the image data cannot be decoded"),
        "{text}"
    );
}

#[test]
fn a_file_cap_leaves_out_the_least_important_photos_and_the_summary_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    // eBay takes 5 files; 7 photos, the label photo recorded last.
    let mut files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            let img = image::RgbImage::from_pixel(64, 48, image::Rgb([i * 40, 100, 100]));
            (format!("IMG_{i}.jpg"), jpeg_of(&img))
        })
        .collect();
    files.push(("label-IMG_9.jpg".into(), jpeg_of(&halves())));
    let named: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let (vault, _, _) = vault_with(tmp.path(), &named);
    let out = tmp.path().join("ebay.zip");
    let (code, stdout, err) = export(&vault, &out, &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    let warned: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warned.len(), 2, "{err}");
    assert!(
        warned
            .iter()
            .all(|l| l.contains("ebay takes at most 5 files")),
        "{err}"
    );
    // Not received: the label leads.
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("01-label.jpg <- ") && l.contains("label-IMG_9.jpg")),
        "{stdout}"
    );
    let text = pdf_text(tmp.path(), &find_member(&members(&out), "data/summary.pdf"));
    assert!(
        text.contains("7 photos recorded, 5 shown in this bundle's uploads; 2 left out: 2 because ebay takes at most 5 files"),
        "{text}"
    );
    let (code, _, err) = export(&vault, &tmp.path().join("strict.zip"), &["--strict"]);
    assert_eq!(code, 2, "{err}");
}

/// The text of a PDF, joined into one line (pdftotext wraps long rows).
pub fn pdf_text(dir: &Path, pdf: &[u8]) -> String {
    let f = dir.join("text.pdf");
    fs::write(&f, pdf).unwrap();
    let text = ok(Command::new("pdftotext").arg(&f).arg("-"));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_camera_time_only_in_xmp_is_read_there_and_said_so() {
    let tmp = tempfile::tempdir().unwrap();
    let xmp = br#"http://ns.adobe.com/xap/1.0/<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2026-11-18T09:10:11+08:00"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
    let payload = [&xmp[..28], b"\0", &xmp[28..]].concat();
    let (vault, _, _) = vault_with(
        tmp.path(),
        &[
            ("xmp-only.jpg", with_app1(&jpeg_of(&halves()), &payload)),
            ("no-time.jpg", jpeg_of(&halves())),
        ],
    );
    let recorded = images(&vault);
    assert_eq!(recorded.len(), 2);
    for (name, info, warnings) in recorded {
        if name == "xmp-only.jpg" {
            assert_eq!(info["captured_at"], "2026-11-18T09:10:11", "{info}");
            assert_eq!(info["captured_offset"], "+08:00", "{info}");
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains("XMP metadata (xmp:CreateDate)")),
                "{warnings:?}"
            );
        } else {
            assert!(info["captured_at"].is_null(), "{info}");
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    }
    // The summary says "no camera time" only for the file that has none.
    let out = tmp.path().join("ebay.zip");
    let (code, stdout, err) = export(&vault, &out, &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    let text = pdf_text(tmp.path(), &find_member(&members(&out), "data/summary.pdf"));
    assert_eq!(
        text.matches("no camera time in the file").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("2026-11-18T09:10:11+08:00 (camera clock)"),
        "{text}"
    );
}
