//! Message framing after the link stage: [`MessageReader`] turns a byte
//! stream arriving in arbitrary fragments into frames and messages;
//! [`MessageWriter`] puts headers on outgoing messages.
//!
//! A *frame* is one header plus its body as the peer sent it. A frame holds
//! one message, or for SPICE_MSG_LIST (type 8) and full-header frames with a
//! non-zero `sub_list` several. ACK flow control counts frames (spice-gtk
//! acks a LIST once), so the reader hands out frames and each frame hands out
//! its messages.

use alloc::vec::Vec;
use core::fmt;

use crate::consts::msg::base::server::LIST;
use crate::wire::header::{DataHeaderRepr, HeaderKind, SubMessageList};
use crate::wire::{self, get_u16, get_u32, get_u64};

/// Default largest frame body: 64 MiB. The bandwidth-test ping is ~256 KiB,
/// an uncompressed full-screen image a few MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 64 * 1024 * 1024;

/// Why the reader gave up. The stream cannot be resynchronised after an
/// error: every later call returns the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A header announced a body above the configured limit.
    TooLarge {
        /// Message type in the header.
        msg_type: u16,
        /// Announced size.
        size: u32,
        /// Configured limit.
        max: u32,
    },
    /// A sub-message list inside a frame is malformed.
    BadSubList {
        /// Type of the frame carrying the list.
        msg_type: u16,
        /// What was wrong.
        error: wire::Error,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { msg_type, size, max } => {
                write!(f, "message type {msg_type}: size {size} exceeds limit {max}")
            }
            FrameError::BadSubList { msg_type, error } => {
                write!(f, "message type {msg_type}: bad sub-message list: {error}")
            }
        }
    }
}

/// One message: a frame's own message or one of its sub-messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Message type.
    pub msg_type: u16,
    /// Serial of the frame it came in (from the full header, or counted
    /// from 1 with the mini header).
    pub serial: u64,
    /// Whether it came out of a sub-message list.
    pub is_sub_message: bool,
    /// Body.
    pub body: &'a [u8],
}

/// A complete frame, borrowed from the reader until the next `feed`.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    header: DataHeaderRepr,
    body: &'a [u8],
    list: Option<SubMessageList<'a>>,
}

impl<'a> Frame<'a> {
    /// The frame's header (serial filled in for the mini header too).
    pub fn header(&self) -> DataHeaderRepr {
        self.header
    }

    /// The raw frame body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The messages in this frame, in handling order: sub-messages first,
    /// then the frame's own message unless it is a LIST.
    pub fn messages(&self) -> impl Iterator<Item = Message<'a>> + '_ {
        let serial = self.header.serial;
        let subs = self.list.into_iter().flat_map(move |list| {
            (0..list.len()).filter_map(move |i| list.get(i)).map(move |s| Message {
                msg_type: s.msg_type,
                serial,
                is_sub_message: true,
                body: s.body,
            })
        });
        let own = (self.header.msg_type != LIST).then_some(Message {
            msg_type: self.header.msg_type,
            serial,
            is_sub_message: false,
            body: self.body,
        });
        subs.chain(own)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    /// A frame was handed out; reset on the next feed.
    Delivered,
}

/// Incremental framing state machine for one direction of a channel.
///
/// ```
/// # use spice_proto::framing::MessageReader;
/// # use spice_proto::wire::header::HeaderKind;
/// let mut reader = MessageReader::new(HeaderKind::Mini);
/// let mut input: &[u8] = &[4, 0, 2, 0, 0, 0, 0xaa, 0xbb, 3, 0];
/// while let Some(frame) = reader.feed(&mut input).unwrap() {
///     for msg in frame.messages() {
///         assert_eq!((msg.msg_type, msg.body), (4, &[0xaa, 0xbb][..]));
///     }
/// }
/// assert!(input.is_empty()); // the partial header [3, 0] is buffered
/// ```
#[derive(Debug, Clone)]
pub struct MessageReader {
    kind: HeaderKind,
    max_size: u32,
    header_buf: [u8; 18],
    header_have: usize,
    header: DataHeaderRepr,
    body: Vec<u8>,
    state: State,
    next_serial: u64,
    frames: u64,
    error: Option<FrameError>,
}

impl MessageReader {
    /// A reader for the given header kind with the default size limit.
    pub fn new(kind: HeaderKind) -> Self {
        MessageReader {
            kind,
            max_size: DEFAULT_MAX_MESSAGE_SIZE,
            header_buf: [0; 18],
            header_have: 0,
            header: DataHeaderRepr { serial: 0, msg_type: 0, size: 0, sub_list: 0 },
            body: Vec::new(),
            state: State::Header,
            next_serial: 1,
            frames: 0,
            error: None,
        }
    }

    /// Sets the largest accepted frame body.
    pub fn with_max_size(mut self, max_size: u32) -> Self {
        self.max_size = max_size;
        self
    }

    /// The header kind.
    pub fn kind(&self) -> HeaderKind {
        self.kind
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether no partial frame is buffered (a clean place for the stream to end).
    pub fn is_idle(&self) -> bool {
        self.error.is_none()
            && (self.state == State::Delivered || (self.state == State::Header && self.header_have == 0))
    }

    /// Consumes bytes from the front of `input` until one frame is complete
    /// (returned) or `input` is empty (`Ok(None)`). Call again with the rest
    /// of `input` for the next frame. Memory use is bounded by the size limit.
    pub fn feed<'s>(&'s mut self, input: &mut &[u8]) -> Result<Option<Frame<'s>>, FrameError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.state == State::Delivered {
            self.state = State::Header;
            self.header_have = 0;
            self.body.clear();
        }
        if self.state == State::Header {
            let hlen = self.kind.len();
            let take = (hlen - self.header_have).min(input.len());
            self.header_buf[self.header_have..self.header_have + take].copy_from_slice(&input[..take]);
            self.header_have += take;
            *input = &input[take..];
            if self.header_have < hlen {
                return Ok(None);
            }
            let hb = &self.header_buf;
            let mut header = match self.kind {
                HeaderKind::Mini => {
                    DataHeaderRepr { serial: 0, msg_type: get_u16(hb, 0), size: get_u32(hb, 2), sub_list: 0 }
                }
                HeaderKind::Full => DataHeaderRepr {
                    serial: get_u64(hb, 0),
                    msg_type: get_u16(hb, 8),
                    size: get_u32(hb, 10),
                    sub_list: get_u32(hb, 14),
                },
            };
            if header.size > self.max_size {
                let e = FrameError::TooLarge { msg_type: header.msg_type, size: header.size, max: self.max_size };
                self.error = Some(e);
                return Err(e);
            }
            if self.kind == HeaderKind::Mini {
                header.serial = self.next_serial;
            }
            self.next_serial = self.next_serial.wrapping_add(1);
            self.header = header;
            self.body.clear();
            self.state = State::Body;
        }
        // State::Body
        let size = self.header.size as usize;
        let want = size - self.body.len();
        let take = want.min(input.len());
        // Grow geometrically but never past the announced size, so memory
        // follows the bytes that actually arrived, not what a header claims.
        let needed = self.body.len() + take;
        if needed > self.body.capacity() {
            let target = needed.max(self.body.capacity().saturating_mul(2)).max(4096).min(size);
            self.body.reserve_exact(target - self.body.len());
        }
        self.body.extend_from_slice(&input[..take]);
        *input = &input[take..];
        if self.body.len() < self.header.size as usize {
            return Ok(None);
        }
        let header = self.header;
        let list = if header.msg_type == LIST || header.sub_list != 0 {
            match SubMessageList::new_checked(&self.body, header.sub_list) {
                Ok(list) => Some(list),
                Err(error) => {
                    let e = FrameError::BadSubList { msg_type: header.msg_type, error };
                    self.error = Some(e);
                    return Err(e);
                }
            }
        } else {
            None
        };
        self.state = State::Delivered;
        self.frames += 1;
        Ok(Some(Frame { header, body: &self.body, list }))
    }

    /// Feeds all of `input`, calling `f` for every message of every frame.
    pub fn feed_all(&mut self, mut input: &[u8], mut f: impl FnMut(Message<'_>)) -> Result<(), FrameError> {
        while let Some(frame) = self.feed(&mut input)? {
            frame.messages().for_each(&mut f);
        }
        Ok(())
    }
}

/// Puts headers on outgoing client messages and numbers them (serials start
/// at 1, as spice-gtk's do; the mini header leaves them implicit).
#[derive(Debug, Clone)]
pub struct MessageWriter {
    kind: HeaderKind,
    next_serial: u64,
}

impl MessageWriter {
    /// A writer for the given header kind.
    pub fn new(kind: HeaderKind) -> Self {
        MessageWriter { kind, next_serial: 1 }
    }

    /// The header kind.
    pub fn kind(&self) -> HeaderKind {
        self.kind
    }

    /// Serial the next message will get.
    pub fn next_serial(&self) -> u64 {
        self.next_serial
    }

    /// Writes the header for a message of `msg_type` with a body of
    /// `body_len` bytes into `buf`, returning the header length. The body
    /// goes right after it.
    pub fn emit_header(&mut self, msg_type: u16, body_len: usize, buf: &mut [u8]) -> Result<usize, wire::Error> {
        let size = u32::try_from(body_len).map_err(|_| wire::Error::TooLarge {
            what: "message",
            size: body_len as u64,
            max: u32::MAX.into(),
        })?;
        let repr = DataHeaderRepr { serial: self.next_serial, msg_type, size, sub_list: 0 };
        let n = repr.emit(self.kind, buf)?;
        self.next_serial = self.next_serial.wrapping_add(1);
        Ok(n)
    }

    /// Appends header and body of one message to `out`.
    pub fn write(&mut self, msg_type: u16, body: &[u8], out: &mut Vec<u8>) -> Result<(), wire::Error> {
        let mut header = [0u8; 18];
        let n = self.emit_header(msg_type, body.len(), &mut header)?;
        out.extend_from_slice(&header[..n]);
        out.extend_from_slice(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::emit_message_list;
    use alloc::vec;

    fn collect(reader: &mut MessageReader, mut input: &[u8], out: &mut Vec<(u16, u64, bool, Vec<u8>)>) {
        while let Some(frame) = reader.feed(&mut input).unwrap() {
            for m in frame.messages() {
                out.push((m.msg_type, m.serial, m.is_sub_message, m.body.to_vec()));
            }
        }
    }

    #[test]
    fn mini_writer_reader_round_trip_bytewise() {
        let mut w = MessageWriter::new(HeaderKind::Mini);
        let mut stream = Vec::new();
        w.write(3, &[1, 2, 3, 4], &mut stream).unwrap();
        w.write(2, &[], &mut stream).unwrap();
        w.write(101, &[7; 300], &mut stream).unwrap();
        assert_eq!(w.next_serial(), 4);
        let mut r = MessageReader::new(HeaderKind::Mini);
        let mut got = Vec::new();
        for b in &stream {
            collect(&mut r, core::slice::from_ref(b), &mut got);
        }
        assert_eq!(got, vec![(3, 1, false, vec![1, 2, 3, 4]), (2, 2, false, vec![]), (101, 3, false, vec![7; 300])]);
        assert_eq!(r.frames(), 3);
        assert!(r.is_idle());
    }

    #[test]
    fn full_header_serials_come_from_the_wire() {
        let mut w = MessageWriter::new(HeaderKind::Full);
        let mut stream = Vec::new();
        w.write(4, &[9; 5], &mut stream).unwrap();
        w.write(4, &[8; 6], &mut stream).unwrap();
        assert_eq!(&stream[..18], &[1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        let mut r = MessageReader::new(HeaderKind::Full);
        let mut got = Vec::new();
        collect(&mut r, &stream, &mut got);
        assert_eq!(got, vec![(4, 1, false, vec![9; 5]), (4, 2, false, vec![8; 6])]);
    }

    #[test]
    fn list_is_unpacked_and_counts_as_one_frame() {
        let mut body = Vec::new();
        emit_message_list(&[(5, &[1]), (105, &[2, 3])], &mut body).unwrap();
        let mut stream = Vec::new();
        let mut w = MessageWriter::new(HeaderKind::Mini);
        w.write(LIST, &body, &mut stream).unwrap();
        w.write(102, &[], &mut stream).unwrap();
        let mut r = MessageReader::new(HeaderKind::Mini);
        let mut got = Vec::new();
        collect(&mut r, &stream, &mut got);
        assert_eq!(got, vec![(5, 1, true, vec![1]), (105, 1, true, vec![2, 3]), (102, 2, false, vec![])]);
        assert_eq!(r.frames(), 2);
    }

    #[test]
    fn full_header_sub_list_yields_subs_then_main() {
        // Legacy layout: main body, then sub-messages, then the list.
        let mut body = vec![0xAA; 10];
        let sub_at = body.len() as u32;
        body.extend_from_slice(&105u16.to_le_bytes());
        body.extend_from_slice(&2u32.to_le_bytes());
        body.extend_from_slice(&[4, 5]);
        let list_at = body.len() as u32;
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&sub_at.to_le_bytes());
        let mut header = [0u8; 18];
        DataHeaderRepr { serial: 77, msg_type: 304, size: body.len() as u32, sub_list: list_at }
            .emit(HeaderKind::Full, &mut header)
            .unwrap();
        let mut stream = header.to_vec();
        stream.extend_from_slice(&body);
        let mut r = MessageReader::new(HeaderKind::Full);
        let mut got = Vec::new();
        collect(&mut r, &stream, &mut got);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (105, 77, true, vec![4, 5]));
        assert_eq!((got[1].0, got[1].1, got[1].2, got[1].3.len()), (304, 77, false, body.len()));
    }

    #[test]
    fn oversized_is_rejected_before_allocating_and_sticks() {
        let mut r = MessageReader::new(HeaderKind::Mini).with_max_size(1000);
        let mut input: &[u8] = &[4, 0, 0xe9, 0x03, 0, 0];
        assert_eq!(r.feed(&mut input).unwrap_err(), FrameError::TooLarge { msg_type: 4, size: 1001, max: 1000 });
        let mut more: &[u8] = &[0; 4];
        assert!(r.feed(&mut more).is_err());
        assert!(!r.is_idle());
        // u32::MAX with the default limit.
        let mut r = MessageReader::new(HeaderKind::Full);
        let mut input: &[u8] = &[0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(matches!(r.feed(&mut input), Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn bad_list_is_an_error() {
        let mut stream = Vec::new();
        let mut w = MessageWriter::new(HeaderKind::Mini);
        // count 3, but no offsets.
        w.write(LIST, &[3, 0, 0, 0], &mut stream).unwrap();
        let mut r = MessageReader::new(HeaderKind::Mini);
        let mut input = &stream[..];
        assert!(matches!(r.feed(&mut input), Err(FrameError::BadSubList { msg_type: 8, .. })));
    }

    #[test]
    fn truncated_stream_is_not_idle() {
        let mut stream = Vec::new();
        MessageWriter::new(HeaderKind::Mini).write(4, &[1; 10], &mut stream).unwrap();
        let mut r = MessageReader::new(HeaderKind::Mini);
        let mut got = Vec::new();
        collect(&mut r, &stream[..12], &mut got);
        assert!(got.is_empty());
        assert!(!r.is_idle());
        collect(&mut r, &stream[12..], &mut got);
        assert_eq!(got.len(), 1);
        assert!(r.is_idle());
    }
}
