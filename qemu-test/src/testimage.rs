//! Test pictures for the Linux guest, generated in Rust (deterministic, no
//! ImageMagick): what the guest draws on its 1024x768x32 vesafb and what a
//! correct SPICE client must end up showing.

use crate::image::Image;

/// The guest's framebuffer mode (`vga=0x344`): 1024x768, 32 bpp, stride 4096.
pub const WIDTH: u32 = 1024;
pub const HEIGHT: u32 = 768;
pub const STRIDE: u32 = WIDTH * 4;

/// A picture the guest can draw. Its file in the initramfs is
/// `/img/<name>.raw` (raw BGRX, the framebuffer's own layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestImage {
    /// Gradients, colour bars, checkerboards, noise, text and a photo-like
    /// landscape (what a desktop shows), so that
    /// every lossless codec (QUIC, LZ, GLZ) has something to chew on and any
    /// shift, flip or colour swap shows.
    Known,
    /// A 1024x128 band (diagonal stripes over a gradient) that the update
    /// scenario writes over rows [`BAND_TOP`]..+128 of the known picture.
    Band,
    /// The known picture with every channel inverted: alternating the two
    /// changes every pixel (the animation scenario).
    Inverse,
}

/// First row the band replaces.
pub const BAND_TOP: u32 = 560;
/// Rows in the band.
pub const BAND_ROWS: u32 = 128;

impl TestImage {
    /// Every picture; all of them go into the initramfs.
    pub const ALL: [TestImage; 3] = [TestImage::Known, TestImage::Band, TestImage::Inverse];

    /// The name used on the kernel command line and in `/img/`.
    pub fn name(self) -> &'static str {
        match self {
            TestImage::Known => "known",
            TestImage::Band => "band",
            TestImage::Inverse => "inverse",
        }
    }

    /// The picture.
    pub fn render(self) -> Image {
        match self {
            TestImage::Known => known(),
            TestImage::Band => band(),
            TestImage::Inverse => {
                let mut img = known();
                img.rgb.iter_mut().for_each(|p| *p ^= 0xff_ffff);
                img
            }
        }
    }
}

/// xorshift64*: a small deterministic PRNG for the noise block.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const fn rgb(r: u32, g: u32, b: u32) -> u32 {
    (r & 0xff) << 16 | (g & 0xff) << 8 | (b & 0xff)
}

/// The update band: stripes and a gradient, unlike the rows it covers.
pub fn band() -> Image {
    let mut img = Image::new(WIDTH, BAND_ROWS, 0);
    for y in 0..BAND_ROWS {
        for x in 0..WIDTH {
            let stripe = ((x + y) / 16).is_multiple_of(2);
            let g = x * 255 / (WIDTH - 1);
            img.rgb[(y * WIDTH + x) as usize] = if stripe { rgb(255 - g, g, y * 2) } else { rgb(20, 40, 60 + y) };
        }
    }
    img
}

/// The known picture with the band written over it.
pub fn known_with_band() -> Image {
    let mut img = known();
    let band = band();
    let start = (BAND_TOP * WIDTH) as usize;
    img.rgb[start..start + band.rgb.len()].copy_from_slice(&band.rgb);
    img
}

/// The "known image", 1024x768, in four 192-row bands:
/// 1. a smooth 2D gradient (red across, green down, blue against red);
/// 2. colour bars at 100 % (top half) and 75 % in reverse order (bottom half);
/// 3. checkerboards of 1, 4 and 16 pixels, then two greys one step apart;
/// 4. a 384x192 block of PRNG noise, a block of text, and a photo-like
///    landscape.
pub fn known() -> Image {
    let mut img = Image::new(WIDTH, HEIGHT, 0);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let photo = Photo::new(WIDTH - TEXT_RIGHT, 192);
    const BARS: [u32; 8] = [
        rgb(255, 255, 255),
        rgb(255, 255, 0),
        rgb(0, 255, 255),
        rgb(0, 255, 0),
        rgb(255, 0, 255),
        rgb(255, 0, 0),
        rgb(0, 0, 255),
        rgb(0, 0, 0),
    ];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let px = match y / 192 {
                0 => {
                    let r = x * 255 / (WIDTH - 1);
                    let g = y * 255 / 191;
                    rgb(r, g, 255 - r / 2)
                }
                1 => {
                    let (bar, top) = ((x / 128) as usize, y < 288);
                    if top {
                        BARS[bar]
                    } else {
                        let c = BARS[7 - bar];
                        // 75 %: each channel 0xff -> 0xbf.
                        let s = |v: u32| (v & 0xff) * 3 / 4;
                        rgb(s(c >> 16), s(c >> 8), s(c))
                    }
                }
                2 => {
                    let cell = |n: u32| ((x / n) + (y / n)).is_multiple_of(2);
                    match x / 256 {
                        0 => {
                            if cell(1) {
                                0xff_ffff
                            } else {
                                0
                            }
                        }
                        1 => {
                            if cell(4) {
                                rgb(255, 255, 0)
                            } else {
                                rgb(0, 0, 128)
                            }
                        }
                        2 => {
                            if cell(16) {
                                rgb(255, 0, 0)
                            } else {
                                rgb(0, 0, 255)
                            }
                        }
                        _ => {
                            if cell(8) {
                                rgb(0x80, 0x80, 0x80)
                            } else {
                                rgb(0x81, 0x81, 0x81)
                            }
                        }
                    }
                }
                _ => {
                    if x < 384 {
                        (rng.next() >> 40) as u32 & 0xff_ffff
                    } else if x < TEXT_RIGHT {
                        TEXT_BG
                    } else {
                        photo.pixel(x - TEXT_RIGHT, y - 576)
                    }
                }
            };
            img.rgb[(y * WIDTH + x) as usize] = px;
        }
    }
    draw_text_block(&mut img);
    img
}

/// Band 4's text block spans x 384..this; the photo-like block follows.
const TEXT_RIGHT: u32 = 704;
const TEXT_BG: u32 = rgb(250, 250, 245);

/// A terminal-like page of anti-aliased text (Clove's own fonts, the
/// kind of content a desktop is mostly made of) in band 4, x 384..704.
fn draw_text_block(img: &mut Image) {
    use drivers::framebuffer::{FbInfo, FontSize, Framebuffer, PixelFormat, TextStyle, VecMemory};
    const LINES: [(&str, FontSize, u32); 9] = [
        ("Clove thin client", FontSize::Title, rgb(20, 40, 120)),
        ("$ uname -a", FontSize::Normal, rgb(0, 0, 0)),
        ("Linux guest 6.1.0 x86_64 GNU/Linux", FontSize::Normal, rgb(40, 40, 40)),
        ("$ ls /img", FontSize::Normal, rgb(0, 0, 0)),
        ("band.raw  known.raw", FontSize::Normal, rgb(0, 90, 160)),
        ("The quick brown fox jumps over", FontSize::Normal, rgb(150, 20, 20)),
        ("the lazy dog. 0123456789 !?#%&", FontSize::Normal, rgb(20, 120, 20)),
        ("{[(<*+-=_|\\/:;,.'\"`~^@$>)]}", FontSize::Normal, rgb(90, 0, 120)),
        ("SPICE: QUIC LZ GLZ LZ4 JPEG", FontSize::Normal, rgb(0, 0, 0)),
    ];
    let (w, h) = (TEXT_RIGHT - 384, 192);
    let info = FbInfo { base: 0, width: w, height: h, pitch: w * 4, format: PixelFormat::XRGB8888 };
    let mut fb =
        Framebuffer::new(info, VecMemory::zeroed((w * h * 4) as usize)).expect("a valid in-memory framebuffer");
    fb.clear(TEXT_BG);
    let mut y = 4;
    for (text, size, fg) in LINES {
        fb.draw_text(6, y, text, TextStyle { size, fg, bg: TEXT_BG });
        y += drivers::framebuffer::line_height(size) as i32;
    }
    for row in 0..h {
        for col in 0..w {
            let px = fb.read_pixel(col as i32, row as i32).expect("inside the block");
            img.rgb[((576 + row) * WIDTH + 384 + col) as usize] = px & 0xff_ffff;
        }
    }
}

/// A photo-like picture: a few octaves of smoothed lattice noise shaded
/// into sky, hills and shadows, so it has the soft gradients and fine
/// texture of a photograph (what QEMU's auto_glz hands to QUIC).
struct Photo {
    width: u32,
    shade: Vec<u32>,
}

impl Photo {
    fn new(width: u32, height: u32) -> Photo {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        const LATTICE: usize = 64;
        let lattice: Vec<f64> =
            (0..LATTICE * LATTICE).map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64).collect();
        let value = |x: f64, y: f64| {
            let (xi, yi) = (x.floor() as usize, y.floor() as usize);
            let (fx, fy) = (x - x.floor(), y - y.floor());
            let smooth = |t: f64| t * t * (3.0 - 2.0 * t);
            let at = |i: usize, j: usize| lattice[(j % LATTICE) * LATTICE + i % LATTICE];
            let top = at(xi, yi) + (at(xi + 1, yi) - at(xi, yi)) * smooth(fx);
            let bottom = at(xi, yi + 1) + (at(xi + 1, yi + 1) - at(xi, yi + 1)) * smooth(fx);
            top + (bottom - top) * smooth(fy)
        };
        let fractal = |x: f64, y: f64| {
            (0..5).map(|o| value(x * f64::from(1 << o), y * f64::from(1 << o)) / f64::from(1 << o)).sum::<f64>()
                / 1.9375
        };
        let mut shade = Vec::with_capacity((width * height) as usize);
        for y in 0..height {
            for x in 0..width {
                let (u, v) = (f64::from(x) / 40.0, f64::from(y) / 40.0);
                let horizon = 70.0 + 40.0 * fractal(u * 0.5, 3.0);
                let n = fractal(u, v);
                let (r, g, b) = if f64::from(y) < horizon {
                    // Sky: blue, lighter towards the horizon, with clouds.
                    let t = f64::from(y) / horizon;
                    let cloud = ((n - 0.5) * 3.0).clamp(0.0, 1.0);
                    let sky = (90.0 + 100.0 * t, 140.0 + 80.0 * t, 230.0 + 20.0 * t);
                    (sky.0 + (250.0 - sky.0) * cloud, sky.1 + (250.0 - sky.1) * cloud, sky.2 + (250.0 - sky.2) * cloud)
                } else {
                    // Hills: green and brown texture, darker further down.
                    let depth = (f64::from(y) - horizon) / (f64::from(height) - horizon + 1.0);
                    let light = 1.0 - 0.5 * depth;
                    (light * (60.0 + 120.0 * n), light * (90.0 + 110.0 * (1.0 - n)), light * (30.0 + 50.0 * n))
                };
                let c = |v: f64| v.round().clamp(0.0, 255.0) as u32;
                shade.push(rgb(c(r), c(g), c(b)));
            }
        }
        Photo { width, shade }
    }

    fn pixel(&self, x: u32, y: u32) -> u32 {
        self.shade[(y * self.width + x) as usize]
    }
}

/// The picture as the framebuffer holds it: little-endian `0x00RRGGBB`
/// words (bytes B, G, R, 0), rows packed (stride = width * 4).
pub fn to_bgrx(img: &Image) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.rgb.len() * 4);
    for &px in &img.rgb {
        out.extend_from_slice(&(px & 0xff_ffff).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a over the pixels: pins the picture, so any change to it is a
    /// deliberate one (update the constant).
    fn fingerprint(img: &Image) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in to_bgrx(img) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h
    }

    #[test]
    fn known_is_deterministic_and_varied() {
        let a = known();
        assert_eq!((a.width, a.height), (1024, 768));
        assert_eq!(a, known());
        assert_eq!(fingerprint(&a), 0x7914_9310_dd8a_7d52, "fingerprint changed: {:#018x}", fingerprint(&a));
        // Corners differ, so flips and shifts show.
        let corners = [a.pixel(0, 0), a.pixel(1023, 0), a.pixel(0, 767), a.pixel(1023, 767)];
        for i in 0..4 {
            for j in i + 1..4 {
                assert_ne!(corners[i], corners[j], "corners {i} and {j}");
            }
        }
        assert_eq!(a.pixel(0, 0), rgb(0, 0, 255));
        assert_eq!(a.pixel(1023, 191), rgb(255, 255, 128));
        assert_eq!(a.pixel(130, 200), rgb(255, 255, 0));
        assert_eq!(a.pixel(130, 300), rgb(0, 0, 191));
        // Many distinct colours (the noise), and every pixel is 24-bit.
        let mut colours: Vec<u32> = a.rgb.clone();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 60_000, "{} colours", colours.len());
        assert!(a.rgb.iter().all(|&p| p <= 0xff_ffff));
    }

    #[test]
    fn bgrx_layout() {
        let mut img = Image::new(2, 1, 0);
        img.rgb = vec![0x11_2233, 0xaa_bbcc];
        assert_eq!(to_bgrx(&img), [0x33, 0x22, 0x11, 0, 0xcc, 0xbb, 0xaa, 0]);
        assert_eq!(to_bgrx(&known()).len(), (STRIDE * HEIGHT) as usize);
    }
}
