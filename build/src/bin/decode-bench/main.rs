//! `cargo xtask bench decode` runs this in release: every codec over the
//! real vectors (../shared/vectors), MB/s of decoded output (w×h×4, MB =
//! 10^6), against spice-gtk's C decoders on the same files in the same run.
//!
//! usage: decode-bench [VECTORS [C_HARNESS]]. C_HARNESS is the program the
//! xtask builds from build/cbench/decoders.c; without it, ours only.
//! Per row, 5 rounds of (ours: 3 runs of 20 passes; C: the same, in a child
//! process), medians of the 15 runs each. The C side also prints a checksum
//! of the pixels it decoded, which must equal ours (JPEG too: ours is bit-exact
//! with libjpeg-turbo's defaults).
#![forbid(unsafe_code)]

mod c;
mod glz;
mod jpeg;
mod lz;
mod lz4;
mod quic;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use spice_proto::decode::Pixels;

const ROUNDS: usize = 5;
const RUNS: usize = 3;
const PASSES: usize = 20;

/// One image of a capture, from its `index.tsv`.
#[derive(Clone)]
pub struct Image {
    pub file: PathBuf,
    /// The image type, as in index.tsv (`QUIC`, `GLZ_RGB`, ...).
    pub kind: String,
    pub width: u32,
    pub height: u32,
    /// ZLIB_GLZ_RGB's inflated size (index.tsv's `extra`).
    pub glz_data_size: Option<u32>,
}

/// One benchmark row.
pub struct Case {
    /// Codec name as in PERF-ANCHORS.md.
    pub codec: &'static str,
    /// Which vectors, as in PERF-ANCHORS.md.
    pub vectors: &'static str,
    /// The images a pass decodes, in order (also the C side's list).
    pub images: Vec<Image>,
    /// One pass over all images, each added to the output.
    pub pass: Box<dyn FnMut(&mut Output)>,
}

/// What one pass decoded: its bytes and, when asked for, a checksum of the
/// pixels (FNV-1a over the words, rows top down, alpha masked off when the
/// image has none; build/cbench/decoders.c computes the same).
pub struct Output {
    bytes: u64,
    hash: Option<u64>,
}

impl Output {
    fn new(hash: bool) -> Self {
        Output { bytes: 0, hash: hash.then_some(0xcbf2_9ce4_8422_2325) }
    }

    pub fn add(&mut self, p: &Pixels) {
        self.bytes += p.data.len() as u64 * 4;
        if let Some(h) = &mut self.hash {
            let mask = if p.has_alpha { u32::MAX } else { 0x00ff_ffff };
            for &w in &p.data {
                *h = (*h ^ u64::from(w & mask)).wrapping_mul(0x100_0000_01b3);
            }
        }
        std::hint::black_box(&p.data);
    }
}

/// Reads `dir/index.tsv`: every image, in stream order.
pub fn index(dir: &Path) -> Vec<Image> {
    let text = std::fs::read_to_string(dir.join("index.tsv")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (f, t, w, h, x) = (col("file"), col("type"), col("width"), col("height"), col("extra"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .map(|c| Image {
            file: dir.join(c[f]),
            kind: c[t].to_string(),
            width: c[w].parse().unwrap(),
            height: c[h].parse().unwrap(),
            glz_data_size: c
                .get(x)
                .and_then(|e| e.split(',').find_map(|kv| kv.strip_prefix("glz_data_size=")))
                .map(|v| v.parse().unwrap()),
        })
        .collect()
}

/// The median of the runs' seconds per pass.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let vectors = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    let harness = args.next().map(PathBuf::from);
    if harness.is_none() {
        println!("decode-bench: no C harness given: ours only, no baseline");
    }
    let mut cases = Vec::new();
    for add in [quic::cases, lz::cases, glz::cases, lz4::cases, jpeg::cases] {
        cases.extend(add(&vectors));
    }
    // CLOVE_BENCH_CODEC=LZ4 (say) keeps only the rows of codecs starting so.
    if let Ok(only) = std::env::var("CLOVE_BENCH_CODEC") {
        cases.retain(|c| c.codec.starts_with(only.as_str()));
    }
    println!(
        "{:<16} {:<34} {:>6} {:>6} {:>9} {:>8} {:>6} {:>13} {:>6}",
        "codec", "vectors", "images", "MB", "ours MB/s", "C MB/s", "ours/C", "C noSIMD MB/s", "ours/C"
    );
    let mut mismatches = Vec::new();
    for mut c in cases {
        let mut first = Output::new(true);
        (c.pass)(&mut first);
        let (bytes, ours_sum) = (first.bytes, first.hash.unwrap_or_default());
        let list = harness.as_ref().map(|h| c::write_list(h, &c.images));
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut scalar = Vec::new();
        for _ in 0..ROUNDS {
            for _ in 0..RUNS {
                let t = Instant::now();
                for _ in 0..PASSES {
                    (c.pass)(&mut Output::new(false));
                }
                ours.push(t.elapsed().as_secs_f64() / PASSES as f64);
            }
            let (Some(harness), Some(list)) = (&harness, &list) else { continue };
            // JPEG runs twice: libjpeg-turbo with SIMD, and scalar (JSIMD_FORCENONE=1),
            // the fair bar for Clove's payload, which runs without SSE.
            let simd_modes: &[bool] = if c.codec == "JPEG" { &[true, false] } else { &[true] };
            for &simd in simd_modes {
                let (sum, times) = c::run(harness, list, PASSES, RUNS, simd);
                if sum != ours_sum {
                    mismatches.push(format!("{} {}: ours {ours_sum:016x}, C {sum:016x}", c.codec, c.vectors));
                }
                if simd {
                    theirs.extend(times)
                } else {
                    scalar.extend(times)
                }
            }
        }
        let mb = bytes as f64 / 1e6;
        let ours = mb / median(ours);
        // C's MB/s and ours/C, or blanks.
        let cell = |times: Vec<f64>, width: usize| {
            if times.is_empty() {
                return format!("{:>width$} {:>6}", "", "");
            }
            let mbps = mb / median(times);
            format!("{mbps:>width$.0} {:>5.2}x", ours / mbps)
        };
        println!(
            "{:<16} {:<34} {:>6} {:>6.2} {:>9.0} {} {}",
            c.codec,
            c.vectors,
            c.images.len(),
            mb,
            ours,
            cell(theirs, 8),
            cell(scalar, 13)
        );
    }
    if !mismatches.is_empty() {
        eprintln!("\ndecode-bench: DECODED PIXELS DIFFER between ours and spice-gtk's (one side decodes wrongly):");
        for m in &mismatches {
            eprintln!("  {m}");
        }
        return ExitCode::FAILURE;
    }
    if harness.is_some() {
        println!("\nours and spice-gtk's decoded the same pixels on every row (checksums of every C run)");
    }
    ExitCode::SUCCESS
}
