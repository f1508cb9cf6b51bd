//! Capture tests that run from a plain clone: tests/data holds the whole
//! jpeg-anim capture and the first 4 KiB of both directions of every
//! connection of every capture in shared/captures (stream-heads.bin, made by
//! examples/extract_heads.rs).

mod common;

use common::{analyze, table, ChannelReport, XorShift};
use spice_proto::capture::reassemble;
use spice_proto::consts::caps::{common as ccap, display as dcap, inputs as icap};
use spice_proto::consts::msg::{base, cursor, display, inputs, main};
use spice_proto::consts::{ChannelType, LinkError};
use spice_proto::framing::MessageReader;
use spice_proto::wire::header::HeaderKind;
use spice_proto::wire::link::{LinkMess, LinkReply};

const JPEG_ANIM: &[u8] = include_bytes!("data/jpeg-anim.pcapng");
const HEADS: &[u8] = include_bytes!("data/stream-heads.bin");

struct Head<'a> {
    capture: String,
    server_port: u16,
    c2s_total: usize,
    c2s: &'a [u8],
    s2c_total: usize,
    s2c: &'a [u8],
}

fn heads() -> Vec<Head<'static>> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (h, t) = b.split_at(n);
        *b = t;
        h
    }
    fn u16_(b: &mut &[u8]) -> u16 {
        u16::from_le_bytes(take(b, 2).try_into().unwrap())
    }
    fn u32_(b: &mut &[u8]) -> usize {
        u32::from_le_bytes(take(b, 4).try_into().unwrap()) as usize
    }
    let mut b = HEADS;
    assert_eq!(take(&mut b, 8), b"CLOVEHD1");
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = u16_(&mut b) as usize;
        let capture = String::from_utf8(take(&mut b, n).to_vec()).unwrap();
        let server_port = u16_(&mut b);
        let c2s_total = u32_(&mut b);
        let n = u32_(&mut b);
        let c2s = take(&mut b, n);
        let s2c_total = u32_(&mut b);
        let n = u32_(&mut b);
        let s2c = take(&mut b, n);
        out.push(Head { capture, server_port, c2s_total, c2s, s2c_total, s2c });
    }
    out
}

fn jpeg_anim_reports() -> Vec<ChannelReport> {
    let conns = reassemble(JPEG_ANIM).unwrap();
    conns
        .iter()
        .map(|c| {
            assert!(!c.has_gap);
            analyze(c.server_port(), &c.client_to_server, &c.server_to_client).unwrap()
        })
        .collect()
}

#[test]
fn jpeg_anim_frames_cleanly_with_expected_counts() {
    let reports = jpeg_anim_reports();
    println!("{}", table("jpeg-anim", &reports));
    let chans: Vec<_> = reports.iter().map(|r| r.channel()).collect();
    assert_eq!(chans, [ChannelType::Main, ChannelType::Display, ChannelType::Inputs, ChannelType::Cursor]);
    for r in &reports {
        assert_eq!(r.server_port, 5966);
        assert!(r.s2c_clean_end && r.c2s_clean_end, "{:?} ends inside a message", r.channel());
        assert_eq!(r.header, HeaderKind::Mini);
        assert!(r.auth_selection);
        assert_eq!(r.auth_mechanism, Some(common::AUTH_SPICE));
        assert_eq!(r.link_result, Some(LinkError::Ok));
        // spice-gtk 0.42: AUTH_SELECTION | AUTH_SASL | MINI_HEADER; the server: AUTH_SELECTION | AUTH_SPICE | MINI_HEADER.
        assert_eq!(r.mess.common_caps.words(), &[0xd]);
        assert_eq!(r.reply.common_caps.words(), &[0xb]);
        assert_eq!(r.s2c_count(base::server::LIST), 0);
        // Every channel but main answers the server's two initial pings.
        assert_eq!(r.s2c_count(base::server::PING), r.c2s_count(base::client::PONG));
    }
    let (m, d, i, c) = (&reports[0], &reports[1], &reports[2], &reports[3]);
    assert_eq!(m.mess.connection_id, 0);
    for r in [d, i, c] {
        assert_eq!(r.mess.connection_id, d.mess.connection_id);
        assert_ne!(r.mess.connection_id, 0);
    }
    assert_eq!(m.s2c_count(main::server::INIT), 1);
    assert_eq!(m.s2c_count(main::server::CHANNELS_LIST), 1);
    assert_eq!(m.s2c_count(base::server::PING), 5);
    assert_eq!(m.c2s_count(main::client::ATTACH_CHANNELS), 1);
    // README: BITMAP:1 LZ_RGB:1 GLZ_RGB:66 JPEG:161 = 229 images, one DRAW_COPY each.
    assert_eq!(d.s2c_count(display::server::DRAW_COPY), 229);
    assert_eq!(d.s2c_count(display::server::SURFACE_CREATE), 1);
    assert_eq!(d.s2c_count(display::server::MONITORS_CONFIG), 1);
    assert_eq!(d.s2c_count(display::server::MARK), 1);
    assert_eq!(d.s2c_count(base::server::SET_ACK), 1);
    assert_eq!(d.c2s_count(display::client::INIT), 1);
    assert_eq!(d.c2s_count(base::client::ACK_SYNC), 1);
    assert_eq!(d.s2c_frames, 236);
    assert!(d.reply.channel_caps.has(dcap::MONITORS_CONFIG) && d.reply.channel_caps.has(dcap::PREF_COMPRESSION));
    assert!(d.mess.channel_caps.has(dcap::MULTI_CODEC) && d.mess.channel_caps.has(dcap::CODEC_MJPEG));
    assert_eq!(i.s2c_count(inputs::server::INIT), 1);
    assert_eq!(i.c2s_count(inputs::client::KEY_MODIFIERS), 2);
    assert!(i.reply.channel_caps.has(icap::KEY_SCANCODE));
    assert_eq!(c.s2c_count(cursor::server::INIT), 1);
}

#[test]
fn ack_window_matches_set_ack() {
    // The display channel acks every `window` frames after SET_ACK.
    let conns = reassemble(JPEG_ANIM).unwrap();
    let d = &conns[1];
    let r = analyze(d.server_port(), &d.client_to_server, &d.server_to_client).unwrap();
    let mut reader = MessageReader::new(r.header);
    let mut input = &d.server_to_client[r.s2c_start..];
    let mut window = None;
    while let Some(frame) = reader.feed(&mut input).unwrap() {
        for m in frame.messages() {
            if m.msg_type == base::server::SET_ACK {
                assert_eq!(m.body.len(), 8);
                window = Some(u32::from_le_bytes(m.body[4..8].try_into().unwrap()));
            }
        }
    }
    let window = window.expect("SET_ACK") as u64;
    // Frames after the SET_ACK itself, divided by the window.
    assert_eq!(r.c2s_count(base::client::ACK) as u64, (r.s2c_frames - 1) / window, "window {window}");
}

fn messages(kind: HeaderKind, stream: &[u8], rng: Option<&mut XorShift>) -> Vec<(u16, u64, bool, Vec<u8>)> {
    let mut reader = MessageReader::new(kind);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut rng = rng;
    while pos < stream.len() {
        let n = match rng.as_deref_mut() {
            Some(r) => r.range(1, 1500).min(stream.len() - pos),
            None => stream.len() - pos,
        };
        let mut input = &stream[pos..pos + n];
        while let Some(frame) = reader.feed(&mut input).unwrap() {
            for m in frame.messages() {
                out.push((m.msg_type, m.serial, m.is_sub_message, m.body.to_vec()));
            }
        }
        assert!(input.is_empty());
        pos += n;
    }
    assert!(reader.is_idle());
    out
}

#[test]
fn random_fragments_give_identical_messages() {
    let conns = reassemble(JPEG_ANIM).unwrap();
    for c in &conns {
        let r = analyze(c.server_port(), &c.client_to_server, &c.server_to_client).unwrap();
        for stream in [&c.server_to_client[r.s2c_start..], &c.client_to_server[r.c2s_start..]] {
            let whole = messages(r.header, stream, None);
            assert!(!whole.is_empty());
            // Serials count frames from 1.
            assert_eq!(whole.last().unwrap().1, whole.len() as u64);
            for seed in [1u64, 0xdead_beef, 0x1234_5678_9abc] {
                let mut rng = XorShift(seed);
                assert_eq!(messages(r.header, stream, Some(&mut rng)), whole, "seed {seed}");
            }
        }
    }
}

#[test]
fn every_capture_links_and_starts_framing() {
    let heads = heads();
    let mut captures: Vec<&str> = heads.iter().map(|h| h.capture.as_str()).collect();
    captures.dedup();
    assert_eq!(captures.len(), 17, "{captures:?}");
    let mut reports = Vec::new();
    for h in &heads {
        let r = analyze(h.server_port, h.c2s, h.s2c).unwrap_or_else(|e| panic!("{}: {e}", h.capture));
        assert_eq!(r.link_result, Some(LinkError::Ok), "{}", h.capture);
        assert_eq!(r.header, HeaderKind::Mini);
        // A stream stored whole ends on a frame boundary.
        if h.s2c.len() == h.s2c_total {
            assert!(r.s2c_clean_end, "{} {:?}", h.capture, r.channel());
        }
        if h.c2s.len() == h.c2s_total {
            assert!(r.c2s_clean_end, "{} {:?}", h.capture, r.channel());
        }
        // Every server stream starts with a real message within the head.
        assert!(r.s2c_frames > 0, "{} {:?}", h.capture, r.channel());
        reports.push((h.capture.clone(), r));
    }
    // Per capture: main first, with connection id 0; other channels use the session id.
    let mut by_capture: std::collections::BTreeMap<&str, Vec<&ChannelReport>> = Default::default();
    for (name, r) in &reports {
        by_capture.entry(name).or_default().push(r);
    }
    for (name, rs) in &by_capture {
        assert_eq!(rs[0].channel(), ChannelType::Main, "{name}");
        assert_eq!(rs[0].mess.connection_id, 0);
        // MAIN_INIT's first field is the session id the other channels link with.
        let session = rs.iter().skip(1).map(|r| r.mess.connection_id).next();
        if let Some(s) = session {
            assert!(rs.iter().skip(1).all(|r| r.mess.connection_id == s), "{name}");
        }
        assert!(rs.iter().any(|r| r.channel() == ChannelType::Display), "{name}");
    }
    let names: Vec<_> = by_capture.keys().copied().collect();
    assert!(names.contains(&"password") && names.contains(&"playback-raw") && names.contains(&"stream-mjpeg"));
    let playback = reports.iter().find(|(n, r)| n == "playback-raw" && r.channel() == ChannelType::Playback);
    assert!(playback.is_some());
    println!("{} connections in {} captures", reports.len(), by_capture.len());
}

#[test]
fn main_init_session_id_matches_other_links() {
    for h in heads().iter().filter(|h| h.capture == "lz") {
        let r = analyze(h.server_port, h.c2s, h.s2c).unwrap();
        if r.channel() != ChannelType::Main {
            continue;
        }
        let mut reader = MessageReader::new(r.header);
        let mut input = &h.s2c[r.s2c_start..];
        let mut session = None;
        while let Some(frame) = reader.feed(&mut input).unwrap() {
            for m in frame.messages() {
                if m.msg_type == main::server::INIT {
                    session = Some(u32::from_le_bytes(m.body[..4].try_into().unwrap()));
                }
            }
        }
        let display = heads().into_iter().find(|d| d.capture == "lz" && d.c2s.get(20) == Some(&2)).unwrap();
        let mess = LinkMess::new_checked(&display.c2s[16..16 + 26]).unwrap();
        assert_eq!(session, Some(mess.connection_id()));
        assert_eq!(mess.connection_id(), 0x7c56_5d19);
    }
}

#[test]
fn real_link_bytes_round_trip() {
    use spice_proto::wire::link::{LinkMessRepr, LinkReplyRepr};
    for h in heads().iter().take(8) {
        let size = u32::from_le_bytes(h.c2s[12..16].try_into().unwrap()) as usize;
        let body = &h.c2s[16..16 + size];
        let repr = LinkMessRepr::parse(&LinkMess::new_checked(body).unwrap()).unwrap();
        let mut out = vec![0u8; 16 + repr.buffer_len()];
        repr.emit_with_header(&mut out).unwrap();
        assert_eq!(out, &h.c2s[..16 + size]);

        let size = u32::from_le_bytes(h.s2c[12..16].try_into().unwrap()) as usize;
        let body = &h.s2c[16..16 + size];
        let repr = LinkReplyRepr::parse(&LinkReply::new_checked(body).unwrap()).unwrap();
        assert!(repr.common_caps.has(ccap::MINI_HEADER) && repr.common_caps.has(ccap::AUTH_SPICE));
        let mut out = vec![0u8; 16 + repr.buffer_len()];
        repr.emit_with_header(&mut out).unwrap();
        assert_eq!(out, &h.s2c[..16 + size]);
        // The server's key is a usable 1024-bit SPKI.
        struct Fixed;
        impl spice_proto::auth::Entropy for Fixed {
            fn fill(&mut self, buf: &mut [u8]) {
                buf.fill(0x5a);
            }
        }
        assert!(spice_proto::auth::encrypt_ticket(&repr.pub_key, b"", &mut Fixed).is_ok());
    }
}

#[test]
fn truncated_link_stages_fail_cleanly() {
    let h = &heads()[0];
    for cut in 0..(16 + 26) {
        assert!(analyze(h.server_port, &h.c2s[..cut], h.s2c).is_err(), "cut {cut}");
    }
    for cut in 0..(16 + 186) {
        assert!(analyze(h.server_port, h.c2s, &h.s2c[..cut]).is_err(), "cut {cut}");
    }
}
