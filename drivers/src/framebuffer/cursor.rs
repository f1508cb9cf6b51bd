//! A pointer sprite composited over an image that the caller keeps, such as
//! the remote desktop's canvas.
//!
//! Save-under without a saved copy: the pixels beneath the sprite are always
//! in the caller's image, so every redraw of an image area goes through
//! [`Cursor::draw`], which blends the sprite on top where the two overlap,
//! and moving or hiding the sprite redraws the areas [`Cursor::update`]
//! returns. Nothing is read back from the screen, and each screen pixel is
//! written once per redraw (the sprite's part is blended before the write),
//! so the sprite never flickers and never leaves a trace.

use alloc::vec::Vec;

use super::{FbError, FbMemory, Framebuffer};

/// A rectangle in image coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub w: u32,
    pub h: u32,
}

impl Area {
    pub const fn new(x: i32, y: i32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }

    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    fn right(&self) -> i64 {
        i64::from(self.x) + i64::from(self.w)
    }

    fn bottom(&self) -> i64 {
        i64::from(self.y) + i64::from(self.h)
    }

    /// The common part (empty if none).
    pub fn intersect(&self, o: &Area) -> Area {
        let (l, t) = (self.x.max(o.x), self.y.max(o.y));
        let (r, b) = (self.right().min(o.right()), self.bottom().min(o.bottom()));
        if r <= i64::from(l) || b <= i64::from(t) {
            return Area::new(l, t, 0, 0);
        }
        // Both spans lie inside one of the inputs, so they fit a u32.
        Area::new(l, t, (r - i64::from(l)) as u32, (b - i64::from(t)) as u32)
    }
}

/// The caller's image: `0x00RRGGBB` pixels (the top byte is ignored), row
/// `r` starting at `pixels[r * stride]`.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    pub pixels: &'a [u32],
    pub stride: usize,
    pub width: u32,
    pub height: u32,
}

/// A sprite as the caller has it: `width` × `height` ARGB pixels with
/// straight (not premultiplied) alpha, and the hot spot from its top-left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpriteView<'a> {
    pub argb: &'a [u32],
    pub width: u32,
    pub height: u32,
    pub hot_x: u32,
    pub hot_y: u32,
}

/// Our copy of the current sprite.
#[derive(Debug, Default)]
struct Sprite {
    argb: Vec<u32>,
    width: u32,
    height: u32,
    hot_x: u32,
    hot_y: u32,
}

impl Sprite {
    fn view(&self) -> SpriteView<'_> {
        SpriteView { argb: &self.argb, width: self.width, height: self.height, hot_x: self.hot_x, hot_y: self.hot_y }
    }
}

/// Blends straight-alpha `argb` over `0x00RRGGBB` `under`, rounding to nearest.
#[inline]
pub fn blend(argb: u32, under: u32) -> u32 {
    let a = argb >> 24;
    match a {
        0 => under & 0x00ff_ffff,
        0xff => argb & 0x00ff_ffff,
        _ => {
            let mix = |shift: u32| {
                let (s, d) = ((argb >> shift) & 0xff, (under >> shift) & 0xff);
                ((s * a + d * (255 - a) + 127) / 255) << shift
            };
            mix(16) | mix(8) | mix(0)
        }
    }
}

/// The pointer: its sprite, where its hot spot is and whether it shows.
#[derive(Debug, Default)]
pub struct Cursor {
    sprite: Option<Sprite>,
    x: i32,
    y: i32,
    visible: bool,
    /// The blended part of one redraw (at most the sprite's size).
    scratch: Vec<u32>,
}

impl Cursor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the sprite covers the image, or `None` when nothing is drawn.
    /// Not clipped: it may stick out of the image.
    pub fn area(&self) -> Option<Area> {
        let s = self.sprite.as_ref().filter(|_| self.visible)?;
        let x = i64::from(self.x) - i64::from(s.hot_x);
        let y = i64::from(self.y) - i64::from(s.hot_y);
        Some(Area::new(
            x.clamp(i32::MIN.into(), i32::MAX.into()) as i32,
            y.clamp(i32::MIN.into(), i32::MAX.into()) as i32,
            s.width,
            s.height,
        ))
    }

    /// Takes the pointer's new state: its sprite (`None`: no pointer
    /// defined), hot spot position in image coordinates and visibility.
    /// A sprite whose pixels do not match its size counts as none.
    ///
    /// Returns the areas to redraw with [`Cursor::draw`]: where the sprite
    /// was and where it is now (`None` for each that needs nothing).
    pub fn update(&mut self, sprite: Option<SpriteView<'_>>, x: i32, y: i32, visible: bool) -> [Option<Area>; 2] {
        let sprite = sprite.filter(|s| s.argb.len() as u64 == u64::from(s.width) * u64::from(s.height));
        let before = self.area();
        let same_sprite = self.sprite.as_ref().map(Sprite::view) == sprite;
        if !same_sprite {
            self.sprite = sprite.map(|s| Sprite {
                argb: s.argb.to_vec(),
                width: s.width,
                height: s.height,
                hot_x: s.hot_x,
                hot_y: s.hot_y,
            });
        }
        self.x = x;
        self.y = y;
        self.visible = visible;
        let after = self.area();
        if same_sprite && before == after {
            return [None, None];
        }
        [before, after]
    }

    /// Draws `area` of `image` with the sprite on top, `image`'s pixel
    /// (0, 0) going to screen position `origin` (the framebuffer clips at
    /// the screen's edges). The parts of `area` outside `image` are skipped.
    pub fn draw<M: FbMemory>(
        &mut self,
        fb: &mut Framebuffer<M>,
        origin: (i32, i32),
        image: &Image<'_>,
        area: Area,
    ) -> Result<(), FbError> {
        let area = area.intersect(&Area::new(0, 0, image.width, image.height));
        if area.is_empty() {
            return Ok(());
        }
        let over = self.area().map_or(Area::new(0, 0, 0, 0), |c| c.intersect(&area));
        if over.is_empty() {
            return plain(fb, origin, image, area);
        }
        // Around the sprite: the bands above and below, the sides beside it.
        let (top, bottom) = ((over.y - area.y) as u32, (area.bottom() - over.bottom()) as u32);
        let (left, right) = ((over.x - area.x) as u32, (area.right() - over.right()) as u32);
        plain(fb, origin, image, Area::new(area.x, area.y, area.w, top))?;
        plain(fb, origin, image, Area::new(area.x, over.y, left, over.h))?;
        plain(fb, origin, image, Area::new(over.x + over.w as i32, over.y, right, over.h))?;
        plain(fb, origin, image, Area::new(area.x, over.y + over.h as i32, area.w, bottom))?;
        self.draw_blended(fb, origin, image, over)
    }

    /// Draws `over` (inside both the image and the sprite) blended.
    fn draw_blended<M: FbMemory>(
        &mut self,
        fb: &mut Framebuffer<M>,
        origin: (i32, i32),
        image: &Image<'_>,
        over: Area,
    ) -> Result<(), FbError> {
        let (Some(s), Some(at)) = (self.sprite.as_ref(), self.area()) else { return Ok(()) };
        self.scratch.clear();
        for row in 0..over.h as usize {
            // In range: `over` lies inside the image and inside the sprite.
            let iy = over.y as usize + row;
            let sy = (i64::from(over.y) - i64::from(at.y)) as usize + row;
            let sx = (i64::from(over.x) - i64::from(at.x)) as usize;
            let under = &image.pixels[iy * image.stride + over.x as usize..][..over.w as usize];
            let sprite = &s.argb[sy * s.width as usize + sx..][..over.w as usize];
            self.scratch.extend(sprite.iter().zip(under).map(|(&p, &u)| blend(p, u)));
        }
        let (x, y) = screen_pos(origin, over);
        fb.blit_xrgb(x, y, over.w, over.h, &self.scratch, over.w as usize)
    }
}

/// Where image position (`a.x`, `a.y`) lands on screen (saturating: far off
/// screen stays off screen).
fn screen_pos(origin: (i32, i32), a: Area) -> (i32, i32) {
    (origin.0.saturating_add(a.x), origin.1.saturating_add(a.y))
}

/// Copies `a` (inside the image) as it is.
fn plain<M: FbMemory>(fb: &mut Framebuffer<M>, origin: (i32, i32), image: &Image<'_>, a: Area) -> Result<(), FbError> {
    if a.is_empty() {
        return Ok(());
    }
    let start = a.y as usize * image.stride + a.x as usize;
    let src = image.pixels.get(start..).unwrap_or(&[]);
    let (x, y) = screen_pos(origin, a);
    fb.blit_xrgb(x, y, a.w, a.h, src, image.stride)
}

#[cfg(test)]
mod tests {
    use super::super::{FbInfo, PixelFormat, VecMemory};
    use super::*;
    use alloc::vec;

    const W: u32 = 40;
    const H: u32 = 30;

    /// An image where every pixel differs from its neighbours.
    fn desktop() -> Vec<u32> {
        (0..W * H).map(|i| (i * 0x01_0307) & 0xff_ffff).collect()
    }

    fn image(px: &[u32]) -> Image<'_> {
        Image { pixels: px, stride: W as usize, width: W, height: H }
    }

    /// 6x5 sprite: opaque corners in two colours, a half-transparent
    /// middle, a mono "invert" pixel and transparent rest; hot spot (2, 1).
    fn sprite_px() -> Vec<u32> {
        let mut s = vec![0u32; 30];
        s[0] = 0xffff_0000;
        s[5] = 0xff00_ff00;
        s[24] = 0xff00_00ff;
        s[29] = 0xffff_ffff;
        s[14] = 0x8040_8020;
        s[15] = 0x8000_0000;
        s
    }

    fn sprite(px: &[u32]) -> SpriteView<'_> {
        SpriteView { argb: px, width: 6, height: 5, hot_x: 2, hot_y: 1 }
    }

    fn screen(format: PixelFormat, w: u32, h: u32) -> Framebuffer<VecMemory> {
        let pitch = w * u32::from(format.bpp() / 8);
        let info = FbInfo { base: 0, width: w, height: h, pitch, format };
        Framebuffer::new(info, VecMemory(vec![0x5a; (pitch * h) as usize])).unwrap()
    }

    /// What the screen must show: the desktop with the sprite (hot spot at
    /// `at`) blended in per pixel, drawn whole at `origin` on a fresh screen.
    fn reference(
        format: PixelFormat,
        size: (u32, u32),
        origin: (i32, i32),
        desk: &[u32],
        at: Option<(i32, i32)>,
    ) -> Vec<u8> {
        let mut px = desk.to_vec();
        let s = sprite_px();
        if let Some((x, y)) = at {
            for sy in 0..5i32 {
                for sx in 0..6i32 {
                    let (ix, iy) = (x - 2 + sx, y - 1 + sy);
                    if (0..W as i32).contains(&ix) && (0..H as i32).contains(&iy) {
                        let i = (iy * W as i32 + ix) as usize;
                        px[i] = blend(s[(sy * 6 + sx) as usize], px[i]);
                    }
                }
            }
        }
        let mut fb = screen(format, size.0, size.1);
        fb.blit_xrgb(origin.0, origin.1, W, H, &px, W as usize).unwrap();
        fb.into_mem().0
    }

    fn redraw(
        c: &mut Cursor,
        fb: &mut Framebuffer<VecMemory>,
        origin: (i32, i32),
        desk: &[u32],
        areas: [Option<Area>; 2],
    ) {
        for a in areas.into_iter().flatten() {
            c.draw(fb, origin, &image(desk), a).unwrap();
        }
    }

    const FORMATS: [PixelFormat; 3] = [PixelFormat::XRGB8888, PixelFormat::RGB888, PixelFormat::RGB565];

    #[test]
    fn blend_rounds_straight_alpha() {
        assert_eq!(blend(0xff12_3456, 0xabcdef), 0x12_3456);
        assert_eq!(blend(0x0012_3456, 0xabcdef), 0xabcdef);
        assert_eq!(blend(0x80ff_ff00, 0x0000_00ff), 0x80_807f);
        // The decoder's "invert" pixel: half-transparent black darkens.
        assert_eq!(blend(0x8000_0000, 0xffffff), 0x7f7f7f);
        assert_eq!(blend(0x8000_0000, 0xff00_0000), 0);
    }

    #[test]
    fn move_leaves_no_trace_in_every_format() {
        for format in FORMATS {
            let desk = desktop();
            let s = sprite_px();
            let mut fb = screen(format, W, H);
            let mut c = Cursor::new();
            c.draw(&mut fb, (0, 0), &image(&desk), Area::new(0, 0, W, H)).unwrap();
            assert_eq!(fb.mem().0, reference(format, (W, H), (0, 0), &desk, None), "{format:?}");
            let d = c.update(Some(sprite(&s)), 10, 10, true);
            assert_eq!(d, [None, Some(Area::new(8, 9, 6, 5))]);
            redraw(&mut c, &mut fb, (0, 0), &desk, d);
            assert_eq!(fb.mem().0, reference(format, (W, H), (0, 0), &desk, Some((10, 10))), "{format:?}");
            // Overlapping move, then a far one.
            for at in [(12, 11), (30, 20)] {
                let d = c.update(Some(sprite(&s)), at.0, at.1, true);
                redraw(&mut c, &mut fb, (0, 0), &desk, d);
                assert_eq!(fb.mem().0, reference(format, (W, H), (0, 0), &desk, Some(at)), "{format:?} {at:?}");
            }
        }
    }

    #[test]
    fn damage_under_the_cursor_keeps_it_on_top() {
        let mut desk = desktop();
        let s = sprite_px();
        let mut fb = screen(PixelFormat::XRGB8888, W, H);
        let mut c = Cursor::new();
        c.update(Some(sprite(&s)), 10, 10, true);
        c.draw(&mut fb, (0, 0), &image(&desk), Area::new(0, 0, W, H)).unwrap();
        // The desktop changes in an area that covers part of the sprite.
        for y in 5..12 {
            for x in 4..11 {
                desk[(y * W + x) as usize] = 0x00c0ffee;
            }
        }
        c.draw(&mut fb, (0, 0), &image(&desk), Area::new(4, 5, 7, 7)).unwrap();
        assert_eq!(fb.mem().0, reference(PixelFormat::XRGB8888, (W, H), (0, 0), &desk, Some((10, 10))));
        // And the sprite moving away shows the new desktop beneath.
        let d = c.update(Some(sprite(&s)), 30, 3, true);
        redraw(&mut c, &mut fb, (0, 0), &desk, d);
        assert_eq!(fb.mem().0, reference(PixelFormat::XRGB8888, (W, H), (0, 0), &desk, Some((30, 3))));
    }

    #[test]
    fn clipped_at_image_and_screen_edges_with_an_offset() {
        let desk = desktop();
        let s = sprite_px();
        // A bigger screen with the image centred, and a smaller one (negative origin).
        for (format, size, origin) in
            [(PixelFormat::RGB888, (W + 10, H + 6), (5, 3)), (PixelFormat::RGB565, (W - 8, H - 4), (-4, -2))]
        {
            let mut fb = screen(format, size.0, size.1);
            let mut c = Cursor::new();
            c.draw(&mut fb, origin, &image(&desk), Area::new(0, 0, W, H)).unwrap();
            for at in [(0, 0), (-1, 2), (W as i32 - 1, H as i32 - 1), (W as i32 + 1, 4), (3, H as i32 + 3), (-50, -50)]
            {
                let d = c.update(Some(sprite(&s)), at.0, at.1, true);
                redraw(&mut c, &mut fb, origin, &desk, d);
                assert_eq!(fb.mem().0, reference(format, size, origin, &desk, Some(at)), "{format:?} {at:?}");
            }
            // Extreme positions neither panic nor draw.
            let d = c.update(Some(sprite(&s)), i32::MIN, i32::MAX, true);
            redraw(&mut c, &mut fb, origin, &desk, d);
            assert_eq!(fb.mem().0, reference(format, size, origin, &desk, None));
        }
    }

    #[test]
    fn hide_reset_and_bad_sprites_draw_none() {
        let desk = desktop();
        let s = sprite_px();
        let mut fb = screen(PixelFormat::XRGB8888, W, H);
        let mut c = Cursor::new();
        c.draw(&mut fb, (0, 0), &image(&desk), Area::new(0, 0, W, H)).unwrap();
        let plain = reference(PixelFormat::XRGB8888, (W, H), (0, 0), &desk, None);
        // Visible but no sprite defined: nothing.
        assert_eq!(c.update(None, 10, 10, true), [None, None]);
        assert_eq!(c.area(), None);
        for off in [
            // Hidden.
            |c: &mut Cursor, s: &[u32]| c.update(Some(sprite(s)), 10, 10, false),
            // Reset: the sprite is gone.
            |c: &mut Cursor, _: &[u32]| c.update(None, 10, 10, true),
            // Pixels that do not match the size count as none.
            |c: &mut Cursor, s: &[u32]| c.update(Some(SpriteView { argb: &s[..29], ..sprite(s) }), 10, 10, true),
        ] {
            let d = c.update(Some(sprite(&s)), 10, 10, true);
            redraw(&mut c, &mut fb, (0, 0), &desk, d);
            assert_ne!(fb.mem().0, plain);
            let d = off(&mut c, &s);
            assert_eq!(d, [Some(Area::new(8, 9, 6, 5)), None]);
            redraw(&mut c, &mut fb, (0, 0), &desk, d);
            assert_eq!(fb.mem().0, plain);
            // Damage drawn while hidden shows no sprite either.
            c.draw(&mut fb, (0, 0), &image(&desk), Area::new(0, 0, W, H)).unwrap();
            assert_eq!(fb.mem().0, plain);
        }
    }

    #[test]
    fn unchanged_state_needs_no_redraw_and_a_new_shape_does() {
        let s = sprite_px();
        let mut c = Cursor::new();
        c.update(Some(sprite(&s)), 10, 10, true);
        assert_eq!(c.update(Some(sprite(&s)), 10, 10, true), [None, None]);
        let mut other = s.clone();
        other[0] = 0xff12_3456;
        let a = Some(Area::new(8, 9, 6, 5));
        assert_eq!(c.update(Some(sprite(&other)), 10, 10, true), [a, a]);
    }

    #[test]
    fn areas_intersect() {
        let a = Area::new(-5, -5, 10, 10);
        assert_eq!(a.intersect(&Area::new(0, 0, 20, 20)), Area::new(0, 0, 5, 5));
        assert!(a.intersect(&Area::new(5, 0, 3, 3)).is_empty());
        let far = Area::new(i32::MAX - 1, i32::MAX - 1, u32::MAX, u32::MAX);
        assert_eq!(
            far.intersect(&Area::new(i32::MAX - 3, i32::MAX - 3, 3, 3)),
            Area::new(i32::MAX - 1, i32::MAX - 1, 1, 1)
        );
    }
}
