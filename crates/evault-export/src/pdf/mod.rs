//! PDF output with krilla: fonts subset and embedded, JPEGs embedded as
//! they are (no second re-encode), PDF/A-2b on request.

mod fonts;
mod layout;

use chrono::{DateTime, Datelike, Timelike, Utc};
use krilla::Document;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::TextDirection;

pub use fonts::CJK_FONT_ENV;
pub(crate) use fonts::{Fonts, char_name, is_invisible};
pub use layout::Paper;
pub(crate) use layout::{Flow, Op};

/// A finished PDF.
pub(crate) struct Pdf {
    pub(crate) bytes: Vec<u8>,
    pub(crate) pages: usize,
}

/// What is written into the PDF's metadata.
pub(crate) struct Meta<'a> {
    pub(crate) title: &'a str,
    pub(crate) footer: &'a str,
    pub(crate) created: DateTime<Utc>,
    pub(crate) pdfa: bool,
}

/// Draws laid-out pages into a PDF, with `footer · page i of n` on each.
pub(crate) fn render(flow: Flow<'_>, fonts: &Fonts, meta: &Meta<'_>) -> Result<Pdf, String> {
    let (pages, _, (width, height)) = flow.finish();
    let mut settings = krilla::SerializeSettings::default();
    if meta.pdfa {
        settings.configuration = ConfigurationBuilder::new()
            .with_archival_validator(Archival::A2_B)
            .finish()
            .map_err(|e| format!("PDF/A configuration: {e:?}"))?;
    }
    let mut doc = Document::new_with(settings);
    let c = meta.created;
    doc.set_metadata(
        Metadata::new()
            .title(meta.title.to_owned())
            .creator(format!("evault {}", env!("CARGO_PKG_VERSION")))
            .language("en".into())
            .creation_date(
                krilla::metadata::DateTime::new(u16::try_from(c.year()).unwrap_or(1970))
                    .month(c.month() as u8)
                    .day(c.day() as u8)
                    .hour(c.hour() as u8)
                    .minute(c.minute() as u8)
                    .second(c.second() as u8)
                    .utc_offset_hour(0)
                    .utc_offset_minute(0),
            ),
    );
    let size = PageSettings::from_wh(width, height).ok_or("bad page size")?;
    let n = pages.len();
    for (i, ops) in pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(size.clone());
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, runs } => draw_runs(&mut s, fonts, x, y, size, runs),
                Op::Jpeg { x, y, w, h, bytes } => {
                    let image = Image::from_jpeg(bytes.into(), false)?;
                    let Some(sz) = Size::from_wh(w, h) else {
                        continue;
                    };
                    s.push_transform(&Transform::from_translate(x, y));
                    s.draw_image(image, sz);
                    s.pop();
                }
                Op::Rule { x, y, w } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x, y);
                    pb.line_to(x + w, y);
                    if let Some(path) = pb.finish() {
                        s.set_stroke(Some(Stroke {
                            width: 0.6,
                            ..Default::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
            }
        }
        let (fx, fy) = Flow::footer_at(height);
        let footer = format!("{} · page {} of {n}", meta.footer, i + 1);
        let runs = fonts.runs(&footer, layout::BODY, false, &mut Vec::new());
        draw_runs(&mut s, fonts, fx, fy, layout::BODY, runs);
        s.finish();
        page.finish();
    }
    let bytes = doc.finish().map_err(|e| format!("{e:?}"))?;
    Ok(Pdf { bytes, pages: n })
}

fn draw_runs(
    s: &mut krilla::surface::Surface<'_>,
    fonts: &Fonts,
    x: f32,
    y: f32,
    size: f32,
    runs: Vec<fonts::Run>,
) {
    let mut x = x;
    for run in runs {
        if let Some(font) = fonts.pdf_font(run.face) {
            s.draw_text(
                Point::from_xy(x, y),
                font,
                size,
                &run.text,
                false,
                TextDirection::Auto,
            );
        }
        x += run.width;
    }
}
