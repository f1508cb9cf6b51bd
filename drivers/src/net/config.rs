//! Network options (from the merged configuration, see `crate::config`):
//! `ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3` (static address instead of
//! DHCP) and `nettest=10.0.2.2:5555,rx=16777216,tx=16777216` (the TCP test
//! mode).

use core::fmt;
use core::net::Ipv4Addr;

/// An IPv4 address with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `nettest=ADDR:PORT[,rx=N][,tx=N]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetTest {
    pub addr: Ipv4Addr,
    pub port: u16,
    /// Bytes to receive from the server, then bytes to send it.
    pub rx: u64,
    pub tx: u64,
}

/// Default size of each direction of the test.
pub const NETTEST_DEFAULT_BYTES: u64 = 16 << 20;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// `ip=`: a static address; DHCP is skipped.
    pub ip: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Option<Ipv4Addr>,
    pub nettest: Option<NetTest>,
    /// Keys (bit i is `KEYS[i]`) that had a word that did not parse in
    /// [`NetOptions::parse`].
    bad: u8,
}

/// Our keys and what their values look like.
const KEYS: [(&str, &str); 4] = [
    ("ip", "expected ADDRESS/PREFIX"),
    ("gw", "expected an IPv4 address"),
    ("dns", "expected an IPv4 address"),
    ("nettest", "expected ADDRESS:PORT[,rx=BYTES][,tx=BYTES]"),
];

/// A network option that did not parse; the word is kept for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError {
    pub key: &'static str,
    pub expected: &'static str,
}

/// Errors, one per key: see [`NetOptions::errors`].
impl NetOptions {
    pub fn errors(&self) -> impl Iterator<Item = OptionError> + '_ {
        KEYS.iter()
            .enumerate()
            .filter(|(i, _)| self.bad & (1 << i) != 0)
            .map(|(_, &(key, expected))| OptionError { key, expected })
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option {}= ignored: {}", self.key, self.expected)
    }
}

impl NetOptions {
    /// Sets one option: `None` when `key` is not a network option, `Err`
    /// (what the value should look like) when the value does not parse.
    /// Nothing changes on an error.
    pub fn set(&mut self, key: &str, value: &str) -> Option<Result<(), &'static str>> {
        let ok = match key {
            "ip" => parse_cidr(value).map(|c| self.ip = Some(c)),
            "gw" => value.parse().ok().map(|a| self.gateway = Some(a)),
            "dns" => value.parse().ok().map(|a| self.dns = Some(a)),
            "nettest" => parse_nettest(value).map(|t| self.nettest = Some(t)),
            _ => return None,
        };
        let expected = KEYS.iter().find(|k| k.0 == key).map_or("", |k| k.1);
        Some(ok.ok_or(expected))
    }

    /// Reads every network option from a whole command line; other words
    /// are someone else's and are skipped. (Clove itself takes its options
    /// from `crate::config`, which calls [`NetOptions::set`].)
    pub fn parse(cmdline: &str) -> Self {
        let mut o = NetOptions::default();
        for word in cmdline.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else { continue };
            if let Some(Err(_)) = o.set(key, value) {
                let i = KEYS.iter().position(|k| k.0 == key).unwrap_or(0);
                o.bad |= 1 << i;
            }
        }
        o
    }
}

fn parse_cidr(v: &str) -> Option<Ipv4Cidr> {
    let (addr, prefix) = v.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= 32).then_some(Ipv4Cidr { addr: addr.parse().ok()?, prefix })
}

fn parse_nettest(v: &str) -> Option<NetTest> {
    let mut parts = v.split(',');
    let (addr, port) = parts.next()?.split_once(':')?;
    let mut t = NetTest {
        addr: addr.parse().ok()?,
        port: port.parse().ok().filter(|&p| p != 0)?,
        rx: NETTEST_DEFAULT_BYTES,
        tx: NETTEST_DEFAULT_BYTES,
    };
    for p in parts {
        match p.split_once('=')? {
            ("rx", n) => t.rx = n.parse().ok()?,
            ("tx", n) => t.tx = n.parse().ok()?,
            _ => return None,
        }
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_config_and_nettest() {
        let o = NetOptions::parse(
            "/boot/clove.elf test-exit ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3 nettest=10.0.2.2:5555,rx=16777216,tx=4096",
        );
        assert_eq!(o.ip, Some(Ipv4Cidr { addr: Ipv4Addr::new(10, 0, 2, 15), prefix: 24 }));
        assert_eq!(o.ip.unwrap().to_string(), "10.0.2.15/24");
        assert_eq!(o.gateway, Some(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(o.dns, Some(Ipv4Addr::new(10, 0, 2, 3)));
        assert_eq!(o.nettest, Some(NetTest { addr: Ipv4Addr::new(10, 0, 2, 2), port: 5555, rx: 16 << 20, tx: 4096 }));
        assert_eq!(o.errors().count(), 0);
    }

    #[test]
    fn defaults_and_absence() {
        let o = NetOptions::parse("mode=800x600 test-exit");
        assert_eq!(o, NetOptions::default());
        let o = NetOptions::parse("nettest=10.0.2.2:80");
        assert_eq!(o.nettest.map(|t| (t.rx, t.tx)), Some((NETTEST_DEFAULT_BYTES, NETTEST_DEFAULT_BYTES)));
    }

    #[test]
    fn bad_words_are_reported_not_guessed() {
        let o = NetOptions::parse(
            "ip=10.0.2.15 ip=10.0.2.300/24 gw=nope dns= nettest=10.0.2.2 nettest=10.0.2.2:0 nettest=10.0.2.2:1,size=5 ip=1.2.3.4/33",
        );
        assert_eq!(o.ip, None);
        assert_eq!(o.nettest, None);
        let keys: Vec<&str> = o.errors().map(|e| e.key).collect();
        assert_eq!(keys, ["ip", "gw", "dns", "nettest"]);
        assert_eq!(o.errors().next().unwrap().to_string(), "option ip= ignored: expected ADDRESS/PREFIX");
        let o = NetOptions::parse("ip=10.0.2.16/8 nettest=10.0.2.2:9,tx=1,rx");
        assert_eq!(o.errors().map(|e| e.key).collect::<Vec<_>>(), ["nettest"]);
    }
}
