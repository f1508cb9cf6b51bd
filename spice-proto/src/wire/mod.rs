//! Zero-copy wire views and typed representations.
//!
//! Every view follows smoltcp's rule: `View::new_unchecked` wraps any buffer,
//! `View::new_checked` (= `new_unchecked` + `check_len`) validates that every
//! field, including the variable parts its header fields point to, lies
//! inside the buffer, after which no accessor can panic. `Repr::parse` reads
//! a checked view into a plain value and `Repr::emit` writes one back.

use core::fmt;

pub mod header;
pub mod link;

/// An error found while parsing or emitting a wire structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the structure needs.
    Truncated {
        /// Structure being read or written.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The link header magic is not `REDQ`.
    BadMagic(u32),
    /// The peer speaks another protocol major version.
    BadVersion {
        /// Major version received.
        major: u32,
        /// Minor version received.
        minor: u32,
    },
    /// A declared size exceeds what this crate accepts.
    TooLarge {
        /// Structure whose size is declared.
        what: &'static str,
        /// Declared size.
        size: u64,
        /// Largest accepted size.
        max: u64,
    },
    /// More capability words than [`MAX_CAP_WORDS`].
    TooManyCaps {
        /// Declared count.
        count: u32,
    },
    /// An offset points outside its buffer or into the fixed part.
    BadOffset {
        /// Structure holding the offset.
        what: &'static str,
        /// The offset.
        offset: u64,
        /// Length of the buffer it indexes.
        len: usize,
    },
    /// A capability bit beyond what [`Caps`] can hold.
    CapOutOfRange(u32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { what, need, have } => write!(f, "{what}: truncated ({have} of {need} bytes)"),
            Error::BadMagic(m) => write!(f, "link header: bad magic {m:#010x} (expected REDQ)"),
            Error::BadVersion { major, minor } => {
                write!(f, "link header: unsupported protocol version {major}.{minor}")
            }
            Error::TooLarge { what, size, max } => write!(f, "{what}: size {size} exceeds limit {max}"),
            Error::TooManyCaps { count } => {
                write!(f, "link message: {count} capability words (limit {MAX_CAP_WORDS})")
            }
            Error::BadOffset { what, offset, len } => write!(f, "{what}: offset {offset} outside {len}-byte buffer"),
            Error::CapOutOfRange(bit) => write!(f, "capability bit {bit} out of range"),
        }
    }
}

/// Result of wire parsing.
pub type Result<T> = core::result::Result<T, Error>;

/// Most capability words per class (common / channel) a link message may
/// carry. spice-protocol defines fewer than 32 bits per class, so real peers
/// send one word; anything above this limit is rejected as absurd.
pub const MAX_CAP_WORDS: usize = 16;

/// A capability set: up to [`MAX_CAP_WORDS`] little-endian `u32` words, bit
/// `n` in word `n / 32`. Fixed size, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    words: [u32; MAX_CAP_WORDS],
    len: u8,
}

impl Caps {
    /// The empty set (zero words).
    pub const fn new() -> Self {
        Caps { words: [0; MAX_CAP_WORDS], len: 0 }
    }

    /// A set with the given bits; bits beyond the capacity are an error.
    pub fn from_bits(bits: &[u32]) -> Result<Self> {
        let mut caps = Caps::new();
        for &bit in bits {
            caps.set(bit)?;
        }
        Ok(caps)
    }

    /// A set with the given words (at most [`MAX_CAP_WORDS`]).
    pub fn from_words(words: &[u32]) -> Result<Self> {
        if words.len() > MAX_CAP_WORDS {
            return Err(Error::TooManyCaps { count: u32::try_from(words.len()).unwrap_or(u32::MAX) });
        }
        let mut caps = Caps::new();
        caps.words[..words.len()].copy_from_slice(words);
        caps.len = words.len() as u8;
        Ok(caps)
    }

    /// Sets bit `bit`, growing the word count as needed.
    pub fn set(&mut self, bit: u32) -> Result<()> {
        let word = (bit / 32) as usize;
        if word >= MAX_CAP_WORDS {
            return Err(Error::CapOutOfRange(bit));
        }
        self.words[word] |= 1 << (bit % 32);
        if word >= usize::from(self.len) {
            self.len = (word + 1) as u8;
        }
        Ok(())
    }

    /// Whether bit `bit` is set.
    pub fn has(&self, bit: u32) -> bool {
        let word = (bit / 32) as usize;
        word < usize::from(self.len) && self.words[word] & (1 << (bit % 32)) != 0
    }

    /// The words, as sent on the wire.
    pub fn words(&self) -> &[u32] {
        &self.words[..usize::from(self.len)]
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Caps[")?;
        for (i, w) in self.words().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{w:#x}")?;
        }
        f.write_str("]")
    }
}

// Little-endian field helpers. Callers index only inside checked lengths.
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// `Err(Truncated)` unless `have >= need`.
pub(crate) fn need(what: &'static str, need: usize, have: usize) -> Result<()> {
    if have < need {
        Err(Error::Truncated { what, need, have })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_bits() {
        let mut c = Caps::from_bits(&[0, 3, 33]).unwrap();
        assert_eq!(c.words(), &[0b1001, 0b10]);
        assert!(c.has(3) && c.has(33) && !c.has(1) && !c.has(1000));
        assert_eq!(c.set(32 * MAX_CAP_WORDS as u32), Err(Error::CapOutOfRange(512)));
        assert!(Caps::from_words(&[0; MAX_CAP_WORDS + 1]).is_err());
        assert!(Caps::new().is_empty());
    }
}
