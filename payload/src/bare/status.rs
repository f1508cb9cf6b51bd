//! The boot status screen and the PCI log line.

use super::display::Screen;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use drivers::boot::BootInfo;
use drivers::pci::PciDevice;
use drivers::screen;

/// `00:03.0 8086:100e class 02.00 Ethernet controller: … bar0=… bar1=…`
pub struct PciLine<'a>(pub &'a PciDevice);

impl fmt::Display for PciLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{} {:04x}:{:04x} class {:02x}.{:02x} ", d.addr, d.vendor_id, d.device_id, d.class, d.subclass)?;
        write!(f, "{}", drivers::pci::class_name(d.class, d.subclass))?;
        if let Some(name) = d.name() {
            write!(f, ": {name}")?;
        }
        for (i, bar) in d.bars.iter().enumerate() {
            if let Some(bar) = bar {
                write!(f, " bar{i}={bar}")?;
            }
        }
        Ok(())
    }
}

/// The lines under the title, in order. The QEMU tests render the first
/// ones on the host and compare them with the screen.
pub fn lines(boot: &BootInfo, display: &str, devices: &[PciDevice], network: &str) -> Vec<String> {
    let mut v = Vec::new();
    let loader = boot.loader_name.as_str();
    v.push(if loader.is_empty() {
        format!("Boot: {}", boot.protocol.name())
    } else {
        format!("Boot: {} ({loader})", boot.protocol.name())
    });
    v.push(format!("Command line: {}", drivers::net::server::MaskPasswords(boot.cmdline.as_str())));
    v.push(format!(
        "Memory: {} MiB available in {} regions",
        boot.memory.total_available() >> 20,
        boot.memory.available().count()
    ));
    v.push(format!("Display: {display}"));
    if let Some(c) = &boot.config {
        v.push(format!("Config: {}", c.source));
    }
    v.push(format!("PCI devices: {}", devices.len()));
    for d in devices {
        v.push(format!("  {d}"));
    }
    v.push(format!("Network: {network}"));
    v
}

/// The status screen; `notes` (configuration problems) go below the
/// lines after a blank one.
pub fn draw(s: &mut Screen, boot: &BootInfo, devices: &[PciDevice], network: &str, notes: &[String]) {
    let display = format!("{}", s.describe());
    let lines = lines(boot, &display, devices, network);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    screen::draw_status(&mut s.fb, &format!("Clove {}", super::VERSION), &refs);
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    screen::draw_notes(&mut s.fb, lines.len() + 1, &notes);
}
