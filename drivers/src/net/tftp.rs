//! A TFTP read (RFC 1350, octet mode, 512-byte blocks) as a sans-IO state
//! machine: the caller sends what [`TftpRead::poll`] asks for over UDP and
//! hands every datagram from the server to [`TftpRead::receive`]. The last
//! packet is resent after a timeout, a few times; the file size is bounded.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

const RRQ: u16 = 1;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;
const BLOCK: usize = 512;

/// Resend the last packet after this long without an answer.
pub const RETRY_MS: u64 = 1000;
/// Give up after this many resends of one packet.
pub const RETRIES: u32 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TftpError {
    /// The server's ERROR packet.
    Server { code: u16, message: String },
    /// No answer after [`RETRIES`] resends.
    Timeout,
    /// The file is longer than the limit.
    TooBig { limit: usize },
    /// A packet that makes no sense here (an OACK we did not ask for, ...).
    Protocol(&'static str),
}

impl fmt::Display for TftpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TftpError::Server { code, message } => write!(f, "the TFTP server says: {message} (error {code})"),
            TftpError::Timeout => write!(f, "no answer from the TFTP server ({RETRIES} retries)"),
            TftpError::TooBig { limit } => write!(f, "the file is longer than {limit} bytes"),
            TftpError::Protocol(why) => write!(f, "TFTP protocol error: {why}"),
        }
    }
}

/// What the caller does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send this datagram to the server's `port` (69 for the request,
    /// then the port the server answered from).
    Send {
        port: u16,
        packet: &'a [u8],
    },
    /// Nothing to send; poll again later.
    Wait,
    Done,
    Failed,
}

#[derive(Debug)]
pub struct TftpRead {
    limit: usize,
    /// The last packet we sent, kept for resends.
    packet: Vec<u8>,
    /// Whether `packet` still has to go out.
    pending: bool,
    sent_at_ms: u64,
    resends: u32,
    server_port: u16,
    /// The server's transfer ID (its port), from its first DATA.
    tid: Option<u16>,
    /// The block we wait for.
    next_block: u16,
    data: Vec<u8>,
    done: bool,
    error: Option<TftpError>,
}

impl TftpRead {
    /// A read of `name` from the server at UDP `port` (usually 69); at most
    /// `limit` bytes.
    pub fn new(name: &str, port: u16, limit: usize) -> Self {
        let mut packet = Vec::with_capacity(name.len() + 10);
        packet.extend_from_slice(&RRQ.to_be_bytes());
        packet.extend_from_slice(name.as_bytes());
        packet.push(0);
        packet.extend_from_slice(b"octet\0");
        Self {
            limit,
            packet,
            pending: true,
            sent_at_ms: 0,
            resends: 0,
            server_port: port,
            tid: None,
            next_block: 1,
            data: Vec::new(),
            done: false,
            error: None,
        }
    }

    /// The next step at time `now_ms`. After `Send`, the packet counts as
    /// sent at `now_ms`.
    pub fn poll(&mut self, now_ms: u64) -> Action<'_> {
        if self.error.is_some() {
            return Action::Failed;
        }
        if !self.pending && !self.done && now_ms.saturating_sub(self.sent_at_ms) >= RETRY_MS {
            if self.resends == RETRIES {
                self.error = Some(TftpError::Timeout);
                return Action::Failed;
            }
            self.resends += 1;
            self.pending = true;
        }
        if self.pending {
            self.pending = false;
            self.sent_at_ms = now_ms;
            return Action::Send { port: self.tid.unwrap_or(self.server_port), packet: &self.packet };
        }
        if self.done {
            Action::Done
        } else {
            Action::Wait
        }
    }

    /// A datagram from the server's address, sent from `port`.
    pub fn receive(&mut self, port: u16, datagram: &[u8]) {
        if self.done || self.error.is_some() || self.tid.is_some_and(|t| t != port) {
            return; // Late, or another transfer's: not ours.
        }
        let Some((op, rest)) = datagram.split_first_chunk::<2>() else { return };
        let Some((arg, body)) = rest.split_first_chunk::<2>() else { return };
        let arg = u16::from_be_bytes(*arg);
        match u16::from_be_bytes(*op) {
            DATA if arg == self.next_block => {
                if body.len() > BLOCK {
                    return self.fail(TftpError::Protocol("a DATA block longer than 512 bytes"));
                }
                if self.data.len() + body.len() > self.limit {
                    return self.fail(TftpError::TooBig { limit: self.limit });
                }
                self.tid = Some(port);
                self.data.extend_from_slice(body);
                self.ack(arg);
                self.next_block = self.next_block.wrapping_add(1);
                self.done = body.len() < BLOCK;
            }
            // Our ACK was lost: the server resends the block; ACK it again.
            DATA if self.tid.is_some() && arg == self.next_block.wrapping_sub(1) => self.ack(arg),
            DATA => {}
            ERROR => {
                let text = body.split(|&b| b == 0).next().unwrap_or_default();
                let message = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
                self.fail(TftpError::Server { code: arg, message })
            }
            OACK => self.fail(TftpError::Protocol("an OACK for options we did not ask for")),
            _ => self.fail(TftpError::Protocol("an unexpected opcode")),
        }
    }

    fn ack(&mut self, block: u16) {
        self.packet.clear();
        self.packet.extend_from_slice(&ACK.to_be_bytes());
        self.packet.extend_from_slice(&block.to_be_bytes());
        self.pending = true;
        self.resends = 0;
    }

    fn fail(&mut self, e: TftpError) {
        self.error = Some(e);
    }

    /// The file, once [`Action::Done`].
    pub fn data(&self) -> Option<&[u8]> {
        self.done.then_some(&self.data[..])
    }

    /// Why it failed, once [`Action::Failed`].
    pub fn error(&self) -> Option<&TftpError> {
        self.error.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn data(block: u16, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 3];
        v.extend_from_slice(&block.to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn sent(a: Action<'_>) -> (u16, Vec<u8>) {
        match a {
            Action::Send { port, packet } => (port, packet.to_vec()),
            other => panic!("expected a send, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_two_block_file() {
        let mut t = TftpRead::new("clove.vv", 69, 4096);
        assert_eq!(sent(t.poll(0)), (69, b"\0\x01clove.vv\0octet\0".to_vec()));
        assert_eq!(t.poll(10), Action::Wait);
        t.receive(40000, &data(1, &[b'a'; 512]));
        assert_eq!(sent(t.poll(20)), (40000, vec![0, 4, 0, 1]));
        // Another port's packet is not this transfer's.
        t.receive(40001, &data(2, b"evil"));
        t.receive(40000, &data(2, b"end"));
        assert_eq!(sent(t.poll(30)), (40000, vec![0, 4, 0, 2]));
        assert_eq!(t.poll(40), Action::Done);
        let got = t.data().unwrap();
        assert_eq!((got.len(), &got[512..]), (515, &b"end"[..]));
    }

    #[test]
    fn resends_then_times_out() {
        let mut t = TftpRead::new("x", 69, 100);
        let rrq = sent(t.poll(0));
        for i in 1..=RETRIES as u64 {
            assert_eq!(t.poll(i * RETRY_MS - 1), Action::Wait);
            assert_eq!(sent(t.poll(i * RETRY_MS)), rrq);
        }
        assert_eq!(t.poll(10 * RETRY_MS), Action::Failed);
        assert_eq!(t.error(), Some(&TftpError::Timeout));
    }

    #[test]
    fn a_repeated_block_is_acked_again_and_not_appended() {
        let mut t = TftpRead::new("x", 69, 2048);
        t.poll(0);
        t.receive(5000, &data(1, &[1; 512]));
        sent(t.poll(1));
        t.receive(5000, &data(1, &[1; 512]));
        assert_eq!(sent(t.poll(2)), (5000, vec![0, 4, 0, 1]));
        t.receive(5000, &data(2, &[]));
        sent(t.poll(3));
        assert_eq!(t.data().map(<[u8]>::len), Some(512));
    }

    #[test]
    fn errors_sizes_and_garbage() {
        let mut t = TftpRead::new("nope", 69, 100);
        t.poll(0);
        t.receive(69, b"\0\x05\0\x01File not found\0");
        assert_eq!(t.poll(1), Action::Failed);
        assert_eq!(t.error().unwrap().to_string(), "the TFTP server says: File not found (error 1)");

        let mut t = TftpRead::new("big", 69, 600);
        t.poll(0);
        t.receive(7, &data(1, &[0; 512]));
        t.poll(1);
        t.receive(7, &data(2, &[0; 512]));
        assert_eq!(t.error(), Some(&TftpError::TooBig { limit: 600 }));

        let mut t = TftpRead::new("x", 69, 100);
        t.poll(0);
        for junk in [&b""[..], b"\0", b"\0\x03", b"\0\x03\0"] {
            t.receive(7, junk);
        }
        assert_eq!(t.poll(1), Action::Wait);
        t.receive(7, &data(1, &[0; 600]));
        assert!(matches!(t.error(), Some(TftpError::Protocol(_))));
        let mut t = TftpRead::new("x", 69, 100);
        t.receive(7, b"\0\x06blksize\x00512\x00");
        assert_eq!(t.poll(0), Action::Failed);
    }
}
