//! Per-pixel arithmetic: binary ROPs, the ternary ROP truth table, pixman's 8-bit
//! multiply and blending, and the storage quantisation of the narrow formats.

use super::{Rect, Ropd, SurfaceFormat};

/// The 16 binary raster ops, in X11 GX order (spice-common's `SpiceROP`). `s` is the
/// operand (source or brush), `d` the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rop2 {
    Clear,
    And,
    AndReverse,
    Copy,
    AndInverted,
    Noop,
    Xor,
    Or,
    Nor,
    Equiv,
    Invert,
    OrReverse,
    CopyInverted,
    OrInverted,
    Nand,
    Set,
}

impl Rop2 {
    #[inline]
    pub fn apply(self, s: u32, d: u32) -> u32 {
        match self {
            Rop2::Clear => 0,
            Rop2::And => s & d,
            Rop2::AndReverse => s & !d,
            Rop2::Copy => s,
            Rop2::AndInverted => !s & d,
            Rop2::Noop => d,
            Rop2::Xor => s ^ d,
            Rop2::Or => s | d,
            Rop2::Nor => !s & !d,
            Rop2::Equiv => !s ^ d,
            Rop2::Invert => !d,
            Rop2::OrReverse => s | !d,
            Rop2::CopyInverted => !s,
            Rop2::OrInverted => !s | d,
            Rop2::Nand => !s | !d,
            Rop2::Set => 0xffff_ffff,
        }
    }
}

/// Runs `$f(args..., op)` with `op` a closure specialised for `rop`, so the per-pixel
/// loop is monomorphised per operation.
macro_rules! with_rop2 {
    ($rop:expr, $f:ident ( $($arg:expr),* )) => {
        match $rop {
            $crate::canvas::pixel::Rop2::Clear => $f($($arg,)* |_s: u32, _d: u32| 0),
            $crate::canvas::pixel::Rop2::And => $f($($arg,)* |s: u32, d: u32| s & d),
            $crate::canvas::pixel::Rop2::AndReverse => $f($($arg,)* |s: u32, d: u32| s & !d),
            $crate::canvas::pixel::Rop2::Copy => $f($($arg,)* |s: u32, _d: u32| s),
            $crate::canvas::pixel::Rop2::AndInverted => $f($($arg,)* |s: u32, d: u32| !s & d),
            $crate::canvas::pixel::Rop2::Noop => $f($($arg,)* |_s: u32, d: u32| d),
            $crate::canvas::pixel::Rop2::Xor => $f($($arg,)* |s: u32, d: u32| s ^ d),
            $crate::canvas::pixel::Rop2::Or => $f($($arg,)* |s: u32, d: u32| s | d),
            $crate::canvas::pixel::Rop2::Nor => $f($($arg,)* |s: u32, d: u32| !s & !d),
            $crate::canvas::pixel::Rop2::Equiv => $f($($arg,)* |s: u32, d: u32| !s ^ d),
            $crate::canvas::pixel::Rop2::Invert => $f($($arg,)* |_s: u32, d: u32| !d),
            $crate::canvas::pixel::Rop2::OrReverse => $f($($arg,)* |s: u32, d: u32| s | !d),
            $crate::canvas::pixel::Rop2::CopyInverted => $f($($arg,)* |s: u32, _d: u32| !s),
            $crate::canvas::pixel::Rop2::OrInverted => $f($($arg,)* |s: u32, d: u32| !s | d),
            $crate::canvas::pixel::Rop2::Nand => $f($($arg,)* |s: u32, d: u32| !s | !d),
            $crate::canvas::pixel::Rop2::Set => $f($($arg,)* |_s: u32, _d: u32| 0xffff_ffff),
        }
    };
}
pub(crate) use with_rop2;

/// Which inversion bit of a ROP descriptor belongs to an operand.
pub(crate) const INV_SRC: u16 = Ropd::INVERS_SRC.0;
pub(crate) const INV_BRUSH: u16 = Ropd::INVERS_BRUSH.0;
pub(crate) const INV_DEST: u16 = Ropd::INVERS_DEST.0;

/// Reduces a ROP descriptor to a binary ROP, the way spice-common does: `op_bit` is the
/// inversion bit of the operand (source or brush) and `dest_bit` that of what plays the
/// destination. The first of PUT, OR, AND, XOR, BLACKNESS, WHITENESS, INVERS that is set
/// wins; none set means PUT.
pub(crate) fn ropd_to_rop2(desc: Ropd, op_bit: u16, dest_bit: u16) -> Rop2 {
    let d = desc.0;
    let inv_s = d & op_bit != 0;
    let inv_d = d & dest_bit != 0;
    let inv_r = d & Ropd::INVERS_RES.0 != 0;
    // Truth table over (s, d) as a 4-bit code: bit (s<<1 | d).
    let table = |f: fn(bool, bool) -> bool| -> Rop2 {
        let mut code = 0u8;
        for s in [false, true] {
            for dd in [false, true] {
                let r = f(s ^ inv_s, dd ^ inv_d) ^ inv_r;
                if r {
                    code |= 1 << ((s as u8) << 1 | dd as u8);
                }
            }
        }
        rop2_from_table(code)
    };
    if d & Ropd::OP_PUT.0 != 0 {
        table(|s, _| s)
    } else if d & Ropd::OP_OR.0 != 0 {
        table(|s, d| s | d)
    } else if d & Ropd::OP_AND.0 != 0 {
        table(|s, d| s & d)
    } else if d & Ropd::OP_XOR.0 != 0 {
        table(|s, d| s ^ d)
    } else if d & Ropd::OP_BLACKNESS.0 != 0 {
        Rop2::Clear
    } else if d & Ropd::OP_WHITENESS.0 != 0 {
        Rop2::Set
    } else if d & Ropd::OP_INVERS.0 != 0 {
        Rop2::Invert
    } else {
        Rop2::Copy
    }
}

/// A binary ROP from its truth table: bit `(s << 1) | d` is the result for (s, d).
fn rop2_from_table(code: u8) -> Rop2 {
    // The GX code is the table read with bit (s,d) at position 3 - (s<<1|d)... rather
    // than rely on that identity, list them.
    match code {
        0b0000 => Rop2::Clear,
        0b1000 => Rop2::And,
        0b0100 => Rop2::AndReverse,
        0b1100 => Rop2::Copy,
        0b0010 => Rop2::AndInverted,
        0b1010 => Rop2::Noop,
        0b0110 => Rop2::Xor,
        0b1110 => Rop2::Or,
        0b0001 => Rop2::Nor,
        0b1001 => Rop2::Equiv,
        0b0101 => Rop2::Invert,
        0b1101 => Rop2::OrReverse,
        0b0011 => Rop2::CopyInverted,
        0b1011 => Rop2::OrInverted,
        0b0111 => Rop2::Nand,
        _ => Rop2::Set,
    }
}

/// The ternary ROP on whole words: every result bit is `rop3 >> (p<<2 | s<<1 | d) & 1`.
#[inline]
pub(crate) fn rop3(code: u8, p: u32, s: u32, d: u32) -> u32 {
    let mut r = 0u32;
    for k in 0..8u32 {
        if code >> k & 1 != 0 {
            let pp = if k & 4 != 0 { p } else { !p };
            let ss = if k & 2 != 0 { s } else { !s };
            let dd = if k & 1 != 0 { d } else { !d };
            r |= pp & ss & dd;
        }
    }
    r
}

/// pixman's `MUL_UN8`: `a * b / 255`, rounded.
#[inline]
pub(crate) fn mul_un8(a: u32, b: u32) -> u32 {
    let t = a * b + 0x80;
    ((t >> 8) + t) >> 8
}

/// Every channel of `x` times `a` / 255 (pixman `UN8x4_MUL_UN8`).
#[inline]
pub(crate) fn mul4(x: u32, a: u32) -> u32 {
    let mut r = 0;
    for sh in [0, 8, 16, 24] {
        r |= mul_un8(x >> sh & 0xff, a) << sh;
    }
    r
}

/// Channel-wise saturating add (pixman `UN8x4_ADD_UN8x4`).
#[inline]
pub(crate) fn add4(x: u32, y: u32) -> u32 {
    let mut r = 0;
    for sh in [0, 8, 16, 24] {
        r |= ((x >> sh & 0xff) + (y >> sh & 0xff)).min(0xff) << sh;
    }
    r
}

/// `x * a + y * b` per channel, each product rounded, the sum saturated (pixman
/// `UN8x4_MUL_UN8_ADD_UN8x4_MUL_UN8`).
#[inline]
pub(crate) fn mul_add4(x: u32, a: u32, y: u32, b: u32) -> u32 {
    add4(mul4(x, a), mul4(y, b))
}

/// Premultiplied OVER: `s + d * (255 - alpha(s))`.
#[inline]
pub(crate) fn over(s: u32, d: u32) -> u32 {
    let a = s >> 24;
    if a == 0xff {
        s
    } else if s == 0 {
        d
    } else {
        add4(mul4(d, 255 - a), s)
    }
}

/// 5-bit to 8-bit by bit replication.
#[inline]
fn expand5(c: u32) -> u32 {
    (c << 3) | (c >> 2)
}

/// 6-bit to 8-bit by bit replication.
#[inline]
fn expand6(c: u32) -> u32 {
    (c << 2) | (c >> 4)
}

/// Quantises a stored pixel the way the surface's real storage would keep it.
#[inline]
pub(crate) fn normalize(fmt: SurfaceFormat, p: u32) -> u32 {
    match fmt {
        SurfaceFormat::Xrgb32 | SurfaceFormat::Argb32 => p,
        SurfaceFormat::Rgb16_555 => {
            let r = expand5(p >> 19 & 0x1f);
            let g = expand5(p >> 11 & 0x1f);
            let b = expand5(p >> 3 & 0x1f);
            r << 16 | g << 8 | b
        }
        SurfaceFormat::Rgb16_565 => {
            let r = expand5(p >> 19 & 0x1f);
            let g = expand6(p >> 10 & 0x3f);
            let b = expand5(p >> 3 & 0x1f);
            r << 16 | g << 8 | b
        }
        SurfaceFormat::A8 => p & 0xff00_0000,
        SurfaceFormat::A1 => {
            if p & 0x8000_0000 != 0 {
                0xff00_0000
            } else {
                0
            }
        }
    }
}

/// Applies [`normalize`] to a box (already inside the surface) of a `stride`-wide buffer.
pub(crate) fn normalize_rect(data: &mut [u32], stride: usize, fmt: SurfaceFormat, r: Rect) {
    if matches!(fmt, SurfaceFormat::Xrgb32 | SurfaceFormat::Argb32) || r.is_empty() {
        return;
    }
    for y in r.top as usize..r.bottom as usize {
        let row = &mut data[y * stride..(y + 1) * stride];
        for p in &mut row[r.left as usize..r.right as usize] {
            *p = normalize(fmt, *p);
        }
    }
}

/// A solid colour given in the surface's own encoding, as a stored pixel.
pub(crate) fn color_to_pixel(fmt: SurfaceFormat, c: u32) -> u32 {
    match fmt {
        SurfaceFormat::Xrgb32 | SurfaceFormat::Argb32 => c,
        SurfaceFormat::Rgb16_555 => expand5(c >> 10 & 0x1f) << 16 | expand5(c >> 5 & 0x1f) << 8 | expand5(c & 0x1f),
        SurfaceFormat::Rgb16_565 => expand5(c >> 11 & 0x1f) << 16 | expand6(c >> 5 & 0x3f) << 8 | expand5(c & 0x1f),
        SurfaceFormat::A8 => (c & 0xff) << 24,
        SurfaceFormat::A1 => {
            if c & 1 != 0 {
                0xff00_0000
            } else {
                0
            }
        }
    }
}

/// The colour pixman is given for a solid text brush. spice-common converts 16-bit
/// colours with 5-bit fields at shifts 0/5/10 for both 16-bit formats (its "TODO: This
/// is all wrong now"); we do the same, so 565 text colours come out as spice's do.
pub(crate) fn text_brush_color(fmt: SurfaceFormat, c: u32) -> u32 {
    match fmt {
        SurfaceFormat::Rgb16_555 | SurfaceFormat::Rgb16_565 => {
            let ch = |v: u32| ((v & 0x1f) * 0xffff / 0x1f) >> 8;
            0xff00_0000 | ch(c >> 10) << 16 | ch(c >> 5) << 8 | ch(c)
        }
        SurfaceFormat::A8 | SurfaceFormat::A1 => 0xff00_0000 | (c & 0x00ff_ffff),
        _ => 0xff00_0000 | (c & 0x00ff_ffff),
    }
}

/// Truncates a 32-bit colour to the 16-bit encodings (spice's `rgb_32_to_16_*`).
pub(crate) fn key_of(fmt: SurfaceFormat, c: u32) -> u32 {
    match fmt {
        SurfaceFormat::Rgb16_555 => (c >> 3 & 0x001f) | (c >> 6 & 0x03e0) | (c >> 9 & 0x7c00),
        SurfaceFormat::Rgb16_565 => (c >> 3 & 0x001f) | (c >> 5 & 0x07e0) | (c >> 8 & 0xf800),
        SurfaceFormat::A8 => c >> 24,
        SurfaceFormat::A1 => c >> 31,
        _ => c & 0x00ff_ffff,
    }
}

/// pixman's bilinear interpolation with 7-bit weights `wx`, `wy` (0..=127), per channel
/// `floor(Σ c·w / 65536)`.
#[inline]
pub(crate) fn bilinear(tl: u32, tr: u32, bl: u32, br: u32, wx: u32, wy: u32) -> u32 {
    let dx = wx << 1;
    let dy = wy << 1;
    let w_br = dx * dy;
    let w_tr = dx * (256 - dy);
    let w_bl = (256 - dx) * dy;
    let w_tl = (256 - dx) * (256 - dy);
    let mut r = 0;
    for sh in [0, 8, 16, 24] {
        let c = |p: u32| p >> sh & 0xff;
        let sum = c(tl) * w_tl + c(tr) * w_tr + c(bl) * w_bl + c(br) * w_br;
        r |= (sum >> 16) << sh;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_un8_matches_exact_rounding() {
        for a in 0..256u32 {
            for b in 0..256u32 {
                let exact = (a * b * 2 + 255) / 510; // round(a*b/255)
                assert_eq!(mul_un8(a, b), exact, "{a} {b}");
            }
        }
    }

    #[test]
    fn ropd_table_matches_spice() {
        let c = |d: u16| ropd_to_rop2(Ropd(d), INV_SRC, INV_DEST);
        let put = Ropd::OP_PUT.0;
        let or = Ropd::OP_OR.0;
        let and = Ropd::OP_AND.0;
        let xor = Ropd::OP_XOR.0;
        let (s, d, r) = (INV_SRC, INV_DEST, Ropd::INVERS_RES.0);
        assert_eq!(c(put), Rop2::Copy);
        assert_eq!(c(put | s), Rop2::CopyInverted);
        assert_eq!(c(put | s | r), Rop2::Copy);
        assert_eq!(c(put | r), Rop2::CopyInverted);
        assert_eq!(c(or | r | s | d), Rop2::And);
        assert_eq!(c(or | r | s), Rop2::AndReverse);
        assert_eq!(c(or | r | d), Rop2::AndInverted);
        assert_eq!(c(or | r), Rop2::Nor);
        assert_eq!(c(or | s | d), Rop2::Nand);
        assert_eq!(c(or | s), Rop2::OrInverted);
        assert_eq!(c(or | d), Rop2::OrReverse);
        assert_eq!(c(or), Rop2::Or);
        assert_eq!(c(and | r | s | d), Rop2::Or);
        assert_eq!(c(and | r | s), Rop2::OrReverse);
        assert_eq!(c(and | r | d), Rop2::OrInverted);
        assert_eq!(c(and | r), Rop2::Nand);
        assert_eq!(c(and | s | d), Rop2::Nor);
        assert_eq!(c(and | s), Rop2::AndInverted);
        assert_eq!(c(and | d), Rop2::AndReverse);
        assert_eq!(c(and), Rop2::And);
        assert_eq!(c(xor | r | s | d), Rop2::Equiv);
        assert_eq!(c(xor | r | s), Rop2::Xor);
        assert_eq!(c(xor | r | d), Rop2::Xor);
        assert_eq!(c(xor | r), Rop2::Equiv);
        assert_eq!(c(xor | s | d), Rop2::Xor);
        assert_eq!(c(xor | s), Rop2::Equiv);
        assert_eq!(c(xor | d), Rop2::Equiv);
        assert_eq!(c(xor), Rop2::Xor);
        assert_eq!(c(Ropd::OP_BLACKNESS.0 | s), Rop2::Clear);
        assert_eq!(c(Ropd::OP_WHITENESS.0), Rop2::Set);
        assert_eq!(c(Ropd::OP_INVERS.0), Rop2::Invert);
        assert_eq!(c(0), Rop2::Copy);
        // PUT wins over the others.
        assert_eq!(c(put | xor), Rop2::Copy);
    }

    #[test]
    fn rop2_table_consistent() {
        for code in 0..16u8 {
            let op = rop2_from_table(code);
            for s in 0..2u32 {
                for d in 0..2u32 {
                    let want = (code >> (s << 1 | d) & 1) as u32;
                    assert_eq!(op.apply(s.wrapping_neg(), d.wrapping_neg()) & 1, want, "{op:?}");
                }
            }
        }
    }

    #[test]
    fn rop3_identities() {
        let (p, s, d) = (0xf0f0_f0f0u32, 0xcccc_ccccu32, 0xaaaa_aaaau32);
        for code in 0..=255u8 {
            // With the canonical operands every byte of the result is the code itself.
            assert_eq!(rop3(code, p, s, d), u32::from(code) * 0x0101_0101);
        }
        assert_eq!(rop3(0xcc, 1, 0x1234, 7), 0x1234); // SRCCOPY
        assert_eq!(rop3(0xf0, 0x55, 0x1234, 7), 0x55); // PATCOPY
        assert_eq!(rop3(0x66, 0, 0xff, 0x0f), 0xf0); // SRCINVERT
        assert_eq!(rop3(0x5a, 0xff, 0, 0x0f), 0xf0); // PATINVERT
    }

    #[test]
    fn bilinear_corners() {
        assert_eq!(bilinear(0x11223344, 0, 0, 0, 0, 0), 0x11223344);
        // Halfway between 0 and 0xff on one axis: (255*128*256)>>16 = 127.
        assert_eq!(bilinear(0, 0xff, 0, 0xff, 64, 0), 0x7f);
    }

    #[test]
    fn normalize_16() {
        assert_eq!(normalize(SurfaceFormat::Rgb16_555, 0xffff_ffff), 0x00ff_ffff);
        assert_eq!(normalize(SurfaceFormat::Rgb16_565, 0x0008_0400), 0x0008_0400);
        assert_eq!(color_to_pixel(SurfaceFormat::Rgb16_565, 0xf800), 0x00ff_0000);
        assert_eq!(color_to_pixel(SurfaceFormat::Rgb16_555, 0x0001), 0x0000_0008);
    }
}
