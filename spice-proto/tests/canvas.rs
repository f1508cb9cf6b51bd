//! Software canvas: exact pixels for every operation on small surfaces, plus robustness.

use spice_proto::canvas::*;

fn canvas_with(id: u32, w: u32, h: u32, fmt: SurfaceFormat) -> Canvas {
    let mut c = Canvas::new(Limits::default());
    c.create_surface(id, w, h, fmt).unwrap();
    c
}

fn all(c: &Canvas, id: u32) -> Vec<u32> {
    c.surface(id).unwrap().data().to_vec()
}

fn fill_solid(c: &mut Canvas, id: u32, r: Rect, color: u32) {
    c.fill(id, r, Clip::None, &FillOp { brush: Brush::Solid(color), rop: Ropd::OP_PUT, mask: None }).unwrap();
}

/// Writes distinct values 0..w*h into the surface.
fn numbered(c: &mut Canvas, id: u32) -> Vec<u32> {
    let s = c.surface(id).unwrap();
    let (w, h) = (s.width(), s.height());
    let px: Vec<u32> = (0..w * h).collect();
    c.write_rect(id, Rect::new(0, 0, w as i32, h as i32), &px).unwrap();
    px
}

fn put(src: Source<'_>, src_area: Rect) -> CopyOp<'_> {
    CopyOp { src, src_area, rop: Ropd::OP_PUT, scale: ScaleMode::Nearest, mask: None }
}

#[test]
fn budget_is_enforced() {
    let mut c = Canvas::new(Limits { max_surface_bytes: 4 * 100, max_total_bytes: 4 * 150, max_clip_rects: 4 });
    assert_eq!(
        c.create_surface(0, 11, 10, SurfaceFormat::Xrgb32),
        Err(CanvasError::TooLarge { bytes: 440, limit: 400 })
    );
    c.create_surface(0, 10, 10, SurfaceFormat::Xrgb32).unwrap();
    assert!(matches!(c.create_surface(1, 10, 6, SurfaceFormat::A8), Err(CanvasError::TooLarge { .. })));
    c.create_surface(1, 10, 5, SurfaceFormat::A8).unwrap();
    assert_eq!(c.bytes_in_use(), 600);
    assert_eq!(c.create_surface(1, 1, 1, SurfaceFormat::A8), Err(CanvasError::SurfaceExists(1)));
    assert_eq!(c.create_surface(2, 0, 1, SurfaceFormat::A8), Err(CanvasError::EmptySurface));
    assert!(matches!(c.create_surface(2, u32::MAX, u32::MAX, SurfaceFormat::A8), Err(CanvasError::TooLarge { .. })));
    c.destroy_surface(1).unwrap();
    assert_eq!(c.bytes_in_use(), 400);
    assert_eq!(c.destroy_surface(1), Err(CanvasError::UnknownSurface(1)));
    assert!(c.primary().is_some());
    // Too many clip rects.
    let rects = [Rect::new(0, 0, 1, 1); 5];
    let e = c.fill(
        0,
        Rect::new(0, 0, 5, 5),
        Clip::Rects(&rects),
        &FillOp { brush: Brush::Solid(1), rop: Ropd::OP_PUT, mask: None },
    );
    assert_eq!(e, Err(CanvasError::TooManyClipRects(5)));
    assert_eq!(
        c.fill(9, Rect::new(0, 0, 1, 1), Clip::None, &FillOp { brush: Brush::None, rop: Ropd::OP_PUT, mask: None }),
        Err(CanvasError::UnknownSurface(9))
    );
    assert!(!format!("{}", CanvasError::TooLarge { bytes: 1, limit: 0 }).is_empty());
}

#[test]
fn copy_put_with_clip_rects() {
    let mut c = canvas_with(0, 6, 4, SurfaceFormat::Xrgb32);
    let px: Vec<u32> = (100..124).collect();
    let img = Image::new(6, 4, 6, &px, false).unwrap();
    // Two overlapping clip rects; the overlap must not matter for PUT, and the union
    // is what gets drawn.
    let clip = [Rect::new(0, 0, 2, 2), Rect::new(1, 1, 3, 3)];
    c.copy(0, Rect::new(0, 0, 6, 4), Clip::Rects(&clip), &put(Source::Image(img), Rect::new(0, 0, 6, 4))).unwrap();
    let got = all(&c, 0);
    #[rustfmt::skip]
    let want = [
        100, 101, 0, 0, 0, 0,
        106, 107, 108, 0, 0, 0,
        0, 113, 114, 0, 0, 0,
        0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(got, want);
    assert_eq!(c.take_damage(0), vec![Rect::new(0, 0, 6, 4)]); // creation damage covers it
    assert!(c.take_damage(0).is_empty());
}

#[test]
fn copy_offset_and_outside_source_is_clipped() {
    let mut c = canvas_with(0, 4, 3, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 4, 3), 0xeeee);
    let px: Vec<u32> = (1..=4).collect(); // 2x2
    let img = Image::new(2, 2, 2, &px, false).unwrap();
    c.take_damage(0);
    // Source area starts at (1,1): only pixel 4 is inside the image.
    c.copy(0, Rect::new(1, 0, 3, 2), Clip::None, &put(Source::Image(img), Rect::new(1, 1, 3, 3))).unwrap();
    #[rustfmt::skip]
    let want = [
        0xeeee, 4, 0xeeee, 0xeeee,
        0xeeee, 0xeeee, 0xeeee, 0xeeee,
        0xeeee, 0xeeee, 0xeeee, 0xeeee,
    ];
    assert_eq!(all(&c, 0), want);
    assert_eq!(c.take_damage(0), vec![Rect::new(1, 0, 3, 2)]);
    // Bad source areas.
    let e = c.copy(0, Rect::new(0, 0, 2, 2), Clip::None, &put(Source::Image(img), Rect::new(2, 0, 0, 2)));
    assert_eq!(e, Err(CanvasError::BadSourceArea));
    // Empty bbox: fine, nothing happens.
    c.copy(0, Rect::new(3, 3, 1, 1), Clip::None, &put(Source::Image(img), Rect::new(2, 0, 0, 2))).unwrap();
    assert!(c.take_damage(0).is_empty());
    assert!(Image::new(3, 2, 3, &px, false).is_err());
    assert!(Image::new(2, 2, 1, &px, false).is_err());
}

#[test]
fn copy_from_surface_and_self_overlap() {
    let mut c = canvas_with(0, 5, 5, SurfaceFormat::Xrgb32);
    let before = numbered(&mut c, 0);
    // Self copy shifted right/down by one: must read the original pixels.
    c.copy(0, Rect::new(1, 1, 5, 5), Clip::None, &put(Source::Surface(0), Rect::new(0, 0, 4, 4))).unwrap();
    let got = all(&c, 0);
    for y in 0..5 {
        for x in 0..5 {
            let want = if x >= 1 && y >= 1 { before[(y - 1) * 5 + x - 1] } else { before[y * 5 + x] };
            assert_eq!(got[y * 5 + x], want, "({x},{y})");
        }
    }
    c.create_surface(7, 2, 1, SurfaceFormat::Xrgb32).unwrap();
    c.copy(7, Rect::new(0, 0, 2, 1), Clip::None, &put(Source::Surface(0), Rect::new(3, 4, 5, 5))).unwrap();
    assert_eq!(all(&c, 7), vec![before[3 * 5 + 2], before[3 * 5 + 3]]);
    assert_eq!(
        c.copy(7, Rect::new(0, 0, 1, 1), Clip::None, &put(Source::Surface(3), Rect::new(0, 0, 1, 1))),
        Err(CanvasError::UnknownSurface(3))
    );
}

fn check_copy_bits(dx: i32, dy: i32) {
    let (w, h) = (7usize, 6usize);
    let mut c = canvas_with(0, w as u32, h as u32, SurfaceFormat::Xrgb32);
    let before = numbered(&mut c, 0);
    // Clip with two rects so the ordering across rectangles matters too.
    let clip = [Rect::new(0, 0, 7, 3), Rect::new(2, 3, 5, 6)];
    let bbox = Rect::new(1 + dx, 1 + dy, 6 + dx, 5 + dy);
    c.copy_bits(0, bbox, Clip::Rects(&clip), Point::new(1, 1)).unwrap();
    let got = all(&c, 0);
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let inside_bbox = x >= bbox.left && x < bbox.right && y >= bbox.top && y < bbox.bottom;
            let inside_clip = clip.iter().any(|r| x >= r.left && x < r.right && y >= r.top && y < r.bottom);
            let (sx, sy) = (x - dx, y - dy);
            let src_ok = sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h;
            let want = if inside_bbox && inside_clip && src_ok {
                before[sy as usize * w + sx as usize]
            } else {
                before[y as usize * w + x as usize]
            };
            assert_eq!(got[y as usize * w + x as usize], want, "d=({dx},{dy}) at ({x},{y})");
        }
    }
}

#[test]
fn copy_bits_overlap_all_directions() {
    for (dx, dy) in [(1, 1), (-1, 1), (1, -1), (-1, -1), (2, 0), (-2, 0), (0, 2), (0, -2), (3, -1)] {
        check_copy_bits(dx, dy);
    }
}

#[test]
fn fill_rops_truth_table() {
    // Destination 0b1010 pattern per pixel, brush 0b1100: each ROP gives its table.
    let d0 = 0x0000_00aa_u32;
    let b = 0x0000_00cc_u32;
    let cases: &[(u16, u32)] = &[
        (Ropd::OP_PUT.0, 0xcc),
        (Ropd::OP_PUT.0 | Ropd::INVERS_BRUSH.0, !0xcc),
        (Ropd::OP_PUT.0 | Ropd::INVERS_SRC.0, 0xcc), // INVERS_SRC is not the brush's bit
        (Ropd::OP_OR.0, 0xee),
        (Ropd::OP_AND.0, 0x88),
        (Ropd::OP_XOR.0, 0x66),
        (Ropd::OP_XOR.0 | Ropd::INVERS_RES.0, !0x66),
        (Ropd::OP_AND.0 | Ropd::INVERS_DEST.0, 0xcc & !0xaa),
        (Ropd::OP_OR.0 | Ropd::INVERS_BRUSH.0 | Ropd::INVERS_RES.0, !(!0xccu32 | 0xaa)),
        (Ropd::OP_BLACKNESS.0, 0),
        (Ropd::OP_WHITENESS.0, 0xffff_ffff),
        (Ropd::OP_INVERS.0, !0xaa),
    ];
    for &(rop, want) in cases {
        let mut c = canvas_with(0, 2, 1, SurfaceFormat::Xrgb32);
        fill_solid(&mut c, 0, Rect::new(0, 0, 2, 1), d0);
        c.fill(0, Rect::new(1, 0, 2, 1), Clip::None, &FillOp { brush: Brush::Solid(b), rop: Ropd(rop), mask: None })
            .unwrap();
        assert_eq!(all(&c, 0), vec![d0, want], "rop {rop:#x}");
    }
    // Brush NONE behaves as solid 0 (so INVERS still inverts).
    let mut c = canvas_with(0, 1, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 1, 1), 0x0f);
    c.fill(0, Rect::new(0, 0, 1, 1), Clip::None, &FillOp { brush: Brush::None, rop: Ropd::OP_OR, mask: None }).unwrap();
    assert_eq!(all(&c, 0), vec![0x0f]);
    c.fill(0, Rect::new(0, 0, 1, 1), Clip::None, &FillOp { brush: Brush::None, rop: Ropd::OP_INVERS, mask: None })
        .unwrap();
    assert_eq!(all(&c, 0), vec![!0x0f]);
}

#[test]
fn copy_rops_with_source() {
    let mut c = canvas_with(0, 2, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 2, 1), 0xf0f0);
    let px = [0xff00u32, 0x0ff0];
    let img = Image::new(2, 1, 2, &px, false).unwrap();
    let mut op = put(Source::Image(img), Rect::new(0, 0, 2, 1));
    op.rop = Ropd::OP_XOR;
    c.copy(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![0xff00 ^ 0xf0f0, 0x0ff0 ^ 0xf0f0]);
    op.rop = Ropd::OP_PUT | Ropd::INVERS_SRC;
    c.copy(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![!0xff00, !0x0ff0]);
    // Blend is copy.
    op.rop = Ropd::OP_AND | Ropd::INVERS_DEST;
    c.blend(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![0xff00 & 0xff00, 0x0ff0 & 0x0ff0]);
}

#[test]
fn mask_with_pos_offset_and_invers() {
    // 4x2 mask, MSB first, top-down:   row0 = 1010, row1 = 0110
    let bits = [0b1010_0000u8, 0b0110_0000];
    let bm = Bitmap1::new(4, 2, 1, &bits, BitOrder::MsbFirst, true).unwrap();
    let run = |invers: bool, pos: Point| {
        let mut c = canvas_with(0, 4, 2, SurfaceFormat::Xrgb32);
        let mask = Mask { invers, pos, bits: MaskBits::Bitmap(bm) };
        c.fill(
            0,
            Rect::new(0, 0, 4, 2),
            Clip::None,
            &FillOp { brush: Brush::Solid(1), rop: Ropd::OP_PUT, mask: Some(mask) },
        )
        .unwrap();
        all(&c, 0)
    };
    assert_eq!(run(false, Point::new(0, 0)), vec![1, 0, 1, 0, 0, 1, 1, 0]);
    assert_eq!(run(true, Point::new(0, 0)), vec![0, 1, 0, 1, 1, 0, 0, 1]);
    // pos (1,1): destination (0,0) reads mask (1,1); mask is 4x2, so only row 0 of the
    // destination is covered, and columns 0..3.
    assert_eq!(run(false, Point::new(1, 1)), vec![1, 1, 0, 0, 0, 0, 0, 0]);
    // Inverted: outside the mask is never drawn.
    assert_eq!(run(true, Point::new(1, 1)), vec![0, 0, 1, 0, 0, 0, 0, 0]);
    // LSB-first, bottom-up gives the same pixels for the mirrored data.
    let bits2 = [0b0000_0110u8, 0b0000_0101];
    let bm2 = Bitmap1::new(4, 2, 1, &bits2, BitOrder::LsbFirst, false).unwrap();
    let mut c = canvas_with(0, 4, 2, SurfaceFormat::Xrgb32);
    let mask = Mask { invers: false, pos: Point::new(0, 0), bits: MaskBits::Bitmap(bm2) };
    c.blackness(0, Rect::new(0, 0, 4, 2), Clip::None, None).unwrap();
    c.whiteness(0, Rect::new(0, 0, 4, 2), Clip::None, Some(&mask)).unwrap();
    let w = 0xffff_ffff;
    assert_eq!(all(&c, 0), vec![w, 0, w, 0, 0, w, w, 0]);
    c.invers(0, Rect::new(0, 0, 4, 1), Clip::None, Some(&mask)).unwrap();
    assert_eq!(all(&c, 0), vec![0, 0, 0, 0, 0, w, w, 0]);
    assert!(Bitmap1::new(9, 2, 1, &bits, BitOrder::MsbFirst, true).is_err());
    // A mask from an A1 surface.
    c.create_surface(5, 2, 1, SurfaceFormat::A1).unwrap();
    fill_solid(&mut c, 5, Rect::new(1, 0, 2, 1), 1);
    assert_eq!(all(&c, 5), vec![0, 0xff00_0000]);
    let mask = Mask { invers: false, pos: Point::new(0, 0), bits: MaskBits::Surface(5) };
    c.blackness(0, Rect::new(0, 0, 4, 2), Clip::None, None).unwrap();
    c.whiteness(0, Rect::new(0, 0, 4, 2), Clip::None, Some(&mask)).unwrap();
    assert_eq!(all(&c, 0), vec![0, w, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn scaling_nearest_is_exact() {
    let px = [1u32, 2, 3, 4];
    let img = Image::new(4, 1, 4, &px, false).unwrap();
    // Down 4 -> 2 picks source columns 0 and 2 (pixman samples at centres, rounding down).
    let mut c = canvas_with(0, 4, 2, SurfaceFormat::Xrgb32);
    c.copy(0, Rect::new(0, 0, 2, 1), Clip::None, &put(Source::Image(img), Rect::new(0, 0, 4, 1))).unwrap();
    // Up 2 -> 4 from columns 1..3: 2 2 3 3.
    c.copy(0, Rect::new(0, 1, 4, 2), Clip::None, &put(Source::Image(img), Rect::new(1, 0, 3, 1))).unwrap();
    let got: Vec<u32> = all(&c, 0).iter().map(|p| p & 0xff_ffff).collect();
    assert_eq!(got, vec![1, 3, 0, 0, 2, 2, 3, 3]);
    // Upscale 1 -> 3 rows, 2 -> 3 columns.
    let px = [10u32, 20];
    let img = Image::new(2, 1, 2, &px, false).unwrap();
    let mut c = canvas_with(0, 3, 3, SurfaceFormat::Xrgb32);
    c.copy(0, Rect::new(0, 0, 3, 3), Clip::None, &put(Source::Image(img), Rect::new(0, 0, 2, 1))).unwrap();
    let got: Vec<u32> = all(&c, 0).iter().map(|p| p & 0xff_ffff).collect();
    // fs = 2/3 → 43690; centres 21845, 65535, 109225 → columns 0, 0, 1.
    assert_eq!(got, vec![10, 10, 20, 10, 10, 20, 10, 10, 20]);
}

#[test]
fn scaling_bilinear_matches_pixman() {
    let px = [0x000000u32, 0x0000ff];
    let img = Image::new(2, 1, 2, &px, false).unwrap();
    let mut c = canvas_with(0, 4, 1, SurfaceFormat::Argb32);
    let op = CopyOp {
        src: Source::Image(img),
        src_area: Rect::new(0, 0, 2, 1),
        rop: Ropd::OP_PUT,
        scale: ScaleMode::Interpolate,
        mask: None,
    };
    c.copy(0, Rect::new(0, 0, 4, 1), Clip::None, &op).unwrap();
    // Edge texels blend with transparent black outside the image (REPEAT_NONE).
    assert_eq!(all(&c, 0), vec![0xbf00_0000, 0xff00_003f, 0xff00_00bf, 0xbf00_00bf]);
}

#[test]
fn transparent_key() {
    let px = [0x00123456u32, 0xff00ff00, 0xaa123456, 0x00000001];
    let img = Image::new(4, 1, 4, &px, false).unwrap();
    let mut c = canvas_with(0, 4, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 4, 1), 7);
    let op = TransparentOp { src: Source::Image(img), src_area: Rect::new(0, 0, 4, 1), true_color: 0xff123456 };
    c.transparent(0, Rect::new(0, 0, 4, 1), Clip::None, &op).unwrap();
    // The key compares 24 bits: both 0x..123456 pixels are skipped.
    assert_eq!(all(&c, 0), vec![7, 0xff00ff00, 7, 1]);
    // 16-bit destination: compared after truncation to 5 bits per channel.
    let mut c = canvas_with(0, 2, 1, SurfaceFormat::Rgb16_555);
    let px = [0x00_08_08_0fu32, 0x00_10_08_08];
    let img = Image::new(2, 1, 2, &px, false).unwrap();
    let op = TransparentOp { src: Source::Image(img), src_area: Rect::new(0, 0, 2, 1), true_color: 0x000c0c08 };
    c.transparent(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![0, 0x00_10_08_08]);
}

#[test]
fn alpha_blend_rounding() {
    let src = [0x8040_2010u32];
    let img = Image::new(1, 1, 1, &src, true).unwrap();
    let op = |alpha: u8, dest_has_alpha: bool| AlphaBlendOp {
        src: Source::Image(img),
        src_area: Rect::new(0, 0, 1, 1),
        alpha,
        flags: AlphaFlags { dest_has_alpha, src_surface_has_alpha: false },
    };
    let mut c = canvas_with(0, 1, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 1, 1), 0x00ff_ffff);
    c.alpha_blend(0, Rect::new(0, 0, 1, 1), Clip::None, &op(255, false)).unwrap();
    // s + d·(255−0x80)/255 with MUL_UN8 rounding: 0x40+127, 0x20+127, 0x10+127.
    assert_eq!(all(&c, 0), vec![0x00bf_9f8f]);
    fill_solid(&mut c, 0, Rect::new(0, 0, 1, 1), 0x00ff_ffff);
    c.alpha_blend(0, Rect::new(0, 0, 1, 1), Clip::None, &op(0x80, false)).unwrap();
    // s·0x80/255 = 0x40201008, then + 255·191/255.
    assert_eq!(all(&c, 0), vec![0x00df_cfc7]);
    // Against a destination with alpha.
    let mut c = canvas_with(0, 1, 1, SurfaceFormat::Argb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 1, 1), 0x8080_8080);
    c.alpha_blend(0, Rect::new(0, 0, 1, 1), Clip::None, &op(255, true)).unwrap();
    assert_eq!(all(&c, 0), vec![0xc080_6050]);
    // xRGB destination with DEST_HAS_ALPHA uses its stored x byte as alpha.
    let mut c = canvas_with(0, 1, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 1, 1), 0x0080_8080);
    c.alpha_blend(0, Rect::new(0, 0, 1, 1), Clip::None, &op(255, true)).unwrap();
    assert_eq!(all(&c, 0), vec![0x8080_6050]);
    // Alpha 0 draws nothing.
    c.alpha_blend(0, Rect::new(0, 0, 1, 1), Clip::None, &op(0, true)).unwrap();
    assert_eq!(all(&c, 0), vec![0x8080_6050]);
}

#[test]
fn opaque_puts_then_brushes() {
    let px = [0x0000_ff0fu32];
    let img = Image::new(1, 1, 1, &px, false).unwrap();
    let mut c = canvas_with(0, 1, 1, SurfaceFormat::Xrgb32);
    let op = OpaqueOp {
        src: Source::Image(img),
        src_area: Rect::new(0, 0, 1, 1),
        brush: Brush::Solid(0x0000_f0ff),
        rop: Ropd::OP_AND | Ropd::INVERS_SRC,
        scale: ScaleMode::Nearest,
        mask: None,
    };
    c.opaque(0, Rect::new(0, 0, 1, 1), Clip::None, &op).unwrap();
    // brush AND NOT src.
    assert_eq!(all(&c, 0), vec![0x0000_f0ff & !0x0000_ff0f]);
}

#[test]
fn rop3_truth_table_and_pattern() {
    let s = [0xccccu32, 0xcccc];
    let img = Image::new(2, 1, 2, &s, false).unwrap();
    for code in [0x00u8, 0xcc, 0xf0, 0x66, 0x5a, 0xb8, 0xe2, 0xff] {
        let mut c = canvas_with(0, 2, 1, SurfaceFormat::Xrgb32);
        fill_solid(&mut c, 0, Rect::new(0, 0, 2, 1), 0xaaaa);
        let op = Rop3Op {
            src: Source::Image(img),
            src_area: Rect::new(0, 0, 2, 1),
            brush: Brush::Solid(0xf0f0),
            rop3: code,
            scale: ScaleMode::Nearest,
            mask: None,
        };
        c.rop3(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
        // Low 16 bits are the code repeated; the high bits see p = s = d = 0.
        let hi = if code & 1 != 0 { 0xffff_0000 } else { 0 };
        assert_eq!(all(&c, 0), vec![hi | (code as u32 * 0x101); 2], "rop3 {code:#x}");
    }
    // Pattern brush tiles from its position.
    let tile = [1u32, 2, 3];
    let t = Image::new(3, 1, 3, &tile, false).unwrap();
    let src = [0u32; 4];
    let simg = Image::new(4, 1, 4, &src, false).unwrap();
    let mut c = canvas_with(0, 4, 1, SurfaceFormat::Xrgb32);
    let op = Rop3Op {
        src: Source::Image(simg),
        src_area: Rect::new(0, 0, 4, 1),
        brush: Brush::Pattern { image: Source::Image(t), pos: Point::new(1, 0) },
        rop3: 0xf0,
        scale: ScaleMode::Nearest,
        mask: None,
    };
    c.rop3(0, Rect::new(0, 0, 4, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![3, 1, 2, 3]);
    // Unscaled source area outside the image is refused.
    let bad = Rop3Op { src_area: Rect::new(1, 0, 5, 1), ..op };
    assert_eq!(c.rop3(0, Rect::new(0, 0, 4, 1), Clip::None, &bad), Err(CanvasError::BadSourceArea));
}

#[test]
fn pattern_fill_tiles_with_negative_offsets() {
    let tile = [1u32, 2, 3, 4]; // 2x2
    let t = Image::new(2, 2, 2, &tile, false).unwrap();
    let mut c = canvas_with(0, 3, 2, SurfaceFormat::Xrgb32);
    let op = FillOp {
        brush: Brush::Pattern { image: Source::Image(t), pos: Point::new(-3, 1) },
        rop: Ropd::OP_PUT,
        mask: None,
    };
    c.fill(0, Rect::new(0, 0, 3, 2), Clip::None, &op).unwrap();
    // Tile x = (x+3) mod 2, tile y = (y-1) mod 2.
    assert_eq!(all(&c, 0), vec![4, 3, 4, 2, 1, 2]);
    op.rop.contains(Ropd::OP_PUT).then_some(()).unwrap();
}

#[test]
fn sixteen_bit_surfaces_quantise() {
    let mut c = canvas_with(0, 2, 1, SurfaceFormat::Rgb16_565);
    fill_solid(&mut c, 0, Rect::new(0, 0, 2, 1), 0xf81f); // red + blue full
    assert_eq!(all(&c, 0), vec![0x00ff_00ff; 2]);
    c.fill(
        0,
        Rect::new(1, 0, 2, 1),
        Clip::None,
        &FillOp { brush: Brush::Solid(0x07e0 | 0x001f), rop: Ropd::OP_XOR, mask: None },
    )
    .unwrap();
    // 0xf81f ^ 0x07ff = 0xffe0: red + green.
    assert_eq!(all(&c, 0), vec![0x00ff_00ff, 0x00ff_ff00]);
    // A 32-bit image is truncated to 5/6/5 bits.
    let px = [0x0012_3456u32];
    let img = Image::new(1, 1, 1, &px, false).unwrap();
    c.copy(0, Rect::new(0, 0, 1, 1), Clip::None, &put(Source::Image(img), Rect::new(0, 0, 1, 1))).unwrap();
    let r = 0x12 >> 3;
    let g = 0x34 >> 2;
    let b = 0x56 >> 3;
    let want = ((r << 3 | r >> 2) << 16) | ((g << 2 | g >> 4) << 8) | (b << 3 | b >> 2);
    assert_eq!(c.surface(0).unwrap().pixel(0, 0), Some(want));
}

fn stroke_pixels(from: Point, to: Point, w: u32, h: u32) -> Vec<(u32, u32)> {
    let mut c = canvas_with(0, w, h, SurfaceFormat::Xrgb32);
    let pts = [PointFix { x: from.x * 16, y: from.y * 16 }, PointFix { x: to.x * 16, y: to.y * 16 }];
    let path = [PathSeg { flags: PathSeg::BEGIN | PathSeg::END, points: &pts }];
    let op = StrokeOp {
        path: &path,
        attr: LineAttr::default(),
        brush: Brush::Solid(1),
        fore_mode: Ropd::OP_PUT,
        back_mode: Ropd::OP_PUT,
    };
    c.stroke(0, Rect::new(0, 0, w as i32, h as i32), Clip::None, &op).unwrap();
    let s = c.surface(0).unwrap();
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if s.pixel(x, y) == Some(1) {
                out.push((x, y));
            }
        }
    }
    out
}

#[test]
fn zero_width_lines_like_x() {
    let p = Point::new;
    // Horizontal: end point excluded (CapNotLast).
    assert_eq!(stroke_pixels(p(0, 0), p(4, 0), 6, 3), vec![(0, 0), (1, 0), (2, 0), (3, 0)]);
    // Shallow slope with an exact tie at x = 2: rounds down the y step going right...
    assert_eq!(stroke_pixels(p(0, 0), p(4, 1), 6, 3), vec![(0, 0), (1, 0), (2, 1), (3, 1)]);
    // ...and the same middle pixel going left (the bias keeps lines reversible).
    assert_eq!(stroke_pixels(p(4, 1), p(0, 0), 6, 3), vec![(1, 0), (2, 1), (3, 1), (4, 1)]);
    // Steep.
    assert_eq!(stroke_pixels(p(0, 0), p(1, 3), 3, 4), vec![(0, 0), (0, 1), (1, 2)]);
    // Diagonal.
    assert_eq!(stroke_pixels(p(3, 0), p(0, 3), 4, 4), vec![(3, 0), (2, 1), (1, 2)]);
    // Clipping by the surface gives the same pixels as a large surface, cropped.
    let big = stroke_pixels(p(-7, -3), p(25, 9), 40, 20);
    let small = stroke_pixels(p(-7, -3), p(25, 9), 10, 5);
    let cropped: Vec<(u32, u32)> = big.into_iter().filter(|&(x, y)| x < 10 && y < 5).collect();
    assert_eq!(small, cropped);
    // Huge coordinates are cheap and safe.
    let far = stroke_pixels(p(-100_000_000, 1), p(100_000_000, 1), 4, 3);
    assert_eq!(far, vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
}

#[test]
fn polyline_close_and_xor() {
    let mut c = canvas_with(0, 4, 4, SurfaceFormat::Xrgb32);
    let f = |x: i32, y: i32| PointFix { x: x * 16, y: y * 16 };
    let pts = [f(0, 0), f(3, 0), f(3, 3), f(0, 3)];
    let path = [PathSeg { flags: PathSeg::BEGIN | PathSeg::END | PathSeg::CLOSE, points: &pts }];
    let op = StrokeOp {
        path: &path,
        attr: LineAttr::default(),
        brush: Brush::Solid(0xff),
        fore_mode: Ropd::OP_XOR,
        back_mode: Ropd::OP_PUT,
    };
    c.stroke(0, Rect::new(0, 0, 4, 4), Clip::None, &op).unwrap();
    #[rustfmt::skip]
    let want = [
        0xff, 0xff, 0xff, 0xff,
        0xff, 0, 0, 0xff,
        0xff, 0, 0, 0xff,
        0xff, 0xff, 0xff, 0xff,
    ];
    // Each corner is drawn once: segments exclude their end point.
    assert_eq!(all(&c, 0), want);
    // A bad bezier is reported.
    let bz =
        [PathSeg { flags: PathSeg::BEGIN, points: &pts[..1] }, PathSeg { flags: PathSeg::BEZIER, points: &pts[..2] }];
    let op = StrokeOp { path: &bz, ..op };
    assert_eq!(c.stroke(0, Rect::new(0, 0, 4, 4), Clip::None, &op), Err(CanvasError::BadPath));
}

#[test]
fn text_a1_and_a4_glyphs() {
    let mut c = canvas_with(0, 4, 2, SurfaceFormat::Xrgb32);
    // 3x2 glyph, rows stored bottom-up: bottom row 100, top row 011.
    let data = [0b1000_0000u8, 0b0110_0000];
    let g = [Glyph { render_pos: Point::new(1, 1), glyph_origin: Point::new(0, -1), width: 3, height: 2, data: &data }];
    let op = TextOp {
        string: GlyphString { depth: GlyphDepth::A1, glyphs: &g },
        back_area: Rect::new(0, 0, 4, 1),
        fore_brush: Brush::Solid(0x0011_2233),
        back_brush: Brush::Solid(0x0000_0009),
        fore_mode: Ropd::OP_PUT,
        back_mode: Ropd::OP_PUT,
    };
    c.text(0, Rect::new(0, 0, 4, 2), Clip::None, &op).unwrap();
    let f = 0x0011_2233;
    assert_eq!(all(&c, 0), vec![9, 9, f, f, 0, f, 0, 0]);
    // A4: coverage is the nibble × 16; OVER a white background.
    let mut c = canvas_with(0, 2, 1, SurfaceFormat::Xrgb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 2, 1), 0x00ff_ffff);
    let data = [0x8f_u8];
    let g = [Glyph { render_pos: Point::new(0, 0), glyph_origin: Point::new(0, 0), width: 2, height: 1, data: &data }];
    let op = TextOp {
        string: GlyphString { depth: GlyphDepth::A4, glyphs: &g },
        back_area: Rect::default(),
        fore_brush: Brush::Solid(0),
        back_brush: Brush::None,
        fore_mode: Ropd::OP_XOR, // ignored without background
        back_mode: Ropd::OP_PUT,
    };
    c.text(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    // 0x80: 255·(255−128)/255 = 127; 0xf0: 255·15/255 = 15.
    assert_eq!(all(&c, 0), vec![0x007f_7f7f, 0x000f_0f0f]);
    let short =
        [Glyph { render_pos: Point::new(0, 0), glyph_origin: Point::new(0, 0), width: 4, height: 1, data: &data }];
    let op = TextOp { string: GlyphString { depth: GlyphDepth::A4, glyphs: &short }, ..op };
    assert_eq!(c.text(0, Rect::new(0, 0, 2, 1), Clip::None, &op), Err(CanvasError::BadGlyph));
}

#[test]
fn composite_over_and_src() {
    let src = [0x8000_0080u32, 0xff00_ff00];
    let img = Image::new(2, 1, 2, &src, true).unwrap();
    let mut c = canvas_with(0, 3, 1, SurfaceFormat::Argb32);
    fill_solid(&mut c, 0, Rect::new(0, 0, 3, 1), 0xffff_0000);
    let op = CompositeOp {
        flags: 3, // OVER
        src: Source::Image(img),
        mask: None,
        src_transform: None,
        mask_transform: None,
        src_origin: Point::new(0, 0),
        mask_origin: Point::new(0, 0),
    };
    c.composite(0, Rect::new(0, 0, 3, 1), Clip::None, &op).unwrap();
    // ff0000 under 50% blue: red 255·127/255 = 127; third pixel: no source (transparent).
    assert_eq!(all(&c, 0), vec![0xff7f_0080, 0xff00_ff00, 0xffff_0000]);
    let op = CompositeOp { flags: 1, src_origin: Point::new(1, 0), ..op }; // SRC, shifted
    c.composite(0, Rect::new(0, 0, 3, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![0xff00_ff00, 0, 0]);
    // With an A8 surface as mask.
    c.create_surface(3, 3, 1, SurfaceFormat::A8).unwrap();
    fill_solid(&mut c, 3, Rect::new(0, 0, 3, 1), 0x80);
    fill_solid(&mut c, 0, Rect::new(0, 0, 3, 1), 0xff00_0000);
    let solid = [0xffff_ffffu32];
    let simg = Image::new(1, 1, 1, &solid, true).unwrap();
    let op = CompositeOp {
        flags: 3 | CompositeOp::HAS_MASK | (1 << 14), // OVER, src repeat NORMAL
        src: Source::Image(simg),
        mask: Some(Source::Surface(3)),
        ..op
    };
    c.composite(0, Rect::new(0, 0, 3, 1), Clip::None, &op).unwrap();
    assert_eq!(all(&c, 0), vec![0xff80_8080; 3]);
    let bad = CompositeOp { flags: 0x30, ..op };
    assert_eq!(c.composite(0, Rect::new(0, 0, 3, 1), Clip::None, &bad), Err(CanvasError::UnsupportedCompositeOp(0x30)));
}

#[test]
fn composite_transform_scales() {
    let src = [1u32, 2, 3, 4];
    let img = Image::new(4, 1, 4, &src, false).unwrap();
    let mut c = canvas_with(0, 2, 1, SurfaceFormat::Xrgb32);
    let op = CompositeOp {
        flags: 1 | CompositeOp::HAS_SRC_TRANSFORM | (3 << 8), // SRC, NEAREST
        src: Source::Image(img),
        mask: None,
        src_transform: Some(Transform { t00: 2 << 16, t01: 0, t02: 0, t10: 0, t11: 1 << 16, t12: 0 }),
        mask_transform: None,
        src_origin: Point::new(0, 0),
        mask_origin: Point::new(0, 0),
    };
    c.composite(0, Rect::new(0, 0, 2, 1), Clip::None, &op).unwrap();
    // Centres 0.5·2 = 1.0 → column 0 (rounds down), 1.5·2 = 3.0 → column 2.
    assert_eq!(all(&c, 0), vec![1, 3]);
}

#[test]
fn damage_tracking_and_read_rect() {
    let mut c = canvas_with(0, 8, 8, SurfaceFormat::Xrgb32);
    c.take_all_damage();
    fill_solid(&mut c, 0, Rect::new(-5, -5, 2, 3), 5);
    fill_solid(&mut c, 0, Rect::new(6, 6, 100, 100), 6);
    // A clipped-away operation records nothing.
    fill_solid(&mut c, 0, Rect::new(20, 20, 30, 30), 7);
    let d = c.take_all_damage();
    assert_eq!(d.get(&0).unwrap(), &vec![Rect::new(0, 0, 2, 3), Rect::new(6, 6, 8, 8)]);
    assert_eq!(c.read_rect(0, Rect::new(1, 2, 3, 3)).unwrap(), vec![5, 0]);
    assert_eq!(c.read_rect(0, Rect::new(7, 7, 9, 8)), Err(CanvasError::BadRect));
    assert_eq!(c.read_rect(0, Rect::new(3, 3, 3, 3)).unwrap(), Vec::<u32>::new());
}

/// A small deterministic generator (xorshift) for geometry fuzzing.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 0
    }
    fn coord(&mut self) -> i32 {
        match self.next() % 6 {
            0 => i32::MIN + (self.next() % 3) as i32,
            1 => i32::MAX - (self.next() % 3) as i32,
            2 => (self.next() % 2000) as i32 - 1000,
            _ => (self.next() % 24) as i32 - 4,
        }
    }
    fn rect(&mut self) -> Rect {
        Rect::new(self.coord(), self.coord(), self.coord(), self.coord())
    }
}

#[test]
fn random_geometry_never_panics() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut c = canvas_with(0, 16, 12, SurfaceFormat::Xrgb32);
    c.create_surface(1, 5, 7, SurfaceFormat::A8).unwrap();
    c.create_surface(2, 9, 4, SurfaceFormat::Rgb16_555).unwrap();
    let px: Vec<u32> = (0..30).map(|i| i * 0x0101_0101).collect();
    let bits = [0x5au8; 8];
    let glyph_data = [0xa5u8; 16];
    for _ in 0..3000 {
        let dst = (rng.next() % 4) as u32; // 3 is unknown
        let img = Image::new(6, 5, 6, &px, rng.coin()).unwrap();
        let src = match rng.next() % 3 {
            0 => Source::Image(img),
            _ => Source::Surface((rng.next() % 4) as u32),
        };
        let bbox = rng.rect();
        let src_area = if rng.coin() { rng.rect() } else { Rect::new(0, 0, bbox.width() as i32, bbox.height() as i32) };
        let clip_rects = [rng.rect(), rng.rect(), rng.rect()];
        let clip = if rng.coin() { Clip::None } else { Clip::Rects(&clip_rects) };
        let bm = Bitmap1::new(7, 8, 1, &bits, BitOrder::LsbFirst, rng.coin()).unwrap();
        let mask = match rng.next() % 3 {
            0 => None,
            1 => {
                Some(Mask { invers: rng.coin(), pos: Point::new(rng.coord(), rng.coord()), bits: MaskBits::Bitmap(bm) })
            }
            _ => Some(Mask {
                invers: false,
                pos: Point::new(rng.coord(), rng.coord()),
                bits: MaskBits::Surface((rng.next() % 4) as u32),
            }),
        };
        let brush = match rng.next() % 3 {
            0 => Brush::None,
            1 => Brush::Solid(rng.next() as u32),
            _ => Brush::Pattern { image: src, pos: Point::new(rng.coord(), rng.coord()) },
        };
        let rop = Ropd((rng.next() & 0x7ff) as u16);
        let scale = if rng.coin() { ScaleMode::Nearest } else { ScaleMode::Interpolate };
        let _ = match rng.next() % 13 {
            0 => c.fill(dst, bbox, clip, &FillOp { brush, rop, mask }),
            1 => c.copy(dst, bbox, clip, &CopyOp { src, src_area, rop, scale, mask }),
            2 => c.opaque(dst, bbox, clip, &OpaqueOp { src, src_area, brush, rop, scale, mask }),
            3 => c.rop3(dst, bbox, clip, &Rop3Op { src, src_area, brush, rop3: rng.next() as u8, scale, mask }),
            4 => c.transparent(dst, bbox, clip, &TransparentOp { src, src_area, true_color: rng.next() as u32 }),
            5 => c.alpha_blend(
                dst,
                bbox,
                clip,
                &AlphaBlendOp {
                    src,
                    src_area,
                    alpha: rng.next() as u8,
                    flags: AlphaFlags { dest_has_alpha: rng.coin(), src_surface_has_alpha: rng.coin() },
                },
            ),
            6 => c.copy_bits(dst, bbox, clip, Point::new(rng.coord(), rng.coord())),
            7 => c.blackness(dst, bbox, clip, mask.as_ref()),
            8 => c.invers(dst, bbox, clip, mask.as_ref()),
            9 => {
                let pts: Vec<PointFix> =
                    (0..4).map(|_| PointFix { x: rng.coord().wrapping_mul(16), y: rng.coord() }).collect();
                let style = [rng.coord(), rng.coord()];
                let path = [
                    PathSeg { flags: PathSeg::BEGIN, points: &pts[..1] },
                    PathSeg { flags: (rng.next() % 32) as u32, points: &pts[1..] },
                ];
                let attr = LineAttr { flags: (rng.next() % 16) as u8, style: &style };
                c.stroke(dst, bbox, clip, &StrokeOp { path: &path, attr, brush, fore_mode: rop, back_mode: rop })
            }
            10 => {
                let g = [
                    Glyph {
                        render_pos: Point::new(rng.coord(), rng.coord()),
                        glyph_origin: Point::new(rng.coord(), 0),
                        width: 5,
                        height: 3,
                        data: &glyph_data,
                    },
                    Glyph {
                        render_pos: Point::new(rng.coord(), rng.coord()),
                        glyph_origin: Point::new(0, 0),
                        width: 4,
                        height: 4,
                        data: &glyph_data,
                    },
                ];
                let depth = [GlyphDepth::A1, GlyphDepth::A4, GlyphDepth::A8][(rng.next() % 3) as usize];
                c.text(
                    dst,
                    bbox,
                    clip,
                    &TextOp {
                        string: GlyphString { depth, glyphs: &g },
                        back_area: rng.rect(),
                        fore_brush: brush,
                        back_brush: brush,
                        fore_mode: rop,
                        back_mode: rop,
                    },
                )
            }
            11 => {
                let t = Transform {
                    t00: rng.next() as i32,
                    t01: rng.coord(),
                    t02: rng.next() as i32,
                    t10: rng.coord(),
                    t11: rng.next() as i32,
                    t12: rng.coord(),
                };
                c.composite(
                    dst,
                    bbox,
                    clip,
                    &CompositeOp {
                        flags: (rng.next() as u32) & 0x1ff_ff0f,
                        src,
                        mask: Some(src),
                        src_transform: Some(t),
                        mask_transform: Some(t),
                        src_origin: Point::new(rng.coord(), rng.coord()),
                        mask_origin: Point::new(rng.coord(), rng.coord()),
                    },
                )
            }
            _ => c.whiteness(dst, bbox, clip, mask.as_ref()),
        };
    }
}
