//! `cargo xtask bench netboot`: QEMU spawn of Clove → its first complete
//! remote frame when iPXE netboots it (`-boot n`, the kernel over TFTP or
//! HTTP), beside QEMU's `-kernel` and the GRUB ISO, against a SPICE server
//! VM that is already up; e1000 on `-netdev user`, TCG. The boot paths take
//! turns run by run, so a slow spell of the machine hits them all.

use std::path::Path;
use std::time::Duration;

use qemu_test::bootmedia::{self, KERNEL_FILE};
use qemu_test::http_server::HttpServer;
use qemu_test::{Boot, ImageCompression, Qemu, QemuConfig, SpiceServer, SpiceServerConfig};

use super::e2e::{median, parse_first_frame};
use crate::util::{Error, Result};

const RUNS: usize = 5;
const TIMEOUT: Duration = Duration::from_secs(120);

/// One boot path: its name and Clove's QEMU config.
struct Way {
    name: &'static str,
    config: QemuConfig,
    /// Host clock: QEMU spawn → first-frame line; Clove's clock: boot → first frame.
    runs: Vec<(Duration, u64)>,
}

fn one(way: &Way, i: usize) -> Result<(Duration, u64)> {
    let mut qemu = Qemu::start(way.config.clone().name(&format!("bench-netboot-{}-{i}", way.name)))?;
    qemu.set_poll_interval(Duration::from_millis(1));
    let line = qemu.wait_for_line("spice: first frame in ", TIMEOUT)?;
    let spawn_to_frame = qemu.started_at().elapsed();
    let (_, since_boot_ms, _) =
        parse_first_frame(&line).ok_or_else(|| Error::Failed(format!("unexpected first-frame line {line:?}")))?;
    let dir = qemu.dir().to_path_buf();
    drop(qemu);
    let _ = std::fs::remove_dir_all(dir);
    Ok((spawn_to_frame, since_boot_ms))
}

pub fn run(elf: &Path, compression: ImageCompression) -> Result<()> {
    eprintln!("bench netboot: booting the SPICE server VM (image-compression={})...", compression.as_str());
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some("bench-netboot-server".into()),
        image_compression: compression,
        ..Default::default()
    })?;
    let cmdline = format!("server=spice://10.0.2.2:{}", server.port());
    let media = bootmedia::media_dir("bench-netboot")?;
    let iso = media.join(bootmedia::ISO_FILE);
    let iso_size = bootmedia::build_iso(elf, &cmdline, &iso)?;
    let tftp = media.join("tftp");
    bootmedia::build_netboot_dir(elf, &cmdline, None, &tftp)?;
    let http_dir = media.join("http");
    let http = HttpServer::start(&http_dir)?;
    let url = format!("http://10.0.2.2:{}/{KERNEL_FILE}", http.port());
    bootmedia::build_netboot_dir(elf, &cmdline, Some(&url), &http_dir)?;

    let clove = |boot: Boot, net: &str| QemuConfig::booting(boot).cpu("max").user_net("e1000", net);
    let mut ways = [
        ("kernel", clove(Boot::Kernel(elf.to_path_buf()), "").append(&cmdline)),
        ("grub-iso", clove(Boot::Cdrom(iso), "")),
        ("ipxe-tftp", clove(Boot::Network, &bootmedia::tftp_options(&tftp))),
        ("ipxe-http", clove(Boot::Network, &bootmedia::tftp_options(&http_dir))),
    ]
    .map(|(name, config)| Way { name, config, runs: Vec::new() });
    for i in 1..=RUNS {
        for way in &mut ways {
            let (spawn, boot_ms) = one(way, i)?;
            println!(
                "run {i}: {:<10} spawn -> first frame {:>7.1} ms (Clove's boot -> frame {boot_ms:>5} ms)",
                way.name,
                spawn.as_secs_f64() * 1000.0
            );
            way.runs.push((spawn, boot_ms));
        }
    }
    let http_gets = http.requests().iter().filter(|r| r.status == 200).count();
    if http_gets != RUNS {
        return Err(Error::Failed(format!("the HTTP server answered {http_gets} downloads, expected {RUNS}")));
    }

    println!(
        "\nClove to a 1024x768 QEMU SPICE server (image-compression={}), e1000 on -netdev user, {RUNS} runs each, TCG",
        compression.as_str()
    );
    let elf_size = std::fs::metadata(elf).map_err(|e| Error::Failed(format!("{}: {e}", elf.display())))?.len();
    println!("GRUB ISO {iso_size} bytes ({} KiB); {KERNEL_FILE} {elf_size} bytes", iso_size / 1024);
    println!(
        "{:<10} {:>24} {:>10} {:>10} {:>26}",
        "", "spawn -> frame (median)", "min", "max", "spawn -> Clove (median)"
    );
    for way in &ways {
        let ms: Vec<f64> = way.runs.iter().map(|(d, _)| d.as_secs_f64() * 1000.0).collect();
        let before: Vec<f64> = way.runs.iter().map(|(d, b)| d.as_secs_f64() * 1000.0 - *b as f64).collect();
        let (min, max) = (ms.iter().copied().fold(f64::MAX, f64::min), ms.iter().copied().fold(0.0, f64::max));
        println!(
            "{:<10} {:>21.1} ms {min:>7.1} ms {max:>7.1} ms {:>23.1} ms",
            way.name,
            median(ms.clone()),
            median(before)
        );
    }
    Ok(())
}
