//! Split-virtqueue bookkeeping (virtio 1.0 §2.4), pure: where the rings lie
//! in memory, which descriptor ids the device holds, and the free-running
//! avail/used indexes. The driver does the volatile reads and writes.
//!
//! Each descriptor id stands for one fixed buffer, so a chain is always one
//! descriptor and the id says which buffer came back. The device may return
//! ids in any order and is not trusted: an id it does not hold is an error,
//! never an index into our arrays.

/// Where one queue's three parts lie, in bytes from the queue's base, in the
/// legacy layout (§2.4.2): the used ring starts on the next 4 KiB page.
/// Modern devices take any addresses, so one layout serves both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub desc: usize,
    pub avail: usize,
    pub used: usize,
    /// One past the used ring's last byte.
    pub end: usize,
}

pub const DESC_SIZE: usize = 16;
/// The legacy interface's queue alignment (and its page-frame unit).
pub const LEGACY_ALIGN: usize = 4096;

impl Layout {
    pub const fn new(size: u16) -> Layout {
        let n = size as usize;
        let avail = n * DESC_SIZE;
        // flags, idx, ring[n], used_event
        let avail_end = avail + 6 + 2 * n;
        let used = avail_end.div_ceil(LEGACY_ALIGN) * LEGACY_ALIGN;
        // flags, idx, ring[n] of (id u32, len u32), avail_event
        Layout { desc: 0, avail, used, end: used + 6 + 8 * n }
    }
}

/// A used-ring entry the device returned for an id it does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadId(pub u32);

/// One queue's indexes and descriptor ownership.
#[derive(Clone, Debug)]
pub struct Virtq {
    size: u16,
    /// Next avail-ring index we publish (free-running; its low bits pick the slot).
    avail_idx: u16,
    /// Next used-ring index we read.
    used_idx: u16,
    /// Ids we hold, used last-in first-out.
    free: alloc::vec::Vec<u16>,
    /// Whether the device holds each id.
    device_owns: alloc::vec::Vec<bool>,
}

impl Virtq {
    /// A queue of `size` descriptors (a power of two, 1..=32768), all ours.
    pub fn new(size: u16) -> Virtq {
        assert!(size.is_power_of_two() && size <= 32768, "virtqueue size must be a power of two <= 32768");
        Virtq {
            size,
            avail_idx: 0,
            used_idx: 0,
            free: (0..size).rev().collect(),
            device_owns: alloc::vec![false; size as usize],
        }
    }

    pub fn size(&self) -> u16 {
        self.size
    }

    /// Ids we can hand to the device.
    pub fn free(&self) -> u16 {
        self.free.len() as u16
    }

    /// The value the avail ring's `idx` should hold.
    pub fn avail_idx(&self) -> u16 {
        self.avail_idx
    }

    /// Takes a free id for the device: (avail-ring slot to write it to, id).
    /// The caller then publishes [`Virtq::avail_idx`].
    pub fn post(&mut self) -> Option<(u16, u16)> {
        let id = self.free.pop()?;
        self.device_owns[id as usize] = true;
        let slot = self.avail_idx & (self.size - 1);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        Some((slot, id))
    }

    /// The used-ring slot to read next, given the device's used `idx`, or
    /// `None` when there is nothing new. Never more entries than we posted
    /// and have not reaped, whatever the device claims.
    pub fn used_slot(&self, device_idx: u16) -> Option<u16> {
        let new = device_idx.wrapping_sub(self.used_idx);
        let outstanding = self.avail_idx.wrapping_sub(self.used_idx);
        (new != 0 && outstanding != 0 && new <= self.size).then_some(self.used_idx & (self.size - 1))
    }

    /// Whether the device holds `id` (so a used entry naming it is genuine).
    pub fn device_owns(&self, id: u32) -> bool {
        usize::try_from(id).ok().and_then(|i| self.device_owns.get(i)).copied().unwrap_or(false)
    }

    /// Reaps the used entry at [`Virtq::used_slot`], which names `id`: the
    /// id is ours again. A bogus id is reported, and skipped all the same.
    pub fn complete(&mut self, id: u32) -> Result<u16, BadId> {
        self.used_idx = self.used_idx.wrapping_add(1);
        if !self.device_owns(id) {
            return Err(BadId(id));
        }
        self.device_owns[id as usize] = false;
        self.free.push(id as u16);
        Ok(id as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_legacy_formula() {
        // QEMU's 256-entry queues: 4 KiB of descriptors, the avail ring right
        // after, the used ring on the third page.
        assert_eq!(Layout::new(256), Layout { desc: 0, avail: 4096, used: 8192, end: 8192 + 6 + 2048 });
        assert_eq!(Layout::new(8), Layout { desc: 0, avail: 128, used: 4096, end: 4096 + 70 });
        // 16 * n + 6 + 2n crosses a page exactly at 228 entries: 4104 bytes.
        assert_eq!(Layout::new(128).used, 4096);
        assert_eq!(Layout::new(1024).used, 16384 + 4096);
        assert_eq!(Layout::new(1).avail, 16);
    }

    #[test]
    fn post_and_complete_in_order() {
        let mut q = Virtq::new(4);
        assert_eq!(q.free(), 4);
        assert_eq!([q.post(), q.post(), q.post(), q.post()], [Some((0, 0)), Some((1, 1)), Some((2, 2)), Some((3, 3))]);
        assert_eq!(q.post(), None, "all four descriptors are the device's");
        assert_eq!(q.avail_idx(), 4);
        assert_eq!(q.used_slot(0), None);
        assert_eq!(q.used_slot(2), Some(0));
        assert_eq!(q.complete(0), Ok(0));
        assert_eq!(q.used_slot(2), Some(1));
        assert_eq!(q.complete(1), Ok(1));
        assert_eq!(q.used_slot(2), None);
        // Freed ids come back, last freed first; slots keep going round.
        assert_eq!(q.post(), Some((0, 1)));
        assert_eq!(q.post(), Some((1, 0)));
        assert_eq!(q.free(), 0);
    }

    #[test]
    fn out_of_order_completion_and_index_wrap() {
        let mut q = Virtq::new(8);
        // Run the indexes up to the u16 wrap, completing in reverse order.
        let mut device_idx = 0u16;
        for round in 0..9000u32 {
            let posted: alloc::vec::Vec<u16> = core::iter::from_fn(|| q.post().map(|(_, id)| id)).collect();
            assert_eq!(posted.len(), 8, "round {round}");
            for &id in posted.iter().rev() {
                device_idx = device_idx.wrapping_add(1);
                assert!(q.used_slot(device_idx).is_some());
                assert_eq!(q.complete(u32::from(id)), Ok(id));
            }
            assert_eq!(q.used_slot(device_idx), None);
            assert_eq!(q.free(), 8);
        }
        assert_eq!(q.avail_idx(), (9000u32 * 8 % 65536) as u16, "the index wrapped");
    }

    #[test]
    fn device_lies_are_bounded() {
        let mut q = Virtq::new(4);
        let (_, id) = q.post().unwrap();
        // An id it never got, one out of range, one returned twice.
        assert_eq!(q.complete(3), Err(BadId(3)));
        assert_eq!(q.complete(99), Err(BadId(99)));
        assert_eq!(q.complete(u32::MAX), Err(BadId(u32::MAX)));
        assert!(!q.device_owns(u32::MAX));
        let mut q = Virtq::new(4);
        q.post();
        assert_eq!(q.complete(u32::from(id)), Ok(id));
        assert_eq!(q.complete(u32::from(id)), Err(BadId(u32::from(id))));
        assert_eq!(q.free(), 4);
        // A used idx far ahead of what we posted yields nothing to read.
        let mut q = Virtq::new(4);
        assert_eq!(q.used_slot(1), None, "nothing posted");
        q.post();
        assert_eq!(q.used_slot(1000), None, "more new entries than the ring holds");
        assert_eq!(q.used_slot(1), Some(0));
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn size_must_be_a_power_of_two() {
        let _ = Virtq::new(6);
    }
}
