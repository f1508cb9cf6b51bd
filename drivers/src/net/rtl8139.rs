//! Realtek RTL8139 (QEMU's `rtl8139`), polled, in its original (not C+) mode.
//!
//! Receive is one byte ring the device fills with header-prefixed frames
//! ([`rx_ring`]); transmit is four fixed buffers (TSAD0-3) handed over in
//! strict round robin by writing each one's status register (TSD0-3).
//!
//! Registers are reached through BAR0's I/O ports rather than BAR1's
//! memory window: every 8139 variant decodes the 256-byte I/O window, it
//! needs no page mapping (or 4 GiB check), and at a few register accesses
//! per frame a 100 Mbit/s part doesn't care which bus cycle it gets.

pub mod rx_ring;

use self::rx_ring::Record;
use super::dma::Dma;
use super::ring::Ring;
use super::{check_transmit, MacAddr, Nic, NicError, NicStats, MAX_FRAME};
use crate::pci::{DriverEntry, PciId};
use crate::port::PortIo;
use core::fmt;
use core::sync::atomic::{fence, Ordering};

/// Register offsets (from the I/O base) and bits (RTL8139 datasheet).
pub mod reg {
    pub const IDR0: u16 = 0x00;
    /// Transmit status of descriptor 0; 1-3 follow every 4 bytes.
    pub const TSD0: u16 = 0x10;
    /// Transmit buffer address of descriptor 0; 1-3 follow every 4 bytes.
    pub const TSAD0: u16 = 0x20;
    pub const RBSTART: u16 = 0x30;
    pub const CR: u16 = 0x37;
    pub const CAPR: u16 = 0x38;
    pub const CBR: u16 = 0x3a;
    pub const IMR: u16 = 0x3c;
    pub const ISR: u16 = 0x3e;
    pub const TCR: u16 = 0x40;
    pub const RCR: u16 = 0x44;
    /// Missed packet counter (24 bits, cleared by writing).
    pub const MPC: u16 = 0x4c;
    pub const MSR: u16 = 0x58;

    pub const CR_RST: u8 = 1 << 4;
    pub const CR_RE: u8 = 1 << 3;
    pub const CR_TE: u8 = 1 << 2;

    /// Media status: link *fail* (0 = link up).
    pub const MSR_LINKB: u8 = 1 << 2;

    pub const TSD_SIZE: u32 = 0x1fff;
    pub const TSD_OWN: u32 = 1 << 13;
    pub const TSD_TUN: u32 = 1 << 14;
    pub const TSD_TOK: u32 = 1 << 15;
    pub const TSD_TABT: u32 = 1 << 30;
    /// Start sending once 256 bytes are in the FIFO (threshold in 32-byte units).
    pub const TSD_ERTXTH_256: u32 = 8 << 16;

    /// Accept frames to our address and broadcasts; unlimited DMA bursts;
    /// 64 KiB ring; no early-receive threshold (whole frames only).
    pub const RCR_APM: u32 = 1 << 1;
    pub const RCR_AB: u32 = 1 << 3;
    pub const RCR_MXDMA_UNLIMITED: u32 = 7 << 8;
    pub const RCR_RBLEN_64K: u32 = 3 << 11;
    pub const RCR_RXFTH_NONE: u32 = 7 << 13;
    pub const RCR_VALUE: u32 = RCR_APM | RCR_AB | RCR_MXDMA_UNLIMITED | RCR_RBLEN_64K | RCR_RXFTH_NONE;

    /// Standard 9.6 µs interframe gap, 1 KiB DMA bursts.
    pub const TCR_VALUE: u32 = 3 << 24 | 6 << 8;
}

/// Receive ring size, matching [`reg::RCR_RBLEN_64K`]. At 64 KiB the
/// device wraps frames at the end itself (the WRAP bit is ignored), so
/// [`rx_ring::runs`] copies them out in two pieces.
pub const RX_RING: u32 = 64 << 10;
/// Transmit descriptors: fixed by the hardware.
pub const TX_SLOTS: u32 = 4;
/// Each transmit buffer: the hardware sends up to 1792 bytes from one.
pub const TX_BUF_SIZE: usize = 2048;
/// Ethernet's shortest frame without FCS; the 8139 does not pad for us.
const ETH_ZLEN: usize = 60;

const RX_BUF: usize = 0;
/// The ring plus the 16 + 1536 bytes of slack the datasheet asks for
/// (used only by smaller rings with WRAP set, kept so the recipe holds).
const TX_BUFS: usize = RX_BUF + RX_RING as usize + 2048;
/// Bytes of DMA memory the driver needs: the receive ring and four transmit buffers.
pub const DMA_LEN: usize = TX_BUFS + TX_SLOTS as usize * TX_BUF_SIZE;
/// Alignment the DMA region needs (RBSTART and TSADn want 4 bytes; a page is simple).
pub const DMA_ALIGN: usize = 4096;
/// Size of the I/O register window (BAR0).
pub const IO_LEN: u32 = 0x100;

/// Reads of CR while waiting for reset to finish. A port read takes at
/// least a few hundred ns, so this is tens of ms: it only ends a dead part.
pub const RESET_POLL_LIMIT: u32 = 100_000;

/// PCI IDs this driver binds to.
pub static PCI_IDS: &[DriverEntry<()>] =
    &[DriverEntry { id: PciId::new(0x10ec, 0x8139), name: "Realtek RTL8139", driver: () }];

/// Why the device could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rtl8139Error {
    /// The I/O window is smaller than [`IO_LEN`] or runs past port 0xffff.
    BadIoWindow {
        base: u16,
        len: u32,
    },
    DmaTooSmall {
        len: usize,
    },
    DmaMisaligned {
        phys: u64,
    },
    /// RBSTART and TSADn hold 32-bit bus addresses.
    DmaAbove4G {
        phys: u64,
    },
    /// CR.RST still set after this many reads.
    ResetTimeout {
        polls: u32,
    },
    /// IDR0-5 did not hold a unicast address.
    NoMacAddress {
        mac: MacAddr,
    },
}

impl fmt::Display for Rtl8139Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Rtl8139Error::BadIoWindow { base, len } => {
                write!(f, "rtl8139: I/O window {base:#x}+{len:#x} is not {IO_LEN:#x} ports")
            }
            Rtl8139Error::DmaTooSmall { len } => write!(f, "rtl8139: DMA region of {len} bytes, need {DMA_LEN}"),
            Rtl8139Error::DmaMisaligned { phys } => {
                write!(f, "rtl8139: DMA region at {phys:#x} is not {DMA_ALIGN}-byte aligned")
            }
            Rtl8139Error::DmaAbove4G { phys } => write!(f, "rtl8139: DMA region at {phys:#x} is not below 4 GiB"),
            Rtl8139Error::ResetTimeout { polls } => write!(f, "rtl8139: reset did not finish in {polls} polls"),
            Rtl8139Error::NoMacAddress { mac } => write!(f, "rtl8139: no usable MAC address (read {mac})"),
        }
    }
}

/// An open RTL8139. Dropping it resets the device, which stops its DMA.
pub struct Rtl8139<P: PortIo, D: Dma> {
    ports: P,
    base: u16,
    dma: D,
    mac: MacAddr,
    /// Transmit slots in flight, in the hardware's round-robin order.
    tx: Ring,
    /// Our read offset in the receive ring.
    rx_read: u32,
    /// The read offset we last gave the device through CAPR.
    rx_released: u32,
    stats: NicStats,
}

impl<P: PortIo, D: Dma> Rtl8139<P, D> {
    /// Resets the device and starts receive and transmit. `base` and
    /// `len` are BAR0's I/O window; `dma` must be [`DMA_LEN`] bytes,
    /// [`DMA_ALIGN`]-aligned, below 4 GiB. The caller enables bus mastering.
    pub fn open(ports: P, base: u16, len: u32, dma: D) -> Result<Self, Rtl8139Error> {
        if len < IO_LEN || u32::from(base) + IO_LEN > 0x1_0000 {
            return Err(Rtl8139Error::BadIoWindow { base, len });
        }
        if dma.len() < DMA_LEN {
            return Err(Rtl8139Error::DmaTooSmall { len: dma.len() });
        }
        if !dma.phys().is_multiple_of(DMA_ALIGN as u64) {
            return Err(Rtl8139Error::DmaMisaligned { phys: dma.phys() });
        }
        if dma.phys() + DMA_LEN as u64 > 1 << 32 {
            return Err(Rtl8139Error::DmaAbove4G { phys: dma.phys() });
        }
        let mut nic = Rtl8139 {
            ports,
            base,
            dma,
            mac: MacAddr([0; 6]),
            tx: Ring::new(TX_SLOTS),
            rx_read: 0,
            rx_released: 0,
            stats: NicStats::default(),
        };
        nic.reset()?;
        let mut mac = [0u8; 6];
        for (i, b) in mac.iter_mut().enumerate() {
            *b = nic.read8(reg::IDR0 + i as u16);
        }
        nic.mac = MacAddr(mac);
        if !nic.mac.is_valid_unicast() {
            return Err(Rtl8139Error::NoMacAddress { mac: nic.mac });
        }
        let phys = nic.dma.phys() as u32;
        for slot in 0..TX_SLOTS {
            nic.write32(reg::TSAD0 + 4 * slot as u16, phys + Self::tx_buf(slot) as u32);
        }
        nic.write16(reg::IMR, 0);
        nic.write16(reg::ISR, 0xffff);
        nic.write32(reg::MPC, 0);
        nic.start_rx();
        // The device takes TCR only while its transmitter is enabled.
        nic.write32(reg::TCR, reg::TCR_VALUE);
        Ok(nic)
    }

    /// The port space (tests read its access log).
    pub fn ports(&self) -> &P {
        &self.ports
    }

    fn read8(&mut self, r: u16) -> u8 {
        self.ports.read8(self.base + r)
    }
    fn read16(&mut self, r: u16) -> u16 {
        self.ports.read16(self.base + r)
    }
    fn read32(&mut self, r: u16) -> u32 {
        self.ports.read32(self.base + r)
    }
    fn write8(&mut self, r: u16, v: u8) {
        self.ports.write8(self.base + r, v)
    }
    fn write16(&mut self, r: u16, v: u16) {
        self.ports.write16(self.base + r, v)
    }
    fn write32(&mut self, r: u16, v: u32) {
        self.ports.write32(self.base + r, v)
    }

    fn reset(&mut self) -> Result<(), Rtl8139Error> {
        self.write8(reg::CR, reg::CR_RST);
        for _ in 0..RESET_POLL_LIMIT {
            if self.read8(reg::CR) & reg::CR_RST == 0 {
                return Ok(());
            }
        }
        Err(Rtl8139Error::ResetTimeout { polls: RESET_POLL_LIMIT })
    }

    /// (Re)starts the receiver at the top of an empty ring, with the
    /// transmitter on. RBSTART goes first so nothing is ever written
    /// anywhere else; RCR last, since it sets what we accept.
    fn start_rx(&mut self) {
        self.write8(reg::CR, reg::CR_TE);
        self.write32(reg::RBSTART, self.dma.phys() as u32 + RX_BUF as u32);
        self.write8(reg::CR, reg::CR_TE | reg::CR_RE);
        self.write32(reg::RCR, reg::RCR_VALUE);
        self.rx_read = 0;
        self.rx_released = 0;
        self.write16(reg::CAPR, rx_ring::capr(0));
    }

    fn tx_buf(slot: u32) -> usize {
        TX_BUFS + slot as usize * TX_BUF_SIZE
    }

    /// Frees transmit slots the device has finished (sent or given up on), in order.
    fn reap_tx(&mut self) {
        while let Some(slot) = self.tx.head_slot() {
            let tsd = self.read32(reg::TSD0 + 4 * slot as u16);
            if tsd & (reg::TSD_TOK | reg::TSD_TUN | reg::TSD_TABT) == 0 {
                break;
            }
            self.tx.consume();
            if tsd & reg::TSD_TOK != 0 {
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += u64::from(tsd & reg::TSD_SIZE);
            } else {
                self.stats.tx_errors += 1;
            }
        }
    }

    /// Skips (and counts) bad records at our read offset and returns the
    /// next good frame as (ring offset of its data, length), without
    /// consuming it. A header that can't be true restarts the receiver.
    fn next_frame(&mut self, max: usize) -> Option<(u32, u32)> {
        loop {
            let write = u32::from(self.read16(reg::CBR));
            let unread = rx_ring::unread(self.rx_read, write, RX_RING);
            let header = if unread == 0 { 0 } else { self.dma.read32(RX_BUF + self.rx_read as usize) };
            match rx_ring::classify(header, unread, max) {
                Record::Empty => return None,
                Record::Frame { len } => return Some(((self.rx_read + rx_ring::HEADER) % RX_RING, len)),
                Record::Flagged => self.stats.rx_errors += 1,
                Record::BadLength => self.stats.rx_dropped += 1,
                Record::Corrupt => {
                    self.stats.rx_dropped += 1;
                    self.start_rx();
                    return None;
                }
            }
            self.advance_rx((header >> 16) as u16);
        }
    }

    /// Steps past the record at our read offset, whose header gave `len`
    /// (CRC included); hands the space back to the device once a quarter
    /// of the ring is waiting, so it keeps receiving during long bursts
    /// between polls.
    fn advance_rx(&mut self, len: u16) {
        self.rx_read = rx_ring::next_offset(self.rx_read, len, RX_RING);
        if rx_ring::unread(self.rx_released, self.rx_read, RX_RING) >= RX_RING / 4 {
            self.release_rx();
        }
    }

    /// Tells the device, through CAPR, how far we have read.
    fn release_rx(&mut self) {
        if self.rx_released != self.rx_read {
            self.write16(reg::CAPR, rx_ring::capr(self.rx_read));
            self.rx_released = self.rx_read;
        }
    }
}

impl<P: PortIo, D: Dma> Nic for Rtl8139<P, D> {
    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn link_up(&mut self) -> bool {
        self.read8(reg::MSR) & reg::MSR_LINKB == 0
    }

    fn can_transmit(&mut self) -> bool {
        if self.tx.is_full() {
            self.reap_tx();
        }
        !self.tx.is_full()
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        let len = frame.len();
        let slot = match check_transmit(len, || if self.can_transmit() { self.tx.produce() } else { None }) {
            Ok(slot) => slot,
            Err(e) => {
                self.stats.tx_dropped += 1;
                return Err(e);
            }
        };
        let buf = Self::tx_buf(slot);
        self.dma.write(buf, frame);
        if len < ETH_ZLEN {
            self.dma.write(buf + len, &[0; ETH_ZLEN][len..]);
        }
        let size = len.max(ETH_ZLEN) as u32;
        fence(Ordering::SeqCst);
        // OWN written as 0 hands the buffer to the device.
        self.write32(reg::TSD0 + 4 * slot as u16, size | reg::TSD_ERTXTH_256);
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let (data, len) = self.next_frame(buf.len())?;
        let mut at = 0;
        for (off, n) in rx_ring::runs(data, len, RX_RING) {
            self.dma.read(RX_BUF + off as usize, &mut buf[at..at + n as usize]);
            at += n as usize;
        }
        self.advance_rx((len + rx_ring::CRC) as u16);
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += u64::from(len);
        Some(len as usize)
    }

    fn poll(&mut self) {
        self.reap_tx();
        let _ = self.next_frame(MAX_FRAME);
        self.release_rx();
    }

    fn stats(&self) -> NicStats {
        self.stats
    }
}

impl<P: PortIo, D: Dma> Drop for Rtl8139<P, D> {
    /// Close: stop receive and transmit and reset, so the device never
    /// writes to the DMA region after it is freed.
    fn drop(&mut self) {
        self.write16(reg::IMR, 0);
        self.write8(reg::CR, 0);
        let _ = self.reset();
    }
}

#[cfg(test)]
mod tests;
