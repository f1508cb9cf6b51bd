//! Arbitrary and mutated input never panics any parser; errors are typed.

mod common;

use common::XorShift;
use spice_proto::capture::{packet, pcapng, reassemble};
use spice_proto::framing::MessageReader;
use spice_proto::wire::header::{HeaderKind, SubMessageList};
use spice_proto::wire::link::{LinkHeader, LinkHeaderRepr, LinkMess, LinkMessRepr, LinkReply, LinkReplyRepr};

fn random_bytes(rng: &mut XorShift, max: usize) -> Vec<u8> {
    let n = rng.range(0, max);
    (0..n).map(|_| rng.next() as u8).collect()
}

#[test]
fn random_input_never_panics() {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    for _ in 0..20_000 {
        let b = random_bytes(&mut rng, 300);
        if let Ok(h) = LinkHeader::new_checked(&b[..]) {
            let _ = LinkHeaderRepr::parse(&h);
        }
        if let Ok(m) = LinkMess::new_checked(&b[..]) {
            let _ = LinkMessRepr::parse(&m).unwrap();
        }
        if let Ok(r) = LinkReply::new_checked(&b[..]) {
            let _ = LinkReplyRepr::parse(&r).unwrap();
        }
        let off = rng.range(0, 400) as u32;
        if let Ok(list) = SubMessageList::new_checked(&b, off) {
            assert_eq!(list.iter().count(), list.len());
        }
        for kind in [HeaderKind::Mini, HeaderKind::Full] {
            let mut r = MessageReader::new(kind).with_max_size(1 << 16);
            let mut input = &b[..];
            while let Ok(Some(frame)) = r.feed(&mut input) {
                let _ = frame.messages().count();
            }
        }
        for lt in [0u16, 1, 101, 113, 276] {
            let _ = packet::decode(lt, &b);
        }
        let _ = pcapng::frames(&b).count();
    }
}

#[test]
fn mutated_link_replies_never_panic() {
    // A valid reply with one word of each cap class; mutate counts, offset and caps.
    let mut rng = XorShift(99);
    let mut reply = vec![0u8; 178 + 8];
    reply[166] = 1;
    reply[170] = 1;
    reply[174] = 178;
    assert!(LinkReply::new_checked(&reply[..]).is_ok());
    for _ in 0..20_000 {
        let mut m = reply.clone();
        for _ in 0..rng.range(1, 4) {
            let i = rng.range(160, m.len() - 1);
            m[i] = rng.next() as u8;
        }
        let cut = rng.range(0, m.len());
        if let Ok(v) = LinkReply::new_checked(&m[..cut]) {
            let r = LinkReplyRepr::parse(&v).unwrap();
            assert!(r.common_caps.len() <= spice_proto::wire::MAX_CAP_WORDS);
        }
    }
}

#[test]
fn mutated_capture_never_panics() {
    let file = include_bytes!("data/jpeg-anim.pcapng");
    let mut rng = XorShift(7);
    for _ in 0..40 {
        let mut f = file[..200_000].to_vec();
        for _ in 0..20 {
            let i = rng.range(0, f.len() - 1);
            f[i] = rng.next() as u8;
        }
        let _ = reassemble(&f);
    }
}
