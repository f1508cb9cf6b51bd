//! The session against a scripted server: what it sends at each link step.

mod common;

use common::scripted::{msg, parse_out, reply, session_with, take, Fixed};
use spice_proto::consts::ChannelType;
use spice_proto::session::{Event, Session, SessionConfig};
use spice_proto::wire::link::{LinkMess, LinkMessRepr, LINK_HEADER_LEN};

#[test]
fn main_channel_link_ticket_then_messages() {
    let mut s = Session::new(SessionConfig::default(), Box::new(Fixed));
    let h = s.poll_connect().unwrap();
    assert_eq!(s.channel(h), Some((ChannelType::Main, 0)));
    assert_eq!(s.poll_connect(), None, "announced once");
    s.connected(h);
    let link = take(&mut s, h);
    let mess = LinkMessRepr::parse(&LinkMess::new_checked(&link[LINK_HEADER_LEN..]).unwrap()).unwrap();
    assert_eq!((mess.channel_type, mess.connection_id), (ChannelType::Main, 0));

    // The reply in two pieces: the ticket goes out once it is complete.
    let r = reply();
    s.receive(h, &r[..50]).unwrap();
    assert!(s.pending_output(h).is_empty());
    s.receive(h, &r[50..]).unwrap();
    assert_eq!(take(&mut s, h).len(), 4 + 128, "auth mechanism and ticket");

    // Link result, then MAIN_INIT (mini header: type 103, size 32).
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&103u16.to_le_bytes());
    bytes.extend_from_slice(&32u32.to_le_bytes());
    for v in [0x1234u32, 1, 3, 1, 0, 0, 0, 0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    s.receive(h, &bytes).unwrap();
    assert_eq!(s.poll_event(), Some(Event::Linked { handle: h, channel: ChannelType::Main }));
    assert_eq!(s.poll_event(), Some(Event::MouseMode { supported: 3, current: 1 }));
    assert_eq!(s.session_id(), Some(0x1234));
    // ATTACH_CHANNELS (type 104, empty body) answers MAIN_INIT.
    assert_eq!(take(&mut s, h), [104, 0, 0, 0, 0, 0]);
}

#[test]
fn wrong_password_closes_the_main_channel_with_a_typed_error() {
    let mut s = Session::new(SessionConfig { password: "x".into(), ..Default::default() }, Box::new(Fixed));
    let h = s.poll_connect().unwrap();
    s.connected(h);
    take(&mut s, h);
    s.receive(h, &reply()).unwrap();
    let err = s.receive(h, &7u32.to_le_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "wrong password");
    assert!(!s.is_alive());
    assert!(matches!(s.poll_event(), Some(Event::Closed { channel: ChannelType::Main, .. })));
}

#[test]
fn keys_encode_like_spice_gtk() {
    use spice_proto::session::inputs::Key;
    let (mut s, h) = session_with(&[(ChannelType::Inputs, 0)]);
    assert!(s.key(Key { code: 0x1e, extended: false }, true)); // 'a'
    assert!(s.key(Key { code: 0x1e, extended: false }, false));
    assert!(s.key(Key { code: 0x48, extended: true }, true)); // Up arrow
    assert!(s.key(Key { code: 0x48, extended: true }, false));
    let out = parse_out(&take(&mut s, h[0]));
    let codes: Vec<(u16, u32)> = out.iter().map(|(t, b)| (*t, u32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect();
    // KEY_DOWN 101, KEY_UP 102 (the values input-glz shows spice-gtk sending).
    assert_eq!(codes, [(101, 0x1e), (102, 0x9e), (101, 0x48e0), (102, 0xc8e0)]);
}

#[test]
fn pause_and_mouse_mode_request() {
    let (mut s, h) = session_with(&[(ChannelType::Inputs, 0)]);
    assert!(s.pause_key());
    let out = parse_out(&take(&mut s, h[0]));
    let codes: Vec<(u16, u32)> = out.iter().map(|(t, b)| (*t, u32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect();
    assert_eq!(codes, [(101, 0x451de1), (102, 0xc59de1)]);
    take(&mut s, 0);
    assert!(s.request_mouse_mode(spice_proto::msg::main::mouse_mode::SERVER));
    // MOUSE_MODE_REQUEST (105) on the main channel, a 16-bit mode.
    assert_eq!(parse_out(&take(&mut s, 0)), [(105, vec![1, 0])]);
}

#[test]
fn motion_waits_for_acks_and_merges() {
    let (mut s, h) = session_with(&[(ChannelType::Inputs, 0)]);
    for _ in 0..20 {
        assert!(s.mouse_motion(1, 2, 0));
    }
    let out = parse_out(&take(&mut s, h[0]));
    // 8 in flight at most (two ack bunches); the rest is merged.
    assert_eq!(out.len(), 8);
    assert!(out.iter().all(|(t, b)| *t == 111 && b[..8] == [1, 0, 0, 0, 2, 0, 0, 0]));
    // One MOUSE_MOTION_ACK (type 111 server-side) frees four: the merged 12.
    s.receive(h[0], &msg(111, &[])).unwrap();
    let out = parse_out(&take(&mut s, h[0]));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1[..8], [12, 0, 0, 0, 24, 0, 0, 0]);
    // A click flushes motion first, then PRESS (113) with the mask.
    s.mouse_motion(-3, 0, 1);
    s.receive(h[0], &msg(111, &[])).unwrap();
    take(&mut s, h[0]);
    assert!(s.mouse_button(1, 1, true));
    let out = parse_out(&take(&mut s, h[0]));
    assert_eq!(out.last().unwrap(), &(113, vec![1, 1, 0]));
}

#[test]
fn inputs_init_reports_lock_state() {
    let (mut s, h) = session_with(&[(ChannelType::Inputs, 0)]);
    s.receive(h[0], &msg(101, &[4, 0])).unwrap(); // INIT: caps lock
    assert_eq!(s.poll_event(), Some(Event::KeyModifiers(4)));
}

#[test]
fn cursor_set_move_hide_and_cache() {
    let (mut s, h) = session_with(&[(ChannelType::Cursor, 0)]);
    assert!(s.cursor().shape.is_none(), "no cursor until the server defines one");
    // SET: position (10, 20), visible, flags CACHE_ME, header { unique 9,
    // ALPHA, 2x1, hot (1, 0) }, two ARGB pixels.
    let mut set = Vec::new();
    set.extend_from_slice(&10i16.to_le_bytes());
    set.extend_from_slice(&20i16.to_le_bytes());
    set.push(1);
    set.extend_from_slice(&2u16.to_le_bytes());
    set.extend_from_slice(&9u64.to_le_bytes());
    set.push(0);
    set.extend_from_slice(&2u16.to_le_bytes());
    set.extend_from_slice(&1u16.to_le_bytes());
    set.extend_from_slice(&1u16.to_le_bytes());
    set.extend_from_slice(&0u16.to_le_bytes());
    set.extend_from_slice(&[0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80]);
    s.receive(h[0], &msg(103, &set)).unwrap(); // SET
    let c = s.cursor().clone();
    let shape = c.shape.expect("a shape");
    assert_eq!((c.x, c.y, c.visible, shape.hot_x, shape.hot_y), (10, 20, true, 1, 0));
    assert_eq!(shape.pixels.data, [0xffff_0000, 0x80ff_ffff]);
    s.receive(h[0], &msg(104, &[5, 0, 6, 0])).unwrap(); // MOVE
    assert_eq!((s.cursor().x, s.cursor().y), (5, 6));
    s.receive(h[0], &msg(105, &[])).unwrap(); // HIDE
    assert!(!s.cursor().visible);
    // SET from the cache (flags FROM_CACHE, header with unique 9 only).
    let mut again = set[..5].to_vec();
    again.extend_from_slice(&4u16.to_le_bytes());
    again.extend_from_slice(&set[7..24]);
    s.receive(h[0], &msg(103, &again)).unwrap();
    assert_eq!(s.cursor().shape.as_ref().unwrap().pixels.data, [0xffff_0000, 0x80ff_ffff]);
}

/// Display-channel message builders (spice.proto layouts).
mod build {
    pub fn rect(v: &mut Vec<u8>, top: i32, left: i32, bottom: i32, right: i32) {
        for x in [top, left, bottom, right] {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }

    pub fn surface_create(id: u32, w: u32, h: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [id, w, h, 32, 1] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    }

    /// DisplayBase with a clip of `clip` rects (none when empty).
    pub fn base(v: &mut Vec<u8>, bbox: (i32, i32, i32, i32), clip: &[(i32, i32, i32, i32)]) {
        v.extend_from_slice(&0u32.to_le_bytes());
        rect(v, bbox.0, bbox.1, bbox.2, bbox.3);
        if clip.is_empty() {
            v.push(0);
        } else {
            v.push(1);
            v.extend_from_slice(&(clip.len() as u32).to_le_bytes());
            for c in clip {
                rect(v, c.0, c.1, c.2, c.3);
            }
        }
    }

    /// No mask: flags, pos, NULL bitmap.
    pub fn no_mask(v: &mut Vec<u8>) {
        v.push(0);
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&0u32.to_le_bytes());
    }

    pub fn fill_solid(bbox: (i32, i32, i32, i32), clip: &[(i32, i32, i32, i32)], color: u32) -> Vec<u8> {
        let mut v = Vec::new();
        base(&mut v, bbox, clip);
        v.push(1); // SOLID
        v.extend_from_slice(&color.to_le_bytes());
        v.extend_from_slice(&8u16.to_le_bytes()); // OP_PUT
        no_mask(&mut v);
        v
    }

    /// DRAW_COPY of a `w`×`h` image placed at (x, y); `image` is the
    /// descriptor plus data, appended after the fixed part.
    pub fn copy(x: i32, y: i32, w: i32, h: i32, image: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        base(&mut v, (y, x, y + h, x + w), &[]);
        let ptr_at = v.len();
        v.extend_from_slice(&0u32.to_le_bytes());
        rect(&mut v, 0, 0, h, w);
        v.extend_from_slice(&8u16.to_le_bytes());
        v.push(0);
        no_mask(&mut v);
        let ptr = v.len() as u32;
        v[ptr_at..ptr_at + 4].copy_from_slice(&ptr.to_le_bytes());
        v.extend_from_slice(image);
        v
    }

    /// A 32-bit top-down BITMAP image with descriptor `id` and `flags`.
    pub fn bitmap(id: u64, flags: u8, w: u32, h: u32, pixels: &[u32]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&id.to_le_bytes());
        v.push(0); // BITMAP
        v.push(flags);
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v.push(8); // 32BIT
        v.push(4); // TOP_DOWN
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v.extend_from_slice(&(w * 4).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes()); // no palette
        for p in pixels {
            v.extend_from_slice(&p.to_le_bytes());
        }
        v
    }

    /// FROM_CACHE descriptor.
    pub fn from_cache(id: u64, w: u32, h: u32) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.push(103);
        v.push(0);
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v
    }
}

#[test]
fn display_fill_clip_cache_and_invalidation() {
    let (mut s, h) = session_with(&[(ChannelType::Display, 0)]);
    let d = h[0];
    let px = |s: &Session, x: u32, y: u32| s.canvas().primary().unwrap().pixel(x, y).unwrap() & 0xff_ffff;
    s.receive(d, &msg(314, &build::surface_create(0, 8, 8))).unwrap();
    assert_eq!(s.poll_event(), Some(Event::SurfaceCreated { surface: 0, width: 8, height: 8 }));
    // FILL the whole screen red, clipped to two boxes.
    let fill = build::fill_solid((0, 0, 8, 8), &[(0, 0, 2, 2), (6, 6, 8, 8)], 0xff0000);
    s.receive(d, &msg(302, &fill)).unwrap();
    assert_eq!((px(&s, 1, 1), px(&s, 7, 7), px(&s, 4, 4)), (0xff0000, 0xff0000, 0));
    // COPY a 2x2 image and ask to cache it (CACHE_ME), then draw it again
    // from the cache elsewhere.
    let image = build::bitmap(77, 1, 2, 2, &[0x11, 0x22, 0x33, 0x44]);
    s.receive(d, &msg(304, &build::copy(2, 2, 2, 2, &image))).unwrap();
    s.receive(d, &msg(304, &build::copy(5, 0, 2, 2, &build::from_cache(77, 2, 2)))).unwrap();
    assert_eq!((px(&s, 3, 3), px(&s, 5, 0), px(&s, 6, 1)), (0x44, 0x11, 0x44));
    assert!(std::iter::from_fn(|| s.poll_event()).all(|e| !matches!(e, Event::DrawError(_))));
    // INVAL_LIST (type 105): { count u16, [type u8, id u64] }; then the
    // cached image is gone and drawing it is a DrawError, not a failure.
    let mut inval = 1u16.to_le_bytes().to_vec();
    inval.push(1);
    inval.extend_from_slice(&77u64.to_le_bytes());
    s.receive(d, &msg(105, &inval)).unwrap();
    s.receive(d, &msg(304, &build::copy(0, 6, 2, 2, &build::from_cache(77, 2, 2)))).unwrap();
    assert!(matches!(s.poll_event(), Some(Event::DrawError(e)) if e.contains("not in the cache")));
    assert!(s.is_alive());
}
