//! What a DHCP answer says about a configuration file to fetch: the BOOTP
//! next-server (`siaddr`) and boot file name (the `file` field, or option
//! 67), option 66 (TFTP server), and a URL in the vendor option (43). Read
//! from the raw packet, which smoltcp's DHCP client hands over but does not
//! interpret. Bounded and never panics.

use super::url::{FetchUrl, Scheme};
use alloc::string::String;
use core::net::Ipv4Addr;

const SIADDR: core::ops::Range<usize> = 20..24;
const FILE: core::ops::Range<usize> = 108..236;
const MAGIC: core::ops::Range<usize> = 236..240;
const OPTIONS_AT: usize = 240;
const COOKIE: [u8; 4] = [99, 130, 83, 99];
const OPT_PAD: u8 = 0;
const OPT_END: u8 = 255;
const OPT_VENDOR: u8 = 43;
const OPT_TFTP_SERVER: u8 = 66;
const OPT_BOOT_FILE: u8 = 67;

/// Options the client asks for: smoltcp's own (subnet, router, DNS) and ours.
pub const PARAMETER_REQUEST_LIST: [u8; 6] = [1, 3, 6, OPT_VENDOR, OPT_TFTP_SERVER, OPT_BOOT_FILE];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootHints {
    pub next_server: Option<Ipv4Addr>,
    pub boot_file: Option<String>,
    /// Option 66 when it is a dotted address.
    pub tftp_server: Option<Ipv4Addr>,
    /// Option 43 when it is a `tftp://` or `http://` URL.
    pub vendor_url: Option<String>,
}

impl BootHints {
    /// Reads a DHCP packet (from the BOOTP header on).
    pub fn parse(packet: &[u8]) -> BootHints {
        let mut h = BootHints::default();
        if packet.get(MAGIC) != Some(&COOKIE[..]) {
            return h;
        }
        if let Some(a) = packet.get(SIADDR).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
            h.next_server = Some(Ipv4Addr::from(a)).filter(|a| !a.is_unspecified());
        }
        h.boot_file = packet.get(FILE).and_then(text);
        let mut opts = packet.get(OPTIONS_AT..).unwrap_or_default();
        while let Some((&code, rest)) = opts.split_first() {
            match code {
                OPT_PAD => {
                    opts = rest;
                    continue;
                }
                OPT_END => break,
                _ => {}
            }
            let Some((&len, rest)) = rest.split_first() else { break };
            let Some(value) = rest.get(..len as usize) else { break };
            opts = &rest[len as usize..];
            match code {
                OPT_BOOT_FILE => h.boot_file = text(value).or(h.boot_file),
                OPT_TFTP_SERVER => h.tftp_server = text(value).and_then(|t| t.parse().ok()),
                OPT_VENDOR => {
                    h.vendor_url = text(value).filter(|t| t.starts_with("tftp://") || t.starts_with("http://"))
                }
                _ => {}
            }
        }
        h
    }

    /// The file to fetch, if the answer names one: the vendor URL, else a
    /// boot file that is itself a URL, else the boot file over TFTP from
    /// option 66, the next-server or (failing both) `dhcp_server`.
    pub fn config_url(&self, dhcp_server: Ipv4Addr) -> Option<Result<FetchUrl, &'static str>> {
        if let Some(u) = &self.vendor_url {
            return Some(FetchUrl::parse(u));
        }
        let file = self.boot_file.as_deref()?;
        if file.contains("://") {
            return Some(FetchUrl::parse(file));
        }
        let server = self.tftp_server.or(self.next_server).unwrap_or(dhcp_server);
        Some(FetchUrl::new(Scheme::Tftp, server, Scheme::Tftp.default_port(), file))
    }
}

/// A NUL-terminated (or full) field as text; `None` when empty or not UTF-8.
fn text(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let s = core::str::from_utf8(&b[..end]).ok()?.trim();
    (!s.is_empty()).then(|| String::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    fn packet(siaddr: [u8; 4], file: &str, options: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; OPTIONS_AT];
        p[0] = 2;
        p[SIADDR].copy_from_slice(&siaddr);
        p[FILE.start..FILE.start + file.len()].copy_from_slice(file.as_bytes());
        p[MAGIC].copy_from_slice(&COOKIE);
        p.extend_from_slice(options);
        p
    }

    #[test]
    fn slirp_style_next_server_and_file() {
        // What QEMU's -netdev user,tftp=DIR,bootfile=clove.vv answers.
        let p = packet([10, 0, 2, 2], "clove.vv", &[53, 1, 5, 1, 4, 255, 255, 255, 0, 255]);
        let h = BootHints::parse(&p);
        assert_eq!(h.next_server, Some(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(h.boot_file.as_deref(), Some("clove.vv"));
        let url = h.config_url(Ipv4Addr::new(10, 0, 2, 3)).unwrap().unwrap();
        assert_eq!(url.to_string(), "tftp://10.0.2.2/clove.vv");
    }

    #[test]
    fn options_win_over_the_header_fields() {
        let mut opts = vec![0, 0, OPT_BOOT_FILE, 9];
        opts.extend_from_slice(b"cfg/a.cfg");
        opts.extend_from_slice(&[OPT_TFTP_SERVER, 8]);
        opts.extend_from_slice(b"10.1.1.1");
        opts.push(255);
        let h = BootHints::parse(&packet([10, 0, 2, 2], "pxelinux.0", &opts));
        let url = h.config_url(Ipv4Addr::UNSPECIFIED).unwrap().unwrap();
        assert_eq!(url.to_string(), "tftp://10.1.1.1/cfg/a.cfg");

        let mut opts = vec![OPT_VENDOR, 25];
        opts.extend_from_slice(b"http://10.0.2.2:81/vdi.vv");
        let h = BootHints::parse(&packet([0; 4], "", &opts));
        assert_eq!(h.next_server, None);
        assert_eq!(h.config_url(Ipv4Addr::UNSPECIFIED).unwrap().unwrap().to_string(), "http://10.0.2.2:81/vdi.vv");
        let h = BootHints::parse(&packet([0; 4], "http://10.0.2.2/x.cfg", &[]));
        assert_eq!(h.config_url(Ipv4Addr::new(10, 0, 2, 3)).unwrap().unwrap().to_string(), "http://10.0.2.2/x.cfg");
    }

    #[test]
    fn no_hints_and_hostile_packets() {
        assert_eq!(BootHints::parse(&packet([0; 4], "", &[255])).config_url(Ipv4Addr::UNSPECIFIED), None);
        // A vendor option that is not a URL (opaque sub-options) is not one.
        let h = BootHints::parse(&packet([0; 4], "", &[OPT_VENDOR, 3, 1, 1, 0]));
        assert_eq!(h.vendor_url, None);
        for p in [vec![], vec![0; 239], packet([1; 4], "\u{e9}", &[OPT_BOOT_FILE, 200, 1]), packet([0; 4], "", &[7])] {
            let _ = BootHints::parse(&p);
        }
        let mut no_cookie = packet([10, 0, 2, 2], "clove.vv", &[]);
        no_cookie[MAGIC.start] = 0;
        assert_eq!(BootHints::parse(&no_cookie), BootHints::default());
    }
}
