//! `cargo xtask bench net [--nic MODEL]...`: boot-to-lease time and TCP
//! receive throughput (64 MiB from a server on the host's loopback) per NIC
//! model, under TCG.

use std::time::{Duration, Instant};

use qemu_test::netserver::{parse_lease_since_boot, parse_nettest_line, PatternServer};
use qemu_test::{Qemu, QemuConfig};

use crate::util::{Error, Result};

/// QEMU `-device` models, with their options, benched in this order.
const MODELS: [&str; 5] = ["e1000", "e1000e", "virtio-net-pci", "virtio-net-pci,disable-modern=on", "rtl8139"];
const RUNS: usize = 3;
const BYTES: u64 = 64 << 20;
const TIMEOUT: Duration = Duration::from_secs(300);

struct Run {
    /// Payload clock: boot → lease.
    lease_ms: u64,
    /// Host clock: QEMU spawn → lease line seen.
    spawn_to_lease: Duration,
    rx_ms: u64,
}

fn one(kernel: &std::path::Path, model: &str) -> Result<Run> {
    let server = PatternServer::start(BYTES, 0, TIMEOUT).map_err(|e| Error::Failed(format!("server: {e}")))?;
    let cmdline = format!("test-exit nettest=10.0.2.2:{},rx={BYTES},tx=0", server.port());
    let config = QemuConfig::new(kernel).name(&format!("bench-net-{model}")).append(&cmdline).user_net(model, "");
    let mut qemu = Qemu::start(config)?;
    qemu.set_poll_interval(Duration::from_millis(1));
    let lease = qemu.wait_for_line("net: dhcp lease", TIMEOUT)?;
    let spawn_to_lease = qemu.started_at().elapsed();
    let rx = qemu.wait_for_line("nettest: rx ", TIMEOUT)?;
    qemu.wait_for_line("nettest: done", TIMEOUT)?;
    let host = server.join().map_err(|e| Error::Failed(format!("server: {e}")))?;
    let bad = |what: &str, line: &str| Error::Failed(format!("unexpected {what} line {line:?}"));
    let lease_ms = parse_lease_since_boot(&lease).ok_or_else(|| bad("lease", &lease))?;
    let r = parse_nettest_line(&rx, "rx").ok_or_else(|| bad("nettest", &rx))?;
    if r.bytes != BYTES || r.sum != host.sent_sum {
        return Err(Error::Failed(format!("{model}: received data does not match: {rx}")));
    }
    let dir = qemu.dir().to_path_buf();
    drop(qemu);
    let _ = std::fs::remove_dir_all(dir);
    Ok(Run { lease_ms, spawn_to_lease, rx_ms: r.millis })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn mbit_per_s(bytes: u64, ms: u64) -> f64 {
    bytes as f64 * 8.0 / (ms.max(1) as f64 * 1000.0)
}

/// The models to run: all, or those named by `--nic MODEL` (repeatable).
pub fn select(args: &[String]) -> Result<Vec<&'static str>> {
    let usage = || Error::Usage(format!("bench net [--nic MODEL]..., MODEL one of: {}", MODELS.join(" ")));
    let mut picked = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        let want = args.next().filter(|_| a == "--nic").ok_or_else(usage)?;
        picked.push(MODELS.into_iter().find(|m| m == want).ok_or_else(usage)?);
    }
    Ok(if picked.is_empty() { MODELS.to_vec() } else { picked })
}

pub fn run(kernel: &std::path::Path, models: &[&str]) -> Result<()> {
    let started = Instant::now();
    let mut rows = Vec::new();
    for &model in models {
        let mut runs = Vec::new();
        for i in 1..=RUNS {
            let r = one(kernel, model)?;
            println!(
                "{model} run {i}: lease at {:>5} ms since boot ({:>6.1} ms from spawn), 64 MiB in {:>6} ms ({:.1} Mbit/s)",
                r.lease_ms,
                r.spawn_to_lease.as_secs_f64() * 1000.0,
                r.rx_ms,
                mbit_per_s(BYTES, r.rx_ms)
            );
            runs.push(r);
        }
        rows.push((model, runs));
    }
    println!("\nTCP receive of {} MiB from 127.0.0.1 over -netdev user, {RUNS} runs each, TCG (medians)", BYTES >> 20);
    println!("{:<34}{:>14}{:>16}{:>12}{:>10}", "NIC", "boot->lease", "spawn->lease", "64 MiB rx", "Mbit/s");
    for (model, runs) in rows {
        let lease = median(runs.iter().map(|r| r.lease_ms as f64).collect());
        let spawn = median(runs.iter().map(|r| r.spawn_to_lease.as_secs_f64() * 1000.0).collect());
        let rx = median(runs.iter().map(|r| r.rx_ms as f64).collect());
        let rate = median(runs.iter().map(|r| mbit_per_s(BYTES, r.rx_ms)).collect());
        println!("{model:<34}{lease:>11.0} ms{spawn:>13.1} ms{rx:>9.0} ms{rate:>10.1}");
    }
    println!("({:.0} s in all)", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_medians() {
        assert_eq!(mbit_per_s(64 << 20, 4000), 134.217728);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn nic_selection() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(select(&[]).unwrap(), MODELS);
        assert_eq!(select(&args(&["--nic", "virtio-net-pci"])).unwrap(), ["virtio-net-pci"]);
        assert_eq!(
            select(&args(&["--nic", "e1000e", "--nic", "virtio-net-pci,disable-modern=on"])).unwrap(),
            ["e1000e", "virtio-net-pci,disable-modern=on"]
        );
        assert!(select(&args(&["--nic", "rtl9999"])).is_err());
        assert!(select(&args(&["--nic"])).is_err());
        assert!(select(&args(&["e1000"])).is_err());
    }
}
