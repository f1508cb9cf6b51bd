//! Clove as a coreboot payload: coreboot's handoff recreated by a shim
//! (qemu-test/src/coreboot.rs), with `clove.cfg` in a CBFS in the `-bios`
//! flash below SeaBIOS.

use std::path::PathBuf;
use std::time::Duration;

use drivers::framebuffer::{line_height, FontSize};
use drivers::screen::{self, body_line_y, BACKGROUND, ERROR_BACKGROUND, TITLE_Y};
use qemu_test::coreboot::{self, Fault, Handoff};
use qemu_test::image::{from_framebuffer, host_framebuffer};
use qemu_test::{artifacts, Display, Qemu, QemuConfig, Variant};

const BOOT: Duration = Duration::from_secs(60);

/// The flash's clove.cfg: a comment, keys Clove takes, a bad value and an
/// unknown key (reported by line number).
const CONFIG: &str =
    "# Clove on coreboot\nmode=1024x768\n\ncompression=zstd\n# static\nip=10.0.2.15/24\nfrobnicate=1\n";

fn start(name: &str, config: Option<&str>, fault: Fault) -> Qemu {
    let dir: PathBuf = artifacts::target_dir().join("qemu-test").join("coreboot-handoff").join(name);
    let elf = artifacts::payload(Variant::Multiboot).unwrap();
    let Handoff { shim, loader, flash } = coreboot::prepare(&dir, &elf, config, fault).unwrap();
    let cfg = QemuConfig::new(shim)
        .name(name)
        .memory(coreboot::RAM)
        .display(Display::StdVga)
        .device(&loader)
        .extra_args(["-bios".to_string(), flash.to_string_lossy().into_owned()]);
    Qemu::start(cfg).unwrap()
}

/// The text after `] ` of the one line containing `needle`.
fn line_with<'a>(serial: &'a str, needle: &str) -> &'a str {
    let found: Vec<&str> = serial.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(found.len(), 1, "expected one line with {needle:?}; serial:\n{serial}");
    found[0].split_once("] ").map_or(found[0], |(_, rest)| rest).trim_end()
}

#[test]
fn boots_from_the_coreboot_table_with_clove_cfg_from_cbfs() {
    let mut qemu = start("coreboot-handoff", Some(CONFIG), Fault::None);
    qemu.wait_for_line("] ready", BOOT).unwrap();
    let serial = qemu.serial();

    let loader = format!("coreboot {}", coreboot::VERSION);
    assert_eq!(line_with(&serial, "] boot: "), format!("boot: coreboot cmdline=\"\" loader=\"{loader}\""));
    assert_eq!(line_with(&serial, "coreboot: table at"), format!("coreboot: table at {:#x}", coreboot::TABLE_ADDR));
    // Only the RAM ranges, in the table's order.
    let memory: Vec<&str> = serial.lines().filter(|l| l.contains("] memory: 0x")).collect();
    assert_eq!(memory.len(), 2, "serial:\n{serial}");
    assert!(memory[0].ends_with("memory: 0x0000000000001000-0x00000000000a0000 available"), "{memory:?}");
    assert!(memory[1].ends_with("memory: 0x0000000000100000-0x000000000fe00000 available"), "{memory:?}");
    assert_eq!(line_with(&serial, "coreboot: serial"), "coreboot: serial io 0x3f8 115200 baud");
    let media = line_with(&serial, "coreboot: boot media");
    assert!(media.starts_with("coreboot: boot media 0xfffb0000+0x50000, CBFS at +0x0 (64 KiB)"), "{media}");
    assert_eq!(
        line_with(&serial, "framebuffer: loader's"),
        "framebuffer: loader's 800x600x32 at 0xfd000000, pitch 3200"
    );
    let display = line_with(&serial, "] display: ");
    assert_eq!(display, "display: 800x600x32 loader framebuffer");

    // clove.cfg came from CBFS through the configuration merge: values with
    // their line, bad lines by number, the others still applied.
    assert_eq!(line_with(&serial, "config: mode="), "config: mode=1024x768 (from CBFS clove.cfg line 2)");
    assert_eq!(line_with(&serial, "config: ip="), "config: ip=10.0.2.15/24 (from CBFS clove.cfg line 6)");
    let bad = line_with(&serial, "line 4: ");
    assert!(bad.starts_with("config: error: CBFS clove.cfg line 4: bad value for compression="), "{bad}");
    assert_eq!(line_with(&serial, "line 7: "), "config: error: CBFS clove.cfg line 7: unknown key \"frobnicate\"");

    // The status screen, pixel for pixel, on coreboot's 800x600 framebuffer.
    let shot = qemu.screendump().unwrap();
    assert_eq!((shot.width, shot.height), coreboot::FB_SIZE, "screen size");
    let (w, h) = coreboot::FB_SIZE;
    let mut fb = host_framebuffer(w, h);
    let boot = format!("Boot: coreboot ({loader})");
    let shown = format!("Display: {}", display.trim_start_matches("display: "));
    screen::draw_status(
        &mut fb,
        &format!("Clove {}", env!("CARGO_PKG_VERSION")),
        &[&boot, "", "", &shown, "Config: CBFS clove.cfg"],
    );
    let want = from_framebuffer(&fb);
    let normal = line_height(FontSize::Normal);
    let bands = [
        ("title", TITLE_Y as u32, line_height(FontSize::Title)),
        ("boot-line", body_line_y(0) as u32, normal),
        ("display-line", body_line_y(3) as u32, normal),
        ("config-line", body_line_y(4) as u32, normal),
    ];
    for (band, y, bh) in bands {
        qemu.check_region(&format!("coreboot-{band}"), &shot, &want, (0, y, w, bh)).unwrap();
    }
    shot.region_is(BACKGROUND, 0, h - 40, w, 40).unwrap();
}

#[test]
fn bad_table_checksum_is_a_boot_error() {
    let mut qemu = start("coreboot-bad-checksum", None, Fault::TableChecksum);
    qemu.wait_for_line("halted", BOOT).unwrap();
    let serial = qemu.serial();
    assert_eq!(
        line_with(&serial, "] boot error: "),
        format!("boot error: coreboot table at {:#x} has a bad checksum", coreboot::TABLE_ADDR)
    );
    // Without a usable table Clove finds the std VGA itself: the red banner.
    let shot = qemu.screendump().unwrap();
    let (w, h) = (shot.width, shot.height);
    shot.region_is(ERROR_BACKGROUND, 0, h / 3 * 2, 16, 16).unwrap();
    shot.region_is(ERROR_BACKGROUND, w - 16, h - 16, 16, 16).unwrap();
}
