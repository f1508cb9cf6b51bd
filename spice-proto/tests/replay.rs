//! Whole recorded sessions replayed through the session: the final primary
//! surface must equal the server's own screendump pixel for pixel, however
//! TCP split the bytes.

mod common;

use spice_proto::capture::replay::{replay, ReplayOptions};
use spice_proto::session::Event;

/// Replays `name` and returns (our frame, the server's frame, width), or
/// None when the captures are not available.
fn replay_frame(name: &str, fragments: Option<(usize, u64)>) -> Option<(Vec<u32>, Vec<u32>, u32)> {
    let dir = common::captures_dir()?;
    let file = std::fs::read(dir.join(format!("{name}.pcapng"))).unwrap();
    let options = ReplayOptions { fragments, ..Default::default() };
    let (session, report) = replay(&file, &options, &mut || 0).unwrap();
    let errors: Vec<_> = report.events.iter().filter(|e| matches!(e, Event::DrawError(_))).collect();
    assert!(errors.is_empty(), "{name}: draw errors {errors:?}");
    let primary = session.canvas().primary().expect("a primary surface");
    let (w, h, want) = common::load_png(&dir.join(format!("{name}.server.png")));
    assert_eq!((primary.width(), primary.height()), (w, h), "{name}: size");
    Some((primary.data().iter().map(|p| p & 0xff_ffff).collect(), want, w))
}

/// Every lossless session must end exactly on the server's frame.
#[test]
fn every_lossless_capture_ends_on_the_server_frame() {
    let names = [
        "off",
        "quic",
        "lz",
        "glz",
        "auto_glz",
        "password",
        "glz-anim",
        "auto_glz-anim",
        "lz-anim",
        "lz4-anim",
        "zlib-anim",
        "stream-anim",
        "qxl-drm-anim",
        "input-glz",
        "stream-mjpeg",
    ];
    for name in names {
        let Some((got, want, w)) = replay_frame(name, None) else {
            println!("NOTE: shared/captures not found; skipping");
            return;
        };
        let diff = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        let first = got.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(diff, 0, "{name}: {diff} pixels differ, first at {:?}", first.map(|i| (i as u32 % w, i as u32 / w)));
    }
}

/// jpeg-anim is lossy: spice-gtk (libjpeg-turbo) ends at 37.4 dB PSNR
/// against the server; zune-jpeg's chroma upsampling rounds twice.
#[test]
fn lossy_jpeg_capture_is_within_psnr() {
    let Some((got, want, _)) = replay_frame("jpeg-anim", None) else { return };
    let mut se = 0f64;
    for (a, b) in got.iter().zip(&want) {
        for shift in [0, 8, 16] {
            let d = f64::from((a >> shift) & 0xff) - f64::from((b >> shift) & 0xff);
            se += d * d;
        }
    }
    let mse = se / (got.len() * 3) as f64;
    let psnr = 10.0 * (255.0 * 255.0 / mse).log10();
    assert!(psnr >= 37.0, "jpeg-anim PSNR {psnr:.2} dB");
}

/// Fragmented delivery must give the identical frame.
#[test]
fn anim_sessions_in_random_fragments() {
    for (name, seed) in [("glz-anim", 3), ("auto_glz-anim", 4), ("lz4-anim", 5)] {
        let Some((got, want, _)) = replay_frame(name, Some((1500, seed))) else { return };
        assert!(got == want, "{name}: fragmented replay differs from the server frame");
    }
}

/// Replays `name` from the shared captures and compares with its
/// `.server.png`. Returns false when the captures are not available.
fn check_lossless(name: &str, fragments: Option<(usize, u64)>) -> bool {
    let Some(dir) = common::captures_dir() else {
        println!("NOTE: shared/captures not found; skipping {name}");
        return false;
    };
    let file = std::fs::read(dir.join(format!("{name}.pcapng"))).unwrap();
    let options = ReplayOptions { fragments, ..Default::default() };
    let (session, report) = replay(&file, &options, &mut || 0).unwrap();
    let errors: Vec<_> = report.events.iter().filter(|e| matches!(e, Event::DrawError(_))).collect();
    assert!(errors.is_empty(), "{name}: draw errors {errors:?}");
    assert!(report.events.contains(&Event::Mark), "{name}: no MARK");
    let primary = session.canvas().primary().expect("a primary surface");
    let (w, h, want) = common::load_png(&dir.join(format!("{name}.server.png")));
    assert_eq!((primary.width(), primary.height()), (w, h), "{name}: size");
    let got = primary.data();
    let diff = got.iter().zip(&want).filter(|(a, b)| (**a & 0xff_ffff) != **b).count();
    if diff > 0 {
        let first = got.iter().zip(&want).position(|(a, b)| (*a & 0xff_ffff) != *b).unwrap();
        panic!(
            "{name}: {diff} pixels differ; first at ({}, {}): got {:06x} want {:06x}",
            first as u32 % w,
            first as u32 / w,
            got[first] & 0xff_ffff,
            want[first]
        );
    }
    true
}

#[test]
fn off_bitmap_session_ends_on_the_server_frame() {
    check_lossless("off", None);
}

#[test]
fn off_bitmap_session_in_random_fragments() {
    for seed in [1, 2] {
        check_lossless("off", Some((1500, seed)));
    }
}
