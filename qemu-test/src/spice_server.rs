//! A real SPICE server for Clove's tests: QEMU's built-in spice-server on
//! 127.0.0.1, showing the Linux guest from [`crate::guest`].
//!
//! [`SpiceServer::start`] builds (or reuses) the guest, picks a free port,
//! boots the VM and waits until the guest has drawn its picture; from then on
//! [`SpiceServer::screendump`] is the reference frame a client must end on.
//! The VM is killed when the `SpiceServer` is dropped.
//!
//! [`link_main`] and [`send_ticket`] speak the first two steps of the SPICE
//! link by hand (via `spice_proto::wire::link`), to check a server answers.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use spice_proto::auth::{encrypt_ticket, Entropy};
use spice_proto::consts::{ChannelType, LinkError};
use spice_proto::wire::link::{
    parse_link_result, LinkHeader, LinkHeaderRepr, LinkMessRepr, LinkReply, LinkReplyRepr, LINK_HEADER_LEN,
    LINK_RESULT_LEN,
};
use spice_proto::wire::Caps;

use crate::error::{HarnessError, Result};
use crate::guest::{self, Guest, GuestImage, GuestSpec, Scenario};
use crate::image::Image;
use crate::qemu::{Display, Qemu, QemuConfig, SpiceOptions};

pub use crate::qemu::ImageCompression;

/// The server VM's display adapter. Both serve the guest's vesafb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Vga {
    /// `-vga std`.
    #[default]
    Std,
    /// `-vga qxl` (in VGA mode unless the guest loads the qxl DRM driver).
    Qxl,
}

/// How to run the server VM.
#[derive(Debug, Clone)]
pub struct SpiceServerConfig {
    /// `image-compression=` (QEMU's default is `auto_glz`).
    pub image_compression: ImageCompression,
    /// `None`: no ticketing. `Some`: clients must send this password.
    pub password: Option<String>,
    /// What the guest does (default: draw the known image).
    pub scenario: Scenario,
    pub vga: Vga,
    /// What goes into the guest (kernel, modules).
    pub guest: GuestSpec,
    /// More `-spice` options, e.g. `streaming-video=all`.
    pub spice_options: Vec<String>,
    /// More words for the guest's kernel command line, e.g. `clove.modules=qxl`.
    pub append: Vec<String>,
    /// More QEMU arguments, appended last.
    pub extra_args: Vec<String>,
    /// Guest RAM.
    pub memory: String,
    /// The QEMU work dir's name (default: the current test's name).
    pub name: Option<String>,
    /// Hard limit for spawn → the scenario's marker.
    pub boot_timeout: Duration,
}

impl Default for SpiceServerConfig {
    fn default() -> Self {
        SpiceServerConfig {
            image_compression: ImageCompression::AutoGlz,
            password: None,
            scenario: Scenario::default(),
            vga: Vga::Std,
            guest: GuestSpec::default(),
            spice_options: Vec::new(),
            append: Vec::new(),
            extra_args: Vec::new(),
            memory: "256M".to_string(),
            name: None,
            boot_timeout: Duration::from_secs(120),
        }
    }
}

/// How often QEMU is retried when its port was taken between our probe and its bind.
const PORT_ATTEMPTS: usize = 5;

/// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| HarnessError::io("binding 127.0.0.1:0", e))?;
    let port = l.local_addr().map_err(|e| HarnessError::io("reading the bound port", e))?.port();
    Ok(port)
}

/// Whether QEMU's stderr says spice-server could not bind its port.
fn port_taken(stderr: &str) -> bool {
    stderr.contains("failed to initialize spice server")
        || stderr.contains("Failed to open SPICE sockets")
        || stderr.contains("Address already in use")
}

/// QEMU's SPICE server with the Linux guest, killed on drop.
#[derive(Debug)]
pub struct SpiceServer {
    qemu: Qemu,
    port: u16,
    guest: GuestImage,
    scenario: Scenario,
    ready_after: Duration,
    done_after: Duration,
}

impl SpiceServer {
    /// The QEMU config for `config` with the SPICE server on `port`.
    pub fn qemu_config(config: &SpiceServerConfig, guest: &GuestImage, port: u16) -> QemuConfig {
        let spice = SpiceOptions {
            port,
            addr: Ipv4Addr::LOCALHOST.to_string(),
            password: config.password.clone(),
            image_compression: Some(config.image_compression),
            options: config.spice_options.clone(),
        };
        let display = match config.vga {
            Vga::Std => Display::StdVga,
            Vga::Qxl => Display::Qxl,
        };
        let mut q = QemuConfig::new(&guest.vmlinuz)
            .initrd(&guest.initrd)
            .append(&guest::cmdline(&config.scenario, &config.append))
            .memory(&config.memory)
            .display(display)
            .spice(spice)
            .extra_args(config.extra_args.iter().cloned());
        if let Some(name) = &config.name {
            q = q.name(name);
        }
        q
    }

    /// Builds the guest, boots it with a SPICE server on a free port of
    /// 127.0.0.1, and waits (at most `boot_timeout`) for the scenario's
    /// marker. Fails early, with the serial log, if the guest reports an
    /// error or QEMU exits.
    pub fn start(config: SpiceServerConfig) -> Result<SpiceServer> {
        let guest = Guest::build(&config.guest)?;
        let mut attempt = 0;
        let (qemu, port) = loop {
            attempt += 1;
            let port = free_port()?;
            match Qemu::start(Self::qemu_config(&config, &guest, port)) {
                Ok(q) => break (q, port),
                Err(HarnessError::Exited { ref stderr, .. }) if attempt < PORT_ATTEMPTS && port_taken(stderr) => {
                    continue
                }
                Err(e) => return Err(e),
            }
        };
        let start = qemu.started_at();
        let deadline = start + config.boot_timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        qemu.wait_for_line(guest::READY, left())?;
        let ready_after = start.elapsed();
        let marker = config.scenario.done_marker();
        // A guest error powers the VM off, which ends this wait early.
        qemu.wait_for_line(marker, left())?;
        let done_after = start.elapsed();
        Ok(SpiceServer { qemu, port, guest, scenario: config.scenario, ready_after, done_after })
    }

    /// The SPICE port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
    /// `spice://127.0.0.1:<port>`.
    pub fn spice_url(&self) -> String {
        format!("spice://127.0.0.1:{}", self.port)
    }
    /// The guest that was booted.
    pub fn guest(&self) -> &GuestImage {
        &self.guest
    }
    /// QEMU spawn → `GUEST-READY` on serial.
    pub fn ready_after(&self) -> Duration {
        self.ready_after
    }
    /// QEMU spawn → the scenario's marker (`IMAGE-DRAWN` when drawing).
    pub fn done_after(&self) -> Duration {
        self.done_after
    }
    /// The picture the guest drew, if it drew one: what the server's screen
    /// (and a correct client) shows.
    pub fn expected_image(&self) -> Option<Image> {
        self.scenario.expected_image()
    }
    /// The server's own frame (QMP screendump).
    pub fn screendump(&mut self) -> Result<Image> {
        self.qemu.screendump()
    }
    /// The QEMU instance (serial log, QMP, work dir).
    pub fn qemu(&self) -> &Qemu {
        &self.qemu
    }
    pub fn qemu_mut(&mut self) -> &mut Qemu {
        &mut self.qemu
    }
    /// Links the main channel and sends the ticket (see [`link_main`]).
    pub fn link(&self, password: &str, timeout: Duration) -> Result<(LinkReplyRepr, LinkError)> {
        let (mut stream, reply) = link_main(self.addr(), timeout)?;
        let result = send_ticket(&mut stream, &reply, password)?;
        Ok((reply, result))
    }
}

fn spice_err(what: &str) -> impl FnOnce(std::io::Error) -> HarnessError + '_ {
    move |e| HarnessError::Spice(format!("{what}: {e}"))
}

/// Connects to `addr`, sends the link header and a SpiceLinkMess for the main
/// channel (connection id 0, no caps), and reads and parses the server's link
/// reply. Returns the stream (ready for the ticket) and the reply.
pub fn link_main(addr: SocketAddr, timeout: Duration) -> Result<(TcpStream, LinkReplyRepr)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(spice_err("connecting"))?;
    stream.set_read_timeout(Some(timeout)).map_err(spice_err("setting a read timeout"))?;
    stream.set_write_timeout(Some(timeout)).map_err(spice_err("setting a write timeout"))?;
    let mess = LinkMessRepr {
        connection_id: 0,
        channel_type: ChannelType::Main,
        channel_id: 0,
        common_caps: Caps::new(),
        channel_caps: Caps::new(),
    };
    let mut buf = [0u8; 64];
    let n = mess.emit_with_header(&mut buf).map_err(|e| HarnessError::Spice(format!("building the link: {e}")))?;
    stream.write_all(&buf[..n]).map_err(spice_err("sending the link message"))?;

    let mut header = [0u8; LINK_HEADER_LEN];
    stream.read_exact(&mut header).map_err(spice_err("reading the link reply header"))?;
    let h = LinkHeaderRepr::parse(&LinkHeader::new_unchecked(&header[..]))
        .map_err(|e| HarnessError::Spice(format!("link reply header {header:02x?}: {e}")))?;
    let mut body = vec![0u8; h.size as usize];
    stream.read_exact(&mut body).map_err(spice_err("reading the link reply"))?;
    let reply = LinkReply::new_checked(&body[..])
        .and_then(|r| LinkReplyRepr::parse(&r))
        .map_err(|e| HarnessError::Spice(format!("link reply ({} bytes): {e}", body.len())))?;
    Ok((stream, reply))
}

/// Random bytes from the host's `/dev/urandom`.
struct Urandom;

impl Entropy for Urandom {
    fn fill(&mut self, buf: &mut [u8]) {
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).expect("reading /dev/urandom");
    }
}

/// Sends the 128-byte ticket for `password` (the link had no
/// AUTH_SELECTION cap, so no mechanism word goes first) and reads the link
/// result: `Ok`, or `PermissionDenied` for a wrong password.
pub fn send_ticket(stream: &mut TcpStream, reply: &LinkReplyRepr, password: &str) -> Result<LinkError> {
    let ticket = encrypt_ticket(&reply.pub_key, password.as_bytes(), &mut Urandom)
        .map_err(|e| HarnessError::Spice(format!("encrypting the ticket: {e}")))?;
    stream.write_all(&ticket).map_err(spice_err("sending the ticket"))?;
    let mut result = [0u8; LINK_RESULT_LEN];
    stream.read_exact(&mut result).map_err(spice_err("reading the link result"))?;
    parse_link_result(&result).map_err(|e| HarnessError::Spice(format!("link result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_turns_into_qemu_flags() {
        let guest = GuestImage {
            vmlinuz: "/g/vmlinuz".into(),
            initrd: "/g/initrd.gz".into(),
            kernel_version: "6.1.0-1-amd64".into(),
            dir: "/g".into(),
            cached: true,
        };
        let config = SpiceServerConfig {
            image_compression: ImageCompression::Lz,
            password: Some("pw".into()),
            vga: Vga::Qxl,
            spice_options: vec!["streaming-video=all".into()],
            append: vec!["clove.modules=qxl".into()],
            extra_args: vec!["-usb".into()],
            ..SpiceServerConfig::default()
        };
        let args = SpiceServer::qemu_config(&config, &guest, 5930).args().join(" ");
        assert!(args.starts_with("-accel tcg -machine pc -m 256M -kernel /g/vmlinuz -initrd /g/initrd.gz"), "{args}");
        assert!(args.contains(" -vga qxl -display none "), "{args}");
        assert!(args.contains("clove.draw=known clove.modules=qxl -no-reboot"), "{args}");
        assert!(
            args.ends_with(
                "-object secret,id=spice-password,data=pw -spice port=5930,addr=127.0.0.1,\
                 password-secret=spice-password,image-compression=lz,streaming-video=all -usb"
            ),
            "{args}"
        );
    }

    #[test]
    fn free_ports_are_bindable() {
        let p = free_port().unwrap();
        assert_ne!(p, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap();
        assert!(port_taken("qemu-system-x86_64: failed to initialize spice server"));
        assert!(!port_taken("qemu-system-x86_64: -spice foo=bar: Invalid parameter 'foo'"));
    }
}
