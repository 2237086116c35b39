//! Export bundles: opened by real tools, limits checked from the zip,
//! reproducible, and every tampered or hostile bundle rejected.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use zip::write::SimpleFileOptions;

use crate::util::{bagit_validate, evault, noise, ok, run};

pub(crate) const ORDER: &str = "112-7739151-0042185";

/// A vault holding the sample order plus `extra` large noisy photos, with a dispute.
pub(crate) fn disputed(dir: &Path, extra: u64, platform: &str) -> PathBuf {
    let vault = dir.join("vault");
    assert_eq!(run(evault(&vault).arg("init")).0, 0);
    let samples = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/evidence")
        .join(ORDER);
    let (code, _, err) = run(evault(&vault)
        .args(["add", ORDER])
        .arg(samples.join("IMG_2041.jpg"))
        .arg(samples.join("label-IMG_2044.jpg"))
        .arg(samples.join("chat-with-buyer.txt")));
    assert_eq!(code, 0, "{err}");
    let wa = dir.join("whatsapp-chat.txt");
    fs::write(&wa, "[24/11/2026, 19:00] 买家: 包裹没有到\n[24/11/2026, 19:05] Seller: the carrier shows it delivered\n").unwrap();
    let (code, _, err) = run(evault(&vault)
        .args(["add", ORDER])
        .arg(samples.join("tracking-events.csv"))
        .arg(&wa));
    assert_eq!(code, 0, "{err}");
    for i in 0..extra {
        let f = dir.join(format!("IMG_9{i:03}.jpg"));
        fs::write(&f, big_photo(i)).unwrap();
        assert_eq!(run(evault(&vault).args(["add", ORDER]).arg(&f)).0, 0);
    }
    let (code, _, err) = run(evault(&vault).args([
        "dispute",
        ORDER,
        "--platform",
        platform,
        "--reason",
        "not-received",
        "--due",
        "2026-12-01",
        "--case-id",
        "CASE-1",
    ]));
    assert_eq!(code, 0, "{err}");
    vault
}

/// A 3000x2000 noisy JPEG with an EXIF orientation of 6 (rotate 90°), about 3 MB.
fn big_photo(seed: u64) -> Vec<u8> {
    let px = noise(seed + 500, 3000 * 2000 * 3);
    let img = image::RgbImage::from_raw(3000, 2000, px).unwrap();
    let mut jpg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 90)
        .encode_image(&img)
        .unwrap();
    // An APP1 EXIF segment (little-endian TIFF, one IFD entry: Orientation = 6).
    let tiff: [u8; 26] = [
        b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpg[2..]);
    out
}

/// The bytes of the member whose name ends with `suffix`.
pub(crate) fn find_member(files: &[(String, Vec<u8>)], suffix: &str) -> Vec<u8> {
    files
        .iter()
        .find(|(n, _)| n.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .1
        .clone()
}

/// The members of a zip: name -> bytes.
pub(crate) fn members(zip: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut m = z.by_index(i).unwrap();
            let mut b = Vec::new();
            m.read_to_end(&mut b).unwrap();
            (m.name().unwrap().into_owned(), b)
        })
        .collect()
}

pub(crate) fn export(vault: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(evault(vault)
        .args(["export", ORDER])
        .args(extra)
        .arg("-o")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1764000000"))
}

#[test]
fn paypal_bundle_fits_and_opens_in_real_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 3, "paypal");
    let zip = tmp.path().join("bundle.zip");
    let (code, out, err) = export(&vault, &zip, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("upload 01-summary.pdf") && out.contains("upload 02-label.jpg"),
        "the summary first, then not-received leads with the label: {out}"
    );
    // Each chat is read into the summary, with what was read said per file.
    for chat in ["chat-with-buyer.txt", "whatsapp-chat.txt"] {
        let line = out
            .lines()
            .find(|l| l.contains(chat))
            .unwrap_or_else(|| panic!("{chat}: {out}"));
        assert!(
            line.contains("01-summary.pdf <- ")
                && line.contains(": merged into 01-summary.pdf: read as chat lines")
                && line.contains("messages read, every line read; paypal does not take text/plain"),
            "{line}"
        );
    }

    // Limits, read back from the zip.
    let all = members(&zip);
    let uploads: Vec<_> = all
        .iter()
        .filter(|(n, _)| n.contains("/data/upload/"))
        .collect();
    assert_eq!(
        uploads.len(),
        6,
        "the summary, 2 sample photos and 3 large ones"
    );
    assert!(uploads[0].0.ends_with("/data/upload/01-summary.pdf"));
    assert!(uploads[0].1.starts_with(b"%PDF-"));
    let uploads = &uploads[1..];
    let total: usize = uploads.iter().map(|(_, b)| b.len()).sum();
    assert!(total <= 50_000_000);
    for (name, bytes) in uploads {
        assert!(bytes.len() < 10_000_000, "{name}");
        let file = name.rsplit('/').next().unwrap();
        assert!(
            file.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{file}"
        );
        let img = image::load_from_memory(bytes).unwrap();
        assert!(img.width().max(img.height()) <= 2048, "{name}");
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "{name} carries EXIF"
        );
    }
    // The rotated photo was turned upright: portrait now.
    let rotated = image::load_from_memory(&uploads[4].1).unwrap();
    assert!(
        rotated.height() > rotated.width(),
        "orientation not applied: {}x{}",
        rotated.width(),
        rotated.height()
    );

    // unzip, sha256sum -c, bagit.py --validate, and our verifier.
    let x = tmp.path().join("x");
    fs::create_dir_all(&x).unwrap();
    ok(Command::new("unzip").arg("-q").arg(&zip).arg("-d").arg(&x));
    let bag = fs::read_dir(&x).unwrap().next().unwrap().unwrap().path();
    ok(Command::new("sha256sum")
        .args(["-c", "--quiet", "manifest-sha256.txt"])
        .current_dir(&bag));
    ok(Command::new("sha256sum")
        .args(["-c", "--quiet", "tagmanifest-sha256.txt"])
        .current_dir(&bag));
    bagit_validate(&bag);
    let (code, out, _) = run(evault(&vault).arg("verify-bundle").arg(&zip));
    assert_eq!(code, 0, "{out}");

    // The timeline tells the story in time order, CJK included.
    let timeline = String::from_utf8(
        all.iter()
            .find(|(n, _)| n.ends_with("/evault/timeline.txt"))
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    let pos = |needle: &str| {
        timeline
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{timeline}"))
    };
    let taken = pos("photo taken: IMG_2041.jpg");
    let accepted = pos("carrier: Accepted by carrier, Shenzhen");
    let delivered = pos("carrier: Delivered, left at front door, Brooklyn NY");
    let buyer = pos("chat, buyer: the package never arrived");
    let cjk = pos("chat, 买家: 包裹没有到");
    assert!(
        taken < accepted && accepted < delivered && delivered < buyer && buyer < cjk,
        "{timeline}"
    );
    assert!(
        timeline.contains("2026-11-18T09:12:31+08:00"),
        "camera time keeps its offset: {timeline}"
    );

    // The export is in the chain of custody.
    let (_, log, _) = run(evault(&vault).args(["log", ORDER]));
    assert!(
        log.lines()
            .last()
            .unwrap()
            .contains("exported a paypal bundle"),
        "{log}"
    );
}

#[test]
fn ebay_limits_hold_and_exports_are_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 4, "ebay");
    let (a, b) = (tmp.path().join("a.zip"), tmp.path().join("b.zip"));
    let (code, out, err) = export(&vault, &a, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(export(&vault, &b, &[]).0, 0);
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&b).unwrap(),
        "same vault state and SOURCE_DATE_EPOCH must give the same bytes"
    );
    let uploads: Vec<_> = members(&a)
        .into_iter()
        .filter(|(n, _)| n.contains("/data/upload/"))
        .collect();
    assert_eq!(uploads.len(), 5, "eBay takes 5 files");
    assert!(uploads.iter().map(|(_, b)| b.len()).sum::<usize>() <= 1_750_000);
    assert!(out.contains("takes at most 5 files"), "{out}");
}

#[test]
fn evidence_that_cannot_fit_fails_cleanly_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 1, "paypal");
    let tiny = tmp.path().join("tiny.json");
    let mut p: serde_json::Value =
        serde_json::from_str(&run(evault(&vault).args(["profiles", "--json"])).1).unwrap();
    let mut ebay = p
        .as_array_mut()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ebay")
        .unwrap()
        .clone();
    ebay["name"] = "tiny".into();
    // Less than one readable photo copy needs (20 000 bytes).
    ebay["max_total_bytes"] = 10_000.into();
    fs::write(&tiny, serde_json::to_string(&[ebay]).unwrap()).unwrap();
    let out = tmp.path().join("never.zip");
    let (code, _, err) = export(
        &vault,
        &out,
        &[
            "--platform",
            "tiny",
            "--profile-file",
            tiny.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("does not fit tiny") && err.contains("retract"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(
        fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".evault"))
            .count(),
        0
    );
    // A user profile can be named in a dispute record, and export then uses it.
    let (code, _, err) = run(evault(&vault)
        .args([
            "dispute",
            ORDER,
            "--platform",
            "tiny",
            "--reason",
            "damaged",
            "--profile-file",
        ])
        .arg(&tiny));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = export(&vault, &out, &["--profile-file", tiny.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not fit tiny"), "{err}");
}

/// Rewrites `zip` into `out`, changing members with `edit` and adding `extra`.
pub(crate) fn rewrite(
    zip: &Path,
    out: &Path,
    edit: impl Fn(&str, &mut Vec<u8>),
    extra: impl FnOnce(&mut zip::ZipWriter<fs::File>, &str),
) {
    let mut w = zip::ZipWriter::new(fs::File::create(out).unwrap());
    let mut top = String::new();
    for (name, mut bytes) in members(zip) {
        top = name.split('/').next().unwrap().to_owned();
        edit(&name, &mut bytes);
        w.start_file(name, SimpleFileOptions::default()).unwrap();
        w.write_all(&bytes).unwrap();
    }
    extra(&mut w, &top);
    w.finish().unwrap();
}

#[test]
fn verify_bundle_rejects_tampered_and_hostile_bundles() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 0, "paypal");
    let zip = tmp.path().join("good.zip");
    assert_eq!(export(&vault, &zip, &[]).0, 0);
    let check = |name: &str,
                 edit: &dyn Fn(&str, &mut Vec<u8>),
                 extra: &dyn Fn(&mut zip::ZipWriter<fs::File>, &str),
                 code: &str| {
        let bad = tmp.path().join(format!("{name}.zip"));
        rewrite(&zip, &bad, edit, extra);
        let (exit, out, err) = run(evault(&vault).args(["verify-bundle", "--json"]).arg(&bad));
        assert_eq!(exit, 1, "{name}: {out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let codes: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&code),
            "{name}: expected {code}, got {codes:?}"
        );
    };
    let none = |_: &str, _: &mut Vec<u8>| {};
    let nothing = |_: &mut zip::ZipWriter<fs::File>, _: &str| {};
    check(
        "altered-upload",
        &|n, b| {
            if n.ends_with("02-label.jpg") {
                b[500] ^= 1
            }
        },
        &nothing,
        "hash-mismatch",
    );
    check(
        "altered-log",
        &|n, b| {
            if n.ends_with("evault/manifest.jsonl") {
                *b = String::from_utf8(b.clone())
                    .unwrap()
                    .replace("IMG_2041", "IMG_2042")
                    .into_bytes()
            }
        },
        &nothing,
        "hash-mismatch",
    );
    check(
        "extra-file",
        &none,
        &|w, top| {
            w.start_file(
                format!("{top}/data/upload/99-extra.jpg"),
                SimpleFileOptions::default(),
            )
            .unwrap();
            w.write_all(b"x").unwrap();
        },
        "unlisted-file",
    );
    check(
        "zip-slip",
        &none,
        &|w, _| {
            w.start_file("../../evil.sh", SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"rm -rf ~").unwrap();
        },
        "unsafe-name",
    );
    check(
        "absolute",
        &none,
        &|w, _| {
            w.start_file("/etc/cron.d/x", SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"x").unwrap();
        },
        "unsafe-name",
    );
    check(
        "symlink",
        &none,
        &|w, top| {
            w.add_symlink(
                format!("{top}/data/link"),
                "/etc/passwd",
                SimpleFileOptions::default(),
            )
            .unwrap();
        },
        "symlink",
    );
    check(
        "bomb",
        &none,
        &|w, top| {
            w.start_file(
                format!("{top}/data/bomb.txt"),
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..64 {
                w.write_all(&zeros).unwrap();
            }
        },
        "zip-bomb",
    );
    // A log cut short, with every manifest rewritten to match: the head in bag-info.txt differs.
    let cut = tmp.path().join("cut-log.zip");
    {
        use sha2::Digest;
        let hexd = |b: &[u8]| {
            sha2::Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
        };
        let mut all = members(&zip);
        let log_i = all
            .iter()
            .position(|(n, _)| n.ends_with("/evault/manifest.jsonl"))
            .unwrap();
        let log = String::from_utf8(all[log_i].1.clone()).unwrap();
        let shorter: String = log
            .lines()
            .take(log.lines().count() - 1)
            .map(|l| format!("{l}\n"))
            .collect();
        all[log_i].1 = shorter.into_bytes();
        let tag_i = all
            .iter()
            .position(|(n, _)| n.ends_with("/tagmanifest-sha256.txt"))
            .unwrap();
        let mut tagm = String::new();
        for (n, b) in &all {
            let rel = n.split_once('/').unwrap().1;
            if !rel.starts_with("data/") && rel != "tagmanifest-sha256.txt" {
                tagm.push_str(&format!("{}  {rel}\n", hexd(b)));
            }
        }
        all[tag_i].1 = tagm.into_bytes();
        let mut w = zip::ZipWriter::new(fs::File::create(&cut).unwrap());
        for (n, b) in all {
            w.start_file(n, SimpleFileOptions::default()).unwrap();
            w.write_all(&b).unwrap();
        }
        w.finish().unwrap();
    }
    let (exit, out, _) = run(evault(&vault).args(["verify-bundle", "--json"]).arg(&cut));
    assert_eq!(exit, 1, "{out}");
    assert!(
        out.contains("log-head-mismatch") && !out.contains("hash-mismatch"),
        "{out}"
    );

    // Not a zip at all: exit 2.
    let junk = tmp.path().join("junk.zip");
    fs::write(&junk, b"not a zip").unwrap();
    let (code, _, err) = run(evault(&vault).arg("verify-bundle").arg(&junk));
    assert_eq!(code, 2);
    assert!(err.contains("cannot be read as a bundle"), "{err}");
}

/// A valid PDF of `n` empty Letter pages (catalog, page tree, xref).
pub(crate) fn pdf_with_pages(n: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut bodies = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
    ];
    bodies.extend(
        (0..n).map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned()),
    );
    for (i, body) in bodies.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            bodies.len() + 1
        )
        .bytes(),
    );
    out
}

#[test]
fn recorded_pdfs_count_against_page_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 0, "stripe");
    let invoice = tmp.path().join("invoice-60-pages.pdf");
    fs::write(&invoice, pdf_with_pages(60)).unwrap();
    // A real PDF reader counts the same pages.
    let (code, info, _) = run(Command::new("pdfinfo").arg(&invoice));
    assert_eq!(code, 0);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 60")),
        "{info}"
    );
    let (code, _, err) = run(evault(&vault)
        .args(["add", ORDER, "--kind", "invoice"])
        .arg(&invoice));
    assert_eq!(code, 0, "{err}");

    // Stripe takes fewer than 50 pages in all: refused, naming the invoice.
    let zip = tmp.path().join("stripe.zip");
    let (code, out, err) = export(&vault, &zip, &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("at most 49"), "{err}");
    assert!(
        err.contains("04-invoice.pdf (entry 7 invoice-60-pages.pdf) 60 pages"),
        "{err}"
    );
    assert!(!zip.exists());

    // PayPal has no page limit: the same invoice goes as recorded.
    let zip = tmp.path().join("paypal.zip");
    let (code, out, err) = export(&vault, &zip, &["--platform", "paypal"]);
    assert_eq!(code, 0, "{out}{err}");

    // A PDF nobody can read to count its pages is refused where pages are limited.
    let tmp2 = tempfile::tempdir().unwrap();
    let vault2 = disputed(tmp2.path(), 0, "stripe");
    let broken = tmp2.path().join("invoice-broken.pdf");
    fs::write(
        &broken,
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R",
    )
    .unwrap();
    let (code, _, err) = run(evault(&vault2)
        .args(["add", ORDER, "--kind", "invoice"])
        .arg(&broken));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = export(&vault2, &tmp2.path().join("b.zip"), &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("invoice-broken.pdf (entry"), "{err}");
    assert!(err.contains("pages evault cannot count"), "{err}");
}
