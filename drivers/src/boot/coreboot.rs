//! The coreboot table (coreboot's `commonlib/coreboot_tables.h`).
//!
//! coreboot enters the payload with the table's address at 4(%esp). A small
//! `LBIO` table at 0x500 holds only a FORWARD record to the full table high
//! in RAM. A table is a 24-byte header (signature, header size and IP
//! checksum, table size and checksum, record count) and records of
//! `tag, size, ...`; 64-bit fields are only 4-byte aligned, so everything is
//! read bytewise.

use super::{
    cbfs, u32_at, u64_at, BootError, BootInfo, BootMedia, BootProtocol, ConfigFile, InlineStr, LoaderFramebuffer,
    LoaderSerial, MemoryKind, MemoryRegion, PhysMem, MAX_CONFIG,
};

pub const SIGNATURE: &[u8; 4] = b"LBIO";
pub const HEADER_LEN: usize = 24;
/// Real tables are a few KiB; anything past this is corrupt.
pub const MAX_TABLE: usize = 64 * 1024;
/// A FORWARD to a FORWARD is already unusual; more is a loop.
const MAX_FORWARDS: usize = 4;
/// Where libpayload looks for a table when it is given none. Address 0 is
/// left out: it is the real-mode IVT, and not a pointer we can read.
pub const SCAN_WINDOWS: [(u64, u64); 2] = [(0x10, 0x1000), (0xf_0000, 0x10_0000)];

pub const TAG_MEMORY: u32 = 0x01;
pub const TAG_VERSION: u32 = 0x04;
pub const TAG_SERIAL: u32 = 0x0f;
pub const TAG_FORWARD: u32 = 0x11;
pub const TAG_FRAMEBUFFER: u32 = 0x12;
pub const TAG_BOOT_MEDIA_PARAMS: u32 = 0x30;

pub const MEM_RAM: u32 = 1;
const MEMORY_RANGE_LEN: usize = 20;
const SERIAL_IO: u32 = 1;
/// The name of Clove's configuration file in CBFS.
pub const CONFIG_NAME: &str = "clove.cfg";

const WHAT: &str = "coreboot table";

/// Find the table (at `stack_arg`, else by scanning low memory), check it
/// and read it, with `clove.cfg` from CBFS when the boot media is known.
pub fn parse(mem: &impl PhysMem, eax: u32, stack_arg: u32) -> Result<BootInfo, BootError> {
    let candidates = core::iter::once(u64::from(stack_arg)).filter(|&a| a != 0).chain(scan(mem));
    // A table that has the signature but fails its checks is the answer's
    // error; with none at all, the loader is not coreboot.
    let mut first_error = None;
    for addr in candidates {
        if !has_signature(mem, addr) {
            continue;
        }
        match parse_table(mem, addr) {
            Ok(mut info) => {
                read_config(mem, &mut info);
                return Ok(info);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(BootError::UnknownProtocol { eax, stack_arg }))
}

fn has_signature(mem: &impl PhysMem, addr: u64) -> bool {
    mem.read(addr, 4, WHAT).is_ok_and(|s| s == SIGNATURE)
}

/// Every 16-byte aligned `LBIO` in the scan windows (unreadable windows are
/// skipped: there is nothing there to find).
fn scan(mem: &impl PhysMem) -> impl Iterator<Item = u64> + '_ {
    SCAN_WINDOWS.into_iter().flat_map(move |(start, end)| {
        let window = mem.read(start, (end - start) as usize, WHAT).unwrap_or(&[]);
        window
            .chunks_exact(16)
            .enumerate()
            .filter(|(_, c)| &c[..4] == SIGNATURE)
            .map(move |(i, _)| start + 16 * i as u64)
    })
}

/// The one's-complement sum of little-endian 16-bit words, complemented
/// (coreboot's `compute_ip_checksum`).
pub fn ip_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        sum += u32::from(pair[0]) | (u32::from(*pair.get(1).unwrap_or(&0)) << 8);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Check the table at `addr` and read its records, following FORWARD.
fn parse_table(mem: &impl PhysMem, mut addr: u64) -> Result<BootInfo, BootError> {
    for _ in 0..=MAX_FORWARDS {
        let records = checked_records(mem, addr)?;
        let mut forward = None;
        let mut out = BootInfo::new(BootProtocol::Coreboot);
        out.table_addr = Some(addr);
        for r in Records(records) {
            let (tag, body) = r?;
            match tag {
                TAG_FORWARD => {
                    forward = Some(u64_at(field(body, 8, "FORWARD record")?, 0));
                    break;
                }
                TAG_MEMORY => memory(body, &mut out)?,
                TAG_FRAMEBUFFER => out.framebuffer = Some(framebuffer(body)?),
                TAG_SERIAL => out.serial = Some(serial(body)?),
                TAG_BOOT_MEDIA_PARAMS => out.boot_media = boot_media(body)?,
                TAG_VERSION => version(body, &mut out),
                _ => {}
            }
        }
        match forward {
            None if out.memory.regions().is_empty() => return Err(BootError::NoMemoryMap(BootProtocol::Coreboot)),
            None => return Ok(out),
            Some(0) => return Err(BootError::Null("coreboot FORWARD record")),
            Some(next) => addr = next,
        }
    }
    Err(BootError::Malformed { what: WHAT, detail: "FORWARD records loop" })
}

/// The header at `addr` checked (signature, sizes, both checksums); returns
/// the records' bytes.
fn checked_records(mem: &impl PhysMem, addr: u64) -> Result<&[u8], BootError> {
    let h = mem.read(addr, HEADER_LEN, WHAT)?;
    if &h[..4] != SIGNATURE {
        return Err(BootError::BadMagic { what: WHAT, found: u32_at(h, 0) });
    }
    if u32_at(h, 4) as usize != HEADER_LEN {
        return Err(BootError::Malformed { what: WHAT, detail: "header size is not 24" });
    }
    if ip_checksum(h) != 0 {
        return Err(BootError::BadChecksum { what: "coreboot table header", addr });
    }
    let (bytes, checksum) = (u32_at(h, 12) as usize, u32_at(h, 16));
    if bytes > MAX_TABLE {
        return Err(BootError::TooLong { what: WHAT, max: MAX_TABLE });
    }
    let records = mem.read(addr + HEADER_LEN as u64, bytes, WHAT)?;
    if u32::from(ip_checksum(records)) != checksum {
        return Err(BootError::BadChecksum { what: WHAT, addr });
    }
    // The record count must agree with the bytes: every record is walked.
    let mut count = 0u32;
    for r in Records(records) {
        r?;
        count += 1;
    }
    if count != u32_at(h, 20) {
        return Err(BootError::Malformed { what: WHAT, detail: "record count does not match the table size" });
    }
    Ok(records)
}

/// The records of a table: (tag, whole record) with every size checked.
struct Records<'a>(&'a [u8]);

impl<'a> Iterator for Records<'a> {
    type Item = Result<(u32, &'a [u8]), BootError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let rest = core::mem::take(&mut self.0);
        if rest.len() < 8 {
            return Some(Err(BootError::Malformed { what: WHAT, detail: "a record header runs past the table's end" }));
        }
        let size = u32_at(rest, 4) as usize;
        if size < 8 || size > rest.len() {
            return Some(Err(BootError::Malformed { what: WHAT, detail: "a record's size runs past the table's end" }));
        }
        self.0 = &rest[size..];
        Some(Ok((u32_at(rest, 0), &rest[..size])))
    }
}

/// `record` after its 8-byte header, which must hold at least `len` bytes.
fn field<'a>(record: &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8], BootError> {
    record.get(8..8 + len).ok_or(BootError::Malformed { what, detail: "record is shorter than its fields" })
}

/// Only RAM ranges are kept: the rest (reserved, ACPI, the tables
/// themselves) is not ours to use.
fn memory(record: &[u8], out: &mut BootInfo) -> Result<(), BootError> {
    let ranges = &record[8..];
    if !ranges.len().is_multiple_of(MEMORY_RANGE_LEN) {
        return Err(BootError::Malformed {
            what: "coreboot memory record",
            detail: "size is not a whole number of ranges",
        });
    }
    for r in ranges.chunks_exact(MEMORY_RANGE_LEN).filter(|r| u32_at(r, 16) == MEM_RAM) {
        out.memory.push(MemoryRegion { start: u64_at(r, 0), len: u64_at(r, 8), kind: MemoryKind::Available })?;
    }
    Ok(())
}

fn framebuffer(record: &[u8]) -> Result<LoaderFramebuffer, BootError> {
    let f = field(record, 27, "coreboot framebuffer record")?;
    Ok(LoaderFramebuffer {
        addr: u64_at(f, 0),
        width: u32_at(f, 8),
        height: u32_at(f, 12),
        pitch: u32_at(f, 16),
        bpp: f[20],
        red: (f[21], f[22]),
        green: (f[23], f[24]),
        blue: (f[25], f[26]),
    })
}

fn serial(record: &[u8]) -> Result<LoaderSerial, BootError> {
    let f = field(record, 12, "coreboot serial record")?;
    Ok(LoaderSerial { io: u32_at(f, 0) == SERIAL_IO, base: u32_at(f, 4), baud: u32_at(f, 8) })
}

/// The flash must fit below 4 GiB, where x86 maps it, and hold the CBFS;
/// otherwise there is no CBFS we can read (the boot goes on).
fn boot_media(record: &[u8]) -> Result<Option<BootMedia>, BootError> {
    let f = field(record, 32, "coreboot boot media record")?;
    let (fmap_offset, cbfs_offset, cbfs_size, size) = (u64_at(f, 0), u64_at(f, 8), u64_at(f, 16), u64_at(f, 24));
    let fits = size != 0 && size <= 1 << 32 && cbfs_offset.checked_add(cbfs_size).is_some_and(|e| e <= size);
    Ok(fits.then(|| BootMedia { base: (1 << 32) - size, size, fmap_offset, cbfs_offset, cbfs_size }))
}

/// coreboot's version string becomes the loader name: `coreboot 26.06`.
fn version(record: &[u8], out: &mut BootInfo) {
    let text = &record[8..];
    let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
    out.loader_name = InlineStr::truncated("coreboot ");
    out.loader_name.push_truncated(core::str::from_utf8(text).unwrap_or("(version not UTF-8)"));
}

/// `clove.cfg` from CBFS: its absence is normal, any other problem is kept
/// in `config_error` and the boot goes on without it.
fn read_config(mem: &impl PhysMem, out: &mut BootInfo) {
    let Some(media) = out.boot_media else { return };
    let found = cbfs::find(mem, media.base + media.cbfs_offset, media.cbfs_size, CONFIG_NAME).and_then(|data| {
        data.map(|d| {
            // A NUL ends the text: editors and `echo` leave none, but padding might.
            let d = d.split(|&b| b == 0).next().unwrap_or(&[]);
            InlineStr::<MAX_CONFIG>::from_bytes(d, "clove.cfg")
        })
        .transpose()
    });
    match found {
        Ok(text) => out.config = text.map(|text| ConfigFile { source: "CBFS clove.cfg", text }),
        Err(e) => out.config_error = Some(e),
    }
}

/// Builds coreboot tables the way coreboot lays them out: for the parser's
/// fixtures and the QEMU test's recreated handoff.
#[cfg(any(test, feature = "mock"))]
pub mod build {
    use super::*;
    use alloc::vec::Vec;

    pub fn record(tag: u32, body: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend(tag.to_le_bytes());
        r.extend(((8 + body.len()) as u32).to_le_bytes());
        r.extend(body);
        r
    }

    /// A header and `records`, both checksums right.
    pub fn table(records: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = records.concat();
        let mut h = Vec::new();
        h.extend(SIGNATURE);
        for w in [HEADER_LEN as u32, 0, body.len() as u32, u32::from(ip_checksum(&body)), records.len() as u32] {
            h.extend(w.to_le_bytes());
        }
        let sum = ip_checksum(&h);
        h[8..10].copy_from_slice(&sum.to_le_bytes());
        h.extend(body);
        h
    }

    pub fn forward(to: u64) -> Vec<u8> {
        record(TAG_FORWARD, &to.to_le_bytes())
    }

    pub fn memory(ranges: &[(u64, u64, u32)]) -> Vec<u8> {
        let mut b = Vec::new();
        for &(start, size, typ) in ranges {
            b.extend(start.to_le_bytes());
            b.extend(size.to_le_bytes());
            b.extend(typ.to_le_bytes());
        }
        record(TAG_MEMORY, &b)
    }

    /// What coreboot's generic linear framebuffer gives for QEMU's std VGA.
    pub fn framebuffer_800x600() -> Vec<u8> {
        framebuffer(0xfd00_0000, 800, 600)
    }

    /// A 32 bpp XRGB framebuffer record.
    pub fn framebuffer(addr: u64, width: u32, height: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(addr.to_le_bytes());
        for w in [width, height, width * 4] {
            b.extend(w.to_le_bytes());
        }
        b.extend([32, 16, 8, 8, 8, 0, 8, 24, 8, 0, 0, 0]);
        record(TAG_FRAMEBUFFER, &b)
    }

    pub fn serial(io: bool, base: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [if io { 1 } else { 2 }, base, 115_200, 1, 1_843_200, 0] {
            b.extend(u32::to_le_bytes(w));
        }
        record(TAG_SERIAL, &b)
    }

    pub fn boot_media(fmap_offset: u64, cbfs_offset: u64, cbfs_size: u64, size: u64) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [fmap_offset, cbfs_offset, cbfs_size, size] {
            b.extend(w.to_le_bytes());
        }
        record(TAG_BOOT_MEDIA_PARAMS, &b)
    }

    pub fn version(v: &str) -> Vec<u8> {
        let mut b = Vec::from(v.as_bytes());
        b.resize((v.len() + 1).next_multiple_of(4), 0);
        record(TAG_VERSION, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::super::cbfs::build::{file, image};
    use super::super::cbfs::TYPE_RAW;
    use super::super::fake::FakeMem;
    use super::build::{self, forward, framebuffer_800x600, record, table};
    use super::*;
    use alloc::vec::Vec;

    const HIGH: u64 = 0x7ffe_0000;
    const FLASH: u64 = 256 * 1024;

    /// 128 MiB QEMU as coreboot describes it: RAM with holes, the tables
    /// themselves (type 16) at the top.
    fn ram_map() -> Vec<u8> {
        build::memory(&[
            (0, 0x1000, 16),
            (0x1000, 0x9f000, MEM_RAM),
            (0xa0000, 0x60000, 2),
            (0x10_0000, 0x7ee0_0000 - 0x10_0000, MEM_RAM),
            (0x7ee0_0000, 0x120_0000, 16),
        ])
    }

    /// Low memory with the forwarder at 0x500, the full table at HIGH, and
    /// a flash whose CBFS (at offset 0x1000, 8 KiB) holds `cbfs_files`.
    fn handoff(full: Vec<u8>, cbfs_files: &[Vec<u8>]) -> FakeMem {
        let mut low = alloc::vec![0u8; 0x1000];
        let fwd = table(&[forward(HIGH)]);
        low[0x500..0x500 + fwd.len()].copy_from_slice(&fwd);
        let mut flash = alloc::vec![0xffu8; FLASH as usize];
        flash[0x1000..0x3000].copy_from_slice(&image(cbfs_files, 0x2000));
        let mut m = FakeMem::default();
        m.put(0, &low);
        m.put(HIGH, &full);
        m.put((1 << 32) - FLASH, &flash);
        m
    }

    fn full_table() -> Vec<u8> {
        table(&[
            build::version("26.06"),
            ram_map(),
            build::serial(true, 0x3f8),
            framebuffer_800x600(),
            build::boot_media(0, 0x1000, 0x2000, FLASH),
        ])
    }

    fn cfg_file(text: &str) -> Vec<u8> {
        file("clove.cfg", TYPE_RAW, text.as_bytes(), None)
    }

    #[test]
    fn parses_the_forwarded_table_from_the_stack_argument_or_a_scan() {
        let m = handoff(full_table(), &[cfg_file("server=spice://10.0.2.2:5930\n")]);
        for stack_arg in [HIGH as u32, 0x500, 0, 0x1234_0000] {
            let bi = parse(&m, 0, stack_arg).unwrap();
            assert_eq!(bi.protocol, BootProtocol::Coreboot);
            assert_eq!(bi.table_addr, Some(HIGH));
            assert_eq!(bi.loader_name.as_str(), "coreboot 26.06");
            let r = bi.memory.regions();
            assert_eq!(r.len(), 2, "only RAM ranges: {r:?}");
            assert_eq!(r[0], MemoryRegion { start: 0x1000, len: 0x9f000, kind: MemoryKind::Available });
            assert_eq!(r[1].end(), 0x7ee0_0000);
            let fb = bi.framebuffer.unwrap();
            assert_eq!((fb.addr, fb.width, fb.height, fb.pitch, fb.bpp), (0xfd00_0000, 800, 600, 3200, 32));
            assert_eq!((fb.red, fb.green, fb.blue), ((16, 8), (8, 8), (0, 8)));
            assert_eq!(bi.serial, Some(LoaderSerial { io: true, base: 0x3f8, baud: 115_200 }));
            let media = bi.boot_media.unwrap();
            assert_eq!((media.base, media.cbfs_offset, media.cbfs_size), ((1 << 32) - FLASH, 0x1000, 0x2000));
            let cfg = bi.config.unwrap();
            assert_eq!((cfg.source, cfg.text.as_str()), ("CBFS clove.cfg", "server=spice://10.0.2.2:5930\n"));
            assert!(bi.config_error.is_none());
        }
    }

    #[test]
    fn checksums_are_verified() {
        // The header's checksum: one flipped bit in the record count.
        let mut t = full_table();
        t[20] ^= 1;
        let m = handoff(t, &[]);
        let e = parse(&m, 0, HIGH as u32).unwrap_err();
        assert_eq!(e, BootError::BadChecksum { what: "coreboot table header", addr: HIGH });
        // The records' checksum: one flipped bit in the framebuffer width.
        let mut t = full_table();
        let at = t.len() - 40 - 40 + 16;
        t[at] ^= 1;
        let m = handoff(t, &[]);
        for stack_arg in [HIGH as u32, 0] {
            assert_eq!(parse(&m, 0, stack_arg).unwrap_err(), BootError::BadChecksum { what: WHAT, addr: HIGH });
        }
        assert!(alloc::format!("{}", parse(&m, 0, 0).unwrap_err()).contains("bad checksum"));
    }

    #[test]
    fn forward_loops_end() {
        let mut m = handoff(table(&[forward(0x500)]), &[]);
        assert_eq!(parse(&m, 0, 0).unwrap_err(), BootError::Malformed { what: WHAT, detail: "FORWARD records loop" });
        m.put(0x2000, &table(&[forward(0)]));
        assert_eq!(parse(&m, 0, 0x2000).unwrap_err(), BootError::Null("coreboot FORWARD record"));
    }

    #[test]
    fn records_are_bounds_checked() {
        let malformed = |records: &[Vec<u8>], fix: &dyn Fn(&mut Vec<u8>)| {
            let mut t = table(records);
            fix(&mut t);
            // Re-sign, so only the structure is wrong.
            let n = t.len();
            let sum = ip_checksum(&t[HEADER_LEN..n]);
            t[12..16].copy_from_slice(&((n - HEADER_LEN) as u32).to_le_bytes());
            t[16..20].copy_from_slice(&u32::from(sum).to_le_bytes());
            t[8..10].copy_from_slice(&[0, 0]);
            let h = ip_checksum(&t[..HEADER_LEN]);
            t[8..10].copy_from_slice(&h.to_le_bytes());
            parse(&handoff(t, &[]), 0, HIGH as u32).unwrap_err()
        };
        let is_malformed = |e: BootError| matches!(e, BootError::Malformed { .. });
        // A record whose size runs past the table's end.
        assert!(is_malformed(malformed(&[ram_map()], &|t| t[HEADER_LEN + 4] += 8)));
        // A record smaller than its own header.
        assert!(is_malformed(malformed(&[ram_map()], &|t| t[HEADER_LEN + 4] = 4)));
        // A record header cut off by the table's end.
        assert!(is_malformed(malformed(&[ram_map()], &|t| t.extend([0x12, 0, 0, 0]))));
        // Truncated records: a framebuffer without its channels, a FORWARD
        // without its address, a memory range cut in half.
        let short_fb = record(TAG_FRAMEBUFFER, &framebuffer_800x600()[8..28]);
        assert!(is_malformed(malformed(&[ram_map(), short_fb], &|_| {})));
        assert!(is_malformed(malformed(&[record(TAG_FORWARD, &[0, 0, 0, 0])], &|_| {})));
        assert!(is_malformed(malformed(&[record(TAG_MEMORY, &[0; 30])], &|_| {})));
        // A record count that disagrees with the records.
        assert!(is_malformed(malformed(&[ram_map()], &|t| t[20] = 2)));
        // A table too large to be real.
        let e = malformed(&[ram_map()], &|t| t.resize(HEADER_LEN + MAX_TABLE + 8, 0));
        assert!(matches!(e, BootError::TooLong { .. } | BootError::Unreadable { .. }), "{e:?}");
        // No RAM at all.
        assert_eq!(
            malformed(&[build::memory(&[(0, 0x1000, 2)])], &|_| {}),
            BootError::NoMemoryMap(BootProtocol::Coreboot)
        );
    }

    #[test]
    fn no_table_means_no_protocol() {
        let mut m = FakeMem::default();
        m.put(0, &[0u8; 0x1000]);
        assert_eq!(parse(&m, 0x1234, 0x500).unwrap_err(), BootError::UnknownProtocol { eax: 0x1234, stack_arg: 0x500 });
    }

    #[test]
    fn config_problems_do_not_stop_the_boot() {
        let compressed = file("clove.cfg", TYPE_RAW, b"mode=800x600", Some(1));
        let bi = parse(&handoff(full_table(), &[compressed]), 0, 0).unwrap();
        assert!(bi.config.is_none());
        assert!(alloc::format!("{}", bi.config_error.unwrap()).contains("compressed"));

        let bi = parse(&handoff(full_table(), &[cfg_file("mode=\u{ff}\0\0")]), 0, 0).unwrap();
        assert_eq!(bi.config.unwrap().text.as_str(), "mode=\u{ff}");
        let big = "#".repeat(MAX_CONFIG + 1);
        let bi = parse(&handoff(full_table(), &[cfg_file(&big)]), 0, 0).unwrap();
        assert_eq!(bi.config_error, Some(BootError::TooLong { what: "clove.cfg", max: MAX_CONFIG }));

        // No clove.cfg, and no boot media record: neither is an error.
        let bi = parse(&handoff(full_table(), &[file("other", TYPE_RAW, b"x", None)]), 0, 0).unwrap();
        assert!(bi.config.is_none() && bi.config_error.is_none());
        let bi = parse(&handoff(table(&[ram_map()]), &[cfg_file("x")]), 0, 0).unwrap();
        assert!(bi.boot_media.is_none() && bi.config.is_none() && bi.config_error.is_none());
        // A boot medium larger than 4 GiB is not mapped where we look.
        let t = table(&[ram_map(), build::boot_media(0, 0, 0x1000, 8 << 30)]);
        assert!(parse(&handoff(t, &[]), 0, 0).unwrap().boot_media.is_none());
    }

    #[test]
    fn ip_checksum_matches_rfc1071() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7, little-endian.
        assert_eq!(ip_checksum(&[0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6]), !0xddf2);
        assert_eq!(ip_checksum(&[0x01]), !0x0001);
        let t = table(&[ram_map()]);
        assert_eq!(ip_checksum(&t[..HEADER_LEN]), 0);
    }
}
