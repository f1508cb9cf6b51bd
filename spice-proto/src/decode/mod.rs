//! Image decoders: SPICE image payloads in, 32-bit pixels out.
//!
//! Every decoder is a pure function that checks sizes against [`Limits`]
//! before it allocates, and returns a [`DecodeError`] on bad input; none can
//! panic on any input. Output is [`Pixels`]: top-down rows of `0xAARRGGBB`
//! words (alpha meaningful only when `has_alpha`).

use alloc::vec::Vec;
use core::fmt;

pub mod bitmap;

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
            Self::BadStride { stride, row_bytes } => write!(f, "stride {stride} is below the row size {row_bytes}"),
        }
    }
}
