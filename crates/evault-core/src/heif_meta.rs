//! The primary image's size and rotation in a HEIF (HEIC, AVIF) file, read
//! from the box structure wherever the `meta` box lies (Samsung phones put
//! it after the image data). Nothing is decoded.

use std::io::{Read, Seek, SeekFrom};

/// The most bytes a `meta` box may have (real ones have a few kilobytes).
const MAX_META: u64 = 8 << 20;
/// The most top-level boxes walked before giving up.
const MAX_BOXES: usize = 10_000;

/// What the `meta` box says of the primary image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeifFacts {
    /// Width as displayed (after `irot`).
    pub(crate) width: u32,
    /// Height as displayed.
    pub(crate) height: u32,
    /// Anticlockwise quarter turns (`irot`), 0..=3.
    pub(crate) quarter_turns: u8,
    /// Mirrored (`imir`).
    pub(crate) mirrored: bool,
}

/// Reads the primary image's facts from a whole HEIF file.
pub(crate) fn heif_facts<R: Read + Seek>(r: &mut R) -> Result<HeifFacts, String> {
    let end = r.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let mut at = 0u64;
    for _ in 0..MAX_BOXES {
        if at + 8 > end {
            break;
        }
        r.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        let mut head = [0u8; 16];
        r.read_exact(&mut head[..8]).map_err(|e| e.to_string())?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = [head[4], head[5], head[6], head[7]];
        let (size, header) = match size32 {
            0 => (end - at, 8),
            1 => {
                r.read_exact(&mut head[8..16]).map_err(|e| e.to_string())?;
                let mut b = [0u8; 8];
                b.copy_from_slice(&head[8..16]);
                (u64::from_be_bytes(b), 16)
            }
            n => (u64::from(n), 8),
        };
        if size < header || at + size > end {
            return Err(format!(
                "the box {} at byte {at} claims {size} bytes, past the end of the file",
                name(kind)
            ));
        }
        if &kind == b"meta" {
            let len = size - header;
            if len > MAX_META {
                return Err(format!("its meta box has {len} bytes, over {MAX_META}"));
            }
            let mut body = vec![0u8; len as usize];
            r.read_exact(&mut body).map_err(|e| e.to_string())?;
            return parse_meta(&body);
        }
        at += size;
    }
    Err("no meta box (the image's description) was found".into())
}

fn name(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|b| {
            if b.is_ascii_graphic() {
                char::from(*b)
            } else {
                '?'
            }
        })
        .collect()
}

/// Child boxes of a container body: (type, body).
fn children(mut b: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = [b[4], b[5], b[6], b[7]];
        let (size, header) = match size {
            0 => (b.len(), 8),
            1 if b.len() >= 16 => {
                let mut s = [0u8; 8];
                s.copy_from_slice(&b[8..16]);
                (
                    usize::try_from(u64::from_be_bytes(s)).unwrap_or(usize::MAX),
                    16,
                )
            }
            n => (n, 8),
        };
        if size < header || size > b.len() {
            break;
        }
        out.push((kind, &b[header..size]));
        b = &b[size..];
    }
    out
}

fn be(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    Some(s.iter().fold(0u32, |v, x| (v << 8) | u32::from(*x)))
}

fn parse_meta(meta: &[u8]) -> Result<HeifFacts, String> {
    // meta is a full box: version and flags first.
    let boxes = children(meta.get(4..).ok_or("its meta box is empty")?);
    let pitm = boxes
        .iter()
        .find(|(k, _)| k == b"pitm")
        .ok_or("no primary image is named (pitm)")?
        .1;
    let primary = match pitm.first() {
        Some(0) => be(pitm, 4, 2),
        _ => be(pitm, 4, 4),
    }
    .ok_or("its pitm box is cut short")?;
    let iprp = boxes
        .iter()
        .find(|(k, _)| k == b"iprp")
        .ok_or("no image properties (iprp)")?
        .1;
    let iprp = children(iprp);
    let ipco: Vec<([u8; 4], &[u8])> = iprp
        .iter()
        .find(|(k, _)| k == b"ipco")
        .map(|(_, b)| children(b))
        .ok_or("no property container (ipco)")?;
    let mut facts = HeifFacts {
        width: 0,
        height: 0,
        quarter_turns: 0,
        mirrored: false,
    };
    let mut found = false;
    // A file may hold several ipma boxes; each lists items and the
    // 1-based indexes of their properties in ipco.
    for (_, ipma) in iprp.iter().filter(|(k, _)| k == b"ipma") {
        let version = ipma.first().copied().unwrap_or(0);
        let wide = be(ipma, 1, 3).unwrap_or(0) & 1 == 1;
        let count = be(ipma, 4, 4).ok_or("its ipma box is cut short")?;
        let mut at = 8;
        for _ in 0..count {
            let id_len = if version < 1 { 2 } else { 4 };
            let item = be(ipma, at, id_len).ok_or("its ipma box is cut short")?;
            at += id_len;
            let n = be(ipma, at, 1).ok_or("its ipma box is cut short")?;
            at += 1;
            for _ in 0..n {
                let index = if wide {
                    be(ipma, at, 2).map(|v| v & 0x7FFF)
                } else {
                    be(ipma, at, 1).map(|v| v & 0x7F)
                }
                .ok_or("its ipma box is cut short")?;
                at += if wide { 2 } else { 1 };
                if item != primary || index == 0 {
                    continue;
                }
                let Some((kind, body)) = ipco.get(index as usize - 1) else {
                    continue;
                };
                match kind {
                    b"ispe" => {
                        facts.width = be(body, 4, 4).unwrap_or(0);
                        facts.height = be(body, 8, 4).unwrap_or(0);
                        found = true;
                    }
                    b"irot" => facts.quarter_turns = body.first().map_or(0, |b| b & 3),
                    b"imir" => facts.mirrored = true,
                    _ => {}
                }
            }
        }
    }
    if !found || facts.width == 0 || facts.height == 0 {
        return Err(format!(
            "the primary image (item {primary}) has no size (ispe)"
        ));
    }
    if facts.quarter_turns % 2 == 1 {
        std::mem::swap(&mut facts.width, &mut facts.height);
    }
    Ok(facts)
}
