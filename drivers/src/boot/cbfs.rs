//! Finding a file in coreboot's CBFS (coreboot's `cbfs_serialized.h`).
//!
//! A CBFS is a run of files, each starting on a 64-byte boundary with a
//! header: `"LARCHIVE"`, then big-endian `len` (data bytes), `type`,
//! `attributes_offset` and `offset` (from the header to the data), then the
//! NUL-terminated name and the attributes. The first header without the
//! magic ends the CBFS. Only uncompressed raw files are read: we carry no
//! LZMA or LZ4 decoder for a few lines of configuration.

use super::{be32_at, BootError, PhysMem};

pub const FILE_MAGIC: &[u8; 8] = b"LARCHIVE";
pub const ALIGNMENT: u64 = 64;
pub const HEADER_LEN: usize = 24;
pub const TYPE_RAW: u32 = 0x50;
/// Empty space, and deleted files.
const TYPE_NULL: u32 = 0xffff_ffff;
const TYPE_DELETED: u32 = 0;
/// `"LZCB"` attribute: `compression` (0 = none) and the decompressed size.
pub const ATTR_COMPRESSION: u32 = 0x4243_5a4c;
/// Attribute lists end at a tag of all zeroes or all ones.
const ATTR_END: [u32; 2] = [0, 0xffff_ffff];
/// Longest file name we compare (coreboot's names are short paths).
const MAX_NAME: usize = 256;

const WHAT: &str = "CBFS";

/// The data of the raw file `name` in the CBFS at `base..base + size`, or
/// `None` if there is no such file.
pub fn find<'m>(mem: &'m impl PhysMem, base: u64, size: u64, name: &str) -> Result<Option<&'m [u8]>, BootError> {
    let mut off = 0u64;
    while off.saturating_add(HEADER_LEN as u64) <= size {
        let at = base + off;
        let h = mem.read(at, HEADER_LEN, WHAT)?;
        if &h[..8] != FILE_MAGIC {
            return Ok(None);
        }
        let (len, typ, attr_off, data_off) =
            (u64::from(be32_at(h, 8)), be32_at(h, 12), be32_at(h, 16) as usize, be32_at(h, 20) as usize);
        let room = size - off;
        if data_off < HEADER_LEN || data_off as u64 > room || len > room - data_off as u64 {
            return Err(BootError::Malformed { what: WHAT, detail: "a file runs past the end of the CBFS" });
        }
        let meta_end = if attr_off == 0 { data_off } else { attr_off };
        if meta_end < HEADER_LEN || meta_end > data_off {
            return Err(BootError::Malformed { what: WHAT, detail: "a file's attributes offset is out of range" });
        }
        let meta = mem.read(at, data_off, WHAT)?;
        let name_field = &meta[HEADER_LEN..meta_end.min(HEADER_LEN + MAX_NAME)];
        let file_name = name_field.split(|&b| b == 0).next().unwrap_or(&[]);
        if typ != TYPE_NULL && typ != TYPE_DELETED && file_name == name.as_bytes() {
            if typ != TYPE_RAW {
                return Err(BootError::Malformed { what: WHAT, detail: "the file is not of the raw type" });
            }
            if attr_off != 0 && compressed(&meta[attr_off..])? {
                return Err(BootError::Malformed {
                    what: WHAT,
                    detail: "the file is compressed; add it uncompressed (no -c)",
                });
            }
            return mem.read(at + data_off as u64, len as usize, WHAT).map(Some);
        }
        off = (off + data_off as u64 + len).next_multiple_of(ALIGNMENT);
    }
    Ok(None)
}

/// Whether the attribute list says the data is compressed.
fn compressed(mut attrs: &[u8]) -> Result<bool, BootError> {
    while attrs.len() >= 8 {
        let (tag, len) = (be32_at(attrs, 0), be32_at(attrs, 4) as usize);
        if ATTR_END.contains(&tag) {
            break;
        }
        if len < 8 || len > attrs.len() {
            return Err(BootError::Malformed { what: WHAT, detail: "a file attribute runs past its header" });
        }
        if tag == ATTR_COMPRESSION {
            return Ok(len >= 12 && be32_at(attrs, 8) != 0);
        }
        attrs = &attrs[len..];
    }
    Ok(false)
}

/// Builds CBFS images the way cbfstool lays them out, for tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;
    use alloc::vec::Vec;

    /// One file: name, type, data, and an optional compression algorithm.
    pub fn file(name: &str, typ: u32, data: &[u8], compression: Option<u32>) -> Vec<u8> {
        let name_len = (name.len() + 1).next_multiple_of(16);
        let attrs = if compression.is_some() { 16 } else { 0 };
        let data_off = HEADER_LEN + name_len + attrs;
        let mut f = Vec::new();
        f.extend_from_slice(FILE_MAGIC);
        f.extend((data.len() as u32).to_be_bytes());
        f.extend(typ.to_be_bytes());
        f.extend((if attrs > 0 { HEADER_LEN + name_len } else { 0 } as u32).to_be_bytes());
        f.extend((data_off as u32).to_be_bytes());
        f.extend(name.as_bytes());
        f.resize(HEADER_LEN + name_len, 0);
        if let Some(c) = compression {
            for w in [ATTR_COMPRESSION, 16, c, data.len() as u32] {
                f.extend(w.to_be_bytes());
            }
        }
        f.extend(data);
        f.resize(f.len().next_multiple_of(ALIGNMENT as usize), 0xff);
        f
    }

    /// Files one after the other, then an empty (null) file filling `size`.
    pub fn image(files: &[Vec<u8>], size: usize) -> Vec<u8> {
        let mut img: Vec<u8> = files.concat();
        let rest = size - img.len();
        let mut empty = file("", TYPE_NULL, &[], None);
        let data_off = be32_at(&empty, 20) as usize;
        empty[8..12].copy_from_slice(&((rest - data_off) as u32).to_be_bytes());
        img.extend(&empty[..data_off]);
        img.resize(size, 0xff);
        img
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMem;
    use super::build::{file, image};
    use super::*;

    const BASE: u64 = 0xfff0_0000;

    fn mem(img: &[u8]) -> FakeMem {
        let mut m = FakeMem::default();
        m.put(BASE, img);
        m
    }

    #[test]
    fn finds_a_raw_file_among_others() {
        let img = image(
            &[
                file("cbfs master header", 2, &[0u8; 32], None),
                file("fallback/payload", 0x20, &[0x5a; 300], Some(1)),
                file("clove.cfg", TYPE_RAW, b"server=spice://10.0.2.2\n", None),
            ],
            4096,
        );
        let m = mem(&img);
        assert_eq!(find(&m, BASE, 4096, "clove.cfg").unwrap(), Some(&b"server=spice://10.0.2.2\n"[..]));
        assert_eq!(find(&m, BASE, 4096, "missing").unwrap(), None);
        // A CBFS cut short before the file does not reach it.
        assert_eq!(find(&m, BASE, 512, "clove.cfg").unwrap(), None);
    }

    #[test]
    fn rejects_compressed_and_non_raw_files() {
        let m = mem(&image(&[file("clove.cfg", TYPE_RAW, b"x", Some(1))], 1024));
        let e = find(&m, BASE, 1024, "clove.cfg").unwrap_err();
        assert!(alloc::format!("{e}").contains("compressed"), "{e}");
        let m = mem(&image(&[file("clove.cfg", TYPE_RAW, b"x", Some(0))], 1024));
        assert_eq!(find(&m, BASE, 1024, "clove.cfg").unwrap(), Some(&b"x"[..]));
        let m = mem(&image(&[file("clove.cfg", 0x20, b"x", None)], 1024));
        assert!(matches!(find(&m, BASE, 1024, "clove.cfg"), Err(BootError::Malformed { .. })));
    }

    #[test]
    fn bounds_every_length() {
        let good = file("clove.cfg", TYPE_RAW, b"mode=800x600", None);
        // Data length past the CBFS.
        let mut f = good.clone();
        f[8..12].copy_from_slice(&4000u32.to_be_bytes());
        let m = mem(&image(&[f], 1024));
        assert!(matches!(find(&m, BASE, 1024, "clove.cfg"), Err(BootError::Malformed { .. })));
        // Data offset inside the header.
        let mut f = good.clone();
        f[20..24].copy_from_slice(&8u32.to_be_bytes());
        let m = mem(&image(&[f], 1024));
        assert!(matches!(find(&m, BASE, 1024, "clove.cfg"), Err(BootError::Malformed { .. })));
        // Attributes offset beyond the data.
        let mut f = good.clone();
        f[16..20].copy_from_slice(&900u32.to_be_bytes());
        let m = mem(&image(&[f], 1024));
        assert!(matches!(find(&m, BASE, 1024, "clove.cfg"), Err(BootError::Malformed { .. })));
        // An attribute whose length runs past the header.
        let mut f = file("clove.cfg", TYPE_RAW, b"x", Some(0));
        f[44..48].copy_from_slice(&64u32.to_be_bytes());
        let m = mem(&image(&[f], 1024));
        assert!(matches!(find(&m, BASE, 1024, "clove.cfg"), Err(BootError::Malformed { .. })));
        // A CBFS said to be larger than what can be read.
        let m = mem(&good);
        assert!(matches!(find(&m, BASE, 1 << 20, "other"), Err(BootError::Unreadable { .. })));
    }
}
