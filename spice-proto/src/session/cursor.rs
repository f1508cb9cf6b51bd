//! The cursor channel: shape, position and visibility, with the cursor cache.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;

use super::Event;
use crate::decode::{cursor, Pixels};
use crate::msg::cursor::{cursor_flags, Cursor, CursorMessage};
use crate::msg::MsgError;

/// How many shapes we keep (guests use a handful).
const MAX_CACHED: usize = 64;

/// A ready-to-blend sprite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorShape {
    /// ARGB pixels (straight alpha), width × height.
    pub pixels: Pixels,
    /// Hot spot, from the sprite's top-left.
    pub hot_x: u16,
    /// Hot spot, from the sprite's top-left.
    pub hot_y: u16,
}

/// What the server says the pointer looks like and where it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CursorState {
    /// The shape; `None` until the server defines one (then draw none).
    pub shape: Option<CursorShape>,
    /// Position on the primary surface.
    pub x: i32,
    /// Position on the primary surface.
    pub y: i32,
    /// Whether to draw it.
    pub visible: bool,
}

#[derive(Default)]
pub(super) struct CursorChannel {
    cache: BTreeMap<u64, CursorShape>,
}

impl CursorChannel {
    pub(super) fn message(
        &mut self,
        state: &mut CursorState,
        events: &mut VecDeque<Event>,
        msg_type: u16,
        body: &[u8],
    ) -> Result<(), MsgError> {
        let Some(msg) = CursorMessage::parse(msg_type, body)? else { return Ok(()) };
        match msg {
            CursorMessage::Init(i) => {
                self.cache.clear();
                self.set(state, events, &i.cursor, i.position.x.into(), i.position.y.into(), i.visible);
            }
            CursorMessage::Set(s) => {
                self.set(state, events, &s.cursor, s.position.x.into(), s.position.y.into(), s.visible)
            }
            CursorMessage::Move(p) => {
                state.x = p.x.into();
                state.y = p.y.into();
                events.push_back(Event::CursorChanged);
            }
            CursorMessage::Hide => {
                state.visible = false;
                events.push_back(Event::CursorChanged);
            }
            CursorMessage::Reset => {
                self.cache.clear();
                *state = CursorState::default();
                events.push_back(Event::CursorChanged);
            }
            CursorMessage::InvalOne(id) => {
                self.cache.remove(&id);
            }
            CursorMessage::InvalAll => self.cache.clear(),
            _ => {}
        }
        Ok(())
    }

    fn set(
        &mut self,
        state: &mut CursorState,
        events: &mut VecDeque<Event>,
        c: &Cursor<'_>,
        x: i32,
        y: i32,
        visible: bool,
    ) {
        state.x = x;
        state.y = y;
        state.visible = visible;
        if c.flags & cursor_flags::NONE != 0 {
            // No shape: nothing to draw until one arrives.
            state.shape = None;
        } else if let Some(h) = c.header {
            if c.flags & cursor_flags::FROM_CACHE != 0 {
                match self.cache.get(&h.unique) {
                    Some(shape) => state.shape = Some(shape.clone()),
                    None => events.push_back(Event::DrawError(format!("cursor {} is not in the cache", h.unique))),
                }
            } else {
                match cursor::decode(h.cursor_type, h.width.into(), h.height.into(), c.data) {
                    Ok(pixels) => {
                        let shape = CursorShape { pixels, hot_x: h.hot_spot_x, hot_y: h.hot_spot_y };
                        if c.flags & cursor_flags::CACHE_ME != 0 && self.cache.len() < MAX_CACHED {
                            self.cache.insert(h.unique, shape.clone());
                        }
                        state.shape = Some(shape);
                    }
                    Err(e) => events.push_back(Event::DrawError(format!("cursor shape: {e}"))),
                }
            }
        }
        events.push_back(Event::CursorChanged);
    }
}
