//! Intel 8254x / 82574 ("e1000", "e1000e") with legacy descriptors, polled.
//!
//! Modelled on iPXE's `intel.c`: reset, MAC from the receive-address
//! registers (or the EEPROM), one legacy RX and one legacy TX ring in a
//! single DMA region, interrupts masked, and a poll that reaps TX, then
//! reaps RX, then refills RX, ringing each tail doorbell after a fence.

use super::dma::Dma;
use super::ring::Ring;
use super::{check_transmit, MacAddr, Nic, NicError, NicStats, MAX_FRAME, MIN_FRAME};
use crate::mmio::Mmio;
use crate::pci::{DriverEntry, PciId};
use core::fmt;
use core::sync::atomic::{fence, Ordering};

/// Register offsets and bits (8254x SDM, 82574 datasheet).
pub mod reg {
    pub const CTRL: usize = 0x0000;
    pub const STATUS: usize = 0x0008;
    pub const EERD: usize = 0x0014;
    pub const ICR: usize = 0x00C0;
    pub const IMC: usize = 0x00D8;
    pub const RCTL: usize = 0x0100;
    pub const TCTL: usize = 0x0400;
    pub const TIPG: usize = 0x0410;
    pub const RDBAL: usize = 0x2800;
    pub const RDBAH: usize = 0x2804;
    pub const RDLEN: usize = 0x2808;
    pub const RDH: usize = 0x2810;
    pub const RDT: usize = 0x2818;
    pub const TDBAL: usize = 0x3800;
    pub const TDBAH: usize = 0x3804;
    pub const TDLEN: usize = 0x3808;
    pub const TDH: usize = 0x3810;
    pub const TDT: usize = 0x3818;
    /// Multicast table array: 128 dwords.
    pub const MTA: usize = 0x5200;
    pub const RAL0: usize = 0x5400;
    pub const RAH0: usize = 0x5404;

    pub const CTRL_ASDE: u32 = 1 << 5;
    pub const CTRL_SLU: u32 = 1 << 6;
    pub const CTRL_RST: u32 = 1 << 26;
    pub const CTRL_PHY_RST: u32 = 1 << 31;
    /// Link reset (bit 3) and invert loss-of-signal (bit 7).
    pub const CTRL_LRST_ILOS: u32 = (1 << 3) | (1 << 7);
    pub const STATUS_LU: u32 = 1 << 1;
    pub const RAH_AV: u32 = 1 << 31;

    pub const RCTL_EN: u32 = 1 << 1;
    pub const RCTL_BAM: u32 = 1 << 15;
    /// Strip the Ethernet CRC, so descriptor lengths are frame lengths.
    pub const RCTL_SECRC: u32 = 1 << 26;
    // BSIZE = 00 with BSEX = 0: 2048-byte buffers.

    pub const TCTL_EN: u32 = 1 << 1;
    pub const TCTL_PSP: u32 = 1 << 3;
    pub const TCTL_CT: u32 = 0x0F << 4;
    pub const TCTL_COLD_FD: u32 = 0x40 << 12;
    /// IPGT 10, IPGR1 8, IPGR2 6 (copper, SDM 13.4.34).
    pub const TIPG_COPPER: u32 = 10 | 8 << 10 | 6 << 20;
}

/// Legacy descriptor fields.
mod desc {
    pub const SIZE: usize = 16;
    pub const LEN: usize = 8;
    pub const CMD: usize = 11;
    pub const STATUS: usize = 12;
    pub const ERRORS: usize = 13;

    pub const STA_DD: u8 = 1 << 0;
    pub const RX_STA_EOP: u8 = 1 << 1;
    /// CE, SE, SEQ, CXE, RXE. (TCPE/IPE are checksum-offload results, off here.)
    pub const RX_ERR_FRAME: u8 = 0x01 | 0x02 | 0x04 | 0x10 | 0x80;
    /// Excess and late collisions.
    pub const TX_STA_EC_LC: u8 = 0x02 | 0x04;
    pub const TX_CMD_EOP: u8 = 1 << 0;
    pub const TX_CMD_IFCS: u8 = 1 << 1;
    pub const TX_CMD_RS: u8 = 1 << 3;
}

pub const RX_RING: u32 = 256;
pub const TX_RING: u32 = 256;
pub const BUF_SIZE: usize = 2048;

const RX_DESC: usize = 0;
const TX_DESC: usize = RX_DESC + RX_RING as usize * desc::SIZE;
const RX_BUFS: usize = TX_DESC + TX_RING as usize * desc::SIZE;
const TX_BUFS: usize = RX_BUFS + RX_RING as usize * BUF_SIZE;
/// Bytes of DMA memory the driver needs: both rings and their buffers.
pub const DMA_LEN: usize = TX_BUFS + TX_RING as usize * BUF_SIZE;
/// Alignment the DMA region needs (the rings want 128 bytes; a page is simple).
pub const DMA_ALIGN: usize = 4096;
/// Registers we touch lie below this offset of BAR0.
pub const MMIO_LEN: usize = 0x6000;

/// Reads of CTRL while waiting for reset to finish. Real parts take about
/// 1 µs; an MMIO read takes well over 10 ns, so this only ends a dead part.
pub const RESET_POLL_LIMIT: u32 = 100_000;
pub const EEPROM_POLL_LIMIT: u32 = 100_000;

/// Where EERD keeps its fields: they moved between the 8254x and the 8257x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// 82540/82545/82546: START bit 0, DONE bit 4, address at bit 8.
    I8254x,
    /// 82574 (QEMU's e1000e): START bit 0, DONE bit 1, address at bit 2.
    I82574,
}

impl Family {
    fn eerd(self, word: u8) -> (u32, u32) {
        match self {
            Family::I8254x => (1 | (word as u32) << 8, 1 << 4),
            Family::I82574 => (1 | (word as u32) << 2, 1 << 1),
        }
    }
}

/// PCI IDs this driver binds to.
pub static PCI_IDS: &[DriverEntry<Family>] = &[
    DriverEntry { id: PciId::new(0x8086, 0x100e), name: "Intel 82540EM (e1000)", driver: Family::I8254x },
    DriverEntry { id: PciId::new(0x8086, 0x100f), name: "Intel 82545EM (e1000)", driver: Family::I8254x },
    DriverEntry { id: PciId::new(0x8086, 0x1010), name: "Intel 82546EB (e1000)", driver: Family::I8254x },
    DriverEntry { id: PciId::new(0x8086, 0x10d3), name: "Intel 82574L (e1000e)", driver: Family::I82574 },
];

/// Why the device could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E1000Error {
    RegistersTooSmall {
        len: usize,
    },
    DmaTooSmall {
        len: usize,
    },
    DmaMisaligned {
        phys: u64,
    },
    /// CTRL.RST still set after this many reads.
    ResetTimeout {
        polls: u32,
    },
    /// EERD.DONE never came for this EEPROM word.
    EepromTimeout {
        word: u8,
    },
    /// Neither RAL0/RAH0 nor the EEPROM held a unicast address.
    NoMacAddress {
        mac: MacAddr,
    },
}

impl fmt::Display for E1000Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            E1000Error::RegistersTooSmall { len } => {
                write!(f, "e1000: register window of {len:#x} bytes, need {MMIO_LEN:#x}")
            }
            E1000Error::DmaTooSmall { len } => write!(f, "e1000: DMA region of {len} bytes, need {DMA_LEN}"),
            E1000Error::DmaMisaligned { phys } => {
                write!(f, "e1000: DMA region at {phys:#x} is not {DMA_ALIGN}-byte aligned")
            }
            E1000Error::ResetTimeout { polls } => write!(f, "e1000: reset did not finish in {polls} polls"),
            E1000Error::EepromTimeout { word } => write!(f, "e1000: EEPROM word {word} not read in time"),
            E1000Error::NoMacAddress { mac } => write!(f, "e1000: no usable MAC address (read {mac})"),
        }
    }
}

/// An open e1000. Dropping it resets the device, which stops its DMA.
pub struct E1000<M: Mmio, D: Dma> {
    regs: M,
    dma: D,
    mac: MacAddr,
    tx: Ring,
    rx: Ring,
    /// Inside a frame split over several RX descriptors: drop up to its EOP.
    rx_discarding: bool,
    stats: NicStats,
}

impl<M: Mmio, D: Dma> E1000<M, D> {
    /// Resets the device and brings both rings up. `regs` is BAR0; `dma`
    /// must be [`DMA_LEN`] bytes, [`DMA_ALIGN`]-aligned.
    pub fn open(regs: M, dma: D, family: Family) -> Result<Self, E1000Error> {
        if regs.len() < MMIO_LEN {
            return Err(E1000Error::RegistersTooSmall { len: regs.len() });
        }
        if dma.len() < DMA_LEN {
            return Err(E1000Error::DmaTooSmall { len: dma.len() });
        }
        if !dma.phys().is_multiple_of(DMA_ALIGN as u64) {
            return Err(E1000Error::DmaMisaligned { phys: dma.phys() });
        }
        let mut nic = E1000 {
            regs,
            dma,
            mac: MacAddr([0; 6]),
            tx: Ring::new(TX_RING),
            rx: Ring::new(RX_RING),
            rx_discarding: false,
            stats: NicStats::default(),
        };
        nic.reset()?;
        nic.mac = nic.read_mac(family)?;
        nic.setup_rings();
        Ok(nic)
    }

    /// The register window (tests read its access log).
    pub fn regs(&self) -> &M {
        &self.regs
    }

    /// The DMA region.
    pub fn dma(&self) -> &D {
        &self.dma
    }

    fn reset(&mut self) -> Result<(), E1000Error> {
        // Quiesce first: no interrupts, no DMA.
        self.regs.write32(reg::IMC, !0);
        self.regs.write32(reg::RCTL, 0);
        self.regs.write32(reg::TCTL, 0);
        let _ = self.regs.read32(reg::STATUS); // flush posted writes
        let ctrl = self.regs.read32(reg::CTRL);
        self.regs.write32(reg::CTRL, ctrl | reg::CTRL_RST);
        let mut done = false;
        for _ in 0..RESET_POLL_LIMIT {
            if self.regs.read32(reg::CTRL) & reg::CTRL_RST == 0 {
                done = true;
                break;
            }
        }
        if !done {
            return Err(E1000Error::ResetTimeout { polls: RESET_POLL_LIMIT });
        }
        // Reset re-enables nothing, but mask again and clear anything latched.
        self.regs.write32(reg::IMC, !0);
        let _ = self.regs.read32(reg::ICR);
        let ctrl = self.regs.read32(reg::CTRL);
        let ctrl = (ctrl | reg::CTRL_SLU | reg::CTRL_ASDE) & !(reg::CTRL_PHY_RST | reg::CTRL_LRST_ILOS);
        self.regs.write32(reg::CTRL, ctrl);
        Ok(())
    }

    fn read_mac(&mut self, family: Family) -> Result<MacAddr, E1000Error> {
        let ral = self.regs.read32(reg::RAL0);
        let rah = self.regs.read32(reg::RAH0);
        let [a, b, c, d] = ral.to_le_bytes();
        let [e, f, _, _] = rah.to_le_bytes();
        let mac = MacAddr([a, b, c, d, e, f]);
        if rah & reg::RAH_AV != 0 && mac.is_valid_unicast() {
            return Ok(mac);
        }
        let mut m = [0u8; 6];
        for word in 0..3u8 {
            let v = self.eeprom_read(family, word)?;
            m[word as usize * 2..][..2].copy_from_slice(&v.to_le_bytes());
        }
        let mac = MacAddr(m);
        if mac.is_valid_unicast() {
            Ok(mac)
        } else {
            Err(E1000Error::NoMacAddress { mac })
        }
    }

    fn eeprom_read(&mut self, family: Family, word: u8) -> Result<u16, E1000Error> {
        let (start, done) = family.eerd(word);
        self.regs.write32(reg::EERD, start);
        for _ in 0..EEPROM_POLL_LIMIT {
            let v = self.regs.read32(reg::EERD);
            if v & done != 0 {
                return Ok((v >> 16) as u16);
            }
        }
        Err(E1000Error::EepromTimeout { word })
    }

    fn setup_rings(&mut self) {
        let [a, b, c, d, e, f] = self.mac.0;
        self.regs.write32(reg::RAL0, u32::from_le_bytes([a, b, c, d]));
        self.regs.write32(reg::RAH0, u32::from_le_bytes([e, f, 0, 0]) | reg::RAH_AV);
        for i in 0..128 {
            self.regs.write32(reg::MTA + 4 * i, 0);
        }
        // Descriptors start zeroed: no stale DD bits.
        let zero = [0u8; 256];
        for off in (RX_DESC..RX_BUFS).step_by(zero.len()) {
            self.dma.write(off, &zero);
        }
        let phys = self.dma.phys();
        for (base, len, bal, bah, head, tail) in [
            (TX_DESC, TX_RING, reg::TDBAL, reg::TDBAH, reg::TDH, reg::TDT),
            (RX_DESC, RX_RING, reg::RDBAL, reg::RDBAH, reg::RDH, reg::RDT),
        ] {
            let addr = phys + base as u64;
            self.regs.write32(bal, addr as u32);
            self.regs.write32(bah, (addr >> 32) as u32);
            self.regs.write32(if bal == reg::TDBAL { reg::TDLEN } else { reg::RDLEN }, len * desc::SIZE as u32);
            self.regs.write32(head, 0);
            self.regs.write32(tail, 0);
        }
        self.refill_rx();
        self.regs.write32(reg::TIPG, reg::TIPG_COPPER);
        self.regs.write32(reg::TCTL, reg::TCTL_EN | reg::TCTL_PSP | reg::TCTL_CT | reg::TCTL_COLD_FD);
        self.regs.write32(reg::RCTL, reg::RCTL_EN | reg::RCTL_BAM | reg::RCTL_SECRC);
    }

    fn rx_desc(slot: u32) -> usize {
        RX_DESC + slot as usize * desc::SIZE
    }
    fn tx_desc(slot: u32) -> usize {
        TX_DESC + slot as usize * desc::SIZE
    }
    fn rx_buf(slot: u32) -> usize {
        RX_BUFS + slot as usize * BUF_SIZE
    }
    fn tx_buf(slot: u32) -> usize {
        TX_BUFS + slot as usize * BUF_SIZE
    }

    /// Frees TX descriptors the hardware is done with (DD set), in order.
    fn reap_tx(&mut self) {
        while let Some(slot) = self.tx.head_slot() {
            let d = Self::tx_desc(slot);
            let status = self.dma.read8(d + desc::STATUS);
            if status & desc::STA_DD == 0 {
                break;
            }
            let len = self.dma.read16(d + desc::LEN);
            self.tx.consume();
            if status & desc::TX_STA_EC_LC != 0 {
                self.stats.tx_errors += 1;
            } else {
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += u64::from(len);
            }
        }
    }

    /// The next completed RX slot: (slot, length, status, errors), if any.
    fn rx_completed(&self) -> Option<(u32, usize, u8, u8)> {
        let slot = self.rx.head_slot()?;
        let d = Self::rx_desc(slot);
        let status = self.dma.read8(d + desc::STATUS);
        if status & desc::STA_DD == 0 {
            return None;
        }
        // Volatile accesses keep their order, and x86 doesn't reorder loads,
        // so the length below was written before the DD we just saw.
        let len = self.dma.read16(d + desc::LEN) as usize;
        let errors = self.dma.read8(d + desc::ERRORS);
        Some((slot, len, status, errors))
    }

    /// Whether a completed descriptor holds a frame we deliver; counts and
    /// consumes it otherwise.
    fn rx_filter(&mut self, len: usize, status: u8, errors: u8, max: usize) -> bool {
        let eop = status & desc::RX_STA_EOP != 0;
        let discarding = core::mem::replace(&mut self.rx_discarding, !eop);
        let drop = if discarding || !eop {
            // Part of a frame too long for one buffer: count it once, at its end.
            if eop {
                self.stats.rx_dropped += 1;
            }
            true
        } else if errors & desc::RX_ERR_FRAME != 0 {
            self.stats.rx_errors += 1;
            true
        } else if !(MIN_FRAME..=max.min(BUF_SIZE)).contains(&len) {
            self.stats.rx_dropped += 1;
            true
        } else {
            false
        };
        if drop {
            self.rx.consume();
        }
        !drop
    }

    /// Drops bad frames at the head of the RX ring, stopping at a good one
    /// (left for [`Nic::receive`]) or at one the hardware still owns.
    fn reap_rx(&mut self) {
        while let Some((_, len, status, errors)) = self.rx_completed() {
            if self.rx_filter(len, status, errors, MAX_FRAME) {
                break;
            }
        }
    }

    /// Gives every free RX slot a clean descriptor, then one doorbell.
    fn refill_rx(&mut self) {
        let phys = self.dma.phys();
        let mut any = false;
        while let Some(slot) = self.rx.produce() {
            let d = Self::rx_desc(slot);
            self.dma.write64(d, phys + Self::rx_buf(slot) as u64);
            self.dma.write64(d + desc::LEN, 0); // length, checksum, status, errors, special
            any = true;
        }
        if any {
            fence(Ordering::SeqCst);
            self.regs.write32(reg::RDT, self.rx.tail_slot());
        }
    }
}

impl<M: Mmio, D: Dma> Nic for E1000<M, D> {
    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn link_up(&mut self) -> bool {
        self.regs.read32(reg::STATUS) & reg::STATUS_LU != 0
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
        let d = Self::tx_desc(slot);
        self.dma.write64(d, self.dma.phys() + buf as u64);
        let cmd = desc::TX_CMD_EOP | desc::TX_CMD_IFCS | desc::TX_CMD_RS;
        // length | cso 0 | cmd | status 0 | css 0 | special 0
        self.dma.write64(d + desc::LEN, len as u64 | u64::from(cmd) << ((desc::CMD - desc::LEN) * 8));
        fence(Ordering::SeqCst);
        self.regs.write32(reg::TDT, self.tx.tail_slot());
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        while let Some((slot, len, status, errors)) = self.rx_completed() {
            if !self.rx_filter(len, status, errors, buf.len().min(MAX_FRAME)) {
                continue;
            }
            self.dma.read(Self::rx_buf(slot), &mut buf[..len]);
            self.rx.consume();
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += len as u64;
            // Keep the hardware fed during long bursts between polls.
            if self.rx.free() >= RX_RING / 4 {
                self.refill_rx();
            }
            return Some(len);
        }
        None
    }

    fn poll(&mut self) {
        self.reap_tx();
        self.reap_rx();
        self.refill_rx();
    }

    fn stats(&self) -> NicStats {
        self.stats
    }
}

impl<M: Mmio, D: Dma> Drop for E1000<M, D> {
    /// Close: stop receive and transmit and reset, so the device never
    /// writes to the DMA region after it is freed.
    fn drop(&mut self) {
        self.regs.write32(reg::IMC, !0);
        self.regs.write32(reg::RCTL, 0);
        self.regs.write32(reg::TCTL, 0);
        let _ = self.regs.read32(reg::STATUS);
        let ctrl = self.regs.read32(reg::CTRL);
        self.regs.write32(reg::CTRL, ctrl | reg::CTRL_RST);
        for _ in 0..RESET_POLL_LIMIT {
            if self.regs.read32(reg::CTRL) & reg::CTRL_RST == 0 {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;
