//! Every server message parser, on arbitrary bodies, through a session.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| spice_proto::fuzzing::messages(data));
