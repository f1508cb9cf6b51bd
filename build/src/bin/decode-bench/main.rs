//! `cargo xtask bench decode` runs this in release: every codec over the
//! real vectors (../shared/vectors), median of 5 runs of 20 passes, MB/s of
//! decoded output (w×h×4, MB = 10^6), beside spice-gtk's C speed on the same
//! files from PERF-ANCHORS.md.
#![forbid(unsafe_code)]

mod glz;
mod jpeg;
mod lz;
mod lz4;
mod quic;

use std::path::{Path, PathBuf};
use std::time::Instant;

/// One benchmark row.
pub struct Case {
    /// Codec name as in PERF-ANCHORS.md.
    pub codec: &'static str,
    /// Which vectors, as in PERF-ANCHORS.md.
    pub vectors: &'static str,
    /// Images decoded per pass.
    pub images: usize,
    /// spice-gtk's MB/s on the same images (PERF-ANCHORS.md, this machine kind).
    pub c_mbps: f64,
    /// One pass over all images; returns decoded output bytes.
    pub pass: Box<dyn FnMut() -> u64>,
}

/// Reads `dir/index.tsv`: (file, type, width, height) per image, in order.
pub fn index(dir: &Path) -> Vec<(PathBuf, String, u32, u32)> {
    let text = std::fs::read_to_string(dir.join("index.tsv")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (f, t, w, h) = (col("file"), col("type"), col("width"), col("height"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .map(|c| (dir.join(c[f]), c[t].to_string(), c[w].parse().unwrap(), c[h].parse().unwrap()))
        .collect()
}

fn main() {
    let vectors = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    let mut cases = Vec::new();
    for add in [quic::cases, lz::cases, glz::cases, lz4::cases, jpeg::cases] {
        cases.extend(add(&vectors));
    }
    println!(
        "{:<16} {:<34} {:>6} {:>9} {:>10} {:>8} {:>7}",
        "codec", "vectors", "images", "MB", "ours MB/s", "C MB/s", "ratio"
    );
    for mut c in cases {
        let bytes = (c.pass)();
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..20 {
                std::hint::black_box((c.pass)());
            }
            times.push(t.elapsed().as_secs_f64() / 20.0);
        }
        times.sort_by(f64::total_cmp);
        let mbps = bytes as f64 / 1e6 / times[2];
        println!(
            "{:<16} {:<34} {:>6} {:>9.2} {:>10.0} {:>8.0} {:>6.2}x",
            c.codec,
            c.vectors,
            c.images,
            bytes as f64 / 1e6,
            mbps,
            c.c_mbps,
            mbps / c.c_mbps
        );
    }
}
