//! Boot information from every loader, parsed once into a plain [`BootInfo`].
//!
//! The loaders hand us a physical pointer. The payload wraps physical memory
//! in a [`PhysMem`] (one validating unsafe entry point); everything here is
//! safe, bounds-checked parsing that fails with a [`BootError`] naming the
//! structure and address at fault. Fixed-capacity storage keeps `BootInfo`
//! usable before the heap exists (the heap may overwrite the loader's data).

use core::fmt;

pub mod cbfs;
pub mod coreboot;
pub mod multiboot1;
pub mod multiboot2;
pub mod pvh;

/// Magic in EAX after a multiboot1 loader jumps to us.
pub const MULTIBOOT1_MAGIC: u32 = 0x2BAD_B002;
/// Magic in EAX after a multiboot2 loader jumps to us.
pub const MULTIBOOT2_MAGIC: u32 = 0x36D7_6289;

/// How many memory regions we keep; real maps have 5 to 30.
pub const MAX_REGIONS: usize = 64;
/// Longest command line we accept, in bytes.
pub const MAX_CMDLINE: usize = 1024;
/// Longest loader name we keep; longer ones are cut at a char boundary.
pub const MAX_LOADER_NAME: usize = 64;
/// Longest configuration file (`clove.cfg`) we accept, in bytes.
pub const MAX_CONFIG: usize = 4096;

/// Read access to physical memory for the parsers.
pub trait PhysMem {
    /// The bytes at `addr..addr + len`, or an error naming `what` when the
    /// range is not readable.
    fn read(&self, addr: u64, len: usize, what: &'static str) -> Result<&[u8], BootError>;
}

/// Which entry path and protocol brought us up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootProtocol {
    Multiboot1,
    Multiboot2,
    Pvh,
    Coreboot,
}

impl BootProtocol {
    pub fn name(self) -> &'static str {
        match self {
            Self::Multiboot1 => "multiboot1",
            Self::Multiboot2 => "multiboot2",
            Self::Pvh => "pvh",
            Self::Coreboot => "coreboot",
        }
    }
}

/// The register state our 32-bit entry saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// The ELF / multiboot entry point: EAX tells the protocol.
    Elf,
    /// The PVH entry point from the Xen ELF note: EBX is the start_info.
    Pvh,
}

/// The registers our 32-bit entry saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryState {
    pub kind: EntryKind,
    pub eax: u32,
    pub ebx: u32,
    /// The dword at 4(%esp): coreboot's table pointer (0 when ESP was unusable).
    pub stack_arg: u32,
}

/// Pick the protocol from the entry point and EAX. Without a multiboot magic
/// the only loader left is coreboot, which sets no register we could check:
/// its table decides (see [`coreboot::parse`]).
pub fn detect(kind: EntryKind, eax: u32) -> BootProtocol {
    match (kind, eax) {
        (EntryKind::Pvh, _) => BootProtocol::Pvh,
        (EntryKind::Elf, MULTIBOOT1_MAGIC) => BootProtocol::Multiboot1,
        (EntryKind::Elf, MULTIBOOT2_MAGIC) => BootProtocol::Multiboot2,
        (EntryKind::Elf, _) => BootProtocol::Coreboot,
    }
}

/// Parse the loader's structures for the protocol the entry registers show.
pub fn parse(mem: &impl PhysMem, entry: EntryState) -> Result<BootInfo, BootError> {
    let protocol = detect(entry.kind, entry.eax);
    let info_addr = u64::from(entry.ebx);
    if protocol != BootProtocol::Coreboot && info_addr == 0 {
        return Err(BootError::Null("boot information pointer"));
    }
    match protocol {
        BootProtocol::Multiboot1 => multiboot1::parse(mem, info_addr),
        BootProtocol::Multiboot2 => multiboot2::parse(mem, info_addr),
        BootProtocol::Pvh => pvh::parse(mem, info_addr),
        BootProtocol::Coreboot => coreboot::parse(mem, entry.eax, entry.stack_arg),
    }
}

/// What kind of memory a region holds (e820 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    Available,
    Reserved,
    AcpiReclaimable,
    AcpiNvs,
    Unusable,
    Other(u32),
}

impl MemoryKind {
    pub fn from_e820(t: u32) -> Self {
        match t {
            1 => Self::Available,
            2 => Self::Reserved,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::Unusable,
            t => Self::Other(t),
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Available => f.write_str("available"),
            Self::Reserved => f.write_str("reserved"),
            Self::AcpiReclaimable => f.write_str("acpi"),
            Self::AcpiNvs => f.write_str("acpi-nvs"),
            Self::Unusable => f.write_str("unusable"),
            Self::Other(t) => write!(f, "type-{t}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub start: u64,
    pub len: u64,
    pub kind: MemoryKind,
}

impl MemoryRegion {
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// The loader's memory map, in its order, empty regions dropped.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    regions: [MemoryRegion; MAX_REGIONS],
    len: usize,
}

impl Default for MemoryMap {
    fn default() -> Self {
        Self { regions: [MemoryRegion { start: 0, len: 0, kind: MemoryKind::Reserved }; MAX_REGIONS], len: 0 }
    }
}

impl MemoryMap {
    pub fn push(&mut self, region: MemoryRegion) -> Result<(), BootError> {
        if region.len == 0 {
            return Ok(());
        }
        let slot = self.regions.get_mut(self.len).ok_or(BootError::TooManyRegions)?;
        *slot = region;
        self.len += 1;
        Ok(())
    }

    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.len]
    }

    /// Bytes of RAM the map calls available.
    pub fn total_available(&self) -> u64 {
        self.available().map(|r| r.len).fold(0, u64::saturating_add)
    }

    pub fn available(&self) -> impl Iterator<Item = &MemoryRegion> {
        self.regions().iter().filter(|r| r.kind == MemoryKind::Available)
    }

    /// The largest available range inside `[floor, ceiling)`, as (start, len).
    /// The heap comes from here, above our own image and below what is mapped.
    pub fn largest_available(&self, floor: u64, ceiling: u64) -> Option<(u64, u64)> {
        self.available()
            .filter_map(|r| {
                let start = r.start.max(floor);
                let end = r.end().min(ceiling);
                (end > start).then(|| (start, end - start))
            })
            .max_by_key(|&(_, len)| len)
    }
}

/// A short string kept inline (command line, loader name).
#[derive(Clone)]
pub struct InlineStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        Self { buf: [0; N], len: 0 }
    }
}

impl<const N: usize> InlineStr<N> {
    /// Copy `bytes` (no NUL) in; they must be UTF-8 and fit.
    pub fn from_bytes(bytes: &[u8], what: &'static str) -> Result<Self, BootError> {
        let s = core::str::from_utf8(bytes).map_err(|_| BootError::NotUtf8(what))?;
        Self::from_str_exact(s).ok_or(BootError::TooLong { what, max: N })
    }

    fn from_str_exact(s: &str) -> Option<Self> {
        let mut out = Self::default();
        out.buf.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        out.len = s.len();
        Some(out)
    }

    /// Copy `s`, cut at the last char boundary that fits.
    pub fn truncated(s: &str) -> Self {
        let mut end = s.len().min(N);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Self::from_str_exact(&s[..end]).unwrap_or_default()
    }

    /// Append `s`, cut at the last char boundary that fits.
    pub fn push_truncated(&mut self, s: &str) {
        let mut end = s.len().min(N - self.len);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf[self.len..self.len + end].copy_from_slice(&s.as_bytes()[..end]);
        self.len += end;
    }

    pub fn as_str(&self) -> &str {
        // Only whole UTF-8 strings are ever stored.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A linear framebuffer the loader set up, as it described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderFramebuffer {
    pub addr: u64,
    pub pitch: u32,
    pub width: u32,
    pub height: u32,
    pub bpp: u8,
    /// (position, size) of each colour channel in a pixel.
    pub red: (u8, u8),
    pub green: (u8, u8),
    pub blue: (u8, u8),
}

/// The serial port the firmware used for its console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderSerial {
    /// An I/O port base, or else a memory-mapped UART's address.
    pub io: bool,
    pub base: u32,
    pub baud: u32,
}

/// Where coreboot's boot media (the flash) and its CBFS are. On x86 the
/// whole flash is memory-mapped just below 4 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootMedia {
    /// Physical address of the flash's first byte.
    pub base: u64,
    pub size: u64,
    pub fmap_offset: u64,
    pub cbfs_offset: u64,
    pub cbfs_size: u64,
}

/// A configuration file the loader handed over, as text.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// Where it came from, for messages: e.g. `CBFS clove.cfg`.
    pub source: &'static str,
    pub text: InlineStr<MAX_CONFIG>,
}

/// Everything Clove needs from its loader.
#[derive(Clone, Debug)]
pub struct BootInfo {
    pub protocol: BootProtocol,
    pub memory: MemoryMap,
    pub cmdline: InlineStr<MAX_CMDLINE>,
    pub loader_name: InlineStr<MAX_LOADER_NAME>,
    pub framebuffer: Option<LoaderFramebuffer>,
    /// ACPI RSDP, when the loader told us where it is.
    pub rsdp: Option<u64>,
    /// A framebuffer record that was present but unusable, and why.
    pub framebuffer_note: Option<&'static str>,
    /// The coreboot table that was used (after any FORWARD).
    pub table_addr: Option<u64>,
    pub serial: Option<LoaderSerial>,
    pub boot_media: Option<BootMedia>,
    pub config: Option<ConfigFile>,
    /// Why a configuration file could not be read (boot goes on without it).
    pub config_error: Option<BootError>,
}

impl BootInfo {
    pub fn new(protocol: BootProtocol) -> Self {
        Self {
            protocol,
            memory: MemoryMap::default(),
            cmdline: InlineStr::default(),
            loader_name: InlineStr::default(),
            framebuffer: None,
            rsdp: None,
            framebuffer_note: None,
            table_addr: None,
            serial: None,
            boot_media: None,
            config: None,
            config_error: None,
        }
    }
}

/// Read a NUL-terminated string of at most `max` bytes (NUL excluded).
pub(crate) fn read_cstr<'m>(
    mem: &'m impl PhysMem,
    addr: u64,
    max: usize,
    what: &'static str,
) -> Result<&'m [u8], BootError> {
    if addr == 0 {
        return Err(BootError::Null(what));
    }
    // One byte at a time: never read past the terminator into memory that
    // may not exist.
    for n in 0..=max {
        let at = addr.checked_add(n as u64).ok_or(BootError::Unreadable { what, addr, len: n })?;
        if mem.read(at, 1, what)?[0] == 0 {
            return mem.read(addr, n, what);
        }
    }
    Err(BootError::TooLong { what, max })
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from(u32_at(b, off)) | (u64::from(u32_at(b, off + 4)) << 32)
}

pub(crate) fn be32_at(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Why the boot information could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootError {
    /// EAX held no multiboot magic at the ELF entry, and no coreboot table
    /// was found either.
    UnknownProtocol {
        eax: u32,
        stack_arg: u32,
    },
    Null(&'static str),
    /// A structure lies outside the memory we can read.
    Unreadable {
        what: &'static str,
        addr: u64,
        len: usize,
    },
    BadMagic {
        what: &'static str,
        found: u32,
    },
    BadChecksum {
        what: &'static str,
        addr: u64,
    },
    Malformed {
        what: &'static str,
        detail: &'static str,
    },
    NotUtf8(&'static str),
    TooLong {
        what: &'static str,
        max: usize,
    },
    TooManyRegions,
    NoMemoryMap(BootProtocol),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownProtocol { eax, stack_arg } => write!(
                f,
                "unknown boot protocol: EAX={eax:#010x} (expected multiboot1 {MULTIBOOT1_MAGIC:#010x} or multiboot2 \
                 {MULTIBOOT2_MAGIC:#010x}) and no coreboot table (stack argument {stack_arg:#x}, no LBIO in \
                 0x0-0x1000 or 0xf0000-0x100000)"
            ),
            Self::Null(what) => write!(f, "{what} is a null pointer"),
            Self::Unreadable { what, addr, len } => {
                write!(f, "{what} at {addr:#x} ({len} bytes) lies outside readable memory")
            }
            Self::BadMagic { what, found } => write!(f, "{what} has bad magic {found:#010x}"),
            Self::BadChecksum { what, addr } => write!(f, "{what} at {addr:#x} has a bad checksum"),
            Self::Malformed { what, detail } => write!(f, "{what} is malformed: {detail}"),
            Self::NotUtf8(what) => write!(f, "{what} is not UTF-8"),
            Self::TooLong { what, max } => write!(f, "{what} is longer than {max} bytes"),
            Self::TooManyRegions => write!(f, "memory map has more than {MAX_REGIONS} regions"),
            Self::NoMemoryMap(p) => write!(f, "the {} loader gave no memory map", p.name()),
        }
    }
}

/// Physical memory faked from byte buffers, for parser tests.
#[cfg(test)]
pub(crate) mod fake {
    use super::{BootError, PhysMem};
    use alloc::vec::Vec;

    #[derive(Default)]
    pub struct FakeMem {
        chunks: Vec<(u64, Vec<u8>)>,
    }

    impl FakeMem {
        pub fn put(&mut self, addr: u64, bytes: &[u8]) {
            self.chunks.push((addr, bytes.to_vec()));
        }
    }

    impl PhysMem for FakeMem {
        fn read(&self, addr: u64, len: usize, what: &'static str) -> Result<&[u8], BootError> {
            self.chunks
                .iter()
                .find_map(|(base, bytes)| {
                    let off = usize::try_from(addr.checked_sub(*base)?).ok()?;
                    bytes.get(off..off.checked_add(len)?)
                })
                .ok_or(BootError::Unreadable { what, addr, len })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_falls_back_to_coreboot() {
        assert_eq!(detect(EntryKind::Elf, MULTIBOOT1_MAGIC), BootProtocol::Multiboot1);
        assert_eq!(detect(EntryKind::Elf, MULTIBOOT2_MAGIC), BootProtocol::Multiboot2);
        assert_eq!(detect(EntryKind::Pvh, MULTIBOOT1_MAGIC), BootProtocol::Pvh);
        assert_eq!(detect(EntryKind::Elf, 0x1234_5678), BootProtocol::Coreboot);
    }

    #[test]
    fn no_magic_and_no_table_names_both() {
        let entry = EntryState { kind: EntryKind::Elf, eax: 0x1234_5678, ebx: 0, stack_arg: 0x9000 };
        let e = parse(&fake::FakeMem::default(), entry).unwrap_err();
        assert_eq!(e, BootError::UnknownProtocol { eax: 0x1234_5678, stack_arg: 0x9000 });
        let text = alloc::format!("{e}");
        assert!(text.contains("EAX=0x12345678") && text.contains("stack argument 0x9000"), "{text}");
        let mb1 = EntryState { eax: MULTIBOOT1_MAGIC, ..entry };
        assert_eq!(parse(&fake::FakeMem::default(), mb1).unwrap_err(), BootError::Null("boot information pointer"));
    }

    #[test]
    fn inline_str_appends_within_capacity() {
        let mut s = InlineStr::<6>::default();
        s.push_truncated("ab");
        s.push_truncated("c\u{e9}d");
        assert_eq!(s.as_str(), "abc\u{e9}d");
        s.push_truncated("xyz");
        assert_eq!(s.as_str(), "abc\u{e9}d");
    }

    #[test]
    fn memory_map_bounds_and_totals() {
        let mut m = MemoryMap::default();
        m.push(MemoryRegion { start: 0, len: 0x9fc00, kind: MemoryKind::Available }).unwrap();
        m.push(MemoryRegion { start: 0x9fc00, len: 0x400, kind: MemoryKind::Reserved }).unwrap();
        m.push(MemoryRegion { start: 0x100000, len: 0x7f00000, kind: MemoryKind::Available }).unwrap();
        m.push(MemoryRegion { start: 0x200000, len: 0, kind: MemoryKind::Available }).unwrap();
        assert_eq!(m.regions().len(), 3);
        assert_eq!(m.total_available(), 0x9fc00 + 0x7f00000);
        assert_eq!(m.largest_available(0x300000, 1 << 32), Some((0x300000, 0x8000000 - 0x300000)));
        assert_eq!(m.largest_available(0x9000000, 1 << 32), None);
        for _ in 3..MAX_REGIONS {
            m.push(MemoryRegion { start: 1, len: 1, kind: MemoryKind::Reserved }).unwrap();
        }
        assert_eq!(
            m.push(MemoryRegion { start: 1, len: 1, kind: MemoryKind::Reserved }),
            Err(BootError::TooManyRegions)
        );
    }

    #[test]
    fn inline_str_limits() {
        assert_eq!(InlineStr::<4>::from_bytes(b"abcd", "x").unwrap().as_str(), "abcd");
        assert_eq!(InlineStr::<4>::from_bytes(b"abcde", "x").unwrap_err(), BootError::TooLong { what: "x", max: 4 });
        assert_eq!(InlineStr::<4>::from_bytes(&[0xff], "x").unwrap_err(), BootError::NotUtf8("x"));
        assert_eq!(InlineStr::<4>::truncated("ab\u{e9}z").as_str(), "ab\u{e9}");
        assert_eq!(InlineStr::<3>::truncated("ab\u{e9}").as_str(), "ab");
    }

    #[test]
    fn cstr_reads_stop_at_nul_and_bound() {
        let mut mem = fake::FakeMem::default();
        let mut long = alloc::vec![b'a'; 300];
        long.push(0);
        mem.put(0x1000, b"console=ttyS0\0garbage");
        mem.put(0x2000, &long);
        mem.put(0x3000, b"no terminator");
        assert_eq!(read_cstr(&mem, 0x1000, 100, "c").unwrap(), b"console=ttyS0");
        assert_eq!(read_cstr(&mem, 0x2000, 300, "c").unwrap().len(), 300);
        assert_eq!(read_cstr(&mem, 0x2000, 299, "c").unwrap_err(), BootError::TooLong { what: "c", max: 299 });
        assert!(matches!(read_cstr(&mem, 0x3000, 100, "c"), Err(BootError::Unreadable { .. })));
        assert_eq!(read_cstr(&mem, 0, 100, "c").unwrap_err(), BootError::Null("c"));
    }
}
