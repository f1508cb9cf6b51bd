//! The raster draw operations: fill, copy/blend, opaque, rop3, transparent, alpha blend,
//! blackness/whiteness/invers and copy_bits.

use super::pixel::{self, key_of, mul4, over, ropd_to_rop2, with_rop2, Rop2, INV_BRUSH, INV_DEST, INV_SRC};
use super::region::Region;
use super::source::{apply_mask, clip_region, resolve, resolve_brush, BrushView, Scale, SrcView};
use super::{
    AlphaBlendOp, Canvas, CanvasError, Clip, CopyOp, FillOp, Mask, OpaqueOp, Point, Rect, Rop3Op, ScaleMode, Surface,
    SurfaceFormat, TransparentOp,
};
use alloc::collections::BTreeMap;

type Others = BTreeMap<u32, Surface>;

impl Canvas {
    /// Takes surface `id` out of the map, runs `f` on it with the other surfaces, puts it
    /// back, and then quantises and records the returned damage box.
    pub(crate) fn run(
        &mut self,
        id: u32,
        f: impl FnOnce(&mut Surface, &Others) -> Result<Option<Rect>, CanvasError>,
    ) -> Result<(), CanvasError> {
        let mut dst = self.surfaces.remove(&id).ok_or(CanvasError::UnknownSurface(id))?;
        let res = f(&mut dst, &self.surfaces);
        if let Ok(Some(r)) = res {
            let r = r.intersect(&dst.bounds());
            if !r.is_empty() {
                let (w, fmt) = (dst.stride(), dst.format());
                pixel::normalize_rect(dst.data_mut(), w, fmt, r);
            }
        }
        self.surfaces.insert(id, dst);
        if let Some(r) = res? {
            self.add_damage(id, r);
        }
        Ok(())
    }

    /// DRAW_FILL: combines the brush with the destination under `op.rop` (the brush is
    /// the operand: INVERS_BRUSH and INVERS_DEST apply).
    pub fn fill(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &FillOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, op.mask.as_ref(), &limits)?;
            if region.is_empty() {
                return Ok(None);
            }
            let rop = ropd_to_rop2(op.rop, INV_BRUSH, INV_DEST);
            let brush = resolve_brush(&op.brush, dst, surf, others)?;
            draw_brush(surf, &region, &brush, rop);
            Ok(region.extents())
        })
    }

    /// DRAW_COPY: the source area onto the destination box under `op.rop` (INVERS_SRC
    /// and INVERS_DEST apply), scaled when the sizes differ.
    ///
    /// Unscaled, destination pixels whose source pixel lies outside the source image are
    /// left alone (spice clips the blit to the image). Scaled, such samples read as
    /// transparent black (pixman's REPEAT_NONE), and the scaled source may sample just
    /// outside `src_area` (bilinear), exactly like spice-server. An empty or inverted
    /// `src_area` with a non-empty box is [`CanvasError::BadSourceArea`].
    ///
    /// OP_PUT without scaling is a row copy per clipped rectangle.
    pub fn copy(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &CopyOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, op.mask.as_ref(), &limits)?;
            if region.is_empty() {
                return Ok(None);
            }
            let rop = ropd_to_rop2(op.rop, INV_SRC, INV_DEST);
            put_source(surf, others, dst, &region, bbox, &op.src, op.src_area, op.scale, rop)?;
            Ok(region.extents())
        })
    }

    /// DRAW_BLEND: spice-server draws it exactly like [`Canvas::copy`].
    pub fn blend(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &CopyOp<'_>) -> Result<(), CanvasError> {
        self.copy(dst, bbox, clip, op)
    }

    /// DRAW_OPAQUE: puts the source (like an OP_PUT copy), then combines the brush with
    /// it under `op.rop`, where the brush is the operand and the source the destination
    /// (INVERS_BRUSH inverts the brush, INVERS_SRC the source).
    pub fn opaque(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &OpaqueOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, op.mask.as_ref(), &limits)?;
            if region.is_empty() {
                return Ok(None);
            }
            let rop = ropd_to_rop2(op.rop, INV_BRUSH, INV_SRC);
            let brush = resolve_brush(&op.brush, dst, surf, others)?;
            put_source(surf, others, dst, &region, bbox, &op.src, op.src_area, op.scale, Rop2::Copy)?;
            draw_brush(surf, &region, &brush, rop);
            Ok(region.extents())
        })
    }

    /// DRAW_BLACKNESS: zero.
    pub fn blackness(
        &mut self,
        dst: u32,
        bbox: Rect,
        clip: Clip<'_>,
        mask: Option<&Mask<'_>>,
    ) -> Result<(), CanvasError> {
        self.solid_rop(dst, bbox, clip, mask, Rop2::Clear)
    }

    /// DRAW_WHITENESS: all ones (including the x/alpha byte, as spice-server).
    pub fn whiteness(
        &mut self,
        dst: u32,
        bbox: Rect,
        clip: Clip<'_>,
        mask: Option<&Mask<'_>>,
    ) -> Result<(), CanvasError> {
        self.solid_rop(dst, bbox, clip, mask, Rop2::Set)
    }

    /// DRAW_INVERS: bitwise NOT of the destination.
    pub fn invers(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, mask: Option<&Mask<'_>>) -> Result<(), CanvasError> {
        self.solid_rop(dst, bbox, clip, mask, Rop2::Invert)
    }

    fn solid_rop(
        &mut self,
        dst: u32,
        bbox: Rect,
        clip: Clip<'_>,
        mask: Option<&Mask<'_>>,
        rop: Rop2,
    ) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, mask, &limits)?;
            if region.is_empty() {
                return Ok(None);
            }
            draw_brush(surf, &region, &BrushView::Solid(0), rop);
            Ok(region.extents())
        })
    }

    /// DRAW_ROP3: every pixel becomes `rop3(pattern, source, dest)`.
    ///
    /// Unscaled, `src_area` must lie inside the source image
    /// ([`CanvasError::BadSourceArea`] otherwise; spice-server also refuses the draw).
    /// Scaled, the source is resized like spice's `canvas_scale_surface`.
    pub fn rop3(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &Rop3Op<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, op.mask.as_ref(), &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let brush = resolve_brush(&op.brush, dst, surf, others)?;
            let scaled = !bbox.same_size(&op.src_area);
            let want = if scaled {
                grow(op.src_area, 2)
            } else {
                offset_rect(ext, op.src_area.left as i64 - bbox.left as i64, op.src_area.top as i64 - bbox.top as i64)
            };
            let src = resolve(&op.src, dst, surf, others, want, false)?;
            let scale = if scaled {
                Some(Scale::for_rop3(op.src_area, bbox)?)
            } else {
                let b = src.bounds();
                let sa = op.src_area;
                if sa.left < 0 || sa.top < 0 || sa.right > b.right || sa.bottom > b.bottom || sa.is_empty() {
                    return Err(CanvasError::BadSourceArea);
                }
                None
            };
            let w = surf.stride();
            let data = surf.data_mut();
            for r in region.rects() {
                for y in r.top..r.bottom {
                    let j = y as i64 - bbox.top as i64;
                    let row = &mut data[y as usize * w..(y as usize + 1) * w];
                    for x in r.left..r.right {
                        let i = x as i64 - bbox.left as i64;
                        let s = match &scale {
                            None => src.raw(op.src_area.left as i64 + i, op.src_area.top as i64 + j),
                            Some(sc) => match op.scale {
                                ScaleMode::Nearest => sc.nearest(&src, i, j),
                                ScaleMode::Interpolate => sc.bilinear(&src, i, j),
                            },
                        };
                        let p = brush.at(x, y);
                        let d = &mut row[x as usize];
                        *d = pixel::rop3(op.rop3, p, s, *d);
                    }
                }
            }
            Ok(Some(ext))
        })
    }

    /// DRAW_TRANSPARENT: copies source pixels that differ from the key (compared in the
    /// destination's precision: 24 bits, or the truncated 16-bit value). Scaling uses
    /// nearest. Source areas behave as for [`Canvas::copy`].
    pub fn transparent(
        &mut self,
        dst: u32,
        bbox: Rect,
        clip: Clip<'_>,
        op: &TransparentOp<'_>,
    ) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, None, &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let fmt = surf.format();
            let key = match fmt {
                SurfaceFormat::A8 | SurfaceFormat::A1 => 0,
                _ => key_of(fmt, op.true_color),
            };
            let keep = move |s: u32| key_of(fmt, s) != key;
            if bbox.same_size(&op.src_area) {
                let (dx, dy) = (op.src_area.left as i64 - bbox.left as i64, op.src_area.top as i64 - bbox.top as i64);
                let src = resolve(&op.src, dst, surf, others, offset_rect(ext, dx, dy), false)?;
                for_each_blit_span(surf, &region, &src, dx, dy, |d, s| {
                    for (d, &s) in d.iter_mut().zip(s) {
                        if keep(s) {
                            *d = s;
                        }
                    }
                });
            } else {
                let sc = Scale::for_area(op.src_area, bbox)?;
                let src = resolve(&op.src, dst, surf, others, grow(op.src_area, 2), false)?;
                for_each_pixel(surf, &region, |x, y, d| {
                    let s = sc.nearest(&src, x as i64 - bbox.left as i64, y as i64 - bbox.top as i64);
                    if keep(s) {
                        *d = s;
                    }
                });
            }
            Ok(Some(ext))
        })
    }

    /// DRAW_ALPHA_BLEND: premultiplied OVER of the source (times `alpha`/255) onto the
    /// destination, with pixman's rounding. Scaling uses nearest, as spice-server does.
    /// Source samples outside the image leave the destination alone.
    pub fn alpha_blend(
        &mut self,
        dst: u32,
        bbox: Rect,
        clip: Clip<'_>,
        op: &AlphaBlendOp<'_>,
    ) -> Result<(), CanvasError> {
        let limits = self.limits;
        if op.alpha == 0 {
            // Still check the surface exists, like every other operation.
            return self.run(dst, |_, _| Ok(None));
        }
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, None, &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let fmt = surf.format();
            let dest_alpha = fmt.has_alpha() || (op.flags.dest_has_alpha && fmt == SurfaceFormat::Xrgb32);
            let clear_x = fmt == SurfaceFormat::Xrgb32 && !op.flags.dest_has_alpha;
            let a = op.alpha as u32;
            let blend = move |s: u32, d: u32| -> u32 {
                let s = if a == 0xff { s } else { mul4(s, a) };
                let dd = if dest_alpha { d } else { d | 0xff00_0000 };
                let r = over(s, dd);
                if clear_x {
                    r & 0x00ff_ffff
                } else {
                    r
                }
            };
            let sa_flag = op.flags.src_surface_has_alpha;
            if bbox.same_size(&op.src_area) {
                let (dx, dy) = (op.src_area.left as i64 - bbox.left as i64, op.src_area.top as i64 - bbox.top as i64);
                let src = resolve(&op.src, dst, surf, others, offset_rect(ext, dx, dy), sa_flag)?;
                for_each_pixel(surf, &region, |x, y, d| {
                    let s = src.fetch(x as i64 + dx, y as i64 + dy);
                    *d = blend(s, *d);
                });
            } else {
                let sc = Scale::for_area(op.src_area, bbox)?;
                let src = resolve(&op.src, dst, surf, others, grow(op.src_area, 2), sa_flag)?;
                for_each_pixel(surf, &region, |x, y, d| {
                    let s = sc.nearest(&src, x as i64 - bbox.left as i64, y as i64 - bbox.top as i64);
                    *d = blend(s, *d);
                });
            }
            Ok(Some(ext))
        })
    }

    /// COPY_BITS: copies the surface's own pixels at `src_pos` to `bbox`, overlap-safe in
    /// every direction (as if read from a snapshot). Destination pixels whose source lies
    /// outside the surface are left alone.
    pub fn copy_bits(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, src_pos: Point) -> Result<(), CanvasError> {
        let limits = self.limits;
        self.run(dst, |surf, _| {
            let region = clip_region(surf, bbox, &clip, &limits)?;
            let dx = bbox.left as i64 - src_pos.x as i64;
            let dy = bbox.top as i64 - src_pos.y as i64;
            if dx == 0 && dy == 0 {
                return Ok(None);
            }
            let b = surf.bounds();
            let reachable = offset_rect(b, dx, dy);
            let region = region.intersect_rect(reachable);
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let w = surf.stride();
            let data = surf.data_mut();
            let mut copy_row = |y: i32, spans: &[(i32, i32)]| {
                let sy = (y as i64 - dy) as usize;
                let mut one = |&(x0, x1): &(i32, i32)| {
                    let len = (x1 - x0) as usize;
                    let from = sy * w + (x0 as i64 - dx) as usize;
                    data.copy_within(from..from + len, y as usize * w + x0 as usize);
                };
                if dx > 0 {
                    spans.iter().rev().for_each(&mut one);
                } else {
                    spans.iter().for_each(&mut one);
                }
            };
            if dy > 0 {
                for band in region.bands().iter().rev() {
                    for y in (band.y0..band.y1).rev() {
                        copy_row(y, &band.spans);
                    }
                }
            } else {
                for band in region.bands() {
                    for y in band.y0..band.y1 {
                        copy_row(y, &band.spans);
                    }
                }
            }
            Ok(Some(ext))
        })
    }
}

/// bbox ∩ surface ∩ clip ∩ mask.
pub(crate) fn dest_region(
    surf: &Surface,
    others: &Others,
    dst_id: u32,
    bbox: Rect,
    clip: &Clip<'_>,
    mask: Option<&Mask<'_>>,
    limits: &super::Limits,
) -> Result<Region, CanvasError> {
    let region = clip_region(surf, bbox, clip, limits)?;
    match mask {
        Some(m) if !region.is_empty() => apply_mask(region, m, bbox, dst_id, surf, others),
        _ => Ok(region),
    }
}

/// `r` moved by (`dx`, `dy`), clamped to the `i32` range.
pub(crate) fn offset_rect(r: Rect, dx: i64, dy: i64) -> Rect {
    let c = |v: i64| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    Rect::new(c(r.left as i64 + dx), c(r.top as i64 + dy), c(r.right as i64 + dx), c(r.bottom as i64 + dy))
}

/// `r` grown by `n` on every side (saturating).
pub(crate) fn grow(r: Rect, n: i32) -> Rect {
    Rect::new(r.left.saturating_sub(n), r.top.saturating_sub(n), r.right.saturating_add(n), r.bottom.saturating_add(n))
}

/// Calls `f(x, y, &mut pixel)` for every pixel of the region.
pub(crate) fn for_each_pixel(surf: &mut Surface, region: &Region, mut f: impl FnMut(i32, i32, &mut u32)) {
    let w = surf.stride();
    let data = surf.data_mut();
    for band in region.bands() {
        for y in band.y0..band.y1 {
            let row = &mut data[y as usize * w..(y as usize + 1) * w];
            for &(x0, x1) in &band.spans {
                for (x, d) in (x0..x1).zip(&mut row[x0 as usize..x1 as usize]) {
                    f(x, y, d);
                }
            }
        }
    }
}

/// For every region span, the matching source run at offset (`dx`, `dy`) clipped to the
/// source image: `f(dest_slice, src_slice)`, both of equal length.
fn for_each_blit_span(
    surf: &mut Surface,
    region: &Region,
    src: &SrcView<'_>,
    dx: i64,
    dy: i64,
    mut f: impl FnMut(&mut [u32], &[u32]),
) {
    // Destination pixels whose source is inside the image.
    let reach = offset_rect(src.bounds(), -dx, -dy);
    let w = surf.stride();
    let data = surf.data_mut();
    for band in region.bands() {
        let y0 = band.y0.max(reach.top);
        let y1 = band.y1.min(reach.bottom);
        for y in y0..y1 {
            let row = &mut data[y as usize * w..(y as usize + 1) * w];
            let sy = (y as i64 + dy) as i32;
            for &(x0, x1) in &band.spans {
                let (x0, x1) = (x0.max(reach.left), x1.min(reach.right));
                if x0 >= x1 {
                    continue;
                }
                let s = src.row(sy, (x0 as i64 + dx) as i32, (x1 as i64 + dx) as i32);
                let d = &mut row[x0 as usize..x1 as usize];
                if s.len() == d.len() {
                    f(d, s);
                }
            }
        }
    }
}

fn blit_span<F: Fn(u32, u32) -> u32>(d: &mut [u32], s: &[u32], f: F) {
    for (d, &s) in d.iter_mut().zip(s) {
        *d = f(s, *d);
    }
}

fn solid_span<F: Fn(u32, u32) -> u32>(d: &mut [u32], c: u32, f: F) {
    for d in d.iter_mut() {
        *d = f(c, *d);
    }
}

fn tile_span<F: Fn(u32, u32) -> u32>(d: &mut [u32], tile_row: &[u32], start: usize, f: F) {
    let mut t = start;
    for d in d.iter_mut() {
        *d = f(tile_row[t], *d);
        t += 1;
        if t == tile_row.len() {
            t = 0;
        }
    }
}

/// Puts a (possibly scaled) source into the region under `rop`.
#[allow(clippy::too_many_arguments)]
fn put_source(
    surf: &mut Surface,
    others: &Others,
    dst_id: u32,
    region: &Region,
    bbox: Rect,
    src: &super::Source<'_>,
    src_area: Rect,
    scale: ScaleMode,
    rop: Rop2,
) -> Result<(), CanvasError> {
    let Some(ext) = region.extents() else {
        return Ok(());
    };
    if bbox.same_size(&src_area) {
        let (dx, dy) = (src_area.left as i64 - bbox.left as i64, src_area.top as i64 - bbox.top as i64);
        let view = resolve(src, dst_id, surf, others, offset_rect(ext, dx, dy), false)?;
        if rop == Rop2::Copy {
            for_each_blit_span(surf, region, &view, dx, dy, |d, s| d.copy_from_slice(s));
        } else {
            for_each_blit_span(surf, region, &view, dx, dy, |d, s| with_rop2!(rop, blit_span(d, s)));
        }
    } else {
        let sc = Scale::for_area(src_area, bbox)?;
        let view = resolve(src, dst_id, surf, others, grow(src_area, 2), false)?;
        let (bl, bt) = (bbox.left as i64, bbox.top as i64);
        match scale {
            ScaleMode::Nearest => with_rop2!(
                rop,
                scaled_put(surf, region, |x: i32, y: i32| sc.nearest(&view, x as i64 - bl, y as i64 - bt))
            ),
            ScaleMode::Interpolate => with_rop2!(
                rop,
                scaled_put(surf, region, |x: i32, y: i32| sc.bilinear(&view, x as i64 - bl, y as i64 - bt))
            ),
        }
    }
    Ok(())
}

fn scaled_put<S: Fn(i32, i32) -> u32, F: Fn(u32, u32) -> u32>(surf: &mut Surface, region: &Region, sample: S, f: F) {
    for_each_pixel(surf, region, |x, y, d| *d = f(sample(x, y), *d));
}

/// Applies a brush to every pixel of the region under `rop`.
pub(crate) fn draw_brush(surf: &mut Surface, region: &Region, brush: &BrushView<'_>, rop: Rop2) {
    let w = surf.stride();
    let data = surf.data_mut();
    for band in region.bands() {
        for y in band.y0..band.y1 {
            let row = &mut data[y as usize * w..(y as usize + 1) * w];
            for &(x0, x1) in &band.spans {
                let d = &mut row[x0 as usize..x1 as usize];
                match brush {
                    BrushView::Solid(c) => {
                        if rop == Rop2::Copy {
                            d.fill(*c);
                        } else {
                            with_rop2!(rop, solid_span(d, *c))
                        }
                    }
                    BrushView::Tile { view, pos } => {
                        let b = view.bounds();
                        let ty = (y as i64 - pos.y as i64).rem_euclid(b.bottom as i64) as i32;
                        let tile_row = view.row(ty, 0, b.right);
                        if tile_row.is_empty() {
                            continue;
                        }
                        let start = (x0 as i64 - pos.x as i64).rem_euclid(b.right as i64) as usize;
                        with_rop2!(rop, tile_span(d, tile_row, start))
                    }
                }
            }
        }
    }
}
