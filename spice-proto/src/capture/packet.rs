//! Link layer, IPv4/IPv6 and TCP decoding, just enough to find TCP payloads.
//! Every length is checked; anything unexpected yields `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// LINKTYPE_NULL (BSD loopback, host-order family).
pub const LINKTYPE_NULL: u16 = 0;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_RAW (bare IPv4/IPv6).
pub const LINKTYPE_RAW: u16 = 101;
/// LINKTYPE_LINUX_SLL (Linux cooked v1).
pub const LINKTYPE_LINUX_SLL: u16 = 113;
/// LINKTYPE_IPV4.
pub const LINKTYPE_IPV4: u16 = 228;
/// LINKTYPE_IPV6.
pub const LINKTYPE_IPV6: u16 = 229;
/// LINKTYPE_LINUX_SLL2 (Linux cooked v2).
pub const LINKTYPE_LINUX_SLL2: u16 = 276;

/// A decoded TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// Payload.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Decodes a link-layer frame down to TCP, or `None` if it is not TCP over IP.
pub fn decode(link_type: u16, frame: &[u8]) -> Option<TcpSegment<'_>> {
    let (ethertype, ip) = match link_type {
        LINKTYPE_ETHERNET => {
            let mut at = 12;
            let mut et = be16(frame, at)?;
            while et == 0x8100 || et == 0x88a8 {
                at += 4;
                et = be16(frame, at)?;
            }
            (et, frame.get(at + 2..)?)
        }
        LINKTYPE_LINUX_SLL => (be16(frame, 14)?, frame.get(16..)?),
        LINKTYPE_LINUX_SLL2 => (be16(frame, 0)?, frame.get(20..)?),
        LINKTYPE_NULL => {
            let fam: [u8; 4] = frame.get(..4)?.try_into().ok()?;
            let fam = u32::from_le_bytes(fam).min(u32::from_be_bytes(fam));
            let et = match fam {
                2 => 0x0800,
                24 | 28 | 30 => 0x86dd,
                _ => return None,
            };
            (et, frame.get(4..)?)
        }
        LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            let et = match frame.first()? >> 4 {
                4 => 0x0800,
                6 => 0x86dd,
                _ => return None,
            };
            (et, frame)
        }
        _ => return None,
    };
    let (src, dst, tcp) = match ethertype {
        0x0800 => ipv4(ip)?,
        0x86dd => ipv6(ip)?,
        _ => return None,
    };
    tcp_segment(src, dst, tcp)
}

fn ipv4(ip: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    let vihl = *ip.first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(vihl & 0xf) * 4;
    let total = usize::from(be16(ip, 2)?);
    let frag = be16(ip, 6)?;
    if ihl < 20 || total < ihl || total > ip.len() || *ip.get(9)? != 6 || frag & 0x3fff != 0 {
        return None; // bad lengths, not TCP, or a fragment
    }
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
    Some((Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into(), &ip[ihl..total]))
}

fn ipv6(ip: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    if ip.first()? >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(be16(ip, 4)?);
    let mut next = *ip.get(6)?;
    let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
    let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
    let mut rest = ip.get(40..40 + payload_len)?;
    // Hop-by-hop, routing and destination options; fragments are not reassembled.
    while matches!(next, 0 | 43 | 60) {
        let len = (usize::from(*rest.get(1)?) + 1) * 8;
        next = *rest.first()?;
        rest = rest.get(len..)?;
    }
    if next != 6 {
        return None;
    }
    Some((Ipv6Addr::from(src).into(), Ipv6Addr::from(dst).into(), rest))
}

fn tcp_segment(src: IpAddr, dst: IpAddr, tcp: &[u8]) -> Option<TcpSegment<'_>> {
    let data_off = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    if data_off < 20 {
        return None;
    }
    Some(TcpSegment {
        src,
        dst,
        src_port: be16(tcp, 0)?,
        dst_port: be16(tcp, 2)?,
        seq: be32(tcp, 4)?,
        fin: flags & 0x01 != 0,
        syn: flags & 0x02 != 0,
        rst: flags & 0x04 != 0,
        ack: flags & 0x10 != 0,
        payload: tcp.get(data_off..)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_tcp(payload: &[u8], flags: u8) -> Vec<u8> {
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&5000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&5900u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&1234u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        tcp.extend_from_slice(payload);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2];
        let total = (ip.len() + tcp.len()) as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend(tcp);
        ip
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend(ipv4_tcp(b"hello", 0x18));
        frame.extend_from_slice(&[0; 6]); // Ethernet padding is not payload
        let seg = decode(LINKTYPE_ETHERNET, &frame).unwrap();
        assert_eq!(seg.payload, b"hello");
        assert_eq!((seg.src_port, seg.dst_port, seg.seq), (5000, 5900, 1234));
        assert!(seg.ack && !seg.syn);
        assert_eq!(seg.dst, IpAddr::from([127, 0, 0, 2]));
        // Raw IP too.
        assert_eq!(decode(LINKTYPE_RAW, &frame[14..]).unwrap().payload, b"hello");
        // Every truncation is handled without panicking.
        for cut in 0..frame.len() {
            let _ = decode(LINKTYPE_ETHERNET, &frame[..cut]);
            let _ = decode(LINKTYPE_LINUX_SLL, &frame[..cut]);
            let _ = decode(LINKTYPE_LINUX_SLL2, &frame[..cut]);
            let _ = decode(LINKTYPE_NULL, &frame[..cut]);
        }
    }

    #[test]
    fn ipv6_tcp() {
        let v4 = ipv4_tcp(b"xy", 0x02);
        let tcp = &v4[20..];
        let mut ip = vec![0x60, 0, 0, 0];
        ip.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        ip.extend_from_slice(&[6, 64]);
        ip.extend_from_slice(&[0; 15]);
        ip.push(1);
        ip.extend_from_slice(&[0; 15]);
        ip.push(1);
        ip.extend_from_slice(tcp);
        let seg = decode(LINKTYPE_RAW, &ip).unwrap();
        assert!(seg.syn);
        assert_eq!(seg.payload, b"xy");
        assert_eq!(seg.src, IpAddr::from(Ipv6Addr::LOCALHOST));
    }
}
