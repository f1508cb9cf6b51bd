//! QUIC rows of PERF-ANCHORS.md: the quic capture's one full-screen image,
//! and every QUIC strip of auto_glz-anim and zlib-anim.

use std::path::Path;

use spice_proto::decode::{quic, Limits};

use super::{index, Case};

fn case(vectors: &Path, capture: &str, what: &'static str) -> Option<Case> {
    let dir = vectors.join(capture);
    if !dir.join("index.tsv").is_file() {
        eprintln!("quic: {} missing, skipping", dir.display());
        return None;
    }
    let images: Vec<_> = index(&dir).into_iter().filter(|i| i.kind == "QUIC").collect();
    let data: Vec<Vec<u8>> =
        images.iter().map(|i| std::fs::read(&i.file).unwrap_or_else(|e| panic!("{}: {e}", i.file.display()))).collect();
    let limits = Limits::default();
    Some(Case {
        codec: "QUIC",
        vectors: what,
        images,
        pass: Box::new(move |out| {
            for d in &data {
                out.add(&quic::decode(d, &limits).expect("QUIC vector decodes"));
            }
        }),
    })
}

pub fn cases(vectors: &Path) -> Vec<Case> {
    [
        case(vectors, "quic", "quic (one full screen, half black)"),
        case(vectors, "auto_glz-anim", "auto_glz-anim (32-px strips)"),
        case(vectors, "zlib-anim", "zlib-anim"),
    ]
    .into_iter()
    .flatten()
    .collect()
}
