//! What ingest reads from a file's header: media type, image facts, warnings.

use std::fs;

use evault_core::{EvidenceKind, Vault};

use crate::util::{actor, bytes, evault, order, run, sample};

fn record(name: &str, data: Vec<u8>) -> evault_core::Evidence {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::init(tmp.path().join("v")).unwrap();
    let o = order("SO-1");
    vault.add(&o, vec![bytes(name, data)], &actor()).unwrap();
    vault.log(&o).unwrap().entries[0]
        .entry
        .evidence()
        .unwrap()
        .clone()
}

#[test]
fn camera_jpeg_gives_dimensions_exif_time_with_offset_and_gps() {
    let e = record("IMG_2041.jpg", sample("112-7739151-0042185/IMG_2041.jpg"));
    assert_eq!(
        (e.kind, e.media_type.as_str()),
        (EvidenceKind::PackingPhoto, "image/jpeg")
    );
    let img = e.image.unwrap();
    assert_eq!(
        (img.width, img.height, img.orientation),
        (Some(640), Some(480), Some(1))
    );
    assert_eq!(img.camera_make.as_deref(), Some("Apple"));
    assert_eq!(img.camera_model.as_deref(), Some("iPhone 14 Pro"));
    assert_eq!(img.captured_at.as_deref(), Some("2026-11-18T09:12:31"));
    assert_eq!(img.captured_offset.as_deref(), Some("+08:00"));
    assert!(img.gps);
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn jpeg_without_exif_has_no_invented_time_or_zone() {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(32, 16, image::Rgb([200, 10, 10]))
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let e = record("label.jpg", out.into_inner());
    assert_eq!(e.kind, EvidenceKind::LabelPhoto);
    let img = e.image.unwrap();
    assert_eq!((img.width, img.height), (Some(32), Some(16)));
    assert_eq!(
        (img.captured_at, img.captured_offset, img.gps),
        (None, None, false)
    );
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn truncated_jpeg_is_recorded_with_a_loud_warning() {
    let mut data = sample("SO-2026-10481/DSC00018.jpg");
    data.truncate(data.len() / 2);
    let e = record("DSC00018.jpg", data.clone());
    assert_eq!(e.size, data.len() as u64);
    assert_eq!(e.media_type, "image/jpeg");
    assert!(
        e.warnings.iter().any(|w| w.starts_with("JPEG DAMAGED")),
        "{:?}",
        e.warnings
    );
    // The header is intact, so the facts are still read.
    assert_eq!(e.image.unwrap().width, Some(640));
}

#[test]
fn lying_extensions_are_recorded_with_a_warning() {
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(8, 8, image::Rgb([0, 0, 0]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let e = record("IMG_0007.jpg", png.into_inner());
    assert_eq!(e.media_type, "image/png");
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("ends in .jpg") && w.contains("image/png")),
        "{:?}",
        e.warnings
    );

    let e = record(
        "IMG_0008.jpg",
        b"this is a chat export, not a photo\n".to_vec(),
    );
    assert_eq!(e.media_type, "text/plain");
    assert!(
        e.warnings
            .iter()
            .any(|w| w.starts_with("IMAGE NOT READABLE") && w.contains(".jpg")),
        "{:?}",
        e.warnings
    );

    let e = record("tracking.pdf", sample("SO-2026-10481/DSC00017.jpg"));
    assert_eq!(
        (e.media_type.as_str(), e.kind),
        ("image/jpeg", EvidenceKind::LogisticsSnapshot)
    );
    assert!(
        e.warnings.iter().any(|w| w.contains("ends in .pdf")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn cli_prints_warnings_and_still_records() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    let mut data = sample("SO-2026-10481/DSC00018.jpg");
    data.truncate(20_000);
    let f = tmp.path().join("DSC00018.jpg");
    fs::write(&f, &data).unwrap();
    let (code, out, err) = run(evault(&vault).args(["add", "SO-1"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added SO-1 #1"), "{out}");
    assert!(err.contains("JPEG DAMAGED"), "{err}");
}
