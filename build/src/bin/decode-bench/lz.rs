//! LZ_RGB: one full screen (`lz`), and the 32-pixel strips of `lz-anim`
//! (every image but the first, full-screen one).

use std::path::Path;

use spice_proto::decode::{lz, Limits};

use super::{index, Case, Image};

fn case(vectors: &'static str, images: Vec<Image>) -> Case {
    let data: Vec<Vec<u8>> =
        images.iter().map(|i| std::fs::read(&i.file).unwrap_or_else(|e| panic!("{}: {e}", i.file.display()))).collect();
    let limits = Limits::default();
    Case {
        codec: "LZ_RGB",
        vectors,
        images,
        pass: Box::new(move |out| {
            for d in &data {
                out.add(&lz::decode(d, None, &limits).expect("LZ vector decodes"));
            }
        }),
    }
}

fn load(dir: &Path, skip: usize) -> Vec<Image> {
    index(dir).into_iter().skip(skip).filter(|i| i.kind == "LZ_RGB").collect()
}

pub fn cases(vectors: &Path) -> Vec<Case> {
    vec![
        case("lz (one full screen)", load(&vectors.join("lz"), 0)),
        case("lz-anim, strips only (skip seq 0)", load(&vectors.join("lz-anim"), 1)),
    ]
}
