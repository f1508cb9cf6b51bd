//! LZ_RGB and LZ_PLT: hand-made streams for every type and match form, the
//! error cases, copied lz-anim strips against a crop of the server's final
//! frame, and mutations of real streams.

mod common;

use std::path::Path;

use common::XorShift;
use spice_proto::decode::lz::{self, Format, Header};
use spice_proto::decode::{DecodeError, Limits};

fn hdr(t: Format, w: u32, h: u32, top_down: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [lz::MAGIC, lz::VERSION, t as u32, w, h, t.row_bytes(w) as u32, top_down as u32] {
        v.extend_from_slice(&word.to_be_bytes());
    }
    v
}

/// Literal run of 24/32-bit pixels.
fn lit(px: &[u32]) -> Vec<u8> {
    let mut v = vec![(px.len() - 1) as u8];
    for p in px {
        v.extend_from_slice(&p.to_le_bytes()[..3]);
    }
    v
}

/// Literal run of raw units (palette indices, alpha, 16-bit pairs).
fn raw(units: usize, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![(units - 1) as u8];
    v.extend_from_slice(bytes);
    v
}

/// A match of `len` units (including the type's bias) `dist` units back.
fn mat(len: usize, bias: usize, dist: usize) -> Vec<u8> {
    let l = len - bias;
    let d = dist - 1;
    let mut v = Vec::new();
    let top = if l < 6 { l + 1 } else { 7 } as u8;
    let near = d < 8191;
    v.push(top << 5 | if near { (d >> 8) as u8 } else { 31 });
    if l >= 6 {
        let mut e = l - 6;
        while e >= 255 {
            v.push(255);
            e -= 255;
        }
        v.push(e as u8);
    }
    if near {
        v.push(d as u8);
    } else {
        v.push(255);
        v.extend_from_slice(&((d - 8191) as u16).to_be_bytes());
    }
    v
}

fn stream(head: Vec<u8>, parts: &[Vec<u8>]) -> Vec<u8> {
    parts.iter().fold(head, |mut v, p| {
        v.extend_from_slice(p);
        v
    })
}

fn l() -> Limits {
    Limits::default()
}

const PAL: [u32; 16] = [
    0xff000000, 0xffffff, 0xff0000, 0x00ff00, 0x0000ff, 0x111111, 0x222222, 0x333333, 0x444444, 0x555555, 0x666666,
    0x777777, 0x888888, 0x999999, 0xaaaaaa, 0xbbbbbb,
];

#[test]
fn header_is_exposed() {
    let s = hdr(Format::Rgb24, 5, 7, false);
    assert_eq!(
        lz::header(&s).unwrap(),
        Header { image_type: Format::Rgb24, width: 5, height: 7, stride: 15, top_down: false }
    );
}

#[test]
fn rgb32_literals_runs_and_matches_both_orientations() {
    let (a, b, c) = (0x010203, 0x0a0b0c, 0xfffefd);
    let parts = [lit(&[a, b, c]), mat(3, 1, 1), mat(2, 1, 5)];
    let p = lz::decode(&stream(hdr(Format::Rgb32, 4, 2, true), &parts), None, &l()).unwrap();
    assert_eq!(p.data, vec![a, b, c, c, c, c, b, c]);
    assert!(!p.has_alpha && p.width == 4 && p.height == 2);
    // Bottom-up: the stream's first row is the bottom one.
    let p = lz::decode(&stream(hdr(Format::Rgb32, 4, 2, false), &parts), None, &l()).unwrap();
    assert_eq!(p.data, vec![c, c, b, c, a, b, c, c]);
    // RGB24 is coded the same way.
    let p = lz::decode(&stream(hdr(Format::Rgb24, 4, 2, true), &parts), None, &l()).unwrap();
    assert_eq!(p.data, vec![a, b, c, c, c, c, b, c]);
}

#[test]
fn overlapping_matches_repeat_the_pattern() {
    // Period 3 over a long length (extension bytes), then period 1.
    let n = 3 + 700 + 5;
    let parts = [lit(&[1, 2, 3]), mat(700, 1, 3), mat(5, 1, 1)];
    let p = lz::decode(&stream(hdr(Format::Rgb32, n as u32, 1, true), &parts), None, &l()).unwrap();
    let mut want: Vec<u32> = (0..703).map(|i| [1, 2, 3][i % 3]).collect();
    want.extend([want[702]; 5]);
    assert_eq!(p.data, want);
}

#[test]
fn far_distances() {
    // Two pixels, a period-2 fill to 8200 pixels, then a copy 8200 back
    // (past the near range of 8191) and one at the far limit.
    let far_max = 65535 + 8191 + 1;
    // 1000 x 74 = far_max + 3 + 270 pixels.
    let parts = [lit(&[7, 9]), mat(far_max - 2, 1, 2), mat(3, 1, far_max), mat(270, 1, 1)];
    let p = lz::decode(&stream(hdr(Format::Rgb32, 1000, 74, true), &parts), None, &l()).unwrap();
    assert_eq!(&p.data[far_max..far_max + 4], &[7, 9, 7, 7]);
    let parts = [lit(&[7, 9]), mat(8198, 1, 2), mat(3, 1, 8200), mat(1, 1, 1)];
    let p = lz::decode(&stream(hdr(Format::Rgb32, 4102, 2, true), &parts), None, &l()).unwrap();
    assert_eq!(&p.data[8200..], &[7, 9, 7, 7]);
    assert_eq!(mat(3, 1, 8200)[1], 255);
}

#[test]
fn rgb16_rgba_and_alpha_only() {
    // RGB16: big-endian 555 widened by bit replication, length bias 2.
    let parts = [raw(2, &[0x7f, 0xff, 0x04, 0x21]), mat(2, 2, 1)];
    let p = lz::decode(&stream(hdr(Format::Rgb16, 4, 1, true), &parts), None, &l()).unwrap();
    assert_eq!(p.data, vec![0xffffff, 0x080808, 0x080808, 0x080808]);
    // RGBA: colour stream, then an alpha stream (bias 3) over the same pixels.
    let parts = [lit(&[1, 2, 3, 4]), raw(1, &[0x40]), mat(3, 3, 1)];
    let p = lz::decode(&stream(hdr(Format::Rgba, 2, 2, true), &parts), None, &l()).unwrap();
    assert!(p.has_alpha);
    assert_eq!(p.data, vec![0x4000_0001, 0x4000_0002, 0x4000_0003, 0x4000_0004]);
    // A bottom-up RGBA flips colour and alpha together.
    let parts = [lit(&[1, 2, 3, 4]), raw(4, &[1, 2, 3, 4])];
    let p = lz::decode(&stream(hdr(Format::Rgba, 2, 2, false), &parts), None, &l()).unwrap();
    assert_eq!(p.data, vec![0x0300_0003, 0x0400_0004, 0x0100_0001, 0x0200_0002]);
    // XXXA and A8: alpha only.
    for t in [Format::Xxxa, Format::A8] {
        let parts = [raw(2, &[9, 8]), mat(3, 3, 2)];
        let p = lz::decode(&stream(hdr(t, 5, 1, true), &parts), None, &l()).unwrap();
        assert_eq!(p.data, [9, 8, 9, 8, 9].map(|a: u32| a << 24));
        assert!(p.has_alpha);
    }
}

#[test]
fn palette_types() {
    // PLT8, with a match of 3 (the palette bias).
    let parts = [raw(2, &[2, 15]), mat(3, 3, 2)];
    let p = lz::decode(&stream(hdr(Format::Plt8, 5, 1, true), &parts), Some(&PAL), &l()).unwrap();
    assert_eq!(p.data, vec![0xff0000, 0xbbbbbb, 0xff0000, 0xbbbbbb, 0xff0000]);
    // PLT4, width 3 (2 bytes a row, the last nibble is padding), 2 rows bottom-up.
    let bytes = [0x23, 0x4f, 0x56, 0x7f];
    let p = lz::decode(&stream(hdr(Format::Plt4Be, 3, 2, false), &[raw(4, &bytes)]), Some(&PAL[..8]), &l());
    assert_eq!(p.unwrap().data, vec![0x111111, 0x222222, 0x333333, 0xff0000, 0x00ff00, 0x0000ff]);
    let bytes = [0x32, 0xf4, 0x65, 0xf7];
    let p = lz::decode(&stream(hdr(Format::Plt4Le, 3, 2, true), &[raw(4, &bytes)]), Some(&PAL[..8]), &l());
    assert_eq!(p.unwrap().data, vec![0xff0000, 0x00ff00, 0x0000ff, 0x111111, 0x222222, 0x333333]);
    // PLT1, width 10 (2 bytes a row).
    let white = 0xffffff;
    let p =
        lz::decode(&stream(hdr(Format::Plt1Be, 10, 1, true), &[raw(2, &[0b1010_0000, 0b0100_0000])]), Some(&PAL), &l());
    assert_eq!(p.unwrap().data, vec![white, 0, white, 0, 0, 0, 0, 0, 0, white]);
    let p =
        lz::decode(&stream(hdr(Format::Plt1Le, 10, 1, true), &[raw(2, &[0b0000_0101, 0b0000_0010])]), Some(&PAL), &l());
    assert_eq!(p.unwrap().data, vec![white, 0, white, 0, 0, 0, 0, 0, 0, white]);
    // Indices beyond the palette, or no palette.
    let s = stream(hdr(Format::Plt8, 2, 1, true), &[raw(2, &[1, 16])]);
    assert_eq!(lz::decode(&s, Some(&PAL), &l()).unwrap_err(), DecodeError::MissingPalette { need: 17, have: 16 });
    assert_eq!(lz::decode(&s, None, &l()).unwrap_err(), DecodeError::MissingPalette { need: 17, have: 0 });
    let s = stream(hdr(Format::Plt1Be, 8, 1, true), &[raw(1, &[0])]);
    assert_eq!(lz::decode(&s, Some(&PAL[..1]), &l()).unwrap_err(), DecodeError::MissingPalette { need: 2, have: 1 });
    // The padding nibble is not a pixel: index 15 there needs no entry 15.
    let s = stream(hdr(Format::Plt4Be, 1, 1, true), &[raw(1, &[0x1f])]);
    assert_eq!(lz::decode(&s, Some(&PAL[..2]), &l()).unwrap().data, vec![0xffffff]);
}

#[test]
fn errors_are_typed() {
    let ok = stream(hdr(Format::Rgb32, 2, 1, true), &[lit(&[1, 2])]);
    assert!(lz::decode(&ok, None, &l()).is_ok());
    let e = |s: &[u8]| lz::decode(s, None, &l()).unwrap_err();
    let mut bad = ok.clone();
    bad[0] = b'Q';
    assert_eq!(e(&bad), DecodeError::BadMagic { expected: lz::MAGIC, found: 0x5120_5a4c });
    assert_eq!(e(&ok[..27]), DecodeError::Truncated { what: "LZ header", need: 28, have: 27 });
    assert_eq!(e(&ok[..30]), DecodeError::Truncated { what: "LZ data", need: 35, have: 30 });
    assert_eq!(e(&ok[..28]), DecodeError::Truncated { what: "LZ data", need: 29, have: 28 });
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(matches!(e(&trailing), DecodeError::Corrupt(_)));
    let mut ver = ok.clone();
    ver[5] = 2;
    assert!(matches!(e(&ver), DecodeError::Unsupported(_)));
    let mut ty = ok.clone();
    ty[11] = 12;
    assert_eq!(e(&ty), DecodeError::UnknownFormat(12));
    ty[11] = 0;
    assert_eq!(e(&ty), DecodeError::UnknownFormat(0));
    let mut stride = ok.clone();
    stride[23] = 7;
    assert_eq!(e(&stride), DecodeError::BadStride { stride: 7, row_bytes: 8 });
    stride[23] = 12;
    assert!(matches!(e(&stride), DecodeError::Corrupt(_)));
    let back = stream(hdr(Format::Rgb32, 4, 1, true), &[lit(&[1]), mat(3, 1, 2)]);
    assert_eq!(e(&back), DecodeError::BadReference { distance: 2, available: 1 });
    let first = stream(hdr(Format::Rgb32, 4, 1, true), &[mat(4, 1, 1)]);
    assert_eq!(e(&first), DecodeError::BadReference { distance: 1, available: 0 });
    let long = stream(hdr(Format::Rgb32, 4, 1, true), &[lit(&[1]), mat(4, 1, 1)]);
    assert!(matches!(e(&long), DecodeError::Corrupt(_)));
    let overrun = stream(hdr(Format::Rgb32, 2, 1, true), &[lit(&[1, 2, 3])]);
    assert!(matches!(e(&overrun), DecodeError::Corrupt(_)));
    let big = hdr(Format::Rgb32, 8192, 8192, true);
    assert_eq!(e(&big), DecodeError::TooLarge { width: 8192, height: 8192 });
    assert_eq!(e(&hdr(Format::Rgb32, 0, 1, true)), DecodeError::EmptyImage);
    let wide = hdr(Format::Plt1Be, u32::MAX, 1, true);
    assert!(lz::decode(&wide, Some(&PAL), &l()).is_err());
}

#[test]
fn copied_lz_anim_strips_match_the_server() {
    // The last 8 strips of lz-anim: the right quarter of the final band.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors");
    let text = std::fs::read_to_string(dir.join("lz-anim/index.tsv")).unwrap();
    let (w, h, want) = common::load_png(&dir.join("band-560-768.png"));
    assert_eq!((w, h), (256, 128));
    let mut got = vec![0u32; 256 * 128];
    let mut n = 0;
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let p = lz::decode(&std::fs::read(dir.join("lz-anim").join(c[1])).unwrap(), None, &l()).unwrap();
        assert_eq!((p.width.to_string(), p.height.to_string()), (c[5].to_string(), c[6].to_string()));
        // box_top 560, box_left c[13]
        let left: usize = c[13].parse::<usize>().unwrap() - 768;
        for y in 0..128 {
            got[y * 256 + left..y * 256 + left + 32].copy_from_slice(&p.data[y * 32..y * 32 + 32]);
        }
        n += 1;
    }
    assert_eq!(n, 8);
    let got: Vec<u32> = got.iter().map(|p| p & 0xffffff).collect();
    assert_eq!(got.iter().zip(&want).position(|(a, b)| a != b), None);
}

#[test]
fn mutated_lz_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors/lz-anim");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    // Small synthetic streams of every type too.
    for t in 1..=11 {
        let t = Format::from_u32(t).unwrap();
        files.push(stream(
            hdr(t, 9, 3, (t as u32).is_multiple_of(2)),
            &[raw(4, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), mat(6, 1, 2)],
        ));
    }
    let mut rng = XorShift(0x4c5a_4c5a);
    let limits = Limits { max_pixels: 1 << 20, max_side: 4096 };
    for _ in 0..4000 {
        let f = &files[rng.range(0, files.len() - 1)];
        let mut m = f.clone();
        for _ in 0..rng.range(1, 4) {
            let i = rng.range(0, m.len() - 1);
            m[i] ^= 1 << rng.range(0, 7);
        }
        if rng.range(0, 4) == 0 {
            m.truncate(rng.range(0, m.len()));
        }
        if let Ok(p) = lz::decode(&m, Some(&PAL), &limits) {
            assert_eq!(p.data.len(), p.width as usize * p.height as usize);
        }
    }
}
