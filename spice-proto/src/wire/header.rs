//! Data headers (mini and full) and the sub-message list
//! (`spice/protocol.h`: SpiceDataHeader, SpiceMiniDataHeader,
//! SpiceSubMessage, SpiceSubMessageList).

use alloc::vec::Vec;

use super::{get_u16, get_u32, get_u64, need, put_u16, put_u32, put_u64, Error, Result};

/// Which data header a channel uses, fixed at link time: `Mini` when both
/// sides advertised the `MINI_HEADER` common cap, `Full` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// `type u16, size u32` (6 bytes).
    Mini,
    /// `serial u64, type u16, size u32, sub_list u32` (18 bytes).
    Full,
}

impl HeaderKind {
    /// Header size in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        match self {
            HeaderKind::Mini => MINI_HEADER_LEN,
            HeaderKind::Full => FULL_HEADER_LEN,
        }
    }

    /// The header both sides agreed on.
    pub const fn negotiated(both_have_mini_header: bool) -> Self {
        if both_have_mini_header {
            HeaderKind::Mini
        } else {
            HeaderKind::Full
        }
    }
}

/// Size of the mini header.
pub const MINI_HEADER_LEN: usize = 6;
/// Size of the full header.
pub const FULL_HEADER_LEN: usize = 18;
/// Size of a sub-message header (`type u16, size u32`).
pub const SUB_MESSAGE_HEADER_LEN: usize = 6;

/// A parsed data header. With the mini header, `serial` is implicit (the
/// reader counts messages from 1) and `sub_list` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeaderRepr {
    /// Message serial (full header only; 0 from [`parse`](Self::parse) of a mini header).
    pub serial: u64,
    /// Message type.
    pub msg_type: u16,
    /// Body size.
    pub size: u32,
    /// Offset of a sub-message list in the body, 0 for none (full header only).
    pub sub_list: u32,
}

impl DataHeaderRepr {
    /// Parses a header of `kind` from the start of `buf`.
    pub fn parse(kind: HeaderKind, buf: &[u8]) -> Result<Self> {
        need("data header", kind.len(), buf.len())?;
        Ok(match kind {
            HeaderKind::Mini => {
                DataHeaderRepr { serial: 0, msg_type: get_u16(buf, 0), size: get_u32(buf, 2), sub_list: 0 }
            }
            HeaderKind::Full => DataHeaderRepr {
                serial: get_u64(buf, 0),
                msg_type: get_u16(buf, 8),
                size: get_u32(buf, 10),
                sub_list: get_u32(buf, 14),
            },
        })
    }

    /// Writes a header of `kind` into the start of `buf`, returning its length.
    /// The mini header drops `serial` and `sub_list`.
    pub fn emit(&self, kind: HeaderKind, buf: &mut [u8]) -> Result<usize> {
        need("data header", kind.len(), buf.len())?;
        match kind {
            HeaderKind::Mini => {
                put_u16(buf, 0, self.msg_type);
                put_u32(buf, 2, self.size);
            }
            HeaderKind::Full => {
                put_u64(buf, 0, self.serial);
                put_u16(buf, 8, self.msg_type);
                put_u32(buf, 10, self.size);
                put_u32(buf, 14, self.sub_list);
            }
        }
        Ok(kind.len())
    }
}

/// One entry of a sub-message list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubMessage<'a> {
    /// Message type.
    pub msg_type: u16,
    /// Body.
    pub body: &'a [u8],
}

/// A validated SpiceSubMessageList: `count u16`, then `count` `u32` offsets,
/// each pointing (from the start of the message body) to a `type u16, size
/// u32` sub-header and its body. Used for SPICE_MSG_LIST (list at offset 0)
/// and for the full header's `sub_list` field.
#[derive(Debug, Clone, Copy)]
pub struct SubMessageList<'a> {
    body: &'a [u8],
    list_at: usize,
    count: u16,
}

impl<'a> SubMessageList<'a> {
    /// Validates the list at `list_offset` in `body`: the offset table and
    /// every sub-message must lie inside `body`.
    pub fn new_checked(body: &'a [u8], list_offset: u32) -> Result<Self> {
        let len = body.len();
        let list_at = list_offset as usize;
        if list_at > len {
            return Err(Error::BadOffset { what: "sub-message list", offset: list_offset.into(), len });
        }
        need("sub-message list", list_at + 2, len)?;
        let count = get_u16(body, list_at);
        need("sub-message list", list_at + 2 + 4 * usize::from(count), len)?;
        let list = SubMessageList { body, list_at, count };
        for i in 0..usize::from(count) {
            let at = list.offset(i) as usize;
            if at > len {
                return Err(Error::BadOffset { what: "sub-message", offset: at as u64, len });
            }
            need("sub-message header", at + SUB_MESSAGE_HEADER_LEN, len)?;
            let size = get_u32(body, at + 2) as usize;
            need("sub-message", at + SUB_MESSAGE_HEADER_LEN + size, len)?;
        }
        Ok(list)
    }

    fn offset(&self, i: usize) -> u32 {
        get_u32(self.body, self.list_at + 2 + 4 * i)
    }

    /// Number of sub-messages.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sub-message `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<SubMessage<'a>> {
        if i >= self.len() {
            return None;
        }
        let at = self.offset(i) as usize;
        let size = get_u32(self.body, at + 2) as usize;
        let start = at + SUB_MESSAGE_HEADER_LEN;
        Some(SubMessage { msg_type: get_u16(self.body, at), body: self.body.get(start..start + size)? })
    }

    /// The sub-messages in list order.
    pub fn iter(&self) -> impl Iterator<Item = SubMessage<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Appends a SPICE_MSG_LIST body holding `subs` to `out`, laid out as
/// spice-server does (count, offset table, then the sub-messages). For test
/// servers and fixtures.
pub fn emit_message_list(subs: &[(u16, &[u8])], out: &mut Vec<u8>) -> Result<()> {
    let count = u16::try_from(subs.len()).map_err(|_| Error::TooLarge {
        what: "sub-message list",
        size: subs.len() as u64,
        max: u16::MAX.into(),
    })?;
    let base = out.len();
    out.extend_from_slice(&count.to_le_bytes());
    let mut at = 2 + 4 * subs.len();
    for (_, body) in subs {
        let off = u32::try_from(at).map_err(|_| Error::TooLarge {
            what: "sub-message list",
            size: at as u64,
            max: u32::MAX.into(),
        })?;
        out.extend_from_slice(&off.to_le_bytes());
        at += SUB_MESSAGE_HEADER_LEN + body.len();
    }
    for (t, body) in subs {
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    debug_assert_eq!(out.len() - base, at);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let full = DataHeaderRepr { serial: 0x0102030405060708, msg_type: 304, size: 0xabcdef, sub_list: 9 };
        let mut buf = [0u8; 18];
        assert_eq!(full.emit(HeaderKind::Full, &mut buf), Ok(18));
        assert_eq!(buf, [8, 7, 6, 5, 4, 3, 2, 1, 0x30, 0x01, 0xef, 0xcd, 0xab, 0, 9, 0, 0, 0]);
        assert_eq!(DataHeaderRepr::parse(HeaderKind::Full, &buf), Ok(full));
        let mut mini = [0u8; 6];
        assert_eq!(full.emit(HeaderKind::Mini, &mut mini), Ok(6));
        assert_eq!(mini, [0x30, 0x01, 0xef, 0xcd, 0xab, 0]);
        assert_eq!(
            DataHeaderRepr::parse(HeaderKind::Mini, &mini),
            Ok(DataHeaderRepr { serial: 0, msg_type: 304, size: 0xabcdef, sub_list: 0 })
        );
        assert!(DataHeaderRepr::parse(HeaderKind::Full, &buf[..17]).is_err());
        assert!(DataHeaderRepr::parse(HeaderKind::Mini, &mini[..5]).is_err());
        assert!(full.emit(HeaderKind::Mini, &mut [0u8; 5]).is_err());
    }

    #[test]
    fn list_round_trip() {
        let mut body = Vec::new();
        emit_message_list(&[(5, &[1, 2, 3]), (105, &[]), (4, &[9; 14])], &mut body).unwrap();
        let list = SubMessageList::new_checked(&body, 0).unwrap();
        let got: Vec<_> = list.iter().collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], SubMessage { msg_type: 5, body: &[1, 2, 3] });
        assert_eq!(got[1], SubMessage { msg_type: 105, body: &[] });
        assert_eq!(got[2].body, &[9; 14]);
        // Every truncation is rejected, never panics.
        for len in 0..body.len() {
            assert!(SubMessageList::new_checked(&body[..len], 0).is_err(), "len {len}");
        }
        // An offset pointing past the end.
        let mut bad = body.clone();
        bad[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(SubMessageList::new_checked(&bad, 0), Err(Error::BadOffset { .. })));
        // A size running past the end.
        let mut bad = body.clone();
        let first = get_u32(&bad, 2) as usize;
        bad[first + 2..first + 6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(SubMessageList::new_checked(&bad, 0), Err(Error::Truncated { .. })));
        assert!(SubMessageList::new_checked(&body, u32::MAX).is_err());
        assert!(SubMessageList::new_checked(&[0, 0], 0).unwrap().is_empty());
    }
}
