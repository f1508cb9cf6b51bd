//! Register-level tests: the recording port mock answered by a small model
//! of the chip's registers (reset self-clears, CBR is the device's write
//! offset), and the test playing the device's DMA engine through a shared
//! `VecDma`.

use super::*;
use crate::net::dma::mock::VecDma;
use crate::port::mock::{Access, RecordingPorts};
use alloc::rc::Rc;
use core::cell::RefCell;

const BASE: u16 = 0xc000;
const PHYS: u64 = 0x1234_0000;
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// A good unicast frame's header status: ROK | PAM.
const OK: u16 = 0x4001;

/// The registers as the tests see them.
struct Model {
    regs: [u8; 256],
    /// CR.RST reads back set this many times after a reset (None: forever).
    reset_polls: Option<u32>,
    rst_reads: u32,
    /// Every write, as (register, value), surviving the driver's drop.
    writes: Vec<(u16, u32)>,
}

impl Model {
    fn new() -> Self {
        let mut regs = [0u8; 256];
        regs[..6].copy_from_slice(&MAC);
        regs[reg::MSR as usize] = 0xd0; // QEMU's value with the link up
        Model { regs, reset_polls: Some(2), rst_reads: 0, writes: Vec::new() }
    }
    fn get(&self, r: u16, width: u8) -> u32 {
        let mut b = [0u8; 4];
        b[..width as usize].copy_from_slice(&self.regs[r as usize..][..width as usize]);
        u32::from_le_bytes(b)
    }
    fn set(&mut self, r: u16, width: u8, v: u32) {
        self.regs[r as usize..][..width as usize].copy_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    fn access(&mut self, port: u16, width: u8, value: Option<u32>) -> u32 {
        let r = port - BASE;
        match value {
            Some(v) => {
                self.writes.push((r, v));
                self.set(r, width, v);
                if r == reg::CR {
                    self.rst_reads = 0;
                }
                0
            }
            None => {
                if r == reg::CR && self.regs[r as usize] & reg::CR_RST != 0 {
                    self.rst_reads += 1;
                    if self.reset_polls.is_some_and(|limit| self.rst_reads > limit) {
                        self.regs[r as usize] &= !reg::CR_RST;
                    }
                }
                self.get(r, width)
            }
        }
    }
}

type Dut = Rtl8139<RecordingPorts, VecDma>;

struct Dev {
    model: Rc<RefCell<Model>>,
    dma: VecDma,
}

impl Dev {
    fn reg(&self, r: u16, width: u8) -> u32 {
        self.model.borrow().get(r, width)
    }
    fn poke(&self, r: u16, width: u8, v: u32) {
        self.model.borrow_mut().set(r, width, v);
    }

    /// The device's side: write one record (header, frame, CRC) at CBR,
    /// wrapping at the end of the ring, and move CBR past it. Asserts the
    /// driver left room (the device would refuse otherwise).
    fn deliver_raw(&self, status: u16, len_with_crc: u16, frame: &[u8]) {
        let cbr = self.reg(reg::CBR, 2);
        let capr = self.reg(reg::CAPR, 2);
        let read = (capr + 16) % RX_RING;
        let free = (read + RX_RING - cbr) % RX_RING;
        let record = 4 + frame.len() as u32 + 4;
        assert!(free == 0 || record < free, "device overran the driver: {record} bytes into {free} free");
        let mut bytes = (u32::from(status) | u32::from(len_with_crc) << 16).to_le_bytes().to_vec();
        bytes.extend_from_slice(frame);
        bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let mut m = self.dma.mem.borrow_mut();
        for (i, b) in bytes.iter().enumerate() {
            m[RX_BUF + (cbr as usize + i) % RX_RING as usize] = *b;
        }
        drop(m);
        self.poke(reg::CBR, 2, rx_ring::next_offset(cbr, len_with_crc, RX_RING));
    }

    fn deliver(&self, frame: &[u8]) {
        self.deliver_raw(OK, frame.len() as u16 + 4, frame);
    }

    /// The device's side: finish TX slot `slot` with these status bits.
    fn complete_tx(&self, slot: u16, bits: u32) {
        let r = reg::TSD0 + 4 * slot;
        let v = self.reg(r, 4);
        self.poke(r, 4, v | reg::TSD_OWN | bits);
    }
}

fn open_with(model: Model) -> (Dut, Dev) {
    let model = Rc::new(RefCell::new(model));
    let m = model.clone();
    let ports = RecordingPorts::with_responder(move |port, width, value| m.borrow_mut().access(port, width, value));
    let dma = VecDma::new(PHYS, DMA_LEN);
    let nic = Rtl8139::open(ports, BASE, IO_LEN, dma.clone()).unwrap();
    (nic, Dev { model, dma })
}

fn open() -> (Dut, Dev) {
    open_with(Model::new())
}

/// The driver's register writes so far, as (register, value).
fn writes(nic: &Dut) -> Vec<(u16, u32)> {
    nic.ports().writes().into_iter().map(|(p, v)| (p - BASE, v)).collect()
}

fn log_len(nic: &Dut) -> usize {
    nic.ports().log.len()
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

const RX_ON: u32 = (reg::CR_TE | reg::CR_RE) as u32;

/// What (re)starting the receiver writes.
fn rx_start() -> Vec<(u16, u32)> {
    vec![
        (reg::CR, reg::CR_TE as u32),
        (reg::RBSTART, PHYS as u32),
        (reg::CR, RX_ON),
        (reg::RCR, 0xff0a),
        (reg::CAPR, 0xfff0),
    ]
}

#[test]
fn init_sequence_is_exact() {
    let (nic, _dev) = open();
    assert_eq!(nic.mac(), MacAddr(MAC));
    let mut expect = vec![(reg::CR, reg::CR_RST as u32)];
    for slot in 0..4u16 {
        expect.push((reg::TSAD0 + 4 * slot, PHYS as u32 + 0x1_0800 + 0x800 * u32::from(slot)));
    }
    expect.extend([(reg::IMR, 0), (reg::ISR, 0xffff), (reg::MPC, 0)]);
    expect.extend(rx_start());
    expect.push((reg::TCR, 0x0300_0600));
    assert_eq!(writes(&nic), expect);
    // The reset was waited for (RST read back set twice, then clear), and
    // the MAC came from IDR0-5, a byte at a time.
    let reads: Vec<Access> = nic
        .ports()
        .log
        .iter()
        .copied()
        .filter(|a| !matches!(a, Access::Write8(..) | Access::Write16(..) | Access::Write32(..)))
        .collect();
    let mut want = vec![
        Access::Read8(BASE + reg::CR, reg::CR_RST),
        Access::Read8(BASE + reg::CR, reg::CR_RST),
        Access::Read8(BASE + reg::CR, 0),
    ];
    want.extend(MAC.iter().enumerate().map(|(i, &b)| Access::Read8(BASE + i as u16, b)));
    assert_eq!(reads, want);
}

#[test]
fn open_checks_its_resources() {
    let ports = RecordingPorts::new;
    let e = Rtl8139::open(ports(), BASE, IO_LEN, VecDma::new(PHYS, DMA_LEN - 1)).err().unwrap();
    assert_eq!(e, Rtl8139Error::DmaTooSmall { len: DMA_LEN - 1 });
    let e = Rtl8139::open(ports(), BASE, IO_LEN, VecDma::new(PHYS + 64, DMA_LEN)).err().unwrap();
    assert_eq!(e, Rtl8139Error::DmaMisaligned { phys: PHYS + 64 });
    let e = Rtl8139::open(ports(), BASE, IO_LEN, VecDma::new(0xffff_f000, DMA_LEN)).err().unwrap();
    assert_eq!(e, Rtl8139Error::DmaAbove4G { phys: 0xffff_f000 });
    assert_eq!(e.to_string(), "rtl8139: DMA region at 0xfffff000 is not below 4 GiB");
    let e = Rtl8139::open(ports(), BASE, 0x80, VecDma::new(PHYS, DMA_LEN)).err().unwrap();
    assert_eq!(e, Rtl8139Error::BadIoWindow { base: BASE, len: 0x80 });
    let e = Rtl8139::open(ports(), 0xff80, IO_LEN, VecDma::new(PHYS, DMA_LEN)).err().unwrap();
    assert_eq!(e, Rtl8139Error::BadIoWindow { base: 0xff80, len: IO_LEN });
}

#[test]
fn reset_wait_is_bounded() {
    let mut model = Model::new();
    model.reset_polls = None;
    let model = Rc::new(RefCell::new(model));
    let m = model.clone();
    let ports = RecordingPorts::with_responder(move |port, width, value| m.borrow_mut().access(port, width, value));
    let e = Rtl8139::open(ports, BASE, IO_LEN, VecDma::new(PHYS, DMA_LEN)).err().unwrap();
    assert_eq!(e, Rtl8139Error::ResetTimeout { polls: RESET_POLL_LIMIT });
    assert_eq!(e.to_string(), "rtl8139: reset did not finish in 100000 polls");
    // Nothing was started; the failed open still closes (and resets) the device.
    let rst = (reg::CR, reg::CR_RST as u32);
    assert_eq!(model.borrow().writes, [rst, (reg::IMR, 0), (reg::CR, 0), rst]);
}

#[test]
fn a_mac_that_is_not_unicast_is_refused() {
    for bad in [[0u8; 6], [0xff; 6], [0x01, 0, 0x5e, 0, 0, 1]] {
        let mut model = Model::new();
        model.regs[..6].copy_from_slice(&bad);
        let model = Rc::new(RefCell::new(model));
        let m = model.clone();
        let ports = RecordingPorts::with_responder(move |port, width, value| m.borrow_mut().access(port, width, value));
        let e = Rtl8139::open(ports, BASE, IO_LEN, VecDma::new(PHYS, DMA_LEN)).err().unwrap();
        assert_eq!(e, Rtl8139Error::NoMacAddress { mac: MacAddr(bad) });
    }
}

#[test]
fn link_state_comes_from_msr_linkb_inverted() {
    let (mut nic, dev) = open();
    assert!(nic.link_up());
    dev.poke(reg::MSR, 1, 0xd4);
    assert!(!nic.link_up());
}

#[test]
fn transmit_fills_the_buffer_then_writes_tsd() {
    let (mut nic, dev) = open();
    let f = frame(100, 7);
    let before = log_len(&nic);
    nic.transmit(&f).unwrap();
    // Exactly one register access: the TSD doorbell, after the copy.
    assert_eq!(nic.ports().log[before..], [Access::Write32(BASE + reg::TSD0, 100 | 8 << 16)]);
    let tx0 = TX_BUFS;
    assert_eq!(&dev.dma.mem.borrow()[tx0..tx0 + 100], &f[..]);
    // Not counted until the device says it is done.
    nic.poll();
    assert_eq!(nic.stats().tx_packets, 0);
    dev.complete_tx(0, reg::TSD_TOK);
    nic.poll();
    assert_eq!((nic.stats().tx_packets, nic.stats().tx_bytes), (1, 100));

    // Short frames are padded with zeros to 60 bytes.
    dev.dma.mem.borrow_mut()[TX_BUFS + 2048..TX_BUFS + 4096].fill(0xaa);
    nic.transmit(&frame(42, 1)).unwrap();
    assert_eq!(writes(&nic).last(), Some(&(reg::TSD0 + 4, 60 | 8 << 16)));
    let m = dev.dma.mem.borrow();
    let tx1 = TX_BUFS + 2048;
    assert_eq!(&m[tx1..tx1 + 42], &frame(42, 1)[..]);
    assert_eq!(&m[tx1 + 42..tx1 + 60], &[0; 18]);
    assert_eq!(m[tx1 + 60], 0xaa, "nothing past the pad was touched");
}

#[test]
fn transmit_slots_go_round_robin_and_fill() {
    let (mut nic, dev) = open();
    let tsd_writes = |nic: &Dut| -> Vec<u16> {
        writes(nic)
            .iter()
            .filter(|w| (reg::TSD0..reg::TSD0 + 16).contains(&w.0))
            .map(|w| (w.0 - reg::TSD0) / 4)
            .collect()
    };
    for _ in 0..3 {
        nic.transmit(&frame(64, 0)).unwrap();
    }
    // Three in flight is the most: the hardware can't tell a full set from an idle one.
    assert!(!nic.can_transmit());
    assert_eq!(nic.transmit(&frame(64, 0)), Err(NicError::TxRingFull));
    assert_eq!(nic.stats().tx_dropped, 1);
    // The device finishes slot 0 fine and gives up on slot 1.
    dev.complete_tx(0, reg::TSD_TOK);
    dev.complete_tx(1, reg::TSD_TABT);
    assert!(nic.can_transmit());
    nic.transmit(&frame(64, 0)).unwrap();
    nic.transmit(&frame(64, 0)).unwrap();
    assert_eq!(tsd_writes(&nic), [0, 1, 2, 3, 0]);
    // A slot still owned by the device (OWN clear, no TOK) holds the rest back.
    dev.complete_tx(3, reg::TSD_TOK);
    nic.poll();
    let s = nic.stats();
    assert_eq!((s.tx_packets, s.tx_errors, s.tx_dropped), (1, 1, 1));
    dev.complete_tx(2, reg::TSD_TUN);
    nic.poll();
    let s = nic.stats();
    assert_eq!((s.tx_packets, s.tx_errors, s.tx_bytes), (2, 2, 128));
}

#[test]
fn transmit_rejects_bad_lengths() {
    let (mut nic, _dev) = open();
    let before = log_len(&nic);
    assert_eq!(nic.transmit(&[0; 13]), Err(NicError::FrameTooShort { len: 13 }));
    assert_eq!(nic.transmit(&[0; 1519]), Err(NicError::FrameTooLong { len: 1519 }));
    assert_eq!(log_len(&nic), before, "nothing reached the device");
    assert_eq!(nic.stats().tx_dropped, 2);
}

#[test]
fn receive_delivers_in_order_and_releases_on_poll() {
    let (mut nic, dev) = open();
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), None);
    let a = frame(342, 1);
    let b = frame(1514, 2);
    dev.deliver(&a);
    dev.deliver(&b);
    assert_eq!(nic.receive(&mut buf), Some(342));
    assert_eq!(&buf[..342], &a[..]);
    assert_eq!(nic.receive(&mut buf), Some(1514));
    assert_eq!(&buf[..1514], &b[..]);
    assert_eq!(nic.receive(&mut buf), None);
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_bytes, s.rx_dropped, s.rx_errors), (2, 1856, 0, 0));
    // The space is handed back on poll: CAPR = read offset - 16.
    assert_eq!(writes(&nic).last(), Some(&(reg::TCR, 0x0300_0600)), "no CAPR write before poll");
    nic.poll();
    let read = 352 + 1524;
    assert_eq!(writes(&nic).last(), Some(&(reg::CAPR, read - 16)));
    // Nothing new: no second write.
    let n = writes(&nic).len();
    nic.poll();
    assert_eq!(writes(&nic).len(), n);
}

#[test]
fn frames_that_wrap_at_the_end_of_the_ring_arrive_whole() {
    let (mut nic, dev) = open();
    let mut buf = [0u8; MAX_FRAME];
    let mut seed = 0u8;
    // Fill the ring to just short of its end with full frames.
    while dev.reg(reg::CBR, 2) + 2 * 1524 < RX_RING {
        seed = seed.wrapping_add(1);
        let f = frame(1514, seed);
        dev.deliver(&f);
        assert_eq!(nic.receive(&mut buf), Some(1514));
        assert_eq!(&buf[..1514], &f[..]);
        nic.poll();
    }
    // Odd sizes so the header, the data and the CRC each take a turn at crossing.
    for len in [1500, 999, 1514, 61, 1371, 1514, 100] {
        seed = seed.wrapping_add(1);
        let f = frame(len, seed);
        dev.deliver(&f);
        assert_eq!(nic.receive(&mut buf), Some(len), "frame of {len} at {:#x}", dev.reg(reg::CBR, 2));
        assert_eq!(&buf[..len], &f[..], "frame of {len}");
        nic.poll();
    }
    assert!(dev.reg(reg::CBR, 2) < 8192, "the ring wrapped");
    assert_eq!(nic.stats().rx_dropped + nic.stats().rx_errors, 0);
}

#[test]
fn bad_records_are_dropped_and_counted() {
    let (mut nic, dev) = open();
    let mut buf = [0u8; MAX_FRAME];
    dev.deliver_raw(0x0004, 104, &frame(100, 0)); // CRC error
    dev.deliver_raw(0x0010 | 1, 14, &frame(10, 0)); // runt, flagged
    dev.deliver_raw(OK, 14, &frame(10, 0)); // too short, not flagged
    dev.deliver_raw(OK, 2004, &frame(2000, 0)); // longer than we take
    dev.deliver(&frame(200, 0)); // longer than the caller's buffer below
    let good = frame(64, 3);
    dev.deliver(&good);
    let mut small = [0u8; 100];
    assert_eq!(nic.receive(&mut small), Some(64));
    assert_eq!(&small[..64], &good[..]);
    assert_eq!(nic.receive(&mut buf), None);
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_errors, s.rx_dropped), (1, 2, 3));
}

#[test]
fn poll_reaps_bad_records_without_a_reader_in_order() {
    let (mut nic, dev) = open();
    nic.transmit(&frame(64, 0)).unwrap();
    dev.complete_tx(0, reg::TSD_TOK);
    dev.deliver_raw(0x0002, 104, &frame(100, 0));
    dev.deliver_raw(OK, 5, &frame(1, 0));
    let good = frame(60, 9);
    dev.deliver(&good);
    let before = log_len(&nic);
    nic.poll();
    // Reap TX (TSD0), reap RX (CBR), then hand the space back (CAPR).
    let log = &nic.ports().log[before..];
    let first = |want: fn(&Access) -> bool| log.iter().position(want).unwrap();
    let tx = first(|a| matches!(a, Access::Read32(p, _) if *p == BASE + reg::TSD0));
    let rx = first(|a| matches!(a, Access::Read16(p, _) if *p == BASE + reg::CBR));
    let capr = first(|a| matches!(a, Access::Write16(p, _) if *p == BASE + reg::CAPR));
    assert!(tx < rx && rx < capr, "{log:?}");
    // The two bad records went back; the good one waits.
    assert_eq!(writes(&nic).last(), Some(&(reg::CAPR, 108 + 12 - 16)));
    let s = nic.stats();
    assert_eq!((s.tx_packets, s.rx_errors, s.rx_dropped, s.rx_packets), (1, 1, 1, 0));
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), Some(60));
    assert_eq!(&buf[..60], &good[..]);
}

#[test]
fn a_corrupt_header_restarts_the_receiver() {
    for (status, len) in [(0x8000, 104), (0, 0), (OK, 2), (OK, 0x7000)] {
        let (mut nic, dev) = open();
        let mut buf = [0u8; MAX_FRAME];
        dev.deliver(&frame(60, 1));
        assert_eq!(nic.receive(&mut buf), Some(60));
        // A header that can't be true: no OK or error bit, or longer than
        // what CBR says was written, or shorter than its CRC.
        let cbr = dev.reg(reg::CBR, 2);
        dev.deliver_raw(status, len, &frame(100, 0));
        dev.poke(reg::CBR, 2, cbr + 108);
        let before = writes(&nic).len();
        assert_eq!(nic.receive(&mut buf), None, "header {status:#x} {len}");
        assert_eq!(writes(&nic)[before..], rx_start()[..], "header {status:#x} {len}");
        assert_eq!(nic.stats().rx_dropped, 1);
        // The device starts over at the top of the ring, and so do we.
        dev.poke(reg::CBR, 2, 0);
        let f = frame(70, 4);
        dev.deliver(&f);
        assert_eq!(nic.receive(&mut buf), Some(70));
        assert_eq!(&buf[..70], &f[..]);
    }
}

#[test]
fn a_frame_still_being_copied_in_is_left_alone() {
    let (mut nic, dev) = open();
    let mut buf = [0u8; MAX_FRAME];
    dev.deliver_raw(0, rx_ring::LEN_IN_PROGRESS, &frame(60, 0));
    dev.poke(reg::CBR, 2, 68);
    assert_eq!(nic.receive(&mut buf), None);
    nic.poll();
    assert_eq!(nic.stats(), NicStats::default());
    assert_eq!(writes(&nic).last(), Some(&(reg::TCR, 0x0300_0600)), "nothing consumed or released");
    // Once the device finishes the header, the frame is there.
    let f = frame(60, 5);
    dev.dma.mem.borrow_mut()[..4].copy_from_slice(&(u32::from(OK) | 64 << 16).to_le_bytes());
    dev.dma.mem.borrow_mut()[4..64].copy_from_slice(&f);
    assert_eq!(nic.receive(&mut buf), Some(60));
    assert_eq!(&buf[..60], &f[..]);
}

#[test]
fn receive_releases_space_during_long_bursts() {
    let (mut nic, dev) = open();
    let mut buf = [0u8; MAX_FRAME];
    // Several laps of the ring with no poll at all: the device must never
    // run out of room (deliver asserts it) and every frame arrives intact.
    for i in 0..200u32 {
        let f = frame(1000 + (i as usize * 37) % 514, i as u8);
        dev.deliver(&f);
        assert_eq!(nic.receive(&mut buf), Some(f.len()), "frame {i}");
        assert_eq!(&buf[..f.len()], &f[..], "frame {i}");
    }
    assert_eq!(nic.stats().rx_packets, 200);
    let caprs = writes(&nic).iter().filter(|w| w.0 == reg::CAPR).count();
    assert!(caprs >= 200 * 1000 / (RX_RING as usize / 4), "{caprs} CAPR writes");
}

#[test]
fn drop_stops_and_resets_the_device() {
    let (nic, dev) = open();
    let n = dev.model.borrow().writes.len();
    drop(nic);
    assert_eq!(dev.model.borrow().writes[n..], [(reg::IMR, 0), (reg::CR, 0), (reg::CR, reg::CR_RST as u32)]);
    assert_eq!(dev.reg(reg::CR, 1), 0, "the reset was waited for");
}
