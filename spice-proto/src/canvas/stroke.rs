//! DRAW_STROKE: zero-width lines, like spice-server (which always strokes with
//! lineWidth 0 and CapNotLast through its port of the X server's `miZeroLine`).

use super::draw::dest_region;
use super::pixel::{ropd_to_rop2, Rop2, INV_BRUSH, INV_DEST};
use super::source::resolve_brush;
use super::{Brush, Canvas, CanvasError, Clip, Point, Rect, Ropd};
use alloc::vec::Vec;

/// A point in 28.4 fixed point (SpicePointFix).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointFix {
    /// x × 16.
    pub x: i32,
    /// y × 16.
    pub y: i32,
}

/// One path segment (SpicePathSeg).
#[derive(Clone, Copy, Debug)]
pub struct PathSeg<'a> {
    /// SPICE_PATH_BEGIN (1), END (2), CLOSE (8), BEZIER (16).
    pub flags: u32,
    /// The points.
    pub points: &'a [PointFix],
}

impl PathSeg<'_> {
    /// SPICE_PATH_BEGIN.
    pub const BEGIN: u32 = 1 << 0;
    /// SPICE_PATH_END.
    pub const END: u32 = 1 << 1;
    /// SPICE_PATH_CLOSE.
    pub const CLOSE: u32 = 1 << 3;
    /// SPICE_PATH_BEZIER.
    pub const BEZIER: u32 = 1 << 4;
}

/// Line attributes (SpiceLineAttr).
#[derive(Clone, Copy, Debug, Default)]
pub struct LineAttr<'a> {
    /// SPICE_LINE_FLAGS_START_WITH_GAP (4), SPICE_LINE_FLAGS_STYLED (8).
    pub flags: u8,
    /// Dash lengths in 28.4 fixed point, on/off alternating.
    pub style: &'a [i32],
}

impl LineAttr<'_> {
    /// SPICE_LINE_FLAGS_START_WITH_GAP.
    pub const START_WITH_GAP: u8 = 1 << 2;
    /// SPICE_LINE_FLAGS_STYLED.
    pub const STYLED: u8 = 1 << 3;
}

/// DRAW_STROKE parameters.
#[derive(Clone, Copy, Debug)]
pub struct StrokeOp<'a> {
    /// The path.
    pub path: &'a [PathSeg<'a>],
    /// Dashing.
    pub attr: LineAttr<'a>,
    /// The brush (NONE is a solid 0).
    pub brush: Brush<'a>,
    /// How the brush combines with the destination.
    pub fore_mode: Ropd,
    /// Ignored, as by spice-server.
    pub back_mode: Ropd,
}

/// spice's `fix_to_int`: rounds 28.4 to the nearest integer, halves down.
fn fix_to_int(f: i32) -> i32 {
    let v = f >> 4;
    if f & 0xf > 8 {
        v + 1
    } else {
        v
    }
}

/// Deepest bezier subdivision; spice-common has no limit (and recurses forever on some
/// degenerate curves).
const MAX_BEZIER_DEPTH: u32 = 16;

fn subdivide(out: &mut Vec<Point>, p: [PointFix; 4], depth: u32) {
    let dot = |ax: i64, ay: i64, bx: i64, by: i64| -> i128 { (ax as i128 * bx as i128 + ay as i128 * by as i128) >> 4 };
    let [p0, p1, p2, p3] = p;
    let d = |a: PointFix, b: PointFix| (b.x as i64 - a.x as i64, b.y as i64 - a.y as i64);
    let (ax, ay) = d(p0, p1);
    let (bx, by) = d(p0, p3);
    let (cx, cy) = d(p3, p2);
    let (ex, ey) = d(p3, p0);
    let a2 = dot(ax, ay, ax, ay);
    let b2 = dot(bx, by, bx, by);
    let c2 = dot(cx, cy, cx, cy);
    let ab = dot(ax, ay, bx, by);
    let cb = dot(cx, cy, ex, ey);
    let h1 = (a2.saturating_mul(b2).saturating_sub(ab.saturating_mul(ab))) >> 3;
    let h2 = (c2.saturating_mul(b2).saturating_sub(cb.saturating_mul(cb))) >> 3;
    if (h1 < b2 && h2 < b2) || depth >= MAX_BEZIER_DEPTH {
        out.push(Point::new(fix_to_int(p3.x), fix_to_int(p3.y)));
        return;
    }
    let mid = |a: PointFix, b: PointFix| PointFix {
        x: ((a.x as i64 + b.x as i64) / 2) as i32,
        y: ((a.y as i64 + b.y as i64) / 2) as i32,
    };
    let p01 = mid(p0, p1);
    let p12 = mid(p1, p2);
    let p23 = mid(p2, p3);
    let p012 = mid(p01, p12);
    let p123 = mid(p12, p23);
    let p0123 = mid(p012, p123);
    subdivide(out, [p0, p01, p012, p0123], depth + 1);
    subdivide(out, [p0123, p123, p23, p3], depth + 1);
}

/// The X server's default zero-width line bias (octants 2, 3, 4 and 5), indexed by the
/// octant bits XDECREASING (4) | YDECREASING (2) | YMAJOR (1).
const ZERO_LINE_BIAS: u32 = 0xd8;

/// Calls `plot` for every pixel of the zero-width line from `a` towards `b` (the end
/// point excluded, as CapNotLast), restricted to `[0, w) × [0, h)`. The pixels are those
/// of the X server's `miZeroLine`, whose clipping is exact, computed here in closed form
/// so that huge coordinates cost nothing.
pub(crate) fn zero_segment(a: Point, b: Point, w: i64, h: i64, mut plot: impl FnMut(i32, i32)) {
    let (x1, y1, x2, y2) = (a.x as i64, a.y as i64, b.x as i64, b.y as i64);
    let (adx, ady) = ((x2 - x1).abs(), (y2 - y1).abs());
    let sx = if x2 < x1 { -1 } else { 1 };
    let sy = if y2 < y1 { -1 } else { 1 };
    let mut oct = 0u32;
    if x2 < x1 {
        oct |= 4;
    }
    if y2 < y1 {
        oct |= 2;
    }
    let x_major = adx > ady;
    if !x_major {
        oct |= 1;
    }
    let bias = (ZERO_LINE_BIAS >> oct & 1) as i64;
    // Major axis a, minor axis b.
    let (ma, mi, ma0, mi0, sma, smi, lim_ma, lim_mi) =
        if x_major { (adx, ady, x1, y1, sx, sy, w, h) } else { (ady, adx, y1, x1, sy, sx, h, w) };
    if ma == 0 {
        return;
    }
    // Minor steps taken before pixel k.
    let minor = |k: i64| -> i64 { ((2 * mi * k - ma - bias).div_euclid(2 * ma) + 1).max(0) };
    // k range keeping the major coordinate inside.
    let (mut lo, mut hi) = (0i64, ma - 1);
    if sma > 0 {
        lo = lo.max(-ma0);
        hi = hi.min(lim_ma - 1 - ma0);
    } else {
        lo = lo.max(ma0 - (lim_ma - 1));
        hi = hi.min(ma0);
    }
    if lo > hi {
        return;
    }
    // Minor coordinate inside: minor(k) must lie in [nlo, nhi]; minor is non-decreasing.
    let (nlo, nhi) = if smi > 0 { (-mi0, lim_mi - 1 - mi0) } else { (mi0 - (lim_mi - 1), mi0) };
    // First k with minor(k) >= nlo.
    let first = {
        let (mut l, mut r) = (lo, hi + 1);
        while l < r {
            let m = l + (r - l) / 2;
            if minor(m) >= nlo {
                r = m;
            } else {
                l = m + 1;
            }
        }
        l
    };
    // First k with minor(k) > nhi.
    let end = {
        let (mut l, mut r) = (lo, hi + 1);
        while l < r {
            let m = l + (r - l) / 2;
            if minor(m) > nhi {
                r = m;
            } else {
                l = m + 1;
            }
        }
        l
    };
    for k in first..end {
        let pm = ma0 + sma * k;
        let pn = mi0 + smi * minor(k);
        let (x, y) = if x_major { (pm, pn) } else { (pn, pm) };
        plot(x as i32, y as i32);
    }
}

/// Dash state along a polyline (approximation of X's on/off dashes for thin lines).
struct Dash {
    list: Vec<u32>,
    idx: usize,
    left: u32,
}

impl Dash {
    fn new(list: Vec<u32>, offset: u32) -> Option<Dash> {
        let total: u64 = list.iter().map(|&d| d as u64).sum();
        if total == 0 {
            return None;
        }
        let mut d = Dash { left: list[0], list, idx: 0 };
        let mut off = offset as u64 % total;
        while off > 0 {
            let step = off.min(d.left as u64);
            d.left -= step as u32;
            off -= step;
            d.roll();
        }
        d.roll();
        Some(d)
    }

    fn roll(&mut self) {
        while self.left == 0 {
            self.idx = (self.idx + 1) % self.list.len();
            self.left = self.list[self.idx];
        }
    }

    /// Whether the next pixel is drawn; advances.
    fn next(&mut self) -> bool {
        let on = self.idx.is_multiple_of(2);
        self.left -= 1;
        self.roll();
        on
    }
}

impl Canvas {
    /// DRAW_STROKE with zero-width lines.
    ///
    /// Solid lines are pixel-exact with spice-server (X's zero-width Bresenham with its
    /// default octant bias, CapNotLast, each segment drawn separately). Beziers are
    /// flattened like spice-common (depth-limited). Dashed lines (STYLED) are an
    /// approximation: spice-server hands them to X's wide-line dash code with width 1;
    /// we walk the dash list along the zero-width pixels instead.
    pub fn stroke(&mut self, dst: u32, bbox: Rect, clip: Clip<'_>, op: &StrokeOp<'_>) -> Result<(), CanvasError> {
        let limits = self.limits;
        let mut result = Ok(());
        self.run(dst, |surf, others| {
            let region = dest_region(surf, others, dst, bbox, &clip, None, &limits)?;
            let Some(ext) = region.extents() else {
                return Ok(None);
            };
            let rop = ropd_to_rop2(op.fore_mode, INV_BRUSH, INV_DEST);
            let brush = resolve_brush(&op.brush, dst, surf, others)?;
            let dashes = if op.attr.flags & LineAttr::STYLED != 0 && !op.attr.style.is_empty() {
                let mut list: Vec<u32> = op.attr.style.iter().map(|&s| fix_to_int(s).max(0) as u32).collect();
                let mut offset = 0;
                if op.attr.flags & LineAttr::START_WITH_GAP != 0 {
                    list.rotate_left(1);
                    offset = list[0];
                }
                Some((list, offset))
            } else {
                None
            };
            let (w, h) = (surf.width() as i64, surf.height() as i64);
            let stride = surf.stride();
            let mut draw = |pts: &[Point]| {
                let mut dash = dashes.as_ref().and_then(|(l, o)| Dash::new(l.clone(), *o));
                let data = surf.data_mut();
                for seg in pts.windows(2) {
                    zero_segment(seg[0], seg[1], w, h, |x, y| {
                        if let Some(d) = dash.as_mut() {
                            if !d.next() {
                                return;
                            }
                        }
                        if !region.row_spans(y).iter().any(|&(a, b)| a <= x && x < b) {
                            return;
                        }
                        let p = &mut data[y as usize * stride + x as usize];
                        *p = apply(rop, brush.at(x, y), *p);
                    });
                }
            };
            let mut lines: Vec<Point> = Vec::new();
            let fixp = |p: &PointFix| Point::new(fix_to_int(p.x), fix_to_int(p.y));
            for seg in op.path {
                let mut pts = seg.points;
                if seg.flags & PathSeg::BEGIN != 0 {
                    draw(&lines);
                    lines.clear();
                    if let Some((p, rest)) = pts.split_first() {
                        lines.push(fixp(p));
                        pts = rest;
                    }
                }
                if seg.flags & PathSeg::BEZIER != 0 {
                    if !pts.len().is_multiple_of(3) || (lines.is_empty() && !pts.is_empty()) {
                        result = Err(CanvasError::BadPath);
                        return Ok(Some(ext));
                    }
                    for c in pts.chunks_exact(3) {
                        let Some(last) = lines.last() else { break };
                        let p0 = PointFix { x: last.x.wrapping_mul(16), y: last.y.wrapping_mul(16) };
                        subdivide(&mut lines, [p0, c[0], c[1], c[2]], 0);
                    }
                } else {
                    lines.extend(pts.iter().map(fixp));
                }
                if seg.flags & PathSeg::END != 0 {
                    if seg.flags & PathSeg::CLOSE != 0 {
                        if let Some(&p) = lines.first() {
                            lines.push(p);
                        }
                    }
                    draw(&lines);
                    lines.clear();
                }
            }
            draw(&lines);
            Ok(Some(ext))
        })?;
        result
    }
}

#[inline]
fn apply(rop: Rop2, s: u32, d: u32) -> u32 {
    rop.apply(s, d)
}
