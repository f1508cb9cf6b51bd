//! Uncompressed SPICE bitmaps (`SPICE_IMAGE_TYPE_BITMAP`), every
//! `SpiceBitmapFmt`, top-down or bottom-up, any stride.
//!
//! As spice-common's canvas does: 16-bit is 555 widened by bit replication,
//! 24-bit is B, G, R bytes, 1-bit maps bit 0 → palette[0] and 1 → palette[1],
//! 4-bit BE takes the high nibble first (LE the low one, 1-bit LE the least
//! significant bit first).

use alloc::vec::Vec;

use super::{DecodeError, Limits, Pixels};
use crate::consts::BitmapFormat;

/// An uncompressed bitmap as the message describes it.
#[derive(Clone, Copy, Debug)]
pub struct Bitmap<'a> {
    /// Pixel format.
    pub format: BitmapFormat,
    /// Rows run top to bottom (otherwise bottom to top).
    pub top_down: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next.
    pub stride: u32,
    /// The pixel bytes.
    pub data: &'a [u8],
}

/// Bits per pixel of `format`, or an error for INVALID/unknown ones.
pub fn bits_per_pixel(format: BitmapFormat) -> Result<u32, DecodeError> {
    Ok(match format {
        BitmapFormat::OneBitLe | BitmapFormat::OneBitBe => 1,
        BitmapFormat::FourBitLe | BitmapFormat::FourBitBe => 4,
        BitmapFormat::EightBit | BitmapFormat::EightBitA => 8,
        BitmapFormat::SixteenBit => 16,
        BitmapFormat::TwentyFourBit => 24,
        BitmapFormat::ThirtyTwoBit | BitmapFormat::Rgba => 32,
        other => return Err(DecodeError::UnknownFormat(other.into())),
    })
}

/// Widens a 555 pixel to xRGB by bit replication.
pub fn rgb555_to_xrgb(c: u16) -> u32 {
    let c = u32::from(c);
    let (r, g, b) = ((c >> 10) & 0x1f, (c >> 5) & 0x1f, c & 0x1f);
    let widen = |v: u32| (v << 3) | (v >> 2);
    (widen(r) << 16) | (widen(g) << 8) | widen(b)
}

/// Decodes `bmp`, looking up palette formats in `palette`.
pub fn decode(bmp: &Bitmap<'_>, palette: Option<&[u32]>, limits: &Limits) -> Result<Pixels, DecodeError> {
    let count = limits.check(bmp.width, bmp.height)?;
    let bpp = bits_per_pixel(bmp.format)?;
    let row_bytes = (u64::from(bmp.width) * u64::from(bpp)).div_ceil(8);
    if u64::from(bmp.stride) < row_bytes {
        return Err(DecodeError::BadStride { stride: bmp.stride, row_bytes });
    }
    // The last row need only be as long as its pixels.
    let need = u64::from(bmp.stride) * u64::from(bmp.height - 1) + row_bytes;
    if (bmp.data.len() as u64) < need {
        return Err(DecodeError::Truncated { what: "bitmap", need: need as usize, have: bmp.data.len() });
    }
    let (w, stride, row_bytes) = (bmp.width as usize, bmp.stride as usize, row_bytes as usize);
    let pal = palette.unwrap_or(&[]);
    if bpp <= 8 && bmp.format != BitmapFormat::EightBitA && pal.is_empty() {
        return Err(DecodeError::MissingPalette { need: 1, have: 0 });
    }
    let lookup = |i: u8| {
        pal.get(usize::from(i))
            .map(|c| c & 0x00ff_ffff)
            .ok_or(DecodeError::MissingPalette { need: usize::from(i) + 1, have: pal.len() })
    };

    let mut data = Vec::new();
    data.try_reserve_exact(count).map_err(|_| DecodeError::TooLarge { width: bmp.width, height: bmp.height })?;
    for y in 0..bmp.height as usize {
        let src_row = if bmp.top_down { y } else { bmp.height as usize - 1 - y };
        let row = &bmp.data[src_row * stride..src_row * stride + row_bytes];
        match bmp.format {
            BitmapFormat::ThirtyTwoBit => {
                data.extend(row.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0])));
            }
            BitmapFormat::Rgba => {
                data.extend(row.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]])))
            }
            BitmapFormat::TwentyFourBit => {
                data.extend(row.chunks_exact(3).map(|p| u32::from_le_bytes([p[0], p[1], p[2], 0])));
            }
            BitmapFormat::SixteenBit => {
                data.extend(row.chunks_exact(2).map(|p| rgb555_to_xrgb(u16::from_le_bytes([p[0], p[1]]))));
            }
            BitmapFormat::EightBitA => data.extend(row.iter().map(|&a| u32::from(a) << 24)),
            BitmapFormat::EightBit => {
                for &i in row {
                    data.push(lookup(i)?);
                }
            }
            BitmapFormat::FourBitBe | BitmapFormat::FourBitLe => {
                let be = bmp.format == BitmapFormat::FourBitBe;
                for x in 0..w {
                    let byte = row[x / 2];
                    let first = x % 2 == 0;
                    let nibble = if first == be { byte >> 4 } else { byte & 0x0f };
                    data.push(lookup(nibble)?);
                }
            }
            _ => {
                // 1 bpp; `bits_per_pixel` rejected everything else.
                let (fore, back) = (lookup(1)?, lookup(0)?);
                let be = bmp.format == BitmapFormat::OneBitBe;
                for x in 0..w {
                    let byte = row[x / 8];
                    let bit = if be { byte & (0x80 >> (x % 8)) } else { byte & (1 << (x % 8)) };
                    data.push(if bit != 0 { fore } else { back });
                }
            }
        }
    }
    let has_alpha = matches!(bmp.format, BitmapFormat::Rgba | BitmapFormat::EightBitA);
    Ok(Pixels { width: bmp.width, height: bmp.height, has_alpha, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn bmp(format: BitmapFormat, w: u32, h: u32, stride: u32, top_down: bool, data: &[u8]) -> Bitmap<'_> {
        Bitmap { format, top_down, width: w, height: h, stride, data }
    }

    const PAL: [u32; 16] = [
        0x000000, 0xffffff, 0xff0000, 0x00ff00, 0x0000ff, 0x111111, 0x222222, 0x333333, 0x444444, 0x555555, 0x666666,
        0x777777, 0x888888, 0x999999, 0xaaaaaa, 0xbbbbbb,
    ];

    #[test]
    fn thirty_two_bit_bottom_up_with_padding() {
        // 2x2, stride 12 (4 bytes of padding), bottom-up: the first row in
        // memory is the bottom row.
        let data = [
            1, 2, 3, 0xaa, 4, 5, 6, 0xbb, 0, 0, 0, 0, //
            7, 8, 9, 0xcc, 10, 11, 12, 0xdd,
        ];
        let p = decode(&bmp(BitmapFormat::ThirtyTwoBit, 2, 2, 12, false, &data), None, &Limits::default()).unwrap();
        assert_eq!(p.data, vec![0x090807, 0x0c0b0a, 0x030201, 0x060504]);
        assert!(!p.has_alpha);
        let p = decode(&bmp(BitmapFormat::Rgba, 2, 2, 12, true, &data), None, &Limits::default()).unwrap();
        assert_eq!(p.data, vec![0xaa030201, 0xbb060504, 0xcc090807, 0xdd0c0b0a]);
        assert!(p.has_alpha);
    }

    #[test]
    fn twenty_four_and_sixteen_bit() {
        let p = decode(&bmp(BitmapFormat::TwentyFourBit, 2, 1, 6, true, &[1, 2, 3, 4, 5, 6]), None, &Limits::default());
        assert_eq!(p.unwrap().data, vec![0x030201, 0x060504]);
        // 0x7fff is white, 0x7c00 pure red at full 8-bit strength, 0x0421
        // is 1/31 of each channel: 0b00001 → 0b00001000 | 0b000 = 8.
        let d = [0xff, 0x7f, 0x00, 0x7c, 0x21, 0x04];
        let p = decode(&bmp(BitmapFormat::SixteenBit, 3, 1, 6, true, &d), None, &Limits::default()).unwrap();
        assert_eq!(p.data, vec![0xffffff, 0xff0000, 0x080808]);
        assert_eq!(rgb555_to_xrgb(0b10000_01000_00100), 0x844221);
    }

    #[test]
    fn palette_formats() {
        let l = Limits::default();
        let p = decode(&bmp(BitmapFormat::EightBit, 3, 1, 4, true, &[2, 0, 15, 9]), Some(&PAL), &l).unwrap();
        assert_eq!(p.data, vec![0xff0000, 0x000000, 0xbbbbbb]);
        let p = decode(&bmp(BitmapFormat::FourBitBe, 3, 1, 2, true, &[0x23, 0x40]), Some(&PAL), &l).unwrap();
        assert_eq!(p.data, vec![0xff0000, 0x00ff00, 0x0000ff]);
        let p = decode(&bmp(BitmapFormat::FourBitLe, 3, 1, 2, true, &[0x23, 0x04]), Some(&PAL), &l).unwrap();
        assert_eq!(p.data, vec![0x00ff00, 0xff0000, 0x0000ff]);
        let p = decode(&bmp(BitmapFormat::OneBitBe, 10, 1, 2, true, &[0b1010_0000, 0b0100_0000]), Some(&PAL), &l);
        assert_eq!(p.unwrap().data, vec![0xffffff, 0, 0xffffff, 0, 0, 0, 0, 0, 0, 0xffffff]);
        let p = decode(&bmp(BitmapFormat::OneBitLe, 10, 1, 2, true, &[0b0000_0101, 0b0000_0010]), Some(&PAL), &l);
        assert_eq!(p.unwrap().data, vec![0xffffff, 0, 0xffffff, 0, 0, 0, 0, 0, 0, 0xffffff]);
        let p = decode(&bmp(BitmapFormat::EightBitA, 2, 1, 2, true, &[0x80, 0xff]), None, &l).unwrap();
        assert_eq!(p.data, vec![0x8000_0000, 0xff00_0000]);
    }

    #[test]
    fn errors() {
        let l = Limits::default();
        let e = |b: Bitmap<'_>, pal: Option<&[u32]>| decode(&b, pal, &l).unwrap_err();
        assert_eq!(
            e(bmp(BitmapFormat::EightBit, 2, 1, 2, true, &[0, 16]), Some(&PAL)),
            DecodeError::MissingPalette { need: 17, have: 16 }
        );
        assert_eq!(
            e(bmp(BitmapFormat::EightBit, 2, 1, 2, true, &[0, 1]), None),
            DecodeError::MissingPalette { need: 1, have: 0 }
        );
        assert!(matches!(
            e(bmp(BitmapFormat::ThirtyTwoBit, 2, 2, 8, true, &[0; 15]), None),
            DecodeError::Truncated { .. }
        ));
        assert!(matches!(
            e(bmp(BitmapFormat::ThirtyTwoBit, 2, 1, 7, true, &[0; 8]), None),
            DecodeError::BadStride { .. }
        ));
        assert_eq!(e(bmp(BitmapFormat::Invalid, 1, 1, 4, true, &[0; 4]), None), DecodeError::UnknownFormat(0));
        assert_eq!(e(bmp(BitmapFormat::ThirtyTwoBit, 0, 1, 4, true, &[]), None), DecodeError::EmptyImage);
        let small = Limits { max_pixels: 3, max_side: 8192 };
        assert_eq!(
            decode(&bmp(BitmapFormat::ThirtyTwoBit, 2, 2, 8, true, &[0; 16]), None, &small).unwrap_err(),
            DecodeError::TooLarge { width: 2, height: 2 }
        );
    }

    #[test]
    fn never_panics_on_odd_geometry() {
        let data = [0x5au8; 64];
        for f in 0..12u8 {
            for (w, h, s) in [(1, 1, 0), (7, 3, 3), (3, 7, 16), (64, 1, 64), (1, 64, 1), (u32::MAX, 2, 4)] {
                let _ = decode(
                    &bmp(BitmapFormat::from(f), w, h, s, f % 2 == 0, &data),
                    Some(&PAL[..3]),
                    &Limits::default(),
                );
            }
        }
    }
}
