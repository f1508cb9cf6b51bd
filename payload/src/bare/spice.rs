//! The thin client: network up, the network's configuration file (if any),
//! then a SPICE session to the configured server, drawn into the framebuffer; every failure is shown, logged and
//! retried with backoff, and a lost server is reconnected by itself.
//!
//! The protocol is `spice-proto`'s sans-IO [`Session`]; [`attempt`] moves
//! its bytes over smoltcp TCP sockets (one per channel), [`view`] draws the
//! connecting screen and the remote desktop.
//!
//! Until the first frame (every wait included) F2 opens the local setup
//! screen ([`Client::setup`]); what it applies wins over every other
//! source for this boot, and the connection starts over with it.

mod attempt;
mod view;

use super::config::{fetch_network_file, Sources};
use super::console::Console;
use super::display::Screen;
use super::input::{Event as InputEvent, Input, CAPS_LOCK};
use super::net::{self, Net, DHCP_TIMEOUT};
use alloc::format;
use alloc::string::String;
use attempt::Outcome;
use drivers::config::Config;
use drivers::net::server::{Backoff, Host, Server, ServerOptions};
use drivers::net::smoltcp::wire::Ipv4Address;
use drivers::pci::{ConfigSpace, PciDevice};
use drivers::port::X86Ports;
use drivers::ps2::{keys, KeyEvent};
use drivers::setup::{Action, SetupForm};
pub use view::{Progress, Step};

/// First and longest wait between attempts.
const BACKOFF_FIRST_MS: u64 = 1000;
const BACKOFF_MAX_MS: u64 = 30_000;
/// Pause before reconnecting to a server that went away.
const RECONNECT_DELAY_MS: u64 = 1000;

/// Everything the loop works with.
pub struct Client<'a> {
    pub con: &'a mut Console,
    pub screen: Option<Screen>,
    pub net: Net,
    /// The server options in effect: `config`'s, with the setup screen's over them.
    pub opts: ServerOptions,
    pub progress: Progress,
    pub input: Input,
    /// The merged configuration (command line, CBFS, network).
    config: Config,
    /// The setup screen's server and password, once applied.
    setup: Option<(Server, String)>,
}

/// Runs the client forever: with `net` already up (it has a lease), or
/// opening the NIC itself. Without a server after the network's file,
/// it says so and waits.
// Each is a separate thing the boot hands over; a struct would only bundle them for this call.
#[allow(clippy::too_many_arguments)]
pub fn run(
    con: &mut Console,
    mut screen: Option<Screen>,
    input: Input,
    devices: &[PciDevice],
    pci: &mut ConfigSpace<X86Ports>,
    sources: &Sources,
    config: Config,
    net: Option<Net>,
) -> ! {
    let mut progress = Progress::new();
    progress.set_server(config.server.server.as_ref(), config.boot.title.as_deref());
    progress.set_notes(notes(&config));
    let up = net.is_some();
    let net = net.or_else(|| {
        progress.set(Step::Nic, view::State::Active, "looking for a supported network card");
        progress.draw(&mut screen);
        net::open(con, devices, pci, &config.net)
    });
    let Some(net) = net else {
        progress.fail(Step::Nic, "no supported network card (Intel e1000/e1000e, virtio-net, RTL8139)", None);
        progress.draw(&mut screen);
        con.error(format_args!("spice: error: no supported network card; nothing to retry"));
        super::cpu::halt_forever()
    };
    con.log(format_args!("ready"));
    let mut c = Client { con, screen, net, opts: config.server.clone(), progress, input, config, setup: None };
    if up {
        let name = c.net.name.clone();
        c.progress.set(Step::Nic, view::State::Done, &format!("{name}, link up"));
        c.address_done("DHCP");
    } else {
        let net_opts = c.config.net.clone();
        c.bring_up_network(&net_opts);
    }
    c.network_config(sources);
    if c.opts.server.is_none() {
        let why = "no server: give server= (command line or clove.cfg), a .vv file (vv= or DHCP), or press F2";
        c.progress.fail(Step::Config, why, None);
        c.show();
        c.con.error(format_args!("spice: error: {why}"));
        while !c.keys_in_wait() {
            c.net.poll(c.con);
        }
    }
    c.connect_forever()
}

/// The configuration problems, as shown on screen.
fn notes(config: &Config) -> alloc::vec::Vec<String> {
    config.errors.iter().map(|e| format!("{e}")).collect()
}

impl Client<'_> {
    fn show(&mut self) {
        self.progress.draw(&mut self.screen);
    }

    /// The network's file (`vv=` or DHCP's boot file), merged under the
    /// other sources; a failure is shown and the other sources apply.
    fn network_config(&mut self, sources: &Sources) {
        self.progress.set(Step::Config, view::State::Active, "looking for a file from the network");
        self.show();
        let Some(file) = fetch_network_file(self.con, &self.config, &mut self.net) else {
            self.progress.set(Step::Config, view::State::Skipped, "none offered (vv= or a DHCP boot file)");
            return;
        };
        self.config = sources.merge(self.con, Some(&file));
        let state = if file.text.is_ok() { view::State::Done } else { view::State::Failed };
        self.progress.set(Step::Config, state, &file.name);
        self.progress.set_notes(notes(&self.config));
        self.use_config();
        self.show();
    }

    /// Takes the options from `config`, with the setup screen's values
    /// over them (they win for this boot).
    fn use_config(&mut self) {
        let mut c = self.config.clone();
        if let Some((server, password)) = self.setup.clone() {
            c = c.with_local_setup(Some(server), Some(password));
        }
        self.progress.set_server(c.server.server.as_ref(), c.boot.title.as_deref());
        self.opts = c.server;
    }

    /// Reads the keyboard in a wait before the first frame: F2 opens the
    /// setup screen. True when that applied new values.
    fn keys_in_wait(&mut self) -> bool {
        let mut events = alloc::vec::Vec::new();
        self.input.poll(self.con, &mut events);
        let f2 =
            |e: &InputEvent| matches!(e, InputEvent::Key(KeyEvent::Key { key: keys::F2, down: true, repeat: false }));
        events.iter().any(f2) && self.setup()
    }

    /// The setup screen, a panel over the connecting screen, until Enter
    /// with valid values (true: they apply from now on) or Esc. The network
    /// is polled meanwhile; the connecting screen is redrawn at the end.
    pub fn setup(&mut self) -> bool {
        let server = self.opts.server.as_ref().map_or_else(String::new, |s| format!("{s}"));
        let mut form = SetupForm::new(&server, &self.opts.password);
        self.con.log(format_args!("setup: open"));
        let mut widest = 0;
        self.draw_setup(&form, &mut widest);
        let mut events = alloc::vec::Vec::new();
        let applied = 'open: loop {
            self.net.poll(self.con);
            self.input.poll(self.con, &mut events);
            for e in events.drain(..) {
                let InputEvent::Key(KeyEvent::Key { key, down: true, .. }) = e else { continue };
                let caps = self.input.locks() & CAPS_LOCK != 0;
                match form.key(key, self.input.keys.shift(), caps) {
                    Action::None => {}
                    Action::Changed => self.draw_setup(&form, &mut widest),
                    Action::Invalid => {
                        self.draw_setup(&form, &mut widest);
                        self.con.log(format_args!("setup: not applied: {}", form.error().unwrap_or("")));
                    }
                    Action::Apply { server, password } => break 'open Some((server, password)),
                    Action::Cancel => break 'open None,
                }
            }
        };
        self.progress.invalidate();
        self.show();
        let Some((server, password)) = applied else {
            self.con.log(format_args!("setup: cancelled"));
            return false;
        };
        let shown = if password.is_empty() { "" } else { "***" };
        self.con.log(format_args!("setup: server={server} password={shown} (from setup screen)"));
        self.setup = Some((server, password));
        self.use_config();
        true
    }

    /// The setup panel; when it got narrower the connecting screen is
    /// repainted first, so no edge of the wider one stays.
    fn draw_setup(&mut self, form: &SetupForm, widest: &mut usize) {
        let lines = form.lines();
        let w = lines.iter().map(String::len).max().unwrap_or(0);
        if w < *widest {
            self.progress.invalidate();
            self.show();
        }
        *widest = w;
        let Some(s) = self.screen.as_mut() else { return };
        let refs: alloc::vec::Vec<&str> = lines.iter().map(String::as_str).collect();
        drivers::screen::draw_panel(&mut s.fb, "Clove setup", &refs);
    }

    /// Link and address; returns once both are there. A missing link or
    /// DHCP answer is shown and waited out (the DHCP client keeps asking).
    fn bring_up_network(&mut self, net_opts: &drivers::net::config::NetOptions) {
        self.wait_for_link();
        if self.net.configure_static(self.con, net_opts) {
            self.address_done("static");
            return;
        }
        self.progress.set(Step::Address, view::State::Active, "asking DHCP");
        self.show();
        self.net.start_dhcp();
        self.wait_for_lease();
    }

    /// Until the NIC has link; no link is shown and logged meanwhile.
    fn wait_for_link(&mut self) {
        let name = self.net.name.clone();
        let mut shown_no_link = false;
        while !self.net.link_up() {
            if !shown_no_link {
                self.progress.set(Step::Nic, view::State::Active, &name);
                self.progress.fail(Step::Nic, &format!("{name}: no link (is the cable plugged in?)"), None);
                self.show();
                self.con.error(format_args!("spice: error: no link on {name}; waiting"));
                shown_no_link = true;
            }
            self.net.poll(self.con);
            self.keys_in_wait();
        }
        let mut line = format!("{name}, link up");
        if let Some(note) = &self.net.choice_note {
            line = format!("{line} ({note})");
        }
        self.progress.set(Step::Nic, view::State::Done, &line);
        self.progress.clear_error();
    }

    fn wait_for_lease(&mut self) {
        let start = self.net.millis();
        let mut failed = false;
        while self.net.lease.is_none() {
            self.net.poll(self.con);
            self.keys_in_wait();
            if !failed && self.net.millis() - start > DHCP_TIMEOUT.total_millis() {
                failed = true;
                let why = format!("no DHCP answer in {} s; still asking", DHCP_TIMEOUT.secs());
                self.progress.fail(Step::Address, &why, None);
                self.show();
                self.con.log(format_args!("net: no DHCP answer in {} s", DHCP_TIMEOUT.secs()));
                self.con.error(format_args!("spice: error: {why}"));
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
            if !self.net.link_up() {
                self.wait_for_link();
            }
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
                    self.con.error(format_args!(
                        "spice: error: {why} ({}); retrying in {} s",
                        step.name(),
                        delay.div_ceil(1000)
                    ));
                    if self.wait_and_count_down(delay) {
                        backoff.reset();
                        attempt_no = 0;
                    }
                }
                Outcome::Lost(why) => {
                    backoff.reset();
                    attempt_no = 0;
                    self.progress.reconnecting(&why);
                    self.show();
                    self.con.log(format_args!("spice: connection lost: {why}; reconnecting"));
                    self.wait_and_count_down(RECONNECT_DELAY_MS);
                }
                Outcome::Setup => {
                    backoff.reset();
                    attempt_no = 0;
                }
            }
        }
    }

    /// Polls the network for `ms`, showing the seconds left; cut short
    /// (true) when the setup screen applied new values.
    fn wait_and_count_down(&mut self, ms: u64) -> bool {
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
            self.net.poll(self.con);
            // Nothing else to send keys to: read them anyway, so none go
            // stale and the lock keys still work.
            if self.keys_in_wait() {
                self.progress.retry_in(0);
                return true;
            }
        }
        self.progress.retry_in(0);
        false
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
        let a = self.net.resolve(self.con, dns, &name).map_err(|e| format!("cannot resolve {name}: {e}"))?;
        self.con.log(format_args!("spice: {name} is {a}"));
        self.progress.set(Step::Resolve, view::State::Done, &format!("{name} is {a}"));
        Ok(a)
    }
}
