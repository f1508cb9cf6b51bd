//! LZ_RGB: one full screen (`lz`), and the 32-pixel strips of `lz-anim`
//! (every image but the first, full-screen one).

use std::path::Path;

use spice_proto::decode::{lz, Limits};

fn case(vectors: &'static str, c_mbps: f64, images: Vec<Vec<u8>>) -> super::Case {
    let limits = Limits::default();
    super::Case {
        codec: "LZ_RGB",
        vectors,
        images: images.len(),
        c_mbps,
        pass: Box::new(move || {
            images
                .iter()
                .map(|data| {
                    let p = lz::decode(data, None, &limits).expect("LZ vector decodes");
                    p.data.len() as u64 * 4
                })
                .sum()
        }),
    }
}

fn load(dir: &Path, skip: usize) -> Vec<Vec<u8>> {
    super::index(dir)
        .into_iter()
        .skip(skip)
        .filter(|(_, ty, _, _)| ty == "LZ_RGB")
        .map(|(file, ..)| std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .collect()
}

pub fn cases(vectors: &Path) -> Vec<super::Case> {
    vec![
        case("lz (one full screen)", 5668.0, load(&vectors.join("lz"), 0)),
        case("lz-anim, strips only (skip seq 0)", 4171.0, load(&vectors.join("lz-anim"), 1)),
    ]
}
