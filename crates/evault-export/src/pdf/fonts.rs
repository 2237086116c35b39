//! Fonts for the summary PDF: DejaVu Sans (built in, Latin, Greek,
//! Cyrillic) and a CJK font discovered on the system, with per-character
//! fallback between them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

const SANS: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const SANS_BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// Font files tried first for characters DejaVu Sans lacks (Debian/Ubuntu
/// packages fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk,
/// fonts-droid-fallback; Fedora's google-noto-sans-cjk).
const KNOWN_CJK: [&str; 8] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
];

/// Folders searched (by file name) when no known file is present.
const FONT_DIRS: [&str; 3] = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/Library/Fonts",
];

/// The environment variable naming a font file to use for CJK text.
pub const CJK_FONT_ENV: &str = "EVAULT_CJK_FONT";

/// Monochrome fonts with emoji and symbols, tried after the CJK face
/// (Debian/Ubuntu fonts-symbola; Google's monochrome Noto Emoji).
const KNOWN_SYMBOLS: [&str; 4] = [
    "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
    "/usr/share/fonts/truetype/ancient-scripts/Symbola.ttf",
    "/usr/share/fonts/truetype/noto/NotoEmoji-Regular.ttf",
    "/usr/share/fonts/TTF/Symbola.ttf",
];

/// Which face a run of text is drawn with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
    Cjk,
    Symbols,
}

/// One loaded font file.
pub(crate) struct LoadedFont {
    data: Arc<Vec<u8>>,
    index: u32,
    /// The font for krilla.
    pub(crate) pdf: krilla::text::Font,
}

impl LoadedFont {
    fn new(data: Vec<u8>, index: u32) -> Option<Self> {
        let data = Arc::new(data);
        skrifa::FontRef::from_index(&data, index).ok()?;
        let pdf = krilla::text::Font::new(data.clone().into(), index)?;
        Some(Self { data, index, pdf })
    }

    fn font_ref(&self) -> Option<skrifa::FontRef<'_>> {
        skrifa::FontRef::from_index(&self.data, self.index).ok()
    }
}

/// The faces of one document.
pub(crate) struct Fonts {
    regular: LoadedFont,
    bold: LoadedFont,
    cjk: Option<Arc<LoadedFont>>,
    /// Where the CJK face came from.
    pub(crate) cjk_path: Option<PathBuf>,
    /// Emoji and symbols, when such a font is installed.
    symbols: Option<Arc<LoadedFont>>,
}

/// A measured piece of one line drawn with one face.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Run {
    pub(crate) face: Face,
    pub(crate) text: String,
    pub(crate) width: f32,
}

impl Fonts {
    /// The built-in faces and, when one is found, a system CJK face.
    pub(crate) fn load() -> Option<Self> {
        let (cjk, cjk_path) = match system_cjk() {
            Some((font, path)) => (Some(font.clone()), Some(path.clone())),
            None => (None, None),
        };
        Some(Self {
            regular: LoadedFont::new(SANS.to_vec(), 0)?,
            bold: LoadedFont::new(SANS_BOLD.to_vec(), 0)?,
            cjk,
            cjk_path,
            symbols: system_symbols().cloned(),
        })
    }

    /// Whether an emoji and symbol font was found.
    pub(crate) fn has_symbols(&self) -> bool {
        self.symbols.is_some()
    }

    pub(crate) fn pdf_font(&self, face: Face) -> Option<krilla::text::Font> {
        match face {
            Face::Regular => Some(self.regular.pdf.clone()),
            Face::Bold => Some(self.bold.pdf.clone()),
            Face::Cjk => self.cjk.as_ref().map(|f| f.pdf.clone()),
            Face::Symbols => self.symbols.as_ref().map(|f| f.pdf.clone()),
        }
    }

    /// Splits `text` into runs by face, measured at `size` points.
    /// A character no face covers is drawn as [`char_name`] gives it and
    /// counted in `missing`.
    pub(crate) fn runs(
        &self,
        text: &str,
        size: f32,
        bold: bool,
        missing: &mut Vec<char>,
    ) -> Vec<Run> {
        let latin = if bold { &self.bold } else { &self.regular };
        let latin_face = if bold { Face::Bold } else { Face::Regular };
        let faces: Vec<(Face, skrifa::FontRef<'_>)> = [
            (latin_face, Some(latin)),
            (Face::Cjk, self.cjk.as_deref()),
            (Face::Symbols, self.symbols.as_deref()),
        ]
        .into_iter()
        .filter_map(|(face, font)| Some((face, font?.font_ref()?)))
        .collect();
        let maps: Vec<_> = faces
            .iter()
            .map(|(face, f)| {
                (
                    *face,
                    f.charmap(),
                    f.glyph_metrics(Size::new(size), LocationRef::default()),
                )
            })
            .collect();
        let Some((_, lmap, lmetrics)) = maps.first() else {
            return Vec::new();
        };
        let mut runs: Vec<Run> = Vec::new();
        let mut push = |face: Face, ch: char, width: f32| match runs.last_mut() {
            Some(r) if r.face == face => {
                r.text.push(ch);
                r.width += width;
            }
            _ => runs.push(Run {
                face,
                text: ch.to_string(),
                width,
            }),
        };
        for c in text.chars() {
            let c = if c == '\t' || c.is_control() { ' ' } else { c };
            let found = maps.iter().find_map(|(face, map, metrics)| {
                Some((*face, metrics.advance_width(map.map(c)?).unwrap_or(0.0)))
            });
            if let Some((face, width)) = found {
                push(face, c, width);
            } else if !is_invisible(c) {
                missing.push(c);
                for n in char_name(c).chars() {
                    let g = lmap.map(n).unwrap_or_default();
                    push(latin_face, n, lmetrics.advance_width(g).unwrap_or(0.0));
                }
            }
        }
        runs
    }
}

/// How a character no font covers is shown: an emoji by its name
/// (`[package]`), anything else by its code point (`[U+0E01]`).
pub(crate) fn char_name(c: char) -> String {
    match emojis::get(c.encode_utf8(&mut [0; 4])) {
        Some(e) => format!("[{}]", e.name()),
        None => format!("[U+{:04X}]", c as u32),
    }
}

/// Zero-width and direction marks that chat exports carry (WhatsApp's U+200E).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}'
            | '\u{2060}'
            | '\u{061c}'
            | '\u{feff}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{fe00}'..='\u{fe0f}'
    )
}

/// The emoji and symbol face found on this machine (looked up once).
fn system_symbols() -> Option<&'static Arc<LoadedFont>> {
    static FOUND: OnceLock<Option<Arc<LoadedFont>>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            KNOWN_SYMBOLS.iter().find_map(|p| {
                let data = std::fs::read(p).ok()?;
                LoadedFont::new(data, 0).map(Arc::new)
            })
        })
        .as_ref()
}

/// The CJK face found on this machine (looked up once per process).
fn system_cjk() -> Option<&'static (Arc<LoadedFont>, PathBuf)> {
    static FOUND: OnceLock<Option<(Arc<LoadedFont>, PathBuf)>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let env = std::env::var_os(CJK_FONT_ENV).map(PathBuf::from);
            env.into_iter()
                .chain(KNOWN_CJK.iter().map(PathBuf::from))
                .chain(FONT_DIRS.iter().flat_map(|d| candidates(Path::new(d))))
                .find_map(|p| load_cjk(&p).map(|f| (Arc::new(f), p)))
        })
        .as_ref()
}

/// Font files under `dir` whose names suggest CJK coverage.
fn candidates(dir: &Path) -> Vec<PathBuf> {
    const HINTS: [&str; 9] = [
        "cjk",
        "wqy",
        "droidsansfallback",
        "wenkai",
        "sourcehan",
        "han sans",
        "hei",
        "ming",
        "uming",
    ];
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .max_depth(4)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            [".ttf", ".ttc", ".otf"].iter().any(|x| name.ends_with(x))
                && HINTS.iter().any(|h| name.contains(h))
        })
        .collect();
    out.sort();
    out
}

/// Loads a font file when it covers common Chinese, Japanese and Korean characters.
fn load_cjk(path: &Path) -> Option<LoadedFont> {
    let data = std::fs::read(path).ok()?;
    let font = LoadedFont::new(data, 0)?;
    let covers = {
        let f = font.font_ref()?;
        let map = f.charmap();
        ['中', '包', 'の', '한']
            .iter()
            .filter(|c| map.map(**c).is_some())
            .count()
            >= 2
    };
    covers.then_some(font)
}
