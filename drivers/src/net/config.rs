//! Network options (from the merged configuration, see `crate::config`):
//! `ip=10.0.2.15/24 gw=10.0.2.2` (static address instead of DHCP),
//! `dns=10.0.2.3[:PORT]` (the DNS server, over DHCP's), `nic=e1000e` or
//! `nic=00:04.0` (which NIC to use), `dhcp-lease=SECONDS` and
//! `nettest=10.0.2.2:5555,rx=16777216,tx=16777216` (the TCP test mode).

use super::dns;
use crate::pci::PciAddress;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

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

/// Shortest `dhcp-lease=`: renewals every 2 s are plenty.
const MIN_LEASE: u32 = 4;

/// Longest `nic=` model name kept.
const MAX_MODEL: usize = 15;

/// `nic=`: a driver's model name (`e1000`, `e1000e`, `virtio`, `rtl8139`;
/// checked against the bound NICs later) or a PCI address `BB:DD.F`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NicChoice {
    Model { name: [u8; MAX_MODEL], len: u8 },
    Pci(PciAddress),
}

impl NicChoice {
    /// The model name, for [`NicChoice::Model`].
    pub fn model(&self) -> Option<&str> {
        match self {
            NicChoice::Model { name, len } => core::str::from_utf8(name.get(..*len as usize)?).ok(),
            NicChoice::Pci(_) => None,
        }
    }
}

impl fmt::Display for NicChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NicChoice::Pci(a) => write!(f, "{a}"),
            NicChoice::Model { .. } => f.write_str(self.model().unwrap_or("?")),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// `ip=`: a static address; DHCP is skipped.
    pub ip: Option<Ipv4Cidr>,
    pub gateway: Option<Ipv4Addr>,
    /// `dns=ADDR[:PORT]` (port 53 when absent).
    pub dns: Option<SocketAddrV4>,
    pub nic: Option<NicChoice>,
    /// `dhcp-lease=SECONDS`: the longest lease to take (renewed at half).
    pub dhcp_lease_max: Option<u32>,
    pub nettest: Option<NetTest>,
    /// Keys (bit i is `KEYS[i]`) that had a word that did not parse in
    /// [`NetOptions::parse`].
    bad: u8,
}

/// Our keys and what their values look like.
const KEYS: [(&str, &str); 6] = [
    ("ip", "expected ADDRESS/PREFIX"),
    ("gw", "expected an IPv4 address"),
    ("dns", "expected ADDRESS[:PORT]"),
    ("nic", "expected a model (e1000, e1000e, virtio, rtl8139) or a PCI address BB:DD.F"),
    ("nettest", "expected ADDRESS:PORT[,rx=BYTES][,tx=BYTES]"),
    ("dhcp-lease", "expected SECONDS (at least 4)"),
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
            "dns" => parse_dns(value).map(|a| self.dns = Some(a)),
            "nic" => parse_nic(value).map(|n| self.nic = Some(n)),
            "dhcp-lease" => value.parse().ok().filter(|&s| s >= MIN_LEASE).map(|s| self.dhcp_lease_max = Some(s)),
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

fn parse_dns(v: &str) -> Option<SocketAddrV4> {
    match v.split_once(':') {
        None => Some(SocketAddrV4::new(v.parse().ok()?, dns::PORT)),
        Some((a, p)) => Some(SocketAddrV4::new(a.parse().ok()?, p.parse().ok().filter(|&p| p != 0)?)),
    }
}

/// `BB:DD.F` (hex; a `0000:` domain in front is allowed) or a model name.
fn parse_nic(v: &str) -> Option<NicChoice> {
    let hex = |s: &str, max: u8| u8::from_str_radix(s, 16).ok().filter(|&n| n <= max && !s.is_empty() && s.len() <= 2);
    let pci = v.strip_prefix("0000:").unwrap_or(v);
    if let Some((bus, rest)) = pci.split_once(':') {
        let (dev, func) = rest.split_once('.')?;
        return Some(NicChoice::Pci(PciAddress::new(hex(bus, 0xFF)?, hex(dev, 31)?, hex(func, 7)?)));
    }
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if v.is_empty() || v.len() > MAX_MODEL || !v.bytes().all(ok) {
        return None;
    }
    let mut name = [0; MAX_MODEL];
    name[..v.len()].copy_from_slice(v.as_bytes());
    Some(NicChoice::Model { name, len: v.len() as u8 })
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
        assert_eq!(o.dns, Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 3), 53)));
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
        let o = NetOptions::parse("dns=10.0.2.2:0 nic=00:20.0 dhcp-lease=3");
        assert_eq!(o.errors().map(|e| e.key).collect::<Vec<_>>(), ["dns", "nic", "dhcp-lease"]);
        assert_eq!(NetOptions::parse("dhcp-lease=600").dhcp_lease_max, Some(600));
        for bad in ["dns=10.0.2.2:", "dns=10.0.2.2:65536", "dns=host:53"] {
            assert_eq!(NetOptions::parse(bad).errors().count(), 1, "{bad}");
        }
    }

    #[test]
    fn dns_port_and_nic_choice() {
        let o = NetOptions::parse("dns=10.0.2.2:5353 nic=e1000e");
        assert_eq!(o.dns, Some(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 5353)));
        assert_eq!(o.nic.unwrap().model(), Some("e1000e"));
        assert_eq!(o.nic.unwrap().to_string(), "e1000e");
        for (word, addr) in [("nic=00:04.0", (0, 4, 0)), ("nic=0000:01:1f.7", (1, 31, 7)), ("nic=a:2.1", (10, 2, 1))] {
            let o = NetOptions::parse(word);
            let want = PciAddress::new(addr.0, addr.1, addr.2);
            assert_eq!(o.nic, Some(NicChoice::Pci(want)), "{word}");
            assert_eq!(o.nic.unwrap().model(), None);
        }
        assert_eq!(NetOptions::parse("nic=00:04.0").nic.unwrap().to_string(), "00:04.0");
        for bad in ["nic=", "nic=00:04", "nic=00:04.8", "nic=100:04.0", "nic=a_very_long_model_name", "nic=e1000/x"] {
            let o = NetOptions::parse(bad);
            assert_eq!((o.nic, o.errors().count()), (None, 1), "{bad}");
        }
    }
}
