//! The status screen and the fault banner, compared pixel by pixel with a
//! rendering of the same text by the payload's own drawing code on the host.

use std::time::Duration;

use drivers::framebuffer::{line_height, FontSize};
use drivers::screen::{self, body_line_y, BACKGROUND, ERROR_BACKGROUND, TITLE_Y};
use qemu_test::image::{from_framebuffer, host_framebuffer as host_screen};
use qemu_test::{Display, Image, Qemu, QemuConfig, Variant};

const BOOT: Duration = Duration::from_secs(60);

fn title() -> String {
    format!("Clove {}", env!("CARGO_PKG_VERSION"))
}

/// The part after `display: ` in the payload's log.
fn display_line(serial: &str) -> String {
    let line =
        serial.lines().find(|l| l.contains("] display: ")).unwrap_or_else(|| panic!("no display line:\n{serial}"));
    line.split("] display: ").nth(1).unwrap().trim_end().to_string()
}

/// Boot with `configure`, wait for `ready`, and check that the screen shows
/// the title, the boot line and the display line exactly where the status
/// layout puts them, with nothing drawn below the text.
fn check_status_screen(name: &str, configure: impl FnOnce(QemuConfig) -> QemuConfig, size: (u32, u32), display: &str) {
    let mut qemu = Qemu::start(configure(QemuConfig::payload(Variant::Multiboot).unwrap().name(name))).unwrap();
    qemu.wait_for_line("ready", BOOT).unwrap();
    let serial = qemu.serial();
    let desc = display_line(&serial);
    assert!(desc.starts_with(display), "display line {desc:?} does not start with {display:?}");

    let shot = qemu.screendump().unwrap();
    assert_eq!((shot.width, shot.height), size, "screen size");

    let mut fb = host_screen(size.0, size.1);
    let boot = "Boot: multiboot1 (qemu)";
    let shown = format!("Display: {desc}");
    screen::draw_status(&mut fb, &title(), &[boot, "", "", &shown]);
    let want = from_framebuffer(&fb);

    let normal = line_height(FontSize::Normal);
    let bands = [
        ("title", TITLE_Y as u32, line_height(FontSize::Title)),
        ("boot-line", body_line_y(0) as u32, normal),
        ("display-line", body_line_y(3) as u32, normal),
    ];
    for (band, y, h) in bands {
        qemu.check_region(&format!("{name}-{band}"), &shot, &want, (0, y, size.0, h)).unwrap();
    }
    // The status text ends well above the bottom: the last rows are plain.
    shot.region_is(BACKGROUND, 0, size.1 - 40, size.0, 40).unwrap();
}

#[test]
fn status_screen_on_std_vga() {
    check_status_screen("std-vga", |c| c.display(Display::StdVga), (1024, 768), "1024x768x32 Bochs VBE (std VGA) at ");
}

#[test]
fn status_screen_on_bochs_display() {
    check_status_screen(
        "bochs-display",
        |c| c.display(Display::BochsDisplay),
        (1024, 768),
        "1024x768x32 Bochs VBE (bochs-display) at ",
    );
}

#[test]
fn status_screen_on_qxl_vga_mode() {
    check_status_screen("qxl", |c| c.display(Display::Qxl), (1024, 768), "1024x768x32 Bochs VBE (QXL VGA mode) at ");
}

#[test]
fn mode_from_the_command_line() {
    check_status_screen(
        "mode-800x600",
        |c| c.display(Display::BochsDisplay).append("mode=800x600"),
        (800, 600),
        "800x600x32 Bochs VBE (bochs-display) at ",
    );
}

/// Boot with `test-fault=…`; return QEMU and the serial log once the fault
/// has been reported.
fn fault(kind: &str, expect: &str) -> (Qemu, String) {
    let cfg = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("fault-{kind}"))
        .append(&format!("test-fault={kind}"));
    let qemu = Qemu::start(cfg).unwrap();
    qemu.wait_for_line(expect, BOOT).unwrap();
    // Printed once the banner is on screen.
    qemu.wait_for_line("halted", BOOT).unwrap();
    let serial = qemu.serial();
    (qemu, serial)
}

/// The red banner over the bottom third, with `title` at its top.
fn check_banner(qemu: &mut Qemu, name: &str, title: &str) -> Image {
    let shot = qemu.screendump().unwrap();
    let (w, h) = (shot.width, shot.height);
    let top = h / 3 * 2;
    // Corners of the banner, and the status screen untouched above it.
    shot.region_is(ERROR_BACKGROUND, 0, top, 16, 16).unwrap();
    shot.region_is(ERROR_BACKGROUND, w - 16, h - 16, 16, 16).unwrap();
    shot.region_is(BACKGROUND, 0, top - 16, w, 16).unwrap();
    let mut fb = host_screen(w, h);
    screen::draw_error(&mut fb, title, "");
    let want = from_framebuffer(&fb);
    let title_y = top + 16;
    qemu.check_region(name, &shot, &want, (0, title_y, w, line_height(FontSize::Title))).unwrap();
    shot
}

#[test]
fn panic_is_reported_on_serial_and_screen() {
    let (mut qemu, serial) = fault("panic", "test-fault=panic asked for a panic");
    assert!(serial.contains("PANIC: panicked at"), "serial:\n{serial}");
    check_banner(&mut qemu, "panic-banner", "PANIC");
}

#[test]
fn stack_overflow_hits_the_guard_page() {
    let (mut qemu, serial) = fault("stack", "CPU exception: page fault (14)");
    assert!(serial.contains("stack overflow (hit the guard page)"), "serial:\n{serial}");
    check_banner(&mut qemu, "stack-banner", "CPU exception");
}

#[test]
fn fault_under_test_exit_leaves_qemu_with_the_panic_status() {
    let cfg = QemuConfig::payload(Variant::Multiboot).unwrap().name("fault-exit").append("test-exit test-fault=panic");
    let qemu = Qemu::start(cfg).unwrap();
    // Guest status 1 (panic) → QEMU exit code 3.
    assert_eq!(qemu.wait_exit(BOOT).unwrap(), 3, "serial:\n{}", qemu.serial());
    assert!(qemu.serial().contains("PANIC: "));
}
