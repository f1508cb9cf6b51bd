//! Text in Noto Sans Mono, from the pre-rasterised glyphs of
//! `noto-sans-mono-bitmap`.
//!
//! Glyphs are anti-aliased intensities; each pixel is `fg` blended over `bg`
//! per channel with `(fg * i + bg * (255 - i) + 127) / 255`. The whole
//! character cell is painted, so text needs no background fill first.

use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight, RasterizedChar};

use super::{put_row, FbMemory, Framebuffer};

/// The two text sizes Clove uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontSize {
    /// 16 px regular.
    Normal,
    /// 24 px bold.
    Title,
}

impl FontSize {
    const fn font(self) -> (FontWeight, RasterHeight) {
        match self {
            Self::Normal => (FontWeight::Regular, RasterHeight::Size16),
            Self::Title => (FontWeight::Bold, RasterHeight::Size24),
        }
    }

    const fn char_width(self) -> usize {
        let (weight, height) = self.font();
        get_raster_width(weight, height)
    }

    /// The glyph for `c`, or for '?' if the font lacks it.
    fn glyph(self, c: char) -> RasterizedChar {
        let (weight, height) = self.font();
        get_raster(c, weight, height).unwrap_or(match self {
            Self::Normal => FALLBACK_NORMAL,
            Self::Title => FALLBACK_TITLE,
        })
    }
}

const fn fallback(size: FontSize) -> RasterizedChar {
    let (weight, height) = size.font();
    match get_raster('?', weight, height) {
        Some(r) => r,
        None => panic!("the font has no '?'"),
    }
}

const FALLBACK_NORMAL: RasterizedChar = fallback(FontSize::Normal);
const FALLBACK_TITLE: RasterizedChar = fallback(FontSize::Title);

/// How to draw a run of text: size, and `0x00RRGGBB` colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextStyle {
    pub size: FontSize,
    pub fg: u32,
    pub bg: u32,
}

/// Width in pixels of `text` drawn at `size` (the font is monospaced).
pub fn text_width(text: &str, size: FontSize) -> u32 {
    let w = text.chars().count().saturating_mul(size.char_width());
    u32::try_from(w).unwrap_or(u32::MAX)
}

/// Height in pixels of one line of text at `size`.
pub fn line_height(size: FontSize) -> u32 {
    size.font().1.val() as u32
}

/// `fg` over `bg` at intensity `i`, per channel, rounded to nearest.
fn blend(fg: u32, bg: u32, i: u8) -> u32 {
    let i = u32::from(i);
    let mut out = 0;
    for shift in [0, 8, 16] {
        let (f, b) = ((fg >> shift) & 0xff, (bg >> shift) & 0xff);
        out |= ((f * i + b * (255 - i) + 127) / 255) << shift;
    }
    out
}

impl<M: FbMemory> Framebuffer<M> {
    /// Draws one line of text with its top-left corner at (`x`, `y`) and
    /// returns its width in pixels, [`text_width`], however much of it was
    /// on screen. Characters the font lacks (including control characters
    /// such as '\n') are drawn as '?'.
    pub fn draw_text(&mut self, x: i32, y: i32, text: &str, style: TextStyle) -> u32 {
        let advance = text_width(text, style.size);
        let Some(c) = self.clip(x, y, advance, line_height(style.size)) else {
            return advance;
        };
        let format = self.info.format;
        let bpp = format.bytes_per_pixel();
        let (fg_raw, bg_raw) = (format.encode(style.fg), format.encode(style.bg));
        let shade = |i: u8| match i {
            0 => bg_raw,
            255 => fg_raw,
            _ => format.encode(blend(style.fg, style.bg, i)),
        };
        let cw = style.size.char_width();
        for r in 0..c.h {
            let gy = c.skip_y + r;
            // Text column of the first visible pixel, and where it is in
            // its character cell.
            let mut chars = text.chars().skip(c.skip_x / cw);
            let mut gx = c.skip_x % cw;
            let mut done = 0;
            while done < c.w {
                // `text_width` counted these characters, so there is one.
                let Some(ch) = chars.next() else { break };
                let glyph = style.size.glyph(ch);
                let n = (cw - gx).min(c.w - done);
                let src = &glyph.pixels()[gy * cw + gx..gy * cw + gx + n];
                put_row(&mut self.row[done * bpp..(done + n) * bpp], bpp, src.iter().map(|&i| shade(i)));
                done += n;
                gx = 0;
            }
            let off = self.offset(c.x, c.y + r);
            self.mem.write_row(off, &self.row[..c.w * bpp]);
        }
        advance
    }

    /// Draws `lines` one below the other starting at (`x`, `y`), each line
    /// as tall as its font, and returns the `y` just below the last.
    pub fn draw_lines(&mut self, x: i32, y: i32, lines: &[(&str, TextStyle)]) -> i32 {
        let mut y = y;
        for &(text, style) in lines {
            self.draw_text(x, y, text, style);
            y = y.saturating_add(line_height(style.size) as i32);
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FbInfo, PixelFormat, VecMemory};
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    const SENTINEL: u8 = 0xaa;
    const FG: u32 = 0xf0e0d0;
    const BG: u32 = 0x102030;

    fn normal() -> TextStyle {
        TextStyle { size: FontSize::Normal, fg: FG, bg: BG }
    }

    fn title() -> TextStyle {
        TextStyle { size: FontSize::Title, fg: FG, bg: BG }
    }

    fn fb(width: u32, height: u32) -> Framebuffer<VecMemory> {
        let info = FbInfo { base: 0, width, height, pitch: width * 4, format: PixelFormat::XRGB8888 };
        let len = (width * 4 * height) as usize;
        Framebuffer::new(info, VecMemory(vec![SENTINEL; len])).unwrap()
    }

    /// A glyph's width, height and XRGB8888 pixel bytes.
    type Glyph = (usize, usize, Vec<[u8; 4]>);

    /// Independent expectation for a glyph: the font crate's raster values,
    /// blended with the documented formula, as XRGB8888 bytes.
    fn expected_glyph(c: char, weight: FontWeight, height: RasterHeight) -> Glyph {
        let r = get_raster(c, weight, height).unwrap();
        let px = r
            .pixels()
            .iter()
            .map(|&i| {
                let i = u32::from(i);
                let ch = |s: u32| (((FG >> s) & 0xff) * i + ((BG >> s) & 0xff) * (255 - i) + 127) / 255;
                [ch(0) as u8, ch(8) as u8, ch(16) as u8, 0]
            })
            .collect();
        (r.width(), r.height(), px)
    }

    fn bytes_at(fb: &Framebuffer<VecMemory>, x: usize, y: usize) -> [u8; 4] {
        let off = y * fb.info().pitch as usize + x * 4;
        fb.mem().0[off..off + 4].try_into().unwrap()
    }

    /// Asserts the screen holds exactly `cells` (glyph x offset, glyph) drawn
    /// at row `y0`, seen through the columns `x_lo..x_hi`, and sentinel
    /// everywhere else.
    fn assert_screen(fb: &Framebuffer<VecMemory>, y0: i32, x_lo: i32, x_hi: i32, cells: &[(i32, Glyph)]) {
        for y in 0..fb.height() as i32 {
            for x in 0..fb.width() as i32 {
                let mut want = [SENTINEL; 4];
                for (cx, (w, h, px)) in cells {
                    let (gx, gy) = (x - cx, y - y0);
                    if x >= x_lo && x < x_hi && (0..*w as i32).contains(&gx) && (0..*h as i32).contains(&gy) {
                        want = px[gy as usize * w + gx as usize];
                    }
                }
                assert_eq!(bytes_at(fb, x as usize, y as usize), want, "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn metrics() {
        let w16 = get_raster_width(FontWeight::Regular, RasterHeight::Size16) as u32;
        let w24 = get_raster_width(FontWeight::Bold, RasterHeight::Size24) as u32;
        assert_eq!(line_height(FontSize::Normal), 16);
        assert_eq!(line_height(FontSize::Title), 24);
        assert_eq!(text_width("", FontSize::Normal), 0);
        assert_eq!(text_width("abc", FontSize::Normal), 3 * w16);
        assert_eq!(text_width("héllo", FontSize::Title), 5 * w24);
    }

    #[test]
    fn blend_endpoints_and_rounding() {
        assert_eq!(blend(FG, BG, 0), BG);
        assert_eq!(blend(FG, BG, 255), FG);
        // (255 * 128 + 0 * 127 + 127) / 255 = 128.
        assert_eq!(blend(0xffffff, 0, 128), 0x808080);
        // (100 * 1 + 200 * 254 + 127) / 255 = 200 (199.6 rounds up).
        assert_eq!(blend(100, 200, 1), 200);
    }

    #[test]
    fn glyph_is_blended_from_the_font_raster() {
        let mut fb = fb(40, 30);
        let adv = fb.draw_text(3, 5, "A", normal());
        assert_eq!(adv, text_width("A", FontSize::Normal));
        let a = expected_glyph('A', FontWeight::Regular, RasterHeight::Size16);
        // The glyph must have both ink and background in it.
        assert!(a.2.iter().any(|p| p[..3] == [0xd0, 0xe0, 0xf0]));
        assert!(a.2.iter().any(|p| p[..3] == [0x30, 0x20, 0x10]));
        assert_screen(&fb, 5, i32::MIN, i32::MAX, &[(3, a)]);
    }

    #[test]
    fn title_uses_bold_24() {
        let mut fb = fb(60, 30);
        let adv = fb.draw_text(0, 1, "Wg", title());
        assert_eq!(adv, text_width("Wg", FontSize::Title));
        let w = get_raster_width(FontWeight::Bold, RasterHeight::Size24) as i32;
        let cells = [
            (0, expected_glyph('W', FontWeight::Bold, RasterHeight::Size24)),
            (w, expected_glyph('g', FontWeight::Bold, RasterHeight::Size24)),
        ];
        assert_screen(&fb, 1, i32::MIN, i32::MAX, &cells);
    }

    #[test]
    fn unknown_characters_draw_as_question_mark() {
        let mut a = fb(40, 20);
        let mut b = fb(40, 20);
        assert_eq!(a.draw_text(1, 1, "é\n", normal()), b.draw_text(1, 1, "??", normal()));
        assert_eq!(a.mem(), b.mem());
    }

    #[test]
    fn text_clipped_at_right_and_bottom() {
        let w = get_raster_width(FontWeight::Regular, RasterHeight::Size16) as i32;
        let mut fb = fb(20, 10);
        let text = "Hello, world";
        let adv = fb.draw_text(20 - w - 3, 2, text, normal());
        assert_eq!(adv, text_width(text, FontSize::Normal));
        let cells = [
            (20 - w - 3, expected_glyph('H', FontWeight::Regular, RasterHeight::Size16)),
            (20 - 3, expected_glyph('e', FontWeight::Regular, RasterHeight::Size16)),
        ];
        assert_screen(&fb, 2, 0, 20, &cells);
    }

    #[test]
    fn text_clipped_at_left_and_top_mid_glyph() {
        let w = get_raster_width(FontWeight::Regular, RasterHeight::Size16) as i32;
        let mut fb = fb(3 * w as u32, 20);
        // "xAB" starting w + 3 columns left of the screen: the first visible
        // column is column 3 of 'A'.
        let x = -(w + 3);
        assert_eq!(fb.draw_text(x, -4, "xAB", normal()), 3 * w as u32);
        let cells = [
            (x + w, expected_glyph('A', FontWeight::Regular, RasterHeight::Size16)),
            (x + 2 * w, expected_glyph('B', FontWeight::Regular, RasterHeight::Size16)),
        ];
        assert_screen(&fb, -4, 0, i32::MAX, &cells);
    }

    #[test]
    fn text_fully_off_screen_or_empty_draws_nothing() {
        let mut fb = fb(20, 20);
        let untouched = fb.mem().clone();
        assert_eq!(fb.draw_text(0, 0, "", normal()), 0);
        let adv = text_width("abc", FontSize::Normal);
        assert_eq!(fb.draw_text(-(adv as i32), 0, "abc", normal()), adv);
        assert_eq!(fb.draw_text(20, 0, "abc", normal()), adv);
        assert_eq!(fb.draw_text(0, -16, "abc", normal()), adv);
        assert_eq!(fb.draw_text(0, 20, "abc", normal()), adv);
        assert_eq!(fb.draw_text(i32::MAX, i32::MAX, "abc", title()), text_width("abc", FontSize::Title));
        assert_eq!(fb.mem(), &untouched);
    }

    #[test]
    fn text_in_16bpp_matches_encoded_blend() {
        let info = FbInfo { base: 0, width: 16, height: 16, pitch: 32, format: PixelFormat::RGB565 };
        let mut fb = Framebuffer::new(info, VecMemory::zeroed(512)).unwrap();
        fb.draw_text(0, 0, "%", normal());
        let (w, h, px) = expected_glyph('%', FontWeight::Regular, RasterHeight::Size16);
        for y in 0..h {
            for x in 0..w {
                let [b, g, r, _] = px[y * w + x].map(u16::from);
                let want = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
                let off = y * 32 + x * 2;
                assert_eq!(fb.mem().0[off..off + 2], want.to_le_bytes(), "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn draw_lines_stacks_by_line_height() {
        let mut a = fb(60, 60);
        let end = a.draw_lines(2, 3, &[("Hi", title()), ("there", normal())]);
        assert_eq!(end, 3 + 24 + 16);
        let mut b = fb(60, 60);
        b.draw_text(2, 3, "Hi", title());
        b.draw_text(2, 27, "there", normal());
        assert_eq!(a.mem(), b.mem());
    }
}
