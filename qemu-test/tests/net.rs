//! Networking end to end under QEMU `-netdev user`: DHCP from slirp, a
//! static address from the command line, a TCP transfer both ways with a
//! server on the host's loopback (10.0.2.2 inside the guest), a link pulled
//! mid-transfer, and the choice among several NICs.

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

/// The link goes down mid-transfer and comes back: DHCP restarts, the
/// connection recovers and both directions still check out.
fn link_down_and_up_during_a_transfer(model: &str) {
    // Big enough that the transfer is still running when the link goes.
    let bytes: u64 = 64 << 20;
    let server = PatternServer::start(bytes, 1 << 20, TRANSFER_TIMEOUT).unwrap();
    let cmdline = format!("test-exit nettest=10.0.2.2:{},rx={bytes},tx={}", server.port(), 1 << 20);
    let mut qemu = boot(model, &cmdline);
    qemu.wait_for_line("nettest: connected", LEASE).unwrap();
    qemu.set_link("net0", false).unwrap();
    qemu.wait_for_line("] net: link down", EXIT).unwrap();
    // Long enough for TCP to retransmit into the void a few times.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!qemu.serial().contains("nettest: rx "), "the transfer ended before the link went down");
    let mark = qemu.serial_mark();
    qemu.set_link("net0", true).unwrap();
    qemu.wait_for_line_after(mark, "] net: link up; restarting DHCP", EXIT).unwrap();
    // The address stays in use (the connection depends on it) and DHCP confirms it.
    qemu.wait_for_line_after(mark, "net: dhcp lease confirmed after link up: 10.0.2.15/24", LEASE).unwrap();
    let rx = qemu.wait_for_line_after(mark, "nettest: rx ", TRANSFER_TIMEOUT).unwrap();
    qemu.wait_for_line_after(mark, "nettest: done", TRANSFER_TIMEOUT).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
    let host = server.join().unwrap();
    let rx = parse_nettest_line(&rx, "rx").unwrap_or_else(|| panic!("bad line {rx:?}"));
    assert_eq!((rx.bytes, rx.sum), (bytes, host.sent_sum), "what the client received");
    assert_eq!((host.received, host.received_is_pattern), (1 << 20, true), "what the client sent");
}

#[test]
fn link_down_and_up_during_a_transfer_on_e1000() {
    link_down_and_up_during_a_transfer("e1000");
}

#[test]
fn link_down_and_up_during_a_transfer_on_e1000e() {
    link_down_and_up_during_a_transfer("e1000e");
}

#[test]
fn link_down_and_up_during_a_transfer_on_virtio_net_modern() {
    link_down_and_up_during_a_transfer("virtio-net-pci");
}

#[test]
fn link_down_and_up_during_a_transfer_on_virtio_net_legacy() {
    link_down_and_up_during_a_transfer("virtio-net-pci,disable-modern=on");
}

#[test]
fn link_down_and_up_during_a_transfer_on_rtl8139() {
    link_down_and_up_during_a_transfer("rtl8139");
}

/// Two NICs: an e1000 at 00:04.0 whose cable is pulled before the guest
/// runs, and an e1000e on user networking (`net0`) at 00:05.0.
fn two_nics(cmdline: &str) -> Qemu {
    two_nics_unplugged(cmdline, &["unplugged"])
}

fn two_nics_unplugged(cmdline: &str, unplugged: &[&str]) -> Qemu {
    let config = QemuConfig::payload(Variant::Multiboot)
        .unwrap()
        .append(cmdline)
        .user_net("e1000e,addr=05.0", "")
        .device("e1000,id=unplugged,addr=04.0,mac=52:54:00:00:00:04")
        .paused(true);
    let mut qemu = Qemu::start(config).unwrap();
    for nic in unplugged {
        qemu.set_link(nic, false).unwrap();
    }
    qemu.resume().unwrap();
    qemu
}

#[test]
fn first_nic_with_link_is_used() {
    let qemu = two_nics("test-exit");
    let down = qemu.wait_for_line("net: Intel 82540EM (e1000) 00:04.0", LEASE).unwrap();
    assert!(down.ends_with("link down"), "{down}");
    let using = qemu.wait_for_line("net: using ", LEASE).unwrap();
    assert!(after(&using, "net: using ").starts_with("Intel 82574L (e1000e) 00:05.0 mac "), "{using}");
    assert!(using.ends_with("(the first with link)"), "{using}");
    qemu.wait_for_line("net: dhcp lease 10.0.2.15/24", LEASE).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
}

#[test]
fn without_link_anywhere_the_first_nic_is_used() {
    let qemu = two_nics_unplugged("test-exit", &["unplugged", "net0"]);
    let using = qemu.wait_for_line("net: using ", LEASE).unwrap();
    assert!(after(&using, "net: using ").starts_with("Intel 82540EM (e1000) 00:04.0 mac "), "{using}");
    assert!(using.ends_with("(none has link; the first)"), "{using}");
    qemu.wait_for_line("net: no DHCP answer in 20 s", LEASE).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
}

#[test]
fn nic_option_picks_the_named_nic() {
    // The e1000 has no cable, so only the named e1000e can get a lease.
    for choice in ["e1000e", "00:05.0"] {
        let qemu = two_nics(&format!("test-exit nic={choice}"));
        qemu.wait_for_line("net: dhcp lease 10.0.2.15/24", LEASE).unwrap();
        let serial = qemu.serial();
        assert!(!serial.contains("00:04.0 mac"), "nic={choice} opened the other NIC too:\n{serial}");
        assert!(serial.contains("net: Intel 82574L (e1000e) 00:05.0 mac "), "{serial}");
        assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{serial}");
    }
    // A NIC that is not there is reported, then the default choice applies.
    let qemu = two_nics("test-exit nic=rtl8139");
    let note = qemu.wait_for_line("net: nic=rtl8139: ", LEASE).unwrap();
    assert!(note.ends_with("no such NIC (found e1000 00:04.0, e1000e 00:05.0); using the default choice"), "{note}");
    qemu.wait_for_line("net: using Intel 82574L (e1000e) 00:05.0", LEASE).unwrap();
    qemu.wait_for_line("net: dhcp lease 10.0.2.15/24", LEASE).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "exit code; serial:\n{}", qemu.serial());
}

/// With the lease capped at 4 s, smoltcp renews it every 2 s: each renewal
/// is logged and the address stays.
#[test]
fn lease_renewals_are_logged() {
    let qemu = boot("e1000", "dhcp-lease=4");
    qemu.wait_for_line("net: dhcp lease 10.0.2.15/24", LEASE).unwrap();
    let mark = qemu.serial_mark();
    let renewed = qemu.wait_for_line_after(mark, "net: dhcp lease renewed ", LEASE).unwrap();
    assert_eq!(after(&renewed, "net: dhcp lease renewed "), "10.0.2.15/24 gw 10.0.2.2 dns 10.0.2.3");
    let mark = qemu.serial_mark();
    qemu.wait_for_line_after(mark, "net: dhcp lease renewed ", LEASE).unwrap();
    let serial = qemu.serial();
    assert!(!serial.contains("lease lost") && !serial.contains("lease changed"), "{serial}");
}
