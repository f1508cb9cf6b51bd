//! Screendumps: binary PPM parsing, region comparison and PNG output.

use std::fmt;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::Path;

use crate::error::{HarnessError, Result};

/// An RGB image, one `0x00RRGGBB` word per pixel, rows top to bottom.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u32>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Image({}x{})", self.width, self.height)
    }
}

/// A rectangle `(x, y, w, h)`.
pub type Rect = (u32, u32, u32, u32);

/// Why two regions differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The region does not fit inside one of the images.
    OutOfBounds { region: Rect, left_size: (u32, u32), right_size: (u32, u32) },
    /// Some pixels differ. `left`/`right` are the first differing pixel
    /// (in row order) in `self` and in the other image (or the expected colour).
    Pixels { region: Rect, x: u32, y: u32, left: u32, right: u32, count: u64 },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::OutOfBounds { region: (x, y, w, h), left_size, right_size } => write!(
                f,
                "region {w}x{h}+{x}+{y} does not fit in {}x{} / {}x{}",
                left_size.0, left_size.1, right_size.0, right_size.1
            ),
            Mismatch::Pixels { region: (rx, ry, w, h), x, y, left, right, count } => write!(
                f,
                "{count} of {} pixels differ in region {w}x{h}+{rx}+{ry}; \
                 first at ({x}, {y}): {left:06x} != {right:06x}",
                u64::from(*w) * u64::from(*h)
            ),
        }
    }
}

impl std::error::Error for Mismatch {}

impl Image {
    /// An image filled with one colour.
    pub fn new(width: u32, height: u32, fill: u32) -> Image {
        Image { width, height, rgb: vec![fill & 0xff_ffff; width as usize * height as usize] }
    }

    /// The pixel at `(x, y)` as `0x00RRGGBB`. Panics outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> u32 {
        assert!(x < self.width && y < self.height, "pixel ({x}, {y}) outside {}x{} image", self.width, self.height);
        self.rgb[y as usize * self.width as usize + x as usize]
    }

    fn fits(&self, (x, y, w, h): Rect) -> bool {
        u64::from(x) + u64::from(w) <= u64::from(self.width) && u64::from(y) + u64::from(h) <= u64::from(self.height)
    }

    /// Compares the same region of `self` and `other`.
    pub fn region_equals(&self, other: &Image, x: u32, y: u32, w: u32, h: u32) -> Result<(), Mismatch> {
        let region = (x, y, w, h);
        if !self.fits(region) || !other.fits(region) {
            return Err(Mismatch::OutOfBounds {
                region,
                left_size: (self.width, self.height),
                right_size: (other.width, other.height),
            });
        }
        self.compare(region, |px, py| other.pixel(px, py))
    }

    /// Checks that every pixel of a region is `color` (`0x00RRGGBB`).
    pub fn region_is(&self, color: u32, x: u32, y: u32, w: u32, h: u32) -> Result<(), Mismatch> {
        let region = (x, y, w, h);
        if !self.fits(region) {
            return Err(Mismatch::OutOfBounds {
                region,
                left_size: (self.width, self.height),
                right_size: (self.width, self.height),
            });
        }
        self.compare(region, |_, _| color & 0xff_ffff)
    }

    fn compare(&self, region: Rect, expected: impl Fn(u32, u32) -> u32) -> Result<(), Mismatch> {
        let (x, y, w, h) = region;
        let mut first = None;
        let mut count = 0u64;
        for py in y..y + h {
            for px in x..x + w {
                let (l, r) = (self.pixel(px, py), expected(px, py));
                if l != r {
                    count += 1;
                    first.get_or_insert((px, py, l, r));
                }
            }
        }
        match first {
            None => Ok(()),
            Some((x, y, left, right)) => Err(Mismatch::Pixels { region, x, y, left, right, count }),
        }
    }

    /// A copy of a region.
    pub fn crop(&self, x: u32, y: u32, w: u32, h: u32) -> Option<Image> {
        if !self.fits((x, y, w, h)) {
            return None;
        }
        let mut rgb = Vec::with_capacity(w as usize * h as usize);
        for py in y..y + h {
            let start = py as usize * self.width as usize + x as usize;
            rgb.extend_from_slice(&self.rgb[start..start + w as usize]);
        }
        Some(Image { width: w, height: h, rgb })
    }

    /// Parses a binary PPM (`P6`, maxval 255).
    pub fn from_ppm(data: &[u8]) -> Result<Image> {
        let mut p = PpmHeader { data, pos: 0 };
        if p.data.get(..2) != Some(b"P6") {
            return Err(HarnessError::Image("not a binary PPM (no P6 magic)".into()));
        }
        p.pos = 2;
        let width = p.number("width")?;
        let height = p.number("height")?;
        let maxval = p.number("maxval")?;
        if maxval != 255 {
            return Err(HarnessError::Image(format!("PPM maxval {maxval}, only 255 is supported")));
        }
        // Exactly one whitespace byte separates the header from the pixels.
        match p.data.get(p.pos) {
            Some(b) if b.is_ascii_whitespace() => p.pos += 1,
            _ => return Err(HarnessError::Image("PPM header not followed by whitespace".into())),
        }
        let pixels = width as usize * height as usize;
        let body = &data[p.pos..];
        if body.len() < pixels * 3 {
            return Err(HarnessError::Image(format!(
                "PPM {width}x{height} truncated: {} of {} pixel bytes",
                body.len(),
                pixels * 3
            )));
        }
        let rgb = body[..pixels * 3]
            .chunks_exact(3)
            .map(|c| u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]))
            .collect();
        Ok(Image { width, height, rgb })
    }

    /// Reads a binary PPM file.
    pub fn load_ppm(path: impl AsRef<Path>) -> Result<Image> {
        let path = path.as_ref();
        let data = fs::read(path).map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        Image::from_ppm(&data).map_err(|e| HarnessError::Image(format!("{}: {e}", path.display())))
    }

    /// The image as binary PPM bytes.
    pub fn to_ppm(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.reserve(self.rgb.len() * 3);
        for &p in &self.rgb {
            out.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, p as u8]);
        }
        out
    }

    /// Writes the image as an 8-bit RGB PNG.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| HarnessError::io(format!("creating {}", path.display()), e))?;
        let mut enc = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let bytes: Vec<u8> = self.rgb.iter().flat_map(|&p| [(p >> 16) as u8, (p >> 8) as u8, p as u8]).collect();
        let mut w = enc.write_header().map_err(|e| HarnessError::Image(format!("writing {}: {e}", path.display())))?;
        w.write_image_data(&bytes)
            .and_then(|_| w.finish())
            .map_err(|e| HarnessError::Image(format!("writing {}: {e}", path.display())))
    }

    /// Reads a PNG (for reference images). Grey, palette and alpha images
    /// are converted to RGB; alpha is dropped.
    pub fn load_png(path: impl AsRef<Path>) -> Result<Image> {
        let path = path.as_ref();
        let err = |e: &dyn fmt::Display| HarnessError::Image(format!("reading {}: {e}", path.display()));
        let file = File::open(path).map_err(|e| HarnessError::io(format!("opening {}", path.display()), e))?;
        let mut dec = png::Decoder::new(BufReader::new(file));
        dec.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = dec.read_info().map_err(|e| err(&e))?;
        let size = reader.output_buffer_size().ok_or_else(|| err(&"image too large"))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(|e| err(&e))?;
        let channels = info.color_type.samples();
        let bytes = &buf[..info.buffer_size()];
        let rgb = bytes
            .chunks_exact(info.line_size)
            .flat_map(|line| {
                line.chunks_exact(channels).take(info.width as usize).map(move |c| match channels {
                    1 | 2 => u32::from(c[0]) * 0x01_0101,
                    _ => u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]),
                })
            })
            .collect();
        Ok(Image { width: info.width, height: info.height, rgb })
    }
}

struct PpmHeader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl PpmHeader<'_> {
    /// Skips whitespace and `#` comments, then reads a decimal number.
    fn number(&mut self, what: &str) -> Result<u32> {
        loop {
            match self.data.get(self.pos) {
                Some(b) if b.is_ascii_whitespace() => self.pos += 1,
                Some(b'#') => {
                    while self.data.get(self.pos).is_some_and(|&b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.data[start..self.pos])
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&n| n > 0 && n <= 1 << 16)
            .ok_or_else(|| HarnessError::Image(format!("bad PPM {what}")))
    }
}

/// What a host-side framebuffer holds, as an [`Image`] to compare with a
/// screendump: the QEMU tests draw the expected screen with the payload's own
/// drawing code.
pub fn from_framebuffer(fb: &drivers::framebuffer::Framebuffer<drivers::framebuffer::VecMemory>) -> Image {
    let (w, h) = (fb.width(), fb.height());
    let mut img = Image::new(w, h, 0);
    for y in 0..h {
        for x in 0..w {
            img.rgb[(y * w + x) as usize] = fb.read_pixel(x as i32, y as i32).unwrap_or(0);
        }
    }
    img
}

/// A host framebuffer of `w`x`h` in the payload's XRGB format, zeroed: draw
/// the expected screen into it, then take it with [`from_framebuffer`].
pub fn host_framebuffer(w: u32, h: u32) -> drivers::framebuffer::Framebuffer<drivers::framebuffer::VecMemory> {
    use drivers::framebuffer::{FbInfo, Framebuffer, PixelFormat, VecMemory};
    let info = FbInfo { base: 0, width: w, height: h, pitch: w * 4, format: PixelFormat::XRGB8888 };
    Framebuffer::new(info, VecMemory::zeroed((w * h * 4) as usize)).expect("a valid host framebuffer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Image {
        let mut img = Image::new(4, 3, 0x102030);
        img.rgb[4 + 2] = 0xff0000; // (2, 1)
        img
    }

    #[test]
    fn parses_ppm_with_comments() {
        let mut data = b"P6\n# CREATOR: test\n2 1\n# c2\n255\n".to_vec();
        data.extend_from_slice(&[1, 2, 3, 0xfe, 0xdc, 0xba]);
        let img = Image::from_ppm(&data).unwrap();
        assert_eq!((img.width, img.height), (2, 1));
        assert_eq!(img.pixel(0, 0), 0x010203);
        assert_eq!(img.pixel(1, 0), 0xfedcba);
    }

    #[test]
    fn ppm_round_trip() {
        let img = sample();
        assert_eq!(Image::from_ppm(&img.to_ppm()).unwrap(), img);
    }

    #[test]
    fn rejects_bad_ppm() {
        assert!(Image::from_ppm(b"P5\n1 1\n255\n\0").is_err());
        assert!(Image::from_ppm(b"P6\n1 1\n65535\n\0\0\0\0\0\0").is_err());
        assert!(Image::from_ppm(b"P6\n2 2\n255\n\0\0\0").is_err());
        assert!(Image::from_ppm(b"P6\nx 2\n255\n").is_err());
        assert!(Image::from_ppm(b"P6\n1 1\n255").is_err());
    }

    #[test]
    fn region_comparison_reports_first_difference() {
        let a = sample();
        let b = Image::new(4, 3, 0x102030);
        assert_eq!(a.region_equals(&b, 0, 0, 2, 3), Ok(()));
        assert_eq!(a.region_equals(&b, 0, 0, 4, 1), Ok(()));
        let m = a.region_equals(&b, 0, 0, 4, 3).unwrap_err();
        assert_eq!(m, Mismatch::Pixels { region: (0, 0, 4, 3), x: 2, y: 1, left: 0xff0000, right: 0x102030, count: 1 });
        assert!(m.to_string().contains("first at (2, 1): ff0000 != 102030"), "{m}");
        assert!(matches!(a.region_equals(&b, 3, 0, 2, 1), Err(Mismatch::OutOfBounds { .. })));
        assert_eq!(a.region_is(0x102030, 0, 0, 4, 1), Ok(()));
        assert!(matches!(a.region_is(0x102030, 1, 1, 3, 2), Err(Mismatch::Pixels { count: 1, .. })));
    }

    #[test]
    fn crop_takes_a_region() {
        let c = sample().crop(2, 1, 2, 2).unwrap();
        assert_eq!((c.width, c.height), (2, 2));
        assert_eq!(c.rgb, [0xff0000, 0x102030, 0x102030, 0x102030]);
        assert!(sample().crop(3, 0, 2, 1).is_none());
    }

    #[test]
    fn png_round_trip() {
        let dir = crate::testutil::scratch_dir("png");
        let path = dir.join("img.png");
        let img = sample();
        img.save_png(&path).unwrap();
        assert_eq!(Image::load_png(&path).unwrap(), img);
    }
}
