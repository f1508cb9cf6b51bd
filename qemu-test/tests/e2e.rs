//! Clove end to end: the payload boots in one QEMU (e1000 on `-netdev
//! user`), connects over SPICE to a real QEMU SPICE server VM on the host's
//! 127.0.0.1 (10.0.2.2 from inside), and draws the remote desktop.
//!
//! Every test starts its own server and Clove VMs with hard timeouts; both
//! are killed when the test ends (`Qemu` kills on drop, also on a panic).
//! The tests take turns: two TCG VMs each are plenty for a small machine.

use std::time::{Duration, Instant};

use qemu_test::e2e::{one_at_a_time, server_config, wait_for_same_frame, FIRST_FRAME, SAME_FRAME, SERVER_BOOT};
use qemu_test::guest::{self, Guest};
use qemu_test::spice_server::free_port;
use qemu_test::{DnsServer, Image, ImageCompression, Qemu, QemuConfig, Record, Scenario, SpiceServer, Variant, Vga};

/// An error must be on serial this soon after Clove starts.
const ERROR_SHOWN: Duration = Duration::from_secs(90);

fn server(name: &str, password: Option<&str>) -> SpiceServer {
    server_with(name, password, ImageCompression::Off, Scenario::default())
}

fn server_with(name: &str, password: Option<&str>, compression: ImageCompression, scenario: Scenario) -> SpiceServer {
    SpiceServer::start(server_config(name, password, compression, scenario))
        .unwrap_or_else(|e| panic!("{name}: server: {e}"))
}

/// Until Clove's screen equals the server's (see [`wait_for_same_frame`]).
fn same_frame(name: &str, clove: &mut Qemu, server: &mut Qemu, timeout: Duration) {
    let took = wait_for_same_frame(name, clove, server, timeout).unwrap();
    eprintln!("{name}: same frame {:.1} s after the first frame line", took.as_secs_f64());
}

/// Clove with an e1000 on `-netdev user` and this command line.
fn clove(name: &str, cmdline: &str) -> Qemu {
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .append(cmdline)
        .user_net("e1000", "");
    Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"))
}

/// Whether the bottom rows of the screen are Clove's red error banner.
fn shows_error_banner(shot: &Image) -> bool {
    let banner = drivers::screen::ERROR_BACKGROUND;
    let y = shot.height - 2;
    (0..shot.width).step_by(8).all(|x| shot.pixel(x, y) == banner)
}

#[test]
fn first_frame_equals_the_server_screendump() {
    let _turn = one_at_a_time();
    let name = "e2e-frame";
    let mut server = server(name, None);
    // Start in another mode: Clove must switch to the server's surface size.
    let q = clove(name, &format!("mode=800x600 server=spice://10.0.2.2:{}", server.port()));
    let mut q = q;
    let line = q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let spawn_to_frame = q.started_at().elapsed();
    let theirs = server.screendump().unwrap();
    assert_eq!((theirs.width, theirs.height), (1024, 768));
    let ours = q.screendump().unwrap();
    assert_eq!((ours.width, ours.height), (1024, 768), "Clove's mode follows the server's surface");
    q.check_region(name, &ours, &theirs, (0, 0, 1024, 768)).unwrap();
    let serial = q.serial();
    // The cursor channel is open too: a vesafb guest defines no cursor, and
    // none may be drawn over the frame checked above.
    for want in [
        "spice: connecting to 10.0.2.2:",
        "spice: linked main",
        "spice: linked display",
        "spice: linked cursor",
        "primary surface 1024x768",
    ] {
        assert!(serial.contains(want), "{want:?} not in the serial log:\n{serial}");
    }
    assert!(!serial.contains("draw error"), "{serial}");
    assert!(!serial.contains("spice: cursor shape"), "the server defined a cursor:\n{serial}");
    eprintln!("{name}: {line} (QEMU spawn to first frame {:.2} s)", spawn_to_frame.as_secs_f64());
}

/// QEMU's default compression, with a band redrawn after the first frame
/// so GLZ/QUIC run on the bare target too; then the whole frame must match.
#[test]
fn compressed_updates_equal_the_server_screendump() {
    let _turn = one_at_a_time();
    let name = "e2e-auto-glz";
    let scenario = Scenario::DrawThenBand { after_secs: 6 };
    let mut server = server_with(name, None, ImageCompression::AutoGlz, scenario);
    let mut q = clove(name, &format!("server=spice://10.0.2.2:{}", server.port()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    server.qemu().wait_for_line(qemu_test::guest::UPDATED, Duration::from_secs(60)).unwrap();
    let theirs = server.screendump().unwrap();
    assert_eq!(theirs, server.expected_image().unwrap());
    same_frame(name, &mut q, server.qemu_mut(), Duration::from_secs(30));
    assert!(!q.serial().contains("draw error"), "{}", q.serial());
}

/// Every NIC model Clove drives, as `-device` models.
const NIC_MODELS: [&str; 5] = ["e1000", "e1000e", "virtio-net-pci", "virtio-net-pci,disable-modern=on", "rtl8139"];

/// Clove with this NIC model on `-netdev user` and this command line.
fn clove_on(name: &str, model: &str, cmdline: &str) -> Qemu {
    let config =
        QemuConfig::payload(Variant::Multiboot).unwrap().name(name).cpu("max").append(cmdline).user_net(model, "");
    Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"))
}

/// One server drawing the known picture (gradients, text, a photo-like
/// block, noise) with this compression; Clove connects over every NIC
/// model in turn and must show exactly the server's frame, decoded with
/// the codec `codec` (as Clove's `spice: images:` lines name it). GLZ
/// only compresses updates after a client's first frame, so for it the
/// guest keeps redrawing a band (`Scenario::BandLoop`).
fn fidelity(name: &str, compression: ImageCompression, preference: Option<&str>, codec: &str) {
    let _turn = one_at_a_time();
    let scenario = if codec == "GlzRgb" { Scenario::BandLoop { every_secs: 3 } } else { Scenario::default() };
    let mut server = server_with(name, None, compression, scenario);
    if let Some(want) = server.expected_image() {
        assert_eq!(server.screendump().unwrap(), want, "the server shows the known picture");
    }
    let pref = preference.map(|c| format!("compression={c} ")).unwrap_or_default();
    for model in NIC_MODELS {
        let label = format!("{name}-{}", model.replace([',', '='], "-"));
        let mut q = clove_on(&label, model, &format!("{pref}server=spice://10.0.2.2:{}", server.port()));
        q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
        // The codec: at the first frame, or once it first shows up (the
        // stats every 10 s say so).
        let images = q.wait_for_line(&format!(" {codec} "), CODEC_SEEN).unwrap();
        assert!(images.contains("spice: images: "), "{label}: {images}");
        same_frame(&label, &mut q, server.qemu_mut(), SAME_FRAME);
        let serial = q.serial();
        assert!(!serial.contains("draw error"), "{label}:\n{serial}");
    }
}

/// A codec first used after the first frame is logged with the next stats (10 s).
const CODEC_SEEN: Duration = Duration::from_secs(40);

#[test]
fn fidelity_off() {
    fidelity("fidelity-off", ImageCompression::Off, None, "Bitmap");
}

#[test]
fn fidelity_lz() {
    fidelity("fidelity-lz", ImageCompression::Lz, None, "LzRgb");
}

#[test]
fn fidelity_glz() {
    fidelity("fidelity-glz", ImageCompression::Glz, None, "GlzRgb");
}

#[test]
fn fidelity_auto_glz() {
    fidelity("fidelity-auto-glz", ImageCompression::AutoGlz, None, "GlzRgb");
}

#[test]
fn fidelity_quic() {
    fidelity("fidelity-quic", ImageCompression::Quic, None, "Quic");
}

/// LZ4 only comes when the client asks for it (QEMU refuses it as a server setting).
#[test]
fn fidelity_lz4() {
    fidelity("fidelity-lz4", ImageCompression::AutoGlz, Some("lz4"), "Lz4");
}

#[test]
fn wrong_password_is_shown_and_retried() {
    let _turn = one_at_a_time();
    let name = "e2e-password";
    let server = server(name, Some("clove-secret"));
    let mut q =
        clove(name, &format!("server=spice://10.0.2.2:{}?password=clove-secret password=not-it", server.port()));
    let first = q.wait_for_line("spice: error: wrong password", ERROR_SHOWN).unwrap();
    assert!(first.contains("spice: error: wrong password (authenticating); retrying in 1 s"), "{first}");
    // The banner is up while Clove waits to retry.
    let shot = q.screendump().unwrap();
    if !shows_error_banner(&shot) {
        let path = q.save_artifact(&shot, "no-banner").unwrap();
        panic!("no error banner on screen: {}", path.display());
    }
    // Clove keeps polling: the next attempt fails the same way, later.
    let mark = q.serial_mark();
    let again = q.wait_for_line_after(mark, "spice: error: wrong password", ERROR_SHOWN).unwrap();
    assert!(again.contains("retrying in 2 s"), "{again}");
    assert!(q.exit_status().is_none(), "Clove's QEMU exited");
    let serial = q.serial();
    assert!(!serial.contains("first frame"));
    // Secrets never reach the log.
    assert!(!serial.contains("clove-secret") && !serial.contains("not-it"), "{serial}");
    assert!(serial.contains("?password=*** password=***"), "{serial}");
}

#[test]
fn server_that_starts_late_is_connected_to() {
    let _turn = one_at_a_time();
    let name = "e2e-late";
    let port = free_port().unwrap();
    let mut q = clove(name, &format!("server=spice://10.0.2.2:{port}"));
    let err = q.wait_for_line("spice: error: ", ERROR_SHOWN).unwrap();
    assert!(err.contains("(connecting)"), "{err}");
    let shot = q.screendump().unwrap();
    assert!(shows_error_banner(&shot), "no error banner while the server is down");

    // Now the server comes up on that port.
    let config = server_config(name, None, ImageCompression::Off, Scenario::default());
    let img = Guest::build(&config.guest).unwrap();
    let mut server = Qemu::start(SpiceServer::qemu_config(&config, &img, port)).unwrap();
    let start = Instant::now();
    server.wait_for_line(guest::DRAWN, SERVER_BOOT).unwrap();
    eprintln!("{name}: server drawn after {:.1} s", start.elapsed().as_secs_f64());
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    same_frame(name, &mut q, &mut server, SAME_FRAME);
}

#[test]
fn server_going_away_is_reconnected() {
    let _turn = one_at_a_time();
    let name = "e2e-reconnect";
    let port = free_port().unwrap();
    let config = server_config(name, None, ImageCompression::Off, Scenario::default());
    let img = Guest::build(&config.guest).unwrap();
    let boot = |what: &str| {
        let s = Qemu::start(SpiceServer::qemu_config(&config, &img, port)).unwrap_or_else(|e| panic!("{what}: {e}"));
        s.wait_for_line(guest::DRAWN, SERVER_BOOT).unwrap();
        s
    };
    let server = boot("first server");
    let q = clove(name, &format!("server=spice://10.0.2.2:{port}"));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let mark = q.serial_mark();
    server.kill();
    drop(server);
    q.wait_for_line_after(mark, "reconnecting", ERROR_SHOWN).unwrap();
    let mut server = boot("second server");
    let mut q = q;
    q.wait_for_line_after(mark, "spice: first frame in ", FIRST_FRAME).unwrap();
    same_frame(name, &mut q, &mut server, SAME_FRAME);
}

/// The smallest supported machine: 64 MiB of RAM showing a 1920x1080
/// desktop (Clove switches its Bochs VBE mode to the server's surface).
#[test]
fn full_hd_desktop_in_64_mib() {
    let _turn = one_at_a_time();
    let name = "e2e-fullhd-64m";
    let mut server = server_with(name, None, ImageCompression::AutoGlz, Scenario::FullHd);
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .memory("64M")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let mut q = Qemu::start(config).unwrap();
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let theirs = server.screendump().unwrap();
    assert_eq!((theirs.width, theirs.height), (1920, 1080));
    same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME);
    assert!(q.serial().contains("primary surface 1920x1080"), "{}", q.serial());
}

/// Too little RAM for the server's desktop is an error on screen and
/// serial, retried, never an allocation failure that halts Clove.
#[test]
fn desktop_too_big_for_memory_is_an_error() {
    let _turn = one_at_a_time();
    let name = "e2e-fullhd-16m";
    let server = server_with(name, None, ImageCompression::AutoGlz, Scenario::FullHd);
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .memory("16M")
        .append(&format!("server=spice://10.0.2.2:{}", server.port()))
        .user_net("e1000", "");
    let q = Qemu::start(config).unwrap();
    let err = q.wait_for_line("spice: error: ", FIRST_FRAME).unwrap();
    eprintln!("{name}: {err}");
    let shot = {
        let mut q = q;
        let shot = q.screendump().unwrap();
        assert!(
            shows_error_banner(&shot),
            "no error banner: {}",
            q.save_artifact(&shot, "no-banner").unwrap().display()
        );
        q
    };
    let mark = shot.serial_mark();
    shot.wait_for_line_after(mark, "spice: error: ", ERROR_SHOWN).unwrap();
    let serial = shot.serial();
    assert!(!serial.contains("PANIC") && !serial.contains("halted"), "{serial}");
}

/// `server=` names a host: Clove asks our DNS server on the host's loopback
/// (`dns=` with a port), follows its CNAME and connects.
#[test]
fn server_name_is_resolved_through_dns() {
    let _turn = one_at_a_time();
    let name = "e2e-dns";
    let dns = DnsServer::start(&[
        ("spice-test.clove", Record::Cname("server.clove".into())),
        ("server.clove", Record::A(std::net::Ipv4Addr::new(10, 0, 2, 2))),
    ])
    .unwrap();
    let mut server = server(name, None);
    let mut q = clove(name, &format!("server=spice://spice-test.clove:{} dns=10.0.2.2:{}", server.port(), dns.port()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME);
    let serial = q.serial();
    let dhcp = q.wait_for_line("net: dhcp lease ", ERROR_SHOWN).unwrap();
    assert!(dhcp.contains(&format!(" dns 10.0.2.2:{} in ", dns.port())), "dns= wins over DHCP's: {dhcp}");
    let asked = format!("spice: resolving spice-test.clove via 10.0.2.2:{}", dns.port());
    for want in [asked.as_str(), "spice: spice-test.clove is 10.0.2.2", "spice: connecting to 10.0.2.2:"] {
        assert!(serial.contains(want), "{want:?} not in the serial log:\n{serial}");
    }
    assert_eq!(dns.questions(), ["spice-test.clove"]);
}

/// An unknown name fails the resolving step on screen and serial, and is
/// asked again on the next attempt.
#[test]
fn unknown_server_name_is_shown_and_retried() {
    let _turn = one_at_a_time();
    let name = "e2e-nxdomain";
    let dns = DnsServer::start(&[]).unwrap();
    let mut q = clove(name, &format!("server=spice://nope.clove:5999 dns=10.0.2.2:{}", dns.port()));
    let first = q.wait_for_line("spice: error: ", ERROR_SHOWN).unwrap();
    assert!(
        first.ends_with("spice: error: cannot resolve nope.clove: no such name (resolving); retrying in 1 s"),
        "{first}"
    );
    let shot = q.screendump().unwrap();
    if !shows_error_banner(&shot) {
        let path = q.save_artifact(&shot, "no-banner").unwrap();
        panic!("no error banner on screen: {}", path.display());
    }
    let mark = q.serial_mark();
    let again = q.wait_for_line_after(mark, "spice: error: ", ERROR_SHOWN).unwrap();
    assert!(again.ends_with("no such name (resolving); retrying in 2 s"), "{again}");
    let asked = dns.questions();
    assert!(asked.len() >= 2 && asked.iter().all(|n| n == "nope.clove"), "{asked:?}");
    assert!(!q.serial().contains("spice: connecting to"));
}

/// The cable is pulled mid-session: the desktop freezes under a no-link
/// banner, and when the cable is back the session goes on to the right frame.
#[test]
fn pulled_link_during_a_session_recovers() {
    let _turn = one_at_a_time();
    let name = "e2e-link";
    let mut server = server(name, None);
    let mut q = clove(name, &format!("server=spice://10.0.2.2:{}", server.port()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let mark = q.serial_mark();
    q.set_link("net0", false).unwrap();
    q.wait_for_line_after(mark, "spice: link down; the session waits", ERROR_SHOWN).unwrap();
    let shot = q.screendump().unwrap();
    if !shows_error_banner(&shot) {
        let path = q.save_artifact(&shot, "no-banner").unwrap();
        panic!("no link-down banner on screen: {}", path.display());
    }
    std::thread::sleep(Duration::from_secs(3));
    q.set_link("net0", true).unwrap();
    q.wait_for_line_after(mark, "spice: link back; the session goes on", ERROR_SHOWN).unwrap();
    same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME);
    let serial = q.serial();
    assert!(serial.contains("net: link down") && serial.contains("net: link up; restarting DHCP"), "{serial}");
    assert!(!serial.contains("reconnecting"), "a short pull should not cost the session:\n{serial}");
}

/// A pull longer than the connection's timeout loses the session: the
/// screen names the missing link, and once it is back Clove reconnects.
#[test]
fn long_pulled_link_reconnects() {
    let _turn = one_at_a_time();
    let name = "e2e-link-long";
    let mut server = server(name, None);
    let mut q = clove(name, &format!("server=spice://10.0.2.2:{}", server.port()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    let mark = q.serial_mark();
    q.set_link("net0", false).unwrap();
    let lost = q.wait_for_line_after(mark, "spice: connection lost: ", ERROR_SHOWN).unwrap();
    assert!(lost.contains("(the network link is down); reconnecting"), "{lost}");
    q.wait_for_line_after(mark, "spice: error: no link on ", ERROR_SHOWN).unwrap();
    let shot = q.screendump().unwrap();
    if !shows_error_banner(&shot) {
        let path = q.save_artifact(&shot, "no-banner").unwrap();
        panic!("no no-link banner on screen: {}", path.display());
    }
    let mark = q.serial_mark();
    q.set_link("net0", true).unwrap();
    q.wait_for_line_after(mark, "spice: first frame in ", FIRST_FRAME).unwrap();
    same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME);
}

/// Band frames the streams test's guest draws: at its pace under TCG
/// (about 8 per second) enough for spice-server to start streams (20
/// frames of one box, each within 200 ms of the last) and run them a while.
const STREAM_FRAMES: u32 = 150;
/// Enter → `ANIMATION-DONE` on the server's serial.
const ANIMATION: Duration = Duration::from_secs(180);
/// `ANIMATION-DONE` → Clove has seen the last stream go.
const STREAMS_END: Duration = Duration::from_secs(60);

/// A `spice: streams: C created, F MJPEG frames decoded, R reports sent, L
/// live, largest WxH` line of Clove's: ([C, F, R, L], "WxH").
fn stream_counts(line: &str) -> Option<([u64; 4], &str)> {
    let rest = line.split("spice: streams: ").nth(1)?;
    let mut n = rest.split(' ').filter_map(|w| w.parse().ok());
    let counts = [n.next()?, n.next()?, n.next()?, n.next()?];
    Some((counts, rest.split(", largest ").nth(1)?))
}

/// Video: with `streaming-video=all` spice-server turns the guest's band
/// animation into MJPEG streams. Clove must decode their frames, send the
/// reports the server asks for, and end on exactly the server's frame: when
/// a stream stops (1 s after its last frame) the server redraws its area
/// losslessly, and that must replace the lossy pixels. `largest`: the
/// largest stream's size, as Clove's log says it (`WxH`).
fn mjpeg_streams(name: &str, vga: Vga, largest: &str) {
    let _turn = one_at_a_time();
    let scenario = Scenario::AnimateThenStop { frames: STREAM_FRAMES };
    let mut config = server_config(name, None, ImageCompression::AutoGlz, scenario);
    config.spice_options = vec!["streaming-video=all".into()];
    if vga == Vga::Qxl {
        // The guest's qxl DRM driver draws the band as one QXL command.
        config.vga = Vga::Qxl;
        config.guest.modules = vec!["qxl".into()];
        config.append.push("clove.modules=qxl".into());
    }
    let mut server = SpiceServer::start(config).unwrap_or_else(|e| panic!("{name}: server: {e}"));
    let mut q = clove(name, &format!("server=spice://10.0.2.2:{}", server.port()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    // The animation starts only now, so all of it goes to Clove.
    qemu_test::input::tap(server.qemu_mut(), "ret").unwrap();
    let started = server.qemu().wait_for_line(guest::ANIMATING, ERROR_SHOWN).unwrap();
    let done = server.qemu().wait_for_line(guest::ANIMATION_DONE, ANIMATION).unwrap();
    // The server's streams outlive the last frame by a second: Clove logs
    // its counts once the last one is gone, after this mark.
    let mark = q.serial_mark();
    eprintln!("{name}: {started} .. {done}");
    let line = q.wait_for_line_after(mark, ", 0 live", STREAMS_END).unwrap();
    let ([created, frames, reports, _], size) = stream_counts(&line).unwrap_or_else(|| panic!("{line}"));
    eprintln!("{name}: {created} streams (largest {size}), {frames} MJPEG frames decoded, {reports} reports sent");
    let serial = q.serial();
    assert!(created > 0 && frames > 0, "no video stream came:\n{serial}");
    assert_eq!(size, largest, "{line}");
    // Clove announces STREAM_REPORT, so the server asks for reports.
    assert!(reports > 0, "no STREAM_REPORT sent:\n{serial}");
    assert!(!serial.contains("draw error"), "{serial}");
    same_frame(name, &mut q, server.qemu_mut(), SAME_FRAME);
    // Still the same a while later: no lossy frame came after the redraw.
    std::thread::sleep(Duration::from_secs(3));
    same_frame(name, &mut q, server.qemu_mut(), Duration::ZERO);
}

/// Std VGA: QEMU sends the band as 32-pixel-wide strips, one stream each.
#[test]
fn mjpeg_streams_end_on_the_lossless_frame() {
    mjpeg_streams("e2e-streams", Vga::Std, "32x128");
}

/// QXL with the guest's DRM driver: the whole band is one stream.
#[test]
fn mjpeg_streams_on_qxl_end_on_the_lossless_frame() {
    mjpeg_streams("e2e-streams-qxl", Vga::Qxl, "1024x128");
}
