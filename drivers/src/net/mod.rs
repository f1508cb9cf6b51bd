//! Networking: a small polling NIC contract ([`Nic`]), DMA memory behind a
//! trait ([`dma::Dma`]), descriptor-ring arithmetic ([`ring::Ring`]), the
//! drivers that implement it ([`e1000`], [`virtio`]) and the adapter that lets smoltcp
//! drive any of them ([`phy::NicDevice`]).
//!
//! The contract follows iPXE's: open (the driver's constructor), transmit,
//! poll, close (drop). There are no interrupts: the caller's loop polls.

/// The smoltcp the adapter implements, for the payload to build on.
pub use smoltcp;

pub mod config;
pub mod dhcp;
pub mod dma;
pub mod dns;
pub mod e1000;
pub mod http;
pub mod nettest;
pub mod phy;
pub mod ring;
pub mod rtl8139;
pub mod server;
pub mod tftp;
pub mod url;
pub mod virtio;

use core::fmt;

/// Longest Ethernet frame we send or accept, without the FCS: 1500 bytes of
/// payload, the 14-byte header and room for one VLAN tag.
pub const MAX_FRAME: usize = 1518;
/// Shortest frame we accept: an Ethernet header.
pub const MIN_FRAME: usize = 14;

/// An Ethernet MAC address, shown as `52:54:00:12:34:56`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Not all-zero and not a group (multicast/broadcast) address.
    pub fn is_valid_unicast(&self) -> bool {
        self.0 != [0; 6] && self.0[0] & 1 == 0
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// Counters a NIC keeps. Packets and bytes count frames the hardware
/// finished; drops are frames we threw away (ours or the wire's fault, see
/// each field); errors are frames the hardware flagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NicStats {
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Frames the caller gave us that we could not queue (ring full, bad length).
    pub tx_dropped: u64,
    /// Frames the hardware reports it failed to send.
    pub tx_errors: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    /// Frames dropped for their shape: too short, longer than the buffer,
    /// or split over several descriptors.
    pub rx_dropped: u64,
    /// Frames the hardware flagged (CRC, symbol, sequence, carrier errors).
    pub rx_errors: u64,
}

impl fmt::Display for NicStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tx {} pkts {} bytes {} dropped {} errors, rx {} pkts {} bytes {} dropped {} errors",
            self.tx_packets,
            self.tx_bytes,
            self.tx_dropped,
            self.tx_errors,
            self.rx_packets,
            self.rx_bytes,
            self.rx_dropped,
            self.rx_errors
        )
    }
}

/// Why a frame was not queued for sending. Each is also counted in
/// [`NicStats::tx_dropped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NicError {
    /// Every transmit descriptor is in flight; poll and try again.
    TxRingFull,
    /// The frame is longer than [`MAX_FRAME`].
    FrameTooLong { len: usize },
    /// The frame is shorter than an Ethernet header.
    FrameTooShort { len: usize },
}

impl fmt::Display for NicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NicError::TxRingFull => write!(f, "transmit ring full"),
            NicError::FrameTooLong { len } => write!(f, "frame of {len} bytes is longer than {MAX_FRAME}"),
            NicError::FrameTooShort { len } => write!(f, "frame of {len} bytes is shorter than {MIN_FRAME}"),
        }
    }
}

/// What every driver's [`Nic::transmit`] does before it fills a buffer:
/// check the frame's `len`, then take a transmit slot with `reserve`
/// (asked only for a frame of a good length; `None` when the ring stays
/// full). The caller counts an error as a drop.
pub fn check_transmit<T>(len: usize, reserve: impl FnOnce() -> Option<T>) -> Result<T, NicError> {
    if len > MAX_FRAME {
        Err(NicError::FrameTooLong { len })
    } else if len < MIN_FRAME {
        Err(NicError::FrameTooShort { len })
    } else {
        reserve().ok_or(NicError::TxRingFull)
    }
}

/// A polling Ethernet NIC. The driver's constructor opens the device and
/// dropping it closes (resets) it.
pub trait Nic {
    fn mac(&self) -> MacAddr;
    /// A more precise model name than the PCI ID table's, when the driver
    /// learns one at open (which virtio transport it uses).
    fn variant(&self) -> Option<&'static str> {
        None
    }
    /// The link state as the hardware reports it now.
    fn link_up(&mut self) -> bool;
    /// Whether [`Nic::transmit`] would find a free descriptor.
    fn can_transmit(&mut self) -> bool;
    /// Copies `frame` (Ethernet header onward, no FCS) into a transmit
    /// buffer and hands it to the hardware.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError>;
    /// Copies the next good received frame into `buf` and returns its
    /// length; `None` when nothing has arrived. Bad frames on the way are
    /// dropped and counted, never returned.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Housekeeping in iPXE's order: reap finished transmits, reap
    /// (drop bad) received frames, refill the receive ring.
    fn poll(&mut self);
    fn stats(&self) -> NicStats;
}

/// A boxed NIC is a NIC, so the payload can bind drivers at run time.
impl<N: Nic + ?Sized> Nic for alloc::boxed::Box<N> {
    fn mac(&self) -> MacAddr {
        (**self).mac()
    }
    fn variant(&self) -> Option<&'static str> {
        (**self).variant()
    }
    fn link_up(&mut self) -> bool {
        (**self).link_up()
    }
    fn can_transmit(&mut self) -> bool {
        (**self).can_transmit()
    }
    fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
        (**self).transmit(frame)
    }
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        (**self).receive(buf)
    }
    fn poll(&mut self) {
        (**self).poll()
    }
    fn stats(&self) -> NicStats {
        (**self).stats()
    }
}
