//! Cursor channel messages (`CursorChannel` in spice.proto). The client
//! sends only base messages on this channel.

use super::{Point16, Reader, Result};
use crate::consts::msg::cursor::server as s;

/// Cursor flags (`SPICE_CURSOR_FLAGS_*`).
pub mod cursor_flags {
    /// No cursor (hidden); no header follows.
    pub const NONE: u16 = 1 << 0;
    /// Store the shape in the cursor cache under its `unique` id.
    pub const CACHE_ME: u16 = 1 << 1;
    /// Take the shape from the cursor cache; no data follows.
    pub const FROM_CACHE: u16 = 1 << 2;
}

/// Cursor shape types (`SPICE_CURSOR_TYPE_*`).
pub mod cursor_type {
    /// 32-bit ARGB.
    pub const ALPHA: u8 = 0;
    /// 1-bit AND mask then 1-bit XOR mask.
    pub const MONO: u8 = 1;
    /// 4-bit colour.
    pub const COLOR4: u8 = 2;
    /// 8-bit colour.
    pub const COLOR8: u8 = 3;
    /// 16-bit colour.
    pub const COLOR16: u8 = 4;
    /// 24-bit colour.
    pub const COLOR24: u8 = 5;
    /// 32-bit colour.
    pub const COLOR32: u8 = 6;
}

/// The shape header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorHeader {
    /// Cache id.
    pub unique: u64,
    /// [`cursor_type`].
    pub cursor_type: u8,
    /// Width.
    pub width: u16,
    /// Height.
    pub height: u16,
    /// Hot spot X.
    pub hot_spot_x: u16,
    /// Hot spot Y.
    pub hot_spot_y: u16,
}

/// A cursor: flags, the header unless NONE, and the shape bytes (borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor<'a> {
    /// [`cursor_flags`].
    pub flags: u16,
    /// Header (absent with NONE).
    pub header: Option<CursorHeader>,
    /// Shape bytes: the rest of the message.
    pub data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let flags = r.u16("cursor.flags")?;
        let header = if flags & cursor_flags::NONE == 0 {
            Some(CursorHeader {
                unique: r.u64("cursor.header.unique")?,
                cursor_type: r.u8("cursor.header.type")?,
                width: r.u16("cursor.header.width")?,
                height: r.u16("cursor.header.height")?,
                hot_spot_x: r.u16("cursor.header.hot_spot_x")?,
                hot_spot_y: r.u16("cursor.header.hot_spot_y")?,
            })
        } else {
            None
        };
        Ok(Cursor { flags, header, data: r.rest() })
    }
}

/// INIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorInit<'a> {
    /// Position.
    pub position: Point16,
    /// Trail length.
    pub trail_length: u16,
    /// Trail frequency.
    pub trail_frequency: u16,
    /// Whether the cursor is shown.
    pub visible: bool,
    /// The cursor.
    pub cursor: Cursor<'a>,
}

/// SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorSet<'a> {
    /// Position.
    pub position: Point16,
    /// Whether the cursor is shown.
    pub visible: bool,
    /// The cursor.
    pub cursor: Cursor<'a>,
}

/// A server message of the cursor channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorMessage<'a> {
    /// INIT.
    Init(CursorInit<'a>),
    /// RESET: hide the cursor and clear the cache.
    Reset,
    /// SET.
    Set(CursorSet<'a>),
    /// MOVE.
    Move(Point16),
    /// HIDE.
    Hide,
    /// TRAIL.
    Trail {
        /// Trail length.
        length: u16,
        /// Trail frequency.
        frequency: u16,
    },
    /// INVAL_ONE: drop one cached shape.
    InvalOne(u64),
    /// INVAL_ALL: clear the cursor cache.
    InvalAll,
}

impl<'a> CursorMessage<'a> {
    /// Parses a cursor-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            s::INIT => {
                let mut r = Reader::new("CURSOR_INIT", body);
                CursorMessage::Init(CursorInit {
                    position: r.point16("position")?,
                    trail_length: r.u16("trail_length")?,
                    trail_frequency: r.u16("trail_frequency")?,
                    visible: r.u8("visible")? != 0,
                    cursor: Cursor::parse(&mut r)?,
                })
            }
            s::RESET => CursorMessage::Reset,
            s::SET => {
                let mut r = Reader::new("CURSOR_SET", body);
                CursorMessage::Set(CursorSet {
                    position: r.point16("position")?,
                    visible: r.u8("visible")? != 0,
                    cursor: Cursor::parse(&mut r)?,
                })
            }
            s::MOVE => CursorMessage::Move(Reader::new("CURSOR_MOVE", body).point16("position")?),
            s::HIDE => CursorMessage::Hide,
            s::TRAIL => {
                let mut r = Reader::new("CURSOR_TRAIL", body);
                CursorMessage::Trail { length: r.u16("length")?, frequency: r.u16("frequency")? }
            }
            s::INVAL_ONE => CursorMessage::InvalOne(Reader::new("CURSOR_INVAL_ONE", body).u64("id")?),
            s::INVAL_ALL => CursorMessage::InvalAll,
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn init_without_cursor() {
        // Real INIT from every -anim capture: at (0,0), visible, flags NONE.
        let body = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0];
        let Some(CursorMessage::Init(i)) = CursorMessage::parse(s::INIT, &body).unwrap() else { panic!() };
        assert_eq!((i.position, i.trail_length, i.trail_frequency, i.visible), (Point16 { x: 0, y: 0 }, 0, 0, true));
        assert_eq!(i.cursor, Cursor { flags: cursor_flags::NONE, header: None, data: &[] });
        assert_eq!(CursorMessage::parse(s::INIT, &body[..10]).unwrap_err().field, "cursor.flags");
    }

    #[test]
    fn set_alpha_cursor() {
        // SET at (10, 20), visible, CACHE_ME, 2x1 ALPHA, hot spot (1, 0).
        let mut body = vec![10, 0, 20, 0, 1, 2, 0];
        body.extend_from_slice(&0x55u64.to_le_bytes());
        body.extend_from_slice(&[cursor_type::ALPHA, 2, 0, 1, 0, 1, 0, 0, 0]);
        body.extend_from_slice(&[0xff; 8]);
        let Some(CursorMessage::Set(set)) = CursorMessage::parse(s::SET, &body).unwrap() else { panic!() };
        assert_eq!((set.position, set.visible), (Point16 { x: 10, y: 20 }, true));
        let h = set.cursor.header.unwrap();
        assert_eq!((h.unique, h.cursor_type, h.width, h.height, h.hot_spot_x, h.hot_spot_y), (0x55, 0, 2, 1, 1, 0));
        assert_eq!(set.cursor.data, &[0xff; 8]);
        for cut in 0..24 {
            assert!(CursorMessage::parse(s::SET, &body[..cut]).is_err(), "cut {cut}");
        }
    }

    #[test]
    fn small_messages() {
        assert_eq!(
            CursorMessage::parse(s::MOVE, &[0xff, 0xff, 3, 0]).unwrap(),
            Some(CursorMessage::Move(Point16 { x: -1, y: 3 }))
        );
        assert_eq!(
            CursorMessage::parse(s::TRAIL, &[1, 0, 2, 0]).unwrap(),
            Some(CursorMessage::Trail { length: 1, frequency: 2 })
        );
        assert_eq!(
            CursorMessage::parse(s::INVAL_ONE, &[7, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            Some(CursorMessage::InvalOne(7))
        );
        assert_eq!(CursorMessage::parse(s::HIDE, &[]).unwrap(), Some(CursorMessage::Hide));
        assert_eq!(CursorMessage::parse(s::RESET, &[]).unwrap(), Some(CursorMessage::Reset));
        assert_eq!(CursorMessage::parse(s::INVAL_ALL, &[]).unwrap(), Some(CursorMessage::InvalAll));
        assert!(CursorMessage::parse(s::INVAL_ONE, &[7]).is_err());
    }
}
