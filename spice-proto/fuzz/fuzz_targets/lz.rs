//! LZ_RGB / LZ_PLT payloads, with a palette of the size the first byte says.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::lz(data));
