//! `clove.cfg`: the command line's options, one per line, with `#` comments.
//!
//! ```text
//! # Clove on the front desk
//! server=spice://10.0.0.5:5930
//! compression=lz4   # the server's CPU is slow
//! ```
//!
//! A line is one word (`key=value` or a flag). The words of the good lines go
//! before the command line's (see [`super::BootInfo::options`]), so the
//! command line wins; bad lines are skipped and reported with their number.

use crate::net::config::NetOptions;
use crate::net::server::ServerOptions;
use alloc::string::{String, ToString};

/// The `key=` options Clove reads (payload, network and SPICE options).
pub const KEYS: &[&str] = &["server", "password", "compression", "ip", "gw", "dns", "nettest", "mode", "test-fault"];
/// The words that stand alone.
pub const FLAGS: &[&str] = &["test-exit"];

/// One non-empty line: its number (from 1) and its word, or why it is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub word: Result<&'a str, &'static str>,
}

/// The lines that hold something, comments and blank lines dropped.
pub fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let body = strip_comment(raw).trim();
        if body.is_empty() {
            return None;
        }
        let word = if body.split_ascii_whitespace().nth(1).is_some() {
            Err("more than one option on the line")
        } else {
            match body.split_once('=') {
                Some((key, _)) if KEYS.contains(&key) => Ok(body),
                None if FLAGS.contains(&body) => Ok(body),
                _ => Err("unknown option"),
            }
        };
        Some(Line { number: i + 1, word })
    })
}

/// A `#` starts a comment at the start of a line or after a blank; inside a
/// word it is part of the value (write `%23` in a password to be safe).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    at.map_or(line, |i| &line[..i])
}

/// Why a known option's value does not parse, in the words the option
/// parsers use on the command line. `mode=` is checked where it is used.
pub fn value_error(word: &str) -> Option<String> {
    let server = ServerOptions::parse(word);
    if let Some(e) = server.errors.first() {
        return Some(e.to_string());
    }
    NetOptions::parse(word).errors().next().map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn words_comments_and_numbers() {
        let text =
            "# head\n\nserver=spice://10.0.2.2:5930\r\n  compression=lz4   # slow CPU\ntest-exit\npassword=a#b\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            [
                Line { number: 3, word: Ok("server=spice://10.0.2.2:5930") },
                Line { number: 4, word: Ok("compression=lz4") },
                Line { number: 5, word: Ok("test-exit") },
                Line { number: 6, word: Ok("password=a#b") },
            ]
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let text = "server=spice://h ip=1.2.3.4/24\nfrobnicate=1\ntest-exit=yes\nmode\n";
        let bad: Vec<_> = lines(text).map(|l| (l.number, l.word.unwrap_err())).collect();
        assert_eq!(
            bad,
            [
                (1, "more than one option on the line"),
                (2, "unknown option"),
                (3, "unknown option"),
                (4, "unknown option")
            ]
        );
    }

    #[test]
    fn values_are_checked_by_the_option_parsers() {
        assert_eq!(value_error("server=spice://10.0.2.2:5930"), None);
        assert_eq!(value_error("ip=10.0.2.15/24"), None);
        assert_eq!(value_error("mode=800x600"), None);
        let e = value_error("server=http://x").unwrap();
        assert!(e.starts_with("option server= ignored"), "{e}");
        let e = value_error("gw=nope").unwrap();
        assert!(e.starts_with("option gw= ignored"), "{e}");
    }
}
