//! The TCP test mode's shared pieces: the byte pattern both ends send, the
//! checksum both ends compute (FNV-1a, 64-bit), and a rate for the log.
//! The QEMU tests use these very functions on the host side.

use core::fmt;

/// Byte `i` of the test stream: a multiplicative hash of the position, so
/// a dropped, duplicated or reordered segment changes the checksum.
pub fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 ^ (i as u8)
}

/// Fills `buf` with the stream's bytes from position `offset` on.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern_byte(offset + k as u64);
    }
}

/// FNV-1a, 64-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub const fn new() -> Self {
        Self(Self::OFFSET)
    }
    pub fn update(&mut self, data: &[u8]) {
        let mut h = self.0;
        for &b in data {
            h = (h ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self.0 = h;
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// Bytes over microseconds, shown as Mbit/s with one decimal (`12.3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub bytes: u64,
    pub micros: u64,
}

impl Rate {
    /// Tenths of a Mbit/s (bits per microsecond is Mbit/s).
    pub fn tenths_mbit(&self) -> u64 {
        let tenths = u128::from(self.bytes) * 80 / u128::from(self.micros.max(1));
        u64::try_from(tenths).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.tenths_mbit();
        write!(f, "{}.{} Mbit/s", t / 10, t % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_vectors() {
        let h = |s: &[u8]| {
            let mut f = Fnv1a64::new();
            f.update(s);
            f.finish()
        };
        assert_eq!(h(b""), 0xcbf29ce484222325);
        assert_eq!(h(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(h(b"foobar"), 0x85944171f73967e8);
        // Split anywhere, same sum.
        let mut f = Fnv1a64::new();
        f.update(b"foo");
        f.update(b"bar");
        assert_eq!(f.finish(), h(b"foobar"));
    }

    #[test]
    fn pattern_is_position_dependent() {
        let mut a = [0u8; 4096];
        fill_pattern(0, &mut a);
        let mut b = [0u8; 1000];
        fill_pattern(1234, &mut b);
        assert_eq!(&a[1234..2234], &b[..]);
        // Not periodic over 256 or 4096, and every byte value shows up.
        assert_ne!(a[..256], a[256..512]);
        let mut seen = [false; 256];
        a.iter().for_each(|&x| seen[x as usize] = true);
        assert!(seen.iter().all(|&s| s));
        // A swapped pair of segments changes the sum.
        let mut f = Fnv1a64::new();
        f.update(&a[1460..2920]);
        f.update(&a[..1460]);
        let mut g = Fnv1a64::new();
        g.update(&a[..2920]);
        assert_ne!(f.finish(), g.finish());
    }

    #[test]
    fn rates() {
        assert_eq!(Rate { bytes: 16 << 20, micros: 2_000_000 }.to_string(), "67.1 Mbit/s");
        assert_eq!(Rate { bytes: 125_000, micros: 1_000_000 }.to_string(), "1.0 Mbit/s");
        assert_eq!(Rate { bytes: 5, micros: 0 }.to_string(), "40.0 Mbit/s");
        assert_eq!(Rate { bytes: u64::MAX, micros: 1 }.tenths_mbit(), u64::MAX);
    }
}
