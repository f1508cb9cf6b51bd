//! JPEG: every JPEG image of jpeg-anim, ours (integer only, no SIMD)
//! against spice-gtk's libjpeg-turbo path with and without SIMD. Ours is
//! bit-exact with libjpeg-turbo's defaults, so the pixels are compared too.

use std::path::Path;

use spice_proto::decode::{jpeg, Limits};

use super::{index, Case};

pub fn cases(vectors: &Path) -> Vec<Case> {
    let dir = vectors.join("jpeg-anim");
    if !dir.is_dir() {
        return Vec::new();
    }
    let images: Vec<_> = index(&dir).into_iter().filter(|i| i.kind == "JPEG").collect();
    let data: Vec<Vec<u8>> = images.iter().map(|i| std::fs::read(&i.file).unwrap()).collect();
    let limits = Limits::default();
    vec![Case {
        codec: "JPEG",
        vectors: "jpeg-anim",
        images,
        pass: Box::new(move |out| {
            for d in &data {
                out.add(&jpeg::decode(d, &limits).unwrap());
            }
        }),
    }]
}
