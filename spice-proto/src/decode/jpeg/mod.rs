//! JPEG images (`SPICE_IMAGE_TYPE_JPEG`) and JPEG with an alpha plane
//! (`SPICE_IMAGE_TYPE_JPEG_ALPHA`).
//!
//! The payload of a JPEG image is a plain JFIF stream. The kind
//! spice-server sends (baseline, 8-bit, grey or YCbCr with 4:4:4, 4:2:2 or
//! 4:2:0 sampling) our own decoder handles (baseline.rs), bit-exact with
//! libjpeg-turbo, as spice-gtk decodes it; everything else (progressive,
//! other samplings, RGB, CMYK...) goes to zune-jpeg (built without its SIMD
//! paths, so it runs on the soft-float bare target, unless the build
//! targets AVX2: see Cargo.toml). Output is xRGB with `has_alpha` false;
//! grey-scale streams come out as grey xRGB.
//!
//! JPEG_ALPHA carries a JPEG of the colour channels followed by the alpha
//! plane as a SPICE LZ image of type XXXA, whose `top_down` flag must agree
//! with the message's flags. The JPEG rows are always top-down; the alpha
//! rows run bottom-up unless `TOP_DOWN` is set.
//!
//! On what it decodes, zune differs from libjpeg-turbo by at most a few
//! steps per channel: the IDCT and colour conversion agree almost exactly,
//! but its "fancy" 2×2 chroma upsampling rounds after the vertical and again
//! after the horizontal pass, where libjpeg rounds once.
//!
//! Both decoders are strict: a stream that ends early or has a marker where
//! entropy-coded data should be is an error, where libjpeg (and so
//! spice-gtk) would warn and show grey.

use alloc::vec::Vec;

use zune_jpeg::errors::DecodeErrors;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{lz, DecodeError, Limits, Pixels};

mod baseline;
mod huffman;
mod idct;

/// `SPICE_JPEG_ALPHA_FLAGS_TOP_DOWN`: the alpha plane's rows run top-down.
pub const ALPHA_FLAG_TOP_DOWN: u8 = 1;

/// Decodes a JFIF stream. The caller compares the size with the descriptor.
pub fn decode(data: &[u8], limits: &Limits) -> Result<Pixels, DecodeError> {
    if let Some(p) = baseline::decode(data, limits)? {
        return Ok(p);
    }
    let mut dec = decoder(data, limits);
    let (width, height) = read_headers(&mut dec, data.len(), limits)?;
    decode_image(&mut dec, width, height, data.len(), limits)
}

/// A decoder for `data`, in strict mode and within `limits`. The caller
/// keeps it in place: it holds the Huffman tables (tens of kilobytes), so
/// moving it costs as much as decoding a small image.
fn decoder<'a>(data: &'a [u8], limits: &Limits) -> JpegDecoder<ZCursor<&'a [u8]>> {
    let side = usize::try_from(limits.max_side).unwrap_or(usize::MAX);
    let options = DecoderOptions::default().set_max_width(side).set_max_height(side).set_strict_mode(true);
    JpegDecoder::new_with_options(ZCursor::new(data), options)
}

/// Reads the headers up to the first scan; returns the size, checked
/// against `limits`. `len` is the size of the stream, for errors.
fn read_headers(dec: &mut JpegDecoder<ZCursor<&[u8]>>, len: usize, limits: &Limits) -> Result<(u32, u32), DecodeError> {
    dec.decode_headers().map_err(|e| jpeg_error(e, len))?;
    let (w, h) = dec.dimensions().ok_or(DecodeError::Corrupt("JPEG has no frame header"))?;
    let (width, height) = (u32::try_from(w).unwrap_or(u32::MAX), u32::try_from(h).unwrap_or(u32::MAX));
    limits.check(width, height)?;
    Ok((width, height))
}

/// Decodes the image whose headers `dec` has read.
fn decode_image(
    dec: &mut JpegDecoder<ZCursor<&[u8]>>,
    width: u32,
    height: u32,
    len: usize,
    limits: &Limits,
) -> Result<Pixels, DecodeError> {
    // zune leaves YCbCr as it is (upsampled and interleaved) and we convert
    // it to xRGB in one pass with the baseline decoder's (libjpeg's)
    // converter; grey and the rare RGB/CMYK/YCCK streams take
    // the conversions zune has for them. Only an RGB-type output needs a
    // converter chosen while reading the headers, and its default (RGB) is
    // the one those streams need, so the output can be set after them.
    let output = match dec.input_colorspace() {
        Some(ColorSpace::YCbCr) => ColorSpace::YCbCr,
        Some(ColorSpace::Luma) => ColorSpace::Luma,
        Some(ColorSpace::RGB | ColorSpace::CMYK | ColorSpace::YCCK) => ColorSpace::RGB,
        _ => return Err(DecodeError::Unsupported("JPEG colour space")),
    };
    dec.set_options(dec.options().jpeg_set_out_colorspace(output));
    let count = limits.check(width, height)?;
    let too_large = DecodeError::TooLarge { width, height };
    let bytes = count.checked_mul(output.num_components()).ok_or(too_large)?;
    let mut raw = Vec::new();
    raw.try_reserve_exact(bytes).map_err(|_| too_large)?;
    raw.resize(bytes, 0);
    dec.decode_into(&mut raw).map_err(|e| jpeg_error(e, len))?;

    let mut out = Vec::new();
    out.try_reserve_exact(count).map_err(|_| too_large)?;
    match output {
        ColorSpace::YCbCr => {
            out.extend(raw.as_chunks::<3>().0.iter().map(|&[y, cb, cr]| baseline::ycc_to_xrgb(y, cb, cr)))
        }
        ColorSpace::Luma => out.extend(raw.iter().map(|&g| u32::from_be_bytes([0, g, g, g]))),
        _ => out.extend(raw.chunks_exact(3).map(|p| u32::from_be_bytes([0, p[0], p[1], p[2]]))),
    }
    Ok(Pixels { width, height, has_alpha: false, data: out })
}

/// Decodes a JPEG_ALPHA image: `jpeg` is the first `jpeg_size` bytes of the
/// payload, `alpha` the rest (an LZ XXXA stream), `flags` the message's
/// `SPICE_JPEG_ALPHA_FLAGS_*`.
pub fn decode_alpha(jpeg: &[u8], alpha: &[u8], flags: u8, limits: &Limits) -> Result<Pixels, DecodeError> {
    let mut pixels = decode(jpeg, limits)?;
    let plane = alpha_plane(alpha, pixels.width, pixels.height, flags & ALPHA_FLAG_TOP_DOWN != 0, limits)?;
    if plane.len() != pixels.data.len() {
        return Err(DecodeError::Corrupt("JPEG_ALPHA alpha plane does not match the JPEG"));
    }
    for (p, &a) in pixels.data.iter_mut().zip(&plane) {
        *p = (*p & 0x00ff_ffff) | (a & 0xff00_0000);
    }
    pixels.has_alpha = true;
    Ok(pixels)
}

/// The alpha plane of a JPEG_ALPHA image in the top byte of each word, top
/// row first, checked against the JPEG's size and the message's row order.
fn alpha_plane(data: &[u8], width: u32, height: u32, top_down: bool, limits: &Limits) -> Result<Vec<u32>, DecodeError> {
    let h = lz::header(data)?;
    if h.image_type != lz::Format::Xxxa {
        return Err(DecodeError::Corrupt("JPEG_ALPHA alpha stream is not an LZ XXXA image"));
    }
    if (h.width, h.height) != (width, height) {
        return Err(DecodeError::SizeMismatch { expected: (width, height), found: (h.width, h.height) });
    }
    if h.top_down != top_down {
        return Err(DecodeError::Corrupt("JPEG_ALPHA alpha rows run the other way from the flags"));
    }
    Ok(lz::decode(data, None, limits)?.data)
}

/// Maps zune's error (whose details are heap strings) to ours. `len` is
/// the size of the stream, for running out of it.
fn jpeg_error(e: DecodeErrors, len: usize) -> DecodeError {
    match e {
        DecodeErrors::IllegalMagicBytes(found) => DecodeError::BadMagic { expected: 0xffd8, found: found.into() },
        DecodeErrors::ZeroError => DecodeError::EmptyImage,
        DecodeErrors::Unsupported(_) => DecodeError::Unsupported("JPEG coding (arithmetic, lossless or 12-bit)"),
        DecodeErrors::ExhaustedData | DecodeErrors::IoErrors(_) => {
            DecodeError::Truncated { what: "JPEG stream", need: len + 1, have: len }
        }
        DecodeErrors::HuffmanDecode(_) => DecodeError::Corrupt("JPEG Huffman data"),
        DecodeErrors::DqtError(_) => DecodeError::Corrupt("JPEG quantisation table"),
        DecodeErrors::SosError(_) => DecodeError::Corrupt("JPEG scan header"),
        DecodeErrors::SofError(_) => DecodeError::Corrupt("JPEG frame header"),
        DecodeErrors::MCUError(_) => DecodeError::Corrupt("JPEG MCU data"),
        DecodeErrors::LargeDimensions(_) => DecodeError::Corrupt("JPEG dimensions overflow"),
        _ => DecodeError::Corrupt("JPEG stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16x8 baseline 4:2:0 JPEG (two MCUs) made by libjpeg-turbo: the left
    /// half pure red, the right half pure blue.
    const RED_BLUE: &[u8] = include_bytes!("../../../tests/data/vectors/jpeg/red-blue-16x8.jpg");

    #[test]
    fn small_image() {
        let p = decode(RED_BLUE, &Limits::default()).unwrap();
        assert_eq!((p.width, p.height, p.has_alpha), (16, 8, false));
        let near = |a: u32, b: u32| (0..3).all(|i| ((a >> (8 * i)) & 0xff).abs_diff((b >> (8 * i)) & 0xff) <= 8);
        assert!(near(p.data[0], 0xff0000), "{:#x}", p.data[0]);
        assert!(near(p.data[15], 0x0000ff), "{:#x}", p.data[15]);
        assert!(p.data.iter().all(|&v| v >> 24 == 0));
    }

    /// A 21x19 progressive JPEG (cjpeg -progressive) and a baseline one.
    const PROGRESSIVE: &[u8] = include_bytes!("../../../tests/data/vectors/jpeg/grad-21x19-progressive.jpg");
    const BASELINE: &[u8] = include_bytes!("../../../tests/data/vectors/jpeg/grad-21x19.jpg");

    #[test]
    fn progressive_falls_back_to_zune() {
        let l = Limits::default();
        assert!(baseline::decode(PROGRESSIVE, &l).unwrap().is_none());
        let p = decode(PROGRESSIVE, &l).unwrap();
        assert_eq!((p.width, p.height), (21, 19));
        // Same picture as the baseline file, within the lossy coding.
        let ours = baseline::decode(BASELINE, &l).unwrap().unwrap();
        let near = |a: u32, b: u32| (0..3).all(|i| ((a >> (8 * i)) & 0xff).abs_diff((b >> (8 * i)) & 0xff) <= 24);
        assert!(p.data.iter().zip(&ours.data).all(|(&a, &b)| near(a, b)));
    }

    #[test]
    fn scan_data_ending_early_is_truncated() {
        let l = Limits::default();
        let scan = BASELINE.windows(2).rposition(|w| w == [0xff, 0xda]).unwrap();
        // Past the SOS header: the entropy-coded data stops short.
        for cut in [scan + 16, (scan + BASELINE.len()) / 2] {
            assert!(matches!(decode(&BASELINE[..cut], &l), Err(DecodeError::Truncated { .. })), "cut at {cut}");
        }
        // Without its EOI the data is all there.
        assert_eq!(decode(&BASELINE[..BASELINE.len() - 2], &l), decode(BASELINE, &l));
    }

    #[test]
    fn errors() {
        let l = Limits::default();
        assert!(matches!(decode(&[], &l), Err(DecodeError::Truncated { .. })));
        assert!(matches!(decode(b"GIF89a", &l), Err(DecodeError::BadMagic { expected: 0xffd8, .. })));
        for cut in [2, 20, RED_BLUE.len() / 2, RED_BLUE.len() - 3] {
            assert!(decode(&RED_BLUE[..cut], &l).is_err(), "cut at {cut}");
        }
        let small = Limits { max_pixels: 127, max_side: 8192 };
        assert_eq!(decode(RED_BLUE, &small), Err(DecodeError::TooLarge { width: 16, height: 8 }));
        let narrow = Limits { max_pixels: 1 << 20, max_side: 15 };
        assert!(decode(RED_BLUE, &narrow).is_err());
        assert!(matches!(decode_alpha(RED_BLUE, &[], 0, &l), Err(DecodeError::Truncated { .. })));
        assert!(decode_alpha(&RED_BLUE[..10], &xxxa(16, 8, true, &[0; 128]), 1, &l).is_err());
    }

    /// An LZ XXXA stream of `alpha` (one byte per pixel, in stream row
    /// order), all literal runs.
    fn xxxa(width: u32, height: u32, top_down: bool, alpha: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        for v in [lz::MAGIC, lz::VERSION, 10, width, height, width * 4, u32::from(top_down)] {
            s.extend_from_slice(&v.to_be_bytes());
        }
        for run in alpha.chunks(32) {
            s.push(run.len() as u8 - 1);
            s.extend_from_slice(run);
        }
        s
    }

    #[test]
    fn jpeg_with_alpha() {
        let l = Limits::default();
        let colour = decode(RED_BLUE, &l).unwrap();
        // Alpha = row number × 16 + column, given bottom row first.
        let bottom_up: Vec<u8> = (0..8u8).rev().flat_map(|y| (0..16u8).map(move |x| y * 16 + x)).collect();
        let p = decode_alpha(RED_BLUE, &xxxa(16, 8, false, &bottom_up), 0, &l).unwrap();
        assert!(p.has_alpha);
        for (i, (&got, &c)) in p.data.iter().zip(&colour.data).enumerate() {
            assert_eq!(got, c | (i as u32) << 24, "pixel {i}");
        }
        let top_down: Vec<u8> = (0..128).collect();
        assert_eq!(decode_alpha(RED_BLUE, &xxxa(16, 8, true, &top_down), ALPHA_FLAG_TOP_DOWN, &l).unwrap(), p);
        // Row order, size and type must agree with the JPEG and the flags.
        assert!(decode_alpha(RED_BLUE, &xxxa(16, 8, true, &top_down), 0, &l).is_err());
        assert!(matches!(
            decode_alpha(RED_BLUE, &xxxa(8, 16, true, &top_down), 1, &l),
            Err(DecodeError::SizeMismatch { expected: (16, 8), found: (8, 16) })
        ));
        let mut rgb32 = xxxa(16, 8, true, &top_down);
        rgb32[11] = 8;
        assert!(decode_alpha(RED_BLUE, &rgb32, 1, &l).is_err());
        assert!(decode_alpha(RED_BLUE, &xxxa(16, 8, true, &top_down[..100]), 1, &l).is_err());
    }
}
