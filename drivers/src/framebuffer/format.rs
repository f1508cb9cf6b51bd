//! Pixel formats: where each colour channel sits in a pixel, and conversion
//! between that layout and `0x00RRGGBB`.

use super::FbError;

/// One colour channel of a pixel: `bits` wide, `shift` bits above the
/// pixel's least significant bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    pub shift: u8,
    pub bits: u8,
}

impl Channel {
    pub const fn new(shift: u8, bits: u8) -> Self {
        Self { shift, bits }
    }

    /// The channel's bits in a pixel. Only for validated channels
    /// (`shift + bits <= 32`, `1 <= bits <= 8`).
    fn field(self) -> u32 {
        ((1u32 << self.bits) - 1) << self.shift
    }

    /// The top `bits` bits of the 8-bit value `v`, moved into place.
    #[inline]
    fn encode(self, v: u32) -> u32 {
        (v >> (8 - self.bits)) << self.shift
    }

    /// The channel's value in `raw`, widened to 8 bits by bit replication,
    /// so full scale stays full scale (5-bit `0x1f` becomes `0xff`).
    #[inline]
    fn decode(self, raw: u32) -> u32 {
        let mut out = ((raw >> self.shift) & ((1 << self.bits) - 1)) << (8 - self.bits);
        let mut filled = u32::from(self.bits);
        while filled < 8 {
            out |= out >> filled;
            filled *= 2;
        }
        out
    }
}

/// How a framebuffer stores one pixel: 2, 3 or 4 little-endian bytes with
/// red, green and blue at the given bit positions. Other bits (the "X" of
/// XRGB) are written as zero.
///
/// Channels are 1 to 8 bits wide; deeper formats (10-bit) are refused by
/// [`PixelFormat::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormat {
    bpp: u8,
    red: Channel,
    green: Channel,
    blue: Channel,
}

impl PixelFormat {
    /// 32 bpp, `0x00RRGGBB`: bytes B, G, R, 0 in memory.
    pub const XRGB8888: Self = Self::rgb(32, (16, 8), (8, 8), (0, 8));
    /// 24 bpp: bytes B, G, R in memory.
    pub const RGB888: Self = Self::rgb(24, (16, 8), (8, 8), (0, 8));
    /// 16 bpp, `RRRRRGGG GGGBBBBB`.
    pub const RGB565: Self = Self::rgb(16, (11, 5), (5, 6), (0, 5));
    /// 16 bpp, `XRRRRRGG GGGBBBBB`.
    pub const XRGB1555: Self = Self::rgb(16, (10, 5), (5, 5), (0, 5));

    const fn rgb(bpp: u8, r: (u8, u8), g: (u8, u8), b: (u8, u8)) -> Self {
        Self { bpp, red: Channel::new(r.0, r.1), green: Channel::new(g.0, g.1), blue: Channel::new(b.0, b.1) }
    }

    /// A format as a firmware or boot loader describes it. `bpp` must be
    /// 16, 24 or 32, and each channel 1 to 8 bits wide, inside the pixel and
    /// disjoint from the others.
    pub fn new(bpp: u8, red: Channel, green: Channel, blue: Channel) -> Result<Self, FbError> {
        if !matches!(bpp, 16 | 24 | 32) {
            return Err(FbError::UnsupportedBpp(bpp));
        }
        for (name, c) in [("red", red), ("green", green), ("blue", blue)] {
            if c.bits == 0 || c.bits > 8 || u32::from(c.shift) + u32::from(c.bits) > u32::from(bpp) {
                return Err(FbError::BadChannel { channel: name, shift: c.shift, bits: c.bits, bpp });
            }
        }
        let (r, g, b) = (red.field(), green.field(), blue.field());
        if r & g != 0 || r & b != 0 || g & b != 0 {
            return Err(FbError::OverlappingChannels);
        }
        Ok(Self { bpp, red, green, blue })
    }

    pub fn bpp(&self) -> u8 {
        self.bpp
    }

    pub fn red(&self) -> Channel {
        self.red
    }

    pub fn green(&self) -> Channel {
        self.green
    }

    pub fn blue(&self) -> Channel {
        self.blue
    }

    /// 2, 3 or 4.
    pub fn bytes_per_pixel(&self) -> usize {
        usize::from(self.bpp / 8)
    }

    /// `0x00RRGGBB` to a raw pixel value, keeping the top bits of each
    /// channel. The top byte of `rgb` is ignored.
    #[inline]
    pub fn encode(&self, rgb: u32) -> u32 {
        self.red.encode((rgb >> 16) & 0xff) | self.green.encode((rgb >> 8) & 0xff) | self.blue.encode(rgb & 0xff)
    }

    /// A raw pixel value to `0x00RRGGBB`, widening channels by bit
    /// replication. Bits outside the channels are ignored.
    pub fn decode(&self, raw: u32) -> u32 {
        (self.red.decode(raw) << 16) | (self.green.decode(raw) << 8) | self.blue.decode(raw)
    }

    /// Whether `encode` is just `rgb & 0x00ff_ffff` (the fast blit path).
    pub(super) fn is_xrgb8888(&self) -> bool {
        *self == Self::XRGB8888
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PixelFormat; 4] =
        [PixelFormat::XRGB8888, PixelFormat::RGB888, PixelFormat::RGB565, PixelFormat::XRGB1555];

    #[test]
    fn builtin_formats_pass_validation() {
        for f in ALL {
            assert_eq!(PixelFormat::new(f.bpp(), f.red(), f.green(), f.blue()), Ok(f));
        }
        assert_eq!(PixelFormat::XRGB8888.bytes_per_pixel(), 4);
        assert_eq!(PixelFormat::RGB888.bytes_per_pixel(), 3);
        assert_eq!(PixelFormat::RGB565.bytes_per_pixel(), 2);
        assert_eq!(PixelFormat::XRGB1555.bytes_per_pixel(), 2);
    }

    #[test]
    fn exact_bit_layouts() {
        assert_eq!(PixelFormat::XRGB8888.encode(0x1234_5678), 0x0034_5678);
        assert_eq!(PixelFormat::RGB888.encode(0xff12_3456), 0x0012_3456);
        // R 0xff>>3 = 31 at 11, G 0x80>>2 = 32 at 5, B 0.
        assert_eq!(PixelFormat::RGB565.encode(0xff8000), 0xfc00);
        assert_eq!(PixelFormat::RGB565.encode(0x0000ff), 0x001f);
        assert_eq!(PixelFormat::RGB565.encode(0x00ff00), 0x07e0);
        assert_eq!(PixelFormat::RGB565.encode(0x070307), 0x0000);
        assert_eq!(PixelFormat::XRGB1555.encode(0xff8000), 0x7e00);
        assert_eq!(PixelFormat::XRGB1555.encode(0xffffff), 0x7fff);
        assert_eq!(PixelFormat::XRGB1555.encode(0x00ff00), 0x03e0);
    }

    #[test]
    fn decode_replicates_bits() {
        assert_eq!(PixelFormat::RGB565.decode(0xfc00), 0xff8200);
        assert_eq!(PixelFormat::RGB565.decode(0xffff), 0xffffff);
        assert_eq!(PixelFormat::RGB565.decode(0x0000), 0x000000);
        // 5-bit 0b10000 -> 0b10000100, 6-bit 0b100000 -> 0b10000010.
        assert_eq!(PixelFormat::RGB565.decode(0x8410), 0x848284);
        // The X bit of 1555 is ignored.
        assert_eq!(PixelFormat::XRGB1555.decode(0xffff), 0xffffff);
        assert_eq!(PixelFormat::XRGB1555.decode(0x8000), 0x000000);
        assert_eq!(PixelFormat::XRGB8888.decode(0xab12_3456), 0x0012_3456);
    }

    #[test]
    fn every_16_bit_pixel_round_trips() {
        for f in [PixelFormat::RGB565, PixelFormat::XRGB1555] {
            let used = f.red().field() | f.green().field() | f.blue().field();
            for raw in 0..=0xffffu32 {
                assert_eq!(f.encode(f.decode(raw)), raw & used, "{f:?} {raw:#06x}");
            }
        }
    }

    #[test]
    fn channel_values_round_trip_to_their_top_bits() {
        for f in ALL {
            for v in 0..=0xffu32 {
                for (c, pos) in [(f.red(), 16), (f.green(), 8), (f.blue(), 0)] {
                    let top = v >> (8 - c.bits);
                    let back = (f.decode(f.encode(v << pos)) >> pos) & 0xff;
                    // The decoded value starts with the kept bits and
                    // re-encodes to the same pixel.
                    assert_eq!(back >> (8 - c.bits), top, "{f:?} {v:#x}");
                    assert_eq!(f.encode(back << pos), f.encode(v << pos));
                    if c.bits == 8 {
                        assert_eq!(back, v);
                    }
                }
            }
        }
    }

    #[test]
    fn bgr_layout_is_supported() {
        let bgr = PixelFormat::new(32, Channel::new(0, 8), Channel::new(8, 8), Channel::new(16, 8)).unwrap();
        assert_eq!(bgr.encode(0x112233), 0x332211);
        assert_eq!(bgr.decode(0x332211), 0x112233);
        assert!(!bgr.is_xrgb8888());
        assert!(PixelFormat::XRGB8888.is_xrgb8888());
    }

    #[test]
    fn validation_rejects_bad_formats() {
        let c8 = |s| Channel::new(s, 8);
        assert_eq!(PixelFormat::new(8, c8(0), c8(0), c8(0)), Err(FbError::UnsupportedBpp(8)));
        assert_eq!(PixelFormat::new(15, c8(0), c8(0), c8(0)), Err(FbError::UnsupportedBpp(15)));
        assert_eq!(
            PixelFormat::new(32, c8(16), Channel::new(8, 0), c8(0)),
            Err(FbError::BadChannel { channel: "green", shift: 8, bits: 0, bpp: 32 })
        );
        assert_eq!(
            PixelFormat::new(32, Channel::new(20, 10), Channel::new(10, 10), Channel::new(0, 10)),
            Err(FbError::BadChannel { channel: "red", shift: 20, bits: 10, bpp: 32 })
        );
        assert_eq!(
            PixelFormat::new(24, c8(16), c8(8), c8(17)),
            Err(FbError::BadChannel { channel: "blue", shift: 17, bits: 8, bpp: 24 })
        );
        assert_eq!(
            PixelFormat::new(32, c8(255), c8(8), c8(0)),
            Err(FbError::BadChannel { channel: "red", shift: 255, bits: 8, bpp: 32 })
        );
        assert_eq!(PixelFormat::new(32, c8(16), c8(12), c8(0)), Err(FbError::OverlappingChannels));
        assert_eq!(
            PixelFormat::new(16, Channel::new(11, 5), Channel::new(4, 6), Channel::new(0, 5)),
            Err(FbError::OverlappingChannels)
        );
    }
}
