//! The host side of the payload's TCP test mode (`nettest=`): a one-shot
//! server on 127.0.0.1 that sends the test pattern and checks what comes
//! back, and a parser for the payload's `nettest:` log lines. The pattern
//! and checksum are the payload's own (`drivers::net::nettest`).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use drivers::net::nettest::{fill_pattern, Fnv1a64};

/// What the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerResult {
    /// FNV-1a 64 of the bytes sent.
    pub sent_sum: u64,
    pub received: u64,
    /// FNV-1a 64 of the bytes received.
    pub received_sum: u64,
    /// Whether the bytes received were exactly the pattern.
    pub received_is_pattern: bool,
}

/// A server waiting for (or serving) its one connection.
pub struct PatternServer {
    port: u16,
    handle: thread::JoinHandle<Result<ServerResult, String>>,
}

/// Per-read/write timeout once connected.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl PatternServer {
    /// Listens on an ephemeral port of 127.0.0.1 and serves one connection
    /// in a thread: sends `tx` bytes of the pattern, then reads `rx` bytes.
    /// The whole exchange must end within `deadline`.
    pub fn start(tx: u64, rx: u64, deadline: Duration) -> std::io::Result<PatternServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let handle = thread::spawn(move || serve(listener, tx, rx, deadline));
        Ok(PatternServer { port, handle })
    }

    /// The port; the guest reaches it as 10.0.2.2:port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the exchange to end (it ends by `deadline` at the latest).
    pub fn join(self) -> Result<ServerResult, String> {
        self.handle.join().map_err(|_| "server thread panicked".to_string())?
    }
}

fn serve(listener: TcpListener, tx: u64, rx: u64, deadline: Duration) -> Result<ServerResult, String> {
    let start = Instant::now();
    let late = |what: &str| -> Result<(), String> {
        if start.elapsed() > deadline {
            Err(format!("{what} after {deadline:?}"))
        } else {
            Ok(())
        }
    };
    let mut stream: TcpStream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                late("no connection")?;
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    };
    drop(listener);
    let io = |e: std::io::Error| e.to_string();
    stream.set_nonblocking(false).map_err(io)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;

    let mut buf = vec![0u8; 64 << 10];
    let mut sum = Fnv1a64::new();
    let mut off = 0u64;
    while off < tx {
        let n = (tx - off).min(buf.len() as u64) as usize;
        fill_pattern(off, &mut buf[..n]);
        stream.write_all(&buf[..n]).map_err(|e| format!("write at byte {off}: {e}"))?;
        sum.update(&buf[..n]);
        off += n as u64;
        late(&format!("sent only {off} of {tx} bytes"))?;
    }
    let sent_sum = sum.finish();

    let mut sum = Fnv1a64::new();
    let mut expect = vec![0u8; buf.len()];
    let mut received = 0u64;
    let mut is_pattern = true;
    while received < rx {
        let want = (rx - received).min(buf.len() as u64) as usize;
        let n = stream.read(&mut buf[..want]).map_err(|e| format!("read at byte {received}: {e}"))?;
        if n == 0 {
            break;
        }
        fill_pattern(received, &mut expect[..n]);
        is_pattern &= buf[..n] == expect[..n];
        sum.update(&buf[..n]);
        received += n as u64;
        late(&format!("received only {received} of {rx} bytes"))?;
    }
    Ok(ServerResult { sent_sum, received, received_sum: sum.finish(), received_is_pattern: is_pattern })
}

/// One `nettest: rx|tx <N> bytes sum <hex> in <ms> ms (...)` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NettestLine {
    pub bytes: u64,
    pub sum: u64,
    pub millis: u64,
}

/// Parses the payload's `nettest: <dir> ...` line (`dir` is `rx` or `tx`).
pub fn parse_nettest_line(line: &str, dir: &str) -> Option<NettestLine> {
    let rest = line.split(&format!("nettest: {dir} ")).nth(1)?;
    let w: Vec<&str> = rest.split_whitespace().collect();
    match w.as_slice() {
        [n, "bytes", "sum", sum, "in", ms, "ms", ..] => Some(NettestLine {
            bytes: n.parse().ok()?,
            sum: u64::from_str_radix(sum, 16).ok()?,
            millis: ms.parse().ok()?,
        }),
        _ => None,
    }
}

/// Parses `net: dhcp lease ... in <ms> ms (<ms> ms since boot)` → since boot.
pub fn parse_lease_since_boot(line: &str) -> Option<u64> {
    let rest = line.split(" ms (").nth(1)?;
    rest.strip_suffix(" ms since boot)")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_payloads_lines() {
        let l = "[   2.193] nettest: rx 16777216 bytes sum 00ab12cd34ef5678 in 1150 ms (116.7 Mbit/s)";
        assert_eq!(
            parse_nettest_line(l, "rx"),
            Some(NettestLine { bytes: 16 << 20, sum: 0x00ab_12cd_34ef_5678, millis: 1150 })
        );
        assert_eq!(parse_nettest_line(l, "tx"), None);
        assert_eq!(parse_nettest_line("nettest: rx 5 bytes", "rx"), None);
        let l = "[   1.041] net: dhcp lease 10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 in 999 ms (1041 ms since boot)";
        assert_eq!(parse_lease_since_boot(l), Some(1041));
        assert_eq!(parse_lease_since_boot("net: static 10.0.2.15/24"), None);
    }

    #[test]
    fn server_round_trip_on_loopback() {
        let server = PatternServer::start(100_000, 70_000, Duration::from_secs(20)).unwrap();
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = vec![0u8; 100_000];
        s.read_exact(&mut got).unwrap();
        let mut want = vec![0u8; 100_000];
        fill_pattern(0, &mut want);
        assert_eq!(got, want);
        // Send back the pattern except one wrong byte.
        want.truncate(70_000);
        want[69_999] ^= 1;
        s.write_all(&want).unwrap();
        let r = server.join().unwrap();
        let mut f = Fnv1a64::new();
        f.update(&got);
        assert_eq!(r.sent_sum, f.finish());
        assert_eq!(r.received, 70_000);
        assert!(!r.received_is_pattern);
        let mut f = Fnv1a64::new();
        f.update(&want);
        assert_eq!(r.received_sum, f.finish());
    }
}
