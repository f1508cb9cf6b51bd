//! The cursor end to end: a qxl server VM whose guest defines a DRM cursor
//! (the guest helper, `qemu-test/guest-helper`), and Clove drawing it.
//!
//! The test drives the helper over a second serial port of the server VM
//! (a unix-socket chardev): `set`, `move`, `hide`, one step at a time, each
//! only after Clove's screen showed the previous one. At every step Clove's
//! screendump must equal the server's own (which never includes the cursor:
//! checked too) with exactly the sprite's opaque pixels on top, hot spot
//! accounted for: so a move or hide that leaves a trace fails.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clove_guest_helper::{marker, sprite};
use qemu_test::{GuestSpec, Image, ImageCompression, Qemu, QemuConfig, SpiceServer, SpiceServerConfig, Variant, Vga};

/// Spawn → the helper is ready (boot, qxl module, picture).
const SERVER_BOOT: Duration = Duration::from_secs(150);
/// Clove spawn → its first complete remote frame, under TCG.
const FIRST_FRAME: Duration = Duration::from_secs(120);
/// A command → its marker on the server's serial.
const STEP: Duration = Duration::from_secs(30);
/// A marker → Clove's screen shows that state.
const SHOWN: Duration = Duration::from_secs(60);
/// The guest's serial port the helper reads commands from.
const CONTROL_TTY: &str = "/dev/ttyS1";

/// The server VM and the socket to its guest's control port.
struct Server {
    spice: SpiceServer,
    control: UnixStream,
    socket: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Server {
    fn start(name: &str) -> Server {
        // Unix socket paths are short (108 bytes): not in the work dir.
        let socket = std::env::temp_dir().join(format!("clove-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let spice = SpiceServer::start(SpiceServerConfig {
            name: Some(format!("{name}-server")),
            image_compression: ImageCompression::Off,
            vga: Vga::Qxl,
            guest: GuestSpec { modules: vec!["qxl".into()], helper: true, ..Default::default() },
            scenario: qemu_test::Scenario::Cursor { control: CONTROL_TTY },
            // no_timer_check: see tests/e2e.rs.
            append: vec!["no_timer_check".into(), "clove.modules=qxl".into()],
            extra_args: vec![
                "-chardev".into(),
                format!("socket,id=control,path={},server=on,wait=off", socket.display()),
                "-device".into(),
                "isa-serial,chardev=control,index=1".into(),
            ],
            boot_timeout: SERVER_BOOT,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{name}: server: {e}"));
        let control = UnixStream::connect(&socket).unwrap_or_else(|e| panic!("{}: {e}", socket.display()));
        Server { spice, control, socket }
    }

    /// Sends `command` to the helper and waits for its marker line.
    fn step(&mut self, command: &str, marker: &str) -> String {
        let mark = self.spice.qemu().serial_mark();
        self.control.write_all(format!("{command}\n").as_bytes()).unwrap();
        self.spice.qemu().wait_for_line_after(mark, marker, STEP).unwrap()
    }

    /// The server's frame, which must be the guest's picture: QEMU's
    /// screendump of a qxl display has no cursor in it.
    fn frame(&mut self) -> Image {
        let theirs = self.spice.screendump().unwrap();
        assert_eq!(theirs, self.spice.expected_image().unwrap(), "the server's screendump changed");
        theirs
    }
}

/// `frame` with the sprite's hot spot at (`x`, `y`): what Clove must show.
/// The sprite is opaque or transparent, so no blending is involved.
fn with_sprite(frame: &Image, x: i32, y: i32) -> Image {
    let mut out = frame.clone();
    for sy in 0..sprite::SIZE {
        for sx in 0..sprite::SIZE {
            let argb = sprite::pixel(sx, sy);
            let (px, py) = (x - sprite::HOT_X as i32 + sx as i32, y - sprite::HOT_Y as i32 + sy as i32);
            if argb >> 24 == 0xff && (0..out.width as i32).contains(&px) && (0..out.height as i32).contains(&py) {
                out.rgb[py as usize * out.width as usize + px as usize] = argb & 0xff_ffff;
            }
        }
    }
    out
}

/// Waits until Clove's screen is `expected`; on a timeout the pair is saved and the test fails.
fn wait_for_screen(name: &str, clove: &mut Qemu, expected: &Image) {
    let start = Instant::now();
    loop {
        let ours = clove.screendump().unwrap();
        let same = (ours.width, ours.height) == (expected.width, expected.height)
            && ours.region_equals(expected, 0, 0, expected.width, expected.height).is_ok();
        if same || start.elapsed() > SHOWN {
            clove.check_region(name, &ours, expected, (0, 0, expected.width, expected.height)).unwrap();
            eprintln!("{name}: shown after {:.1} s", start.elapsed().as_secs_f64());
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn drm_cursor_is_drawn_moved_and_hidden_without_a_trace() {
    let name = "cursor";
    let mut server = Server::start(name);
    let frame = server.frame();
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .append(&format!("server=spice://10.0.2.2:{}", server.spice.port()))
        .user_net("e1000", "");
    let mut clove = Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"));
    clove.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    // No cursor defined yet: nothing drawn over the desktop.
    wait_for_screen(&format!("{name}-none"), &mut clove, &frame);

    let line = server.step("set 300 200", marker::SET);
    assert!(line.contains("CURSOR-SET 300 200"), "{line}");
    let frame = server.frame();
    wait_for_screen(&format!("{name}-set"), &mut clove, &with_sprite(&frame, 300, 200));

    // Far away: the old place must be the desktop again.
    server.step("move 700 520", marker::MOVED);
    wait_for_screen(&format!("{name}-moved"), &mut clove, &with_sprite(&server.frame(), 700, 520));

    // Half off the bottom-right corner: clipped, not wrapped.
    server.step("move 1020 765", marker::MOVED);
    wait_for_screen(&format!("{name}-corner"), &mut clove, &with_sprite(&server.frame(), 1020, 765));

    server.step("hide", marker::HIDDEN);
    wait_for_screen(&format!("{name}-hidden"), &mut clove, &server.frame());
    let serial = clove.serial();
    assert!(serial.contains("spice: linked cursor"), "{serial}");
    let shape = format!("spice: cursor shape {0}x{0}, hot spot {1},{2}", sprite::SIZE, sprite::HOT_X, sprite::HOT_Y);
    assert!(serial.contains(&shape), "{shape:?} not in the serial log:\n{serial}");
    assert!(!serial.contains("draw error"), "{serial}");
}
