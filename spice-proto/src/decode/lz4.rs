//! LZ4 images (`SPICE_IMAGE_TYPE_LZ4`).
//!
//! The payload is a `top_down` byte, a `SpiceBitmapFmt` byte (16-bit 555,
//! 24-bit BGR, 32-bit xRGB or RGBA), then one or more chunks of a big-endian
//! u32 length followed by that many bytes of one LZ4 block. The server
//! compresses the rows with a streaming LZ4 context, so the blocks form one
//! stream: a match in a later block may reach back into what earlier blocks
//! produced. Concatenated, the blocks give exactly `height` rows of
//! `width × bytes-per-pixel` bytes with no padding, top row first when
//! `top_down` is set and bottom row first otherwise.
//!
//! Unlike spice-common, which leaves whatever the blocks did not write
//! uninitialised, we insist that the blocks fill the image exactly.
//!
//! The block decoder is our own rather than lz4_flex's: on the real vectors
//! it is faster than lz4_flex's safe decoder and than spice-gtk's liblz4
//! (`cargo xtask bench decode` measures all three side by side).

use alloc::vec::Vec;

use super::bitmap::{self, Bitmap};
use super::{DecodeError, Limits, Pixels};
use crate::consts::BitmapFormat;

/// LZ4 match offsets are 16-bit: nothing further back than this is reachable.
#[cfg(test)]
const WINDOW: usize = 64 * 1024;

/// Zeroed bytes kept past the end of the decode buffer, so short literal
/// runs and matches can be copied as fixed-size chunks that may overshoot
/// the sequence (never the image: every length is checked first).
const SLACK: usize = 32;

/// Decodes an LZ4 payload whose descriptor announced `width` × `height`.
pub fn decode(data: &[u8], width: u32, height: u32, limits: &Limits) -> Result<Pixels, DecodeError> {
    limits.check(width, height)?;
    let [top_down, format, ref blocks @ ..] = *data else {
        return Err(DecodeError::Truncated { what: "LZ4 header", need: 2, have: data.len() });
    };
    let format = BitmapFormat::from(format);
    let bpp: u32 = match format {
        BitmapFormat::SixteenBit => 2,
        BitmapFormat::TwentyFourBit => 3,
        BitmapFormat::ThirtyTwoBit | BitmapFormat::Rgba => 4,
        BitmapFormat::Invalid => return Err(DecodeError::UnknownFormat(format.into())),
        f if u8::from(f) > u8::from(BitmapFormat::EightBitA) => return Err(DecodeError::UnknownFormat(f.into())),
        _ => return Err(DecodeError::Unsupported("LZ4 image with a palette or alpha-only format")),
    };
    let too_large = DecodeError::TooLarge { width, height };
    let stride = width.checked_mul(bpp).ok_or(too_large)?;
    let total = usize::try_from(u64::from(stride) * u64::from(height)).map_err(|_| too_large)?;
    let top_down = top_down != 0;
    if bpp != 4 {
        let mut raw = Vec::new();
        raw.try_reserve_exact(total + SLACK).map_err(|_| too_large)?;
        raw.resize(total + SLACK, 0);
        inflate_exactly(blocks, &mut raw, total)?;
        let raw = &raw[..total];
        return bitmap::decode(&Bitmap { format, top_down, width, height, stride, data: raw }, None, limits);
    }
    // 32-bit is the common case: the blocks decode straight into the
    // output words (little-endian on the wire, as on x86), which for
    // bottom-up images are then put in top-down order. Without alpha the
    // top byte stays as sent: `Pixels` leaves it undefined, and masking it
    // would cost a pass over the image.
    let count = total / 4;
    let mut data: Vec<u32> = bytemuck::allocation::try_zeroed_vec(count + SLACK / 4).map_err(|()| too_large)?;
    inflate_exactly(blocks, bytemuck::cast_slice_mut(&mut data), total)?;
    data.truncate(count);
    if cfg!(target_endian = "big") {
        data.iter_mut().for_each(|p| *p = u32::from_le(*p));
    }
    let has_alpha = format == BitmapFormat::Rgba;
    if !top_down {
        let row = width as usize;
        let (mut front, mut back) = (0, count);
        while back - front >= 2 * row {
            let (head, tail) = data[front..back].split_at_mut(row);
            let last = tail.len() - row;
            head.swap_with_slice(&mut tail[last..]);
            front += row;
            back -= row;
        }
    }
    Ok(Pixels { width, height, has_alpha, data })
}

/// [`inflate`] that must produce exactly `total` bytes.
fn inflate_exactly(blocks: &[u8], out: &mut [u8], total: usize) -> Result<(), DecodeError> {
    let produced = inflate(blocks, out, total)?;
    if produced != total {
        return Err(DecodeError::Truncated { what: "LZ4 decoded pixels", need: total, have: produced });
    }
    Ok(())
}

/// Decompresses the chunked block stream into `out[..total]` (`out` has
/// [`SLACK`] bytes more), each block continuing where the previous one
/// stopped. Returns the number of bytes produced; output that would run past
/// `total` is an error.
fn inflate(mut blocks: &[u8], out: &mut [u8], total: usize) -> Result<usize, DecodeError> {
    let mut pos = 0;
    while !blocks.is_empty() {
        let Some((len, rest)) = blocks.split_first_chunk::<4>() else {
            return Err(DecodeError::Truncated { what: "LZ4 block length", need: 4, have: blocks.len() });
        };
        let len = u32::from_be_bytes(*len);
        let Some(block) = usize::try_from(len).ok().and_then(|len| rest.get(..len)) else {
            return Err(DecodeError::Truncated {
                what: "LZ4 block",
                need: usize::try_from(len).unwrap_or(usize::MAX),
                have: rest.len(),
            });
        };
        blocks = &rest[block.len()..];
        if pos == total {
            return Err(DecodeError::Corrupt("LZ4 data continues after the image is complete"));
        }
        let end = block_into(block, out, pos, total)?;
        if end == pos {
            return Err(DecodeError::Corrupt("empty LZ4 block"));
        }
        pos = end;
    }
    Ok(pos)
}

#[cold]
fn corrupt(why: &'static str) -> DecodeError {
    DecodeError::Corrupt(why)
}

/// Reads an LZ4 length extension: bytes added while they are 255.
#[inline(always)]
fn extension(block: &[u8], ip: &mut usize) -> Result<usize, DecodeError> {
    let mut n = 0usize;
    loop {
        let &b = block.get(*ip).ok_or_else(|| corrupt("LZ4 block ends inside a sequence"))?;
        *ip += 1;
        n += usize::from(b);
        if b != 255 {
            return Ok(n);
        }
    }
}

/// Decodes one LZ4 block into `out` from `pos`; matches may reach back to
/// the start of `out`. Returns the new position. Every sequence is checked
/// once against the block and `total` before its bytes are copied.
fn block_into(block: &[u8], out: &mut [u8], mut pos: usize, total: usize) -> Result<usize, DecodeError> {
    debug_assert!(out.len() >= total + SLACK);
    let mut ip = 0;
    while ip < block.len() {
        let token = usize::from(block[ip]);
        ip += 1;
        // Literals.
        let mut lit = token >> 4;
        if lit == 15 {
            lit += extension(block, &mut ip)?;
        }
        if lit > block.len() - ip {
            return Err(corrupt("LZ4 literal run goes past the end of its block"));
        }
        if lit > total - pos {
            return Err(corrupt("LZ4 block decodes past the end of the image"));
        }
        if lit <= 16 && block.len() - ip >= 16 {
            // Short run with input to spare: one fixed-size copy.
            out[pos..pos + 16].copy_from_slice(&block[ip..ip + 16]);
        } else {
            out[pos..pos + lit].copy_from_slice(&block[ip..ip + lit]);
        }
        ip += lit;
        pos += lit;
        if ip == block.len() {
            break; // The last sequence has literals only.
        }
        // Match.
        let (Some(&lo), Some(&hi)) = (block.get(ip), block.get(ip + 1)) else {
            return Err(corrupt("LZ4 block ends inside a sequence"));
        };
        ip += 2;
        let offset = usize::from(u16::from_le_bytes([lo, hi]));
        if offset == 0 {
            return Err(corrupt("LZ4 match with offset 0"));
        }
        let mut len = token & 15;
        if len == 15 {
            len += extension(block, &mut ip)?;
        }
        len += 4;
        if offset > pos {
            return Err(DecodeError::BadReference { distance: offset as u64, available: pos as u64 });
        }
        if len > total - pos {
            return Err(corrupt("LZ4 block decodes past the end of the image"));
        }
        copy_match(out, pos, offset, len);
        pos += len;
    }
    Ok(pos)
}

/// Copies `len` bytes from `offset` back to `pos`, forward, so an offset
/// below the length repeats the pattern. The caller checked
/// `1 <= offset <= pos` and `pos + len + SLACK <= out.len()`.
#[inline(always)]
fn copy_match(out: &mut [u8], pos: usize, offset: usize, len: usize) {
    let src = pos - offset;
    let end = pos + len;
    if offset >= 8 {
        if len <= 16 {
            // The common short match: two (possibly overshooting) 8-byte
            // moves; the second reads bytes the first has written when the
            // offset is below 16, which is what a forward copy does.
            out.copy_within(src..src + 8, pos);
            out.copy_within(src + 8..src + 16, pos + 8);
        } else if offset >= len {
            out.copy_within(src..src + len, pos);
        } else {
            let mut s = src;
            let mut d = pos;
            while d < end {
                out.copy_within(s..s + 8, d);
                s += 8;
                d += 8;
            }
        }
    } else if offset == 1 {
        let v = out[src];
        out[pos..end].fill(v);
    } else if offset == 2 || offset == 4 {
        // Every 8 bytes are the same: build them in a register from the
        // `offset` bytes before `pos` and store them, overshooting into the
        // slack at most 7 bytes.
        let unit = &out[src..pos];
        let pattern: [u8; 8] = core::array::from_fn(|i| unit[i & (offset - 1)]);
        let mut d = pos;
        while d < end {
            out[d..d + 8].copy_from_slice(&pattern);
            d += 8;
        }
    } else {
        // Offsets 3, 5, 6, 7: the output repeats with period `offset`, so
        // also with `step`, the first multiple of it that is at least 8.
        // Bytes one at a time until `step` of them repeat, then 8-byte moves
        // from `step` back (each reads only bytes already written).
        const STEP: [usize; 8] = [0, 8, 8, 9, 8, 10, 12, 14];
        let step = STEP[offset];
        let bytewise = end.min(src + step);
        let w = &mut out[src..bytewise];
        for i in offset..w.len() {
            w[i] = w[i - offset];
        }
        let mut d = bytewise;
        while d < end {
            out.copy_within(d - step..d - step + 8, d);
            d += 8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use lz4_flex::block::{compress, compress_with_dict};

    /// Builds a payload from `rows`, one block per `rows_per_block` rows,
    /// each block compressed with everything before it as its dictionary,
    /// the way the server's streaming encoder does.
    fn payload(top_down: u8, format: u8, raw: &[u8], block_bytes: usize) -> Vec<u8> {
        let mut out = vec![top_down, format];
        let mut pos = 0;
        while pos < raw.len() {
            let end = (pos + block_bytes).min(raw.len());
            let dict = &raw[pos.saturating_sub(WINDOW)..pos];
            let block = if pos == 0 { compress(&raw[..end]) } else { compress_with_dict(&raw[pos..end], dict) };
            out.extend_from_slice(&(block.len() as u32).to_be_bytes());
            out.extend_from_slice(&block);
            pos = end;
        }
        out
    }

    fn pattern(len: usize) -> Vec<u8> {
        // Repetitive enough for long matches, across block boundaries too.
        (0..len).map(|i| ((i % 97) as u8).wrapping_mul(3) ^ ((i / 500) as u8)).collect()
    }

    /// Matches closer than 8 bytes (periods 1..8, short and long) repeat
    /// their pattern exactly.
    #[test]
    fn short_offsets_repeat_the_pattern() {
        let (w, h) = (16u32, 8u32);
        for period in 1..=9usize {
            for run in [5usize, 9, 17, 40, 200] {
                let mut raw: Vec<u8> = (0..(w * h * 4) as usize).map(|i| (i * 7 + period) as u8).collect();
                for i in 13..(13 + run).min(raw.len()) {
                    raw[i] = raw[i - period];
                }
                let p = decode(&payload(1, 9, &raw, raw.len()), w, h, &Limits::default()).unwrap();
                let want: Vec<u32> =
                    raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                assert_eq!(p.data, want, "period {period}, run {run}");
            }
        }
    }

    #[test]
    fn thirty_two_bit_over_many_blocks() {
        let (w, h) = (40u32, 30u32);
        let raw = pattern((w * h * 4) as usize);
        let p = decode(&payload(1, 8, &raw, 4 * w as usize * 3), w, h, &Limits::default()).unwrap();
        assert!(!p.has_alpha);
        let want: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!(p.data, want);
    }

    #[test]
    fn later_blocks_reference_earlier_ones() {
        // Two identical halves: the second block is nearly all one match
        // into the first block's output.
        let half = pattern(4000);
        let raw = [half.clone(), half].concat();
        let data = payload(1, 8, &raw, 4000);
        let p = decode(&data, 20, 100, &Limits::default()).unwrap();
        assert_eq!(p.data.len(), 2000);
        assert_eq!(p.data[..1000], p.data[1000..]);
        // The same second block without its dictionary must fail, not
        // produce garbage: decode only the second chunk.
        let first_len = u32::from_be_bytes(data[2..6].try_into().unwrap()) as usize;
        let mut alone = vec![1, 8];
        alone.extend_from_slice(&data[6 + first_len..]);
        assert!(decode(&alone, 20, 50, &Limits::default()).is_err());
    }

    #[test]
    fn bottom_up_rgba_24_and_16_bit() {
        let l = Limits::default();
        // 1x2 RGBA, bottom-up: the first row in the stream is the bottom one.
        let raw = [1, 2, 3, 4, 5, 6, 7, 8];
        let p = decode(&payload(0, 9, &raw, 8), 1, 2, &l).unwrap();
        assert!(p.has_alpha);
        assert_eq!(p.data, vec![0x0807_0605, 0x0403_0201]);
        let p = decode(&payload(1, 7, &[1, 2, 3, 4, 5, 6], 6), 2, 1, &l).unwrap();
        assert_eq!(p.data, vec![0x030201, 0x060504]);
        let p = decode(&payload(1, 6, &[0x00, 0x7c, 0xff, 0x7f], 4), 2, 1, &l).unwrap();
        assert_eq!(p.data, vec![0xff0000, 0xffffff]);
    }

    #[test]
    fn errors() {
        let l = Limits::default();
        let raw = pattern(64);
        let good = payload(1, 8, &raw, 32);
        assert_eq!(decode(&good, 4, 4, &l).unwrap().data.len(), 16);
        assert!(matches!(decode(&good[..1], 4, 4, &l), Err(DecodeError::Truncated { need: 2, .. })));
        // Header only: no blocks at all.
        assert!(matches!(decode(&good[..2], 4, 4, &l), Err(DecodeError::Truncated { need: 64, have: 0, .. })));
        // Cut inside a length and inside a block.
        assert!(matches!(decode(&good[..4], 4, 4, &l), Err(DecodeError::Truncated { need: 4, have: 2, .. })));
        assert!(matches!(decode(&good[..good.len() - 1], 4, 4, &l), Err(DecodeError::Truncated { .. })));
        // The descriptor says the image is smaller or larger than the stream.
        assert!(decode(&good, 4, 3, &l).is_err());
        assert!(matches!(decode(&good, 4, 5, &l), Err(DecodeError::Truncated { need: 80, have: 64, .. })));
        // A block claiming 4 GiB.
        let mut huge = good[..2].to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&good[6..]);
        assert!(matches!(decode(&huge, 4, 4, &l), Err(DecodeError::Truncated { .. })));
        // Formats.
        let fmt = |f: u8| decode(&[1, f, 0, 0, 0, 0], 4, 4, &l).unwrap_err();
        assert_eq!(fmt(0), DecodeError::UnknownFormat(0));
        assert_eq!(fmt(11), DecodeError::UnknownFormat(11));
        assert!(matches!(fmt(5), DecodeError::Unsupported(_)));
        assert!(matches!(fmt(10), DecodeError::Unsupported(_)));
        // Limits before any allocation.
        assert_eq!(decode(&good, 0, 4, &l).unwrap_err(), DecodeError::EmptyImage);
        let small = Limits { max_pixels: 15, max_side: 8192 };
        assert_eq!(decode(&good, 4, 4, &small).unwrap_err(), DecodeError::TooLarge { width: 4, height: 4 });
        // An empty block, and data after the image is complete.
        let mut empty = good.clone();
        empty.extend_from_slice(&[0, 0, 0, 1, 0]);
        assert!(matches!(decode(&empty, 4, 4, &l), Err(DecodeError::Corrupt(_))));
        let mut zero_len = good[..2].to_vec();
        zero_len.extend_from_slice(&[0, 0, 0, 0]);
        assert!(decode(&zero_len, 4, 4, &l).is_err());
        // A match before the start of the image.
        assert_eq!(
            decode(&[1, 8, 0, 0, 0, 4, 0x10, 0xaa, 0x05, 0x00], 1, 1, &l),
            Err(DecodeError::BadReference { distance: 5, available: 1 })
        );
    }
}
