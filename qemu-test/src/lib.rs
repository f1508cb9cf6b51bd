//! Clove's QEMU test harness.
//!
//! [`artifacts`] finds (and if needed builds) the payload ELFs, [`QemuConfig`]
//! holds every QEMU flag, and [`Qemu`] runs one instance with its serial log
//! in a file and QMP on a unix socket: tests wait for serial lines, for the
//! exit code that isa-debug-exit produces, and compare screendumps.
//!
//! [`guest`] builds a Linux guest (Debian kernel + busybox initramfs) that
//! draws a [`testimage`], and [`SpiceServer`] runs it as a QEMU SPICE server
//! on 127.0.0.1: the real server side of Clove's SPICE tests.
#![forbid(unsafe_code)]

pub mod artifacts;
pub mod bootmedia;
pub mod coreboot;
pub mod deps;
pub mod dnsserver;
pub mod e2e;
mod error;
pub mod guest;
pub mod http_server;
pub mod image;
pub mod input;
pub mod multiboot;
pub mod netserver;
pub mod qemu;
pub mod qmp;
pub mod serial;
pub mod spice_server;
pub mod testimage;
#[cfg(test)]
mod testutil;

pub use artifacts::Variant;
pub use dnsserver::{DnsServer, Record};
pub use error::{HarnessError, Result};
pub use guest::{Guest, GuestImage, GuestSpec, Scenario};
pub use image::{Image, Mismatch, Rect};
pub use qemu::{Boot, Display, ImageCompression, Machine, Qemu, QemuConfig, Serial, SpiceOptions, UserNet};
pub use serde_json::{json, Value};
pub use serial::SerialMark;
pub use spice_server::{SpiceServer, SpiceServerConfig, Vga};
pub use testimage::TestImage;
