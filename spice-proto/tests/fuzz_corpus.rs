//! Replays every fuzz corpus file (fuzz/corpus/<target>/) through the same
//! entry point the fuzz target uses, on stable, in CI.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        f(&std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

#[test]
fn messages_corpus() {
    let n = replay("messages", spice_proto::fuzzing::messages);
    assert!(n > 0, "fuzz/corpus/messages is empty");
}

#[test]
fn lz4_corpus() {
    let n = replay("lz4", spice_proto::fuzzing::lz4);
    assert!(n > 0, "fuzz/corpus/lz4 is empty");
}

#[test]
fn jpeg_corpus() {
    let n = replay("jpeg", spice_proto::fuzzing::jpeg);
    assert!(n > 0, "fuzz/corpus/jpeg is empty");
}

#[test]
fn lz_corpus() {
    let n = replay("lz", spice_proto::fuzzing::lz);
    assert!(n > 0, "fuzz/corpus/lz is empty");
}

#[test]
fn glz_corpus() {
    let n = replay("glz", spice_proto::fuzzing::glz);
    assert!(n > 0, "fuzz/corpus/glz is empty");
}

#[test]
fn quic_corpus() {
    let n = replay("quic", spice_proto::fuzzing::quic);
    assert!(n > 0, "fuzz/corpus/quic is empty");
}
