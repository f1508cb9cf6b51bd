//! Finding a screen: the loader's linear framebuffer, or a Bochs VBE device
//! whose mode we set ourselves.

use alloc::format;
use alloc::string::String;
use core::fmt;
use drivers::boot::LoaderFramebuffer;
use drivers::framebuffer::{Channel, FbInfo, Framebuffer, MmioFramebuffer, PixelFormat};
use drivers::mmio::MmioRegion;
use drivers::pci::{Bar, ConfigSpace, PciDevice, COMMAND_IO, COMMAND_MEMORY};
use drivers::port::X86Ports;
use drivers::vbe::{self, BochsKind, BochsVbe, DispiMmio, DispiPorts, DispiRegs};

use super::memory::MAPPED_LIMIT;

pub const DEFAULT_MODE: (u32, u32) = (1024, 768);
/// DISPI registers sit at this offset of the MMIO BAR (BAR2).
const DISPI_MMIO_BAR: usize = 2;

pub struct Screen {
    pub fb: Framebuffer<MmioFramebuffer>,
    source: String,
    /// How to change the mode; `None` for a fixed (loader) framebuffer.
    modes: Option<ModeSetter>,
}

/// A Bochs VBE device whose mode can be set again.
struct ModeSetter {
    regs: Dispi,
    fb_base: u64,
    fb_len: u64,
}

enum Dispi {
    Mmio(DispiMmio<MmioRegion>),
    Ports(DispiPorts<X86Ports>),
}

impl Screen {
    pub fn describe(&self) -> impl fmt::Display + '_ {
        let i = self.fb.info();
        Described(i.width, i.height, i.format.bpp(), &self.source)
    }

    /// Whether [`Screen::set_mode`] can work (a Bochs VBE device, not the
    /// loader's fixed framebuffer).
    pub fn can_set_mode(&self) -> bool {
        self.modes.is_some()
    }

    /// Switches to `width`x`height` and takes the new framebuffer. On an
    /// error the old mode is set again where possible, and the screen
    /// stays usable either way.
    pub fn set_mode(&mut self, width: u32, height: u32) -> Result<(), String> {
        let Some(m) = self.modes.as_mut() else { return Err(String::from("the loader's framebuffer is fixed")) };
        let (old_w, old_h) = (self.fb.width(), self.fb.height());
        match m.set(width, height) {
            Ok(fb) => {
                self.fb = fb;
                Ok(())
            }
            Err(e) => {
                if let Ok(fb) = m.set(old_w, old_h) {
                    self.fb = fb;
                }
                Err(e)
            }
        }
    }
}

impl ModeSetter {
    fn set(&mut self, w: u32, h: u32) -> Result<Framebuffer<MmioFramebuffer>, String> {
        let m = match &mut self.regs {
            Dispi::Mmio(r) => set_mode(r, w, h),
            Dispi::Ports(r) => set_mode(r, w, h),
        }
        .map_err(|e| format!("{e}"))?;
        framebuffer(self.fb_base, self.fb_len, m)
    }
}

struct Described<'a>(u32, u32, u8, &'a str);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{} {}", self.0, self.1, self.2, self.3)
    }
}

pub fn bring_up(
    loader_fb: Option<&LoaderFramebuffer>,
    devices: &[PciDevice],
    cfg: &mut ConfigSpace<X86Ports>,
    ports: X86Ports,
    mode: Option<(u32, u32)>,
) -> Result<Screen, String> {
    if let Some(fb) = loader_fb {
        return from_loader(fb);
    }
    let (dev, kind) = devices
        .iter()
        .find_map(|d| vbe::bochs_kind(d.vendor_id, d.device_id, d.class, d.subclass).map(|k| (d, k)))
        .ok_or_else(|| String::from("no loader framebuffer and no Bochs VBE-compatible display device"))?;
    let (w, h) = mode.unwrap_or(DEFAULT_MODE);
    let mut regs = match kind {
        BochsKind::BochsDisplay => {
            let bar = mem_bar(dev, DISPI_MMIO_BAR).ok_or("bochs-display has no MMIO BAR2")?;
            // SAFETY: BAR2 is this device's register window, identity-mapped
            // below 4 GiB (checked), and only this driver touches it.
            let regs = unsafe { MmioRegion::new(bar.0 as usize, bar.1 as usize) };
            Dispi::Mmio(DispiMmio::new(regs))
        }
        BochsKind::StdVga | BochsKind::QxlVga => Dispi::Ports(DispiPorts::new(ports)),
    };
    let set = match &mut regs {
        Dispi::Mmio(r) => set_mode(r, w, h),
        Dispi::Ports(r) => set_mode(r, w, h),
    };
    let m = set.map_err(|e| format!("{kind:?} at {}: {e}", dev.addr))?;
    let (fb_base, fb_len) = mem_bar(dev, 0).ok_or("display device has no framebuffer BAR0")?;
    let mut command = cfg.command(dev.addr);
    command |= COMMAND_MEMORY | COMMAND_IO;
    cfg.set_command(dev.addr, command);
    let fb = framebuffer(fb_base, fb_len, m)?;
    Ok(Screen {
        fb,
        source: format!("Bochs VBE ({}) at {}", kind_name(kind), dev.addr),
        modes: Some(ModeSetter { regs, fb_base, fb_len }),
    })
}

/// The framebuffer of a mode just set, at the start of BAR0.
fn framebuffer(fb_base: u64, fb_len: u64, m: vbe::Mode) -> Result<Framebuffer<MmioFramebuffer>, String> {
    let info =
        FbInfo { base: fb_base, width: m.width, height: m.height, pitch: m.pitch, format: PixelFormat::XRGB8888 };
    let size = info.validate().map_err(|e| format!("{e}"))?;
    if size as u64 > fb_len {
        return Err(format!("mode needs {size} bytes but BAR0 has {fb_len}"));
    }
    // SAFETY: BAR0 is the device's framebuffer, identity-mapped (checked
    // below 4 GiB), and `size` fits inside it.
    let mem = unsafe { MmioFramebuffer::new(fb_base as usize, size) };
    Framebuffer::new(info, mem).map_err(|e| format!("{e}"))
}

fn set_mode<R: DispiRegs>(regs: R, w: u32, h: u32) -> Result<vbe::Mode, vbe::VbeError> {
    let mut vbe = BochsVbe::new(regs);
    vbe.probe()?;
    vbe.set_mode(w, h, 32)
}

fn kind_name(k: BochsKind) -> &'static str {
    match k {
        BochsKind::StdVga => "std VGA",
        BochsKind::BochsDisplay => "bochs-display",
        BochsKind::QxlVga => "QXL VGA mode",
    }
}

/// A memory BAR's (base, size), if it lies inside the identity map.
fn mem_bar(dev: &PciDevice, slot: usize) -> Option<(u64, u64)> {
    match dev.bars.get(slot).copied().flatten()? {
        Bar::Memory { base, size, .. } if base != 0 && base.checked_add(size)? <= MAPPED_LIMIT => Some((base, size)),
        _ => None,
    }
}

fn from_loader(fb: &LoaderFramebuffer) -> Result<Screen, String> {
    let ch = |(shift, bits): (u8, u8)| Channel { shift, bits };
    let format = PixelFormat::new(fb.bpp, ch(fb.red), ch(fb.green), ch(fb.blue)).map_err(|e| format!("{e}"))?;
    let info = FbInfo { base: fb.addr, width: fb.width, height: fb.height, pitch: fb.pitch, format };
    let size = info.validate().map_err(|e| format!("loader framebuffer: {e}"))?;
    if fb.addr.checked_add(size as u64).is_none_or(|end| end > MAPPED_LIMIT) {
        return Err(format!("loader framebuffer at {:#x} lies above 4 GiB", fb.addr));
    }
    // SAFETY: the loader set up this linear framebuffer and described it;
    // it is identity-mapped (checked) and only we draw on it.
    let mem = unsafe { MmioFramebuffer::new(fb.addr as usize, size) };
    let fb = Framebuffer::new(info, mem).map_err(|e| format!("{e}"))?;
    Ok(Screen { fb, source: String::from("loader framebuffer"), modes: None })
}
