//! The inverse DCT of the baseline decoder: libjpeg's "islow" integer
//! algorithm (jidctint.c, Loeffler–Ligtenberg–Moschytz with 13-bit
//! constants), computed the same way so the samples are bit-exact.
//!
//! The arithmetic runs in i64 (libjpeg's JLONG on 64-bit Linux), so no
//! coefficient a hostile stream can encode overflows; the workspace
//! between the passes is i32 like libjpeg's int.

const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;

const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

/// `x` rounded and shifted right by `n`.
#[inline(always)]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// A final sample: `x + 128` clamped to 0..=255, through libjpeg's
/// post-IDCT range-limit table (which wraps `x` modulo 1024 first).
#[inline(always)]
fn sample(x: i64) -> u8 {
    LIMIT[x as usize & 1023]
}

/// `LIMIT[x & 1023]` for x in -512..512 is `x + 128` clamped.
static LIMIT: [u8; 1024] = {
    let mut t = [0; 1024];
    let mut i = 0;
    while i < 1024 {
        let x = if i < 512 { i as i32 } else { i as i32 - 1024 };
        t[i] = if x < -128 {
            0
        } else if x > 127 {
            255
        } else {
            (x + 128) as u8
        };
        i += 1;
    }
    t
};

/// One 8-point IDCT, the same in both passes: the eight inputs of a
/// column or row to its eight outputs, scaled by 2^13 (CONST_BITS) and
/// not yet descaled.
#[inline(always)]
fn butterfly([x0, x1, x2, x3, x4, x5, x6, x7]: [i64; 8]) -> [i64; 8] {
    // Even part.
    let z1 = (x2 + x6) * FIX_0_541196100;
    let tmp2 = z1 - x6 * FIX_1_847759065;
    let tmp3 = z1 + x2 * FIX_0_765366865;
    let tmp0 = (x0 + x4) << CONST_BITS;
    let tmp1 = (x0 - x4) << CONST_BITS;
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;
    // Odd part.
    let (t0, t1, t2, t3) = (x7, x5, x3, x1);
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    let t0 = t0 * FIX_0_298631336;
    let t1 = t1 * FIX_2_053119869;
    let t2 = t2 * FIX_3_072711026;
    let t3 = t3 * FIX_1_501321110;
    let z1 = -z1 * FIX_0_899976223;
    let z2 = -z2 * FIX_2_562915447;
    let z3 = -z3 * FIX_1_961570560 + z5;
    let z4 = -z4 * FIX_0_390180644 + z5;
    let t0 = t0 + z1 + z3;
    let t1 = t1 + z2 + z4;
    let t2 = t2 + z2 + z3;
    let t3 = t3 + z1 + z4;
    [tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3]
}

/// The samples of a block whose AC coefficients are all zero: one value.
#[inline(always)]
pub(super) fn dc_only(dc: i32) -> u8 {
    // Pass 1 leaves dc << PASS1_BITS (an int) everywhere; pass 2 descales it.
    let ws = (i64::from(dc) << PASS1_BITS) as i32;
    sample(descale(i64::from(ws), PASS1_BITS + 3))
}

/// Inverse-transforms `block` (dequantised, natural order) into 8 rows of
/// 8 samples at `out[0..]`, `stride` apart. `out` must hold 7 strides + 8.
/// `set` has bit `i` for each coefficient `i` that may be non-zero: when
/// the lower rows or right columns hold none, the butterflies take
/// literal zeros for them, the same arithmetic with less work.
pub(super) fn idct(block: &[i32; 64], set: u64, out: &mut [u8], stride: usize) {
    let mut ws = [0i32; 64];
    let top_rows = set >> 32 == 0;
    let left_cols = set & 0xf0f0_f0f0_f0f0_f0f0 == 0;
    // Pass 1: columns, into the workspace scaled by 2^PASS1_BITS. Columns
    // with no coefficients stay zero.
    for c in 0..if left_cols { 4 } else { 8 } {
        let col = |r: usize| i64::from(block[r * 8 + c]);
        // This column's AC coefficients (rows 1..8).
        let o = if set & (0x0101_0101_0101_0100 << c) == 0 {
            let v = (col(0) << PASS1_BITS) as i32;
            for r in 0..8 {
                ws[r * 8 + c] = v;
            }
            continue;
        } else if top_rows {
            butterfly([col(0), col(1), col(2), col(3), 0, 0, 0, 0])
        } else {
            butterfly(core::array::from_fn(col))
        };
        for (r, v) in o.into_iter().enumerate() {
            ws[r * 8 + c] = descale(v, CONST_BITS - PASS1_BITS) as i32;
        }
    }
    // Pass 2: rows, to samples.
    for (row, out) in ws.chunks_exact(8).zip(out.chunks_mut(stride)) {
        let Some(out) = out.get_mut(..8) else { return };
        let x = |i: usize| i64::from(row[i]);
        if row[1..].iter().all(|&v| v == 0) {
            out.fill(sample(descale(x(0), PASS1_BITS + 3)));
            continue;
        }
        let o = if left_cols {
            butterfly([x(0), x(1), x(2), x(3), 0, 0, 0, 0])
        } else {
            butterfly(core::array::from_fn(x))
        };
        for (s, v) in out.iter_mut().zip(o) {
            *s = sample(descale(v, CONST_BITS + PASS1_BITS + 3));
        }
    }
}
