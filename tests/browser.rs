//! The station page in a real browser (Debian's Chromium, headless, driven by
//! Playwright from `tests/browser/station.mjs`) against a real server, with
//! Chromium's fake camera playing a real video. Screenshots are kept in
//! `target/artifacts/screenshots/`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::serve_util::{Served, log_json, setup, verifies};
use crate::util::run;

/// A Y4M clip for the fake camera: a parcel on a bench, drifting slowly,
/// with a shipping label whose Code 128 says `label`, and each frame's
/// number drawn as a strip of blocks along the top. Chromium loops the
/// file; at 10 frames/s its 400 frames last 40 s, longer than the test
/// takes, so two photos are never the same bytes (an order would record
/// the second only once).
fn fake_camera_clip(path: &Path, label: &str) {
    use rxing::Writer;
    let bars = rxing::MultiFormatWriter
        .encode(label, &rxing::BarcodeFormat::CODE_128, 200, 44)
        .unwrap();
    let (w, h, frames) = (480usize, 360usize, 400usize);
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    writeln!(out, "YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg").unwrap();
    for f in 0..frames {
        out.write_all(b"FRAME\n").unwrap();
        let x0 = 100 + f / 8;
        let parcel = |x: usize, row: usize| (x0..x0 + 240).contains(&x) && (90..300).contains(&row);
        let on_label =
            |x: usize, row: usize| (x0 + 10..x0 + 230).contains(&x) && (220..284).contains(&row);
        let mut y = vec![0u8; w * h];
        for (i, px) in y.iter_mut().enumerate() {
            let (x, row) = (i % w, i / w);
            *px = if row < 10 && x < 16 * 12 {
                // The frame number, 12 bits of 16 px each.
                if (f >> (x / 16)) & 1 == 1 { 16 } else { 235 }
            } else if on_label(x, row) {
                let (bx, by) = (
                    (x as u32).wrapping_sub(x0 as u32 + 20),
                    (row as u32).wrapping_sub(230),
                );
                let bar = bx < bars.getWidth() && by < bars.getHeight() && bars.get(bx, by);
                if bar { 16 } else { 235 }
            } else if parcel(x, row) && (180..196).contains(&row) {
                220 // tape
            } else if parcel(x, row) {
                140
            } else if row > 310 {
                70
            } else {
                180
            };
        }
        out.write_all(&y).unwrap();
        let (cw, ch) = (w / 2, h / 2);
        let mut u = vec![128u8; cw * ch];
        let mut v = vec![128u8; cw * ch];
        for i in 0..cw * ch {
            let (x, row) = ((i % cw) * 2, (i / cw) * 2);
            if parcel(x, row) && !on_label(x, row) {
                u[i] = 100; // brown cardboard
                v[i] = 150;
            }
        }
        out.write_all(&u).unwrap();
        out.write_all(&v).unwrap();
    }
    out.flush().unwrap();
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[test]
fn a_packer_records_an_order_in_the_browser_and_nothing_is_lost_offline() {
    let modules = browser_dir().join("node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "playwright-core is not installed: run scripts/test (it runs `npm ci --prefix tests/browser`)"
    );
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("chromium is not installed: apt-get install chromium, or run scripts/test")
        });
    let s = setup();
    let clip = s.dir.path().join("camera.y4m");
    fake_camera_clip(&clip, "SO-B2");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts/screenshots");
    fs::create_dir_all(&shots).unwrap();
    let server = Served::start(&s.vault, &[]);

    let (code, out, err) = run(Command::new("node")
        .arg(browser_dir().join("station.mjs"))
        .env("EVAULT_URL", &server.url)
        .env("CHROMIUM", chromium)
        .env("FAKE_VIDEO", &clip)
        .env("SHOTS", &shots));
    assert_eq!(code, 0, "the browser run failed:\n{err}");
    assert_eq!(out.trim(), "ok", "{err}");

    // Everything landed once, as mei at pack-01.
    let entries = log_json(&s.vault, "SO-B1");
    let evidence: Vec<_> = entries.iter().filter(|e| e["type"] == "evidence").collect();
    assert_eq!(evidence.len(), 7, "{entries:#?}");
    for e in &evidence {
        assert_eq!(
            (e["recorded_by"].as_str(), e["station"].as_str()),
            (Some("mei"), Some("pack-01"))
        );
        assert_eq!(e["device"]["sha256"], e["sha256"], "{e}");
    }
    let videos: Vec<_> = evidence
        .iter()
        .filter(|e| e["kind"] == "packing-video")
        .collect();
    assert_eq!(videos.len(), 1, "{evidence:#?}");
    let video = videos[0];
    assert_eq!(video["media_type"], "video/webm");
    assert!(video["size"].as_u64().unwrap() > 1000, "{video}");
    // The container's facts, read from MediaRecorder's real WebM (which has no duration header).
    let facts = &video["video"];
    assert_eq!(facts["container"], "webm", "{video}");
    assert!(
        facts["codec"].as_str().unwrap().starts_with("V_VP"),
        "{video}"
    );
    assert_eq!(
        (facts["width"].as_u64(), facts["height"].as_u64()),
        (Some(480), Some(360)),
        "{video}"
    );
    let ms = facts["duration_ms"].as_u64().unwrap();
    assert!(
        (4000..20_000).contains(&ms),
        "recorded for about 6 s: {video}"
    );
    let capture = video["device"]["capture"].as_str().unwrap();
    let stills: Vec<_> = evidence
        .iter()
        .filter(|e| !e["device"]["frame_of"].is_null())
        .collect();
    assert_eq!(
        stills.len(),
        4,
        "an opening still, two shutter presses, a closing still"
    );
    for s in &stills {
        assert_eq!(s["device"]["frame_of"]["capture"], capture);
        assert_eq!(s["media_type"], "image/jpeg");
        assert!(
            s["note"].as_str().unwrap().contains("of the packing video"),
            "{s}"
        );
    }
    let mut captures: Vec<&str> = evidence
        .iter()
        .filter_map(|e| e["device"]["capture"].as_str())
        .collect();
    captures.sort_unstable();
    captures.dedup();
    assert_eq!(captures.len(), 7);
    let offline: Vec<_> = evidence
        .iter()
        .filter(|e| e["kind"] != "packing-video" && e["device"]["frame_of"].is_null())
        .collect();
    assert_eq!(offline.len(), 2);
    for e in offline {
        assert!(
            e["note"]
                .as_str()
                .unwrap()
                .starts_with("Checklist: Sealed outer box"),
            "{e}"
        );
    }
    // No slice is left behind on the server.
    let uploads = s.vault.join("serve/uploads/mei");
    assert!(
        fs::read_dir(&uploads).map_or(true, |mut d| d.next().is_none()),
        "slices left in {}",
        uploads.display()
    );
    // The second order was opened from the label the server read in the camera's picture.
    let second = log_json(&s.vault, "SO-B2");
    assert!(
        second.iter().any(|e| e["kind"] == "packing-video"),
        "{second:#?}"
    );
    verifies(&s.vault);

    // A bundle for a card network (which takes no video) shows the stills,
    // each captioned as a frame of the video and where.
    let zip = s.dir.path().join("card.zip");
    let (code, _, err) = run(crate::util::evault(&s.vault)
        .args([
            "export",
            "SO-B1",
            "--platform",
            "card",
            "--reason",
            "not-received",
            "-o",
        ])
        .arg(&zip));
    assert_eq!(code, 0, "{err}");
    let files = crate::export::members(&zip);
    let summary = crate::export::find_member(&files, "summary.pdf");
    let text = crate::photos::pdf_text(s.dir.path(), &summary);
    // Its pages, kept beside the screenshots to be looked at.
    let pdf = shots.join("station-card-summary.pdf");
    fs::write(&pdf, &summary).unwrap();
    crate::util::ok(
        Command::new("pdftoppm")
            .args(["-r", "60", "-png"])
            .arg(&pdf)
            .arg(shots.join("station-card-summary")),
    );
    let video_seq = video["seq"].as_u64().unwrap();
    let still = format!(
        "Video still grabbed at 00:00 of the packing video {} (entry {video_seq}) while it recorded",
        video["name"].as_str().unwrap()
    );
    assert!(text.contains(&still), "{still:?} not in {text}");
    assert_eq!(text.matches("Video still grabbed at").count(), 4, "{text}");
    assert!(
        text.contains("(packing-video, 0:0"),
        "the timeline shows the video and its length: {text}"
    );
    assert!(
        text.contains("Note Checklist: Shipping label. Opening scan at 00:00 of the packing video"),
        "{text}"
    );
    for shot in [
        "login-desktop",
        "login-phone",
        "station-desktop",
        "station-desktop-recording",
        "station-desktop-offline",
        "station-phone",
    ] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "{shot}.png");
    }
}
