//! LZ4 image payloads with arbitrary descriptor sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::lz4(data));
