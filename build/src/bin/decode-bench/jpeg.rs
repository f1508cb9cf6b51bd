//! JPEG: every JPEG image of jpeg-anim (zune-jpeg without its SIMD paths,
//! against libjpeg-turbo with SIMD in PERF-ANCHORS.md).

use std::path::Path;

use spice_proto::decode::{jpeg, Limits};

pub fn cases(vectors: &Path) -> Vec<super::Case> {
    let dir = vectors.join("jpeg-anim");
    if !dir.is_dir() {
        return Vec::new();
    }
    let images: Vec<Vec<u8>> = super::index(&dir)
        .into_iter()
        .filter(|(_, kind, ..)| kind == "JPEG")
        .map(|(file, ..)| std::fs::read(file).unwrap())
        .collect();
    let count = images.len();
    let limits = Limits::default();
    vec![super::Case {
        codec: "JPEG",
        vectors: "jpeg-anim",
        images: count,
        c_mbps: 949.0,
        pass: Box::new(move || images.iter().map(|d| jpeg::decode(d, &limits).unwrap().data.len() as u64 * 4).sum()),
    }]
}
