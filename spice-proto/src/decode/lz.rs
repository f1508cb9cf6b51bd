//! LZ_RGB and LZ_PLT: spice-common's LZ, an LZ77 variant that works on whole
//! pixels.
//!
//! A stream is a 28-byte big-endian header (magic `"  ZL"`, version 1.1,
//! type, width, height, stride, top_down; all u32) followed by control
//! bytes. A control byte `c < 32` is a literal run of `c + 1` units stored
//! raw. Otherwise it is a match: the top three bits carry a length (7 means
//! "extended by the following bytes, each 255 continuing"), the low five bits
//! and the next byte a distance, and the pair `31, 255` announces a 16-bit far
//! distance (biased by 8191) in the next two bytes. Lengths carry a bias of 1
//! (24/32-bit), 2 (16-bit) or 3 (palette and alpha bytes); distances a bias
//! of 1, so distance 1 with a long length is a run.
//!
//! Units: RGB24 and RGB32 literals are 3 bytes (B, G, R) per pixel, RGB16 is
//! 2 bytes (big-endian 555) per pixel. Palette images are coded as their raw
//! index bytes, `stride` bytes per row. RGBA is an RGB32 stream followed by
//! a second stream over the same pixels carrying one alpha byte each (XXXA is
//! that second stream alone, A8 likewise).
//!
//! The encoder's pixel order is the stream's row order: when `top_down` is 0
//! the first row in the stream is the bottom row. [`decode`] always returns
//! top-down rows.

use alloc::vec::Vec;

use super::bitmap::rgb555_to_xrgb;
use super::{DecodeError, Limits, Pixels};

/// `"  ZL"` read as a big-endian u32.
pub const MAGIC: u32 = 0x2020_5a4c;
/// The only version there is: 1.1.
pub const VERSION: u32 = 0x0001_0001;
/// Bytes in the LZ header.
pub const HEADER_LEN: usize = 28;

/// The image types of an LZ (or GLZ) stream (spice-common's `LzImageType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Format {
    /// 1 bit per pixel, least significant bit first.
    Plt1Le = 1,
    /// 1 bit per pixel, most significant bit first.
    Plt1Be = 2,
    /// 4 bits per pixel, low nibble first.
    Plt4Le = 3,
    /// 4 bits per pixel, high nibble first.
    Plt4Be = 4,
    /// 8-bit palette index.
    Plt8 = 5,
    /// 16-bit 555.
    Rgb16 = 6,
    /// 24-bit.
    Rgb24 = 7,
    /// 32-bit xRGB.
    Rgb32 = 8,
    /// 32-bit with an alpha plane stream after the colour stream.
    Rgba = 9,
    /// Only the alpha plane (JPEG_ALPHA's alpha stream).
    Xxxa = 10,
    /// 8-bit alpha.
    A8 = 11,
}

impl Format {
    /// The type for a header value, if it is one.
    pub fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            1 => Self::Plt1Le,
            2 => Self::Plt1Be,
            3 => Self::Plt4Le,
            4 => Self::Plt4Be,
            5 => Self::Plt8,
            6 => Self::Rgb16,
            7 => Self::Rgb24,
            8 => Self::Rgb32,
            9 => Self::Rgba,
            10 => Self::Xxxa,
            11 => Self::A8,
            _ => return None,
        })
    }

    /// Whether pixels are palette indices.
    pub fn is_palette(self) -> bool {
        matches!(self, Self::Plt1Le | Self::Plt1Be | Self::Plt4Le | Self::Plt4Be | Self::Plt8)
    }

    /// Bits per pixel in the source image.
    pub fn bits_per_pixel(self) -> u32 {
        match self {
            Self::Plt1Le | Self::Plt1Be => 1,
            Self::Plt4Le | Self::Plt4Be => 4,
            Self::Plt8 | Self::A8 => 8,
            Self::Rgb16 => 16,
            Self::Rgb24 => 24,
            Self::Rgb32 | Self::Rgba | Self::Xxxa => 32,
        }
    }

    /// Bytes one row of `width` pixels takes in the source image.
    pub fn row_bytes(self, width: u32) -> u64 {
        (u64::from(width) * u64::from(self.bits_per_pixel())).div_ceil(8)
    }
}

/// The LZ header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the pixels are.
    pub image_type: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes per row of the source image (always one packed row).
    pub stride: u32,
    /// The stream's first row is the top row.
    pub top_down: bool,
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    // Callers checked the length; a short slice reads as zeros rather than panicking.
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_be_bytes(w)
}

/// Checks magic and version, the first 8 bytes of an LZ or GLZ header.
pub(crate) fn check_magic(data: &[u8], what: &'static str, len: usize) -> Result<(), DecodeError> {
    if data.len() < len {
        return Err(DecodeError::Truncated { what, need: len, have: data.len() });
    }
    let magic = be32(data, 0);
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { expected: MAGIC, found: magic });
    }
    if be32(data, 4) != VERSION {
        return Err(DecodeError::Unsupported("LZ version other than 1.1"));
    }
    Ok(())
}

/// Checks that `stride` is exactly one packed row, as the encoder requires.
pub(crate) fn check_stride(format: Format, width: u32, stride: u32) -> Result<(), DecodeError> {
    let row_bytes = format.row_bytes(width);
    if u64::from(stride) < row_bytes {
        return Err(DecodeError::BadStride { stride, row_bytes });
    }
    if u64::from(stride) > row_bytes {
        return Err(DecodeError::Corrupt("LZ stride is wider than one row"));
    }
    Ok(())
}

/// Parses and checks the LZ header (not the size limits: see [`decode`]).
pub fn header(data: &[u8]) -> Result<Header, DecodeError> {
    check_magic(data, "LZ header", HEADER_LEN)?;
    let raw_type = be32(data, 8);
    let image_type = Format::from_u32(raw_type).ok_or(DecodeError::UnknownFormat(raw_type.min(255) as u8))?;
    let (width, height, stride) = (be32(data, 12), be32(data, 16), be32(data, 20));
    check_stride(image_type, width, stride)?;
    Ok(Header { image_type, width, height, stride, top_down: be32(data, 24) != 0 })
}

/// Reads the compressed stream; every read is checked.
pub(crate) struct Input<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize, what: &'static str) -> Self {
        Self { data, pos, what }
    }

    /// Errors if bytes are left over after the image.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(DecodeError::Corrupt("data continues after the image"))
        }
    }

    #[cold]
    fn truncated(&self, n: usize) -> DecodeError {
        DecodeError::Truncated { what: self.what, need: self.pos.saturating_add(n), have: self.data.len() }
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self) -> Result<usize, DecodeError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(usize::from(b))
            }
            None => Err(self.truncated(1)),
        }
    }

    #[inline(always)]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.data.get(self.pos..self.pos.wrapping_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.truncated(n)),
        }
    }
}

/// How literal units become output units.
pub(crate) trait Unit {
    /// Output element.
    type Px: Copy;
    /// Input bytes per literal unit.
    const IN: usize;
    /// Appends the units of `src` (one literal run: at most 32 units,
    /// `IN` bytes each) to `out`.
    fn extend(src: &[u8], out: &mut Vec<Self::Px>);
}

/// RGB24/RGB32 literals: B, G, R bytes.
pub(crate) struct Bgr;
impl Unit for Bgr {
    type Px = u32;
    const IN: usize = 3;
    #[inline(always)]
    fn extend(src: &[u8], out: &mut Vec<u32>) {
        // Literal runs are at most 32 pixels: convert them in registers and
        // a stack buffer, four pixels from one u64 and one u32 load at a
        // time, then append them with one copy.
        let mut buf = [0u32; 32];
        let mut n = 0;
        let mut groups = src.chunks_exact(12);
        for d in buf.chunks_exact_mut(4) {
            let Some(g) = groups.next() else { break };
            let lo = u64::from_le_bytes([g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]]);
            let hi = u32::from_le_bytes([g[8], g[9], g[10], g[11]]);
            d[0] = lo as u32 & 0x00ff_ffff;
            d[1] = (lo >> 24) as u32 & 0x00ff_ffff;
            d[2] = ((lo >> 48) as u32 | hi << 16) & 0x00ff_ffff;
            d[3] = hi >> 8;
            n += 4;
        }
        let mut rest = groups.remainder().chunks_exact(3);
        for d in buf[n..].iter_mut() {
            let Some(s) = rest.next() else { break };
            *d = u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16;
            n += 1;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// RGB16 literals: big-endian 555.
pub(crate) struct Rgb555;
impl Unit for Rgb555 {
    type Px = u32;
    const IN: usize = 2;
    #[inline(always)]
    fn extend(src: &[u8], out: &mut Vec<u32>) {
        out.extend(src.chunks_exact(2).map(|s| rgb555_to_xrgb(u16::from_be_bytes([s[0], s[1]]))));
    }
}

/// Palette indices and alpha bytes, decoded as bytes.
pub(crate) struct Byte;
impl Unit for Byte {
    type Px = u8;
    const IN: usize = 1;
    #[inline(always)]
    fn extend(src: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(src);
    }
}

/// Appends `len` units copied from `dist` back, forward, so a distance
/// shorter than the length repeats the pattern. The caller checked
/// `1 <= dist <= out.len()`.
#[inline(always)]
pub(crate) fn extend_match<T: Copy>(out: &mut Vec<T>, dist: usize, len: usize) {
    let pos = out.len();
    let src = pos - dist;
    if dist >= len {
        out.extend_from_within(src..src + len);
    } else if dist == 1 {
        let v = out[src];
        out.resize(pos + len, v);
    } else {
        // [src, len) is periodic with period `dist`; each step appends all
        // of it, so `len - src` stays a multiple of `dist` and doubles.
        let end = pos + len;
        while out.len() < end {
            let n = (out.len() - src).min(end - out.len());
            out.extend_from_within(src..src + n);
        }
    }
}

#[cold]
pub(crate) fn literal_overrun() -> DecodeError {
    DecodeError::Corrupt("literal run passes the end of the image")
}

#[cold]
pub(crate) fn match_overrun() -> DecodeError {
    DecodeError::Corrupt("match passes the end of the image")
}

#[cold]
pub(crate) fn bad_distance(dist: usize, pos: usize) -> DecodeError {
    DecodeError::BadReference { distance: dist as u64, available: pos as u64 }
}

/// One LZ instruction.
enum Op {
    /// This many literal units follow.
    Literal(usize),
    /// Copy `len` units from `dist` back.
    Match { len: usize, dist: usize },
}

/// Reads one instruction; `bias` is the type's length bias.
#[inline(always)]
fn next_op(inp: &mut Input<'_>, bias: usize) -> Result<Op, DecodeError> {
    let ctrl = inp.byte()?;
    if ctrl < 32 {
        return Ok(Op::Literal(ctrl + 1));
    }
    let mut len = (ctrl >> 5) - 1;
    if len == 6 {
        loop {
            let c = inp.byte()?;
            len += c;
            if c != 255 {
                break;
            }
        }
    }
    let code = inp.byte()?;
    let mut dist = ((ctrl & 31) << 8) + code;
    if code == 255 && ctrl & 31 == 31 {
        let hi = inp.byte()?;
        dist = (hi << 8) + inp.byte()? + 8191;
    }
    Ok(Op::Match { len: len + bias, dist: dist + 1 })
}

/// Decodes one LZ stream of `end` units onto `out` (empty, with the
/// capacity reserved), with length bias `bias`.
fn run<U: Unit>(inp: &mut Input<'_>, out: &mut Vec<U::Px>, end: usize, bias: usize) -> Result<(), DecodeError> {
    while out.len() < end {
        match next_op(inp, bias)? {
            Op::Literal(n) => {
                if n > end - out.len() {
                    return Err(literal_overrun());
                }
                U::extend(inp.take(n * U::IN)?, out);
            }
            Op::Match { len, dist } => {
                let op = out.len();
                if dist > op {
                    return Err(bad_distance(dist, op));
                }
                if len > end - op {
                    return Err(match_overrun());
                }
                extend_match(out, dist, len);
            }
        }
    }
    Ok(())
}

/// An empty buffer with room for `n` elements, or `TooLarge` if memory
/// runs out.
pub(crate) fn with_capacity<T>(n: usize, width: u32, height: u32) -> Result<Vec<T>, DecodeError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| DecodeError::TooLarge { width, height })?;
    Ok(v)
}

/// Reverses the row order of `data` in place (`width` words per row).
pub(crate) fn flip_rows(data: &mut [u32], width: usize) {
    if width == 0 {
        return;
    }
    let rows = data.len() / width;
    for y in 0..rows / 2 {
        let (a, b) = data.split_at_mut((rows - 1 - y) * width);
        a[y * width..(y + 1) * width].swap_with_slice(&mut b[..width]);
    }
}

/// Decodes an LZ_RGB or LZ_PLT payload (`palette` is needed for the
/// palette types). Checks the size against `limits` before allocating.
pub fn decode(data: &[u8], palette: Option<&[u32]>, limits: &Limits) -> Result<Pixels, DecodeError> {
    let h = header(data)?;
    let count = limits.check(h.width, h.height)?;
    let mut inp = Input::new(data, HEADER_LEN, "LZ data");
    let (w, ht) = (h.width, h.height);
    let (mut px, has_alpha) = match h.image_type {
        Format::Rgb24 | Format::Rgb32 | Format::Rgba => {
            let mut px = with_capacity(count, w, ht)?;
            run::<Bgr>(&mut inp, &mut px, count, 1)?;
            if h.image_type == Format::Rgba {
                let mut alpha = with_capacity(count, w, ht)?;
                run::<Byte>(&mut inp, &mut alpha, count, 3)?;
                for (p, &a) in px.iter_mut().zip(&alpha) {
                    *p |= u32::from(a) << 24;
                }
            }
            (px, h.image_type == Format::Rgba)
        }
        Format::Rgb16 => {
            let mut px = with_capacity(count, w, ht)?;
            run::<Rgb555>(&mut inp, &mut px, count, 2)?;
            (px, false)
        }
        Format::Xxxa | Format::A8 => {
            let mut alpha = with_capacity(count, w, ht)?;
            run::<Byte>(&mut inp, &mut alpha, count, 3)?;
            let mut px = with_capacity(count, w, ht)?;
            px.extend(alpha.iter().map(|&a| u32::from(a) << 24));
            (px, true)
        }
        _ => {
            // The stride was checked to be one packed row: at most one byte
            // per pixel plus one per row.
            let index_bytes = h.stride as usize * h.height as usize;
            let mut idx = with_capacity(index_bytes, w, ht)?;
            run::<Byte>(&mut inp, &mut idx, index_bytes, 3)?;
            (expand_palette(&h, &idx, palette.unwrap_or(&[]), count)?, false)
        }
    };
    inp.finish()?;
    if !h.top_down {
        flip_rows(&mut px, w as usize);
    }
    Ok(Pixels { width: w, height: ht, has_alpha, data: px })
}

/// Turns rows of palette indices (`stride` bytes each) into pixels, in
/// stream row order.
fn expand_palette(h: &Header, idx: &[u8], palette: &[u32], count: usize) -> Result<Vec<u32>, DecodeError> {
    let (w, stride) = (h.width as usize, h.stride as usize);
    // One index byte per pixel first (padding bits dropped), so the check
    // below covers exactly the pixels.
    let mut ids = Vec::new();
    ids.try_reserve_exact(count).map_err(|_| DecodeError::TooLarge { width: h.width, height: h.height })?;
    ids.resize(count, 0);
    for (row, dst) in idx.chunks_exact(stride).zip(ids.chunks_exact_mut(w)) {
        match h.image_type {
            Format::Plt8 => dst.copy_from_slice(&row[..w]),
            Format::Plt4Be | Format::Plt4Le => {
                let (first, second) = if h.image_type == Format::Plt4Be { (4, 0) } else { (0, 4) };
                for (d, &b) in dst.chunks_mut(2).zip(row) {
                    d[0] = (b >> first) & 15;
                    if let Some(x) = d.get_mut(1) {
                        *x = (b >> second) & 15;
                    }
                }
            }
            _ => {
                let be = h.image_type == Format::Plt1Be;
                for (d, &b) in dst.chunks_mut(8).zip(row) {
                    for (k, x) in d.iter_mut().enumerate() {
                        *x = if be { (b >> (7 - k)) & 1 } else { (b >> k) & 1 };
                    }
                }
            }
        }
    }
    let used = match h.image_type {
        // spice-common looks up both entries for every 1-bit pixel.
        Format::Plt1Le | Format::Plt1Be => 1,
        _ => ids.iter().fold(0, |m, &i| m.max(i)),
    };
    if usize::from(used) >= palette.len() {
        return Err(DecodeError::MissingPalette { need: usize::from(used) + 1, have: palette.len() });
    }
    let mut lut = [0u32; 256];
    for (l, &c) in lut.iter_mut().zip(palette) {
        *l = c & 0x00ff_ffff;
    }
    let mut px = Vec::new();
    px.try_reserve_exact(count).map_err(|_| DecodeError::TooLarge { width: h.width, height: h.height })?;
    px.extend(ids.iter().map(|&i| lut[usize::from(i)]));
    Ok(px)
}
