//! Clove's QEMU test harness.
//!
//! [`artifacts`] finds (and if needed builds) the payload ELFs, [`QemuConfig`]
//! holds every QEMU flag, and [`Qemu`] runs one instance with its serial log
//! in a file and QMP on a unix socket: tests wait for serial lines, for the
//! exit code that isa-debug-exit produces, and compare screendumps.
#![forbid(unsafe_code)]

pub mod artifacts;
pub mod deps;
mod error;
pub mod image;
pub mod qemu;
pub mod qmp;
pub mod serial;
#[cfg(test)]
mod testutil;

pub use artifacts::Variant;
pub use error::{HarnessError, Result};
pub use image::{Image, Mismatch, Rect};
pub use qemu::{Display, Machine, Qemu, QemuConfig, Serial, UserNet};
pub use serde_json::{json, Value};
pub use serial::SerialMark;
