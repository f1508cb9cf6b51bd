//! PCI enumeration through configuration mechanism #1 (ports 0xCF8/0xCFC),
//! BAR decoding and sizing, and runtime driver binding from ID tables.

use crate::port::PortIo;
use alloc::vec::Vec;
use core::fmt;

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;

/// Configuration-space offsets.
mod off {
    pub const VENDOR_DEVICE: u8 = 0x00;
    pub const COMMAND: u8 = 0x04;
    pub const CLASS_REV: u8 = 0x08;
    pub const HEADER_TYPE: u8 = 0x0E;
    pub const BAR0: u8 = 0x10;
    pub const INTERRUPT_LINE: u8 = 0x3C;
}

pub const COMMAND_IO: u16 = 1 << 0;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;

const HEADER_MULTIFUNCTION: u8 = 0x80;
const HEADER_GENERAL: u8 = 0x00;
const HEADER_BRIDGE: u8 = 0x01;

/// Location of one PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    pub bus: u8,
    /// 0..=31
    pub device: u8,
    /// 0..=7
    pub function: u8,
}

impl PciAddress {
    pub const fn new(bus: u8, device: u8, function: u8) -> Self {
        Self { bus, device, function }
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{:x}", self.bus, self.device, self.function)
    }
}

/// The value written to 0xCF8 to reach dword `offset & 0xFC` of `addr`.
pub fn config_address(addr: PciAddress, offset: u8) -> u32 {
    0x8000_0000
        | (addr.bus as u32) << 16
        | ((addr.device & 0x1F) as u32) << 11
        | ((addr.function & 0x07) as u32) << 8
        | (offset & 0xFC) as u32
}

/// A decoded, sized base address register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    Memory { base: u64, size: u64, prefetchable: bool, is_64: bool },
    Io { port: u16, size: u32 },
}

impl Bar {
    /// The I/O port base, for I/O BARs.
    pub fn io_port(&self) -> Option<u16> {
        match *self {
            Bar::Io { port, .. } => Some(port),
            Bar::Memory { .. } => None,
        }
    }

    /// The physical base address, for memory BARs.
    pub fn memory_base(&self) -> Option<u64> {
        match *self {
            Bar::Memory { base, .. } => Some(base),
            Bar::Io { .. } => None,
        }
    }

    pub fn size(&self) -> u64 {
        match *self {
            Bar::Memory { size, .. } => size,
            Bar::Io { size, .. } => size as u64,
        }
    }
}

impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bar::Memory { base, size, prefetchable, is_64 } => write!(
                f,
                "mem{}{} {base:#x}+{size:#x}",
                if is_64 { "64" } else { "32" },
                if prefetchable { " pref" } else { "" }
            ),
            Bar::Io { port, size } => write!(f, "io {port:#x}+{size:#x}"),
        }
    }
}

/// One present PCI function, as enumeration found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciDevice {
    pub addr: PciAddress,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    pub prog_if: u8,
    pub revision: u8,
    /// Header layout (0 device, 1 PCI bridge, 2 CardBus), without bit 7.
    pub header_type: u8,
    /// Header type bit 7.
    pub multifunction: bool,
    /// BARs by slot; the slot after a 64-bit BAR stays `None`.
    pub bars: [Option<Bar>; 6],
    pub irq_line: u8,
}

impl PciDevice {
    pub fn id(&self) -> PciId {
        PciId { vendor: self.vendor_id, device: self.device_id }
    }

    pub fn name(&self) -> Option<&'static str> {
        device_name(self.vendor_id, self.device_id)
    }
}

/// One line for the boot screen: `00:03.0 8086:100e Ethernet controller: Intel 82540EM (e1000)`.
impl fmt::Display for PciDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:04x}:{:04x} {}",
            self.addr,
            self.vendor_id,
            self.device_id,
            class_name(self.class, self.subclass)
        )?;
        match self.name() {
            Some(name) => write!(f, ": {name}"),
            None => Ok(()),
        }
    }
}

/// Configuration space through ports 0xCF8/0xCFC, always with 32-bit
/// accesses (narrower reads are taken from the dword).
pub struct ConfigSpace<P: PortIo> {
    ports: P,
}

impl<P: PortIo> ConfigSpace<P> {
    pub fn new(ports: P) -> Self {
        Self { ports }
    }

    pub fn ports(&self) -> &P {
        &self.ports
    }

    pub fn into_inner(self) -> P {
        self.ports
    }

    pub fn read32(&mut self, addr: PciAddress, offset: u8) -> u32 {
        self.ports.write32(CONFIG_ADDRESS, config_address(addr, offset));
        self.ports.read32(CONFIG_DATA)
    }

    pub fn write32(&mut self, addr: PciAddress, offset: u8, value: u32) {
        self.ports.write32(CONFIG_ADDRESS, config_address(addr, offset));
        self.ports.write32(CONFIG_DATA, value);
    }

    pub fn read16(&mut self, addr: PciAddress, offset: u8) -> u16 {
        (self.read32(addr, offset) >> ((offset & 2) * 8)) as u16
    }

    pub fn read8(&mut self, addr: PciAddress, offset: u8) -> u8 {
        (self.read32(addr, offset) >> ((offset & 3) * 8)) as u8
    }

    pub fn command(&mut self, addr: PciAddress) -> u16 {
        self.read16(addr, off::COMMAND)
    }

    /// Writes the command register. The status half of the dword is written
    /// as zero: its error bits clear when written with one.
    pub fn set_command(&mut self, addr: PciAddress, command: u16) {
        self.write32(addr, off::COMMAND, command as u32);
    }

    /// Lets the device master the bus (DMA) and decode its I/O and memory
    /// BARs; other command bits are kept.
    pub fn enable_bus_master(&mut self, addr: PciAddress) {
        let cmd = self.command(addr);
        self.set_command(addr, cmd | COMMAND_BUS_MASTER | COMMAND_MEMORY | COMMAND_IO);
    }

    /// Reads one function, sizing its BARs; `None` if nothing answers.
    pub fn probe(&mut self, addr: PciAddress) -> Option<PciDevice> {
        let ids = self.read32(addr, off::VENDOR_DEVICE);
        let vendor_id = ids as u16;
        if vendor_id == 0xFFFF {
            return None;
        }
        let class_rev = self.read32(addr, off::CLASS_REV);
        let [revision, prog_if, subclass, class] = class_rev.to_le_bytes();
        let header = self.read8(addr, off::HEADER_TYPE);
        let header_type = header & !HEADER_MULTIFUNCTION;
        let irq_line = self.read8(addr, off::INTERRUPT_LINE);
        let bar_count = match header_type {
            HEADER_GENERAL => 6,
            HEADER_BRIDGE => 2,
            _ => 0,
        };
        // Linux keeps decode on for host bridges: on some chipsets turning
        // it off stops RAM decoding, and we run from RAM.
        let host_bridge = class == 0x06 && subclass == 0x00;
        let bars = self.size_bars(addr, bar_count, !host_bridge);
        Some(PciDevice {
            addr,
            vendor_id,
            device_id: (ids >> 16) as u16,
            class,
            subclass,
            prog_if,
            revision,
            header_type,
            multifunction: header & HEADER_MULTIFUNCTION != 0,
            bars,
            irq_line,
        })
    }

    /// Decodes and sizes the first `count` BARs. Decoding is switched off
    /// meanwhile (when `quiesce`), so the all-ones probe value never claims
    /// addresses; BARs and the command register are restored exactly.
    fn size_bars(&mut self, addr: PciAddress, count: usize, quiesce: bool) -> [Option<Bar>; 6] {
        let mut bars = [None; 6];
        if count == 0 {
            return bars;
        }
        let cmd = self.command(addr);
        let decode = COMMAND_IO | COMMAND_MEMORY;
        let toggle = quiesce && cmd & decode != 0;
        if toggle {
            self.set_command(addr, cmd & !decode);
        }
        let mut i = 0;
        while i < count {
            let offset = off::BAR0 + 4 * i as u8;
            let orig = self.read32(addr, offset);
            let probed = self.probe_bar(addr, offset, orig);
            if orig & 1 == 0 && (orig >> 1) & 3 == 2 {
                // 64-bit: the next slot holds the upper half.
                if i + 1 < count {
                    bars[i] = self.size_bar64(addr, offset, orig, probed);
                }
                i += 2;
                continue;
            }
            bars[i] = decode_bar32(orig, probed);
            i += 1;
        }
        if toggle {
            self.set_command(addr, cmd);
        }
        bars
    }

    fn probe_bar(&mut self, addr: PciAddress, offset: u8, orig: u32) -> u32 {
        self.write32(addr, offset, 0xFFFF_FFFF);
        let probed = self.read32(addr, offset);
        self.write32(addr, offset, orig);
        probed
    }

    fn size_bar64(&mut self, addr: PciAddress, offset: u8, orig_lo: u32, probed_lo: u32) -> Option<Bar> {
        let orig_hi = self.read32(addr, offset + 4);
        let probed_hi = self.probe_bar(addr, offset + 4, orig_hi);
        let mask = (probed_hi as u64) << 32 | (probed_lo & !0xF) as u64;
        if mask == 0 {
            return None;
        }
        Some(Bar::Memory {
            base: (orig_hi as u64) << 32 | (orig_lo & !0xF) as u64,
            size: lowest_bit(mask),
            prefetchable: orig_lo & 0x8 != 0,
            is_64: true,
        })
    }
}

/// Decodes a 32-bit memory or I/O BAR from its value and its all-ones probe.
fn decode_bar32(orig: u32, probed: u32) -> Option<Bar> {
    if orig & 1 == 1 {
        // A device decoding only 16 I/O address bits reads the top half as
        // zero; the lowest writable bit gives the size either way.
        let mask = probed & !0x3;
        let port = u16::try_from(orig & !0x3).ok()?; // x86 has 64 KiB of ports
        return (mask != 0).then(|| Bar::Io { port, size: lowest_bit(mask as u64) as u32 });
    }
    let mask = probed & !0xF;
    // Type 3 is reserved; type 1 (below 1 MiB) decodes like 32-bit.
    if mask == 0 || (orig >> 1) & 3 == 3 {
        return None;
    }
    Some(Bar::Memory {
        base: (orig & !0xF) as u64,
        size: lowest_bit(mask as u64),
        prefetchable: orig & 0x8 != 0,
        is_64: false,
    })
}

fn lowest_bit(mask: u64) -> u64 {
    mask & mask.wrapping_neg()
}

/// Every function on every bus: device 0..=31, function 0, and functions
/// 1..=7 when function 0 says it is multifunction.
pub fn enumerate<P: PortIo>(cfg: &mut ConfigSpace<P>) -> Vec<PciDevice> {
    let mut found = Vec::new();
    for bus in 0..=255u8 {
        for device in 0..32u8 {
            let Some(f0) = cfg.probe(PciAddress::new(bus, device, 0)) else {
                continue;
            };
            let functions = if f0.multifunction { 8 } else { 1 };
            found.push(f0);
            for function in 1..functions {
                if let Some(f) = cfg.probe(PciAddress::new(bus, device, function)) {
                    found.push(f);
                }
            }
        }
    }
    found
}

/// A vendor/device pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PciId {
    pub vendor: u16,
    pub device: u16,
}

impl PciId {
    pub const fn new(vendor: u16, device: u16) -> Self {
        Self { vendor, device }
    }
}

impl fmt::Display for PciId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)
    }
}

/// One line of a driver's ID table; `driver` is whatever the caller needs
/// to bring the device up (a constructor, a model enum...).
#[derive(Clone, Copy, Debug)]
pub struct DriverEntry<D> {
    pub id: PciId,
    pub name: &'static str,
    pub driver: D,
}

/// The first table entry matching `dev`'s vendor and device ID.
pub fn find<'a, D>(table: &'a [DriverEntry<D>], dev: &PciDevice) -> Option<&'a DriverEntry<D>> {
    let id = dev.id();
    table.iter().find(|e| e.id == id)
}

/// Devices QEMU commonly exposes, named for the boot status screen.
pub static KNOWN_DEVICES: &[(u16, u16, &str)] = &[
    (0x8086, 0x1237, "Intel 440FX host bridge"),
    (0x8086, 0x7000, "Intel PIIX3 ISA bridge"),
    (0x8086, 0x7010, "Intel PIIX3 IDE"),
    (0x8086, 0x7020, "Intel PIIX3 UHCI"),
    (0x8086, 0x7113, "Intel PIIX4 ACPI"),
    (0x8086, 0x29c0, "Intel Q35 host bridge"),
    (0x8086, 0x2918, "Intel ICH9 LPC"),
    (0x8086, 0x2922, "Intel ICH9 AHCI"),
    (0x8086, 0x2930, "Intel ICH9 SMBus"),
    (0x8086, 0x2934, "Intel ICH9 UHCI #1"),
    (0x8086, 0x2935, "Intel ICH9 UHCI #2"),
    (0x8086, 0x2936, "Intel ICH9 UHCI #3"),
    (0x8086, 0x293a, "Intel ICH9 EHCI #1"),
    (0x1234, 0x1111, "Bochs/QEMU VGA (std or bochs-display)"),
    (0x1b36, 0x0100, "Red Hat QXL"),
    (0x1af4, 0x1050, "virtio-gpu"),
    (0x8086, 0x100e, "Intel 82540EM (e1000)"),
    (0x8086, 0x100c, "Intel 82544GC (e1000)"),
    (0x8086, 0x100f, "Intel 82545EM (e1000)"),
    (0x8086, 0x1026, "Intel 82545GM (e1000)"),
    (0x8086, 0x1010, "Intel 82546EB (e1000)"),
    (0x8086, 0x10d3, "Intel 82574L (e1000e)"),
    // QEMU's virtio-net-pci is transitional (legacy BAR0 plus modern
    // capabilities) unless disable-modern=on or disable-legacy=on.
    (0x1af4, 0x1000, "virtio-net (transitional)"),
    (0x1af4, 0x1041, "virtio-net (modern)"),
    (0x10ec, 0x8139, "Realtek RTL8139"),
    (0x1b36, 0x000d, "QEMU XHCI"),
    (0x1b36, 0x000c, "QEMU PCIe root port"),
    (0x1b36, 0x0001, "QEMU PCI-PCI bridge"),
];

pub fn device_name(vendor: u16, device: u16) -> Option<&'static str> {
    KNOWN_DEVICES.iter().find(|&&(v, d, _)| v == vendor && d == device).map(|&(_, _, name)| name)
}

/// A short name for a class code.
pub fn class_name(class: u8, subclass: u8) -> &'static str {
    match (class, subclass) {
        (0x01, 0x01) => "IDE controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, _) => "Storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, _) => "Network controller",
        (0x03, 0x00) => "VGA controller",
        (0x03, _) => "Display controller",
        (0x04, _) => "Multimedia controller",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "Bridge",
        (0x0C, 0x03) => "USB controller",
        (0x0C, 0x05) => "SMBus controller",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::mock::{Access, RecordingPorts};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    #[derive(Clone, Copy)]
    enum BarKind {
        Mem32 { base: u32, size: u32, pref: bool },
        Mem64 { base: u64, size: u64, pref: bool },
        Io { base: u16, size: u32 },
    }

    /// One function's 256 bytes plus, per BAR dword, the mask of writable
    /// bits and the read-only type bits.
    #[derive(Clone)]
    struct Func {
        cfg: [u8; 256],
        bar_rw: [u32; 6],
        bar_ro: [u32; 6],
    }

    impl Func {
        fn new(vendor: u16, device: u16, class: u8, subclass: u8, header: u8) -> Self {
            let mut f = Func { cfg: [0; 256], bar_rw: [0; 6], bar_ro: [0; 6] };
            f.set32(0x00, (device as u32) << 16 | vendor as u32);
            // Command: I/O + memory decode on. Status: capability list (RO)
            // and detected parity error (RW1C).
            f.set32(0x04, 0x8010_0003);
            f.set32(0x08, (class as u32) << 24 | (subclass as u32) << 16 | 0x01);
            f.cfg[0x0E] = header;
            f.cfg[0x3C] = 11;
            f
        }
        fn bar(mut self, i: usize, kind: BarKind) -> Self {
            match kind {
                BarKind::Mem32 { base, size, pref } => {
                    let ty = if pref { 0x8 } else { 0 };
                    self.bar_rw[i] = !(size - 1);
                    self.bar_ro[i] = ty;
                    self.set32(0x10 + 4 * i, base | ty);
                }
                BarKind::Mem64 { base, size, pref } => {
                    let ty = 0x4 | if pref { 0x8 } else { 0 };
                    let mask = !(size - 1);
                    self.bar_rw[i] = mask as u32 & !0xF;
                    self.bar_ro[i] = ty;
                    self.bar_rw[i + 1] = (mask >> 32) as u32;
                    self.set32(0x10 + 4 * i, base as u32 | ty);
                    self.set32(0x14 + 4 * i, (base >> 32) as u32);
                }
                BarKind::Io { base, size } => {
                    // 16-bit decode: the top half reads as zero.
                    self.bar_rw[i] = !(size - 1) & 0xFFFC;
                    self.bar_ro[i] = 0x1;
                    self.set32(0x10 + 4 * i, base as u32 | 1);
                }
            }
            self
        }
        fn get32(&self, off: usize) -> u32 {
            u32::from_le_bytes(self.cfg[off..off + 4].try_into().unwrap())
        }
        fn set32(&mut self, off: usize, v: u32) {
            self.cfg[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        fn write(&mut self, off: usize, v: u32) -> Result<(), String> {
            match off {
                0x04 => {
                    let status = (self.get32(4) >> 16) & !(v >> 16);
                    self.set32(4, status << 16 | (v & 0xFFFF));
                }
                0x10..=0x24 => {
                    let i = (off - 0x10) / 4;
                    let host_bridge = self.cfg[0x0B] == 0x06 && self.cfg[0x0A] == 0x00;
                    if v == 0xFFFF_FFFF && self.get32(4) & 0x3 != 0 && !host_bridge {
                        return Err(format!("BAR{i} probed with decode enabled"));
                    }
                    self.set32(off, (v & self.bar_rw[i]) | self.bar_ro[i]);
                }
                _ => self.set32(off, v),
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Model {
        funcs: HashMap<(u8, u8, u8), Func>,
        latch: u32,
        errors: Vec<String>,
    }

    fn model_ports(model: &Rc<RefCell<Model>>) -> RecordingPorts {
        let m = model.clone();
        RecordingPorts::with_responder(move |port, width, value| {
            let mut m = m.borrow_mut();
            assert_eq!(width, 4, "config mechanism #1 is used with 32-bit accesses");
            if port == CONFIG_ADDRESS {
                match value {
                    Some(v) => m.latch = v,
                    None => return m.latch,
                }
                return 0;
            }
            assert_eq!(port, CONFIG_DATA);
            let a = m.latch;
            assert!(a & 0x8000_0000 != 0, "config access without the enable bit");
            let key = ((a >> 16) as u8, ((a >> 11) & 0x1F) as u8, ((a >> 8) & 7) as u8);
            let off = (a & 0xFC) as usize;
            let Model { funcs, errors, .. } = &mut *m;
            match (funcs.get_mut(&key), value) {
                (Some(f), None) => f.get32(off),
                (Some(f), Some(v)) => {
                    if let Err(e) = f.write(off, v) {
                        errors.push(e);
                    }
                    0
                }
                (None, None) => 0xFFFF_FFFF,
                (None, Some(_)) => 0,
            }
        })
    }

    /// A QEMU-like machine: a host bridge, a multifunction PIIX3, a VGA, an
    /// e1000, virtio-net with a 64-bit BAR, a bridge and a NIC behind it.
    fn machine() -> Rc<RefCell<Model>> {
        let mut funcs = HashMap::new();
        funcs.insert((0, 0, 0), Func::new(0x8086, 0x1237, 0x06, 0x00, 0x00));
        funcs.insert((0, 1, 0), Func::new(0x8086, 0x7000, 0x06, 0x01, 0x80));
        funcs.insert(
            (0, 1, 1),
            Func::new(0x8086, 0x7010, 0x01, 0x01, 0x00).bar(4, BarKind::Io { base: 0xc0a0, size: 16 }),
        );
        funcs.insert((0, 1, 3), Func::new(0x8086, 0x7113, 0x06, 0x80, 0x00));
        funcs.insert(
            (0, 2, 0),
            Func::new(0x1234, 0x1111, 0x03, 0x00, 0x00)
                .bar(0, BarKind::Mem32 { base: 0xfd00_0000, size: 16 << 20, pref: true })
                .bar(2, BarKind::Mem32 { base: 0xfebd_0000, size: 0x1000, pref: false }),
        );
        funcs.insert(
            (0, 3, 0),
            Func::new(0x8086, 0x100e, 0x02, 0x00, 0x00)
                .bar(0, BarKind::Mem32 { base: 0xfebc_0000, size: 0x2_0000, pref: false })
                .bar(1, BarKind::Io { base: 0xc000, size: 0x40 }),
        );
        funcs.insert(
            (0, 4, 0),
            Func::new(0x1af4, 0x1041, 0x02, 0x00, 0x00)
                .bar(1, BarKind::Mem32 { base: 0xfebd_1000, size: 0x1000, pref: false })
                .bar(4, BarKind::Mem64 { base: 0x80_0000_0000, size: 0x4000, pref: true }),
        );
        // Single-function device: its function 1 must not be reported.
        funcs.insert((0, 5, 0), Func::new(0x10ec, 0x8139, 0x02, 0x00, 0x00));
        funcs.insert((0, 5, 1), Func::new(0x10ec, 0x8139, 0x02, 0x00, 0x00));
        funcs.insert(
            (0, 6, 0),
            Func::new(0x1b36, 0x0001, 0x06, 0x04, 0x01)
                .bar(0, BarKind::Mem64 { base: 0xfe00_0000, size: 0x100, pref: false }),
        );
        funcs.insert(
            (1, 0, 0),
            Func::new(0x10ec, 0x8139, 0x02, 0x00, 0x00)
                .bar(0, BarKind::Io { base: 0xd000, size: 0x100 })
                .bar(1, BarKind::Mem32 { base: 0xfe20_0000, size: 0x100, pref: false }),
        );
        Rc::new(RefCell::new(Model { funcs, ..Default::default() }))
    }

    fn scan(model: &Rc<RefCell<Model>>) -> (Vec<PciDevice>, RecordingPorts) {
        let mut cfg = ConfigSpace::new(model_ports(model));
        let devs = enumerate(&mut cfg);
        (devs, cfg.into_inner())
    }

    /// Config-space writes as (0xCF8 address, value), in order.
    fn data_writes(ports: &RecordingPorts) -> Vec<(u32, u32)> {
        let mut latch = 0;
        let mut out = Vec::new();
        for a in &ports.log {
            match *a {
                Access::Write32(CONFIG_ADDRESS, v) => latch = v,
                Access::Write32(CONFIG_DATA, v) => out.push((latch, v)),
                _ => {}
            }
        }
        out
    }

    fn find_dev(devs: &[PciDevice], bus: u8, dev: u8, func: u8) -> &PciDevice {
        devs.iter().find(|d| d.addr == PciAddress::new(bus, dev, func)).unwrap()
    }

    #[test]
    fn address_encoding_is_exact() {
        assert_eq!(config_address(PciAddress::new(0x12, 0x1F, 7), 0x3E), 0x8012_FF3C);
        assert_eq!(config_address(PciAddress::new(0, 3, 0), 0x10), 0x8000_1810);
        assert_eq!(config_address(PciAddress::new(0xFF, 0, 1), 0x0E), 0x80FF_010C);

        let mut p = RecordingPorts::new();
        p.script(CONFIG_DATA, &[0xAABB_CCDD, 0xAABB_CCDD, 0xAABB_CCDD]);
        let mut cfg = ConfigSpace::new(p);
        let a = PciAddress::new(0x12, 0x1F, 7);
        assert_eq!(cfg.read16(a, 0x3E), 0xAABB);
        assert_eq!(cfg.read8(a, 0x3D), 0xCC);
        assert_eq!(cfg.read32(a, 0x3C), 0xAABB_CCDD);
        cfg.write32(a, 0x40, 0x1234_5678);
        assert_eq!(
            cfg.ports().log[..4],
            [
                Access::Write32(0xCF8, 0x8012_FF3C),
                Access::Read32(0xCFC, 0xAABB_CCDD),
                Access::Write32(0xCF8, 0x8012_FF3C),
                Access::Read32(0xCFC, 0xAABB_CCDD),
            ]
        );
        assert_eq!(cfg.ports().writes()[3..], [(0xCF8, 0x8012_FF40), (0xCFC, 0x1234_5678)]);
    }

    #[test]
    fn enumerates_single_and_multifunction_devices() {
        let model = machine();
        let (devs, _) = scan(&model);
        let addrs: Vec<String> = devs.iter().map(|d| d.addr.to_string()).collect();
        assert_eq!(
            addrs,
            [
                "00:00.0", "00:01.0", "00:01.1", "00:01.3", "00:02.0", "00:03.0", "00:04.0", "00:05.0", "00:06.0",
                "01:00.0"
            ]
        );
        let ide = find_dev(&devs, 0, 1, 1);
        assert_eq!((ide.vendor_id, ide.device_id, ide.class, ide.subclass), (0x8086, 0x7010, 0x01, 0x01));
        assert_eq!((ide.revision, ide.prog_if, ide.irq_line), (0x01, 0x00, 11));
        assert!(find_dev(&devs, 0, 1, 0).multifunction);
        assert_eq!(
            find_dev(&devs, 0, 3, 0).to_string(),
            "00:03.0 8086:100e Ethernet controller: Intel 82540EM (e1000)"
        );
        assert!(model.borrow().errors.is_empty(), "{:?}", model.borrow().errors);
    }

    #[test]
    fn bars_are_decoded_and_sized() {
        let model = machine();
        let (devs, _) = scan(&model);
        let e1000 = find_dev(&devs, 0, 3, 0);
        assert_eq!(
            e1000.bars,
            [
                Some(Bar::Memory { base: 0xfebc_0000, size: 0x2_0000, prefetchable: false, is_64: false }),
                Some(Bar::Io { port: 0xc000, size: 0x40 }),
                None,
                None,
                None,
                None,
            ]
        );
        let virtio = find_dev(&devs, 0, 4, 0);
        assert_eq!(
            virtio.bars[4],
            Some(Bar::Memory { base: 0x80_0000_0000, size: 0x4000, prefetchable: true, is_64: true })
        );
        assert_eq!(virtio.bars[5], None, "upper half of a 64-bit BAR is not a BAR");
        assert_eq!(virtio.bars[1].unwrap().to_string(), "mem32 0xfebd1000+0x1000");
        assert_eq!(virtio.bars[4].unwrap().to_string(), "mem64 pref 0x8000000000+0x4000");
        assert_eq!(find_dev(&devs, 0, 2, 0).bars[0].unwrap().to_string(), "mem32 pref 0xfd000000+0x1000000");
        assert_eq!(find_dev(&devs, 0, 1, 1).bars[4].unwrap().to_string(), "io 0xc0a0+0x10");
        // Bridge: two BAR slots, here one 64-bit BAR.
        let bridge = find_dev(&devs, 0, 6, 0);
        assert_eq!(bridge.header_type, 1);
        assert_eq!(
            bridge.bars[0],
            Some(Bar::Memory { base: 0xfe00_0000, size: 0x100, prefetchable: false, is_64: true })
        );
        assert!(bridge.bars[1..].iter().all(Option::is_none));
        let rtl = find_dev(&devs, 1, 0, 0);
        assert_eq!(rtl.bars[0].and_then(|b| b.io_port()), Some(0xd000));
        assert_eq!(rtl.bars[1].map(|b| b.size()), Some(0x100));
        // Unimplemented BARs read back zero.
        assert!(find_dev(&devs, 0, 5, 0).bars.iter().all(Option::is_none));
    }

    #[test]
    fn sizing_restores_bars_and_command_exactly() {
        let model = machine();
        let before: HashMap<_, _> = model.borrow().funcs.iter().map(|(k, f)| (*k, f.cfg)).collect();
        let (_, ports) = scan(&model);
        let m = model.borrow();
        assert!(m.errors.is_empty(), "{:?}", m.errors);
        for (k, f) in &m.funcs {
            assert_eq!(f.cfg, before[k], "config space of {k:?} changed");
        }
        // The e1000's sizing: decode off, probe each BAR, decode back on.
        let dev3 = config_address(PciAddress::new(0, 3, 0), 0);
        let w: Vec<(u32, u32)> =
            data_writes(&ports).into_iter().filter(|(a, _)| a & !0xFF == dev3).map(|(a, v)| (a & 0xFF, v)).collect();
        let mut expect = vec![(0x04, 0x0000_0000)];
        expect.extend([(0x10, 0xFFFF_FFFF), (0x10, 0xfebc_0000)]);
        expect.extend([(0x14, 0xFFFF_FFFF), (0x14, 0xc001)]);
        for off in (0x18..=0x24).step_by(4) {
            expect.extend([(off, 0xFFFF_FFFF), (off, 0)]);
        }
        expect.push((0x04, 0x0000_0003));
        assert_eq!(w, expect);
    }

    #[test]
    fn host_bridge_decode_is_left_alone() {
        let model = machine();
        let (_, ports) = scan(&model);
        let cmd = config_address(PciAddress::new(0, 0, 0), 0x04);
        let host_writes: Vec<u32> =
            data_writes(&ports).iter().filter(|w| w.0 & !0xFF == cmd & !0xFF).map(|w| w.0 & 0xFF).collect();
        // Only BAR probes and restores; the command register is never written.
        assert_eq!(host_writes.len(), 12);
        assert!(!host_writes.contains(&0x04));
        assert!(model.borrow().errors.is_empty());
    }

    #[test]
    fn absent_devices_are_skipped_with_one_read() {
        let model = Rc::new(RefCell::new(Model::default()));
        let (devs, ports) = scan(&model);
        assert!(devs.is_empty());
        // One vendor read per bus/device, nothing more.
        assert_eq!(ports.log.len(), 256 * 32 * 2);
    }

    #[test]
    fn bus_master_enable_keeps_other_bits_and_status() {
        let model = machine();
        let a = PciAddress::new(0, 3, 0);
        model.borrow_mut().funcs.get_mut(&(0, 3, 0)).unwrap().set32(0x04, 0x8010_0400);
        let mut cfg = ConfigSpace::new(model_ports(&model));
        cfg.enable_bus_master(a);
        assert_eq!(cfg.ports().writes().last(), Some(&(0xCFC, 0x0000_0407)));
        assert_eq!(model.borrow().funcs[&(0, 3, 0)].get32(0x04), 0x8010_0407);
    }

    #[test]
    fn bar_decoding_edge_cases() {
        // 64-bit BAR in the last slot has no upper half: not usable.
        let model = machine();
        model.borrow_mut().funcs.insert(
            (0, 7, 0),
            Func::new(0x1234, 0x5678, 0xFF, 0, 0)
                .bar(4, BarKind::Mem32 { base: 0xe000_0000, size: 0x1000, pref: false }),
        );
        {
            let mut m = model.borrow_mut();
            let f = m.funcs.get_mut(&(0, 7, 0)).unwrap();
            f.set32(0x24, 0xe010_0004);
            f.bar_rw[5] = 0xFFFF_F000;
            f.bar_ro[5] = 0x4;
        }
        let (devs, _) = scan(&model);
        let d = find_dev(&devs, 0, 7, 0);
        assert!(d.bars[4].is_some());
        assert_eq!(d.bars[5], None);
        assert!(model.borrow().errors.is_empty());
        // An I/O BAR above 64 KiB cannot be reached on x86.
        assert_eq!(decode_bar32(0x0001_0001, 0xFFFF_FF01), None);
        // Reserved memory type.
        assert_eq!(decode_bar32(0xe000_0006, 0xFFFF_F006), None);
        // Below-1MiB type decodes as 32-bit.
        assert_eq!(
            decode_bar32(0x000d_0002, 0xFFFF_F002),
            Some(Bar::Memory { base: 0xd_0000, size: 0x1000, prefetchable: false, is_64: false })
        );
    }

    #[test]
    fn driver_binding_and_names() {
        #[derive(Debug, PartialEq)]
        enum Nic {
            E1000,
            Rtl8139,
        }
        let table = [
            DriverEntry { id: PciId::new(0x8086, 0x100e), name: "e1000", driver: Nic::E1000 },
            DriverEntry { id: PciId::new(0x10ec, 0x8139), name: "rtl8139", driver: Nic::Rtl8139 },
        ];
        let model = machine();
        let (devs, _) = scan(&model);
        let bound: Vec<(String, &Nic)> =
            devs.iter().filter_map(|d| find(&table, d).map(|e| (d.addr.to_string(), &e.driver))).collect();
        assert_eq!(
            bound,
            [
                ("00:03.0".to_string(), &Nic::E1000),
                ("00:05.0".to_string(), &Nic::Rtl8139),
                ("01:00.0".to_string(), &Nic::Rtl8139)
            ]
        );
        assert_eq!(find(&table, find_dev(&devs, 0, 4, 0)).map(|e| e.name), None);

        assert_eq!(device_name(0x1b36, 0x0100), Some("Red Hat QXL"));
        assert_eq!(device_name(0x8086, 0x100f), Some("Intel 82545EM (e1000)"));
        assert_eq!(device_name(0x1af4, 0x1000), Some("virtio-net (transitional)"));
        assert_eq!(device_name(0xdead, 0xbeef), None);
        assert_eq!(class_name(0x01, 0x06), "SATA controller");
        assert_eq!(class_name(0x03, 0x80), "Display controller");
        assert_eq!(class_name(0x0C, 0x03), "USB controller");
        assert_eq!(class_name(0x06, 0x80), "Bridge");
        assert_eq!(class_name(0xFF, 0x00), "Other");
        assert_eq!(PciAddress::new(0, 3, 0).to_string(), "00:03.0");
        assert_eq!(PciAddress::new(0xab, 0x1f, 7).to_string(), "ab:1f.7");
        assert_eq!(PciId::new(0x1af4, 0x1041).to_string(), "1af4:1041");
        // No duplicate IDs in the name table.
        let mut ids: Vec<_> = KNOWN_DEVICES.iter().map(|&(v, d, _)| (v, d)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), KNOWN_DEVICES.len());
    }
}
