//! QUIC (`SPICE_IMAGE_TYPE_QUIC`): spice-common's lossless photo codec, an
//! SFALIC/LOCO-I relative with adaptive Golomb-Rice codes.
//!
//! # Stream
//! The payload is a sequence of 32-bit little-endian words, read as one bit
//! string, most significant bit of each word first. Five words of header —
//! magic `"QUIC"`, version 0, [`ImageType`], width, height — then the pixels,
//! row by row, top to bottom. The encoder pads the end with at least 33 zero
//! bits; trailing bytes that do not fill a word are ignored.
//!
//! # Model
//! Each colour component (a *plane*) is predicted from its left neighbour
//! `a` and the one above `b`: row 0 uses `a` (0 at x = 0), later rows use
//! `b` at x = 0 and `(a + b) / 2` elsewhere. The prediction error, taken
//! modulo 2^bpc and folded to a small unsigned number (0, −1, 1, −2, …, as
//! 0, 1, 2, 3, …), is coded with a Golomb-Rice code of parameter `k`; codes
//! longer than a limit are replaced by an escape (a run of zeros and a fixed
//! width suffix), so no codeword is longer than 26 bits.
//!
//! `k` comes from a *bucket*, picked by the previous folded error of the same
//! plane (the buckets cover 0, 1–2, 3–6, 7–14, … ). A bucket keeps, for every
//! `k`, the number of bits the recent errors would have cost, and uses the
//! cheapest. Not every pixel updates the model: after each update the coder
//! skips a pseudo-random number of pixels (a fixed table of "random" numbers,
//! masked by a wait mask that widens from 0 to 63 bits over the first 12288
//! pixels of the image, 2048 at a time). Counters are halved once the best of
//! them passes a threshold that depends on the same wait-mask step.
//!
//! The R, G and B planes share one wait/run state and are coded interleaved
//! (R, G, B of a pixel, then the next pixel). In rows after the first, where
//! the row above has two equal pixels at x − 1 and x and the current row has
//! two equal pixels at x − 2 and x − 1, the coder switches to run mode: the
//! number of further copies of pixel x − 1 is sent with an adaptive
//! run-length code (a "hit" bit per `2^J[state]` pixels, then the remainder in
//! `J[state]` bits). RGBA codes the alpha plane of each row, with its own
//! state, right after the row's RGB.
//!
//! # Output
//! RGB32 and RGB24 give `0x00RRGGBB`; RGB16 (x555) is widened by bit
//! replication as spice-gtk's canvas does; RGBA gives `0xAARRGGBB` with
//! `has_alpha`; GRAY (which spice-gtk's canvas refuses) gives `0x00GGGGGG`.
//!
//! # Robustness
//! Unlike spice-common, nothing here trusts the stream: sizes are checked
//! against [`Limits`] before allocating, an escape code that decodes past
//! 2^bpc − 1 or a run past the end of its segment is [`DecodeError::Corrupt`],
//! and bits read past the end of the input are zeros only until the end of
//! the row: if the image used any of them, the result is
//! [`DecodeError::Truncated`]. The work is bounded by the image size.

use alloc::vec::Vec;

use super::{DecodeError, Limits, Pixels};

/// `"QUIC"` read as a little-endian word.
pub const MAGIC: u32 = 0x4349_5551;
/// The only version spice-common writes.
pub const VERSION: u32 = 0;
/// Magic, version, type, width and height.
pub const HEADER_LEN: usize = 20;

/// `QuicImageType`: how the pixels were coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    /// One 8-bit plane.
    Gray,
    /// x555, three 5-bit planes.
    Rgb16,
    /// Three 8-bit planes (from a 24-bit source).
    Rgb24,
    /// Three 8-bit planes (from a 32-bit xRGB source).
    Rgb32,
    /// Three 8-bit planes, then an 8-bit alpha plane per row.
    Rgba,
}

impl ImageType {
    /// The type for a wire value.
    pub fn from_wire(v: u32) -> Option<Self> {
        Some(match v {
            1 => Self::Gray,
            2 => Self::Rgb16,
            3 => Self::Rgb24,
            4 => Self::Rgb32,
            5 => Self::Rgba,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn to_wire(self) -> u32 {
        match self {
            Self::Gray => 1,
            Self::Rgb16 => 2,
            Self::Rgb24 => 3,
            Self::Rgb32 => 4,
            Self::Rgba => 5,
        }
    }

    /// How many planes are coded per pixel.
    pub fn planes(self) -> u32 {
        match self {
            Self::Gray => 1,
            Self::Rgb16 | Self::Rgb24 | Self::Rgb32 => 3,
            Self::Rgba => 4,
        }
    }
}

/// The five header words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// How the pixels were coded.
    pub image_type: ImageType,
    /// Width in pixels (not yet checked against limits).
    pub width: u32,
    /// Height in pixels (not yet checked against limits).
    pub height: u32,
}

fn word(data: &[u8], index: usize) -> Option<u32> {
    let b = data.get(index * 4..index * 4 + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads and checks the header (magic, version, type), without the size
/// limits; use it to compare the size with the image descriptor.
pub fn header(data: &[u8]) -> Result<Header, DecodeError> {
    let truncated = || DecodeError::Truncated { what: "QUIC header", need: HEADER_LEN, have: data.len() };
    let magic = word(data, 0).ok_or_else(truncated)?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { expected: MAGIC, found: magic });
    }
    let (Some(version), Some(kind), Some(width), Some(height)) =
        (word(data, 1), word(data, 2), word(data, 3), word(data, 4))
    else {
        return Err(truncated());
    };
    if version != VERSION {
        return Err(DecodeError::Unsupported("QUIC version"));
    }
    let image_type =
        ImageType::from_wire(kind).ok_or(DecodeError::UnknownFormat(u8::try_from(kind).unwrap_or(u8::MAX)))?;
    Ok(Header { image_type, width, height })
}

/// Decodes a QUIC image.
pub fn decode(data: &[u8], limits: &Limits) -> Result<Pixels, DecodeError> {
    let hdr = header(data)?;
    let count = limits.check(hdr.width, hdr.height)?;
    let too_large = DecodeError::TooLarge { width: hdr.width, height: hdr.height };
    let (w, h) = (hdr.width as usize, hdr.height as usize);
    let body = &data[HEADER_LEN..];
    let body = &body[..body.len() / 4 * 4];

    // Every pixel of row 0 and the first pixel of every row is coded with at
    // least one bit per plane: reject streams far too short for the size
    // before allocating for it.
    let min_bits = (w as u64 + h as u64 - 1) * u64::from(hdr.image_type.planes());
    if (body.len() as u64) * 8 < min_bits {
        return Err(DecodeError::Truncated {
            what: "QUIC data",
            need: HEADER_LEN + min_bits.div_ceil(8) as usize,
            have: data.len(),
        });
    }

    let mut out = Vec::new();
    out.try_reserve_exact(count).map_err(|_| too_large)?;
    let stream = big_endian(body).ok_or(too_large)?;
    let mut bits = Bits::new(&stream, data.len());
    match hdr.image_type {
        ImageType::Rgb32 | ImageType::Rgb24 => {
            rows(&mut bits, &mut Planes::<3, 8, 16>::new(w, too_large)?, None, &mut out, w, h)?;
        }
        ImageType::Rgba => {
            let mut alpha = Planes::<1, 8, 24>::new(w, too_large)?;
            rows(&mut bits, &mut Planes::<3, 8, 16>::new(w, too_large)?, Some(&mut alpha), &mut out, w, h)?;
        }
        ImageType::Rgb16 => {
            rows(&mut bits, &mut Planes::<3, 5, 16>::new(w, too_large)?, None, &mut out, w, h)?;
            for p in &mut out {
                let v = *p;
                let widen = |s: u32| {
                    let c = (v >> s) & 0x1f;
                    ((c << 3) | (c >> 2)) << s
                };
                *p = widen(16) | widen(8) | widen(0);
            }
        }
        ImageType::Gray => {
            rows(&mut bits, &mut Planes::<1, 8, 0>::new(w, too_large)?, None, &mut out, w, h)?;
            for p in &mut out {
                *p *= 0x01_0101;
            }
        }
    }
    bits.check()?;
    Ok(Pixels { width: hdr.width, height: hdr.height, has_alpha: hdr.image_type == ImageType::Rgba, data: out })
}

/// The body's words with their bytes reversed, so the bit string reads
/// front to back in bytes (one big-endian load gives the next 64 bits),
/// and 8 zero bytes so that load never runs past the end of the data.
fn big_endian(body: &[u8]) -> Option<Vec<u8>> {
    let mut s = Vec::new();
    s.try_reserve_exact(body.len() + 8).ok()?;
    s.resize(body.len() + 8, 0);
    for (to, from) in s.chunks_exact_mut(4).zip(body.chunks_exact(4)) {
        to.copy_from_slice(&[from[3], from[2], from[1], from[0]]);
    }
    Some(s)
}

/// Decodes `h` rows of `w` pixels onto `out` (reserved, empty): the main
/// planes, then (RGBA) the alpha plane. Each row is zeroed just before it is
/// decoded, while it is in cache.
fn rows<const CH: usize, const BPC: u32, const TOP: u32>(
    bits: &mut Bits<'_>,
    main: &mut Planes<CH, BPC, TOP>,
    mut alpha: Option<&mut Planes<1, 8, 24>>,
    out: &mut Vec<u32>,
    w: usize,
    h: usize,
) -> Result<(), DecodeError> {
    for y in 0..h {
        out.resize((y + 1) * w, 0);
        let (done, cur) = out.split_at_mut(y * w);
        match y {
            0 => {
                main.row0(bits, cur)?;
                if let Some(a) = alpha.as_deref_mut() {
                    a.row0(bits, cur)?;
                }
            }
            _ => {
                let prev = &done[(y - 1) * w..];
                main.row(bits, prev, cur)?;
                if let Some(a) = alpha.as_deref_mut() {
                    a.row(bits, prev, cur)?;
                }
            }
        }
        // Past the end of the input the reader yields zeros; stop at the
        // first row that used any, so garbage cannot run on.
        bits.check()?;
    }
    Ok(())
}

/// The bit reader: a 64-bit buffer over the big-endian stream, refilled
/// without branches (an 8-byte load shifted in behind the valid bits).
#[derive(Clone, Copy)]
struct Bits<'a> {
    /// The stream from [`big_endian`], 8 zero bytes at its end.
    stream: &'a [u8],
    /// The next byte not yet in `buf`.
    next: usize,
    /// The next bits, most significant first; the top `valid` are the
    /// stream's, the rest are its later bits or zeros.
    buf: u64,
    /// Bits in `buf` (at most 63).
    valid: u32,
    /// The whole payload's length, for errors.
    input_len: usize,
}

impl<'a> Bits<'a> {
    fn new(stream: &'a [u8], input_len: usize) -> Self {
        Self { stream, next: 0, buf: 0, valid: 0, input_len }
    }

    /// Tops the buffer up to at least 56 bits. Past the end the load gives
    /// zeros, and `next` keeps counting so [`Bits::check`] sees the overrun.
    #[inline(always)]
    fn refill(&mut self) {
        let load = match self.stream.get(self.next..self.next + 8) {
            Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => 0,
        };
        self.buf |= load >> self.valid;
        self.next += ((63 - self.valid) >> 3) as usize;
        self.valid |= 56;
    }

    /// Drops `n` bits (at most `valid`).
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.valid -= n;
    }

    /// Fails if more bits were consumed than the input has.
    fn check(&self) -> Result<(), DecodeError> {
        let pos = self.next as u64 * 8 - u64::from(self.valid);
        let have = (self.stream.len() as u64 - 8) * 8;
        if pos > have {
            let need = HEADER_LEN + pos.div_ceil(32) as usize * 4;
            return Err(DecodeError::Truncated { what: "QUIC data", need, have: self.input_len });
        }
        Ok(())
    }

    /// Reads one folded error coded with parameter `k < BPC`; needs
    /// [`MAX_CODE_LEN`] valid bits.
    #[inline(always)]
    fn code<const BPC: u32>(&mut self, k: u8) -> Result<u32, DecodeError> {
        let k = usize::from(k & 7);
        // Most codewords fit in the next byte: one table load decodes them.
        let short = family::<BPC>().short[k][(self.buf >> 56) as usize];
        let (v, len) = match short {
            0 => long_code::<BPC>(self.buf, k)?,
            _ => (u32::from(short >> 8), u32::from(short & 0xff)),
        };
        self.consume(len);
        Ok(v)
    }

    /// Reads a run length (at most `limit`) and adapts the run state.
    fn run_length(&mut self, wait: &mut Wait, limit: usize) -> Result<usize, DecodeError> {
        let too_long = DecodeError::Corrupt("QUIC run past the end of the row");
        let mut run = 0usize;
        loop {
            // One hit bit per 2^MELC_LEN[state] pixels; a zero ends them.
            // Up to 32 at a time, fewer than the 56 the refill guarantees.
            self.refill();
            let hits = (!self.buf).leading_zeros().min(32);
            for _ in 0..hits {
                run += 1 << MELC_LEN[wait.melc];
                wait.melc = (wait.melc + 1).min(MELC_LEN.len() - 1);
            }
            if run > limit {
                return Err(too_long);
            }
            if hits < 32 {
                self.consume(hits + 1);
                break;
            }
            self.consume(32);
        }
        let len = u32::from(MELC_LEN[wait.melc]);
        if len > 0 {
            self.refill();
            run += (self.buf >> (64 - len)) as usize;
            self.consume(len);
        }
        if run > limit {
            return Err(too_long);
        }
        wait.melc = wait.melc.saturating_sub(1);
        Ok(run)
    }
}

/// Decodes the codeword at the top of `buf` with parameter `k < BPC`, the
/// long way; returns its value and length.
#[inline(never)]
fn long_code<const BPC: u32>(buf: u64, k: usize) -> Result<(u32, u32), DecodeError> {
    let fam = family::<BPC>();
    let k = k & 7;
    let zeros = (buf | 1).leading_zeros();
    if zeros < fam.escape_prefix[k] {
        // Unary quotient (shorter than the escape), a one, k bits. The
        // codeword's value is 2^k + remainder; the quotient adds zeros·2^k,
        // so the sum is (zeros − 1)·2^k + codeword.
        let len = zeros + 1 + k as u32;
        Ok((((buf >> (64 - len)) as u32).wrapping_add(zeros.wrapping_sub(1) << k), len))
    } else {
        let len = fam.escape_len[k];
        let v = fam.escape_base[k] + ((buf >> (64 - len)) as u32 & fam.suffix_mask[k]);
        if v >= 1 << BPC {
            return Err(DecodeError::Corrupt("QUIC escape code out of range"));
        }
        Ok((v, len))
    }
}

/// Golomb code parameters of a family (planes of one bit depth).
struct Family {
    /// Leading zeros that make an escape.
    escape_prefix: [u32; 8],
    /// Bits in an escape codeword (prefix + suffix).
    escape_len: [u32; 8],
    /// Values below this are plain Golomb-Rice codes.
    escape_base: [u32; 8],
    /// Mask of the escape suffix.
    suffix_mask: [u32; 8],
    /// `code_len[v][k]`: bits to code `v` with parameter `k`.
    code_len: [[u8; 8]; 256],
    /// `len_keys[v][k]`: `code_len[v][k] << 3`, the step of [`Model`]'s keys
    /// (0 for `k ≥ bpc`).
    len_keys: [[i16; 8]; 256],
    /// `short[k][byte]`: the codeword at the top of `byte`, as value << 8 |
    /// length, if it is at most 8 bits long and valid; else 0.
    short: [[u16; 256]; 8],
    /// Bucket of each previous error.
    bucket: [u8; 256],
    /// First and last error of each bucket.
    bucket_span: [(u8, u8); 8],
}

/// Longest codeword.
const MAX_CODE_LEN: u32 = 26;

const fn ceil_log2(v: u32) -> u32 {
    if v <= 1 {
        0
    } else {
        32 - (v - 1).leading_zeros()
    }
}

const fn make_family(bpc: u32) -> Family {
    let mut f = Family {
        escape_prefix: [0; 8],
        escape_len: [0; 8],
        escape_base: [0; 8],
        suffix_mask: [0; 8],
        code_len: [[0; 8]; 256],
        len_keys: [[0; 8]; 256],
        short: [[0; 256]; 8],
        bucket: [0; 256],
        bucket_span: [(0, 0); 8],
    };
    let levels = 1u32 << bpc;
    let mut k = 0;
    while k < bpc {
        // The escape prefix is as long as the bit budget allows, but no
        // longer than the longest quotient a value can have.
        let mut prefix = MAX_CODE_LEN - bpc;
        if prefix > (1 << (bpc - k)) - 1 {
            prefix = (1 << (bpc - k)) - 1;
        }
        let base = prefix << k;
        let suffix = ceil_log2(levels - base);
        f.escape_base[k as usize] = base;
        f.escape_len[k as usize] = prefix + suffix;
        f.suffix_mask[k as usize] = (1 << suffix) - 1;
        f.escape_prefix[k as usize] = prefix;
        let mut v = 0;
        while v < 256 {
            let len = if v < base { (v >> k) + k + 1 } else { prefix + suffix };
            f.code_len[v as usize][k as usize] = len as u8;
            f.len_keys[v as usize][k as usize] = (len << 3) as i16;
            v += 1;
        }
        let mut byte = 0u32;
        while byte < 256 {
            let zeros = (byte << 24).leading_zeros();
            let len = if zeros < prefix { zeros + 1 + k } else { prefix + suffix };
            if len <= 8 {
                let bits = byte >> (8 - len);
                let v = if zeros < prefix {
                    zeros << k | (bits & ((1 << k) - 1))
                } else {
                    base + (bits & ((1 << suffix) - 1))
                };
                if v < levels {
                    f.short[k as usize][byte as usize] = (v << 8 | len) as u16;
                }
            }
            byte += 1;
        }
        k += 1;
    }
    // Buckets double in size (1, 2, 4, …); the last one also takes what
    // would not fill another of its size.
    let mut v = 0;
    while v < levels {
        let b = 31 - (v + 1u32).leading_zeros();
        let b = if b > bpc - 1 { bpc - 1 } else { b };
        f.bucket[v as usize] = b as u8;
        if v == 0 || f.bucket[v as usize - 1] != b as u8 {
            f.bucket_span[b as usize].0 = v as u8;
        }
        f.bucket_span[b as usize].1 = v as u8;
        v += 1;
    }
    f
}

static FAMILY_8: Family = make_family(8);
static FAMILY_5: Family = make_family(5);

#[inline(always)]
fn family<const BPC: u32>() -> &'static Family {
    if BPC == 5 {
        &FAMILY_5
    } else {
        &FAMILY_8
    }
}

/// Run-length code state → bits of the remainder (run unit is 2^this).
const MELC_LEN: [u8; 32] =
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Counter-halving threshold per wait-mask step.
const TRIGGER: [u32; 7] = [110, 550, 900, 800, 550, 400, 350];
/// The wait mask stops widening at this step (mask 63).
const WAIT_STEPS: u32 = 6;
/// Pixels per wait-mask step.
const STEP_PIXELS: usize = 2048;

/// The coder's fixed pseudo-random table, reduced to the 6 bits any wait
/// mask keeps.
const RANDOM: [u8; 256] = [
    2, 23, 19, 21, 7, 18, 40, 14, 12, 32, 47, 44, 36, 6, 18, 11, 4, 19, 42, 29, 16, 63, 57, 51, 16, 3, 5, 14, 15, 30,
    20, 9, 36, 45, 3, 57, 61, 0, 8, 5, 41, 14, 43, 27, 43, 59, 31, 35, 39, 60, 42, 38, 13, 54, 62, 1, 26, 3, 11, 61,
    52, 34, 7, 48, 4, 59, 22, 12, 22, 8, 50, 4, 10, 6, 44, 8, 11, 46, 31, 51, 53, 17, 1, 43, 46, 60, 36, 54, 10, 27,
    39, 44, 22, 41, 23, 2, 44, 0, 40, 53, 40, 48, 16, 43, 32, 28, 33, 12, 20, 2, 56, 62, 55, 58, 18, 20, 13, 55, 38,
    29, 57, 19, 49, 33, 47, 63, 59, 0, 35, 61, 19, 25, 46, 38, 60, 4, 35, 1, 26, 40, 28, 10, 5, 14, 25, 18, 48, 49, 20,
    59, 62, 34, 46, 7, 33, 52, 34, 58, 9, 29, 8, 55, 62, 60, 37, 36, 37, 50, 6, 3, 10, 28, 48, 24, 26, 61, 57, 30, 11,
    54, 2, 6, 50, 47, 7, 17, 35, 53, 32, 12, 23, 17, 5, 21, 49, 55, 51, 45, 52, 27, 39, 25, 39, 63, 22, 24, 42, 52, 56,
    38, 41, 41, 56, 32, 13, 24, 26, 51, 27, 56, 58, 37, 24, 42, 15, 28, 17, 30, 31, 15, 16, 23, 25, 54, 33, 34, 1, 29,
    31, 50, 53, 21, 49, 15, 47, 9, 0, 58, 37, 45, 30, 13, 9, 45, 63, 21,
];

/// Model-update pacing and run-length state, shared by the planes coded
/// together.
struct Wait {
    /// Pixels still to skip before the next model update.
    waitcnt: usize,
    /// Index of the last random number used.
    seed: u8,
    /// Wait-mask step (0..=6).
    step: u32,
    /// Pixels left in this step.
    step_left: usize,
    /// Counter-halving threshold.
    trigger: u32,
    /// Run-length code state (index into `MELC_LEN`).
    melc: usize,
}

impl Wait {
    fn new() -> Self {
        Self { waitcnt: 0, seed: 0xff, step: 0, step_left: STEP_PIXELS, trigger: TRIGGER[0], melc: 0 }
    }

    #[inline(always)]
    fn random(&mut self, mask: u32) -> usize {
        self.seed = self.seed.wrapping_add(1);
        (u32::from(RANDOM[usize::from(self.seed)]) & mask) as usize
    }
}

/// Code statistics of one plane.
#[derive(Clone, Copy)]
struct Model {
    /// Per bucket and `k`: the bits `k` would have cost, shifted left by 3,
    /// with `7 − k` below, so the smallest key is the cheapest `k` and ties
    /// go to the larger `k`; stored minus 2^15, so that signed 16-bit
    /// compares order them (unused `k ≥ bpc` hold `i16::MAX`).
    ///
    /// 16 bits suffice: a code is never more than 8 times longer with one
    /// `k` than with another (`len_ratio_is_bounded`), so no cost passes 8
    /// times the cheapest + 8, which halving keeps at most 900 + 26: costs
    /// stay at most 7416, keys below 2^16.
    keys: [[i16; 8]; 8],
    /// The cheapest `k` per bucket.
    best: [u8; 8],
    /// The cheapest `k` for each previous error (its bucket's), so the
    /// decoder finds `k` with one load.
    k_of: [u8; 256],
}

/// A key as stored in [`Model::keys`].
const fn stored_key(key: u32) -> i16 {
    (key as u16 ^ 0x8000) as i16
}

impl Model {
    fn new(bpc: u32) -> Self {
        let mut keys = [[i16::MAX; 8]; 8];
        for b in &mut keys {
            for (k, key) in b.iter_mut().enumerate().take(bpc as usize) {
                *key = stored_key(7 - k as u32);
            }
        }
        Self { keys, best: [bpc as u8 - 1; 8], k_of: [bpc as u8 - 1; 256] }
    }

    /// Adds the cost of coding `v` with every `k` to the bucket of `ctx`,
    /// picks the cheapest and halves when it grows past `trigger`.
    #[inline(always)]
    fn update<const BPC: u32>(&mut self, ctx: u32, v: u32, trigger: u32) {
        let fam = family::<BPC>();
        let b = usize::from(fam.bucket[(ctx & 0xff) as usize] & 7);
        let steps = &fam.len_keys[(v & 0xff) as usize];
        let keys = &mut self.keys[b];
        // All 8 lanes, so that the compiler can do them at once.
        let mut min = i16::MAX;
        for (key, step) in keys.iter_mut().zip(steps) {
            *key = key.wrapping_add(*step);
            min = min.min(*key);
        }
        let min = u32::from(min as u16 ^ 0x8000);
        let best = 7 - (min & 7) as u8;
        if best != self.best[b] {
            self.best[b] = best;
            let (first, last) = fam.bucket_span[b];
            self.k_of[usize::from(first)..=usize::from(last)].fill(best);
        }
        if min >> 3 > trigger {
            for key in keys.iter_mut().take(BPC as usize) {
                let k = u32::from(*key as u16 ^ 0x8000);
                *key = stored_key(((k >> 1) & !7) | (k & 7));
            }
        }
    }
}

/// `CH` planes of `BPC` bits, coded together, in byte lanes of the output
/// word from bit `TOP` down (R at 16, G at 8, B at 0; alpha at 24).
struct Planes<const CH: usize, const BPC: u32, const TOP: u32> {
    models: [Model; CH],
    /// Last folded errors at each x, each plane in its output lane. The context of
    /// pixel x is the entry at x − 1 (at x = 0, the previous row's entry 0;
    /// in row 0, zeros); runs do not write here, so after one it is an
    /// older row's.
    errors: Vec<u32>,
    wait: Wait,
}

impl<const CH: usize, const BPC: u32, const TOP: u32> Planes<CH, BPC, TOP> {
    /// The output bits these planes own.
    const LANES: u32 = {
        let mut m = 0;
        let mut c = 0;
        while c < CH {
            m |= 0xff << (TOP - 8 * c as u32);
            c += 1;
        }
        m
    };
    const MASK: u32 = (1 << BPC) - 1;

    fn new(width: usize, too_large: DecodeError) -> Result<Self, DecodeError> {
        let mut errors = Vec::new();
        errors.try_reserve_exact(width).map_err(|_| too_large)?;
        errors.resize(width, 0);
        Ok(Self { models: [Model::new(BPC); CH], errors, wait: Wait::new() })
    }

    /// What pixel `x` of `out` holds outside these planes' lanes: rows start
    /// zeroed, so only the alpha plane (coded after RGB) keeps anything.
    #[inline(always)]
    fn base(out: u32) -> u32 {
        if TOP == 24 {
            out & !Self::LANES
        } else {
            0
        }
    }

    /// Decodes the planes of one pixel onto `base`, each predicted by the
    /// same lane of `pred`, in context `ctx` (the previous folded errors);
    /// returns the pixel and its folded errors.
    #[inline(always)]
    fn pixel(
        models: &[Model; CH],
        bits: &mut Bits<'_>,
        ctx: u32,
        pred: u32,
        base: u32,
    ) -> Result<(u32, u32), DecodeError> {
        // One refill covers two codewords; a third needs another only when
        // the first two were long.
        bits.refill();
        let mut now = 0;
        for (c, model) in models.iter().enumerate() {
            if c >= 2 && bits.valid < MAX_CODE_LEN {
                bits.refill();
            }
            let shift = TOP - 8 * c as u32;
            now |= bits.code::<BPC>(model.k_of[((ctx >> shift) & 0xff) as usize])? << shift;
        }
        // Unfold every lane at once: even → +e/2, odd → −(e+1)/2, which is
        // e/2 with its BPC bits flipped.
        let low = Self::LANES & 0x0101_0101;
        let delta = ((now >> 1) & Self::LANES & 0x7f7f_7f7f) ^ ((now & low) * Self::MASK);
        // Add the prediction, modulo 2^BPC in each lane.
        let px = if BPC == 8 {
            let high = Self::LANES & 0x8080_8080;
            ((delta & !high) + (pred & !high & Self::LANES)) ^ ((delta ^ pred) & high)
        } else {
            (delta + (pred & Self::LANES)) & (low * Self::MASK)
        };
        Ok((base | px, now))
    }

    /// Updates each plane's model with the folded errors `now`, coded in
    /// context `ctx`.
    #[inline(always)]
    fn update(models: &mut [Model; CH], ctx: u32, now: u32, trigger: u32) {
        for (c, model) in models.iter_mut().enumerate() {
            let shift = TOP - 8 * c as u32;
            model.update::<BPC>(ctx >> shift, now >> shift, trigger);
        }
    }

    /// Pixel 0 of a segment at x = 0: decode it in context `ctx`, then count
    /// down the wait or update the model and draw the next wait; returns
    /// the index of the next update.
    #[inline(always)]
    fn first(
        &mut self,
        bits: &mut Bits<'_>,
        ctx: u32,
        out: &mut u32,
        mask: u32,
        pred: u32,
    ) -> Result<usize, DecodeError> {
        let (px, now) = Self::pixel(&self.models, bits, ctx, pred, Self::base(*out))?;
        *out = px;
        if let Some(e) = self.errors.first_mut() {
            *e = now;
        }
        if self.wait.waitcnt > 0 {
            self.wait.waitcnt -= 1;
        } else {
            self.wait.waitcnt = self.wait.random(mask);
            Self::update(&mut self.models, ctx, now, self.wait.trigger);
        }
        Ok(1 + self.wait.waitcnt)
    }

    /// Splits a row into wait-mask steps and decodes each part with `seg`.
    #[inline(always)]
    fn steps(
        &mut self,
        width: usize,
        mut seg: impl FnMut(&mut Self, usize, usize, u32) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let (mut pos, mut left) = (0, width);
        while self.wait.step < WAIT_STEPS && self.wait.step_left <= left {
            let n = self.wait.step_left;
            if n > 0 {
                seg(self, pos, pos + n, (1 << self.wait.step) - 1)?;
                pos += n;
                left -= n;
            }
            self.wait.step += 1;
            self.wait.trigger = TRIGGER[self.wait.step as usize];
            self.wait.step_left = STEP_PIXELS;
        }
        if left > 0 {
            seg(self, pos, pos + left, (1 << self.wait.step) - 1)?;
            if self.wait.step < WAIT_STEPS {
                self.wait.step_left -= left;
            }
        }
        Ok(())
    }

    /// Row 0: left prediction, no runs.
    fn row0(&mut self, bits: &mut Bits<'_>, cur: &mut [u32]) -> Result<(), DecodeError> {
        self.steps(cur.len(), |p, start, end, mask| p.seg0(bits, cur, start, end, mask))
    }

    fn seg0(
        &mut self,
        bits: &mut Bits<'_>,
        cur: &mut [u32],
        mut i: usize,
        end: usize,
        mask: u32,
    ) -> Result<(), DecodeError> {
        let (Some(cur), true) = (cur.get_mut(..end), self.errors.len() >= end) else { return Ok(()) };
        let mut b = *bits;
        let mut stop;
        if i == 0 {
            stop = self.first(&mut b, 0, &mut cur[0], mask, 0)?;
            i = 1;
        } else {
            stop = i + self.wait.waitcnt;
        }
        let (models, errors, wait) = (&mut self.models, &mut self.errors[..end], &mut self.wait);
        let mut ctx = errors[i - 1];
        let mut left = cur[i - 1];
        while i < end {
            let (px, now) = Self::pixel(models, &mut b, ctx, left, Self::base(cur[i]))?;
            cur[i] = px;
            errors[i] = now;
            if i == stop {
                Self::update(models, ctx, now, wait.trigger);
                stop = i + 1 + wait.random(mask);
            }
            (ctx, left) = (now, px);
            i += 1;
        }
        *bits = b;
        wait.waitcnt = stop - end;
        Ok(())
    }

    /// Rows after the first: up / average prediction and runs.
    fn row(&mut self, bits: &mut Bits<'_>, prev: &[u32], cur: &mut [u32]) -> Result<(), DecodeError> {
        self.steps(cur.len(), |p, start, end, mask| p.seg(bits, prev, cur, start, end, mask))
    }

    fn seg(
        &mut self,
        bits: &mut Bits<'_>,
        prev: &[u32],
        cur: &mut [u32],
        mut i: usize,
        end: usize,
        mask: u32,
    ) -> Result<(), DecodeError> {
        let lanes = Self::LANES;
        let (Some(prev), Some(cur), true) = (prev.get(..end), cur.get_mut(..end), self.errors.len() >= end) else {
            return Ok(());
        };
        let mut b = *bits;
        let mut stop;
        if i == 0 {
            stop = self.first(&mut b, self.errors[0], &mut cur[0], mask, prev[0])?;
            i = 1;
        } else {
            stop = i + self.wait.waitcnt;
        }
        let (models, errors, wait) = (&mut self.models, &mut self.errors[..end], &mut self.wait);
        // The previous pixel's context and the pixel left of x: kept in
        // registers, reloaded after a run.
        let mut ctx = errors[i - 1];
        let mut left = cur[i - 1];
        while i < end {
            let up = prev[i];
            // (The pixels two to the left and up-left are loaded again: in
            // registers they would push hotter values out.)
            if i > 2 && ((prev[i - 1] ^ up) | (cur[i - 2] ^ left)) & lanes == 0 {
                wait.waitcnt = stop - i;
                // Through a copy, so `b` itself never needs an address and
                // stays in registers.
                let mut rb = b;
                let n = rb.run_length(wait, end - i)?;
                b = rb;
                for p in &mut cur[i..i + n] {
                    *p = Self::base(*p) | (left & lanes);
                }
                i += n;
                if i == end {
                    // The wait count stays as it was at the run's start.
                    *bits = b;
                    return Ok(());
                }
                stop = i + wait.waitcnt;
                (ctx, left) = (errors[i - 1], cur[i - 1]);
                // After an empty run the pixel is coded, whatever the test.
                if n > 0 {
                    continue;
                }
            }
            // The average of left and up in every lane, without carries
            // between lanes.
            let pred = (left & up) + (((left ^ up) >> 1) & 0x7f7f_7f7f);
            let (px, now) = Self::pixel(models, &mut b, ctx, pred, Self::base(cur[i]))?;
            cur[i] = px;
            errors[i] = now;
            if i == stop {
                Self::update(models, ctx, now, wait.trigger);
                stop = i + 1 + wait.random(mask);
            }
            (ctx, left) = (now, px);
            i += 1;
        }
        *bits = b;
        wait.waitcnt = stop - end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket layout spice-common builds (sizes 1, 2, 4, …, the last
    /// one merged with the remainder), rebuilt the long way.
    fn buckets_the_long_way(bpc: u32) -> Vec<u8> {
        let levels = 1u32 << bpc;
        let mut out = Vec::new();
        let (mut size, mut n) = (1, 0u8);
        loop {
            let start = out.len() as u32;
            let mut end = start + size - 1;
            if end + size >= levels {
                end = levels - 1;
            }
            out.extend((start..=end).map(|_| n));
            if end == levels - 1 {
                return out;
            }
            n += 1;
            size *= 2;
        }
    }

    #[test]
    fn bucket_tables() {
        for (bpc, fam) in [(8, &FAMILY_8), (5, &FAMILY_5)] {
            let want = buckets_the_long_way(bpc);
            assert_eq!(&fam.bucket[..want.len()], &want[..], "bpc {bpc}");
        }
        assert_eq!(FAMILY_8.bucket[127], 7);
        assert_eq!(FAMILY_8.bucket[126], 6);
        assert_eq!(FAMILY_5.bucket[31], 4);
        assert_eq!(FAMILY_5.bucket[15], 4);
    }

    #[test]
    fn codes_are_prefix_free_and_bounded() {
        for (bpc, fam) in [(8u32, &FAMILY_8), (5, &FAMILY_5)] {
            for k in 0..bpc as usize {
                // Kraft sum of every value's codeword is exactly 1 or below.
                let kraft: f64 = (0..1usize << bpc).map(|v| 0.5f64.powi(i32::from(fam.code_len[v][k]))).sum();
                assert!(kraft <= 1.0 + 1e-12, "bpc {bpc} k {k}: {kraft}");
                assert!((0..1usize << bpc).all(|v| u32::from(fam.code_len[v][k]) <= MAX_CODE_LEN));
            }
        }
    }

    /// The premise of [`Model`]'s 16-bit keys: no code is more than 8
    /// times longer with one `k` than with another.
    #[test]
    fn len_ratio_is_bounded() {
        for (bpc, fam) in [(8u32, &FAMILY_8), (5, &FAMILY_5)] {
            for lens in &fam.code_len[..1 << bpc] {
                let lens = &lens[..bpc as usize];
                let (min, max) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(*min >= 1 && u32::from(*max) <= 8 * u32::from(*min), "bpc {bpc}: {lens:?}");
            }
        }
    }

    /// The largest cost the keys can hold, reached the way the bound in
    /// [`Model`] allows: values coded cheapest with `k` = 0 (cost 1) and
    /// dearest with `k` = 7 (cost 8), under the highest trigger.
    #[test]
    fn keys_do_not_overflow() {
        let mut m = Model::new(8);
        let trigger = *TRIGGER.iter().max().unwrap();
        for _ in 0..10_000 {
            m.update::<8>(0, 0, trigger);
        }
        let keys = m.keys[0].map(|k| u32::from(k as u16 ^ 0x8000));
        assert_eq!(m.best[0], 0);
        assert!(keys[0] >> 3 <= trigger && keys[7] >> 3 > 7 * (trigger / 2), "{keys:?}");
    }

    /// The one-byte table decodes what the long way decodes.
    #[test]
    fn short_codes_match_the_long_way() {
        fn check<const BPC: u32>() {
            let mut short = 0;
            for k in 0..BPC as usize {
                for byte in 0..256u64 {
                    // Every continuation of the byte, as far as the longest code.
                    for rest in [0, 1, 0x5a5a5a5a, u64::MAX >> 8] {
                        let buf = byte << 56 | rest;
                        let entry = family::<BPC>().short[k][byte as usize];
                        if entry != 0 {
                            short += 1;
                            let want = long_code::<BPC>(buf, k);
                            assert_eq!(want, Ok((u32::from(entry >> 8), u32::from(entry & 0xff))), "k {k} {buf:x}");
                        } else if let Ok((_, len)) = long_code::<BPC>(buf, k) {
                            assert!(len > 8, "k {k} {buf:x}");
                        }
                    }
                }
            }
            assert!(short > 0);
        }
        check::<8>();
        check::<5>();
    }

    #[test]
    fn header_errors() {
        assert!(matches!(header(b"QUI"), Err(DecodeError::Truncated { .. })));
        assert!(matches!(header(b"LZ  0000"), Err(DecodeError::BadMagic { .. })));
        let mut h = Vec::from(*b"QUIC");
        for v in [0u32, 4, 7, 9] {
            h.extend(v.to_le_bytes());
        }
        assert_eq!(header(&h), Ok(Header { image_type: ImageType::Rgb32, width: 7, height: 9 }));
        h[4] = 1;
        assert_eq!(header(&h), Err(DecodeError::Unsupported("QUIC version")));
        h[4] = 0;
        h[8] = 9;
        assert_eq!(header(&h), Err(DecodeError::UnknownFormat(9)));
        h[8] = 4;
        assert!(matches!(decode(&h, &Limits::default()), Err(DecodeError::Truncated { .. })));
    }
}
