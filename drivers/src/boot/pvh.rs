//! The PVH `hvm_start_info` structure (Xen's arch-x86/hvm/start_info.h).

use super::{
    read_cstr, u32_at, u64_at, BootError, BootInfo, BootProtocol, InlineStr, MemoryKind, MemoryRegion, PhysMem,
    MAX_CMDLINE, MAX_REGIONS,
};

pub const START_INFO_MAGIC: u32 = 0x336e_c578;
/// Version 1 added the memory map; QEMU gives version 1.
const V1_LEN: usize = 56;
const MEMMAP_ENTRY_LEN: usize = 24;

pub fn parse(mem: &impl PhysMem, addr: u64) -> Result<BootInfo, BootError> {
    const WHAT: &str = "PVH start_info";
    let head = mem.read(addr, 8, WHAT)?;
    let magic = u32_at(head, 0);
    if magic != START_INFO_MAGIC {
        return Err(BootError::BadMagic { what: WHAT, found: magic });
    }
    if u32_at(head, 4) < 1 {
        return Err(BootError::NoMemoryMap(BootProtocol::Pvh));
    }
    let si = mem.read(addr, V1_LEN, WHAT)?;
    let mut out = BootInfo::new(BootProtocol::Pvh);

    let cmdline = u64_at(si, 24);
    if cmdline != 0 {
        let bytes = read_cstr(mem, cmdline, MAX_CMDLINE, "PVH command line")?;
        out.cmdline = InlineStr::from_bytes(bytes, "PVH command line")?;
    }
    let rsdp = u64_at(si, 32);
    out.rsdp = (rsdp != 0).then_some(rsdp);

    let (map_addr, count) = (u64_at(si, 40), u32_at(si, 48) as usize);
    if map_addr == 0 || count == 0 {
        return Err(BootError::NoMemoryMap(BootProtocol::Pvh));
    }
    if count > MAX_REGIONS {
        return Err(BootError::TooManyRegions);
    }
    let map = mem.read(map_addr, count * MEMMAP_ENTRY_LEN, "PVH memory map")?;
    for e in map.chunks_exact(MEMMAP_ENTRY_LEN) {
        out.memory.push(MemoryRegion {
            start: u64_at(e, 0),
            len: u64_at(e, 8),
            kind: MemoryKind::from_e820(u32_at(e, 16)),
        })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMem;
    use super::*;
    use alloc::vec::Vec;

    fn start_info(version: u32, entries: &[(u64, u64, u32)]) -> FakeMem {
        let mut si = [0u8; V1_LEN];
        si[0..4].copy_from_slice(&START_INFO_MAGIC.to_le_bytes());
        si[4..8].copy_from_slice(&version.to_le_bytes());
        si[24..32].copy_from_slice(&0x6000u64.to_le_bytes());
        si[32..40].copy_from_slice(&0xf5a40u64.to_le_bytes());
        si[40..48].copy_from_slice(&0x7000u64.to_le_bytes());
        si[48..52].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        let mut map = Vec::new();
        for &(a, l, t) in entries {
            map.extend_from_slice(&a.to_le_bytes());
            map.extend_from_slice(&l.to_le_bytes());
            map.extend_from_slice(&t.to_le_bytes());
            map.extend_from_slice(&0u32.to_le_bytes());
        }
        let mut mem = FakeMem::default();
        mem.put(0x5000, &si);
        mem.put(0x6000, b"test-exit\0");
        mem.put(0x7000, &map);
        mem
    }

    #[test]
    fn parses_qemu_start_info() {
        let mem = start_info(1, &[(0, 0x9fc00, 1), (0xf0000, 0x10000, 2), (0x100000, 0xfee0000, 1)]);
        let bi = parse(&mem, 0x5000).unwrap();
        assert_eq!(bi.protocol, BootProtocol::Pvh);
        assert_eq!(bi.cmdline.as_str(), "test-exit");
        assert_eq!(bi.rsdp, Some(0xf5a40));
        assert_eq!(bi.memory.regions().len(), 3);
        assert_eq!(bi.memory.total_available(), 0x9fc00 + 0xfee0000);
    }

    #[test]
    fn rejects_bad_magic_old_version_and_huge_maps() {
        let mut mem = start_info(1, &[(0, 0x1000, 1)]);
        mem.put(0x9000, &[0u8; V1_LEN]);
        assert_eq!(parse(&mem, 0x9000).unwrap_err(), BootError::BadMagic { what: "PVH start_info", found: 0 });
        assert_eq!(parse(&start_info(0, &[(0, 1, 1)]), 0x5000).unwrap_err(), BootError::NoMemoryMap(BootProtocol::Pvh));
        assert_eq!(parse(&start_info(1, &[]), 0x5000).unwrap_err(), BootError::NoMemoryMap(BootProtocol::Pvh));
        let many: Vec<_> = (0..MAX_REGIONS as u64 + 1).map(|i| (i << 20, 0x1000, 1)).collect();
        assert_eq!(parse(&start_info(1, &many), 0x5000).unwrap_err(), BootError::TooManyRegions);
    }
}
