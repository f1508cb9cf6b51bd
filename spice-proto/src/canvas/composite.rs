//! DRAW_COMPOSITE: pixman's Porter-Duff operators with optional mask and affine
//! transforms.

use super::draw::{dest_region, for_each_pixel};
use super::pixel::{add4, mul4, mul_add4, over};
use super::source::{bilinear_at, resolve, SrcView};
use super::{Canvas, CanvasError, Clip, Point, Rect, Source, SurfaceFormat};

/// An affine transform in 16.16 fixed point (SpiceTransform), mapping destination space
/// to source space: `x' = t00·x + t01·y + t02`, `y' = t10·x + t11·y + t12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transform {
    /// Row 0, column 0.
    pub t00: i32,
    /// Row 0, column 1.
    pub t01: i32,
    /// Row 0, translation.
    pub t02: i32,
    /// Row 1, column 0.
    pub t10: i32,
    /// Row 1, column 1.
    pub t11: i32,
    /// Row 1, translation.
    pub t12: i32,
}

/// pixman filters, as carried in the composite flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Nearest (pixman FAST, NEAREST).
    Nearest,
    /// Bilinear (pixman GOOD, BEST, BILINEAR).
    Bilinear,
    /// pixman CONVOLUTION / SEPARABLE_CONVOLUTION: not implemented, sampled as nearest.
    Convolution,
}

impl Filter {
    fn from_bits(v: u32) -> Filter {
        match v {
            1 | 2 | 4 => Filter::Bilinear,
            5 | 6 => Filter::Convolution,
            _ => Filter::Nearest,
        }
    }
}

/// pixman repeat modes, as carried in the composite flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Transparent outside.
    None,
    /// Tiled.
    Normal,
    /// Edge pixels extended.
    Pad,
    /// Mirrored tiles.
    Reflect,
}

impl Repeat {
    fn from_bits(v: u32) -> Repeat {
        match v & 3 {
            1 => Repeat::Normal,
            2 => Repeat::Pad,
            3 => Repeat::Reflect,
            _ => Repeat::None,
        }
    }
}

/// DRAW_COMPOSITE parameters. The operator, filters, repeats, the opaque hints and the
/// presence of the mask and transforms come from `flags` (SPICE_COMPOSITE_*), as in
/// spice-server; a mask or transform given here without its flag is ignored.
#[derive(Clone, Copy, Debug)]
pub struct CompositeOp<'a> {
    /// SPICE_COMPOSITE_* flags.
    pub flags: u32,
    /// The source.
    pub src: Source<'a>,
    /// The mask (used when SPICE_COMPOSITE_HAS_MASK).
    pub mask: Option<Source<'a>>,
    /// Used when SPICE_COMPOSITE_HAS_SRC_TRANSFORM.
    pub src_transform: Option<Transform>,
    /// Used when SPICE_COMPOSITE_HAS_MASK_TRANSFORM.
    pub mask_transform: Option<Transform>,
    /// Source pixel under the destination box origin (before the transform).
    pub src_origin: Point,
    /// Mask pixel under the destination box origin (before the transform).
    pub mask_origin: Point,
}

/// SPICE_COMPOSITE_* bits.
impl CompositeOp<'_> {
    /// SPICE_COMPOSITE_COMPONENT_ALPHA (not implemented: the mask's alpha is used).
    pub const COMPONENT_ALPHA: u32 = 1 << 18;
    /// SPICE_COMPOSITE_HAS_MASK.
    pub const HAS_MASK: u32 = 1 << 19;
    /// SPICE_COMPOSITE_HAS_SRC_TRANSFORM.
    pub const HAS_SRC_TRANSFORM: u32 = 1 << 20;
    /// SPICE_COMPOSITE_HAS_MASK_TRANSFORM.
    pub const HAS_MASK_TRANSFORM: u32 = 1 << 21;
    /// SPICE_COMPOSITE_SOURCE_OPAQUE.
    pub const SOURCE_OPAQUE: u32 = 1 << 22;
    /// SPICE_COMPOSITE_MASK_OPAQUE (a hint; unused, as in spice-server).
    pub const MASK_OPAQUE: u32 = 1 << 23;
    /// SPICE_COMPOSITE_DEST_OPAQUE.
    pub const DEST_OPAQUE: u32 = 1 << 24;
}

struct Sampler<'a> {
    view: SrcView<'a>,
    transform: Option<Transform>,
    filter: Filter,
    repeat: Repeat,
}

impl Sampler<'_> {
    fn texel(&self, x: i64, y: i64) -> u32 {
        let b = self.view.bounds();
        let (w, h) = (b.right as i64, b.bottom as i64);
        if w == 0 || h == 0 {
            return 0;
        }
        let map = |v: i64, n: i64| -> i64 {
            match self.repeat {
                Repeat::None | Repeat::Normal => v.rem_euclid(n),
                Repeat::Pad => v.clamp(0, n - 1),
                Repeat::Reflect => {
                    let m = v.rem_euclid(2 * n);
                    if m >= n {
                        2 * n - m - 1
                    } else {
                        m
                    }
                }
            }
        };
        if self.repeat == Repeat::None {
            return self.view.fetch(x, y);
        }
        self.view.fetch_in(map(x, w), map(y, h))
    }

    /// The sample for integer source-space pixel (`px`, `py`) (its centre is `+0.5`).
    fn sample(&self, px: i64, py: i64) -> u32 {
        let Some(t) = self.transform else {
            return self.texel(px, py);
        };
        // pixman_transform_point_31_16_affine on (px + 0.5, py + 0.5). Computed wide and
        // clamped: pixman asserts on coordinates this large, we just sample garbage.
        let (px, py) = (px as i128, py as i128);
        let lin = |a: i32, b: i32, c: i32| -> i64 {
            let v = a as i128 * px
                + b as i128 * py
                + c as i128
                + ((a as i128 * 0x8000 + b as i128 * 0x8000 + 0x8000) >> 16);
            v.clamp(-(1i128 << 60), 1i128 << 60) as i64
        };
        let x = lin(t.t00, t.t01, t.t02);
        let y = lin(t.t10, t.t11, t.t12);
        match self.filter {
            Filter::Nearest | Filter::Convolution => self.texel((x - 1) >> 16, (y - 1) >> 16),
            Filter::Bilinear => bilinear_at(&self.view, x - 0x8000, y - 0x8000, |_, x, y| self.texel(x, y)),
        }
    }
}

impl Canvas {
    /// DRAW_COMPOSITE.
    ///
    /// Implemented: the Porter-Duff operators CLEAR, SRC, DST, OVER, OVER_REVERSE, IN,
    /// IN_REVERSE, OUT, OUT_REVERSE, ATOP, ATOP_REVERSE, XOR and ADD, with pixman's
    /// rounding; an optional mask (its alpha); affine source and mask transforms with
    /// nearest or bilinear filtering; all four repeat modes. Not implemented: SATURATE,
    /// the disjoint/conjoint and blend-mode operators
    /// ([`CanvasError::UnsupportedCompositeOp`]), component alpha (the mask's alpha is
    /// used instead) and convolution filters (sampled as nearest).
    pub fn composite(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &CompositeOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        let pd = (op.flags & 0xff) as u8;
        if pd > 12 {
            return Err(CanvasError::UnsupportedCompositeOp(pd));
        }
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, None, &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let all = Rect::new(i32::MIN, i32::MIN, i32::MAX, i32::MAX);
            let src_opaque = op.flags & CompositeOp::SOURCE_OPAQUE != 0;
            let mut sview = resolve(&op.src, dst, surf, others, all, false)?;
            if src_opaque {
                sview = force_opaque(sview);
            }
            let src = Sampler {
                view: sview,
                transform: if op.flags & CompositeOp::HAS_SRC_TRANSFORM != 0 { op.src_transform } else { None },
                filter: Filter::from_bits(op.flags >> 8 & 7),
                repeat: Repeat::from_bits(op.flags >> 14 & 3),
            };
            let mask = match (op.flags & CompositeOp::HAS_MASK != 0, &op.mask) {
                (true, Some(m)) => Some(Sampler {
                    view: resolve(m, dst, surf, others, all, false)?,
                    transform: if op.flags & CompositeOp::HAS_MASK_TRANSFORM != 0 { op.mask_transform } else { None },
                    filter: Filter::from_bits(op.flags >> 11 & 7),
                    repeat: Repeat::from_bits(op.flags >> 16 & 3),
                }),
                _ => None,
            };
            let fmt = surf.format();
            let dest_opaque = op.flags & CompositeOp::DEST_OPAQUE != 0 || !fmt.has_alpha();
            let (sx0, sy0) = (op.src_origin.x as i64 - bbox.left as i64, op.src_origin.y as i64 - bbox.top as i64);
            let (mx0, my0) = (op.mask_origin.x as i64 - bbox.left as i64, op.mask_origin.y as i64 - bbox.top as i64);
            for_each_pixel(surf, &region, |x, y, d| {
                let mut s = src.sample(x as i64 + sx0, y as i64 + sy0);
                if let Some(m) = &mask {
                    let ma = m.sample(x as i64 + mx0, y as i64 + my0) >> 24;
                    s = if ma == 0 { 0 } else { mul4(s, ma) };
                }
                let dd = if dest_opaque { *d | 0xff00_0000 } else { *d };
                let (sa, da) = (s >> 24, dd >> 24);
                let r = match pd {
                    0 => 0,
                    1 => s,
                    2 => dd,
                    3 => over(s, dd),
                    4 => add4(mul4(s, 255 - da), dd),
                    5 => mul4(s, da),
                    6 => mul4(dd, sa),
                    7 => mul4(s, 255 - da),
                    8 => mul4(dd, 255 - sa),
                    9 => mul_add4(s, da, dd, 255 - sa),
                    10 => mul_add4(s, 255 - da, dd, sa),
                    11 => mul_add4(s, 255 - da, dd, 255 - sa),
                    _ => add4(s, dd),
                };
                *d = match fmt {
                    SurfaceFormat::Xrgb32 => r & 0x00ff_ffff,
                    SurfaceFormat::Argb32 if dest_opaque => r | 0xff00_0000,
                    _ => r,
                };
            });
            Ok(Some(ext))
        })
    }
}

fn force_opaque(v: SrcView<'_>) -> SrcView<'_> {
    v.with_alpha(false)
}
