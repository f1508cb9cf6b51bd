//! The software canvas: SPICE surfaces and the renderer for display draw commands.
//!
//! This is Clove's counterpart of spice-common's `canvas_base.c` + `sw_canvas.c`, the
//! software canvas that spice-server itself renders with. The goal is pixel-exact
//! agreement with it on lossless content; where we knowingly differ, the item says so.
//!
//! The canvas knows nothing of wire messages. The caller translates a draw message into
//! a destination surface id, a destination box ([`Rect`]), a [`Clip`] and the plain
//! per-operation parameters defined here ([`FillOp`], [`CopyOp`], ...). Images are
//! decoded before they reach the canvas ([`Image`], 32 bits per pixel).
//!
//! # Pixels
//! Every surface is stored as one `u32` per pixel, `0xAARRGGBB`:
//! - [`SurfaceFormat::Xrgb32`]: the top byte is "x". Bitwise operations carry it along
//!   like spice-server does; blending operations write 0 there.
//! - [`SurfaceFormat::Argb32`]: premultiplied alpha, as in pixman.
//! - [`SurfaceFormat::Rgb16_555`] / [`SurfaceFormat::Rgb16_565`]: stored expanded to
//!   8 bits per channel by bit replication (as pixman reads them); after each operation
//!   the touched pixels are quantised back. Because replication commutes with bitwise
//!   operations, ROPs give exactly what spice-server gets on its 16-bit pixels. Solid
//!   colours for these surfaces are given in the surface's own 16-bit encoding, like
//!   the protocol does.
//! - [`SurfaceFormat::A8`] / [`SurfaceFormat::A1`]: the alpha is kept in the top byte
//!   (`0xAA000000`); A1 is 0 or `0xFF000000`. Solid colours for them are given as the
//!   low byte (A8) or low bit (A1) of the colour value, like the protocol does.
//!
//! # Geometry
//! Boxes are SPICE boxes: `left`/`top` inclusive, `right`/`bottom` exclusive. Every
//! operation first intersects its box with the surface, the clip rectangles and the
//! mask, like spice-server's `dest_region`. Empty, inverted, negative or huge boxes
//! never panic: what falls outside the surface is clipped away, an empty result is a
//! successful no-op. See each operation for how source areas are handled.
//!
//! # Damage
//! Every operation that changes pixels records the bounding box of the pixels it may
//! have touched; [`Canvas::take_damage`] hands them out per surface.

mod composite;
mod draw;
mod pixel;
mod region;
mod source;
mod stroke;
mod text;

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

pub use composite::{CompositeOp, Filter, Repeat, Transform};
pub use stroke::{LineAttr, PathSeg, PointFix, StrokeOp};
pub use text::{Glyph, GlyphDepth, GlyphString, TextOp};

/// A point in surface coordinates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Point {
    /// Column.
    pub x: i32,
    /// Row.
    pub y: i32,
}

impl Point {
    /// A point at (`x`, `y`).
    pub const fn new(x: i32, y: i32) -> Self {
        Point { x, y }
    }
}

/// A SPICE box: `left`/`top` inclusive, `right`/`bottom` exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// First column.
    pub left: i32,
    /// First row.
    pub top: i32,
    /// One past the last column.
    pub right: i32,
    /// One past the last row.
    pub bottom: i32,
}

impl Rect {
    /// A box from its four edges.
    pub const fn new(left: i32, top: i32, right: i32, bottom: i32) -> Self {
        Rect { left, top, right, bottom }
    }

    /// A box from its origin and size (saturating at the `i32` range).
    pub fn from_xywh(x: i32, y: i32, width: u32, height: u32) -> Self {
        let r = (x as i64 + width as i64).min(i32::MAX as i64) as i32;
        let b = (y as i64 + height as i64).min(i32::MAX as i64) as i32;
        Rect { left: x, top: y, right: r, bottom: b }
    }

    /// Width, 0 when empty or inverted.
    pub fn width(&self) -> u32 {
        (self.right as i64 - self.left as i64).max(0) as u32
    }

    /// Height, 0 when empty or inverted.
    pub fn height(&self) -> u32 {
        (self.bottom as i64 - self.top as i64).max(0) as u32
    }

    /// True when the box holds no pixel (empty or inverted).
    pub fn is_empty(&self) -> bool {
        self.left >= self.right || self.top >= self.bottom
    }

    /// The common part of two boxes (possibly empty).
    pub fn intersect(&self, o: &Rect) -> Rect {
        Rect {
            left: self.left.max(o.left),
            top: self.top.max(o.top),
            right: self.right.min(o.right),
            bottom: self.bottom.min(o.bottom),
        }
    }

    /// The smallest box holding both (an empty box counts as nothing).
    pub fn union(&self, o: &Rect) -> Rect {
        if self.is_empty() {
            return *o;
        }
        if o.is_empty() {
            return *self;
        }
        Rect {
            left: self.left.min(o.left),
            top: self.top.min(o.top),
            right: self.right.max(o.right),
            bottom: self.bottom.max(o.bottom),
        }
    }

    /// True when both boxes have the same width and height (spice's `rect_is_same_size`,
    /// computed without overflow).
    pub fn same_size(&self, o: &Rect) -> bool {
        self.right as i64 - self.left as i64 == o.right as i64 - o.left as i64
            && self.bottom as i64 - self.top as i64 == o.bottom as i64 - o.top as i64
    }
}

/// The clip of a draw command (SPICE_CLIP_TYPE_*).
#[derive(Clone, Copy, Debug, Default)]
pub enum Clip<'a> {
    /// SPICE_CLIP_TYPE_NONE: only the surface bounds clip.
    #[default]
    None,
    /// SPICE_CLIP_TYPE_RECTS: draw only inside the union of these boxes.
    Rects(&'a [Rect]),
}

/// SPICE surface formats (`SPICE_SURFACE_FMT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum SurfaceFormat {
    /// SPICE_SURFACE_FMT_1_A (1).
    A1,
    /// SPICE_SURFACE_FMT_8_A (8).
    A8,
    /// SPICE_SURFACE_FMT_16_555 (16).
    Rgb16_555,
    /// SPICE_SURFACE_FMT_16_565 (80).
    Rgb16_565,
    /// SPICE_SURFACE_FMT_32_xRGB (32).
    Xrgb32,
    /// SPICE_SURFACE_FMT_32_ARGB (96).
    Argb32,
}

impl SurfaceFormat {
    /// From the protocol value; `None` for INVALID and unknown values.
    pub fn from_spice(v: u32) -> Option<Self> {
        Some(match v {
            1 => SurfaceFormat::A1,
            8 => SurfaceFormat::A8,
            16 => SurfaceFormat::Rgb16_555,
            80 => SurfaceFormat::Rgb16_565,
            32 => SurfaceFormat::Xrgb32,
            96 => SurfaceFormat::Argb32,
            _ => return None,
        })
    }

    /// The protocol value.
    pub fn to_spice(self) -> u32 {
        match self {
            SurfaceFormat::A1 => 1,
            SurfaceFormat::A8 => 8,
            SurfaceFormat::Rgb16_555 => 16,
            SurfaceFormat::Rgb16_565 => 80,
            SurfaceFormat::Xrgb32 => 32,
            SurfaceFormat::Argb32 => 96,
        }
    }

    /// Whether the stored alpha byte is meaningful when the surface is read as a source.
    pub fn has_alpha(self) -> bool {
        matches!(self, SurfaceFormat::Argb32 | SurfaceFormat::A8 | SurfaceFormat::A1)
    }
}

/// Memory limits for surfaces. Sizes count the real storage: 4 bytes per pixel for every
/// format (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest single surface, in bytes.
    pub max_surface_bytes: usize,
    /// All surfaces together, in bytes.
    pub max_total_bytes: usize,
    /// Most clip rectangles one command may carry.
    pub max_clip_rects: usize,
}

impl Default for Limits {
    /// 64 MiB per surface (a 4096×4096 primary), 256 MiB in all, 10 000 clip rects.
    fn default() -> Self {
        Limits { max_surface_bytes: 64 << 20, max_total_bytes: 256 << 20, max_clip_rects: 10_000 }
    }
}

/// What went wrong in a canvas operation. Nothing is drawn when an error is returned,
/// except where an operation's docs say otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanvasError {
    /// No surface has this id.
    UnknownSurface(u32),
    /// A surface with this id already exists.
    SurfaceExists(u32),
    /// A surface of zero width or height.
    EmptySurface,
    /// The surface would take `bytes`, over `limit` (the per-surface or the total budget).
    TooLarge {
        /// Bytes the request needs.
        bytes: u64,
        /// The budget it exceeds.
        limit: u64,
    },
    /// The source area is inverted, empty while the destination is not, or gives a scale
    /// factor outside pixman's 16.16 range.
    BadSourceArea,
    /// An image's pixel slice is shorter than width, height and stride promise, or its
    /// stride is less than its width.
    BadImage,
    /// A 1-bpp mask bitmap's byte slice is too short for its size and stride.
    BadMask,
    /// A glyph's raster is shorter than its size needs.
    BadGlyph,
    /// More clip rectangles than [`Limits::max_clip_rects`].
    TooManyClipRects(usize),
    /// A rectangle asked of [`Canvas::read_rect`] is not inside the surface.
    BadRect,
    /// A composite operator this canvas does not implement (the pixman op number).
    UnsupportedCompositeOp(u8),
    /// A path segment's bezier points are not a multiple of three, or a bezier has no
    /// start point. Segments before it were drawn.
    BadPath,
}

impl fmt::Display for CanvasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CanvasError::UnknownSurface(id) => write!(f, "canvas: unknown surface {id}"),
            CanvasError::SurfaceExists(id) => write!(f, "canvas: surface {id} already exists"),
            CanvasError::EmptySurface => write!(f, "canvas: surface of zero width or height"),
            CanvasError::TooLarge { bytes, limit } => {
                write!(f, "canvas: surface needs {bytes} bytes, over the {limit}-byte budget")
            }
            CanvasError::BadSourceArea => write!(f, "canvas: bad source area"),
            CanvasError::BadImage => write!(f, "canvas: image pixels shorter than its size and stride"),
            CanvasError::BadMask => write!(f, "canvas: mask bitmap shorter than its size and stride"),
            CanvasError::BadGlyph => write!(f, "canvas: glyph raster shorter than its size"),
            CanvasError::TooManyClipRects(n) => write!(f, "canvas: {n} clip rectangles is over the limit"),
            CanvasError::BadRect => write!(f, "canvas: rectangle outside the surface"),
            CanvasError::UnsupportedCompositeOp(op) => write!(f, "canvas: composite operator {op} not supported"),
            CanvasError::BadPath => write!(f, "canvas: malformed stroke path"),
        }
    }
}

/// One surface: `width × height` pixels, stored row-major with stride = width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Surface {
    width: u32,
    height: u32,
    format: SurfaceFormat,
    data: Vec<u32>,
}

impl Surface {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// The SPICE format.
    pub fn format(&self) -> SurfaceFormat {
        self.format
    }
    /// Pixels per row in [`Surface::data`] (always the width).
    pub fn stride(&self) -> usize {
        self.width as usize
    }
    /// All pixels, `0xAARRGGBB`, row-major (see the module docs for per-format meaning).
    pub fn data(&self) -> &[u32] {
        &self.data
    }
    /// One row.
    pub fn row(&self, y: u32) -> Option<&[u32]> {
        let w = self.width as usize;
        let start = (y as usize).checked_mul(w)?;
        self.data.get(start..start + w)
    }
    /// The pixel at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> Option<u32> {
        if x >= self.width {
            return None;
        }
        self.row(y).map(|r| r[x as usize])
    }
    /// The surface bounds as a box.
    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width as i32, self.height as i32)
    }
    pub(crate) fn data_mut(&mut self) -> &mut [u32] {
        &mut self.data
    }
}

/// A decoded source bitmap borrowed from the decoder: 32 bits per pixel, `0xAARRGGBB`
/// (premultiplied when `has_alpha`), top-down. Construct with [`Image::new`], which
/// checks the slice so that no later access can fail.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    width: u32,
    height: u32,
    stride: usize,
    pixels: &'a [u32],
    has_alpha: bool,
}

impl<'a> Image<'a> {
    /// Checks that `pixels` holds `height` rows of `stride` pixels (the last row needs
    /// only `width`), that `stride >= width` and that the size fits `i32`.
    pub fn new(
        width: u32,
        height: u32,
        stride: usize,
        pixels: &'a [u32],
        has_alpha: bool,
    ) -> Result<Self, CanvasError> {
        if width > i32::MAX as u32 || height > i32::MAX as u32 || stride < width as usize {
            return Err(CanvasError::BadImage);
        }
        if width > 0 && height > 0 {
            let need = (height as usize - 1).checked_mul(stride).and_then(|n| n.checked_add(width as usize));
            match need {
                Some(n) if n <= pixels.len() => {}
                _ => return Err(CanvasError::BadImage),
            }
        }
        Ok(Image { width, height, stride, pixels, has_alpha })
    }
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Whether the top byte is a (premultiplied) alpha rather than padding.
    pub fn has_alpha(&self) -> bool {
        self.has_alpha
    }
}

/// An owned decoded bitmap (tightly packed), for callers that keep images around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` pixels, `0xAARRGGBB`, top-down.
    pub pixels: Vec<u32>,
    /// Whether the top byte is a premultiplied alpha.
    pub has_alpha: bool,
}

impl DecodedImage {
    /// A borrowed, checked view for the draw operations.
    pub fn as_image(&self) -> Result<Image<'_>, CanvasError> {
        Image::new(self.width, self.height, self.width as usize, &self.pixels, self.has_alpha)
    }
}

/// Where a draw operation reads pixels from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A decoded image.
    Image(Image<'a>),
    /// Another surface (SPICE_IMAGE_TYPE_SURFACE), or the destination itself: reading
    /// the destination is overlap-safe (it reads through a temporary copy).
    Surface(u32),
}

/// A brush (SPICE_BRUSH_TYPE_*).
#[derive(Clone, Copy, Debug, Default)]
pub enum Brush<'a> {
    /// SPICE_BRUSH_TYPE_NONE: behaves as a solid 0, as in spice-server.
    #[default]
    None,
    /// A solid colour in the destination's encoding (see the module docs).
    Solid(u32),
    /// A tiled image; the tile's origin sits at `pos`.
    Pattern {
        /// The tile.
        image: Source<'a>,
        /// Where tile pixel (0, 0) lands.
        pos: Point,
    },
}

/// A ROP descriptor: the `SPICE_ROPD_*` bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ropd(pub u16);

impl Ropd {
    /// Invert the source operand.
    pub const INVERS_SRC: Ropd = Ropd(1 << 0);
    /// Invert the brush operand.
    pub const INVERS_BRUSH: Ropd = Ropd(1 << 1);
    /// Invert the destination operand.
    pub const INVERS_DEST: Ropd = Ropd(1 << 2);
    /// Result = operand.
    pub const OP_PUT: Ropd = Ropd(1 << 3);
    /// Result = operand | dest.
    pub const OP_OR: Ropd = Ropd(1 << 4);
    /// Result = operand & dest.
    pub const OP_AND: Ropd = Ropd(1 << 5);
    /// Result = operand ^ dest.
    pub const OP_XOR: Ropd = Ropd(1 << 6);
    /// Result = 0.
    pub const OP_BLACKNESS: Ropd = Ropd(1 << 7);
    /// Result = all ones.
    pub const OP_WHITENESS: Ropd = Ropd(1 << 8);
    /// Result = !dest.
    pub const OP_INVERS: Ropd = Ropd(1 << 9);
    /// Invert the result.
    pub const INVERS_RES: Ropd = Ropd(1 << 10);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Ropd) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Ropd {
    type Output = Ropd;
    fn bitor(self, o: Ropd) -> Ropd {
        Ropd(self.0 | o.0)
    }
}

/// SPICE_IMAGE_SCALE_MODE_*: how a source is resized when the source area and the
/// destination box differ in size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScaleMode {
    /// SPICE_IMAGE_SCALE_MODE_INTERPOLATE: pixman's GOOD filter, i.e. bilinear with
    /// 7-bit weights.
    #[default]
    Interpolate,
    /// SPICE_IMAGE_SCALE_MODE_NEAREST.
    Nearest,
}

/// Bit order of a 1-bpp bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOrder {
    /// SPICE_BITMAP_FMT_1BIT_LE: bit 0 of each byte is the leftmost pixel.
    LsbFirst,
    /// SPICE_BITMAP_FMT_1BIT_BE: bit 7 of each byte is the leftmost pixel.
    MsbFirst,
}

/// A 1-bpp bitmap, as used for masks. Construct with [`Bitmap1::new`].
#[derive(Clone, Copy, Debug)]
pub struct Bitmap1<'a> {
    width: u32,
    height: u32,
    stride: usize,
    data: &'a [u8],
    order: BitOrder,
    top_down: bool,
}

impl<'a> Bitmap1<'a> {
    /// Checks that `data` holds `height` rows of `stride` bytes (the last row needs only
    /// `ceil(width / 8)`) and that `stride` covers the width. `top_down` is the bitmap's
    /// SPICE_BITMAP_FLAGS_TOP_DOWN; otherwise the first row in `data` is the bottom one.
    pub fn new(
        width: u32,
        height: u32,
        stride: usize,
        data: &'a [u8],
        order: BitOrder,
        top_down: bool,
    ) -> Result<Self, CanvasError> {
        let line = (width as usize).div_ceil(8);
        if width > i32::MAX as u32 || height > i32::MAX as u32 || stride < line {
            return Err(CanvasError::BadMask);
        }
        if width > 0 && height > 0 {
            let need = (height as usize - 1).checked_mul(stride).and_then(|n| n.checked_add(line));
            match need {
                Some(n) if n <= data.len() => {}
                _ => return Err(CanvasError::BadMask),
            }
        }
        Ok(Bitmap1 { width, height, stride, data, order, top_down })
    }

    /// Whether the pixel at (`x`, `y`) (top-down coordinates, in bounds) is set.
    fn bit(&self, x: u32, y: u32) -> bool {
        let row = if self.top_down { y } else { self.height - 1 - y } as usize;
        let byte = self.data[row * self.stride + (x / 8) as usize];
        match self.order {
            BitOrder::LsbFirst => byte >> (x % 8) & 1 != 0,
            BitOrder::MsbFirst => byte >> (7 - x % 8) & 1 != 0,
        }
    }
}

/// Where a mask's bits come from.
#[derive(Clone, Copy, Debug)]
pub enum MaskBits<'a> {
    /// A 1-bpp bitmap.
    Bitmap(Bitmap1<'a>),
    /// A surface: a pixel is set when its alpha byte is ≥ 0x80 (A1 and A8 surfaces).
    Surface(u32),
}

/// A draw mask (SpiceQMask): only pixels whose mask bit is set (or clear, with `invers`)
/// are drawn. Pixels outside the mask bitmap are never drawn, inverted or not, as in
/// spice-server. Mask pixel (`pos.x`, `pos.y`) lines up with the destination box's
/// top-left corner.
#[derive(Clone, Copy, Debug)]
pub struct Mask<'a> {
    /// SPICE_MASK_FLAGS_INVERS.
    pub invers: bool,
    /// The mask pixel under the destination box's origin.
    pub pos: Point,
    /// The bits.
    pub bits: MaskBits<'a>,
}

/// DRAW_FILL parameters.
#[derive(Clone, Copy, Debug)]
pub struct FillOp<'a> {
    /// What to fill with.
    pub brush: Brush<'a>,
    /// How the brush combines with the destination (INVERS_BRUSH / INVERS_DEST apply).
    pub rop: Ropd,
    /// Optional mask.
    pub mask: Option<Mask<'a>>,
}

/// DRAW_COPY and DRAW_BLEND parameters (spice-server draws both the same way).
#[derive(Clone, Copy, Debug)]
pub struct CopyOp<'a> {
    /// The source.
    pub src: Source<'a>,
    /// The source area; scaled when its size differs from the destination box.
    pub src_area: Rect,
    /// How the source combines with the destination (INVERS_SRC / INVERS_DEST apply).
    pub rop: Ropd,
    /// Scaling filter.
    pub scale: ScaleMode,
    /// Optional mask.
    pub mask: Option<Mask<'a>>,
}

/// DRAW_OPAQUE parameters: the source is put, then the brush is combined with it.
#[derive(Clone, Copy, Debug)]
pub struct OpaqueOp<'a> {
    /// The source.
    pub src: Source<'a>,
    /// The source area.
    pub src_area: Rect,
    /// The brush combined over the source.
    pub brush: Brush<'a>,
    /// Brush ∘ source: INVERS_BRUSH inverts the brush, INVERS_SRC the source.
    pub rop: Ropd,
    /// Scaling filter.
    pub scale: ScaleMode,
    /// Optional mask.
    pub mask: Option<Mask<'a>>,
}

/// DRAW_ROP3 parameters.
#[derive(Clone, Copy, Debug)]
pub struct Rop3Op<'a> {
    /// The source.
    pub src: Source<'a>,
    /// The source area.
    pub src_area: Rect,
    /// The pattern operand (solid or tiled; NONE is 0).
    pub brush: Brush<'a>,
    /// The Windows ternary raster op: result bit = `rop3 >> (P<<2 | S<<1 | D) & 1`.
    pub rop3: u8,
    /// Scaling filter.
    pub scale: ScaleMode,
    /// Optional mask.
    pub mask: Option<Mask<'a>>,
}

/// DRAW_TRANSPARENT parameters: a copy that skips source pixels equal to a colour key.
#[derive(Clone, Copy, Debug)]
pub struct TransparentOp<'a> {
    /// The source.
    pub src: Source<'a>,
    /// The source area (scaled with nearest when its size differs).
    pub src_area: Rect,
    /// The key, as 32-bit xRGB (spice's `true_color`).
    pub true_color: u32,
}

/// SPICE_ALPHA_FLAGS_*.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlphaFlags {
    /// SPICE_ALPHA_FLAGS_DEST_HAS_ALPHA: blend against the destination's stored alpha
    /// (an xRGB destination is otherwise opaque).
    pub dest_has_alpha: bool,
    /// SPICE_ALPHA_FLAGS_SRC_SURFACE_HAS_ALPHA: an xRGB source surface carries alpha.
    pub src_surface_has_alpha: bool,
}

/// DRAW_ALPHA_BLEND parameters.
#[derive(Clone, Copy, Debug)]
pub struct AlphaBlendOp<'a> {
    /// The source (premultiplied when it has alpha).
    pub src: Source<'a>,
    /// The source area (scaled with nearest when its size differs, as spice does).
    pub src_area: Rect,
    /// Overall opacity; 0 draws nothing.
    pub alpha: u8,
    /// Flags.
    pub flags: AlphaFlags,
}

/// Per-surface damage: boxes that were (possibly) changed since the last take.
#[derive(Clone, Debug, Default)]
struct Damage {
    rects: Vec<Rect>,
}

/// Damage lists longer than this collapse into their bounding box.
const MAX_DAMAGE_RECTS: usize = 64;

impl Damage {
    fn add(&mut self, r: Rect) {
        if r.is_empty() {
            return;
        }
        if self.rects.iter().any(|d| d.intersect(&r) == r) {
            return;
        }
        self.rects.retain(|d| d.intersect(&r) != *d);
        self.rects.push(r);
        if self.rects.len() > MAX_DAMAGE_RECTS {
            let all = self.rects.iter().fold(Rect::default(), |a, b| a.union(b));
            self.rects.clear();
            self.rects.push(all);
        }
    }
}

/// All surfaces of one display channel, and the renderer.
#[derive(Debug, Default)]
pub struct Canvas {
    surfaces: BTreeMap<u32, Surface>,
    limits: Limits,
    bytes_in_use: u64,
    damage: BTreeMap<u32, Damage>,
}

impl Canvas {
    /// An empty canvas with these limits.
    pub fn new(limits: Limits) -> Self {
        Canvas { surfaces: BTreeMap::new(), limits, bytes_in_use: 0, damage: BTreeMap::new() }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes all surfaces take together.
    pub fn bytes_in_use(&self) -> u64 {
        self.bytes_in_use
    }

    /// Creates surface `id`, all pixels 0. Checks the budget before allocating.
    pub fn create_surface(
        &mut self,
        id: u32,
        width: u32,
        height: u32,
        format: SurfaceFormat,
    ) -> Result<(), CanvasError> {
        if self.surfaces.contains_key(&id) {
            return Err(CanvasError::SurfaceExists(id));
        }
        if width == 0 || height == 0 {
            return Err(CanvasError::EmptySurface);
        }
        let bytes = (width as u64 * height as u64).saturating_mul(4);
        let per = self.limits.max_surface_bytes as u64;
        if bytes > per || width > i32::MAX as u32 || height > i32::MAX as u32 {
            return Err(CanvasError::TooLarge { bytes, limit: per });
        }
        let total = self.limits.max_total_bytes as u64;
        if self.bytes_in_use + bytes > total {
            return Err(CanvasError::TooLarge { bytes: self.bytes_in_use + bytes, limit: total });
        }
        let n =
            usize::try_from(width as u64 * height as u64).map_err(|_| CanvasError::TooLarge { bytes, limit: per })?;
        let data = vec![0u32; n];
        self.surfaces.insert(id, Surface { width, height, format, data });
        self.bytes_in_use += bytes;
        self.damage.entry(id).or_default().add(Rect::new(0, 0, width as i32, height as i32));
        Ok(())
    }

    /// Destroys surface `id` and forgets its damage.
    pub fn destroy_surface(&mut self, id: u32) -> Result<(), CanvasError> {
        let s = self.surfaces.remove(&id).ok_or(CanvasError::UnknownSurface(id))?;
        self.bytes_in_use -= s.width as u64 * s.height as u64 * 4;
        self.damage.remove(&id);
        Ok(())
    }

    /// Destroys every surface.
    pub fn destroy_all(&mut self) {
        self.surfaces.clear();
        self.damage.clear();
        self.bytes_in_use = 0;
    }

    /// Surface `id`.
    pub fn surface(&self, id: u32) -> Option<&Surface> {
        self.surfaces.get(&id)
    }

    /// The primary surface (id 0).
    pub fn primary(&self) -> Option<&Surface> {
        self.surfaces.get(&0)
    }

    /// Ids of all surfaces, ascending.
    pub fn surface_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.surfaces.keys().copied()
    }

    /// A copy of the pixels in `rect`, row-major. `rect` must lie inside the surface.
    pub fn read_rect(&self, id: u32, rect: Rect) -> Result<Vec<u32>, CanvasError> {
        let s = self.surfaces.get(&id).ok_or(CanvasError::UnknownSurface(id))?;
        if rect.left < 0
            || rect.top < 0
            || rect.left > rect.right
            || rect.top > rect.bottom
            || rect.right as i64 > s.width as i64
            || rect.bottom as i64 > s.height as i64
        {
            return Err(CanvasError::BadRect);
        }
        let (x0, x1) = (rect.left as usize, rect.right as usize);
        let w = s.width as usize;
        let mut out = Vec::with_capacity((x1 - x0) * rect.height() as usize);
        for row in s.data[rect.top as usize * w..rect.bottom as usize * w].chunks_exact(w) {
            out.extend_from_slice(&row[x0..x1]);
        }
        Ok(out)
    }

    /// Writes `pixels` (row-major, `rect`-sized) into `rect` of surface `id`, for callers
    /// that render elsewhere (video streams, GL readback). `rect` must lie inside.
    pub fn write_rect(&mut self, id: u32, rect: Rect, pixels: &[u32]) -> Result<(), CanvasError> {
        let s = self.surfaces.get_mut(&id).ok_or(CanvasError::UnknownSurface(id))?;
        if rect.left < 0
            || rect.top < 0
            || rect.left > rect.right
            || rect.top > rect.bottom
            || rect.right as i64 > s.width as i64
            || rect.bottom as i64 > s.height as i64
        {
            return Err(CanvasError::BadRect);
        }
        let rw = rect.width() as usize;
        if pixels.len() < rw * rect.height() as usize {
            return Err(CanvasError::BadImage);
        }
        if rw == 0 {
            return Ok(());
        }
        let w = s.width as usize;
        let fmt = s.format;
        for (y, src) in (rect.top as usize..rect.bottom as usize).zip(pixels.chunks_exact(rw)) {
            s.data[y * w + rect.left as usize..y * w + rect.right as usize].copy_from_slice(src);
        }
        pixel::normalize_rect(s.data_mut(), w, fmt, rect);
        self.damage.entry(id).or_default().add(rect);
        Ok(())
    }

    /// Takes the damage recorded for surface `id` since the last call: disjoint or
    /// overlapping boxes, at most 64 of them.
    pub fn take_damage(&mut self, id: u32) -> Vec<Rect> {
        self.damage.get_mut(&id).map(|d| core::mem::take(&mut d.rects)).unwrap_or_default()
    }

    /// Takes the damage of every surface.
    pub fn take_all_damage(&mut self) -> BTreeMap<u32, Vec<Rect>> {
        let mut out = BTreeMap::new();
        for (id, d) in self.damage.iter_mut() {
            if !d.rects.is_empty() {
                out.insert(*id, core::mem::take(&mut d.rects));
            }
        }
        out
    }

    pub(crate) fn add_damage(&mut self, id: u32, r: Rect) {
        self.damage.entry(id).or_default().add(r);
    }
}
