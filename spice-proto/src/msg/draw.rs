//! Draw commands of the display channel (`DRAW_*`) and their building
//! blocks: [`DisplayBase`], [`Clip`], [`Brush`], [`QMask`], paths, line
//! attributes and glyph strings.

use alloc::vec::Vec;

use super::image::Image;
use super::{MsgErrorKind, Point, Point16, PointFix, Reader, Rect, Result};

/// Raster operation descriptor bits (`SPICE_ROPD_*`).
pub mod ropd {
    /// Invert the source first.
    pub const INVERS_SRC: u16 = 1 << 0;
    /// Invert the brush first.
    pub const INVERS_BRUSH: u16 = 1 << 1;
    /// Invert the destination first.
    pub const INVERS_DEST: u16 = 1 << 2;
    /// Copy.
    pub const OP_PUT: u16 = 1 << 3;
    /// OR.
    pub const OP_OR: u16 = 1 << 4;
    /// AND.
    pub const OP_AND: u16 = 1 << 5;
    /// XOR.
    pub const OP_XOR: u16 = 1 << 6;
    /// Fill with black.
    pub const OP_BLACKNESS: u16 = 1 << 7;
    /// Fill with white.
    pub const OP_WHITENESS: u16 = 1 << 8;
    /// Invert the destination.
    pub const OP_INVERS: u16 = 1 << 9;
    /// Invert the result.
    pub const INVERS_RES: u16 = 1 << 10;
}

/// Mask flags (`SPICE_MASK_FLAGS_*`).
pub mod mask_flags {
    /// Use the inverted mask.
    pub const INVERS: u8 = 1 << 0;
}

/// Path segment flags (`SPICE_PATH_*`).
pub mod path_flags {
    /// Starts a new figure.
    pub const BEGIN: u8 = 1 << 0;
    /// Ends the figure.
    pub const END: u8 = 1 << 1;
    /// Closes the figure.
    pub const CLOSE: u8 = 1 << 3;
    /// Points are cubic Bézier control points.
    pub const BEZIER: u8 = 1 << 4;
}

/// Line attribute flags (`SPICE_LINE_FLAGS_*`).
pub mod line_flags {
    /// The style starts with a gap.
    pub const START_WITH_GAP: u8 = 1 << 2;
    /// Dashed: a style array follows.
    pub const STYLED: u8 = 1 << 3;
}

/// Glyph string flags (`SPICE_STRING_FLAGS_*`).
pub mod string_flags {
    /// 1 bpp glyphs.
    pub const RASTER_A1: u8 = 1 << 0;
    /// 4 bpp glyphs.
    pub const RASTER_A4: u8 = 1 << 1;
    /// 8 bpp glyphs.
    pub const RASTER_A8: u8 = 1 << 2;
    /// Glyph rows are top-down.
    pub const RASTER_TOP_DOWN: u8 = 1 << 3;
}

/// Alpha-blend flags (`SPICE_ALPHA_FLAGS_*`).
pub mod alpha_flags {
    /// The destination has alpha.
    pub const DEST_HAS_ALPHA: u8 = 1 << 0;
    /// The source surface has alpha.
    pub const SRC_SURFACE_HAS_ALPHA: u8 = 1 << 1;
}

/// Composite flags (`SPICE_COMPOSITE_*`): the low 8 bits are the operator.
pub mod composite_flags {
    /// Mask of the Porter-Duff / pixman operator.
    pub const OP_MASK: u32 = 0xff;
    /// Shift of the 3-bit source filter.
    pub const SRC_FILTER_SHIFT: u32 = 8;
    /// Shift of the 3-bit mask filter.
    pub const MASK_FILTER_SHIFT: u32 = 11;
    /// Shift of the 2-bit source repeat.
    pub const SRC_REPEAT_SHIFT: u32 = 14;
    /// Shift of the 2-bit mask repeat.
    pub const MASK_REPEAT_SHIFT: u32 = 16;
    /// Component alpha.
    pub const COMPONENT_ALPHA: u32 = 1 << 18;
    /// A mask image pointer follows.
    pub const HAS_MASK: u32 = 1 << 19;
    /// A source transform follows.
    pub const HAS_SRC_TRANSFORM: u32 = 1 << 20;
    /// A mask transform follows.
    pub const HAS_MASK_TRANSFORM: u32 = 1 << 21;
    /// Treat the source as opaque.
    pub const SOURCE_OPAQUE: u32 = 1 << 22;
    /// Treat the mask as opaque.
    pub const MASK_OPAQUE: u32 = 1 << 23;
    /// Treat the destination as opaque.
    pub const DEST_OPAQUE: u32 = 1 << 24;
}

/// Clip of a draw command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clip {
    /// Clip to the bounding box only.
    None,
    /// Clip to the union of these rectangles (and the box).
    Rects(Vec<Rect>),
}

pub(crate) fn parse_clip(r: &mut Reader<'_>) -> Result<Clip> {
    match r.u8("clip.type")? {
        0 => Ok(Clip::None),
        1 => {
            let n = r.u32("clip.num_rects")?;
            Ok(Clip::Rects(r.list("clip.rects", n.into(), 16, |r| r.rect("clip.rects"))?))
        }
        t => Err(r.error("clip.type", MsgErrorKind::BadValue(t.into()))),
    }
}

/// The header of every draw command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayBase {
    /// Destination surface.
    pub surface_id: u32,
    /// Destination bounding box.
    pub bbox: Rect,
    /// Clip.
    pub clip: Clip,
}

impl DisplayBase {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        Ok(DisplayBase { surface_id: r.u32("base.surface_id")?, bbox: r.rect("base.box")?, clip: parse_clip(r)? })
    }
}

/// A brush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brush<'a> {
    /// No brush.
    None,
    /// A solid colour (xRGB).
    Solid(u32),
    /// A tiled image.
    Pattern {
        /// The tile.
        image: Image<'a>,
        /// Tile origin.
        pos: Point,
    },
}

impl<'a> Brush<'a> {
    pub(crate) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        match r.u8("brush.type")? {
            0 => Ok(Brush::None),
            1 => Ok(Brush::Solid(r.u32("brush.color")?)),
            2 => {
                let image = Image::parse_ptr_nonnull(r, "brush.pattern")?;
                Ok(Brush::Pattern { image, pos: r.point("brush.pattern.pos")? })
            }
            t => Err(r.error("brush.type", MsgErrorKind::BadValue(t.into()))),
        }
    }
}

/// A 1-bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QMask<'a> {
    /// [`mask_flags`].
    pub flags: u8,
    /// Mask origin.
    pub pos: Point,
    /// The mask image; `None` means no mask.
    pub bitmap: Option<Image<'a>>,
}

impl<'a> QMask<'a> {
    pub(crate) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let flags = r.u8("mask.flags")?;
        let pos = r.point("mask.pos")?;
        Ok(QMask { flags, pos, bitmap: Image::parse_ptr(r, "mask.bitmap")? })
    }
}

/// DRAW_FILL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawFill<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Brush.
    pub brush: Brush<'a>,
    /// [`ropd`].
    pub rop_descriptor: u16,
    /// Mask.
    pub mask: QMask<'a>,
}

impl<'a> DrawFill<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_FILL", body);
        Ok(DrawFill {
            base: DisplayBase::parse(&mut r)?,
            brush: Brush::parse(&mut r)?,
            rop_descriptor: r.u16("rop_descriptor")?,
            mask: QMask::parse(&mut r)?,
        })
    }
}

/// DRAW_COPY, and DRAW_BLEND (same layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawCopy<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Source rectangle in the image.
    pub src_area: Rect,
    /// [`ropd`].
    pub rop_descriptor: u16,
    /// 0 interpolate, 1 nearest.
    pub scale_mode: u8,
    /// Mask.
    pub mask: QMask<'a>,
}

impl<'a> DrawCopy<'a> {
    /// Parses a DRAW_COPY body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        Self::parse_as("DRAW_COPY", body)
    }

    /// Parses a DRAW_BLEND body.
    pub fn parse_blend(body: &'a [u8]) -> Result<Self> {
        Self::parse_as("DRAW_BLEND", body)
    }

    fn parse_as(name: &'static str, body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(name, body);
        Ok(DrawCopy {
            base: DisplayBase::parse(&mut r)?,
            src_bitmap: Image::parse_ptr(&mut r, "src_bitmap")?,
            src_area: r.rect("src_area")?,
            rop_descriptor: r.u16("rop_descriptor")?,
            scale_mode: r.u8("scale_mode")?,
            mask: QMask::parse(&mut r)?,
        })
    }
}

/// DRAW_OPAQUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawOpaque<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Source rectangle.
    pub src_area: Rect,
    /// Brush.
    pub brush: Brush<'a>,
    /// [`ropd`].
    pub rop_descriptor: u16,
    /// 0 interpolate, 1 nearest.
    pub scale_mode: u8,
    /// Mask.
    pub mask: QMask<'a>,
}

impl<'a> DrawOpaque<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_OPAQUE", body);
        Ok(DrawOpaque {
            base: DisplayBase::parse(&mut r)?,
            src_bitmap: Image::parse_ptr(&mut r, "src_bitmap")?,
            src_area: r.rect("src_area")?,
            brush: Brush::parse(&mut r)?,
            rop_descriptor: r.u16("rop_descriptor")?,
            scale_mode: r.u8("scale_mode")?,
            mask: QMask::parse(&mut r)?,
        })
    }
}

/// DRAW_BLACKNESS, DRAW_WHITENESS and DRAW_INVERS: a box, a clip and a mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawMasked<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Mask.
    pub mask: QMask<'a>,
}

impl<'a> DrawMasked<'a> {
    /// Parses the body; `name` is the message name for errors.
    pub fn parse(name: &'static str, body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(name, body);
        Ok(DrawMasked { base: DisplayBase::parse(&mut r)?, mask: QMask::parse(&mut r)? })
    }
}

/// DRAW_ROP3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawRop3<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Source rectangle.
    pub src_area: Rect,
    /// Brush.
    pub brush: Brush<'a>,
    /// Ternary raster operation code.
    pub rop3: u8,
    /// 0 interpolate, 1 nearest.
    pub scale_mode: u8,
    /// Mask.
    pub mask: QMask<'a>,
}

impl<'a> DrawRop3<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_ROP3", body);
        Ok(DrawRop3 {
            base: DisplayBase::parse(&mut r)?,
            src_bitmap: Image::parse_ptr(&mut r, "src_bitmap")?,
            src_area: r.rect("src_area")?,
            brush: Brush::parse(&mut r)?,
            rop3: r.u8("rop3")?,
            scale_mode: r.u8("scale_mode")?,
            mask: QMask::parse(&mut r)?,
        })
    }
}

/// One path segment: a run of points with shared flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSegment {
    /// [`path_flags`].
    pub flags: u8,
    /// Points, 28.4 fixed point.
    pub points: Vec<PointFix>,
}

/// A path (for DRAW_STROKE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Segments in order.
    pub segments: Vec<PathSegment>,
}

impl Path {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let n = r.u32("path.num_segments")?;
        // Each segment is at least flags + count.
        let segments = r.list("path.segments", n.into(), 5, |r| {
            let flags = r.u8("path.segment.flags")?;
            let count = r.u32("path.segment.count")?;
            let points = r.list("path.segment.points", count.into(), 8, |r| {
                Ok(PointFix { x: r.i32("path.segment.points")?, y: r.i32("path.segment.points")? })
            })?;
            Ok(PathSegment { flags, points })
        })?;
        Ok(Path { segments })
    }
}

/// Line attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAttr {
    /// [`line_flags`].
    pub flags: u8,
    /// Dash lengths, 28.4 fixed point (empty unless STYLED).
    pub style: Vec<i32>,
}

impl LineAttr {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let flags = r.u8("attr.flags")?;
        if flags & line_flags::STYLED == 0 {
            return Ok(LineAttr { flags, style: Vec::new() });
        }
        let nseg = r.u8("attr.style_nseg")?;
        let style = match r.ptr("attr.style")? {
            Some(mut p) => p.list("attr.style", nseg.into(), 4, |p| p.i32("attr.style"))?,
            None => Vec::new(),
        };
        Ok(LineAttr { flags, style })
    }
}

/// DRAW_STROKE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawStroke<'a> {
    /// Header.
    pub base: DisplayBase,
    /// The path.
    pub path: Path,
    /// Line attributes.
    pub attr: LineAttr,
    /// Brush.
    pub brush: Brush<'a>,
    /// Foreground [`ropd`].
    pub fore_mode: u16,
    /// Background [`ropd`].
    pub back_mode: u16,
}

impl<'a> DrawStroke<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_STROKE", body);
        let base = DisplayBase::parse(&mut r)?;
        let path = Path::parse(&mut r.ptr_nonnull("path")?)?;
        Ok(DrawStroke {
            base,
            path,
            attr: LineAttr::parse(&mut r)?,
            brush: Brush::parse(&mut r)?,
            fore_mode: r.u16("fore_mode")?,
            back_mode: r.u16("back_mode")?,
        })
    }
}

/// One raster glyph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RasterGlyph<'a> {
    /// Where the glyph origin goes.
    pub render_pos: Point,
    /// Origin inside the glyph bitmap.
    pub glyph_origin: Point,
    /// Width in pixels.
    pub width: u16,
    /// Height in rows.
    pub height: u16,
    /// `((width × bpp + 7) / 8) × height` bytes.
    pub data: &'a [u8],
}

/// A glyph string (for DRAW_TEXT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlyphString<'a> {
    /// [`string_flags`].
    pub flags: u8,
    /// Bits per pixel of the glyphs: 1, 4 or 8; 0 if no raster flag is set
    /// (then there are no glyphs).
    pub bpp: u8,
    /// The glyphs.
    pub glyphs: Vec<RasterGlyph<'a>>,
}

impl<'a> GlyphString<'a> {
    fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let length = r.u16("str.length")?;
        let flags = r.u8("str.flags")?;
        // Like the spice.proto switch: the first matching case wins.
        let bpp = if flags & string_flags::RASTER_A1 != 0 {
            1
        } else if flags & string_flags::RASTER_A4 != 0 {
            4
        } else if flags & string_flags::RASTER_A8 != 0 {
            8
        } else {
            return Ok(GlyphString { flags, bpp: 0, glyphs: Vec::new() });
        };
        let glyphs = r.list("str.glyphs", length.into(), 20, |r| {
            let render_pos = r.point("glyph.render_pos")?;
            let glyph_origin = r.point("glyph.glyph_origin")?;
            let width = r.u16("glyph.width")?;
            let height = r.u16("glyph.height")?;
            let size = (u64::from(width) * u64::from(bpp)).div_ceil(8) * u64::from(height);
            Ok(RasterGlyph { render_pos, glyph_origin, width, height, data: r.take("glyph.data", size)? })
        })?;
        Ok(GlyphString { flags, bpp, glyphs })
    }
}

/// DRAW_TEXT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawText<'a> {
    /// Header.
    pub base: DisplayBase,
    /// The glyphs.
    pub text: GlyphString<'a>,
    /// Background rectangle.
    pub back_area: Rect,
    /// Glyph brush.
    pub fore_brush: Brush<'a>,
    /// Background brush.
    pub back_brush: Brush<'a>,
    /// Foreground [`ropd`].
    pub fore_mode: u16,
    /// Background [`ropd`].
    pub back_mode: u16,
}

impl<'a> DrawText<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_TEXT", body);
        let base = DisplayBase::parse(&mut r)?;
        let text = GlyphString::parse(&mut r.ptr_nonnull("str")?)?;
        Ok(DrawText {
            base,
            text,
            back_area: r.rect("back_area")?,
            fore_brush: Brush::parse(&mut r)?,
            back_brush: Brush::parse(&mut r)?,
            fore_mode: r.u16("fore_mode")?,
            back_mode: r.u16("back_mode")?,
        })
    }
}

/// DRAW_TRANSPARENT: copy, skipping pixels of one colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawTransparent<'a> {
    /// Header.
    pub base: DisplayBase,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Source rectangle.
    pub src_area: Rect,
    /// Transparent colour in the source format.
    pub src_color: u32,
    /// The same colour as xRGB.
    pub true_color: u32,
}

impl<'a> DrawTransparent<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_TRANSPARENT", body);
        Ok(DrawTransparent {
            base: DisplayBase::parse(&mut r)?,
            src_bitmap: Image::parse_ptr(&mut r, "src_bitmap")?,
            src_area: r.rect("src_area")?,
            src_color: r.u32("src_color")?,
            true_color: r.u32("true_color")?,
        })
    }
}

/// DRAW_ALPHA_BLEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawAlphaBlend<'a> {
    /// Header.
    pub base: DisplayBase,
    /// [`alpha_flags`].
    pub alpha_flags: u8,
    /// Constant alpha.
    pub alpha: u8,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Source rectangle.
    pub src_area: Rect,
}

impl<'a> DrawAlphaBlend<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("DRAW_ALPHA_BLEND", body);
        Ok(DrawAlphaBlend {
            base: DisplayBase::parse(&mut r)?,
            alpha_flags: r.u8("alpha_flags")?,
            alpha: r.u8("alpha")?,
            src_bitmap: Image::parse_ptr(&mut r, "src_bitmap")?,
            src_area: r.rect("src_area")?,
        })
    }
}

/// A 2×3 affine transform, 16.16 fixed point (`Transform`).
pub type Transform = [u32; 6];

fn parse_transform(r: &mut Reader<'_>, field: &'static str) -> Result<Transform> {
    let mut t = [0u32; 6];
    for v in &mut t {
        *v = r.u32(field)?;
    }
    Ok(t)
}

/// DRAW_COMPOSITE (Render-style compositing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawComposite<'a> {
    /// Header.
    pub base: DisplayBase,
    /// [`composite_flags`].
    pub flags: u32,
    /// Source image.
    pub src_bitmap: Option<Image<'a>>,
    /// Mask image (only with HAS_MASK).
    pub mask_bitmap: Option<Image<'a>>,
    /// Source transform (only with HAS_SRC_TRANSFORM).
    pub src_transform: Option<Transform>,
    /// Mask transform (only with HAS_MASK_TRANSFORM).
    pub mask_transform: Option<Transform>,
    /// Source origin.
    pub src_origin: Point16,
    /// Mask origin.
    pub mask_origin: Point16,
}

impl<'a> DrawComposite<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        use composite_flags::*;
        let mut r = Reader::new("DRAW_COMPOSITE", body);
        let base = DisplayBase::parse(&mut r)?;
        let flags = r.u32("flags")?;
        let src_bitmap = Image::parse_ptr(&mut r, "src_bitmap")?;
        let mask_bitmap = if flags & HAS_MASK != 0 { Image::parse_ptr(&mut r, "mask_bitmap")? } else { None };
        let src_transform =
            if flags & HAS_SRC_TRANSFORM != 0 { Some(parse_transform(&mut r, "src_transform")?) } else { None };
        let mask_transform =
            if flags & HAS_MASK_TRANSFORM != 0 { Some(parse_transform(&mut r, "mask_transform")?) } else { None };
        Ok(DrawComposite {
            base,
            flags,
            src_bitmap,
            mask_bitmap,
            src_transform,
            mask_transform,
            src_origin: r.point16("src_origin")?,
            mask_origin: r.point16("mask_origin")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::ImageType;
    use crate::msg::image::ImageData;
    use alloc::vec;

    /// A hand-made message builder: fixed part first, pointer targets appended.
    struct Body(Vec<u8>);
    impl Body {
        fn u8(&mut self, v: u8) -> &mut Self {
            self.0.push(v);
            self
        }
        fn u16(&mut self, v: u16) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn i32s(&mut self, v: &[i32]) -> &mut Self {
            for x in v {
                self.0.extend_from_slice(&x.to_le_bytes());
            }
            self
        }
        fn base(&mut self, clip_rects: &[[i32; 4]]) -> &mut Self {
            self.u32(0).i32s(&[10, 20, 30, 40]);
            if clip_rects.is_empty() {
                self.u8(0)
            } else {
                self.u8(1).u32(clip_rects.len() as u32);
                for r in clip_rects {
                    self.i32s(r);
                }
                self
            }
        }
        fn no_mask(&mut self) -> &mut Self {
            self.u8(0).i32s(&[0, 0]).u32(0)
        }
        fn patch(&mut self, at: usize) -> &mut Self {
            let here = self.0.len() as u32;
            self.0[at..at + 4].copy_from_slice(&here.to_le_bytes());
            self
        }
        fn cached_image(&mut self, id: u64) -> &mut Self {
            self.0.extend_from_slice(&id.to_le_bytes());
            self.u8(103).u8(0).u32(8).u32(8)
        }
    }

    #[test]
    fn fill_with_clip_rects() {
        let mut b = Body(vec![]);
        b.base(&[[10, 20, 15, 25], [15, 20, 30, 40]]).u8(1).u32(0x00ff_8000).u16(ropd::OP_PUT).no_mask();
        let f = DrawFill::parse(&b.0).unwrap();
        assert_eq!(f.base.bbox, Rect { top: 10, left: 20, bottom: 30, right: 40 });
        assert_eq!(
            f.base.clip,
            Clip::Rects(vec![
                Rect { top: 10, left: 20, bottom: 15, right: 25 },
                Rect { top: 15, left: 20, bottom: 30, right: 40 }
            ])
        );
        assert_eq!((f.brush, f.rop_descriptor), (Brush::Solid(0x00ff_8000), ropd::OP_PUT));
        assert_eq!(f.mask.bitmap, None);
        for cut in 0..b.0.len() {
            assert!(DrawFill::parse(&b.0[..cut]).is_err(), "cut {cut}");
        }
        // A clip count far beyond the body.
        let mut bad = b.0.clone();
        bad[21..25].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = DrawFill::parse(&bad).unwrap_err();
        assert_eq!((e.message, e.field), ("DRAW_FILL", "clip.rects"));
        bad[20] = 7;
        assert_eq!(DrawFill::parse(&bad).unwrap_err().kind, MsgErrorKind::BadValue(7));
    }

    #[test]
    fn opaque_with_pattern_brush_and_mask() {
        let mut b = Body(vec![]);
        b.base(&[]);
        let src_at = b.0.len();
        b.u32(0).i32s(&[0, 0, 8, 8]);
        let pat_at = b.0.len() + 1;
        b.u8(2).u32(0).i32s(&[3, 4]).u16(ropd::OP_XOR).u8(1).u8(mask_flags::INVERS).i32s(&[1, 2]);
        let mask_at = b.0.len();
        b.u32(0);
        b.patch(src_at).cached_image(1);
        b.patch(pat_at).cached_image(2);
        b.patch(mask_at).cached_image(3);
        let o = DrawOpaque::parse(&b.0).unwrap();
        assert_eq!(o.src_bitmap.unwrap().descriptor.id, 1);
        let Brush::Pattern { image, pos } = o.brush else { panic!() };
        assert_eq!((image.descriptor.id, pos), (2, Point { x: 3, y: 4 }));
        assert_eq!((o.rop_descriptor, o.scale_mode), (ropd::OP_XOR, 1));
        assert_eq!((o.mask.flags, o.mask.pos), (mask_flags::INVERS, Point { x: 1, y: 2 }));
        assert_eq!(o.mask.bitmap.unwrap().data, ImageData::FromCache);
        // The pattern pointer must not be NULL.
        let mut bad = b.0.clone();
        bad[pat_at..pat_at + 4].copy_from_slice(&[0; 4]);
        let e = DrawOpaque::parse(&bad).unwrap_err();
        assert_eq!((e.field, e.kind), ("brush.pattern", MsgErrorKind::NullPointer));
    }

    #[test]
    fn rop3_blackness_transparent_alpha_blend_blend() {
        let mut b = Body(vec![]);
        b.base(&[]);
        let src_at = b.0.len();
        b.u32(0).i32s(&[0, 0, 8, 8]).u8(0).u8(0xca).u8(0).no_mask();
        b.patch(src_at).cached_image(5);
        let r = DrawRop3::parse(&b.0).unwrap();
        assert_eq!((r.rop3, r.brush, r.src_bitmap.unwrap().descriptor.id), (0xca, Brush::None, 5));

        let mut b = Body(vec![]);
        b.base(&[]).no_mask();
        let m = DrawMasked::parse("DRAW_BLACKNESS", &b.0).unwrap();
        assert_eq!((m.base.surface_id, m.mask.bitmap), (0, None));

        let mut b = Body(vec![]);
        b.base(&[]);
        let src_at = b.0.len();
        b.u32(0).i32s(&[0, 0, 8, 8]).u32(0xff00ff).u32(0xff00ff);
        b.patch(src_at).cached_image(6);
        let t = DrawTransparent::parse(&b.0).unwrap();
        assert_eq!((t.src_color, t.true_color), (0xff00ff, 0xff00ff));

        let mut b = Body(vec![]);
        b.base(&[]).u8(alpha_flags::DEST_HAS_ALPHA).u8(128);
        let src_at = b.0.len();
        b.u32(0).i32s(&[0, 0, 8, 8]);
        b.patch(src_at).cached_image(7);
        let a = DrawAlphaBlend::parse(&b.0).unwrap();
        assert_eq!((a.alpha_flags, a.alpha, a.src_area.right), (1, 128, 8));

        let mut b = Body(vec![]);
        b.base(&[]);
        let src_at = b.0.len();
        b.u32(0).i32s(&[0, 0, 8, 8]).u16(ropd::OP_AND).u8(0).no_mask();
        b.patch(src_at).cached_image(8);
        let c = DrawCopy::parse_blend(&b.0).unwrap();
        assert_eq!(c.src_bitmap.unwrap().descriptor.image_type, ImageType::FromCache);
        assert_eq!(c.rop_descriptor, ropd::OP_AND);
    }

    #[test]
    fn stroke_with_styled_line() {
        let mut b = Body(vec![]);
        b.base(&[]);
        let path_at = b.0.len();
        b.u32(0).u8(line_flags::STYLED).u8(2);
        let style_at = b.0.len();
        b.u32(0).u8(1).u32(0xffffff).u16(ropd::OP_PUT).u16(0);
        b.patch(path_at).u32(2);
        b.u8(path_flags::BEGIN).u32(2).i32s(&[0, 0, 160, 0]);
        b.u8(path_flags::END | path_flags::CLOSE).u32(1).i32s(&[160, 160]);
        b.patch(style_at).i32s(&[64, 32]);
        let s = DrawStroke::parse(&b.0).unwrap();
        assert_eq!(s.path.segments.len(), 2);
        assert_eq!(s.path.segments[0].points, [PointFix { x: 0, y: 0 }, PointFix { x: 160, y: 0 }]);
        assert_eq!(s.path.segments[1].flags, path_flags::END | path_flags::CLOSE);
        assert_eq!(s.attr, LineAttr { flags: line_flags::STYLED, style: vec![64, 32] });
        assert_eq!((s.brush, s.fore_mode), (Brush::Solid(0xffffff), ropd::OP_PUT));
        // Huge segment and point counts are rejected before allocating.
        let mut bad = b.0.clone();
        let p = u32::from_le_bytes(bad[path_at..path_at + 4].try_into().unwrap()) as usize;
        bad[p..p + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(DrawStroke::parse(&bad).unwrap_err().field, "path.segments");
        let mut bad = b.0.clone();
        bad[p + 5..p + 9].copy_from_slice(&0x1000_0000u32.to_le_bytes());
        assert_eq!(DrawStroke::parse(&bad).unwrap_err().field, "path.segment.points");
    }

    #[test]
    fn text_with_a1_and_a4_glyphs() {
        for (flag, bpp, data_len) in [(string_flags::RASTER_A1, 1u8, 2 * 3), (string_flags::RASTER_A4, 4, 5 * 3)] {
            let mut b = Body(vec![]);
            b.base(&[]);
            let str_at = b.0.len();
            b.u32(0).i32s(&[0, 0, 16, 16]).u8(1).u32(0).u8(0).u16(ropd::OP_PUT).u16(0);
            b.patch(str_at).u16(1).u8(flag | string_flags::RASTER_TOP_DOWN);
            // One 9x3 glyph.
            b.i32s(&[5, 12, 0, 9]).u16(9).u16(3);
            b.0.extend_from_slice(&vec![0xa5; data_len]);
            let t = DrawText::parse(&b.0).unwrap();
            assert_eq!((t.text.bpp, t.text.glyphs.len()), (bpp, 1));
            let g = t.text.glyphs[0];
            assert_eq!((g.render_pos, g.width, g.height, g.data.len()), (Point { x: 5, y: 12 }, 9, 3, data_len));
            assert_eq!((t.fore_brush, t.back_brush), (Brush::Solid(0), Brush::None));
            assert_eq!(DrawText::parse(&b.0[..b.0.len() - 1]).unwrap_err().field, "glyph.data");
        }
    }

    #[test]
    fn composite_with_mask_and_transforms() {
        use composite_flags::*;
        let mut b = Body(vec![]);
        b.base(&[]).u32(3 | HAS_MASK | HAS_SRC_TRANSFORM | HAS_MASK_TRANSFORM);
        let src_at = b.0.len();
        b.u32(0);
        let mask_at = b.0.len();
        b.u32(0).i32s(&[1, 2, 3, 4, 5, 6]).i32s(&[7, 8, 9, 10, 11, 12]).u16(1).u16(2).u16(3).u16(0xffff);
        b.patch(src_at).cached_image(1);
        b.patch(mask_at).cached_image(2);
        let c = DrawComposite::parse(&b.0).unwrap();
        assert_eq!(c.flags & OP_MASK, 3);
        assert_eq!(c.mask_bitmap.unwrap().descriptor.id, 2);
        assert_eq!((c.src_transform, c.mask_transform), (Some([1, 2, 3, 4, 5, 6]), Some([7, 8, 9, 10, 11, 12])));
        assert_eq!((c.src_origin, c.mask_origin), (Point16 { x: 1, y: 2 }, Point16 { x: 3, y: -1 }));
        // Without the flags, the optional parts are absent.
        let mut b = Body(vec![]);
        b.base(&[]).u32(3).u32(0).u16(1).u16(2).u16(3).u16(4);
        let c = DrawComposite::parse(&b.0).unwrap();
        assert_eq!((c.src_bitmap, c.mask_bitmap, c.src_transform), (None, None, None));
    }
}
