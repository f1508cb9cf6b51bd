//! Clove's hardware drivers.
//!
//! Every driver reaches hardware only through the small access traits in
//! [`port`] and [`mmio`], so its register sequences and ring logic are tested
//! on the host against recording mocks. The real accessors are the only
//! `unsafe` here, and each block says why it is sound.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod boot;
pub mod config;
pub mod framebuffer;
pub mod i8042;
pub mod mmio;
pub mod net;
pub mod pci;
pub mod port;
pub mod ps2;
pub mod screen;
pub mod setup;
pub mod timer;
pub mod uart;
pub mod vbe;
