//! The inputs channel: keys, lock LEDs and the mouse, with the motion-ack
//! accounting spice-server expects.

use alloc::collections::VecDeque;

use super::channel::Sender;
use super::Event;
use crate::msg::inputs::{
    InputsMessage, KeyDown, KeyModifiers, KeyUp, MouseMotion, MousePosition, MousePress, MouseRelease,
};
use crate::msg::{EmitMessage, MsgError};

/// The server acks every this many motion messages (SPICE_INPUT_MOTION_ACK_BUNCH).
pub const MOTION_ACK_BUNCH: u32 = 4;

/// A PC scancode set 1 key: its make code and whether it has the 0xE0 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Make code (without the release bit).
    pub code: u8,
    /// An extended (0xE0-prefixed) key.
    pub extended: bool,
}

impl Key {
    /// The SPICE KEY_DOWN value: `code`, or `0xe0 | code << 8` when extended.
    pub fn down_code(self) -> u32 {
        let code = u32::from(self.code & 0x7f);
        if self.extended {
            0xe0 | (code << 8)
        } else {
            code
        }
    }

    /// The KEY_UP value: the same with the release bit on the key byte.
    pub fn up_code(self) -> u32 {
        let code = u32::from(self.code & 0x7f) | 0x80;
        if self.extended {
            0xe0 | (code << 8)
        } else {
            code
        }
    }
}

/// Motion waiting for acks, merged so nothing is lost and nothing floods.
#[derive(Default)]
pub(super) struct Inputs {
    /// Motion messages sent and not yet acked.
    unacked: u32,
    /// Relative motion held back while too many are unacked.
    pending_delta: Option<(i32, i32, u16)>,
    /// Absolute position held back likewise.
    pending_position: Option<MousePosition>,
}

impl Inputs {
    pub(super) fn message(
        &mut self,
        sender: &mut Sender,
        events: &mut VecDeque<Event>,
        msg_type: u16,
        body: &[u8],
    ) -> Result<(), MsgError> {
        match InputsMessage::parse(msg_type, body)? {
            Some(InputsMessage::Init { keyboard_modifiers: m })
            | Some(InputsMessage::KeyModifiers { modifiers: m }) => {
                events.push_back(Event::KeyModifiers(m));
            }
            Some(InputsMessage::MouseMotionAck) => {
                self.unacked = self.unacked.saturating_sub(MOTION_ACK_BUNCH);
                self.flush(sender);
            }
            None => {}
        }
        Ok(())
    }

    /// Fewer than two bunches in flight, as spice-gtk keeps it.
    fn can_send_motion(&self) -> bool {
        self.unacked < MOTION_ACK_BUNCH * 2
    }

    fn flush(&mut self, sender: &mut Sender) {
        if !self.can_send_motion() {
            return;
        }
        if let Some((dx, dy, buttons_state)) = self.pending_delta.take() {
            send(sender, &MouseMotion { dx, dy, buttons_state });
            self.unacked += 1;
        } else if let Some(p) = self.pending_position.take() {
            send(sender, &p);
            self.unacked += 1;
        }
    }

    pub(super) fn key(&mut self, sender: &mut Sender, key: Key, down: bool) {
        if down {
            send(sender, &KeyDown { code: key.down_code() });
        } else {
            send(sender, &KeyUp { code: key.up_code() });
        }
    }

    /// The Pause key: its whole set-1 sequence, E1 1D 45 then E1 9D C5.
    /// The server pushes a code's bytes up to the first zero, and QEMU
    /// recognises the sequence.
    pub(super) fn pause(&mut self, sender: &mut Sender) {
        send(sender, &KeyDown { code: 0x45_1d_e1 });
        send(sender, &KeyUp { code: 0xc5_9d_e1 });
    }

    pub(super) fn modifiers(&mut self, sender: &mut Sender, modifiers: u16) {
        send(sender, &KeyModifiers { modifiers });
    }

    /// Relative motion (server mouse mode), merged while acks are due.
    pub(super) fn motion(&mut self, sender: &mut Sender, dx: i32, dy: i32, buttons_state: u16) {
        let (px, py) = self.pending_delta.map_or((0, 0), |(x, y, _)| (x, y));
        self.pending_delta = Some((px.saturating_add(dx), py.saturating_add(dy), buttons_state));
        self.flush(sender);
    }

    /// Absolute position (client mouse mode); only the latest one matters.
    pub(super) fn position(&mut self, sender: &mut Sender, x: u32, y: u32, buttons_state: u16, display_id: u8) {
        self.pending_position = Some(MousePosition { x, y, buttons_state, display_id });
        self.flush(sender);
    }

    /// A button change; pending motion goes first so the click lands where
    /// the pointer is.
    pub(super) fn button(&mut self, sender: &mut Sender, button: u8, buttons_state: u16, pressed: bool) {
        if let Some((dx, dy, b)) = self.pending_delta.take() {
            send(sender, &MouseMotion { dx, dy, buttons_state: b });
            self.unacked += 1;
        }
        if let Some(p) = self.pending_position.take() {
            send(sender, &p);
            self.unacked += 1;
        }
        if pressed {
            send(sender, &MousePress { button, buttons_state });
        } else {
            send(sender, &MouseRelease { button, buttons_state });
        }
    }
}

fn send<M: EmitMessage>(sender: &mut Sender, m: &M) {
    sender.send(M::MSG_TYPE, &m.to_vec());
}
