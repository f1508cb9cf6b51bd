//! The thin client: network up, then a SPICE session to the server from
//! `server=`, drawn into the framebuffer; every failure is shown, logged and
//! retried with backoff, and a lost server is reconnected by itself.
//!
//! The protocol is `spice-proto`'s sans-IO [`Session`]; [`attempt`] moves
//! its bytes over smoltcp TCP sockets (one per channel), [`view`] draws the
//! connecting screen and the remote desktop.

mod attempt;
mod view;

use super::console::Console;
use super::display::Screen;
use super::input::Input;
use super::net::{self, Net, DHCP_TIMEOUT};
use alloc::format;
use alloc::string::String;
use attempt::Outcome;
use drivers::net::config::NetOptions;
use drivers::net::server::{Backoff, Host, ServerOptions};
use drivers::net::smoltcp::time::Duration;
use drivers::net::smoltcp::wire::Ipv4Address;
use drivers::pci::{ConfigSpace, PciDevice};
use drivers::port::X86Ports;
pub use view::{Progress, Step};

/// First and longest wait between attempts.
const BACKOFF_FIRST_MS: u64 = 1000;
const BACKOFF_MAX_MS: u64 = 30_000;
/// A DNS query gets this long (smoltcp gives up on its own after 10 s).
const DNS_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause before reconnecting to a server that went away.
const RECONNECT_DELAY_MS: u64 = 1000;

/// Everything the loop works with.
pub struct Client<'a> {
    pub con: &'a mut Console,
    pub screen: Option<Screen>,
    pub net: Net,
    pub opts: ServerOptions,
    pub progress: Progress,
    pub input: Input,
    /// `dns=` from the command line, over DHCP's.
    dns_override: Option<Ipv4Address>,
}

/// Runs the client forever. `opts.server` must be set.
pub fn run(
    con: &mut Console,
    mut screen: Option<Screen>,
    devices: &[PciDevice],
    cfg: &mut ConfigSpace<X86Ports>,
    net_opts: &NetOptions,
    opts: ServerOptions,
    input: Input,
) -> ! {
    let Some(server) = opts.server.clone() else { super::cpu::halt_forever() };
    let mut progress = Progress::new(&server);
    progress.set(Step::Nic, view::State::Active, "looking for a supported network card");
    progress.draw(&mut screen);
    let Some(net) = net::open(con, devices, cfg, net_opts) else {
        progress.fail(Step::Nic, "no supported network card (Intel e1000/e1000e)", None);
        progress.draw(&mut screen);
        con.log(format_args!("spice: error: no supported network card; nothing to retry"));
        super::cpu::halt_forever()
    };
    con.log(format_args!("ready"));
    let mut c = Client { con, screen, net, opts, progress, input, dns_override: net_opts.dns };
    c.bring_up_network(net_opts);
    c.connect_forever()
}

impl Client<'_> {
    fn show(&mut self) {
        self.progress.draw(&mut self.screen);
    }

    /// Link and address; returns once both are there. A missing link or
    /// DHCP answer is shown and waited out (the DHCP client keeps asking).
    fn bring_up_network(&mut self, net_opts: &NetOptions) {
        let name = self.net.name.clone();
        let mut shown_no_link = false;
        loop {
            if self.net.link_up() {
                break;
            }
            if !shown_no_link {
                self.progress.fail(Step::Nic, &format!("{name}: no link (is the cable plugged in?)"), None);
                self.show();
                self.con.log(format_args!("spice: error: no link on {name}; waiting"));
                shown_no_link = true;
            }
            self.net.poll();
        }
        self.progress.set(Step::Nic, view::State::Done, &format!("{name}, link up"));
        self.progress.clear_error();
        if self.net.configure_static(self.con, net_opts) {
            self.address_done("static");
            return;
        }
        self.progress.set(Step::Address, view::State::Active, "asking DHCP");
        self.show();
        self.net.start_dhcp();
        self.wait_for_lease();
    }

    fn wait_for_lease(&mut self) {
        let start = self.net.millis();
        let mut failed = false;
        while self.net.lease.is_none() {
            self.net.poll();
            self.net.check_dhcp(self.con, self.dns_override);
            if !failed && self.net.millis() - start > DHCP_TIMEOUT.total_millis() {
                failed = true;
                let why = format!("no DHCP answer in {} s; still asking", DHCP_TIMEOUT.secs());
                self.progress.fail(Step::Address, &why, None);
                self.show();
                self.con.log(format_args!("net: no DHCP answer in {} s", DHCP_TIMEOUT.secs()));
                self.con.log(format_args!("spice: error: {why}"));
            }
        }
        self.progress.clear_error();
        self.address_done("DHCP");
    }

    fn address_done(&mut self, how: &str) {
        let line = match &self.net.lease {
            Some(l) => format!("{l} ({how})"),
            None => String::from("none"),
        };
        self.progress.set(Step::Address, view::State::Done, &line);
        self.show();
    }

    /// Attempts until one works, then again whenever the server goes away.
    fn connect_forever(&mut self) -> ! {
        let mut backoff = Backoff::new(BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
        let mut attempt_no = 0u32;
        loop {
            attempt_no += 1;
            if self.net.lease.is_none() {
                self.progress.set(Step::Address, view::State::Active, "lease lost; asking DHCP");
                self.show();
                self.wait_for_lease();
            }
            let result = match self.resolve() {
                Ok(addr) => attempt::run(self, addr),
                Err(why) => Outcome::Failed(Step::Resolve, why),
            };
            match result {
                Outcome::Failed(step, why) => {
                    let delay = backoff.next_delay_ms();
                    // Screen first, then the log line: whoever reads the
                    // log (the tests) finds the screen already up.
                    self.progress.fail(step, &why, Some(attempt_no));
                    self.progress.retry_in(delay.div_ceil(1000));
                    self.show();
                    self.con.log(format_args!(
                        "spice: error: {why} ({}); retrying in {} s",
                        step.name(),
                        delay.div_ceil(1000)
                    ));
                    self.wait_and_count_down(delay);
                }
                Outcome::Lost(why) => {
                    backoff.reset();
                    attempt_no = 0;
                    self.progress.reconnecting(&why);
                    self.show();
                    self.con.log(format_args!("spice: connection lost: {why}; reconnecting"));
                    self.wait_and_count_down(RECONNECT_DELAY_MS);
                }
            }
        }
    }

    /// Polls the network for `ms`, showing the seconds left.
    fn wait_and_count_down(&mut self, ms: u64) {
        let end = self.net.millis() + ms;
        let mut shown = u64::MAX;
        loop {
            let now = self.net.millis();
            if now >= end {
                break;
            }
            let left = (end - now).div_ceil(1000);
            if left != shown {
                shown = left;
                self.progress.retry_in(left);
                self.show();
            }
            self.net.poll();
            self.net.check_dhcp(self.con, self.dns_override);
            // Nothing to send keys to: read them anyway, so none go stale
            // and the lock keys still work.
            self.input.poll(self.con, &mut alloc::vec::Vec::new());
        }
        self.progress.retry_in(0);
    }

    /// The server's address: given, or from DNS.
    fn resolve(&mut self) -> Result<Ipv4Address, String> {
        let Some(server) = self.opts.server.clone() else { return Err(String::from("no server")) };
        let name = match &server.host {
            Host::Ip(a) => {
                self.progress.set(
                    Step::Resolve,
                    view::State::Skipped,
                    &format!("{a} (an address; nothing to resolve)"),
                );
                return Ok(*a);
            }
            Host::Name(n) => n.clone(),
        };
        let Some(dns) = self.net.lease.as_ref().and_then(|l| l.dns) else {
            return Err(format!("cannot resolve {name}: no DNS server (from DHCP or dns=)"));
        };
        self.progress.set(Step::Resolve, view::State::Active, &format!("{name} via {dns}"));
        self.show();
        self.con.log(format_args!("spice: resolving {name} via {dns}"));
        let q = self.net.dns_query(dns, &name).map_err(|e| format!("cannot resolve {name}: {e}"))?;
        let start = self.net.now();
        loop {
            self.net.poll();
            if let Some(r) = self.net.dns_result(q) {
                let a = r.map_err(|e| format!("cannot resolve {name}: {e}"))?;
                self.con.log(format_args!("spice: {name} is {a}"));
                self.progress.set(Step::Resolve, view::State::Done, &format!("{name} is {a}"));
                return Ok(a);
            }
            if self.net.now() - start > DNS_TIMEOUT {
                self.net.remove(q.0);
                return Err(format!("cannot resolve {name}: no answer from {dns} in {} s", DNS_TIMEOUT.secs()));
            }
        }
    }
}
