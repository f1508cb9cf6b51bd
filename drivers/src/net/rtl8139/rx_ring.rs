//! The RTL8139's receive ring, as pure arithmetic.
//!
//! The device writes frames back to back into one byte ring: a 4-byte
//! header (status, then length including the 4-byte CRC), the frame, its
//! CRC, padded to 4 bytes. Its write offset is CBR; we tell it how far we
//! have read through CAPR, which holds our read offset minus 16. Offsets
//! here are byte offsets into a ring whose size is a power of two (8 to
//! 64 KiB); a record may run past the end and continue at offset 0.

use crate::net::{MAX_FRAME, MIN_FRAME};

/// The per-frame header: status (low half) and length (high half).
pub const HEADER: u32 = 4;
/// The Ethernet CRC the device stores after each frame, counted in the header's length.
pub const CRC: u32 = 4;
/// The length the device writes while early receive is still copying a frame in.
pub const LEN_IN_PROGRESS: u16 = 0xfff0;

/// Header status: received OK.
pub const ROK: u16 = 1 << 0;
/// Header status: frame alignment, CRC, long, runt and invalid-symbol errors.
pub const ERRORS: u16 = 0x3e;

/// What the header at our read offset says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Nothing to read yet (or the device is still copying the next frame in).
    Empty,
    /// A good frame of `len` bytes (CRC excluded) right after the header.
    Frame { len: u32 },
    /// A frame the device flagged as bad: skip it.
    Flagged,
    /// A frame shorter than an Ethernet header or longer than we take: skip it.
    BadLength,
    /// A header that can't be true (longer than what the device has written,
    /// neither OK nor flagged): our place in the ring is lost.
    Corrupt,
}

/// Bytes the device has written that we have not read yet.
pub fn unread(read: u32, write: u32, ring: u32) -> u32 {
    write.wrapping_sub(read) & (ring - 1)
}

/// Where the record after the one at `off` starts: past its header and
/// `len` bytes (CRC included), rounded up to 4.
pub fn next_offset(off: u32, len: u16, ring: u32) -> u32 {
    (off + HEADER + u32::from(len) + 3) & !3 & (ring - 1)
}

/// The CAPR value that says we have read up to `off`.
pub fn capr(off: u32) -> u16 {
    (off as u16).wrapping_sub(16)
}

/// `len` bytes from `off` as (offset, length) runs inside the ring: the
/// second run is empty unless the bytes cross the end.
pub fn runs(off: u32, len: u32, ring: u32) -> [(u32, u32); 2] {
    let off = off & (ring - 1);
    let first = len.min(ring - off);
    [(off, first), (0, len - first)]
}

/// Judges the header `header` found with `unread` bytes written; frames
/// longer than `max` (or [`MAX_FRAME`]) are [`Record::BadLength`].
pub fn classify(header: u32, unread: u32, max: usize) -> Record {
    let status = header as u16;
    let len = (header >> 16) as u16;
    if unread == 0 || len == LEN_IN_PROGRESS {
        return Record::Empty;
    }
    let len = u32::from(len);
    if len < CRC || HEADER + len > unread {
        return Record::Corrupt;
    }
    if status & ERRORS != 0 {
        return Record::Flagged;
    }
    if status & ROK == 0 {
        return Record::Corrupt;
    }
    let frame = len - CRC;
    if (MIN_FRAME..=max.min(MAX_FRAME)).contains(&(frame as usize)) {
        Record::Frame { len: frame }
    } else {
        Record::BadLength
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: u32 = 64 << 10;

    fn header(status: u16, len: u16) -> u32 {
        u32::from(status) | u32::from(len) << 16
    }

    #[test]
    fn records_are_four_byte_aligned_and_wrap() {
        // 60-byte frame + CRC = 64; with the header 68, already aligned.
        assert_eq!(next_offset(0, 64, RING), 68);
        // 1514 + 4 = 1518; 4 + 1518 = 1522, rounded to 1524.
        assert_eq!(next_offset(68, 1518, RING), 68 + 1524);
        // Odd lengths round up.
        assert_eq!(next_offset(0, 65, RING), 72);
        assert_eq!(next_offset(0, 67, RING), 72);
        // A record that runs over the end continues at the start.
        assert_eq!(next_offset(RING - 8, 1518, RING), 1516);
        assert_eq!(next_offset(8192 - 68, 64, 8192), 0);
    }

    #[test]
    fn capr_trails_the_read_offset_by_16() {
        assert_eq!(capr(0), 0xfff0);
        assert_eq!(capr(16), 0);
        assert_eq!(capr(1524), 1508);
        assert_eq!(capr(RING - 4), 0xffec);
        // What the device adds back, modulo each ring size, is our offset.
        for ring in [8192u32, 16384, 32768, 65536] {
            for off in [0, 4, 16, ring / 2, ring - 4] {
                assert_eq!((u32::from(capr(off)) + 16) & (ring - 1), off, "ring {ring} offset {off}");
            }
        }
    }

    #[test]
    fn unread_counts_across_the_end() {
        assert_eq!(unread(0, 0, RING), 0);
        assert_eq!(unread(100, 1624, RING), 1524);
        assert_eq!(unread(RING - 8, 1516, RING), 1524);
        assert_eq!(unread(8000, 100, 8192), 292);
    }

    #[test]
    fn runs_split_at_the_end() {
        assert_eq!(runs(4, 60, RING), [(4, 60), (0, 0)]);
        assert_eq!(runs(RING - 10, 60, RING), [(RING - 10, 10), (0, 50)]);
        assert_eq!(runs(RING, 60, RING), [(0, 60), (0, 0)], "an offset at the end is the start");
        assert_eq!(runs(RING - 60, 60, RING), [(RING - 60, 60), (0, 0)]);
    }

    #[test]
    fn headers_are_judged() {
        let ok = |len| classify(header(ROK | 0x4000, len), RING - 4, MAX_FRAME);
        assert_eq!(ok(64), Record::Frame { len: 60 });
        assert_eq!(ok(1522), Record::Frame { len: 1518 });
        assert_eq!(ok(MIN_FRAME as u16 + 4), Record::Frame { len: 14 });
        assert_eq!(ok(MIN_FRAME as u16 + 3), Record::BadLength);
        assert_eq!(ok(1523), Record::BadLength);
        assert_eq!(ok(3), Record::Corrupt, "shorter than its CRC");
        assert_eq!(ok(0), Record::Corrupt);
        // The caller's buffer bounds what we take.
        assert_eq!(classify(header(ROK, 104), 200, 99), Record::BadLength);
        assert_eq!(classify(header(ROK, 104), 200, 100), Record::Frame { len: 100 });
        // Longer than what the device wrote: not a real header.
        assert_eq!(classify(header(ROK, 104), 107, MAX_FRAME), Record::Corrupt);
        assert_eq!(classify(header(ROK, 104), 108, MAX_FRAME), Record::Frame { len: 100 });
        assert_eq!(classify(header(ROK, 0xfff0 - 1), RING - 4, MAX_FRAME), Record::BadLength);
        // Error bits, each alone.
        for bit in [0x02, 0x04, 0x08, 0x10, 0x20] {
            assert_eq!(classify(header(bit, 64), 68, MAX_FRAME), Record::Flagged, "bit {bit:#x}");
            assert_eq!(classify(header(ROK | bit, 64), 68, MAX_FRAME), Record::Flagged, "bit {bit:#x} with ROK");
        }
        // Neither OK nor an error: garbage.
        assert_eq!(classify(header(0x8000, 64), 68, MAX_FRAME), Record::Corrupt);
        assert_eq!(classify(0, 68, MAX_FRAME), Record::Corrupt);
        // Nothing written, or early receive still copying.
        assert_eq!(classify(header(ROK, 64), 0, MAX_FRAME), Record::Empty);
        assert_eq!(classify(header(0, LEN_IN_PROGRESS), 68, MAX_FRAME), Record::Empty);
    }
}
