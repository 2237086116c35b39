//! Uses evault-export's timeline readers on chat and tracking exports, as
//! the export does, and prints what each file gave: the shape read, the
//! messages or events read and the lines not read. Useful to check a new
//! export format before recording it, and to measure the readers on a
//! folder of real exports.
//!
//! ```sh
//! cargo run --example read_exports -- chat export.txt more-chats/
//! cargo run --example read_exports -- tracking aftership.json carriers/
//! ```
//! The first argument is the kind (`chat` or `tracking`); folders are read
//! recursively; `SHOW=not-read` lists the lines not read, `SHOW=all` every
//! record. The last line gives the share of records read:
//! read / (read + lines not read), a file no shape matched counting all its
//! non-blank lines as not read; "lines in no record" counts lines of chats
//! read line by line that are in no message and no record not read (the
//! readers' rule is that there are none).

use std::error::Error;
use std::path::PathBuf;

use evault_core::EvidenceKind;
use evault_export::timeline::{self, Record};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let kind = match args.next().as_deref() {
        Some("chat") => EvidenceKind::ChatLog,
        Some("tracking") => EvidenceKind::TrackingEvents,
        _ => return Err("usage: read_exports chat|tracking FILE|DIR...".into()),
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for a in args {
        for e in walkdir::WalkDir::new(a).sort_by_file_name() {
            let e = e?;
            if e.file_type().is_file() {
                files.push(e.into_path());
            }
        }
    }
    let (mut read, mut not_read, mut unrecognised) = (0usize, 0usize, 0usize);
    // Lines of chats read line by line found in no record (should be none).
    let mut lost_lines = 0usize;
    for path in &files {
        let bytes = std::fs::read(path)?;
        let Some(r) = timeline::read(kind, 1, &bytes) else {
            continue;
        };
        let lost = if r.unrecognised() {
            unrecognised += 1;
            timeline::decode(&bytes)
                .map_or(1, |t| t.lines().filter(|l| !l.trim().is_empty()).count())
        } else {
            r.lines_not_read()
        };
        read += r.read();
        not_read += lost;
        let lost_here = timeline::decode(&bytes).map_or_else(Vec::new, |t| r.unaccounted_lines(&t));
        lost_lines += lost_here.len();
        if !lost_here.is_empty() {
            println!("{}	LINES IN NO RECORD: {lost_here:?}", path.display());
        }
        println!(
            "{}\t{}\tread {}\tnot read {}{}",
            path.display(),
            r.shape.unwrap_or("(no shape)"),
            r.read(),
            lost,
            r.notes.iter().map(|n| format!("\t{n}")).collect::<String>()
        );
        // SHOW=not-read lists the lines not read; SHOW=all every record.
        let show = std::env::var("SHOW").unwrap_or_default();
        for rec in &r.records {
            match rec {
                Record::NotRead { line, text } if !show.is_empty() => {
                    println!(
                        "    line {line} not read: {}",
                        text.lines().next().unwrap_or("")
                    );
                }
                Record::Read(e) if show == "all" => {
                    println!("    {}  {}", e.at, e.what.replace('\n', " / "));
                }
                _ => {}
            }
        }
    }
    println!(
        "{} files ({unrecognised} in no shape read); records read {read}, lines not read {not_read}: {:.1}% read; lines in no record: {lost_lines}",
        files.len(),
        100.0 * read as f64 / (read + not_read).max(1) as f64
    );
    Ok(())
}
