//! The link stage: link header, SpiceLinkMess (client), SpiceLinkReply
//! (server) and the `u32` link result that follows the ticket
//! (layouts from spice-protocol `spice/protocol.h`; all fields little-endian,
//! packed).
//!
//! Wire order on a new channel connection:
//! 1. client: [`LinkHeader`] + [`LinkMess`] (+ caps);
//! 2. server: [`LinkHeader`] + [`LinkReply`] (+ caps);
//! 3. client: `u32` auth mechanism if both have `PROTOCOL_AUTH_SELECTION`,
//!    then the 128-byte encrypted ticket;
//! 4. server: `u32` link result ([`parse_link_result`]).

use super::{get_u32, need, put_u32, Caps, Error, Result, MAX_CAP_WORDS};
use crate::consts::{ChannelType, LinkError, MAGIC, TICKET_PUBKEY_BYTES, VERSION_MAJOR, VERSION_MINOR};

/// Largest link body (after the link header) accepted: the fixed reply plus
/// [`MAX_CAP_WORDS`] words of each cap class, rounded up generously.
pub const MAX_LINK_BODY: u32 = 1024;

mod field {
    pub const MAGIC: usize = 0;
    pub const MAJOR: usize = 4;
    pub const MINOR: usize = 8;
    pub const SIZE: usize = 12;
    pub const HEADER_LEN: usize = 16;

    pub const MESS_CONNECTION_ID: usize = 0;
    pub const MESS_CHANNEL_TYPE: usize = 4;
    pub const MESS_CHANNEL_ID: usize = 5;
    pub const MESS_NUM_COMMON: usize = 6;
    pub const MESS_NUM_CHANNEL: usize = 10;
    pub const MESS_CAPS_OFFSET: usize = 14;
    pub const MESS_LEN: usize = 18;

    pub const REPLY_ERROR: usize = 0;
    pub const REPLY_PUB_KEY: usize = 4;
    pub const REPLY_NUM_COMMON: usize = 4 + super::TICKET_PUBKEY_BYTES;
    pub const REPLY_NUM_CHANNEL: usize = REPLY_NUM_COMMON + 4;
    pub const REPLY_CAPS_OFFSET: usize = REPLY_NUM_CHANNEL + 4;
    pub const REPLY_LEN: usize = REPLY_CAPS_OFFSET + 4;
}

/// Size of the link header.
pub const LINK_HEADER_LEN: usize = field::HEADER_LEN;
/// Size of the fixed part of SpiceLinkMess.
pub const LINK_MESS_LEN: usize = field::MESS_LEN;
/// Size of the fixed part of SpiceLinkReply.
pub const LINK_REPLY_LEN: usize = field::REPLY_LEN;
/// Size of the link result the server sends after the ticket.
pub const LINK_RESULT_LEN: usize = 4;

/// A read/write view of a 16-byte link header.
#[derive(Debug, Clone)]
pub struct LinkHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LinkHeader<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        LinkHeader { buffer }
    }

    /// Wraps a buffer and checks its length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Checks that the buffer holds a whole header.
    pub fn check_len(&self) -> Result<()> {
        need("link header", field::HEADER_LEN, self.buffer.as_ref().len())
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Magic, `REDQ` = 0x51444552.
    pub fn magic(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MAGIC)
    }
    /// Major version.
    pub fn major_version(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MAJOR)
    }
    /// Minor version.
    pub fn minor_version(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MINOR)
    }
    /// Size of the link message that follows.
    pub fn size(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::SIZE)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LinkHeader<T> {
    /// Sets the magic.
    pub fn set_magic(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MAGIC, v)
    }
    /// Sets the major version.
    pub fn set_major_version(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MAJOR, v)
    }
    /// Sets the minor version.
    pub fn set_minor_version(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MINOR, v)
    }
    /// Sets the body size.
    pub fn set_size(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::SIZE, v)
    }
}

/// A parsed link header: magic checked, major version 2, size bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkHeaderRepr {
    /// Minor version (2 for current peers).
    pub minor_version: u32,
    /// Size of the link message that follows.
    pub size: u32,
}

impl LinkHeaderRepr {
    /// A header for a body of `size` bytes with our version.
    pub const fn new(size: u32) -> Self {
        LinkHeaderRepr { minor_version: VERSION_MINOR, size }
    }

    /// Parses a checked header; rejects a bad magic, another major version and
    /// bodies above [`MAX_LINK_BODY`].
    pub fn parse<T: AsRef<[u8]>>(h: &LinkHeader<T>) -> Result<Self> {
        h.check_len()?;
        if h.magic() != MAGIC {
            return Err(Error::BadMagic(h.magic()));
        }
        if h.major_version() != VERSION_MAJOR {
            return Err(Error::BadVersion { major: h.major_version(), minor: h.minor_version() });
        }
        if h.size() > MAX_LINK_BODY {
            return Err(Error::TooLarge { what: "link message", size: h.size().into(), max: MAX_LINK_BODY.into() });
        }
        Ok(LinkHeaderRepr { minor_version: h.minor_version(), size: h.size() })
    }

    /// Bytes [`emit`](Self::emit) writes.
    pub const fn buffer_len(&self) -> usize {
        field::HEADER_LEN
    }

    /// Writes the header into the start of `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        need("link header", field::HEADER_LEN, buf.len())?;
        let mut h = LinkHeader::new_unchecked(&mut buf[..field::HEADER_LEN]);
        h.set_magic(MAGIC);
        h.set_major_version(VERSION_MAJOR);
        h.set_minor_version(self.minor_version);
        h.set_size(self.size);
        Ok(field::HEADER_LEN)
    }
}

/// Checks cap counts and the caps region of a link message or reply.
fn check_caps(what: &'static str, len: usize, fixed: usize, common: u32, channel: u32, offset: u32) -> Result<()> {
    for count in [common, channel] {
        if count as usize > MAX_CAP_WORDS {
            return Err(Error::TooManyCaps { count });
        }
    }
    let words = u64::from(common) + u64::from(channel);
    if words == 0 {
        // An error reply carries no caps; its offset may be anything (spice-server sends zeroes).
        return Ok(());
    }
    if (offset as usize) < fixed || offset as usize > len {
        return Err(Error::BadOffset { what, offset: offset.into(), len });
    }
    let end = u64::from(offset) + 4 * words;
    need(what, usize::try_from(end).unwrap_or(usize::MAX), len)
}

fn read_caps(b: &[u8], at: usize, count: u32) -> Caps {
    let mut words = [0u32; MAX_CAP_WORDS];
    let n = (count as usize).min(MAX_CAP_WORDS);
    for (i, w) in words.iter_mut().enumerate().take(n) {
        *w = get_u32(b, at + 4 * i);
    }
    // Cannot fail: n <= MAX_CAP_WORDS.
    Caps::from_words(&words[..n]).unwrap_or_default()
}

/// A view of SpiceLinkMess (the client's link message, 18 bytes + caps).
#[derive(Debug, Clone)]
pub struct LinkMess<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LinkMess<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        LinkMess { buffer }
    }

    /// Wraps a buffer and checks the fixed part, cap counts and caps region.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let m = Self::new_unchecked(buffer);
        m.check_len()?;
        Ok(m)
    }

    /// Checks that every field and cap word lies inside the buffer and the
    /// cap counts are at most [`MAX_CAP_WORDS`].
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("link message", field::MESS_LEN, len)?;
        check_caps(
            "link message",
            len,
            field::MESS_LEN,
            self.num_common_caps(),
            self.num_channel_caps(),
            self.caps_offset(),
        )
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Session id (0 when linking the main channel).
    pub fn connection_id(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MESS_CONNECTION_ID)
    }
    /// Channel type.
    pub fn channel_type(&self) -> u8 {
        self.buffer.as_ref()[field::MESS_CHANNEL_TYPE]
    }
    /// Channel id.
    pub fn channel_id(&self) -> u8 {
        self.buffer.as_ref()[field::MESS_CHANNEL_ID]
    }
    /// Number of common cap words.
    pub fn num_common_caps(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MESS_NUM_COMMON)
    }
    /// Number of channel cap words.
    pub fn num_channel_caps(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MESS_NUM_CHANNEL)
    }
    /// Offset of the caps from the start of the message.
    pub fn caps_offset(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::MESS_CAPS_OFFSET)
    }
    /// Common caps (requires a checked view).
    pub fn common_caps(&self) -> Caps {
        read_caps(self.buffer.as_ref(), self.caps_offset() as usize, self.num_common_caps())
    }
    /// Channel caps (requires a checked view).
    pub fn channel_caps(&self) -> Caps {
        let at = self.caps_offset() as usize + 4 * self.num_common_caps() as usize;
        read_caps(self.buffer.as_ref(), at, self.num_channel_caps())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LinkMess<T> {
    /// Sets the session id.
    pub fn set_connection_id(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MESS_CONNECTION_ID, v)
    }
    /// Sets the channel type.
    pub fn set_channel_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::MESS_CHANNEL_TYPE] = v
    }
    /// Sets the channel id.
    pub fn set_channel_id(&mut self, v: u8) {
        self.buffer.as_mut()[field::MESS_CHANNEL_ID] = v
    }
    /// Sets the number of common cap words.
    pub fn set_num_common_caps(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MESS_NUM_COMMON, v)
    }
    /// Sets the number of channel cap words.
    pub fn set_num_channel_caps(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MESS_NUM_CHANNEL, v)
    }
    /// Sets the caps offset.
    pub fn set_caps_offset(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::MESS_CAPS_OFFSET, v)
    }
}

/// The client's link message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkMessRepr {
    /// 0 for the main channel; the session id from MAIN_INIT otherwise.
    pub connection_id: u32,
    /// Channel type.
    pub channel_type: ChannelType,
    /// Channel id.
    pub channel_id: u8,
    /// Common capabilities.
    pub common_caps: Caps,
    /// Channel capabilities.
    pub channel_caps: Caps,
}

impl LinkMessRepr {
    /// Parses a link message body (after the link header).
    pub fn parse<T: AsRef<[u8]>>(m: &LinkMess<T>) -> Result<Self> {
        m.check_len()?;
        Ok(LinkMessRepr {
            connection_id: m.connection_id(),
            channel_type: ChannelType::from(m.channel_type()),
            channel_id: m.channel_id(),
            common_caps: m.common_caps(),
            channel_caps: m.channel_caps(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes (body only).
    pub fn buffer_len(&self) -> usize {
        field::MESS_LEN + 4 * (self.common_caps.len() + self.channel_caps.len())
    }

    /// Writes the body (caps at offset 18), returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        need("link message", len, buf.len())?;
        let buf = &mut buf[..len];
        {
            let mut m = LinkMess::new_unchecked(&mut *buf);
            m.set_connection_id(self.connection_id);
            m.set_channel_type(self.channel_type.into());
            m.set_channel_id(self.channel_id);
            m.set_num_common_caps(self.common_caps.len() as u32);
            m.set_num_channel_caps(self.channel_caps.len() as u32);
            m.set_caps_offset(field::MESS_LEN as u32);
        }
        let words = self.common_caps.words().iter().chain(self.channel_caps.words());
        for (i, w) in words.enumerate() {
            put_u32(buf, field::MESS_LEN + 4 * i, *w);
        }
        Ok(len)
    }

    /// Link header followed by the body: exactly what the client sends first.
    pub fn emit_with_header(&self, buf: &mut [u8]) -> Result<usize> {
        let body = self.buffer_len();
        need("link message", LINK_HEADER_LEN + body, buf.len())?;
        LinkHeaderRepr::new(body as u32).emit(buf)?;
        self.emit(&mut buf[LINK_HEADER_LEN..])?;
        Ok(LINK_HEADER_LEN + body)
    }
}

/// A view of SpiceLinkReply (the server's answer, 178 bytes + caps).
#[derive(Debug, Clone)]
pub struct LinkReply<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LinkReply<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        LinkReply { buffer }
    }

    /// Wraps a buffer and checks it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let r = Self::new_unchecked(buffer);
        r.check_len()?;
        Ok(r)
    }

    /// Checks the fixed part, the cap counts and the caps region.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        need("link reply", field::REPLY_LEN, len)?;
        check_caps(
            "link reply",
            len,
            field::REPLY_LEN,
            self.num_common_caps(),
            self.num_channel_caps(),
            self.caps_offset(),
        )
    }

    /// Returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Link error (raw).
    pub fn error(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REPLY_ERROR)
    }
    /// DER SubjectPublicKeyInfo of the server's 1024-bit RSA ticket key.
    pub fn pub_key(&self) -> &[u8] {
        &self.buffer.as_ref()[field::REPLY_PUB_KEY..field::REPLY_PUB_KEY + TICKET_PUBKEY_BYTES]
    }
    /// Number of common cap words.
    pub fn num_common_caps(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REPLY_NUM_COMMON)
    }
    /// Number of channel cap words.
    pub fn num_channel_caps(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REPLY_NUM_CHANNEL)
    }
    /// Offset of the caps from the start of the reply.
    pub fn caps_offset(&self) -> u32 {
        get_u32(self.buffer.as_ref(), field::REPLY_CAPS_OFFSET)
    }
    /// Common caps (requires a checked view).
    pub fn common_caps(&self) -> Caps {
        read_caps(self.buffer.as_ref(), self.caps_offset() as usize, self.num_common_caps())
    }
    /// Channel caps (requires a checked view).
    pub fn channel_caps(&self) -> Caps {
        let at = self.caps_offset() as usize + 4 * self.num_common_caps() as usize;
        read_caps(self.buffer.as_ref(), at, self.num_channel_caps())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LinkReply<T> {
    /// Sets the link error.
    pub fn set_error(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::REPLY_ERROR, v)
    }
    /// The public key bytes, writable.
    pub fn pub_key_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::REPLY_PUB_KEY..field::REPLY_PUB_KEY + TICKET_PUBKEY_BYTES]
    }
    /// Sets the number of common cap words.
    pub fn set_num_common_caps(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::REPLY_NUM_COMMON, v)
    }
    /// Sets the number of channel cap words.
    pub fn set_num_channel_caps(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::REPLY_NUM_CHANNEL, v)
    }
    /// Sets the caps offset.
    pub fn set_caps_offset(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), field::REPLY_CAPS_OFFSET, v)
    }
}

/// The server's link reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkReplyRepr {
    /// `Ok`, or why the server refuses the link.
    pub error: LinkError,
    /// DER SubjectPublicKeyInfo of the ticket key.
    pub pub_key: [u8; TICKET_PUBKEY_BYTES],
    /// Common capabilities.
    pub common_caps: Caps,
    /// Channel capabilities.
    pub channel_caps: Caps,
}

impl LinkReplyRepr {
    /// Parses a link reply body (after the link header).
    pub fn parse<T: AsRef<[u8]>>(r: &LinkReply<T>) -> Result<Self> {
        r.check_len()?;
        let mut pub_key = [0u8; TICKET_PUBKEY_BYTES];
        pub_key.copy_from_slice(r.pub_key());
        Ok(LinkReplyRepr {
            error: LinkError::from(r.error()),
            pub_key,
            common_caps: r.common_caps(),
            channel_caps: r.channel_caps(),
        })
    }

    /// Bytes [`emit`](Self::emit) writes (body only).
    pub fn buffer_len(&self) -> usize {
        field::REPLY_LEN + 4 * (self.common_caps.len() + self.channel_caps.len())
    }

    /// Writes the body (caps at offset 178), returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        need("link reply", len, buf.len())?;
        let buf = &mut buf[..len];
        {
            let mut r = LinkReply::new_unchecked(&mut *buf);
            r.set_error(self.error.into());
            r.pub_key_mut().copy_from_slice(&self.pub_key);
            r.set_num_common_caps(self.common_caps.len() as u32);
            r.set_num_channel_caps(self.channel_caps.len() as u32);
            r.set_caps_offset(field::REPLY_LEN as u32);
        }
        let words = self.common_caps.words().iter().chain(self.channel_caps.words());
        for (i, w) in words.enumerate() {
            put_u32(buf, field::REPLY_LEN + 4 * i, *w);
        }
        Ok(len)
    }

    /// Link header followed by the body.
    pub fn emit_with_header(&self, buf: &mut [u8]) -> Result<usize> {
        let body = self.buffer_len();
        need("link reply", LINK_HEADER_LEN + body, buf.len())?;
        LinkHeaderRepr::new(body as u32).emit(buf)?;
        self.emit(&mut buf[LINK_HEADER_LEN..])?;
        Ok(LINK_HEADER_LEN + body)
    }
}

/// Parses the 4-byte link result the server sends after the ticket.
pub fn parse_link_result(buf: &[u8]) -> Result<LinkError> {
    need("link result", LINK_RESULT_LEN, buf.len())?;
    Ok(LinkError::from(get_u32(buf, 0)))
}

/// Both sides advertise common cap `bit`: the negotiated outcome.
pub fn agreed(ours: &Caps, theirs: &Caps, bit: u32) -> bool {
    ours.has(bit) && theirs.has(bit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::caps::{common, display};

    // The display channel link message spice-gtk 0.42 sent in
    // captures/lz.pcapng: header, 18 bytes, 1 common + 1 channel cap word.
    #[rustfmt::skip]
    static DISPLAY_LINK: [u8; 42] = [
        0x52, 0x45, 0x44, 0x51, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00,
        0x19, 0x5d, 0x56, 0x7c, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x12, 0x00,
        0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0xbf, 0x6f, 0x00, 0x00,
    ];

    #[test]
    fn header_round_trip() {
        let h = LinkHeader::new_checked(&DISPLAY_LINK[..16]).unwrap();
        let repr = LinkHeaderRepr::parse(&h).unwrap();
        assert_eq!(repr, LinkHeaderRepr { minor_version: 2, size: 26 });
        let mut out = [0u8; 16];
        assert_eq!(repr.emit(&mut out), Ok(16));
        assert_eq!(out, DISPLAY_LINK[..16]);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(LinkHeader::new_checked(&DISPLAY_LINK[..15]), Err(Error::Truncated { .. })));
        let mut bad = DISPLAY_LINK;
        bad[0] = b'X';
        assert!(matches!(LinkHeaderRepr::parse(&LinkHeader::new_unchecked(&bad[..])), Err(Error::BadMagic(_))));
        let mut bad = DISPLAY_LINK;
        bad[4] = 1;
        assert!(matches!(
            LinkHeaderRepr::parse(&LinkHeader::new_unchecked(&bad[..])),
            Err(Error::BadVersion { major: 1, minor: 2 })
        ));
        let mut bad = DISPLAY_LINK;
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(LinkHeaderRepr::parse(&LinkHeader::new_unchecked(&bad[..])), Err(Error::TooLarge { .. })));
        assert!(LinkHeaderRepr::new(1).emit(&mut [0u8; 15]).is_err());
    }

    #[test]
    fn mess_parse_emit_parse() {
        let body = &DISPLAY_LINK[16..];
        let repr = LinkMessRepr::parse(&LinkMess::new_checked(body).unwrap()).unwrap();
        assert_eq!(repr.connection_id, 0x7c56_5d19);
        assert_eq!(repr.channel_type, ChannelType::Display);
        assert_eq!(repr.channel_id, 0);
        // AUTH_SELECTION | AUTH_SASL | MINI_HEADER: spice-gtk does not advertise AUTH_SPICE.
        assert_eq!(repr.common_caps.words(), &[0b1101]);
        assert!(repr.common_caps.has(common::MINI_HEADER));
        assert!(!repr.common_caps.has(common::AUTH_SPICE));
        assert_eq!(repr.channel_caps.words(), &[0x6fbf]);
        assert!(repr.channel_caps.has(display::SIZED_STREAM));
        assert!(repr.channel_caps.has(display::CODEC_MJPEG));
        assert!(repr.channel_caps.has(display::GL_SCANOUT));
        assert!(!repr.channel_caps.has(display::PREF_COMPRESSION));
        let mut out = [0u8; 64];
        let n = repr.emit_with_header(&mut out).unwrap();
        assert_eq!(&out[..n], &DISPLAY_LINK[..]);
        let again = LinkMessRepr::parse(&LinkMess::new_checked(&out[16..n]).unwrap()).unwrap();
        assert_eq!(again, repr);
    }

    #[test]
    fn mess_bounds() {
        let body = &DISPLAY_LINK[16..];
        // Every truncation fails cleanly.
        for len in 0..body.len() {
            assert!(LinkMess::new_checked(&body[..len]).is_err(), "len {len}");
        }
        let mut bad = [0u8; 26];
        bad.copy_from_slice(body);
        bad[6..10].copy_from_slice(&0x4000_0000u32.to_le_bytes());
        assert_eq!(LinkMess::new_checked(&bad[..]).unwrap_err(), Error::TooManyCaps { count: 0x4000_0000 });
        bad.copy_from_slice(body);
        bad[14..18].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(LinkMess::new_checked(&bad[..]), Err(Error::BadOffset { .. })));
        bad[14..18].copy_from_slice(&4u32.to_le_bytes());
        assert!(matches!(LinkMess::new_checked(&bad[..]), Err(Error::BadOffset { .. })));
        // Output buffer too small for emit.
        let repr = LinkMessRepr::parse(&LinkMess::new_checked(body).unwrap()).unwrap();
        assert!(repr.emit(&mut [0u8; 25]).is_err());
        assert!(repr.emit_with_header(&mut [0u8; 41]).is_err());
    }

    #[test]
    fn reply_round_trip_and_bounds() {
        let mut key = [0u8; TICKET_PUBKEY_BYTES];
        for (i, b) in key.iter_mut().enumerate() {
            *b = i as u8;
        }
        let repr = LinkReplyRepr {
            error: LinkError::Ok,
            pub_key: key,
            common_caps: Caps::from_bits(&[0, 1, 3]).unwrap(),
            channel_caps: Caps::from_words(&[0x7, 0x100]).unwrap(),
        };
        let mut out = [0u8; 256];
        let n = repr.emit_with_header(&mut out).unwrap();
        assert_eq!(n, 16 + 178 + 12);
        let h = LinkHeaderRepr::parse(&LinkHeader::new_checked(&out[..16]).unwrap()).unwrap();
        assert_eq!(h.size as usize, n - 16);
        let body = &out[16..n];
        let parsed = LinkReplyRepr::parse(&LinkReply::new_checked(body).unwrap()).unwrap();
        assert_eq!(parsed, repr);
        for len in 0..body.len() {
            assert!(LinkReply::new_checked(&body[..len]).is_err());
        }
        // An error reply with zero caps and a zero offset (what spice-server sends) parses.
        let mut err = [0u8; LINK_REPLY_LEN];
        err[0] = 7;
        let parsed = LinkReplyRepr::parse(&LinkReply::new_checked(&err[..]).unwrap()).unwrap();
        assert_eq!(parsed.error, LinkError::PermissionDenied);
        assert!(parsed.common_caps.is_empty());
    }

    #[test]
    fn link_result() {
        assert_eq!(parse_link_result(&[0, 0, 0, 0]), Ok(LinkError::Ok));
        assert_eq!(parse_link_result(&[7, 0, 0, 0, 9]), Ok(LinkError::PermissionDenied));
        assert!(parse_link_result(&[0, 0, 0]).is_err());
    }
}
