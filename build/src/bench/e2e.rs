//! `cargo xtask bench e2e`: QEMU spawn of Clove → its first complete remote
//! frame (the `spice: first frame` serial line), against a SPICE server VM
//! that is already up, over `-netdev user` with an e1000, under TCG. Also
//! the heap high-water mark Clove reports at that point; the sustained
//! update rate while the guest animates full screen; the smallest `-m`
//! that still gets a 1920x1080 desktop on screen; and the key latency: a
//! key injected (QMP) into Clove's VM → the server guest's shell echoing it
//! on its serial port, through Clove's PS/2 polling, SPICE and the server's
//! guest.

use std::time::{Duration, Instant};

use qemu_test::guest::{self, Scenario};
use qemu_test::input as inject;
use qemu_test::{ImageCompression, Qemu, QemuConfig, SpiceServer, SpiceServerConfig};

use crate::util::{Error, Result};

const RUNS: usize = 10;
/// Keys timed for the echo latency.
const KEYS: usize = 20;
/// A key whose echo does not come in this long counts as lost.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(120);

struct Run {
    /// Host clock: Clove's QEMU spawn → the first-frame line seen.
    spawn_to_frame: Duration,
    /// Clove's clock: boot → first frame, and connect → first frame.
    since_boot_ms: u64,
    connect_ms: u64,
    heap_kib: u64,
}

/// `[  1.547] spice: first frame in 493 ms (1547 ms since boot), heap high-water 8846 KiB`
/// → (493, 1547, 8846).
pub fn parse_first_frame(line: &str) -> Option<(u64, u64, u64)> {
    let rest = line.split("spice: first frame in ").nth(1)?;
    let (connect, rest) = rest.split_once(" ms (")?;
    let (boot, rest) = rest.split_once(" ms since boot)")?;
    let heap = rest.split("heap high-water ").nth(1)?.strip_suffix(" KiB")?;
    Some((connect.parse().ok()?, boot.parse().ok()?, heap.trim().parse().ok()?))
}

fn one(kernel: &std::path::Path, server: &SpiceServer, i: usize) -> Result<Run> {
    let config = QemuConfig::new(kernel)
        .name(&format!("bench-e2e-{i}"))
        .cpu("max")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let mut qemu = Qemu::start(config)?;
    qemu.set_poll_interval(Duration::from_millis(1));
    let line = qemu.wait_for_line("spice: first frame in ", TIMEOUT)?;
    let spawn_to_frame = qemu.started_at().elapsed();
    let (connect_ms, since_boot_ms, heap_kib) =
        parse_first_frame(&line).ok_or_else(|| Error::Failed(format!("unexpected first-frame line {line:?}")))?;
    let dir = qemu.dir().to_path_buf();
    drop(qemu);
    let _ = std::fs::remove_dir_all(dir);
    Ok(Run { spawn_to_frame, since_boot_ms, connect_ms, heap_kib })
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn run(kernel: &std::path::Path, compression: ImageCompression) -> Result<()> {
    eprintln!("bench e2e: booting the SPICE server VM (image-compression={})...", compression.as_str());
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-e2e-server".into()),
        image_compression: compression,
        ..Default::default()
    })?;
    let mut runs = Vec::new();
    for i in 1..=RUNS {
        let r = one(kernel, &server, i)?;
        println!(
            "run {i:>2}: spawn -> first frame {:>7.1} ms (boot -> frame {:>5} ms, connect -> frame {:>4} ms), heap high-water {} KiB",
            r.spawn_to_frame.as_secs_f64() * 1000.0,
            r.since_boot_ms,
            r.connect_ms,
            r.heap_kib
        );
        runs.push(r);
    }
    let med = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
    let min = runs.iter().map(|r| r.spawn_to_frame).min().unwrap_or_default();
    let max = runs.iter().map(|r| r.spawn_to_frame).max().unwrap_or_default();
    println!(
        "\nClove over e1000/-netdev user to a 1024x768 QEMU SPICE server (image-compression={}), {RUNS} runs, TCG",
        compression.as_str()
    );
    println!(
        "spawn -> first frame: median {:.1} ms (min {:.1}, max {:.1}); boot -> frame {:.0} ms; connect -> frame {:.0} ms",
        med(&|r| r.spawn_to_frame.as_secs_f64() * 1000.0),
        min.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        med(&|r| r.since_boot_ms as f64),
        med(&|r| r.connect_ms as f64)
    );
    println!(
        "heap high-water at the first frame (sampled in the poll loop): median {:.0} KiB",
        med(&|r| r.heap_kib as f64)
    );
    drop(server);
    update_rate(kernel, compression)?;
    smallest_memory(kernel, compression)?;
    key_latency(kernel, compression)
}

/// Stats windows to wait for while the guest animates (10 s each); the
/// first one is dropped (it holds the connection's start).
const RATE_WINDOWS: usize = 4;

/// `... 12 rects, 7864 Kpx (1.0 full frames per s), ... heap high-water 9001 KiB` → (1.0, 9001).
pub fn parse_stats(line: &str) -> Option<(f64, u64)> {
    let rate = line.split(" Kpx (").nth(1)?.split(" full frames per s)").next()?;
    let heap = line.split("heap high-water ").nth(1)?.strip_suffix(" KiB")?;
    Some((rate.parse().ok()?, heap.trim().parse().ok()?))
}

/// Full-screen update rate at 1024x768 with the guest alternating two
/// pictures that differ in every pixel, as Clove counts it (pixels drawn
/// over the surface size, per second).
fn update_rate(kernel: &std::path::Path, compression: ImageCompression) -> Result<()> {
    eprintln!("bench e2e: booting an animating SPICE server VM...");
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-e2e-anim-server".into()),
        image_compression: compression,
        scenario: Scenario::Animate,
        ..Default::default()
    })?;
    let config = QemuConfig::new(kernel)
        .name("bench-e2e-anim")
        .cpu("max")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let qemu = Qemu::start(config)?;
    qemu.wait_for_line("spice: first frame in ", TIMEOUT)?;
    let mut rates = Vec::new();
    let mut heap = 0;
    for _ in 0..RATE_WINDOWS {
        let mark = qemu.serial_mark();
        let line = qemu.wait_for_line_after(mark, " full frames per s)", Duration::from_secs(60))?;
        let (rate, h) = parse_stats(&line).ok_or_else(|| Error::Failed(format!("unexpected stats line {line:?}")))?;
        println!("animating: {}", line.trim());
        rates.push(rate);
        heap = h;
    }
    let rates = rates.split_off(1);
    println!(
        "sustained update rate at 1024x768 (image-compression={}, guest alternating two full-screen pictures, TCG): median {:.1} full frames per s over {} windows of 10 s; heap high-water {heap} KiB",
        compression.as_str(),
        median(rates.clone()),
        rates.len()
    );
    Ok(())
}

/// `-m` sizes tried at 1920x1080, largest first.
const MEMORY_SIZES: [u32; 6] = [64, 48, 32, 24, 16, 12];

/// Clove against a 1920x1080 desktop with less and less guest RAM: which
/// sizes still reach the first frame.
fn smallest_memory(kernel: &std::path::Path, compression: ImageCompression) -> Result<()> {
    eprintln!("bench e2e: booting a 1920x1080 SPICE server VM...");
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-e2e-fullhd-server".into()),
        image_compression: compression,
        scenario: Scenario::FullHd,
        ..Default::default()
    })?;
    let mut smallest = None;
    for mb in MEMORY_SIZES {
        let config = QemuConfig::new(kernel)
            .name(&format!("bench-e2e-mem{mb}"))
            .cpu("max")
            .memory(&format!("{mb}M"))
            .append(&format!("server=spice://10.0.2.2:{}", server.port()))
            .user_net("e1000", "");
        let qemu = Qemu::start(config)?;
        match qemu.wait_for_line("spice: first frame in ", Duration::from_secs(60)) {
            Ok(line) => {
                let heap = parse_first_frame(&line).map_or(0, |(_, _, h)| h);
                println!("-m {mb}M at 1920x1080: first frame, heap high-water {heap} KiB");
                smallest = Some(mb);
            }
            Err(e) => {
                let last = qemu.serial().lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
                println!("-m {mb}M at 1920x1080: no first frame ({e}); last serial line: {last}");
                break;
            }
        }
    }
    match smallest {
        Some(mb) => println!("smallest -m that shows the 1920x1080 desktop: {mb}M"),
        None => println!("no -m size showed the 1920x1080 desktop"),
    }
    Ok(())
}

/// QMP key press in Clove's VM → the echoed character on the server guest's serial.
fn key_latency(kernel: &std::path::Path, compression: ImageCompression) -> Result<()> {
    eprintln!("\nbench e2e: key latency: booting the shell guest...");
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-e2e-keys-server".into()),
        image_compression: compression,
        scenario: Scenario::Shell,
        ..Default::default()
    })?;
    guest::wait_for_prompt(server.qemu(), TIMEOUT)?;
    let config = QemuConfig::new(kernel)
        .name("bench-e2e-keys")
        .cpu("max")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let mut clove = Qemu::start(config)?;
    clove.wait_for_line("spice: first frame in ", TIMEOUT)?;
    clove.wait_for_line("spice: linked inputs", TIMEOUT)?;
    let serial = server.qemu().serial_path().to_path_buf();
    let len = || std::fs::metadata(&serial).map_or(0, |m| m.len() as usize);
    let mut times = Vec::new();
    for i in 1..=KEYS {
        let from = len();
        let start = Instant::now();
        inject::key_now(&mut clove, "x", true)?;
        let echoed = loop {
            let bytes = std::fs::read(&serial).unwrap_or_default();
            if bytes.get(from..).is_some_and(|b| b.contains(&b'x')) {
                break Some(start.elapsed());
            }
            if start.elapsed() > ECHO_TIMEOUT {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        inject::key(&mut clove, "x", false)?;
        let t = echoed.ok_or_else(|| Error::Failed(format!("key {i}: no echo in {ECHO_TIMEOUT:?}")))?;
        println!("key {i:>2}: {:>6.1} ms", t.as_secs_f64() * 1000.0);
        times.push(t.as_secs_f64() * 1000.0);
        // Rub it out again so the line stays short; let the echo settle.
        inject::tap(&mut clove, "backspace")?;
        std::thread::sleep(Duration::from_millis(200));
    }
    let (min, max) = times.iter().fold((f64::MAX, 0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    println!(
        "\nkey -> guest echo ({KEYS} keys, QMP injection into Clove's VM to the echo on the server guest's serial, TCG): \
         median {:.1} ms (min {min:.1}, max {max:.1})",
        median(times)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_frame_line() {
        let l = "[   1.547] spice: first frame in 493 ms (1547 ms since boot), heap high-water 8846 KiB";
        assert_eq!(parse_first_frame(l), Some((493, 1547, 8846)));
        assert_eq!(parse_first_frame("[ 1.0] spice: first frame in x ms"), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn stats_line() {
        let l = "[  21.5] spice: 10 s: 31 screen updates (3.1 per s), 412 rects, 7864 Kpx (1.0 full frames per s), 33000 KiB in, heap high-water 9001 KiB";
        assert_eq!(parse_stats(l), Some((1.0, 9001)));
        assert_eq!(parse_stats("spice: 10 s: 1 screen updates"), None);
    }
}
