//! QUIC rows of PERF-ANCHORS.md: the quic capture's one full-screen image,
//! and every QUIC strip of auto_glz-anim and zlib-anim.

use std::path::Path;

use spice_proto::decode::{quic, Limits};

use super::{index, Case};

fn case(vectors: &Path, capture: &str, what: &'static str, c_mbps: f64) -> Option<Case> {
    let dir = vectors.join(capture);
    if !dir.join("index.tsv").is_file() {
        eprintln!("quic: {} missing, skipping", dir.display());
        return None;
    }
    let images: Vec<Vec<u8>> = index(&dir)
        .into_iter()
        .filter(|(_, kind, _, _)| kind == "QUIC")
        .map(|(file, ..)| std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .collect();
    let limits = Limits::default();
    Some(Case {
        codec: "QUIC",
        vectors: what,
        images: images.len(),
        c_mbps,
        pass: Box::new(move || {
            images
                .iter()
                .map(|d| {
                    let p = quic::decode(d, &limits).expect("QUIC vector decodes");
                    std::hint::black_box(&p.data);
                    p.data.len() as u64 * 4
                })
                .sum()
        }),
    })
}

pub fn cases(vectors: &Path) -> Vec<Case> {
    [
        case(vectors, "quic", "quic (one full screen, half black)", 463.0),
        case(vectors, "auto_glz-anim", "auto_glz-anim (32-px strips)", 154.0),
        case(vectors, "zlib-anim", "zlib-anim", 156.0),
    ]
    .into_iter()
    .flatten()
    .collect()
}
