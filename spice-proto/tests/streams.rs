//! MJPEG video streams: the stream-mjpeg capture's frames decoded and placed
//! (mid-stream pixels against our own decode of the same frame), and
//! hand-built STREAM_* messages for clip, top-down, sized frames, unknown ids,
//! limits and reports.

mod common;

use std::collections::BTreeMap;

use common::scripted::{msg, parse_out, session_with, session_with_config, take};
use spice_proto::capture::reassemble;
use spice_proto::capture::replay::{replay, ReplayOptions};
use spice_proto::consts::ChannelType;
use spice_proto::decode::{jpeg, Limits};
use spice_proto::framing::MessageReader;
use spice_proto::session::{Event, Session, SessionConfig};
use spice_proto::wire::header::HeaderKind;

const GRAD: &[u8] = include_bytes!("data/vectors/jpeg/grad-21x19.jpg");

const STREAM_CREATE: u16 = 122;
const STREAM_DATA: u16 = 123;
const STREAM_CLIP: u16 = 124;
const STREAM_DESTROY: u16 = 125;
const STREAM_DESTROY_ALL: u16 = 126;
const SURFACE_CREATE: u16 = 314;
const STREAM_DATA_SIZED: u16 = 316;
const STREAM_ACTIVATE_REPORT: u16 = 319;
const MSGC_STREAM_REPORT: u16 = 102;

/// A session with a linked display channel: (session, display handle).
fn display_session() -> (Session, usize) {
    let (s, h) = session_with(&[(ChannelType::Display, 0)]);
    (s, h[0])
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn draw_errors(ev: &[Event]) -> Vec<&Event> {
    ev.iter().filter(|e| matches!(e, Event::DrawError(_))).collect()
}

type R = (i32, i32, i32, i32);
/// A stream as the test tracks it: dest, clip, top-down, DHT bytes.
type Tracked = (R, Option<Vec<R>>, bool, Vec<u8>);

/// SpiceRect: top, left, bottom, right.
fn rect(v: &mut Vec<u8>, (l, t, r, b): R) {
    for x in [t, l, b, r] {
        v.extend_from_slice(&x.to_le_bytes());
    }
}

/// A clip: NONE when `rects` is None.
fn clip(v: &mut Vec<u8>, rects: Option<&[R]>) {
    match rects {
        None => v.push(0),
        Some(rs) => {
            v.push(1);
            v.extend_from_slice(&(rs.len() as u32).to_le_bytes());
            for r in rs {
                rect(v, *r);
            }
        }
    }
}

fn surface_create(id: u32, w: u32, h: u32) -> Vec<u8> {
    [id, w, h, 32, 1].iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// STREAM_CREATE on surface 0 with a (left, top, right, bottom) dest.
fn stream_create(id: u32, flags: u8, codec: u8, (w, h): (u32, u32), dest: R, c: Option<&[R]>) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&id.to_le_bytes());
    v.push(flags);
    v.push(codec);
    v.extend_from_slice(&0u64.to_le_bytes());
    for x in [w, h, w, h] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    rect(&mut v, dest);
    clip(&mut v, c);
    v
}

fn stream_data(id: u32, mm: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [id, mm, data.len() as u32] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn stream_data_sized(id: u32, mm: u32, (w, h): (u32, u32), dest: R, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [id, mm, w, h] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    rect(&mut v, dest);
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn stream_clip(id: u32, c: Option<&[R]>) -> Vec<u8> {
    let mut v = id.to_le_bytes().to_vec();
    clip(&mut v, c);
    v
}

fn px(s: &Session, x: u32, y: u32) -> u32 {
    s.canvas().primary().unwrap().pixel(x, y).unwrap() & 0xff_ffff
}

fn inside(r: &[R], x: i32, y: i32) -> bool {
    r.iter().any(|&(l, t, rr, b)| x >= l && x < rr && y >= t && y < b)
}

/// The server's display-channel messages of a capture, in order.
fn display_messages(name: &str) -> Option<Vec<(u16, Vec<u8>)>> {
    let dir = common::captures_dir()?;
    let file = std::fs::read(dir.join(format!("{name}.pcapng"))).unwrap();
    for conn in reassemble(&file).unwrap() {
        let r = common::analyze(conn.server_port(), &conn.client_to_server, &conn.server_to_client).unwrap();
        if r.channel() != ChannelType::Display {
            continue;
        }
        let mut rest = &conn.server_to_client[r.s2c_start..];
        let mut reader = MessageReader::new(HeaderKind::Mini);
        let mut out = Vec::new();
        while let Ok(Some(frame)) = reader.feed(&mut rest) {
            for m in frame.messages() {
                out.push((m.msg_type, m.body.to_vec()));
            }
        }
        return Some(out);
    }
    None
}

/// The whole capture: every STREAM_DATA is decoded and drawn, none fails,
/// and the final frame (checked against the server in tests/replay.rs) is
/// still exact.
#[test]
fn stream_mjpeg_capture_decodes_every_frame() {
    let Some(dir) = common::captures_dir() else {
        println!("NOTE: shared/captures not found; skipping");
        return;
    };
    let file = std::fs::read(dir.join("stream-mjpeg.pcapng")).unwrap();
    let (session, report) = replay(&file, &ReplayOptions::default(), &mut || 0).unwrap();
    let errors = draw_errors(&report.events);
    assert!(errors.is_empty(), "draw errors {errors:?}");
    let sent: usize = report.channels.iter().map(|c| c.messages.get(&STREAM_DATA).copied().unwrap_or(0)).sum();
    let created: usize = report.channels.iter().map(|c| c.messages.get(&STREAM_CREATE).copied().unwrap_or(0)).sum();
    let counts = session.stream_counts();
    println!("stream-mjpeg: {counts:?} of {created} STREAM_CREATE, {sent} STREAM_DATA");
    assert!(counts.frames > 0);
    assert_eq!(counts.frames, sent as u64);
    assert_eq!(counts.created, created as u64);
    // Every stream asked for reports (STREAM_ACTIVATE_REPORT).
    assert!(counts.reports > 0);
    // The session ends after the animation: every stream was destroyed.
    assert_eq!(counts.live, 0);
    assert_eq!(counts.largest, (32, 128));
}

/// Every frame of the capture decodes to libjpeg-turbo's pixels: FNV-1a 64
/// over all frames in order (each pixel's 0x00RRGGBB word, LE bytes) as
/// libjpeg-turbo 2.1.5 decodes them (`djpeg -dct int -ppm` of each frame,
/// hashed by hand the same way).
#[test]
fn stream_mjpeg_frames_decode_to_libjpeg_turbos_pixels() {
    let Some(msgs) = display_messages("stream-mjpeg") else { return };
    use spice_proto::msg::display::DisplayMessage as M;
    let (mut h, mut frames) = (0xcbf2_9ce4_8422_2325u64, 0);
    for (t, body) in &msgs {
        let data = match spice_proto::msg::display::DisplayMessage::parse(*t, body) {
            Ok(Some(M::StreamData(d))) => d.data,
            Ok(Some(M::StreamDataSized(d))) => d.data,
            _ => continue,
        };
        let p = jpeg::decode(data, &Limits::default()).unwrap();
        for b in p.data.iter().flat_map(|w| w.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        frames += 1;
    }
    assert_eq!(frames, 8544);
    assert_eq!(h, 0x0f21_d373_f202_3cf9);
}

/// The capture's display messages fed one at a time: after each STREAM_DATA
/// the stream's dest shows our decode of that frame inside the clip, and the
/// rest of the dest is untouched.
#[test]
fn stream_mjpeg_mid_stream_pixels() {
    let Some(msgs) = display_messages("stream-mjpeg") else { return };
    let (mut s, d) = display_session();
    // id -> (dest, clip, top_down, DHT bytes)
    let mut streams: BTreeMap<u32, Tracked> = BTreeMap::new();
    let mut checked = 0;
    for (t, body) in &msgs {
        let before = match *t {
            STREAM_DATA => {
                let id = u32::from_le_bytes(body[..4].try_into().unwrap());
                let (dest, ..) = streams[&id];
                Some(read(&s, dest))
            }
            _ => None,
        };
        s.receive(d, &msg(*t, body)).unwrap();
        let ev = events(&mut s);
        assert!(draw_errors(&ev).is_empty(), "message {t}: {ev:?}");
        let Ok(Some(msg)) = spice_proto::msg::display::DisplayMessage::parse(*t, body) else { continue };
        use spice_proto::msg::display::DisplayMessage as M;
        use spice_proto::msg::draw::Clip;
        let conv = |c: &Clip| match c {
            Clip::None => None,
            Clip::Rects(r) => Some(r.iter().map(|r| (r.left, r.top, r.right, r.bottom)).collect::<Vec<R>>()),
        };
        match msg {
            M::StreamCreate(c) => {
                let dest = (c.dest.left, c.dest.top, c.dest.right, c.dest.bottom);
                streams.insert(c.id, (dest, conv(&c.clip), c.flags & 1 != 0, Vec::new()));
            }
            M::StreamClip { id, clip } => streams.get_mut(&id).unwrap().1 = conv(&clip),
            M::StreamDestroy(id) => {
                streams.remove(&id);
            }
            M::StreamDestroyAll => streams.clear(),
            M::StreamData(f) => {
                let st = streams.get_mut(&f.id).unwrap();
                let sos = f.data.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
                let jpeg_bytes = match f.data.windows(2).position(|w| w == [0xff, 0xc4]) {
                    Some(dht) => {
                        st.3 = f.data[dht..sos].to_vec();
                        f.data.to_vec()
                    }
                    None => [&f.data[..sos], &st.3[..], &f.data[sos..]].concat(),
                };
                let p = jpeg::decode(&jpeg_bytes, &Limits::default()).unwrap();
                let (l, t, r, b) = st.0;
                assert_eq!((p.width as i32, p.height as i32), (r - l, b - t), "frames are not scaled here");
                let after = read(&s, st.0);
                let before = before.unwrap();
                for y in 0..p.height as i32 {
                    for x in 0..p.width as i32 {
                        let i = (y * p.width as i32 + x) as usize;
                        let src_y = if st.2 { y } else { p.height as i32 - 1 - y };
                        let want = match &st.1 {
                            Some(c) if !inside(c, l + x, t + y) => before[i],
                            _ => p.data[(src_y * p.width as i32 + x) as usize] & 0xff_ffff,
                        };
                        assert_eq!(after[i], want, "stream {} at ({}, {})", f.id, l + x, t + y);
                    }
                }
                checked += 1;
            }
            _ => {}
        }
    }
    println!("{checked} frames checked pixel for pixel");
    assert!(checked > 1000, "{checked}");
}

fn read(s: &Session, (l, t, r, b): R) -> Vec<u32> {
    let rect = spice_proto::canvas::Rect::new(l, t, r, b);
    s.canvas().read_rect(0, rect).unwrap().into_iter().map(|p| p & 0xff_ffff).collect()
}

fn grad() -> spice_proto::decode::Pixels {
    jpeg::decode(GRAD, &Limits::default()).unwrap()
}

/// A 64x64 primary surface filled with zero and a stream of GRAD (21x19).
fn with_stream(flags: u8, dest: R, c: Option<&[R]>) -> (Session, usize) {
    let (mut s, d) = display_session();
    s.receive(d, &msg(SURFACE_CREATE, &surface_create(0, 64, 64))).unwrap();
    s.receive(d, &msg(STREAM_CREATE, &stream_create(3, flags, 1, (21, 19), dest, c))).unwrap();
    let ev = events(&mut s);
    assert!(draw_errors(&ev).is_empty(), "{ev:?}");
    (s, d)
}

#[test]
fn top_down_frame_lands_in_dest_inside_clip() {
    let dest = (10, 20, 31, 39);
    let c: &[R] = &[(0, 0, 20, 64), (25, 30, 64, 34)];
    let (mut s, d) = with_stream(1, dest, Some(c));
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 100, GRAD))).unwrap();
    assert!(draw_errors(&events(&mut s)).is_empty());
    let g = grad();
    for y in 0..64 {
        for x in 0..64 {
            let in_dest = (10..31).contains(&x) && (20..39).contains(&y);
            let want =
                if in_dest && inside(c, x, y) { g.data[((y - 20) * 21 + (x - 10)) as usize] & 0xff_ffff } else { 0 };
            assert_eq!(px(&s, x as u32, y as u32), want, "({x}, {y})");
        }
    }
    assert_eq!(s.stream_counts().frames, 1);
}

#[test]
fn bottom_up_frame_is_flipped_and_clip_updates() {
    let dest = (0, 0, 21, 19);
    let (mut s, d) = with_stream(0, dest, Some(&[(0, 0, 5, 5)]));
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 100, GRAD))).unwrap();
    let g = grad();
    let flipped = |x: u32, y: u32| g.data[((18 - y) * 21 + x) as usize] & 0xff_ffff;
    assert_eq!(px(&s, 2, 3), flipped(2, 3));
    assert_eq!(px(&s, 10, 10), 0, "outside the first clip");
    // STREAM_CLIP to none: the whole dest is drawn.
    s.receive(d, &msg(STREAM_CLIP, &stream_clip(3, None))).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 140, GRAD))).unwrap();
    assert!(draw_errors(&events(&mut s)).is_empty());
    for (x, y) in [(10, 10), (0, 0), (20, 18), (20, 0)] {
        assert_eq!(px(&s, x, y), flipped(x, y), "({x}, {y})");
    }
    assert_ne!(flipped(0, 0), g.data[0] & 0xff_ffff, "the gradient tells the rows apart");
}

#[test]
fn sized_frame_goes_to_its_own_dest_scaled_nearest() {
    let (mut s, d) = with_stream(1, (0, 0, 21, 19), None);
    // Twice the size at (20, 10).
    let sized = stream_data_sized(3, 100, (21, 19), (20, 10, 62, 48), GRAD);
    s.receive(d, &msg(STREAM_DATA_SIZED, &sized)).unwrap();
    assert!(draw_errors(&events(&mut s)).is_empty());
    let g = grad();
    for y in 0..38u32 {
        for x in 0..42u32 {
            let want = g.data[((y / 2) * 21 + x / 2) as usize] & 0xff_ffff;
            assert_eq!(px(&s, 20 + x, 10 + y), want, "({x}, {y})");
        }
    }
    assert_eq!(px(&s, 5, 5), 0, "the stream's own dest is untouched");
}

#[test]
fn unknown_ids_are_draw_errors_and_reported_to_the_server() {
    let (mut s, d) = with_stream(1, (0, 0, 21, 19), None);
    for (t, body) in [
        (STREAM_DATA, stream_data(9, 1, GRAD)),
        (STREAM_CLIP, stream_clip(9, None)),
        (STREAM_ACTIVATE_REPORT, [9u32, 1, 5, 1000].iter().flat_map(|x| x.to_le_bytes()).collect()),
    ] {
        s.receive(d, &msg(t, &body)).unwrap();
        let ev = events(&mut s);
        assert!(matches!(&ev[..], [Event::DrawError(e)] if e.contains("stream 9")), "{t}: {ev:?}");
    }
    assert!(s.is_alive());
    // The frame for an unknown stream makes a "no such stream" report.
    let out = parse_out(&take(&mut s, d));
    let reports: Vec<_> = out.iter().filter(|(t, _)| *t == MSGC_STREAM_REPORT).collect();
    assert_eq!(reports.len(), 1);
    let b = &reports[0].1;
    assert_eq!(u32::from_le_bytes(b[0..4].try_into().unwrap()), 9);
    assert_eq!(u32::from_le_bytes(b[16..20].try_into().unwrap()), 0, "num_frames");
    assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), u32::MAX, "num_drops");
    // Destroyed streams are unknown too.
    s.receive(d, &msg(STREAM_DESTROY, &3u32.to_le_bytes())).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 1, GRAD))).unwrap();
    assert_eq!(draw_errors(&events(&mut s)).len(), 1);
}

#[test]
fn stream_limits() {
    let (mut s, d) = display_session();
    s.receive(d, &msg(SURFACE_CREATE, &surface_create(0, 64, 64))).unwrap();
    for id in 0..64 {
        s.receive(d, &msg(STREAM_CREATE, &stream_create(id, 1, 1, (21, 19), (0, 0, 21, 19), None))).unwrap();
    }
    assert!(draw_errors(&events(&mut s)).is_empty());
    s.receive(d, &msg(STREAM_CREATE, &stream_create(64, 1, 1, (21, 19), (0, 0, 21, 19), None))).unwrap();
    assert_eq!(draw_errors(&events(&mut s)).len(), 1, "a 65th stream is refused");
    // Other codecs are refused (and the server told).
    take(&mut s, d);
    s.receive(d, &msg(STREAM_DESTROY, &0u32.to_le_bytes())).unwrap();
    s.receive(d, &msg(STREAM_CREATE, &stream_create(0, 1, 3, (21, 19), (0, 0, 21, 19), None))).unwrap();
    assert_eq!(draw_errors(&events(&mut s)).len(), 1, "H.264 is refused");
    assert!(parse_out(&take(&mut s, d)).iter().any(|(t, _)| *t == MSGC_STREAM_REPORT));
    // DESTROY_ALL frees every slot.
    s.receive(d, &msg(STREAM_DESTROY_ALL, &[])).unwrap();
    s.receive(d, &msg(STREAM_CREATE, &stream_create(64, 1, 1, (21, 19), (0, 0, 21, 19), None))).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(64, 5, GRAD))).unwrap();
    assert!(draw_errors(&events(&mut s)).is_empty());
    // A frame bigger than the decode limits, or garbage, is a DrawError.
    s.receive(d, &msg(STREAM_DATA, &stream_data(64, 6, &GRAD[..GRAD.len() / 2]))).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(64, 7, b"not a jpeg"))).unwrap();
    let huge = stream_data_sized(64, 8, (21, 19), (0, 0, 100_000, 19), GRAD);
    s.receive(d, &msg(STREAM_DATA_SIZED, &huge)).unwrap();
    assert_eq!(draw_errors(&events(&mut s)).len(), 3);
    assert!(s.is_alive());
}

#[test]
fn frame_too_large_for_decode_limits() {
    let mut config = SessionConfig::default();
    config.display.decode_limits = Limits { max_pixels: 100, max_side: 8192 };
    let (mut s, h) = session_with_config(config, &[(ChannelType::Display, 0)]);
    let d = h[0];
    s.receive(d, &msg(SURFACE_CREATE, &surface_create(0, 64, 64))).unwrap();
    s.receive(d, &msg(STREAM_CREATE, &stream_create(1, 1, 1, (21, 19), (0, 0, 21, 19), None))).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(1, 5, GRAD))).unwrap();
    let ev = events(&mut s);
    assert!(matches!(&draw_errors(&ev)[..], [Event::DrawError(e)] if e.contains("21")), "{ev:?}");
    assert_eq!(s.stream_counts().frames, 0);
}

#[test]
fn reports_after_activate_by_window_and_by_mm_time() {
    let (mut s, d) = with_stream(1, (0, 0, 21, 19), None);
    take(&mut s, d);
    // unique id 77, window 3 frames, timeout 100 ms.
    let act: Vec<u8> = [3u32, 77, 3, 100].iter().flat_map(|x| x.to_le_bytes()).collect();
    s.receive(d, &msg(STREAM_ACTIVATE_REPORT, &act)).unwrap();
    let reports = |s: &mut Session| -> Vec<[u32; 8]> {
        parse_out(&take(s, d))
            .into_iter()
            .filter(|(t, _)| *t == MSGC_STREAM_REPORT)
            .map(|(_, b)| std::array::from_fn(|i| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())))
            .collect()
    };
    for mm in [1000, 1010] {
        s.receive(d, &msg(STREAM_DATA, &stream_data(3, mm, GRAD))).unwrap();
    }
    assert!(reports(&mut s).is_empty());
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 1020, b"bad"))).unwrap();
    // stream, unique id, start, end, frames, drops, delay, audio delay.
    assert_eq!(reports(&mut s), [[3, 77, 1000, 1020, 3, 1, 0, u32::MAX]]);
    // Two frames 100 ms apart end a window early.
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 2000, GRAD))).unwrap();
    s.receive(d, &msg(STREAM_DATA, &stream_data(3, 2100, GRAD))).unwrap();
    assert_eq!(reports(&mut s), [[3, 77, 2000, 2100, 2, 0, 0, u32::MAX]]);
}

#[test]
fn caps_advertise_mjpeg_streams_and_reports() {
    use spice_proto::consts::caps::display as cap;
    let c = spice_proto::session::DisplayConfig::default().caps();
    for bit in [cap::MULTI_CODEC, cap::CODEC_MJPEG, cap::SIZED_STREAM, cap::STREAM_REPORT] {
        assert!(c.has(bit), "{bit}");
    }
}
