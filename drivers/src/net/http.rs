//! An HTTP/1.0 GET as a sans-IO state machine: the caller sends
//! [`HttpGet::request`] over TCP, hands every received byte to
//! [`HttpGet::receive`] and, when the server closes, calls
//! [`HttpGet::finish`]. Only `200` is a success; redirects are reported,
//! not followed. Headers and body are bounded.

use super::url::FetchUrl;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The status line and headers must fit in this.
pub const MAX_HEAD: usize = 8 << 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Not `200`; a redirect's `Location` is kept for the message.
    Status {
        code: u16,
        location: Option<String>,
    },
    TooBig {
        limit: usize,
    },
    /// The server closed before the whole body (per Content-Length) came.
    Truncated {
        got: usize,
        want: usize,
    },
    Malformed(&'static str),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Status { code, location: Some(l) } => {
                write!(f, "HTTP {code} (a redirect to {l}; redirects are not followed)")
            }
            HttpError::Status { code, location: None } => write!(f, "HTTP {code}"),
            HttpError::TooBig { limit } => write!(f, "the file is longer than {limit} bytes"),
            HttpError::Truncated { got, want } => write!(f, "the server closed after {got} of {want} bytes"),
            HttpError::Malformed(why) => write!(f, "bad HTTP response: {why}"),
        }
    }
}

#[derive(Debug)]
pub struct HttpGet {
    request: Vec<u8>,
    limit: usize,
    received: Vec<u8>,
    /// Where the body starts, once the head is complete.
    body_at: Option<usize>,
    content_length: Option<usize>,
}

impl HttpGet {
    /// A GET of `url` (an `http://` URL); the body may be at most `limit` bytes.
    pub fn new(url: &FetchUrl, limit: usize) -> Self {
        let host = if url.port == 80 { format!("{}", url.addr) } else { format!("{}:{}", url.addr, url.port) };
        let request = format!(
            "GET {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: Clove/{}\r\nConnection: close\r\n\r\n",
            url.path,
            env!("CARGO_PKG_VERSION")
        );
        Self { request: request.into_bytes(), limit, received: Vec::new(), body_at: None, content_length: None }
    }

    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// Bytes from the server. An error ends the transfer (close the socket).
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), HttpError> {
        let head_limit = self.body_at.unwrap_or(MAX_HEAD);
        if self.received.len() + bytes.len() > head_limit + self.limit {
            return Err(HttpError::TooBig { limit: self.limit });
        }
        self.received.extend_from_slice(bytes);
        if self.body_at.is_none() {
            let Some(end) = find(&self.received, b"\r\n\r\n") else {
                if self.received.len() > MAX_HEAD {
                    return Err(HttpError::Malformed("the headers are longer than 8 KiB"));
                }
                return Ok(());
            };
            if end > MAX_HEAD {
                return Err(HttpError::Malformed("the headers are longer than 8 KiB"));
            }
            self.body_at = Some(end + 4);
            self.check_head()?;
        }
        if let (Some(at), Some(want)) = (self.body_at, self.content_length) {
            if self.received.len() - at > want {
                return Err(HttpError::Malformed("more body than Content-Length"));
            }
        }
        Ok(())
    }

    /// Whether the whole body is here (by Content-Length); without one, the
    /// server's close says so.
    pub fn complete(&self) -> bool {
        matches!((self.body_at, self.content_length), (Some(at), Some(n)) if self.received.len() - at == n)
    }

    /// The server closed: the body, or why not.
    pub fn finish(self) -> Result<Vec<u8>, HttpError> {
        let at = self.body_at.ok_or(HttpError::Malformed("closed before the end of the headers"))?;
        let got = self.received.len() - at;
        if let Some(want) = self.content_length.filter(|&w| w != got) {
            return Err(HttpError::Truncated { got, want });
        }
        let mut body = self.received;
        body.drain(..at);
        Ok(body)
    }

    fn check_head(&mut self) -> Result<(), HttpError> {
        let at = self.body_at.unwrap_or(0);
        let head = core::str::from_utf8(&self.received[..at]).map_err(|_| HttpError::Malformed("headers not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let mut parts = status.splitn(3, ' ');
        let (version, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        if !version.starts_with("HTTP/1.") {
            return Err(HttpError::Malformed("no HTTP/1.x status line"));
        }
        let code: u16 =
            code.parse().ok().filter(|c| (100..600).contains(c)).ok_or(HttpError::Malformed("bad status"))?;
        let mut location = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n: usize = value.parse().map_err(|_| HttpError::Malformed("bad Content-Length"))?;
                if n > self.limit {
                    return Err(HttpError::TooBig { limit: self.limit });
                }
                self.content_length = Some(n);
            } else if name.eq_ignore_ascii_case("location") {
                location = Some(String::from(&value[..value.len().min(200)]));
            }
        }
        if code != 200 {
            return Err(HttpError::Status { code, location });
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn get(limit: usize) -> HttpGet {
        HttpGet::new(&FetchUrl::parse("http://10.0.2.2:8080/x.vv").unwrap(), limit)
    }

    #[test]
    fn request_and_a_body_in_pieces() {
        let mut g = get(100);
        let req = core::str::from_utf8(g.request()).unwrap();
        assert!(req.starts_with("GET /x.vv HTTP/1.0\r\nHost: 10.0.2.2:8080\r\n"), "{req}");
        assert!(req.ends_with("\r\nConnection: close\r\n\r\n"));
        let resp = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 11\r\n\r\n[virt-view]";
        for chunk in resp.chunks(3) {
            assert!(!g.complete());
            g.receive(chunk).unwrap();
        }
        assert!(g.complete());
        assert_eq!(g.finish().unwrap(), b"[virt-view]");
    }

    #[test]
    fn without_content_length_the_close_ends_the_body() {
        let mut g = get(100);
        g.receive(b"HTTP/1.1 200 OK\r\n\r\nabc").unwrap();
        assert!(!g.complete());
        assert_eq!(g.finish().unwrap(), b"abc");
    }

    #[test]
    fn status_redirects_sizes_and_truncation() {
        let mut g = get(100);
        let e = g.receive(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap_err();
        assert_eq!(e.to_string(), "HTTP 404");
        let mut g = get(100);
        let e = g.receive(b"HTTP/1.0 302 Found\r\nLocation: http://elsewhere/\r\n\r\n").unwrap_err();
        assert_eq!(e.to_string(), "HTTP 302 (a redirect to http://elsewhere/; redirects are not followed)");
        let mut g = get(10);
        assert_eq!(g.receive(b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\n"), Err(HttpError::TooBig { limit: 10 }));
        let mut g = get(10);
        g.receive(b"HTTP/1.0 200 OK\r\n\r\n0123456789").unwrap();
        assert_eq!(g.receive(b"x"), Err(HttpError::TooBig { limit: 10 }));
        let mut g = get(10);
        g.receive(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab").unwrap();
        assert_eq!(g.finish(), Err(HttpError::Truncated { got: 2, want: 5 }));
        let mut g = get(10);
        assert!(g.receive(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nab").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"SSH-2.0\r\n\r\n"[..],
            b"HTTP/1.0 abc\r\n\r\n",
            b"HTTP/1.0 200\r\nContent-Length: x\r\n\r\n",
            b"\xff\r\n\r\n",
        ] {
            assert!(get(10).receive(bad).is_err());
        }
        let mut g = get(10);
        assert!(g.receive(&[b'a'; MAX_HEAD + 20]).is_err());
        assert!(get(10).finish().is_err());
    }
}
