//! A DNS server for tests: UDP on 127.0.0.1 (an ephemeral port; the guest
//! reaches it as 10.0.2.2:port), answering A queries from a fixed table
//! (CNAMEs are followed into the answer, as real resolvers do), NXDOMAIN
//! for any other name. It records every question it gets.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One name's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    A(Ipv4Addr),
    Cname(String),
}

/// A running server; stopped when dropped.
pub struct DnsServer {
    port: u16,
    questions: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
/// How often the server thread looks at the stop flag.
const TICK: Duration = Duration::from_millis(50);

impl DnsServer {
    /// Serves `records` (names in lowercase, no trailing dot).
    pub fn start(records: &[(&str, Record)]) -> std::io::Result<DnsServer> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let port = socket.local_addr()?.port();
        socket.set_read_timeout(Some(TICK))?;
        let table: Vec<(String, Record)> = records.iter().map(|(n, r)| (n.to_string(), r.clone())).collect();
        let questions = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, s) = (questions.clone(), stop.clone());
        let handle = thread::spawn(move || serve(socket, table, q, s));
        Ok(DnsServer { port, questions, stop, handle: Some(handle) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every question's name so far, in order (malformed queries as "?").
    pub fn questions(&self) -> Vec<String> {
        self.questions.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(socket: UdpSocket, table: Vec<(String, Record)>, questions: Arc<Mutex<Vec<String>>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        };
        let query = parse_question(&buf[..n]);
        questions.lock().unwrap_or_else(|e| e.into_inner()).push(query.as_ref().map_or("?".into(), |q| q.0.clone()));
        if let Some((name, qtype, question)) = query {
            let _ = socket.send_to(&answer(&buf[..n], &name, qtype, question, &table), from);
        }
    }
}

/// The question's name (lowercase, dotted), its type, and where the
/// question section ends. Queries carry no compression.
fn parse_question(msg: &[u8]) -> Option<(String, u16, usize)> {
    if msg.len() < 12 || msg[4..6] != [0, 1] {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(msg.get(pos..pos + len)?).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]);
    msg.get(pos + 3)?;
    Some((labels.join("."), qtype, pos + 4))
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// The response: the records for `name` along its CNAME chain, or NXDOMAIN.
fn answer(query: &[u8], name: &str, qtype: u16, question_end: usize, table: &[(String, Record)]) -> Vec<u8> {
    let mut records = Vec::new();
    let mut current = name.to_string();
    while let Some((_, r)) = table.iter().find(|(n, _)| *n == current) {
        if records.len() > 8 {
            break;
        }
        records.push((current.clone(), r.clone()));
        match r {
            Record::Cname(t) => current = t.clone(),
            Record::A(_) => break,
        }
    }
    let nxdomain = records.is_empty();
    if qtype != TYPE_A {
        records.clear();
    }
    let mut m = query[..question_end].to_vec();
    // QR, RD copied, RA; NXDOMAIN when the name is unknown.
    m[2] = 0x80 | (query[2] & 0x01);
    m[3] = 0x80 | if nxdomain { 3 } else { 0 };
    m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
    m[8..12].fill(0);
    for (owner, r) in &records {
        if *owner == name {
            m.extend_from_slice(&[0xC0, 12]);
        } else {
            encode_name(owner, &mut m);
        }
        let (rtype, data) = match r {
            Record::A(a) => (TYPE_A, a.octets().to_vec()),
            Record::Cname(t) => {
                let mut d = Vec::new();
                encode_name(t, &mut d);
                (TYPE_CNAME, d)
            }
        };
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(data.len() as u16).to_be_bytes());
        m.extend_from_slice(&data);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivers::net::dns::{build_query, parse_response, DnsError};

    /// The payload's own client code against this server, over loopback.
    #[test]
    fn answers_the_payloads_queries() {
        let server = DnsServer::start(&[
            ("spice-test.clove", Record::Cname("server.clove".into())),
            ("server.clove", Record::A(Ipv4Addr::new(10, 0, 2, 2))),
        ])
        .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let ask = |id: u16, name: &str| {
            client.send_to(&build_query(id, name).unwrap(), ("127.0.0.1", server.port())).unwrap();
            let mut buf = [0u8; 512];
            let n = client.recv(&mut buf).unwrap();
            parse_response(id, name, &buf[..n])
        };
        assert_eq!(ask(7, "Spice-Test.clove"), Ok(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(ask(8, "server.clove"), Ok(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!(ask(9, "nope.clove"), Err(DnsError::NoSuchName));
        assert_eq!(server.questions(), ["spice-test.clove", "server.clove", "nope.clove"]);
    }
}
