//! Every built-in profile: a realistic order exported, then the profile's
//! limits checked from the zip, PDFs read by poppler (pages, text, images).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::export::{ORDER, disputed, export, members};
use crate::util::{bagit_validate, evault, ok, run};

fn pdf_pages(pdf: &Path) -> u64 {
    let info = ok(Command::new("pdfinfo").arg(pdf));
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count from pdfinfo: {info}"))
}

fn pdf_text(pdf: &Path) -> String {
    ok(Command::new("pdftotext").arg(pdf).arg("-"))
}

/// Images embedded in a PDF, with their encoding (`jpeg` for passthrough).
fn pdf_images(pdf: &Path) -> Vec<String> {
    ok(Command::new("pdfimages").arg("-list").arg(pdf))
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(8).map(str::to_owned))
        .collect()
}

fn media_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "unknown"
    }
}

#[test]
fn every_builtin_profile_exports_within_its_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 2, "paypal");
    // An invoice recorded as a PDF (not PDF/A): a summary PDF of an earlier export.
    let first = tmp.path().join("first.zip");
    assert_eq!(export(&vault, &first, &[]).0, 0);
    let invoice = tmp.path().join("invoice.pdf");
    let pdf = members(&first)
        .into_iter()
        .find(|(n, _)| n.ends_with("/01-summary.pdf"))
        .unwrap()
        .1;
    fs::write(&invoice, pdf).unwrap();
    let (code, _, err) = run(evault(&vault)
        .args(["add", ORDER, "--kind", "invoice"])
        .arg(&invoice));
    assert_eq!(code, 0, "{err}");
    let profiles: serde_json::Value =
        serde_json::from_str(&run(evault(&vault).args(["profiles", "--json"])).1).unwrap();
    let mut seen = Vec::new();
    for p in profiles.as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        seen.push(name.to_owned());
        let zip = tmp.path().join(format!("{name}.zip"));
        let (code, out, err) = export(&vault, &zip, &["--platform", name]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        let pdfa = p["pdfa"] == true;
        assert_eq!(
            out.contains("requires PDF/A, and evault neither converts a recorded PDF"),
            pdfa,
            "{name}: the recorded invoice PDF: {out}"
        );
        let all = members(&zip);
        let uploads: Vec<_> = all
            .iter()
            .filter(|(n, _)| n.contains("/data/upload/"))
            .collect();
        let limit = |k: &str| p[k].as_u64();
        // Count, bytes, names, types.
        if let Some(max) = limit("max_files") {
            assert!(
                uploads.len() as u64 <= max,
                "{name}: {} files",
                uploads.len()
            );
        }
        let total: u64 = uploads.iter().map(|(_, b)| b.len() as u64).sum();
        if let Some(max) = limit("max_total_bytes") {
            assert!(total <= max, "{name}: {total} bytes in all, limit {max}");
        }
        let x = tmp.path().join(format!("x-{name}"));
        fs::create_dir_all(&x).unwrap();
        let mut pages_total = 0;
        for (member, bytes) in &uploads {
            let file = member.rsplit('/').next().unwrap();
            if let Some(max) = limit("max_file_bytes") {
                assert!(
                    bytes.len() as u64 <= max,
                    "{name}: {file} has {} bytes",
                    bytes.len()
                );
            }
            let t = media_type(bytes);
            assert!(
                p["types"].as_array().unwrap().iter().any(|x| x == t),
                "{name}: {file} is {t}"
            );
            if let Some(max) = limit("max_chars") {
                assert!(file.chars().count() as u64 <= max, "{name}: {file}");
            }
            if p["names"]["ascii_only"] == true {
                assert!(
                    file.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                    "{name}: {file}"
                );
            }
            if t == "application/pdf" {
                let path = x.join(file);
                fs::write(&path, bytes).unwrap();
                let pages = pdf_pages(&path);
                if let Some(max) = limit("max_pages_per_file") {
                    assert!(pages <= max, "{name}: {file} has {pages} pages");
                }
                pages_total += pages;
                if p["pdfa"] == true {
                    let xmp = String::from_utf8_lossy(bytes);
                    assert!(
                        xmp.contains("pdfaid:part") && xmp.contains("pdfaid:conformance"),
                        "{name}: {file} is not marked PDF/A"
                    );
                }
                // Photos embedded as JPEG, never re-encoded by the PDF writer.
                let images = pdf_images(&path);
                assert!(
                    images.iter().all(|e| e == "jpeg"),
                    "{name}: {file}: {images:?}"
                );
            }
        }
        if let Some(max) = limit("max_pages_total") {
            assert!(pages_total <= max, "{name}: {pages_total} pages in all");
        }
        // The summary tells the story, CJK chat included.
        let summary = uploads
            .iter()
            .find(|(n, _)| n.ends_with("-summary.pdf"))
            .map(|(_, b)| b)
            .or_else(|| {
                all.iter()
                    .find(|(n, _)| n.ends_with("/data/summary.pdf"))
                    .map(|(_, b)| b)
            })
            .unwrap_or_else(|| panic!("{name}: no summary PDF"));
        let path = x.join("summary-check.pdf");
        fs::write(&path, summary).unwrap();
        let text = pdf_text(&path);
        for needle in ["Timeline", "Accepted by carrier", "Integrity", "CASE-1"] {
            assert!(
                text.contains(needle),
                "{name}: {needle:?} missing from the summary:\n{text}"
            );
        }
        let per_category = p["slots"] == "per-category";
        let chats = if per_category {
            let m = uploads
                .iter()
                .find(|(n, _)| n.ends_with("-messages.pdf"))
                .unwrap_or_else(|| panic!("{name}: no messages PDF"));
            let path = x.join("messages-check.pdf");
            fs::write(&path, &m.1).unwrap();
            pdf_text(&path)
        } else {
            text.clone()
        };
        assert!(
            chats.contains("包裹没有到"),
            "{name}: the CJK chat line did not survive (is fonts-wqy-microhei installed?):\n{chats}"
        );
        if per_category {
            let names: Vec<_> = uploads
                .iter()
                .map(|(n, _)| n.rsplit('/').next().unwrap())
                .collect();
            assert_eq!(
                names[..3],
                ["01-summary.pdf", "02-shipping.pdf", "03-messages.pdf"],
                "{name}"
            );
            assert_eq!(
                names.get(3).copied() == Some("04-invoice.pdf"),
                !pdfa,
                "{name}: the invoice is the receipt file unless PDF/A is required"
            );
            let ship = x.join("02-shipping.pdf");
            let text = pdf_text(&ship);
            assert!(
                text.contains("Delivered, left at front door"),
                "{name}: {text}"
            );
            assert_eq!(
                pdf_images(&ship).len(),
                1,
                "{name}: the label photo is a page of the shipping file"
            );
        }
        // The bag is valid.
        let unz = tmp.path().join(format!("u-{name}"));
        ok(Command::new("unzip")
            .arg("-q")
            .arg(&zip)
            .arg("-d")
            .arg(&unz));
        let bag = fs::read_dir(&unz).unwrap().next().unwrap().unwrap().path();
        bagit_validate(&bag);
        let (code, out, _) = run(evault(&vault).arg("verify-bundle").arg(&zip));
        assert_eq!(code, 0, "{name}: {out}");
    }
    assert_eq!(
        seen,
        [
            "stripe",
            "shopify",
            "paypal",
            "ebay",
            "amazon",
            "card",
            "marketplace",
            "archive"
        ]
    );
}

#[test]
fn page_limits_leave_out_the_least_important_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 6, "card");
    let profiles: serde_json::Value =
        serde_json::from_str(&run(evault(&vault).args(["profiles", "--json"])).1).unwrap();
    let mut card = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "card")
        .unwrap()
        .clone();
    card["name"] = "card-short".into();
    card["max_pages_total"] = 7.into();
    card["max_pages_per_file"] = 7.into();
    let file = tmp.path().join("short.json");
    fs::write(&file, serde_json::to_string(&[card]).unwrap()).unwrap();
    let zip = tmp.path().join("short.zip");
    let (code, out, err) = export(
        &vault,
        &zip,
        &[
            "--platform",
            "card-short",
            "--profile-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("takes at most 7 pages per file"), "{out}");
    let pdf = members(&zip)
        .into_iter()
        .find(|(n, _)| n.ends_with("/data/upload/01-summary.pdf"))
        .unwrap();
    let path = tmp.path().join("s.pdf");
    fs::write(&path, pdf.1).unwrap();
    assert!(pdf_pages(&path) <= 7);
    assert!(
        !pdf_images(&path).is_empty(),
        "the label photo leads and is kept"
    );
}
