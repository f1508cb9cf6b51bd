//! LZ4 images from a real spice-server (the lz4-anim capture).
//!
//! - With the shared data (`../shared` beside the clone): every BITMAP and LZ4
//!   image of lz4-anim, painted in stream order, must end on the server's own
//!   screendump exactly. Under `CI` the shared data must be there.
//! - Always: the subset copied into tests/data/vectors/lz4 decodes to the
//!   pixel hashes recorded in its `expected.tsv` (taken from the run that
//!   matched the server frame), and thousands of mutations of it never panic.

mod common;

use std::path::{Path, PathBuf};

use spice_proto::consts::{bitmap_flags, BitmapFormat};
use spice_proto::decode::bitmap::{self, Bitmap};
use spice_proto::decode::{lz4, Limits, Pixels};

use common::vectors::{index, shared_vectors, Row};

fn decode_bitmap(row: &Row, data: &[u8]) -> Vec<u32> {
    let field = |k: &str| {
        row.extra.split(',').find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse::<u32>().ok()).unwrap()
    };
    let bmp = Bitmap {
        format: BitmapFormat::from(field("fmt") as u8),
        top_down: field("flags") as u8 & bitmap_flags::TOP_DOWN != 0,
        width: row.width,
        height: row.height,
        stride: field("stride"),
        data,
    };
    bitmap::decode(&bmp, None, &Limits::default()).unwrap().data
}

fn paint(canvas: &mut [u32], cw: u32, row: &Row, img: &[u32]) {
    let (l, t, r, b) = row.dst;
    for y in 0..b - t {
        for x in 0..r - l {
            let s = (row.src().1 + y) * row.width + row.src().0 + x;
            canvas[((t + y) * cw + l + x) as usize] = img[s as usize] & 0x00ff_ffff;
        }
    }
}

/// The alpha byte counts only when the image has alpha (it is undefined
/// otherwise).
fn fnv(p: &Pixels) -> u64 {
    let mask = if p.has_alpha { u32::MAX } else { 0x00ff_ffff };
    p.data
        .iter()
        .flat_map(|px| (px & mask).to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn lz4_anim_ends_on_the_server_frame() {
    let Some(dir) = shared_vectors("lz4-anim") else {
        println!("NOTE: shared/vectors not found; skipping (the copied subset is checked below)");
        return;
    };
    let captures = common::captures_dir().expect("shared/captures beside shared/vectors");
    let (w, h, want) = common::load_png(&captures.join("lz4-anim.server.png"));
    let mut canvas = vec![0u32; (w * h) as usize];
    let mut lz4_images = 0;
    for row in index(&dir) {
        let data = std::fs::read(&row.file).unwrap();
        let img = match row.kind.as_str() {
            "BITMAP" => decode_bitmap(&row, &data),
            "LZ4" => {
                lz4_images += 1;
                let p = lz4::decode(&data, row.width, row.height, &Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", row.file.display()));
                assert_eq!((p.width, p.height, p.has_alpha), (row.width, row.height, false));
                p.data
            }
            other => panic!("unexpected {other} in lz4-anim"),
        };
        paint(&mut canvas, w, &row, &img);
    }
    assert_eq!(lz4_images, 49);
    let wrong = canvas.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(wrong, 0, "{wrong} pixels differ from lz4-anim.server.png");
}

fn copied() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/lz4")
}

/// (file, width, height, FNV-1a 64 of the decoded pixels as LE words).
fn expected() -> Vec<(PathBuf, u32, u32, u64)> {
    let text = std::fs::read_to_string(copied().join("expected.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (copied().join(c[0]), c[1].parse().unwrap(), c[2].parse().unwrap(), u64::from_str_radix(c[3], 16).unwrap())
        })
        .collect()
}

#[test]
fn copied_subset_decodes_to_recorded_pixels() {
    let rows = expected();
    assert!(rows.len() >= 30);
    for (file, w, h, hash) in rows {
        let p = lz4::decode(&std::fs::read(&file).unwrap(), w, h, &Limits::default()).unwrap();
        assert_eq!(fnv(&p), hash, "{}", file.display());
    }
}

/// Prints expected.tsv for the files named on `LZ4_RECORD` (comma
/// separated, from shared/vectors/lz4-anim) — run only by hand, after the
/// server-frame test passed.
#[test]
fn record_expected() {
    let (Some(list), Some(dir)) = (std::env::var_os("LZ4_RECORD"), shared_vectors("lz4-anim")) else { return };
    let rows = index(&dir);
    for name in list.to_str().unwrap().split(',') {
        let row = rows.iter().find(|r| r.file.ends_with(name)).unwrap();
        let p = lz4::decode(&std::fs::read(&row.file).unwrap(), row.width, row.height, &Limits::default()).unwrap();
        println!("{name}\t{}\t{}\t{:016x}", row.width, row.height, fnv(&p));
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = common::XorShift(0x1234_5678_9abc_def1);
    let inputs: Vec<_> = expected().into_iter().map(|(f, w, h, _)| (std::fs::read(f).unwrap(), w, h)).collect();
    let limits = Limits::default();
    let (mut ok, mut err) = (0, 0);
    for i in 0..6000 {
        let (orig, w, h) = &inputs[i % inputs.len()];
        let mut d = orig.clone();
        match rng.range(0, 5) {
            0 => {
                let n = rng.range(0, d.len());
                d.truncate(n);
            }
            1 => {
                for _ in 0..rng.range(1, 8) {
                    let at = rng.range(0, d.len() - 1);
                    d[at] ^= 1 << rng.range(0, 7);
                }
            }
            2 => {
                // A block length field (the first one, or a random spot) set to something odd.
                let at = if rng.next().is_multiple_of(2) { 2 } else { rng.range(0, d.len().saturating_sub(4)) };
                let v = [0, 1, 5, 0xffff, 0x7fff_ffff, u32::MAX][rng.range(0, 5)];
                if at + 4 <= d.len() {
                    d[at..at + 4].copy_from_slice(&v.to_be_bytes());
                }
            }
            3 => {
                let at = rng.range(0, d.len());
                let junk: Vec<u8> = (0..rng.range(1, 64)).map(|_| rng.next() as u8).collect();
                d.splice(at..at, junk);
            }
            4 => {
                d[1] = rng.next() as u8;
                d[0] = rng.next() as u8;
            }
            _ => {
                let at = rng.range(0, d.len() - 1);
                let n = rng.range(0, (d.len() - at).min(32));
                d.drain(at..at + n);
            }
        }
        // Sometimes lie about the size too.
        let (w, h) =
            if rng.next().is_multiple_of(8) { (rng.range(1, 64) as u32, rng.range(1, 64) as u32) } else { (*w, *h) };
        match lz4::decode(&d, w, h, &limits) {
            Ok(p) => {
                assert_eq!(p.data.len(), (w * h) as usize);
                ok += 1
            }
            Err(_) => err += 1,
        }
    }
    println!("mutations: {ok} decoded, {err} rejected");
    assert!(err > 1000);
}
