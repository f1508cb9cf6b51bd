//! A tiny HTTP/1.0 file server on 127.0.0.1 (the guest's 10.0.2.2) for
//! tests of the payload's HTTP fetch: it serves one path with the given
//! bytes, answers 404 to anything else, and counts the requests. It stops
//! (and its thread ends) when dropped.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A client must send its whole request within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpServer {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl HttpServer {
    /// Serves `body` at `path` (e.g. `/x.vv`) on an ephemeral port.
    pub fn start(path: &str, body: Vec<u8>) -> std::io::Result<HttpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, path) = (requests.clone(), stop.clone(), path.to_string());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        r.fetch_add(1, Ordering::Relaxed);
                        let _ = serve(stream, &path, &body);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(20)),
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(HttpServer { port, requests, stop, thread: Some(thread) })
    }

    /// The port; the guest reaches it as 10.0.2.2:port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head and answers it; the connection then closes.
fn serve(mut stream: TcpStream, path: &str, body: &[u8]) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let start = Instant::now();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if start.elapsed() > REQUEST_TIMEOUT || head.len() > 16 << 10 {
            return Ok(());
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let wanted = head.lines().next().and_then(|l| l.strip_prefix("GET ")).and_then(|l| l.split(' ').next());
    let (status, body) = if wanted == Some(path) { ("200 OK", body) } else { ("404 Not Found", &b"not found\n"[..]) };
    write!(stream, "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n", body.len())?;
    stream.write_all(body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_its_path_and_counts() {
        let server = HttpServer::start("/x.vv", b"[virt-viewer]\n".to_vec()).unwrap();
        let ok = get(server.port(), "/x.vv");
        assert!(ok.starts_with("HTTP/1.0 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("Content-Length: 14\r\n\r\n[virt-viewer]\n"), "{ok}");
        assert!(get(server.port(), "/other").starts_with("HTTP/1.0 404"));
        assert_eq!(server.requests(), 2);
    }
}
