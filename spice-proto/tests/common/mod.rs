//! Shared helpers for the capture tests: walk a reassembled SPICE connection
//! through the link stage and frame both directions.
#![allow(dead_code)]

pub mod scripted;
pub mod vectors;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use spice_proto::consts::caps::common;
use spice_proto::consts::{message_name, ChannelType, Direction, LinkError, AUTH_MECHANISM_SPICE};
use spice_proto::framing::MessageReader;
use spice_proto::wire::header::HeaderKind;
use spice_proto::wire::link::{
    parse_link_result, LinkHeader, LinkHeaderRepr, LinkMess, LinkMessRepr, LinkReply, LinkReplyRepr, LINK_HEADER_LEN,
};
use spice_proto::wire::Caps;

/// What one SPICE connection looked like.
#[derive(Debug, Clone)]
pub struct ChannelReport {
    pub server_port: u16,
    pub mess: LinkMessRepr,
    pub reply: LinkReplyRepr,
    pub auth_selection: bool,
    pub auth_mechanism: Option<u32>,
    pub link_result: Option<LinkError>,
    pub header: HeaderKind,
    /// Message counts by type (LIST frames counted under 8 as well as their sub-messages).
    pub s2c: BTreeMap<u16, usize>,
    pub c2s: BTreeMap<u16, usize>,
    pub s2c_frames: u64,
    pub c2s_frames: u64,
    /// Whether each direction ended on a frame boundary.
    pub s2c_clean_end: bool,
    pub c2s_clean_end: bool,
    /// Offsets where messages start in each stream.
    pub s2c_start: usize,
    pub c2s_start: usize,
}

impl ChannelReport {
    pub fn channel(&self) -> ChannelType {
        self.mess.channel_type
    }
    pub fn s2c_count(&self, t: u16) -> usize {
        self.s2c.get(&t).copied().unwrap_or(0)
    }
    pub fn c2s_count(&self, t: u16) -> usize {
        self.c2s.get(&t).copied().unwrap_or(0)
    }
}

fn link_stage<'a>(stream: &'a [u8], what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let h = LinkHeader::new_checked(stream).map_err(|e| format!("{what}: {e}"))?;
    let h = LinkHeaderRepr::parse(&h).map_err(|e| format!("{what}: {e}"))?;
    let end = LINK_HEADER_LEN + h.size as usize;
    let body = stream.get(LINK_HEADER_LEN..end).ok_or_else(|| format!("{what}: stream ends inside link body"))?;
    Ok((body, &stream[end..]))
}

fn count(reader: &mut MessageReader, mut input: &[u8], map: &mut BTreeMap<u16, usize>) -> Result<(), String> {
    while let Some(frame) = reader.feed(&mut input).map_err(|e| e.to_string())? {
        if frame.header().msg_type == 8 {
            *map.entry(8).or_default() += 1;
        }
        for m in frame.messages() {
            *map.entry(m.msg_type).or_default() += 1;
        }
    }
    Ok(())
}

/// Walks the link stage of both directions and frames the rest.
pub fn analyze(server_port: u16, c2s: &[u8], s2c: &[u8]) -> Result<ChannelReport, String> {
    let (mess_body, c_rest) = link_stage(c2s, "client link")?;
    let mess = LinkMessRepr::parse(&LinkMess::new_checked(mess_body).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let (reply_body, s_rest) = link_stage(s2c, "server link")?;
    let reply = LinkReplyRepr::parse(&LinkReply::new_checked(reply_body).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if reply.error != LinkError::Ok {
        return Err(format!("link refused: {:?}", reply.error));
    }
    let both = |bit| mess.common_caps.has(bit) && reply.common_caps.has(bit);
    let auth_selection = both(common::PROTOCOL_AUTH_SELECTION);
    let header = HeaderKind::negotiated(both(common::MINI_HEADER));

    // Client: [auth mechanism u32] + 128-byte ticket, then messages.
    let mut c_at = 0;
    let mut auth_mechanism = None;
    if auth_selection {
        let b = c_rest.get(..4).ok_or("client stream ends before auth mechanism")?;
        auth_mechanism = Some(u32::from_le_bytes(b.try_into().unwrap()));
        c_at += 4;
    }
    c_at += 128;
    // Server: u32 link result, then messages.
    let link_result = s_rest.get(..4).map(|b| parse_link_result(b).unwrap());
    let c_msgs = c_rest.get(c_at..).unwrap_or(&[]);
    let s_msgs = s_rest.get(4..).unwrap_or(&[]);

    let mut s_reader = MessageReader::new(header);
    let mut c_reader = MessageReader::new(header);
    let mut s_map = BTreeMap::new();
    let mut c_map = BTreeMap::new();
    count(&mut s_reader, s_msgs, &mut s_map).map_err(|e| format!("server stream: {e}"))?;
    count(&mut c_reader, c_msgs, &mut c_map).map_err(|e| format!("client stream: {e}"))?;
    Ok(ChannelReport {
        server_port,
        mess,
        reply,
        auth_selection,
        auth_mechanism,
        link_result,
        header,
        s2c_frames: s_reader.frames(),
        c2s_frames: c_reader.frames(),
        s2c_clean_end: s_reader.is_idle(),
        c2s_clean_end: c_reader.is_idle(),
        s2c: s_map,
        c2s: c_map,
        s2c_start: s2c.len() - s_msgs.len(),
        c2s_start: c2s.len() - c_msgs.len(),
    })
}

fn caps_str(c: &Caps) -> String {
    c.words().iter().map(|w| format!("{w:#x}")).collect::<Vec<_>>().join(",")
}

/// A human-readable table of one capture's channels.
pub fn table(name: &str, reports: &[ChannelReport]) -> String {
    let mut s = String::new();
    writeln!(s, "== {name}").unwrap();
    for r in reports {
        let ch = r.channel();
        writeln!(
            s,
            "  {}:{} port {} conn_id {:#x} hdr {:?} caps c[{}|{}] s[{}|{}] auth_mech {:?} result {:?} frames s2c {} c2s {}",
            ch.name(),
            r.mess.channel_id,
            r.server_port,
            r.mess.connection_id,
            r.header,
            caps_str(&r.mess.common_caps),
            caps_str(&r.mess.channel_caps),
            caps_str(&r.reply.common_caps),
            caps_str(&r.reply.channel_caps),
            r.auth_mechanism,
            r.link_result,
            r.s2c_frames,
            r.c2s_frames
        )
        .unwrap();
        for (dir, map) in [(Direction::ServerToClient, &r.s2c), (Direction::ClientToServer, &r.c2s)] {
            let items: Vec<String> =
                map.iter().map(|(t, n)| format!("{}({t}):{n}", message_name(ch, dir, *t).unwrap_or("?"))).collect();
            let arrow = if dir == Direction::ServerToClient { "s->c" } else { "c->s" };
            writeln!(s, "    {arrow} {}", items.join(" ")).unwrap();
        }
    }
    s
}

/// Auth mechanism value spice-gtk sends.
pub const AUTH_SPICE: u32 = AUTH_MECHANISM_SPICE;

/// Deterministic xorshift64* for fragment sizes.
pub struct XorShift(pub u64);
impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

/// The shared captures directory (`$CLOVE_CAPTURES`, or `shared/captures`
/// beside the clone). Under `CI` it must exist.
pub fn captures_dir() -> Option<std::path::PathBuf> {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("CLOVE_CAPTURES").map(std::path::PathBuf::from),
        Some(manifest.join("../../shared/captures")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_dir());
    assert!(found.is_some() || std::env::var_os("CI").is_none(), "CI=true but shared/captures was not found");
    found
}

/// A PNG as `0x00RRGGBB` words (RGB or RGBA, 8-bit).
pub fn load_png(path: &std::path::Path) -> (u32, u32, Vec<u32>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks_exact(step)
        .map(|p| (u32::from(p[0]) << 16) | (u32::from(p[1]) << 8) | u32::from(p[2]))
        .collect();
    (info.width, info.height, px)
}
