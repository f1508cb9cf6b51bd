//! Where the SPICE client connects (from the merged configuration, see
//! `crate::config`):
//! `server=spice://HOST[:PORT][?password=SECRET]`, `password=SECRET` (wins
//! over the URL's) and `compression=NAME` (the PREFERRED_COMPRESSION to ask
//! for). HOST is a dotted IPv4 address or a DNS name. Values may use `%XX`
//! escapes, so a password can hold a space.
//!
//! Parsing is pure and never panics on any input; it runs once the heap
//! exists.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

/// The SPICE port when the URL names none.
pub const DEFAULT_PORT: u16 = 5900;
/// The longest password the SPICE ticket can carry.
pub const MAX_PASSWORD: usize = 60;
/// The longest DNS name (RFC 1035, without the trailing dot).
const MAX_NAME: usize = 253;

/// The server's host: an address, or a name to resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(Ipv4Addr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(a) => write!(f, "{a}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// `spice://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub host: Host,
    pub port: u16,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spice://{}:{}", self.host, self.port)
    }
}

/// Image compressions a client may prefer, by their `-spice
/// image-compression=` names (plus `lz4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Off,
    AutoGlz,
    AutoLz,
    Quic,
    Glz,
    Lz,
    Lz4,
}

impl Compression {
    pub const ALL: [Compression; 7] = [
        Compression::Off,
        Compression::AutoGlz,
        Compression::AutoLz,
        Compression::Quic,
        Compression::Glz,
        Compression::Lz,
        Compression::Lz4,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Compression::Off => "off",
            Compression::AutoGlz => "auto_glz",
            Compression::AutoLz => "auto_lz",
            Compression::Quic => "quic",
            Compression::Glz => "glz",
            Compression::Lz => "lz",
            Compression::Lz4 => "lz4",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// A `server=`, `password=` or `compression=` word that did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionError {
    pub key: &'static str,
    pub why: &'static str,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {}= ignored: {}", self.key, self.why)
    }
}

/// The connection options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// `None`: no (usable) `server=`; Clove stays on its status screen.
    pub server: Option<Server>,
    /// The ticket password ("" when none was given): `password=`, else the
    /// URL's `?password=`.
    pub password: String,
    pub compression: Option<Compression>,
    /// Words that did not parse in [`ServerOptions::parse`].
    pub errors: Vec<OptionError>,
    /// The URL's and `password=`'s passwords, kept apart so `password=`
    /// wins wherever it stands.
    url_password: Option<String>,
    option_password: Option<String>,
}

impl ServerOptions {
    /// Sets one option: `None` when `key` is not one of ours, `Err` (why)
    /// when the value does not parse. Nothing changes on an error. The last
    /// valid value of each key wins.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), &'static str>> {
        let result = match key {
            "server" => parse_url(value).map(|(s, p)| {
                self.server = Some(s);
                self.url_password = p;
            }),
            "password" => parse_password(value).map(|p| self.option_password = Some(p)),
            "compression" => Compression::from_name(value)
                .map(|c| self.compression = Some(c))
                .ok_or("expected off, auto_glz, auto_lz, quic, glz, lz or lz4"),
            _ => return None,
        };
        self.password = self.option_password.clone().or_else(|| self.url_password.clone()).unwrap_or_default();
        Some(result)
    }

    /// Reads the options from a whole command line; other words are
    /// skipped. (Clove itself takes its options from `crate::config`,
    /// which calls [`ServerOptions::set`].)
    pub fn parse(cmdline: &str) -> Self {
        let mut o = ServerOptions::default();
        for word in cmdline.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else { continue };
            if let Some(Err(why)) = o.set(key, value) {
                let key = match key {
                    "server" => "server",
                    "password" => "password",
                    _ => "compression",
                };
                o.errors.push(OptionError { key, why });
            }
        }
        o
    }
}

/// `spice://HOST[:PORT][/][?password=SECRET]` → the server and the URL's password.
fn parse_url(v: &str) -> Result<(Server, Option<String>), &'static str> {
    const SHAPE: &str = "expected spice://HOST[:PORT][?password=SECRET]";
    let rest = v.strip_prefix("spice://").ok_or(SHAPE)?;
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    if authority.contains(['/', '@', '[', ']']) {
        return Err(SHAPE);
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok().filter(|&p| p != 0).ok_or("the port must be 1 to 65535")?),
        None => (authority, DEFAULT_PORT),
    };
    let host = parse_host(host)?;
    let mut password = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        // Other URL parameters (tls-port=, ...) are not ours yet.
        if let Some(("password", p)) = pair.split_once('=') {
            password = Some(parse_password(p)?);
        }
    }
    Ok((Server { host, port }, password))
}

/// An IPv4 address or a DNS name (the `.vv` reader checks `host=` with it).
pub fn parse_host(h: &str) -> Result<Host, &'static str> {
    if h.is_empty() {
        return Err("no host in the URL");
    }
    if let Ok(a) = h.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(a));
    }
    let name = h.strip_suffix('.').unwrap_or(h);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    // All-numeric dotted names are malformed addresses, not names.
    let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if name.len() > MAX_NAME || numeric || !name.split('.').all(label_ok) {
        return Err("the host is neither an IPv4 address nor a DNS name");
    }
    Ok(Host::Name(String::from(name)))
}

fn parse_password(v: &str) -> Result<String, &'static str> {
    let p = percent_decode(v).ok_or("bad %XX escape or not UTF-8")?;
    if p.len() > MAX_PASSWORD || p.contains('\0') {
        return Err("a SPICE password is at most 60 bytes, without NUL");
    }
    Ok(p)
}

/// Decodes `%XX` escapes; `None` for a broken escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = core::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Exponential backoff for retries: `first`, doubling, at most `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first_ms: u64,
    max_ms: u64,
    next_ms: u64,
}

impl Backoff {
    pub const fn new(first_ms: u64, max_ms: u64) -> Self {
        Self { first_ms, max_ms, next_ms: first_ms }
    }

    /// The wait before the next retry; each call doubles the one after.
    pub fn next_delay_ms(&mut self) -> u64 {
        let d = self.next_ms;
        self.next_ms = d.saturating_mul(2).min(self.max_ms);
        d
    }

    /// Back to the first delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.next_ms = self.first_ms;
    }
}

/// Shows `text` (a command line or config line) with every password value
/// replaced by `***`: `password=…` words and `password=…` in URL queries.
/// For logs and the screen, which must never show a secret. Allocates
/// nothing, so it works before the heap exists.
pub struct MaskPasswords<'a>(pub &'a str);

impl fmt::Display for MaskPasswords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find("password=") {
            let starts_value = at == 0 || matches!(rest.as_bytes()[at - 1], b' ' | b'\t' | b'?' | b'&');
            let value_start = at + "password=".len();
            f.write_str(&rest[..value_start])?;
            rest = &rest[value_start..];
            if starts_value {
                f.write_str("***")?;
                rest = &rest[rest.find([' ', '\t', '&', '\n']).unwrap_or(rest.len())..];
            }
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn passwords_are_masked() {
        let mask_passwords = |t: &str| alloc::format!("{}", MaskPasswords(t));
        assert_eq!(
            mask_passwords("/clove.elf server=spice://h:1?password=s%20x password=two&x mode=800x600"),
            "/clove.elf server=spice://h:1?password=*** password=***&x mode=800x600"
        );
        assert_eq!(mask_passwords("password="), "password=***");
        assert_eq!(mask_passwords("mypassword=a"), "mypassword=a");
        assert_eq!(mask_passwords("no secrets"), "no secrets");
        assert_eq!(mask_passwords("a?x=1&password=p"), "a?x=1&password=***");
    }
    use super::*;
    use alloc::string::ToString;

    fn server(host: Host, port: u16) -> Option<Server> {
        Some(Server { host, port })
    }

    #[test]
    fn address_port_and_defaults() {
        let o = ServerOptions::parse("test-exit server=spice://10.0.2.2:5930 mode=800x600");
        assert_eq!(o.server, server(Host::Ip(Ipv4Addr::new(10, 0, 2, 2)), 5930));
        assert_eq!(o.server.as_ref().unwrap().to_string(), "spice://10.0.2.2:5930");
        assert_eq!((o.password.as_str(), o.compression), ("", None));
        assert!(o.errors.is_empty());
        let o = ServerOptions::parse("server=spice://desk.example.org/");
        assert_eq!(o.server, server(Host::Name("desk.example.org".into()), DEFAULT_PORT));
        assert_eq!(ServerOptions::parse("ip=1.2.3.4/8"), ServerOptions::default());
    }

    #[test]
    fn passwords_from_url_and_option() {
        let o = ServerOptions::parse("server=spice://h:1?password=s%20cret&tls-port=2");
        assert_eq!(o.password, "s cret");
        // password= wins, before or after server=.
        let o = ServerOptions::parse("password=mine server=spice://h:1?password=url");
        assert_eq!(o.password, "mine");
        let o = ServerOptions::parse("server=spice://h:1?password=url password=mine");
        assert_eq!(o.password, "mine");
        let o = ServerOptions::parse("password=");
        assert_eq!((o.password.as_str(), o.errors.len()), ("", 0));
    }

    #[test]
    fn compression_names() {
        for c in Compression::ALL {
            let o = ServerOptions::parse(&alloc::format!("compression={}", c.name()));
            assert_eq!(o.compression, Some(c));
        }
        let o = ServerOptions::parse("compression=jpeg");
        assert_eq!(o.compression, None);
        assert_eq!(o.errors[0].key, "compression");
    }

    #[test]
    fn bad_words_are_reported_never_guessed() {
        for bad in [
            "server=10.0.2.2:5930",
            "server=spice://",
            "server=spice://:5930",
            "server=spice://h:0",
            "server=spice://h:65536",
            "server=spice://h:x",
            "server=spice://[::1]:5900",
            "server=spice://user@h",
            "server=spice://h/path",
            "server=spice://-h",
            "server=spice://a..b",
            "server=spice://1.2.3.400",
            "server=spice://h_1",
            "server=spice://h?password=%zz",
            "server=spice://h?password=%c3",
            "server=spice://h?password=%00",
        ] {
            let o = ServerOptions::parse(bad);
            assert_eq!(o.server, None, "{bad}");
            assert_eq!(o.errors.len(), 1, "{bad}");
            assert_eq!(o.errors[0].key, "server", "{bad}");
        }
        let long = alloc::format!("password={}", "x".repeat(61));
        let o = ServerOptions::parse(&long);
        assert_eq!(
            o.errors[0].to_string(),
            "option password= ignored: a SPICE password is at most 60 bytes, without NUL"
        );
        let long = alloc::format!("server=spice://{}", "a".repeat(64));
        assert!(ServerOptions::parse(&long).server.is_none());
        // A later good word still counts.
        let o = ServerOptions::parse("server=nope server=spice://h");
        assert_eq!(o.server, server(Host::Name("h".into()), 5900));
        assert_eq!(o.errors.len(), 1);
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for s in ["server=spice://%", "password=%", "password=%4", "server=spice://\u{e9}:1", "server=spice://h:\u{e9}"]
        {
            let _ = ServerOptions::parse(s);
        }
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new(1000, 30_000);
        let v: Vec<u64> = (0..7).map(|_| b.next_delay_ms()).collect();
        assert_eq!(v, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
        b.reset();
        assert_eq!(b.next_delay_ms(), 1000);
    }
}
