//! Memory that devices read and write behind our back (descriptor rings and
//! packet buffers), behind a trait.
//!
//! No reference to DMA memory is ever made: the device may change it at any
//! time, which a `&[u8]` would promise can't happen. Every access is a
//! volatile read or write through [`Dma`]; bulk copies move 8 bytes at a
//! time where alignment allows.

/// A physically contiguous region a device can address.
pub trait Dma {
    /// Bus (physical) address of byte 0.
    fn phys(&self) -> u64;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `out.len()` bytes from `offset` out of the region.
    fn read(&self, offset: usize, out: &mut [u8]);
    /// Copies `data` into the region at `offset`.
    fn write(&mut self, offset: usize, data: &[u8]);

    fn read8(&self, offset: usize) -> u8 {
        let mut b = [0; 1];
        self.read(offset, &mut b);
        b[0]
    }
    fn read16(&self, offset: usize) -> u16 {
        let mut b = [0; 2];
        self.read(offset, &mut b);
        u16::from_le_bytes(b)
    }
    fn read32(&self, offset: usize) -> u32 {
        let mut b = [0; 4];
        self.read(offset, &mut b);
        u32::from_le_bytes(b)
    }
    fn read64(&self, offset: usize) -> u64 {
        let mut b = [0; 8];
        self.read(offset, &mut b);
        u64::from_le_bytes(b)
    }
    fn write8(&mut self, offset: usize, v: u8) {
        self.write(offset, &[v]);
    }
    fn write16(&mut self, offset: usize, v: u16) {
        self.write(offset, &v.to_le_bytes());
    }
    fn write32(&mut self, offset: usize, v: u32) {
        self.write(offset, &v.to_le_bytes());
    }
    fn write64(&mut self, offset: usize, v: u64) {
        self.write(offset, &v.to_le_bytes());
    }
}

/// An identity-mapped region of RAM used for DMA.
///
/// Out-of-range accesses panic: they are driver bugs, never a consequence
/// of device or network input (drivers check lengths before copying).
#[derive(Debug)]
pub struct DmaRegion {
    base: usize,
    len: usize,
}

impl DmaRegion {
    /// # Safety
    /// `base..base + len` must be RAM, identity-mapped (virtual address ==
    /// bus address), owned by the caller for as long as the region lives and
    /// any device is told about it, and never accessed through references.
    pub unsafe fn new(base: usize, len: usize) -> Self {
        Self { base, len }
    }

    fn check(&self, offset: usize, n: usize) -> usize {
        assert!(
            offset.checked_add(n).is_some_and(|end| end <= self.len),
            "dma access of {n} bytes at {offset:#x} outside a {:#x}-byte region",
            self.len
        );
        self.base + offset
    }
}

impl Dma for DmaRegion {
    fn phys(&self) -> u64 {
        self.base as u64
    }
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        let mut addr = self.check(offset, out.len());
        let mut i = 0;
        while i < out.len() {
            if addr.is_multiple_of(8) && out.len() - i >= 8 {
                // SAFETY: `check` kept addr..addr+8 inside the region that
                // `new`'s caller vouched for; addr is 8-aligned.
                let v = unsafe { (addr as *const u64).read_volatile() };
                out[i..i + 8].copy_from_slice(&v.to_le_bytes());
                i += 8;
                addr += 8;
            } else {
                // SAFETY: as above, for one byte.
                out[i] = unsafe { (addr as *const u8).read_volatile() };
                i += 1;
                addr += 1;
            }
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        let mut addr = self.check(offset, data.len());
        let mut i = 0;
        while i < data.len() {
            if addr.is_multiple_of(8) && data.len() - i >= 8 {
                let mut b = [0; 8];
                b.copy_from_slice(&data[i..i + 8]);
                // SAFETY: as in `read`.
                unsafe { (addr as *mut u64).write_volatile(u64::from_le_bytes(b)) };
                i += 8;
                addr += 8;
            } else {
                // SAFETY: as in `read`, for one byte.
                unsafe { (addr as *mut u8).write_volatile(data[i]) };
                i += 1;
                addr += 1;
            }
        }
    }
}

/// Test doubles for [`Dma`].
#[cfg(any(test, feature = "mock"))]
pub mod mock {
    use super::Dma;
    use alloc::rc::Rc;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// DMA memory over a `Vec`, at a made-up bus address. Clones share the
    /// memory, so a test can play the device while the driver owns one.
    #[derive(Clone)]
    pub struct VecDma {
        phys: u64,
        pub mem: Rc<RefCell<Vec<u8>>>,
    }

    impl VecDma {
        pub fn new(phys: u64, len: usize) -> Self {
            Self { phys, mem: Rc::new(RefCell::new(vec![0; len])) }
        }

        /// The offset of bus address `addr`, if it lies in the region.
        pub fn offset_of(&self, addr: u64) -> Option<usize> {
            let off = usize::try_from(addr.checked_sub(self.phys)?).ok()?;
            (off < self.mem.borrow().len()).then_some(off)
        }
    }

    impl Dma for VecDma {
        fn phys(&self) -> u64 {
            self.phys
        }
        fn len(&self) -> usize {
            self.mem.borrow().len()
        }
        fn read(&self, offset: usize, out: &mut [u8]) {
            out.copy_from_slice(&self.mem.borrow()[offset..offset + out.len()]);
        }
        fn write(&mut self, offset: usize, data: &[u8]) {
            self.mem.borrow_mut()[offset..offset + data.len()].copy_from_slice(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_copies_at_any_alignment() {
        let mut backing = vec![0u64; 8];
        let base = backing.as_mut_ptr() as usize;
        // SAFETY: the Vec outlives the region and is only touched through it
        // until the end of the test.
        let mut r = unsafe { DmaRegion::new(base, 64) };
        let data: Vec<u8> = (1..=37).collect();
        r.write(3, &data);
        let mut out = vec![0u8; 37];
        r.read(3, &mut out);
        assert_eq!(out, data);
        assert_eq!(r.read8(2), 0);
        assert_eq!(r.read8(40), 0);
        r.write64(8, 0x1122_3344_5566_7788);
        assert_eq!(r.read32(8), 0x5566_7788);
        assert_eq!(r.read16(14), 0x1122);
        assert_eq!(r.phys(), base as u64);
        // The region is not used again: the Vec is read directly below.
        assert_eq!(backing[1], 0x1122_3344_5566_7788);
    }

    #[test]
    #[should_panic(expected = "outside")]
    fn region_bounds_are_checked() {
        let mut backing = [0u8; 16];
        // SAFETY: as above.
        let r = unsafe { DmaRegion::new(backing.as_mut_ptr() as usize, 16) };
        let mut out = [0u8; 4];
        r.read(13, &mut out);
    }
}
