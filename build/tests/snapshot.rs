//! `snapshot` against a real QEMU SPICE server: Clove's frame equals the
//! server's own screendump pixel for pixel, and ticket auth behaves.

use std::time::Duration;

use qemu_test::{Image, ImageCompression, Scenario, SpiceServer, SpiceServerConfig};
use spice_proto::consts::ImageType;
use spice_proto::session::link::LinkFailure;
use spice_proto::session::SessionError;
use xtask::client::{ClientError, SpiceUrl};
use xtask::snapshot::{self, Options};

fn server(name: &str, compression: ImageCompression, password: Option<&str>) -> SpiceServer {
    start(name, compression, password, Scenario::default())
}

fn start(name: &str, compression: ImageCompression, password: Option<&str>, scenario: Scenario) -> SpiceServer {
    SpiceServer::start(SpiceServerConfig {
        name: Some(name.into()),
        scenario,
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
/// `codecs`: the image types at least one of which must have been decoded.
fn check_same_frame(name: &str, compression: ImageCompression, codecs: &[ImageType]) {
    check_with_preference(name, compression, None, codecs);
}

fn check_with_preference(name: &str, compression: ImageCompression, preferred: Option<&str>, codecs: &[ImageType]) {
    let mut server = server(name, compression, None);
    let mut o = options(&server, name, "");
    o.compression = preferred.map(|p| snapshot::compression(p).unwrap());
    let outcome = snapshot::run(&o).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(outcome.size, (1024, 768));
    assert!(
        outcome.images.iter().any(|(t, n)| codecs.contains(t) && *n > 0),
        "{name}: expected {codecs:?} images, decoded {:?}",
        outcome.images
    );
    let ours = Image::load_png(&o.png).unwrap();
    let theirs = server.screendump().unwrap();
    server.qemu().check_region(name, &ours, &theirs, (0, 0, 1024, 768)).unwrap();
}

#[test]
fn uncompressed_frame_equals_the_server_screendump() {
    check_same_frame("snapshot-off", ImageCompression::Off, &[ImageType::Bitmap]);
}

#[test]
fn lz_frame_equals_the_server_screendump() {
    check_same_frame("snapshot-lz", ImageCompression::Lz, &[ImageType::LzRgb]);
}

/// The first full screen is too big for the GLZ window (the server sends
/// LZ); the band drawn 4 s later comes as GLZ (or QUIC under auto_glz).
fn check_update(name: &str, compression: ImageCompression, codecs: &[ImageType]) {
    let mut server = start(name, compression, None, Scenario::DrawThenBand { after_secs: 4 });
    let mut o = options(&server, name, "");
    o.settle = Duration::from_secs(12);
    let outcome = snapshot::run(&o).unwrap_or_else(|e| panic!("{name}: {e}"));
    server.qemu().wait_for_line(qemu_test::guest::UPDATED, Duration::from_secs(5)).unwrap();
    assert!(
        outcome.images.iter().any(|(t, n)| codecs.contains(t) && *n > 0),
        "{name}: expected {codecs:?} images, decoded {:?}",
        outcome.images
    );
    let ours = Image::load_png(&o.png).unwrap();
    let theirs = server.screendump().unwrap();
    assert_eq!(theirs, server.expected_image().unwrap(), "the server ends on the known picture with the band");
    server.qemu().check_region(name, &ours, &theirs, (0, 0, 1024, 768)).unwrap();
}

#[test]
fn glz_update_equals_the_server_screendump() {
    check_update("snapshot-glz", ImageCompression::Glz, &[ImageType::GlzRgb]);
}

#[test]
fn auto_glz_update_equals_the_server_screendump() {
    check_update("snapshot-auto-glz", ImageCompression::AutoGlz, &[ImageType::GlzRgb, ImageType::Quic]);
}

#[test]
fn quic_frame_equals_the_server_screendump() {
    check_same_frame("snapshot-quic", ImageCompression::Quic, &[ImageType::Quic]);
}

/// QEMU 7.2 refuses image-compression=lz4; the client asks for it.
#[test]
fn lz4_frame_equals_the_server_screendump() {
    check_with_preference("snapshot-lz4", ImageCompression::AutoGlz, Some("lz4"), &[ImageType::Lz4]);
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
