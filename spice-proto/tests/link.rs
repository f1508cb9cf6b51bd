//! The link stage against a scripted server: real key, random fragmenting.

mod common;

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Oaep, RsaPrivateKey};
use sha1::Sha1;
use spice_proto::auth::Entropy;
use spice_proto::consts::caps::common as ccaps;
use spice_proto::consts::{ChannelType, LinkError};
use spice_proto::session::link::{Handshake, LinkConfig, LinkFailure};
use spice_proto::wire::header::HeaderKind;
use spice_proto::wire::link::{LinkHeader, LinkHeaderRepr, LinkMess, LinkMessRepr, LinkReplyRepr, LINK_HEADER_LEN};
use spice_proto::wire::Caps;

const PUB_DER: &[u8] = include_bytes!("data/ticket-key.pub.der");
const PRIV_PEM: &str = include_str!("data/ticket-key.pem");

struct TestEntropy(common::XorShift);
impl Entropy for TestEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.0.next() as u8;
        }
    }
}

fn config() -> LinkConfig {
    LinkConfig {
        connection_id: 0x7c56_5d19,
        channel_type: ChannelType::Display,
        channel_id: 0,
        channel_caps: Caps::from_bits(&[1, 5]).unwrap(),
    }
}

fn reply(error: LinkError, common_bits: &[u32]) -> Vec<u8> {
    let mut pub_key = [0u8; 162];
    pub_key.copy_from_slice(PUB_DER);
    let r = LinkReplyRepr {
        error,
        pub_key,
        common_caps: Caps::from_bits(common_bits).unwrap(),
        channel_caps: Caps::from_bits(&[0, 1]).unwrap(),
    };
    let mut out = vec![0u8; LINK_HEADER_LEN + r.buffer_len()];
    let n = r.emit_with_header(&mut out).unwrap();
    out.truncate(n);
    out
}

/// Feeds `bytes` in random fragments; returns the final outcome and the
/// bytes the handshake left unconsumed.
fn feed(
    hs: &mut Handshake,
    bytes: &[u8],
    password: &str,
    rng: &mut common::XorShift,
) -> (Option<Result<spice_proto::session::link::Linked, LinkFailure>>, Vec<u8>) {
    let mut e = TestEntropy(common::XorShift(99));
    let mut rest = Vec::new();
    let mut outcome = None;
    let mut at = 0;
    while at < bytes.len() {
        let n = rng.range(1, 40).min(bytes.len() - at);
        let mut chunk = &bytes[at..at + n];
        at += n;
        if outcome.is_some() {
            rest.extend_from_slice(chunk);
            continue;
        }
        match hs.receive(&mut chunk, password, &mut e) {
            Ok(None) => assert!(chunk.is_empty(), "bytes left over while still linking"),
            Ok(Some(l)) => outcome = Some(Ok(l)),
            Err(f) => outcome = Some(Err(f)),
        }
        rest.extend_from_slice(chunk);
    }
    (outcome, rest)
}

#[test]
fn link_message_is_well_formed() {
    let mut hs = Handshake::new(&config());
    let out = hs.take_output();
    let h = LinkHeaderRepr::parse(&LinkHeader::new_checked(&out[..16]).unwrap()).unwrap();
    assert_eq!(h.size as usize, out.len() - 16);
    let m = LinkMessRepr::parse(&LinkMess::new_checked(&out[16..]).unwrap()).unwrap();
    assert_eq!(m.connection_id, 0x7c56_5d19);
    assert_eq!(m.channel_type, ChannelType::Display);
    for bit in [ccaps::PROTOCOL_AUTH_SELECTION, ccaps::AUTH_SPICE, ccaps::MINI_HEADER] {
        assert!(m.common_caps.has(bit), "common cap {bit}");
    }
    assert_eq!(m.channel_caps, config().channel_caps);
    assert!(hs.take_output().is_empty(), "the link message is sent once");
}

#[test]
fn ticket_then_result_in_any_fragmentation() {
    let key = RsaPrivateKey::from_pkcs8_pem(PRIV_PEM).unwrap();
    for seed in 1..20u64 {
        let mut rng = common::XorShift(seed);
        let mut hs = Handshake::new(&config());
        hs.take_output();
        let mut server = reply(LinkError::Ok, &[0, 1, 3]);
        // The result, then the first message bytes in the same segment.
        let first_message = [3u8, 0, 8, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0];
        let (pending, _) = feed(&mut hs, &server, "clove-secret", &mut rng);
        assert!(pending.is_none(), "not linked before the result");
        let out = hs.take_output();
        assert_eq!(out.len(), 4 + 128, "auth mechanism + ticket");
        assert_eq!(&out[..4], &1u32.to_le_bytes());
        assert_eq!(key.decrypt(Oaep::new::<Sha1>(), &out[4..]).unwrap(), b"clove-secret\0");
        server.clear();
        server.extend_from_slice(&0u32.to_le_bytes());
        server.extend_from_slice(&first_message);
        let (linked, rest) = feed(&mut hs, &server, "clove-secret", &mut rng);
        let linked = linked.unwrap().unwrap();
        assert_eq!(linked.header, HeaderKind::Mini);
        assert!(linked.server_channel_caps.has(1));
        assert_eq!(rest, first_message, "bytes after the link stage are left for the message reader");
    }
}

#[test]
fn no_auth_selection_and_no_mini_header() {
    let mut hs = Handshake::new(&config());
    hs.take_output();
    let (_, _) = feed(&mut hs, &reply(LinkError::Ok, &[1]), "", &mut common::XorShift(5));
    assert_eq!(hs.take_output().len(), 128, "ticket only, no mechanism word");
    let (linked, _) = feed(&mut hs, &0u32.to_le_bytes(), "", &mut common::XorShift(6));
    assert_eq!(linked.unwrap().unwrap().header, HeaderKind::Full);
}

#[test]
fn failures_are_typed() {
    let mut hs = Handshake::new(&config());
    let (r, _) = feed(&mut hs, &reply(LinkError::ChannelNotAvailable, &[]), "", &mut common::XorShift(7));
    assert_eq!(r.unwrap().unwrap_err(), LinkFailure::Refused(LinkError::ChannelNotAvailable));

    let mut hs = Handshake::new(&config());
    feed(&mut hs, &reply(LinkError::Ok, &[0, 1, 3]), "bad", &mut common::XorShift(8));
    let (r, _) = feed(&mut hs, &7u32.to_le_bytes(), "bad", &mut common::XorShift(9));
    let err = r.unwrap().unwrap_err();
    assert_eq!(err, LinkFailure::WrongPassword);
    assert_eq!(err.to_string(), "wrong password");

    let mut hs = Handshake::new(&config());
    let mut garbage = reply(LinkError::Ok, &[0]);
    garbage[0] = b'X';
    let (r, _) = feed(&mut hs, &garbage, "", &mut common::XorShift(10));
    assert!(matches!(r.unwrap().unwrap_err(), LinkFailure::Protocol(_)));

    let mut hs = Handshake::new(&config());
    let long = "x".repeat(61);
    let (r, _) = feed(&mut hs, &reply(LinkError::Ok, &[0, 1, 3]), &long, &mut common::XorShift(11));
    assert!(matches!(r.unwrap().unwrap_err(), LinkFailure::Ticket(_)));
}
