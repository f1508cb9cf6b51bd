//! A scripted server for session tests: the link reply, linking a channel,
//! a session whose main channel offered some channels, and message bytes.

use spice_proto::auth::Entropy;
use spice_proto::consts::{ChannelType, LinkError};
use spice_proto::session::{Session, SessionConfig};
use spice_proto::wire::link::{LinkReplyRepr, LINK_HEADER_LEN};
use spice_proto::wire::Caps;

const PUB_DER: &[u8] = include_bytes!("../data/ticket-key.pub.der");

/// Constant "randomness": the scripted server never decrypts the ticket.
pub struct Fixed;
impl Entropy for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0x42);
    }
}

/// A link reply (AUTH_SELECTION, AUTH_SPICE, MINI_HEADER) with the test key.
pub fn reply() -> Vec<u8> {
    let mut pub_key = [0u8; 162];
    pub_key.copy_from_slice(PUB_DER);
    let r = LinkReplyRepr {
        error: LinkError::Ok,
        pub_key,
        common_caps: Caps::from_bits(&[0, 1, 3]).unwrap(),
        channel_caps: Caps::new(),
    };
    let mut out = vec![0u8; LINK_HEADER_LEN + r.buffer_len()];
    let n = r.emit_with_header(&mut out).unwrap();
    out.truncate(n);
    out
}

/// Takes everything `h` has to send.
pub fn take(s: &mut Session, h: usize) -> Vec<u8> {
    let out = s.pending_output(h).to_vec();
    s.consume_output(h, out.len());
    out
}

/// Mini-header message bytes.
pub fn msg(t: u16, body: &[u8]) -> Vec<u8> {
    let mut v = t.to_le_bytes().to_vec();
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// Links `h`: reply, ticket, result.
pub fn link(s: &mut Session, h: usize) {
    s.connected(h);
    take(s, h);
    s.receive(h, &reply()).unwrap();
    take(s, h);
    s.receive(h, &0u32.to_le_bytes()).unwrap();
}

/// A session whose main channel offered `channels`, all linked; returns
/// their handles in order.
pub fn session_with(channels: &[(ChannelType, u8)]) -> (Session, Vec<usize>) {
    session_with_config(SessionConfig::default(), channels)
}

/// [`session_with`] for a given configuration.
pub fn session_with_config(config: SessionConfig, channels: &[(ChannelType, u8)]) -> (Session, Vec<usize>) {
    let mut s = Session::new(config, Box::new(Fixed));
    let main = s.poll_connect().unwrap();
    link(&mut s, main);
    let mut init = Vec::new();
    for v in [7u32, 1, 1, 1, 0, 0, 0, 0] {
        init.extend_from_slice(&v.to_le_bytes());
    }
    let mut list = (channels.len() as u32).to_le_bytes().to_vec();
    for (c, id) in channels {
        list.extend_from_slice(&[u8::from(*c), *id]);
    }
    s.receive(main, &[msg(103, &init), msg(104, &list)].concat()).unwrap();
    let mut handles = Vec::new();
    while let Some(h) = s.poll_connect() {
        link(&mut s, h);
        take(&mut s, h);
        handles.push(h);
    }
    while s.poll_event().is_some() {}
    (s, handles)
}

/// Client messages in `bytes` (mini header) as (type, body).
pub fn parse_out(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut b = bytes;
    while b.len() >= 6 {
        let t = u16::from_le_bytes([b[0], b[1]]);
        let n = u32::from_le_bytes([b[2], b[3], b[4], b[5]]) as usize;
        out.push((t, b[6..6 + n].to_vec()));
        b = &b[6 + n..];
    }
    out
}
