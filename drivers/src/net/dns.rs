//! A small DNS client for IPv4 addresses (A records) over UDP: the query's
//! bytes, the answer's parsing and the resend schedule. Pure and sans-IO:
//! the payload moves the datagrams and passes the time in.
//!
//! Answers come from the network and are hostile: every length and offset
//! is checked, compression pointers may only point backwards and are
//! bounded, CNAME chains are followed inside the answer only and are
//! bounded too. Nothing here panics on any input.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;

/// The DNS port when `dns=` names none (and DHCP's servers' port).
pub const PORT: u16 = 53;
/// Longest name we ask for (RFC 1035, without the trailing dot).
pub const MAX_NAME: usize = 253;
const MAX_LABEL: usize = 63;
/// Longest name on the wire, with its length bytes and the root label.
const MAX_WIRE_NAME: usize = 255;
/// Answers in one message we look at; more is malformed for our purposes.
const MAX_RECORDS: usize = 64;
/// Compression pointers followed while reading one name.
const MAX_POINTERS: usize = 16;
/// CNAME hops from the name asked for to its address.
const MAX_CHAIN: usize = 8;
const HEADER_LEN: usize = 12;

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const RCODE_NXDOMAIN: u16 = 3;

/// Resends after 1, 2 and 4 s, then give up at [`TIMEOUT_MS`].
const RESEND_MS: [u64; 3] = [1000, 2000, 4000];
/// The whole lookup's limit.
pub const TIMEOUT_MS: u64 = 10_000;

/// What went wrong with a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The name cannot be asked for (empty label, too long, bad character).
    BadName,
    /// Not an answer to our query: another ID, not a response, another
    /// question. Ignored while the query waits.
    NotOurs(&'static str),
    /// The message ends early or its structure is broken (what broke).
    Malformed(&'static str),
    /// The server set TC: the answer did not fit in UDP.
    Truncated,
    /// NXDOMAIN.
    NoSuchName,
    /// Another RCODE (SERVFAIL, REFUSED, ...).
    ServerError(u16),
    /// The answer has no A record for the name (after its CNAMEs).
    NoAddress,
    /// Nothing usable came back in time; the last ignored message's problem.
    Timeout { last: Option<&'static str> },
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::BadName => write!(f, "not a valid DNS name"),
            DnsError::NotOurs(why) => write!(f, "not an answer to our query ({why})"),
            DnsError::Malformed(why) => write!(f, "malformed answer ({why})"),
            DnsError::Truncated => write!(f, "the answer was truncated"),
            DnsError::NoSuchName => write!(f, "no such name"),
            DnsError::ServerError(rcode) => write!(f, "the server failed (rcode {rcode})"),
            DnsError::NoAddress => write!(f, "the name has no IPv4 address"),
            DnsError::Timeout { last: None } => write!(f, "no answer in {} s", TIMEOUT_MS / 1000),
            DnsError::Timeout { last: Some(why) } => {
                write!(f, "no usable answer in {} s (last one: {why})", TIMEOUT_MS / 1000)
            }
        }
    }
}

/// Appends `name` in wire form (length-prefixed labels, root label last).
fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), DnsError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(DnsError::BadName);
    }
    for label in name.split('.') {
        let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if label.is_empty() || label.len() > MAX_LABEL || !label.bytes().all(ok) {
            return Err(DnsError::BadName);
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// A standard recursive query for `name`'s A records.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question, no records
    encode_name(name, &mut q)?;
    q.extend_from_slice(&TYPE_A.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// Bounds-checked reads from a message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DnsError> {
        let end = self.pos.checked_add(n).ok_or(DnsError::Malformed(what))?;
        let b = self.msg.get(self.pos..end).ok_or(DnsError::Malformed(what))?;
        self.pos = end;
        Ok(b)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DnsError> {
        let b = self.bytes(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A (possibly compressed) name as lowercase dotted text, no trailing dot.
    fn name(&mut self) -> Result<Vec<u8>, DnsError> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Reads the name at `pos`; returns it (lowercase, dotted) and where the
/// data after it starts. Pointers must go strictly backwards, so they cannot loop.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), DnsError> {
    let mut name = Vec::new();
    let mut wire_len = 1; // the root label
    let mut after = None;
    let mut pointers = 0;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Malformed("name runs past the end"))? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => break,
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len).ok_or(DnsError::Malformed("label runs past the end"))?;
                wire_len += 1 + len;
                if wire_len > MAX_WIRE_NAME {
                    return Err(DnsError::Malformed("name longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push(b'.');
                }
                name.extend(label.iter().map(u8::to_ascii_lowercase));
                pos += 1 + len;
            }
            0xC0 => {
                let low = *msg.get(pos + 1).ok_or(DnsError::Malformed("pointer runs past the end"))? as usize;
                let target = (len & 0x3F) << 8 | low;
                pointers += 1;
                if target >= pos || pointers > MAX_POINTERS {
                    return Err(DnsError::Malformed("compression pointer loops or points forward"));
                }
                after.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(DnsError::Malformed("unknown label type")),
        }
    }
    Ok((name, after.unwrap_or(pos + 1)))
}

/// `name` as [`read_name`] returns names: lowercase, no trailing dot.
fn normalise(name: &str) -> Vec<u8> {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.bytes().map(|b| b.to_ascii_lowercase()).collect()
}

/// Checks `msg` is the answer to query `id` for `name` and returns the
/// first IPv4 address of `name`, following CNAMEs within the answer.
pub fn parse_response(id: u16, name: &str, msg: &[u8]) -> Result<Ipv4Addr, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    let got_id = r.u16("no header")?;
    let flags = r.u16("no header")?;
    let counts = r.bytes(8, "no header")?;
    let count = |i: usize| u16::from_be_bytes([counts[i], counts[i + 1]]) as usize;
    let (questions, answers) = (count(0), count(2));
    if got_id != id {
        return Err(DnsError::NotOurs("another ID"));
    }
    if flags & FLAG_QR == 0 {
        return Err(DnsError::NotOurs("a query, not a response"));
    }
    if (flags >> 11) & 0xF != 0 {
        return Err(DnsError::NotOurs("another opcode"));
    }
    match flags & 0xF {
        0 => {}
        RCODE_NXDOMAIN => return Err(DnsError::NoSuchName),
        rcode => return Err(DnsError::ServerError(rcode)),
    }
    if flags & FLAG_TC != 0 {
        return Err(DnsError::Truncated);
    }
    if questions != 1 {
        return Err(DnsError::NotOurs("not exactly one question"));
    }
    let wanted = normalise(name);
    let qname = r.name()?;
    let (qtype, qclass) = (r.u16("question ends early")?, r.u16("question ends early")?);
    if qname != wanted || qtype != TYPE_A || qclass != CLASS_IN {
        return Err(DnsError::NotOurs("another question"));
    }
    if answers > MAX_RECORDS {
        return Err(DnsError::Malformed("too many answer records"));
    }

    let mut addrs: Vec<(Vec<u8>, Ipv4Addr)> = Vec::new();
    let mut cnames: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for _ in 0..answers {
        let owner = r.name()?;
        let rtype = r.u16("record ends early")?;
        let class = r.u16("record ends early")?;
        r.bytes(4, "record ends early")?; // TTL: we resolve once per attempt
        let len = r.u16("record ends early")? as usize;
        let start = r.pos;
        let data = r.bytes(len, "record data runs past the end")?;
        if class != CLASS_IN {
            continue;
        }
        match rtype {
            TYPE_A if len == 4 => addrs.push((owner, Ipv4Addr::new(data[0], data[1], data[2], data[3]))),
            TYPE_A => return Err(DnsError::Malformed("A record is not 4 bytes")),
            TYPE_CNAME => {
                let (target, end) = read_name(msg, start)?;
                if end != start + len {
                    return Err(DnsError::Malformed("CNAME data length"));
                }
                cnames.push((owner, target));
            }
            _ => {}
        }
    }

    let mut current = wanted;
    for _ in 0..=MAX_CHAIN {
        if let Some((_, a)) = addrs.iter().find(|(o, _)| *o == current) {
            return Ok(*a);
        }
        match cnames.iter().find(|(o, _)| *o == current) {
            Some((_, target)) => current = target.clone(),
            None => return Err(DnsError::NoAddress),
        }
    }
    Err(DnsError::Malformed("CNAME chain too long or looping"))
}

/// What the caller should do next for a [`Query`].
#[derive(Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send this datagram to the server.
    Send(&'a [u8]),
    /// Nothing to send yet; poll again.
    Wait,
}

/// One lookup: the query's bytes and when to (re)send them, and the
/// answers it takes. Messages that are not its answer are ignored.
#[derive(Debug)]
pub struct Query {
    id: u16,
    name: String,
    packet: Vec<u8>,
    start_ms: u64,
    /// Sends so far.
    sent: usize,
    /// The last ignored message's problem, for the timeout error.
    last_ignored: Option<&'static str>,
}

impl Query {
    /// A lookup of `name` with query ID `id` (pick it at random), starting now.
    pub fn new(name: &str, id: u16, now_ms: u64) -> Result<Self, DnsError> {
        let packet = build_query(id, name)?;
        Ok(Self { id, name: String::from(name), packet, start_ms: now_ms, sent: 0, last_ignored: None })
    }

    /// The next step: a datagram to send now, or wait. Fails once the
    /// lookup has run out of time.
    pub fn poll(&mut self, now_ms: u64) -> Result<Action<'_>, DnsError> {
        let elapsed = now_ms.saturating_sub(self.start_ms);
        if elapsed >= TIMEOUT_MS {
            return Err(DnsError::Timeout { last: self.last_ignored });
        }
        // Send n (from 0) is due once the first n resend delays have passed.
        if self.sent <= RESEND_MS.len() && elapsed >= RESEND_MS[..self.sent].iter().sum::<u64>() {
            self.sent += 1;
            return Ok(Action::Send(&self.packet));
        }
        Ok(Action::Wait)
    }

    /// Takes a datagram from the server: `Some` ends the lookup (an address
    /// or a definite error); `None` means it was not a usable answer to this
    /// query and the lookup goes on.
    pub fn receive(&mut self, msg: &[u8]) -> Option<Result<Ipv4Addr, DnsError>> {
        match parse_response(self.id, &self.name, msg) {
            Err(DnsError::NotOurs(why) | DnsError::Malformed(why)) => {
                self.last_ignored = Some(why);
                None
            }
            r => Some(r),
        }
    }

    /// How many times the query went out.
    pub fn sends(&self) -> usize {
        self.sent
    }
}

#[cfg(test)]
mod tests;
