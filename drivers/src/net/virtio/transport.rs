//! The two ways to reach a virtio PCI device's registers: the legacy I/O
//! BAR0 (virtio 0.9.5, QEMU's `disable-modern=on`) and the modern
//! capability-described MMIO structures (virtio 1.0 §4.1.4), and the walk of
//! the PCI capability list that finds the latter.

use crate::mmio::Mmio;
use crate::pci::{Bar, ConfigSpace, PciAddress};
use crate::port::PortIo;

/// Register access the driver needs, whichever interface carries it.
pub trait Transport {
    /// Legacy: 32 feature bits, no FEATURES_OK, queue size fixed by the
    /// device, rings placed by page frame number.
    fn is_legacy(&self) -> bool;
    fn status(&mut self) -> u8;
    /// Writing 0 resets the device.
    fn set_status(&mut self, status: u8);
    fn device_features(&mut self) -> u64;
    fn set_driver_features(&mut self, features: u64);
    /// Selects queue `q` and returns its maximum size (0: no such queue).
    fn queue_max(&mut self, q: u16) -> u16;
    /// Gives the device queue `q` (last selected by [`Transport::queue_max`])
    /// with `size` entries at these bus addresses, and enables it.
    fn queue_setup(&mut self, q: u16, size: u16, desc: u64, avail: u64, used: u64) -> Result<(), SetupError>;
    fn notify(&mut self, q: u16);
    /// Changes whenever the device changes its configuration (0 on legacy).
    fn config_generation(&mut self) -> u8;
    /// One byte of the device-specific configuration (for virtio-net: the
    /// MAC at 0..6, the link status word at 6).
    fn config8(&mut self, offset: u16) -> u8;
    fn config16(&mut self, offset: u16) -> u16;
}

/// Why a queue could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// Legacy rings are given as a 4 KiB page frame number below 16 TiB.
    BadLegacyAddress(u64),
    /// The device's notify offset for the queue is outside the notify window.
    NotifyOutOfRange { queue: u16, offset: usize },
}

/// Legacy register offsets in I/O BAR0, with MSI-X off (virtio 0.9.5).
pub mod legacy {
    pub const DEVICE_FEATURES: u16 = 0x00;
    pub const GUEST_FEATURES: u16 = 0x04;
    pub const QUEUE_PFN: u16 = 0x08;
    pub const QUEUE_SIZE: u16 = 0x0C;
    pub const QUEUE_SELECT: u16 = 0x0E;
    pub const QUEUE_NOTIFY: u16 = 0x10;
    pub const STATUS: u16 = 0x12;
    pub const ISR: u16 = 0x13;
    pub const CONFIG: u16 = 0x14;
    /// Bytes of BAR0 we touch: the registers and virtio-net's MAC and status.
    pub const BAR_LEN: u32 = CONFIG as u32 + 8;
}

/// The legacy interface over port I/O.
pub struct Legacy<P: PortIo> {
    ports: P,
    base: u16,
}

impl<P: PortIo> Legacy<P> {
    /// `base` is I/O BAR0 (at least [`legacy::BAR_LEN`] ports).
    pub fn new(ports: P, base: u16) -> Self {
        Legacy { ports, base }
    }

    /// The port I/O (tests read its access log).
    pub fn ports(&self) -> &P {
        &self.ports
    }
}

impl<P: PortIo> Transport for Legacy<P> {
    fn is_legacy(&self) -> bool {
        true
    }
    fn status(&mut self) -> u8 {
        self.ports.read8(self.base + legacy::STATUS)
    }
    fn set_status(&mut self, status: u8) {
        self.ports.write8(self.base + legacy::STATUS, status)
    }
    fn device_features(&mut self) -> u64 {
        self.ports.read32(self.base + legacy::DEVICE_FEATURES).into()
    }
    fn set_driver_features(&mut self, features: u64) {
        self.ports.write32(self.base + legacy::GUEST_FEATURES, features as u32)
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.ports.write16(self.base + legacy::QUEUE_SELECT, q);
        self.ports.read16(self.base + legacy::QUEUE_SIZE)
    }
    fn queue_setup(&mut self, _q: u16, _size: u16, desc: u64, _avail: u64, _used: u64) -> Result<(), SetupError> {
        // The device derives avail and used from the descriptor table's page
        // and its own queue size (the caller laid them out that way).
        let pfn = desc / super::queue::LEGACY_ALIGN as u64;
        if !desc.is_multiple_of(super::queue::LEGACY_ALIGN as u64) || pfn == 0 || pfn > u64::from(u32::MAX) {
            return Err(SetupError::BadLegacyAddress(desc));
        }
        self.ports.write32(self.base + legacy::QUEUE_PFN, pfn as u32);
        Ok(())
    }
    fn notify(&mut self, q: u16) {
        self.ports.write16(self.base + legacy::QUEUE_NOTIFY, q)
    }
    fn config_generation(&mut self) -> u8 {
        0
    }
    fn config8(&mut self, offset: u16) -> u8 {
        self.ports.read8(self.base + legacy::CONFIG + offset)
    }
    fn config16(&mut self, offset: u16) -> u16 {
        self.ports.read16(self.base + legacy::CONFIG + offset)
    }
}

/// Offsets in the modern common configuration structure (§4.1.4.3).
pub mod common {
    pub const DEVICE_FEATURE_SELECT: usize = 0x00;
    pub const DEVICE_FEATURE: usize = 0x04;
    pub const DRIVER_FEATURE_SELECT: usize = 0x08;
    pub const DRIVER_FEATURE: usize = 0x0C;
    pub const DEVICE_STATUS: usize = 0x14;
    pub const CONFIG_GENERATION: usize = 0x15;
    pub const QUEUE_SELECT: usize = 0x16;
    pub const QUEUE_SIZE: usize = 0x18;
    pub const QUEUE_ENABLE: usize = 0x1C;
    pub const QUEUE_NOTIFY_OFF: usize = 0x1E;
    pub const QUEUE_DESC: usize = 0x20;
    pub const QUEUE_DRIVER: usize = 0x28;
    pub const QUEUE_DEVICE: usize = 0x30;
    /// The structure's size.
    pub const LEN: usize = 0x38;
}

/// Bytes of device configuration we read: virtio-net's MAC and status.
pub const DEVICE_CFG_LEN: usize = 8;

/// Queues the driver uses (virtio-net's receiveq1 and transmitq1).
const QUEUES: usize = 2;

/// The modern interface: three MMIO windows found through capabilities.
pub struct Modern<M: Mmio> {
    common: M,
    notify: M,
    notify_multiplier: u32,
    device: M,
    /// Each queue's offset in the notify window, learnt at setup.
    notify_at: [usize; QUEUES],
}

/// A modern window too small for the registers we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowTooSmall {
    pub which: &'static str,
    pub len: usize,
}

impl<M: Mmio> Modern<M> {
    pub fn new(common: M, notify: M, notify_multiplier: u32, device: M) -> Result<Self, WindowTooSmall> {
        for (which, len, need) in [
            ("common", common.len(), common::LEN),
            ("notify", notify.len(), 2),
            ("device", device.len(), DEVICE_CFG_LEN),
        ] {
            if len < need {
                return Err(WindowTooSmall { which, len });
            }
        }
        Ok(Modern { common, notify, notify_multiplier, device, notify_at: [0; QUEUES] })
    }

    /// The common configuration window (tests read its access log).
    pub fn common(&self) -> &M {
        &self.common
    }

    /// The notify window.
    pub fn notify_window(&self) -> &M {
        &self.notify
    }

    fn write64(&mut self, offset: usize, v: u64) {
        self.common.write32(offset, v as u32);
        self.common.write32(offset + 4, (v >> 32) as u32);
    }
}

impl<M: Mmio> Transport for Modern<M> {
    fn is_legacy(&self) -> bool {
        false
    }
    fn status(&mut self) -> u8 {
        self.common.read8(common::DEVICE_STATUS)
    }
    fn set_status(&mut self, status: u8) {
        self.common.write8(common::DEVICE_STATUS, status)
    }
    fn device_features(&mut self) -> u64 {
        self.common.write32(common::DEVICE_FEATURE_SELECT, 0);
        let lo = self.common.read32(common::DEVICE_FEATURE);
        self.common.write32(common::DEVICE_FEATURE_SELECT, 1);
        let hi = self.common.read32(common::DEVICE_FEATURE);
        u64::from(hi) << 32 | u64::from(lo)
    }
    fn set_driver_features(&mut self, features: u64) {
        self.common.write32(common::DRIVER_FEATURE_SELECT, 0);
        self.common.write32(common::DRIVER_FEATURE, features as u32);
        self.common.write32(common::DRIVER_FEATURE_SELECT, 1);
        self.common.write32(common::DRIVER_FEATURE, (features >> 32) as u32);
    }
    fn queue_max(&mut self, q: u16) -> u16 {
        self.common.write16(common::QUEUE_SELECT, q);
        self.common.read16(common::QUEUE_SIZE)
    }
    fn queue_setup(&mut self, q: u16, size: u16, desc: u64, avail: u64, used: u64) -> Result<(), SetupError> {
        let off = usize::from(self.common.read16(common::QUEUE_NOTIFY_OFF));
        let at = off.saturating_mul(self.notify_multiplier as usize);
        let slot = self.notify_at.get_mut(usize::from(q));
        match slot {
            Some(slot) if at.checked_add(2).is_some_and(|end| end <= self.notify.len()) => *slot = at,
            _ => return Err(SetupError::NotifyOutOfRange { queue: q, offset: at }),
        }
        self.common.write16(common::QUEUE_SIZE, size);
        self.write64(common::QUEUE_DESC, desc);
        self.write64(common::QUEUE_DRIVER, avail);
        self.write64(common::QUEUE_DEVICE, used);
        self.common.write16(common::QUEUE_ENABLE, 1);
        Ok(())
    }
    fn notify(&mut self, q: u16) {
        // Only queues set up are notified, so the offset was checked.
        let at = self.notify_at[usize::from(q)];
        self.notify.write16(at, q)
    }
    fn config_generation(&mut self) -> u8 {
        self.common.read8(common::CONFIG_GENERATION)
    }
    fn config8(&mut self, offset: u16) -> u8 {
        self.device.read8(usize::from(offset))
    }
    fn config16(&mut self, offset: u16) -> u16 {
        self.device.read16(usize::from(offset))
    }
}

/// Where one modern structure lies: a BAR, an offset and a length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub bar: u8,
    pub offset: u32,
    pub len: u32,
}

impl Window {
    /// The window's physical address, if its BAR is a memory BAR that
    /// holds all of it.
    pub fn phys(&self, bars: &[Option<Bar>; 6]) -> Option<u64> {
        let Some(Bar::Memory { base, size, .. }) = *bars.get(usize::from(self.bar))? else {
            return None;
        };
        let end = u64::from(self.offset) + u64::from(self.len);
        (base != 0 && end <= size).then(|| base + u64::from(self.offset))
    }
}

/// The modern structures a device offers (§4.1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModernCaps {
    pub common: Window,
    pub notify: Window,
    pub notify_multiplier: u32,
    pub device: Window,
}

/// Configuration-space offsets and values for the capability walk.
mod cap {
    pub const STATUS: u8 = 0x06;
    pub const STATUS_CAP_LIST: u16 = 1 << 4;
    pub const POINTER: u8 = 0x34;
    pub const ID_VENDOR: u8 = 0x09;
    pub const COMMON_CFG: u8 = 1;
    pub const NOTIFY_CFG: u8 = 2;
    pub const DEVICE_CFG: u8 = 4;
    /// A list longer than this loops: 192 bytes hold at most 48 capabilities.
    pub const MAX_WALK: usize = 48;
}

/// Walks `addr`'s capability list for the virtio structures; `None` for a
/// legacy-only device (or one missing any of common, notify, device).
/// The list comes from the device, so the walk is bounded and pointers into
/// the standard header end it.
pub fn modern_caps<P: PortIo>(cfg: &mut ConfigSpace<P>, addr: PciAddress) -> Option<ModernCaps> {
    if cfg.read16(addr, cap::STATUS) & cap::STATUS_CAP_LIST == 0 {
        return None;
    }
    let (mut common, mut notify, mut device) = (None, None, None);
    let mut ptr = cfg.read8(addr, cap::POINTER) & !3;
    for _ in 0..cap::MAX_WALK {
        if ptr < 0x40 {
            break;
        }
        let [id, next, cap_len, cfg_type] = cfg.read32(addr, ptr).to_le_bytes();
        // virtio_pci_cap is 16 bytes; the notify one adds its multiplier.
        if id == cap::ID_VENDOR && cap_len >= 16 && ptr <= 0xFF - 15 {
            let w = Window {
                bar: cfg.read8(addr, ptr + 4),
                offset: cfg.read32(addr, ptr + 8),
                len: cfg.read32(addr, ptr + 12),
            };
            match cfg_type {
                cap::COMMON_CFG if common.is_none() => common = Some(w),
                cap::NOTIFY_CFG if notify.is_none() && cap_len >= 20 && ptr <= 0xFF - 19 => {
                    notify = Some((w, cfg.read32(addr, ptr + 16)))
                }
                cap::DEVICE_CFG if device.is_none() => device = Some(w),
                _ => {}
            }
        }
        ptr = next & !3;
    }
    let (notify, notify_multiplier) = notify?;
    Some(ModernCaps { common: common?, notify, notify_multiplier, device: device? })
}
