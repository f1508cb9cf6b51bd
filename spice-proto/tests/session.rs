//! The session against a scripted server: what it sends at each link step.

mod common;

use spice_proto::auth::Entropy;
use spice_proto::consts::{ChannelType, LinkError};
use spice_proto::session::{Event, Session, SessionConfig};
use spice_proto::wire::link::{LinkMess, LinkMessRepr, LinkReplyRepr, LINK_HEADER_LEN};
use spice_proto::wire::Caps;

const PUB_DER: &[u8] = include_bytes!("data/ticket-key.pub.der");

struct Fixed;
impl Entropy for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(0x42);
    }
}

fn reply() -> Vec<u8> {
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

fn take(s: &mut Session, h: usize) -> Vec<u8> {
    let out = s.pending_output(h).to_vec();
    s.consume_output(h, out.len());
    out
}

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
