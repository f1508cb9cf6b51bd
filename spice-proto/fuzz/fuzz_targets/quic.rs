//! The QUIC decoder on arbitrary payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::quic(data));
