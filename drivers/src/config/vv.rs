//! virt-viewer connection files (`.vv`), as Proxmox VE and oVirt hand them
//! out: an INI file whose `[virt-viewer]` section says `type=spice`,
//! `host=`, `port=`, `password=`, `title=`, and much that Clove does not do
//! (TLS, proxies, USB redirection, key bindings...).
//!
//! [`parse`] maps what Clove supports to `server=`, `password=` and `title=`
//! settings (with the line each came from) and lists the rest, so the user
//! learns what was ignored. INI syntax: `[section]`, `key=value`, `#` and
//! `;` comments, CRLF line ends; sizes are bounded.

use super::MAX_LINE;
use crate::net::server::parse_host;
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Keys kept from `[virt-viewer]`; more is an error.
const MAX_KEYS: usize = 64;
const SECTION: &str = "virt-viewer";

/// What a `.vv` file says, in Clove's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VvFile {
    /// `(key, value, line)` for Clove's own keys.
    pub settings: Vec<(&'static str, String, usize)>,
    /// Keys and sections Clove ignores, in file order, e.g. `proxy`,
    /// `tls-port (TLS not supported; using port=5900)`, `[ovirt]`.
    pub unsupported: Vec<String>,
    /// `(line, what)`; line 0 is the file as a whole.
    pub errors: Vec<(usize, String)>,
}

/// Reads a `.vv` file; never panics.
pub fn parse(text: &str) -> VvFile {
    let mut f = VvFile::default();
    // (key, value, line) of [virt-viewer], the last of each key kept.
    let mut keys: Vec<(&str, &str, usize)> = Vec::new();
    let mut section: Option<&str> = None;
    let mut seen_section = false;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.len() > MAX_LINE {
            f.errors.push((n, format!("longer than {MAX_LINE} bytes")));
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']').map(str::trim) else {
                f.errors.push((n, String::from("expected [SECTION]")));
                section = None;
                continue;
            };
            if name.eq_ignore_ascii_case(SECTION) {
                seen_section = true;
            } else {
                push_unique(&mut f.unsupported, format!("[{name}]"));
            }
            section = Some(name);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            f.errors.push((n, String::from("expected key=value")));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match section {
            Some(s) if s.eq_ignore_ascii_case(SECTION) => {
                if let Some(k) = keys.iter_mut().find(|k| k.0 == key) {
                    *k = (key, value, n);
                } else if keys.len() < MAX_KEYS {
                    keys.push((key, value, n));
                } else {
                    f.errors.push((n, format!("more than {MAX_KEYS} keys in [{SECTION}]")));
                }
            }
            Some(_) => {}
            None => f.errors.push((n, String::from("key=value before any [section]"))),
        }
    }
    if !seen_section {
        f.errors.push((0, format!("no [{SECTION}] section")));
        return f;
    }
    map(&keys, &mut f);
    f
}

/// From `[virt-viewer]`'s keys to Clove's settings.
fn map(keys: &[(&str, &str, usize)], f: &mut VvFile) {
    let get = |k: &str| keys.iter().find(|e| e.0 == k).map(|e| (e.1, e.2));
    match get("type") {
        Some((t, _)) if t.eq_ignore_ascii_case("spice") => {}
        Some((t, n)) => {
            f.errors.push((n, format!("type={t}: only spice is supported")));
            return;
        }
        None => {
            f.errors.push((0, String::from("no type= (must be spice)")));
            return;
        }
    }
    for &(key, _, _) in keys {
        if !matches!(key, "type" | "host" | "port" | "password" | "tls-port" | "title") {
            push_unique(&mut f.unsupported, key.to_owned());
        }
    }
    let port = |k: &str| get(k).map(|(v, n)| (v.parse::<u16>().ok().filter(|&p| p != 0), v, n));
    let port = match (port("port"), port("tls-port")) {
        (Some((None, v, n)), _) => {
            f.errors.push((n, format!("port={v}: expected 1 to 65535")));
            None
        }
        (Some((Some(p), _, _)), tls) => {
            if tls.is_some() {
                f.unsupported.push(format!("tls-port (TLS not supported; using port={p})"));
            }
            Some(p)
        }
        (None, Some((_, v, n))) => {
            f.errors.push((n, format!("tls-port={v} without port=: TLS is not supported")));
            None
        }
        (None, None) => {
            f.errors.push((0, String::from("no port=")));
            None
        }
    };
    match get("host") {
        Some((h, n)) => match (parse_host(h), port) {
            (Ok(_), Some(p)) => f.settings.push(("server", format!("spice://{h}:{p}"), n)),
            (Ok(_), None) => {}
            (Err(why), _) => f.errors.push((n, format!("host=: {why}"))),
        },
        None => f.errors.push((0, String::from("no host="))),
    }
    if let Some((p, n)) = get("password") {
        // The password= parser decodes %XX; a .vv password is literal.
        f.settings.push(("password", p.replace('%', "%25"), n));
    }
    if let Some((t, n)) = get("title") {
        f.settings.push(("title", t.to_owned(), n));
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if v.len() < MAX_KEYS && !v.contains(&s) {
        v.push(s);
    }
}
