//! smoltcp's `phy::Device` over any [`Nic`].
//!
//! Received frames are copied out of DMA memory into a buffer the adapter
//! owns (DMA memory is never lent out as a slice); frames to send are built
//! in another and copied in by [`Nic::transmit`].

use super::{Nic, MAX_FRAME};
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Ethernet MTU in smoltcp's sense: IP MTU 1500 plus the 14-byte header.
pub const ETHERNET_MTU: usize = 1514;

pub struct NicDevice<N: Nic> {
    nic: N,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl<N: Nic> NicDevice<N> {
    pub fn new(nic: N) -> Self {
        Self { nic, rx: vec![0; MAX_FRAME], tx: vec![0; MAX_FRAME] }
    }
    pub fn nic(&self) -> &N {
        &self.nic
    }
    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.nic
    }
    pub fn into_inner(self) -> N {
        self.nic
    }
}

pub struct RxToken<'a>(&'a [u8]);

pub struct TxToken<'a, N: Nic> {
    nic: &'a mut N,
    buf: &'a mut Vec<u8>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl<N: Nic> phy::TxToken for TxToken<'_, N> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if len > self.buf.len() {
            // Never happens within our MTU; the NIC still refuses and
            // counts it rather than sending a truncated frame.
            self.buf.resize(len, 0);
        }
        let r = f(&mut self.buf[..len]);
        // A refused frame is counted in the NIC's stats; TCP retransmits.
        let _ = self.nic.transmit(&self.buf[..len]);
        r
    }
}

impl<N: Nic> phy::Device for NicDevice<N> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, N>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let len = self.nic.receive(&mut self.rx)?;
        Some((RxToken(&self.rx[..len]), TxToken { nic: &mut self.nic, buf: &mut self.tx }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        if !self.nic.can_transmit() {
            return None;
        }
        Some(TxToken { nic: &mut self.nic, buf: &mut self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = ETHERNET_MTU;
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{MacAddr, NicError, NicStats};
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::phy::{Device, RxToken as _, TxToken as _};
    use smoltcp::wire::{
        ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
        HardwareAddress, IpCidr, Ipv4Address,
    };
    use std::collections::VecDeque;

    /// A NIC whose wire is two queues.
    #[derive(Default)]
    struct QueueNic {
        inbox: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
        room: usize,
        stats: NicStats,
    }

    impl Nic for QueueNic {
        fn mac(&self) -> MacAddr {
            MacAddr([2, 0, 0, 0, 0, 1])
        }
        fn link_up(&mut self) -> bool {
            true
        }
        fn can_transmit(&mut self) -> bool {
            self.sent.len() < self.room
        }
        fn transmit(&mut self, frame: &[u8]) -> Result<(), NicError> {
            if frame.len() > MAX_FRAME {
                self.stats.tx_dropped += 1;
                return Err(NicError::FrameTooLong { len: frame.len() });
            }
            self.sent.push(frame.to_vec());
            Ok(())
        }
        fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
            let f = self.inbox.pop_front()?;
            buf[..f.len()].copy_from_slice(&f);
            Some(f.len())
        }
        fn poll(&mut self) {}
        fn stats(&self) -> NicStats {
            self.stats
        }
    }

    #[test]
    fn tokens_move_frames() {
        let mut dev = NicDevice::new(QueueNic { room: 1, ..Default::default() });
        let now = Instant::from_millis(0);
        assert!(dev.receive(now).is_none());
        dev.nic_mut().inbox.push_back(vec![7; 60]);
        let (rx, tx) = dev.receive(now).unwrap();
        assert_eq!(rx.consume(|f| f.to_vec()), vec![7; 60]);
        tx.consume(42, |b| b.fill(9));
        assert_eq!(dev.nic().sent, [vec![9; 42]]);
        assert!(dev.transmit(now).is_none(), "NIC full: no token");
        assert_eq!(dev.capabilities().max_transmission_unit, 1514);
        assert_eq!(dev.capabilities().ip_mtu(), 1500);
    }

    #[test]
    fn oversized_request_is_refused_not_truncated() {
        let mut dev = NicDevice::new(QueueNic { room: 4, ..Default::default() });
        let tx = dev.transmit(Instant::from_millis(0)).unwrap();
        tx.consume(2000, |b| b.fill(1));
        assert!(dev.nic().sent.is_empty());
        assert_eq!(dev.nic().stats().tx_dropped, 1);
    }

    #[test]
    fn smoltcp_answers_arp_through_the_adapter() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let mut dev = NicDevice::new(QueueNic { room: 8, ..Default::default() });
        let mut iface = Interface::new(Config::new(HardwareAddress::Ethernet(mac)), &mut dev, Instant::ZERO);
        iface.update_ip_addrs(|a| a.push(IpCidr::new(Ipv4Address::new(10, 0, 2, 15).into(), 24)).unwrap());
        let peer = EthernetAddress([2, 0, 0, 0, 0, 2]);
        let arp = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: peer,
            source_protocol_addr: Ipv4Address::new(10, 0, 2, 2),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Address::new(10, 0, 2, 15),
        };
        let eth =
            EthernetRepr { src_addr: peer, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Arp };
        let mut f = vec![0u8; eth.buffer_len() + arp.buffer_len()];
        let mut frame = EthernetFrame::new_unchecked(&mut f);
        eth.emit(&mut frame);
        arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
        dev.nic_mut().inbox.push_back(f);
        let mut sockets = SocketSet::new(vec![]);
        iface.poll(Instant::from_millis(1), &mut dev, &mut sockets);
        let sent = &dev.nic().sent;
        assert_eq!(sent.len(), 1);
        let reply = EthernetFrame::new_checked(&sent[0][..]).unwrap();
        assert_eq!(reply.dst_addr(), peer);
        let arp = ArpRepr::parse(&ArpPacket::new_checked(reply.payload()).unwrap()).unwrap();
        assert!(
            matches!(arp, ArpRepr::EthernetIpv4 { operation: ArpOperation::Reply, source_hardware_addr, .. } if source_hardware_addr == mac)
        );
    }
}
