//! LZ4: lz4-anim's LZ4 strips, skipping the blank first screen (seq 0), as
//! PERF-ANCHORS.md measured spice-gtk.

use std::path::Path;

use spice_proto::decode::{lz4, Limits};

use super::{index, Case};

pub fn cases(vectors: &Path) -> Vec<Case> {
    let dir = vectors.join("lz4-anim");
    if !dir.is_dir() {
        return Vec::new();
    }
    let images: Vec<_> = index(&dir).into_iter().skip(1).filter(|i| i.kind == "LZ4").collect();
    let data: Vec<(Vec<u8>, u32, u32)> =
        images.iter().map(|i| (std::fs::read(&i.file).unwrap(), i.width, i.height)).collect();
    let limits = Limits::default();
    vec![Case {
        codec: "LZ4",
        vectors: "lz4-anim, strips only (skip seq 0)",
        images,
        lossless: true,
        pass: Box::new(move |out| {
            for (d, w, h) in &data {
                out.add(&lz4::decode(d, *w, *h, &limits).unwrap());
            }
        }),
    }]
}
