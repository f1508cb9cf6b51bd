//! Networking: bind the first supported NIC from the PCI ID tables, run
//! smoltcp over it, take an address (DHCP or `ip=`), and the TCP test mode.

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
use drivers::mmio::MmioRegion;
use drivers::net::config::{NetOptions, NetTest};
use drivers::net::dhcp::{BootHints, PARAMETER_REQUEST_LIST};
use drivers::net::dma::{Dma, DmaRegion};
use drivers::net::nettest::{fill_pattern, Fnv1a64, Rate};
use drivers::net::phy::NicDevice;
use drivers::net::smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use drivers::net::smoltcp::socket::{dhcpv4, dns, tcp, udp};
use drivers::net::smoltcp::time::{Duration, Instant};
use drivers::net::smoltcp::wire::{
    DnsQueryType, EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr,
};
use drivers::net::{e1000, Nic};
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
}

/// The first device any driver's ID table claims.
fn bind(devices: &[PciDevice]) -> Option<(&PciDevice, &'static str, Driver)> {
    devices.iter().find_map(|d| pci::find(e1000::PCI_IDS, d).map(|e| (d, e.name, Driver::E1000(e.driver))))
}

fn open_nic(dev: &PciDevice, driver: Driver) -> Result<Box<dyn Nic>, String> {
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
    }
}

/// An address, however we got it.
pub struct Lease {
    pub cidr: Ipv4Cidr,
    pub gateway: Option<Ipv4Address>,
    pub dns: Option<Ipv4Address>,
}

impl core::fmt::Display for Lease {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.cidr)?;
        match self.gateway {
            Some(g) => write!(f, " gw {g}")?,
            None => write!(f, " gw none")?,
        }
        match self.dns {
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
    pub lease: Option<Lease>,
    /// What the DHCP server said about a file to fetch, and its address.
    pub boot_hints: Option<(BootHints, Ipv4Address)>,
    /// The DHCP client while it runs: its socket and when it started (ms).
    dhcp: Option<(SocketHandle, u64)>,
    /// Next local TCP port to use.
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
    let Some((dev, model, driver)) = bind(devices) else {
        con.log(format_args!("net: no supported NIC"));
        return None;
    };
    cfg.enable_bus_master(dev.addr);
    let mut nic = match open_nic(dev, driver) {
        Ok(n) => n,
        Err(e) => {
            con.log(format_args!("net: {model} at {}: {e}", dev.addr));
            return None;
        }
    };
    let mac = nic.mac();
    let link = if nic.link_up() { "up" } else { "down" };
    let name = format!("{model} {} mac {mac}", dev.addr);
    con.log(format_args!("net: {name} link {link}"));

    let clock = con.clock().unwrap_or_else(|| {
        con.log(format_args!("net: no calibrated clock; assuming a 2 GHz TSC"));
        Clock::new(2_000_000_000, 0)
    });
    let mut dev = NicDevice::new(nic);
    let now = Instant::from_micros(clock.micros_at(cpu::rdtsc()) as i64);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac.0)));
    config.random_seed = cpu::rdtsc();
    let iface = Interface::new(config, &mut dev, now);
    let next_port = 49152 + (cpu::rdtsc() % 16384) as u16;
    Some(Net {
        dev,
        iface,
        sockets: SocketSet::new(Vec::new()),
        clock,
        name,
        lease: None,
        boot_hints: None,
        dhcp: None,
        next_port,
    })
}

impl Net {
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.clock.micros_at(cpu::rdtsc()) as i64)
    }

    /// Milliseconds since boot.
    pub fn millis(&self) -> u64 {
        self.clock.millis_at(cpu::rdtsc())
    }

    pub fn link_up(&mut self) -> bool {
        self.dev.nic_mut().link_up()
    }

    /// One turn of the loop: the NIC's housekeeping, then the stack.
    pub fn poll(&mut self) {
        self.dev.nic_mut().poll();
        let now = self.now();
        self.iface.poll(now, &mut self.dev, &mut self.sockets);
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

    /// Starts a DNS query for `name`'s IPv4 address on `server`; see
    /// [`Net::dns_result`].
    pub fn dns_query(&mut self, server: Ipv4Address, name: &str) -> Result<(SocketHandle, dns::QueryHandle), String> {
        let mut socket = dns::Socket::new(&[IpAddress::Ipv4(server)], vec![None]);
        let q = socket.start_query(self.iface.context(), name, DnsQueryType::A).map_err(|e| format!("{e}"))?;
        Ok((self.sockets.add(socket), q))
    }

    /// `None` while the query runs; then its address (or why not), and
    /// the socket is gone.
    pub fn dns_result(&mut self, h: (SocketHandle, dns::QueryHandle)) -> Option<Result<Ipv4Address, String>> {
        let r = match self.sockets.get_mut::<dns::Socket>(h.0).get_query_result(h.1) {
            Err(dns::GetQueryResultError::Pending) => return None,
            Err(dns::GetQueryResultError::Failed) => Err(String::from("no answer or no such name")),
            Ok(addrs) => addrs
                .iter()
                .map(|a| match a {
                    IpAddress::Ipv4(a) => *a,
                })
                .next()
                .ok_or_else(|| String::from("the name has no IPv4 address")),
        };
        self.sockets.remove(h.0);
        Some(r)
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
        // The answer's raw bytes carry the boot file and next-server, which
        // smoltcp does not interpret. One buffer per Net, for its lifetime.
        socket.set_receive_packet_buffer(alloc::boxed::Box::leak(vec![0u8; 1500].into_boxed_slice()));
        socket.set_parameter_request_list(&PARAMETER_REQUEST_LIST);
        let mut retry = dhcpv4::RetryConfig::default();
        retry.discover_timeout = DHCP_DISCOVER_RETRY;
        socket.set_retry_config(retry);
        let handle = self.sockets.add(socket);
        self.dhcp = Some((handle, self.millis()));
    }

    /// Applies what the DHCP client learnt since the last call (a lease,
    /// or losing it). `dns=` from the command line wins over DHCP's.
    pub fn check_dhcp(&mut self, con: &mut Console, dns_override: Option<Ipv4Address>) {
        let Some((handle, start_ms)) = self.dhcp else { return };
        match self.sockets.get_mut::<dhcpv4::Socket>(handle).poll() {
            Some(dhcpv4::Event::Configured(c)) => {
                let dns = dns_override.or_else(|| c.dns_servers.first().copied());
                let hints = c.packet.map(|p| BootHints::parse(p.into_inner())).unwrap_or_default();
                self.boot_hints = Some((hints, c.server.address));
                let lease = Lease { cidr: c.address, gateway: c.router, dns };
                self.apply(&lease);
                let now_ms = self.millis();
                con.log(format_args!("net: dhcp lease {lease} in {} ms ({} ms since boot)", now_ms - start_ms, now_ms));
                self.lease = Some(lease);
            }
            Some(dhcpv4::Event::Deconfigured) => {
                if self.lease.take().is_some() {
                    con.log(format_args!("net: dhcp lease lost"));
                }
                self.iface.update_ip_addrs(|addrs| addrs.clear());
                self.iface.routes_mut().remove_default_ipv4_route();
            }
            None => {}
        }
    }

    /// Polls forever (answers ARP and keeps connections' state); never returns.
    pub fn run(mut self) -> ! {
        loop {
            self.poll();
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
            self.poll();
            self.check_dhcp(con, None);
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
            self.poll();
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
            self.poll();
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
            if n > 0 {
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
            self.poll();
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
            if queued < last_queue {
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
            self.poll();
        }
        Ok(())
    }
}
