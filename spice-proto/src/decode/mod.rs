//! Image decoders: SPICE image payloads in, 32-bit pixels out.
//!
//! Every decoder is a pure function that checks sizes against [`Limits`]
//! before it allocates, and returns a [`DecodeError`] on bad input; none can
//! panic on any input. Output is [`Pixels`]: top-down rows of `0xAARRGGBB`
//! words (alpha meaningful only when `has_alpha`).

use alloc::vec::Vec;
use core::fmt;

pub mod bitmap;
pub mod cursor;
pub mod glz;
pub mod jpeg;
pub mod lz;
pub mod lz4;
pub mod quic;

/// Bounds on what a decoder may allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest width × height of one image.
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        // 8192x8192 covers every surface QEMU allows; 64 Mpx = 256 MiB.
        Self { max_pixels: 16 * 1024 * 1024, max_side: 8192 }
    }
}

impl Limits {
    /// Checks `width × height` and returns the pixel count.
    pub fn check(&self, width: u32, height: u32) -> Result<usize, DecodeError> {
        let pixels = u64::from(width) * u64::from(height);
        if width == 0 || height == 0 {
            return Err(DecodeError::EmptyImage);
        }
        if width > self.max_side || height > self.max_side || pixels > self.max_pixels {
            return Err(DecodeError::TooLarge { width, height });
        }
        usize::try_from(pixels).map_err(|_| DecodeError::TooLarge { width, height })
    }
}

/// A decoded image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether the alpha byte is meaningful.
    pub has_alpha: bool,
    /// `width * height` words, rows top to bottom.
    pub data: Vec<u32>,
}

/// Why an image could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Width or height is zero.
    EmptyImage,
    /// The image is larger than the limits allow.
    TooLarge {
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
    },
    /// The input ends before the image does.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes there.
        have: usize,
    },
    /// A format or type number we do not know.
    UnknownFormat(u8),
    /// A palette format without a palette (or with too few entries).
    MissingPalette {
        /// Entries the pixels need.
        need: usize,
        /// Entries the palette has.
        have: usize,
    },
    /// The stream does not start with the codec's magic.
    BadMagic {
        /// What the codec expects.
        expected: u32,
        /// What the input has.
        found: u32,
    },
    /// A version, type or mode field we do not support.
    Unsupported(&'static str),
    /// A back-reference points before the start of the output (or window).
    BadReference {
        /// How far back it points: pixels (LZ, GLZ, QUIC), bytes (LZ4,
        /// zlib) or, for a GLZ image distance, images.
        distance: u64,
        /// How much output (or window) exists, in the same unit.
        available: u64,
    },
    /// A GLZ image refers to an image the dictionary does not hold.
    MissingImage(u64),
    /// The compressed data is inconsistent (a decoder-specific reason).
    Corrupt(&'static str),
    /// The decoded image does not match the size its descriptor announced.
    SizeMismatch {
        /// Announced width and height.
        expected: (u32, u32),
        /// What the stream says.
        found: (u32, u32),
    },
    /// The stride is smaller than one row of pixels.
    BadStride {
        /// Stride given.
        stride: u32,
        /// Bytes one row needs.
        row_bytes: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyImage => f.write_str("image has zero width or height"),
            Self::TooLarge { width, height } => write!(f, "image {width}x{height} exceeds the size limit"),
            Self::Truncated { what, need, have } => write!(f, "{what}: need {need} bytes, have {have}"),
            Self::UnknownFormat(v) => write!(f, "unknown image format {v}"),
            Self::MissingPalette { need, have } => write!(f, "palette has {have} entries, pixels need {need}"),
            Self::BadMagic { expected, found } => write!(f, "bad magic {found:#010x}, expected {expected:#010x}"),
            Self::Unsupported(what) => write!(f, "unsupported: {what}"),
            Self::BadReference { distance, available } => {
                write!(f, "back-reference {distance} back, only {available} available")
            }
            Self::MissingImage(id) => write!(f, "image {id} is not in the GLZ dictionary"),
            Self::Corrupt(why) => write!(f, "corrupt data: {why}"),
            Self::SizeMismatch { expected, found } => {
                write!(f, "image is {}x{}, the descriptor says {}x{}", found.0, found.1, expected.0, expected.1)
            }
            Self::BadStride { stride, row_bytes } => write!(f, "stride {stride} is below the row size {row_bytes}"),
        }
    }
}
