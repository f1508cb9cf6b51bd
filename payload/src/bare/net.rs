//! Networking: choose a NIC among those the drivers' PCI ID tables claim
//! (`nic=`, else the first with link), run smoltcp over it, take an address
//! (DHCP or `ip=`) and keep it (link down/up, lease renewals), resolve
//! names, and the TCP test mode.

use super::console::Console;
use super::cpu;
use super::memory::MAPPED_LIMIT;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::SocketAddrV4;
use drivers::mmio::MmioRegion;
use drivers::net::config::{NetOptions, NetTest, NicChoice};
use drivers::net::dhcp::{BootHints, PARAMETER_REQUEST_LIST};
use drivers::net::dma::{Dma, DmaRegion};
use drivers::net::dns;
use drivers::net::nettest::{fill_pattern, Fnv1a64, Rate};
use drivers::net::phy::NicDevice;
use drivers::net::smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use drivers::net::smoltcp::socket::{dhcpv4, tcp, udp};
use drivers::net::smoltcp::time::{Duration, Instant};
use drivers::net::smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv4Cidr};
use drivers::net::{e1000, rtl8139, virtio, Nic};
use drivers::pci::{self, Bar, ConfigSpace, PciDevice};
use drivers::port::X86Ports;
use drivers::timer::Clock;

/// Give up on DHCP after this long (DISCOVER is resent every 2 s).
pub const DHCP_TIMEOUT: Duration = Duration::from_secs(20);
const DHCP_DISCOVER_RETRY: Duration = Duration::from_secs(2);
/// TCP test: the connection must make progress at least this often.
const NETTEST_STALL: Duration = Duration::from_secs(20);
/// Socket buffers: the SPICE server measures our bandwidth, so be generous.
const TCP_RX_BUFFER: usize = 1 << 20;
const TCP_TX_BUFFER: usize = 256 << 10;
/// How often the link register is read: cheap enough, and soon enough.
const LINK_POLL_MS: u64 = 100;
/// With several NICs, how long they get to show link before the first is taken.
const LINK_WAIT_MS: u64 = 2000;
/// Room for one DHCP packet, so every ACK (renewals too) is reported.
const DHCP_PACKET_BUFFER: usize = 1500;

/// Page-aligned, zeroed DMA memory from the heap (identity-mapped, so the
/// address is the bus address). Freed on drop; the driver resets its
/// device before its DMA field drops.
struct HeapDma {
    region: DmaRegion,
    layout: Layout,
}

impl HeapDma {
    fn new(len: usize, align: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len, align).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        if ptr as u64 + len as u64 > MAPPED_LIMIT {
            // SAFETY: allocated just above with this layout, never shared.
            unsafe { dealloc(ptr, layout) };
            return None;
        }
        // SAFETY: the allocation is ours until `drop`, inside the identity
        // map, and only ever accessed through the region's volatile copies.
        let region = unsafe { DmaRegion::new(ptr as usize, len) };
        Some(Self { region, layout })
    }
}

impl Dma for HeapDma {
    fn phys(&self) -> u64 {
        self.region.phys()
    }
    fn len(&self) -> usize {
        self.region.len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) {
        self.region.read(offset, out)
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        self.region.write(offset, data)
    }
}

impl Drop for HeapDma {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; the device that used
        // it was reset first (see the struct docs).
        unsafe { dealloc(self.region.phys() as *mut u8, self.layout) };
    }
}

/// What a NIC driver needs to open a bound device.
#[derive(Clone, Copy)]
enum Driver {
    E1000(e1000::Family),
    Virtio,
    Rtl8139,
}

impl Driver {
    /// The model name `nic=` accepts.
    fn model(self) -> &'static str {
        match self {
            Driver::E1000(e1000::Family::I8254x) => "e1000",
            Driver::E1000(e1000::Family::I82574) => "e1000e",
            Driver::Virtio => "virtio",
            Driver::Rtl8139 => "rtl8139",
        }
    }
}

/// A device some driver's ID table claims.
struct Candidate<'d> {
    dev: &'d PciDevice,
    name: &'static str,
    driver: Driver,
}

/// Every device a driver claims, in PCI order.
fn bind(devices: &[PciDevice]) -> Vec<Candidate<'_>> {
    devices
        .iter()
        .filter_map(|d| {
            pci::find(e1000::PCI_IDS, d)
                .map(|e| Candidate { dev: d, name: e.name, driver: Driver::E1000(e.driver) })
                .or_else(|| {
                    pci::find(virtio::PCI_IDS, d).map(|e| Candidate { dev: d, name: e.name, driver: Driver::Virtio })
                })
                .or_else(|| {
                    pci::find(rtl8139::PCI_IDS, d).map(|e| Candidate { dev: d, name: e.name, driver: Driver::Rtl8139 })
                })
        })
        .collect()
}

impl Candidate<'_> {
    fn is(&self, choice: &NicChoice) -> bool {
        match choice {
            NicChoice::Pci(a) => self.dev.addr == *a,
            NicChoice::Model { .. } => choice.model() == Some(self.driver.model()),
        }
    }
}

fn open_nic(dev: &PciDevice, driver: Driver, cfg: &mut ConfigSpace<X86Ports>) -> Result<Box<dyn Nic>, String> {
    match driver {
        Driver::E1000(family) => {
            let (base, size) = match dev.bars[0] {
                Some(Bar::Memory { base, size, .. }) if base != 0 && base + size <= MAPPED_LIMIT => (base, size),
                other => return Err(format!("BAR0 is not a usable memory BAR below 4 GiB ({other:?})")),
            };
            // SAFETY: BAR0 is this device's register window, identity-mapped
            // (checked below 4 GiB), and only this driver touches it.
            let regs = unsafe { MmioRegion::new(base as usize, size as usize) };
            let dma = HeapDma::new(e1000::DMA_LEN, e1000::DMA_ALIGN).ok_or("no memory for DMA rings")?;
            let nic = e1000::E1000::open(regs, dma, family).map_err(|e| format!("{e}"))?;
            Ok(Box::new(nic))
        }
        Driver::Virtio => {
            let dma = HeapDma::new(virtio::DMA_LEN, virtio::DMA_ALIGN).ok_or("no memory for DMA rings")?;
            // Modern when the device describes its structures, else legacy.
            let Some(caps) = virtio::modern_caps(cfg, dev.addr) else {
                return open_virtio(virtio::Legacy::new(cfg.ports().clone(), legacy_port(dev)?), dma);
            };
            let window = |w: virtio::Window| match w.phys(&dev.bars) {
                // SAFETY: the window lies inside one of this device's memory
                // BARs (checked by `phys`), below the identity map's end, the
                // three windows don't overlap, and only this driver touches them.
                Some(base) if base + u64::from(w.len) <= MAPPED_LIMIT => unsafe {
                    Ok(MmioRegion::new(base as usize, w.len as usize))
                },
                _ => Err(format!("virtio window {w:?} is not in a usable memory BAR below 4 GiB")),
            };
            let (common, notify, device) = (window(caps.common)?, window(caps.notify)?, window(caps.device)?);
            let t = virtio::Modern::new(common, notify, caps.notify_multiplier, device)
                .map_err(|e| format!("virtio {} window of {} bytes is too small", e.which, e.len))?;
            open_virtio(t, dma)
        }
        Driver::Rtl8139 => {
            let Some(Bar::Io { port, size }) = dev.bars[0] else {
                return Err(format!("BAR0 is not an I/O BAR ({:?})", dev.bars[0]));
            };
            let dma = HeapDma::new(rtl8139::DMA_LEN, rtl8139::DMA_ALIGN).ok_or("no memory for DMA rings")?;
            let nic = rtl8139::Rtl8139::open(cfg.ports().clone(), port, size, dma).map_err(|e| format!("{e}"))?;
            Ok(Box::new(nic))
        }
    }
}

/// The legacy interface's I/O BAR0.
fn legacy_port(dev: &PciDevice) -> Result<u16, String> {
    match dev.bars[0] {
        Some(Bar::Io { port, size }) if size >= virtio::transport::legacy::BAR_LEN => Ok(port),
        other => Err(format!("BAR0 is not the virtio legacy I/O window ({other:?})")),
    }
}

fn open_virtio<T: virtio::Transport + 'static>(t: T, dma: HeapDma) -> Result<Box<dyn Nic>, String> {
    Ok(Box::new(virtio::VirtioNet::open(t, dma).map_err(|e| format!("{e}"))?))
}

/// An address, however we got it.
#[derive(PartialEq, Eq)]
pub struct Lease {
    pub cidr: Ipv4Cidr,
    pub gateway: Option<Ipv4Address>,
    pub dns: Option<SocketAddrV4>,
}

impl core::fmt::Display for Lease {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.cidr)?;
        match self.gateway {
            Some(g) => write!(f, " gw {g}")?,
            None => write!(f, " gw none")?,
        }
        match self.dns {
            Some(d) if d.port() == dns::PORT => write!(f, " dns {}", d.ip()),
            Some(d) => write!(f, " dns {d}"),
            None => write!(f, " dns none"),
        }
    }
}

pub struct Net {
    dev: NicDevice<Box<dyn Nic>>,
    iface: Interface,
    sockets: SocketSet<'static>,
    clock: Clock,
    /// `<model> <pci addr> mac <mac>`, for the log and the status screen.
    pub name: String,
    /// Why the NIC is not the one `nic=` asked for (for the screen).
    pub choice_note: Option<String>,
    pub lease: Option<Lease>,
    /// What the DHCP server said about a file to fetch, and its address.
    pub boot_hints: Option<(BootHints, Ipv4Address)>,
    /// The DHCP client while it runs: its socket and when it (re)started (ms).
    dhcp: Option<(SocketHandle, u64)>,
    /// DHCP restarted after the link came back: the address stays in use
    /// (smoltcp resets TCP sockets whose address goes) until DHCP answers.
    revalidating: bool,
    /// `dns=` from the command line, over DHCP's.
    dns_override: Option<SocketAddrV4>,
    /// `dhcp-lease=`: the longest lease taken (seconds).
    lease_max: Option<u32>,
    /// The link as last read, and when (ms).
    link: bool,
    link_read_ms: u64,
    /// Next local TCP/UDP port to use.
    next_port: u16,
}

/// Binds and opens the first supported NIC and takes an address. Logs
/// every step; `None` when there is no NIC or it would not open.
pub fn start(
    con: &mut Console,
    devices: &[PciDevice],
    cfg: &mut ConfigSpace<X86Ports>,
    opts: &NetOptions,
) -> Option<Net> {
    let mut net = open(con, devices, cfg, opts)?;
    if !net.configure_static(con, opts) {
        net.dhcp(con);
    }
    Some(net)
}

/// Binds and opens the first supported NIC and sets up the stack, without
/// an address yet. Logs every step; `None` when there is no NIC or it
/// would not open.
pub fn open(
    con: &mut Console,
    devices: &[PciDevice],
    cfg: &mut ConfigSpace<X86Ports>,
    opts: &NetOptions,
) -> Option<Net> {
    for e in opts.errors() {
        con.log(format_args!("net: {e}"));
    }
    let candidates = bind(devices);
    if candidates.is_empty() {
        con.log(format_args!("net: no supported NIC"));
        return None;
    }
    let clock = con.clock().unwrap_or_else(|| {
        con.log(format_args!("net: no calibrated clock; assuming a 2 GHz TSC"));
        Clock::new(2_000_000_000, 0)
    });
    let mut choice_note = None;
    let mut chosen = None;
    if let Some(choice) = &opts.nic {
        match candidates.iter().find(|c| c.is(choice)) {
            Some(c) => chosen = open_candidate(con, cfg, c),
            None => {
                let found: Vec<String> =
                    candidates.iter().map(|c| format!("{} {}", c.driver.model(), c.dev.addr)).collect();
                let note = format!("nic={choice}: no such NIC (found {}); using the default choice", found.join(", "));
                con.log(format_args!("net: {note}"));
                choice_note = Some(note);
            }
        }
    }
    let (nic, name) = match chosen {
        Some(n) => n,
        None => first_with_link(con, cfg, &candidates, &clock)?,
    };
    Some(Net::new(nic, name, choice_note, clock, opts))
}

/// Opens one NIC and logs it; `None` (logged) when it would not open.
fn open_candidate(
    con: &mut Console,
    cfg: &mut ConfigSpace<X86Ports>,
    c: &Candidate<'_>,
) -> Option<(Box<dyn Nic>, String)> {
    cfg.enable_bus_master(c.dev.addr);
    match open_nic(c.dev, c.driver, cfg) {
        Ok(mut nic) => {
            let name = format!("{} {} mac {}", nic.variant().unwrap_or(c.name), c.dev.addr, nic.mac());
            let link = if nic.link_up() { "up" } else { "down" };
            con.log(format_args!("net: {name} link {link}"));
            Some((nic, name))
        }
        Err(e) => {
            con.log(format_args!("net: {} at {}: {e}", c.name, c.dev.addr));
            None
        }
    }
}

/// Opens every candidate; with several, gives them [`LINK_WAIT_MS`] to
/// show link and keeps the first with link (else the first), closing the rest.
fn first_with_link(
    con: &mut Console,
    cfg: &mut ConfigSpace<X86Ports>,
    candidates: &[Candidate<'_>],
    clock: &Clock,
) -> Option<(Box<dyn Nic>, String)> {
    let mut open: Vec<(Box<dyn Nic>, String)> = candidates.iter().filter_map(|c| open_candidate(con, cfg, c)).collect();
    if open.len() > 1 {
        let start = clock.millis_at(cpu::rdtsc());
        while !open.iter_mut().any(|(n, _)| n.link_up()) && clock.millis_at(cpu::rdtsc()) - start < LINK_WAIT_MS {
            core::hint::spin_loop();
        }
        let i = open.iter_mut().position(|(n, _)| n.link_up());
        let why = if i.is_some() { "the first with link" } else { "none has link; the first" };
        let chosen = open.swap_remove(i.unwrap_or(0));
        // Dropping the others resets them.
        open.clear();
        con.log(format_args!("net: using {} ({why})", chosen.1));
        return Some(chosen);
    }
    open.pop()
}

impl Net {
    fn new(nic: Box<dyn Nic>, name: String, choice_note: Option<String>, clock: Clock, opts: &NetOptions) -> Net {
        let mac = nic.mac();
        let mut dev = NicDevice::new(nic);
        let now = Instant::from_micros(clock.micros_at(cpu::rdtsc()) as i64);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac.0)));
        config.random_seed = cpu::rdtsc();
        let iface = Interface::new(config, &mut dev, now);
        let link = dev.nic_mut().link_up();
        Net {
            dev,
            iface,
            sockets: SocketSet::new(Vec::new()),
            link_read_ms: clock.millis_at(cpu::rdtsc()),
            clock,
            name,
            choice_note,
            lease: None,
            boot_hints: None,
            dhcp: None,
            revalidating: false,
            dns_override: opts.dns,
            lease_max: opts.dhcp_lease_max,
            link,
            next_port: 49152 + (cpu::rdtsc() % 16384) as u16,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_micros(self.clock.micros_at(cpu::rdtsc()) as i64)
    }

    /// Milliseconds since boot.
    pub fn millis(&self) -> u64 {
        self.clock.millis_at(cpu::rdtsc())
    }

    /// The link as last read (every [`LINK_POLL_MS`] by [`Net::poll`]).
    pub fn link_up(&self) -> bool {
        self.link
    }

    /// One turn of the loop: the NIC's housekeeping, the stack, then the
    /// link (now and then) and what the DHCP client learnt.
    pub fn poll(&mut self, con: &mut Console) {
        self.dev.nic_mut().poll();
        let now = self.now();
        self.iface.poll(now, &mut self.dev, &mut self.sockets);
        self.check_link(con);
        self.check_dhcp(con);
    }

    /// Reads the link when due; logs changes and, when it comes back,
    /// restarts DHCP (the cable may now be in another network).
    fn check_link(&mut self, con: &mut Console) {
        let ms = self.millis();
        if ms - self.link_read_ms < LINK_POLL_MS {
            return;
        }
        self.link_read_ms = ms;
        let up = self.dev.nic_mut().link_up();
        if up == self.link {
            return;
        }
        self.link = up;
        if !up {
            con.log(format_args!("net: link down"));
            return;
        }
        match self.dhcp {
            Some((h, _)) => {
                con.log(format_args!("net: link up; restarting DHCP"));
                self.sockets.get_mut::<dhcpv4::Socket>(h).reset();
                self.dhcp = Some((h, ms));
                self.revalidating = self.lease.is_some();
            }
            None => con.log(format_args!("net: link up")),
        }
    }

    /// The stack's sockets, to read and write them.
    pub fn sockets(&mut self) -> &mut SocketSet<'static> {
        &mut self.sockets
    }

    /// Opens a TCP connection (no Nagle) with these buffer sizes; the
    /// handshake runs as the loop polls.
    pub fn tcp_connect(&mut self, addr: Ipv4Address, port: u16, rx: usize, tx: usize) -> Result<SocketHandle, String> {
        let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(vec![0; rx]), tcp::SocketBuffer::new(vec![0; tx]));
        socket.set_nagle_enabled(false);
        let local_port = self.local_port();
        socket
            .connect(self.iface.context(), (addr, port), local_port)
            .map_err(|e| format!("connect to {addr}:{port}: {e:?}"))?;
        Ok(self.sockets.add(socket))
    }

    /// A UDP socket on a fresh local port, for small request/answer
    /// exchanges (TFTP).
    pub fn udp_bind(&mut self) -> Result<SocketHandle, String> {
        let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 8 << 10]);
        let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4 << 10]);
        let mut socket = udp::Socket::new(rx, tx);
        let port = self.local_port();
        socket.bind(port).map_err(|e| format!("bind UDP port {port}: {e:?}"))?;
        Ok(self.sockets.add(socket))
    }

    fn local_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(49152);
        p
    }

    /// Looks `name` up on `server` (A records, resent and bounded by
    /// [`dns::TIMEOUT_MS`]), polling the stack meanwhile.
    pub fn resolve(&mut self, con: &mut Console, server: SocketAddrV4, name: &str) -> Result<Ipv4Address, String> {
        let id = (cpu::rdtsc() ^ (cpu::rdtsc() >> 17)) as u16;
        let mut query = dns::Query::new(name, id, self.millis()).map_err(|e| format!("{e}"))?;
        let h = self.udp_bind()?;
        let to = IpEndpoint::new((*server.ip()).into(), server.port());
        let result = loop {
            self.poll(con);
            let now = self.millis();
            let s = self.sockets.get_mut::<udp::Socket>(h);
            match query.poll(now) {
                Err(e) => break Err(e),
                Ok(dns::Action::Send(p)) => {
                    // A full queue just means this send is skipped; the next resend comes.
                    let _ = s.send_slice(p, to);
                }
                Ok(dns::Action::Wait) => {}
            }
            let mut done = None;
            while let Ok((data, meta)) = s.recv() {
                // Only the server we asked may answer.
                if done.is_none() && meta.endpoint == to {
                    done = query.receive(data);
                }
            }
            if let Some(r) = done {
                break r;
            }
        };
        self.sockets.remove(h);
        result.map_err(|e| format!("{e}"))
    }

    /// Frees a socket. A TCP socket should be aborted and polled first, so
    /// its RST goes out.
    pub fn remove(&mut self, h: SocketHandle) {
        self.sockets.remove(h);
    }

    /// `ip=` (with `gw=`, `dns=`): sets it and returns true; false when
    /// the address should come from DHCP.
    pub fn configure_static(&mut self, con: &mut Console, opts: &NetOptions) -> bool {
        let Some(ip) = opts.ip else { return false };
        let lease = Lease { cidr: Ipv4Cidr::new(ip.addr, ip.prefix), gateway: opts.gateway, dns: opts.dns };
        self.apply(&lease);
        con.log(format_args!("net: static {lease}"));
        self.lease = Some(lease);
        true
    }

    /// Starts the DHCP client; [`Net::check_dhcp`] takes its answers.
    pub fn start_dhcp(&mut self) {
        if self.dhcp.is_some() {
            return;
        }
        let mut socket = dhcpv4::Socket::new();
        socket.set_parameter_request_list(&PARAMETER_REQUEST_LIST);
        let mut retry = dhcpv4::RetryConfig::default();
        retry.discover_timeout = DHCP_DISCOVER_RETRY;
        socket.set_retry_config(retry);
        socket.set_max_lease_duration(self.lease_max.map(|s| Duration::from_secs(s.into())));
        // With a packet buffer every ACK is an event, so renewals are seen
        // (not only changes), and its raw bytes carry the boot file and
        // next-server, which smoltcp does not interpret. Made once, for the
        // one DHCP socket we ever have.
        socket.set_receive_packet_buffer(Box::leak(vec![0u8; DHCP_PACKET_BUFFER].into_boxed_slice()));
        let handle = self.sockets.add(socket);
        self.dhcp = Some((handle, self.millis()));
    }

    /// Applies what the DHCP client learnt since the last call: a lease,
    /// its renewal (perhaps with another address), or losing it. `dns=`
    /// wins over DHCP's DNS server.
    fn check_dhcp(&mut self, con: &mut Console) {
        let Some((handle, start_ms)) = self.dhcp else { return };
        let lease = match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            None => return,
            Some(dhcpv4::Event::Configured(c)) => {
                let dns = self.dns_override.or_else(|| c.dns_servers.first().map(|a| SocketAddrV4::new(*a, dns::PORT)));
                let hints = c.packet.map(|p| BootHints::parse(p.into_inner())).unwrap_or_default();
                self.boot_hints = Some((hints, c.server.address));
                Lease { cidr: c.address, gateway: c.router, dns }
            }
            // Our own restart: keep the address until DHCP says otherwise.
            Some(dhcpv4::Event::Deconfigured) if self.revalidating => return,
            Some(dhcpv4::Event::Deconfigured) => {
                if self.lease.take().is_some() {
                    con.log(format_args!("net: dhcp lease lost"));
                }
                self.iface.update_ip_addrs(|addrs| addrs.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
                return;
            }
        };
        let revalidated = core::mem::take(&mut self.revalidating);
        match &self.lease {
            Some(old) if *old == lease && revalidated => {
                con.log(format_args!("net: dhcp lease confirmed after link up: {lease}"))
            }
            Some(old) if *old == lease => con.log(format_args!("net: dhcp lease renewed {lease}")),
            Some(old) => {
                con.log(format_args!("net: dhcp lease changed from {old} to {lease}"));
                self.apply(&lease);
            }
            None => {
                self.apply(&lease);
                let now_ms = self.millis();
                con.log(format_args!("net: dhcp lease {lease} in {} ms ({} ms since boot)", now_ms - start_ms, now_ms));
            }
        }
        self.lease = Some(lease);
    }

    /// Polls forever (answers ARP and keeps connections' state); never returns.
    pub fn run(mut self, con: &mut Console) -> ! {
        loop {
            self.poll(con);
            core::hint::spin_loop();
        }
    }

    /// The line for the status screen.
    pub fn status_line(&self) -> String {
        let mut s = self.name.clone();
        match &self.lease {
            Some(l) => {
                let _ = write!(s, ", {l}");
            }
            None => s.push_str(", no address"),
        }
        if let Some(note) = &self.choice_note {
            let _ = write!(s, " ({note})");
        }
        s
    }

    fn apply(&mut self, lease: &Lease) {
        self.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            let _ = addrs.push(IpCidr::Ipv4(lease.cidr));
        });
        self.iface.routes_mut().remove_default_ipv4_route();
        if let Some(gw) = lease.gateway {
            let _ = self.iface.routes_mut().add_default_ipv4_route(gw);
        }
    }

    /// DHCPv4 with a bounded wait: DISCOVER every 2 s for up to 20 s.
    fn dhcp(&mut self, con: &mut Console) {
        self.start_dhcp();
        let start = self.now();
        loop {
            self.poll(con);
            if self.lease.is_some() {
                return;
            }
            if self.now() - start > DHCP_TIMEOUT {
                // Leave the socket in the set: it keeps trying while we run.
                con.log(format_args!("net: no DHCP answer in {} s", DHCP_TIMEOUT.secs()));
                return;
            }
            core::hint::spin_loop();
        }
    }

    /// The TCP test: connect, receive `rx` bytes and checksum them, send
    /// `tx` bytes of the pattern, close. Logs the results; errors are
    /// logged as `nettest: error ...`.
    pub fn nettest(&mut self, con: &mut Console, t: &NetTest) {
        match self.nettest_inner(con, t) {
            Ok(()) => con.log(format_args!("nettest: done")),
            Err(e) => con.log(format_args!("nettest: error: {e}")),
        }
        con.log(format_args!("net: {}", self.dev.nic().stats()));
    }

    fn nettest_inner(&mut self, con: &mut Console, t: &NetTest) -> Result<(), String> {
        if self.lease.is_none() {
            return Err("no address".into());
        }
        let h = self.tcp_connect(t.addr, t.port, TCP_RX_BUFFER, TCP_TX_BUFFER)?;
        let result = self.nettest_run(con, t, h);
        self.sockets.remove(h);
        result
    }

    fn nettest_run(&mut self, con: &mut Console, t: &NetTest, h: SocketHandle) -> Result<(), String> {
        let connect_start = self.now();
        let mut progress = self.now();
        let stalled = |net: &Net, since: Instant, what: &str| {
            if net.now() - since > NETTEST_STALL {
                Err(format!("no progress for {} s while {what}", NETTEST_STALL.secs()))
            } else {
                Ok(())
            }
        };
        // Connect.
        loop {
            self.poll(con);
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if s.may_send() {
                break;
            }
            if !s.is_open() {
                return Err(format!("connection to {}:{} refused or reset", t.addr, t.port));
            }
            stalled(self, connect_start, "connecting")?;
        }
        con.log(format_args!(
            "nettest: connected to {}:{} in {} ms",
            t.addr,
            t.port,
            (self.now() - connect_start).total_millis()
        ));

        // Receive.
        let mut sum = Fnv1a64::new();
        let mut got = 0u64;
        let rx_start = self.now();
        while got < t.rx {
            self.poll(con);
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            let want = t.rx - got;
            let n = if s.can_recv() {
                s.recv(|data| {
                    let n = data.len().min(usize::try_from(want).unwrap_or(usize::MAX));
                    sum.update(&data[..n]);
                    (n, n)
                })
                .map_err(|e| format!("receive: {e:?}"))?
            } else {
                0
            };
            if n > 0 || !self.link {
                // While the link is down, waiting is not stalling.
                got += n as u64;
                progress = self.now();
            } else if !s.may_recv() {
                return Err(format!("server closed after {got} of {} bytes", t.rx));
            } else {
                stalled(self, progress, "receiving")?;
            }
        }
        let us = (self.now() - rx_start).total_micros();
        con.log(format_args!(
            "nettest: rx {got} bytes sum {:016x} in {} ms ({})",
            sum.finish(),
            us / 1000,
            Rate { bytes: got, micros: us }
        ));

        // Send, then wait until everything is acknowledged.
        let mut sum = Fnv1a64::new();
        let mut sent = 0u64;
        let mut last_queue = 0;
        let tx_start = self.now();
        progress = tx_start;
        loop {
            self.poll(con);
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if sent < t.tx && s.can_send() {
                let n = s
                    .send(|buf| {
                        let n = buf.len().min(usize::try_from(t.tx - sent).unwrap_or(usize::MAX));
                        fill_pattern(sent, &mut buf[..n]);
                        sum.update(&buf[..n]);
                        (n, n)
                    })
                    .map_err(|e| format!("send: {e:?}"))?;
                sent += n as u64;
                if n > 0 {
                    progress = self.now();
                }
            }
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            if sent == t.tx && s.send_queue() == 0 {
                break;
            }
            if !s.may_send() {
                return Err(format!("connection closed after {sent} of {} bytes sent", t.tx));
            }
            // Acknowledged data leaving the queue is progress too.
            let queued = s.send_queue();
            if queued < last_queue || !self.link {
                progress = self.now();
            }
            last_queue = queued;
            stalled(self, progress, "sending")?;
        }
        let us = (self.now() - tx_start).total_micros();
        con.log(format_args!(
            "nettest: tx {sent} bytes sum {:016x} in {} ms ({})",
            sum.finish(),
            us / 1000,
            Rate { bytes: sent, micros: us }
        ));

        // Close and let the FIN go out (bounded).
        self.sockets.get_mut::<tcp::Socket>(h).close();
        let close_start = self.now();
        while self.sockets.get_mut::<tcp::Socket>(h).is_open() && self.now() - close_start < Duration::from_secs(2) {
            self.poll(con);
        }
        Ok(())
    }
}
