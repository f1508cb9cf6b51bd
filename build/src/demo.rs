//! `cargo xtask demo`: the whole thin client on one machine. A QEMU SPICE
//! server VM (the Linux guest drawing the test image) on 127.0.0.1, and
//! Clove in a second QEMU (e1000 on `-netdev user`) that connects to it as
//! 10.0.2.2. With a display Clove's QEMU opens a window; without one it runs
//! headless and a screenshot of the thin client lands in
//! `target/clove/demo/` every few seconds. Ctrl+C stops both VMs (it
//! reaches both QEMUs: they are in our process group).

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use qemu_test::{ImageCompression, Qemu, QemuConfig, Serial, SpiceServer, SpiceServerConfig, Variant};

use crate::util::{Error, Result};
use crate::{deps, payload, run};

/// Headless: a screenshot this often.
const SHOT_EVERY: Duration = Duration::from_secs(3);
/// Numbered screenshots kept (the oldest are deleted).
const SHOTS_KEPT: u32 = 40;

struct Options {
    compression: ImageCompression,
    password: Option<String>,
    /// `None`: a window when there is a display.
    window: Option<bool>,
    nic: String,
}

fn parse(args: &[String]) -> Result<Options> {
    // QEMU's own default.
    let mut o = Options { compression: ImageCompression::AutoGlz, password: None, window: None, nic: "e1000".into() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |flag: &str| it.next().cloned().ok_or_else(|| Error::Usage(format!("demo: {flag} needs a value")));
        match a.as_str() {
            "--compression" => o.compression = value("--compression")?.parse().map_err(Error::Usage)?,
            "--password" => o.password = Some(value("--password")?),
            "--nic" => o.nic = value("--nic")?,
            "--headless" => o.window = Some(false),
            other => return Err(Error::Usage(format!("demo: unexpected argument {other:?}"))),
        }
    }
    Ok(o)
}

/// The directory the headless screenshots go to.
pub fn shots_dir() -> PathBuf {
    qemu_test::artifacts::artifacts_dir().join("demo")
}

/// Clove's command line for a server on the host's `port`.
fn clove_cmdline(port: u16, password: Option<&str>) -> String {
    let mut s = format!("server=spice://10.0.2.2:{port}");
    if let Some(p) = password {
        s.push_str(&format!(" password={p}"));
    }
    s
}

pub fn cmd(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let window = o.window.unwrap_or_else(run::has_display);
    deps::ensure()?;
    if window {
        deps::ensure_window()?;
    }
    let kernel = payload::build(&[Variant::Multiboot])?.remove(0);
    eprintln!("demo: booting the SPICE server VM (guest draws the test image; TCG, about 10-30 s)...");
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("demo-server".into()),
        image_compression: o.compression,
        password: o.password.clone(),
        ..Default::default()
    })?;
    eprintln!(
        "demo: server {} (image-compression={}) ready after {:.1} s; files in {}",
        server.spice_url(),
        o.compression.as_str(),
        server.done_after().as_secs_f64(),
        server.qemu().dir().display()
    );
    let config = QemuConfig::new(&kernel)
        .name("demo-clove")
        .cpu("max")
        .append(&clove_cmdline(server.port(), o.password.as_deref()))
        .user_net(&o.nic, "");
    if window {
        with_window(config, &server)
    } else {
        headless(config, &server)
    }
}

/// Clove in a QEMU window, serial on our stdout, until the window closes.
fn with_window(config: QemuConfig, server: &SpiceServer) -> Result<()> {
    let config = config.window(true).serial(Serial::Stdio);
    qemu_test::qemu::require_qemu(&config.binary)?;
    eprintln!("demo: {}", config.command_line());
    eprintln!("demo: Clove's window opens; close it or press Ctrl+C to stop both VMs");
    let status = config
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::Failed(format!("cannot start {}: {e}", config.binary)))?;
    eprintln!(
        "demo: Clove's QEMU ended ({status}); stopping the server (its files: {})",
        server.qemu().dir().display()
    );
    Ok(())
}

/// Clove headless: its serial log on stdout and a screenshot every few
/// seconds, until Ctrl+C or either QEMU exits.
fn headless(config: QemuConfig, server: &SpiceServer) -> Result<()> {
    let dir = shots_dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| Error::Failed(format!("clearing {}: {e}", dir.display())))?;
    }
    fs::create_dir_all(&dir).map_err(|e| Error::Failed(format!("creating {}: {e}", dir.display())))?;
    let mut clove = Qemu::start(config)?;
    eprintln!(
        "demo: headless (no DISPLAY): Clove's screen every {} s in {}/ (latest.png); Ctrl+C stops both VMs",
        SHOT_EVERY.as_secs(),
        dir.display()
    );
    eprintln!("demo: Clove's QEMU files in {}; its serial log follows", clove.dir().display());
    let mut shown = 0;
    let mut n = 0u32;
    let mut next_shot = Instant::now() + Duration::from_secs(1);
    loop {
        let serial = clove.serial();
        if serial.len() > shown {
            print!("{}", &serial[shown..]);
            let _ = std::io::stdout().flush();
            shown = serial.len();
        }
        if let Some(status) = clove.exit_status() {
            return Err(Error::Failed(format!("Clove's QEMU ended ({status}); stderr:\n{}", clove.stderr())));
        }
        if let Some(status) = server.qemu().exit_status() {
            return Err(Error::Failed(format!("the server's QEMU ended ({status})")));
        }
        if Instant::now() >= next_shot {
            next_shot += SHOT_EVERY;
            n += 1;
            let shot = clove.screendump()?;
            let path = dir.join(format!("clove-{n:04}.png"));
            shot.save_png(&path)?;
            let _ = fs::copy(&path, dir.join("latest.png"));
            if n > SHOTS_KEPT {
                let _ = fs::remove_file(dir.join(format!("clove-{:04}.png", n - SHOTS_KEPT)));
            }
            // Keep QEMU's work dir from filling up with PPMs.
            for e in fs::read_dir(clove.dir()).into_iter().flatten().flatten() {
                if e.path().extension().is_some_and(|x| x == "ppm") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_cmdline() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.compression, o.password, o.window, o.nic.as_str()),
            (ImageCompression::AutoGlz, None, None, "e1000")
        );
        let o = parse(&strings(&["--compression", "lz", "--password", "pw", "--headless", "--nic", "e1000e"])).unwrap();
        assert_eq!((o.compression, o.password.as_deref(), o.window), (ImageCompression::Lz, Some("pw"), Some(false)));
        assert_eq!(o.nic, "e1000e");
        assert!(matches!(parse(&strings(&["--compression", "lz9"])), Err(Error::Usage(_))));
        assert!(matches!(parse(&strings(&["--password"])), Err(Error::Usage(_))));
        assert!(matches!(parse(&strings(&["x"])), Err(Error::Usage(_))));
        assert_eq!(clove_cmdline(5930, None), "server=spice://10.0.2.2:5930");
        assert_eq!(clove_cmdline(5930, Some("pw")), "server=spice://10.0.2.2:5930 password=pw");
        assert!(shots_dir().ends_with("target/clove/demo"));
    }
}
