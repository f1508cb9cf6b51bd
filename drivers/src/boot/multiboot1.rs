//! The multiboot1 information structure (Multiboot Specification 0.6.96, §3.3).

use super::{
    read_cstr, u32_at, u64_at, BootError, BootInfo, BootProtocol, InlineStr, LoaderFramebuffer, MemoryKind,
    MemoryRegion, PhysMem, MAX_CMDLINE, MAX_REGIONS,
};

const FLAG_MEM: u32 = 1 << 0;
const FLAG_CMDLINE: u32 = 1 << 2;
const FLAG_MMAP: u32 = 1 << 6;
const FLAG_LOADER_NAME: u32 = 1 << 9;
const FLAG_FRAMEBUFFER: u32 = 1 << 12;

/// The info structure is 116 bytes when every field is present; we read only
/// as far as the flags say.
const BASE_LEN: usize = 88;
const FULL_LEN: usize = 116;
const FRAMEBUFFER_TYPE_RGB: u8 = 1;

pub fn parse(mem: &impl PhysMem, addr: u64) -> Result<BootInfo, BootError> {
    let flags = u32_at(mem.read(addr, 4, "multiboot1 info")?, 0);
    let len = if flags & FLAG_FRAMEBUFFER != 0 { FULL_LEN } else { BASE_LEN };
    let info = mem.read(addr, len, "multiboot1 info")?;
    let mut out = BootInfo::new(BootProtocol::Multiboot1);

    if flags & FLAG_MMAP != 0 {
        parse_mmap(mem, u64::from(u32_at(info, 48)), u32_at(info, 44), &mut out)?;
    } else if flags & FLAG_MEM != 0 {
        // Only the two classic sizes: conventional memory and RAM above 1 MiB.
        let lower = u64::from(u32_at(info, 4)) * 1024;
        let upper = u64::from(u32_at(info, 8)) * 1024;
        out.memory.push(MemoryRegion { start: 0, len: lower, kind: MemoryKind::Available })?;
        out.memory.push(MemoryRegion { start: 0x10_0000, len: upper, kind: MemoryKind::Available })?;
    } else {
        return Err(BootError::NoMemoryMap(BootProtocol::Multiboot1));
    }

    if flags & FLAG_CMDLINE != 0 {
        let bytes = read_cstr(mem, u64::from(u32_at(info, 16)), MAX_CMDLINE, "multiboot1 command line")?;
        out.cmdline = InlineStr::from_bytes(bytes, "multiboot1 command line")?;
    }
    if flags & FLAG_LOADER_NAME != 0 {
        let bytes = read_cstr(mem, u64::from(u32_at(info, 64)), 256, "multiboot1 loader name")?;
        let name = core::str::from_utf8(bytes).map_err(|_| BootError::NotUtf8("multiboot1 loader name"))?;
        out.loader_name = InlineStr::truncated(name);
    }
    if flags & FLAG_FRAMEBUFFER != 0 {
        let fb = LoaderFramebuffer {
            addr: u64_at(info, 88),
            pitch: u32_at(info, 96),
            width: u32_at(info, 100),
            height: u32_at(info, 104),
            bpp: info[108],
            red: (info[110], info[111]),
            green: (info[112], info[113]),
            blue: (info[114], info[115]),
        };
        if info[109] == FRAMEBUFFER_TYPE_RGB {
            out.framebuffer = Some(fb);
        } else {
            out.framebuffer_note = Some("multiboot1 framebuffer is not direct RGB (text or indexed mode)");
        }
    }
    Ok(out)
}

/// Entries are `size, base_addr, length, type`, where `size` counts the bytes
/// after itself, so each entry may be longer than the 20 we read.
fn parse_mmap(mem: &impl PhysMem, addr: u64, len: u32, out: &mut BootInfo) -> Result<(), BootError> {
    const WHAT: &str = "multiboot1 memory map";
    let map = mem.read(addr, len as usize, WHAT)?;
    let mut off = 0usize;
    let mut entries = 0usize;
    while off < map.len() {
        let rest = &map[off..];
        if rest.len() < 24 {
            return Err(BootError::Malformed { what: WHAT, detail: "entry runs past the map's end" });
        }
        let size = u32_at(rest, 0) as usize;
        if size < 20 || size + 4 > rest.len() {
            return Err(BootError::Malformed { what: WHAT, detail: "entry size is out of range" });
        }
        entries += 1;
        if entries > MAX_REGIONS * 4 {
            return Err(BootError::TooManyRegions);
        }
        out.memory.push(MemoryRegion {
            start: u64_at(rest, 4),
            len: u64_at(rest, 12),
            kind: MemoryKind::from_e820(u32_at(rest, 20)),
        })?;
        off += size + 4;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMem;
    use super::*;
    use alloc::vec::Vec;

    fn mmap_entry(base: u64, len: u64, typ: u32) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&20u32.to_le_bytes());
        e.extend_from_slice(&base.to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(&typ.to_le_bytes());
        e
    }

    /// What QEMU's multiboot loader gives a 128 MiB guest.
    fn qemu_like(flags: u32) -> FakeMem {
        let mut info = [0u8; FULL_LEN];
        info[0..4].copy_from_slice(&flags.to_le_bytes());
        info[4..8].copy_from_slice(&639u32.to_le_bytes());
        info[8..12].copy_from_slice(&(127 * 1024u32).to_le_bytes());
        info[16..20].copy_from_slice(&0x9000u32.to_le_bytes());
        let mut map = mmap_entry(0, 0x9fc00, 1);
        map.extend(mmap_entry(0x9fc00, 0x400, 2));
        map.extend(mmap_entry(0x100000, 0x7ee0000, 1));
        info[44..48].copy_from_slice(&(map.len() as u32).to_le_bytes());
        info[48..52].copy_from_slice(&0x9500u32.to_le_bytes());
        info[64..68].copy_from_slice(&0x9400u32.to_le_bytes());
        info[88..96].copy_from_slice(&0xfd00_0000u64.to_le_bytes());
        info[96..100].copy_from_slice(&4096u32.to_le_bytes());
        info[100..104].copy_from_slice(&1024u32.to_le_bytes());
        info[104..108].copy_from_slice(&768u32.to_le_bytes());
        info[108] = 32;
        info[109] = 1;
        info[110..116].copy_from_slice(&[16, 8, 8, 8, 0, 8]);
        let mut mem = FakeMem::default();
        mem.put(0x8000, &info);
        mem.put(0x9000, b"test-exit server=spice://10.0.2.2\0");
        mem.put(0x9400, b"qemu\0");
        mem.put(0x9500, &map);
        mem
    }

    #[test]
    fn parses_memory_map_cmdline_name_and_framebuffer() {
        let mem = qemu_like(FLAG_MEM | FLAG_CMDLINE | FLAG_MMAP | FLAG_LOADER_NAME | FLAG_FRAMEBUFFER);
        let bi = parse(&mem, 0x8000).unwrap();
        assert_eq!(bi.protocol, BootProtocol::Multiboot1);
        assert_eq!(bi.cmdline.as_str(), "test-exit server=spice://10.0.2.2");
        assert_eq!(bi.loader_name.as_str(), "qemu");
        let r = bi.memory.regions();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], MemoryRegion { start: 0x9fc00, len: 0x400, kind: MemoryKind::Reserved });
        assert_eq!(bi.memory.total_available(), 0x9fc00 + 0x7ee0000);
        let fb = bi.framebuffer.unwrap();
        assert_eq!((fb.addr, fb.pitch, fb.width, fb.height, fb.bpp), (0xfd00_0000, 4096, 1024, 768, 32));
        assert_eq!((fb.red, fb.green, fb.blue), ((16, 8), (8, 8), (0, 8)));
    }

    #[test]
    fn falls_back_to_mem_lower_upper() {
        let bi = parse(&qemu_like(FLAG_MEM), 0x8000).unwrap();
        assert_eq!(bi.memory.total_available(), 639 * 1024 + 127 * 1024 * 1024);
        assert_eq!(bi.cmdline.as_str(), "");
        assert!(bi.framebuffer.is_none());
    }

    #[test]
    fn rejects_missing_and_broken_structures() {
        assert_eq!(
            parse(&qemu_like(FLAG_CMDLINE), 0x8000).unwrap_err(),
            BootError::NoMemoryMap(BootProtocol::Multiboot1)
        );
        assert!(matches!(parse(&qemu_like(FLAG_MMAP), 0x7000), Err(BootError::Unreadable { .. })));

        // An entry whose size field points past the map.
        let mut mem = qemu_like(FLAG_MMAP);
        let mut bad = mmap_entry(0, 0x1000, 1);
        bad[0..4].copy_from_slice(&200u32.to_le_bytes());
        mem.put(0x9500 - 0x1000, &[]);
        let mut info = [0u8; BASE_LEN];
        info[0..4].copy_from_slice(&FLAG_MMAP.to_le_bytes());
        info[44..48].copy_from_slice(&24u32.to_le_bytes());
        info[48..52].copy_from_slice(&0x20000u32.to_le_bytes());
        mem.put(0x10000, &info);
        mem.put(0x20000, &bad);
        assert!(matches!(parse(&mem, 0x10000), Err(BootError::Malformed { .. })));
    }

    #[test]
    fn text_mode_framebuffer_is_noted_not_used() {
        let mut mem = qemu_like(FLAG_MMAP | FLAG_FRAMEBUFFER);
        let mut info = [0u8; FULL_LEN];
        info.copy_from_slice(mem.read(0x8000, FULL_LEN, "t").unwrap());
        info[109] = 2;
        mem.put(0x18000, &info);
        let bi = parse(&mem, 0x18000).unwrap();
        assert!(bi.framebuffer.is_none());
        assert!(bi.framebuffer_note.is_some());
    }
}
