//! virtio-net over PCI (QEMU's `virtio-net-pci`), modern (virtio 1.0,
//! capability-described MMIO) and legacy (I/O BAR0), polled.
//!
//! Shaped like the e1000 driver: reset, feature negotiation, MAC and link
//! status from the device configuration, one receive and one transmit
//! virtqueue in a single DMA region with a fixed 2 KiB buffer per
//! descriptor, and a poll that reaps TX, then reaps RX, then refills RX,
//! notifying after a fence only when the device asks to be notified.
//!
//! We negotiate only MAC, STATUS and (modern) VERSION_1: no offloads, no
//! merged receive buffers, no event index, no indirect descriptors. Every
//! frame then fits one buffer behind a `virtio_net_hdr` of 12 bytes when
//! VERSION_1 or MRG_RXBUF is on, else 10 (§5.1.6), which [`net_hdr_len`]
//! picks.
//!
//! **What we use from the `virtio-drivers` crate (rcore-os, 0.13): nothing
//! at run time; it was our reference for layouts and sequences.** We looked
//! at building on its `Hal` and `VirtIONetRaw` and chose not to, because it
//! does not fit this code base's rules: it DMAs into caller-owned `&mut [u8]`
//! buffers and writes descriptors and rings with plain (non-volatile) stores
//! through references into DMA memory, where we keep DMA memory behind
//! [`Dma`]'s volatile copies; it offers no legacy PCI transport (its
//! `Transport` trait would need our own legacy implementation anyway, with
//! `zerocopy`-bounded generic config reads); it does not wait for a reset to
//! finish; it keeps the transport private after open, so the link status
//! can't be read later; and its PCI root re-sizes BARs that `pci.rs` already
//! sized. Its dependencies (zerocopy with its derive, safe-mmio, thiserror,
//! bitflags, enumn, log) would outweigh the ~150 lines of queue handling
//! here. For the same reason `pci_types` is not used: the capability walk in
//! [`transport::modern_caps`] is a short bounded loop over
//! [`crate::pci::ConfigSpace`].

pub mod queue;
pub mod transport;

use super::dma::Dma;
use super::{check_transmit, MacAddr, Nic, NicError, NicStats, MAX_FRAME, MIN_FRAME};
use crate::pci::{DriverEntry, PciId};
use core::fmt;
use core::sync::atomic::{fence, Ordering};
use queue::{Layout, Virtq, DESC_SIZE, LEGACY_ALIGN};
pub use transport::{modern_caps, Legacy, Modern, ModernCaps, SetupError, Transport, Window};

/// Device status bits (§2.1).
pub mod status {
    pub const ACKNOWLEDGE: u8 = 1;
    pub const DRIVER: u8 = 2;
    pub const DRIVER_OK: u8 = 4;
    pub const FEATURES_OK: u8 = 8;
    pub const FAILED: u8 = 128;
}

/// Feature bits (§5.1.3, §6).
pub mod feature {
    pub const MAC: u64 = 1 << 5;
    pub const MRG_RXBUF: u64 = 1 << 15;
    pub const STATUS: u64 = 1 << 16;
    pub const VERSION_1: u64 = 1 << 32;
}

/// Ring flags (§2.4.5, §2.4.7).
mod ring {
    pub const DESC_F_WRITE: u16 = 2;
    pub const AVAIL_F_NO_INTERRUPT: u16 = 1;
    pub const USED_F_NO_NOTIFY: u16 = 1;
}

/// virtio-net's configuration: MAC at 0, status word at 6 (bit 0 link up).
const CONFIG_STATUS: u16 = 6;
const LINK_UP: u16 = 1;
/// `virtio_net_hdr.gso_type`: we never ask for GSO, so anything but NONE is malformed.
const HDR_GSO_TYPE: usize = 1;

const RX_QUEUE: u16 = 0;
const TX_QUEUE: u16 = 1;
/// Entries per queue we use: QEMU's default; a legacy device must offer
/// exactly a power of two no larger (its size can't be changed).
pub const QUEUE_SIZE: u16 = 256;
pub const BUF_SIZE: usize = 2048;

/// Each queue's rings get this much room, page-aligned for the legacy layout.
const QUEUE_AREA: usize = Layout::new(QUEUE_SIZE).end.div_ceil(LEGACY_ALIGN) * LEGACY_ALIGN;
const RX_RINGS: usize = 0;
const TX_RINGS: usize = QUEUE_AREA;
const RX_BUFS: usize = 2 * QUEUE_AREA;
const TX_BUFS: usize = RX_BUFS + QUEUE_SIZE as usize * BUF_SIZE;
/// Bytes of DMA memory the driver needs: both queues and their buffers.
pub const DMA_LEN: usize = TX_BUFS + QUEUE_SIZE as usize * BUF_SIZE;
/// Alignment the DMA region needs (legacy rings are given by page number).
pub const DMA_ALIGN: usize = LEGACY_ALIGN;

/// Reads of the status register while waiting for a reset to read back 0.
/// QEMU finishes before the first read; this only ends a dead device.
pub const RESET_POLL_LIMIT: u32 = 100_000;
/// Tries at reading the MAC without the configuration changing under us.
const CONFIG_READ_TRIES: u32 = 8;

/// PCI IDs this driver binds to: the transitional device (legacy BAR0, and
/// modern capabilities unless `disable-modern=on`) and the modern-only one.
/// The transport is chosen at open, from the capabilities.
pub static PCI_IDS: &[DriverEntry<()>] = &[
    DriverEntry { id: PciId::new(0x1af4, 0x1000), name: "virtio-net", driver: () },
    DriverEntry { id: PciId::new(0x1af4, 0x1041), name: "virtio-net", driver: () },
];

/// The `virtio_net_hdr` length for these negotiated features.
pub fn net_hdr_len(features: u64) -> usize {
    if features & (feature::VERSION_1 | feature::MRG_RXBUF) != 0 {
        12
    } else {
        10
    }
}

/// Why the device could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirtioError {
    DmaTooSmall {
        len: usize,
    },
    DmaMisaligned {
        phys: u64,
    },
    ResetTimeout {
        polls: u32,
    },
    /// A modern device must offer VERSION_1.
    NoVersion1 {
        features: u64,
    },
    /// The device cleared FEATURES_OK: it won't work with what we accept.
    FeaturesRejected {
        features: u64,
    },
    /// No MAC feature, or the configuration kept changing, or not unicast.
    NoMacAddress {
        mac: MacAddr,
    },
    /// Queue size 0 (absent), or a legacy size we can't use.
    BadQueueSize {
        queue: u16,
        size: u16,
    },
    Setup(SetupError),
}

impl fmt::Display for VirtioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VirtioError::DmaTooSmall { len } => write!(f, "virtio-net: DMA region of {len} bytes, need {DMA_LEN}"),
            VirtioError::DmaMisaligned { phys } => {
                write!(f, "virtio-net: DMA region at {phys:#x} is not {DMA_ALIGN}-byte aligned")
            }
            VirtioError::ResetTimeout { polls } => write!(f, "virtio-net: reset did not finish in {polls} polls"),
            VirtioError::NoVersion1 { features } => {
                write!(f, "virtio-net: modern device without VERSION_1 (features {features:#x})")
            }
            VirtioError::FeaturesRejected { features } => {
                write!(f, "virtio-net: device refused features {features:#x}")
            }
            VirtioError::NoMacAddress { mac } => write!(f, "virtio-net: no usable MAC address (read {mac})"),
            VirtioError::BadQueueSize { queue, size } => {
                write!(f, "virtio-net: queue {queue} has size {size}, need a power of two up to {QUEUE_SIZE}")
            }
            VirtioError::Setup(SetupError::BadLegacyAddress(a)) => {
                write!(f, "virtio-net: ring at {a:#x} can't be given to a legacy device")
            }
            VirtioError::Setup(SetupError::NotifyOutOfRange { queue, offset }) => {
                write!(f, "virtio-net: queue {queue} notify offset {offset:#x} is outside the notify window")
            }
        }
    }
}

/// One queue: its bookkeeping and where its rings and buffers lie.
struct Queue {
    q: Virtq,
    index: u16,
    layout: Layout,
    /// Offsets of the rings and the buffers in the DMA region.
    rings: usize,
    bufs: usize,
}

impl Queue {
    fn desc(&self, id: u16) -> usize {
        self.rings + self.layout.desc + usize::from(id) * DESC_SIZE
    }
    fn avail(&self, field: usize) -> usize {
        self.rings + self.layout.avail + field
    }
    fn used(&self, field: usize) -> usize {
        self.rings + self.layout.used + field
    }
    fn buf(&self, id: u16) -> usize {
        self.bufs + usize::from(id) * BUF_SIZE
    }
}

/// An open virtio-net. Dropping it resets the device, which stops its DMA.
pub struct VirtioNet<T: Transport, D: Dma> {
    transport: T,
    dma: D,
    mac: MacAddr,
    features: u64,
    hdr_len: usize,
    rx: Queue,
    tx: Queue,
    stats: NicStats,
}

impl<T: Transport, D: Dma> VirtioNet<T, D> {
    /// Resets the device and brings both queues up (§3.1.1). `dma` must be
    /// [`DMA_LEN`] bytes, [`DMA_ALIGN`]-aligned and zeroed.
    pub fn open(transport: T, dma: D) -> Result<Self, VirtioError> {
        if dma.len() < DMA_LEN {
            return Err(VirtioError::DmaTooSmall { len: dma.len() });
        }
        if !dma.phys().is_multiple_of(DMA_ALIGN as u64) {
            return Err(VirtioError::DmaMisaligned { phys: dma.phys() });
        }
        // Sized by `setup_queue` once the device says how large a queue may be.
        let queue = |index, rings, bufs| Queue { q: Virtq::new(1), index, layout: Layout::new(1), rings, bufs };
        let mut nic = VirtioNet {
            transport,
            dma,
            mac: MacAddr([0; 6]),
            features: 0,
            hdr_len: 0,
            rx: queue(RX_QUEUE, RX_RINGS, RX_BUFS),
            tx: queue(TX_QUEUE, TX_RINGS, TX_BUFS),
            stats: NicStats::default(),
        };
        let r = nic.init();
        if r.is_err() {
            let s = nic.transport.status();
            nic.transport.set_status(s | status::FAILED);
        }
        r.map(|()| nic)
    }

    fn init(&mut self) -> Result<(), VirtioError> {
        self.reset()?;
        let t = &mut self.transport;
        t.set_status(status::ACKNOWLEDGE);
        t.set_status(status::ACKNOWLEDGE | status::DRIVER);
        let offered = t.device_features();
        let mut want = feature::MAC | feature::STATUS;
        if !t.is_legacy() {
            if offered & feature::VERSION_1 == 0 {
                return Err(VirtioError::NoVersion1 { features: offered });
            }
            want |= feature::VERSION_1;
        }
        self.features = offered & want;
        t.set_driver_features(self.features);
        let mut s = status::ACKNOWLEDGE | status::DRIVER;
        if !t.is_legacy() {
            s |= status::FEATURES_OK;
            t.set_status(s);
            if t.status() & status::FEATURES_OK == 0 {
                return Err(VirtioError::FeaturesRejected { features: self.features });
            }
        }
        self.hdr_len = net_hdr_len(self.features);
        self.mac = self.read_mac()?;
        self.setup_queue(RX_QUEUE)?;
        self.setup_queue(TX_QUEUE)?;
        self.transport.set_status(s | status::DRIVER_OK);
        self.refill_rx();
        Ok(())
    }

    /// The transport (tests read its access log).
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The DMA region.
    pub fn dma(&self) -> &D {
        &self.dma
    }

    /// The features both sides agreed on.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// Writes 0 to the status register and waits (bounded) for it to read back 0.
    fn reset(&mut self) -> Result<(), VirtioError> {
        self.transport.set_status(0);
        for _ in 0..RESET_POLL_LIMIT {
            if self.transport.status() == 0 {
                return Ok(());
            }
        }
        Err(VirtioError::ResetTimeout { polls: RESET_POLL_LIMIT })
    }

    fn read_mac(&mut self) -> Result<MacAddr, VirtioError> {
        let mut mac = MacAddr([0; 6]);
        if self.features & feature::MAC == 0 {
            return Err(VirtioError::NoMacAddress { mac });
        }
        for _ in 0..CONFIG_READ_TRIES {
            let before = self.transport.config_generation();
            for (i, b) in mac.0.iter_mut().enumerate() {
                *b = self.transport.config8(i as u16);
            }
            if self.transport.config_generation() == before && mac.is_valid_unicast() {
                return Ok(mac);
            }
        }
        Err(VirtioError::NoMacAddress { mac })
    }

    fn setup_queue(&mut self, index: u16) -> Result<(), VirtioError> {
        let max = self.transport.queue_max(index);
        let size = if self.transport.is_legacy() { max } else { max.min(QUEUE_SIZE) };
        // A modern device may take any size up to its maximum: use the
        // largest power of two.
        let size = if self.transport.is_legacy() || size == 0 { size } else { 1 << size.ilog2() };
        if size == 0 || !size.is_power_of_two() || size > QUEUE_SIZE {
            return Err(VirtioError::BadQueueSize { queue: index, size: max });
        }
        let phys = self.dma.phys();
        let rx = index == RX_QUEUE;
        let q = if rx { &mut self.rx } else { &mut self.tx };
        q.q = Virtq::new(size);
        q.layout = Layout::new(size);
        // Rings start zeroed (no stale indexes); descriptors point at their
        // buffers for good, receive ones writable by the device.
        let zero = [0u8; 256];
        for off in (q.rings..q.rings + QUEUE_AREA).step_by(zero.len()) {
            self.dma.write(off, &zero);
        }
        for id in 0..size {
            let d = q.desc(id);
            self.dma.write64(d, phys + q.buf(id) as u64);
            self.dma.write32(d + 8, if rx { BUF_SIZE as u32 } else { 0 });
            self.dma.write16(d + 12, if rx { ring::DESC_F_WRITE } else { 0 });
        }
        // We poll: ask for no interrupts.
        self.dma.write16(q.avail(0), ring::AVAIL_F_NO_INTERRUPT);
        let (desc, avail, used) = (phys + q.desc(0) as u64, phys + q.avail(0) as u64, phys + q.used(0) as u64);
        self.transport.queue_setup(index, size, desc, avail, used).map_err(VirtioError::Setup)
    }

    /// Publishes the avail index, then notifies unless the device said it
    /// doesn't need it. The fence orders the ring writes before the index
    /// and the index before reading the device's flag.
    fn kick(&mut self, rx: bool) {
        let q = if rx { &self.rx } else { &self.tx };
        let (idx_at, flags_at, index, idx) = (q.avail(2), q.used(0), q.index, q.q.avail_idx());
        fence(Ordering::SeqCst);
        self.dma.write16(idx_at, idx);
        fence(Ordering::SeqCst);
        if self.dma.read16(flags_at) & ring::USED_F_NO_NOTIFY == 0 {
            self.transport.notify(index);
        }
    }

    /// The next used entry of a queue: (id, length), not yet reaped.
    fn peek_used(&self, rx: bool) -> Option<(u32, u32)> {
        let q = if rx { &self.rx } else { &self.tx };
        let device_idx = self.dma.read16(q.used(2));
        let slot = q.q.used_slot(device_idx)?;
        // Volatile accesses keep their order and x86 doesn't reorder loads,
        // so this entry was written before the index we just read.
        let e = q.used(4) + usize::from(slot) * 8;
        Some((self.dma.read32(e), self.dma.read32(e + 4)))
    }

    /// Frees transmit descriptors the device is done with.
    fn reap_tx(&mut self) {
        while let Some((id, _)) = self.peek_used(false) {
            match self.tx.q.complete(id) {
                Ok(id) => {
                    let len = self.dma.read32(self.tx.desc(id) + 8) as usize;
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += len.saturating_sub(self.hdr_len) as u64;
                }
                Err(_) => self.stats.tx_errors += 1,
            }
        }
    }

    /// Drops bad frames at the head of the receive queue, stopping at a good
    /// one no longer than `max`: returns its (id, frame length), not reaped.
    fn rx_next(&mut self, max: usize) -> Option<(u16, usize)> {
        while let Some((id, len)) = self.peek_used(true) {
            if !self.rx.q.device_owns(id) {
                let _ = self.rx.q.complete(id);
                self.stats.rx_errors += 1;
                continue;
            }
            let id = id as u16;
            let len = len as usize;
            let frame = len.wrapping_sub(self.hdr_len);
            let gso = self.dma.read8(self.rx.buf(id) + HDR_GSO_TYPE);
            if len < self.hdr_len || len > BUF_SIZE || !(MIN_FRAME..=max.min(MAX_FRAME)).contains(&frame) || gso != 0 {
                let _ = self.rx.q.complete(u32::from(id));
                self.stats.rx_dropped += 1;
                continue;
            }
            return Some((id, frame));
        }
        None
    }

    /// Hands every free receive buffer to the device, then one notify.
    fn refill_rx(&mut self) {
        let mut any = false;
        while let Some((slot, id)) = self.rx.q.post() {
            self.dma.write16(self.rx.avail(4) + usize::from(slot) * 2, id);
            any = true;
        }
        if any {
            self.kick(true);
        }
    }
}

impl<T: Transport, D: Dma> Nic for VirtioNet<T, D> {
    fn mac(&self) -> MacAddr {
        self.mac
    }

    fn variant(&self) -> Option<&'static str> {
        Some(if self.transport.is_legacy() { "virtio-net (legacy)" } else { "virtio-net (modern)" })
    }

    /// Without the STATUS feature the device has no link state: assume up.
    fn link_up(&mut self) -> bool {
        self.features & feature::STATUS == 0 || self.transport.config16(CONFIG_STATUS) & LINK_UP != 0
    }

    fn can_transmit(&mut self) -> bool {
        if self.tx.q.free() == 0 {
            self.reap_tx();
        }
        self.tx.q.free() != 0
    }

    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        let len = frame.len();
        let (slot, id) = match check_transmit(len, || if self.can_transmit() { self.tx.q.post() } else { None }) {
            Ok(posted) => posted,
            Err(e) => {
                self.stats.tx_dropped += 1;
                return Err(e);
            }
        };
        let buf = self.tx.buf(id);
        // An all-zero header: no checksum or segmentation offload.
        self.dma.write(buf, &[0; 12][..self.hdr_len]);
        self.dma.write(buf + self.hdr_len, frame);
        self.dma.write32(self.tx.desc(id) + 8, (self.hdr_len + len) as u32);
        self.dma.write16(self.tx.avail(4) + usize::from(slot) * 2, id);
        self.kick(false);
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let (id, len) = self.rx_next(buf.len())?;
        self.dma.read(self.rx.buf(id) + self.hdr_len, &mut buf[..len]);
        let _ = self.rx.q.complete(u32::from(id));
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += len as u64;
        // Keep the device fed during long bursts between polls.
        if self.rx.q.free() >= self.rx.q.size() / 4 {
            self.refill_rx();
        }
        Some(len)
    }

    fn poll(&mut self) {
        self.reap_tx();
        let _ = self.rx_next(MAX_FRAME);
        self.refill_rx();
    }

    fn stats(&self) -> NicStats {
        self.stats
    }
}

impl<T: Transport, D: Dma> Drop for VirtioNet<T, D> {
    /// Close: a reset stops the device using the queues before their memory goes.
    fn drop(&mut self) {
        let _ = self.reset();
    }
}

#[cfg(test)]
mod tests;
