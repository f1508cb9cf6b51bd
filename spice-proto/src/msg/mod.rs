//! Typed message bodies for every channel: parse what the server sends, emit
//! what the client sends.
//!
//! Layouts follow spice-common's `spice.proto` (the marshalling spec that
//! spice-server 0.15 uses with the mini header), not the older `spice1.proto`.
//! The rules that matter for parsing:
//!
//! - Everything is little-endian and packed.
//! - A pointer field (`Type *field` in spice.proto) is a `u32` offset from the
//!   start of the message body; 0 is NULL. Every offset is checked to lie
//!   inside the body before it is followed.
//! - Image data (`@chunk`), stream data and cursor data are inline bytes; they
//!   are returned as slices borrowed from the body (zero-copy).
//! - Every count is checked against the bytes left in the body before
//!   anything is allocated, so a hostile count cannot make us allocate more
//!   than the body size.
//!
//! [`ServerMessage::parse`] dispatches on channel and message type;
//! [`ClientMessage::parse`] does the same for client messages (used by tests
//! and tools). Each client message type implements [`EmitMessage`].
//!
//! ```
//! use spice_proto::consts::ChannelType;
//! use spice_proto::msg::{base, EmitMessage, ServerMessage};
//! let body = [1, 0, 0, 0, 20, 0, 0, 0]; // SET_ACK { generation 1, window 20 }
//! let msg = ServerMessage::parse(ChannelType::Display, 3, &body).unwrap();
//! let ServerMessage::Base(base::BaseMessage::SetAck(ack)) = msg else { panic!() };
//! assert_eq!((ack.generation, ack.window), (1, 20));
//! let reply = base::AckSync { generation: ack.generation };
//! assert_eq!(reply.to_vec(), [1, 0, 0, 0]);
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::consts::ChannelType;
use crate::framing::MessageWriter;
use crate::wire;

pub mod audio;
pub mod base;
pub mod cursor;
pub mod display;
pub mod draw;
pub mod image;
pub mod inputs;
pub mod main;

/// What was wrong with a message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgErrorKind {
    /// A field (or an array that a count announces) runs past the end of the body.
    Truncated {
        /// Offset in the body where the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: u64,
        /// Length of the body.
        len: usize,
    },
    /// A pointer (offset from the body start) points outside the body.
    BadPointer {
        /// The offset.
        offset: u32,
        /// Length of the body.
        len: usize,
    },
    /// A pointer that must not be NULL is 0.
    NullPointer,
    /// A type or flag value that decides the layout of what follows is unknown.
    BadValue(u32),
    /// A value to emit does not fit its wire field.
    TooLarge {
        /// The value.
        value: u64,
        /// Largest value the field holds.
        max: u64,
    },
    /// The output buffer is shorter than the message.
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}

/// An error parsing or emitting a message body: which message, which field
/// (and which pointer led there), and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgError {
    /// Message name, e.g. `"DRAW_COPY"`.
    pub message: &'static str,
    /// The pointer field that was followed to reach `field`, if any
    /// (e.g. `"src_bitmap"`).
    pub via: Option<&'static str>,
    /// Field being read or written.
    pub field: &'static str,
    /// What was wrong.
    pub kind: MsgErrorKind,
}

impl fmt::Display for MsgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.message)?;
        if let Some(via) = self.via {
            write!(f, "{via} -> ")?;
        }
        write!(f, "{}: ", self.field)?;
        match self.kind {
            MsgErrorKind::Truncated { offset, need, len } => {
                write!(f, "truncated ({need} bytes at offset {offset}, body is {len} bytes)")
            }
            MsgErrorKind::BadPointer { offset, len } => {
                write!(f, "pointer {offset} outside the {len}-byte body")
            }
            MsgErrorKind::NullPointer => f.write_str("NULL pointer where a value is required"),
            MsgErrorKind::BadValue(v) => write!(f, "unknown value {v}"),
            MsgErrorKind::TooLarge { value, max } => write!(f, "value {value} exceeds {max}"),
            MsgErrorKind::BufferTooSmall { need, have } => {
                write!(f, "output buffer too small ({have} of {need} bytes)")
            }
        }
    }
}

/// Result of message parsing and emitting.
pub type Result<T> = core::result::Result<T, MsgError>;

/// A point (`Point` in spice.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Point {
    /// X.
    pub x: i32,
    /// Y.
    pub y: i32,
}

/// A 16-bit point (`Point16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Point16 {
    /// X.
    pub x: i16,
    /// Y.
    pub y: i16,
}

/// A point in 28.4 fixed point (`PointFix`): the raw values, 16 units per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PointFix {
    /// X, 28.4 fixed point.
    pub x: i32,
    /// Y, 28.4 fixed point.
    pub y: i32,
}

/// A rectangle (`Rect`). On the wire the order is top, left, bottom, right;
/// `right` and `bottom` are exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Rect {
    /// Top edge (inclusive).
    pub top: i32,
    /// Left edge (inclusive).
    pub left: i32,
    /// Bottom edge (exclusive).
    pub bottom: i32,
    /// Right edge (exclusive).
    pub right: i32,
}

impl Rect {
    /// Width; negative for an inverted rectangle.
    pub fn width(&self) -> i64 {
        i64::from(self.right) - i64::from(self.left)
    }

    /// Height; negative for an inverted rectangle.
    pub fn height(&self) -> i64 {
        i64::from(self.bottom) - i64::from(self.top)
    }

    /// Whether it covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.width() <= 0 || self.height() <= 0
    }

    /// Whether it lies inside `0..width` × `0..height`.
    pub fn is_inside(&self, width: u32, height: u32) -> bool {
        self.left >= 0
            && self.top >= 0
            && self.left <= self.right
            && self.top <= self.bottom
            && i64::from(self.right) <= i64::from(width)
            && i64::from(self.bottom) <= i64::from(height)
    }
}

/// A bounds-checked little-endian reader over one message body. Pointers
/// resolve against the whole body, so a reader reached through a pointer
/// still sees the body start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
    msg: &'static str,
    via: Option<&'static str>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(msg: &'static str, body: &'a [u8]) -> Self {
        Reader { body, pos: 0, msg, via: None }
    }

    pub(crate) fn error(&self, field: &'static str, kind: MsgErrorKind) -> MsgError {
        MsgError { message: self.msg, via: self.via, field, kind }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.body.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, field: &'static str, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(self.error(field, MsgErrorKind::Truncated { offset: self.pos, need: n, len: self.body.len() }));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.body[start..self.pos])
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N as u64)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16> {
        self.array(field).map(u16::from_le_bytes)
    }
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16> {
        self.array(field).map(i16::from_le_bytes)
    }
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        self.array(field).map(u32::from_le_bytes)
    }
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32> {
        self.array(field).map(i32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64> {
        self.array(field).map(u64::from_le_bytes)
    }
    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64> {
        self.array(field).map(i64::from_le_bytes)
    }

    pub(crate) fn point(&mut self, field: &'static str) -> Result<Point> {
        Ok(Point { x: self.i32(field)?, y: self.i32(field)? })
    }
    pub(crate) fn point16(&mut self, field: &'static str) -> Result<Point16> {
        Ok(Point16 { x: self.i16(field)?, y: self.i16(field)? })
    }
    pub(crate) fn rect(&mut self, field: &'static str) -> Result<Rect> {
        Ok(Rect { top: self.i32(field)?, left: self.i32(field)?, bottom: self.i32(field)?, right: self.i32(field)? })
    }

    /// Everything after the current position.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.body.len());
        self.pos = self.body.len();
        &self.body[start..]
    }

    /// Reads a `u32` pointer; `None` for NULL, otherwise a reader at the target.
    pub(crate) fn ptr(&mut self, field: &'static str) -> Result<Option<Reader<'a>>> {
        let offset = self.u32(field)?;
        if offset == 0 {
            return Ok(None);
        }
        if offset as usize >= self.body.len() {
            return Err(self.error(field, MsgErrorKind::BadPointer { offset, len: self.body.len() }));
        }
        Ok(Some(Reader { body: self.body, pos: offset as usize, msg: self.msg, via: Some(field) }))
    }

    /// Reads a pointer that must not be NULL.
    pub(crate) fn ptr_nonnull(&mut self, field: &'static str) -> Result<Reader<'a>> {
        self.ptr(field)?.ok_or_else(|| self.error(field, MsgErrorKind::NullPointer))
    }

    /// Checks that `count` elements of at least `min_size` bytes each fit in
    /// what is left, and returns the count as `usize`.
    pub(crate) fn check_count(&self, field: &'static str, count: u64, min_size: usize) -> Result<usize> {
        let need = count.saturating_mul(min_size.max(1) as u64);
        if need > self.remaining() as u64 {
            return Err(self.error(field, MsgErrorKind::Truncated { offset: self.pos, need, len: self.body.len() }));
        }
        Ok(count as usize)
    }

    /// Reads `count` elements with `f`, after checking that `count` elements
    /// of at least `min_size` bytes fit.
    pub(crate) fn list<T>(
        &mut self,
        field: &'static str,
        count: u64,
        min_size: usize,
        mut f: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = self.check_count(field, count, min_size)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
}

/// A little-endian writer into a buffer whose length was checked up front.
/// It never panics: a write past the end (a `buffer_len` bug) is reported by
/// [`Writer::finish`].
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
    msg: &'static str,
    overflow: bool,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(msg: &'static str, buf: &'b mut [u8], len: usize) -> Result<Self> {
        if buf.len() < len {
            return Err(MsgError {
                message: msg,
                via: None,
                field: "buffer",
                kind: MsgErrorKind::BufferTooSmall { need: len, have: buf.len() },
            });
        }
        Ok(Writer { buf, pos: 0, msg, overflow: false })
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.pos += b.len();
            }
            None => self.overflow = true,
        }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn i32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn finish(self) -> Result<usize> {
        if self.overflow {
            return Err(MsgError {
                message: self.msg,
                via: None,
                field: "buffer",
                kind: MsgErrorKind::BufferTooSmall { need: self.pos + 1, have: self.buf.len() },
            });
        }
        Ok(self.pos)
    }
}

/// A client → server message body that can be emitted.
pub trait EmitMessage {
    /// Message type number (`SPICE_MSGC_*`).
    const MSG_TYPE: u16;
    /// Message name, for errors and logs.
    const NAME: &'static str;

    /// Body length in bytes.
    fn buffer_len(&self) -> usize;

    /// Writes the body to the front of `buf`, returning its length.
    fn emit(&self, buf: &mut [u8]) -> Result<usize>;

    /// The body as a new vector.
    fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len()];
        // Cannot fail: the buffer has exactly `buffer_len` bytes.
        let n = self.emit(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }

    /// Appends header and body to `out` through `writer`.
    fn write(&self, writer: &mut MessageWriter, out: &mut Vec<u8>) -> core::result::Result<(), wire::Error> {
        writer.write(Self::MSG_TYPE, &self.to_vec(), out)
    }
}

/// Implements [`EmitMessage`] for a message with an empty body.
macro_rules! empty_client_message {
    ($(#[$attr:meta])* $name:ident, $msg_type:expr, $label:expr) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $crate::msg::EmitMessage for $name {
            const MSG_TYPE: u16 = $msg_type;
            const NAME: &'static str = $label;
            fn buffer_len(&self) -> usize {
                0
            }
            fn emit(&self, buf: &mut [u8]) -> $crate::msg::Result<usize> {
                $crate::msg::Writer::new(Self::NAME, buf, 0)?.finish()
            }
        }
    };
}
pub(crate) use empty_client_message;

/// Checks that a length fits a `u32` length field before emitting it.
pub(crate) fn len_u32(msg: &'static str, field: &'static str, len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| MsgError {
        message: msg,
        via: None,
        field,
        kind: MsgErrorKind::TooLarge { value: len as u64, max: u32::MAX.into() },
    })
}

/// Any server → client message, parsed.
// A parse result lives briefly on the stack; boxing the large draw variants
// would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// A message every channel understands (types below 100).
    Base(base::BaseMessage<'a>),
    /// Main channel.
    Main(main::MainMessage<'a>),
    /// Display channel.
    Display(display::DisplayMessage<'a>),
    /// Inputs channel.
    Inputs(inputs::InputsMessage),
    /// Cursor channel.
    Cursor(cursor::CursorMessage<'a>),
    /// Playback channel.
    Playback(audio::PlaybackMessage<'a>),
    /// Record channel.
    Record(audio::RecordMessage),
    /// A type this crate does not parse on this channel; pass it by.
    Unknown {
        /// Message type.
        msg_type: u16,
        /// Raw body.
        body: &'a [u8],
    },
}

impl<'a> ServerMessage<'a> {
    /// Parses the body of one message of `msg_type` that arrived on a
    /// channel of type `channel`.
    pub fn parse(channel: ChannelType, msg_type: u16, body: &'a [u8]) -> Result<Self> {
        if let Some(m) = base::BaseMessage::parse(msg_type, body)? {
            return Ok(ServerMessage::Base(m));
        }
        let parsed = match channel {
            ChannelType::Main => main::MainMessage::parse(msg_type, body)?.map(ServerMessage::Main),
            ChannelType::Display => display::DisplayMessage::parse(msg_type, body)?.map(ServerMessage::Display),
            ChannelType::Inputs => inputs::InputsMessage::parse(msg_type, body)?.map(ServerMessage::Inputs),
            ChannelType::Cursor => cursor::CursorMessage::parse(msg_type, body)?.map(ServerMessage::Cursor),
            ChannelType::Playback => audio::PlaybackMessage::parse(msg_type, body)?.map(ServerMessage::Playback),
            ChannelType::Record => audio::RecordMessage::parse(msg_type, body)?.map(ServerMessage::Record),
            _ => None,
        };
        Ok(parsed.unwrap_or(ServerMessage::Unknown { msg_type, body }))
    }
}

/// Any client → server message, parsed (for tests, tools and proxies; the
/// client itself builds the typed structs and emits them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage<'a> {
    /// A message every channel understands (types below 100).
    Base(base::BaseClientMessage<'a>),
    /// Main channel.
    Main(main::MainClientMessage<'a>),
    /// Display channel.
    Display(display::DisplayClientMessage<'a>),
    /// Inputs channel.
    Inputs(inputs::InputsClientMessage<'a>),
    /// A type this crate does not parse on this channel.
    Unknown {
        /// Message type.
        msg_type: u16,
        /// Raw body.
        body: &'a [u8],
    },
}

impl<'a> ClientMessage<'a> {
    /// Parses the body of one client message.
    pub fn parse(channel: ChannelType, msg_type: u16, body: &'a [u8]) -> Result<Self> {
        if let Some(m) = base::BaseClientMessage::parse(msg_type, body)? {
            return Ok(ClientMessage::Base(m));
        }
        let parsed = match channel {
            ChannelType::Main => main::MainClientMessage::parse(msg_type, body)?.map(ClientMessage::Main),
            ChannelType::Display => display::DisplayClientMessage::parse(msg_type, body)?.map(ClientMessage::Display),
            ChannelType::Inputs => inputs::InputsClientMessage::parse(msg_type, body)?.map(ClientMessage::Inputs),
            _ => None,
        };
        Ok(parsed.unwrap_or(ClientMessage::Unknown { msg_type, body }))
    }

    /// The message type number.
    pub fn msg_type(&self) -> u16 {
        match self {
            ClientMessage::Base(m) => m.msg_type(),
            ClientMessage::Main(m) => m.msg_type(),
            ClientMessage::Display(m) => m.msg_type(),
            ClientMessage::Inputs(m) => m.msg_type(),
            ClientMessage::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// The body bytes, as they go on the wire.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            ClientMessage::Base(m) => m.to_vec(),
            ClientMessage::Main(m) => m.to_vec(),
            ClientMessage::Display(m) => m.to_vec(),
            ClientMessage::Inputs(m) => m.to_vec(),
            ClientMessage::Unknown { body, .. } => body.to_vec(),
        }
    }
}

/// Decodes a length-prefixed text (NAME, NOTIFY): UTF-8 without the trailing
/// NULs, or `None` if it is not UTF-8.
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    core::str::from_utf8(&bytes[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_bounds_and_pointers() {
        let body = [8u8, 0, 0, 0, 0xff, 0xff, 0, 0, 0xaa, 0xbb];
        let mut r = Reader::new("TEST", &body);
        let mut target = r.ptr("p").unwrap().unwrap();
        assert_eq!(target.u16("x").unwrap(), 0xbbaa);
        let e = target.u8("y").unwrap_err();
        assert_eq!(e.via, Some("p"));
        assert_eq!(e.kind, MsgErrorKind::Truncated { offset: 10, need: 1, len: 10 });
        assert_eq!(e.to_string(), "TEST: p -> y: truncated (1 bytes at offset 10, body is 10 bytes)");
        let e = r.ptr("q").unwrap_err();
        assert_eq!(e.kind, MsgErrorKind::BadPointer { offset: 0xffff, len: 10 });
        let mut r = Reader::new("TEST", &body[..4]);
        assert!(r.check_count("n", u64::MAX, 16).is_err());
        assert!(r.list("n", 1 << 40, 1, |r| r.u8("e")).is_err());
        assert_eq!(r.list("n", 4, 1, |r| r.u8("e")).unwrap(), [8, 0, 0, 0]);
        let mut r = Reader::new("TEST", &[0, 0, 0, 0]);
        assert_eq!(r.ptr_nonnull("p").unwrap_err().kind, MsgErrorKind::NullPointer);
    }

    #[test]
    fn writer_checks_length() {
        let mut buf = [0u8; 3];
        assert!(matches!(
            Writer::new("T", &mut buf, 4).err().unwrap().kind,
            MsgErrorKind::BufferTooSmall { need: 4, have: 3 }
        ));
        let mut w = Writer::new("T", &mut buf, 3).unwrap();
        w.u16(0x0102);
        w.u16(0x0304);
        assert!(w.finish().is_err());
    }

    #[test]
    fn rect_helpers() {
        let r = Rect { top: 0, left: 0, bottom: 768, right: 1024 };
        assert!(r.is_inside(1024, 768) && !r.is_inside(1023, 768));
        assert_eq!((r.width(), r.height()), (1024, 768));
        assert!(Rect { top: 5, left: 0, bottom: 5, right: 3 }.is_empty());
        assert_eq!(text(b"QEMU\0\0"), Some("QEMU"));
        assert_eq!(text(b"\xff"), None);
    }
}
