//! Clove's configuration: one effective set of options from several
//! sources, in this order of precedence: the kernel command line, then
//! coreboot's CBFS `clove.cfg`, then a file from the network (a `clove.cfg`
//! or a virt-viewer `.vv`, see [`vv`]), then the defaults.
//!
//! The command line is space-separated `key=value` words; a `clove.cfg` is
//! one `key=value` per line, with `#` comments and blank lines, and its
//! values may hold spaces. Each key has one parser, in the options struct
//! that owns it ([`BootOptions`], [`NetOptions`], [`ServerOptions`]);
//! [`Config::merge`] hands every value to it, lowest precedence first, so a
//! valid value from a stronger source overwrites the weaker one. A bad
//! line is an error naming its source and line, and is skipped: the other
//! lines and sources still apply.
//!
//! Pure and never panics; it needs the heap.

pub mod vv;

use crate::net::config::NetOptions;
use crate::net::server::{MaskPasswords, Server, ServerOptions};
use crate::net::url::FetchUrl;
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A source longer than this is cut (the rest is reported, not read).
pub const MAX_SOURCE: usize = 64 << 10;
/// A longer line is an error (a `.vv` `ca=` line is a few KiB).
pub const MAX_LINE: usize = 8 << 10;
/// Errors kept per merge; the last one counts the rest.
pub const MAX_ERRORS: usize = 32;
/// The longest `title=`.
const MAX_TITLE: usize = 100;

/// Keys a file from the network may set. The others are needed before the
/// network is up (or would chain another fetch).
pub const NETWORK_KEYS: [&str; 5] = ["server", "password", "compression", "log", "title"];

/// How a source's text is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Space-separated words (the kernel command line).
    Words,
    /// One `key=value` per line (`clove.cfg`).
    Lines,
    /// A virt-viewer file ([`vv`]).
    Vv,
}

/// One source: its name for messages (`command line`, `CBFS clove.cfg`,
/// `tftp://10.0.2.2/clove.vv`), its text and how it is written.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub form: Form,
    /// Fetched after the network came up: only [`NETWORK_KEYS`] apply.
    pub from_network: bool,
}

/// Where in a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The source as a whole (it could not be fetched, has no section, ...).
    Whole,
    Line(usize),
    Word(usize),
    /// Set by Clove's local setup screen.
    Setup,
}

/// A source and a place in it: `CBFS clove.cfg line 3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub place: Place,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        match self.place {
            Place::Whole | Place::Setup => Ok(()),
            Place::Line(n) => write!(f, " line {n}"),
            Place::Word(n) => write!(f, " word {n}"),
        }
    }
}

/// A problem with the configuration, shown on serial and on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Origin,
    pub what: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.what)
    }
}

/// How much goes to the serial log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors only (and the banner).
    Error,
    /// Every step: boot, devices, network, connection (the default).
    #[default]
    Info,
    /// Also per-channel byte counts and decoded images in the stats lines.
    Debug,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// `test-fault=panic|stack`: fail on purpose once booted, so tests can
/// check that faults are reported on serial and on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFault {
    Panic,
    StackOverflow,
}

/// What the configuration asks of the boot itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootOptions {
    /// `test-exit`: exit QEMU through isa-debug-exit once booted (tests).
    pub test_exit: bool,
    /// `mode=WIDTHxHEIGHT` for a display we can set the mode of.
    pub mode: Option<(u32, u32)>,
    pub test_fault: Option<TestFault>,
    /// `log=error|info|debug`.
    pub log: LogLevel,
    /// `vv=URL`: fetch this file once the network is up.
    pub vv: Option<FetchUrl>,
    /// `title=`: shown on the connecting screen (a `.vv` file's title).
    pub title: Option<String>,
}

impl BootOptions {
    /// Sets one option: `None` when `key` is not one of ours, `Err` (what
    /// was expected) when the value does not parse.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), &'static str>> {
        let r = match key {
            "test-exit" if value.is_empty() => {
                self.test_exit = true;
                Ok(())
            }
            "test-exit" => Err("test-exit takes no value"),
            "mode" => parse_mode(value).map(|m| self.mode = Some(m)).ok_or("expected WIDTHxHEIGHT, e.g. 1024x768"),
            "test-fault" => match value {
                "panic" => Some(TestFault::Panic),
                "stack" => Some(TestFault::StackOverflow),
                _ => None,
            }
            .map(|f| self.test_fault = Some(f))
            .ok_or("expected panic or stack"),
            "log" => [LogLevel::Error, LogLevel::Info, LogLevel::Debug]
                .into_iter()
                .find(|l| l.name() == value)
                .map(|l| self.log = l)
                .ok_or("expected error, info or debug"),
            "vv" => FetchUrl::parse(value).map(|u| self.vv = Some(u)),
            "title" => (value.len() <= MAX_TITLE && !value.chars().any(char::is_control))
                .then(|| self.title = Some(value.to_owned()))
                .ok_or("at most 100 bytes of text"),
            _ => return None,
        };
        Some(r)
    }
}

fn parse_mode(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0 && w <= 8192 && h <= 8192).then_some((w, h))
}

/// Whether the command line holds the word `test-exit`. For the boot's
/// first steps, before the heap (and so the merge) exists.
pub fn early_test_exit(cmdline: &str) -> bool {
    cmdline.split_ascii_whitespace().any(|w| w == "test-exit")
}

/// An effective value and where it came from, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub key: String,
    /// The value as logged: passwords are `***`.
    pub shown: String,
    pub origin: Origin,
}

impl fmt::Display for Effective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shown.is_empty() && self.key == "test-exit" {
            write!(f, "{} (from {})", self.key, self.origin)
        } else {
            write!(f, "{}={} (from {})", self.key, self.shown, self.origin)
        }
    }
}

/// The value to log: passwords (`password=`, a URL's `?password=`) masked.
fn shown(key: &str, value: &str) -> String {
    if key == "password" {
        // The whole value: clove.cfg values may hold spaces.
        return if value.is_empty() { String::new() } else { String::from("***") };
    }
    let word = format!("{}", MaskPasswords(&format!("{key}={value}")));
    word.get(key.len() + 1..).unwrap_or_default().to_owned()
}

/// The merged configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub boot: BootOptions,
    pub net: NetOptions,
    pub server: ServerOptions,
    /// Every key that was set, in the order first set, with its origin.
    pub effective: Vec<Effective>,
    /// Problems, strongest source first; at most [`MAX_ERRORS`].
    pub errors: Vec<ConfigError>,
}

/// One `key=value` read from a source.
struct Setting<'t> {
    key: &'t str,
    value: String,
    place: Place,
}

impl Config {
    /// Merges `sources`, strongest first.
    pub fn merge(sources: &[Source<'_>]) -> Config {
        let mut c = Config::default();
        let mut errors_per_source = Vec::new();
        for s in sources.iter().rev() {
            let mut errors = Vec::new();
            let origin = |place| Origin { source: s.name.to_owned(), place };
            for st in read(s, &mut errors) {
                let what = if s.from_network && !NETWORK_KEYS.contains(&st.key) {
                    format!("{}= cannot come from the network (it is needed before the network is up)", st.key)
                } else {
                    match c.apply(st.key, &st.value) {
                        None => format!("unknown key \"{}\"", st.key),
                        Some(Err(why)) => format!("bad value for {}=: {why}", st.key),
                        Some(Ok(())) => {
                            c.record(st.key, &st.value, origin(st.place));
                            continue;
                        }
                    }
                };
                errors.push(ConfigError { origin: origin(st.place), what });
            }
            errors_per_source.push(errors);
        }
        for e in errors_per_source.into_iter().rev().flatten() {
            c.push_error(e);
        }
        c
    }

    /// A source that could not be fetched or read at all; the others apply.
    pub fn source_failed(&mut self, source: &str, why: &str) {
        self.push_error(ConfigError {
            origin: Origin { source: source.to_owned(), place: Place::Whole },
            what: why.to_owned(),
        });
    }

    /// The hook for the local setup screen (opened by a hot key during
    /// boot): the merged configuration with the server and password the
    /// user typed, for this boot only. `None` keeps the merged value.
    pub fn with_local_setup(mut self, server: Option<Server>, password: Option<String>) -> Config {
        let origin = Origin { source: String::from("setup screen"), place: Place::Setup };
        if let Some(s) = server {
            let url = format!("{s}");
            if let Some(Ok(())) = self.server.set("server", &url) {
                self.record("server", &url, origin.clone());
            }
        }
        if let Some(p) = password {
            // Typed text, not a URL value: escape what the parser decodes.
            let escaped = p.replace('%', "%25");
            if let Some(Ok(())) = self.server.set("password", &escaped) {
                self.record("password", &escaped, origin);
            }
        }
        self
    }

    fn apply(&mut self, key: &str, value: &str) -> Option<Result<(), &'static str>> {
        self.boot.set(key, value).or_else(|| self.net.set(key, value)).or_else(|| self.server.set(key, value))
    }

    fn record(&mut self, key: &str, value: &str, origin: Origin) {
        let e = Effective { key: key.to_owned(), shown: shown(key, value), origin };
        match self.effective.iter_mut().find(|e| e.key == key) {
            Some(old) => *old = e,
            None => self.effective.push(e),
        }
    }

    fn push_error(&mut self, e: ConfigError) {
        match self.errors.len() {
            n if n + 1 < MAX_ERRORS => self.errors.push(e),
            n if n + 1 == MAX_ERRORS => self
                .errors
                .push(ConfigError { origin: e.origin, what: String::from("more configuration errors (not shown)") }),
            _ => {}
        }
    }
}

/// The settings of one source; what cannot be read goes to `errors`.
fn read<'t>(s: &Source<'t>, errors: &mut Vec<ConfigError>) -> Vec<Setting<'t>> {
    let origin = |place| Origin { source: s.name.to_owned(), place };
    let mut text = s.text;
    if text.len() > MAX_SOURCE {
        let cut = (0..=MAX_SOURCE).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text = &text[..cut];
        errors.push(ConfigError {
            origin: origin(Place::Whole),
            what: format!("longer than {MAX_SOURCE} bytes; the rest is ignored"),
        });
    }
    let mut out = Vec::new();
    match s.form {
        Form::Words => {
            for (i, word) in text.split_ascii_whitespace().enumerate() {
                let (key, value) = word.split_once('=').unwrap_or((word, ""));
                // Loaders (QEMU's multiboot, GRUB) put the kernel's path first.
                if i == 0 && !word.contains('=') && word.contains('/') {
                    continue;
                }
                out.push(Setting { key, value: value.to_owned(), place: Place::Word(i + 1) });
            }
        }
        Form::Lines => {
            for (i, line) in text.split('\n').enumerate() {
                let place = Place::Line(i + 1);
                let line = line.strip_suffix('\r').unwrap_or(line).trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.len() > MAX_LINE {
                    errors.push(ConfigError { origin: origin(place), what: format!("longer than {MAX_LINE} bytes") });
                    continue;
                }
                let (key, value) = match line.split_once('=') {
                    Some((k, v)) => (k.trim_end(), v.trim_start()),
                    None => (line, ""),
                };
                out.push(Setting { key, value: value.to_owned(), place });
            }
        }
        Form::Vv => {
            let file = vv::parse(text);
            for (line, what) in file.errors {
                let place = if line == 0 { Place::Whole } else { Place::Line(line) };
                errors.push(ConfigError { origin: origin(place), what });
            }
            if !file.unsupported.is_empty() {
                errors.push(ConfigError {
                    origin: origin(Place::Whole),
                    what: format!("not supported, ignored: {}", file.unsupported.join(", ")),
                });
            }
            for (key, value, line) in file.settings {
                out.push(Setting { key, value, place: Place::Line(line) });
            }
        }
    }
    out
}

/// Whether fetched bytes are a virt-viewer file (else a `clove.cfg`): by
/// their first section, or failing that by the name.
pub fn looks_like_vv(text: &str, url: &FetchUrl) -> bool {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    start.get(..13).is_some_and(|s| s.eq_ignore_ascii_case("[virt-viewer]")) || url.names_vv()
}

#[cfg(test)]
mod tests;
