//! What Clove's end-to-end tests share (tests/e2e.rs, tests/bootpaths.rs):
//! their time limits, the SPICE server VM they connect to, and the check
//! that Clove's screen ends up equal to the server's.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::guest::Scenario;
use crate::qemu::{ImageCompression, Qemu};
use crate::spice_server::SpiceServerConfig;

/// Spawn → the server guest's picture is drawn.
pub const SERVER_BOOT: Duration = Duration::from_secs(120);
/// Clove spawn → its first complete remote frame, under TCG.
pub const FIRST_FRAME: Duration = Duration::from_secs(120);
/// After the first frame, Clove's screen must catch up with the server's.
pub const SAME_FRAME: Duration = Duration::from_secs(60);

/// Extra guest kernel words for the server VMs. Under load (Clove's VM
/// polls flat out on one of the cores) Linux's IO-APIC timer check can fail
/// under TCG and panic the server's guest; skip it.
pub const SERVER_APPEND: &str = "no_timer_check";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Held by each end-to-end test while it runs: two TCG VMs at a time are
/// plenty for a small machine.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The server VM config the tests use: work dir `<name>-server`, the
/// guest's extra words and [`SERVER_BOOT`].
pub fn server_config(
    name: &str,
    password: Option<&str>,
    image_compression: ImageCompression,
    scenario: Scenario,
) -> SpiceServerConfig {
    SpiceServerConfig {
        name: Some(format!("{name}-server")),
        image_compression,
        scenario,
        password: password.map(String::from),
        boot_timeout: SERVER_BOOT,
        append: vec![SERVER_APPEND.into()],
        ..Default::default()
    }
}

/// Waits (at most `timeout`) until Clove's whole screen equals the
/// server's, size included: Clove may reach a server before its guest has
/// finished drawing (QEMU opens the SPICE port at once), so later updates
/// must arrive too. On a timeout the last pair of screendumps is saved and
/// the error names them. Returns how long it took.
pub fn wait_for_same_frame(name: &str, clove: &mut Qemu, server: &mut Qemu, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    loop {
        let theirs = server.screendump()?;
        let ours = clove.screendump()?;
        // The larger of both sizes: any difference in size is a mismatch.
        let (w, h) = (ours.width.max(theirs.width), ours.height.max(theirs.height));
        if ours.region_equals(&theirs, 0, 0, w, h).is_ok() || start.elapsed() > timeout {
            clove.check_region(name, &ours, &theirs, (0, 0, w, h))?;
            return Ok(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
