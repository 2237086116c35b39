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
    parse_meta(&meta_box(r)?)
}

/// The most bytes of an EXIF item read (kamadak-exif alone stops at 128 KiB,
/// which some phones' EXIF exceeds).
const MAX_EXIF: u64 = 4 << 20;

/// The TIFF bytes of a HEIF file's EXIF item, wherever its extents lie;
/// `None` when it has none.
pub(crate) fn heif_exif<R: Read + Seek>(r: &mut R) -> Result<Option<Vec<u8>>, String> {
    let meta = meta_box(r)?;
    let boxes = children(meta.get(4..).ok_or("its meta box is empty")?);
    let Some(id) = boxes
        .iter()
        .find(|(k, _)| k == b"iinf")
        .and_then(|(_, b)| exif_item(b))
    else {
        return Ok(None);
    };
    let iloc = boxes
        .iter()
        .find(|(k, _)| k == b"iloc")
        .ok_or("no item locations (iloc)")?
        .1;
    let idat = boxes.iter().find(|(k, _)| k == b"idat").map(|(_, b)| *b);
    let Some((method, extents)) = item_extents(iloc, id) else {
        return Ok(None);
    };
    let mut raw = Vec::new();
    for (offset, len) in extents {
        if raw.len() as u64 + len > MAX_EXIF {
            return Err(format!("its EXIF item is over {MAX_EXIF} bytes"));
        }
        let start = raw.len();
        raw.resize(start + len as usize, 0);
        match method {
            0 => {
                r.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
                r.read_exact(&mut raw[start..]).map_err(|e| e.to_string())?;
            }
            1 => {
                let from = usize::try_from(offset).map_err(|e| e.to_string())?;
                let part = idat
                    .and_then(|d| d.get(from..from + len as usize))
                    .ok_or("its EXIF item lies outside the idat box")?;
                raw[start..].copy_from_slice(part);
            }
            _ => return Ok(None),
        }
    }
    // The item starts with the offset of the TIFF header after 4 bytes.
    let skip = be(&raw, 0, 4).ok_or("its EXIF item is empty")? as usize;
    Ok(raw.get(4 + skip..).map(<[u8]>::to_vec))
}

/// The id of the item of type `Exif` in an `iinf` body.
fn exif_item(iinf: &[u8]) -> Option<u32> {
    let start = if iinf.first() == Some(&0) { 6 } else { 8 };
    children(iinf.get(start..)?).iter().find_map(|(k, infe)| {
        if k != b"infe" {
            return None;
        }
        let (id, kind_at) = match infe.first()? {
            2 => (be(infe, 4, 2)?, 8),
            3 => (be(infe, 4, 4)?, 10),
            _ => return None,
        };
        (infe.get(kind_at..kind_at + 4)? == b"Exif").then_some(id)
    })
}

/// The construction method and (offset, length) extents of item `id`.
fn item_extents(iloc: &[u8], id: u32) -> Option<(u32, Vec<(u64, u64)>)> {
    let version = *iloc.first()?;
    let sizes = *iloc.get(4)?;
    let (off_n, len_n) = (usize::from(sizes >> 4), usize::from(sizes & 15));
    let sizes2 = *iloc.get(5)?;
    let base_n = usize::from(sizes2 >> 4);
    let idx_n = if version > 0 {
        usize::from(sizes2 & 15)
    } else {
        0
    };
    let (count, mut at) = if version < 2 {
        (be(iloc, 6, 2)?, 8)
    } else {
        (be(iloc, 6, 4)?, 10)
    };
    let read = |at: usize, n: usize| -> Option<u64> {
        let s = iloc.get(at..at + n)?;
        Some(s.iter().fold(0u64, |v, x| (v << 8) | u64::from(*x)))
    };
    for _ in 0..count {
        let id_n = if version < 2 { 2 } else { 4 };
        let item = be(iloc, at, id_n)?;
        at += id_n;
        let mut method = 0;
        if version > 0 {
            method = be(iloc, at, 2)? & 15;
            at += 2;
        }
        at += 2;
        let base = read(at, base_n)?;
        at += base_n;
        let n = be(iloc, at, 2)?;
        at += 2;
        let mut extents = Vec::new();
        for _ in 0..n {
            at += idx_n;
            let off = read(at, off_n)?;
            at += off_n;
            let len = read(at, len_n)?;
            at += len_n;
            extents.push((base.checked_add(off)?, len));
        }
        if item == id {
            return Some((method, extents));
        }
    }
    None
}

/// The body of the top-level `meta` box, wherever it lies.
fn meta_box<R: Read + Seek>(r: &mut R) -> Result<Vec<u8>, String> {
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
            return Ok(body);
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
