//! A sans-IO SPICE client core: bytes and time in; bytes, events and pixels out.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(unsafe_code)]

extern crate alloc;
