//! Boots the payload in QEMU: banner, boot protocol, memory map, PCI list.

use std::time::Duration;

use qemu_test::{Qemu, QemuConfig, Variant};

/// TCG boot, with room for a loaded 2-core machine.
const BOOT: Duration = Duration::from_secs(60);
/// From `ready` to QEMU's exit.
const EXIT: Duration = Duration::from_secs(10);

/// Boots `variant` with `test-exit`, waits for `ready` and a clean exit
/// (guest status 0 → QEMU code 1), and returns the serial log.
fn boot(variant: Variant, configure: impl FnOnce(QemuConfig) -> QemuConfig) -> String {
    let config = QemuConfig::payload(variant).unwrap().append("test-exit");
    let qemu = Qemu::start(configure(config)).unwrap();
    qemu.wait_for_line("ready", BOOT).unwrap();
    assert_eq!(qemu.wait_exit(EXIT).unwrap(), 1, "QEMU exit code\n{}", qemu.serial());
    qemu.serial()
}

/// The serial lines, without line endings.
fn lines(serial: &str) -> Vec<&str> {
    serial.lines().map(|l| l.trim_end_matches('\r')).collect()
}

/// The one line containing `needle`.
fn line_with<'a>(serial: &'a str, needle: &str) -> &'a str {
    let found: Vec<&str> = lines(serial).into_iter().filter(|l| l.contains(needle)).collect();
    assert_eq!(found.len(), 1, "expected one line with {needle:?}; serial:\n{serial}");
    found[0]
}

fn banner() -> String {
    format!("Clove {}", env!("CARGO_PKG_VERSION"))
}

#[test]
fn multiboot1_boots_and_exits() {
    let serial = boot(Variant::Multiboot, |c| c);
    assert_eq!(lines(&serial).first().copied(), Some(banner().as_str()), "serial:\n{serial}");
    let line = line_with(&serial, "boot: ");
    assert!(line.contains("boot: multiboot1"), "{line}");
    // QEMU's multiboot loader puts the kernel's path before the -append text.
    assert!(line.contains("cmdline=\"") && line.contains("test-exit"), "{line}");
}

#[test]
fn pvh_boots_and_exits() {
    let serial = boot(Variant::PvhOnly, |c| c);
    assert_eq!(lines(&serial).first().copied(), Some(banner().as_str()), "serial:\n{serial}");
    let line = line_with(&serial, "boot: ");
    assert!(line.contains("boot: pvh"), "{line}");
}

/// Parses `memory: total <N> KiB available in <k> regions` → (N, k).
fn memory_total(serial: &str) -> (u64, u64) {
    let line = line_with(serial, "memory: total ");
    let rest = line.split("memory: total ").nth(1).unwrap();
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [n, "KiB", "available", "in", k, "regions" | "region", ..] => (
            n.parse().unwrap_or_else(|_| panic!("bad total in {line:?}")),
            k.parse().unwrap_or_else(|_| panic!("bad region count in {line:?}")),
        ),
        _ => panic!("unexpected memory line {line:?}"),
    }
}

fn check_memory(mib: u64) {
    let serial = boot(Variant::Multiboot, |c| c.memory(&format!("{mib}M")));
    let (total, regions) = memory_total(&serial);
    let expected = mib * 1024;
    assert!(
        (expected - 2048..=expected).contains(&total),
        "-m {mib}M: payload reports {total} KiB, expected {} ..= {expected}",
        expected - 2048
    );
    assert!(regions >= 1, "no memory regions");
}

#[test]
fn memory_map_matches_96m() {
    check_memory(96);
}

#[test]
fn memory_map_matches_4200m_above_4g() {
    check_memory(4200);
}

/// One `barN=kind 0xaddr+0xsize` entry of a PCI line.
#[derive(Debug)]
struct Bar {
    index: u32,
    kind: String,
    size: String,
}

/// `barN=kind [flags...] 0xaddr+0xsize`, e.g. `bar0=mem32 pref 0xfd000000+0x1000000`.
fn bars(line: &str) -> Vec<Bar> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let Some((name, kind)) = w.split_once('=') else {
            continue;
        };
        let Some(index) = name.strip_prefix("bar").and_then(|n| n.parse().ok()) else {
            continue;
        };
        let range = words[i + 1..].iter().take_while(|w| !w.starts_with("bar")).find_map(|w| w.split_once('+'));
        if let Some((_addr, size)) = range {
            out.push(Bar { index, kind: kind.to_string(), size: size.to_string() });
        }
    }
    out
}

fn bar(line: &str, index: u32) -> Bar {
    bars(line).into_iter().find(|b| b.index == index).unwrap_or_else(|| panic!("no bar{index} in {line:?}"))
}

/// The `pci bb:dd.f vvvv:dddd ...` line for a vendor:device pair.
fn pci_line<'a>(serial: &'a str, ids: &str) -> &'a str {
    let found: Vec<&str> = lines(serial)
        .into_iter()
        .filter(|l| {
            let mut w = l.split_whitespace().skip_while(|w| *w != "pci");
            w.next() == Some("pci") && w.nth(1) == Some(ids)
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one pci line for {ids}; serial:\n{serial}");
    found[0]
}

#[test]
fn pci_list_names_the_nics() {
    let serial = boot(Variant::Multiboot, |c| c.device("e1000").device("rtl8139").device("virtio-net-pci"));

    let e1000 = pci_line(&serial, "8086:100e");
    let b0 = bar(e1000, 0);
    assert!(b0.kind.starts_with("mem"), "e1000 bar0 {b0:?} in {e1000:?}");
    assert_eq!(b0.size, "0x20000", "e1000 bar0 in {e1000:?}");
    let b1 = bar(e1000, 1);
    assert_eq!((b1.kind.as_str(), b1.size.as_str()), ("io", "0x40"), "e1000 bar1 in {e1000:?}");

    let rtl = pci_line(&serial, "10ec:8139");
    let b0 = bar(rtl, 0);
    assert_eq!((b0.kind.as_str(), b0.size.as_str()), ("io", "0x100"), "rtl8139 bar0 in {rtl:?}");

    pci_line(&serial, "1af4:1000");
}

#[test]
fn bar_parsing() {
    let line =
        "[0000.120] pci 00:03.0 8086:100e class 02.00 Intel 82540EM bar0=mem32 0xfebc0000+0x20000 bar1=io 0xc000+0x40";
    let b = bars(line);
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].index, b[0].kind.as_str(), b[0].size.as_str()), (0, "mem32", "0x20000"));
    assert_eq!((b[1].index, b[1].kind.as_str(), b[1].size.as_str()), (1, "io", "0x40"));
    assert_eq!(pci_line(line, "8086:100e"), line);
    let vga = "[   0.020] pci 00:02.0 1234:1111 class 03.00 VGA controller: Bochs/QEMU VGA \
               bar0=mem32 pref 0xfd000000+0x1000000 bar2=mem32 0xfebf0000+0x1000";
    let b = bars(vga);
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].index, b[0].size.as_str()), (0, "0x1000000"));
    assert_eq!((b[1].index, b[1].size.as_str()), (2, "0x1000"));
    let mem = "Clove 0.1.0\n[0000.050] memory: total 97660 KiB available in 2 regions\n";
    assert_eq!(memory_total(mem), (97660, 2));
}
