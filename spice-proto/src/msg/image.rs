//! Image descriptors (`Image` in spice.proto), reached through pointers in
//! draw messages. Compressed payloads are borrowed slices of the message
//! body, ready for the decoders.

use super::{MsgErrorKind, Reader, Result};
use crate::consts::bitmap_flags::PAL_FROM_CACHE;
use crate::consts::{BitmapFormat, ImageType};

/// Size of the image descriptor on the wire.
pub const DESCRIPTOR_LEN: usize = 18;

/// The common image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageDescriptor {
    /// Cache id.
    pub id: u64,
    /// Image type.
    pub image_type: ImageType,
    /// [`crate::consts::image_flags`].
    pub flags: u8,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A palette: `unique` id and little-endian `u32` xRGB entries, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette<'a> {
    /// Cache id of the palette.
    pub unique: u64,
    entries: &'a [u8],
}

impl<'a> Palette<'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / 4
    }

    /// Whether it has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `i`, if it exists.
    pub fn get(&self, i: usize) -> Option<u32> {
        let b = self.entries.get(i.checked_mul(4)?..i.checked_mul(4)? + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// All entries in order.
    pub fn entries(&self) -> impl Iterator<Item = u32> + 'a {
        self.entries.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The raw entry bytes.
    pub fn raw(&self) -> &'a [u8] {
        self.entries
    }
}

/// Where a paletted image gets its palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteSource<'a> {
    /// No palette (NULL pointer); fine for formats without one.
    None,
    /// From the palette cache (bitmap flag PAL_FROM_CACHE).
    FromCache(u64),
    /// Sent in the message.
    Inline(Palette<'a>),
}

/// An uncompressed bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitmap<'a> {
    /// Pixel format.
    pub format: BitmapFormat,
    /// [`crate::consts::bitmap_flags`].
    pub flags: u8,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes per row.
    pub stride: u32,
    /// Palette, for the paletted formats.
    pub palette: PaletteSource<'a>,
    /// `stride × height` bytes of pixels.
    pub data: &'a [u8],
}

/// The type-specific part of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageData<'a> {
    /// Uncompressed.
    Bitmap(Bitmap<'a>),
    /// QUIC stream.
    Quic(&'a [u8]),
    /// LZ RGB stream.
    LzRgb(&'a [u8]),
    /// GLZ RGB stream (references the shared dictionary).
    GlzRgb(&'a [u8]),
    /// JPEG file.
    Jpeg(&'a [u8]),
    /// LZ4 stream (top_down, format, then length-prefixed blocks).
    Lz4(&'a [u8]),
    /// LZ with a palette.
    LzPlt {
        /// [`crate::consts::bitmap_flags`].
        flags: u8,
        /// The palette.
        palette: PaletteSource<'a>,
        /// LZ stream.
        data: &'a [u8],
    },
    /// zlib-compressed GLZ.
    ZlibGlzRgb {
        /// Size of the GLZ stream once inflated.
        glz_data_size: u32,
        /// zlib stream.
        data: &'a [u8],
    },
    /// JPEG colour plus an LZ alpha plane.
    JpegAlpha {
        /// Bit 0: top-down.
        flags: u8,
        /// Length of the JPEG at the start of `data`; the alpha LZ stream follows.
        jpeg_size: u32,
        /// JPEG then LZ alpha.
        data: &'a [u8],
    },
    /// From the image cache, by descriptor id.
    FromCache,
    /// From the image cache; must be the lossless version.
    FromCacheLossless,
    /// The contents of another surface.
    Surface {
        /// Source surface.
        surface_id: u32,
    },
}

/// An image: descriptor plus data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image<'a> {
    /// The header.
    pub descriptor: ImageDescriptor,
    /// The payload.
    pub data: ImageData<'a>,
}

fn parse_palette<'a>(r: &mut Reader<'a>, flags: u8, nonnull: bool) -> Result<PaletteSource<'a>> {
    if flags & PAL_FROM_CACHE != 0 {
        return Ok(PaletteSource::FromCache(r.u64("palette_id")?));
    }
    let target = if nonnull { Some(r.ptr_nonnull("palette")?) } else { r.ptr("palette")? };
    let Some(mut p) = target else { return Ok(PaletteSource::None) };
    let unique = p.u64("palette.unique")?;
    let n = p.u16("palette.num_ents")?;
    let entries = p.take("palette.ents", u64::from(n) * 4)?;
    Ok(PaletteSource::Inline(Palette { unique, entries }))
}

impl<'a> Image<'a> {
    /// Parses an image at the reader's position (the target of an image pointer).
    pub(crate) fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let id = r.u64("image.id")?;
        let type_raw = r.u8("image.type")?;
        let image_type = ImageType::from(type_raw);
        let flags = r.u8("image.flags")?;
        let width = r.u32("image.width")?;
        let height = r.u32("image.height")?;
        let descriptor = ImageDescriptor { id, image_type, flags, width, height };
        let data = match image_type {
            ImageType::Bitmap => {
                let format = BitmapFormat::from(r.u8("bitmap.format")?);
                let flags = r.u8("bitmap.flags")?;
                let width = r.u32("bitmap.x")?;
                let height = r.u32("bitmap.y")?;
                let stride = r.u32("bitmap.stride")?;
                let palette = parse_palette(r, flags, false)?;
                let data = r.take("bitmap.data", u64::from(stride) * u64::from(height))?;
                ImageData::Bitmap(Bitmap { format, flags, width, height, stride, palette, data })
            }
            ImageType::Quic | ImageType::LzRgb | ImageType::GlzRgb | ImageType::Jpeg | ImageType::Lz4 => {
                let size = r.u32("image.data_size")?;
                let data = r.take("image.data", size.into())?;
                match image_type {
                    ImageType::Quic => ImageData::Quic(data),
                    ImageType::LzRgb => ImageData::LzRgb(data),
                    ImageType::GlzRgb => ImageData::GlzRgb(data),
                    ImageType::Jpeg => ImageData::Jpeg(data),
                    _ => ImageData::Lz4(data),
                }
            }
            ImageType::LzPlt => {
                let flags = r.u8("lz_plt.flags")?;
                let size = r.u32("lz_plt.data_size")?;
                let palette = parse_palette(r, flags, true)?;
                let data = r.take("lz_plt.data", size.into())?;
                ImageData::LzPlt { flags, palette, data }
            }
            ImageType::ZlibGlzRgb => {
                let glz_data_size = r.u32("zlib_glz.glz_data_size")?;
                let size = r.u32("zlib_glz.data_size")?;
                ImageData::ZlibGlzRgb { glz_data_size, data: r.take("zlib_glz.data", size.into())? }
            }
            ImageType::JpegAlpha => {
                let flags = r.u8("jpeg_alpha.flags")?;
                let jpeg_size = r.u32("jpeg_alpha.jpeg_size")?;
                let size = r.u32("jpeg_alpha.data_size")?;
                ImageData::JpegAlpha { flags, jpeg_size, data: r.take("jpeg_alpha.data", size.into())? }
            }
            ImageType::FromCache => ImageData::FromCache,
            ImageType::FromCacheLossless => ImageData::FromCacheLossless,
            ImageType::Surface => ImageData::Surface { surface_id: r.u32("surface.surface_id")? },
            ImageType::Reserved | ImageType::Unknown(_) => {
                return Err(r.error("image.type", MsgErrorKind::BadValue(type_raw.into())));
            }
        };
        Ok(Image { descriptor, data })
    }

    /// Follows a nullable image pointer.
    pub(crate) fn parse_ptr(r: &mut Reader<'a>, field: &'static str) -> Result<Option<Self>> {
        match r.ptr(field)? {
            Some(mut p) => Ok(Some(Image::parse(&mut p)?)),
            None => Ok(None),
        }
    }

    /// Follows an image pointer that must not be NULL.
    pub(crate) fn parse_ptr_nonnull(r: &mut Reader<'a>, field: &'static str) -> Result<Self> {
        Image::parse(&mut r.ptr_nonnull(field)?)
    }

    /// The compressed or raw payload bytes, for types that carry some.
    pub fn payload(&self) -> Option<&'a [u8]> {
        match self.data {
            ImageData::Bitmap(b) => Some(b.data),
            ImageData::Quic(d)
            | ImageData::LzRgb(d)
            | ImageData::GlzRgb(d)
            | ImageData::Jpeg(d)
            | ImageData::Lz4(d)
            | ImageData::LzPlt { data: d, .. }
            | ImageData::ZlibGlzRgb { data: d, .. }
            | ImageData::JpegAlpha { data: d, .. } => Some(d),
            ImageData::FromCache | ImageData::FromCacheLossless | ImageData::Surface { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A body with a pointer at 0 to an image at 4.
    fn body(image: &[u8]) -> Vec<u8> {
        let mut b = 4u32.to_le_bytes().to_vec();
        b.extend_from_slice(image);
        b
    }

    fn descriptor(t: u8, w: u32, h: u32) -> Vec<u8> {
        let mut d = 0x1122_3344_5566_7788u64.to_le_bytes().to_vec();
        d.extend_from_slice(&[t, 1]);
        d.extend_from_slice(&w.to_le_bytes());
        d.extend_from_slice(&h.to_le_bytes());
        d
    }

    fn parse(b: &[u8]) -> Result<Image<'_>> {
        Image::parse_ptr_nonnull(&mut Reader::new("TEST", b), "src_bitmap")
    }

    #[test]
    fn bitmap_with_inline_palette() {
        // 2x2 8-bit bitmap, stride 4, palette at the end with 2 entries.
        let mut img = descriptor(0, 2, 2);
        img.extend_from_slice(&[5, 4, 2, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0]);
        let pal_at = 4 + img.len() as u32 + 4 + 8;
        img.extend_from_slice(&pal_at.to_le_bytes());
        img.extend_from_slice(&[0, 1, 0, 0, 1, 0, 1, 0]);
        img.extend_from_slice(&9u64.to_le_bytes());
        img.extend_from_slice(&[2, 0, 0xff, 0, 0, 0, 0, 0xff, 0, 0]);
        let b = body(&img);
        let i = parse(&b).unwrap();
        assert_eq!(i.descriptor.image_type, ImageType::Bitmap);
        assert_eq!(i.descriptor.id, 0x1122_3344_5566_7788);
        let ImageData::Bitmap(bm) = i.data else { panic!() };
        assert_eq!((bm.format, bm.width, bm.height, bm.stride), (BitmapFormat::EightBit, 2, 2, 4));
        assert_eq!(bm.data, &[0, 1, 0, 0, 1, 0, 1, 0]);
        let PaletteSource::Inline(p) = bm.palette else { panic!() };
        assert_eq!(p.unique, 9);
        assert_eq!(p.entries().collect::<Vec<_>>(), [0xff, 0xff00]);
        assert_eq!((p.len(), p.get(1), p.get(2)), (2, Some(0xff00), None));
        // Palette pointer past the end.
        let mut bad = b.clone();
        let at = 4 + DESCRIPTOR_LEN + 14;
        bad[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        let e = parse(&bad).unwrap_err();
        assert_eq!((e.field, e.kind), ("palette", MsgErrorKind::BadPointer { offset: 1000, len: b.len() }));
    }

    #[test]
    fn bitmap_palette_from_cache() {
        let mut img = descriptor(0, 1, 1);
        img.extend_from_slice(&[5, PAL_FROM_CACHE, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        img.extend_from_slice(&77u64.to_le_bytes());
        img.push(3);
        let b = body(&img);
        let ImageData::Bitmap(bm) = parse(&b).unwrap().data else { panic!() };
        assert_eq!((bm.palette, bm.data), (PaletteSource::FromCache(77), &[3][..]));
        // Pixel data shorter than stride × height.
        let e = parse(&b[..b.len() - 1]).unwrap_err();
        assert_eq!((e.via, e.field), (Some("src_bitmap"), "bitmap.data"));
    }

    #[test]
    fn compressed_types() {
        for (t, expect) in [
            (1u8, ImageData::Quic(&[9, 9, 9])),
            (101, ImageData::LzRgb(&[9, 9, 9])),
            (102, ImageData::GlzRgb(&[9, 9, 9])),
            (105, ImageData::Jpeg(&[9, 9, 9])),
            (109, ImageData::Lz4(&[9, 9, 9])),
        ] {
            let mut img = descriptor(t, 8, 8);
            img.extend_from_slice(&[3, 0, 0, 0, 9, 9, 9]);
            let b = body(&img);
            let i = parse(&b).unwrap();
            assert_eq!(i.data, expect);
            assert_eq!(i.payload(), Some(&[9, 9, 9][..]));
            assert!(parse(&b[..b.len() - 1]).is_err());
        }
        let mut img = descriptor(107, 8, 8);
        img.extend_from_slice(&[100, 0, 0, 0, 2, 0, 0, 0, 7, 7]);
        let b = body(&img);
        assert_eq!(parse(&b).unwrap().data, ImageData::ZlibGlzRgb { glz_data_size: 100, data: &[7, 7] });
        let mut img = descriptor(108, 8, 8);
        img.extend_from_slice(&[1, 1, 0, 0, 0, 2, 0, 0, 0, 7, 7]);
        let b = body(&img);
        assert_eq!(parse(&b).unwrap().data, ImageData::JpegAlpha { flags: 1, jpeg_size: 1, data: &[7, 7] });
        for (t, expect) in [(103u8, ImageData::FromCache), (106, ImageData::FromCacheLossless)] {
            let b = body(&descriptor(t, 8, 8));
            assert_eq!(parse(&b).unwrap().data, expect);
        }
        let mut img = descriptor(104, 8, 8);
        img.extend_from_slice(&[3, 0, 0, 0]);
        assert_eq!(parse(&body(&img)).unwrap().data, ImageData::Surface { surface_id: 3 });
        let e = parse(&body(&descriptor(2, 1, 1))).unwrap_err();
        assert_eq!((e.field, e.kind), ("image.type", MsgErrorKind::BadValue(2)));
    }

    #[test]
    fn lz_plt() {
        // flags 0, data_size 2, palette ptr (non-null) to 1 entry, data.
        let mut img = descriptor(100, 4, 1);
        img.extend_from_slice(&[0, 2, 0, 0, 0]);
        let pal_at = 4 + img.len() as u32 + 4 + 2;
        img.extend_from_slice(&pal_at.to_le_bytes());
        img.extend_from_slice(&[0xaa, 0xbb]);
        img.extend_from_slice(&1u64.to_le_bytes());
        img.extend_from_slice(&[1, 0, 0x44, 0x33, 0x22, 0x11]);
        let b = body(&img);
        let ImageData::LzPlt { flags, palette: PaletteSource::Inline(p), data } = parse(&b).unwrap().data else {
            panic!()
        };
        assert_eq!((flags, data, p.get(0)), (0, &[0xaa, 0xbb][..], Some(0x1122_3344)));
        // A NULL palette is an error for LZ_PLT.
        let mut bad = b.clone();
        let at = 4 + DESCRIPTOR_LEN + 5;
        bad[at..at + 4].copy_from_slice(&[0; 4]);
        assert_eq!(parse(&bad).unwrap_err().kind, MsgErrorKind::NullPointer);
    }
}
