//! Whole recorded sessions replayed through the session: the final primary
//! surface must equal the server's own screendump pixel for pixel, however
//! TCP split the bytes.

mod common;

use spice_proto::capture::replay::{replay, ReplayOptions};
use spice_proto::session::Event;

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
