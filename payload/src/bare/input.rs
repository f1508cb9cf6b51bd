//! Keyboard and mouse of the thin client: the i8042 polled, keyboard bytes
//! decoded as set 1, mouse bytes assembled into packets. The lock keys live
//! here because they are this machine's LEDs; what keys and packets mean to
//! the session is decided in `spice/attempt/input.rs`.

use super::console::Console;
use alloc::vec::Vec;
use drivers::i8042::{Byte, I8042};
use drivers::port::X86Ports;
use drivers::ps2::{keys, KeyEvent, MouseAssembler, MousePacket, Set1Decoder};

/// Lock bits: the same in SPICE's keyboard modifier flags and the PS/2 LED byte.
pub const SCROLL_LOCK: u8 = 1 << 0;
pub const NUM_LOCK: u8 = 1 << 1;
pub const CAPS_LOCK: u8 = 1 << 2;

pub enum Event {
    Key(KeyEvent),
    Mouse(MousePacket),
}

pub struct Input {
    ctl: Option<I8042<X86Ports>>,
    pub keys: Set1Decoder,
    mouse: MouseAssembler,
    locks: u8,
}

/// "caps num scroll" or "none", for the log.
pub struct LockNames(pub u8);

impl core::fmt::Display for LockNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 & 7 == 0 {
            return f.write_str("none");
        }
        let mut sep = "";
        for (bit, name) in [(CAPS_LOCK, "caps"), (NUM_LOCK, "num"), (SCROLL_LOCK, "scroll")] {
            if self.0 & bit != 0 {
                write!(f, "{sep}{name}")?;
                sep = " ";
            }
        }
        Ok(())
    }
}

impl Input {
    /// Sets up the controller; without one, polling yields nothing.
    pub fn open(con: &mut Console, ports: X86Ports) -> Self {
        let ctl = match I8042::init(ports) {
            Ok(c) => {
                let mouse = match c.mouse() {
                    Some(m) if m.wheel() => "mouse with wheel (IntelliMouse)",
                    Some(_) => "mouse",
                    None => "no mouse",
                };
                let kbd = if c.keyboard() { "keyboard" } else { "no keyboard" };
                con.log(format_args!("input: i8042 {kbd}, {mouse}"));
                Some(c)
            }
            Err(e) => {
                con.log(format_args!("input: {e}"));
                None
            }
        };
        let wheel = ctl.as_ref().and_then(I8042::mouse).is_some_and(|m| m.wheel());
        Self { ctl, keys: Set1Decoder::new(), mouse: MouseAssembler::new(wheel), locks: 0 }
    }

    /// The lock keys as this machine has them.
    pub fn locks(&self) -> u8 {
        self.locks
    }

    /// Takes the lock state from the guest and shows it on the LEDs.
    pub fn set_locks(&mut self, con: &mut Console, locks: u8) {
        let locks = locks & 7;
        if locks != self.locks {
            self.locks = locks;
            self.show_locks(con);
        }
    }

    fn show_locks(&mut self, con: &mut Console) {
        let Some(c) = self.ctl.as_mut() else { return };
        match c.set_leds(self.locks) {
            Ok(()) => con.log(format_args!("input: leds {}", LockNames(self.locks))),
            Err(e) => con.log(format_args!("input: setting the leds: {e}")),
        }
    }

    /// What the devices sent since the last call. Lock keys toggle the
    /// local lock state here (the keyboard does not do that itself).
    pub fn poll(&mut self, con: &mut Console, out: &mut Vec<Event>) {
        let Some(c) = self.ctl.as_mut() else { return };
        let mut bytes = Vec::new();
        c.drain(|b| bytes.push(b));
        let mut toggled = 0;
        for b in bytes {
            match b {
                Byte::Keyboard(b) => {
                    if let Some(e) = self.keys.feed(b) {
                        if let KeyEvent::Key { key, down: true, repeat: false } = e {
                            toggled ^= match key {
                                keys::CAPS_LOCK => CAPS_LOCK,
                                keys::NUM_LOCK => NUM_LOCK,
                                keys::SCROLL_LOCK => SCROLL_LOCK,
                                _ => 0,
                            };
                        }
                        out.push(Event::Key(e));
                    }
                }
                Byte::Mouse(b) => {
                    if let Some(p) = self.mouse.feed(b) {
                        out.push(Event::Mouse(p));
                    }
                }
            }
        }
        if toggled != 0 {
            self.locks ^= toggled;
            self.show_locks(con);
        }
    }
}
