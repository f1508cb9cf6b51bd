//! Clove booted the way real machines boot it, with no `-kernel`: from a
//! GRUB ISO (SeaBIOS boots the CD or a USB stick, GRUB loads Clove through
//! multiboot2) and by iPXE from the NIC's option ROM (`-boot n`, the kernel
//! over TFTP or HTTP, multiboot1). Each one reaches a real SPICE server VM
//! on 127.0.0.1 and must show exactly the server's frame.
//!
//! The boot media are built per test into `target/qemu-test/<name>-media-*`
//! with that test's command line (the server's port differs per run).

use std::time::Duration;

use qemu_test::bootmedia::{self, KERNEL_FILE};
use qemu_test::e2e::{one_at_a_time, server_config, wait_for_same_frame, FIRST_FRAME, SAME_FRAME};
use qemu_test::http_server::{HttpServer, Request};
use qemu_test::{artifacts, Boot, ImageCompression, Qemu, QemuConfig, Scenario, SpiceServer, Variant};

/// QEMU spawn → Clove's boot line, through the firmware and the loader.
const BOOTED: Duration = Duration::from_secs(90);

fn server(name: &str) -> SpiceServer {
    SpiceServer::start(server_config(name, None, ImageCompression::Off, Scenario::default()))
        .unwrap_or_else(|e| panic!("{name}: server: {e}"))
}

/// Clove's VM booting `boot`, with an e1000 on `-netdev user` (`net_options`).
fn clove(name: &str, boot: Boot, net_options: &str) -> Qemu {
    let config = QemuConfig::booting(boot).name(&format!("{name}-clove")).cpu("max").user_net("e1000", net_options);
    Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"))
}

/// Waits for Clove's boot line and checks the protocol, command line and loader.
fn check_boot_line(q: &Qemu, protocol: &str, cmdline: &str, loader: &str) {
    let line = q.wait_for_line("boot: ", BOOTED).unwrap();
    let want = format!("boot: {protocol} cmdline=\"{cmdline}\" loader=\"{loader}");
    assert!(line.contains(&want), "{line:?} does not contain {want:?}");
}

/// Waits for the first frame; Clove's whole screen must then equal the server's.
fn check_frame(name: &str, q: &mut Qemu, server: &mut SpiceServer) {
    let line = q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let spawn_to_frame = q.started_at().elapsed();
    let theirs = server.screendump().unwrap();
    assert_eq!((theirs.width, theirs.height), (1024, 768));
    let took = wait_for_same_frame(name, q, server.qemu_mut(), SAME_FRAME).unwrap();
    assert!(!q.serial().contains("draw error"), "{}", q.serial());
    eprintln!(
        "{name}: {line} (QEMU spawn to first frame {:.2} s; same frame {:.1} s later)",
        spawn_to_frame.as_secs_f64(),
        took.as_secs_f64()
    );
}

#[test]
fn grub_iso_boots_through_multiboot2_and_shows_the_server() {
    let _turn = one_at_a_time();
    let name = "boot-iso";
    let mut server = server(name);
    let cmdline = format!("server=spice://10.0.2.2:{}", server.port());
    let iso = bootmedia::media_dir(name).unwrap().join(bootmedia::ISO_FILE);
    let elf = artifacts::payload(Variant::Multiboot).unwrap();
    let size = bootmedia::build_iso(&elf, &cmdline, &iso).unwrap();
    eprintln!("{name}: {} is {size} bytes", iso.display());

    let mut q = clove(name, Boot::Cdrom(iso), "");
    check_boot_line(&q, "multiboot2", &cmdline, "GRUB ");
    // GRUB set up the 1024x768x32 framebuffer the multiboot2 header asks
    // for: Clove keeps it, and the server's 1024x768 frame fills it exactly.
    let display = q.wait_for_line("display: ", BOOTED).unwrap();
    assert!(display.contains("display: 1024x768x32 loader framebuffer"), "{display}");
    check_frame(name, &mut q, &mut server);
}

/// The ISO is hybrid: written to a USB stick it boots from the stick too.
#[test]
fn grub_iso_boots_from_a_usb_stick() {
    let name = "boot-usb";
    let iso = bootmedia::media_dir(name).unwrap().join(bootmedia::ISO_FILE);
    let elf = artifacts::payload(Variant::Multiboot).unwrap();
    bootmedia::build_iso(&elf, "test-exit mode=800x600", &iso).unwrap();
    let q = Qemu::start(QemuConfig::booting(Boot::UsbStick(iso)).name(name)).unwrap();
    check_boot_line(&q, "multiboot2", "test-exit mode=800x600", "GRUB ");
    assert_eq!(q.wait_exit(BOOTED).unwrap(), 1, "test-exit: QEMU exits with 1\n{}", q.serial());
}

/// iPXE from QEMU's e1000 ROM: DHCP hands it `boot.ipxe` over TFTP, which
/// loads `clove.elf` first over TFTP, then from a host HTTP server.
#[test]
fn ipxe_netboots_over_tftp_and_http_and_shows_the_server() {
    let _turn = one_at_a_time();
    let name = "boot-ipxe";
    let mut server = server(name);
    let cmdline = format!("server=spice://10.0.2.2:{}", server.port());
    let elf = artifacts::payload(Variant::Multiboot).unwrap();

    // TFTP: boot.ipxe names clove.elf relative to itself.
    let tftp = bootmedia::media_dir(&format!("{name}-tftp")).unwrap();
    bootmedia::build_netboot_dir(&elf, &cmdline, None, &tftp).unwrap();
    let mut q = clove(name, Boot::Network, &bootmedia::tftp_options(&tftp));
    // iPXE puts the kernel's URL first; Clove skips that word.
    check_boot_line(&q, "multiboot1", &format!("tftp://10.0.2.2/{KERNEL_FILE} {cmdline}"), "iPXE ");
    // iPXE sets no video mode: Clove sets the Bochs VBE mode itself.
    let display = q.wait_for_line("display: ", BOOTED).unwrap();
    assert!(display.contains("Bochs VBE"), "{display}");
    check_frame(&format!("{name}-tftp"), &mut q, &mut server);
    drop(q);

    // HTTP: the same script, but the kernel from http://10.0.2.2:PORT/.
    let dir = bootmedia::media_dir(&format!("{name}-http")).unwrap();
    let http = HttpServer::start(&dir).unwrap();
    let url = format!("http://10.0.2.2:{}/{KERNEL_FILE}", http.port());
    bootmedia::build_netboot_dir(&elf, &cmdline, Some(&url), &dir).unwrap();
    let mut q = clove(name, Boot::Network, &bootmedia::tftp_options(&dir));
    check_boot_line(&q, "multiboot1", &format!("{url} {cmdline}"), "iPXE ");
    check_frame(&format!("{name}-http"), &mut q, &mut server);
    let elf_size = std::fs::metadata(&elf).unwrap().len();
    let want = Request { method: "GET".into(), target: format!("/{KERNEL_FILE}"), status: 200, bytes: elf_size };
    assert_eq!(http.requests(), [want], "one whole download of the kernel");
}
