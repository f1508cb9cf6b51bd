//! Memory-mapped register windows behind a trait.
//!
//! The real window only ever touches device memory through volatile reads and
//! writes of one register at a time; no reference to device memory is made.

/// A window of device registers, addressed by byte offset.
pub trait Mmio {
    fn read8(&self, offset: usize) -> u8;
    fn write8(&mut self, offset: usize, value: u8);
    fn read16(&self, offset: usize) -> u16;
    fn write16(&mut self, offset: usize, value: u16);
    fn read32(&self, offset: usize) -> u32;
    fn write32(&mut self, offset: usize, value: u32);
    /// Size of the window in bytes.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A physical window that is identity-mapped into our address space.
///
/// Accesses past the end or misaligned for their width panic: they are driver
/// bugs, never a consequence of device or network input.
#[derive(Debug)]
pub struct MmioRegion {
    base: usize,
    len: usize,
}

impl MmioRegion {
    /// # Safety
    /// `base..base + len` must be identity-mapped device memory (or RAM used
    /// for DMA) that nothing else accesses through references, for as long as
    /// the region lives.
    pub unsafe fn new(base: usize, len: usize) -> Self {
        Self { base, len }
    }

    pub fn base(&self) -> usize {
        self.base
    }

    fn ptr<T>(&self, offset: usize) -> *mut T {
        let size = core::mem::size_of::<T>();
        assert!(
            offset.checked_add(size).is_some_and(|end| end <= self.len) && offset.is_multiple_of(size),
            "mmio access at {offset:#x} outside a {:#x}-byte window",
            self.len
        );
        (self.base + offset) as *mut T
    }
}

impl Mmio for MmioRegion {
    fn read8(&self, offset: usize) -> u8 {
        // SAFETY: `ptr` checked the offset is inside the window `new` vouched for.
        unsafe { self.ptr::<u8>(offset).read_volatile() }
    }
    fn write8(&mut self, offset: usize, value: u8) {
        // SAFETY: as in `read8`.
        unsafe { self.ptr::<u8>(offset).write_volatile(value) }
    }
    fn read16(&self, offset: usize) -> u16 {
        // SAFETY: as in `read8`; `ptr` also checked alignment.
        unsafe { self.ptr::<u16>(offset).read_volatile() }
    }
    fn write16(&mut self, offset: usize, value: u16) {
        // SAFETY: as in `read16`.
        unsafe { self.ptr::<u16>(offset).write_volatile(value) }
    }
    fn read32(&self, offset: usize) -> u32 {
        // SAFETY: as in `read16`.
        unsafe { self.ptr::<u32>(offset).read_volatile() }
    }
    fn write32(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read16`.
        unsafe { self.ptr::<u32>(offset).write_volatile(value) }
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// Test doubles for [`Mmio`].
#[cfg(any(test, feature = "mock"))]
pub mod mock {
    use super::Mmio;
    use alloc::vec;
    use alloc::vec::Vec;

    /// One register access, as recorded by [`RecordingMmio`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Access {
        Read(usize, u8, u32),
        Write(usize, u8, u32),
    }

    /// Plain memory that records every access (reads are logged through a
    /// `RefCell` so `read*` can keep `&self`).
    pub struct RecordingMmio {
        pub mem: Vec<u8>,
        pub log: core::cell::RefCell<Vec<Access>>,
    }

    impl RecordingMmio {
        pub fn new(len: usize) -> Self {
            Self { mem: vec![0; len], log: Default::default() }
        }
        pub fn writes(&self) -> Vec<(usize, u32)> {
            self.log
                .borrow()
                .iter()
                .filter_map(|a| match *a {
                    Access::Write(o, _, v) => Some((o, v)),
                    _ => None,
                })
                .collect()
        }
        fn get(&self, off: usize, n: usize) -> u32 {
            let mut b = [0u8; 4];
            b[..n].copy_from_slice(&self.mem[off..off + n]);
            let v = u32::from_le_bytes(b);
            self.log.borrow_mut().push(Access::Read(off, n as u8, v));
            v
        }
        fn set(&mut self, off: usize, n: usize, v: u32) {
            self.mem[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
            self.log.borrow_mut().push(Access::Write(off, n as u8, v));
        }
    }

    impl Mmio for RecordingMmio {
        fn read8(&self, o: usize) -> u8 {
            self.get(o, 1) as u8
        }
        fn write8(&mut self, o: usize, v: u8) {
            self.set(o, 1, v as u32)
        }
        fn read16(&self, o: usize) -> u16 {
            self.get(o, 2) as u16
        }
        fn write16(&mut self, o: usize, v: u16) {
            self.set(o, 2, v as u32)
        }
        fn read32(&self, o: usize) -> u32 {
            self.get(o, 4)
        }
        fn write32(&mut self, o: usize, v: u32) {
            self.set(o, 4, v)
        }
        fn len(&self) -> usize {
            self.mem.len()
        }
    }
}
