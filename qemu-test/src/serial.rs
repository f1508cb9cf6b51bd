//! Waiting for lines in a serial log file that QEMU appends to.
//!
//! Only complete lines (ending in `\n`) match while QEMU runs, so a line that
//! is half written (`memory: total 9` of `memory: total 98000 KiB`) is never
//! returned. Once QEMU has exited, a last unterminated line counts too.

use std::fs;
use std::io;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// A position in the serial log: the byte offset just after the last complete
/// line when it was taken. Lines from there on are "after" the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct SerialMark(pub u64);

/// Why a wait ended without a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitFail {
    Timeout,
    /// The process exited; the string describes how.
    Exited(String),
}

/// Reads the whole log; a log that does not exist yet is empty.
pub(crate) fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The mark for a log's current contents.
pub(crate) fn mark_of(bytes: &[u8]) -> SerialMark {
    SerialMark(bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i as u64 + 1))
}

/// Strips the line terminator (`\n`, `\r\n`, stray `\r`s at the end).
fn clean(line: &[u8]) -> String {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    String::from_utf8_lossy(&line[..end]).into_owned()
}

/// The first line at or after `from` that contains `needle`.
/// With `complete_only`, an unterminated last line is ignored.
pub(crate) fn find_line(bytes: &[u8], from: SerialMark, needle: &str, complete_only: bool) -> Option<String> {
    let start = usize::try_from(from.0).ok()?.min(bytes.len());
    let rest = &bytes[start..];
    let mut lines: Vec<&[u8]> = rest.split_inclusive(|&b| b == b'\n').collect();
    if complete_only && lines.last().is_some_and(|l| !l.ends_with(b"\n")) {
        lines.pop();
    }
    lines.into_iter().map(clean).find(|l| l.contains(needle))
}

/// The last `n` lines of a log, for error messages.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("[... {skip} earlier lines ...]\n"));
    }
    for l in &lines[skip..] {
        out.push_str(l.trim_end_matches('\r'));
        out.push('\n');
    }
    out
}

/// Polls `path` every `poll` until a line after `from` contains `needle`.
///
/// `exited` is asked before each read; once it reports an exit the log is read
/// one last time (so nothing QEMU wrote before dying is missed) and the wait
/// fails with [`WaitFail::Exited`] if the line is not there.
pub(crate) fn wait_for_line(
    path: &Path,
    from: SerialMark,
    needle: &str,
    timeout: Duration,
    poll: Duration,
    mut exited: impl FnMut() -> Option<String>,
) -> io::Result<Result<String, WaitFail>> {
    let start = Instant::now();
    loop {
        let status = exited();
        let bytes = read_bytes(path)?;
        if let Some(line) = find_line(&bytes, from, needle, status.is_none()) {
            return Ok(Ok(line));
        }
        if let Some(status) = status {
            return Ok(Err(WaitFail::Exited(status)));
        }
        if start.elapsed() >= timeout {
            return Ok(Err(WaitFail::Timeout));
        }
        thread::sleep(poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn finds_only_complete_lines() {
        let log = b"Clove 0.1.0\r\n[0000.001] memory: total 98";
        assert_eq!(find_line(log, SerialMark(0), "Clove", true).as_deref(), Some("Clove 0.1.0"));
        assert_eq!(find_line(log, SerialMark(0), "memory:", true), None);
        assert_eq!(find_line(log, SerialMark(0), "memory:", false).as_deref(), Some("[0000.001] memory: total 98"));
    }

    #[test]
    fn marks_skip_earlier_lines() {
        let log = b"key a\nkey b\npartial";
        let m = mark_of(log);
        assert_eq!(m, SerialMark(12));
        assert_eq!(find_line(log, m, "key", true), None);
        let log2 = b"key a\nkey b\npartial key c\n";
        assert_eq!(find_line(log2, m, "key", true).as_deref(), Some("partial key c"));
        assert_eq!(mark_of(b"no newline"), SerialMark(0));
        // A mark past the end (file truncated) just finds nothing.
        assert_eq!(find_line(b"a\n", SerialMark(99), "a", true), None);
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "[... 1 earlier lines ...]\nb\nc\n");
        assert_eq!(tail("a\r\n", 5), "a\n");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn waits_for_a_line_another_thread_appends() {
        let dir = crate::testutil::scratch_dir("serial-append");
        let path = dir.join("serial.log");
        let writer_path = path.clone();
        let writer = thread::spawn(move || {
            let mut f = fs::File::create(&writer_path).unwrap();
            f.write_all(b"Clove 0.1.0\n[0000.010] boot: mult").unwrap();
            thread::sleep(Duration::from_millis(80));
            f.write_all(b"iboot1 cmdline=\"\"\n").unwrap();
            thread::sleep(Duration::from_millis(50));
            f.write_all(b"[0000.200] ready\n").unwrap();
        });
        let found =
            wait_for_line(&path, SerialMark(0), "boot: ", Duration::from_secs(10), Duration::from_millis(5), || None)
                .unwrap();
        assert_eq!(found.as_deref(), Ok("[0000.010] boot: multiboot1 cmdline=\"\""));
        let found =
            wait_for_line(&path, SerialMark(0), "ready", Duration::from_secs(10), Duration::from_millis(5), || None)
                .unwrap();
        assert_eq!(found.as_deref(), Ok("[0000.200] ready"));
        writer.join().unwrap();
    }

    #[test]
    fn times_out() {
        let dir = crate::testutil::scratch_dir("serial-timeout");
        let path = dir.join("serial.log");
        fs::write(&path, b"nothing here\n").unwrap();
        let start = Instant::now();
        let r =
            wait_for_line(&path, SerialMark(0), "ready", Duration::from_millis(100), Duration::from_millis(10), || {
                None
            })
            .unwrap();
        assert_eq!(r, Err(WaitFail::Timeout));
        let t = start.elapsed();
        assert!(t >= Duration::from_millis(100) && t < Duration::from_secs(5), "{t:?}");
    }

    #[test]
    fn fails_early_on_exit_but_sees_final_output() {
        let dir = crate::testutil::scratch_dir("serial-exit");
        let path = dir.join("serial.log");
        fs::write(&path, b"Clove 0.1.0\nPANIC: oops").unwrap();
        let dead = Arc::new(AtomicBool::new(false));
        let d = dead.clone();
        let killer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            d.store(true, Ordering::SeqCst);
        });
        let start = Instant::now();
        let exited = || dead.load(Ordering::SeqCst).then(|| "exited with code 3".to_string());
        let r = wait_for_line(&path, SerialMark(0), "ready", Duration::from_secs(30), Duration::from_millis(5), exited)
            .unwrap();
        assert_eq!(r, Err(WaitFail::Exited("exited with code 3".into())));
        assert!(start.elapsed() < Duration::from_secs(5));
        // After exit, an unterminated last line matches.
        let r = wait_for_line(&path, SerialMark(0), "PANIC", Duration::from_secs(1), Duration::from_millis(5), exited)
            .unwrap();
        assert_eq!(r.as_deref(), Ok("PANIC: oops"));
        killer.join().unwrap();
    }
}
