//! The display channel: DISPLAY_INIT, surfaces, the image and palette
//! caches, and every draw command translated onto the [`Canvas`].

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::vec::Vec;

use super::channel::Sender;
use super::stream::{Frame, Streams};
use super::Event;
use crate::canvas::{
    self, AlphaBlendOp, AlphaFlags, BitOrder, Bitmap1, Canvas, CopyOp, DecodedImage, FillOp, Mask, MaskBits, OpaqueOp,
    Rop3Op, Ropd, ScaleMode, Source, SurfaceFormat, TransparentOp,
};
use crate::consts::caps::display as cap;
use crate::consts::{image_flags, message_name, BitmapFormat, ChannelType, Direction};
use crate::decode::{self, bitmap, glz, jpeg, lz, lz4, quic, DecodeError};
use crate::msg::display::{surface_flags, DisplayInit, DisplayMessage, PreferredCompression};
use crate::msg::draw::{self, Brush, Clip, QMask};
use crate::msg::image::{Image, ImageData, PaletteSource};
use crate::msg::{EmitMessage, MsgError};
use crate::wire::Caps;

/// Display channel settings.
#[derive(Clone, Copy, Debug)]
pub struct DisplayConfig {
    /// SPICE_IMAGE_COMPRESSION_* to ask for (PREFERRED_COMPRESSION), if any.
    pub preferred_compression: Option<u8>,
    /// Pixmap cache size we announce, in pixels; the server charges
    /// width × height per cached image against it.
    pub pixmap_cache_pixels: i64,
    /// GLZ window we announce, in pixels; 0 turns GLZ off.
    pub glz_window_pixels: i32,
    /// Surface memory limits.
    pub canvas_limits: canvas::Limits,
    /// Per-image decoder limits.
    pub decode_limits: decode::Limits,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self {
            preferred_compression: None,
            // 4 Mpx (16 MiB): four 1024x768 screens' worth.
            pixmap_cache_pixels: 4 << 20,
            // spice-gtk's 3 Mpx (12 MiB of retained images at most).
            glz_window_pixels: 0x30_0000,
            canvas_limits: canvas::Limits::default(),
            decode_limits: decode::Limits::default(),
        }
    }
}

impl DisplayConfig {
    /// The display capabilities we announce: only what we render.
    pub fn caps(&self) -> Caps {
        let mut c = Caps::new();
        // Video: MJPEG streams, sized frames, and rate-control reports.
        for bit in [
            cap::MONITORS_CONFIG,
            cap::PREF_COMPRESSION,
            cap::MULTI_CODEC,
            cap::LZ4_COMPRESSION,
            cap::CODEC_MJPEG,
            cap::SIZED_STREAM,
            cap::STREAM_REPORT,
        ] {
            let _ = c.set(bit);
        }
        c
    }
}

/// A cached image and whether it came from a lossy codec.
struct Cached {
    image: DecodedImage,
    lossy: bool,
}

/// Where a draw command's image comes from, once resolved.
enum Resolved {
    Owned(DecodedImage),
    Cached(u64),
    Surface(u32),
}

pub(super) struct Display {
    pixmaps: BTreeMap<u64, Cached>,
    pixmap_pixels: u64,
    pixmap_budget: u64,
    palettes: BTreeMap<u64, Vec<u32>>,
    decode_limits: decode::Limits,
    glz: glz::Dictionary,
    /// Images decoded, by SPICE image type.
    pub(super) decoded: BTreeMap<u8, u64>,
    /// Live video streams.
    pub(super) streams: Streams,
}

/// Why one draw command could not be rendered (the session goes on).
pub(super) struct DrawFailure(pub(super) alloc::string::String);

impl From<canvas::CanvasError> for DrawFailure {
    fn from(e: canvas::CanvasError) -> Self {
        Self(format!("{e}"))
    }
}

impl From<DecodeError> for DrawFailure {
    fn from(e: DecodeError) -> Self {
        Self(format!("{e}"))
    }
}

const RES_TYPE_PIXMAP: u8 = 1;
/// Most palette entries we keep (8-bit palettes have 256).
const MAX_CACHED_PALETTES: usize = 1024;

impl Display {
    /// A newly linked display channel: announce caches and preferences.
    pub(super) fn open(config: &DisplayConfig, _server_caps: &Caps, sender: &mut Sender) -> Self {
        let init = DisplayInit {
            pixmap_cache_id: 1,
            pixmap_cache_size: config.pixmap_cache_pixels,
            glz_dictionary_id: 0,
            glz_dictionary_window_size: config.glz_window_pixels,
        };
        sender.send(DisplayInit::MSG_TYPE, &init.to_vec());
        if let Some(c) = config.preferred_compression {
            let m = PreferredCompression { image_compression: c };
            sender.send(PreferredCompression::MSG_TYPE, &m.to_vec());
        }
        Self {
            pixmaps: BTreeMap::new(),
            pixmap_pixels: 0,
            pixmap_budget: config.pixmap_cache_pixels.max(0) as u64,
            palettes: BTreeMap::new(),
            decode_limits: config.decode_limits,
            glz: glz::Dictionary::new(config.glz_window_pixels.max(0) as u32),
            decoded: BTreeMap::new(),
            streams: Streams::default(),
        }
    }

    pub(super) fn message(
        &mut self,
        sender: &mut Sender,
        canvas: &mut Canvas,
        events: &mut VecDeque<Event>,
        msg_type: u16,
        body: &[u8],
    ) -> Result<(), MsgError> {
        let Some(msg) = DisplayMessage::parse(msg_type, body)? else { return Ok(()) };
        if let Err(DrawFailure(why)) = self.handle(sender, canvas, events, msg) {
            let name = message_name(ChannelType::Display, Direction::ServerToClient, msg_type).unwrap_or("message");
            events.push_back(Event::DrawError(format!("{name}: {why}")));
        }
        Ok(())
    }

    fn handle(
        &mut self,
        sender: &mut Sender,
        canvas: &mut Canvas,
        events: &mut VecDeque<Event>,
        msg: DisplayMessage<'_>,
    ) -> Result<(), DrawFailure> {
        match msg {
            DisplayMessage::SurfaceCreate(s) => {
                let format = SurfaceFormat::from_spice(s.format.into())
                    .ok_or_else(|| DrawFailure(format!("unknown surface format {}", u32::from(s.format))))?;
                canvas.create_surface(s.surface_id, s.width, s.height, format)?;
                if s.flags & surface_flags::PRIMARY != 0 {
                    events.push_back(Event::SurfaceCreated { surface: s.surface_id, width: s.width, height: s.height });
                }
            }
            DisplayMessage::SurfaceDestroy(id) => {
                canvas.destroy_surface(id)?;
                events.push_back(Event::SurfaceDestroyed(id));
            }
            DisplayMessage::Mark => events.push_back(Event::Mark),
            DisplayMessage::Reset => {
                canvas.destroy_all();
                self.pixmaps.clear();
                self.pixmap_pixels = 0;
                self.palettes.clear();
                self.glz.clear();
                self.streams.clear();
                events.push_back(Event::Reset);
            }
            DisplayMessage::InvalList(list) => {
                for r in list.iter().filter(|r| r.res_type == RES_TYPE_PIXMAP) {
                    self.uncache(r.id);
                }
            }
            DisplayMessage::InvalAllPixmaps(_) => {
                // The waits order this against other channels; we have one
                // display channel and handle messages in order.
                self.pixmaps.clear();
                self.pixmap_pixels = 0;
            }
            DisplayMessage::InvalPalette(id) => {
                self.palettes.remove(&id);
            }
            DisplayMessage::InvalAllPalettes => self.palettes.clear(),
            DisplayMessage::CopyBits(c) => {
                let clip = clip_rects(&c.base.clip);
                canvas.copy_bits(c.base.surface_id, rect(c.base.bbox), as_clip(&clip), point(c.src_pos))?;
            }
            DisplayMessage::DrawCopy(d) => self.copy(canvas, &d, false)?,
            DisplayMessage::DrawBlend(d) => self.copy(canvas, &d, true)?,
            DisplayMessage::DrawFill(f) => {
                let pattern = self.brush_image(canvas, &f.brush)?;
                let mask = self.mask(&f.mask)?;
                let op = FillOp {
                    brush: self.brush(&f.brush, &pattern)?,
                    rop: Ropd(f.rop_descriptor),
                    mask: mask_ref(&mask, &f.mask),
                };
                let clip = clip_rects(&f.base.clip);
                canvas.fill(f.base.surface_id, rect(f.base.bbox), as_clip(&clip), &op)?;
            }
            DisplayMessage::DrawOpaque(d) => {
                let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
                let pattern = self.brush_image(canvas, &d.brush)?;
                let mask = self.mask(&d.mask)?;
                let op = OpaqueOp {
                    src: self.source(&src)?,
                    src_area: rect(d.src_area),
                    brush: self.brush(&d.brush, &pattern)?,
                    rop: Ropd(d.rop_descriptor),
                    scale: scale(d.scale_mode),
                    mask: mask_ref(&mask, &d.mask),
                };
                let clip = clip_rects(&d.base.clip);
                canvas.opaque(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
            }
            DisplayMessage::DrawRop3(d) => {
                let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
                let pattern = self.brush_image(canvas, &d.brush)?;
                let mask = self.mask(&d.mask)?;
                let op = Rop3Op {
                    src: self.source(&src)?,
                    src_area: rect(d.src_area),
                    brush: self.brush(&d.brush, &pattern)?,
                    rop3: d.rop3,
                    scale: scale(d.scale_mode),
                    mask: mask_ref(&mask, &d.mask),
                };
                let clip = clip_rects(&d.base.clip);
                canvas.rop3(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
            }
            DisplayMessage::DrawBlackness(d) => self.masked(canvas, &d, Masked::Blackness)?,
            DisplayMessage::DrawWhiteness(d) => self.masked(canvas, &d, Masked::Whiteness)?,
            DisplayMessage::DrawInvers(d) => self.masked(canvas, &d, Masked::Invers)?,
            DisplayMessage::DrawTransparent(d) => {
                let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
                let op =
                    TransparentOp { src: self.source(&src)?, src_area: rect(d.src_area), true_color: d.true_color };
                let clip = clip_rects(&d.base.clip);
                canvas.transparent(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
            }
            DisplayMessage::DrawAlphaBlend(d) => {
                let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
                let flags = AlphaFlags {
                    dest_has_alpha: d.alpha_flags & 1 != 0,
                    src_surface_has_alpha: d.alpha_flags & 2 != 0,
                };
                let op = AlphaBlendOp { src: self.source(&src)?, src_area: rect(d.src_area), alpha: d.alpha, flags };
                let clip = clip_rects(&d.base.clip);
                canvas.alpha_blend(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
            }
            DisplayMessage::DrawStroke(d) => self.stroke(canvas, &d)?,
            DisplayMessage::DrawText(d) => self.text(canvas, &d)?,
            DisplayMessage::DrawComposite(d) => self.composite(canvas, &d)?,
            DisplayMessage::StreamCreate(c) => self.streams.create(sender, &c)?,
            DisplayMessage::StreamData(d) => {
                let f = Frame { id: d.id, mm_time: d.multi_media_time, dest: None, data: d.data };
                self.streams.frame(sender, canvas, &self.decode_limits, &f)?;
            }
            DisplayMessage::StreamDataSized(d) => {
                // The frame's own size is in the JPEG header; spice-gtk
                // goes by that, and so do we.
                let f = Frame { id: d.id, mm_time: d.multi_media_time, dest: Some(d.dest), data: d.data };
                self.streams.frame(sender, canvas, &self.decode_limits, &f)?;
            }
            DisplayMessage::StreamClip { id, clip } => self.streams.clip(id, &clip)?,
            DisplayMessage::StreamDestroy(id) => self.streams.destroy(id),
            DisplayMessage::StreamDestroyAll => self.streams.clear(),
            DisplayMessage::StreamActivateReport(a) => self.streams.activate_report(&a)?,
            // MONITORS_CONFIG, GL and quality messages need no drawing.
            _ => {}
        }
        Ok(())
    }

    fn copy(&mut self, canvas: &mut Canvas, d: &draw::DrawCopy<'_>, blend: bool) -> Result<(), DrawFailure> {
        let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
        let mask = self.mask(&d.mask)?;
        let op = CopyOp {
            src: self.source(&src)?,
            src_area: rect(d.src_area),
            rop: Ropd(d.rop_descriptor),
            scale: scale(d.scale_mode),
            mask: mask_ref(&mask, &d.mask),
        };
        let clip = clip_rects(&d.base.clip);
        let (dst, bbox) = (d.base.surface_id, rect(d.base.bbox));
        if blend {
            canvas.blend(dst, bbox, as_clip(&clip), &op)?;
        } else {
            canvas.copy(dst, bbox, as_clip(&clip), &op)?;
        }
        Ok(())
    }

    fn stroke(&mut self, canvas: &mut Canvas, d: &draw::DrawStroke<'_>) -> Result<(), DrawFailure> {
        let points: Vec<Vec<canvas::PointFix>> = d
            .path
            .segments
            .iter()
            .map(|seg| seg.points.iter().map(|p| canvas::PointFix { x: p.x, y: p.y }).collect())
            .collect();
        let path: Vec<canvas::PathSeg<'_>> = d
            .path
            .segments
            .iter()
            .zip(&points)
            .map(|(seg, pts)| canvas::PathSeg { flags: u32::from(seg.flags), points: pts })
            .collect();
        let pattern = self.brush_image(canvas, &d.brush)?;
        let op = canvas::StrokeOp {
            path: &path,
            attr: canvas::LineAttr { flags: d.attr.flags, style: &d.attr.style },
            brush: self.brush(&d.brush, &pattern)?,
            fore_mode: Ropd(d.fore_mode),
            back_mode: Ropd(d.back_mode),
        };
        let clip = clip_rects(&d.base.clip);
        canvas.stroke(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
        Ok(())
    }

    fn text(&mut self, canvas: &mut Canvas, d: &draw::DrawText<'_>) -> Result<(), DrawFailure> {
        use crate::msg::draw::string_flags as sf;
        let depth = match d.text.flags {
            f if f & sf::RASTER_A1 != 0 => canvas::GlyphDepth::A1,
            f if f & sf::RASTER_A4 != 0 => canvas::GlyphDepth::A4,
            f if f & sf::RASTER_A8 != 0 => canvas::GlyphDepth::A8,
            f => return Err(DrawFailure(format!("glyph string flags {f:#x} name no raster depth"))),
        };
        let glyphs: Vec<canvas::Glyph<'_>> = d
            .text
            .glyphs
            .iter()
            .map(|g| canvas::Glyph {
                render_pos: point(g.render_pos),
                glyph_origin: point(g.glyph_origin),
                width: g.width,
                height: g.height,
                data: g.data,
            })
            .collect();
        let fore = self.brush_image(canvas, &d.fore_brush)?;
        let back = self.brush_image(canvas, &d.back_brush)?;
        let op = canvas::TextOp {
            string: canvas::GlyphString { depth, glyphs: &glyphs },
            back_area: rect(d.back_area),
            fore_brush: self.brush(&d.fore_brush, &fore)?,
            back_brush: self.brush(&d.back_brush, &back)?,
            fore_mode: Ropd(d.fore_mode),
            back_mode: Ropd(d.back_mode),
        };
        let clip = clip_rects(&d.base.clip);
        canvas.text(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
        Ok(())
    }

    fn composite(&mut self, canvas: &mut Canvas, d: &draw::DrawComposite<'_>) -> Result<(), DrawFailure> {
        let src = self.resolve(canvas, d.src_bitmap.as_ref())?;
        let mask = match &d.mask_bitmap {
            Some(m) => Some(self.resolve(canvas, Some(m))?),
            None => None,
        };
        let transform = |t: &[u32; 6]| canvas::Transform {
            t00: t[0] as i32,
            t01: t[1] as i32,
            t02: t[2] as i32,
            t10: t[3] as i32,
            t11: t[4] as i32,
            t12: t[5] as i32,
        };
        let op = canvas::CompositeOp {
            flags: d.flags,
            src: self.source(&src)?,
            mask: match &mask {
                Some(m) => Some(self.source(m)?),
                None => None,
            },
            src_transform: d.src_transform.as_ref().map(transform),
            mask_transform: d.mask_transform.as_ref().map(transform),
            src_origin: canvas::Point { x: d.src_origin.x.into(), y: d.src_origin.y.into() },
            mask_origin: canvas::Point { x: d.mask_origin.x.into(), y: d.mask_origin.y.into() },
        };
        let clip = clip_rects(&d.base.clip);
        canvas.composite(d.base.surface_id, rect(d.base.bbox), as_clip(&clip), &op)?;
        Ok(())
    }

    fn masked(&mut self, canvas: &mut Canvas, d: &draw::DrawMasked<'_>, kind: Masked) -> Result<(), DrawFailure> {
        let mask = self.mask(&d.mask)?;
        let m = mask_ref(&mask, &d.mask);
        let clip = clip_rects(&d.base.clip);
        let (dst, bbox, c) = (d.base.surface_id, rect(d.base.bbox), as_clip(&clip));
        match kind {
            Masked::Blackness => canvas.blackness(dst, bbox, c, m.as_ref())?,
            Masked::Whiteness => canvas.whiteness(dst, bbox, c, m.as_ref())?,
            Masked::Invers => canvas.invers(dst, bbox, c, m.as_ref())?,
        }
        Ok(())
    }

    /// Decodes (or finds) a command's image; caches it when asked to.
    fn resolve(&mut self, canvas: &Canvas, image: Option<&Image<'_>>) -> Result<Resolved, DrawFailure> {
        let image = image.ok_or_else(|| DrawFailure("the command has no source image".into()))?;
        let d = image.descriptor;
        match image.data {
            ImageData::FromCache | ImageData::FromCacheLossless => {
                let c = self
                    .pixmaps
                    .get(&d.id)
                    .ok_or_else(|| DrawFailure(format!("image {} is not in the cache", d.id)))?;
                if matches!(image.data, ImageData::FromCacheLossless) && c.lossy {
                    return Err(DrawFailure(format!("image {} is cached lossy, lossless wanted", d.id)));
                }
                return Ok(Resolved::Cached(d.id));
            }
            ImageData::Surface { surface_id } => {
                canvas.surface(surface_id).ok_or(canvas::CanvasError::UnknownSurface(surface_id))?;
                return Ok(Resolved::Surface(surface_id));
            }
            _ => {}
        }
        let (decoded, lossy) = self.decode(image)?;
        *self.decoded.entry(d.image_type.into()).or_default() += 1;
        if d.width != decoded.width || d.height != decoded.height {
            return Err(DrawFailure(format!(
                "image {} decoded to {}x{}, the descriptor says {}x{}",
                d.id, decoded.width, decoded.height, d.width, d.height
            )));
        }
        let image = DecodedImage {
            width: decoded.width,
            height: decoded.height,
            pixels: decoded.data,
            has_alpha: decoded.has_alpha,
        };
        if d.flags & (image_flags::CACHE_ME | image_flags::CACHE_REPLACE_ME) != 0 {
            self.cache(d.id, image, lossy)?;
            return Ok(Resolved::Cached(d.id));
        }
        Ok(Resolved::Owned(image))
    }

    /// Decodes an image's payload; the bool says whether the codec is lossy.
    fn decode(&mut self, image: &Image<'_>) -> Result<(decode::Pixels, bool), DrawFailure> {
        let limits = self.decode_limits;
        let d = image.descriptor;
        let pixels = match image.data {
            ImageData::Bitmap(b) => {
                let palette = self.palette(b.flags, &b.palette)?;
                let bmp = bitmap::Bitmap {
                    format: b.format,
                    top_down: b.flags & crate::consts::bitmap_flags::TOP_DOWN != 0,
                    width: b.width,
                    height: b.height,
                    stride: b.stride,
                    data: b.data,
                };
                bitmap::decode(&bmp, palette.as_deref(), &limits)?
            }
            ImageData::LzRgb(data) => lz::decode(data, None, &limits)?,
            ImageData::LzPlt { flags, palette, data } => {
                let palette = self.palette(flags, &palette)?;
                lz::decode(data, palette.as_deref(), &limits)?
            }
            ImageData::GlzRgb(data) => self.glz.decode(data, &limits)?,
            ImageData::ZlibGlzRgb { glz_data_size, data } => self.glz.decode_zlib(glz_data_size, data, &limits)?,
            ImageData::Quic(data) => quic::decode(data, &limits)?,
            ImageData::Lz4(data) => lz4::decode(data, d.width, d.height, &limits)?,
            ImageData::Jpeg(data) => return Ok((jpeg::decode(data, &limits)?, true)),
            ImageData::JpegAlpha { flags, jpeg_size, data } => {
                let split = (jpeg_size as usize).min(data.len());
                let (j, alpha) = data.split_at(split);
                return Ok((jpeg::decode_alpha(j, alpha, flags, &limits)?, true));
            }
            _ => return Err(DrawFailure(format!("no decoder for {:?} images", d.image_type))),
        };
        Ok((pixels, false))
    }

    /// The palette a bitmap uses: inline (and cached when asked), or from
    /// the cache.
    fn palette(&mut self, flags: u8, source: &PaletteSource<'_>) -> Result<Option<Vec<u32>>, DrawFailure> {
        use crate::consts::bitmap_flags::PAL_CACHE_ME;
        match source {
            PaletteSource::None => Ok(None),
            PaletteSource::FromCache(id) => self
                .palettes
                .get(id)
                .cloned()
                .map(Some)
                .ok_or_else(|| DrawFailure(format!("palette {id} is not in the cache"))),
            PaletteSource::Inline(p) => {
                let entries: Vec<u32> = p.entries().collect();
                if flags & PAL_CACHE_ME != 0 && self.palettes.len() < MAX_CACHED_PALETTES {
                    self.palettes.insert(p.unique, entries.clone());
                }
                Ok(Some(entries))
            }
        }
    }

    fn cache(&mut self, id: u64, image: DecodedImage, lossy: bool) -> Result<(), DrawFailure> {
        self.uncache(id);
        let pixels = u64::from(image.width) * u64::from(image.height);
        if self.pixmap_pixels + pixels > self.pixmap_budget {
            return Err(DrawFailure(format!(
                "caching image {id} ({pixels} px) would exceed the announced cache of {} px",
                self.pixmap_budget
            )));
        }
        self.pixmap_pixels += pixels;
        self.pixmaps.insert(id, Cached { image, lossy });
        Ok(())
    }

    fn uncache(&mut self, id: u64) {
        if let Some(old) = self.pixmaps.remove(&id) {
            self.pixmap_pixels -= u64::from(old.image.width) * u64::from(old.image.height);
        }
    }

    /// A canvas source for a resolved image.
    fn source<'s>(&'s self, r: &'s Resolved) -> Result<Source<'s>, DrawFailure> {
        Ok(match r {
            Resolved::Owned(img) => Source::Image(img.as_image()?),
            Resolved::Cached(id) => {
                let c = self.pixmaps.get(id).ok_or_else(|| DrawFailure(format!("image {id} left the cache")))?;
                Source::Image(c.image.as_image()?)
            }
            Resolved::Surface(id) => Source::Surface(*id),
        })
    }

    /// Resolves a pattern brush's image (None for other brushes).
    fn brush_image(&mut self, canvas: &Canvas, brush: &Brush<'_>) -> Result<Option<Resolved>, DrawFailure> {
        match brush {
            Brush::Pattern { image, .. } => Ok(Some(self.resolve(canvas, Some(image))?)),
            _ => Ok(None),
        }
    }

    fn brush<'s>(&'s self, brush: &Brush<'_>, pattern: &'s Option<Resolved>) -> Result<canvas::Brush<'s>, DrawFailure> {
        Ok(match (brush, pattern) {
            (Brush::None, _) => canvas::Brush::None,
            (Brush::Solid(c), _) => canvas::Brush::Solid(*c),
            (Brush::Pattern { pos, .. }, Some(r)) => {
                canvas::Brush::Pattern { image: self.source(r)?, pos: point(*pos) }
            }
            (Brush::Pattern { .. }, None) => canvas::Brush::None,
        })
    }

    /// A mask's bits: 1-bit bitmaps only, as spice-server sends them.
    fn mask<'m>(&self, q: &QMask<'m>) -> Result<Option<Bitmap1<'m>>, DrawFailure> {
        let Some(image) = q.bitmap else { return Ok(None) };
        let ImageData::Bitmap(b) = image.data else {
            return Err(DrawFailure(format!("mask of type {:?} is not supported", image.descriptor.image_type)));
        };
        let order = match b.format {
            BitmapFormat::OneBitLe => BitOrder::LsbFirst,
            BitmapFormat::OneBitBe => BitOrder::MsbFirst,
            other => return Err(DrawFailure(format!("mask bitmap format {other:?} is not 1-bit"))),
        };
        let top_down = b.flags & crate::consts::bitmap_flags::TOP_DOWN != 0;
        Ok(Some(Bitmap1::new(b.width, b.height, b.stride as usize, b.data, order, top_down)?))
    }
}

#[derive(Clone, Copy)]
enum Masked {
    Blackness,
    Whiteness,
    Invers,
}

/// SPICE_MASK_FLAGS_INVERS.
const MASK_INVERS: u8 = 1;

fn mask_ref<'m>(bits: &Option<Bitmap1<'m>>, q: &QMask<'_>) -> Option<Mask<'m>> {
    bits.map(|b| Mask { invers: q.flags & MASK_INVERS != 0, pos: point(q.pos), bits: MaskBits::Bitmap(b) })
}

pub(super) fn rect(r: crate::msg::Rect) -> canvas::Rect {
    canvas::Rect::new(r.left, r.top, r.right, r.bottom)
}

fn point(p: crate::msg::Point) -> canvas::Point {
    canvas::Point { x: p.x, y: p.y }
}

fn scale(mode: u8) -> ScaleMode {
    if mode == 1 {
        ScaleMode::Nearest
    } else {
        ScaleMode::Interpolate
    }
}

pub(super) fn clip_rects(c: &Clip) -> Option<Vec<canvas::Rect>> {
    match c {
        Clip::None => None,
        Clip::Rects(r) => Some(r.iter().copied().map(rect).collect()),
    }
}

pub(super) fn as_clip(c: &Option<Vec<canvas::Rect>>) -> canvas::Clip<'_> {
    match c {
        None => canvas::Clip::None,
        Some(r) => canvas::Clip::Rects(r),
    }
}
