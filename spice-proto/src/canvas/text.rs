//! DRAW_TEXT with raster glyphs.

use super::draw::{dest_region, draw_brush, for_each_pixel};
use super::pixel::{add4, mul4, text_brush_color, Rop2};
use super::region::Region;
use super::source::{resolve, resolve_brush, SrcView};
use super::{Brush, Canvas, CanvasError, Clip, Point, Rect, Ropd, SurfaceFormat};
use alloc::vec;

/// Glyph raster depth (SPICE_STRING_FLAGS_RASTER_A1/A4/A8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlyphDepth {
    /// 1 bit per pixel, most significant bit leftmost, rows padded to bytes.
    A1,
    /// 4 bits per pixel, high nibble leftmost, rows padded to bytes; coverage = nibble × 16.
    A4,
    /// 8 bits per pixel, rows not padded.
    A8,
}

/// One raster glyph (SpiceRasterGlyph). Its box is `render_pos + glyph_origin`, sized
/// `width × height`. Rows are read bottom-up, as spice-common does (it ignores
/// SPICE_STRING_FLAGS_RASTER_TOP_DOWN).
#[derive(Clone, Copy, Debug)]
pub struct Glyph<'a> {
    /// Pen position.
    pub render_pos: Point,
    /// Offset of the raster from the pen.
    pub glyph_origin: Point,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The raster.
    pub data: &'a [u8],
}

/// A string of raster glyphs of one depth.
#[derive(Clone, Copy, Debug)]
pub struct GlyphString<'a> {
    /// Depth of every glyph.
    pub depth: GlyphDepth,
    /// The glyphs.
    pub glyphs: &'a [Glyph<'a>],
}

/// DRAW_TEXT parameters.
#[derive(Clone, Copy, Debug)]
pub struct TextOp<'a> {
    /// The glyphs.
    pub string: GlyphString<'a>,
    /// Filled with `back_brush` first when not empty (`left == right` or `top == bottom`
    /// counts as empty, as in spice).
    pub back_area: Rect,
    /// Brush the glyph coverage is painted with (OVER); NONE paints nothing.
    pub fore_brush: Brush<'a>,
    /// Background brush (always OP_PUT, as spice-server does).
    pub back_brush: Brush<'a>,
    /// Must be OP_PUT when there is a background, otherwise nothing is drawn (spice-server
    /// does the same); ignored without background.
    pub fore_mode: Ropd,
    /// Ignored, as by spice-server.
    pub back_mode: Ropd,
}

fn glyph_box(g: &Glyph<'_>) -> Rect {
    let l = g.render_pos.x as i64 + g.glyph_origin.x as i64;
    let t = g.render_pos.y as i64 + g.glyph_origin.y as i64;
    let c = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    Rect::new(c(l), c(t), c(l + g.width as i64), c(t + g.height as i64))
}

fn glyph_stride(depth: GlyphDepth, width: usize) -> usize {
    match depth {
        GlyphDepth::A1 => width.div_ceil(8),
        GlyphDepth::A4 => width.div_ceil(2),
        GlyphDepth::A8 => width,
    }
}

impl Canvas {
    /// DRAW_TEXT: optional background fill, then the glyph coverage composited OVER with
    /// the fore brush (A1 coverage is 0 or 255; A4 is nibble × 16, as spice does;
    /// overlapping glyphs take the maximum; A1 glyphs OR).
    pub fn text(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &TextOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        for g in op.string.glyphs {
            let need = glyph_stride(op.string.depth, g.width as usize) * g.height as usize;
            if g.data.len() < need {
                return Err(CanvasError::BadGlyph);
            }
        }
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, None, &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let ba = op.back_area;
            if ba.left != ba.right && ba.top != ba.bottom {
                if op.fore_mode != Ropd::OP_PUT {
                    return Ok(None);
                }
                let back = region.intersect_rect(ba);
                if !back.is_empty() {
                    let brush = resolve_brush(&op.back_brush, dst, surf, others)?;
                    draw_brush(surf, &back, &brush, Rop2::Copy);
                }
            }
            let glyphs = op.string.glyphs;
            let Some(first) = glyphs.first() else {
                return Ok(Some(ext));
            };
            let bounds = glyphs.iter().fold(glyph_box(first), |a, g| {
                let b = glyph_box(g);
                Rect::new(a.left.min(b.left), a.top.min(b.top), a.right.max(b.right), a.bottom.max(b.bottom))
            });
            // Only the part of the string mask that can land in the region matters.
            let area = bounds.intersect(&ext);
            if area.is_empty() {
                return Ok(Some(ext));
            }
            let (aw, ah) = (area.width() as usize, area.height() as usize);
            let mut cov = vec![0u8; aw * ah];
            for g in glyphs {
                rasterize(g, op.string.depth, area, &mut cov, aw);
            }
            let fmt = surf.format();
            let fore = match op.fore_brush {
                Brush::None => return Ok(Some(ext)),
                Brush::Solid(c) => Fore::Solid(text_brush_color(fmt, c)),
                Brush::Pattern { image, pos } => {
                    // pixman composites the tile with the string mask's origin as the
                    // source origin, so the tile phase is relative to the mask.
                    let view = resolve(&image, dst, surf, others, Rect::new(0, 0, i32::MAX, i32::MAX), false)?;
                    if view.bounds().is_empty() {
                        return Err(CanvasError::BadImage);
                    }
                    Fore::Tile(view, Point::new(pos.x.wrapping_add(bounds.left), pos.y.wrapping_add(bounds.top)))
                }
            };
            let text_region = region.intersect(&Region::from_rect(area));
            let dest_alpha = fmt.has_alpha();
            let clear_x = fmt == SurfaceFormat::Xrgb32;
            for_each_pixel(surf, &text_region, |x, y, d| {
                let m = cov[(y - area.top) as usize * aw + (x - area.left) as usize] as u32;
                if m == 0 {
                    return;
                }
                let s = match &fore {
                    Fore::Solid(c) => *c,
                    Fore::Tile(view, pos) => {
                        let b = view.bounds();
                        let tx = (x as i64 - pos.x as i64).rem_euclid(b.right as i64);
                        let ty = (y as i64 - pos.y as i64).rem_euclid(b.bottom as i64);
                        view.fetch_in(tx, ty)
                    }
                };
                let s = mul4(s, m);
                let dd = if dest_alpha { *d } else { *d | 0xff00_0000 };
                let r = add4(mul4(dd, 255 - (s >> 24)), s);
                *d = if clear_x { r & 0x00ff_ffff } else { r };
            });
            Ok(Some(ext))
        })
    }
}

enum Fore<'a> {
    Solid(u32),
    Tile(SrcView<'a>, Point),
}

/// Adds one glyph's coverage into `cov` (covering `area`, `aw` wide).
fn rasterize(g: &Glyph<'_>, depth: GlyphDepth, area: Rect, cov: &mut [u8], aw: usize) {
    let b = glyph_box(g);
    let (w, h) = (g.width as usize, g.height as usize);
    let stride = glyph_stride(depth, w);
    for row in 0..h {
        let y = b.top as i64 + row as i64;
        if y < area.top as i64 || y >= area.bottom as i64 {
            continue;
        }
        // Bottom-up: destination row 0 takes the last raster row.
        let src = &g.data[(h - 1 - row) * stride..(h - row) * stride];
        let out = &mut cov[(y - area.top as i64) as usize * aw..][..aw];
        for col in 0..w {
            let x = b.left as i64 + col as i64;
            if x < area.left as i64 || x >= area.right as i64 {
                continue;
            }
            let v = match depth {
                GlyphDepth::A1 => {
                    if src[col / 8] >> (7 - col % 8) & 1 != 0 {
                        0xff
                    } else {
                        0
                    }
                }
                GlyphDepth::A4 => {
                    let byte = src[col / 2];
                    if col.is_multiple_of(2) {
                        byte & 0xf0
                    } else {
                        byte << 4
                    }
                }
                GlyphDepth::A8 => src[col],
            };
            let o = &mut out[(x - area.left as i64) as usize];
            *o = (*o).max(v);
        }
    }
}
