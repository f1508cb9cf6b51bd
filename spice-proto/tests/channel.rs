//! The channel core against real sessions: fed the server's side of each
//! connection in tests/data/jpeg-anim.pcapng, it must answer like spice-gtk
//! did (ACK_SYNC, ACKs at the window, PONGs).

mod common;

use spice_proto::auth::Entropy;
use spice_proto::capture::reassemble;
use spice_proto::consts::msg::base::client;
use spice_proto::framing::MessageReader;
use spice_proto::session::channel::{Base, ChannelCore};
use spice_proto::session::link::{Handshake, LinkConfig};
use spice_proto::wire::link::{LinkMess, LinkMessRepr, LINK_HEADER_LEN};

struct Zeros;
impl Entropy for Zeros {
    fn fill(&mut self, buf: &mut [u8]) {
        buf.fill(7);
    }
}

/// Message type counts of a client byte stream.
fn counts(header: spice_proto::wire::header::HeaderKind, mut bytes: &[u8]) -> std::collections::BTreeMap<u16, usize> {
    let mut reader = MessageReader::new(header);
    let mut out = std::collections::BTreeMap::new();
    while let Some(frame) = reader.feed(&mut bytes).unwrap() {
        for m in frame.messages() {
            *out.entry(m.msg_type).or_default() += 1;
        }
    }
    out
}

#[test]
fn acks_and_pongs_match_spice_gtk() {
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/jpeg-anim.pcapng")).unwrap();
    let conns = reassemble(&file).unwrap();
    let mut checked_acks = 0;
    for conn in &conns {
        // What spice-gtk announced, so the server reply means the same to us.
        let mess =
            LinkMessRepr::parse(&LinkMess::new_checked(&conn.client_to_server[LINK_HEADER_LEN..]).unwrap()).unwrap();
        let config = LinkConfig {
            connection_id: mess.connection_id,
            channel_type: mess.channel_type,
            channel_id: mess.channel_id,
            channel_caps: mess.channel_caps,
        };
        let mut hs = Handshake::new(&config);
        let mut input: &[u8] = &conn.server_to_client;
        let linked = hs.receive(&mut input, "", &mut Zeros).unwrap().expect("linked");
        let mut core = ChannelCore::new(linked.header, 64 << 20);
        let mut channel_messages = 0usize;
        // Feed in uneven pieces, as TCP would.
        let mut rng = common::XorShift(conn.server_to_client.len() as u64);
        while !input.is_empty() {
            let n = rng.range(1, 1500).min(input.len());
            core.receive(&input[..n], |_, base| {
                if let Base::Channel(_) = base {
                    channel_messages += 1;
                }
                Ok(())
            })
            .unwrap();
            input = &input[n..];
        }
        let ours = counts(linked.header, core.sender.pending());
        // spice-gtk's client stream, after its link message and ticket.
        let gtk_start = conn.client_to_server.len() - client_messages_len(&conn.client_to_server, linked.header);
        let gtk = counts(linked.header, &conn.client_to_server[gtk_start..]);
        for t in [client::ACK_SYNC, client::PONG] {
            assert_eq!(ours.get(&t), gtk.get(&t), "{:?}: message {t}", mess.channel_type);
        }
        let (a, b) = (ours.get(&client::ACK).copied().unwrap_or(0), gtk.get(&client::ACK).copied().unwrap_or(0));
        assert!(a.abs_diff(b) <= 1, "{:?}: {a} ACKs, spice-gtk sent {b}", mess.channel_type);
        checked_acks += b;
        assert!(channel_messages > 0 || gtk.is_empty());
    }
    assert!(checked_acks > 5, "the capture exercises ACK flow control");
}

/// Length of the client's message stream: everything after link message,
/// optional auth mechanism word and the 128-byte ticket.
fn client_messages_len(client: &[u8], _header: spice_proto::wire::header::HeaderKind) -> usize {
    let size = u32::from_le_bytes(client[12..16].try_into().unwrap()) as usize;
    let mess = LinkMessRepr::parse(&LinkMess::new_checked(&client[16..16 + size]).unwrap()).unwrap();
    let mech = if mess.common_caps.has(0) { 4 } else { 0 };
    client.len() - (LINK_HEADER_LEN + size + mech + 128)
}
