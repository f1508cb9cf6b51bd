//! Descriptor-ring arithmetic: free-running producer (`tail`) and consumer
//! (`head`) counters, taken modulo the ring size only to find a slot.
//!
//! With counters that never wrap to the ring size, "empty" (`head == tail`)
//! and "full" (`tail - head == capacity`) can't be confused, and u32
//! wrapping is harmless because the size divides 2^32. Hardware that reads
//! head == tail as "empty" (e1000 and most others) can hold one less than
//! the ring size, so that is the capacity.

/// One ring's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    size: u32,
    /// Consumer: next slot to reap.
    head: u32,
    /// Producer: next slot to fill.
    tail: u32,
}

impl Ring {
    /// A ring of `size` slots; `size` must be a power of two, at least 2.
    pub const fn new(size: u32) -> Ring {
        Ring::with_counters(size, 0, 0)
    }

    /// A ring whose counters start elsewhere (for wrap-around tests, or to
    /// resume a hardware ring whose head is not zero).
    pub const fn with_counters(size: u32, head: u32, tail: u32) -> Ring {
        assert!(size.is_power_of_two() && size >= 2, "ring size must be a power of two >= 2");
        let r = Ring { size, head, tail };
        assert!(r.used() <= r.capacity(), "ring counters further apart than its capacity");
        r
    }

    pub const fn size(&self) -> u32 {
        self.size
    }

    /// Slots that can be in use at once: one less than the size.
    pub const fn capacity(&self) -> u32 {
        self.size - 1
    }

    /// Slots produced and not yet consumed.
    pub const fn used(&self) -> u32 {
        self.tail.wrapping_sub(self.head)
    }

    pub const fn free(&self) -> u32 {
        self.capacity() - self.used()
    }

    pub const fn is_empty(&self) -> bool {
        self.used() == 0
    }

    pub const fn is_full(&self) -> bool {
        self.free() == 0
    }

    /// The raw counters (head, tail).
    pub const fn counters(&self) -> (u32, u32) {
        (self.head, self.tail)
    }

    /// The slot the next [`Ring::produce`] fills; also the value for a
    /// hardware tail register ("one past the last valid descriptor").
    pub const fn tail_slot(&self) -> u32 {
        self.tail & (self.size - 1)
    }

    /// The slot the next [`Ring::consume`] reaps, if any is in use.
    pub const fn head_slot(&self) -> Option<u32> {
        if self.is_empty() {
            None
        } else {
            Some(self.head & (self.size - 1))
        }
    }

    /// Claims the next slot to fill, or `None` when full.
    pub fn produce(&mut self) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        let slot = self.tail_slot();
        self.tail = self.tail.wrapping_add(1);
        Some(slot)
    }

    /// Releases the oldest slot in use, or `None` when empty.
    pub fn consume(&mut self) -> Option<u32> {
        let slot = self.head_slot()?;
        self.head = self.head.wrapping_add(1);
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_and_drain() {
        let mut r = Ring::new(4);
        assert_eq!((r.capacity(), r.used(), r.free()), (3, 0, 3));
        assert!(r.is_empty() && r.head_slot().is_none() && r.consume().is_none());
        assert_eq!([r.produce(), r.produce(), r.produce()], [Some(0), Some(1), Some(2)]);
        assert!(r.is_full());
        assert_eq!(r.produce(), None, "hardware would read a full ring as empty");
        assert_eq!(r.tail_slot(), 3);
        assert_eq!(r.head_slot(), Some(0));
        assert_eq!(r.consume(), Some(0));
        assert_eq!(r.produce(), Some(3));
        assert_eq!(r.tail_slot(), 0);
        assert_eq!([r.consume(), r.consume(), r.consume(), r.consume()], [Some(1), Some(2), Some(3), None]);
        assert_eq!(r.counters(), (4, 4));
    }

    #[test]
    fn counters_wrap_at_u32_max() {
        let mut r = Ring::with_counters(256, u32::MAX - 1, u32::MAX - 1);
        assert_eq!(r.tail_slot(), 254);
        assert_eq!(r.produce(), Some(254));
        assert_eq!(r.produce(), Some(255));
        assert_eq!(r.produce(), Some(0)); // tail wrapped to 1
        assert_eq!(r.counters(), (u32::MAX - 1, 1));
        assert_eq!(r.used(), 3);
        assert_eq!(r.free(), 252);
        assert_eq!([r.consume(), r.consume(), r.consume()], [Some(254), Some(255), Some(0)]);
        assert!(r.is_empty());
        // Full across the wrap.
        let mut r = Ring::with_counters(8, u32::MAX - 3, u32::MAX - 3);
        let slots: Vec<u32> = core::iter::from_fn(|| r.produce()).collect();
        assert_eq!(slots, [4, 5, 6, 7, 0, 1, 2]);
        assert!(r.is_full());
        assert_eq!(r.used(), 7);
    }

    #[test]
    fn every_slot_is_used_in_turn_over_many_laps() {
        let mut r = Ring::new(16);
        let mut next_fill = 0u32;
        let mut next_reap = 0u32;
        for step in 0..10_000u32 {
            // Uneven batches so head and tail drift against each other.
            for _ in 0..(step % 5) {
                if let Some(s) = r.produce() {
                    assert_eq!(s, next_fill % 16);
                    next_fill += 1;
                }
            }
            for _ in 0..(step % 3) {
                if let Some(s) = r.consume() {
                    assert_eq!(s, next_reap % 16);
                    next_reap += 1;
                }
            }
            assert_eq!(r.used(), next_fill - next_reap);
            assert!(r.used() <= r.capacity());
        }
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn size_must_be_a_power_of_two() {
        let _ = Ring::new(12);
    }

    #[test]
    #[should_panic(expected = "capacity")]
    fn counters_must_fit() {
        let _ = Ring::with_counters(4, 0, 4);
    }
}
