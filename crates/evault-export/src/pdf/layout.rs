//! A small flow layout: text wrapped to the page width, two-column rows and
//! images, broken into portrait pages. Everything is 12 pt or larger.

use std::sync::Arc;

use super::fonts::{Fonts, Run};

/// Body text size, in points.
pub(crate) const BODY: f32 = 12.0;
const HEADING: f32 = 16.0;
const TITLE: f32 = 20.0;
const MARGIN: f32 = 54.0;
/// Room kept at the bottom of every page for the footer.
const FOOTER_ROOM: f32 = 26.0;

/// The paper size of the summary PDF.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl Paper {
    /// Width and height in points.
    pub(crate) fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// One thing drawn on a page, positioned from the page's top left corner.
pub(crate) enum Op {
    /// A line of text; `y` is its baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        runs: Vec<Run>,
    },
    /// A JPEG, embedded as it is.
    Jpeg {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        bytes: Arc<Vec<u8>>,
    },
    /// A thin horizontal rule.
    Rule { x: f32, y: f32, w: f32 },
}

/// Lays out content into pages.
pub(crate) struct Flow<'f> {
    fonts: &'f Fonts,
    width: f32,
    height: f32,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Characters no font covered (drawn as `?`).
    pub(crate) missing: Vec<char>,
}

impl<'f> Flow<'f> {
    pub(crate) fn new(fonts: &'f Fonts, paper: Paper) -> Self {
        let (width, height) = paper.size();
        Self {
            fonts,
            width,
            height,
            pages: vec![Vec::new()],
            y: MARGIN,
            missing: Vec::new(),
        }
    }

    fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

    fn bottom(&self) -> f32 {
        self.height - MARGIN - FOOTER_ROOM
    }

    fn page_is_empty(&self) -> bool {
        self.pages.last().is_none_or(|p| p.is_empty())
    }

    /// Starts a new page unless the current one is still empty.
    pub(crate) fn page_break(&mut self) {
        if !self.page_is_empty() {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    /// Makes sure `h` points fit below the cursor.
    fn ensure(&mut self, h: f32) {
        if self.y + h > self.bottom() {
            self.page_break();
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    /// Vertical space.
    pub(crate) fn space(&mut self, h: f32) {
        if !self.page_is_empty() {
            self.y += h;
        }
    }

    fn measure(&self, text: &str, size: f32, bold: bool) -> f32 {
        self.fonts
            .runs(text, size, bold, &mut Vec::new())
            .iter()
            .map(|r| r.width)
            .sum()
    }

    /// Breaks `text` into lines at most `width` wide (at spaces, between
    /// CJK characters, and inside words longer than a line).
    pub(crate) fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut line_w = 0.0;
            for tok in tokens(para) {
                let fit_w = self.measure(tok.trim_end(), size, bold);
                if line_w + fit_w > width && !line.trim().is_empty() {
                    lines.push(std::mem::take(&mut line).trim_end().to_owned());
                    line_w = 0.0;
                }
                if fit_w > width {
                    for c in tok.chars() {
                        let cw = self.measure(c.encode_utf8(&mut [0; 4]), size, bold);
                        if line_w + cw > width && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            line_w = 0.0;
                        }
                        line.push(c);
                        line_w += cw;
                    }
                } else {
                    line.push_str(tok);
                    line_w += self.measure(tok, size, bold);
                }
            }
            lines.push(line.trim_end().to_owned());
        }
        lines
    }

    fn line_at(&mut self, x: f32, text: &str, size: f32, bold: bool) {
        let runs = self.fonts.runs(text, size, bold, &mut self.missing);
        let y = self.y + size * 0.95;
        self.push(Op::Text { x, y, size, runs });
    }

    fn lines(&mut self, text: &str, size: f32, bold: bool) {
        let lh = size * 1.35;
        for line in self.wrap(text, size, bold, self.content_width()) {
            self.ensure(lh);
            self.line_at(MARGIN, &line, size, bold);
            self.y += lh;
        }
    }

    /// The document's title.
    pub(crate) fn title(&mut self, text: &str) {
        self.lines(text, TITLE, true);
        self.y += 6.0;
    }

    /// A section heading, kept with at least three lines of what follows.
    pub(crate) fn heading(&mut self, text: &str) {
        self.space(10.0);
        self.ensure(HEADING * 1.35 + 3.0 * BODY * 1.35);
        self.lines(text, HEADING, true);
        let (x, y, w) = (MARGIN, self.y, self.content_width());
        self.push(Op::Rule { x, y, w });
        self.y += 6.0;
    }

    /// A paragraph of body text (`\n` starts a new line).
    pub(crate) fn para(&mut self, text: &str) {
        self.lines(text, BODY, false);
        self.y += 4.0;
    }

    /// A bold line of body text, kept with two lines of what follows.
    pub(crate) fn strong(&mut self, text: &str) {
        self.ensure(3.0 * BODY * 1.35);
        self.lines(text, BODY, true);
    }

    /// Two columns: `left` (bold when `bold_left`) in `left_w` points, `right` beside it.
    pub(crate) fn row(&mut self, left: &str, right: &str, left_w: f32, bold_left: bool) {
        let lh = BODY * 1.35;
        let gap = 8.0;
        let l = self.wrap(left, BODY, bold_left, left_w);
        let r = self.wrap(right, BODY, false, self.content_width() - left_w - gap);
        let n = l.len().max(r.len());
        self.ensure(lh * n.min(3) as f32);
        for i in 0..n {
            self.ensure(lh);
            if let Some(t) = l.get(i) {
                self.line_at(MARGIN, t, BODY, bold_left);
            }
            if let Some(t) = r.get(i) {
                self.line_at(MARGIN + left_w + gap, t, BODY, false);
            }
            self.y += lh;
        }
        self.y += 2.0;
    }

    /// A JPEG of `px_w` × `px_h` pixels, as large as the space left on the
    /// page allows (a new page when less than a third of one is left).
    pub(crate) fn jpeg(&mut self, bytes: Arc<Vec<u8>>, px_w: u32, px_h: u32) {
        if px_w == 0 || px_h == 0 {
            return;
        }
        if self.bottom() - self.y < (self.bottom() - MARGIN) / 3.0 {
            self.page_break();
        }
        let (avail_w, avail_h) = (self.content_width(), self.bottom() - self.y);
        let scale = (avail_w / px_w as f32).min(avail_h / px_h as f32);
        let (w, h) = (px_w as f32 * scale, px_h as f32 * scale);
        let x = MARGIN + (avail_w - w) / 2.0;
        let y = self.y;
        self.push(Op::Jpeg { x, y, w, h, bytes });
        self.y += h + 8.0;
    }

    /// The pages laid out so far.
    pub(crate) fn page_count(&self) -> usize {
        self.pages.len() - usize::from(self.page_is_empty() && self.pages.len() > 1)
    }

    /// The pages (a trailing empty page dropped).
    pub(crate) fn finish(mut self) -> (Vec<Vec<Op>>, Vec<char>, (f32, f32)) {
        if self.pages.len() > 1 && self.page_is_empty() {
            self.pages.pop();
        }
        (self.pages, self.missing, (self.width, self.height))
    }

    /// Where the footer's baseline goes, and its left edge.
    pub(crate) fn footer_at(height: f32) -> (f32, f32) {
        (MARGIN, height - MARGIN + BODY)
    }
}

/// Words with their trailing spaces; every CJK character is a word of its own.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let wide = is_wide(c);
        let next = chars.peek().map(|(_, n)| *n);
        let end_here = match next {
            None => true,
            Some(n) => {
                (wide && !n.is_whitespace())
                    || (c.is_whitespace() && !n.is_whitespace())
                    || (!c.is_whitespace() && is_wide(n))
            }
        };
        if end_here {
            let end = i + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
    }
    out
}

/// CJK ideographs, kana, hangul and full-width forms: a line may break beside them.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_break_at_spaces_and_between_cjk_characters() {
        assert_eq!(tokens("ab  cd"), ["ab  ", "cd"]);
        assert_eq!(tokens("包裹 ok"), ["包", "裹 ", "ok"]);
        assert_eq!(tokens("x包"), ["x", "包"]);
        assert!(tokens("").is_empty());
    }
}
