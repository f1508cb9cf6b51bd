//! Inputs channel messages (`InputsChannel` in spice.proto).
//!
//! Note the widths: keyboard modifiers and mouse button masks are 16-bit
//! flags on the wire (`flags16` in spice.proto), although spice-common's C
//! structs hold them in `uint32_t`.

use alloc::vec::Vec;

use super::main::int_client_message;
use super::{len_u32, EmitMessage, Reader, Result, Writer};
use crate::consts::msg::inputs::{client as c, server as s};

/// Keyboard modifier bits (`SPICE_KEYBOARD_MODIFIER_FLAGS_*`).
pub mod modifiers {
    /// Scroll Lock.
    pub const SCROLL_LOCK: u16 = 1 << 0;
    /// Num Lock.
    pub const NUM_LOCK: u16 = 1 << 1;
    /// Caps Lock.
    pub const CAPS_LOCK: u16 = 1 << 2;
}

/// Mouse buttons (`SPICE_MOUSE_BUTTON_*`), for MOUSE_PRESS / MOUSE_RELEASE.
pub mod button {
    /// Left.
    pub const LEFT: u8 = 1;
    /// Middle.
    pub const MIDDLE: u8 = 2;
    /// Right.
    pub const RIGHT: u8 = 3;
    /// Wheel up.
    pub const UP: u8 = 4;
    /// Wheel down.
    pub const DOWN: u8 = 5;
    /// Side.
    pub const SIDE: u8 = 6;
    /// Extra.
    pub const EXTRA: u8 = 7;
}

/// Mouse button state bits (`SPICE_MOUSE_BUTTON_MASK_*`).
pub mod button_mask {
    /// Left.
    pub const LEFT: u16 = 1 << 0;
    /// Middle.
    pub const MIDDLE: u16 = 1 << 1;
    /// Right.
    pub const RIGHT: u16 = 1 << 2;
    /// Wheel up.
    pub const UP: u16 = 1 << 3;
    /// Wheel down.
    pub const DOWN: u16 = 1 << 4;
    /// Side.
    pub const SIDE: u16 = 1 << 5;
    /// Extra.
    pub const EXTRA: u16 = 1 << 6;
}

/// A server message of the inputs channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputsMessage {
    /// INIT: the guest's current [`modifiers`].
    Init {
        /// [`modifiers`].
        keyboard_modifiers: u16,
    },
    /// KEY_MODIFIERS: the guest's lock LEDs changed.
    KeyModifiers {
        /// [`modifiers`].
        modifiers: u16,
    },
    /// MOUSE_MOTION_ACK: the server handled 4 more motion messages.
    MouseMotionAck,
}

impl InputsMessage {
    /// Parses an inputs-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &[u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            s::INIT => {
                InputsMessage::Init { keyboard_modifiers: Reader::new("INPUTS_INIT", body).u16("keyboard_modifiers")? }
            }
            s::KEY_MODIFIERS => {
                InputsMessage::KeyModifiers { modifiers: Reader::new("KEY_MODIFIERS", body).u16("modifiers")? }
            }
            s::MOUSE_MOTION_ACK => InputsMessage::MouseMotionAck,
            _ => return Ok(None),
        }))
    }
}

int_client_message!(
    /// KEY_DOWN: a PC set-1 scancode (extended keys: `0xe0 | code << 8`).
    KeyDown {
        /// Scancode.
        code: u32
    },
    c::KEY_DOWN,
    "KEY_DOWN"
);
int_client_message!(
    /// KEY_UP: the scancode with the release bit (`code | 0x80`).
    KeyUp {
        /// Scancode with the release bit.
        code: u32
    },
    c::KEY_UP,
    "KEY_UP"
);
int_client_message!(
    /// KEY_MODIFIERS: set the guest's lock state ([`modifiers`]).
    KeyModifiers {
        /// [`modifiers`] bits.
        modifiers: u16
    },
    c::KEY_MODIFIERS,
    "KEY_MODIFIERS"
);

/// KEY_SCANCODE: raw set-1 scancode bytes (needs the KEY_SCANCODE cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyScancode<'a> {
    /// Scancode bytes, e.g. `[0x12, 0x92]` for press + release of E.
    pub codes: &'a [u8],
}

impl EmitMessage for KeyScancode<'_> {
    const MSG_TYPE: u16 = c::KEY_SCANCODE;
    const NAME: &'static str = "KEY_SCANCODE";
    fn buffer_len(&self) -> usize {
        self.codes.len()
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        len_u32(Self::NAME, "codes", self.codes.len())?;
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.bytes(self.codes);
        w.finish()
    }
}

/// MOUSE_MOTION: relative motion (server mouse mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseMotion {
    /// X delta.
    pub dx: i32,
    /// Y delta.
    pub dy: i32,
    /// [`button_mask`].
    pub buttons_state: u16,
}

impl MouseMotion {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        Ok(MouseMotion { dx: r.i32("dx")?, dy: r.i32("dy")?, buttons_state: r.u16("buttons_state")? })
    }
}

impl EmitMessage for MouseMotion {
    const MSG_TYPE: u16 = c::MOUSE_MOTION;
    const NAME: &'static str = "MOUSE_MOTION";
    fn buffer_len(&self) -> usize {
        10
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.i32(self.dx);
        w.i32(self.dy);
        w.u16(self.buttons_state);
        w.finish()
    }
}

/// MOUSE_POSITION: absolute position (client mouse mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MousePosition {
    /// X.
    pub x: u32,
    /// Y.
    pub y: u32,
    /// [`button_mask`].
    pub buttons_state: u16,
    /// Display (monitor) the position is on.
    pub display_id: u8,
}

impl MousePosition {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        Ok(MousePosition {
            x: r.u32("x")?,
            y: r.u32("y")?,
            buttons_state: r.u16("buttons_state")?,
            display_id: r.u8("display_id")?,
        })
    }
}

impl EmitMessage for MousePosition {
    const MSG_TYPE: u16 = c::MOUSE_POSITION;
    const NAME: &'static str = "MOUSE_POSITION";
    fn buffer_len(&self) -> usize {
        11
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u32(self.x);
        w.u32(self.y);
        w.u16(self.buttons_state);
        w.u8(self.display_id);
        w.finish()
    }
}

/// Implements MOUSE_PRESS / MOUSE_RELEASE (same layout).
macro_rules! button_message {
    ($(#[$attr:meta])* $name:ident, $msg_type:expr, $label:expr) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            /// The [`button`] that changed.
            pub button: u8,
            /// [`button_mask`] after the change.
            pub buttons_state: u16,
        }

        impl $name {
            /// Parses the body.
            pub fn parse(body: &[u8]) -> Result<Self> {
                let mut r = Reader::new($label, body);
                Ok($name { button: r.u8("button")?, buttons_state: r.u16("buttons_state")? })
            }
        }

        impl EmitMessage for $name {
            const MSG_TYPE: u16 = $msg_type;
            const NAME: &'static str = $label;
            fn buffer_len(&self) -> usize {
                3
            }
            fn emit(&self, buf: &mut [u8]) -> Result<usize> {
                let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
                w.u8(self.button);
                w.u16(self.buttons_state);
                w.finish()
            }
        }
    };
}

button_message!(
    /// MOUSE_PRESS.
    MousePress,
    c::MOUSE_PRESS,
    "MOUSE_PRESS"
);
button_message!(
    /// MOUSE_RELEASE.
    MouseRelease,
    c::MOUSE_RELEASE,
    "MOUSE_RELEASE"
);

/// A client message of the inputs channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputsClientMessage<'a> {
    /// KEY_DOWN.
    KeyDown(KeyDown),
    /// KEY_UP.
    KeyUp(KeyUp),
    /// KEY_MODIFIERS.
    KeyModifiers(KeyModifiers),
    /// KEY_SCANCODE.
    KeyScancode(KeyScancode<'a>),
    /// MOUSE_MOTION.
    MouseMotion(MouseMotion),
    /// MOUSE_POSITION.
    MousePosition(MousePosition),
    /// MOUSE_PRESS.
    MousePress(MousePress),
    /// MOUSE_RELEASE.
    MouseRelease(MouseRelease),
}

impl<'a> InputsClientMessage<'a> {
    /// Parses an inputs client message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            c::KEY_DOWN => InputsClientMessage::KeyDown(KeyDown::parse(body)?),
            c::KEY_UP => InputsClientMessage::KeyUp(KeyUp::parse(body)?),
            c::KEY_MODIFIERS => InputsClientMessage::KeyModifiers(KeyModifiers::parse(body)?),
            c::KEY_SCANCODE => InputsClientMessage::KeyScancode(KeyScancode { codes: body }),
            c::MOUSE_MOTION => InputsClientMessage::MouseMotion(MouseMotion::parse(body)?),
            c::MOUSE_POSITION => InputsClientMessage::MousePosition(MousePosition::parse(body)?),
            c::MOUSE_PRESS => InputsClientMessage::MousePress(MousePress::parse(body)?),
            c::MOUSE_RELEASE => InputsClientMessage::MouseRelease(MouseRelease::parse(body)?),
            _ => return Ok(None),
        }))
    }

    /// Message type number.
    pub fn msg_type(&self) -> u16 {
        match self {
            InputsClientMessage::KeyDown(_) => c::KEY_DOWN,
            InputsClientMessage::KeyUp(_) => c::KEY_UP,
            InputsClientMessage::KeyModifiers(_) => c::KEY_MODIFIERS,
            InputsClientMessage::KeyScancode(_) => c::KEY_SCANCODE,
            InputsClientMessage::MouseMotion(_) => c::MOUSE_MOTION,
            InputsClientMessage::MousePosition(_) => c::MOUSE_POSITION,
            InputsClientMessage::MousePress(_) => c::MOUSE_PRESS,
            InputsClientMessage::MouseRelease(_) => c::MOUSE_RELEASE,
        }
    }

    /// The body bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            InputsClientMessage::KeyDown(m) => m.to_vec(),
            InputsClientMessage::KeyUp(m) => m.to_vec(),
            InputsClientMessage::KeyModifiers(m) => m.to_vec(),
            InputsClientMessage::KeyScancode(m) => m.to_vec(),
            InputsClientMessage::MouseMotion(m) => m.to_vec(),
            InputsClientMessage::MousePosition(m) => m.to_vec(),
            InputsClientMessage::MousePress(m) => m.to_vec(),
            InputsClientMessage::MouseRelease(m) => m.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages() {
        // Real INIT from every -anim capture: no lock keys on.
        assert_eq!(
            InputsMessage::parse(s::INIT, &[0, 0]).unwrap(),
            Some(InputsMessage::Init { keyboard_modifiers: 0 })
        );
        assert_eq!(
            InputsMessage::parse(s::KEY_MODIFIERS, &[2, 0]).unwrap(),
            Some(InputsMessage::KeyModifiers { modifiers: modifiers::NUM_LOCK })
        );
        assert_eq!(InputsMessage::parse(s::MOUSE_MOTION_ACK, &[]).unwrap(), Some(InputsMessage::MouseMotionAck));
        assert!(InputsMessage::parse(s::INIT, &[0]).is_err());
    }

    #[test]
    fn real_client_bytes_round_trip() {
        // From input-glz's inputs channel (client → server).
        let cases: [(u16, &[u8]); 7] = [
            (c::KEY_DOWN, &[0x2a, 0, 0, 0]),
            (c::KEY_UP, &[0xaa, 0, 0, 0]),
            (c::KEY_MODIFIERS, &[0, 0]),
            (c::KEY_SCANCODE, &[0x12, 0x92]),
            (c::MOUSE_POSITION, &[0x64, 0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0]),
            (c::MOUSE_PRESS, &[1, 1, 0]),
            (c::MOUSE_RELEASE, &[1, 0, 0]),
        ];
        for (t, body) in cases {
            let m = InputsClientMessage::parse(t, body).unwrap().unwrap();
            assert_eq!((m.msg_type(), m.to_vec().as_slice()), (t, body));
            if t != c::KEY_SCANCODE {
                assert!(InputsClientMessage::parse(t, &body[..body.len() - 1]).is_err());
            }
        }
        let p = MousePosition::parse(&[0x64, 0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((p.x, p.y, p.buttons_state, p.display_id), (100, 100, 0, 0));
        assert_eq!(MousePress::parse(&[1, 1, 0]).unwrap(), MousePress { button: button::LEFT, buttons_state: 1 });
        let motion = MouseMotion { dx: -3, dy: 5, buttons_state: button_mask::RIGHT };
        assert_eq!(motion.to_vec(), [0xfd, 0xff, 0xff, 0xff, 5, 0, 0, 0, 4, 0]);
        assert_eq!(MouseMotion::parse(&motion.to_vec()).unwrap(), motion);
        assert_eq!(KeyDown { code: 0xe0 | 0x48 << 8 }.to_vec(), [0xe0, 0x48, 0, 0]);
    }
}
