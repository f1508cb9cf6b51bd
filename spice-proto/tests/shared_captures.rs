//! Every capture in shared/captures (when present): reassemble, link, frame
//! to the end of every stream, print the per-channel message table.

mod common;

use common::ChannelReport;
use common::{analyze, table};
use spice_proto::capture::reassemble;
use spice_proto::consts::msg::{base, display, inputs, playback};
use spice_proto::consts::ChannelType;

fn find(reports: &[ChannelReport], ch: ChannelType) -> &ChannelReport {
    reports.iter().find(|r| r.channel() == ch).unwrap()
}

/// Counts checked by hand against the README's image counts (one DRAW_COPY
/// per image) and the capture scripts.
fn check_known_counts(name: &str, reports: &[ChannelReport]) {
    let draw_copies = |n| {
        assert_eq!(find(reports, ChannelType::Display).s2c_count(display::server::DRAW_COPY), n, "{name}");
    };
    match name {
        "off" | "quic" | "lz" | "glz" | "auto_glz" | "password" => {
            assert_eq!(reports.len(), 2, "{name}: main + display");
            draw_copies(1);
            let d = find(reports, ChannelType::Display);
            assert_eq!(
                d.s2c_frames, 6,
                "{name}: SET_ACK INVAL_ALL_PALETTES SURFACE_CREATE DRAW_COPY MONITORS_CONFIG MARK"
            );
        }
        "glz-anim" => draw_copies(159),
        "auto_glz-anim" => draw_copies(158),
        "lz-anim" => draw_copies(225),
        "lz4-anim" => draw_copies(158),
        "jpeg-anim" => draw_copies(229),
        "zlib-anim" => draw_copies(210),
        "stream-anim" => draw_copies(587),
        "qxl-drm-anim" => draw_copies(5),
        "stream-mjpeg" => {
            let d = find(reports, ChannelType::Display);
            assert_eq!(d.s2c_count(display::server::STREAM_CREATE), 32);
            assert_eq!(d.s2c_count(display::server::STREAM_DESTROY), 32);
            assert_eq!(d.s2c_count(display::server::STREAM_DATA), 8544);
            assert_eq!(d.c2s_count(display::client::STREAM_REPORT), 1696);
        }
        "input-glz" => {
            let i = find(reports, ChannelType::Inputs);
            assert_eq!(i.c2s_count(inputs::client::KEY_SCANCODE), 91);
            assert_eq!(i.c2s_count(inputs::client::KEY_DOWN), i.c2s_count(inputs::client::KEY_UP));
            assert_eq!(i.c2s_count(inputs::client::MOUSE_POSITION), 5);
            assert_eq!(i.c2s_count(inputs::client::MOUSE_PRESS), 2);
        }
        "playback-raw" => {
            let p = find(reports, ChannelType::Playback);
            assert_eq!(p.s2c_count(playback::server::DATA), 206);
            assert_eq!(p.s2c_count(playback::server::MODE), 1);
            assert_eq!(p.s2c_count(playback::server::START), 1);
            assert_eq!(p.s2c_count(playback::server::STOP), 1);
        }
        _ => {}
    }
    // No capture uses SPICE_MSG_LIST (spice-server sends it only for an
    // image-cache free list that has a wait list).
    for r in reports {
        assert_eq!(r.s2c_count(base::server::LIST), 0, "{name}");
    }
}

#[test]
fn every_shared_capture_frames_cleanly() {
    let Some(dir) = common::captures_dir() else {
        println!("NOTE: shared/captures not found; skipping (tests/data covers a subset)");
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcapng"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut out = String::new();
    for path in names {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let file = std::fs::read(&path).unwrap();
        let conns = reassemble(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!conns.is_empty(), "{name}: no TCP connections");
        let port = conns[0].server_port();
        let mut reports = Vec::new();
        for c in &conns {
            assert!(!c.has_gap, "{name}: gap in a stream");
            assert_eq!(c.server_port(), port, "{name}: all connections go to the SPICE port");
            let r = analyze(c.server_port(), &c.client_to_server, &c.server_to_client)
                .unwrap_or_else(|e| panic!("{name} {:?}: {e}", c.client));
            assert!(r.s2c_clean_end, "{name} {}: server stream ends inside a message", r.channel().name());
            assert!(r.c2s_clean_end, "{name} {}: client stream ends inside a message", r.channel().name());
            reports.push(r);
        }
        check_known_counts(&name, &reports);
        out.push_str(&table(&name, &reports));
    }
    println!("{out}");
}
