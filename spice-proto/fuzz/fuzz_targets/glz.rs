//! Chains of GLZ / ZLIB_GLZ / LZ images through one GLZ dictionary.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::glz(data));
