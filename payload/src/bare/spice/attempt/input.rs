//! Keyboard and mouse into the session, and the local menu.
//!
//! Keys go to the guest as set-1 scancodes, typematic repeats as repeated
//! presses (as spice-gtk sends them). A release goes only where a press
//! went, so keys held across the menu never reach the guest half-done.
//! The mouse follows the server's mode: relative motion in server mode
//! (which we ask for: a PS/2 mouse has nothing absolute), a position we
//! track ourselves in client mode. Ctrl+Alt+F12 opens the menu; while it
//! is open nothing goes to the guest.

use super::super::super::input::{Event as InputEvent, LockNames};
use super::{Attempt, Outcome};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use drivers::ps2::{buttons, keys, KeyEvent, KeySet, MousePacket};
use drivers::screen;
use spice_proto::msg::inputs::{button, button_mask};
use spice_proto::msg::main::mouse_mode;
use spice_proto::session::inputs::Key;

/// The menu's status lines are refreshed this often while it is open.
const MENU_REFRESH_MS: u64 = 1000;
/// Wheel notches forwarded per packet at most.
const MAX_NOTCHES: i8 = 8;

/// Per-attempt input state.
#[derive(Default)]
pub(super) struct Forward {
    /// Keys the guest was sent a press for and no release yet.
    sent: KeySet,
    /// The server's mouse mode, once known.
    mode: u16,
    /// SPICE button mask as the guest knows it.
    buttons: u16,
    /// The pointer in client mode (surface coordinates).
    pos: (i32, i32),
    /// The inputs channel is up; the next lock state from the server is
    /// its INIT, answered with ours (the local keyboard wins on connect).
    sync_locks: bool,
    /// When the open menu was last drawn.
    menu: Option<u64>,
    events: Vec<InputEvent>,
}

impl Forward {
    pub(super) fn menu_open(&self) -> bool {
        self.menu.is_some()
    }
}

/// PS/2 button bit → SPICE button and mask bit.
const BUTTONS: [(u8, u8, u16); 3] = [
    (buttons::LEFT, button::LEFT, button_mask::LEFT),
    (buttons::MIDDLE, button::MIDDLE, button_mask::MIDDLE),
    (buttons::RIGHT, button::RIGHT, button_mask::RIGHT),
];

impl Attempt<'_, '_> {
    /// Polls the keyboard and mouse and forwards what they sent.
    pub(super) fn input(&mut self) -> Result<(), Outcome> {
        let mut events = core::mem::take(&mut self.fwd.events);
        self.c.input.poll(self.c.con, &mut events);
        let mut motion = (0, 0);
        let mut result = Ok(());
        for e in events.drain(..) {
            match e {
                InputEvent::Key(k) => result = result.and(self.key(k)),
                InputEvent::Mouse(p) if self.fwd.menu.is_none() => self.mouse(p, &mut motion),
                InputEvent::Mouse(_) => {}
            }
        }
        self.fwd.events = events;
        self.send_motion(&mut motion);
        if self.fwd.menu.is_some_and(|t| self.c.net.millis() - t > MENU_REFRESH_MS) {
            self.draw_menu();
        }
        result
    }

    /// The inputs channel linked.
    pub(super) fn inputs_linked(&mut self) {
        self.fwd.sync_locks = true;
    }

    /// The guest's lock keys, from INIT or KEY_MODIFIERS.
    pub(super) fn guest_locks(&mut self, locks: u16) {
        let ours = self.c.input.locks();
        if core::mem::take(&mut self.fwd.sync_locks) {
            self.c.con.log(format_args!("spice: guest lock keys {}, ours {}", LockNames(locks as u8), LockNames(ours)));
            if locks as u8 & 7 != ours {
                self.session.key_modifiers(u16::from(ours));
            }
            return;
        }
        self.c.con.log(format_args!("spice: guest lock keys {}", LockNames(locks as u8)));
        self.c.input.set_locks(self.c.con, locks as u8);
    }

    /// The server's mouse modes: we want SERVER (relative) mode.
    pub(super) fn mouse_mode(&mut self, supported: u16, current: u16) {
        self.fwd.mode = current;
        let name = if current == mouse_mode::CLIENT { "client" } else { "server" };
        self.c.con.log(format_args!("spice: mouse mode {name}"));
        if current != mouse_mode::SERVER && supported & mouse_mode::SERVER != 0 {
            self.session.request_mouse_mode(mouse_mode::SERVER);
        }
    }

    fn key(&mut self, e: KeyEvent) -> Result<(), Outcome> {
        let (key, down, repeat) = match e {
            KeyEvent::Key { key, down, repeat } => (key, down, repeat),
            KeyEvent::Pause if self.fwd.menu.is_none() => {
                self.session.pause_key();
                return Ok(());
            }
            KeyEvent::Pause => return Ok(()),
        };
        if self.fwd.menu.is_some() {
            if down && !repeat && key == keys::ESC {
                self.close_menu();
            } else if down && !repeat && key == keys::R {
                self.c.con.log(format_args!("spice: menu: reconnect"));
                return Err(Outcome::Lost(String::from("reconnect asked from the menu")));
            }
            return Ok(());
        }
        // Until the first frame F2 is the setup screen's (as in the waits
        // before); after it, the guest's.
        if key == keys::F2 && down && !self.first_frame {
            if repeat {
                return Ok(());
            }
            if self.c.setup() {
                return Err(Outcome::Setup);
            }
            if self.desktop.active() {
                self.desktop.repaint(&mut self.c.screen, &mut self.session);
            }
            return Ok(());
        }
        if key == keys::F12 && down && self.c.input.keys.ctrl_alt() {
            if !repeat {
                self.open_menu();
            }
            return Ok(());
        }
        if (down || self.fwd.sent.contains(key))
            && self.session.key(Key { code: key.code, extended: key.extended }, down)
        {
            self.fwd.sent.set(key, down);
        }
        Ok(())
    }

    fn mouse(&mut self, p: MousePacket, motion: &mut (i32, i32)) {
        // PS/2 counts up as positive; SPICE and the screen count down.
        motion.0 += i32::from(p.dx);
        motion.1 -= i32::from(p.dy);
        for (bit, b, mask) in BUTTONS {
            let pressed = p.buttons & bit != 0;
            if pressed != (self.fwd.buttons & mask != 0) {
                self.send_motion(motion);
                self.fwd.buttons ^= mask;
                self.session.mouse_button(b, self.fwd.buttons, pressed);
            }
        }
        if p.dz != 0 {
            // Each notch a press and release of wheel up (4) or down (5), as spice-gtk sends it.
            self.send_motion(motion);
            let (b, mask) = if p.dz < 0 { (button::UP, button_mask::UP) } else { (button::DOWN, button_mask::DOWN) };
            for _ in 0..p.dz.unsigned_abs().min(MAX_NOTCHES as u8) {
                self.session.mouse_button(b, self.fwd.buttons | mask, true);
                self.session.mouse_button(b, self.fwd.buttons, false);
            }
        }
    }

    /// Motion gathered so far, as one message (the session merges further
    /// while the server's acks are due).
    fn send_motion(&mut self, motion: &mut (i32, i32)) {
        let (dx, dy) = core::mem::take(motion);
        if (dx, dy) == (0, 0) {
            return;
        }
        if self.fwd.mode == mouse_mode::CLIENT {
            let (w, h) = self.session.canvas().primary().map_or((1, 1), |s| (s.width() as i32, s.height() as i32));
            self.fwd.pos = ((self.fwd.pos.0 + dx).clamp(0, w - 1), (self.fwd.pos.1 + dy).clamp(0, h - 1));
            self.session.mouse_position(self.fwd.pos.0 as u32, self.fwd.pos.1 as u32, self.fwd.buttons);
        } else {
            self.session.mouse_motion(dx, dy, self.fwd.buttons);
        }
    }

    fn open_menu(&mut self) {
        // The guest saw Ctrl and Alt go down: let them (and anything else) up.
        for key in self.fwd.sent.take() {
            self.session.key(Key { code: key.code, extended: key.extended }, false);
        }
        if self.fwd.buttons != 0 {
            for (_, b, mask) in BUTTONS {
                if self.fwd.buttons & mask != 0 {
                    self.fwd.buttons &= !mask;
                    self.session.mouse_button(b, self.fwd.buttons, false);
                }
            }
        }
        self.c.con.log(format_args!("spice: menu open"));
        self.draw_menu();
    }

    fn close_menu(&mut self) {
        self.fwd.menu = None;
        if self.desktop.active() {
            self.desktop.repaint(&mut self.c.screen, &mut self.session);
        } else {
            self.c.progress.invalidate();
            self.c.progress.draw(&mut self.c.screen);
        }
        self.c.con.log(format_args!("spice: menu closed"));
    }

    fn draw_menu(&mut self) {
        let now = self.c.net.millis();
        self.fwd.menu = Some(now);
        let lines = self.menu_lines(now);
        let Some(s) = self.c.screen.as_mut() else { return };
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        screen::draw_panel(&mut s.fb, "Clove menu", &refs);
    }

    fn menu_lines(&self, now: u64) -> Vec<String> {
        let server = self.c.opts.server.as_ref().map_or_else(String::new, |s| format!("{s}"));
        let session = if self.first_frame {
            format!("connected for {} s", (now - self.start_ms) / 1000)
        } else {
            String::from("connecting")
        };
        let channels: Vec<&str> = self.conns.iter().filter(|c| c.up).map(|c| c.channel.name()).collect();
        let mode = match self.fwd.mode {
            mouse_mode::CLIENT => "client",
            mouse_mode::SERVER => "server",
            _ => "unknown",
        };
        alloc::vec![
            format!("Server:   {server} ({}:{})", self.addr, self.port),
            format!("Network:  {}", self.c.net.status_line()),
            format!("Session:  {session}; channels {}", channels.join(", ")),
            format!("Input:    mouse mode {mode}; lock keys {}", LockNames(self.c.input.locks())),
            format!(
                "Stats:    {} KiB in, {} screen rects, {} draw errors, heap high-water {} KiB",
                self.bytes_in / 1024,
                self.desktop.rects,
                self.draw_errors,
                self.heap_peak / 1024
            ),
            String::new(),
            String::from("R: reconnect     Esc: close"),
        ]
    }
}
