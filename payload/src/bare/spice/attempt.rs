//! One connection attempt: a [`Session`] whose channels each get a smoltcp
//! TCP socket, driven like `build/src/client.rs` drives std sockets, until
//! it fails (before the first frame) or is lost (after it).

mod input;

use super::super::entropy::CpuEntropy;
use super::super::memory;
use super::view::{Desktop, State, Step};
use super::Client;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use drivers::net::server::Compression;
use drivers::net::smoltcp::iface::SocketHandle;
use drivers::net::smoltcp::socket::tcp;
use drivers::net::smoltcp::time::Duration;
use drivers::net::smoltcp::wire::Ipv4Address;
use spice_proto::consts::ChannelType;
use spice_proto::msg::display::image_compression as ic;
use spice_proto::session::link::LinkFailure;
use spice_proto::session::{Event, Handle, Session, SessionConfig, SessionError, StreamCounts};

/// TCP handshake limit per channel.
const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Link and ticket on the main channel.
const LINK_TIMEOUT_MS: u64 = 15_000;
/// Main linked → first complete frame (MARK).
const FIRST_FRAME_TIMEOUT_MS: u64 = 30_000;
/// Keep-alive on every socket, and how long a silent peer may stay silent.
const KEEPALIVE: Duration = Duration::from_secs(5);
const PEER_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a stats line goes to the log while connected.
const STATS_EVERY_MS: u64 = 10_000;
/// Socket buffers (rx, tx). The display gets a big receive window: the
/// server measures our bandwidth and below ~10 Mbit/s goes lossy.
const DISPLAY_BUFFERS: (usize, usize) = (1 << 20, 64 << 10);
const MAIN_BUFFERS: (usize, usize) = (256 << 10, 64 << 10);
const OTHER_BUFFERS: (usize, usize) = (64 << 10, 16 << 10);
/// Surface memory for the canvas; the heap also holds the socket buffers.
const CANVAS_BYTES: usize = 64 << 20;
/// Heap kept back from the canvas on a small machine: socket buffers, the
/// GLZ window and decode buffers. A surface that does not fit is then a
/// session error on screen, not a failed allocation.
const HEAP_RESERVE: usize = 8 << 20;

/// How an attempt ended.
pub enum Outcome {
    /// Before the first frame: which step and why; retry with backoff.
    Failed(Step, String),
    /// After the first frame: the server went away; reconnect.
    Lost(String),
    /// The setup screen gave a new server or password: start over at once.
    Setup,
}

struct Conn {
    handle: Handle,
    channel: ChannelType,
    socket: SocketHandle,
    /// TCP is up and the session knows.
    up: bool,
    since_ms: u64,
    /// Bytes received on this channel (for `log=debug`).
    bytes_in: u64,
}

/// The session's wire value for a compression name.
fn compression_value(c: Compression) -> u8 {
    match c {
        Compression::Off => ic::OFF,
        Compression::AutoGlz => ic::AUTO_GLZ,
        Compression::AutoLz => ic::AUTO_LZ,
        Compression::Quic => ic::QUIC,
        Compression::Glz => ic::GLZ,
        Compression::Lz => ic::LZ,
        Compression::Lz4 => ic::LZ4,
    }
}

/// What a session error means to the user.
fn describe(e: &SessionError) -> String {
    match e {
        SessionError::Link(LinkFailure::WrongPassword) => String::from("wrong password"),
        SessionError::Link(l @ (LinkFailure::Refused(_) | LinkFailure::AuthFailed(_))) => format!("{l}"),
        SessionError::MainClosed => String::from("the server closed the connection"),
        e => format!("protocol error: {e}"),
    }
}

struct Attempt<'c, 'a> {
    c: &'c mut Client<'a>,
    session: Session,
    conns: Vec<Conn>,
    addr: Ipv4Address,
    port: u16,
    start_ms: u64,
    main_linked_ms: Option<u64>,
    first_frame: bool,
    desktop: Desktop,
    heap_peak: usize,
    bytes_in: u64,
    draw_errors: u64,
    /// The first draw error, for a failure message.
    first_draw_error: Option<String>,
    /// How many codecs the last `spice: images:` line named.
    codecs_logged: usize,
    /// The video stream counts the last `spice: streams:` line gave.
    streams_logged: StreamCounts,
    stats: Stats,
    /// The link as the attempt last saw it.
    link: bool,
    fwd: input::Forward,
}

#[derive(Default)]
struct Stats {
    at_ms: u64,
    bytes_in: u64,
    rects: u64,
    pixels: u64,
    flushes: u64,
}

/// Runs one attempt against `addr`.
pub fn run(c: &mut Client<'_>, addr: Ipv4Address) -> Outcome {
    let port = c.opts.server.as_ref().map_or(drivers::net::server::DEFAULT_PORT, |s| s.port);
    let mut config =
        SessionConfig { password: c.opts.password.clone(), inputs: true, cursor: true, ..Default::default() };
    config.display.preferred_compression = c.opts.compression.map(compression_value);
    let canvas_bytes = CANVAS_BYTES.min(memory::heap_size().saturating_sub(HEAP_RESERVE));
    config.display.canvas_limits.max_total_bytes = canvas_bytes;
    config.display.canvas_limits.max_surface_bytes = canvas_bytes;
    let entropy = CpuEntropy::new();
    let source = entropy.source();
    let start_ms = c.net.millis();
    c.con.log(format_args!("spice: connecting to {addr}:{port} (ticket entropy: {source})"));
    let mut a = Attempt {
        c,
        session: Session::new(config, Box::new(entropy)),
        conns: Vec::new(),
        addr,
        port,
        start_ms,
        main_linked_ms: None,
        first_frame: false,
        desktop: Desktop::default(),
        heap_peak: 0,
        bytes_in: 0,
        draw_errors: 0,
        first_draw_error: None,
        codecs_logged: 0,
        streams_logged: StreamCounts::default(),
        stats: Stats { at_ms: start_ms, ..Default::default() },
        link: true,
        fwd: input::Forward::default(),
    };
    a.c.progress.set(Step::Connect, State::Active, &format!("{addr}:{port}"));
    a.c.progress.clear_error();
    a.c.progress.draw(&mut a.c.screen);
    let outcome = a.drive();
    a.close_all();
    if a.desktop.active() {
        // The connecting screen comes back on the next draw.
        a.c.progress.invalidate();
    }
    outcome
}

impl Attempt<'_, '_> {
    fn elapsed(&self) -> u64 {
        self.c.net.millis() - self.start_ms
    }

    /// The step that a failure now belongs to.
    fn step(&self) -> Step {
        match self.conns.first() {
            None => Step::Connect,
            Some(m) if !m.up => Step::Connect,
            Some(_) if self.main_linked_ms.is_none() => Step::Auth,
            Some(_) => Step::Display,
        }
    }

    /// Fails the attempt (or, after the first frame, loses it).
    fn end(&self, why: String) -> Outcome {
        let why = if self.c.net.link_up() { why } else { format!("{why} (the network link is down)") };
        if self.first_frame {
            Outcome::Lost(why)
        } else {
            Outcome::Failed(self.step(), why)
        }
    }

    fn drive(&mut self) -> Outcome {
        loop {
            self.c.net.poll(self.c.con);
            if let Err(o) = self.check_link() {
                return o;
            }
            if let Err(o) = self.open_channels() {
                return o;
            }
            if let Err(o) = self.pump() {
                return o;
            }
            if let Err(o) = self.events() {
                return o;
            }
            if let Err(o) = self.input() {
                return o;
            }
            if self.desktop.active()
                && !self.fwd.menu_open()
                && self.desktop.flush(&mut self.c.screen, &mut self.session) > 0
            {
                self.stats.flushes += 1;
            }
            self.heap_peak = self.heap_peak.max(memory::heap_used());
            self.log_streams(false);
            if let Err(o) = self.timeouts() {
                return o;
            }
            self.log_stats();
        }
    }

    /// Link lost before the first frame: fail (the loop waits for link).
    /// After it: keep the session, cover the desktop with a banner saying
    /// why it froze, and repaint it when the link is back.
    fn check_link(&mut self) -> Result<(), Outcome> {
        let up = self.c.net.link_up();
        if up == self.link {
            return Ok(());
        }
        self.link = up;
        if !self.first_frame {
            return if up {
                Ok(())
            } else {
                Err(Outcome::Failed(Step::Nic, String::from("the network link went down")))
            };
        }
        if up {
            if self.desktop.active() {
                self.desktop.repaint(&mut self.c.screen, &mut self.session);
            }
            self.c.con.log(format_args!("spice: link back; the session goes on"));
        } else {
            if let Some(s) = self.c.screen.as_mut().filter(|_| self.desktop.active()) {
                let msg = "No link on the network card (is the cable plugged in?).\nThe session resumes when the link comes back.";
                drivers::screen::draw_error(&mut s.fb, "Network link down", msg);
            }
            self.c.con.log(format_args!("spice: link down; the session waits for it"));
        }
        Ok(())
    }

    fn open_channels(&mut self) -> Result<(), Outcome> {
        while let Some(h) = self.session.poll_connect() {
            let channel = self.session.channel(h).map_or(ChannelType::Main, |c| c.0);
            let (rx, tx) = match channel {
                ChannelType::Display => DISPLAY_BUFFERS,
                ChannelType::Main => MAIN_BUFFERS,
                _ => OTHER_BUFFERS,
            };
            let socket = self.c.net.tcp_connect(self.addr, self.port, rx, tx).map_err(|e| self.end(e))?;
            let s = self.c.net.sockets().get_mut::<tcp::Socket>(socket);
            s.set_keep_alive(Some(KEEPALIVE));
            s.set_timeout(Some(PEER_TIMEOUT));
            let now = self.c.net.millis();
            self.conns.push(Conn { handle: h, channel, socket, up: false, since_ms: now, bytes_in: 0 });
        }
        Ok(())
    }

    /// TCP state, then bytes out and in, for every channel.
    fn pump(&mut self) -> Result<(), Outcome> {
        let mut i = 0;
        while i < self.conns.len() {
            let (h, sh, channel) = (self.conns[i].handle, self.conns[i].socket, self.conns[i].channel);
            let now = self.c.net.millis();
            let s = self.c.net.sockets().get_mut::<tcp::Socket>(sh);
            if !self.conns[i].up {
                if s.may_send() {
                    self.conns[i].up = true;
                    self.session.connected(h);
                    let ms = now - self.conns[i].since_ms;
                    self.c.con.log(format_args!("spice: {} channel connected in {ms} ms", channel.name()));
                    if h == 0 {
                        self.c.progress.set(Step::Connect, State::Done, &format!("{}:{}", self.addr, self.port));
                        self.c.progress.set(Step::Auth, State::Active, "linking the main channel");
                        self.c.progress.draw(&mut self.c.screen);
                    }
                } else if !s.is_open() {
                    return Err(self.end(format!("connection to {}:{} refused", self.addr, self.port)));
                } else if now - self.conns[i].since_ms > CONNECT_TIMEOUT_MS {
                    return Err(self.end(format!(
                        "no answer from {}:{} in {} s",
                        self.addr,
                        self.port,
                        CONNECT_TIMEOUT_MS / 1000
                    )));
                }
                i += 1;
                continue;
            }
            // Out.
            loop {
                let out = self.session.pending_output(h);
                if out.is_empty() || !s.can_send() {
                    break;
                }
                match s.send_slice(out) {
                    Ok(0) => break,
                    Ok(n) => self.session.consume_output(h, n),
                    Err(_) => break,
                }
            }
            // In.
            let mut failed = None;
            while failed.is_none() && s.can_recv() {
                let session = &mut self.session;
                let got = s.recv(|data| (data.len(), (data.len(), session.receive(h, data))));
                match got {
                    Ok((n, r)) => {
                        self.bytes_in += n as u64;
                        self.conns[i].bytes_in += n as u64;
                        if let Err(e) = r {
                            failed = Some(e);
                        }
                    }
                    Err(_) => break,
                }
            }
            if let Some(e) = failed {
                let why = describe(&e);
                self.c.con.log(format_args!("spice: {} channel: {why}", channel.name()));
                return Err(self.end(why));
            }
            // Closed by the peer, reset, or timed out.
            if !s.is_active() || (!s.may_recv() && !s.can_recv()) {
                let why = String::from("the server closed the connection");
                let _ = self.session.closed(h, &why);
                self.c.con.log(format_args!("spice: {} channel closed by the server", channel.name()));
                if h == 0 || channel == ChannelType::Display {
                    return Err(self.end(why));
                }
                self.c.net.sockets().get_mut::<tcp::Socket>(sh).abort();
                self.conns.remove(i);
                continue;
            }
            i += 1;
        }
        Ok(())
    }

    fn events(&mut self) -> Result<(), Outcome> {
        while let Some(e) = self.session.poll_event() {
            match e {
                Event::Linked { channel, .. } => {
                    let ms = self.elapsed();
                    self.c.con.log(format_args!("spice: linked {} in {ms} ms", channel.name()));
                    if channel == ChannelType::Main {
                        self.main_linked_ms = Some(self.c.net.millis());
                        self.c.progress.set(Step::Auth, State::Done, "ticket accepted");
                        self.c.progress.set(Step::Display, State::Active, "waiting for the first frame");
                        self.c.progress.draw(&mut self.c.screen);
                    }
                    if channel == ChannelType::Inputs {
                        self.inputs_linked();
                    }
                }
                Event::SurfaceCreated { surface: 0, width, height } => {
                    let line = self.desktop.surface_created(&mut self.c.screen, width, height);
                    self.c.con.log(format_args!("spice: primary surface {line}"));
                }
                Event::SurfaceCreated { .. } => {}
                Event::SurfaceDestroyed(0) => self.desktop.surface_gone(),
                Event::SurfaceDestroyed(_) => {}
                Event::Mark if !self.first_frame => {
                    if self.session.canvas().primary().is_none() {
                        // Nothing to show (the surface was refused): say
                        // why rather than declare a black frame.
                        let why = self.first_draw_error.take().unwrap_or_else(|| String::from("no primary surface"));
                        return Err(Outcome::Failed(Step::Display, format!("cannot show the desktop: {why}")));
                    }
                    self.desktop.flush(&mut self.c.screen, &mut self.session);
                    self.first_frame = true;
                    let now = self.c.net.millis();
                    self.c.con.log(format_args!(
                        "spice: first frame in {} ms ({now} ms since boot), heap high-water {} KiB",
                        now - self.start_ms,
                        self.heap_peak.max(memory::heap_used()) / 1024
                    ));
                    self.log_images();
                }
                Event::Mark => {}
                Event::Closed { channel, reason, .. } => {
                    self.c.con.log(format_args!("spice: {} channel closed: {reason}", channel.name()));
                    if channel == ChannelType::Main || channel == ChannelType::Display {
                        return Err(self.end(reason));
                    }
                }
                Event::CursorChanged => {
                    if let Some(line) = self.desktop.cursor_changed(&mut self.c.screen, &self.session) {
                        self.c.con.log(format_args!("spice: {line}"));
                    }
                }
                Event::MouseMode { supported, current } => self.mouse_mode(supported, current),
                Event::KeyModifiers(locks) => self.guest_locks(locks),
                Event::Reset => {}
                Event::Notify(text) => self.c.con.log(format_args!("spice: server says: {text}")),
                Event::DrawError(why) => {
                    self.draw_errors += 1;
                    if self.first_draw_error.is_none() {
                        self.first_draw_error = Some(why.clone());
                    }
                    // The first few, then every thousandth: the log stays readable.
                    if self.draw_errors <= 5 || self.draw_errors.is_multiple_of(1000) {
                        self.c.con.log(format_args!("spice: draw error #{}: {why}", self.draw_errors));
                    }
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        Ok(())
    }

    fn timeouts(&mut self) -> Result<(), Outcome> {
        let now = self.c.net.millis();
        match self.main_linked_ms {
            None if self.conns.first().is_some_and(|m| m.up && now - m.since_ms > LINK_TIMEOUT_MS) => {
                Err(self.end(format!("the server did not finish the link in {} s", LINK_TIMEOUT_MS / 1000)))
            }
            Some(t) if !self.first_frame && now - t > FIRST_FRAME_TIMEOUT_MS => {
                Err(self.end(format!("no picture from the server in {} s", FIRST_FRAME_TIMEOUT_MS / 1000)))
            }
            _ => Ok(()),
        }
    }

    /// Which codecs the server used so far: `spice: images: GlzRgb 12, Quic 3`,
    /// at the first frame and whenever a codec shows up for the first time.
    fn log_images(&mut self) {
        let images = self.session.images_decoded();
        self.codecs_logged = images.len();
        if !images.is_empty() {
            self.c.con.log(format_args!("spice: images: {}", ImageCounts(&images)));
        }
    }

    /// Every few seconds while frames flow: updates, rects and bytes.
    fn log_stats(&mut self) {
        let now = self.c.net.millis();
        if !self.first_frame || now - self.stats.at_ms < STATS_EVERY_MS {
            return;
        }
        if self.session.images_decoded().len() != self.codecs_logged {
            self.log_images();
        }
        self.log_streams(true);
        let ms = now - self.stats.at_ms;
        let flushes = self.stats.flushes;
        let pixels = self.desktop.pixels - self.stats.pixels;
        // Whole-frame equivalents per second, in tenths.
        let frame_tenths = pixels * 10_000 / (self.desktop.surface_pixels.max(1) * ms);
        if flushes > 0 || self.bytes_in > self.stats.bytes_in {
            self.c.con.log(format_args!(
                "spice: {} s: {flushes} screen updates ({}.{} per s), {} rects, {} Kpx ({}.{} full frames per s), {} KiB in, heap high-water {} KiB",
                ms / 1000,
                flushes * 1000 / ms,
                flushes * 10_000 / ms % 10,
                self.desktop.rects - self.stats.rects,
                pixels / 1000,
                frame_tenths / 10,
                frame_tenths % 10,
                (self.bytes_in - self.stats.bytes_in) / 1024,
                self.heap_peak / 1024
            ));
        }
        self.log_debug_counts();
        self.stats = Stats {
            at_ms: now,
            bytes_in: self.bytes_in,
            rects: self.desktop.rects,
            pixels: self.desktop.pixels,
            flushes: 0,
        };
    }

    /// `spice: streams: 32 created, 1600 MJPEG frames decoded, 320 reports
    /// sent, 0 live, largest 32x128` when they changed: with the stats
    /// (`periodic`), and as soon as the last live stream is gone.
    fn log_streams(&mut self, periodic: bool) {
        let s = self.session.stream_counts();
        if s != self.streams_logged && (periodic || s.live == 0) {
            self.streams_logged = s;
            self.c.con.log(format_args!(
                "spice: streams: {} created, {} MJPEG frames decoded, {} reports sent, {} live, largest {}x{}",
                s.created, s.frames, s.reports, s.live, s.largest.0, s.largest.1
            ));
        }
    }

    /// `log=debug`: bytes per channel and images decoded per type, so far.
    fn log_debug_counts(&mut self) {
        let mut line = String::from("spice: debug: bytes in:");
        for c in &self.conns {
            let _ = write!(line, " {} {}", c.channel.name(), c.bytes_in);
        }
        let _ = write!(line, "; images decoded: {}", ImageCounts(&self.session.images_decoded()));
        self.c.con.debug(format_args!("{line}"));
    }

    /// Resets every socket (so the server lets go at once) and frees them.
    fn close_all(&mut self) {
        for c in &self.conns {
            self.c.net.sockets().get_mut::<tcp::Socket>(c.socket).abort();
        }
        // Let the RSTs out before the sockets go.
        for _ in 0..4 {
            self.c.net.poll(self.c.con);
        }
        for c in self.conns.drain(..) {
            self.c.net.remove(c.socket);
        }
    }
}

/// Images decoded per codec: `GlzRgb 12, Quic 3`.
struct ImageCounts<'a>(&'a [(spice_proto::consts::ImageType, u64)]);

impl core::fmt::Display for ImageCounts<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, (kind, n)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{kind:?} {n}")?;
        }
        Ok(())
    }
}
