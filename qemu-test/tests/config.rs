//! Configuration end to end: errors name their source on serial and on
//! screen while the valid options still apply, and a virt-viewer `.vv`
//! file from the network (slirp's TFTP via DHCP's boot file, or `vv=` over
//! HTTP) makes Clove connect to the SPICE server it names, with its
//! password. Each test starts its own VMs with hard timeouts; they are
//! killed when the test ends.

use std::path::PathBuf;
use std::time::Duration;

use drivers::framebuffer::{line_height, FbInfo, FontSize, Framebuffer, PixelFormat, VecMemory};
use drivers::screen::{body_line_y, BACKGROUND, MARGIN, NOTE_STYLE};
use qemu_test::e2e::{one_at_a_time, server_config, FIRST_FRAME, SERVER_BOOT};
use qemu_test::http_server::HttpServer;
use qemu_test::image::from_framebuffer;
use qemu_test::spice_server::free_port;
use qemu_test::{artifacts, ImageCompression, Qemu, QemuConfig, Scenario, SpiceServer, Variant};

const ERROR_SHOWN: Duration = Duration::from_secs(90);
/// The connecting screen's first note line: seven steps and a blank line.
const FIRST_NOTE_LINE: usize = 8;

/// Clove with an e1000 on `-netdev user,<net_options>` and this command line.
fn clove(name: &str, cmdline: &str, net_options: &str) -> Qemu {
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .name(&format!("{name}-clove"))
        .cpu("max")
        .append(cmdline)
        .user_net("e1000", net_options);
    Qemu::start(config).unwrap_or_else(|e| panic!("{name}: clove: {e}"))
}

/// A fresh directory for slirp's TFTP server or the HTTP server to serve.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = artifacts::target_dir().join("config-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vv_file(port: u16, password: &str) -> String {
    [
        "[virt-viewer]",
        "type=spice",
        "host=10.0.2.2",
        &format!("port={port}"),
        &format!("password={password}"),
        "title=Test desk",
        "fullscreen=1",
        "proxy=http://10.0.2.2:3128",
        "delete-this-file=1",
        "",
    ]
    .join("\r\n")
}

#[test]
fn bad_command_line_key_is_shown_and_the_valid_server_still_connects() {
    let _turn = one_at_a_time();
    let name = "config-bad-key";
    let port = free_port().unwrap();
    // Clove first: while the server is not up yet, the connecting screen
    // stays (with its retries), so the screen can be checked without a race.
    let mut q = clove(name, &format!("sever=spice://10.0.2.2:1 server=spice://10.0.2.2:{port}"), "");
    let note = "command line word 2: unknown key \"sever\"";
    let err = q.wait_for_line("config: error: ", ERROR_SHOWN).unwrap();
    assert!(err.ends_with(&format!("config: error: {note}")), "{err}");
    let failed = q.wait_for_line("spice: error: ", ERROR_SHOWN).unwrap();
    assert!(failed.contains("(connecting)"), "{failed}");

    let shot = q.screendump().unwrap();
    assert_eq!((shot.width, shot.height), (1024, 768));
    let info = FbInfo { base: 0, width: 1024, height: 768, pitch: 4096, format: PixelFormat::XRGB8888 };
    let mut fb = Framebuffer::new(info, VecMemory::zeroed(4096 * 768)).unwrap();
    fb.clear(BACKGROUND);
    let y = body_line_y(FIRST_NOTE_LINE);
    fb.draw_text(MARGIN, y, note, NOTE_STYLE);
    let want = from_framebuffer(&fb);
    q.check_region(&format!("{name}-note"), &shot, &want, (0, y as u32, 1024, line_height(FontSize::Normal))).unwrap();

    // The server comes up: the valid server= is connected to.
    let config = server_config(name, None, ImageCompression::Off, Scenario::default());
    let img = qemu_test::Guest::build(&config.guest).unwrap();
    let server = Qemu::start(SpiceServer::qemu_config(&config, &img, port)).unwrap();
    server.wait_for_line(qemu_test::guest::DRAWN, SERVER_BOOT).unwrap();
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
}

#[test]
fn vv_file_over_tftp_and_http_names_the_server_and_its_password() {
    let _turn = one_at_a_time();
    let name = "config-vv";
    let password = "vv-secret";
    let server =
        SpiceServer::start(server_config(name, Some(password), ImageCompression::Off, Scenario::default())).unwrap();
    let vv = vv_file(server.port(), password);
    let check = |q: &Qemu, source: &str| {
        let serial = q.serial();
        for want in [
            format!("config: got {source}: "),
            format!("config: server=spice://10.0.2.2:{} (from {source} line 3)", server.port()),
            format!("config: password=*** (from {source} line 5)"),
            format!("config: title=Test desk (from {source} line 6)"),
            format!("config: error: {source}: not supported, ignored: fullscreen, proxy, delete-this-file"),
            String::from("spice: linked main"),
        ] {
            assert!(serial.contains(&want), "{want:?} not in the serial log:\n{serial}");
        }
        assert!(!serial.contains(password), "the password is in the log:\n{serial}");
    };

    // DHCP's boot file (slirp: bootfile=), fetched from slirp's TFTP server.
    let dir = fresh_dir(name);
    std::fs::write(dir.join("clove.vv"), &vv).unwrap();
    let q = clove(&format!("{name}-tftp"), "", &format!("tftp={},bootfile=clove.vv", dir.display()));
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    check(&q, "tftp://10.0.2.2/clove.vv");
    drop(q);
    let _ = std::fs::remove_dir_all(&dir);

    // vv= on the command line, over HTTP.
    let dir = fresh_dir(&format!("{name}-http"));
    std::fs::write(dir.join("desk.vv"), &vv).unwrap();
    let http = HttpServer::start(&dir).unwrap();
    let q = clove(&format!("{name}-http"), &format!("vv=http://10.0.2.2:{}/desk.vv", http.port()), "");
    q.wait_for_line("spice: first frame in ", FIRST_FRAME).unwrap();
    check(&q, &format!("http://10.0.2.2:{}/desk.vv", http.port()));
    let requests = http.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!((requests[0].target.as_str(), requests[0].status), ("/desk.vv", 200));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_cannot_be_fetched_is_reported_and_the_boot_goes_on() {
    let _turn = one_at_a_time();
    let name = "config-fetch-fails";
    let dir = fresh_dir(name);
    let http = HttpServer::start(&dir).unwrap();
    let q = clove(name, &format!("vv=http://10.0.2.2:{}/missing.vv log=error", http.port()), "");
    let err = q.wait_for_line("config: error: ", ERROR_SHOWN).unwrap();
    assert!(err.ends_with(&format!("config: error: http://10.0.2.2:{}/missing.vv: HTTP 404", http.port())), "{err}");
    let none = q.wait_for_line("spice: error: ", ERROR_SHOWN).unwrap();
    assert!(none.contains("no server"), "{none}");
    // log=error: only the banner and errors reach serial.
    let serial = q.serial();
    assert!(!serial.contains("] pci ") && !serial.contains("] config: vv="), "{serial}");
}
