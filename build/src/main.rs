//! `cargo xtask <command>`: Clove's build, run, test and bench tasks.
//!
//! Everything QEMU-related goes through the `qemu-test` crate, so the flags
//! the tests use and the flags `run` uses are the same.
#![forbid(unsafe_code)]

mod bench;
mod bootmedia;
mod check;
mod coreboot;
mod demo;
mod deps;
mod fuzz;
mod payload;
mod replay;
mod run;
mod spice;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  deps [--bench]          check QEMU, its firmware, the guest's kernel and busybox and the
                          Rust target; install what is missing (--bench: spice-gtk and
                          what building its C decoders takes)
  demo [--compression C] [--password P] [--nic MODEL] [--headless]
                          the thin client end to end: a SPICE server VM drawing the test
                          image on 127.0.0.1, and Clove in a second QEMU connecting to it
                          (a window with a display, else screenshots every 3 s in
                          target/clove/demo/); Ctrl+C stops both VMs
  build [--pvh-only]      build clove.elf and clove-pvh.elf into target/clove/
                          (--pvh-only: only clove-pvh.elf)
  coreboot [--rom BASE.rom] [--config clove.cfg]
                          put clove.elf into a copy of a coreboot ROM as fallback/payload
                          (cbfstool add-payload -c lzma) with clove.cfg (raw):
                          target/clove/coreboot.rom; prints the payload's size in CBFS.
                          Without --rom: a CBFS-only image, just to measure
  iso [--append CMDLINE]  GRUB rescue ISO booting clove.elf through multiboot2 with CMDLINE:
                          target/clove/clove.iso (a CD, or dd it to a USB stick; BIOS)
  netboot [--append CMDLINE] [--kernel-url URL]
                          iPXE netboot dir target/clove/tftp/: clove.elf and boot.ipxe
                          (dhcp, then the kernel at URL, default clove.elf beside the script)
  run [--pvh-only] [--append CMDLINE] [-- QEMU-ARGS...]
                          boot the payload in QEMU: in a window when DISPLAY or
                          WAYLAND_DISPLAY is set, else headless; serial on stdout
  guest [--module NAME]...
                          build (or find cached) the Linux guest for the SPICE server VM
                          (target/guest/<hash>/): print its paths and sizes
  spice-server [--compression off|auto_glz|auto_lz|quic|glz|lz] [--password P] [--qxl]
               [--idle] [--module NAME] [--spice OPT] [-- QEMU-ARGS...]
                          run the SPICE server VM (the guest draws the known image) on
                          127.0.0.1 in the foreground; prints the spice:// URL, Ctrl+C stops
  replay CAPTURE.pcapng [--png OUT.png] [--fragments MAX]
                          feed a recorded session through spice-proto: message and image
                          counts per channel, time spent, and the final frame as a PNG
  snapshot spice://HOST[:PORT] --png OUT.png [--password P] [--settle MS]
           [--compression off|auto_glz|auto_lz|quic|glz|lz|lz4] [--timeout MS]
                          connect to a SPICE server, wait for the first complete frame,
                          write it as a PNG (also target/release/clove-snapshot)
  test                    the full gate: fmt, clippy, bare builds, all tests
  bench boot              time 10 boots (spawn to banner, spawn to exit)
  bench net [--nic M]...  DHCP lease time and 64 MiB TCP receive rate per NIC (e1000, e1000e,
                          virtio-net modern and legacy, rtl8139), or only the --nic ones
  bench decode [VECTORS]  decoder MB/s on VECTORS (default ../shared/vectors) against
                          spice-gtk's C decoders (Debian's source fetched with apt-get,
                          built in target/cbench/), alternating in one run; checks both
                          decode the same pixels
  bench e2e [--compression C]
                          Clove's QEMU spawn to its first remote frame (median of 10, TCG,
                          server already up) and the heap high-water mark
  bench netboot [--compression C]
                          the same through iPXE (TFTP, HTTP) and the GRUB ISO beside -kernel
                          (median of 5 each), and the ISO's size
  fuzz [TARGET] [--seconds N]
                          run cargo-fuzz targets (nightly): all of them, or one
  help                    this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => ("", &[][..]),
    };
    let result = match command {
        "deps" => deps::cmd(rest).map(|()| 0),
        "guest" => spice::guest_cmd(rest).map(|()| 0),
        "spice-server" => spice::server_cmd(rest).map(|()| 0),
        "demo" => demo::cmd(rest).map(|()| 0),
        "build" => payload::cmd(rest).map(|()| 0),
        "coreboot" => coreboot::cmd(rest).map(|()| 0),
        "iso" => bootmedia::iso_cmd(rest).map(|()| 0),
        "netboot" => bootmedia::netboot_cmd(rest).map(|()| 0),
        "run" => run::cmd(rest),
        "replay" => replay::cmd(rest).map(|()| 0),
        "snapshot" => Ok(xtask::snapshot::main(rest)),
        "test" => no_args(rest).and_then(|()| check::cmd()).map(|()| 0),
        "bench" => bench::cmd(rest).map(|()| 0),
        "fuzz" => fuzz::cmd(rest).map(|()| 0),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(0)
        }
        _ => {
            if !command.is_empty() {
                eprintln!("xtask: unknown command {command:?}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(util::Error::Usage(msg)) => {
            eprintln!("xtask: {msg}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn no_args(rest: &[String]) -> util::Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(a) => Err(util::Error::Usage(format!("unexpected argument {a:?}"))),
    }
}
