//! Host-only capture reading for tests and tools (feature `std`). Still no
//! I/O: the caller reads the file and passes the bytes.
//!
//! [`pcapng`] walks the blocks and yields link-layer frames, [`packet`]
//! decodes Ethernet / Linux cooked / loopback / raw IP, IPv4/IPv6 and TCP,
//! and [`reassemble`] rebuilds both byte streams of every TCP connection.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

pub mod packet;
pub mod pcapng;
pub mod replay;

pub use packet::TcpSegment;
pub use pcapng::Frame;

/// Error reading a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// The file is not a pcapng section.
    NotPcapng,
    /// A block is malformed.
    BadBlock {
        /// Byte offset of the block in the file.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A packet refers to an interface that was never described.
    UnknownInterface(u32),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::NotPcapng => f.write_str("not a pcapng file"),
            CaptureError::BadBlock { offset, reason } => write!(f, "pcapng block at {offset}: {reason}"),
            CaptureError::UnknownInterface(i) => write!(f, "packet on undescribed interface {i}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// An IP address and TCP port.
pub type Endpoint = (IpAddr, u16);

/// One TCP connection, both directions reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Address of the side that sent the first SYN.
    pub client: Endpoint,
    /// Address of the side that received it.
    pub server: Endpoint,
    /// Bytes the client sent, in sequence order.
    pub client_to_server: Vec<u8>,
    /// Bytes the server sent, in sequence order.
    pub server_to_client: Vec<u8>,
    /// Whether either direction had a hole (data missing from the capture);
    /// the streams then stop at the first hole.
    pub has_gap: bool,
}

impl Connection {
    /// The server's TCP port.
    pub fn server_port(&self) -> u16 {
        self.server.1
    }
}

/// One direction of a connection: segments keyed by offset from the ISN.
#[derive(Debug, Default)]
struct HalfStream {
    isn: Option<u32>,
    data: Vec<u8>,
    /// Segments that arrived beyond the contiguous end.
    pending: BTreeMap<u64, Vec<u8>>,
}

impl HalfStream {
    fn add(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        if syn {
            self.isn = Some(seq);
        }
        let Some(isn) = self.isn else { return };
        if payload.is_empty() {
            return;
        }
        // Data starts at ISN + 1 (the SYN takes one sequence number).
        let first = if syn { seq.wrapping_add(1) } else { seq };
        let rel = u64::from(first.wrapping_sub(isn.wrapping_add(1)));
        // Offsets far "ahead" are old retransmissions before the ISN window; ignore.
        if rel > u64::from(u32::MAX / 2) {
            return;
        }
        // Keep the longest segment seen at each offset.
        let slot = self.pending.entry(rel).or_default();
        if payload.len() > slot.len() {
            *slot = payload.to_vec();
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some((&off, _)) = self.pending.first_key_value() {
            let end = self.data.len() as u64;
            if off > end {
                break;
            }
            let Some((off, seg)) = self.pending.pop_first() else { break };
            let skip = (end - off) as usize;
            if skip < seg.len() {
                self.data.extend_from_slice(&seg[skip..]);
            }
        }
    }
}

#[derive(Debug)]
struct ConnState {
    client: Endpoint,
    server: Endpoint,
    c2s: HalfStream,
    s2c: HalfStream,
}

/// Reassembles every TCP connection whose SYN is in the capture, in order of
/// their first SYN. Retransmitted and overlapping segments are merged by
/// sequence number; out-of-order segments wait until the gap before them
/// fills. Packets that do not decode (other protocols) are skipped.
pub fn reassemble(file: &[u8]) -> Result<Vec<Connection>, CaptureError> {
    let mut conns: Vec<ConnState> = Vec::new();
    // (source, destination) endpoint pair → index into `conns`, both ways.
    let mut index: HashMap<(Endpoint, Endpoint), usize> = HashMap::new();
    for frame in pcapng::frames(file) {
        let frame = frame?;
        let Some(seg) = packet::decode(frame.link_type, frame.data) else { continue };
        let src = (seg.src, seg.src_port);
        let dst = (seg.dst, seg.dst_port);
        let idx = match index.get(&(src, dst)) {
            Some(&i) => Some(i),
            None if seg.syn && !seg.ack => {
                // A new connection (a repeated SYN for a live one was found above).
                let i = conns.len();
                conns.push(ConnState {
                    client: src,
                    server: dst,
                    c2s: HalfStream::default(),
                    s2c: HalfStream::default(),
                });
                index.insert((src, dst), i);
                index.insert((dst, src), i);
                Some(i)
            }
            None => None,
        };
        let Some(i) = idx else { continue };
        let c = &mut conns[i];
        if seg.syn && !seg.ack && c.client == src && c.c2s.isn.is_some() && c.c2s.isn != Some(seg.seq) {
            // Port reuse: a new connection on the same 4-tuple.
            let j = conns.len();
            conns.push(ConnState { client: src, server: dst, c2s: HalfStream::default(), s2c: HalfStream::default() });
            index.insert((src, dst), j);
            index.insert((dst, src), j);
            let c = &mut conns[j];
            c.c2s.add(seg.seq, true, seg.payload);
            continue;
        }
        let half = if c.client == src { &mut c.c2s } else { &mut c.s2c };
        half.add(seg.seq, seg.syn, seg.payload);
    }
    Ok(conns
        .into_iter()
        .map(|c| Connection {
            has_gap: !c.c2s.pending.is_empty() || !c.s2c.pending.is_empty(),
            client: c.client,
            server: c.server,
            client_to_server: c.c2s.data,
            server_to_client: c.s2c.data,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_stream_handles_reorder_and_overlap() {
        let mut h = HalfStream::default();
        h.add(1000, true, &[]);
        h.add(1007, false, b"ghij"); // out of order
        h.add(1001, false, b"abc");
        assert_eq!(h.data, b"abc");
        h.add(1001, false, b"abcdef"); // retransmission, longer
        h.add(1003, false, b"cdefgh"); // overlap
        assert_eq!(h.data, b"abcdefghij");
        h.add(1001, false, b"ab"); // old duplicate
        h.add(900, false, b"zzz"); // before the ISN
        assert_eq!(h.data, b"abcdefghij");
        assert!(h.pending.is_empty());
    }

    #[test]
    fn sequence_wraps() {
        let mut h = HalfStream::default();
        h.add(u32::MAX - 1, true, &[]);
        h.add(u32::MAX, false, b"ab");
        h.add(1, false, b"cd");
        assert_eq!(h.data, b"abcd");
    }
}
