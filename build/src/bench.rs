//! `cargo xtask bench boot`: how fast the payload boots under TCG;
//! `cargo xtask bench net`: DHCP lease time and TCP throughput ([`net`]);
//! `cargo xtask bench decode`: decoder MB/s on the real vectors, beside
//!   spice-gtk's C decoders built here and run in the same bench ([`c_decoders`]);
//! `cargo xtask bench e2e`: Clove's QEMU spawn → first remote frame ([`e2e`]);
//! `cargo xtask bench netboot`: the same through iPXE and GRUB ([`netboot`]).

mod c_decoders;
mod e2e;
mod net;
mod netboot;
mod snapshot;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use qemu_test::{Qemu, QemuConfig, Variant};

use crate::util::{Error, Result};
use crate::{deps, payload};

const RUNS: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn cmd(args: &[String]) -> Result<()> {
    match args {
        [what] if what == "boot" => boot(),
        [what, rest @ ..] if what == "net" => {
            let models = net::select(rest)?;
            deps::ensure()?;
            let kernel = payload::build(&[Variant::Multiboot])?.remove(0);
            net::run(&kernel, &models)
        }
        [what, rest @ ..] if what == "decode" && rest.len() <= 1 => decode(rest.first()),
        [what, rest @ ..] if what == "snapshot" => {
            let compression = compression_arg(what, rest)?;
            deps::ensure()?;
            deps::ensure_bench()?;
            snapshot::run(compression)
        }
        [what, rest @ ..] if what == "e2e" || what == "netboot" => {
            let compression = compression_arg(what, rest)?;
            deps::ensure()?;
            let kernel = payload::build(&[Variant::Multiboot])?.remove(0);
            if what == "e2e" {
                e2e::run(&kernel, compression)
            } else {
                netboot::run(&kernel, compression)
            }
        }
        _ => Err(Error::Usage(
            concat!(
                "bench: expected `bench boot`, `bench net`, `bench decode [VECTORS]`, `bench snapshot`, ",
                "`bench e2e` or `bench netboot`"
            )
            .into(),
        )),
    }
}

/// `[--compression C]` after `bench <what>`; QEMU's own default (`auto_glz`) without it.
fn compression_arg(what: &str, rest: &[String]) -> Result<qemu_test::ImageCompression> {
    match rest {
        [] => Ok(qemu_test::ImageCompression::AutoGlz),
        [flag, c] if flag == "--compression" => {
            c.parse().map_err(|_| Error::Usage(format!("bench {what}: unknown compression {c:?}")))
        }
        _ => Err(Error::Usage(format!("bench {what} [--compression C]"))),
    }
}

/// One boot: (spawn → banner, spawn → exit).
fn one(kernel: &std::path::Path) -> Result<(Duration, Duration)> {
    let config = QemuConfig::new(kernel).name("bench-boot").append("test-exit");
    let mut qemu = Qemu::start(config)?;
    qemu.set_poll_interval(Duration::from_millis(1));
    let line = qemu.wait_for_line("Clove ", TIMEOUT)?;
    let banner = qemu.started_at().elapsed();
    if !line.starts_with("Clove ") {
        return Err(Error::Failed(format!("first banner-like line is {line:?}")));
    }
    let code = qemu.wait_exit(TIMEOUT)?;
    let exit = qemu.started_at().elapsed();
    if code != 1 {
        return Err(Error::Failed(format!(
            "QEMU exited with code {code}, expected 1 (test-exit); serial:\n{}",
            qemu.serial()
        )));
    }
    let dir = qemu.dir().to_path_buf();
    drop(qemu);
    let _ = fs::remove_dir_all(dir);
    Ok((banner, exit))
}

/// (median, min, max) in milliseconds.
fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = v.len();
    let median = if n % 2 == 1 { ms(v[n / 2]) } else { (ms(v[n / 2 - 1]) + ms(v[n / 2])) / 2.0 };
    (median, ms(v[0]), ms(v[n - 1]))
}

fn boot() -> Result<()> {
    deps::ensure()?;
    let kernel = payload::build(&[Variant::Multiboot])?.remove(0);
    let size = fs::metadata(&kernel).map_err(|e| Error::Failed(format!("{}: {e}", kernel.display())))?.len();
    let mut banners = Vec::new();
    let mut exits = Vec::new();
    for i in 1..=RUNS {
        let (b, e) = one(&kernel)?;
        println!("run {i:>2}: banner {:>7.1} ms, exit {:>7.1} ms", b.as_secs_f64() * 1000.0, e.as_secs_f64() * 1000.0);
        banners.push(b);
        exits.push(e);
    }
    println!("\n{} ({size} bytes), {RUNS} boots under TCG", kernel.display());
    println!("{:<20}{:>10}{:>10}{:>10}", "", "median", "min", "max");
    for (name, v) in [("spawn -> banner", banners), ("spawn -> exit", exits)] {
        let (med, min, max) = stats(v);
        println!("{name:<20}{med:>7.1} ms{min:>7.1} ms{max:>7.1} ms");
    }
    Ok(())
}

/// Decoder speed on the real vectors, in a release build of `decode-bench`,
/// against spice-gtk's C decoders in the same run (ours alone if they cannot be built).
/// The vectors are `vectors`, or shared/vectors beside the clone.
fn decode(vectors: Option<&String>) -> Result<()> {
    let root = qemu_test::artifacts::workspace_root();
    let vectors = vectors.map(PathBuf::from).unwrap_or_else(|| root.join("../shared/vectors"));
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.current_dir(&root)
        .args(["run", "--release", "--quiet", "-p", "xtask", "--bin", "decode-bench", "--"])
        .arg(&vectors)
        .env_remove("CARGO_TARGET_DIR");
    match c_decoders::build() {
        Ok(c) => {
            println!("bench decode: C baseline: {}", c.what);
            cmd.arg(&c.exe);
        }
        Err(e) => println!("bench decode: NO C BASELINE in this run ({e}); measuring ours only"),
    }
    let status = cmd.status().map_err(|e| Error::Failed(format!("running decode-bench: {e}")))?;
    if !status.success() {
        return Err(Error::Failed(format!("decode-bench failed: {status}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
        assert_eq!(stats(ms(&[30, 10, 20])), (20.0, 10.0, 30.0));
        assert_eq!(stats(ms(&[40, 10, 20, 30])), (25.0, 10.0, 40.0));
    }
}
