//! Networking end to end under QEMU `-netdev user`: DHCP from slirp, a
//! static address from the command line, and a TCP transfer both ways with
//! a server on the host's loopback (10.0.2.2 inside the guest).

use std::time::Duration;

use qemu_test::netserver::{parse_lease_since_boot, parse_nettest_line, PatternServer};
use qemu_test::{Qemu, QemuConfig, Variant};

/// Boot and DHCP under TCG on a loaded 2-core machine.
const LEASE: Duration = Duration::from_secs(90);
const EXIT: Duration = Duration::from_secs(20);
/// Each direction of the TCP test, and the most it may take.
const TRANSFER: u64 = 16 << 20;
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(240);

fn boot(model: &str, cmdline: &str) -> Qemu {
    let config = QemuConfig::payload(Variant::Multiboot).unwrap().append(cmdline).user_net(model, "");
    Qemu::start(config).unwrap()
}

/// The text after `needle` on the line containing it.
fn after<'a>(line: &'a str, needle: &str) -> &'a str {
    line.split(needle).nth(1).unwrap_or_else(|| panic!("{needle:?} not in {line:?}")).trim_end()
}

fn check_lease(model: &str, pci_name: &str) {
    let qemu = boot(model, "test-exit");
    let nic = qemu.wait_for_line("] net: ", LEASE).unwrap();
    assert!(after(&nic, "net: ").starts_with(&format!("{pci_name} 00:03.0 mac 52:54:00:12:34:56 link up")), "{nic}");
    let line = qemu.wait_for_line("net: dhcp lease", LEASE).unwrap();
    let lease = after(&line, "net: dhcp lease ");
    assert!(lease.starts_with("10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3 in "), "{line}");
    assert!(parse_lease_since_boot(&line).is_some(), "{line}");
    qemu.wait_for_line("ready", LEASE).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
}

#[test]
fn dhcp_lease_on_e1000() {
    check_lease("e1000", "Intel 82540EM (e1000)");
}

#[test]
fn dhcp_lease_on_e1000e() {
    check_lease("e1000e", "Intel 82574L (e1000e)");
}

#[test]
fn dhcp_lease_on_82545em() {
    check_lease("e1000-82545em", "Intel 82545EM (e1000)");
}

#[test]
fn dhcp_lease_on_virtio_net_modern() {
    check_lease("virtio-net-pci", "virtio-net (modern)");
}

#[test]
fn dhcp_lease_on_virtio_net_legacy() {
    check_lease("virtio-net-pci,disable-modern=on", "virtio-net (legacy)");
}

#[test]
fn dhcp_lease_on_rtl8139() {
    check_lease("rtl8139", "Realtek RTL8139");
}

#[test]
fn no_nic_is_reported() {
    let qemu = Qemu::start(QemuConfig::payload(Variant::Multiboot).unwrap().append("test-exit")).unwrap();
    qemu.wait_for_line("net: no supported NIC", LEASE).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1);
}

/// Runs the TCP test against a host server and checks both directions.
fn transfer(model: &str, bytes: u64) {
    let server = PatternServer::start(bytes, bytes, TRANSFER_TIMEOUT).unwrap();
    let cmdline = format!("test-exit nettest=10.0.2.2:{},rx={bytes},tx={bytes}", server.port());
    let qemu = boot(model, &cmdline);
    let rx = qemu.wait_for_line("nettest: rx ", TRANSFER_TIMEOUT).unwrap();
    let tx = qemu.wait_for_line("nettest: tx ", TRANSFER_TIMEOUT).unwrap();
    qemu.wait_for_line("nettest: done", EXIT).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
    let host = server.join().unwrap();

    let rx = parse_nettest_line(&rx, "rx").unwrap_or_else(|| panic!("bad line {rx:?}"));
    let tx = parse_nettest_line(&tx, "tx").unwrap_or_else(|| panic!("bad line {tx:?}"));
    assert_eq!(rx.bytes, bytes);
    assert_eq!(rx.sum, host.sent_sum, "client's sum of what it received");
    assert_eq!(host.received, bytes);
    assert!(host.received_is_pattern, "client sent something other than the pattern");
    assert_eq!(tx.bytes, bytes);
    assert_eq!(tx.sum, host.received_sum, "client's sum of what it sent");
    assert_eq!(tx.sum, host.sent_sum, "both directions carry the same pattern");
    // The NIC dropped nothing and saw no errors over the whole run.
    let serial = qemu.serial();
    let stats = serial.lines().find(|l| l.contains("] net: tx ")).unwrap_or_else(|| panic!("no stats:\n{serial}"));
    assert!(stats.contains(" 0 dropped 0 errors, rx ") && stats.ends_with(" 0 dropped 0 errors"), "{stats}");
    eprintln!("{model}: rx {} bytes in {} ms, tx {} bytes in {} ms", rx.bytes, rx.millis, tx.bytes, tx.millis);
}

#[test]
fn tcp_transfer_both_ways_on_e1000() {
    transfer("e1000", TRANSFER);
}

#[test]
fn tcp_transfer_both_ways_on_e1000e() {
    transfer("e1000e", TRANSFER);
}

#[test]
fn tcp_transfer_both_ways_on_virtio_net_modern() {
    transfer("virtio-net-pci", TRANSFER);
}

#[test]
fn tcp_transfer_both_ways_on_virtio_net_legacy() {
    transfer("virtio-net-pci,disable-modern=on", TRANSFER);
}

#[test]
fn tcp_transfer_both_ways_on_rtl8139() {
    transfer("rtl8139", TRANSFER);
}

#[test]
fn static_address_from_the_command_line() {
    // A small transfer proves the static address and route actually work.
    let server = PatternServer::start(64 << 10, 64 << 10, TRANSFER_TIMEOUT).unwrap();
    let cmdline = format!(
        "test-exit ip=10.0.2.77/24 gw=10.0.2.2 dns=10.0.2.3 nettest=10.0.2.2:{},rx=65536,tx=65536",
        server.port()
    );
    let qemu = boot("e1000", &cmdline);
    let line = qemu.wait_for_line("net: static", LEASE).unwrap();
    assert_eq!(after(&line, "net: static "), "10.0.2.77/24 gw 10.0.2.2 dns 10.0.2.3");
    assert!(!qemu.serial().contains("dhcp"), "DHCP ran despite ip=");
    qemu.wait_for_line("nettest: done", TRANSFER_TIMEOUT).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1);
    let host = server.join().unwrap();
    assert_eq!((host.received, host.received_is_pattern), (65536, true));
}

#[test]
fn no_dhcp_answer_is_bounded() {
    // An e1000 with no backend: frames go nowhere, so DHCP must give up.
    let config = QemuConfig::payload(Variant::Multiboot).unwrap().append("test-exit").device("e1000");
    let qemu = Qemu::start(config).unwrap();
    qemu.wait_for_line("net: Intel 82540EM (e1000) 00:03.0", LEASE).unwrap();
    qemu.wait_for_line("net: no DHCP answer in 20 s", LEASE).unwrap();
    qemu.wait_for_line("ready", EXIT).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
}
