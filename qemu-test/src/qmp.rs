//! A small synchronous QMP client over a unix socket.
//!
//! QMP sends one JSON object per line. After the greeting and the
//! `qmp_capabilities` handshake, each command gets exactly one `return` or
//! `error` reply, tagged with the `id` we sent; asynchronous `event`s may
//! arrive in between and are kept for [`Qmp::take_events`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::error::{HarnessError, Result};

/// How long one QMP command may take before we give up on QEMU.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected QMP session (capabilities already negotiated).
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    events: Vec<Value>,
    /// The greeting's `QMP` object (version, capabilities).
    pub greeting: Value,
}

impl Qmp {
    /// Connects to `path`, retrying every 10 ms until `timeout`, and does the
    /// handshake. Before each retry `check` runs; an error from it (say, QEMU
    /// has exited) ends the wait at once.
    pub fn connect(path: &Path, timeout: Duration, mut check: impl FnMut() -> Result<()>) -> Result<Qmp> {
        let start = Instant::now();
        loop {
            check()?;
            match UnixStream::connect(path) {
                Ok(stream) => return Qmp::handshake(stream),
                Err(e) if start.elapsed() >= timeout => {
                    return Err(HarnessError::io(
                        format!("connecting to QMP socket {} for {timeout:?}", path.display()),
                        e,
                    ))
                }
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Reads the greeting from a connected stream and negotiates capabilities.
    pub fn handshake(stream: UnixStream) -> Result<Qmp> {
        stream
            .set_read_timeout(Some(DEFAULT_REPLY_TIMEOUT))
            .map_err(|e| HarnessError::io("setting QMP read timeout", e))?;
        let writer = stream.try_clone().map_err(|e| HarnessError::io("cloning QMP socket", e))?;
        let mut qmp =
            Qmp { reader: BufReader::new(stream), writer, next_id: 1, events: Vec::new(), greeting: Value::Null };
        let hello = qmp.read_message()?;
        qmp.greeting = match hello.get("QMP") {
            Some(g) => g.clone(),
            None => return Err(HarnessError::Protocol(format!("expected a QMP greeting, got {hello}"))),
        };
        qmp.execute("qmp_capabilities", Value::Null)?;
        Ok(qmp)
    }

    /// Sets how long to wait for each reply.
    pub fn set_reply_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .map_err(|e| HarnessError::io("setting QMP read timeout", e))
    }

    fn read_message(&mut self) -> Result<Value> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.reader.read_line(&mut line).map_err(|e| HarnessError::io("reading from QMP", e))?;
            if n == 0 {
                return Err(HarnessError::Protocol("QMP connection closed".into()));
            }
            if !line.trim().is_empty() {
                break;
            }
        }
        serde_json::from_str(line.trim())
            .map_err(|e| HarnessError::Protocol(format!("bad JSON from QMP ({e}): {}", line.trim())))
    }

    /// Runs `command` with `args` (an object, or `Value::Null` for none) and
    /// returns its `return` value. Events that arrive meanwhile are kept.
    pub fn execute(&mut self, command: &str, args: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "execute": command, "id": id });
        if !args.is_null() {
            msg["arguments"] = args;
        }
        let mut text = msg.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .map_err(|e| HarnessError::io(format!("sending QMP command {command}"), e))?;
        loop {
            let reply = self.read_message()?;
            if reply.get("event").is_some() {
                self.events.push(reply);
                continue;
            }
            if reply.get("id").and_then(Value::as_u64) != Some(id) {
                return Err(HarnessError::Protocol(format!("reply to {command} (id {id}) has another id: {reply}")));
            }
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = reply.get("error") {
                let field = |k: &str| err.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
                return Err(HarnessError::Qmp {
                    command: command.to_string(),
                    class: field("class"),
                    desc: field("desc"),
                });
            }
            return Err(HarnessError::Protocol(format!("unexpected QMP message: {reply}")));
        }
    }

    /// The events received so far, oldest first; clears the list.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake QEMU: greets, then answers each command per `script`
    /// (a function from the parsed command to the lines to send back).
    fn fake_server(path: &Path, script: fn(&Value) -> Vec<String>) -> thread::JoinHandle<Vec<Value>> {
        let listener = UnixListener::bind(path).unwrap();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut w = stream.try_clone().unwrap();
            let mut r = BufReader::new(stream);
            w.write_all(
                b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": [\"oob\"]}}\r\n",
            )
            .unwrap();
            let mut seen = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap() == 0 {
                    return seen;
                }
                let cmd: Value = serde_json::from_str(&line).unwrap();
                for reply in script(&cmd) {
                    w.write_all(reply.as_bytes()).unwrap();
                    w.write_all(b"\r\n").unwrap();
                }
                seen.push(cmd);
            }
        })
    }

    fn script(cmd: &Value) -> Vec<String> {
        let id = &cmd["id"];
        match cmd["execute"].as_str().unwrap() {
            "qmp_capabilities" => vec![json!({"return": {}, "id": id}).to_string()],
            "query-status" => vec![
                json!({"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}).to_string(),
                String::new(),
                json!({"return": {"status": "running", "running": true}, "id": id}).to_string(),
            ],
            "screendump" => vec![json!({
                "error": {"class": "GenericError", "desc": "no surface"}, "id": id
            })
            .to_string()],
            "garbage" => vec!["{not json".to_string()],
            _ => vec![json!({"error": {"class": "CommandNotFound", "desc": "nope"}, "id": id}).to_string()],
        }
    }

    #[test]
    fn handshake_commands_events_and_errors() {
        let dir = crate::testutil::scratch_dir("qmp");
        let sock = dir.join("qmp.sock");
        let server = fake_server(&sock, script);
        let mut qmp = Qmp::connect(&sock, Duration::from_secs(5), || Ok(())).unwrap();
        assert_eq!(qmp.greeting["version"]["qemu"]["major"], 7);

        let status = qmp.execute("query-status", Value::Null).unwrap();
        assert_eq!(status["status"], "running");
        let events = qmp.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["event"], "RESUME");
        assert!(qmp.take_events().is_empty());

        let err = qmp.execute("screendump", json!({"filename": "/tmp/x.ppm"})).unwrap_err();
        assert!(matches!(&err, HarnessError::Qmp { class, desc, .. }
            if class == "GenericError" && desc == "no surface"));
        assert_eq!(err.to_string(), "QMP command screendump failed: GenericError: no surface");

        assert!(matches!(qmp.execute("garbage", Value::Null), Err(HarnessError::Protocol(_))));
        drop(qmp);

        let seen = server.join().unwrap();
        assert_eq!(seen[0], json!({"execute": "qmp_capabilities", "id": 1}));
        assert_eq!(seen[1], json!({"execute": "query-status", "id": 2}));
        assert_eq!(seen[2], json!({"execute": "screendump", "id": 3, "arguments": {"filename": "/tmp/x.ppm"}}));
    }

    #[test]
    fn connect_retries_until_the_socket_appears() {
        let dir = crate::testutil::scratch_dir("qmp-late");
        let sock = dir.join("qmp.sock");
        let s2 = sock.clone();
        let late = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            fake_server(&s2, script).join().unwrap()
        });
        let qmp = Qmp::connect(&sock, Duration::from_secs(5), || Ok(())).unwrap();
        drop(qmp);
        late.join().unwrap();
    }

    #[test]
    fn connect_gives_up() {
        let dir = crate::testutil::scratch_dir("qmp-none");
        let sock = dir.join("qmp.sock");
        let start = Instant::now();
        let err = Qmp::connect(&sock, Duration::from_millis(100), || Ok(())).unwrap_err();
        assert!(matches!(err, HarnessError::Io { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));

        let mut calls = 0;
        let err = Qmp::connect(&sock, Duration::from_secs(30), || {
            calls += 1;
            if calls == 3 {
                Err(HarnessError::Protocol("qemu died".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert!(matches!(err, HarnessError::Protocol(_)));
    }

    #[test]
    fn missing_greeting_is_a_protocol_error() {
        let dir = crate::testutil::scratch_dir("qmp-bad");
        let sock = dir.join("qmp.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let t = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"{\"hello\": 1}\n").unwrap();
        });
        let err = Qmp::connect(&sock, Duration::from_secs(5), || Ok(())).unwrap_err();
        assert!(err.to_string().contains("expected a QMP greeting"), "{err}");
        t.join().unwrap();
    }
}
