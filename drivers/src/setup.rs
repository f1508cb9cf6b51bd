//! The local setup screen's editing logic: two line-edited fields, the
//! server URL and the password, that F2 opens while Clove connects (F2, the
//! key firmware setup screens use). Keys come in as set-1 scancodes and are
//! read on a US layout; Enter checks the values with the same parsers as
//! the configuration and either hands them back or keeps an error to show.
//!
//! Pure: the payload polls the keyboard, feeds presses to [`SetupForm::key`]
//! and draws [`SetupForm::lines`] in a panel.

use crate::net::server::{Server, ServerOptions, MAX_PASSWORD};
use crate::ps2::{keys, Scancode};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The longest server field: `spice://`, a 253-byte name, `:65535` and
/// room for a `?password=` query.
pub const MAX_SERVER: usize = 400;
/// The panel's lines are padded to this many columns, so that it keeps
/// its size while the usual values are typed.
pub const PANEL_COLUMNS: usize = 64;

/// The character a key types on a US layout, if any: printable ASCII only.
/// Caps Lock shifts letters only, as on a PC.
pub fn ascii(key: Scancode, shift: bool, caps: bool) -> Option<char> {
    const ROWS: [(u8, &str, &str); 4] = [
        (0x02, "1234567890-=", "!@#$%^&*()_+"),
        (0x10, "qwertyuiop[]", "QWERTYUIOP{}"),
        (0x1e, "asdfghjkl;'`", "ASDFGHJKL:\"~"),
        (0x2b, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
    ];
    if key.extended {
        // The keypad's / is the only extended key that types.
        return (key.code == 0x35).then_some('/');
    }
    match key.code {
        0x39 => return Some(' '),
        0x37 => return Some('*'),
        0x4a => return Some('-'),
        0x4e => return Some('+'),
        _ => {}
    }
    let (first, plain, shifted) =
        ROWS.into_iter().find(|(first, plain, _)| key.code >= *first && usize::from(key.code - first) < plain.len())?;
    let i = usize::from(key.code - first);
    let c = char::from(plain.as_bytes()[i]);
    let shift = if c.is_ascii_alphabetic() { shift != caps } else { shift };
    Some(if shift { char::from(shifted.as_bytes()[i]) } else { c })
}

/// One line of ASCII text and a cursor in it (a char index, which is a
/// byte index too: only ASCII gets in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    text: String,
    cursor: usize,
    max: usize,
}

impl Field {
    /// `text` (cut to `max`, non-printable characters dropped), cursor at its end.
    pub fn new(text: &str, max: usize) -> Self {
        let text: String = text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(max).collect();
        Self { cursor: text.len(), text, max }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Applies an editing key; false when it is not one.
    fn edit(&mut self, key: Scancode, shift: bool, caps: bool) -> bool {
        match key {
            keys::BACKSPACE if self.cursor > 0 => {
                self.cursor -= 1;
                self.text.remove(self.cursor);
            }
            keys::DELETE if self.cursor < self.text.len() => {
                self.text.remove(self.cursor);
            }
            keys::LEFT => self.cursor = self.cursor.saturating_sub(1),
            keys::RIGHT => self.cursor = (self.cursor + 1).min(self.text.len()),
            keys::HOME => self.cursor = 0,
            keys::END => self.cursor = self.text.len(),
            keys::BACKSPACE | keys::DELETE => {}
            _ => match ascii(key, shift, caps) {
                Some(c) if self.text.len() < self.max => {
                    self.text.insert(self.cursor, c);
                    self.cursor += 1;
                }
                Some(_) => {}
                None => return false,
            },
        }
        true
    }

    /// The field as shown: `mask` replaces every character, `|` marks the
    /// cursor when `focused`.
    fn shown(&self, focused: bool, mask: bool) -> String {
        let mut s: String = if mask { "*".repeat(self.text.len()) } else { self.text.clone() };
        if focused {
            s.insert(self.cursor, '|');
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Server,
    Password,
}

/// What a key did to the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing to redraw.
    None,
    /// Redraw.
    Changed,
    /// Enter with a value that does not parse: [`SetupForm::error`] says
    /// why; the form stays open.
    Invalid,
    /// Enter with valid values: the server and the password to use (the
    /// URL's `?password=` when the field is empty).
    Apply { server: Server, password: String },
    /// Esc: keep the configuration as it was.
    Cancel,
}

/// The setup screen's state.
#[derive(Clone, Debug)]
pub struct SetupForm {
    pub server: Field,
    pub password: Field,
    focus: Focus,
    error: Option<String>,
}

impl SetupForm {
    /// Prefilled with the configuration's values; the server field has the focus.
    pub fn new(server: &str, password: &str) -> Self {
        Self {
            server: Field::new(server, MAX_SERVER),
            password: Field::new(password, MAX_PASSWORD),
            focus: Focus::Server,
            error: None,
        }
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// Why the last Enter was refused, until the next edit.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// A key press (or typematic repeat) with the modifier state at the time.
    pub fn key(&mut self, key: Scancode, shift: bool, caps: bool) -> Action {
        match key {
            keys::ESC => return Action::Cancel,
            keys::ENTER | keys::KEYPAD_ENTER => return self.apply(),
            keys::TAB | keys::UP | keys::DOWN => {
                // Two fields: forward and back both go to the other one.
                self.focus = match self.focus {
                    Focus::Server => Focus::Password,
                    Focus::Password => Focus::Server,
                };
                return Action::Changed;
            }
            _ => {}
        }
        let field = match self.focus {
            Focus::Server => &mut self.server,
            Focus::Password => &mut self.password,
        };
        if !field.edit(key, shift, caps) {
            return Action::None;
        }
        self.error = None;
        Action::Changed
    }

    /// Checks both fields with the configuration's parsers.
    fn apply(&mut self) -> Action {
        let mut o = ServerOptions::default();
        if let Some(Err(why)) = o.set("server", self.server.text()) {
            return self.invalid(format!("Server: {why}"));
        }
        let Some(server) = o.server.clone() else { return self.invalid(String::from("Server: no server")) };
        if !self.password.text().is_empty() {
            // Typed text, not a URL value: escape what the parser decodes.
            if let Some(Err(why)) = o.set("password", &self.password.text().replace('%', "%25")) {
                return self.invalid(format!("Password: {why}"));
            }
        }
        Action::Apply { server, password: o.password }
    }

    fn invalid(&mut self, why: String) -> Action {
        self.error = Some(why);
        Action::Invalid
    }

    /// The panel's lines: both fields (the password masked), the error if
    /// any, and the keys; padded to [`PANEL_COLUMNS`].
    pub fn lines(&self) -> Vec<String> {
        let mark = |f| if self.focus == f { ">" } else { " " };
        let lines = alloc::vec![
            format!("{} Server:   {}", mark(Focus::Server), self.server.shown(self.focus == Focus::Server, false)),
            format!("{} Password: {}", mark(Focus::Password), self.password.shown(self.focus == Focus::Password, true)),
            String::new(),
            self.error.clone().unwrap_or_default(),
            String::from("Tab: next field   Enter: connect   Esc: cancel"),
        ];
        lines.into_iter().map(|l| format!("{l:<PANEL_COLUMNS$}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::server::Host;
    use crate::ps2::Set1Decoder;
    use core::net::Ipv4Addr;

    /// Types `text` as a keyboard would send it (set 1, US layout), through
    /// the decoder, so Shift is tracked as in the payload.
    fn type_bytes(form: &mut SetupForm, bytes: &[u8]) -> Action {
        let mut d = Set1Decoder::new();
        let mut last = Action::None;
        for &b in bytes {
            if let Some(crate::ps2::KeyEvent::Key { key, down: true, .. }) = d.feed(b) {
                last = form.key(key, d.shift(), false);
            }
        }
        last
    }

    fn press(form: &mut SetupForm, key: Scancode) -> Action {
        form.key(key, false, false)
    }

    fn type_str(form: &mut SetupForm, s: &str) {
        for c in s.chars() {
            let (key, shift) = (0..0x60u8)
                .map(Scancode::plain)
                .find_map(|k| [false, true].into_iter().find(|&sh| ascii(k, sh, false) == Some(c)).map(|sh| (k, sh)))
                .unwrap_or_else(|| panic!("no key for {c:?}"));
            assert_eq!(form.key(key, shift, false), Action::Changed, "{c:?}");
        }
    }

    #[test]
    fn us_layout_with_shift_and_caps() {
        assert_eq!(ascii(Scancode::plain(0x1e), false, false), Some('a'));
        assert_eq!(ascii(Scancode::plain(0x1e), true, false), Some('A'));
        assert_eq!(ascii(Scancode::plain(0x1e), false, true), Some('A'), "caps");
        assert_eq!(ascii(Scancode::plain(0x1e), true, true), Some('a'), "caps and shift");
        assert_eq!(ascii(Scancode::plain(0x02), false, true), Some('1'), "caps leaves digits alone");
        assert_eq!(ascii(Scancode::plain(0x02), true, false), Some('!'));
        assert_eq!(ascii(Scancode::plain(0x27), true, false), Some(':'));
        assert_eq!(ascii(Scancode::plain(0x35), false, false), Some('/'));
        assert_eq!(ascii(Scancode::plain(0x34), false, false), Some('.'));
        assert_eq!(ascii(Scancode::plain(0x2b), true, false), Some('|'));
        assert_eq!(ascii(Scancode::plain(0x32), false, false), Some('m'));
        assert_eq!(ascii(Scancode::plain(0x29), true, false), Some('~'));
        assert_eq!(ascii(Scancode::plain(0x39), false, false), Some(' '));
        assert_eq!(ascii(Scancode::ext(0x35), false, false), Some('/'), "keypad /");
        for no in [keys::ESC, keys::TAB, keys::ENTER, keys::LEFT_SHIFT, keys::F2, keys::LEFT, keys::DELETE] {
            assert_eq!(ascii(no, false, false), None, "{no:?}");
        }
        // Every typing key gives printable ASCII.
        for code in 0..0x80 {
            for sh in [false, true] {
                if let Some(c) = ascii(Scancode::plain(code), sh, false) {
                    assert!(c.is_ascii_graphic() || c == ' ', "{code:#x}: {c:?}");
                }
            }
        }
    }

    #[test]
    fn line_editing_moves_inserts_and_deletes_at_the_cursor() {
        let mut f = SetupForm::new("spice://h:1", "");
        assert_eq!(f.server.cursor(), 11);
        press(&mut f, keys::BACKSPACE);
        type_str(&mut f, "22");
        assert_eq!(f.server.text(), "spice://h:22");
        press(&mut f, keys::HOME);
        press(&mut f, keys::DELETE);
        type_str(&mut f, "S");
        assert_eq!(f.server.text(), "Spice://h:22");
        press(&mut f, keys::RIGHT);
        press(&mut f, keys::LEFT);
        press(&mut f, keys::LEFT);
        assert_eq!(f.server.cursor(), 0, "left stops at the start");
        press(&mut f, keys::BACKSPACE);
        assert_eq!(f.server.text(), "Spice://h:22", "backspace at the start does nothing");
        press(&mut f, keys::END);
        press(&mut f, keys::DELETE);
        press(&mut f, keys::RIGHT);
        assert_eq!((f.server.text(), f.server.cursor()), ("Spice://h:22", 12));
        assert_eq!(press(&mut f, keys::F2), Action::None, "not an editing key");
    }

    #[test]
    fn typing_through_the_decoder_tracks_shift() {
        let mut f = SetupForm::new("", "");
        // s, Shift+p, Shift released, ; (0x27) then Shift+; = ':'
        let bytes = [0x1f, 0x2a, 0x19, 0x99, 0xaa, 0x27, 0xa7, 0x36, 0x27, 0xa7, 0xb6];
        assert_eq!(type_bytes(&mut f, &bytes), Action::Changed);
        assert_eq!(f.server.text(), "sP;:");
    }

    #[test]
    fn fields_are_bounded_and_take_printable_ascii_only() {
        let mut f = SetupForm::new("spice://x\u{1}y\u{e9}", &"p".repeat(100));
        assert_eq!(f.server.text(), "spice://xy");
        assert_eq!(f.password.text().len(), MAX_PASSWORD);
        press(&mut f, keys::TAB);
        type_str(&mut f, "q");
        assert_eq!(f.password.text().len(), MAX_PASSWORD, "full: nothing more goes in");
    }

    #[test]
    fn tab_and_arrows_switch_fields_and_the_password_is_masked() {
        let mut f = SetupForm::new("spice://h", "se");
        assert_eq!(f.focus(), Focus::Server);
        assert_eq!(f.lines()[0].trim_end(), "> Server:   spice://h|");
        assert_eq!(f.lines()[1].trim_end(), "  Password: **");
        assert!(f.lines().iter().all(|l| l.len() == PANEL_COLUMNS), "padded");
        press(&mut f, keys::TAB);
        assert_eq!(f.focus(), Focus::Password);
        type_str(&mut f, "cret");
        press(&mut f, keys::LEFT);
        let lines = f.lines();
        assert_eq!(lines[0].trim_end(), "  Server:   spice://h");
        assert_eq!(lines[1].trim_end(), "> Password: *****|*");
        assert!(lines.iter().all(|l| !l.contains("secret")));
        assert_eq!(f.password.text(), "secret");
        press(&mut f, keys::UP);
        assert_eq!(f.focus(), Focus::Server);
        press(&mut f, keys::DOWN);
        assert_eq!(f.focus(), Focus::Password);
    }

    #[test]
    fn enter_applies_valid_values() {
        let mut f = SetupForm::new("spice://10.0.2.2:1", "old");
        press(&mut f, keys::BACKSPACE);
        type_str(&mut f, "5930");
        let want = Server { host: Host::Ip(Ipv4Addr::new(10, 0, 2, 2)), port: 5930 };
        assert_eq!(press(&mut f, keys::ENTER), Action::Apply { server: want.clone(), password: "old".into() });
        // A password with a % is taken as typed.
        let mut f = SetupForm::new("spice://desk.example", "50%off");
        let a = press(&mut f, keys::KEYPAD_ENTER);
        let Action::Apply { server, password } = a else { panic!("{a:?}") };
        assert_eq!((server.port, password.as_str()), (5900, "50%off"));
        // An empty field leaves the URL's password.
        let mut f = SetupForm::new("spice://10.0.2.2:5930?password=url", "");
        assert_eq!(press(&mut f, keys::ENTER), Action::Apply { server: want, password: "url".into() });
    }

    #[test]
    fn invalid_values_keep_the_form_open_with_the_parsers_message() {
        let mut f = SetupForm::new("spice://", "");
        assert_eq!(press(&mut f, keys::ENTER), Action::Invalid);
        assert_eq!(f.error(), Some("Server: no host in the URL"));
        assert_eq!(f.lines()[3].trim_end(), "Server: no host in the URL");
        type_str(&mut f, "h:0");
        assert_eq!(f.error(), None, "an edit clears the error");
        assert_eq!(press(&mut f, keys::ENTER), Action::Invalid);
        assert_eq!(f.error(), Some("Server: the port must be 1 to 65535"));
        let mut f = SetupForm::new("", "");
        assert_eq!(press(&mut f, keys::ENTER), Action::Invalid);
        assert!(f.error().unwrap().starts_with("Server: expected spice://HOST"), "{:?}", f.error());
        assert_eq!(press(&mut f, keys::ESC), Action::Cancel);
    }
}
