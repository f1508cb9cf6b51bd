//! Register-level tests: one small virtio-net device model behind both
//! transports (legacy over the recording ports, modern over three MMIO
//! windows), and the test playing the device's side of the virtqueues
//! through a shared `VecDma`.

use super::transport::{common, legacy};
use super::*;
use crate::mmio::Mmio;
use crate::net::dma::mock::VecDma;
use crate::pci::{Bar, ConfigSpace, PciAddress};
use crate::port::mock::{Access, RecordingPorts};
use std::cell::RefCell;
use std::rc::Rc;

const PHYS: u64 = 0x4560_0000;
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const IO: u16 = 0xc040;
const FRAME: &[u8] = b"\xff\xff\xff\xff\xff\xff\x52\x54\x00\x12\x34\x56\x08\x06 an ARP-sized payload";

#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct QueueRegs {
    size: u16,
    desc: u64,
    driver: u64,
    device: u64,
    enable: u16,
    pfn: u32,
}

/// The device: registers both transports map onto.
struct Dev {
    status: u8,
    /// Status reads that still return the old value after a reset (None: forever).
    reset_lag: Option<u32>,
    lag_left: u32,
    features: u64,
    driver_features: u64,
    /// Clear FEATURES_OK when the driver sets it.
    refuse_features: bool,
    queue_max: u16,
    select: u16,
    feature_select: u32,
    driver_feature_select: u32,
    queues: [QueueRegs; 2],
    notify_off: [u16; 2],
    config: [u8; 8],
    notifies: Vec<u16>,
    status_writes: Vec<u8>,
}

impl Dev {
    fn new(features: u64) -> Rc<RefCell<Dev>> {
        let mut config = [0; 8];
        config[..6].copy_from_slice(&MAC);
        config[6] = 1; // link up
        Rc::new(RefCell::new(Dev {
            status: 0x0f,
            reset_lag: Some(2),
            lag_left: 0,
            features,
            driver_features: 0,
            refuse_features: false,
            queue_max: 256,
            select: 0,
            feature_select: 0,
            driver_feature_select: 0,
            queues: Default::default(),
            notify_off: [0, 1],
            config,
            notifies: Vec::new(),
            status_writes: Vec::new(),
        }))
    }
    fn read_status(&mut self) -> u8 {
        if self.lag_left > 0 || self.reset_lag.is_none() {
            self.lag_left = self.lag_left.saturating_sub(1);
            return 0x0f;
        }
        self.status
    }
    fn write_status(&mut self, v: u8) {
        self.status_writes.push(v);
        if v == 0 {
            self.lag_left = self.reset_lag.unwrap_or(0);
            self.queues = Default::default();
        }
        self.status = if v & status::FEATURES_OK != 0 && self.refuse_features { v & !status::FEATURES_OK } else { v };
    }
    fn q(&mut self) -> &mut QueueRegs {
        let i = usize::from(self.select);
        &mut self.queues[i]
    }
}

const LEGACY_FEATURES: u64 = feature::MAC | feature::STATUS | feature::MRG_RXBUF | 1 << 28;
const MODERN_FEATURES: u64 = LEGACY_FEATURES | feature::VERSION_1 | 1 << 33;

fn legacy_ports(dev: &Rc<RefCell<Dev>>) -> RecordingPorts {
    let dev = dev.clone();
    RecordingPorts::with_responder(move |port, width, value| {
        let mut d = dev.borrow_mut();
        let off = port.checked_sub(IO).expect("port below BAR0");
        match (off, width, value) {
            (legacy::DEVICE_FEATURES, 4, None) => d.features as u32,
            (legacy::GUEST_FEATURES, 4, Some(v)) => {
                d.driver_features = v.into();
                0
            }
            (legacy::QUEUE_PFN, 4, Some(v)) => {
                d.q().pfn = v;
                0
            }
            (legacy::QUEUE_SIZE, 2, None) => d.queue_max.into(),
            (legacy::QUEUE_SELECT, 2, Some(v)) => {
                d.select = v as u16;
                0
            }
            (legacy::QUEUE_NOTIFY, 2, Some(v)) => {
                d.notifies.push(v as u16);
                0
            }
            (legacy::STATUS, 1, None) => d.read_status().into(),
            (legacy::STATUS, 1, Some(v)) => {
                d.write_status(v as u8);
                0
            }
            (o, 1, None) if (legacy::CONFIG..legacy::CONFIG + 8).contains(&o) => {
                d.config[usize::from(o - legacy::CONFIG)].into()
            }
            (o, 2, None) if (legacy::CONFIG..legacy::CONFIG + 7).contains(&o) => {
                let i = usize::from(o - legacy::CONFIG);
                u16::from_le_bytes([d.config[i], d.config[i + 1]]).into()
            }
            other => panic!("unexpected legacy access {other:?}"),
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Win {
    Common,
    Notify,
    Device,
}

/// One modern window onto the shared device.
struct ModernWin(Rc<RefCell<Dev>>, Win, usize);

impl ModernWin {
    fn read(&self, o: usize, width: u8) -> u32 {
        let mut d = self.0.borrow_mut();
        match (self.1, o, width) {
            (Win::Common, common::DEVICE_FEATURE, 4) => (d.features >> (32 * d.feature_select)) as u32,
            (Win::Common, common::DEVICE_STATUS, 1) => d.read_status().into(),
            (Win::Common, common::CONFIG_GENERATION, 1) => 3,
            (Win::Common, common::QUEUE_SIZE, 2) => d.queue_max.into(),
            (Win::Common, common::QUEUE_NOTIFY_OFF, 2) => {
                let s = usize::from(d.select);
                d.notify_off[s].into()
            }
            (Win::Device, o, 1) => d.config[o].into(),
            (Win::Device, o, 2) => u16::from_le_bytes([d.config[o], d.config[o + 1]]).into(),
            _ => panic!("unexpected modern read at {o:#x}/{width}"),
        }
    }
    fn write(&mut self, o: usize, width: u8, v: u32) {
        let mut d = self.0.borrow_mut();
        let hi = |old: u64, v: u32| old & 0xffff_ffff | u64::from(v) << 32;
        let lo = |old: u64, v: u32| old & !0xffff_ffff | u64::from(v);
        match (self.1, o, width) {
            (Win::Common, common::DEVICE_FEATURE_SELECT, 4) => d.feature_select = v,
            (Win::Common, common::DRIVER_FEATURE_SELECT, 4) => d.driver_feature_select = v,
            (Win::Common, common::DRIVER_FEATURE, 4) => {
                let f = d.driver_features;
                d.driver_features = if d.driver_feature_select == 0 { lo(f, v) } else { hi(f, v) };
            }
            (Win::Common, common::DEVICE_STATUS, 1) => d.write_status(v as u8),
            (Win::Common, common::QUEUE_SELECT, 2) => d.select = v as u16,
            (Win::Common, common::QUEUE_SIZE, 2) => d.q().size = v as u16,
            (Win::Common, common::QUEUE_ENABLE, 2) => d.q().enable = v as u16,
            (Win::Common, o, 4) if (common::QUEUE_DESC..common::LEN).contains(&o) => {
                let q = d.q();
                let field = match (o - common::QUEUE_DESC) / 8 {
                    0 => &mut q.desc,
                    1 => &mut q.driver,
                    _ => &mut q.device,
                };
                *field = if o % 8 == 0 { lo(*field, v) } else { hi(*field, v) };
            }
            (Win::Notify, o, 2) => {
                assert_eq!(o % 4, 0, "notify offsets are multiples of the multiplier");
                d.notifies.push(v as u16);
            }
            _ => panic!("unexpected modern write {v:#x} at {o:#x}/{width}"),
        }
    }
}

impl Mmio for ModernWin {
    fn read8(&self, o: usize) -> u8 {
        self.read(o, 1) as u8
    }
    fn write8(&mut self, o: usize, v: u8) {
        self.write(o, 1, v.into())
    }
    fn read16(&self, o: usize) -> u16 {
        self.read(o, 2) as u16
    }
    fn write16(&mut self, o: usize, v: u16) {
        self.write(o, 2, v.into())
    }
    fn read32(&self, o: usize) -> u32 {
        self.read(o, 4)
    }
    fn write32(&mut self, o: usize, v: u32) {
        self.write(o, 4, v)
    }
    fn len(&self) -> usize {
        self.2
    }
}

fn modern(dev: &Rc<RefCell<Dev>>) -> Modern<ModernWin> {
    let w = |kind, len| ModernWin(dev.clone(), kind, len);
    Modern::new(w(Win::Common, 0x1000), w(Win::Notify, 0x1000), 4, w(Win::Device, 0x1000)).unwrap()
}

fn dma() -> VecDma {
    VecDma::new(PHYS, DMA_LEN)
}

/// The device's side of one queue, reading and writing the shared memory.
struct Side {
    mem: VecDma,
    rings: usize,
    layout: Layout,
    /// Next avail entry to take, next used entry to write.
    taken: u16,
    used: u16,
}

impl Side {
    fn new(mem: &VecDma, rings: usize) -> Side {
        Side { mem: mem.clone(), rings, layout: Layout::new(256), taken: 0, used: 0 }
    }
    fn avail_idx(&self) -> u16 {
        self.mem.read16(self.rings + self.layout.avail + 2)
    }
    /// Takes the next buffer the driver offered: (id, bus address, length, flags).
    fn take(&mut self) -> Option<(u16, u64, u32, u16)> {
        if self.taken == self.avail_idx() {
            return None;
        }
        let id = self.mem.read16(self.rings + self.layout.avail + 4 + usize::from(self.taken % 256) * 2);
        self.taken = self.taken.wrapping_add(1);
        let d = self.rings + usize::from(id) * DESC_SIZE;
        Some((id, self.mem.read64(d), self.mem.read32(d + 8), self.mem.read16(d + 12)))
    }
    /// Puts an entry on the used ring and publishes it.
    fn give(&mut self, id: u32, len: u32) {
        let e = self.rings + self.layout.used + 4 + usize::from(self.used % 256) * 8;
        self.mem.write32(e, id);
        self.mem.write32(e + 4, len);
        self.used = self.used.wrapping_add(1);
        self.mem.write16(self.rings + self.layout.used + 2, self.used);
    }
    /// Receives `frame` behind a header of `hdr` bytes (gso_type `gso`) into the next buffer.
    fn deliver(&mut self, frame: &[u8], hdr: usize, gso: u8) -> u16 {
        let (id, addr, len, flags) = self.take().expect("a receive buffer");
        assert_eq!((len, flags), (BUF_SIZE as u32, 2), "writable 2 KiB buffer");
        let off = self.mem.offset_of(addr).unwrap();
        let mut h = vec![0u8; hdr];
        h[1] = gso;
        self.mem.write(off, &h);
        self.mem.write(off + hdr, frame);
        self.give(id.into(), (hdr + frame.len()) as u32);
        id
    }
}

#[test]
fn legacy_open_sequence() {
    let dev = Dev::new(LEGACY_FEATURES);
    let nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()).unwrap();
    assert_eq!(nic.mac(), MacAddr(MAC));
    assert_eq!(nic.variant(), Some("virtio-net (legacy)"));
    assert_eq!(nic.features(), feature::MAC | feature::STATUS, "no merged buffers, no ring features");
    assert_eq!(nic.hdr_len, 10, "legacy header without MRG_RXBUF");
    let d = dev.borrow();
    // Reset, acknowledge, driver, driver OK: legacy has no FEATURES_OK.
    assert_eq!(d.status_writes, [0, 1, 3, 7]);
    assert_eq!(d.driver_features, feature::MAC | feature::STATUS);
    assert_eq!(d.queues[0].pfn as u64 * 4096, PHYS);
    assert_eq!(d.queues[1].pfn as u64 * 4096, PHYS + QUEUE_AREA as u64);
    assert_eq!(d.notifies, [RX_QUEUE], "receive buffers announced after DRIVER_OK");
    // The reset was waited for: status read until it came back 0.
    let log = &nic.transport().ports().log;
    let status_reads = log
        .iter()
        .take_while(|a| !matches!(a, Access::Write8(_, 1)))
        .filter(|a| matches!(a, Access::Read8(p, _) if *p == IO + legacy::STATUS))
        .count();
    assert_eq!(status_reads, 3, "two stale reads, then 0");
    // The notify came after DRIVER_OK, and after every buffer was offered.
    let ok = log.iter().position(|a| *a == Access::Write8(IO + legacy::STATUS, 7)).unwrap();
    let kick = log.iter().position(|a| *a == Access::Write16(IO + legacy::QUEUE_NOTIFY, 0)).unwrap();
    assert!(ok < kick);
    let mem = nic.dma();
    assert_eq!(mem.read16(Layout::new(256).avail), 1, "no interrupts, please");
    assert_eq!(mem.read16(Layout::new(256).avail + 2), 256, "every receive buffer offered");
    assert_eq!(mem.read64(0), PHYS + RX_BUFS as u64);
    assert_eq!(mem.read64(TX_RINGS + 16), PHYS + TX_BUFS as u64 + BUF_SIZE as u64);
}

#[test]
fn legacy_receive_and_transmit() {
    let dev = Dev::new(LEGACY_FEATURES);
    let mem = dma();
    let mut nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), mem.clone()).unwrap();
    let mut rx = Side::new(&mem, RX_RINGS);
    let mut tx = Side::new(&mem, TX_RINGS);
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), None);
    rx.deliver(FRAME, 10, 0);
    assert_eq!(nic.receive(&mut buf), Some(FRAME.len()));
    assert_eq!(&buf[..FRAME.len()], FRAME);
    assert_eq!(nic.receive(&mut buf), None);

    nic.transmit(FRAME).unwrap();
    assert_eq!(dev.borrow().notifies, [RX_QUEUE, TX_QUEUE]);
    let (id, addr, len, flags) = tx.take().unwrap();
    assert_eq!((len as usize, flags), (10 + FRAME.len(), 0));
    let off = mem.offset_of(addr).unwrap();
    let mut out = vec![0xaau8; len as usize];
    mem.read(off, &mut out);
    assert_eq!(&out[..10], &[0; 10], "an empty 10-byte header");
    assert_eq!(&out[10..], FRAME);
    tx.give(id.into(), 0);
    nic.poll();
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_bytes, s.tx_packets, s.tx_bytes), (1, FRAME.len() as u64, 1, FRAME.len() as u64));
    assert_eq!((s.rx_dropped, s.rx_errors, s.tx_dropped, s.tx_errors), (0, 0, 0, 0));
    // The received buffer went back to the device at the poll.
    assert_eq!(rx.avail_idx(), 257);
    assert!(nic.link_up());
    dev.borrow_mut().config[6] = 0;
    assert!(!nic.link_up());
}

#[test]
fn modern_open_sequence_and_header() {
    let dev = Dev::new(MODERN_FEATURES);
    let mem = dma();
    let mut nic = VirtioNet::open(modern(&dev), mem.clone()).unwrap();
    assert_eq!(nic.variant(), Some("virtio-net (modern)"));
    assert_eq!(nic.features(), feature::MAC | feature::STATUS | feature::VERSION_1);
    assert_eq!(nic.hdr_len, 12, "VERSION_1 always carries num_buffers");
    {
        let d = dev.borrow();
        assert_eq!(d.status_writes, [0, 1, 3, 11, 15]);
        assert_eq!(d.driver_features, feature::MAC | feature::STATUS | feature::VERSION_1);
        let l = Layout::new(256);
        for (q, rings) in [(0, RX_RINGS), (1, TX_RINGS)] {
            let base = PHYS + rings as u64;
            let want = QueueRegs {
                size: 256,
                desc: base,
                driver: base + l.avail as u64,
                device: base + l.used as u64,
                enable: 1,
                pfn: 0,
            };
            assert_eq!(d.queues[q], want, "queue {q}");
        }
        assert_eq!(d.notifies, [0]);
    }
    // Transmit notifies at queue_notify_off (1) times the multiplier (4).
    let mut tx = Side::new(&mem, TX_RINGS);
    nic.transmit(FRAME).unwrap();
    let (_, _, len, _) = tx.take().unwrap();
    assert_eq!(len as usize, 12 + FRAME.len());
    assert_eq!(dev.borrow().notifies, [0, 1]);
    // Receive strips the 12-byte header.
    let mut rx = Side::new(&mem, RX_RINGS);
    rx.deliver(FRAME, 12, 0);
    let mut buf = [0u8; 2048];
    assert_eq!(nic.receive(&mut buf), Some(FRAME.len()));
    assert_eq!(&buf[..FRAME.len()], FRAME);
}

#[test]
fn modern_device_must_take_version_1_and_our_features() {
    let dev = Dev::new(LEGACY_FEATURES);
    let e = VirtioNet::open(modern(&dev), dma()).err().unwrap();
    assert_eq!(e, VirtioError::NoVersion1 { features: LEGACY_FEATURES });
    let writes = dev.borrow().status_writes.clone();
    assert_eq!(writes[writes.len() - 2..], [3 | status::FAILED, 0], "the device is told we gave up, then reset");

    let dev = Dev::new(MODERN_FEATURES);
    dev.borrow_mut().refuse_features = true;
    let e = VirtioNet::open(modern(&dev), dma()).err().unwrap();
    assert!(matches!(e, VirtioError::FeaturesRejected { .. }), "{e}");
    assert!(dev.borrow().queues.iter().all(|q| q.enable == 0), "no queue set up");
}

#[test]
fn open_failures_are_bounded_and_reported() {
    // A reset that never finishes.
    let dev = Dev::new(LEGACY_FEATURES);
    dev.borrow_mut().reset_lag = None;
    let e = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()).err().unwrap();
    assert_eq!(e, VirtioError::ResetTimeout { polls: RESET_POLL_LIMIT });
    // No MAC feature.
    let dev = Dev::new(feature::STATUS);
    let e = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()).err().unwrap();
    assert_eq!(e, VirtioError::NoMacAddress { mac: MacAddr([0; 6]) });
    // A multicast MAC.
    let dev = Dev::new(LEGACY_FEATURES);
    dev.borrow_mut().config[0] = 1;
    assert!(matches!(
        VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()),
        Err(VirtioError::NoMacAddress { .. })
    ));
    // A legacy queue size we can't lay out, and a missing queue.
    for size in [512, 100, 0] {
        let dev = Dev::new(LEGACY_FEATURES);
        dev.borrow_mut().queue_max = size;
        let e = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()).err().unwrap();
        assert_eq!(e, VirtioError::BadQueueSize { queue: 0, size }, "size {size}");
    }
    // A modern device's odd maximum is rounded down; its notify offset is checked.
    let dev = Dev::new(MODERN_FEATURES);
    dev.borrow_mut().queue_max = 1000;
    VirtioNet::open(modern(&dev), dma()).unwrap();
    assert_eq!(dev.borrow().status_writes.last(), Some(&0), "dropping the NIC resets the device");
    let dev = Dev::new(MODERN_FEATURES);
    dev.borrow_mut().queue_max = 100;
    let _nic = VirtioNet::open(modern(&dev), dma()).unwrap();
    assert_eq!(dev.borrow().queues[0].size, 64);
    let dev = Dev::new(MODERN_FEATURES);
    dev.borrow_mut().notify_off = [0, 0x400];
    let e = VirtioNet::open(modern(&dev), dma()).err().unwrap();
    assert_eq!(e, VirtioError::Setup(SetupError::NotifyOutOfRange { queue: 1, offset: 0x1000 }));
    // DMA checks.
    let dev = Dev::new(LEGACY_FEATURES);
    let e = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), VecDma::new(PHYS + 64, DMA_LEN)).err().unwrap();
    assert_eq!(e, VirtioError::DmaMisaligned { phys: PHYS + 64 });
    let e = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), VecDma::new(PHYS, 4096)).err().unwrap();
    assert_eq!(e, VirtioError::DmaTooSmall { len: 4096 });
}

#[test]
fn malformed_receives_are_dropped_and_counted() {
    let dev = Dev::new(LEGACY_FEATURES);
    let mem = dma();
    let mut nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), mem.clone()).unwrap();
    let mut rx = Side::new(&mem, RX_RINGS);
    // Shorter than a header plus an Ethernet header.
    rx.deliver(&FRAME[..13], 10, 0);
    // Longer than the buffer the device was given.
    let (id, ..) = rx.take().unwrap();
    rx.give(id.into(), BUF_SIZE as u32 + 1);
    // Shorter than even the virtio header.
    let (id, ..) = rx.take().unwrap();
    rx.give(id.into(), 3);
    // Segmentation we never asked for.
    rx.deliver(FRAME, 10, 1);
    // An id the device doesn't hold (a repeat), and one out of range.
    rx.give(u32::from(id), 64);
    rx.give(70_000, 64);
    // Longer than a 1518-byte frame.
    rx.deliver(&[0x11; MAX_FRAME + 1], 10, 0);
    // Then a good one.
    rx.deliver(FRAME, 10, 0);
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), Some(FRAME.len()));
    assert_eq!(&buf[..FRAME.len()], FRAME);
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_dropped, s.rx_errors), (1, 5, 2));
    // A frame longer than the caller's buffer is dropped, not truncated.
    rx.deliver(FRAME, 10, 0);
    assert_eq!(nic.receive(&mut buf[..20]), None);
    assert_eq!(nic.stats().rx_dropped, 6);
    // Every buffer is the device's again after a poll; nothing leaked.
    nic.poll();
    assert_eq!(nic.rx.q.free(), 0);
    assert_eq!(rx.avail_idx().wrapping_sub(rx.taken), 256);
}

#[test]
fn poll_drops_bad_frames_but_keeps_good_ones() {
    let dev = Dev::new(LEGACY_FEATURES);
    let mem = dma();
    let mut nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), mem.clone()).unwrap();
    let mut rx = Side::new(&mem, RX_RINGS);
    rx.deliver(&FRAME[..5], 10, 0);
    rx.deliver(FRAME, 10, 0);
    nic.poll();
    assert_eq!(nic.stats().rx_dropped, 1);
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), Some(FRAME.len()), "the good frame waited for receive");
}

#[test]
fn transmit_ring_fills_and_drains() {
    let dev = Dev::new(LEGACY_FEATURES);
    let mem = dma();
    let mut nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), mem.clone()).unwrap();
    let mut tx = Side::new(&mem, TX_RINGS);
    for _ in 0..256 {
        nic.transmit(FRAME).unwrap();
    }
    assert!(!nic.can_transmit());
    assert_eq!(nic.transmit(FRAME), Err(NicError::TxRingFull));
    assert_eq!(nic.transmit(&[0; 13]), Err(NicError::FrameTooShort { len: 13 }));
    assert_eq!(nic.transmit(&[0; MAX_FRAME + 1]), Err(NicError::FrameTooLong { len: MAX_FRAME + 1 }));
    assert_eq!(nic.stats().tx_dropped, 3);
    // The device completes them out of order, plus one bogus id.
    let taken: Vec<u16> = core::iter::from_fn(|| tx.take().map(|t| t.0)).collect();
    assert_eq!(taken.len(), 256);
    for &id in taken.iter().rev().take(10) {
        tx.give(id.into(), 0);
    }
    tx.give(999, 0);
    assert!(nic.can_transmit());
    let s = nic.stats();
    assert_eq!((s.tx_packets, s.tx_errors, s.tx_bytes), (10, 1, 10 * FRAME.len() as u64));
    // When the device says it needs no notification, none is sent.
    mem.mem.borrow_mut()[TX_RINGS + Layout::new(256).used] = 1;
    let before = dev.borrow().notifies.len();
    nic.transmit(FRAME).unwrap();
    assert_eq!(dev.borrow().notifies.len(), before);
    assert_eq!(tx.avail_idx(), 257, "but the buffer is published");
}

#[test]
fn header_length_follows_the_features() {
    assert_eq!(net_hdr_len(0), 10);
    assert_eq!(net_hdr_len(feature::MAC | feature::STATUS), 10);
    assert_eq!(net_hdr_len(feature::MRG_RXBUF), 12);
    assert_eq!(net_hdr_len(feature::VERSION_1), 12);
    assert_eq!(net_hdr_len(feature::VERSION_1 | feature::MRG_RXBUF), 12);
}

#[test]
fn link_is_assumed_up_without_the_status_feature() {
    let dev = Dev::new(feature::MAC);
    dev.borrow_mut().config[6] = 0;
    let mut nic = VirtioNet::open(Legacy::new(legacy_ports(&dev), IO), dma()).unwrap();
    assert!(nic.link_up());
}

/// One function's configuration space behind the 0xCF8/0xCFC ports.
fn config_ports(space: [u8; 256]) -> RecordingPorts {
    let mut latch = 0u32;
    RecordingPorts::with_responder(move |port, _, value| match (port, value) {
        (0xCF8, Some(v)) => {
            latch = v;
            0
        }
        (0xCFC, None) => {
            let o = (latch & 0xFC) as usize;
            u32::from_le_bytes(space[o..o + 4].try_into().unwrap())
        }
        _ => 0,
    })
}

/// QEMU's transitional virtio-net: MSI-X, then the five virtio capabilities in BAR4.
fn qemu_like_space() -> [u8; 256] {
    let mut s = [0u8; 256];
    s[0x06] = 0x10; // capability list
    s[0x34] = 0x98;
    let mut put = |at: usize, bytes: &[u8]| s[at..at + bytes.len()].copy_from_slice(bytes);
    put(0x98, &[0x11, 0x88, 0, 0]); // MSI-X
    let vcap = |next: u8, len: u8, kind: u8, off: u32, size: u32| {
        let mut c = vec![0x09, next, len, kind, 4, 0, 0, 0];
        c.extend(off.to_le_bytes());
        c.extend(size.to_le_bytes());
        c
    };
    put(0x88, &vcap(0x78, 16, 1, 0x0000, 0x1000)); // common
    put(0x78, &vcap(0x68, 16, 3, 0x1000, 0x1000)); // ISR
    put(0x68, &vcap(0x54, 16, 4, 0x2000, 0x1000)); // device
    let mut notify = vcap(0x40, 20, 2, 0x3000, 0x1000);
    notify.extend(4u32.to_le_bytes());
    put(0x54, &notify);
    put(0x40, &vcap(0x00, 20, 5, 0, 0)); // PCI cfg access
    s
}

#[test]
fn capability_walk_finds_the_modern_windows() {
    let addr = PciAddress::new(0, 3, 0);
    let mut cfg = ConfigSpace::new(config_ports(qemu_like_space()));
    let caps = modern_caps(&mut cfg, addr).unwrap();
    assert_eq!(caps.common, Window { bar: 4, offset: 0, len: 0x1000 });
    assert_eq!(caps.device, Window { bar: 4, offset: 0x2000, len: 0x1000 });
    assert_eq!(caps.notify, Window { bar: 4, offset: 0x3000, len: 0x1000 });
    assert_eq!(caps.notify_multiplier, 4);
    let mut bars = [None; 6];
    bars[4] = Some(Bar::Memory { base: 0xfe00_0000, size: 0x4000, prefetchable: true, is_64: true });
    assert_eq!(caps.notify.phys(&bars), Some(0xfe00_3000));
    assert_eq!(Window { bar: 4, offset: 0x3000, len: 0x1001 }.phys(&bars), None, "past the BAR's end");
    assert_eq!(Window { bar: 0, offset: 0, len: 4 }.phys(&bars), None, "no such BAR");
    assert_eq!(Window { bar: 9, offset: 0, len: 4 }.phys(&bars), None, "no such BAR slot");
    bars[0] = Some(Bar::Io { port: 0xc040, size: 0x20 });
    assert_eq!(Window { bar: 0, offset: 0, len: 4 }.phys(&bars), None, "an I/O BAR");
}

#[test]
fn capability_walk_is_bounded_and_needs_every_window() {
    let addr = PciAddress::new(0, 3, 0);
    // disable-modern=on: only MSI-X.
    let mut s = qemu_like_space();
    s[0x99] = 0;
    assert_eq!(modern_caps(&mut ConfigSpace::new(config_ports(s)), addr), None);
    // No capability list at all.
    let mut s = qemu_like_space();
    s[0x06] = 0;
    assert_eq!(modern_caps(&mut ConfigSpace::new(config_ports(s)), addr), None);
    // A list that loops on itself ends, with a bounded number of reads.
    let mut s = qemu_like_space();
    s[0x99] = 0x98;
    let mut cfg = ConfigSpace::new(config_ports(s));
    assert_eq!(modern_caps(&mut cfg, addr), None);
    assert!(cfg.ports().log.len() < 2 * 4 * 60, "{} port accesses", cfg.ports().log.len());
    // A notify capability too short for its multiplier doesn't count.
    let mut s = qemu_like_space();
    s[0x56] = 16;
    assert_eq!(modern_caps(&mut ConfigSpace::new(config_ports(s)), addr), None);
    // A pointer into the standard header ends the walk.
    let mut s = qemu_like_space();
    s[0x34] = 0x10;
    assert_eq!(modern_caps(&mut ConfigSpace::new(config_ports(s)), addr), None);
}
