//! GLZ_RGB and ZLIB_GLZ_RGB: LZ whose matches may also copy pixels out of
//! earlier images, held in a [`Dictionary`] the session owns.
//!
//! A GLZ stream starts with a 33-byte big-endian header: magic `"  ZL"`,
//! version 1.1, one byte holding the LZ type in its low nibble and top_down
//! in bit 4, then width, height, stride (u32), the image's dictionary id
//! (u64) and `win_head_dist` (u32): images with an id below
//! `id − win_head_dist` will never be referenced again.
//!
//! Control bytes below 32 are literal runs as in LZ. A match byte holds a
//! length in its top three bits (7: extended by following bytes, 255
//! continuing), a flag in bit 4 and four bits of pixel offset. The next byte
//! gives eight more offset bits; the one after that has a two-bit count `k`
//! of extra image-distance bytes in its top bits. Without the flag it holds
//! six bits of image distance, then `k` bytes extend the distance. With the
//! flag it holds five more offset bits and a "very long offset" bit; `k`
//! bytes give the image distance and, with that bit, one more byte gives
//! offset bits 17..24. Image distance 0 means the current image, with the
//! offset a distance back (biased by 1); otherwise the offset is an absolute
//! pixel index into image `id − distance`, in that image's stream order.
//! Lengths carry a bias of 0 (24/32-bit), 1 (16-bit) or 2 (alpha).
//!
//! Pixels are 32-bit words; a match copies whole words (RGB passes) or only
//! the alpha byte (the alpha pass of RGBA).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_PARSE_ZLIB_HEADER, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use super::lz::{self, be32, Bgr, Format, Input, Rgb555, Unit};
use super::{DecodeError, Limits, Pixels};

mod zlib;

/// Bytes in the GLZ header.
pub const HEADER_LEN: usize = 33;

/// No valid GLZ stream takes more than this many bytes per pixel (a
/// one-pixel match with every optional byte, plus the alpha pass): the bound
/// on how far a ZLIB_GLZ stream may inflate.
const MAX_BYTES_PER_PIXEL: u64 = 10;

/// The GLZ header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Pixel type (RGB16, RGB24, RGB32 or RGBA).
    pub image_type: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes per row of the source image.
    pub stride: u32,
    /// The stream's first row is the top row.
    pub top_down: bool,
    /// The image's id in the dictionary.
    pub id: u64,
    /// Images with ids below `id − win_head_dist` are no longer needed.
    pub win_head_dist: u32,
}

impl Header {
    /// The oldest image id that may still be referenced.
    pub fn oldest_needed(&self) -> u64 {
        self.id.saturating_sub(u64::from(self.win_head_dist))
    }
}

/// Parses and checks the GLZ header (not the size limits).
pub fn header(data: &[u8]) -> Result<Header, DecodeError> {
    lz::check_magic(data, "GLZ header", HEADER_LEN)?;
    let type_byte = data.get(8).copied().unwrap_or(0);
    let raw_type = type_byte & 0x0f;
    let image_type = match Format::from_u32(raw_type.into()) {
        Some(t @ (Format::Rgb16 | Format::Rgb24 | Format::Rgb32 | Format::Rgba)) => t,
        Some(t) if t.is_palette() => return Err(DecodeError::Unsupported("GLZ with a palette")),
        _ => return Err(DecodeError::UnknownFormat(raw_type)),
    };
    let (width, height, stride) = (be32(data, 9), be32(data, 13), be32(data, 17));
    lz::check_stride(image_type, width, stride)?;
    Ok(Header {
        image_type,
        width,
        height,
        stride,
        top_down: type_byte >> 4 != 0,
        id: u64::from(be32(data, 21)) << 32 | u64::from(be32(data, 25)),
        win_head_dist: be32(data, 29),
    })
}

/// One retained image, in its stream's row order.
struct Stored {
    id: u64,
    px: Vec<u32>,
}

/// Finds images by id; remembers the last hit, as matches cluster.
struct Window<'a> {
    images: &'a VecDeque<Stored>,
    last: Option<(u64, &'a [u32])>,
}

impl<'a> Window<'a> {
    #[inline]
    fn get(&mut self, id: u64) -> Result<&'a [u32], DecodeError> {
        if let Some((last_id, px)) = self.last {
            if last_id == id {
                return Ok(px);
            }
        }
        let px = self.find(id).ok_or(DecodeError::MissingImage(id))?;
        self.last = Some((id, px));
        Ok(px)
    }

    fn find(&self, id: u64) -> Option<&'a [u32]> {
        let images = self.images;
        // Ids are usually consecutive: try the slot the id would have.
        let first = images.front()?.id;
        let guess = usize::try_from(id.checked_sub(first)?).ok()?;
        if let Some(s) = images.get(guess).filter(|s| s.id == id) {
            return Some(&s.px);
        }
        let i = images.binary_search_by_key(&id, |s| s.id).ok()?;
        images.get(i).map(|s| &s.px[..])
    }
}

/// One GLZ instruction.
enum Op {
    /// This many literal units follow.
    Literal(usize),
    /// Copy `len` pixels from `dist` back in this image.
    Back { len: usize, dist: usize },
    /// Copy `len` pixels from pixel `ofs` of image `id − image_dist`.
    Other { len: usize, image_dist: u64, ofs: usize },
}

/// Reads one instruction; `bias` is the pass's length bias.
#[inline(always)]
fn next_op(inp: &mut Input<'_>, bias: usize) -> Result<Op, DecodeError> {
    let ctrl = inp.byte()?;
    if ctrl < 32 {
        return Ok(Op::Literal(ctrl + 1));
    }
    let mut len = ctrl >> 5;
    if len == 7 {
        loop {
            let c = inp.byte()?;
            len += c;
            if c != 255 {
                break;
            }
        }
    }
    let mut ofs = (ctrl & 0x0f) + (inp.byte()? << 4);
    let code = inp.byte()?;
    let extra = code >> 6;
    let mut image_dist: u64;
    if ctrl & 0x10 == 0 {
        image_dist = (code & 0x3f) as u64;
        for i in 0..extra {
            image_dist += (inp.byte()? as u64) << (6 + 8 * i);
        }
    } else {
        ofs += (code & 0x1f) << 12;
        image_dist = 0;
        for i in 0..extra {
            image_dist += (inp.byte()? as u64) << (8 * i);
        }
        if code & 0x20 != 0 {
            ofs += inp.byte()? << 17;
        }
    }
    let len = len + bias;
    Ok(if image_dist == 0 { Op::Back { len, dist: ofs + 1 } } else { Op::Other { len, image_dist, ofs } })
}

/// The source pixels of a cross-image match.
#[inline(always)]
fn other<'a>(
    window: &mut Window<'a>,
    id: u64,
    image_dist: u64,
    ofs: usize,
    len: usize,
) -> Result<&'a [u32], DecodeError> {
    let target = id.checked_sub(image_dist).ok_or(DecodeError::BadReference { distance: image_dist, available: id })?;
    let img = window.get(target)?;
    img.get(ofs..ofs + len)
        .ok_or(DecodeError::BadReference { distance: (ofs + len) as u64, available: img.len() as u64 })
}

/// Decodes the colour pass of `end` pixels onto `out` (empty, with the
/// capacity reserved), with length bias `bias`.
fn run<U: Unit<Px = u32>>(
    inp: &mut Input<'_>,
    out: &mut Vec<u32>,
    end: usize,
    bias: usize,
    id: u64,
    window: &mut Window<'_>,
) -> Result<(), DecodeError> {
    while out.len() < end {
        let op = out.len();
        match next_op(inp, bias)? {
            Op::Literal(n) => {
                if n > end - op {
                    return Err(lz::literal_overrun());
                }
                U::extend(inp.take(n * U::IN)?, out);
            }
            Op::Back { len, dist } => {
                if dist > op {
                    return Err(lz::bad_distance(dist, op));
                }
                if len > end - op {
                    return Err(lz::match_overrun());
                }
                lz::extend_match(out, dist, len);
            }
            Op::Other { len, image_dist, ofs } => {
                if len > end - op {
                    return Err(lz::match_overrun());
                }
                out.extend_from_slice(other(window, id, image_dist, ofs, len)?);
            }
        }
    }
    Ok(())
}

/// Sets the alpha bytes of `dst` from those of `src`.
#[inline(always)]
fn copy_alpha(dst: &mut [u32], src: &[u32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = (*d & 0x00ff_ffff) | (s & 0xff00_0000);
    }
}

/// Decodes the alpha pass over `px` (length bias 2): literals are alpha
/// bytes, matches copy only alpha.
fn run_alpha(inp: &mut Input<'_>, px: &mut [u32], id: u64, window: &mut Window<'_>) -> Result<(), DecodeError> {
    let end = px.len();
    let mut op = 0;
    while op < end {
        let n = match next_op(inp, 2)? {
            Op::Literal(n) => {
                if n > end - op {
                    return Err(lz::literal_overrun());
                }
                for (d, &a) in px[op..op + n].iter_mut().zip(inp.take(n)?) {
                    *d = (*d & 0x00ff_ffff) | u32::from(a) << 24;
                }
                n
            }
            Op::Back { len, dist } => {
                if dist > op {
                    return Err(lz::bad_distance(dist, op));
                }
                if len > end - op {
                    return Err(lz::match_overrun());
                }
                // Forward in chunks no longer than the distance, so an
                // overlapping match repeats its pattern.
                let (src, stop) = (op - dist, op + len);
                let mut dst = op;
                while dst < stop {
                    let n = (dst - src).min(stop - dst);
                    let (head, tail) = px.split_at_mut(dst);
                    copy_alpha(&mut tail[..n], &head[src..src + n]);
                    dst += n;
                }
                len
            }
            Op::Other { len, image_dist, ofs } => {
                if len > end - op {
                    return Err(lz::match_overrun());
                }
                copy_alpha(&mut px[op..op + len], other(window, id, image_dist, ofs, len)?);
                len
            }
        };
        op += n;
    }
    Ok(())
}

/// The GLZ dictionary: the images later GLZ images may copy from.
///
/// Sized by the window announced in DISPLAY_INIT, in pixels. After each
/// image it drops images older than `id − win_head_dist`, then, as a hard
/// bound, the oldest images until at most `window` pixels and
/// [`Dictionary::MAX_IMAGES`] images remain (spice-server keeps its own
/// window within the announced size, so this never drops an image it will
/// reference). A reference to an image that is not here is
/// [`DecodeError::MissingImage`]; there is no waiting.
pub struct Dictionary {
    window: u32,
    images: VecDeque<Stored>,
    retained: u64,
    inflater: Option<Box<DecompressorOxide>>,
    scratch: Vec<u8>,
}

impl Dictionary {
    /// At most this many images are retained.
    pub const MAX_IMAGES: usize = 1 << 16;

    /// An empty dictionary for a window of `window_pixels` pixels (0 keeps
    /// nothing: GLZ is off).
    pub fn new(window_pixels: u32) -> Self {
        Self { window: window_pixels, images: VecDeque::new(), retained: 0, inflater: None, scratch: Vec::new() }
    }

    /// The window size in pixels.
    pub fn window_pixels(&self) -> u32 {
        self.window
    }

    /// Drops every image (on a dictionary reset or reconnect).
    pub fn clear(&mut self) {
        self.images.clear();
        self.retained = 0;
    }

    /// Images held.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no image is held.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Pixels held, over all images.
    pub fn retained_pixels(&self) -> u64 {
        self.retained
    }

    /// Whether image `id` is held.
    pub fn contains(&self, id: u64) -> bool {
        Window { images: &self.images, last: None }.find(id).is_some()
    }

    /// Decodes one GLZ_RGB payload, which must come after every image it
    /// references, and keeps it for later images.
    pub fn decode(&mut self, data: &[u8], limits: &Limits) -> Result<Pixels, DecodeError> {
        let h = header(data)?;
        let count = limits.check(h.width, h.height)?;
        let mut px = lz::with_capacity(count, h.width, h.height)?;
        let mut inp = Input::new(data, HEADER_LEN, "GLZ data");
        let mut window = Window { images: &self.images, last: None };
        match h.image_type {
            Format::Rgb16 => run::<Rgb555>(&mut inp, &mut px, count, 1, h.id, &mut window)?,
            _ => run::<Bgr>(&mut inp, &mut px, count, 0, h.id, &mut window)?,
        }
        let has_alpha = h.image_type == Format::Rgba;
        if has_alpha {
            run_alpha(&mut inp, &mut px, h.id, &mut window)?;
        }
        inp.finish()?;
        let mut out = Vec::new();
        out.try_reserve_exact(count).map_err(|_| DecodeError::TooLarge { width: h.width, height: h.height })?;
        if h.top_down {
            out.extend_from_slice(&px);
        } else {
            for row in px.rchunks_exact(h.width as usize) {
                out.extend_from_slice(row);
            }
        }
        self.retain(&h, px);
        Ok(Pixels { width: h.width, height: h.height, has_alpha, data: out })
    }

    /// Decodes one ZLIB_GLZ_RGB payload: `data` is a zlib stream that
    /// inflates to `glz_data_size` bytes of GLZ. The inflated size is checked
    /// against what an image within `limits` can take before it is inflated.
    pub fn decode_zlib(&mut self, glz_data_size: u32, data: &[u8], limits: &Limits) -> Result<Pixels, DecodeError> {
        let mut buf = core::mem::take(&mut self.scratch);
        let result =
            self.inflate(&mut buf, glz_data_size as usize, data, limits).and_then(|()| self.decode(&buf, limits));
        buf.clear();
        if buf.capacity() <= 1 << 20 {
            self.scratch = buf;
        }
        result
    }

    /// Inflates `data` into `buf`: first the GLZ header, to bound the rest
    /// by the image's size, then exactly `size` bytes in all.
    fn inflate(&mut self, buf: &mut Vec<u8>, size: usize, data: &[u8], limits: &Limits) -> Result<(), DecodeError> {
        const WHAT: &str = "ZLIB_GLZ data";
        if size < HEADER_LEN {
            return Err(DecodeError::Truncated { what: "GLZ header", need: HEADER_LEN, have: size });
        }
        if data.len() <= zlib::MAX_INPUT && size <= TINY_MAX_OUTPUT {
            return small_inflate(buf, size, data, limits);
        }
        let flags = TINFL_FLAG_PARSE_ZLIB_HEADER | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let inflater = self.inflater.get_or_insert_with(Box::default);
        inflater.init();
        buf.clear();
        buf.resize(HEADER_LEN, 0);
        let (status, used, n) = decompress(inflater, data, buf, 0, flags);
        check_inflate(status, n, HEADER_LEN)?;
        let h = header(buf)?;
        let count = limits.check(h.width, h.height)?;
        let bound = HEADER_LEN as u64 + MAX_BYTES_PER_PIXEL * count as u64;
        if size as u64 > bound {
            return Err(DecodeError::Corrupt("glz_data_size is larger than the image can need"));
        }
        if status == TINFLStatus::Done {
            // All of it was the header.
            return if size == HEADER_LEN {
                Ok(())
            } else {
                Err(DecodeError::Truncated { what: WHAT, need: size, have: n })
            };
        }
        buf.try_reserve_exact(size - HEADER_LEN)
            .map_err(|_| DecodeError::TooLarge { width: h.width, height: h.height })?;
        buf.resize(size, 0);
        let rest = data.get(used..).unwrap_or(&[]);
        let (status, _, n) = decompress(inflater, rest, buf, HEADER_LEN, flags);
        check_inflate(status, HEADER_LEN + n, size)?;
        if status != TINFLStatus::Done {
            return Err(DecodeError::Corrupt("zlib data inflates past glz_data_size"));
        }
        Ok(())
    }

    /// Keeps `px` as image `h.id`, then applies the window and the bound.
    fn retain(&mut self, h: &Header, px: Vec<u32>) {
        let size = px.len() as u64;
        match self.images.back() {
            Some(last) if last.id >= h.id => match self.images.binary_search_by_key(&h.id, |s| s.id) {
                Ok(i) => {
                    if let Some(s) = self.images.get_mut(i) {
                        self.retained -= s.px.len() as u64;
                        s.px = px;
                    }
                }
                Err(i) => self.images.insert(i, Stored { id: h.id, px }),
            },
            _ => self.images.push_back(Stored { id: h.id, px }),
        }
        self.retained += size;
        let oldest = h.oldest_needed();
        while let Some(front) = self.images.front() {
            let over = self.retained > u64::from(self.window) || self.images.len() > Self::MAX_IMAGES;
            if front.id >= oldest && !over {
                break;
            }
            self.retained -= front.px.len() as u64;
            self.images.pop_front();
        }
    }
}

/// ZLIB_GLZ streams announcing at most this many bytes (and no longer than
/// [`zlib::MAX_INPUT`]) go to [`zlib::inflate`].
const TINY_MAX_OUTPUT: usize = 64 * 1024;

/// [`Dictionary::inflate`] for a small stream: inflates all of it (at most
/// `size` bytes), then checks the header and size as the general path does.
fn small_inflate(buf: &mut Vec<u8>, size: usize, data: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    buf.clear();
    buf.try_reserve(size).map_err(|_| DecodeError::Corrupt("no memory for ZLIB_GLZ data"))?;
    let stop = zlib::inflate(data, buf, size).err();
    if buf.len() >= HEADER_LEN {
        let h = header(buf)?;
        let count = limits.check(h.width, h.height)?;
        if size as u64 > HEADER_LEN as u64 + MAX_BYTES_PER_PIXEL * count as u64 {
            return Err(DecodeError::Corrupt("glz_data_size is larger than the image can need"));
        }
    }
    match stop {
        None if buf.len() == size => Ok(()),
        None => Err(DecodeError::Truncated { what: "ZLIB_GLZ data", need: size, have: buf.len() }),
        Some(zlib::Stop::Overflow) => Err(DecodeError::Corrupt("zlib data inflates past glz_data_size")),
        Some(zlib::Stop::Error(e)) => Err(e),
    }
}

/// Maps an inflate result: `n` bytes came out, `want` were expected.
fn check_inflate(status: TINFLStatus, n: usize, want: usize) -> Result<(), DecodeError> {
    match status {
        TINFLStatus::Done | TINFLStatus::HasMoreOutput if n == want => Ok(()),
        TINFLStatus::Done => Err(DecodeError::Truncated { what: "ZLIB_GLZ data", need: want, have: n }),
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            Err(DecodeError::Truncated { what: "zlib stream", need: want, have: n })
        }
        TINFLStatus::Adler32Mismatch => Err(DecodeError::Corrupt("zlib checksum mismatch")),
        _ => Err(DecodeError::Corrupt("bad zlib data")),
    }
}
