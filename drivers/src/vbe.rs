//! Bochs VBE ("DISPI") mode setting, as QEMU implements it for `-vga std`,
//! `-device bochs-display` and QXL in VGA mode.
//!
//! The registers are reached either through I/O ports 0x1CE/0x1CF or at
//! offset 0x500 of the device's MMIO BAR2; [`DispiRegs`] hides which.

use crate::mmio::Mmio;
use crate::port::PortIo;
use core::fmt;

/// DISPI register indices.
pub mod index {
    pub const ID: u16 = 0x0;
    pub const XRES: u16 = 0x1;
    pub const YRES: u16 = 0x2;
    pub const BPP: u16 = 0x3;
    pub const ENABLE: u16 = 0x4;
    pub const BANK: u16 = 0x5;
    pub const VIRT_WIDTH: u16 = 0x6;
    pub const VIRT_HEIGHT: u16 = 0x7;
    pub const X_OFFSET: u16 = 0x8;
    pub const Y_OFFSET: u16 = 0x9;
    pub const VIDEO_MEMORY_64K: u16 = 0xA;
}

/// ENABLE register bits.
pub const ENABLED: u16 = 0x01;
pub const GETCAPS: u16 = 0x02;
pub const LFB_ENABLED: u16 = 0x40;
pub const NOCLEARMEM: u16 = 0x80;

/// Interface IDs are 0xB0C0 + version; 32 bpp and the LFB need version 2.
const ID_BASE: u16 = 0xB0C0;
const ID_MIN_LFB: u16 = 0xB0C2;

pub const DISPI_INDEX_PORT: u16 = 0x1CE;
pub const DISPI_DATA_PORT: u16 = 0x1CF;
/// Byte offset of register 0 in BAR2; register `i` is at `+ 2 * i`.
pub const DISPI_MMIO_OFFSET: usize = 0x500;
/// Std VGA's BAR2 maps VGA ports 0x3C0..=0x3DF here.
const VGA_MMIO_OFFSET: usize = 0x400;

const VGA_ATTR: u16 = 0x3C0;
const VGA_MISC_READ: u16 = 0x3CC;
const VGA_STATUS1_COLOR: u16 = 0x3DA;
const VGA_STATUS1_MONO: u16 = 0x3BA;
/// Attribute index bit "palette address source": clear, QEMU's VGA shows
/// a blank screen whatever the mode.
const ATTR_PAS: u8 = 0x20;

/// Access to the DISPI registers.
pub trait DispiRegs {
    fn read(&mut self, index: u16) -> u16;
    fn write(&mut self, index: u16, value: u16);
    /// Sets the VGA attribute controller's palette-address-source bit, as
    /// coreboot and Linux do after a mode set. Transports without VGA
    /// registers have nothing to do.
    fn unblank_vga(&mut self) {}
}

/// A borrowed transport is a transport, so a caller can keep its registers
/// and set modes again later.
impl<R: DispiRegs + ?Sized> DispiRegs for &mut R {
    fn read(&mut self, index: u16) -> u16 {
        (**self).read(index)
    }
    fn write(&mut self, index: u16, value: u16) {
        (**self).write(index, value)
    }
    fn unblank_vga(&mut self) {
        (**self).unblank_vga()
    }
}

/// DISPI through ports 0x1CE/0x1CF (std VGA, QXL in VGA mode).
pub struct DispiPorts<P: PortIo> {
    ports: P,
}

impl<P: PortIo> DispiPorts<P> {
    pub fn new(ports: P) -> Self {
        Self { ports }
    }
    pub fn ports(&self) -> &P {
        &self.ports
    }
    pub fn into_inner(self) -> P {
        self.ports
    }
}

impl<P: PortIo> DispiRegs for DispiPorts<P> {
    fn read(&mut self, index: u16) -> u16 {
        self.ports.write16(DISPI_INDEX_PORT, index);
        self.ports.read16(DISPI_DATA_PORT)
    }
    fn write(&mut self, index: u16, value: u16) {
        self.ports.write16(DISPI_INDEX_PORT, index);
        self.ports.write16(DISPI_DATA_PORT, value);
    }
    fn unblank_vga(&mut self) {
        // Reading input status 1 puts port 0x3C0 back to "index" state; it
        // sits at 0x3DA or 0x3BA depending on colour/mono in MISC bit 0.
        let status1 = if self.ports.read8(VGA_MISC_READ) & 1 != 0 { VGA_STATUS1_COLOR } else { VGA_STATUS1_MONO };
        self.ports.read8(status1);
        self.ports.write8(VGA_ATTR, ATTR_PAS);
    }
}

/// DISPI in an MMIO BAR2 window (bochs-display has only this; std VGA has
/// it too).
pub struct DispiMmio<M: Mmio> {
    mmio: M,
    vga: bool,
}

impl<M: Mmio> DispiMmio<M> {
    /// A window without VGA registers (bochs-display).
    pub fn new(mmio: M) -> Self {
        Self { mmio, vga: false }
    }
    /// A window that also maps the VGA ports at 0x400 (std VGA's BAR2).
    pub fn with_vga(mmio: M) -> Self {
        Self { mmio, vga: true }
    }
    pub fn mmio(&self) -> &M {
        &self.mmio
    }
    pub fn into_inner(self) -> M {
        self.mmio
    }
}

impl<M: Mmio> DispiRegs for DispiMmio<M> {
    fn read(&mut self, index: u16) -> u16 {
        self.mmio.read16(DISPI_MMIO_OFFSET + 2 * index as usize)
    }
    fn write(&mut self, index: u16, value: u16) {
        self.mmio.write16(DISPI_MMIO_OFFSET + 2 * index as usize, value)
    }
    fn unblank_vga(&mut self) {
        if !self.vga {
            return;
        }
        let vga = |port: u16| VGA_MMIO_OFFSET + (port - VGA_ATTR) as usize;
        // Only the colour status register is inside the window.
        if self.mmio.read8(vga(VGA_MISC_READ)) & 1 != 0 {
            self.mmio.read8(vga(VGA_STATUS1_COLOR));
        }
        self.mmio.write8(vga(VGA_ATTR), ATTR_PAS);
    }
}

/// The limits GETCAPS reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub max_width: u16,
    pub max_height: u16,
    pub max_bpp: u16,
}

/// A mode the device has taken; the framebuffer is at the start of BAR0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    pub width: u32,
    pub height: u32,
    pub bpp: u32,
    /// Bytes per scanline.
    pub pitch: u32,
}

impl Mode {
    /// Bytes of framebuffer the mode uses.
    pub fn bytes(&self) -> u64 {
        self.pitch as u64 * self.height as u64
    }
}

/// Why a Bochs VBE operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VbeError {
    /// The ID register does not hold a DISPI interface ID.
    NotBochs { id: u16 },
    /// DISPI is there but older than 0xB0C2 (no 32 bpp or LFB).
    TooOld { id: u16 },
    /// Only 32 bpp is supported.
    UnsupportedBpp { bpp: u32 },
    /// A side is zero or does not fit the 16-bit registers.
    InvalidSize { width: u32, height: u32 },
    /// The request is beyond what GETCAPS reported.
    ExceedsCaps { width: u32, height: u32, bpp: u32, caps: Caps },
    /// The mode needs more video memory than the device has.
    ExceedsVram { needed: u64, vram: u64 },
    /// After enabling, the device reports another mode than the one set.
    ModeNotTaken { want: (u32, u32, u32), got: (u32, u32, u32) },
}

impl fmt::Display for VbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VbeError::NotBochs { id } => write!(f, "Bochs VBE: ID register reads {id:#06x}, no DISPI interface"),
            VbeError::TooOld { id } => {
                write!(f, "Bochs VBE: interface {id:#06x} is too old for a 32 bpp linear framebuffer")
            }
            VbeError::UnsupportedBpp { bpp } => {
                write!(f, "Bochs VBE: {bpp} bpp requested, only 32 is supported")
            }
            VbeError::InvalidSize { width, height } => {
                write!(f, "Bochs VBE: mode {width}x{height} is not a valid size (1..=65535 per side)")
            }
            VbeError::ExceedsCaps { width, height, bpp, caps } => write!(
                f,
                "Bochs VBE: mode {width}x{height}x{bpp} exceeds device maximum {}x{}x{}",
                caps.max_width, caps.max_height, caps.max_bpp
            ),
            VbeError::ExceedsVram { needed, vram } => {
                write!(f, "Bochs VBE: mode needs {needed} bytes of video memory, device has {vram}")
            }
            VbeError::ModeNotTaken { want: (w, h, b), got: (gw, gh, gb) } => {
                write!(f, "Bochs VBE: set {w}x{h}x{b} but device reports {gw}x{gh}x{gb}")
            }
        }
    }
}

/// A Bochs VBE adapter behind some register transport.
pub struct BochsVbe<R: DispiRegs> {
    regs: R,
}

impl<R: DispiRegs> BochsVbe<R> {
    pub fn new(regs: R) -> Self {
        Self { regs }
    }

    pub fn regs(&self) -> &R {
        &self.regs
    }

    pub fn into_inner(self) -> R {
        self.regs
    }

    /// The interface ID, if it is one that supports 32 bpp and the LFB.
    pub fn probe(&mut self) -> Result<u16, VbeError> {
        let id = self.regs.read(index::ID);
        // Match the family like Linux and coreboot do, so later versions pass.
        if id & 0xFFF0 != ID_BASE {
            return Err(VbeError::NotBochs { id });
        }
        if id < ID_MIN_LFB {
            return Err(VbeError::TooOld { id });
        }
        Ok(id)
    }

    /// The maximum mode, through GETCAPS; ENABLE is restored afterwards.
    ///
    /// `None` when the device ignores GETCAPS (bochs-display does), which
    /// shows as the same values with and without it.
    pub fn max_resolution(&mut self) -> Option<Caps> {
        let enable = self.regs.read(index::ENABLE);
        let current = self.read_mode();
        self.regs.write(index::ENABLE, enable | GETCAPS);
        let caps = self.read_mode();
        self.regs.write(index::ENABLE, enable);
        if caps == current || caps.0 == 0 || caps.1 == 0 {
            return None;
        }
        Some(Caps { max_width: caps.0, max_height: caps.1, max_bpp: caps.2 })
    }

    /// Video memory in bytes, when the device reports it.
    pub fn video_memory(&mut self) -> Option<u64> {
        match self.regs.read(index::VIDEO_MEMORY_64K) {
            0 => None,
            n => Some(n as u64 * 64 * 1024),
        }
    }

    /// Sets a linear-framebuffer mode and checks the device took it. Only
    /// `bpp == 32` is supported.
    pub fn set_mode(&mut self, width: u32, height: u32, bpp: u32) -> Result<Mode, VbeError> {
        self.probe()?;
        if bpp != 32 {
            return Err(VbeError::UnsupportedBpp { bpp });
        }
        let (Ok(w @ 1..), Ok(h @ 1..)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(VbeError::InvalidSize { width, height });
        };
        if let Some(caps) = self.max_resolution() {
            if w > caps.max_width || h > caps.max_height || bpp > caps.max_bpp as u32 {
                return Err(VbeError::ExceedsCaps { width, height, bpp, caps });
            }
        }
        let mode = Mode { width, height, bpp, pitch: width * 4 };
        if let Some(vram) = self.video_memory() {
            if mode.bytes() > vram {
                return Err(VbeError::ExceedsVram { needed: mode.bytes(), vram });
            }
        }

        self.regs.write(index::ENABLE, 0);
        self.regs.write(index::XRES, w);
        self.regs.write(index::YRES, h);
        self.regs.write(index::BPP, bpp as u16);
        self.regs.write(index::VIRT_WIDTH, w);
        self.regs.write(index::X_OFFSET, 0);
        self.regs.write(index::Y_OFFSET, 0);
        self.regs.write(index::ENABLE, ENABLED | LFB_ENABLED);
        self.regs.unblank_vga();

        // QEMU clamps rather than failing (width to a multiple of 8, height
        // to video memory), so read back what it actually did.
        let (gw, gh, gb) = self.read_mode();
        let got = (gw as u32, gh as u32, gb as u32);
        if got != (width, height, bpp) {
            return Err(VbeError::ModeNotTaken { want: (width, height, bpp), got });
        }
        Ok(mode)
    }

    fn read_mode(&mut self) -> (u16, u16, u16) {
        (self.regs.read(index::XRES), self.regs.read(index::YRES), self.regs.read(index::BPP))
    }
}

/// A PCI display function that speaks Bochs DISPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BochsKind {
    /// 1234:1111 class 03.00 (`-vga std`): framebuffer BAR0, registers via
    /// ports or BAR2 + 0x500.
    StdVga,
    /// 1234:1111 class 03.80 (`-device bochs-display`): framebuffer BAR0,
    /// registers only at BAR2 + 0x500, no VGA.
    BochsDisplay,
    /// 1b36:0100 class 03.00 (`-vga qxl`): framebuffer BAR0, registers via
    /// ports. A secondary QXL (class 03.80) has no VGA and is not listed.
    QxlVga,
}

/// Where to reach the DISPI registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispiTransport {
    /// [`DispiPorts`].
    Ports,
    /// [`DispiMmio`] over the whole of BAR `bar`.
    Mmio { bar: usize },
}

impl BochsKind {
    /// The BAR holding the linear framebuffer.
    pub fn framebuffer_bar(self) -> usize {
        0
    }

    /// The preferred transport: ports where there are VGA ports (no BAR to
    /// map), BAR2 MMIO where there are not.
    pub fn transport(self) -> DispiTransport {
        match self {
            BochsKind::StdVga | BochsKind::QxlVga => DispiTransport::Ports,
            BochsKind::BochsDisplay => DispiTransport::Mmio { bar: 2 },
        }
    }
}

/// Which Bochs-compatible display, if any, a PCI function is.
pub fn bochs_kind(vendor: u16, device: u16, class: u8, subclass: u8) -> Option<BochsKind> {
    match (vendor, device, class, subclass) {
        (0x1234, 0x1111, 0x03, 0x00) => Some(BochsKind::StdVga),
        (0x1234, 0x1111, 0x03, 0x80) => Some(BochsKind::BochsDisplay),
        (0x1b36, 0x0100, 0x03, 0x00) => Some(BochsKind::QxlVga),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmio::mock::{Access as MmioAccess, RecordingMmio};
    use crate::port::mock::{Access, RecordingPorts};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// QEMU's std VGA as far as mode setting sees it.
    struct Dispi {
        index: u16,
        regs: [u16; 16],
        id: u16,
        caps: (u16, u16, u16),
        vram_64k: u16,
        misc: u8,
        attr_flip: bool,
        attr_index: u8,
    }

    impl Dispi {
        fn qemu() -> Self {
            let mut regs = [0; 16];
            (regs[1], regs[2], regs[3]) = (640, 480, 8);
            Dispi {
                index: 0,
                regs,
                id: 0xB0C5,
                caps: (16000, 12000, 32),
                vram_64k: 256,
                misc: 0x67,
                attr_flip: true, // left mid-write: unblank must reset it
                attr_index: 0,
            }
        }
    }

    fn ports_for(model: &Rc<RefCell<Dispi>>) -> RecordingPorts {
        let m = model.clone();
        RecordingPorts::with_responder(move |port, width, value| {
            let mut s = m.borrow_mut();
            match (port, width, value) {
                (0x1CE, 2, Some(v)) => s.index = v as u16,
                (0x1CF, 2, None) => {
                    let i = s.index as usize;
                    let getcaps = s.regs[4] & GETCAPS != 0;
                    return match i {
                        0 => s.id,
                        0xA => s.vram_64k,
                        1 if getcaps => s.caps.0,
                        2 if getcaps => s.caps.1,
                        3 if getcaps => s.caps.2,
                        _ => s.regs[i],
                    } as u32;
                }
                (0x1CF, 2, Some(v)) => {
                    let i = s.index as usize;
                    // QEMU rounds the width down to a multiple of 8.
                    s.regs[i] = if i == 1 { v as u16 & !7 } else { v as u16 };
                }
                (0x3CC, 1, None) => return s.misc as u32,
                (0x3DA, 1, None) => s.attr_flip = false,
                (0x3C0, 1, Some(v)) => {
                    if !s.attr_flip {
                        s.attr_index = v as u8 & 0x3F;
                    }
                    s.attr_flip = !s.attr_flip;
                }
                other => panic!("unexpected access {other:?}"),
            }
            0
        })
    }

    fn vbe(model: &Rc<RefCell<Dispi>>) -> BochsVbe<DispiPorts<RecordingPorts>> {
        BochsVbe::new(DispiPorts::new(ports_for(model)))
    }

    fn rd(i: u16, v: u16) -> [Access; 2] {
        [Access::Write16(0x1CE, i), Access::Read16(0x1CF, v)]
    }
    fn wr(i: u16, v: u16) -> [Access; 2] {
        [Access::Write16(0x1CE, i), Access::Write16(0x1CF, v)]
    }

    #[test]
    fn set_mode_over_ports_is_exact() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        let mut v = vbe(&model);
        let mode = v.set_mode(1024, 768, 32).unwrap();
        assert_eq!(mode, Mode { width: 1024, height: 768, bpp: 32, pitch: 4096 });
        assert_eq!(mode.bytes(), 3 * 1024 * 1024);

        let mut want = Vec::new();
        want.extend(rd(0, 0xB0C5));
        // GETCAPS, compared with the current mode, then ENABLE restored.
        want.extend(rd(4, 0));
        want.extend([rd(1, 640), rd(2, 480), rd(3, 8)].concat());
        want.extend(wr(4, 0x02));
        want.extend([rd(1, 16000), rd(2, 12000), rd(3, 32)].concat());
        want.extend(wr(4, 0));
        want.extend(rd(0xA, 256));
        for (i, val) in [(4, 0), (1, 1024), (2, 768), (3, 32), (6, 1024), (8, 0), (9, 0), (4, 0x41)] {
            want.extend(wr(i, val));
        }
        want.extend([Access::Read8(0x3CC, 0x67), Access::Read8(0x3DA, 0), Access::Write8(0x3C0, 0x20)]);
        want.extend([rd(1, 1024), rd(2, 768), rd(3, 32)].concat());
        assert_eq!(v.regs().ports().log, want);

        let m = model.borrow();
        assert_eq!(m.regs[4], ENABLED | LFB_ENABLED);
        assert_eq!(m.attr_index, 0x20, "screen left blanked");
    }

    #[test]
    fn set_mode_over_mmio_like_bochs_display() {
        // Plain registers, as bochs-display has: GETCAPS is ignored.
        let mut mmio = RecordingMmio::new(0x1000);
        mmio.mem[0x500..0x502].copy_from_slice(&0xB0C5u16.to_le_bytes());
        mmio.mem[0x514..0x516].copy_from_slice(&256u16.to_le_bytes());
        let mut v = BochsVbe::new(DispiMmio::new(mmio));
        assert_eq!(v.max_resolution(), None);
        let mode = v.set_mode(1280, 800, 32).unwrap();
        assert_eq!(mode.pitch, 5120);
        let writes = v.regs().mmio().writes();
        assert_eq!(
            writes,
            [
                (0x508, 0x02), // max_resolution() above
                (0x508, 0x00),
                (0x508, 0x02), // set_mode's own caps query
                (0x508, 0x00),
                (0x508, 0),
                (0x502, 1280),
                (0x504, 800),
                (0x506, 32),
                (0x50C, 1280),
                (0x510, 0),
                (0x512, 0),
                (0x508, 0x41),
            ]
        );
    }

    #[test]
    fn mmio_with_vga_window_unblanks() {
        let mut mmio = RecordingMmio::new(0x1000);
        mmio.mem[0x500..0x502].copy_from_slice(&0xB0C5u16.to_le_bytes());
        mmio.mem[0x40C] = 0x67;
        let mut v = BochsVbe::new(DispiMmio::with_vga(mmio));
        v.set_mode(800, 600, 32).unwrap();
        let regs = v.into_inner();
        let vga: Vec<MmioAccess> = regs
            .mmio()
            .log
            .borrow()
            .iter()
            .copied()
            .filter(|a| match *a {
                MmioAccess::Read(o, _, _) | MmioAccess::Write(o, _, _) => o < DISPI_MMIO_OFFSET,
            })
            .collect();
        assert_eq!(
            vga,
            [MmioAccess::Read(0x40C, 1, 0x67), MmioAccess::Read(0x41A, 1, 0), MmioAccess::Write(0x400, 1, 0x20)]
        );
    }

    #[test]
    fn too_large_for_caps_is_rejected_before_any_mode_write() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        model.borrow_mut().caps = (2560, 1600, 32);
        let mut v = vbe(&model);
        let err = v.set_mode(4096, 2160, 32).unwrap_err();
        let caps = Caps { max_width: 2560, max_height: 1600, max_bpp: 32 };
        assert_eq!(err, VbeError::ExceedsCaps { width: 4096, height: 2160, bpp: 32, caps });
        assert_eq!(err.to_string(), "Bochs VBE: mode 4096x2160x32 exceeds device maximum 2560x1600x32");
        // Only the GETCAPS toggle was written.
        let data: Vec<u32> = v.regs().ports().writes().iter().filter(|w| w.0 == 0x1CF).map(|w| w.1).collect();
        assert_eq!(data, [0x02, 0x00]);
    }

    #[test]
    fn too_large_for_vram_is_rejected() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        model.borrow_mut().vram_64k = 64; // 4 MiB
        let err = vbe(&model).set_mode(1920, 1080, 32).unwrap_err();
        assert_eq!(err, VbeError::ExceedsVram { needed: 1920 * 1080 * 4, vram: 4 << 20 });
        // Exactly fits.
        assert_eq!(vbe(&model).set_mode(1024, 1024, 32).map(|m| m.bytes()), Ok(4 << 20));
    }

    #[test]
    fn bad_ids_are_rejected() {
        // Nothing decodes the ports.
        let mut v = BochsVbe::new(DispiPorts::new(RecordingPorts::new()));
        assert_eq!(v.probe(), Err(VbeError::NotBochs { id: 0xFFFF }));
        assert_eq!(v.set_mode(800, 600, 32), Err(VbeError::NotBochs { id: 0xFFFF }));
        assert_eq!(
            VbeError::NotBochs { id: 0xFFFF }.to_string(),
            "Bochs VBE: ID register reads 0xffff, no DISPI interface"
        );

        let model = Rc::new(RefCell::new(Dispi::qemu()));
        for (id, ok) in [(0xB0C1, false), (0xB0C2, true), (0xB0C5, true), (0xB0D0, false)] {
            model.borrow_mut().id = id;
            let got = vbe(&model).probe();
            match ok {
                true => assert_eq!(got, Ok(id)),
                false => assert!(got.is_err(), "{id:#x} accepted"),
            }
        }
        model.borrow_mut().id = 0xB0C1;
        assert_eq!(vbe(&model).probe(), Err(VbeError::TooOld { id: 0xB0C1 }));
    }

    #[test]
    fn mode_the_device_did_not_take_is_an_error() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        let err = vbe(&model).set_mode(1366, 768, 32).unwrap_err();
        assert_eq!(err, VbeError::ModeNotTaken { want: (1366, 768, 32), got: (1360, 768, 32) });
        assert_eq!(err.to_string(), "Bochs VBE: set 1366x768x32 but device reports 1360x768x32");
    }

    #[test]
    fn bad_requests_are_rejected() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        for (w, h) in [(0, 768), (1024, 0), (65_536, 768)] {
            let err = VbeError::InvalidSize { width: w, height: h };
            assert_eq!(vbe(&model).set_mode(w, h, 32), Err(err));
        }
        assert_eq!(vbe(&model).set_mode(1024, 768, 16), Err(VbeError::UnsupportedBpp { bpp: 16 }));
    }

    #[test]
    fn caps_query_restores_enable() {
        let model = Rc::new(RefCell::new(Dispi::qemu()));
        model.borrow_mut().regs[4] = ENABLED | LFB_ENABLED;
        let caps = vbe(&model).max_resolution();
        assert_eq!(caps, Some(Caps { max_width: 16000, max_height: 12000, max_bpp: 32 }));
        assert_eq!(model.borrow().regs[4], ENABLED | LFB_ENABLED);
    }

    #[test]
    fn pci_ids_map_to_kinds_and_transports() {
        assert_eq!(bochs_kind(0x1234, 0x1111, 0x03, 0x00), Some(BochsKind::StdVga));
        assert_eq!(bochs_kind(0x1234, 0x1111, 0x03, 0x80), Some(BochsKind::BochsDisplay));
        assert_eq!(bochs_kind(0x1b36, 0x0100, 0x03, 0x00), Some(BochsKind::QxlVga));
        assert_eq!(bochs_kind(0x1b36, 0x0100, 0x03, 0x80), None, "secondary QXL has no VGA");
        assert_eq!(bochs_kind(0x1af4, 0x1050, 0x03, 0x00), None);
        assert_eq!(BochsKind::StdVga.transport(), DispiTransport::Ports);
        assert_eq!(BochsKind::QxlVga.transport(), DispiTransport::Ports);
        assert_eq!(BochsKind::BochsDisplay.transport(), DispiTransport::Mmio { bar: 2 });
        assert_eq!(BochsKind::BochsDisplay.framebuffer_bar(), 0);
    }
}
