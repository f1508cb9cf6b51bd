//! The multiboot2 information structure, through the `multiboot2` crate.

use super::{
    u32_at, BootError, BootInfo, BootProtocol, InlineStr, LoaderFramebuffer, MemoryKind, MemoryRegion, PhysMem,
};
use multiboot2::{BootInformation, BootInformationHeader, FramebufferType};

/// GRUB's structures are a few KiB; anything past this is corrupt.
const MAX_TOTAL_SIZE: usize = 256 * 1024;

pub fn parse(mem: &impl PhysMem, addr: u64) -> Result<BootInfo, BootError> {
    const WHAT: &str = "multiboot2 info";
    if !addr.is_multiple_of(8) {
        return Err(BootError::Malformed { what: WHAT, detail: "not 8-byte aligned" });
    }
    let total = u32_at(mem.read(addr, 8, WHAT)?, 0) as usize;
    if !(16..=MAX_TOTAL_SIZE).contains(&total) {
        return Err(BootError::Malformed { what: WHAT, detail: "total size out of range" });
    }
    let bytes = mem.read(addr, total, WHAT)?;
    // SAFETY: `bytes` is readable for its whole length, which is the size the
    // header reports, and the shared borrow keeps it unmodified while `mbi`
    // (which does not outlive this function) reads it. The crate re-checks
    // alignment, the size and the tag sequence.
    let mbi = unsafe { BootInformation::load(bytes.as_ptr().cast::<BootInformationHeader>()) }
        .map_err(|_| BootError::Malformed { what: WHAT, detail: "bad tag sequence" })?;

    let mut out = BootInfo::new(BootProtocol::Multiboot2);
    if let Some(tag) = mbi.memory_map_tag() {
        for area in tag.memory_areas() {
            out.memory.push(MemoryRegion {
                start: area.start_address(),
                len: area.size(),
                kind: MemoryKind::from_e820(u32::from(area.typ())),
            })?;
        }
    } else if let Some(basic) = mbi.basic_memory_info_tag() {
        let lower = u64::from(basic.memory_lower()) * 1024;
        let upper = u64::from(basic.memory_upper()) * 1024;
        out.memory.push(MemoryRegion { start: 0, len: lower, kind: MemoryKind::Available })?;
        out.memory.push(MemoryRegion { start: 0x10_0000, len: upper, kind: MemoryKind::Available })?;
    } else {
        return Err(BootError::NoMemoryMap(BootProtocol::Multiboot2));
    }

    if let Some(tag) = mbi.command_line_tag() {
        let s = tag.cmdline().map_err(|_| BootError::NotUtf8("multiboot2 command line"))?;
        out.cmdline = InlineStr::from_bytes(s.as_bytes(), "multiboot2 command line")?;
    }
    if let Some(name) = mbi.boot_loader_name_tag().and_then(|t| t.name().ok()) {
        out.loader_name = InlineStr::truncated(name);
    }
    match mbi.framebuffer_tag() {
        Some(Ok(fb)) => match fb.buffer_type() {
            Ok(FramebufferType::RGB { red, green, blue }) => {
                out.framebuffer = Some(LoaderFramebuffer {
                    addr: fb.address(),
                    pitch: fb.pitch(),
                    width: fb.width(),
                    height: fb.height(),
                    bpp: fb.bpp(),
                    red: (red.position, red.size),
                    green: (green.position, green.size),
                    blue: (blue.position, blue.size),
                })
            }
            _ => out.framebuffer_note = Some("multiboot2 framebuffer is not direct RGB (text or indexed mode)"),
        },
        Some(Err(_)) => out.framebuffer_note = Some("multiboot2 framebuffer has an unknown type"),
        None => {}
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMem;
    use super::*;
    use alloc::vec::Vec;

    fn tag(out: &mut Vec<u8>, typ: u32, body: &[u8]) {
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
    }

    /// A GRUB-like structure: command line, loader name, memory map and an
    /// RGB framebuffer, as GRUB 2.06 lays them out.
    fn grub_like(with_mmap: bool) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&[0; 8]);
        tag(&mut t, 1, b"server=spice://h test-exit\0");
        tag(&mut t, 2, b"GRUB 2.06-13+deb12u1\0");
        tag(&mut t, 4, &[0x7f, 2, 0, 0, 0x00, 0xfc, 1, 0].map(|b| b as u8));
        if with_mmap {
            let mut body = Vec::new();
            body.extend_from_slice(&24u32.to_le_bytes());
            body.extend_from_slice(&0u32.to_le_bytes());
            for (a, l, ty) in [(0u64, 0x9fc00u64, 1u32), (0x9fc00, 0x400, 2), (0x100000, 0x7ee0000, 1)] {
                body.extend_from_slice(&a.to_le_bytes());
                body.extend_from_slice(&l.to_le_bytes());
                body.extend_from_slice(&ty.to_le_bytes());
                body.extend_from_slice(&0u32.to_le_bytes());
            }
            tag(&mut t, 6, &body);
        }
        let mut fb = Vec::new();
        fb.extend_from_slice(&0xfd00_0000u64.to_le_bytes());
        fb.extend_from_slice(&4096u32.to_le_bytes());
        fb.extend_from_slice(&1024u32.to_le_bytes());
        fb.extend_from_slice(&768u32.to_le_bytes());
        fb.extend_from_slice(&[32, 1, 0, 0, 16, 8, 8, 8, 0, 8]);
        tag(&mut t, 8, &fb);
        tag(&mut t, 0, &[]);
        let n = t.len() as u32;
        t[0..4].copy_from_slice(&n.to_le_bytes());
        t
    }

    /// Put `bytes` at an 8-aligned host address so the crate's alignment
    /// check sees what a real loader gives.
    fn mem_with(bytes: &[u8]) -> (FakeMem, u64) {
        let mut mem = FakeMem::default();
        mem.put(0x10000, bytes);
        let base = mem.read(0x10000, 1, "t").unwrap().as_ptr() as u64;
        assert_eq!(base % 8, 0, "host allocator gave an unaligned buffer");
        (mem, 0x10000)
    }

    #[test]
    fn parses_grub_like_info() {
        let (mem, addr) = mem_with(&grub_like(true));
        let bi = parse(&mem, addr).unwrap();
        assert_eq!(bi.protocol, BootProtocol::Multiboot2);
        assert_eq!(bi.cmdline.as_str(), "server=spice://h test-exit");
        assert_eq!(bi.loader_name.as_str(), "GRUB 2.06-13+deb12u1");
        assert_eq!(bi.memory.regions().len(), 3);
        assert_eq!(bi.memory.total_available(), 0x9fc00 + 0x7ee0000);
        let fb = bi.framebuffer.unwrap();
        assert_eq!((fb.addr, fb.pitch, fb.width, fb.height, fb.bpp), (0xfd00_0000, 4096, 1024, 768, 32));
        assert_eq!((fb.red, fb.green, fb.blue), ((16, 8), (8, 8), (0, 8)));
    }

    #[test]
    fn basic_meminfo_is_the_fallback() {
        let (mem, addr) = mem_with(&grub_like(false));
        let bi = parse(&mem, addr).unwrap();
        assert_eq!(bi.memory.total_available(), 639 * 1024 + 0x1fc00 * 1024);
    }

    #[test]
    fn rejects_corrupt_structures() {
        let mut bytes = grub_like(true);
        let n = bytes.len();
        bytes[n - 8] = 9; // the end tag is no longer an end tag
        let (mem, addr) = mem_with(&bytes);
        assert!(matches!(parse(&mem, addr), Err(BootError::Malformed { .. })));

        let mut huge = grub_like(true);
        huge[0..4].copy_from_slice(&0x1000_0000u32.to_le_bytes());
        let (mem, addr) = mem_with(&huge);
        assert!(matches!(parse(&mem, addr), Err(BootError::Malformed { detail: "total size out of range", .. })));

        let (mem, _) = mem_with(&grub_like(true));
        assert!(matches!(parse(&mem, 0x10004), Err(BootError::Malformed { detail: "not 8-byte aligned", .. })));
    }
}
