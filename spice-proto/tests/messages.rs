//! The typed message layer against real traffic: every server → client
//! message of every capture parses, every client → server message parses
//! and re-emits to the same bytes, DRAW_COPY image types match the capture
//! README, and mangled real bodies never panic a parser.
//!
//! tests/data/msg/ holds a few real bodies (extracted from shared/captures)
//! so that each image type is covered from a plain clone too.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{analyze, XorShift};
use spice_proto::capture::reassemble;
use spice_proto::consts::{BitmapFormat, ChannelType, ImageType};
use spice_proto::framing::MessageReader;
use spice_proto::msg::display::DisplayMessage;
use spice_proto::msg::draw::{ropd, Clip};
use spice_proto::msg::image::{Image, ImageData};
use spice_proto::msg::{ClientMessage, ServerMessage};

const JPEG_ANIM: &[u8] = include_bytes!("data/jpeg-anim.pcapng");

fn image_type_name(t: ImageType) -> &'static str {
    match t {
        ImageType::Bitmap => "BITMAP",
        ImageType::Quic => "QUIC",
        ImageType::Reserved => "RESERVED",
        ImageType::LzPlt => "LZ_PLT",
        ImageType::LzRgb => "LZ_RGB",
        ImageType::GlzRgb => "GLZ_RGB",
        ImageType::FromCache => "FROM_CACHE",
        ImageType::Surface => "SURFACE",
        ImageType::Jpeg => "JPEG",
        ImageType::FromCacheLossless => "FROM_CACHE_LOSSLESS",
        ImageType::ZlibGlzRgb => "ZLIB_GLZ_RGB",
        ImageType::JpegAlpha => "JPEG_ALPHA",
        ImageType::Lz4 => "LZ4",
        ImageType::Unknown(_) => "UNKNOWN",
    }
}

/// Checks that a payload starts the way its format does, which proves the
/// zero-copy slice starts at the right byte.
fn check_payload(image: &Image<'_>, what: &str) {
    let d = &image.descriptor;
    match image.data {
        ImageData::Bitmap(b) => {
            assert_eq!((b.width, b.height), (d.width, d.height), "{what}");
            assert_eq!(b.data.len() as u64, u64::from(b.stride) * u64::from(b.height), "{what}");
            if b.format == BitmapFormat::ThirtyTwoBit {
                assert!(u64::from(b.stride) >= u64::from(b.width) * 4, "{what}");
            }
        }
        // LZ and GLZ headers are big-endian: magic "  ZL", version 1.1.
        ImageData::LzRgb(p) | ImageData::GlzRgb(p) => assert_eq!(&p[..8], b"  ZL\0\x01\0\x01", "{what}"),
        ImageData::Quic(p) => assert_eq!(&p[..4], b"QUIC", "{what}"),
        ImageData::Jpeg(p) => assert_eq!(&p[..2], &[0xff, 0xd8], "{what}"),
        // top_down, format, then the first block's big-endian length.
        ImageData::Lz4(p) => {
            assert!(p.len() >= 6, "{what}");
            let first = u32::from_be_bytes(p[2..6].try_into().unwrap()) as usize;
            assert!(first > 0 && 6 + first <= p.len(), "{what}");
        }
        ImageData::ZlibGlzRgb { glz_data_size, data } => {
            assert_eq!(data[0] & 0x0f, 8, "{what}: zlib deflate header");
            assert!(glz_data_size as usize > 0, "{what}");
        }
        _ => {}
    }
}

#[derive(Default, Debug)]
struct Stats {
    /// DRAW_COPY source image types.
    images: BTreeMap<&'static str, usize>,
    /// Server messages parsed, per channel.
    s2c: BTreeMap<&'static str, usize>,
    /// Client messages parsed and re-emitted, per channel.
    c2s: BTreeMap<&'static str, usize>,
    draws_with_clip_rects: usize,
}

impl Stats {
    fn images_str(&self) -> String {
        self.images.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(" ")
    }
}

fn walk(name: &str, file: &[u8]) -> Stats {
    let mut stats = Stats::default();
    let conns = reassemble(file).unwrap_or_else(|e| panic!("{name}: {e}"));
    for c in &conns {
        let r = analyze(c.server_port(), &c.client_to_server, &c.server_to_client)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ch = r.channel();
        let known = matches!(
            ch,
            ChannelType::Main
                | ChannelType::Display
                | ChannelType::Inputs
                | ChannelType::Cursor
                | ChannelType::Playback
                | ChannelType::Record
        );
        let mut surfaces: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut reader = MessageReader::new(r.header);
        reader
            .feed_all(&c.server_to_client[r.s2c_start..], |m| {
                let what = format!("{name} {} s2c type {} serial {}", ch.name(), m.msg_type, m.serial);
                let parsed = ServerMessage::parse(ch, m.msg_type, m.body).unwrap_or_else(|e| panic!("{what}: {e}"));
                *stats.s2c.entry(ch.name()).or_default() += 1;
                if known {
                    assert!(!matches!(parsed, ServerMessage::Unknown { .. }), "{what}: not recognised");
                }
                let ServerMessage::Display(d) = parsed else { return };
                if let DisplayMessage::SurfaceCreate(sc) = &d {
                    surfaces.insert(sc.surface_id, (sc.width, sc.height));
                }
                if let Some(base) = d.display_base() {
                    let &(w, h) =
                        surfaces.get(&base.surface_id).unwrap_or_else(|| panic!("{what}: draw on unknown surface"));
                    assert!(base.bbox.is_inside(w, h), "{what}: box {:?} outside {w}x{h}", base.bbox);
                    if let Clip::Rects(rects) = &base.clip {
                        stats.draws_with_clip_rects += 1;
                        assert!(rects.iter().all(|r| r.is_inside(w, h)), "{what}");
                    }
                }
                if let DisplayMessage::DrawCopy(dc) = &d {
                    let img = dc.src_bitmap.as_ref().unwrap_or_else(|| panic!("{what}: no source"));
                    *stats.images.entry(image_type_name(img.descriptor.image_type)).or_default() += 1;
                    assert!(dc.src_area.is_inside(img.descriptor.width, img.descriptor.height), "{what}");
                    assert_eq!(dc.rop_descriptor, ropd::OP_PUT, "{what}");
                    assert_eq!(dc.mask.bitmap, None, "{what}");
                    check_payload(img, &what);
                }
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        let mut reader = MessageReader::new(r.header);
        reader
            .feed_all(&c.client_to_server[r.c2s_start..], |m| {
                let what = format!("{name} {} c2s type {}", ch.name(), m.msg_type);
                let parsed = ClientMessage::parse(ch, m.msg_type, m.body).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(!matches!(parsed, ClientMessage::Unknown { .. }), "{what}: not recognised");
                assert_eq!(parsed.msg_type(), m.msg_type, "{what}");
                assert_eq!(parsed.to_vec(), m.body, "{what}: re-emitted bytes differ");
                *stats.c2s.entry(ch.name()).or_default() += 1;
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    stats
}

/// Image types per capture, from shared/captures/README.txt (one DRAW_COPY
/// per image).
fn readme_images(name: &str) -> Option<&'static str> {
    Some(match name {
        "off" => "BITMAP:1",
        "quic" | "auto_glz" => "QUIC:1",
        "lz" | "glz" | "password" => "LZ_RGB:1",
        "glz-anim" => "GLZ_RGB:158 LZ_RGB:1",
        "auto_glz-anim" => "GLZ_RGB:29 LZ_RGB:1 QUIC:128",
        "lz-anim" => "LZ_RGB:225",
        "lz4-anim" => "BITMAP:109 LZ4:49",
        "jpeg-anim" => "BITMAP:1 GLZ_RGB:66 JPEG:161 LZ_RGB:1",
        "zlib-anim" => "GLZ_RGB:35 LZ_RGB:1 QUIC:146 ZLIB_GLZ_RGB:28",
        "stream-anim" => "GLZ_RGB:83 LZ_RGB:1 QUIC:503",
        "qxl-drm-anim" => "GLZ_RGB:1 LZ_RGB:1 QUIC:3",
        _ => return None,
    })
}

#[test]
fn jpeg_anim_every_message_parses() {
    let stats = walk("jpeg-anim", JPEG_ANIM);
    println!("{stats:?}");
    assert_eq!(stats.images_str(), readme_images("jpeg-anim").unwrap());
    assert_eq!(stats.s2c.get("cursor"), Some(&4)); // SET_ACK, 2 PINGs, INIT
    assert_eq!(stats.c2s.get("inputs"), Some(&4)); // 2 PONGs, 2 KEY_MODIFIERS
}

#[test]
fn every_shared_capture_every_message_parses() {
    let Some(dir) = common::captures_dir() else {
        println!("NOTE: shared/captures not found; skipping (tests/data covers jpeg-anim and tests/data/msg)");
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcapng"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut checked = 0;
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let stats = walk(&name, &std::fs::read(&path).unwrap());
        println!(
            "{name}: images [{}] clip-rect draws {} s2c {:?} c2s {:?}",
            stats.images_str(),
            stats.draws_with_clip_rects,
            stats.s2c,
            stats.c2s
        );
        if let Some(expect) = readme_images(&name) {
            assert_eq!(stats.images_str(), expect, "{name}");
            checked += 1;
        }
        match name.as_str() {
            // Counted by this crate (the README gives no image list for these).
            "input-glz" => assert_eq!(stats.images_str(), "GLZ_RGB:2286 LZ_RGB:1"),
            "stream-mjpeg" => assert_eq!(stats.images_str(), "GLZ_RGB:391 LZ_RGB:1 QUIC:1504"),
            "playback-raw" => assert_eq!(stats.images_str(), "GLZ_RGB:400 LZ_RGB:1 QUIC:736"),
            _ => {}
        }
    }
    assert_eq!(checked, 14, "every README capture was checked");
}

/// Real bodies in tests/data/msg: (file, channel, message type).
const FIXTURES: &[(&str, ChannelType, u16)] = &[
    ("display-draw_copy-bitmap.bin", ChannelType::Display, 304),
    ("display-draw_copy-lz_rgb.bin", ChannelType::Display, 304),
    ("display-draw_copy-glz_rgb.bin", ChannelType::Display, 304),
    ("display-draw_copy-quic.bin", ChannelType::Display, 304),
    ("display-draw_copy-jpeg.bin", ChannelType::Display, 304),
    ("display-draw_copy-lz4.bin", ChannelType::Display, 304),
    ("display-draw_copy-zlib_glz_rgb.bin", ChannelType::Display, 304),
    ("display-draw_copy-clip_rects.bin", ChannelType::Display, 304),
    ("display-stream_data.bin", ChannelType::Display, 123),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/msg").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn draw_copy_image(body: &[u8]) -> Image<'_> {
    let Ok(ServerMessage::Display(DisplayMessage::DrawCopy(dc))) =
        ServerMessage::parse(ChannelType::Display, 304, body)
    else {
        panic!("not a DRAW_COPY")
    };
    dc.src_bitmap.unwrap()
}

#[test]
fn real_draw_copy_fixtures() {
    for (file, t) in [
        ("display-draw_copy-bitmap.bin", ImageType::Bitmap),
        ("display-draw_copy-lz_rgb.bin", ImageType::LzRgb),
        ("display-draw_copy-glz_rgb.bin", ImageType::GlzRgb),
        ("display-draw_copy-quic.bin", ImageType::Quic),
        ("display-draw_copy-jpeg.bin", ImageType::Jpeg),
        ("display-draw_copy-lz4.bin", ImageType::Lz4),
        ("display-draw_copy-zlib_glz_rgb.bin", ImageType::ZlibGlzRgb),
    ] {
        let body = fixture(file);
        let img = draw_copy_image(&body);
        assert_eq!(img.descriptor.image_type, t, "{file}");
        check_payload(&img, file);
        // The payload is the tail of the body: nothing is left over or copied.
        let payload = img.payload().unwrap();
        assert_eq!(payload.as_ptr_range().end, body.as_ptr_range().end, "{file}");
    }
    // The QXL driver's draws carry clip rectangles.
    let body = fixture("display-draw_copy-clip_rects.bin");
    let Ok(ServerMessage::Display(DisplayMessage::DrawCopy(dc))) =
        ServerMessage::parse(ChannelType::Display, 304, &body)
    else {
        panic!()
    };
    let Clip::Rects(rects) = &dc.base.clip else { panic!("expected clip rects") };
    assert!(!rects.is_empty());
    assert!(rects.iter().all(|r| !r.is_empty() && r.is_inside(1024, 768)));
    // MJPEG frame.
    let body = fixture("display-stream_data.bin");
    let Ok(ServerMessage::Display(DisplayMessage::StreamData(sd))) =
        ServerMessage::parse(ChannelType::Display, 123, &body)
    else {
        panic!()
    };
    assert_eq!(&sd.data[..2], &[0xff, 0xd8]);
    assert_eq!(sd.data.len() + 12, body.len());
}

/// Every real fixture, truncated anywhere and with random bytes changed,
/// parses to a value or a typed error, never a panic.
#[test]
fn mangled_real_bodies_never_panic() {
    let mut bodies: Vec<(ChannelType, u16, Vec<u8>)> =
        FIXTURES.iter().map(|(f, ch, t)| (*ch, *t, fixture(f))).collect();
    // Plus one body of every type in jpeg-anim.
    for c in reassemble(JPEG_ANIM).unwrap() {
        let r = analyze(c.server_port(), &c.client_to_server, &c.server_to_client).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        MessageReader::new(r.header)
            .feed_all(&c.server_to_client[r.s2c_start..], |m| {
                if seen.insert(m.msg_type) && m.body.len() < 100_000 {
                    bodies.push((r.channel(), m.msg_type, m.body.to_vec()));
                }
            })
            .unwrap();
    }
    let mut rng = XorShift(0x5eed_1234);
    let mut errors = 0usize;
    for (ch, t, body) in &bodies {
        for cut in 0..body.len().min(300) {
            if ServerMessage::parse(*ch, *t, &body[..cut]).is_err() {
                errors += 1;
            }
        }
        for _ in 0..300 {
            let mut m = body.clone();
            for _ in 0..rng.range(1, 4) {
                // Mostly hit the fixed part, where counts and pointers live.
                let end = if rng.next().is_multiple_of(4) { m.len() } else { m.len().min(96) };
                let i = rng.range(0, end.saturating_sub(1));
                if let Some(b) = m.get_mut(i) {
                    *b = rng.next() as u8;
                }
            }
            let cut = rng.range(0, m.len());
            for body in [&m[..], &m[..cut]] {
                if let Err(e) = ServerMessage::parse(*ch, *t, body) {
                    errors += 1;
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
    assert!(errors > 1000, "mutations should hit errors ({errors})");
}

#[test]
fn random_bodies_never_panic() {
    let mut rng = XorShift(42);
    let channels = [
        ChannelType::Main,
        ChannelType::Display,
        ChannelType::Inputs,
        ChannelType::Cursor,
        ChannelType::Playback,
        ChannelType::Record,
    ];
    for _ in 0..3000 {
        let n = rng.range(0, 200);
        let mut body: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        // Small pointers and counts are more interesting than random ones.
        for b in body.iter_mut() {
            if rng.next().is_multiple_of(3) {
                *b = (rng.next() % 4) as u8;
            }
        }
        for ch in channels {
            for t in (1..=8).chain(101..=125).chain(302..=322) {
                let _ = ServerMessage::parse(ch, t, &body);
                let _ = ClientMessage::parse(ch, t, &body);
            }
        }
    }
}
