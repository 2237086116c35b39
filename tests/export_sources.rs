//! Chat and tracking files in bundles: every line reaches the PDFs (read,
//! or kept as recorded in its place), the fit report says per file what was
//! read, files in no known shape are shown as recorded, page limits cut
//! the verbatim copy and say so, characters no font covers are named.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::export::{ORDER, members};
use crate::util::{evault, ok, run};

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exports")
        .join(rel)
}

/// The text of a PDF member of the bundle, read by poppler's pdftotext,
/// its runs of white space made one space (rows wrap in two columns).
fn pdf_text(dir: &Path, zip: &Path, suffix: &str) -> String {
    let (_, bytes) = members(zip)
        .into_iter()
        .find(|(n, _)| n.ends_with(suffix))
        .unwrap_or_else(|| panic!("no member ending {suffix}"));
    let pdf = dir.join("member.pdf");
    fs::write(&pdf, bytes).unwrap();
    ok(Command::new("pdftotext").arg(&pdf).arg("-"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn pdf_pages(dir: &Path, zip: &Path, suffix: &str) -> usize {
    let (_, bytes) = members(zip)
        .into_iter()
        .find(|(n, _)| n.ends_with(suffix))
        .unwrap();
    let pdf = dir.join("pages.pdf");
    fs::write(&pdf, bytes).unwrap();
    ok(Command::new("pdfinfo").arg(&pdf))
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// A new vault with the order's label photo and `files` (kind, path).
fn vault_with(dir: &Path, files: &[(&str, &Path)], platform: &str) -> std::path::PathBuf {
    let vault = dir.join("vault");
    ok(evault(&vault).arg("init"));
    let label = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/evidence")
        .join(ORDER)
        .join("label-IMG_2044.jpg");
    ok(evault(&vault).args(["add", ORDER]).arg(label));
    for (kind, path) in files {
        ok(evault(&vault)
            .args(["add", ORDER, "--kind", kind])
            .arg(path));
    }
    ok(evault(&vault).args([
        "dispute",
        ORDER,
        "--platform",
        platform,
        "--reason",
        "not-received",
    ]));
    vault
}

/// Exports the order to `zip` (which must succeed) and returns the fit
/// report's line for the evidence file `name`.
fn export_fit_line(vault: &Path, zip: &Path, name: &str) -> String {
    let (code, out, err) = run(evault(vault).args(["export", ORDER, "-o"]).arg(zip));
    assert_eq!(code, 0, "{out}{err}");
    out.lines()
        .find(|l| l.contains(name) && l.contains("<- #"))
        .unwrap_or_else(|| panic!("{name}: {out}"))
        .to_owned()
}

/// The number right after `phrase` in `line`.
fn number_after(line: &str, phrase: &str) -> usize {
    line.split(phrase)
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {phrase:?}: {line}"))
}

#[test]
fn every_line_of_chats_and_tracking_files_reaches_the_pdfs() {
    let tmp = tempfile::tempdir().unwrap();
    let emoji = tmp.path().join("chat-emoji.txt");
    // 📦 is in fonts-symbola (installed by scripts/test); 🫠 (Unicode 14) is in no font here.
    fs::write(
        &emoji,
        "[24/11/2026, 19:00] Buyer: where is my 📦?\n[24/11/2026, 19:01] Buyer: 🫠\n",
    )
    .unwrap();
    let vault = vault_with(
        tmp.path(),
        &[
            (
                "chat-log",
                &fixture("chat/whatsapp-android-unreadable-lines.txt"),
            ),
            ("tracking-events", &fixture("tracking/unknown-shape.json")),
            ("tracking-events", &fixture("tracking/aftership.json")),
            ("chat-log", &emoji),
            ("email", &fixture("email/buyer-reply.eml")),
        ],
        "stripe",
    );
    let zip = tmp.path().join("stripe.zip");
    let (code, out, err) = run(evault(&vault)
        .args(["export", ORDER, "-o"])
        .arg(&zip)
        .env("SOURCE_DATE_EPOCH", "1764000000"));
    assert_eq!(code, 0, "{out}{err}");

    // The fit report says, per file, what was read.
    let line = |name: &str| {
        out.lines()
            .find(|l| l.contains(name) && l.contains("<- #"))
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .to_owned()
    };
    assert!(
        line("whatsapp-android-unreadable-lines.txt").contains(
            "merged into 03-messages.pdf: read as chat lines \"date, time - name: text\" (WhatsApp on Android): 3 messages read, 3 lines not read (shown as recorded)"
        ),
        "{out}"
    );
    assert!(
        line("unknown-shape.json").contains(
            "merged into 02-shipping.pdf: not in a shape evault reads; shown as recorded"
        ),
        "{out}"
    );
    assert!(
        line("aftership.json").contains(
            "merged into 02-shipping.pdf: read as AfterShip JSON (checkpoints): 3 events read, every line read"
        ),
        "{out}"
    );
    assert!(
        line("buyer-reply.eml")
            .contains("merged into 03-messages.pdf: read as e-mail (RFC 5322): 1 e-mail read"),
        "{out}"
    );
    assert!(
        out.contains("unknown-shape.json: not in the timeline: it matches none of the shapes evault reads (tried: AfterShip JSON (checkpoints); 17TRACK JSON"),
        "{out}"
    );

    // The messages PDF: lines not read in their place, and the file as recorded.
    let messages = pdf_text(tmp.path(), &zip, "/upload/03-messages.pdf");
    for needle in [
        "line 3: not read",
        "2026-11-30 is my deadline: refund please",
        "line 5: not read",
        "As recorded (every line, to compare with the reading above)",
        "WhatsApp Chat with Buyer",
        "where is my 📦?",
        "[melting face]",
        "Chats and e-mails",
        "2026-11-25 09:14:05 +01:00 Renée Martin <renee@example.com>: Re: Commande 112-7739151 – colis non reçu",
        "The e-mail (its headers and text as the message holds them)",
        "Le suivi indique \"livré\" mais je n'ai rien reçu.",
    ] {
        assert!(messages.contains(needle), "{needle}:\n{messages}");
    }
    assert!(!messages.contains('🫠'));
    // A file in no known shape reaches the shipping PDF as recorded.
    let shipping = pdf_text(tmp.path(), &zip, "/upload/02-shipping.pdf");
    for needle in [
        "Carrier files as recorded",
        "delivered on monday",
        "carrier (4px LX123456789CN): Accepted by carrier, Shenzhen",
    ] {
        assert!(shipping.contains(needle), "{needle}:\n{shipping}");
    }
    // The character no font has is named with advice that is true here.
    assert!(
        out.contains("[melting face]: the emoji font found lacks them (newer emoji); no other font evault uses has them"),
        "{out}"
    );
}

#[test]
fn a_long_chat_in_no_known_shape_is_cut_at_the_page_limit_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let chat = tmp.path().join("chat-export.txt");
    let text: String = (1..=3000)
        .map(|i| format!("message {i} from the buyer, written without any date or sender\n"))
        .collect();
    fs::write(&chat, text).unwrap();
    let vault = vault_with(tmp.path(), &[("chat-log", &chat)], "card");
    let zip = tmp.path().join("card.zip");
    let fit = export_fit_line(&vault, &zip, "chat-export.txt");
    let shown = number_after(&fit, "as recorded: lines 1 to ");
    assert!(shown > 100 && shown < 3000, "{fit}");
    assert!(
        fit.contains("of 3000 shown (card page limit), the whole file is in the originals"),
        "{fit}"
    );
    assert!(pdf_pages(tmp.path(), &zip, "/upload/01-summary.pdf") <= 18);
    let summary = pdf_text(tmp.path(), &zip, "/upload/01-summary.pdf");
    assert!(
        summary.contains(&format!("message {shown} from the buyer"))
            && !summary.contains(&format!("message {} from the buyer", shown + 1)),
        "the copy stops where the report says"
    );
    let note = format!("[Lines {} to 3000 of 3000 are not shown here:", shown + 1);
    assert!(
        summary.contains(&note)
            && summary.contains("the platform's page limit leaves no more room; the whole file is in this bundle as data/originals/0002-chat-export.txt"),
        "{summary}"
    );
}

#[test]
fn a_one_line_file_in_no_known_shape_is_cut_inside_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    // Minified JSON from some carrier API: one line of 600 kB.
    let events: Vec<String> = (0..12_000)
        .map(|i| format!("{{\"when\":\"x{i}\",\"what\":\"scan at depot {i}\"}}"))
        .collect();
    let json = format!("{{\"shipment\":{{\"history\":[{}]}}}}", events.join(","));
    let file = tmp.path().join("carrier-dump.json");
    fs::write(&file, &json).unwrap();
    let vault = vault_with(tmp.path(), &[("tracking-events", &file)], "stripe");
    let zip = tmp.path().join("stripe.zip");
    let fit = export_fit_line(&vault, &zip, "carrier-dump.json");
    let chars = number_after(&fit, "as recorded: the first ");
    assert!(
        chars >= 500
            && chars < json.len()
            && fit.contains("characters of line 1 of 1 shown (stripe page limit)"),
        "{fit}"
    );
    let shipping = pdf_text(tmp.path(), &zip, "/upload/02-shipping.pdf");
    assert!(
        shipping.contains(&format!(
            "[The rest of line 1 of 1, after its first {chars} characters, is not shown here: the platform's page limit leaves no more room"
        )),
        "{shipping}"
    );
    assert!(pdf_pages(tmp.path(), &zip, "/upload/02-shipping.pdf") <= 49);
}
