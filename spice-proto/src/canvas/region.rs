//! Y-X banded regions: the set of destination pixels an operation may touch.
//!
//! A region is a list of bands sorted by `y0`, never overlapping; each band holds sorted,
//! disjoint, non-touching x spans. Vertically adjacent bands with equal spans are merged.
//! This mirrors what pixman regions give spice-server, so no pixel is visited twice
//! (which matters for XOR-like ROPs).

use super::Rect;
use alloc::vec::Vec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Band {
    pub y0: i32,
    pub y1: i32,
    pub spans: Vec<(i32, i32)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Region {
    bands: Vec<Band>,
}

impl Region {
    pub fn empty() -> Self {
        Region { bands: Vec::new() }
    }

    pub fn from_rect(r: Rect) -> Self {
        let mut reg = Region::empty();
        if !r.is_empty() {
            reg.bands.push(Band { y0: r.top, y1: r.bottom, spans: alloc::vec![(r.left, r.right)] });
        }
        reg
    }

    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// Appends a band below every existing one, coalescing with the last band when the
    /// spans are equal and the bands touch.
    pub fn push_band(&mut self, y0: i32, y1: i32, spans: Vec<(i32, i32)>) {
        if spans.is_empty() || y0 >= y1 {
            return;
        }
        if let Some(last) = self.bands.last_mut() {
            if last.y1 == y0 && last.spans == spans {
                last.y1 = y1;
                return;
            }
        }
        self.bands.push(Band { y0, y1, spans });
    }

    /// The union of a set of boxes (empty and inverted boxes count as nothing).
    pub fn from_rects(rects: &[Rect]) -> Self {
        let valid: Vec<Rect> = rects.iter().copied().filter(|r| !r.is_empty()).collect();
        let mut ys: Vec<i32> = Vec::with_capacity(valid.len() * 2);
        for r in &valid {
            ys.push(r.top);
            ys.push(r.bottom);
        }
        ys.sort_unstable();
        ys.dedup();
        let mut reg = Region::empty();
        let mut xs: Vec<(i32, i32)> = Vec::new();
        for w in ys.windows(2) {
            let (y0, y1) = (w[0], w[1]);
            xs.clear();
            xs.extend(valid.iter().filter(|r| r.top <= y0 && r.bottom >= y1).map(|r| (r.left, r.right)));
            xs.sort_unstable();
            let mut spans: Vec<(i32, i32)> = Vec::new();
            for &(a, b) in &xs {
                match spans.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => spans.push((a, b)),
                }
            }
            reg.push_band(y0, y1, spans);
        }
        reg
    }

    pub fn intersect(&self, other: &Region) -> Region {
        let mut out = Region::empty();
        let (a, b) = (&self.bands, &other.bands);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let y0 = a[i].y0.max(b[j].y0);
            let y1 = a[i].y1.min(b[j].y1);
            if y0 < y1 {
                let spans = intersect_spans(&a[i].spans, &b[j].spans);
                out.push_band(y0, y1, spans);
            }
            if a[i].y1 < b[j].y1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    pub fn intersect_rect(&self, r: Rect) -> Region {
        if r.is_empty() {
            return Region::empty();
        }
        let mut out = Region::empty();
        for b in &self.bands {
            let y0 = b.y0.max(r.top);
            let y1 = b.y1.min(r.bottom);
            if y0 >= y1 {
                continue;
            }
            let spans: Vec<(i32, i32)> =
                b.spans.iter().map(|&(x0, x1)| (x0.max(r.left), x1.min(r.right))).filter(|&(x0, x1)| x0 < x1).collect();
            out.push_band(y0, y1, spans);
        }
        out
    }

    pub fn extents(&self) -> Option<Rect> {
        let first = self.bands.first()?;
        let last = self.bands.last()?;
        let mut l = i32::MAX;
        let mut r = i32::MIN;
        for b in &self.bands {
            if let (Some(f), Some(e)) = (b.spans.first(), b.spans.last()) {
                l = l.min(f.0);
                r = r.max(e.1);
            }
        }
        Some(Rect::new(l, first.y0, r, last.y1))
    }

    /// Every box of the region, top to bottom and left to right.
    pub fn rects(&self) -> impl Iterator<Item = Rect> + '_ {
        self.bands.iter().flat_map(|b| b.spans.iter().map(move |&(x0, x1)| Rect::new(x0, b.y0, x1, b.y1)))
    }

    /// The spans of row `y` (empty when the row is outside).
    pub fn row_spans(&self, y: i32) -> &[(i32, i32)] {
        let idx = self.bands.partition_point(|b| b.y1 <= y);
        match self.bands.get(idx) {
            Some(b) if b.y0 <= y => &b.spans,
            _ => &[],
        }
    }
}

fn intersect_spans(a: &[(i32, i32)], b: &[(i32, i32)]) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let x0 = a[i].0.max(b[j].0);
        let x1 = a[i].1.min(b[j].1);
        if x0 < x1 {
            out.push((x0, x1));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_overlap() {
        let r = Region::from_rects(&[Rect::new(0, 0, 4, 4), Rect::new(2, 2, 6, 6), Rect::new(4, 0, 5, 1)]);
        let rects: Vec<Rect> = r.rects().collect();
        assert_eq!(
            rects,
            alloc::vec![Rect::new(0, 0, 5, 1), Rect::new(0, 1, 4, 2), Rect::new(0, 2, 6, 4), Rect::new(2, 4, 6, 6)]
        );
        let area: i64 = r.rects().map(|r| r.width() as i64 * r.height() as i64).sum();
        assert_eq!(area, 16 + 16 - 4 + 1);
    }

    #[test]
    fn intersect_and_rows() {
        let a = Region::from_rects(&[Rect::new(0, 0, 10, 10)]);
        let b = Region::from_rects(&[Rect::new(-5, 2, 3, 4), Rect::new(8, 3, 20, 12)]);
        let c = a.intersect(&b);
        assert_eq!(c.row_spans(2), &[(0, 3)]);
        assert_eq!(c.row_spans(3), &[(0, 3), (8, 10)]);
        assert_eq!(c.row_spans(5), &[(8, 10)]);
        assert_eq!(c.row_spans(10), &[]);
        assert_eq!(c.extents(), Some(Rect::new(0, 2, 10, 10)));
    }
}
