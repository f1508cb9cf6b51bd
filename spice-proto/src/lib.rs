//! A sans-IO SPICE client core: bytes and time in; bytes, events and pixels out.
//!
//! - [`consts`]: protocol numbers (channels, caps, message and image types).
//! - [`wire`]: zero-copy views and typed reprs for the link stage and data headers.
//! - [`framing`]: the stream → frame → message state machine, and the client emitter.
//! - [`auth`]: the RSA-OAEP ticket.
//! - [`msg`]: typed message bodies of every channel, parse and emit.
//! - [`session`]: the link stage and channel state machines.
//! - [`decode`]: image decoders (bitmaps so far).
//! - [`canvas`]: 32-bit surfaces and the software renderer for draw commands.
//! - `capture` (feature `std`): pcapng + TCP reassembly for tests and tools.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod auth;
pub mod canvas;
#[cfg(feature = "std")]
pub mod capture;
pub mod consts;
pub mod decode;
pub mod framing;
pub mod fuzzing;
pub mod msg;
pub mod session;
pub mod wire;
