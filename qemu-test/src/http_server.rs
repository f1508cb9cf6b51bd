//! A tiny HTTP/1.0 file server on the host's 127.0.0.1, for netboot tests:
//! iPXE in a guest fetches Clove from it as `http://10.0.2.2:PORT/...`.
//! It answers GET and HEAD for files under one directory, one connection at
//! a time, and logs every request so a test can check what was fetched.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::error::{HarnessError, Result};

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, ... (empty if the request line did not parse).
    pub method: String,
    /// The request target as sent, e.g. `/clove.elf`.
    pub target: String,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
}

/// The server; it stops when dropped.
pub struct HttpServer {
    port: u16,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

/// The longest request head we read (request line and headers).
const MAX_HEAD: usize = 8 << 10;
/// Per-read/write limit on a connection, so a stuck client cannot hang the server.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(10);

impl HttpServer {
    /// Serves the files under `dir` on an ephemeral port of 127.0.0.1.
    pub fn start(dir: impl Into<PathBuf>) -> Result<HttpServer> {
        let dir = dir.into();
        let io = |what: &'static str| move |e| HarnessError::io(what, e);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("binding 127.0.0.1:0"))?;
        let port = listener.local_addr().map_err(io("reading the bound port"))?.port();
        listener.set_nonblocking(true).map_err(io("making the listener non-blocking"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            thread::spawn(move || accept_loop(listener, &dir, &log, &stop))
        };
        Ok(HttpServer { port, log, stop, thread: Some(thread) })
    }

    /// The port on 127.0.0.1 (10.0.2.2 from a `-netdev user` guest).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
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

fn accept_loop(listener: TcpListener, dir: &Path, log: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let request = serve(&mut stream, dir);
                // Logged before the connection closes: a client that saw the end sees the entry.
                log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// Reads the request head: up to the blank line, at most [`MAX_HEAD`] bytes.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).ok()
}

/// The file `target` names under `dir`: an absolute path of normal
/// components (no `..`), query string ignored.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('?').next()?.strip_prefix('/')?;
    let mut out = dir.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn serve(stream: &mut TcpStream, dir: &Path) -> Request {
    let mut request = Request { method: String::new(), target: String::new(), status: 400, bytes: 0 };
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some(head) = read_head(stream) else {
        let _ = respond(stream, 400, &[], false);
        return request;
    };
    let mut words = head.lines().next().unwrap_or("").split(' ');
    let (method, target, version) = (words.next(), words.next(), words.next());
    request.method = method.unwrap_or("").to_string();
    request.target = target.unwrap_or("").to_string();
    let file = match (method, target, version) {
        (Some("GET" | "HEAD"), Some(target), Some(v)) if v.starts_with("HTTP/") => resolve(dir, target),
        (Some(_), Some(_), Some(v)) if v.starts_with("HTTP/") => {
            request.status = 501;
            let _ = respond(stream, 501, &[], false);
            return request;
        }
        _ => None,
    };
    let Some(file) = file else {
        let _ = respond(stream, 400, &[], false);
        return request;
    };
    let body = if file.is_file() { std::fs::read(&file).ok() } else { None };
    let head_only = request.method == "HEAD";
    match body {
        Some(body) => {
            request.status = 200;
            if respond(stream, 200, &body, head_only).is_ok() && !head_only {
                request.bytes = body.len() as u64;
            }
        }
        None => {
            request.status = 404;
            let _ = respond(stream, 404, &[], false);
        }
    }
    request
}

fn respond(stream: &mut TcpStream, status: u16, body: &[u8], head_only: bool) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Not Implemented",
    };
    let head = format!(
        "HTTP/1.0 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(port: u16, request: &str) -> String {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn serves_files_under_its_dir_and_logs_requests() {
        let dir = crate::testutil::scratch_dir("http");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("clove.elf"), b"kernel bytes").unwrap();
        std::fs::write(dir.join("sub/boot.ipxe"), b"#!ipxe\n").unwrap();
        let server = HttpServer::start(&*dir).unwrap();
        let port = server.port();

        let ok = fetch(port, "GET /clove.elf HTTP/1.1\r\nHost: 10.0.2.2\r\nUser-Agent: iPXE/1.0.0\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.0 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Length: 12\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nkernel bytes"), "{ok}");
        assert!(fetch(port, "GET /sub/boot.ipxe?x=1 HTTP/1.0\r\n\r\n").ends_with("\r\n\r\n#!ipxe\n"));
        let head = fetch(port, "HEAD /clove.elf HTTP/1.0\r\n\r\n");
        assert!(head.starts_with("HTTP/1.0 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(fetch(port, "GET /nothing HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 "));
        assert!(fetch(port, "GET /sub HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 "));
        assert!(fetch(port, "GET /../clove.elf HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 400 "));
        assert!(fetch(port, "GET clove.elf HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 400 "));
        assert!(fetch(port, "PUT /clove.elf HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 501 "));
        // A head longer than MAX_HEAD (all of it read, so the close is clean).
        assert!(fetch(port, &format!("GET /{}", "a".repeat(MAX_HEAD - 4))).starts_with("HTTP/1.0 400 "));

        let log = server.requests();
        let summary: Vec<(&str, &str, u16, u64)> =
            log.iter().map(|r| (r.method.as_str(), r.target.as_str(), r.status, r.bytes)).collect();
        assert_eq!(
            summary[..8],
            [
                ("GET", "/clove.elf", 200, 12),
                ("GET", "/sub/boot.ipxe?x=1", 200, 7),
                ("HEAD", "/clove.elf", 200, 0),
                ("GET", "/nothing", 404, 0),
                ("GET", "/sub", 404, 0),
                ("GET", "/../clove.elf", 400, 0),
                ("GET", "clove.elf", 400, 0),
                ("PUT", "/clove.elf", 501, 0),
            ]
        );
        assert_eq!(log.len(), 9);
        assert_eq!(log[8].status, 400);
        drop(server);
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(), "still listening after drop");
    }
}
