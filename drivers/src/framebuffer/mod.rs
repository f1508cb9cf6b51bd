//! Drawing on a linear framebuffer: rectangles, image blits and text.
//!
//! [`Framebuffer`] clips everything to the screen, converts `0x00RRGGBB`
//! colours into the screen's [`PixelFormat`] a row at a time into a row
//! buffer, and hands each finished row to its [`FbMemory`] in one
//! `write_row`. The row buffer is one screen row (`width * bytes per pixel`),
//! allocated once by [`Framebuffer::new`]; drawing never allocates.
//!
//! Output is a pure function of the inputs (text blending is integer-only),
//! so host tests can render a screen with [`VecMemory`] and compare it with a
//! screendump of the real one byte for byte.

mod cursor;
mod format;
mod memory;
mod text;

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

pub use cursor::{blend, Area, Cursor, Image, SpriteView};
pub use format::{Channel, PixelFormat};
pub use memory::{FbMemory, MmioFramebuffer, VecMemory};
pub use text::{line_height, text_width, FontSize, TextStyle};

/// What is wrong with a framebuffer description or a drawing request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FbError {
    /// Only 16, 24 and 32 bits per pixel are supported.
    UnsupportedBpp(u8),
    /// A channel is 0 or more than 8 bits wide, or sticks out of the pixel.
    BadChannel { channel: &'static str, shift: u8, bits: u8, bpp: u8 },
    /// Two colour channels share bits.
    OverlappingChannels,
    /// Width or height is zero.
    ZeroSize { width: u32, height: u32 },
    /// A row is longer than the pitch.
    PitchTooSmall { pitch: u32, min: u64 },
    /// `pitch * height` bytes at `base` do not fit the address space.
    TooLarge { base: u64, bytes: u64 },
    /// The memory given is smaller than `pitch * height`.
    MemoryTooSmall { needed: usize, have: usize },
    /// A source stride shorter than the rectangle's width.
    StrideTooSmall { stride: usize, width: u32 },
    /// A source image with fewer pixels than the rectangle needs.
    SourceTooShort { needed: usize, have: usize },
}

impl fmt::Display for FbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedBpp(bpp) => {
                write!(f, "framebuffer: {bpp} bits per pixel is not supported (need 16, 24 or 32)")
            }
            Self::BadChannel { channel, shift, bits, bpp } => write!(
                f,
                "framebuffer: {channel} channel at bit {shift}, {bits} bits wide, \
                 does not fit a {bpp}-bit pixel (1 to 8 bits supported)"
            ),
            Self::OverlappingChannels => write!(f, "framebuffer: colour channels overlap"),
            Self::ZeroSize { width, height } => {
                write!(f, "framebuffer: empty size {width}x{height}")
            }
            Self::PitchTooSmall { pitch, min } => {
                write!(f, "framebuffer: pitch {pitch} is less than a row of {min} bytes")
            }
            Self::TooLarge { base, bytes } => {
                write!(f, "framebuffer: {bytes} bytes at {base:#x} do not fit the address space")
            }
            Self::MemoryTooSmall { needed, have } => {
                write!(f, "framebuffer: memory holds {have} bytes, {needed} needed")
            }
            Self::StrideTooSmall { stride, width } => {
                write!(f, "blit: source stride {stride} is less than width {width}")
            }
            Self::SourceTooShort { needed, have } => {
                write!(f, "blit: source has {have} pixels, {needed} needed")
            }
        }
    }
}

/// A linear framebuffer as the boot loader or firmware describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FbInfo {
    /// Physical address of the top-left pixel.
    pub base: u64,
    pub width: u32,
    pub height: u32,
    /// Bytes from the start of one row to the start of the next.
    pub pitch: u32,
    pub format: PixelFormat,
}

impl FbInfo {
    /// Checks the description is usable and returns the framebuffer's size
    /// in bytes, `pitch * height`.
    pub fn validate(&self) -> Result<usize, FbError> {
        if self.width == 0 || self.height == 0 {
            return Err(FbError::ZeroSize { width: self.width, height: self.height });
        }
        let min = u64::from(self.width) * self.format.bytes_per_pixel() as u64;
        if u64::from(self.pitch) < min {
            return Err(FbError::PitchTooSmall { pitch: self.pitch, min });
        }
        // Cannot overflow: both factors are below 2^32.
        let bytes = u64::from(self.pitch) * u64::from(self.height);
        let too_large = FbError::TooLarge { base: self.base, bytes };
        let end = self.base.checked_add(bytes).ok_or(too_large)?;
        usize::try_from(end).map_err(|_| too_large)?;
        usize::try_from(bytes).map_err(|_| too_large)
    }
}

/// The part of a rectangle that is on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Clip {
    /// First visible screen column and row.
    x: usize,
    y: usize,
    /// Visible size.
    w: usize,
    h: usize,
    /// Columns and rows of the rectangle cut off at the left and top.
    skip_x: usize,
    skip_y: usize,
}

/// Clips `pos..pos + len` to `0..limit`: (start, length, cut off at start).
fn clip_axis(pos: i32, len: u32, limit: u32) -> Option<(usize, usize, usize)> {
    let start = i64::from(pos);
    let end = start + i64::from(len);
    let (s, e) = (start.max(0), end.min(i64::from(limit)));
    // The casts are of values in `0..=u32::MAX`.
    (s < e).then(|| (s as usize, (e - s) as usize, (s - start) as usize))
}

/// Writes `pixels`, as raw values `N` little-endian bytes each, into `out`.
#[inline(always)]
fn put_pixels<const N: usize>(out: &mut [u8], pixels: impl Iterator<Item = u32>) {
    for (px, raw) in out.chunks_exact_mut(N).zip(pixels) {
        px.copy_from_slice(&raw.to_le_bytes()[..N]);
    }
}

/// Writes raw pixel values into `out`, `bpp` (2, 3 or 4) bytes each, with a
/// constant-size store per pixel.
#[inline(always)]
fn put_row(out: &mut [u8], bpp: usize, pixels: impl Iterator<Item = u32>) {
    match bpp {
        4 => put_pixels::<4>(out, pixels),
        3 => put_pixels::<3>(out, pixels),
        _ => put_pixels::<2>(out, pixels),
    }
}

/// A screen (or off-screen image) to draw on.
///
/// Positions are `i32` and sizes `u32`; anything partly or wholly off
/// screen is clipped, never a panic.
pub struct Framebuffer<M: FbMemory> {
    info: FbInfo,
    mem: M,
    /// One screen row in the target format, reused by every operation.
    row: Vec<u8>,
}

impl<M: FbMemory> Framebuffer<M> {
    /// Validates `info` and checks `mem` is large enough for it.
    pub fn new(info: FbInfo, mem: M) -> Result<Self, FbError> {
        let needed = info.validate()?;
        if mem.len() < needed {
            return Err(FbError::MemoryTooSmall { needed, have: mem.len() });
        }
        let row = vec![0; info.width as usize * info.format.bytes_per_pixel()];
        Ok(Self { info, mem, row })
    }

    pub fn info(&self) -> &FbInfo {
        &self.info
    }

    pub fn width(&self) -> u32 {
        self.info.width
    }

    pub fn height(&self) -> u32 {
        self.info.height
    }

    pub fn mem(&self) -> &M {
        &self.mem
    }

    pub fn into_mem(self) -> M {
        self.mem
    }

    fn clip(&self, x: i32, y: i32, w: u32, h: u32) -> Option<Clip> {
        let (x, w, skip_x) = clip_axis(x, w, self.info.width)?;
        let (y, h, skip_y) = clip_axis(y, h, self.info.height)?;
        Some(Clip { x, y, w, h, skip_x, skip_y })
    }

    /// Byte offset of on-screen pixel (`x`, `y`).
    fn offset(&self, x: usize, y: usize) -> usize {
        // Cannot overflow: `validate` checked `pitch * height` fits.
        y * self.info.pitch as usize + x * self.info.format.bytes_per_pixel()
    }

    /// Fills a rectangle with one colour.
    pub fn fill_rect(&mut self, x: i32, y: i32, w: u32, h: u32, rgb: u32) {
        let Some(c) = self.clip(x, y, w, h) else {
            return;
        };
        let bpp = self.info.format.bytes_per_pixel();
        let raw = self.info.format.encode(rgb);
        let n = c.w * bpp;
        put_row(&mut self.row[..n], bpp, core::iter::repeat(raw));
        for row in c.y..c.y + c.h {
            let off = self.offset(c.x, row);
            self.mem.write_row(off, &self.row[..n]);
        }
    }

    /// Fills the whole screen.
    pub fn clear(&mut self, rgb: u32) {
        self.fill_rect(0, 0, self.info.width, self.info.height, rgb);
    }

    /// Copies a `w`×`h` image of `0x00RRGGBB` pixels to (`x`, `y`). Row `r`
    /// of the image starts at `src[r * src_stride]`.
    ///
    /// The source must hold the whole image, even the parts that end up
    /// clipped; otherwise nothing is drawn and the error says why.
    pub fn blit_xrgb(&mut self, x: i32, y: i32, w: u32, h: u32, src: &[u32], src_stride: usize) -> Result<(), FbError> {
        if w == 0 || h == 0 {
            return Ok(());
        }
        if src_stride < w as usize {
            return Err(FbError::StrideTooSmall { stride: src_stride, width: w });
        }
        let needed =
            (h as usize - 1).checked_mul(src_stride).and_then(|n| n.checked_add(w as usize)).unwrap_or(usize::MAX);
        if src.len() < needed {
            return Err(FbError::SourceTooShort { needed, have: src.len() });
        }
        let Some(c) = self.clip(x, y, w, h) else {
            return Ok(());
        };
        let format = self.info.format;
        let bpp = format.bytes_per_pixel();
        let n = c.w * bpp;
        let fast = format.is_xrgb8888();
        for r in 0..c.h {
            let start = (c.skip_y + r) * src_stride + c.skip_x;
            let line = src[start..start + c.w].iter();
            let out = &mut self.row[..n];
            if fast {
                put_pixels::<4>(out, line.map(|&p| p & 0x00ff_ffff));
            } else {
                put_row(out, bpp, line.map(|&p| format.encode(p)));
            }
            let off = self.offset(c.x, c.y + r);
            self.mem.write_row(off, &self.row[..n]);
        }
        Ok(())
    }

    /// The colour at (`x`, `y`) as `0x00RRGGBB`, or `None` off screen.
    pub fn read_pixel(&self, x: i32, y: i32) -> Option<u32> {
        let c = self.clip(x, y, 1, 1)?;
        let bpp = self.info.format.bytes_per_pixel();
        let mut b = [0u8; 4];
        self.mem.read_row(self.offset(c.x, c.y), &mut b[..bpp]);
        Some(self.info.format.decode(u32::from_le_bytes(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: u8 = 0xaa;

    fn info(format: PixelFormat, width: u32, height: u32, pitch: u32) -> FbInfo {
        FbInfo { base: 0, width, height, pitch, format }
    }

    /// A framebuffer whose memory starts out all `SENTINEL`.
    pub(super) fn fb(format: PixelFormat, width: u32, height: u32, pitch: u32) -> Framebuffer<VecMemory> {
        let len = pitch as usize * height as usize;
        Framebuffer::new(info(format, width, height, pitch), VecMemory(vec![SENTINEL; len])).unwrap()
    }

    /// Expected memory: `SENTINEL` everywhere except the listed pixels.
    fn expect(fb: &Framebuffer<VecMemory>, pixels: &[(usize, usize, &[u8])]) -> Vec<u8> {
        let mut m = vec![SENTINEL; fb.mem().len()];
        for &(x, y, bytes) in pixels {
            let off = y * fb.info().pitch as usize + x * bytes.len();
            m[off..off + bytes.len()].copy_from_slice(bytes);
        }
        m
    }

    /// All pixels of the rectangle `x0..x1` × `y0..y1` with the same bytes.
    fn rect(x0: usize, x1: usize, y0: usize, y1: usize, b: &[u8]) -> Vec<(usize, usize, &[u8])> {
        (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y, b))).collect()
    }

    #[test]
    fn validate_accepts_and_sizes() {
        assert_eq!(info(PixelFormat::XRGB8888, 4, 3, 16).validate(), Ok(48));
        assert_eq!(info(PixelFormat::RGB888, 4, 3, 13).validate(), Ok(39));
        assert_eq!(info(PixelFormat::RGB565, 1920, 1080, 4096).validate(), Ok(4096 * 1080));
    }

    #[test]
    fn validate_rejects() {
        assert_eq!(
            info(PixelFormat::XRGB8888, 4, 3, 15).validate(),
            Err(FbError::PitchTooSmall { pitch: 15, min: 16 })
        );
        assert_eq!(
            info(PixelFormat::RGB888, 0x8000_0000, 1, u32::MAX).validate(),
            Err(FbError::PitchTooSmall { pitch: u32::MAX, min: 3 * 0x8000_0000 })
        );
        assert_eq!(info(PixelFormat::XRGB8888, 0, 3, 16).validate(), Err(FbError::ZeroSize { width: 0, height: 3 }));
        assert_eq!(info(PixelFormat::XRGB8888, 4, 0, 16).validate(), Err(FbError::ZeroSize { width: 4, height: 0 }));
        let mut i = info(PixelFormat::XRGB8888, 4, 3, 16);
        i.base = u64::MAX - 40;
        assert_eq!(i.validate(), Err(FbError::TooLarge { base: u64::MAX - 40, bytes: 48 }));
    }

    #[test]
    fn new_rejects_short_memory() {
        let r = Framebuffer::new(info(PixelFormat::XRGB8888, 4, 3, 16), VecMemory::zeroed(47));
        assert_eq!(r.err(), Some(FbError::MemoryTooSmall { needed: 48, have: 47 }));
        let r = Framebuffer::new(info(PixelFormat::XRGB8888, 4, 3, 15), VecMemory::zeroed(99));
        assert!(matches!(r, Err(FbError::PitchTooSmall { .. })));
    }

    #[test]
    fn errors_display() {
        let s = alloc::format!("{}", FbError::SourceTooShort { needed: 10, have: 3 });
        assert_eq!(s, "blit: source has 3 pixels, 10 needed");
        let s = alloc::format!("{}", FbError::UnsupportedBpp(8));
        assert!(s.contains("8 bits per pixel"));
    }

    #[test]
    fn fill_clips_left_and_top() {
        // 4x3 screen, pitch of 5 pixels: the padding must stay untouched.
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        fb.fill_rect(-2, -1, 4, 3, 0xff11_2233);
        let px: &[u8] = &[0x33, 0x22, 0x11, 0x00];
        assert_eq!(fb.mem().0, expect(&fb, &rect(0, 2, 0, 2, px)));
    }

    #[test]
    fn fill_clips_right_and_bottom() {
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        fb.fill_rect(2, 1, 10, 10, 0x445566);
        let px: &[u8] = &[0x66, 0x55, 0x44, 0x00];
        assert_eq!(fb.mem().0, expect(&fb, &rect(2, 4, 1, 3, px)));
    }

    #[test]
    fn fill_off_screen_or_empty_draws_nothing() {
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        let untouched = fb.mem().0.clone();
        for (x, y, w, h) in [
            (4, 0, 5, 5),
            (0, 3, 5, 5),
            (-5, 0, 5, 5),
            (0, -5, 5, 5),
            (1, 1, 0, 1),
            (1, 1, 1, 0),
            (i32::MAX, i32::MAX, u32::MAX, u32::MAX),
            (i32::MIN, 0, 0x8000_0000, 3),
        ] {
            fb.fill_rect(x, y, w, h, 0x123456);
            assert_eq!(fb.mem().0, untouched, "{x},{y} {w}x{h}");
        }
    }

    #[test]
    fn huge_fill_covers_screen() {
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        fb.fill_rect(i32::MIN, i32::MIN, u32::MAX, u32::MAX, 0x010203);
        assert_eq!(fb.mem().0, expect(&fb, &rect(0, 4, 0, 3, &[3, 2, 1, 0])));
    }

    #[test]
    fn fill_24bpp_is_bgr_in_memory_with_odd_pitch() {
        let mut fb = fb(PixelFormat::RGB888, 4, 3, 13);
        fb.fill_rect(1, 1, 2, 2, 0x112233);
        assert_eq!(fb.mem().0, expect(&fb, &rect(1, 3, 1, 3, &[0x33, 0x22, 0x11])));
        // Row 1 literally: sentinel pixel, two pixels, sentinel pixel, pad.
        assert_eq!(fb.mem().0[13..26], [0xaa, 0xaa, 0xaa, 0x33, 0x22, 0x11, 0x33, 0x22, 0x11, 0xaa, 0xaa, 0xaa, 0xaa]);
    }

    #[test]
    fn fill_16bpp_formats() {
        let mut fb = fb(PixelFormat::RGB565, 3, 2, 6);
        fb.fill_rect(0, 0, 3, 2, 0xff8000);
        assert_eq!(fb.mem().0, [0x00, 0xfc].repeat(6));
        let mut fb = self::fb(PixelFormat::XRGB1555, 3, 2, 8);
        fb.clear(0xff8000);
        assert_eq!(fb.mem().0, expect(&fb, &rect(0, 3, 0, 2, &[0x00, 0x7e])));
    }

    #[test]
    fn clear_fills_everything_but_padding() {
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        fb.clear(0x0000ff);
        assert_eq!(fb.mem().0, expect(&fb, &rect(0, 4, 0, 3, &[0xff, 0, 0, 0])));
    }

    /// Source pixel `i` is `0x00_10_20_00 + i`, so its bytes say where it came from.
    fn source(len: usize) -> Vec<u32> {
        (0..len as u32).map(|i| 0xff10_2000 + i).collect()
    }

    fn xrgb(p: u32) -> [u8; 4] {
        (p & 0xff_ffff).to_le_bytes()
    }

    #[test]
    fn blit_with_stride_and_padding() {
        let mut fb = fb(PixelFormat::XRGB8888, 6, 4, 28);
        let src = source(5 + 3); // 2 rows of 3 with stride 5: needs 8 pixels.
        fb.blit_xrgb(1, 1, 3, 2, &src, 5).unwrap();
        let px: Vec<_> = (0..2).flat_map(|r| (0..3).map(move |c| (c, r))).collect();
        let bytes: Vec<[u8; 4]> = px.iter().map(|&(c, r)| xrgb(src[r * 5 + c])).collect();
        let pixels: Vec<_> = px.iter().zip(&bytes).map(|(&(c, r), b)| (1 + c, 1 + r, &b[..])).collect();
        assert_eq!(fb.mem().0, expect(&fb, &pixels));
    }

    #[test]
    fn blit_clips_all_edges() {
        // A 6x5 image with stride 7 over a 4x3 screen at (-1, -2): columns
        // 1..5 and rows 2..5 of the image are visible.
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        let src = source(4 * 7 + 6);
        fb.blit_xrgb(-1, -2, 6, 5, &src, 7).unwrap();
        let mut bytes = Vec::new();
        for y in 0..3 {
            for x in 0..4 {
                bytes.push((x, y, xrgb(src[(y + 2) * 7 + x + 1])));
            }
        }
        let pixels: Vec<_> = bytes.iter().map(|(x, y, b)| (*x, *y, &b[..])).collect();
        assert_eq!(fb.mem().0, expect(&fb, &pixels));

        // And at the bottom right: only the image's top-left 2x1 shows.
        let mut fb = self::fb(PixelFormat::XRGB8888, 4, 3, 20);
        fb.blit_xrgb(2, 2, 6, 5, &src, 7).unwrap();
        let (a, b) = (xrgb(src[0]), xrgb(src[1]));
        assert_eq!(fb.mem().0, expect(&fb, &[(2, 2, &a[..]), (3, 2, &b[..])]));
    }

    #[test]
    fn blit_converts_to_16_and_24_bpp() {
        let src = [0xff8000, 0x0000ff, 0x00ff00, 0xffffff];
        let mut fb = fb(PixelFormat::RGB565, 2, 2, 4);
        fb.blit_xrgb(0, 0, 2, 2, &src, 2).unwrap();
        assert_eq!(fb.mem().0, [0x00, 0xfc, 0x1f, 0x00, 0xe0, 0x07, 0xff, 0xff]);
        let mut fb = self::fb(PixelFormat::RGB888, 2, 2, 7);
        fb.blit_xrgb(0, 0, 2, 2, &src, 2).unwrap();
        assert_eq!(fb.mem().0, [0x00, 0x80, 0xff, 0xff, 0x00, 0x00, 0xaa, 0x00, 0xff, 0x00, 0xff, 0xff, 0xff, 0xaa]);
    }

    #[test]
    fn blit_rejects_short_sources_without_drawing() {
        let mut fb = fb(PixelFormat::XRGB8888, 4, 3, 20);
        let untouched = fb.mem().0.clone();
        let src = source(2 * 5 + 2);
        assert_eq!(fb.blit_xrgb(0, 0, 3, 3, &src, 5), Err(FbError::SourceTooShort { needed: 13, have: 12 }));
        // Even when the missing part would be clipped away.
        assert_eq!(fb.blit_xrgb(0, 2, 3, 3, &src, 5), Err(FbError::SourceTooShort { needed: 13, have: 12 }));
        assert_eq!(fb.blit_xrgb(0, 0, 3, 2, &src, 2), Err(FbError::StrideTooSmall { stride: 2, width: 3 }));
        assert_eq!(
            fb.blit_xrgb(0, 0, 1, u32::MAX, &src, usize::MAX),
            Err(FbError::SourceTooShort { needed: usize::MAX, have: 12 })
        );
        assert_eq!(fb.mem().0, untouched);
        assert_eq!(fb.blit_xrgb(0, 0, 0, 3, &[], 0), Ok(()));
        assert_eq!(fb.blit_xrgb(0, 0, 3, 0, &[], 3), Ok(()));
        assert_eq!(fb.blit_xrgb(10, 10, 2, 2, &src, 5), Ok(()));
        assert_eq!(fb.mem().0, untouched);
    }

    #[test]
    fn read_pixel_decodes_and_bounds() {
        let mut fb = fb(PixelFormat::RGB565, 4, 3, 10);
        fb.clear(0x000000);
        fb.fill_rect(3, 2, 1, 1, 0xff8000);
        assert_eq!(fb.read_pixel(3, 2), Some(0xff8200));
        assert_eq!(fb.read_pixel(0, 0), Some(0));
        assert_eq!(fb.read_pixel(4, 2), None);
        assert_eq!(fb.read_pixel(3, 3), None);
        assert_eq!(fb.read_pixel(-1, 0), None);
        assert_eq!(fb.read_pixel(0, i32::MIN), None);
        let mut fb = self::fb(PixelFormat::RGB888, 2, 1, 6);
        fb.fill_rect(1, 0, 1, 1, 0xabcdef);
        assert_eq!(fb.read_pixel(1, 0), Some(0xabcdef));
    }
}
