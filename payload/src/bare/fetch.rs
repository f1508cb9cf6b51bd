//! Fetching a small file (a `clove.cfg` or a `.vv`) once the network is up:
//! drives `drivers`' TFTP and HTTP state machines over smoltcp sockets.
//! Every wait is bounded.

use super::console::Console;
use super::net::Net;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use drivers::net::http::HttpGet;
use drivers::net::smoltcp::iface::SocketHandle;
use drivers::net::smoltcp::socket::{tcp, udp};
use drivers::net::tftp::{Action, TftpRead};
use drivers::net::url::{FetchUrl, Scheme};

/// The largest file we take.
pub const MAX_FILE: usize = 64 << 10;
/// A whole fetch must end within this (TFTP gives up on its own earlier).
const DEADLINE_MS: u64 = 15_000;
const HTTP_BUFFERS: (usize, usize) = (16 << 10, 4 << 10);

pub fn fetch(con: &mut Console, net: &mut Net, url: &FetchUrl) -> Result<Vec<u8>, String> {
    match url.scheme {
        Scheme::Tftp => tftp(con, net, url),
        Scheme::Http => http(con, net, url),
    }
}

fn tftp(con: &mut Console, net: &mut Net, url: &FetchUrl) -> Result<Vec<u8>, String> {
    let h = net.udp_bind()?;
    let mut t = TftpRead::new(url.tftp_name(), url.port, MAX_FILE);
    let start = net.millis();
    let result = loop {
        net.poll(con);
        let now = net.millis();
        let s = net.sockets().get_mut::<udp::Socket>(h);
        while let Ok((data, meta)) = s.recv() {
            if meta.endpoint.addr == url.addr.into() {
                t.receive(meta.endpoint.port, data);
            }
        }
        match t.poll(now) {
            Action::Send { port, packet } => {
                // A full queue or a pending ARP answer: the resend covers it.
                let _ = s.send_slice(packet, (url.addr, port));
            }
            Action::Wait => {}
            Action::Done => break Ok(t.data().unwrap_or_default().to_vec()),
            Action::Failed => break Err(t.error().map_or_else(|| String::from("failed"), |e| format!("{e}"))),
        }
        if now - start > DEADLINE_MS {
            break Err(format!("no complete answer in {} s", DEADLINE_MS / 1000));
        }
    };
    // Let the last ACK out before the socket goes.
    for _ in 0..4 {
        net.poll(con);
    }
    net.remove(h);
    result
}

fn http(con: &mut Console, net: &mut Net, url: &FetchUrl) -> Result<Vec<u8>, String> {
    let h = net.tcp_connect(url.addr, url.port, HTTP_BUFFERS.0, HTTP_BUFFERS.1)?;
    let result = http_exchange(con, net, url, h);
    net.sockets().get_mut::<tcp::Socket>(h).abort();
    for _ in 0..4 {
        net.poll(con);
    }
    net.remove(h);
    result
}

fn http_exchange(con: &mut Console, net: &mut Net, url: &FetchUrl, h: SocketHandle) -> Result<Vec<u8>, String> {
    let mut get = HttpGet::new(url, MAX_FILE);
    let mut sent = 0;
    let mut connected = false;
    let start = net.millis();
    loop {
        net.poll(con);
        if net.millis() - start > DEADLINE_MS {
            return Err(format!("no complete answer in {} s", DEADLINE_MS / 1000));
        }
        let s = net.sockets().get_mut::<tcp::Socket>(h);
        if !connected {
            if s.may_send() {
                connected = true;
            } else if !s.is_open() {
                return Err(format!("connection to {}:{} refused", url.addr, url.port));
            } else {
                continue;
            }
        }
        if sent < get.request().len() && s.can_send() {
            sent += s.send_slice(&get.request()[sent..]).map_err(|e| format!("send: {e:?}"))?;
        }
        while s.can_recv() {
            let r = s.recv(|data| (data.len(), get.receive(data))).map_err(|e| format!("receive: {e:?}"))?;
            r.map_err(|e| format!("{e}"))?;
        }
        if get.complete() || (!s.may_recv() && !s.can_recv()) {
            return get.finish().map_err(|e| format!("{e}"));
        }
    }
}
