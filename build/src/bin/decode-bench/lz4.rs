//! LZ4: lz4-anim's LZ4 strips, skipping the blank first screen (seq 0), as
//! PERF-ANCHORS.md measured spice-gtk.

use std::path::Path;

use spice_proto::decode::{lz4, Limits};

pub fn cases(vectors: &Path) -> Vec<super::Case> {
    let dir = vectors.join("lz4-anim");
    if !dir.is_dir() {
        return Vec::new();
    }
    let images: Vec<(Vec<u8>, u32, u32)> = super::index(&dir)
        .into_iter()
        .skip(1)
        .filter(|(_, kind, ..)| kind == "LZ4")
        .map(|(file, _, w, h)| (std::fs::read(file).unwrap(), w, h))
        .collect();
    let count = images.len();
    let limits = Limits::default();
    vec![super::Case {
        codec: "LZ4",
        vectors: "lz4-anim, strips only (skip seq 0)",
        images: count,
        c_mbps: 15863.0,
        pass: Box::new(move || {
            images.iter().map(|(d, w, h)| lz4::decode(d, *w, *h, &limits).unwrap().data.len() as u64 * 4).sum()
        }),
    }]
}
