//! JPEG payloads, and JPEG_ALPHA built on them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::jpeg(data));
