//! The local setup screen end to end: Clove boots with a server where
//! nothing listens, F2 opens the setup screen while it retries, keys
//! injected through QMP edit the server and password, and Clove connects
//! to the real SPICE server typed in, with its password. The VMs have hard
//! timeouts and are killed when the test ends.

use std::time::Duration;

use drivers::framebuffer::{line_height, text_width, FbInfo, FontSize, Framebuffer, PixelFormat, VecMemory};
use drivers::ps2::keys;
use drivers::screen::{self, BACKGROUND, MARGIN, TITLE_Y};
use drivers::setup::SetupForm;
use qemu_test::e2e::{one_at_a_time, server_config, wait_for_same_frame, FIRST_FRAME, SAME_FRAME};
use qemu_test::image::{from_framebuffer, Image};
use qemu_test::input as inject;
use qemu_test::{ImageCompression, Qemu, QemuConfig, Scenario, SpiceServer, Variant};

/// Boot → the first failed attempt on the connecting screen.
const RETRYING: Duration = Duration::from_secs(90);
/// A key → the setup screen's answer on serial.
const ANSWER: Duration = Duration::from_secs(30);

fn host_screen() -> Framebuffer<VecMemory> {
    let info = FbInfo { base: 0, width: 1024, height: 768, pitch: 4096, format: PixelFormat::XRGB8888 };
    let mut fb = Framebuffer::new(info, VecMemory::zeroed(4096 * 768)).unwrap();
    fb.clear(BACKGROUND);
    fb
}

/// Clove's screen shows `form`'s panel exactly.
fn check_panel(q: &Qemu, name: &str, shot: &Image, form: &SetupForm) {
    let mut fb = host_screen();
    let lines = form.lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (x, y, w, h) = screen::draw_panel(&mut fb, "Clove setup", &refs);
    q.check_region(name, shot, &from_framebuffer(&fb), (x as u32, y as u32, w, h)).unwrap();
}

/// Empties the focused field (cursor at its end) of up to `n` characters.
fn clear(q: &mut Qemu, n: usize) {
    inject::tap(q, "end").unwrap();
    for _ in 0..n {
        inject::tap(q, "backspace").unwrap();
    }
}

#[test]
fn f2_sets_server_and_password_and_clove_connects() {
    let _turn = one_at_a_time();
    let name = "setup-f2";
    let password = "Setup-pw7";
    let mut server =
        SpiceServer::start(server_config(name, Some(password), ImageCompression::Off, Scenario::default())).unwrap();
    let first = "spice://10.0.2.2:1";
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .append(&format!("server={first}"))
        .user_net("e1000", "");
    let mut q = Qemu::start(config).unwrap();
    q.wait_for_line("spice: error: ", RETRYING).unwrap();

    // The connecting screen names the hot key.
    let shot = q.screendump().unwrap();
    let mut fb = host_screen();
    screen::draw_hint(&mut fb, "F2: setup");
    let hint_w = text_width("F2: setup", FontSize::Normal);
    let hint = (1024 - MARGIN as u32 - hint_w, TITLE_Y as u32, hint_w, line_height(FontSize::Normal));
    q.check_region(&format!("{name}-hint"), &shot, &from_framebuffer(&fb), hint).unwrap();

    let mark = q.serial_mark();
    inject::tap(&mut q, "f2").unwrap();
    q.wait_for_line_after(mark, "setup: open", ANSWER).unwrap();
    let shot = q.screendump().unwrap();
    check_panel(&q, &format!("{name}-open"), &shot, &SetupForm::new("spice://10.0.2.2:1", ""));

    // An invalid server keeps the panel open, with the parser's message.
    clear(&mut q, first.len());
    inject::type_text(&mut q, "spice://\n").unwrap();
    let line = q.wait_for_line_after(mark, "setup: not applied: ", ANSWER).unwrap();
    assert!(line.ends_with("setup: not applied: Server: no host in the URL"), "{line}");
    let mut invalid = SetupForm::new("spice://", "");
    invalid.key(keys::ENTER, false, false);
    let shot = q.screendump().unwrap();
    check_panel(&q, &format!("{name}-invalid"), &shot, &invalid);

    // The right server, Tab, the password, Enter.
    clear(&mut q, "spice://".len());
    let url = format!("spice://10.0.2.2:{}", server.port());
    inject::type_text(&mut q, &url).unwrap();
    inject::tap(&mut q, "tab").unwrap();
    inject::type_text(&mut q, &format!("{password}\n")).unwrap();
    let applied = format!("setup: server={url} password=*** (from setup screen)");
    q.wait_for_line_after(mark, &applied, ANSWER).unwrap();

    q.wait_for_line_after(mark, "spice: first frame in ", FIRST_FRAME).unwrap();
    wait_for_same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME).unwrap();
    let serial = q.serial();
    assert!(!serial.contains(password), "the password is in the log:\n{serial}");
    assert!(serial.contains(&format!("spice: connecting to 10.0.2.2:{}", server.port())), "{serial}");
}
