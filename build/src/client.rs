//! A live SPICE client on the host: std TCP sockets driving
//! `spice_proto::session::Session`. It is how `snapshot` (and the tests that
//! compare against a real server) talk to QEMU.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use spice_proto::auth::Entropy;
use spice_proto::session::{Event, Handle, Session, SessionConfig, SessionError};

/// `spice://HOST[:PORT]`, default port 5900.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiceUrl {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl SpiceUrl {
    /// Parses `spice://host[:port]` (a bare `host:port` is accepted too).
    pub fn parse(s: &str) -> Result<Self, String> {
        let rest = s.strip_prefix("spice://").unwrap_or(s).trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in {s:?}"))?),
            None => (rest, 5900),
        };
        if host.is_empty() {
            return Err(format!("no host in {s:?}"));
        }
        Ok(Self { host: host.to_string(), port })
    }
}

/// OS randomness for the ticket's OAEP padding.
pub struct OsEntropy(std::fs::File);

impl OsEntropy {
    /// Opens /dev/urandom.
    pub fn open() -> io::Result<Self> {
        std::fs::File::open("/dev/urandom").map(Self)
    }
}

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        // /dev/urandom never returns short reads for small buffers.
        self.0.read_exact(buf).expect("/dev/urandom is readable");
    }
}

/// Why the client stopped.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting or talking to the server failed.
    Io(String),
    /// The session failed (link, auth, protocol).
    Session(SessionError),
    /// Nothing complete arrived in time.
    Timeout(&'static str),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Session(e) => write!(f, "{e}"),
            Self::Timeout(what) => write!(f, "timed out waiting for {what}"),
        }
    }
}

impl std::error::Error for ClientError {}

struct Conn {
    handle: Handle,
    stream: TcpStream,
}

/// A connected session and its sockets.
pub struct Client {
    /// The protocol state.
    pub session: Session,
    url: SpiceUrl,
    conns: Vec<Conn>,
    buf: Vec<u8>,
}

impl Client {
    /// A client for `url`; nothing is connected until [`Client::poll`].
    pub fn new(url: SpiceUrl, config: SessionConfig) -> Result<Self, ClientError> {
        let entropy = OsEntropy::open().map_err(|e| ClientError::Io(format!("/dev/urandom: {e}")))?;
        Ok(Self { session: Session::new(config, Box::new(entropy)), url, conns: Vec::new(), buf: vec![0; 256 * 1024] })
    }

    fn connect(&mut self, handle: Handle) -> Result<(), ClientError> {
        let addr = (self.url.host.as_str(), self.url.port)
            .to_socket_addrs()
            .map_err(|e| ClientError::Io(format!("resolving {}: {e}", self.url.host)))?
            .next()
            .ok_or_else(|| ClientError::Io(format!("{} has no address", self.url.host)))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| ClientError::Io(format!("connecting to {addr}: {e}")))?;
        stream.set_nodelay(true).map_err(|e| ClientError::Io(e.to_string()))?;
        stream.set_nonblocking(true).map_err(|e| ClientError::Io(e.to_string()))?;
        self.session.connected(handle);
        self.conns.push(Conn { handle, stream });
        Ok(())
    }

    /// One round: open wanted channels, send what is pending, read what
    /// arrived. Returns whether anything moved.
    pub fn poll(&mut self) -> Result<bool, ClientError> {
        let mut moved = false;
        while let Some(h) = self.session.poll_connect() {
            self.connect(h)?;
            moved = true;
        }
        let mut i = 0;
        while i < self.conns.len() {
            let h = self.conns[i].handle;
            // Write.
            loop {
                let out = self.session.pending_output(h);
                if out.is_empty() {
                    break;
                }
                match self.conns[i].stream.write(out) {
                    Ok(0) => break,
                    Ok(n) => {
                        self.session.consume_output(h, n);
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.lost(i, &e.to_string())?;
                        break;
                    }
                }
            }
            if i >= self.conns.len() || self.conns[i].handle != h {
                continue;
            }
            // Read.
            match self.conns[i].stream.read(&mut self.buf) {
                Ok(0) => {
                    self.lost(i, "the server closed the connection")?;
                    continue;
                }
                Ok(n) => {
                    moved = true;
                    if let Err(e) = self.session.receive(h, &self.buf[..n]) {
                        if h == 0 {
                            return Err(ClientError::Session(e));
                        }
                        self.conns.remove(i);
                        continue;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    self.lost(i, &e.to_string())?;
                    continue;
                }
            }
            i += 1;
        }
        Ok(moved)
    }

    fn lost(&mut self, i: usize, why: &str) -> Result<(), ClientError> {
        let c = self.conns.remove(i);
        self.session.closed(c.handle, why).map_err(ClientError::Session)
    }

    /// Polls until `done` says stop (it sees every event), or `timeout`.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        what: &'static str,
        mut done: impl FnMut(&Event) -> bool,
    ) -> Result<(), ClientError> {
        let end = Instant::now() + timeout;
        loop {
            let moved = self.poll()?;
            while let Some(e) = self.session.poll_event() {
                if done(&e) {
                    return Ok(());
                }
            }
            if Instant::now() > end {
                return Err(ClientError::Timeout(what));
            }
            if !moved {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

/// The primary surface as 8-bit RGB rows, for PNG.
pub fn primary_rgb(session: &Session) -> Option<(u32, u32, Vec<u8>)> {
    let s = session.canvas().primary()?;
    let mut rgb = Vec::with_capacity(s.data().len() * 3);
    for p in s.data() {
        rgb.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, *p as u8]);
    }
    Some((s.width(), s.height(), rgb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            SpiceUrl::parse("spice://127.0.0.1:5930").unwrap(),
            SpiceUrl { host: "127.0.0.1".into(), port: 5930 }
        );
        assert_eq!(SpiceUrl::parse("spice://host").unwrap().port, 5900);
        assert_eq!(SpiceUrl::parse("host:1").unwrap().host, "host");
        assert!(SpiceUrl::parse("spice://:1").is_err());
        assert!(SpiceUrl::parse("spice://h:x").is_err());
    }
}
