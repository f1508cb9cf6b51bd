//! QUIC images from a real spice-server (0.15.1, through QEMU 7.2).
//!
//! - With the shared data (`../shared` beside the clone): every QUIC image of
//!   the quic, auto_glz-anim, zlib-anim and stream-anim captures decodes at
//!   the size its index gives, and every pixel of it that no later draw covers
//!   equals the server's own final screendump (the quic capture is one image
//!   covering the whole screen). Under `CI` the shared data must be there.
//! - Always: the subset copied into tests/data/vectors/quic decodes to the
//!   pixel hashes in its `expected.tsv`, which were taken from the server's
//!   screendump (each copied image survives to the final frame whole), and
//!   thousands of mutations of it never panic and stay fast.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use spice_proto::decode::quic::{self, Header, ImageType};
use spice_proto::decode::{DecodeError, Limits};

use common::vectors::{shared_vectors, Row};

/// The index rows, checked to be plain unscaled copies as these tests assume.
fn index(dir: &Path) -> Vec<Row> {
    let rows = common::vectors::index(dir);
    for row in &rows {
        assert_eq!(row.rop, 8, "only plain copies are handled here");
        let ((l, t, r, b), (sl, st, sr, sb)) = (row.dst, row.src_area);
        assert_eq!((sr - sl, sb - st), (r - l, b - t), "scaled draw");
    }
    rows
}

fn fnv(px: impl IntoIterator<Item = u32>) -> u64 {
    px.into_iter()
        .flat_map(|p| (p & 0x00ff_ffff).to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn decode(data: &[u8], what: &Path) -> spice_proto::decode::Pixels {
    quic::decode(data, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", what.display()))
}

/// Result of checking one capture against its final frame.
struct Survivors {
    /// QUIC images decoded.
    images: usize,
    /// Images with at least one pixel on the final frame.
    visible: usize,
    /// Images whose every pixel is on the final frame.
    whole: Vec<usize>,
    /// QUIC pixels on the final frame (all checked).
    pixels: usize,
}

/// Decodes every QUIC image of `name` and compares each pixel that no later
/// draw (of any type) covers with the server's final frame.
fn check_capture(name: &str) -> Option<Survivors> {
    let dir = shared_vectors(name)?;
    let captures = common::captures_dir().expect("shared/captures beside shared/vectors");
    let (w, h, want) = common::load_png(&captures.join(format!("{name}.server.png")));
    let rows = index(&dir);
    // Which draw writes each screen pixel last.
    let mut owner = vec![usize::MAX; (w * h) as usize];
    for (n, row) in rows.iter().enumerate() {
        let (l, t, r, b) = row.dst;
        for y in t..b {
            owner[(y * w + l) as usize..(y * w + r) as usize].fill(n);
        }
    }
    let mut s = Survivors { images: 0, visible: 0, whole: Vec::new(), pixels: 0 };
    for (n, row) in rows.iter().enumerate().filter(|(_, r)| r.kind == "QUIC") {
        let data = std::fs::read(&row.file).unwrap();
        let hdr = quic::header(&data).unwrap();
        assert_eq!((hdr.width, hdr.height), (row.width, row.height), "{}", row.file.display());
        let p = decode(&data, &row.file);
        assert_eq!((p.width, p.height, p.has_alpha), (row.width, row.height, false));
        s.images += 1;
        // The encoder ends with 32 to 63 zero bits of padding. A decoder in
        // step with it has used every bit before them: without the last word
        // it still decodes, without the last two it is short.
        assert_eq!(quic::decode(&data[..data.len() - 4], &Limits::default()).as_ref(), Ok(&p));
        assert!(
            matches!(quic::decode(&data[..data.len() - 8], &Limits::default()), Err(DecodeError::Truncated { .. })),
            "{}: the decoder did not use the last data word",
            row.file.display()
        );
        let (l, t, r, b) = row.dst;
        let mut seen = 0;
        for y in t..b {
            for x in l..r {
                let at = (y * w + x) as usize;
                if owner[at] != n {
                    continue;
                }
                let got = p.data[((row.src().1 + y - t) * row.width + row.src().0 + x - l) as usize] & 0x00ff_ffff;
                assert_eq!(got, want[at], "{} at ({}, {}) of the image", row.file.display(), x - l, y - t);
                seen += 1;
            }
        }
        s.pixels += seen;
        s.visible += usize::from(seen > 0);
        if seen == ((r - l) * (b - t)) as usize {
            if std::env::var_os("QUIC_RECORD").is_some() {
                println!("whole: {name}--{}\t{}", row.file.file_name().unwrap().to_str().unwrap(), data.len());
            }
            s.whole.push(n);
        }
    }
    println!(
        "{name}: {} QUIC images decoded, {} visible at the end ({} whole), {} pixels equal the server frame",
        s.images,
        s.visible,
        s.whole.len(),
        s.pixels
    );
    Some(s)
}

#[test]
fn quic_capture_equals_the_server_frame() {
    let Some(s) = check_capture("quic") else {
        println!("NOTE: shared/vectors not found; skipping (the copied subset is checked below)");
        return;
    };
    assert_eq!((s.images, s.pixels), (1, 1024 * 768));
}

#[test]
fn anim_captures_match_where_visible() {
    for (name, images) in [("auto_glz-anim", 128), ("zlib-anim", 146), ("stream-anim", 503)] {
        let Some(s) = check_capture(name) else {
            println!("NOTE: shared/vectors not found; skipping (the copied subset is checked below)");
            return;
        };
        assert_eq!(s.images, images, "{name}");
        assert!(s.visible > 0 && !s.whole.is_empty(), "{name}: nothing to compare");
    }
}

fn copied() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/quic")
}

/// (file, width, height, FNV-1a 64 of the RGB of the decoded pixels).
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
fn copied_subset_decodes_to_the_server_pixels() {
    let rows = expected();
    assert!(rows.len() >= 8);
    for (file, w, h, hash) in rows {
        let data = std::fs::read(&file).unwrap();
        assert_eq!(quic::header(&data).unwrap(), Header { image_type: ImageType::Rgb32, width: w, height: h });
        let p = decode(&data, &file);
        assert_eq!((p.width, p.height), (w, h));
        assert_eq!(fnv(p.data.iter().copied()), hash, "{}", file.display());
        assert!(p.data.iter().all(|px| px >> 24 == 0), "RGB32 leaves the pad byte 0");
    }
}

/// Prints expected.tsv rows for the copied subset, hashing the server's final
/// frame (not our decoder) over each image's box — run by hand with
/// `QUIC_RECORD=1`, after choosing images that survive whole.
#[test]
fn record_expected() {
    if std::env::var_os("QUIC_RECORD").is_none() {
        return;
    }
    let captures = common::captures_dir().unwrap();
    for entry in std::fs::read_dir(copied()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        // <capture>--<file>.bin
        let Some((capture, file)) = name.strip_suffix(".bin").and_then(|n| n.split_once("--")) else { continue };
        let row =
            index(&shared_vectors(capture).unwrap()).into_iter().find(|r| r.file.file_stem().unwrap() == file).unwrap();
        let hdr = quic::header(&std::fs::read(&path).unwrap()).unwrap();
        let (w, _, frame) = common::load_png(&captures.join(format!("{capture}.server.png")));
        let (l, t, r, _) = row.dst;
        let px = (t..t + hdr.height).flat_map(|y| (l..r).map(move |x| (y * w + x) as usize)).map(|i| frame[i]);
        println!("{name}\t{}\t{}\t{:016x}", hdr.width, hdr.height, fnv(px));
    }
}

#[test]
fn mutations_never_panic_and_stay_fast() {
    let mut rng = common::XorShift(0x5157_4943_0000_0001);
    let inputs: Vec<Vec<u8>> = expected().into_iter().map(|(f, ..)| std::fs::read(f).unwrap()).collect();
    let limits = Limits::default();
    let (mut ok, mut err) = (0, 0);
    let start = Instant::now();
    // The 1024-wide image costs as much as 30 strips: use it 1 time in 40.
    let (big, strips): (Vec<_>, Vec<_>) = inputs.iter().partition(|d| d.len() > 100_000);
    for i in 0..4000usize {
        let orig =
            if i.is_multiple_of(40) && !big.is_empty() { big[i / 40 % big.len()] } else { strips[i % strips.len()] };
        let mut d = orig.clone();
        match rng.range(0, 6) {
            0 => {
                let n = rng.range(0, d.len());
                d.truncate(n);
            }
            1 => {
                for _ in 0..rng.range(1, 8) {
                    let at = rng.range(20, d.len() - 1);
                    d[at] ^= 1 << rng.range(0, 7);
                }
            }
            2 => {
                // A header field set to something odd.
                let at = 4 * rng.range(1, 4);
                let v = [0u32, 1, 2, 5, 6, 31, 32, 4096, 8192, 8193, 0xffff, 0x7fff_ffff, u32::MAX][rng.range(0, 12)];
                d[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 => {
                let at = rng.range(20, d.len());
                let junk: Vec<u8> = (0..rng.range(1, 64)).map(|_| rng.next() as u8).collect();
                d.splice(at..at, junk);
            }
            4 => {
                // Everything after some point replaced by ones or zeros.
                let at = rng.range(20, d.len());
                let fill = if rng.next().is_multiple_of(2) { 0xff } else { 0 };
                d[at..].fill(fill);
            }
            5 => {
                let at = rng.range(20, d.len() - 1);
                let n = rng.range(0, (d.len() - at).min(32));
                d.drain(at..at + n);
            }
            _ => {
                // A random word anywhere in the body.
                let at = rng.range(5, d.len() / 4 - 1) * 4;
                d[at..at + 4].copy_from_slice(&(rng.next() as u32).to_le_bytes());
            }
        }
        match quic::decode(&d, &limits) {
            Ok(p) => {
                assert_eq!(p.data.len(), p.width as usize * p.height as usize);
                ok += 1;
            }
            Err(_) => err += 1,
        }
    }
    let took = start.elapsed();
    println!("mutations: {ok} decoded, {err} rejected, {took:?}");
    assert!(err > 1000, "most mutations must be caught");
    // A hang guard (a mutation that sent the decoder into a near-endless
    // loop), not a speed target: seconds normally, minutes on a loaded CI.
    assert!(took.as_secs() < 600, "mutations took {took:?}");
}

/// A header with no pixel data.
fn header_bytes(kind: u32, width: u32, height: u32) -> Vec<u8> {
    [quic::MAGIC, 0, kind, width, height].iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn bad_headers() {
    let limits = Limits::default();
    assert_eq!(
        quic::decode(b"ZL  \0\0\0\0", &limits),
        Err(DecodeError::BadMagic { expected: quic::MAGIC, found: u32::from_le_bytes(*b"ZL  ") })
    );
    assert!(matches!(quic::decode(b"QUIC\0\0", &limits), Err(DecodeError::Truncated { .. })));
    assert!(matches!(quic::decode(&[], &limits), Err(DecodeError::Truncated { .. })));
    assert_eq!(quic::decode(&header_bytes(0, 4, 4), &limits), Err(DecodeError::UnknownFormat(0)));
    assert_eq!(quic::decode(&header_bytes(6, 4, 4), &limits), Err(DecodeError::UnknownFormat(6)));
    assert_eq!(quic::decode(&header_bytes(4, 0, 4), &limits), Err(DecodeError::EmptyImage));
    assert_eq!(quic::decode(&header_bytes(4, 9000, 4), &limits), Err(DecodeError::TooLarge { width: 9000, height: 4 }));
    assert_eq!(
        quic::decode(&header_bytes(4, 8192, 8192), &limits),
        Err(DecodeError::TooLarge { width: 8192, height: 8192 })
    );
    let mut v1 = header_bytes(4, 4, 4);
    v1[4] = 1;
    assert_eq!(quic::decode(&v1, &limits), Err(DecodeError::Unsupported("QUIC version")));
    // A tiny stream claiming a big image is refused before allocating.
    let mut big = header_bytes(4, 8192, 2048);
    big.extend([0u8; 64]);
    assert!(matches!(quic::decode(&big, &limits), Err(DecodeError::Truncated { .. })));
}

#[test]
fn truncation_is_reported_not_zero_filled() {
    let rows = expected();
    let (file, ..) = &rows[0];
    let data = std::fs::read(file).unwrap();
    assert!(quic::decode(&data, &Limits::default()).is_ok());
    // The encoder pads with at least 33 zero bits, so dropping the last
    // word still decodes; dropping a quarter of the stream must not.
    for keep in [data.len() * 3 / 4, data.len() / 2, 64, 24] {
        let e = quic::decode(&data[..keep], &Limits::default()).unwrap_err();
        assert!(matches!(e, DecodeError::Truncated { .. } | DecodeError::Corrupt(_)), "{keep}: {e}");
    }
}
