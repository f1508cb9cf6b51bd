//! Host tools shared by `cargo xtask` and the standalone binaries.
#![forbid(unsafe_code)]

pub mod client;
pub mod snapshot;
