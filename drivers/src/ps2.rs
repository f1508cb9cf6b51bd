//! What PS/2 devices send, as pure state machines: the keyboard's scan code
//! set 1 (as the i8042 translates it) and the mouse's 3- or 4-byte packets.
//! Bytes go in one at a time; events come out. No hardware here.

/// A set-1 key: its make code and whether it carries the 0xE0 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scancode {
    /// Make code, 0x01..=0x7f.
    pub code: u8,
    /// 0xE0-prefixed (cursor block, right Ctrl/Alt, keypad Enter and /, ...).
    pub extended: bool,
}

impl Scancode {
    pub const fn plain(code: u8) -> Self {
        Self { code, extended: false }
    }
    pub const fn ext(code: u8) -> Self {
        Self { code, extended: true }
    }

    fn index(self) -> usize {
        usize::from(self.code & 0x7f) | (usize::from(self.extended) << 7)
    }
}

/// A set of keys (e.g. those held down), one bit per [`Scancode`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet([u64; 4]);

impl KeySet {
    pub fn contains(&self, key: Scancode) -> bool {
        self.0[key.index() / 64] & (1 << (key.index() % 64)) != 0
    }

    /// Adds (`on`) or removes `key`; returns whether it was in the set.
    pub fn set(&mut self, key: Scancode, on: bool) -> bool {
        let (word, bit) = (key.index() / 64, 1u64 << (key.index() % 64));
        let was = self.0[word] & bit != 0;
        if on {
            self.0[word] |= bit;
        } else {
            self.0[word] &= !bit;
        }
        was
    }

    /// Empties the set, returning what was in it in code order.
    pub fn take(&mut self) -> impl Iterator<Item = Scancode> {
        let all = core::mem::take(&mut self.0);
        (0..256usize)
            .filter(move |&i| all[i / 64] & (1 << (i % 64)) != 0)
            .map(|i| Scancode { code: (i & 0x7f) as u8, extended: i >= 128 })
    }
}

/// Set-1 make codes the client itself cares about.
pub mod keys {
    use super::Scancode;
    pub const ESC: Scancode = Scancode::plain(0x01);
    pub const R: Scancode = Scancode::plain(0x13);
    pub const LEFT_CTRL: Scancode = Scancode::plain(0x1d);
    pub const RIGHT_CTRL: Scancode = Scancode::ext(0x1d);
    pub const LEFT_ALT: Scancode = Scancode::plain(0x38);
    pub const RIGHT_ALT: Scancode = Scancode::ext(0x38);
    pub const CAPS_LOCK: Scancode = Scancode::plain(0x3a);
    pub const NUM_LOCK: Scancode = Scancode::plain(0x45);
    pub const SCROLL_LOCK: Scancode = Scancode::plain(0x46);
    pub const F12: Scancode = Scancode::plain(0x58);
    /// Opens the local setup screen while connecting (see `crate::setup`).
    pub const F2: Scancode = Scancode::plain(0x3c);
    pub const BACKSPACE: Scancode = Scancode::plain(0x0e);
    pub const TAB: Scancode = Scancode::plain(0x0f);
    pub const ENTER: Scancode = Scancode::plain(0x1c);
    pub const KEYPAD_ENTER: Scancode = Scancode::ext(0x1c);
    pub const LEFT_SHIFT: Scancode = Scancode::plain(0x2a);
    pub const RIGHT_SHIFT: Scancode = Scancode::plain(0x36);
    pub const HOME: Scancode = Scancode::ext(0x47);
    pub const UP: Scancode = Scancode::ext(0x48);
    pub const LEFT: Scancode = Scancode::ext(0x4b);
    pub const RIGHT: Scancode = Scancode::ext(0x4d);
    pub const END: Scancode = Scancode::ext(0x4f);
    pub const DOWN: Scancode = Scancode::ext(0x50);
    pub const DELETE: Scancode = Scancode::ext(0x53);
}

/// One decoded keyboard event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// A make (`down`) or break code. `repeat`: a make for a key already
    /// down, i.e. the keyboard's typematic repeat.
    Key { key: Scancode, down: bool, repeat: bool },
    /// The Pause key (E1 1D 45 E1 9D C5): it has no break code of its own.
    Pause,
}

/// Keyboard bytes that are replies or errors, never keys, in set 1 (the
/// controller passes replies through untranslated).
fn is_reply(b: u8) -> bool {
    matches!(b, 0x00 | 0xff | 0xfa | 0xfe | 0xee)
}

/// Scan code set 1 → [`KeyEvent`]s, with the set of keys held down.
#[derive(Clone, Debug, Default)]
pub struct Set1Decoder {
    /// Saw 0xE0.
    extended: bool,
    /// Bytes of an 0xE1 (Pause) sequence still to swallow.
    pause_left: u8,
    pause_make: bool,
    down: KeySet,
}

impl Set1Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one byte; returns the event it completes, if any.
    pub fn feed(&mut self, b: u8) -> Option<KeyEvent> {
        if self.pause_left > 0 {
            self.pause_left -= 1;
            // E1 1D 45 is the make, E1 9D C5 the break (ignored).
            if self.pause_left == 1 {
                self.pause_make = b == 0x1d;
            }
            if self.pause_left == 0 && self.pause_make && b == 0x45 {
                return Some(KeyEvent::Pause);
            }
            return None;
        }
        match b {
            0xe0 => {
                self.extended = true;
                return None;
            }
            0xe1 => {
                self.extended = false;
                self.pause_left = 2;
                return None;
            }
            _ if is_reply(b) => {
                self.extended = false;
                return None;
            }
            _ => {}
        }
        let extended = core::mem::take(&mut self.extended);
        let key = Scancode { code: b & 0x7f, extended };
        // E0 2A / E0 36 (and their breaks) are the "fake shifts" keyboards
        // wrap around some extended keys; they are no keys.
        if extended && (key.code == 0x2a || key.code == 0x36) {
            return None;
        }
        let down = b & 0x80 == 0;
        let was_down = self.down.set(key, down);
        Some(KeyEvent::Key { key, down, repeat: down && was_down })
    }

    /// Whether `key` is held down.
    pub fn is_down(&self, key: Scancode) -> bool {
        self.down.contains(key)
    }

    /// The keys held down, and forgets them (to release them elsewhere).
    pub fn take_down(&mut self) -> impl Iterator<Item = Scancode> {
        self.down.take()
    }

    /// Either Shift is down.
    pub fn shift(&self) -> bool {
        self.is_down(keys::LEFT_SHIFT) || self.is_down(keys::RIGHT_SHIFT)
    }

    /// Either Ctrl and either Alt are down.
    pub fn ctrl_alt(&self) -> bool {
        (self.is_down(keys::LEFT_CTRL) || self.is_down(keys::RIGHT_CTRL))
            && (self.is_down(keys::LEFT_ALT) || self.is_down(keys::RIGHT_ALT))
    }
}

/// PS/2 mouse buttons in a packet's first byte.
pub mod buttons {
    pub const LEFT: u8 = 1 << 0;
    pub const RIGHT: u8 = 1 << 1;
    pub const MIDDLE: u8 = 1 << 2;
}

/// One mouse packet. `dy` is positive upwards (PS/2's sense); `dz` is the
/// wheel, negative for a turn away from the user (up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MousePacket {
    pub dx: i16,
    pub dy: i16,
    pub dz: i8,
    /// [`buttons`] bits.
    pub buttons: u8,
}

/// Always set in a packet's first byte: how a lost byte is noticed.
const SYNC: u8 = 1 << 3;
const X_SIGN: u8 = 1 << 4;
const Y_SIGN: u8 = 1 << 5;
const X_OVERFLOW: u8 = 1 << 6;
const Y_OVERFLOW: u8 = 1 << 7;

/// Mouse bytes → [`MousePacket`]s.
#[derive(Clone, Debug)]
pub struct MouseAssembler {
    /// 3, or 4 for an IntelliMouse (wheel).
    len: usize,
    buf: [u8; 4],
    have: usize,
    /// Bytes dropped to find the packet start again.
    pub resyncs: u64,
}

impl MouseAssembler {
    pub fn new(wheel: bool) -> Self {
        Self { len: if wheel { 4 } else { 3 }, buf: [0; 4], have: 0, resyncs: 0 }
    }

    /// Drops a partial packet (e.g. after a pause in the byte stream).
    pub fn resync(&mut self) {
        self.have = 0;
    }

    /// Feeds one byte; returns the packet it completes, if any.
    pub fn feed(&mut self, b: u8) -> Option<MousePacket> {
        if self.have == 0 && b & SYNC == 0 {
            self.resyncs += 1;
            return None;
        }
        self.buf[self.have] = b;
        self.have += 1;
        if self.have < self.len {
            return None;
        }
        self.have = 0;
        let [flags, x, y, z] = self.buf;
        // 9-bit two's complement: the sign bit lives in the first byte. An
        // overflowed axis carries garbage, so it counts as no motion.
        let axis = |v: u8, sign: u8, overflow: u8| {
            if flags & overflow != 0 {
                0
            } else {
                i16::from(v) - if flags & sign != 0 { 256 } else { 0 }
            }
        };
        // The wheel is the low nibble, sign-extended.
        let dz = if self.len == 4 { ((z << 4) as i8) >> 4 } else { 0 };
        Some(MousePacket {
            dx: axis(x, X_SIGN, X_OVERFLOW),
            dy: axis(y, Y_SIGN, Y_OVERFLOW),
            dz,
            buttons: flags & (buttons::LEFT | buttons::RIGHT | buttons::MIDDLE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Vec<KeyEvent> {
        let mut d = Set1Decoder::new();
        bytes.iter().filter_map(|&b| d.feed(b)).collect()
    }

    fn key(code: u8, extended: bool, down: bool, repeat: bool) -> KeyEvent {
        KeyEvent::Key { key: Scancode { code, extended }, down, repeat }
    }

    #[test]
    fn plain_and_extended_keys() {
        // 'a' down/up, Home (E0 47) down/up, right Ctrl (E0 1D) down/up.
        assert_eq!(
            decode(&[0x1e, 0x9e, 0xe0, 0x47, 0xe0, 0xc7, 0xe0, 0x1d, 0xe0, 0x9d]),
            [
                key(0x1e, false, true, false),
                key(0x1e, false, false, false),
                key(0x47, true, true, false),
                key(0x47, true, false, false),
                key(0x1d, true, true, false),
                key(0x1d, true, false, false),
            ]
        );
    }

    #[test]
    fn typematic_makes_are_repeats() {
        assert_eq!(
            decode(&[0x2a, 0x2a, 0x2a, 0xaa, 0x2a]),
            [
                key(0x2a, false, true, false),
                key(0x2a, false, true, true),
                key(0x2a, false, true, true),
                key(0x2a, false, false, false),
                key(0x2a, false, true, false),
            ]
        );
    }

    #[test]
    fn extended_and_plain_codes_are_different_keys() {
        let mut d = Set1Decoder::new();
        d.feed(0x1d); // left Ctrl
        assert_eq!(d.feed(0xe0), None);
        assert_eq!(d.feed(0x1d), Some(key(0x1d, true, true, false)), "right Ctrl is not a repeat of left");
        assert!(d.is_down(keys::LEFT_CTRL) && d.is_down(keys::RIGHT_CTRL));
        d.feed(0x9d);
        assert!(!d.is_down(keys::LEFT_CTRL) && d.is_down(keys::RIGHT_CTRL));
    }

    #[test]
    fn print_screen_fake_shifts_are_dropped() {
        // Print Screen make and break: E0 2A E0 37, E0 B7 E0 AA.
        assert_eq!(
            decode(&[0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa]),
            [key(0x37, true, true, false), key(0x37, true, false, false)]
        );
    }

    #[test]
    fn pause_sequence_is_one_event() {
        // Pause, then 'a': the E1 sequence must not leak keys (1D would be Ctrl).
        assert_eq!(
            decode(&[0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5, 0x1e]),
            [KeyEvent::Pause, key(0x1e, false, true, false)]
        );
        // Ctrl+Pause is Break: E0 46 E0 C6.
        assert_eq!(decode(&[0xe0, 0x46, 0xe0, 0xc6]), [key(0x46, true, true, false), key(0x46, true, false, false)]);
    }

    #[test]
    fn replies_and_errors_are_not_keys() {
        assert_eq!(decode(&[0xfa, 0x00, 0xff, 0xfe, 0xee, 0xe0, 0xfa, 0x10]), [key(0x10, false, true, false)]);
    }

    #[test]
    fn ctrl_alt_and_take_down() {
        let mut d = Set1Decoder::new();
        for b in [0xe0, 0x1d, 0x38, 0x1e] {
            d.feed(b);
        }
        assert!(d.ctrl_alt());
        let held: Vec<Scancode> = d.take_down().collect();
        assert_eq!(held, [Scancode::plain(0x1e), keys::LEFT_ALT, keys::RIGHT_CTRL]);
        assert!(!d.ctrl_alt());
        // A make after take_down is a fresh press.
        assert_eq!(d.feed(0x1e), Some(key(0x1e, false, true, false)));
    }

    #[test]
    fn shift_is_either_shift_key_held() {
        let mut d = Set1Decoder::new();
        assert!(!d.shift());
        d.feed(0x36);
        assert!(d.shift(), "right shift down");
        d.feed(0xb6);
        assert!(!d.shift(), "released");
        // E0 2A is a fake shift around an extended key, not Shift.
        d.feed(0xe0);
        d.feed(0x2a);
        assert!(!d.shift());
        d.feed(0x2a);
        assert!(d.shift(), "left shift down");
    }

    #[test]
    fn mouse_packets_with_signs() {
        let mut m = MouseAssembler::new(false);
        // Left button, dx=+5, dy=-3 (sign bit in byte 0).
        assert_eq!(m.feed(0x08 | 0x01 | Y_SIGN), None);
        assert_eq!(m.feed(5), None);
        assert_eq!(m.feed(0xfd), Some(MousePacket { dx: 5, dy: -3, dz: 0, buttons: buttons::LEFT }));
        // dx = -256 is the most negative 9-bit value.
        assert_eq!(m.feed(0x08 | X_SIGN), None);
        m.feed(0);
        assert_eq!(m.feed(0).unwrap().dx, -256);
    }

    #[test]
    fn mouse_resyncs_on_bit3_and_drops_overflow() {
        let mut m = MouseAssembler::new(false);
        // Two stray bytes without bit 3 are skipped.
        assert_eq!(m.feed(0x05), None);
        assert_eq!(m.feed(0x00), None);
        assert_eq!(m.resyncs, 2);
        m.feed(0x08 | X_OVERFLOW | buttons::RIGHT);
        m.feed(0xff);
        assert_eq!(m.feed(7), Some(MousePacket { dx: 0, dy: 7, dz: 0, buttons: buttons::RIGHT }));
        // A partial packet is dropped by resync().
        m.feed(0x08);
        m.resync();
        m.feed(0x08 | buttons::MIDDLE);
        m.feed(1);
        assert_eq!(m.feed(2), Some(MousePacket { dx: 1, dy: 2, dz: 0, buttons: buttons::MIDDLE }));
    }

    #[test]
    fn intellimouse_wheel() {
        let mut m = MouseAssembler::new(true);
        for b in [0x08, 0, 0] {
            assert_eq!(m.feed(b), None);
        }
        assert_eq!(m.feed(0x0f).unwrap().dz, -1);
        for b in [0x08, 0, 0] {
            m.feed(b);
        }
        assert_eq!(m.feed(0x01).unwrap().dz, 1);
    }
}
