//! Source views (images and surfaces), brushes, masks and the destination region.

use super::pixel::color_to_pixel;
use super::region::Region;
use super::{Brush, CanvasError, Clip, Image, Limits, Mask, MaskBits, Point, Rect, Source, Surface};
use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// A read-only view of a source bitmap. It may hold only a window of the image (a
/// private copy, when the source is the destination surface itself); pixels of the image
/// outside the window read as 0, which callers avoid by asking for a wide enough window.
pub(crate) struct SrcView<'a> {
    data: Cow<'a, [u32]>,
    stride: usize,
    win: Rect,
    width: i32,
    height: i32,
    /// Whether the top byte is alpha when read through pixman (otherwise it reads 0xff).
    alpha: bool,
}

impl<'a> SrcView<'a> {
    pub fn from_image(img: &Image<'a>) -> Self {
        SrcView {
            data: Cow::Borrowed(img.pixels),
            stride: img.stride,
            win: Rect::new(0, 0, img.width as i32, img.height as i32),
            width: img.width as i32,
            height: img.height as i32,
            alpha: img.has_alpha,
        }
    }

    pub fn from_surface(s: &'a Surface, alpha: bool) -> Self {
        SrcView {
            data: Cow::Borrowed(s.data()),
            stride: s.stride(),
            win: s.bounds(),
            width: s.width() as i32,
            height: s.height() as i32,
            alpha,
        }
    }

    /// A private copy of `want ∩ bounds` of `s`.
    pub fn copy_of(s: &Surface, want: Rect, alpha: bool) -> SrcView<'static> {
        let win = want.intersect(&s.bounds());
        let win = if win.is_empty() { Rect::default() } else { win };
        let (w, h) = (win.width() as usize, win.height() as usize);
        let mut data = Vec::with_capacity(w * h);
        for y in win.top..win.bottom {
            if let Some(row) = s.row(y as u32) {
                data.extend_from_slice(&row[win.left as usize..win.right as usize]);
            }
        }
        SrcView { data: Cow::Owned(data), stride: w, win, width: s.width() as i32, height: s.height() as i32, alpha }
    }

    /// The same pixels, read with (or without) their alpha byte.
    pub fn with_alpha(self, alpha: bool) -> Self {
        SrcView { alpha, ..self }
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Pixels `x0..x1` of row `y` as stored (empty if outside the window).
    #[inline]
    pub fn row(&self, y: i32, x0: i32, x1: i32) -> &[u32] {
        let w = &self.win;
        if y < w.top || y >= w.bottom || x0 < w.left || x1 > w.right || x0 > x1 {
            return &[];
        }
        let start = (y - w.top) as usize * self.stride + (x0 - w.left) as usize;
        self.data.get(start..start + (x1 - x0) as usize).unwrap_or(&[])
    }

    /// The stored pixel, or 0 outside the window.
    #[inline]
    pub fn raw(&self, x: i64, y: i64) -> u32 {
        let w = &self.win;
        if x < w.left as i64 || x >= w.right as i64 || y < w.top as i64 || y >= w.bottom as i64 {
            return 0;
        }
        let i = (y - w.top as i64) as usize * self.stride + (x - w.left as i64) as usize;
        self.data.get(i).copied().unwrap_or(0)
    }

    /// The pixel as pixman's fetcher sees it with REPEAT_NONE: 0 outside the image, the
    /// alpha byte forced to 0xff for sources without alpha.
    #[inline]
    pub fn fetch(&self, x: i64, y: i64) -> u32 {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return 0;
        }
        let p = self.raw(x, y);
        if self.alpha {
            p
        } else {
            p | 0xff00_0000
        }
    }

    /// The pixel as pixman's fetcher sees it, ignoring the image bounds (for repeat
    /// modes that already mapped the coordinate inside).
    #[inline]
    pub fn fetch_in(&self, x: i64, y: i64) -> u32 {
        let p = self.raw(x, y);
        if self.alpha {
            p
        } else {
            p | 0xff00_0000
        }
    }
}

/// Resolves a source. `want` is the part of the image the operation may read (image
/// coordinates); it only matters when the source is the destination itself, which is
/// then read through a private copy of that part.
pub(crate) fn resolve<'a>(
    src: &Source<'a>,
    dst_id: u32,
    dst: &Surface,
    others: &'a BTreeMap<u32, Surface>,
    want: Rect,
    surface_alpha: bool,
) -> Result<SrcView<'a>, CanvasError> {
    match src {
        Source::Image(img) => Ok(SrcView::from_image(img)),
        Source::Surface(id) if *id == dst_id => {
            let alpha = dst.format().has_alpha() || surface_alpha;
            Ok(SrcView::copy_of(dst, want, alpha))
        }
        Source::Surface(id) => {
            let s = others.get(id).ok_or(CanvasError::UnknownSurface(*id))?;
            Ok(SrcView::from_surface(s, s.format().has_alpha() || surface_alpha))
        }
    }
}

/// A resolved brush.
pub(crate) enum BrushView<'a> {
    Solid(u32),
    Tile { view: SrcView<'a>, pos: Point },
}

impl BrushView<'_> {
    /// The tile pixel over destination (`x`, `y`), or the solid colour.
    #[inline]
    pub fn at(&self, x: i32, y: i32) -> u32 {
        match self {
            BrushView::Solid(c) => *c,
            BrushView::Tile { view, pos } => {
                let b = view.bounds();
                let tx = (x as i64 - pos.x as i64).rem_euclid(b.right as i64);
                let ty = (y as i64 - pos.y as i64).rem_euclid(b.bottom as i64);
                view.raw(tx, ty)
            }
        }
    }
}

pub(crate) fn resolve_brush<'a>(
    brush: &Brush<'a>,
    dst_id: u32,
    dst: &Surface,
    others: &'a BTreeMap<u32, Surface>,
) -> Result<BrushView<'a>, CanvasError> {
    match brush {
        Brush::None => Ok(BrushView::Solid(0)),
        Brush::Solid(c) => Ok(BrushView::Solid(color_to_pixel(dst.format(), *c))),
        Brush::Pattern { image, pos } => {
            let view = resolve(image, dst_id, dst, others, Rect::new(0, 0, i32::MAX, i32::MAX), false)?;
            if view.bounds().is_empty() {
                return Err(CanvasError::BadImage);
            }
            Ok(BrushView::Tile { view, pos: *pos })
        }
    }
}

/// bbox ∩ surface ∩ clip: spice's `dest_region` before the mask.
pub(crate) fn clip_region(dst: &Surface, bbox: Rect, clip: &Clip<'_>, limits: &Limits) -> Result<Region, CanvasError> {
    let base = Region::from_rect(bbox.intersect(&dst.bounds()));
    match clip {
        Clip::None => Ok(base),
        Clip::Rects(rects) => {
            if rects.len() > limits.max_clip_rects {
                return Err(CanvasError::TooManyClipRects(rects.len()));
            }
            if base.is_empty() {
                return Ok(base);
            }
            Ok(base.intersect(&Region::from_rects(rects)))
        }
    }
}

/// Intersects `region` with a mask positioned at `bbox`'s origin.
pub(crate) fn apply_mask(
    region: Region,
    mask: &Mask<'_>,
    bbox: Rect,
    dst_id: u32,
    dst: &Surface,
    others: &BTreeMap<u32, Surface>,
) -> Result<Region, CanvasError> {
    let Some(ext) = region.extents() else {
        return Ok(region);
    };
    enum Bits<'b> {
        Bitmap(super::Bitmap1<'b>),
        Surface(&'b Surface),
    }
    let bits = match &mask.bits {
        MaskBits::Bitmap(b) => Bits::Bitmap(*b),
        MaskBits::Surface(id) if *id == dst_id => Bits::Surface(dst),
        MaskBits::Surface(id) => Bits::Surface(others.get(id).ok_or(CanvasError::UnknownSurface(*id))?),
    };
    let (mw, mh) = match &bits {
        Bits::Bitmap(b) => (b.width as i64, b.height as i64),
        Bits::Surface(s) => (s.width() as i64, s.height() as i64),
    };
    let test = |mx: i64, my: i64| -> bool {
        match &bits {
            Bits::Bitmap(b) => b.bit(mx as u32, my as u32),
            Bits::Surface(s) => s.pixel(mx as u32, my as u32).unwrap_or(0) & 0x8000_0000 != 0,
        }
    };
    // Destination x = mask x + shift.
    let shift_x = bbox.left as i64 - mask.pos.x as i64;
    let shift_y = bbox.top as i64 - mask.pos.y as i64;
    let mut mreg = Region::empty();
    for y in ext.top..ext.bottom {
        let my = y as i64 - shift_y;
        if my < 0 || my >= mh {
            continue;
        }
        let mx0 = (ext.left as i64 - shift_x).max(0);
        let mx1 = (ext.right as i64 - shift_x).min(mw);
        let mut spans = Vec::new();
        let mut run: Option<i64> = None;
        let mut mx = mx0;
        while mx < mx1 {
            let on = test(mx, my) != mask.invers;
            match (on, run) {
                (true, None) => run = Some(mx),
                (false, Some(s)) => {
                    spans.push(((s + shift_x) as i32, (mx + shift_x) as i32));
                    run = None;
                }
                _ => {}
            }
            mx += 1;
        }
        if let Some(s) = run {
            spans.push(((s + shift_x) as i32, (mx1 + shift_x) as i32));
        }
        mreg.push_band(y, y + 1, spans);
    }
    Ok(region.intersect(&mreg))
}

/// Scaling parameters in pixman's 16.16 fixed point: destination pixel `i` (counted from
/// the box origin) samples at `base + i * step` on each axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub step_x: i64,
    pub step_y: i64,
    pub base_x: i64,
    pub base_y: i64,
}

impl Scale {
    /// spice's `__scale_image`: scale `src_area` onto `bbox` with a transform of
    /// `scale(fs) then translate(src origin)`, sampling at pixel centres.
    pub fn for_area(src_area: Rect, bbox: Rect) -> Result<Scale, CanvasError> {
        let (sw, sh) = area_size(src_area)?;
        let dw = bbox.right as i64 - bbox.left as i64;
        let dh = bbox.bottom as i64 - bbox.top as i64;
        if dw <= 0 || dh <= 0 {
            return Err(CanvasError::BadSourceArea);
        }
        let fx = (sw << 16) / dw;
        let fy = (sh << 16) / dh;
        if fx > i32::MAX as i64 || fy > i32::MAX as i64 {
            return Err(CanvasError::BadSourceArea);
        }
        Ok(Scale {
            step_x: fx,
            step_y: fy,
            base_x: ((fx + 1) >> 1) + ((src_area.left as i64) << 16),
            base_y: ((fy + 1) >> 1) + ((src_area.top as i64) << 16),
        })
    }

    /// spice's `canvas_scale_surface` (used by ROP3): a pure scale whose composite origin
    /// is `round(src_area.left / sx)`.
    pub fn for_rop3(src_area: Rect, bbox: Rect) -> Result<Scale, CanvasError> {
        let (sw, sh) = area_size(src_area)?;
        let dw = bbox.right as i64 - bbox.left as i64;
        let dh = bbox.bottom as i64 - bbox.top as i64;
        if dw <= 0 || dh <= 0 {
            return Err(CanvasError::BadSourceArea);
        }
        let fx = (sw << 16) / dw;
        let fy = (sh << 16) / dh;
        if fx > i32::MAX as i64 || fy > i32::MAX as i64 {
            return Err(CanvasError::BadSourceArea);
        }
        // round(left / (sw / dw)) = floor((2·left·dw + sw) / (2·sw)).
        let base = |o: i32, d: i64, s: i64, f: i64| -> i64 {
            let o = (2 * o as i128 * d as i128 + s as i128).div_euclid(2 * s as i128);
            (o * f as i128 + ((f as i128 + 1) >> 1)).clamp(-(1 << 60), 1 << 60) as i64
        };
        Ok(Scale {
            step_x: fx,
            step_y: fy,
            base_x: base(src_area.left, dw, sw, fx),
            base_y: base(src_area.top, dh, sh, fy),
        })
    }

    /// The source pixel nearest to destination offset (`i`, `j`), pixman-style.
    #[inline]
    pub fn nearest(&self, src: &SrcView<'_>, i: i64, j: i64) -> u32 {
        let x = (self.base_x + i * self.step_x - 1) >> 16;
        let y = (self.base_y + j * self.step_y - 1) >> 16;
        src.fetch(x, y)
    }

    /// pixman's bilinear sample for destination offset (`i`, `j`).
    #[inline]
    pub fn bilinear(&self, src: &SrcView<'_>, i: i64, j: i64) -> u32 {
        let x = self.base_x + i * self.step_x - 0x8000;
        let y = self.base_y + j * self.step_y - 0x8000;
        bilinear_at(src, x, y, |s, x, y| s.fetch(x, y))
    }
}

/// Bilinear sample at 16.16 position (`x`, `y`) (already shifted by half a pixel), with
/// `get` reading one texel.
#[inline]
pub(crate) fn bilinear_at(src: &SrcView<'_>, x: i64, y: i64, get: impl Fn(&SrcView<'_>, i64, i64) -> u32) -> u32 {
    let x1 = x >> 16;
    let y1 = y >> 16;
    let wx = (x >> 9 & 0x7f) as u32;
    let wy = (y >> 9 & 0x7f) as u32;
    super::pixel::bilinear(
        get(src, x1, y1),
        get(src, x1 + 1, y1),
        get(src, x1, y1 + 1),
        get(src, x1 + 1, y1 + 1),
        wx,
        wy,
    )
}

fn area_size(a: Rect) -> Result<(i64, i64), CanvasError> {
    let sw = a.right as i64 - a.left as i64;
    let sh = a.bottom as i64 - a.top as i64;
    if sw <= 0 || sh <= 0 {
        return Err(CanvasError::BadSourceArea);
    }
    Ok((sw, sh))
}
