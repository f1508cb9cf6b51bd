//! Register-level tests: a recording register window with just enough of a
//! device model (reset self-clears, EERD answers), and the test playing the
//! device's DMA engine through a shared `VecDma`.

use super::*;
use crate::mmio::mock::{Access, RecordingMmio};
use crate::net::dma::mock::VecDma;

const PHYS: u64 = 0x1_2340_0000;
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// The e1000's BAR0 as the tests see it.
struct Fake {
    rec: RecordingMmio,
    /// CTRL.RST reads back set this many times before clearing (None: never).
    reset_polls: Option<u32>,
    /// EEPROM words, answered through EERD (None: EERD never finishes).
    eeprom: Option<[u16; 3]>,
    family: Family,
    /// Reads of CTRL with RST set since CTRL was last written.
    rst_reads: core::cell::Cell<u32>,
}

impl Fake {
    fn new() -> Self {
        let mut rec = RecordingMmio::new(0x20000);
        let [a, b, c, d, e, f] = MAC;
        rec.mem[reg::RAL0..][..4].copy_from_slice(&[a, b, c, d]);
        rec.mem[reg::RAH0..][..4].copy_from_slice(&(u32::from_le_bytes([e, f, 0, 0]) | reg::RAH_AV).to_le_bytes());
        rec.mem[reg::STATUS] = 0x83; // FD | LU | speed bits
        Fake { rec, reset_polls: Some(2), eeprom: None, family: Family::I8254x, rst_reads: Default::default() }
    }
    fn reg(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.rec.mem[off..off + 4].try_into().unwrap())
    }
    fn poke(&mut self, off: usize, v: u32) {
        self.rec.mem[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl Mmio for Fake {
    fn read8(&self, o: usize) -> u8 {
        self.rec.read8(o)
    }
    fn write8(&mut self, o: usize, v: u8) {
        self.rec.write8(o, v)
    }
    fn read16(&self, o: usize) -> u16 {
        self.rec.read16(o)
    }
    fn write16(&mut self, o: usize, v: u16) {
        self.rec.write16(o, v)
    }
    fn read32(&self, o: usize) -> u32 {
        let v = self.rec.read32(o);
        if o == reg::CTRL && v & reg::CTRL_RST != 0 {
            let n = self.rst_reads.get() + 1;
            self.rst_reads.set(n);
            if self.reset_polls.is_some_and(|limit| n > limit) {
                let mut log = self.rec.log.borrow_mut();
                log.pop();
                log.push(Access::Read(o, 4, v & !reg::CTRL_RST));
                return v & !reg::CTRL_RST;
            }
        }
        v
    }
    fn write32(&mut self, o: usize, v: u32) {
        self.rec.write32(o, v);
        if o == reg::CTRL {
            self.rst_reads.set(0);
        }
        if o == reg::EERD && v & 1 != 0 {
            if let Some(words) = self.eeprom {
                let (word, done) = match self.family {
                    Family::I8254x => ((v >> 8) & 0xFF, 1 << 4),
                    Family::I82574 => ((v >> 2) & 0x3FFF, 1 << 1),
                };
                let data = words.get(word as usize).copied().unwrap_or(0xFFFF);
                self.poke(reg::EERD, (data as u32) << 16 | done | (v & !1));
            }
        }
    }
    fn len(&self) -> usize {
        self.rec.len()
    }
}

fn open(fake: Fake) -> (E1000<Fake, VecDma>, VecDma) {
    let dma = VecDma::new(PHYS, DMA_LEN);
    let family = fake.family;
    let nic = E1000::open(fake, dma.clone(), family).unwrap();
    (nic, dma)
}

fn writes(nic: &E1000<Fake, VecDma>) -> Vec<(usize, u32)> {
    nic.regs().rec.writes()
}

/// The device's side: put `frame` into RX slot `slot` and complete it.
fn deliver(dma: &VecDma, slot: u32, frame: &[u8], status: u8, errors: u8) {
    let d = RX_DESC + slot as usize * 16;
    let mut m = dma.mem.borrow_mut();
    let addr = u64::from_le_bytes(m[d..d + 8].try_into().unwrap());
    let off = usize::try_from(addr - PHYS).unwrap();
    assert_eq!(off, RX_BUFS + slot as usize * BUF_SIZE, "slot {slot} posted with a wrong buffer");
    m[off..off + frame.len()].copy_from_slice(frame);
    m[d + 8..d + 10].copy_from_slice(&(frame.len() as u16).to_le_bytes());
    m[d + 12] = status;
    m[d + 13] = errors;
}

/// The device's side: mark TX slot `slot` done.
fn complete_tx(dma: &VecDma, slot: u32, status: u8) {
    dma.mem.borrow_mut()[TX_DESC + slot as usize * 16 + 12] |= status;
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

const GOOD: u8 = desc::STA_DD | desc::RX_STA_EOP;

#[test]
fn init_sequence_is_exact() {
    let (nic, dma) = open(Fake::new());
    assert_eq!(nic.mac(), MacAddr(MAC));
    let w = writes(&nic);
    let mut expect = vec![
        (reg::IMC, !0),
        (reg::RCTL, 0),
        (reg::TCTL, 0),
        (reg::CTRL, reg::CTRL_RST),
        (reg::IMC, !0),
        // CTRL read back as RST|... cleared to 0, then SLU|ASDE.
        (reg::CTRL, reg::CTRL_SLU | reg::CTRL_ASDE),
        (reg::RAL0, 0x1200_5452),
        (reg::RAH0, 0x8000_5634),
    ];
    expect.extend((0..128).map(|i| (reg::MTA + 4 * i, 0)));
    let tx = PHYS + TX_DESC as u64;
    let rx = PHYS + RX_DESC as u64;
    expect.extend([
        (reg::TDBAL, tx as u32),
        (reg::TDBAH, (tx >> 32) as u32),
        (reg::TDLEN, 4096),
        (reg::TDH, 0),
        (reg::TDT, 0),
        (reg::RDBAL, rx as u32),
        (reg::RDBAH, 1),
        (reg::RDLEN, 4096),
        (reg::RDH, 0),
        (reg::RDT, 0),
        // 255 buffers posted: one doorbell.
        (reg::RDT, 255),
        (reg::TIPG, 0x0060_200A),
        (reg::TCTL, 0x0004_00FA),
        (reg::RCTL, 0x0400_8002),
    ]);
    assert_eq!(w, expect);
    // The reset was waited for: RST read back set, then clear.
    let ctrl_reads: Vec<u32> = nic
        .regs()
        .rec
        .log
        .borrow()
        .iter()
        .filter_map(|a| match *a {
            Access::Read(reg::CTRL, 4, v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(ctrl_reads, [0, reg::CTRL_RST, reg::CTRL_RST, 0, 0]);
    // Every posted RX descriptor points at its own buffer, status clear.
    let m = dma.mem.borrow();
    for slot in 0..256usize {
        let d = RX_DESC + slot * 16;
        let addr = u64::from_le_bytes(m[d..d + 8].try_into().unwrap());
        let expect = if slot < 255 { PHYS + (RX_BUFS + slot * BUF_SIZE) as u64 } else { 0 };
        assert_eq!(addr, expect, "rx slot {slot}");
        assert_eq!(&m[d + 8..d + 16], &[0; 8]);
    }
}

#[test]
fn open_checks_its_resources() {
    let dma = VecDma::new(PHYS, DMA_LEN - 1);
    let e = E1000::open(Fake::new(), dma, Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::DmaTooSmall { len: DMA_LEN - 1 });
    let e = E1000::open(Fake::new(), VecDma::new(PHYS + 128, DMA_LEN), Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::DmaMisaligned { phys: PHYS + 128 });
    assert_eq!(e.to_string(), "e1000: DMA region at 0x123400080 is not 4096-byte aligned");
    let mut small = Fake::new();
    small.rec = RecordingMmio::new(0x1000);
    let e = E1000::open(small, VecDma::new(PHYS, DMA_LEN), Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::RegistersTooSmall { len: 0x1000 });
}

#[test]
fn reset_wait_is_bounded() {
    let mut fake = Fake::new();
    fake.reset_polls = None;
    let e = E1000::open(fake, VecDma::new(PHYS, DMA_LEN), Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::ResetTimeout { polls: RESET_POLL_LIMIT });
    assert_eq!(e.to_string(), "e1000: reset did not finish in 100000 polls");
}

#[test]
fn mac_falls_back_to_the_eeprom() {
    for family in [Family::I8254x, Family::I82574] {
        let mut fake = Fake::new();
        fake.family = family;
        fake.poke(reg::RAH0, 0); // AV clear: RAL/RAH not loaded
        fake.eeprom = Some([0x5452, 0x0000, 0x0201]);
        let (nic, _) = open(fake);
        assert_eq!(nic.mac(), MacAddr([0x52, 0x54, 0, 0, 0x01, 0x02]));
        let eerd: Vec<u32> = writes(&nic).iter().filter(|w| w.0 == reg::EERD).map(|w| w.1).collect();
        match family {
            Family::I8254x => assert_eq!(eerd, [0x001, 0x101, 0x201]),
            Family::I82574 => assert_eq!(eerd, [0x1, 0x5, 0x9]),
        }
        // The address read is programmed back, valid.
        assert_eq!(nic.regs().reg(reg::RAH0), 0x8000_0201);
    }
    // No EEPROM answer: bounded, typed error.
    let mut fake = Fake::new();
    fake.poke(reg::RAH0, 0);
    let e = E1000::open(fake, VecDma::new(PHYS, DMA_LEN), Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::EepromTimeout { word: 0 });
    // An EEPROM full of ones is not an address.
    let mut fake = Fake::new();
    fake.poke(reg::RAH0, 0);
    fake.eeprom = Some([0xFFFF; 3]);
    let e = E1000::open(fake, VecDma::new(PHYS, DMA_LEN), Family::I8254x).err().unwrap();
    assert_eq!(e, E1000Error::NoMacAddress { mac: MacAddr([0xff; 6]) });
}

#[test]
fn link_state_comes_from_status() {
    let (mut nic, _) = open(Fake::new());
    assert!(nic.link_up());
    nic.regs.poke(reg::STATUS, 0x81);
    assert!(!nic.link_up());
}

#[test]
fn transmit_writes_descriptor_then_bumps_tail() {
    let (mut nic, dma) = open(Fake::new());
    let f = frame(60, 7);
    let before = nic.regs().rec.log.borrow().len();
    nic.transmit(&f).unwrap();
    // Exactly one register write: the doorbell, after the descriptor.
    let log = nic.regs().rec.log.borrow()[before..].to_vec();
    assert_eq!(log, [Access::Write(reg::TDT, 4, 1)]);
    {
        let m = dma.mem.borrow();
        let d = TX_DESC;
        let addr = u64::from_le_bytes(m[d..d + 8].try_into().unwrap());
        assert_eq!(addr, PHYS + TX_BUFS as u64);
        assert_eq!(&m[d + 8..d + 16], &[60, 0, 0, 0x0B, 0, 0, 0, 0]); // len, cso, EOP|IFCS|RS
        assert_eq!(&m[TX_BUFS..TX_BUFS + 60], &f[..]);
    }
    // Not counted until the hardware says it is done.
    assert_eq!(nic.stats().tx_packets, 0);
    complete_tx(&dma, 0, desc::STA_DD);
    nic.poll();
    assert_eq!((nic.stats().tx_packets, nic.stats().tx_bytes), (1, 60));
    // The second frame goes to slot 1.
    nic.transmit(&frame(1514, 1)).unwrap();
    assert_eq!(writes(&nic).last(), Some(&(reg::TDT, 2)));
}

#[test]
fn transmit_ring_fills_and_recovers() {
    let (mut nic, dma) = open(Fake::new());
    for _ in 0..255 {
        nic.transmit(&frame(64, 0)).unwrap();
    }
    assert!(!nic.can_transmit());
    assert_eq!(nic.transmit(&frame(64, 0)), Err(NicError::TxRingFull));
    assert_eq!(nic.stats().tx_dropped, 1);
    assert_eq!(writes(&nic).last(), Some(&(reg::TDT, 255)));
    // The device finishes the first two; one collided late.
    complete_tx(&dma, 0, desc::STA_DD);
    complete_tx(&dma, 1, desc::STA_DD | 0x04);
    assert!(nic.can_transmit());
    nic.transmit(&frame(64, 0)).unwrap();
    nic.transmit(&frame(64, 0)).unwrap();
    assert_eq!(writes(&nic).last(), Some(&(reg::TDT, 1)), "tail wrapped");
    let s = nic.stats();
    assert_eq!((s.tx_packets, s.tx_errors, s.tx_dropped), (1, 1, 1));
}

#[test]
fn transmit_rejects_bad_lengths() {
    let (mut nic, _) = open(Fake::new());
    let before = writes(&nic).len();
    assert_eq!(nic.transmit(&[0; 13]), Err(NicError::FrameTooShort { len: 13 }));
    assert_eq!(nic.transmit(&[0; 1519]), Err(NicError::FrameTooLong { len: 1519 }));
    assert_eq!(writes(&nic).len(), before, "nothing reached the device");
    assert_eq!(nic.stats().tx_dropped, 2);
    assert_eq!(NicError::FrameTooLong { len: 1519 }.to_string(), "frame of 1519 bytes is longer than 1518");
}

#[test]
fn receive_delivers_in_order_and_refills() {
    let (mut nic, dma) = open(Fake::new());
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut buf), None);
    let a = frame(342, 1);
    let b = frame(1514, 2);
    deliver(&dma, 0, &a, GOOD, 0);
    deliver(&dma, 1, &b, GOOD, 0);
    assert_eq!(nic.receive(&mut buf), Some(342));
    assert_eq!(&buf[..342], &a[..]);
    assert_eq!(nic.receive(&mut buf), Some(1514));
    assert_eq!(&buf[..1514], &b[..]);
    assert_eq!(nic.receive(&mut buf), None);
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_bytes), (2, 1856));
    // Poll hands both slots back with clean descriptors: RDT moves to 1.
    nic.poll();
    assert_eq!(writes(&nic).last(), Some(&(reg::RDT, 1)));
    let m = dma.mem.borrow();
    assert_eq!(&m[RX_DESC + 8..RX_DESC + 16], &[0; 8]);
    let d = RX_DESC + 255 * 16;
    assert_eq!(u64::from_le_bytes(m[d..d + 8].try_into().unwrap()), PHYS + (RX_BUFS + 255 * BUF_SIZE) as u64);
}

#[test]
fn bad_frames_are_dropped_and_counted() {
    let (mut nic, dma) = open(Fake::new());
    let mut buf = [0u8; MAX_FRAME];
    deliver(&dma, 0, &frame(100, 0), GOOD, 0x01); // CRC error
    deliver(&dma, 1, &frame(10, 0), GOOD, 0); // runt
    deliver(&dma, 2, &frame(2000, 0), GOOD, 0); // longer than we take
    deliver(&dma, 3, &frame(2048, 0), desc::STA_DD, 0); // first half of a split frame
    deliver(&dma, 4, &frame(100, 0), GOOD, 0); // ... its end
    deliver(&dma, 5, &frame(100, 0), GOOD, 0x20); // TCP checksum flag only: not a frame error
    deliver(&dma, 6, &frame(64, 9), GOOD, 0x80); // RX data error
    let good = frame(64, 3);
    deliver(&dma, 7, &good, GOOD, 0);
    assert_eq!(nic.receive(&mut buf), Some(100));
    assert_eq!(nic.receive(&mut buf), Some(64));
    assert_eq!(&buf[..64], &good[..]);
    assert_eq!(nic.receive(&mut buf), None);
    let s = nic.stats();
    assert_eq!((s.rx_packets, s.rx_errors, s.rx_dropped), (2, 2, 3));
}

#[test]
fn poll_reaps_bad_frames_without_a_reader() {
    let (mut nic, dma) = open(Fake::new());
    deliver(&dma, 0, &frame(100, 0), GOOD, 0x02);
    deliver(&dma, 1, &frame(5, 0), GOOD, 0);
    deliver(&dma, 2, &frame(60, 0), GOOD, 0);
    deliver(&dma, 3, &frame(60, 0), GOOD, 0x01);
    nic.poll();
    // The first two went back to the device; the good one waits (and the
    // bad one behind it with it).
    assert_eq!(writes(&nic).last(), Some(&(reg::RDT, 1)));
    let s = nic.stats();
    assert_eq!((s.rx_errors, s.rx_dropped, s.rx_packets), (1, 1, 0));
    let mut small = [0u8; 32];
    assert_eq!(nic.receive(&mut small), None, "a frame longer than the caller's buffer is dropped");
    assert_eq!(nic.stats().rx_dropped, 2);
    assert_eq!(nic.stats().rx_errors, 2);
}

#[test]
fn receive_refills_during_long_bursts() {
    let (mut nic, dma) = open(Fake::new());
    let mut buf = [0u8; MAX_FRAME];
    for lap in 0..3u32 {
        for i in 0..200u32 {
            let slot = (lap * 200 + i) % 256;
            deliver(&dma, slot, &frame(60 + (i as usize % 5), lap as u8), GOOD, 0);
            assert!(nic.receive(&mut buf).is_some(), "lap {lap} frame {i}");
        }
    }
    assert_eq!(nic.stats().rx_packets, 600);
    // Never more than 3/4 of the ring went unposted without a poll.
    assert!(writes(&nic).iter().filter(|w| w.0 == reg::RDT).count() >= 600 / 64);
}
