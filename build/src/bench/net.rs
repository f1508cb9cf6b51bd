//! `cargo xtask bench net [--nic MODEL]`: boot-to-lease time and TCP
//! receive throughput (64 MiB from a server on the host's loopback) per NIC
//! model, under TCG.

use std::time::{Duration, Instant};

use qemu_test::netserver::{parse_lease_since_boot, parse_nettest_line, PatternServer};
use qemu_test::{Qemu, QemuConfig};

use crate::util::{Error, Result};

/// QEMU `-device` models with a driver, benched in this order.
const MODELS: [&str; 3] = ["e1000", "e1000e", "rtl8139"];
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

/// The models to bench: all of them, or the one `--nic MODEL` names.
pub fn models(args: &[String]) -> Result<Vec<&'static str>> {
    match args {
        [] => Ok(MODELS.to_vec()),
        [flag, m] if flag == "--nic" => match MODELS.iter().find(|&&known| known == m) {
            Some(&known) => Ok(vec![known]),
            None => Err(Error::Usage(format!("bench net: unknown NIC {m:?} (one of {})", MODELS.join(", ")))),
        },
        _ => Err(Error::Usage("bench net [--nic MODEL]".into())),
    }
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

pub fn run(kernel: &std::path::Path, models: &[&str]) -> Result<()> {
    let started = Instant::now();
    let mut rows = Vec::new();
    for &model in models {
        let mut runs = Vec::new();
        for i in 1..=RUNS {
            let r = one(kernel, model)?;
            println!(
                "{model:<7} run {i}: lease at {:>5} ms since boot ({:>6.1} ms from spawn), 64 MiB in {:>6} ms ({:.1} Mbit/s)",
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
    println!("{:<8}{:>18}{:>20}{:>14}{:>12}", "NIC", "boot->lease", "spawn->lease", "64 MiB rx", "Mbit/s");
    for (model, runs) in rows {
        let lease = median(runs.iter().map(|r| r.lease_ms as f64).collect());
        let spawn = median(runs.iter().map(|r| r.spawn_to_lease.as_secs_f64() * 1000.0).collect());
        let rx = median(runs.iter().map(|r| r.rx_ms as f64).collect());
        let rate = median(runs.iter().map(|r| mbit_per_s(BYTES, r.rx_ms)).collect());
        println!("{model:<8}{lease:>15.0} ms{spawn:>17.1} ms{rx:>11.0} ms{rate:>12.1}");
    }
    println!("({:.0} s in all)", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nic_filter() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(models(&[]).unwrap(), MODELS);
        assert_eq!(models(&args(&["--nic", "rtl8139"])).unwrap(), ["rtl8139"]);
        assert!(models(&args(&["--nic", "ne2k_pci"])).unwrap_err().to_string().contains("unknown NIC"));
        assert!(models(&args(&["--nic"])).is_err());
    }

    #[test]
    fn rates_and_medians() {
        assert_eq!(mbit_per_s(64 << 20, 4000), 134.217728);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
