//! Keyboard and mouse events injected into a VM through QMP
//! `input-send-event`: they reach the guest through its emulated PS/2
//! keyboard and mouse as if typed. Every event is followed by a short gap
//! so a slow (TCG) guest polling its devices sees each one.

use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{HarnessError, Result};
use crate::qemu::Qemu;

/// Pause after each injected event.
pub const GAP: Duration = Duration::from_millis(25);

/// The QEMU qcode for an ASCII character and whether it needs Shift (US layout).
pub fn qcode(c: char) -> Option<(&'static str, bool)> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
        "w", "x", "y", "z",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const SHIFTED_DIGITS: &str = ")!@#$%^&*(";
    Some(match c {
        'a'..='z' => (LETTERS[c as usize - 'a' as usize], false),
        'A'..='Z' => (LETTERS[c as usize - 'A' as usize], true),
        '0'..='9' => (DIGITS[c as usize - '0' as usize], false),
        ' ' => ("spc", false),
        '\n' => ("ret", false),
        '-' => ("minus", false),
        '_' => ("minus", true),
        '=' => ("equal", false),
        '+' => ("equal", true),
        '/' => ("slash", false),
        '.' => ("dot", false),
        '>' => ("dot", true),
        ',' => ("comma", false),
        '<' => ("comma", true),
        ';' => ("semicolon", false),
        ':' => ("semicolon", true),
        '?' => ("slash", true),
        '\'' => ("apostrophe", false),
        '"' => ("apostrophe", true),
        _ => (DIGITS[SHIFTED_DIGITS.find(c)?], true),
    })
}

fn key_event(qcode: &str, down: bool) -> Value {
    json!({ "type": "key", "data": { "down": down, "key": { "type": "qcode", "data": qcode } } })
}

fn send(q: &mut Qemu, event: Value) -> Result<()> {
    q.qmp("input-send-event", json!({ "events": [event] }))?;
    sleep(GAP);
    Ok(())
}

/// Presses (`down`) or releases one key.
pub fn key(q: &mut Qemu, qcode: &str, down: bool) -> Result<()> {
    send(q, key_event(qcode, down))
}

/// [`key`] without the gap after it, for timing: returns once QEMU has
/// taken the event.
pub fn key_now(q: &mut Qemu, qcode: &str, down: bool) -> Result<()> {
    q.qmp("input-send-event", json!({ "events": [key_event(qcode, down)] }))?;
    Ok(())
}

/// Presses and releases one key.
pub fn tap(q: &mut Qemu, qcode: &str) -> Result<()> {
    key(q, qcode, true)?;
    key(q, qcode, false)
}

/// Presses `keys` in order, then releases them in reverse (e.g. Ctrl+Alt+Del).
pub fn chord(q: &mut Qemu, keys: &[&str]) -> Result<()> {
    for k in keys {
        key(q, k, true)?;
    }
    for k in keys.iter().rev() {
        key(q, k, false)?;
    }
    Ok(())
}

/// Types ASCII `text` on a US layout; `\n` is Enter.
pub fn type_text(q: &mut Qemu, text: &str) -> Result<()> {
    for c in text.chars() {
        let (code, shift) =
            qcode(c).ok_or_else(|| HarnessError::Protocol(format!("no key for {c:?} in the US layout")))?;
        if shift {
            chord(q, &["shift", code])?;
        } else {
            tap(q, code)?;
        }
    }
    Ok(())
}

/// Relative mouse motion (positive `dy` is down the screen).
pub fn motion(q: &mut Qemu, dx: i32, dy: i32) -> Result<()> {
    q.qmp(
        "input-send-event",
        json!({ "events": [
            { "type": "rel", "data": { "axis": "x", "value": dx } },
            { "type": "rel", "data": { "axis": "y", "value": dy } },
        ] }),
    )?;
    sleep(GAP);
    Ok(())
}

/// A mouse button (`left`, `middle`, `right`, `wheel-up`, `wheel-down`) going down or up.
pub fn button(q: &mut Qemu, button: &str, down: bool) -> Result<()> {
    send(q, json!({ "type": "btn", "data": { "down": down, "button": button } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_layout() {
        assert_eq!(qcode('a'), Some(("a", false)));
        assert_eq!(qcode('K'), Some(("k", true)));
        assert_eq!(qcode('$'), Some(("4", true)));
        assert_eq!(qcode('('), Some(("9", true)));
        assert_eq!(qcode(')'), Some(("0", true)));
        assert_eq!(qcode('*'), Some(("8", true)));
        assert_eq!(qcode('\n'), Some(("ret", false)));
        assert_eq!(qcode('>'), Some(("dot", true)));
        assert_eq!(qcode(':'), Some(("semicolon", true)));
        assert_eq!(qcode('~'), None);
    }
}
