//! `cargo xtask bench snapshot [--compression C]`: spice-gtk's
//! `spicy-screenshot` and Clove's `clove-snapshot` against the same live
//! QEMU SPICE server, alternating, 10 runs each: process start to image
//! file written. Both outputs must equal the server's screendump.

use std::process::Command;
use std::time::{Duration, Instant};

use qemu_test::{Image, ImageCompression, SpiceServer, SpiceServerConfig};

use super::{stats, RUNS};
use crate::util::{Error, Result};

pub fn run(compression: ImageCompression) -> Result<()> {
    let root = qemu_test::artifacts::workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "xtask", "--bin", "clove-snapshot"])
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(|e| Error::Failed(format!("building clove-snapshot: {e}")))?;
    if !status.success() {
        return Err(Error::Failed("building clove-snapshot failed".into()));
    }
    let clove = root.join("target/release/clove-snapshot");
    let mut server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-snapshot".into()),
        image_compression: compression,
        ..Default::default()
    })?;
    let reference = server.screendump()?;
    let url = server.spice_url();
    let dir = server.qemu().dir().to_path_buf();
    println!("server {url} (image-compression={}), {RUNS} runs each, alternating", compression.as_str());

    let (mut gtk, mut ours) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let ppm = dir.join(format!("gtk-{i}.ppm"));
        gtk.push(time(Command::new("spicy-screenshot").arg(format!("--uri={url}")).arg("-o").arg(&ppm))?);
        check("spicy-screenshot", &Image::load_ppm(&ppm)?, &reference)?;
        let png = dir.join(format!("clove-{i}.png"));
        ours.push(time(Command::new(&clove).arg(&url).arg("--png").arg(&png))?);
        check("clove-snapshot", &Image::load_png(&png)?, &reference)?;
    }
    for (name, v) in [("spicy-screenshot", gtk), ("clove-snapshot", ours)] {
        let (median, min, max) = stats(v);
        println!("{name:<18} median {median:7.1} ms   min {min:7.1}   max {max:7.1}");
    }
    Ok(())
}

fn time(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let out = cmd.output().map_err(|e| Error::Failed(format!("{cmd:?}: {e}")))?;
    let d = t.elapsed();
    if !out.status.success() {
        return Err(Error::Failed(format!("{cmd:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr))));
    }
    Ok(d)
}

/// A benchmark of a wrong picture is worthless: compare every pixel.
fn check(who: &str, got: &Image, want: &Image) -> Result<()> {
    got.region_equals(want, 0, 0, want.width, want.height)
        .map_err(|m| Error::Failed(format!("{who}'s image differs from the server's: {m:?}")))
}
