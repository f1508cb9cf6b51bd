//! The real SPICE server side of Clove's tests: the Linux guest builds,
//! boots under TCG and draws the known image; QEMU's screendump equals that
//! image pixel for pixel (so the reference frame is deterministic); the
//! SPICE port answers a link message with a well-formed reply, and ticket
//! auth accepts the right password and rejects a wrong one.

use std::io::Read;
use std::time::{Duration, Instant};

use qemu_test::guest::{self, Guest, GuestSpec};
use qemu_test::spice_server::{link_main, send_ticket};
use qemu_test::{ImageCompression, SpiceServer, SpiceServerConfig, TestImage, Vga};
use spice_proto::consts::LinkError;

/// Spawn → IMAGE-DRAWN, hard limit (typically a few seconds under TCG).
const BOOT: Duration = Duration::from_secs(120);
const NET: Duration = Duration::from_secs(10);

fn start(name: &str, config: SpiceServerConfig) -> SpiceServer {
    let server = SpiceServer::start(SpiceServerConfig { name: Some(name.into()), boot_timeout: BOOT, ..config })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name}: {} on {}, kernel {}: GUEST-READY after {:.2} s, {} after {:.2} s (QEMU spawn to serial line, TCG)",
        server.spice_url(),
        server.qemu().dir().display(),
        server.guest().kernel_version,
        server.ready_after().as_secs_f64(),
        guest::DRAWN,
        server.done_after().as_secs_f64(),
    );
    server
}

/// The server's screen is exactly the known image.
fn check_screen(name: &str, server: &mut SpiceServer) {
    let want = server.expected_image().expect("the scenario draws");
    assert_eq!(want, TestImage::Known.render());
    let shot = server.screendump().unwrap();
    assert_eq!((shot.width, shot.height), (1024, 768), "screen size");
    server.qemu().check_region(name, &shot, &want, (0, 0, 1024, 768)).unwrap();
}

#[test]
fn guest_builds_and_is_cached() {
    let t = Instant::now();
    let first = Guest::build(&GuestSpec::default()).unwrap();
    let took = t.elapsed();
    let t = Instant::now();
    let again = Guest::build(&GuestSpec::default()).unwrap();
    let cached_took = t.elapsed();
    assert!(again.cached);
    assert_eq!((&again.vmlinuz, &again.initrd), (&first.vmlinuz, &first.initrd));
    assert!(first.dir.starts_with(guest::cache_root()), "{}", first.dir.display());
    let gz = std::fs::read(&first.initrd).unwrap();
    eprintln!(
        "guest {} (kernel {}): build {:.2} s ({}), again {:.3} s; initrd.gz {} bytes",
        first.dir.display(),
        first.kernel_version,
        took.as_secs_f64(),
        if first.cached { "cached" } else { "cold" },
        cached_took.as_secs_f64(),
        gz.len()
    );
    // The initrd is a gzipped newc archive holding /init, busybox and the picture.
    let mut cpio = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut cpio).unwrap();
    assert!(cpio.starts_with(b"070701"));
    let has =
        |name: &str| cpio.windows(name.len() + 1).any(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0);
    for name in ["init", "bin/busybox", "bin/sh", "bin/mount", "dev/console", "img/known.raw", "TRAILER!!!"] {
        assert!(has(name), "{name} missing from the initramfs");
    }
    // A rebuild from scratch gives the same bytes.
    let kver = guest::kernel_version(None).unwrap();
    assert_eq!(guest::gzip(&guest::initramfs(&GuestSpec::default(), &kver).unwrap()).unwrap(), gz);
}

#[test]
fn std_vga_server_shows_the_known_image_and_answers_a_link() {
    let name = "spice-std-glz";
    let mut server = start(name, SpiceServerConfig { image_compression: ImageCompression::Glz, ..Default::default() });
    let serial = server.qemu().serial();
    assert!(serial.contains("FB: VESA VGA 1024,768 32 4096"), "{serial}");
    check_screen(name, &mut server);

    let (mut stream, reply) = link_main(server.addr(), NET).unwrap();
    assert_eq!(reply.error, LinkError::Ok);
    // The ticket key is a DER SubjectPublicKeyInfo (SEQUENCE ...).
    assert_eq!(reply.pub_key[0], 0x30, "{:02x?}", &reply.pub_key[..8]);
    assert!(!reply.common_caps.is_empty(), "the server advertises common caps");
    // Without ticketing any ticket is accepted.
    assert_eq!(send_ticket(&mut stream, &reply, "").unwrap(), LinkError::Ok);

    // Still the same frame a while later (no console cursor blinking, no
    // fbcon redraw) and after a client linked.
    std::thread::sleep(Duration::from_secs(1));
    check_screen(&format!("{name}-after-link"), &mut server);
}

#[test]
fn qxl_server_with_password_checks_the_ticket() {
    let name = "spice-qxl-password";
    let password = "clove-secret";
    let mut server = start(
        name,
        SpiceServerConfig {
            image_compression: ImageCompression::Quic,
            password: Some(password.into()),
            vga: Vga::Qxl,
            ..Default::default()
        },
    );
    check_screen(name, &mut server);

    // The link reply is OK either way: the password is checked after it.
    let (reply, result) = server.link(password, NET).unwrap();
    assert_eq!(reply.error, LinkError::Ok);
    assert_eq!(result, LinkError::Ok);
    let (reply, result) = server.link("wrong", NET).unwrap();
    assert_eq!(reply.error, LinkError::Ok);
    assert_eq!(result, LinkError::PermissionDenied);
}
