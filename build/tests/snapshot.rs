//! `snapshot` against a real QEMU SPICE server: Clove's frame equals the
//! server's own screendump pixel for pixel, and ticket auth behaves.

use std::time::Duration;

use qemu_test::{Image, ImageCompression, SpiceServer, SpiceServerConfig};
use spice_proto::session::link::LinkFailure;
use spice_proto::session::SessionError;
use xtask::client::{ClientError, SpiceUrl};
use xtask::snapshot::{self, Options};

fn server(name: &str, compression: ImageCompression, password: Option<&str>) -> SpiceServer {
    SpiceServer::start(SpiceServerConfig {
        name: Some(name.into()),
        image_compression: compression,
        password: password.map(String::from),
        boot_timeout: Duration::from_secs(120),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn options(server: &SpiceServer, name: &str, password: &str) -> Options {
    let png = server.qemu().dir().join(format!("{name}-clove.png"));
    Options {
        url: SpiceUrl::parse(&server.spice_url()).unwrap(),
        password: password.into(),
        png,
        settle: Duration::ZERO,
        compression: None,
        timeout: Duration::from_secs(60),
    }
}

/// Snapshot, then compare every pixel with the server's screendump.
fn check_same_frame(name: &str, compression: ImageCompression) {
    let mut server = server(name, compression, None);
    let o = options(&server, name, "");
    assert_eq!(snapshot::run(&o).unwrap_or_else(|e| panic!("{name}: {e}")), (1024, 768));
    let ours = Image::load_png(&o.png).unwrap();
    let theirs = server.screendump().unwrap();
    server.qemu().check_region(name, &ours, &theirs, (0, 0, 1024, 768)).unwrap();
}

#[test]
fn uncompressed_frame_equals_the_server_screendump() {
    check_same_frame("snapshot-off", ImageCompression::Off);
}

#[test]
fn right_password_connects_and_wrong_one_is_refused() {
    let server = server("snapshot-password", ImageCompression::Off, Some("clove-secret"));
    let o = options(&server, "right", "clove-secret");
    snapshot::run(&o).unwrap();
    let o = options(&server, "wrong", "not-the-password");
    match snapshot::run(&o) {
        Err(ClientError::Session(SessionError::Link(LinkFailure::WrongPassword))) => {}
        other => panic!("expected a wrong-password error, got {other:?}"),
    }
}
