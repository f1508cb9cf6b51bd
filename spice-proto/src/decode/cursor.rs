//! Cursor shapes (`SpiceCursorHeader` types) to a ready-to-blend ARGB
//! sprite (straight alpha).
//!
//! Layouts, as spice-server forwards them from the guest driver: ALPHA is
//! ARGB; MONO is an AND mask then an XOR mask, 1 bpp MSB first; COLOR4 and
//! COLOR8 are pixels, then a 16- or 256-entry palette; COLOR16 (555),
//! COLOR24 (BGR) and COLOR32 are pixels; every COLOR* ends with a 1-bpp AND
//! mask. Where the AND bit is set the screen shows through; a set AND bit
//! with a white (MONO: set XOR) pixel means "invert the screen", which an
//! overlay cannot do: like spice-gtk we draw a half-transparent dark pixel.

use alloc::vec::Vec;

use super::bitmap::rgb555_to_xrgb;
use super::{DecodeError, Pixels};

/// Largest cursor side we accept (spice-server caps hardware cursors far lower).
pub const MAX_SIDE: u32 = 512;

/// What "invert the screen" pixels become.
const INVERT: u32 = 0x8000_0000;
const OPAQUE: u32 = 0xff00_0000;

/// SPICE_CURSOR_TYPE_* numbers.
pub use crate::msg::cursor::cursor_type as kind;

fn take<'a>(data: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
    if data.len() < n {
        return Err(DecodeError::Truncated { what, need: n, have: data.len() });
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Ok(head)
}

fn bit(mask: &[u8], bpl: usize, x: usize, y: usize) -> bool {
    mask[y * bpl + x / 8] & (0x80 >> (x % 8)) != 0
}

/// Decodes a cursor of `kind`, `width` × `height`, from `data`.
pub fn decode(kind: u8, width: u32, height: u32, data: &[u8]) -> Result<Pixels, DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::EmptyImage);
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(DecodeError::TooLarge { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let n = w * h;
    let bpl = w.div_ceil(8);
    let mut d = data;
    let mut out = Vec::with_capacity(n);
    // Pixels plus the trailing AND mask: colour with the AND-bit rules.
    let masked = |d: &mut &[u8], color: &dyn Fn(usize, usize) -> u32, out: &mut Vec<u32>| {
        let mask = take(d, bpl * h, "cursor AND mask")?;
        for y in 0..h {
            for x in 0..w {
                let c = color(x, y) & 0x00ff_ffff;
                out.push(match (bit(mask, bpl, x, y), c == 0x00ff_ffff) {
                    (true, true) => INVERT,
                    (true, false) => 0,
                    (false, _) => c | OPAQUE,
                });
            }
        }
        Ok::<(), DecodeError>(())
    };
    match kind {
        kind::ALPHA => {
            let px = take(&mut d, n * 4, "ALPHA cursor")?;
            out.extend(px.chunks_exact(4).map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]])));
        }
        kind::MONO => {
            let and = take(&mut d, bpl * h, "MONO cursor AND mask")?;
            let xor = take(&mut d, bpl * h, "MONO cursor XOR mask")?;
            for y in 0..h {
                for x in 0..w {
                    out.push(match (bit(and, bpl, x, y), bit(xor, bpl, x, y)) {
                        (false, false) => OPAQUE,
                        (false, true) => OPAQUE | 0x00ff_ffff,
                        (true, false) => 0,
                        (true, true) => INVERT,
                    });
                }
            }
        }
        kind::COLOR4 => {
            let row = w.div_ceil(2);
            let px = take(&mut d, row * h, "COLOR4 cursor")?;
            let pal = take(&mut d, 16 * 4, "COLOR4 palette")?;
            let entry = |i: usize| u32::from_le_bytes([pal[i * 4], pal[i * 4 + 1], pal[i * 4 + 2], pal[i * 4 + 3]]);
            let color = |x: usize, y: usize| {
                let b = px[y * row + x / 2];
                entry(usize::from(if x.is_multiple_of(2) { b >> 4 } else { b & 0x0f }))
            };
            masked(&mut d, &color, &mut out)?;
        }
        kind::COLOR8 => {
            let px = take(&mut d, n, "COLOR8 cursor")?;
            let pal = take(&mut d, 256 * 4, "COLOR8 palette")?;
            let color = |x: usize, y: usize| {
                let i = usize::from(px[y * w + x]) * 4;
                u32::from_le_bytes([pal[i], pal[i + 1], pal[i + 2], pal[i + 3]])
            };
            masked(&mut d, &color, &mut out)?;
        }
        kind::COLOR16 => {
            let px = take(&mut d, n * 2, "COLOR16 cursor")?;
            let color = |x: usize, y: usize| {
                let i = (y * w + x) * 2;
                rgb555_to_xrgb(u16::from_le_bytes([px[i], px[i + 1]]))
            };
            masked(&mut d, &color, &mut out)?;
        }
        kind::COLOR24 => {
            let px = take(&mut d, n * 3, "COLOR24 cursor")?;
            let color = |x: usize, y: usize| {
                let i = (y * w + x) * 3;
                u32::from_le_bytes([px[i], px[i + 1], px[i + 2], 0])
            };
            masked(&mut d, &color, &mut out)?;
        }
        kind::COLOR32 => {
            let px = take(&mut d, n * 4, "COLOR32 cursor")?;
            let color = |x: usize, y: usize| {
                let i = (y * w + x) * 4;
                u32::from_le_bytes([px[i], px[i + 1], px[i + 2], 0])
            };
            masked(&mut d, &color, &mut out)?;
        }
        other => return Err(DecodeError::UnknownFormat(other)),
    }
    Ok(Pixels { width, height, has_alpha: true, data: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn alpha_is_passed_through() {
        let p = decode(kind::ALPHA, 2, 1, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(p.data, vec![0x04030201, 0x08070605]);
    }

    #[test]
    fn mono_truth_table() {
        // 4x1: AND = 0011, XOR = 0101 (MSB first).
        let p = decode(kind::MONO, 4, 1, &[0b0011_0000, 0b0101_0000]).unwrap();
        assert_eq!(p.data, vec![OPAQUE, 0xffff_ffff, 0, INVERT]);
    }

    #[test]
    fn color_types_with_masks() {
        // COLOR32, 2x1: red opaque; white under a set AND bit inverts.
        let p = decode(kind::COLOR32, 2, 1, &[0, 0, 0xff, 0, 0xff, 0xff, 0xff, 0, 0b0100_0000]).unwrap();
        assert_eq!(p.data, vec![0xffff_0000, INVERT]);
        // COLOR16 555 green, transparent under the mask.
        let p = decode(kind::COLOR16, 2, 1, &[0xe0, 0x03, 0xe0, 0x03, 0b0100_0000]).unwrap();
        assert_eq!(p.data, vec![0xff00_ff00, 0]);
        // COLOR4: pixels 0x1_ then palette[1] = blue.
        let mut d = vec![0x10];
        let mut pal = vec![0u8; 64];
        pal[4..8].copy_from_slice(&0x0000_00ffu32.to_le_bytes());
        d.extend(pal);
        d.push(0);
        let p = decode(kind::COLOR4, 2, 1, &d).unwrap();
        assert_eq!(p.data, vec![0xff00_00ff, OPAQUE]);
        // COLOR24 BGR.
        let p = decode(kind::COLOR24, 1, 1, &[1, 2, 3, 0]).unwrap();
        assert_eq!(p.data, vec![0xff03_0201]);
        // COLOR8 with a 256-entry palette.
        let mut d = vec![2u8];
        let mut pal = vec![0u8; 1024];
        pal[8..12].copy_from_slice(&0x0012_3456u32.to_le_bytes());
        d.extend(pal);
        d.push(0);
        assert_eq!(decode(kind::COLOR8, 1, 1, &d).unwrap().data, vec![0xff12_3456]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(decode(kind::ALPHA, 2, 2, &[0; 15]), Err(DecodeError::Truncated { .. })));
        assert!(matches!(decode(kind::COLOR32, 1, 1, &[0; 4]), Err(DecodeError::Truncated { .. })));
        assert_eq!(decode(7, 1, 1, &[0; 16]), Err(DecodeError::UnknownFormat(7)));
        assert_eq!(decode(kind::ALPHA, 0, 1, &[]), Err(DecodeError::EmptyImage));
        assert!(matches!(decode(kind::ALPHA, 513, 1, &[]), Err(DecodeError::TooLarge { .. })));
        for k in 0..8 {
            for len in 0..40 {
                let _ = decode(k, 3, 3, &vec![0xa5; len]);
            }
        }
    }
}
