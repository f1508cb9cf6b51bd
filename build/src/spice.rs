//! `cargo xtask guest`: build the Linux guest for the SPICE server VM.
//! `cargo xtask spice-server`: run that VM in the foreground, for manual
//! testing with remote-viewer and for demos.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use qemu_test::guest::{Guest, GuestSpec, Scenario};
use qemu_test::{ImageCompression, SpiceServer, SpiceServerConfig, Vga};

use crate::deps;
use crate::util::{Error, Result};

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String> {
    it.next().ok_or_else(|| Error::Usage(format!("{flag} needs a value")))
}

fn size(path: &std::path::Path) -> Result<u64> {
    Ok(std::fs::metadata(path).map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?.len())
}

/// `guest [--module NAME]...`
pub fn guest_cmd(args: &[String]) -> Result<()> {
    let mut spec = GuestSpec::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--module" => spec.modules.push(value(&mut it, "guest: --module")?.clone()),
            other => return Err(Error::Usage(format!("guest: unexpected argument {other:?}"))),
        }
    }
    deps::ensure()?;
    let start = Instant::now();
    let img = Guest::build(&spec)?;
    let took = start.elapsed();
    println!(
        "guest: kernel {}, {} in {:.2} s",
        img.kernel_version,
        if img.cached { "cached" } else { "built" },
        took.as_secs_f64()
    );
    println!("  {} ({} bytes)", img.vmlinuz.display(), size(&img.vmlinuz)?);
    println!("  {} ({} bytes)", img.initrd.display(), size(&img.initrd)?);
    println!("  kernel command line: {}", qemu_test::guest::cmdline(&Scenario::default(), &[]));
    Ok(())
}

fn parse_server(args: &[String]) -> Result<SpiceServerConfig> {
    let mut config = SpiceServerConfig { name: Some("spice-server".into()), ..Default::default() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--compression" => {
                config.image_compression =
                    value(&mut it, "spice-server: --compression")?.parse::<ImageCompression>().map_err(Error::Usage)?
            }
            "--password" => config.password = Some(value(&mut it, "spice-server: --password")?.clone()),
            "--qxl" => config.vga = Vga::Qxl,
            "--idle" => config.scenario = Scenario::Idle,
            "--module" => {
                let m = value(&mut it, "spice-server: --module")?.clone();
                config.append.push(format!("clove.modules={m}"));
                config.guest.modules.push(m);
            }
            "--spice" => config.spice_options.push(value(&mut it, "spice-server: --spice")?.clone()),
            "--" => {
                config.extra_args = it.cloned().collect();
                break;
            }
            other => {
                return Err(Error::Usage(format!(
                    "spice-server: unexpected argument {other:?} (QEMU args go after --)"
                )))
            }
        }
    }
    Ok(config)
}

/// Runs the SPICE server VM until QEMU exits (Ctrl+C reaches QEMU too: it
/// is in our process group). Prints the URL, then the guest's serial log.
pub fn server_cmd(args: &[String]) -> Result<()> {
    let config = parse_server(args)?;
    deps::ensure()?;
    let password = config.password.clone();
    let compression = config.image_compression;
    eprintln!("spice-server: building the guest and booting it (TCG, about 10 s)...");
    let server = SpiceServer::start(config)?;
    let url = server.spice_url();
    println!("spice-server: {url}  (image-compression={})", compression.as_str());
    if let Some(p) = &password {
        println!("spice-server: password {p:?}");
    }
    println!(
        "spice-server: guest ready after {:.1} s, drawn after {:.1} s; QEMU files in {}",
        server.ready_after().as_secs_f64(),
        server.done_after().as_secs_f64(),
        server.qemu().dir().display()
    );
    println!("spice-server: try `remote-viewer {url}`; Ctrl+C stops the VM. Serial log:");
    let mut shown = 0;
    loop {
        let serial = server.qemu().serial();
        if serial.len() > shown {
            print!("{}", &serial[shown..]);
            let _ = std::io::stdout().flush();
            shown = serial.len();
        }
        if let Some(status) = server.qemu().exit_status() {
            println!("\nspice-server: QEMU ended ({status})");
            return Ok(());
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_server_options() {
        let c = parse_server(&strings(&[
            "--compression",
            "lz",
            "--password",
            "pw",
            "--qxl",
            "--module",
            "qxl",
            "--spice",
            "streaming-video=all",
            "--",
            "-usb",
        ]))
        .unwrap();
        assert_eq!(c.image_compression, ImageCompression::Lz);
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.vga, Vga::Qxl);
        assert_eq!(c.guest.modules, ["qxl"]);
        assert_eq!(c.append, ["clove.modules=qxl"]);
        assert_eq!(c.spice_options, ["streaming-video=all"]);
        assert_eq!(c.extra_args, ["-usb"]);
        let d = parse_server(&[]).unwrap();
        assert_eq!(d.image_compression, ImageCompression::AutoGlz);
        assert!(d.password.is_none());
        assert!(matches!(parse_server(&strings(&["--compression", "lz4"])), Err(Error::Usage(_))));
        assert!(matches!(parse_server(&strings(&["--password"])), Err(Error::Usage(_))));
        assert!(matches!(parse_server(&strings(&["-m"])), Err(Error::Usage(_))));
        assert_eq!(parse_server(&strings(&["--idle"])).unwrap().scenario, Scenario::Idle);
    }
}
