//! x86 port I/O behind a trait, so drivers can be tested with [`mock::RecordingPorts`].

/// Access to the x86 I/O port space.
pub trait PortIo {
    fn read8(&mut self, port: u16) -> u8;
    fn write8(&mut self, port: u16, value: u8);
    fn read16(&mut self, port: u16) -> u16;
    fn write16(&mut self, port: u16, value: u16);
    fn read32(&mut self, port: u16) -> u32;
    fn write32(&mut self, port: u16, value: u32);
}

/// The real I/O port space, through `in`/`out` instructions.
///
/// It is a capability token: holding one means the holder may touch ports.
/// `main` makes one and hands clones to the drivers it owns.
#[derive(Clone, Debug)]
pub struct X86Ports(());

impl X86Ports {
    /// # Safety
    /// The caller runs at ring 0 and the drivers given these ports own the
    /// devices behind them; a stray port write can reconfigure any device.
    pub unsafe fn new() -> Self {
        Self(())
    }
}

#[cfg(target_arch = "x86_64")]
impl PortIo for X86Ports {
    fn read8(&mut self, port: u16) -> u8 {
        let v: u8;
        // SAFETY: constructing `X86Ports` asserted ring 0 and device ownership.
        unsafe { core::arch::asm!("in al, dx", out("al") v, in("dx") port, options(nomem, nostack, preserves_flags)) };
        v
    }
    fn write8(&mut self, port: u16, value: u8) {
        // SAFETY: as in `read8`.
        unsafe {
            core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
        };
    }
    fn read16(&mut self, port: u16) -> u16 {
        let v: u16;
        // SAFETY: as in `read8`.
        unsafe { core::arch::asm!("in ax, dx", out("ax") v, in("dx") port, options(nomem, nostack, preserves_flags)) };
        v
    }
    fn write16(&mut self, port: u16, value: u16) {
        // SAFETY: as in `read8`.
        unsafe {
            core::arch::asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
        };
    }
    fn read32(&mut self, port: u16) -> u32 {
        let v: u32;
        // SAFETY: as in `read8`.
        unsafe {
            core::arch::asm!("in eax, dx", out("eax") v, in("dx") port, options(nomem, nostack, preserves_flags))
        };
        v
    }
    fn write32(&mut self, port: u16, value: u32) {
        // SAFETY: as in `read8`.
        unsafe {
            core::arch::asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
        };
    }
}

/// Test doubles for [`PortIo`].
#[cfg(any(test, feature = "mock"))]
pub mod mock {
    use super::PortIo;
    use alloc::collections::VecDeque;
    use alloc::vec::Vec;

    /// One port access, as recorded by [`RecordingPorts`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Access {
        Read8(u16, u8),
        Write8(u16, u8),
        Read16(u16, u16),
        Write16(u16, u16),
        Read32(u16, u32),
        Write32(u16, u32),
    }

    /// Records every access; reads return scripted values per port (or a
    /// closure's answer), falling back to `default_read`.
    pub struct RecordingPorts {
        pub log: Vec<Access>,
        scripted: Vec<(u16, VecDeque<u32>)>,
        pub default_read: u32,
        #[allow(clippy::type_complexity)]
        responder: Option<alloc::boxed::Box<dyn FnMut(u16, u8, Option<u32>) -> u32>>,
    }

    impl Default for RecordingPorts {
        fn default() -> Self {
            Self::new()
        }
    }

    impl RecordingPorts {
        pub fn new() -> Self {
            Self { log: Vec::new(), scripted: Vec::new(), default_read: 0xffff_ffff, responder: None }
        }

        /// Queue values that successive reads of `port` return.
        pub fn script(&mut self, port: u16, values: &[u32]) {
            match self.scripted.iter_mut().find(|(p, _)| *p == port) {
                Some((_, q)) => q.extend(values.iter().copied()),
                None => self.scripted.push((port, values.iter().copied().collect())),
            }
        }

        /// A device model: called for every access with (port, width in
        /// bytes, Some(value) for writes); its return value answers reads.
        pub fn with_responder(f: impl FnMut(u16, u8, Option<u32>) -> u32 + 'static) -> Self {
            let mut p = Self::new();
            p.responder = Some(alloc::boxed::Box::new(f));
            p
        }

        /// Only the writes, in order, as (port, value).
        pub fn writes(&self) -> Vec<(u16, u32)> {
            self.log
                .iter()
                .filter_map(|a| match *a {
                    Access::Write8(p, v) => Some((p, v as u32)),
                    Access::Write16(p, v) => Some((p, v as u32)),
                    Access::Write32(p, v) => Some((p, v)),
                    _ => None,
                })
                .collect()
        }

        fn read(&mut self, port: u16, width: u8) -> u32 {
            if let Some(f) = self.responder.as_mut() {
                return f(port, width, None);
            }
            self.scripted
                .iter_mut()
                .find(|(p, _)| *p == port)
                .and_then(|(_, q)| q.pop_front())
                .unwrap_or(self.default_read)
        }

        fn written(&mut self, port: u16, width: u8, value: u32) {
            if let Some(f) = self.responder.as_mut() {
                f(port, width, Some(value));
            }
        }
    }

    impl PortIo for RecordingPorts {
        fn read8(&mut self, port: u16) -> u8 {
            let v = self.read(port, 1) as u8;
            self.log.push(Access::Read8(port, v));
            v
        }
        fn write8(&mut self, port: u16, value: u8) {
            self.log.push(Access::Write8(port, value));
            self.written(port, 1, value as u32);
        }
        fn read16(&mut self, port: u16) -> u16 {
            let v = self.read(port, 2) as u16;
            self.log.push(Access::Read16(port, v));
            v
        }
        fn write16(&mut self, port: u16, value: u16) {
            self.log.push(Access::Write16(port, value));
            self.written(port, 2, value as u32);
        }
        fn read32(&mut self, port: u16) -> u32 {
            let v = self.read(port, 4);
            self.log.push(Access::Read32(port, v));
            v
        }
        fn write32(&mut self, port: u16, value: u32) {
            self.log.push(Access::Write32(port, value));
            self.written(port, 4, value);
        }
    }
}
