//! Clove's bare-metal payload: boot, bring up the devices, and run.
//!
//! The logic lives in `drivers` and `spice-proto`; this crate holds the entry
//! code, memory setup and the wiring. On the host it builds as a stub so that
//! `cargo build/test/clippy --workspace` work.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod bare;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the Clove payload runs only on x86_64-unknown-none: use `cargo xtask build` or `cargo xtask run`");
}
