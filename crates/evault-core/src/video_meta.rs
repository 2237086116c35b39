//! Facts from a video's container headers: container, codec, frame size
//! and duration. Nothing is decoded: Matroska/WebM elements and MP4 boxes
//! are walked, their payloads skipped by seeking.
//!
//! A WebM from a browser's `MediaRecorder` has no duration in its header
//! (it is written while recording): the duration is then the timestamp of
//! the last block, read from every cluster's block headers.

use std::io::SeekFrom;

use crate::entry::VideoInfo;
use crate::sniff::Whole;

/// Elements or boxes read before giving up (a hostile file cannot loop us for ever).
const MAX_ITEMS: u64 = 20_000_000;

/// The facts of a video in a container this reader knows; `None` for others.
pub(crate) fn video_info(
    media_type: &str,
    r: &mut dyn Whole,
    size: u64,
) -> Option<Result<Option<VideoInfo>, String>> {
    match media_type {
        "video/webm" | "video/x-matroska" => Some(matroska(r, size)),
        "video/mp4" | "video/quicktime" | "video/x-m4v" | "video/3gpp" => Some(mp4(r, size)),
        _ => None,
    }
}

fn read_exact(r: &mut dyn Whole, buf: &mut [u8]) -> Result<(), String> {
    r.read_exact(buf)
        .map_err(|_| "the file ends inside a header".to_owned())
}

fn seek(r: &mut dyn Whole, to: u64) -> Result<(), String> {
    r.seek(SeekFrom::Start(to))
        .map(drop)
        .map_err(|e| e.to_string())
}

fn pos(r: &mut dyn Whole) -> Result<u64, String> {
    r.stream_position().map_err(|e| e.to_string())
}

fn uint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b))
}

// ---- Matroska / WebM ------------------------------------------------------

/// An EBML variable-size integer: (value without the length marker, length,
/// all value bits set = "unknown size").
fn vint(r: &mut dyn Whole) -> Result<Option<(u64, usize, bool)>, String> {
    let mut first = [0u8; 1];
    match r.read(&mut first) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    let len = first[0].leading_zeros() as usize + 1;
    if len > 8 {
        return Err("an element header is malformed".into());
    }
    let mut rest = [0u8; 7];
    read_exact(r, &mut rest[..len - 1])?;
    let mut value = u64::from(first[0]) & (0xFF >> len);
    for &b in &rest[..len - 1] {
        value = (value << 8) | u64::from(b);
    }
    let unknown = value == (1u64 << (7 * len)) - 1;
    Ok(Some((value, len, unknown)))
}

/// An element ID, with its length marker kept (as IDs are written in the spec).
fn ebml_id(r: &mut dyn Whole) -> Result<Option<u32>, String> {
    let Some((value, len, _)) = vint(r)? else {
        return Ok(None);
    };
    if len > 4 {
        return Err("an element ID is longer than 4 bytes".into());
    }
    Ok(Some((value | (1 << (7 * len))) as u32))
}

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const CLUSTER: u32 = 0x1F43_B675;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const SIMPLE_BLOCK: u32 = 0xA3;

#[derive(Default)]
struct Track {
    video: bool,
    codec: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

fn matroska(r: &mut dyn Whole, size: u64) -> Result<Option<VideoInfo>, String> {
    seek(r, 0)?;
    if ebml_id(r)? != Some(EBML) {
        return Err("it does not start with an EBML header".into());
    }
    let (header_size, ..) = vint(r)?.ok_or("the file ends inside its EBML header")?;
    let header_end = pos(r)? + header_size;
    let mut container = "matroska".to_owned();
    while pos(r)? < header_end {
        let id = ebml_id(r)?.ok_or("the file ends inside its EBML header")?;
        let (len, ..) = vint(r)?.ok_or("the file ends inside its EBML header")?;
        if id == DOC_TYPE && len <= 32 {
            let mut doc = vec![0u8; len as usize];
            read_exact(r, &mut doc)?;
            container = String::from_utf8_lossy(&doc)
                .trim_end_matches('\0')
                .to_owned();
        } else {
            let here = pos(r)?;
            seek(r, here.saturating_add(len))?;
        }
    }
    seek(r, header_end)?;
    if ebml_id(r)? != Some(SEGMENT) {
        return Err("no Segment follows the EBML header".into());
    }
    vint(r)?.ok_or("the file ends inside the Segment header")?;

    let mut scale = 1_000_000u64; // nanoseconds per timestamp unit
    let mut duration: Option<f64> = None;
    let mut tracks: Vec<Track> = Vec::new();
    let (mut cluster_ts, mut last_ts) = (0u64, None::<u64>);
    // The segment's children are walked flat: masters are entered (their
    // children follow their header), leaves read or skipped.
    for _ in 0..MAX_ITEMS {
        let Some(id) = ebml_id(r)? else { break };
        let Some((len, _, unknown)) = vint(r)? else {
            break;
        };
        let start = pos(r)?;
        match id {
            INFO | TRACKS | VIDEO | CLUSTER | BLOCK_GROUP => continue,
            TRACK_ENTRY => {
                tracks.push(Track::default());
                continue;
            }
            _ if unknown => return Err(format!("element {id:X} has an unknown size")),
            _ => {}
        }
        let small = |r: &mut dyn Whole| -> Result<Vec<u8>, String> {
            if len > 64 {
                return Err(format!(
                    "element {id:X} is {len} bytes, more than such a field holds"
                ));
            }
            let mut v = vec![0u8; len as usize];
            read_exact(r, &mut v)?;
            Ok(v)
        };
        let track = tracks.last_mut();
        match (id, track) {
            (TIMESTAMP_SCALE, _) => scale = uint(&small(r)?).max(1),
            (DURATION, _) => {
                let v = small(r)?;
                duration = match v.len() {
                    4 => Some(f64::from(f32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
                    8 => Some(f64::from_be_bytes(v.try_into().unwrap_or_default())),
                    _ => None,
                };
            }
            (TRACK_TYPE, Some(t)) => t.video = uint(&small(r)?) == 1,
            (CODEC_ID, Some(t)) => {
                t.codec = Some(
                    String::from_utf8_lossy(&small(r)?)
                        .trim_end_matches('\0')
                        .to_owned(),
                )
            }
            (PIXEL_WIDTH, Some(t)) => t.width = u32::try_from(uint(&small(r)?)).ok(),
            (PIXEL_HEIGHT, Some(t)) => t.height = u32::try_from(uint(&small(r)?)).ok(),
            (CLUSTER_TIMESTAMP, _) => cluster_ts = uint(&small(r)?),
            (SIMPLE_BLOCK | BLOCK, _) if duration.is_none() => {
                vint(r)?.ok_or("the file ends inside a block")?; // track number
                let mut rel = [0u8; 2];
                read_exact(r, &mut rel)?;
                let ts = cluster_ts.saturating_add_signed(i64::from(i16::from_be_bytes(rel)));
                last_ts = Some(last_ts.map_or(ts, |l| l.max(ts)));
            }
            _ => {}
        }
        let end = start.saturating_add(len);
        if end > size {
            break; // the last element is cut short (a recording that stopped abruptly)
        }
        seek(r, end)?;
    }
    // Audio only (a voice note): no video facts, and nothing wrong.
    let Some(track) = tracks.into_iter().find(|t| t.video) else {
        return Ok(None);
    };
    let ns = match (duration, last_ts) {
        (Some(d), _) => d * scale as f64,
        (None, Some(ts)) => ts as f64 * scale as f64,
        (None, None) => 0.0,
    };
    Ok(Some(VideoInfo {
        container,
        codec: track.codec,
        width: track.width,
        height: track.height,
        rotation: None,
        duration_ms: (ns > 0.0).then(|| (ns / 1e6).round() as u64),
    }))
}

// ---- MP4 / QuickTime --------------------------------------------------------

fn mp4(r: &mut dyn Whole, size: u64) -> Result<Option<VideoInfo>, String> {
    seek(r, 0)?;
    let mut info = VideoInfo {
        container: "mp4".into(),
        codec: None,
        width: None,
        height: None,
        rotation: None,
        duration_ms: None,
    };
    let mut track_rotation: Option<u16> = None;
    let mut in_video_track = false;
    let mut track_size: Option<(u32, u32)> = None;
    let mut found_video = false;
    let mut at = 0u64;
    for _ in 0..MAX_ITEMS {
        if at + 8 > size {
            break;
        }
        seek(r, at)?;
        let mut head = [0u8; 8];
        read_exact(r, &mut head)?;
        let mut len = uint(&head[..4]);
        let kind = [head[4], head[5], head[6], head[7]];
        let mut body = at + 8;
        if len == 1 {
            let mut large = [0u8; 8];
            read_exact(r, &mut large)?;
            len = uint(&large);
            body += 8;
        } else if len == 0 {
            len = size - at;
        }
        if len < body - at {
            return Err(format!(
                "box {} has an impossible size",
                String::from_utf8_lossy(&kind)
            ));
        }
        let end = at.saturating_add(len);
        let mut field = |off: u64, n: usize| -> Result<u64, String> {
            seek(r, body + off)?;
            let mut v = vec![0u8; n];
            read_exact(r, &mut v)?;
            Ok(uint(&v))
        };
        match &kind {
            b"ftyp" if field(0, 4)? == u64::from(u32::from_be_bytes(*b"qt  ")) => {
                info.container = "quicktime".into();
            }
            b"moov" | b"mdia" | b"minf" | b"stbl" => {
                at = body;
                continue;
            }
            b"trak" => {
                if found_video {
                    at = end; // only the first video track
                    continue;
                }
                in_video_track = false;
                track_size = None;
                at = body;
                continue;
            }
            b"mvhd" => {
                let v1 = field(0, 1)? == 1;
                let (timescale, duration) = if v1 {
                    (field(20, 4)?, field(24, 8)?)
                } else {
                    (field(12, 4)?, field(16, 4)?)
                };
                info.duration_ms = duration
                    .saturating_mul(1000)
                    .checked_div(timescale)
                    .filter(|&ms| ms > 0);
            }
            b"tkhd" => {
                let off = if field(0, 1)? == 1 { 88 } else { 76 };
                track_size = Some((
                    (field(off, 4)? >> 16) as u32,
                    (field(off + 4, 4)? >> 16) as u32,
                ));
                // The display matrix precedes the size: its first row (a, b)
                // says how a player turns the picture.
                let a = field(off - 36, 4)? as u32 as i32;
                let b = field(off - 32, 4)? as u32 as i32;
                track_rotation = match (a.signum(), b.signum()) {
                    (0, 1) => Some(90),
                    (-1, 0) => Some(180),
                    (0, -1) => Some(270),
                    _ => None,
                };
            }
            b"hdlr" => in_video_track = field(8, 4)? == u64::from(u32::from_be_bytes(*b"vide")),
            b"stsd" if in_video_track && !found_video => {
                let fourcc = field(12, 4)?.to_be_bytes();
                info.codec = Some(String::from_utf8_lossy(&fourcc[4..]).trim().to_owned());
                if let Some((w, h)) = track_size {
                    info.width = Some(w);
                    info.height = Some(h);
                }
                info.rotation = track_rotation;
                found_video = true;
            }
            _ => {}
        }
        at = end;
    }
    // Audio only (an .m4a, a voice note): no video facts, and nothing wrong.
    Ok(found_video.then_some(info))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.push(0x01); // an 8-byte size
        v.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    fn recorder_webm(with_duration: bool) -> Vec<u8> {
        let mut f = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        // A Segment of unknown size, as MediaRecorder writes it.
        f.extend_from_slice(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        let mut info = el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]);
        if with_duration {
            info.extend(el(&[0x44, 0x89], &8000.0f64.to_be_bytes()));
        }
        f.extend(el(&[0x15, 0x49, 0xA9, 0x66], &info));
        let video = [el(&[0xB0], &[0x02, 0x80]), el(&[0xBA], &[0x01, 0xE0])].concat();
        let entry = [
            el(&[0x83], &[1]),
            el(&[0x86], b"V_VP9"),
            el(&[0xE0], &video),
        ]
        .concat();
        f.extend(el(&[0x16, 0x54, 0xAE, 0x6B], &el(&[0xAE], &entry)));
        for (cluster, rel) in [(0u16, 0i16), (5000, 1200), (10_000, 2500)] {
            let block = [&[0x81][..], &rel.to_be_bytes(), &[0x80], &[0u8; 300]].concat();
            // Clusters of unknown size, too.
            f.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0xFF]);
            f.extend(el(&[0xE7], &cluster.to_be_bytes()));
            f.extend(el(&[0xA3], &block));
        }
        f
    }

    #[test]
    fn a_recorder_webm_has_its_duration_from_the_last_block() {
        let f = recorder_webm(false);
        let info = matroska(&mut Cursor::new(&f), f.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(info.container, "webm");
        assert_eq!(info.codec.as_deref(), Some("V_VP9"));
        assert_eq!((info.width, info.height), (Some(640), Some(480)));
        assert_eq!(info.duration_ms, Some(12_500));
        let f = recorder_webm(true);
        let info = matroska(&mut Cursor::new(&f), f.len() as u64)
            .unwrap()
            .unwrap();
        assert_eq!(info.duration_ms, Some(8000));
    }

    #[test]
    fn broken_videos_are_errors_not_panics() {
        let f = recorder_webm(false);
        for cut in [0, 3, 10, 40, 90] {
            let part = &f[..cut];
            let _ = matroska(&mut Cursor::new(part), part.len() as u64);
        }
        let mut wrong = f.clone();
        wrong[0] = 0;
        assert!(matroska(&mut Cursor::new(&wrong), wrong.len() as u64).is_err());
        for cut in 0..f.len() {
            let _ = matroska(&mut Cursor::new(&f[..cut]), cut as u64);
            let _ = mp4(&mut Cursor::new(&f[..cut]), cut as u64);
        }
    }

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn an_mp4_gives_its_codec_size_and_duration() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&600u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&7500u32.to_be_bytes());
        let mut tkhd = vec![0u8; 84];
        tkhd[76..80].copy_from_slice(&(1920u32 << 16).to_be_bytes());
        tkhd[80..84].copy_from_slice(&(1080u32 << 16).to_be_bytes());
        // A phone held upright: the display matrix turns the picture 90°.
        tkhd[44..48].copy_from_slice(&0x1_0000u32.to_be_bytes());
        let mut hdlr = vec![0u8; 24];
        hdlr[8..12].copy_from_slice(b"vide");
        let mut stsd = vec![0u8; 8];
        stsd[7] = 1;
        stsd.extend(bx(b"avc1", &[0u8; 78]));
        let stbl = bx(b"stbl", &bx(b"stsd", &stsd));
        let mdia = bx(b"mdia", &[bx(b"hdlr", &hdlr), bx(b"minf", &stbl)].concat());
        let trak = bx(b"trak", &[bx(b"tkhd", &tkhd), mdia].concat());
        let f = [
            bx(b"ftyp", b"isom\0\0\0\0"),
            bx(b"mdat", &[0u8; 1000]),
            bx(b"moov", &[bx(b"mvhd", &mvhd), trak].concat()),
        ]
        .concat();
        let info = mp4(&mut Cursor::new(&f), f.len() as u64).unwrap().unwrap();
        assert_eq!(info.container, "mp4");
        assert_eq!(info.codec.as_deref(), Some("avc1"));
        assert_eq!(
            (info.width, info.height, info.duration_ms),
            (Some(1920), Some(1080), Some(12_500))
        );
        assert_eq!(info.rotation, Some(90));
    }
}
