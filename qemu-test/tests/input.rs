//! Keyboard and mouse end to end: keys and mouse events are injected (QMP
//! `input-send-event`) into Clove's VM, whose PS/2 devices Clove polls and
//! forwards over SPICE to a QEMU SPICE server VM; that guest runs a shell on
//! its keyboard's VT with output on its serial port, and logs its mouse's
//! packets there ([`Scenario::Shell`]). So what the server's serial shows is
//! what went all the way through Clove.
//!
//! Every test starts its own server and Clove VMs with hard timeouts; both
//! are killed when the test ends (`Qemu` kills on drop, also on a panic).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use qemu_test::guest::{self, GuestSpec, Scenario};
use qemu_test::input as inject;
use qemu_test::{ImageCompression, Qemu, QemuConfig, SpiceServer, SpiceServerConfig, Variant};

const SERVER_BOOT: Duration = Duration::from_secs(120);
const FIRST_FRAME: Duration = Duration::from_secs(120);
/// A typed line → the guest's answer on its serial port.
const ANSWER: Duration = Duration::from_secs(30);
/// As in e2e.rs: a loaded TCG host can fail Linux's timer check.
const SERVER_APPEND: &str = "no_timer_check";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The server VM with the shell guest, and Clove connected to it with its
/// inputs channel up and the guest's prompt shown.
fn pair(name: &str) -> (SpiceServer, Qemu) {
    let server = SpiceServer::start(SpiceServerConfig {
        name: Some(format!("{name}-server")),
        image_compression: ImageCompression::Off,
        scenario: Scenario::Shell,
        guest: GuestSpec { modules: vec!["psmouse".into()], ..Default::default() },
        append: vec![SERVER_APPEND.into(), "clove.modules=psmouse".into()],
        boot_timeout: SERVER_BOOT,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{name}: server: {e}"));
    guest::wait_for_prompt(server.qemu(), SERVER_BOOT).unwrap();
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let clove = Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"));
    clove.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    clove.wait_for_line("spice: linked inputs", FIRST_FRAME).unwrap();
    let serial = clove.serial();
    assert!(serial.contains("input: i8042 keyboard, mouse with wheel (IntelliMouse)"), "{serial}");
    (server, clove)
}

/// Types `text` into Clove's VM and waits for `answer` on the server's
/// serial, after what it printed so far.
fn type_and_expect(clove: &mut Qemu, server: &SpiceServer, text: &str, answer: &str) -> String {
    let mark = server.qemu().serial_mark();
    inject::type_text(clove, text).unwrap();
    server.qemu().wait_for_line_after(mark, answer, ANSWER).unwrap_or_else(|e| {
        panic!("{answer:?} after typing {text:?}: {e}\nclove:\n{}", qemu_test::serial::tail(&clove.serial(), 30))
    })
}

#[test]
fn keys_reach_the_guest_shell() {
    let _turn = serial_turn();
    let name = "input-keys";
    let (server, mut clove) = pair(name);
    // Digits, shifted characters ($ ( * )) and Enter.
    type_and_expect(&mut clove, &server, "echo KEY-$((6*7))\n", "KEY-42");

    // Extended keys: Home goes back to the line's start, Left one character.
    let mark = server.qemu().serial_mark();
    inject::type_text(&mut clove, "cho HOME-$((1+1))").unwrap();
    inject::tap(&mut clove, "home").unwrap();
    inject::type_text(&mut clove, "e\n").unwrap();
    server.qemu().wait_for_line_after(mark, "HOME-2", ANSWER).unwrap();
    let mark = server.qemu().serial_mark();
    inject::type_text(&mut clove, "echo LEFT-ac").unwrap();
    inject::tap(&mut clove, "left").unwrap();
    inject::type_text(&mut clove, "b\n").unwrap();
    server.qemu().wait_for_line_after(mark, "LEFT-abc", ANSWER).unwrap();

    // Typematic repeat: a key held down sends its make code again and
    // again (QEMU's keyboard sends one per injected press); each must reach
    // the guest as another press. Like a real keyboard, the repeats start
    // after a delay (Linux's atkbd takes earlier ones for key bounce).
    inject::type_text(&mut clove, "echo REP-").unwrap();
    for _ in 0..3 {
        inject::key(&mut clove, "x", true).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    inject::key(&mut clove, "x", false).unwrap();
    type_and_expect(&mut clove, &server, "\n", "REP-xxx");

    // Caps Lock through Clove: the guest types capitals, and its lock
    // state comes back to Clove's LEDs.
    let clove_mark = clove.serial_mark();
    inject::type_text(&mut clove, "echo ").unwrap();
    inject::tap(&mut clove, "caps_lock").unwrap();
    clove.wait_for_line_after(clove_mark, "spice: guest lock keys caps", ANSWER).unwrap();
    inject::type_text(&mut clove, "led").unwrap();
    inject::tap(&mut clove, "caps_lock").unwrap();
    type_and_expect(&mut clove, &server, "-ok\n", "LED-ok");
    clove.wait_for_line_after(clove_mark, "spice: guest lock keys none", ANSWER).unwrap();
    let log = clove.serial();
    assert!(log.contains("input: leds caps") && log.contains("input: leds none"), "{log}");

    // Ctrl+Alt+Del is the guest's: armed to reboot at once, its kernel
    // restarts, and the server's QEMU (-no-reboot) exits.
    type_and_expect(&mut clove, &server, "echo 1 >/proc/sys/kernel/ctrl-alt-del; echo CAD-$((1+1))\n", "CAD-2");
    inject::chord(&mut clove, &["ctrl", "alt", "delete"]).unwrap();
    server.qemu().wait_exit(ANSWER).expect("the guest did not restart on Ctrl+Alt+Del");
}

#[test]
fn menu_hot_key_keeps_keys_local_and_restores_the_desktop() {
    let _turn = serial_turn();
    let name = "input-menu";
    let (mut server, mut clove) = pair(name);
    type_and_expect(&mut clove, &server, "echo BEFORE-$((1+2))\n", "BEFORE-3");
    let before = clove.screendump().unwrap();

    let mark = clove.serial_mark();
    inject::chord(&mut clove, &["ctrl", "alt", "f12"]).unwrap();
    clove.wait_for_line_after(mark, "spice: menu open", ANSWER).unwrap();
    let menu = clove.screendump().unwrap();
    assert!(menu.region_equals(&before, 0, 0, before.width, before.height).is_err(), "the menu is on screen");
    // Typed while the menu is open: must not reach the guest.
    inject::type_text(&mut clove, "echo LEAKED\n").unwrap();
    inject::tap(&mut clove, "esc").unwrap();
    clove.wait_for_line_after(mark, "spice: menu closed", ANSWER).unwrap();
    type_and_expect(&mut clove, &server, "echo AFTER-$((2+3))\n", "AFTER-5");
    assert!(!server.qemu().serial().contains("LEAKED"), "{}", server.qemu().serial());

    // The desktop is back: Clove shows the server's frame again.
    let start = Instant::now();
    loop {
        let theirs = server.screendump().unwrap();
        let ours = clove.screendump().unwrap();
        if ours.region_equals(&theirs, 0, 0, theirs.width, theirs.height).is_ok() || start.elapsed() > ANSWER {
            clove.check_region(name, &ours, &theirs, (0, 0, theirs.width, theirs.height)).unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // R in the menu reconnects; keys work on the new session.
    let mark = clove.serial_mark();
    inject::chord(&mut clove, &["ctrl_r", "alt_r", "f12"]).unwrap();
    clove.wait_for_line_after(mark, "spice: menu open", ANSWER).unwrap();
    inject::tap(&mut clove, "r").unwrap();
    clove.wait_for_line_after(mark, "spice: connection lost: reconnect asked from the menu", ANSWER).unwrap();
    clove.wait_for_line_after(mark, "spice: first frame in ", FIRST_FRAME).unwrap();
    clove.wait_for_line_after(mark, "spice: linked inputs", FIRST_FRAME).unwrap();
    type_and_expect(&mut clove, &server, "echo AGAIN-$((3+4))\n", "AGAIN-7");
}

/// `MOUSE <flags> <dx> <dy> <wheel>` lines in `text`.
fn packets(text: &str) -> Vec<(i32, i32, i32, i32)> {
    text.lines()
        .filter_map(|l| l.trim_end().split(guest::MOUSE).nth(1))
        .filter_map(|rest| {
            let v: Vec<i32> = rest.split_whitespace().filter_map(|n| n.parse().ok()).collect();
            (v.len() == 4).then(|| (v[0], v[1], v[2], v[3]))
        })
        .collect()
}

#[test]
fn mouse_motion_and_buttons_reach_the_guest() {
    let _turn = serial_turn();
    let name = "input-mouse";
    let (server, mut clove) = pair(name);
    assert!(clove.serial().contains("spice: mouse mode server"), "{}", clove.serial());
    let since = |mark| server.qemu().serial()[mark..].to_string();

    // Right: positive dx in the guest.
    let mark = server.qemu().serial().len();
    let deadline = Instant::now() + ANSWER;
    let right = loop {
        inject::motion(&mut clove, 20, 0).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let p = packets(&since(mark));
        if p.iter().map(|&(_, dx, _, _)| dx).sum::<i32>() >= 20 || Instant::now() > deadline {
            break p;
        }
    };
    assert!(right.iter().map(|&(_, dx, _, _)| dx).sum::<i32>() >= 20, "moving right: {right:?}");
    assert!(right.iter().all(|&(_, dx, dy, _)| dx >= 0 && dy == 0), "moving right: {right:?}");

    // Down on screen: negative dy in a PS/2 packet.
    let mark = server.qemu().serial().len();
    inject::motion(&mut clove, 0, 25).unwrap();
    let deadline = Instant::now() + ANSWER;
    let down = loop {
        std::thread::sleep(Duration::from_millis(300));
        let p = packets(&since(mark));
        if p.iter().map(|&(_, _, dy, _)| dy).sum::<i32>() <= -25 || Instant::now() > deadline {
            break p;
        }
    };
    assert!(down.iter().map(|&(_, _, dy, _)| dy).sum::<i32>() <= -25, "moving down: {down:?}");
    assert!(down.iter().all(|&(_, dx, dy, _)| dx == 0 && dy <= 0), "moving down: {down:?}");

    // Left button down, then up: bit 0 of the flags byte.
    for (down, want) in [(true, 1), (false, 0)] {
        let mark = server.qemu().serial().len();
        inject::button(&mut clove, "left", down).unwrap();
        let deadline = Instant::now() + ANSWER;
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let p = packets(&since(mark));
            if let Some(&(flags, _, _, _)) = p.last() {
                assert_eq!(flags & 7, want, "left button {down}: {p:?}");
                break;
            }
            assert!(Instant::now() < deadline, "no packet for the left button going {down}");
        }
    }
    // The wheel, one notch up: negative in an IntelliMouse packet.
    let mark = server.qemu().serial().len();
    inject::button(&mut clove, "wheel-up", true).unwrap();
    inject::button(&mut clove, "wheel-up", false).unwrap();
    let deadline = Instant::now() + ANSWER;
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let p = packets(&since(mark));
        if let Some(&(_, _, _, dz)) = p.iter().find(|p| p.3 != 0) {
            assert_eq!(dz, -1, "wheel up: {p:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no wheel packet: {p:?}");
    }

    // Right button: bit 1.
    let mark = server.qemu().serial().len();
    inject::button(&mut clove, "right", true).unwrap();
    let deadline = Instant::now() + ANSWER;
    loop {
        std::thread::sleep(Duration::from_millis(300));
        if let Some(&(flags, _, _, _)) = packets(&since(mark)).last() {
            assert_eq!(flags & 7, 2);
            break;
        }
        assert!(Instant::now() < deadline, "no packet for the right button");
    }
}
