//! Clove's own screens: the boot status screen and the error banner.
//!
//! Layout lives here, not in the payload, so the QEMU tests can render the
//! expected pixels on the host and compare them with a real screendump.

use crate::framebuffer::{line_height, text_width, FbMemory, FontSize, Framebuffer, TextStyle};

pub const BACKGROUND: u32 = 0x101820;
pub const FOREGROUND: u32 = 0xe8e8e8;
pub const TITLE: u32 = 0x7cc4ff;
pub const ERROR_BACKGROUND: u32 = 0x8b1a1a;
/// Configuration problems on the status screens.
pub const NOTE: u32 = 0xffc857;
pub const MARGIN: i32 = 32;
pub const TITLE_Y: i32 = 24;
pub const BODY_Y: i32 = 72;
/// Extra pixels between body lines.
pub const LINE_GAP: u32 = 4;

pub const TITLE_STYLE: TextStyle = TextStyle { size: FontSize::Title, fg: TITLE, bg: BACKGROUND };
pub const BODY_STYLE: TextStyle = TextStyle { size: FontSize::Normal, fg: FOREGROUND, bg: BACKGROUND };
pub const NOTE_STYLE: TextStyle = TextStyle { size: FontSize::Normal, fg: NOTE, bg: BACKGROUND };

/// Top of body line `i` on the status screen.
pub fn body_line_y(i: usize) -> i32 {
    BODY_Y + i as i32 * (line_height(FontSize::Normal) + LINE_GAP) as i32
}

/// How many body lines fit on a screen `height` pixels tall.
pub fn body_lines_that_fit(height: u32) -> usize {
    let pitch = line_height(FontSize::Normal) + LINE_GAP;
    (height.saturating_sub(BODY_Y as u32 + MARGIN as u32) / pitch) as usize
}

/// Clear the screen and draw `title` and the body `lines`; lines that do not
/// fit are dropped and the last visible one says how many.
pub fn draw_status<M: FbMemory>(fb: &mut Framebuffer<M>, title: &str, lines: &[&str]) {
    fb.clear(BACKGROUND);
    fb.draw_text(MARGIN, TITLE_Y, title, TITLE_STYLE);
    let fit = body_lines_that_fit(fb.height());
    for (i, line) in lines.iter().enumerate().take(fit) {
        if i + 1 == fit && lines.len() > fit {
            let mut more = FmtBuf::<64>::default();
            let _ = core::fmt::write(&mut more, format_args!("... and {} more lines", lines.len() - i));
            fb.draw_text(MARGIN, body_line_y(i), more.as_str(), BODY_STYLE);
            break;
        }
        fb.draw_text(MARGIN, body_line_y(i), line, BODY_STYLE);
    }
}

/// Draw `notes` (configuration problems) in the note colour on the status
/// screen's body lines from line `first` on, each wrapped to the width, as
/// many as fit.
pub fn draw_notes<M: FbMemory>(fb: &mut Framebuffer<M>, first: usize, notes: &[&str]) {
    let fit = body_lines_that_fit(fb.height());
    let cols = wrap_columns(fb.width());
    let lines = notes.iter().flat_map(|n| wrap(n, cols));
    for (i, line) in (first..fit).zip(lines) {
        fb.draw_text(MARGIN, body_line_y(i), line, NOTE_STYLE);
    }
}

/// Draw `hint` (e.g. a hot key) right-aligned on the title line, in the
/// note colour.
pub fn draw_hint<M: FbMemory>(fb: &mut Framebuffer<M>, hint: &str) {
    let x = fb.width() as i32 - MARGIN - text_width(hint, FontSize::Normal) as i32;
    fb.draw_text(x.max(0), TITLE_Y, hint, NOTE_STYLE);
}

/// Draw a red banner across the bottom third with `title` and `message`,
/// wrapped to the screen width. It is drawn over whatever is on screen.
pub fn draw_error<M: FbMemory>(fb: &mut Framebuffer<M>, title: &str, message: &str) {
    let (w, h) = (fb.width(), fb.height());
    let top = (h / 3 * 2) as i32;
    fb.fill_rect(0, top, w, h - top as u32, ERROR_BACKGROUND);
    let title_style = TextStyle { size: FontSize::Title, fg: 0xffffff, bg: ERROR_BACKGROUND };
    let body = TextStyle { size: FontSize::Normal, fg: 0xffffff, bg: ERROR_BACKGROUND };
    fb.draw_text(MARGIN, top + 16, title, title_style);
    let cols = wrap_columns(w);
    let mut y = top + 16 + line_height(FontSize::Title) as i32 + 8;
    for line in wrap(message, cols) {
        if y + line_height(FontSize::Normal) as i32 > h as i32 {
            break;
        }
        fb.draw_text(MARGIN, y, line, body);
        y += (line_height(FontSize::Normal) + LINE_GAP) as i32;
    }
}

/// Inner padding of a [`draw_panel`] box, and its border width.
pub const PANEL_PAD: u32 = 16;
pub const PANEL_BORDER: u32 = 2;

/// Draw a box centred on the screen, over whatever is there, with `title`
/// and `lines` (an overlay such as the local menu). Returns the box as
/// (x, y, width, height).
pub fn draw_panel<M: FbMemory>(fb: &mut Framebuffer<M>, title: &str, lines: &[&str]) -> (i32, i32, u32, u32) {
    let text_w =
        lines.iter().map(|l| text_width(l, FontSize::Normal)).fold(text_width(title, FontSize::Title), u32::max);
    let line_h = line_height(FontSize::Normal) + LINE_GAP;
    let text_h = line_height(FontSize::Title) + 8 + line_h * lines.len() as u32;
    let w = (text_w + 2 * (PANEL_PAD + PANEL_BORDER)).min(fb.width());
    let h = (text_h + 2 * (PANEL_PAD + PANEL_BORDER)).min(fb.height());
    let x = ((fb.width() - w) / 2) as i32;
    let y = ((fb.height() - h) / 2) as i32;
    fb.fill_rect(x, y, w, h, TITLE);
    let b = PANEL_BORDER;
    fb.fill_rect(x + b as i32, y + b as i32, w.saturating_sub(2 * b), h.saturating_sub(2 * b), BACKGROUND);
    let left = x + (PANEL_PAD + PANEL_BORDER) as i32;
    let mut ty = y + (PANEL_PAD + PANEL_BORDER) as i32;
    fb.draw_text(left, ty, title, TITLE_STYLE);
    ty += line_height(FontSize::Title) as i32 + 8;
    for line in lines {
        if ty + line_h as i32 > y + h as i32 {
            break;
        }
        fb.draw_text(left, ty, line, BODY_STYLE);
        ty += line_h as i32;
    }
    (x, y, w, h)
}

/// Characters of body text that fit between the margins.
fn wrap_columns(width: u32) -> usize {
    let cell = text_width("M", FontSize::Normal).max(1);
    (width.saturating_sub(2 * MARGIN as u32) / cell).max(1) as usize
}

/// Split `text` into lines of at most `cols` chars, at newlines and spaces
/// where possible.
pub fn wrap(text: &str, cols: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let limit = rest.char_indices().nth(cols).map_or(rest.len(), |(i, _)| i);
        let cut = match rest[..limit].find('\n') {
            Some(nl) => nl,
            None if limit == rest.len() => limit,
            None => rest[..limit].rfind(' ').filter(|&s| s > 0).unwrap_or(limit),
        };
        let line = &rest[..cut];
        rest = rest[cut..].strip_prefix(['\n', ' ']).unwrap_or(&rest[cut..]);
        Some(line)
    })
}

/// Formatting into a fixed buffer, for the paths that must not need the
/// heap (fault reports) or should not (one status line). Text that does not
/// fit is cut at a char boundary.
pub struct FmtBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for FmtBuf<N> {
    fn default() -> Self {
        Self { buf: [0; N], len: 0 }
    }
}

impl<const N: usize> FmtBuf<N> {
    pub fn as_str(&self) -> &str {
        // Only whole chars are ever written.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for FmtBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            let mut tmp = [0u8; 4];
            let e = c.encode_utf8(&mut tmp).as_bytes();
            let Some(dst) = self.buf.get_mut(self.len..self.len + e.len()) else { break };
            dst.copy_from_slice(e);
            self.len += e.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framebuffer::{FbInfo, PixelFormat, VecMemory};
    use alloc::vec::Vec;

    fn screen(w: u32, h: u32) -> Framebuffer<VecMemory> {
        let info = FbInfo { base: 0, width: w, height: h, pitch: w * 4, format: PixelFormat::XRGB8888 };
        Framebuffer::new(info, VecMemory::zeroed((w * h * 4) as usize)).unwrap()
    }

    #[test]
    fn panel_is_centred_and_leaves_the_rest_alone() {
        let mut fb = screen(640, 480);
        fb.clear(0x123456);
        let (x, y, w, h) = draw_panel(&mut fb, "Menu", &["first line", "second"]);
        assert_eq!((x + w as i32 / 2, y + h as i32 / 2), (320, 240), "centred");
        assert!(w < 640 && h < 480);
        assert_eq!(fb.read_pixel(x, y), Some(TITLE), "border");
        assert_eq!(fb.read_pixel(x + w as i32 - 1, y + h as i32 - 1), Some(TITLE));
        assert_eq!(fb.read_pixel(x + 4, y + h as i32 - 4), Some(BACKGROUND), "inside");
        assert_eq!(fb.read_pixel(x - 1, y), Some(0x123456), "outside untouched");
        assert_eq!(fb.read_pixel(0, 0), Some(0x123456));
        // Text was drawn: some foreground pixels inside.
        let fg = (x..x + w as i32).flat_map(|px| (y..y + h as i32).map(move |py| (px, py)));
        assert!(fg.into_iter().any(|(px, py)| fb.read_pixel(px, py) == Some(FOREGROUND)));
    }

    #[test]
    fn hint_is_right_aligned_on_the_title_line() {
        let mut fb = screen(640, 480);
        fb.clear(BACKGROUND);
        draw_hint(&mut fb, "F2: setup");
        let ink = |x0: i32, x1: i32| {
            (TITLE_Y..TITLE_Y + line_height(FontSize::Normal) as i32)
                .any(|y| (x0..x1).any(|x| fb.read_pixel(x, y) == Some(NOTE)))
        };
        let left = 640 - MARGIN - text_width("F2: setup", FontSize::Normal) as i32;
        assert!(ink(left, 640 - MARGIN), "drawn in the note colour");
        assert!(!ink(0, left) && !ink(640 - MARGIN, 640), "nowhere else");
    }

    #[test]
    fn fmt_buf_cuts_at_char_boundaries() {
        use core::fmt::Write;
        let mut b = FmtBuf::<5>::default();
        write!(b, "ab\u{e9}cd").unwrap();
        assert_eq!(b.as_str(), "ab\u{e9}c");
        let mut b = FmtBuf::<3>::default();
        write!(b, "ab\u{e9}").unwrap();
        assert_eq!(b.as_str(), "ab");
    }

    #[test]
    fn wrap_breaks_at_spaces_newlines_and_hard_limits() {
        let v: Vec<_> = wrap("alpha beta gamma", 11).collect();
        assert_eq!(v, ["alpha beta", "gamma"]);
        let v: Vec<_> = wrap("one\ntwo", 40).collect();
        assert_eq!(v, ["one", "two"]);
        let v: Vec<_> = wrap("abcdefghij", 4).collect();
        assert_eq!(v, ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4).count(), 0);
    }

    #[test]
    fn status_screen_puts_title_and_lines_where_the_layout_says() {
        let mut fb = screen(640, 480);
        draw_status(&mut fb, "Clove 9.9", &["first", "second"]);
        // Background outside the text, title colour somewhere in the title.
        assert_eq!(fb.read_pixel(0, 0), Some(BACKGROUND));
        let title_has_ink =
            (TITLE_Y..TITLE_Y + 24).any(|y| (MARGIN..MARGIN + 60).any(|x| fb.read_pixel(x, y) == Some(TITLE)));
        assert!(title_has_ink);
        // Each body line matches a standalone rendering of the same text.
        let mut want = screen(640, 480);
        want.clear(BACKGROUND);
        want.draw_text(MARGIN, body_line_y(1), "second", BODY_STYLE);
        for y in body_line_y(1)..body_line_y(1) + line_height(FontSize::Normal) as i32 {
            for x in 0..640 {
                assert_eq!(fb.read_pixel(x, y), want.read_pixel(x, y), "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn status_screen_says_how_many_lines_did_not_fit() {
        let mut fb = screen(320, 200);
        let fit = body_lines_that_fit(200);
        let lines: Vec<&str> = (0..fit + 5).map(|_| "x").collect();
        draw_status(&mut fb, "t", &lines);
        let mut want = screen(320, 200);
        want.clear(BACKGROUND);
        want.draw_text(MARGIN, body_line_y(fit - 1), "... and 6 more lines", BODY_STYLE);
        let y = body_line_y(fit - 1) + 8;
        for x in 0..320 {
            assert_eq!(fb.read_pixel(x, y), want.read_pixel(x, y));
        }
    }

    #[test]
    fn notes_go_below_the_lines_in_their_colour_and_wrap() {
        let mut fb = screen(320, 200);
        draw_status(&mut fb, "t", &["line"]);
        let long = "CBFS clove.cfg line 3: unknown key \"sever\" and more words to wrap";
        draw_notes(&mut fb, 2, &[long, "never shown: past the bottom"]);
        let ink = |fb: &Framebuffer<VecMemory>, line: usize| {
            let y = body_line_y(line);
            (y..y + line_height(FontSize::Normal) as i32).any(|y| (0..320).any(|x| fb.read_pixel(x, y) == Some(NOTE)))
        };
        assert!(!ink(&fb, 1) && ink(&fb, 2) && ink(&fb, 3));
        let mut want = screen(320, 200);
        want.clear(BACKGROUND);
        let first = wrap(long, wrap_columns(320)).next().unwrap();
        want.draw_text(MARGIN, body_line_y(2), first, NOTE_STYLE);
        let y = body_line_y(2) + 8;
        for x in 0..320 {
            assert_eq!(fb.read_pixel(x, y), want.read_pixel(x, y));
        }
    }

    #[test]
    fn error_banner_covers_the_bottom_third_and_survives_tiny_screens() {
        let mut fb = screen(640, 480);
        fb.clear(0x123456);
        draw_error(&mut fb, "PANIC", "something went wrong at a place with a very long name that needs wrapping");
        assert_eq!(fb.read_pixel(0, 0), Some(0x123456));
        assert_eq!(fb.read_pixel(639, 479), Some(ERROR_BACKGROUND));
        assert_eq!(fb.read_pixel(0, 320), Some(ERROR_BACKGROUND));
        let mut tiny = screen(8, 8);
        draw_error(&mut tiny, "PANIC", "x");
    }
}
