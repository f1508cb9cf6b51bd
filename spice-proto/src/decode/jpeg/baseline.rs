//! Our own decoder for the JPEGs spice-server sends: baseline (SOF0),
//! Huffman-coded, 8-bit, one scan of all components, grey or YCbCr with luma
//! sampled 1×1, 2×1 or 2×2 and chroma 1×1. Anything else is left to zune
//! ([`decode`] returns `Ok(None)`).
//!
//! The pixels are bit-exact with libjpeg-turbo's default decode to RGB
//! (what spice-gtk uses): the islow IDCT, "fancy" triangle upsampling with
//! jdsample.c's rounding (and its box filter for chroma rows of at most 2
//! samples), edge rows and columns replicated as jdmainct.c does, and
//! jdcolor.c's fixed-point YCbCr→RGB. Integers only.
//!
//! A scan whose data stops (at a marker or the end of the stream) before
//! its last MCU is [`DecodeError::Truncated`], where libjpeg pads with
//! zeros and warns; so is a restart interval that runs short. A missing or
//! wrong restart marker is corrupt.

use alloc::vec;
use alloc::vec::Vec;

use super::huffman::{Bits, Slot, NATURAL};
use super::idct;
use crate::decode::{DecodeError, Limits, Pixels};

/// One frame component, with the tables its scan chose.
#[derive(Clone, Copy)]
struct Component {
    id: u8,
    /// Sampling factors (1 for a lone grey component, as libjpeg treats it).
    h: usize,
    v: usize,
    quant: usize,
    dc: usize,
    ac: usize,
}

/// How the chroma planes map onto the pixels.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Grey,
    /// Chroma at full resolution (4:4:4).
    Full,
    /// Chroma at half width (4:2:2).
    H2V1,
    /// Chroma at half width and height (4:2:0).
    H2V2,
}

/// What the headers up to the scan said.
struct Headers {
    width: usize,
    height: usize,
    comps: Vec<Component>,
    quant: [Option<[i32; 64]>; 4],
    /// DC then AC tables by slot.
    huff: [[Option<Slot>; 4]; 2],
    restart_interval: usize,
    /// Where the entropy-coded data starts.
    scan_start: usize,
}

const BAD_HEADER: DecodeError = DecodeError::Corrupt("JPEG marker segment");

/// Decodes `data` if it is a JPEG this decoder handles; `Ok(None)` if it
/// is one for zune.
pub(super) fn decode(data: &[u8], limits: &Limits) -> Result<Option<Pixels>, DecodeError> {
    let Some(h) = read_headers(data, limits)? else { return Ok(None) };
    decode_scan(data, &h).map(Some)
}

fn be16(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?])))
}

/// Reads the markers up to the first SOS.
fn read_headers(data: &[u8], limits: &Limits) -> Result<Option<Headers>, DecodeError> {
    let len = data.len();
    match data {
        [0xff, 0xd8, ..] => {}
        [a, b, ..] => {
            return Err(DecodeError::BadMagic { expected: 0xffd8, found: u32::from(*a) << 8 | u32::from(*b) })
        }
        _ => return Err(DecodeError::Truncated { what: "JPEG stream", need: 2, have: len }),
    }
    let mut frame: Option<(usize, usize, Vec<Component>)> = None;
    let mut quant = [None; 4];
    let mut huff = Slot::defaults();
    let mut restart_interval = 0;
    let (mut jfif, mut adobe_transform) = (false, None);
    let mut pos = 2;
    loop {
        // A marker, perhaps after fill bytes; anything else is for zune to judge.
        if data.get(pos) != Some(&0xff) {
            return Ok(None);
        }
        while data.get(pos) == Some(&0xff) {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            return Err(DecodeError::Truncated { what: "JPEG stream", need: len + 1, have: len });
        };
        let seg_len = be16(data, pos + 1).ok_or(DecodeError::Truncated {
            what: "JPEG marker segment",
            need: pos + 3,
            have: len,
        })?;
        let end = pos + 1 + seg_len;
        if seg_len < 2 || end > len {
            return Err(DecodeError::Truncated { what: "JPEG marker segment", need: end, have: len });
        }
        let body = &data[pos + 3..end];
        pos = end;
        match marker {
            0xc0 => {
                if frame.is_some() {
                    return Err(BAD_HEADER);
                }
                let Some(f) = read_frame(body, limits)? else { return Ok(None) };
                frame = Some(f);
            }
            0xc4 => read_dht(body, &mut huff)?,
            0xdb => read_dqt(body, &mut quant)?,
            0xdd => restart_interval = be16(body, 0).filter(|_| body.len() == 2).ok_or(BAD_HEADER)?,
            0xe0 => jfif |= body.starts_with(b"JFIF\0"),
            0xee if body.len() >= 12 && body.starts_with(b"Adobe") => adobe_transform = Some(body[11]),
            0xe1..=0xef | 0xfe => {}
            0xda => {
                let Some((width, height, mut comps)) = frame else { return Ok(None) };
                if !read_sos(body, &mut comps, &quant, &huff) {
                    return Ok(None);
                }
                // libjpeg's colour-space guess: three components are RGB,
                // not YCbCr, by an Adobe transform of 0 or (with neither
                // marker) component ids 'R', 'G', 'B'. zune handles those.
                let ids: Vec<u8> = comps.iter().map(|c| c.id).collect();
                let rgb = !jfif && (adobe_transform == Some(0) || (adobe_transform.is_none() && ids == b"RGB"));
                if comps.len() == 3 && rgb {
                    return Ok(None);
                }
                return Ok(Some(Headers { width, height, comps, quant, huff, restart_interval, scan_start: pos }));
            }
            // Other frame types, arithmetic coding, DNL, EOI, RSTn...
            _ => return Ok(None),
        }
    }
}

/// SOF0: size and components, checked against `limits`; `None` for a
/// precision, component count or sampling this decoder leaves to zune.
#[allow(clippy::type_complexity)]
fn read_frame(body: &[u8], limits: &Limits) -> Result<Option<(usize, usize, Vec<Component>)>, DecodeError> {
    let (Some(&precision), Some(height), Some(width), Some(&n)) =
        (body.first(), be16(body, 1), be16(body, 3), body.get(5))
    else {
        return Err(BAD_HEADER);
    };
    let n = usize::from(n);
    if body.len() != 6 + 3 * n {
        return Err(BAD_HEADER);
    }
    if precision != 8 || height == 0 {
        return Ok(None);
    }
    limits.check(width as u32, height as u32)?;
    let comps: Vec<Component> = body[6..]
        .chunks_exact(3)
        .map(|c| Component {
            id: c[0],
            h: usize::from(c[1] >> 4),
            v: usize::from(c[1] & 15),
            quant: usize::from(c[2]),
            dc: 0,
            ac: 0,
        })
        .collect();
    if comps.iter().any(|c| c.quant > 3 || !(1..=4).contains(&c.h) || !(1..=4).contains(&c.v)) {
        return Err(BAD_HEADER);
    }
    match comps.as_slice() {
        [grey] => Ok(Some((width, height, vec![Component { h: 1, v: 1, ..*grey }]))),
        [y, cb, cr]
            if matches!((y.h, y.v), (1, 1) | (2, 1) | (2, 2)) && [cb, cr].iter().all(|c| (c.h, c.v) == (1, 1)) =>
        {
            Ok(Some((width, height, comps)))
        }
        _ => Ok(None),
    }
}

/// DQT: any number of tables, stored in natural order.
fn read_dqt(mut body: &[u8], quant: &mut [Option<[i32; 64]>; 4]) -> Result<(), DecodeError> {
    while let Some((&pq_tq, rest)) = body.split_first() {
        let (wide, slot) = (pq_tq >> 4, usize::from(pq_tq & 15));
        let size = match wide {
            0 => 64,
            1 => 128,
            _ => return Err(BAD_HEADER),
        };
        if slot > 3 || rest.len() < size {
            return Err(BAD_HEADER);
        }
        let mut q = [0; 64];
        for (k, &z) in NATURAL[..64].iter().enumerate() {
            q[usize::from(z)] = if wide == 1 {
                i32::from(u16::from_be_bytes([rest[2 * k], rest[2 * k + 1]]))
            } else {
                i32::from(rest[k])
            };
        }
        quant[slot] = Some(q);
        body = &rest[size..];
    }
    Ok(())
}

/// DHT: any number of tables.
fn read_dht(mut body: &[u8], huff: &mut [[Option<Slot>; 4]; 2]) -> Result<(), DecodeError> {
    while let Some((&tc_th, rest)) = body.split_first() {
        let (class, slot) = (usize::from(tc_th >> 4), usize::from(tc_th & 15));
        let counts: &[u8; 16] = rest.first_chunk().ok_or(BAD_HEADER)?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let symbols = rest.get(16..16 + total).ok_or(BAD_HEADER)?;
        if class > 1 || slot > 3 {
            return Err(BAD_HEADER);
        }
        huff[class][slot] = Some(Slot::from_dht(counts, symbols, class == 0)?);
        body = &rest[16 + total..];
    }
    Ok(())
}

/// SOS: fills in the components' tables. False if the scan is not one
/// sequential scan of every component in frame order with defined tables.
fn read_sos(
    body: &[u8],
    comps: &mut [Component],
    quant: &[Option<[i32; 64]>; 4],
    huff: &[[Option<Slot>; 4]; 2],
) -> bool {
    let n = comps.len();
    if body.first() != Some(&(n as u8)) || body.len() != 4 + 2 * n || body[1 + 2 * n..] != [0, 63, 0] {
        return false;
    }
    for (c, sel) in comps.iter_mut().zip(body[1..].chunks_exact(2)) {
        let (dc, ac) = (usize::from(sel[1] >> 4), usize::from(sel[1] & 15));
        if sel[0] != c.id
            || dc > 3
            || ac > 3
            || huff[0][dc].is_none()
            || huff[1][ac].is_none()
            || quant[c.quant].is_none()
        {
            return false;
        }
        (c.dc, c.ac) = (dc, ac);
    }
    true
}

/// A zeroed buffer of `n` bytes, or TooLarge.
fn zeroed<T: Clone + Default>(n: usize, width: usize, height: usize) -> Result<Vec<T>, DecodeError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| DecodeError::TooLarge { width: width as u32, height: height as u32 })?;
    v.resize(n, T::default());
    Ok(v)
}

/// One component's samples for three MCU rows (the one being emitted and
/// its neighbours, which 2×2 upsampling reads), used round-robin.
struct Plane {
    data: Vec<u8>,
    /// Bytes per row: whole blocks across the image.
    stride: usize,
    /// Rows per MCU row (8 or 16).
    rows: usize,
    /// log2 of `rows`.
    rows_log2: u32,
}

impl Plane {
    /// Row `y` of the component (which must be among the three MCU rows held), `len` samples.
    #[inline(always)]
    fn row(&self, y: usize, len: usize) -> &[u8] {
        let at = ((((y >> self.rows_log2) % 3) << self.rows_log2) + (y & (self.rows - 1))) * self.stride;
        &self.data[at..at + len]
    }
}

fn decode_scan(data: &[u8], h: &Headers) -> Result<Pixels, DecodeError> {
    let (width, height) = (h.width, h.height);
    let (hmax, vmax) = (h.comps[0].h, h.comps[0].v);
    let layout = match (h.comps.len(), hmax, vmax) {
        (1, ..) => Layout::Grey,
        (_, 1, 1) => Layout::Full,
        (_, 2, 1) => Layout::H2V1,
        _ => Layout::H2V2,
    };
    let mcu_w = width.div_ceil(8 * hmax);
    let mcu_h = height.div_ceil(8 * vmax);
    let mut planes = Vec::with_capacity(h.comps.len());
    for c in &h.comps {
        let (stride, rows) = (mcu_w * c.h * 8, c.v * 8);
        planes.push(Plane { data: zeroed(3 * rows * stride, width, height)?, stride, rows, rows_log2: rows.ilog2() });
    }
    let mut out: Vec<u32> = zeroed(width * height, width, height)?;
    let emit = Emitter::new(layout, width, height);

    let mut bits = Bits::new(data, h.scan_start);
    let mut preds = [0i32; 3];
    let mut block = [0i32; 64];
    let (mut restarts_left, mut next_restart) = (h.restart_interval, 0u8);
    for my in 0..mcu_h {
        for mx in 0..mcu_w {
            if h.restart_interval != 0 {
                if restarts_left == 0 {
                    bits.restart(next_restart)?;
                    next_restart = (next_restart + 1) & 7;
                    preds = [0; 3];
                    restarts_left = h.restart_interval;
                }
                restarts_left -= 1;
            }
            for ((c, plane), pred) in h.comps.iter().zip(&mut planes).zip(&mut preds) {
                let (Some(dc), Some(ac), Some(quant)) = (&h.huff[0][c.dc], &h.huff[1][c.ac], &h.quant[c.quant]) else {
                    return Err(BAD_HEADER);
                };
                let base = (my % 3) * plane.rows * plane.stride + mx * c.h * 8;
                for by in 0..c.v {
                    for bx in 0..c.h {
                        let at = base + by * 8 * plane.stride + bx * 8;
                        let out = &mut plane.data[at..at + 7 * plane.stride + 8];
                        let set = bits.block(dc, ac, quant, pred, &mut block)?;
                        if set != 0 {
                            idct::idct(&block, set, out, plane.stride);
                            block = [0; 64];
                        } else {
                            let v = idct::dc_only(block[0]);
                            for row in out.chunks_mut(plane.stride) {
                                row[..8].fill(v);
                            }
                            block[0] = 0;
                        }
                    }
                }
            }
        }
        bits.check_not_short(data.len())?;
        if my > 0 {
            emit.mcu_row(my - 1, vmax * 8, &planes, &mut out);
        }
    }
    emit.mcu_row(mcu_h - 1, vmax * 8, &planes, &mut out);
    Ok(Pixels { width: width as u32, height: height as u32, has_alpha: false, data: out })
}

/// Upsamples and converts decoded rows into the output.
struct Emitter {
    layout: Layout,
    width: usize,
    height: usize,
    /// Chroma samples per row (jdsample.c's downsampled_width).
    chroma_w: usize,
    /// Whether to use the triangle filter (libjpeg: more than 2 chroma samples a row).
    fancy: bool,
}

impl Emitter {
    fn new(layout: Layout, width: usize, height: usize) -> Self {
        let chroma_w = match layout {
            Layout::H2V1 | Layout::H2V2 => width.div_ceil(2),
            _ => width,
        };
        Emitter { layout, width, height, chroma_w, fancy: chroma_w > 2 }
    }

    /// Emits the pixel rows of MCU row `m` (`rows` tall), whose planes and
    /// (for 2×2) neighbouring MCU rows are decoded.
    fn mcu_row(&self, m: usize, rows: usize, planes: &[Plane], out: &mut [u32]) {
        let w = self.width;
        let last = ((m + 1) * rows).min(self.height);
        for (y, out) in (m * rows..last).zip(out[m * rows * w..last * w].chunks_exact_mut(w)) {
            let luma = planes[0].row(y, w);
            match self.layout {
                Layout::Grey => {
                    for (o, &g) in out.iter_mut().zip(luma) {
                        *o = u32::from(g) * 0x01_0101;
                    }
                }
                Layout::Full => {
                    let (cb, cr) = (planes[1].row(y, w), planes[2].row(y, w));
                    for (o, ((&y, &cb), &cr)) in out.iter_mut().zip(luma.iter().zip(cb).zip(cr)) {
                        *o = ycc_to_xrgb(y, cb, cr);
                    }
                }
                Layout::H2V1 | Layout::H2V2 if !self.fancy => {
                    let cy = if self.layout == Layout::H2V2 { y / 2 } else { y };
                    let (cb, cr) = (planes[1].row(cy, self.chroma_w), planes[2].row(cy, self.chroma_w));
                    for (x, (o, &y)) in out.iter_mut().zip(luma).enumerate() {
                        *o = ycc_to_xrgb(y, cb[x / 2], cr[x / 2]);
                    }
                }
                Layout::H2V1 => {
                    let (cb, cr) = (planes[1].row(y, self.chroma_w), planes[2].row(y, self.chroma_w));
                    // With far = near, the 2×2 filter's column sums are 4 × the
                    // samples, and these biases give jdsample.c's h2v1 rounding.
                    h2_row::<4, 8>(luma, [cb, cb], [cr, cr], out);
                }
                Layout::H2V2 => {
                    // The nearer chroma row and the next nearer (above for
                    // even rows, below for odd), the image's edge rows repeated.
                    let near = y / 2;
                    let far = if y % 2 == 0 { near.saturating_sub(1) } else { (near + 1).min((self.height - 1) / 2) };
                    let (cb, cr, w) = (&planes[1], &planes[2], self.chroma_w);
                    h2_row::<8, 7>(luma, [cb.row(near, w), cb.row(far, w)], [cr.row(near, w), cr.row(far, w)], out);
                }
            }
        }
    }
}

/// One row with chroma at half width, by jdsample.c's triangle filter:
/// each chroma column's sum 3 × near + far (the vertical pass), then each
/// pixel 3/4 of its column and 1/4 of the neighbour on its side, the edge
/// columns repeated, divided by 16 with the alternating biases `LEFT` (even
/// pixels) and `RIGHT` (odd). The chroma rows hold `out.len()`/2 rounded up
/// samples, at least 3.
#[inline(always)]
fn h2_row<const LEFT: u16, const RIGHT: u16>(luma: &[u8], cb: [&[u8]; 2], cr: [&[u8]; 2], out: &mut [u32]) {
    let sum = |[near, far]: [&[u8]; 2], i: usize| 3 * u16::from(near[i]) + u16::from(far[i]);
    let pixel = |y: u8, b: u16, r: u16| ycc_to_xrgb(y, (b >> 4) as u8, (r >> 4) as u8);
    // Previous and current column sums; the first column is its own left neighbour.
    let (mut bp, mut rp) = (sum(cb, 0), sum(cr, 0));
    let (mut bc, mut rc) = (bp, rp);
    // Every column but the last has a next one.
    let next = cb[0][1..].iter().zip(&cb[1][1..]).zip(cr[0][1..].iter().zip(&cr[1][1..]));
    let pairs = out.chunks_exact_mut(2).zip(luma.chunks_exact(2));
    for ((o, y), ((&b0, &b1), (&r0, &r1))) in pairs.zip(next) {
        let (bn, rn) = (3 * u16::from(b0) + u16::from(b1), 3 * u16::from(r0) + u16::from(r1));
        o[0] = pixel(y[0], 3 * bc + bp + LEFT, 3 * rc + rp + LEFT);
        o[1] = pixel(y[1], 3 * bc + bn + RIGHT, 3 * rc + rn + RIGHT);
        (bp, bc, rp, rc) = (bc, bn, rc, rn);
    }
    // The last column is its own right neighbour; its right pixel only
    // exists for an even width.
    let x = 2 * (cb[0].len() - 1);
    for (i, (o, &y)) in out[x..].iter_mut().zip(&luma[x..]).enumerate() {
        *o = if i == 0 {
            pixel(y, 3 * bc + bp + LEFT, 3 * rc + rp + LEFT)
        } else {
            pixel(y, 4 * bc + RIGHT, 4 * rc + RIGHT)
        };
    }
}

/// YCbCr to xRGB exactly as libjpeg's jdcolor.c (16-bit fixed point,
/// per-chroma tables, range-limit table).
#[inline(always)]
pub(super) fn ycc_to_xrgb(y: u8, cb: u8, cr: u8) -> u32 {
    let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
    // Every sum lies in 0..1024, so the masks only elide bounds checks.
    let limit = |v: i32| u32::from(RANGE_LIMIT[v as usize & 1023]);
    let r = limit(y + YCC.cr_r[cr]);
    let g = limit(y + ((YCC.cb_g[cb] + YCC.cr_g[cr]) >> 16));
    let b = limit(y + YCC.cb_b[cb]);
    r << 16 | g << 8 | b
}

/// jdcolor.c's tables, each plus the 256 by which RANGE_LIMIT is offset
/// (G's parts still scaled by 2^16, with the rounding half in `cb_g`).
struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

static YCC: YccTables = {
    const HALF: i32 = 1 << 15;
    let mut t = YccTables { cr_r: [0; 256], cb_b: [0; 256], cr_g: [0; 256], cb_g: [0; 256] };
    let mut i = 0;
    while i < 256 {
        let x = i as i32 - 128;
        // FIX(1.40200), FIX(1.77200), FIX(0.71414), FIX(0.34414) at 16 bits.
        t.cr_r[i] = ((91881 * x + HALF) >> 16) + 256;
        t.cb_b[i] = ((116130 * x + HALF) >> 16) + 256;
        t.cr_g[i] = -46802 * x;
        t.cb_g[i] = -22554 * x + HALF + (256 << 16);
        i += 1;
    }
    t
};

/// `RANGE_LIMIT[v + 256]` is `v` clamped to 0..=255.
static RANGE_LIMIT: [u8; 1024] = {
    let mut t = [0; 1024];
    let mut i = 0;
    while i < 1024 {
        t[i] = if i < 256 {
            0
        } else if i < 512 {
            (i - 256) as u8
        } else {
            255
        };
        i += 1;
    }
    t
};
