//! URLs of files Clove fetches at boot (a `clove.cfg` or a `.vv`):
//! `tftp://ADDRESS[:PORT]/PATH` and `http://ADDRESS[:PORT]/PATH`. The host
//! is an IPv4 address: names would need DNS before the configuration that
//! may name the DNS server.

use alloc::string::String;
use core::fmt;
use core::net::Ipv4Addr;

/// Longest path we send (TFTP file names are short in practice, and
/// iPXE's limit is similar).
pub const MAX_PATH: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Tftp,
    Http,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Tftp => "tftp",
            Scheme::Http => "http",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Tftp => 69,
            Scheme::Http => 80,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchUrl {
    pub scheme: Scheme,
    pub addr: Ipv4Addr,
    pub port: u16,
    /// From the `/` after the host on, e.g. `/clove.vv`.
    pub path: String,
}

impl FetchUrl {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = if let Some(r) = s.strip_prefix("tftp://") {
            (Scheme::Tftp, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (Scheme::Http, r)
        } else {
            return Err("expected tftp://ADDRESS/PATH or http://ADDRESS[:PORT]/PATH");
        };
        let (authority, path) = rest.split_at(rest.find('/').ok_or("no /PATH after the host")?);
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|&p| p != 0).ok_or("the port must be 1 to 65535")?),
            None => (authority, scheme.default_port()),
        };
        let addr = host.parse().map_err(|_| "the host must be an IPv4 address")?;
        Self::new(scheme, addr, port, path)
    }

    /// A URL from its parts; `path` gets a leading `/` if it lacks one.
    pub fn new(scheme: Scheme, addr: Ipv4Addr, port: u16, path: &str) -> Result<Self, &'static str> {
        let path = if path.starts_with('/') { String::from(path) } else { alloc::format!("/{path}") };
        if path.len() < 2 || path.len() > MAX_PATH || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the path must be 1 to 254 printable ASCII characters without spaces");
        }
        Ok(Self { scheme, addr, port, path })
    }

    /// The name a TFTP read request asks for: the path without its first `/`.
    pub fn tftp_name(&self) -> &str {
        &self.path[1..]
    }

    /// Whether the name says virt-viewer file (`.vv`).
    pub fn names_vv(&self) -> bool {
        self.path.to_ascii_lowercase().ends_with(".vv")
    }
}

impl fmt::Display for FetchUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.name(), self.addr)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn tftp_and_http_urls() {
        let u = FetchUrl::parse("tftp://10.0.2.2/clove.vv").unwrap();
        assert_eq!(
            (u.scheme, u.addr, u.port, u.tftp_name()),
            (Scheme::Tftp, Ipv4Addr::new(10, 0, 2, 2), 69, "clove.vv")
        );
        assert!(u.names_vv());
        assert_eq!(u.to_string(), "tftp://10.0.2.2/clove.vv");
        let u = FetchUrl::parse("http://10.0.2.2:8080/cfg/clove.cfg").unwrap();
        assert_eq!((u.scheme, u.port, u.path.as_str()), (Scheme::Http, 8080, "/cfg/clove.cfg"));
        assert!(!u.names_vv());
        assert_eq!(u.to_string(), "http://10.0.2.2:8080/cfg/clove.cfg");
        let u = FetchUrl::new(Scheme::Tftp, Ipv4Addr::new(1, 2, 3, 4), 69, "boot/X.VV").unwrap();
        assert_eq!((u.path.as_str(), u.names_vv()), ("/boot/X.VV", true));
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "ftp://1.2.3.4/x",
            "tftp://1.2.3.4",
            "tftp://1.2.3.4/",
            "http://host.example/x",
            "http://1.2.3.4:0/x",
            "http://1.2.3.4:99999/x",
            "http://1.2.3.4/a b",
            "http://1.2.3.4/\u{e9}",
            "",
        ] {
            assert!(FetchUrl::parse(bad).is_err(), "{bad}");
        }
        let long = alloc::format!("tftp://1.2.3.4/{}", "x".repeat(MAX_PATH));
        assert!(FetchUrl::parse(&long).is_err());
    }
}
