//! Where framebuffer bytes live: plain memory for tests and off-screen
//! images, or the real linear framebuffer through volatile accesses.

use alloc::vec;
use alloc::vec::Vec;

/// Byte-addressed framebuffer storage, written and read a row at a time.
///
/// The drawing code clips every coordinate before it gets here, so a range
/// outside `0..len()` is a bug in the caller: implementations
/// `debug_assert!` and otherwise ignore the write (a read leaves `out`
/// zeroed).
pub trait FbMemory {
    fn write_row(&mut self, byte_offset: usize, bytes: &[u8]);
    fn read_row(&self, byte_offset: usize, out: &mut [u8]);
    /// Size of the storage in bytes.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `offset..offset + n` lies inside `0..len`.
fn in_bounds(offset: usize, n: usize, len: usize) -> bool {
    offset.checked_add(n).is_some_and(|end| end <= len)
}

/// Framebuffer bytes in ordinary heap memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecMemory(pub Vec<u8>);

impl VecMemory {
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0; len])
    }
}

impl FbMemory for VecMemory {
    fn write_row(&mut self, byte_offset: usize, bytes: &[u8]) {
        if !in_bounds(byte_offset, bytes.len(), self.0.len()) {
            debug_assert!(false, "framebuffer write of {} bytes at {byte_offset:#x}", bytes.len());
            return;
        }
        self.0[byte_offset..byte_offset + bytes.len()].copy_from_slice(bytes);
    }

    fn read_row(&self, byte_offset: usize, out: &mut [u8]) {
        if !in_bounds(byte_offset, out.len(), self.0.len()) {
            debug_assert!(false, "framebuffer read of {} bytes at {byte_offset:#x}", out.len());
            out.fill(0);
            return;
        }
        out.copy_from_slice(&self.0[byte_offset..byte_offset + out.len()]);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The real linear framebuffer, identity-mapped at `base`.
///
/// Every access is a volatile store or load through a raw pointer: single
/// bytes up to a 4-byte boundary, aligned `u32`s through the middle, single
/// bytes at the end. No reference to framebuffer memory is ever made.
#[derive(Debug)]
pub struct MmioFramebuffer {
    base: usize,
    len: usize,
}

impl MmioFramebuffer {
    /// # Safety
    /// `base..base + len` must be identity-mapped framebuffer memory (or
    /// other writable memory) that does not wrap the address space and that
    /// nothing else accesses, through references or otherwise, for as long
    /// as this value lives.
    pub unsafe fn new(base: usize, len: usize) -> Self {
        Self { base, len }
    }

    pub fn base(&self) -> usize {
        self.base
    }
}

/// Splits a run of `n` bytes starting at address `addr` into a head before
/// the first 4-byte boundary, a middle of whole `u32`s and a tail.
fn split_aligned(addr: usize, n: usize) -> (usize, usize) {
    let head = (addr.wrapping_neg() & 3).min(n);
    let middle = (n - head) & !3;
    (head, middle)
}

impl FbMemory for MmioFramebuffer {
    fn write_row(&mut self, byte_offset: usize, bytes: &[u8]) {
        if !in_bounds(byte_offset, bytes.len(), self.len) {
            debug_assert!(false, "framebuffer write of {} bytes at {byte_offset:#x}", bytes.len());
            return;
        }
        let start = self.base + byte_offset;
        let (head, middle) = split_aligned(start, bytes.len());
        let (head_bytes, rest) = bytes.split_at(head);
        let (middle_bytes, tail_bytes) = rest.split_at(middle);
        let mut addr = start;
        for &b in head_bytes {
            // SAFETY: `addr` is inside the window checked above, which `new`
            // vouched for.
            unsafe { (addr as *mut u8).write_volatile(b) };
            addr += 1;
        }
        for word in middle_bytes.chunks_exact(4) {
            let v = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            // SAFETY: as above; `split_aligned` made `addr` 4-byte aligned
            // and the 4 bytes are inside the checked range.
            unsafe { (addr as *mut u32).write_volatile(v) };
            addr += 4;
        }
        for &b in tail_bytes {
            // SAFETY: as for the head bytes.
            unsafe { (addr as *mut u8).write_volatile(b) };
            addr += 1;
        }
    }

    fn read_row(&self, byte_offset: usize, out: &mut [u8]) {
        if !in_bounds(byte_offset, out.len(), self.len) {
            debug_assert!(false, "framebuffer read of {} bytes at {byte_offset:#x}", out.len());
            out.fill(0);
            return;
        }
        let start = self.base + byte_offset;
        let (head, middle) = split_aligned(start, out.len());
        let (head_bytes, rest) = out.split_at_mut(head);
        let (middle_bytes, tail_bytes) = rest.split_at_mut(middle);
        let mut addr = start;
        for b in head_bytes {
            // SAFETY: `addr` is inside the window checked above, which `new`
            // vouched for.
            *b = unsafe { (addr as *const u8).read_volatile() };
            addr += 1;
        }
        for word in middle_bytes.chunks_exact_mut(4) {
            // SAFETY: as above; `split_aligned` made `addr` 4-byte aligned
            // and the 4 bytes are inside the checked range.
            let v = unsafe { (addr as *const u32).read_volatile() };
            word.copy_from_slice(&v.to_le_bytes());
            addr += 4;
        }
        for b in tail_bytes {
            // SAFETY: as for the head bytes.
            *b = unsafe { (addr as *const u8).read_volatile() };
            addr += 1;
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_aligned_cases() {
        assert_eq!(split_aligned(0x1000, 10), (0, 8));
        assert_eq!(split_aligned(0x1001, 10), (3, 4));
        assert_eq!(split_aligned(0x1003, 2), (1, 0));
        assert_eq!(split_aligned(0x1002, 1), (1, 0));
        assert_eq!(split_aligned(0x1002, 6), (2, 4));
        assert_eq!(split_aligned(0x1000, 0), (0, 0));
    }

    #[test]
    fn vec_memory_rows_read_back() {
        let mut m = VecMemory::zeroed(8);
        m.write_row(2, &[1, 2, 3]);
        assert_eq!(m.0, [0, 0, 1, 2, 3, 0, 0, 0]);
        let mut out = [9; 4];
        m.read_row(1, &mut out);
        assert_eq!(out, [0, 1, 2, 3]);
        m.write_row(5, &[7, 7, 7]);
        assert_eq!(m.0, [0, 0, 1, 2, 3, 7, 7, 7]);
        assert_eq!(m.len(), 8);
        assert!(!m.is_empty());
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn vec_memory_ignores_out_of_range_rows() {
        let mut m = VecMemory::zeroed(4);
        m.write_row(2, &[1, 2, 3]);
        m.write_row(usize::MAX, &[1]);
        assert_eq!(m.0, [0; 4]);
        let mut out = [9; 3];
        m.read_row(2, &mut out);
        assert_eq!(out, [0; 3]);
    }

    #[test]
    #[should_panic(expected = "framebuffer write")]
    #[cfg(debug_assertions)]
    fn vec_memory_out_of_range_write_is_a_debug_assertion() {
        VecMemory::zeroed(4).write_row(2, &[1, 2, 3]);
    }

    /// The volatile path, run over ordinary heap memory at every alignment
    /// and against a plain-copy model.
    #[test]
    fn mmio_rows_at_every_alignment_match_plain_copies() {
        const LEN: usize = 64;
        let pattern: Vec<u8> = (0..LEN as u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for offset in 0..8 {
            for n in 0..20 {
                let mut backing = vec![0xeeu8; LEN];
                let mut model = backing.clone();
                model[offset..offset + n].copy_from_slice(&pattern[..n]);
                let mut read = vec![0u8; n];
                {
                    // SAFETY: `backing` is a live heap block of LEN bytes that
                    // is not touched while `fb` exists (this scope).
                    let mut fb = unsafe { MmioFramebuffer::new(backing.as_mut_ptr() as usize, LEN) };
                    fb.write_row(offset, &pattern[..n]);
                    fb.read_row(offset, &mut read);
                    assert_eq!(fb.len(), LEN);
                }
                assert_eq!(backing, model, "offset {offset} len {n}");
                assert_eq!(read, pattern[..n], "offset {offset} len {n}");
            }
        }
    }
}
