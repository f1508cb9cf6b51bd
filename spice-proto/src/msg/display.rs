//! Display channel messages (`DisplayChannel` in spice.proto) other than the
//! draw commands (see [`super::draw`]), and the client's display messages.

use alloc::vec::Vec;

use super::base::{parse_wait_list, ChannelWait};
use super::draw::{
    parse_clip, Clip, DisplayBase, DrawAlphaBlend, DrawComposite, DrawCopy, DrawFill, DrawMasked, DrawOpaque, DrawRop3,
    DrawStroke, DrawText, DrawTransparent,
};
use super::main::int_client_message;
use super::{empty_client_message, EmitMessage, MsgErrorKind, Point, Reader, Rect, Result, Writer};
use crate::consts::msg::display::{client as c, server as s};
use crate::consts::SurfaceFormat;

/// Surface flags (`SPICE_SURFACE_FLAGS_*`).
pub mod surface_flags {
    /// The primary surface (the screen).
    pub const PRIMARY: u32 = 1 << 0;
    /// Only stream commands will draw on it.
    pub const STREAMING_MODE: u32 = 1 << 1;
}

/// Stream flags (`SPICE_STREAM_FLAGS_*`).
pub mod stream_flags {
    /// Frames are top-down.
    pub const TOP_DOWN: u8 = 1 << 0;
}

/// Video codec types (`SPICE_VIDEO_CODEC_TYPE_*`).
pub mod video_codec {
    /// Motion JPEG.
    pub const MJPEG: u8 = 1;
    /// VP8.
    pub const VP8: u8 = 2;
    /// H.264.
    pub const H264: u8 = 3;
    /// VP9.
    pub const VP9: u8 = 4;
    /// H.265.
    pub const H265: u8 = 5;
}

/// Image compression preferences (`SPICE_IMAGE_COMPRESSION_*`).
pub mod image_compression {
    /// No compression.
    pub const OFF: u8 = 1;
    /// QUIC for photos, GLZ for the rest.
    pub const AUTO_GLZ: u8 = 2;
    /// QUIC for photos, LZ for the rest.
    pub const AUTO_LZ: u8 = 3;
    /// QUIC.
    pub const QUIC: u8 = 4;
    /// GLZ.
    pub const GLZ: u8 = 5;
    /// LZ.
    pub const LZ: u8 = 6;
    /// LZ4.
    pub const LZ4: u8 = 7;
}

/// MODE (legacy, ignored by modern clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Width.
    pub x_res: u32,
    /// Height.
    pub y_res: u32,
    /// Depth.
    pub bits: u32,
}

/// COPY_BITS: copy a rectangle of the surface onto itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyBits {
    /// Header: destination box and clip.
    pub base: DisplayBase,
    /// Top-left of the source on the same surface.
    pub src_pos: Point,
}

/// A cached resource to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId {
    /// Resource type (1 = pixmap).
    pub res_type: u8,
    /// Cache id.
    pub id: u64,
}

/// STREAM_CREATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCreate {
    /// Destination surface.
    pub surface_id: u32,
    /// Stream id (< 64).
    pub id: u32,
    /// [`stream_flags`].
    pub flags: u8,
    /// [`video_codec`].
    pub codec_type: u8,
    /// Creation stamp.
    pub stamp: u64,
    /// Encoded frame width.
    pub stream_width: u32,
    /// Encoded frame height.
    pub stream_height: u32,
    /// Source width (before scaling).
    pub src_width: u32,
    /// Source height.
    pub src_height: u32,
    /// Destination rectangle.
    pub dest: Rect,
    /// Clip.
    pub clip: Clip,
}

/// STREAM_DATA: one encoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamData<'a> {
    /// Stream id.
    pub id: u32,
    /// When to show it (multimedia time, ms).
    pub multi_media_time: u32,
    /// Encoded frame.
    pub data: &'a [u8],
}

/// STREAM_DATA_SIZED: a frame with its own size and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamDataSized<'a> {
    /// Stream id.
    pub id: u32,
    /// When to show it.
    pub multi_media_time: u32,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Destination rectangle.
    pub dest: Rect,
    /// Encoded frame.
    pub data: &'a [u8],
}

/// STREAM_ACTIVATE_REPORT: start sending STREAM_REPORT for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamActivateReport {
    /// Stream id.
    pub stream_id: u32,
    /// Id to echo in reports.
    pub unique_id: u32,
    /// Frames per report.
    pub max_window_size: u32,
    /// Report at least this often (ms).
    pub timeout_ms: u32,
}

/// SURFACE_CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurfaceCreate {
    /// Surface id (0 is the primary).
    pub surface_id: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Pixel format.
    pub format: SurfaceFormat,
    /// [`surface_flags`].
    pub flags: u32,
}

/// One monitor of MONITORS_CONFIG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Monitor id.
    pub monitor_id: u32,
    /// Surface shown.
    pub surface_id: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// X offset in the surface.
    pub x: u32,
    /// Y offset.
    pub y: u32,
    /// Flags.
    pub flags: u32,
}

/// MONITORS_CONFIG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorsConfig {
    /// Most monitors the guest allows.
    pub max_allowed: u16,
    /// The monitors.
    pub heads: Vec<Head>,
}

/// GL_SCANOUT_UNIX (the dma-buf fd travels out of band; only useful locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlScanoutUnix {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Stride.
    pub stride: u32,
    /// DRM fourcc.
    pub drm_fourcc_format: u32,
    /// Flags (bit 0: y0 at top).
    pub flags: u32,
}

/// GL_DRAW: a damaged rectangle of the GL scanout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlDraw {
    /// X.
    pub x: u32,
    /// Y.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// A server message of the display channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayMessage<'a> {
    /// MODE.
    Mode(Mode),
    /// MARK: the first frame is complete.
    Mark,
    /// RESET: drop all surfaces, caches and streams.
    Reset,
    /// COPY_BITS.
    CopyBits(CopyBits),
    /// INVAL_LIST: drop these cache entries.
    InvalList(Vec<ResourceId>),
    /// INVAL_ALL_PIXMAPS: drop the image cache after the listed messages.
    InvalAllPixmaps(Vec<ChannelWait>),
    /// INVAL_PALETTE: drop one palette.
    InvalPalette(u64),
    /// INVAL_ALL_PALETTES.
    InvalAllPalettes,
    /// STREAM_CREATE.
    StreamCreate(StreamCreate),
    /// STREAM_DATA.
    StreamData(StreamData<'a>),
    /// STREAM_CLIP: a stream's new clip.
    StreamClip {
        /// Stream id.
        id: u32,
        /// New clip.
        clip: Clip,
    },
    /// STREAM_DESTROY.
    StreamDestroy(u32),
    /// STREAM_DESTROY_ALL.
    StreamDestroyAll,
    /// DRAW_FILL.
    DrawFill(DrawFill<'a>),
    /// DRAW_OPAQUE.
    DrawOpaque(DrawOpaque<'a>),
    /// DRAW_COPY.
    DrawCopy(DrawCopy<'a>),
    /// DRAW_BLEND.
    DrawBlend(DrawCopy<'a>),
    /// DRAW_BLACKNESS.
    DrawBlackness(DrawMasked<'a>),
    /// DRAW_WHITENESS.
    DrawWhiteness(DrawMasked<'a>),
    /// DRAW_INVERS.
    DrawInvers(DrawMasked<'a>),
    /// DRAW_ROP3.
    DrawRop3(DrawRop3<'a>),
    /// DRAW_STROKE.
    DrawStroke(DrawStroke<'a>),
    /// DRAW_TEXT.
    DrawText(DrawText<'a>),
    /// DRAW_TRANSPARENT.
    DrawTransparent(DrawTransparent<'a>),
    /// DRAW_ALPHA_BLEND.
    DrawAlphaBlend(DrawAlphaBlend<'a>),
    /// SURFACE_CREATE.
    SurfaceCreate(SurfaceCreate),
    /// SURFACE_DESTROY.
    SurfaceDestroy(u32),
    /// STREAM_DATA_SIZED.
    StreamDataSized(StreamDataSized<'a>),
    /// MONITORS_CONFIG.
    MonitorsConfig(MonitorsConfig),
    /// DRAW_COMPOSITE.
    DrawComposite(DrawComposite<'a>),
    /// STREAM_ACTIVATE_REPORT.
    StreamActivateReport(StreamActivateReport),
    /// GL_SCANOUT_UNIX.
    GlScanoutUnix(GlScanoutUnix),
    /// GL_DRAW.
    GlDraw(GlDraw),
    /// QUALITY_INDICATOR (opaque).
    QualityIndicator(&'a [u8]),
}

impl SurfaceCreate {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("SURFACE_CREATE", body);
        Ok(SurfaceCreate {
            surface_id: r.u32("surface_id")?,
            width: r.u32("width")?,
            height: r.u32("height")?,
            format: r.u32("format")?.into(),
            flags: r.u32("flags")?,
        })
    }
}

impl MonitorsConfig {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("MONITORS_CONFIG", body);
        let count = r.u16("count")?;
        let max_allowed = r.u16("max_allowed")?;
        let heads = r.list("heads", count.into(), 28, |r| {
            Ok(Head {
                monitor_id: r.u32("heads.monitor_id")?,
                surface_id: r.u32("heads.surface_id")?,
                width: r.u32("heads.width")?,
                height: r.u32("heads.height")?,
                x: r.u32("heads.x")?,
                y: r.u32("heads.y")?,
                flags: r.u32("heads.flags")?,
            })
        })?;
        Ok(MonitorsConfig { max_allowed, heads })
    }
}

impl StreamCreate {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("STREAM_CREATE", body);
        Ok(StreamCreate {
            surface_id: r.u32("surface_id")?,
            id: r.u32("id")?,
            flags: r.u8("flags")?,
            codec_type: r.u8("codec_type")?,
            stamp: r.u64("stamp")?,
            stream_width: r.u32("stream_width")?,
            stream_height: r.u32("stream_height")?,
            src_width: r.u32("src_width")?,
            src_height: r.u32("src_height")?,
            dest: r.rect("dest")?,
            clip: parse_clip(&mut r)?,
        })
    }
}

impl<'a> DisplayMessage<'a> {
    /// Parses a display-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        use DisplayMessage as M;
        Ok(Some(match msg_type {
            s::MODE => {
                let mut r = Reader::new("MODE", body);
                M::Mode(Mode { x_res: r.u32("x_res")?, y_res: r.u32("y_res")?, bits: r.u32("bits")? })
            }
            s::MARK => M::Mark,
            s::RESET => M::Reset,
            s::COPY_BITS => {
                let mut r = Reader::new("COPY_BITS", body);
                M::CopyBits(CopyBits { base: DisplayBase::parse(&mut r)?, src_pos: r.point("src_pos")? })
            }
            s::INVAL_LIST => {
                let mut r = Reader::new("INVAL_LIST", body);
                let count = r.u16("count")?;
                M::InvalList(r.list("resources", count.into(), 9, |r| {
                    Ok(ResourceId { res_type: r.u8("resources.type")?, id: r.u64("resources.id")? })
                })?)
            }
            s::INVAL_ALL_PIXMAPS => M::InvalAllPixmaps(parse_wait_list(&mut Reader::new("INVAL_ALL_PIXMAPS", body))?),
            s::INVAL_PALETTE => M::InvalPalette(Reader::new("INVAL_PALETTE", body).u64("id")?),
            s::INVAL_ALL_PALETTES => M::InvalAllPalettes,
            s::STREAM_CREATE => M::StreamCreate(StreamCreate::parse(body)?),
            s::STREAM_DATA => {
                let mut r = Reader::new("STREAM_DATA", body);
                let id = r.u32("id")?;
                let multi_media_time = r.u32("multi_media_time")?;
                let size = r.u32("data_size")?;
                M::StreamData(StreamData { id, multi_media_time, data: r.take("data", size.into())? })
            }
            s::STREAM_CLIP => {
                let mut r = Reader::new("STREAM_CLIP", body);
                M::StreamClip { id: r.u32("id")?, clip: parse_clip(&mut r)? }
            }
            s::STREAM_DESTROY => M::StreamDestroy(Reader::new("STREAM_DESTROY", body).u32("id")?),
            s::STREAM_DESTROY_ALL => M::StreamDestroyAll,
            s::DRAW_FILL => M::DrawFill(DrawFill::parse(body)?),
            s::DRAW_OPAQUE => M::DrawOpaque(DrawOpaque::parse(body)?),
            s::DRAW_COPY => M::DrawCopy(DrawCopy::parse(body)?),
            s::DRAW_BLEND => M::DrawBlend(DrawCopy::parse_blend(body)?),
            s::DRAW_BLACKNESS => M::DrawBlackness(DrawMasked::parse("DRAW_BLACKNESS", body)?),
            s::DRAW_WHITENESS => M::DrawWhiteness(DrawMasked::parse("DRAW_WHITENESS", body)?),
            s::DRAW_INVERS => M::DrawInvers(DrawMasked::parse("DRAW_INVERS", body)?),
            s::DRAW_ROP3 => M::DrawRop3(DrawRop3::parse(body)?),
            s::DRAW_STROKE => M::DrawStroke(DrawStroke::parse(body)?),
            s::DRAW_TEXT => M::DrawText(DrawText::parse(body)?),
            s::DRAW_TRANSPARENT => M::DrawTransparent(DrawTransparent::parse(body)?),
            s::DRAW_ALPHA_BLEND => M::DrawAlphaBlend(DrawAlphaBlend::parse(body)?),
            s::SURFACE_CREATE => M::SurfaceCreate(SurfaceCreate::parse(body)?),
            s::SURFACE_DESTROY => M::SurfaceDestroy(Reader::new("SURFACE_DESTROY", body).u32("surface_id")?),
            s::STREAM_DATA_SIZED => {
                let mut r = Reader::new("STREAM_DATA_SIZED", body);
                let id = r.u32("id")?;
                let multi_media_time = r.u32("multi_media_time")?;
                let width = r.u32("width")?;
                let height = r.u32("height")?;
                let dest = r.rect("dest")?;
                let size = r.u32("data_size")?;
                let data = r.take("data", size.into())?;
                M::StreamDataSized(StreamDataSized { id, multi_media_time, width, height, dest, data })
            }
            s::MONITORS_CONFIG => M::MonitorsConfig(MonitorsConfig::parse(body)?),
            s::DRAW_COMPOSITE => M::DrawComposite(DrawComposite::parse(body)?),
            s::STREAM_ACTIVATE_REPORT => {
                let mut r = Reader::new("STREAM_ACTIVATE_REPORT", body);
                M::StreamActivateReport(StreamActivateReport {
                    stream_id: r.u32("stream_id")?,
                    unique_id: r.u32("unique_id")?,
                    max_window_size: r.u32("max_window_size")?,
                    timeout_ms: r.u32("timeout_ms")?,
                })
            }
            s::GL_SCANOUT_UNIX => {
                let mut r = Reader::new("GL_SCANOUT_UNIX", body);
                M::GlScanoutUnix(GlScanoutUnix {
                    width: r.u32("width")?,
                    height: r.u32("height")?,
                    stride: r.u32("stride")?,
                    drm_fourcc_format: r.u32("drm_fourcc_format")?,
                    flags: r.u32("flags")?,
                })
            }
            s::GL_DRAW => {
                let mut r = Reader::new("GL_DRAW", body);
                M::GlDraw(GlDraw { x: r.u32("x")?, y: r.u32("y")?, w: r.u32("w")?, h: r.u32("h")? })
            }
            s::QUALITY_INDICATOR => M::QualityIndicator(body),
            _ => return Ok(None),
        }))
    }

    /// The draw header, for the draw commands.
    pub fn display_base(&self) -> Option<&DisplayBase> {
        use DisplayMessage as M;
        Some(match self {
            M::CopyBits(m) => &m.base,
            M::DrawFill(m) => &m.base,
            M::DrawOpaque(m) => &m.base,
            M::DrawCopy(m) | M::DrawBlend(m) => &m.base,
            M::DrawBlackness(m) | M::DrawWhiteness(m) | M::DrawInvers(m) => &m.base,
            M::DrawRop3(m) => &m.base,
            M::DrawStroke(m) => &m.base,
            M::DrawText(m) => &m.base,
            M::DrawTransparent(m) => &m.base,
            M::DrawAlphaBlend(m) => &m.base,
            M::DrawComposite(m) => &m.base,
            _ => return None,
        })
    }
}

/// DISPLAY_INIT: the client's cache sizes; the server waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayInit {
    /// Image cache id.
    pub pixmap_cache_id: u8,
    /// Image cache size in pixels.
    pub pixmap_cache_size: i64,
    /// GLZ dictionary id.
    pub glz_dictionary_id: u8,
    /// GLZ window size in pixels (0 disables GLZ).
    pub glz_dictionary_window_size: i32,
}

impl DisplayInit {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        Ok(DisplayInit {
            pixmap_cache_id: r.u8("pixmap_cache_id")?,
            pixmap_cache_size: r.i64("pixmap_cache_size")?,
            glz_dictionary_id: r.u8("glz_dictionary_id")?,
            glz_dictionary_window_size: r.i32("glz_dictionary_window_size")?,
        })
    }
}

impl EmitMessage for DisplayInit {
    const MSG_TYPE: u16 = c::INIT;
    const NAME: &'static str = "DISPLAY_INIT";
    fn buffer_len(&self) -> usize {
        14
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u8(self.pixmap_cache_id);
        w.i64(self.pixmap_cache_size);
        w.u8(self.glz_dictionary_id);
        w.i32(self.glz_dictionary_window_size);
        w.finish()
    }
}

/// STREAM_REPORT: playback statistics for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamReport {
    /// Stream id.
    pub stream_id: u32,
    /// The STREAM_ACTIVATE_REPORT unique id.
    pub unique_id: u32,
    /// mm time of the first frame in the report.
    pub start_frame_mm_time: u32,
    /// mm time of the last frame.
    pub end_frame_mm_time: u32,
    /// Frames received (0 with `num_drops == u32::MAX`: stream unsupported).
    pub num_frames: u32,
    /// Frames dropped for arriving late.
    pub num_drops: u32,
    /// end_frame_mm_time − client mm time.
    pub last_frame_delay: i32,
    /// Audio latency, or `u32::MAX` without audio.
    pub audio_delay: u32,
}

impl StreamReport {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        Ok(StreamReport {
            stream_id: r.u32("stream_id")?,
            unique_id: r.u32("unique_id")?,
            start_frame_mm_time: r.u32("start_frame_mm_time")?,
            end_frame_mm_time: r.u32("end_frame_mm_time")?,
            num_frames: r.u32("num_frames")?,
            num_drops: r.u32("num_drops")?,
            last_frame_delay: r.i32("last_frame_delay")?,
            audio_delay: r.u32("audio_delay")?,
        })
    }
}

impl EmitMessage for StreamReport {
    const MSG_TYPE: u16 = c::STREAM_REPORT;
    const NAME: &'static str = "STREAM_REPORT";
    fn buffer_len(&self) -> usize {
        32
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        for v in [self.stream_id, self.unique_id, self.start_frame_mm_time, self.end_frame_mm_time] {
            w.u32(v);
        }
        w.u32(self.num_frames);
        w.u32(self.num_drops);
        w.i32(self.last_frame_delay);
        w.u32(self.audio_delay);
        w.finish()
    }
}

int_client_message!(
    /// PREFERRED_COMPRESSION: an [`image_compression`] value.
    PreferredCompression {
        /// [`image_compression`] value.
        image_compression: u8
    },
    c::PREFERRED_COMPRESSION,
    "PREFERRED_COMPRESSION"
);

empty_client_message!(
    /// GL_DRAW_DONE.
    GlDrawDone,
    c::GL_DRAW_DONE,
    "GL_DRAW_DONE"
);

/// PREFERRED_VIDEO_CODEC_TYPE: [`video_codec`] values, most preferred first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreferredVideoCodecType<'a> {
    /// Codecs.
    pub codecs: &'a [u8],
}

impl<'a> PreferredVideoCodecType<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        let n = r.u8("num_of_codecs")?;
        Ok(PreferredVideoCodecType { codecs: r.take("codecs", n.into())? })
    }
}

impl EmitMessage for PreferredVideoCodecType<'_> {
    const MSG_TYPE: u16 = c::PREFERRED_VIDEO_CODEC_TYPE;
    const NAME: &'static str = "PREFERRED_VIDEO_CODEC_TYPE";
    fn buffer_len(&self) -> usize {
        1 + self.codecs.len()
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let n = u8::try_from(self.codecs.len()).map_err(|_| super::MsgError {
            message: Self::NAME,
            via: None,
            field: "num_of_codecs",
            kind: MsgErrorKind::TooLarge { value: self.codecs.len() as u64, max: 255 },
        })?;
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u8(n);
        w.bytes(self.codecs);
        w.finish()
    }
}

/// A client message of the display channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayClientMessage<'a> {
    /// INIT.
    Init(DisplayInit),
    /// STREAM_REPORT.
    StreamReport(StreamReport),
    /// PREFERRED_COMPRESSION.
    PreferredCompression(PreferredCompression),
    /// GL_DRAW_DONE.
    GlDrawDone,
    /// PREFERRED_VIDEO_CODEC_TYPE.
    PreferredVideoCodecType(PreferredVideoCodecType<'a>),
}

impl<'a> DisplayClientMessage<'a> {
    /// Parses a display client message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            c::INIT => DisplayClientMessage::Init(DisplayInit::parse(body)?),
            c::STREAM_REPORT => DisplayClientMessage::StreamReport(StreamReport::parse(body)?),
            c::PREFERRED_COMPRESSION => DisplayClientMessage::PreferredCompression(PreferredCompression::parse(body)?),
            c::GL_DRAW_DONE => DisplayClientMessage::GlDrawDone,
            c::PREFERRED_VIDEO_CODEC_TYPE => {
                DisplayClientMessage::PreferredVideoCodecType(PreferredVideoCodecType::parse(body)?)
            }
            _ => return Ok(None),
        }))
    }

    /// Message type number.
    pub fn msg_type(&self) -> u16 {
        match self {
            DisplayClientMessage::Init(_) => c::INIT,
            DisplayClientMessage::StreamReport(_) => c::STREAM_REPORT,
            DisplayClientMessage::PreferredCompression(_) => c::PREFERRED_COMPRESSION,
            DisplayClientMessage::GlDrawDone => c::GL_DRAW_DONE,
            DisplayClientMessage::PreferredVideoCodecType(_) => c::PREFERRED_VIDEO_CODEC_TYPE,
        }
    }

    /// The body bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            DisplayClientMessage::Init(m) => m.to_vec(),
            DisplayClientMessage::StreamReport(m) => m.to_vec(),
            DisplayClientMessage::PreferredCompression(m) => m.to_vec(),
            DisplayClientMessage::GlDrawDone => Vec::new(),
            DisplayClientMessage::PreferredVideoCodecType(m) => m.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{BitmapFormat, ImageType};
    use crate::msg::draw::ropd;
    use crate::msg::image::{ImageData, PaletteSource};
    use alloc::vec;

    // Real bodies from the captures' display channels.
    const SURFACE_CREATE: [u8; 20] = [0, 0, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0x20, 0, 0, 0, 1, 0, 0, 0];
    const MONITORS_CONFIG: [u8; 32] =
        [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    // stream-mjpeg: first STREAM_CREATE (id 49, MJPEG, 32x128 at (560, 688)).
    const STREAM_CREATE: [u8; 51] = [
        0x00, 0x00, 0x00, 0x00, 0x31, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x20, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x30, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x02, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
    ];
    const STREAM_CLIP: [u8; 25] =
        [0x31, 0, 0, 0, 1, 1, 0, 0, 0, 0xaf, 0x02, 0, 0, 0, 0, 0, 0, 0xb0, 0x02, 0, 0, 0x20, 0, 0, 0];
    const STREAM_ACTIVATE_REPORT: [u8; 16] = [0x31, 0, 0, 0, 0x51, 0xdc, 0xb0, 0x74, 5, 0, 0, 0, 0xe8, 3, 0, 0];
    // The fixed part of every capture's first DRAW_COPY: the full 1024x768
    // surface, no clip, image at offset 57, OP_PUT, no mask.
    const DRAW_COPY_BITMAP_HEAD: [u8; 57] = [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0,
        0, 0, 4, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn surface_create_and_monitors_config() {
        let Some(DisplayMessage::SurfaceCreate(sc)) =
            DisplayMessage::parse(s::SURFACE_CREATE, &SURFACE_CREATE).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            sc,
            SurfaceCreate {
                surface_id: 0,
                width: 1024,
                height: 768,
                format: SurfaceFormat::ThirtyTwoXrgb,
                flags: surface_flags::PRIMARY
            }
        );
        let m = MonitorsConfig::parse(&MONITORS_CONFIG).unwrap();
        assert_eq!(m.max_allowed, 1);
        assert_eq!(m.heads, [Head { monitor_id: 0, surface_id: 0, width: 1024, height: 768, x: 0, y: 0, flags: 0 }]);
        let mut bad = MONITORS_CONFIG;
        bad[0] = 2;
        assert_eq!(MonitorsConfig::parse(&bad).unwrap_err().field, "heads");
    }

    #[test]
    fn streams() {
        let sc = StreamCreate::parse(&STREAM_CREATE).unwrap();
        assert_eq!((sc.id, sc.flags, sc.codec_type), (0x31, stream_flags::TOP_DOWN, video_codec::MJPEG));
        assert_eq!((sc.stream_width, sc.stream_height, sc.src_width, sc.src_height), (32, 128, 32, 128));
        assert_eq!(sc.dest, Rect { top: 560, left: 0, bottom: 688, right: 32 });
        assert_eq!(sc.clip, Clip::None);
        let Some(DisplayMessage::StreamClip { id, clip }) =
            DisplayMessage::parse(s::STREAM_CLIP, &STREAM_CLIP).unwrap()
        else {
            panic!()
        };
        assert_eq!((id, clip), (0x31, Clip::Rects(vec![Rect { top: 687, left: 0, bottom: 688, right: 32 }])));
        let Some(DisplayMessage::StreamActivateReport(a)) =
            DisplayMessage::parse(s::STREAM_ACTIVATE_REPORT, &STREAM_ACTIVATE_REPORT).unwrap()
        else {
            panic!()
        };
        assert_eq!((a.stream_id, a.max_window_size, a.timeout_ms), (0x31, 5, 1000));
        let data = [0x31, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xd8];
        assert_eq!(
            DisplayMessage::parse(s::STREAM_DATA, &data).unwrap(),
            Some(DisplayMessage::StreamData(StreamData { id: 0x31, multi_media_time: 7, data: &[0xff, 0xd8] }))
        );
        assert!(DisplayMessage::parse(s::STREAM_DATA, &data[..13]).is_err());
        let mut sized = vec![1, 0, 0, 0, 7, 0, 0, 0, 32, 0, 0, 0, 16, 0, 0, 0];
        sized.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0xab]);
        let Some(DisplayMessage::StreamDataSized(d)) = DisplayMessage::parse(s::STREAM_DATA_SIZED, &sized).unwrap()
        else {
            panic!()
        };
        assert_eq!((d.width, d.height, d.dest.right, d.data), (32, 16, 32, &[0xab][..]));
        assert_eq!(
            DisplayMessage::parse(s::STREAM_DESTROY, &[0x31, 0, 0, 0]).unwrap(),
            Some(DisplayMessage::StreamDestroy(0x31))
        );
    }

    #[test]
    fn inval_messages() {
        let list = [2, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            DisplayMessage::parse(s::INVAL_LIST, &list).unwrap(),
            Some(DisplayMessage::InvalList(vec![ResourceId { res_type: 1, id: 5 }, ResourceId { res_type: 1, id: 6 }]))
        );
        assert!(DisplayMessage::parse(s::INVAL_LIST, &list[..19]).is_err());
        let pixmaps = [1, 2, 0, 42, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            DisplayMessage::parse(s::INVAL_ALL_PIXMAPS, &pixmaps).unwrap(),
            Some(DisplayMessage::InvalAllPixmaps(vec![ChannelWait {
                channel_type: 2,
                channel_id: 0,
                message_serial: 42
            }]))
        );
        assert_eq!(
            DisplayMessage::parse(s::INVAL_PALETTE, &[9, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            Some(DisplayMessage::InvalPalette(9))
        );
        assert_eq!(DisplayMessage::parse(s::INVAL_ALL_PALETTES, &[]).unwrap(), Some(DisplayMessage::InvalAllPalettes));
        assert_eq!(DisplayMessage::parse(s::MARK, &[]).unwrap(), Some(DisplayMessage::Mark));
        assert_eq!(DisplayMessage::parse(999, &[]).unwrap(), None);
    }

    #[test]
    fn copy_bits() {
        let mut b = vec![0u8, 0, 0, 0];
        for v in [0i32, 0, 10, 10] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(0);
        for v in [3i32, 4] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let Some(DisplayMessage::CopyBits(cb)) = DisplayMessage::parse(s::COPY_BITS, &b).unwrap() else { panic!() };
        assert_eq!((cb.base.bbox.right, cb.src_pos), (10, Point { x: 3, y: 4 }));
        assert_eq!(DisplayMessage::parse(s::COPY_BITS, &b[..28]).unwrap_err().field, "src_pos");
    }

    #[test]
    fn draw_copy_with_a_real_bitmap() {
        // A hand-made 2x1 32-bit BITMAP behind the real fixed part.
        let mut b = DRAW_COPY_BITMAP_HEAD.to_vec();
        b.extend_from_slice(&0x0000_0001_0000_0002u64.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&[8, 4, 2, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[1, 2, 3, 0, 4, 5, 6, 0]);
        let Some(DisplayMessage::DrawCopy(dc)) = DisplayMessage::parse(s::DRAW_COPY, &b).unwrap() else { panic!() };
        assert_eq!(dc.base.bbox, Rect { top: 0, left: 0, bottom: 768, right: 1024 });
        assert_eq!((dc.rop_descriptor, dc.scale_mode, dc.mask.bitmap), (ropd::OP_PUT, 0, None));
        let img = dc.src_bitmap.unwrap();
        assert_eq!(img.descriptor.image_type, ImageType::Bitmap);
        let ImageData::Bitmap(bm) = img.data else { panic!() };
        assert_eq!((bm.format, bm.width, bm.height, bm.stride), (BitmapFormat::ThirtyTwoBit, 2, 1, 8));
        assert_eq!((bm.palette, bm.data), (PaletteSource::None, &[1, 2, 3, 0, 4, 5, 6, 0][..]));
        // The image pointer out of the body.
        let mut bad = b.clone();
        bad[21] = 0xff;
        let e = DrawCopy::parse(&bad).unwrap_err();
        assert_eq!(e.to_string(), "DRAW_COPY: src_bitmap: pointer 255 outside the 101-byte body");
        for cut in 0..b.len() {
            assert!(DrawCopy::parse(&b[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn client_messages() {
        // Real DISPLAY_INIT from input-glz: cache 1 of 20 Mpx, GLZ dictionary 1 of 6 Mpx.
        let init = [0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xfc, 0x5f, 0x00];
        let i = DisplayInit::parse(&init).unwrap();
        assert_eq!(
            i,
            DisplayInit {
                pixmap_cache_id: 1,
                pixmap_cache_size: 0x0140_0000,
                glz_dictionary_id: 1,
                glz_dictionary_window_size: 0x005f_fc00
            }
        );
        assert_eq!(i.to_vec(), init);
        let msgs = [
            DisplayClientMessage::Init(i),
            DisplayClientMessage::StreamReport(StreamReport {
                stream_id: 1,
                unique_id: 2,
                start_frame_mm_time: 3,
                end_frame_mm_time: 4,
                num_frames: 5,
                num_drops: 6,
                last_frame_delay: -7,
                audio_delay: u32::MAX,
            }),
            DisplayClientMessage::PreferredCompression(PreferredCompression {
                image_compression: image_compression::LZ4,
            }),
            DisplayClientMessage::GlDrawDone,
            DisplayClientMessage::PreferredVideoCodecType(PreferredVideoCodecType { codecs: &[1, 3] }),
        ];
        for m in msgs {
            let b = m.to_vec();
            assert_eq!(DisplayClientMessage::parse(m.msg_type(), &b).unwrap(), Some(m));
        }
        assert_eq!(PreferredCompression { image_compression: 7 }.to_vec(), [7]);
        assert_eq!(PreferredVideoCodecType { codecs: &[1, 3] }.to_vec(), [2, 1, 3]);
        assert!(PreferredVideoCodecType { codecs: &[0; 256] }.emit(&mut [0; 300]).is_err());
    }
}
