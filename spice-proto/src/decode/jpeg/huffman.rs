//! Huffman tables and the entropy-coded bit reader of the baseline decoder.
//!
//! A table answers most codes with one look-up of the next [`FAST_BITS`]
//! bits; when the code and its extra bits both fit there, the look-up also
//! gives the coefficient, already sign-extended. Longer codes take the
//! canonical-code walk of the JPEG spec (F.2.2.3).

use crate::decode::DecodeError;

/// Bits of the first look-up.
const FAST_BITS: u32 = 9;
const FAST_SIZE: usize = 1 << FAST_BITS;

/// A derived Huffman table (DC or AC).
#[derive(Clone)]
pub(super) struct Table {
    /// By the next 9 bits, when code and extra bits fit in them:
    /// `value << 16 | run << 8 | bits used`; otherwise 0. For a DC table
    /// the run is 0 and the value the DC difference; for AC, a value of 0
    /// is EOB (run 0) or ZRL (run 15).
    fast: [i32; FAST_SIZE],
    /// By the next 9 bits, for codes of up to 9 bits: `length << 8 | symbol`; otherwise 0.
    short: [u16; FAST_SIZE],
    /// `max_code[l]`: the largest code of length `l`, or -1.
    max_code: [i32; 17],
    /// Added to a code of length `l` gives its symbol's index in `symbols`.
    offset: [i32; 17],
    symbols: [u8; 256],
}

/// Why a DHT table is refused (libjpeg's JERR_BAD_HUFF_TABLE cases).
const BAD_TABLE: DecodeError = DecodeError::Corrupt("JPEG Huffman table");

impl Table {
    /// Derives the table from a DHT's 16 code counts and its symbols. DC
    /// symbols must be sizes (0..=15); codes must fit their lengths.
    pub(super) const fn new(counts: &[u8; 16], symbols: &[u8], dc: bool) -> Result<Table, DecodeError> {
        let mut t = Table {
            fast: [0; FAST_SIZE],
            short: [0; FAST_SIZE],
            max_code: [-1; 17],
            offset: [0; 17],
            symbols: [0; 256],
        };
        let mut total = 0;
        let mut i = 0;
        while i < 16 {
            total += counts[i] as usize;
            i += 1;
        }
        if total > 256 || symbols.len() != total {
            return Err(BAD_TABLE);
        }
        let mut p = 0; // index of the next symbol
        let mut code: i32 = 0; // next code of the current length
        let mut len = 1;
        while len <= 16 {
            let n = counts[len - 1] as i32;
            t.offset[len] = p as i32 - code;
            if n > 0 {
                t.max_code[len] = code + n - 1;
            }
            let mut j = 0;
            while j < n {
                // No code may be all ones (libjpeg's rule), so each must
                // leave room for one more of its length.
                if code + 1 >= 1 << len {
                    return Err(BAD_TABLE);
                }
                let sym = symbols[p];
                if dc && sym > 15 {
                    return Err(BAD_TABLE);
                }
                t.symbols[p] = sym;
                if len as u32 <= FAST_BITS {
                    t.fill_fast(code as usize, len as u32, sym);
                }
                code += 1;
                p += 1;
                j += 1;
            }
            code <<= 1;
            len += 1;
        }
        Ok(t)
    }

    /// Fills the look-up entries of `code` (`len` <= 9 bits) for `sym`.
    const fn fill_fast(&mut self, code: usize, len: u32, sym: u8) {
        let (run, size) = ((sym >> 4) as i32, (sym & 15) as u32);
        let spare = FAST_BITS - len;
        let first = code << spare;
        let mut i = first;
        while i < first + (1 << spare) {
            self.short[i] = ((len as u16) << 8) | sym as u16;
            if len + size <= FAST_BITS {
                let extra = (i as i32 >> (spare - size)) & ((1 << size) - 1);
                self.fast[i] = (extend(extra, size) << 16) | (run << 8) | (len + size) as i32;
            }
            i += 1;
        }
    }
}

/// The value of `size` extra bits `v` (F.2.2.1's EXTEND).
const fn extend(v: i32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}

/// A table slot: the derived standard table (what spice-server sends) or one built from a DHT.
pub(super) enum Slot {
    Standard(&'static Table),
    Built(alloc::boxed::Box<Table>),
}

impl core::ops::Deref for Slot {
    type Target = Table;
    fn deref(&self) -> &Table {
        match self {
            Slot::Standard(t) => t,
            Slot::Built(t) => t,
        }
    }
}

impl Slot {
    /// The slot for a DHT table: the prebuilt one when it is a standard table.
    pub(super) fn from_dht(counts: &[u8; 16], symbols: &[u8], dc: bool) -> Result<Slot, DecodeError> {
        for (std_dc, std_counts, std_symbols, table) in STANDARD {
            if dc == std_dc && counts == std_counts && symbols == std_symbols {
                return Ok(Slot::Standard(table));
            }
        }
        Table::new(counts, symbols, dc).map(|t| Slot::Built(alloc::boxed::Box::new(t)))
    }

    /// The standard tables (JPEG spec K.3), as libjpeg-turbo installs them
    /// in slots 0 (luma) and 1 (chroma) when a stream has no DHT: `(dc, ac)`.
    pub(super) fn defaults() -> [[Option<Slot>; 4]; 2] {
        let [(.., dc0), (.., dc1), (.., ac0), (.., ac1)] = STANDARD;
        [
            [Some(Slot::Standard(dc0)), Some(Slot::Standard(dc1)), None, None],
            [Some(Slot::Standard(ac0)), Some(Slot::Standard(ac1)), None, None],
        ]
    }
}

const DC_LUMA_COUNTS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_CHROMA_COUNTS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_SYMBOLS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_COUNTS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
#[rustfmt::skip]
const AC_LUMA_SYMBOLS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const AC_CHROMA_COUNTS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
#[rustfmt::skip]
const AC_CHROMA_SYMBOLS: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

const fn standard(counts: &[u8; 16], symbols: &[u8], dc: bool) -> Table {
    match Table::new(counts, symbols, dc) {
        Ok(t) => t,
        Err(_) => panic!("bad standard Huffman table"),
    }
}

static DC_LUMA: Table = standard(&DC_LUMA_COUNTS, &DC_SYMBOLS, true);
static DC_CHROMA: Table = standard(&DC_CHROMA_COUNTS, &DC_SYMBOLS, true);
static AC_LUMA: Table = standard(&AC_LUMA_COUNTS, &AC_LUMA_SYMBOLS, false);
static AC_CHROMA: Table = standard(&AC_CHROMA_COUNTS, &AC_CHROMA_SYMBOLS, false);

/// The standard tables: whether DC, counts, symbols and the derived table.
static STANDARD: [(bool, &[u8; 16], &[u8], &Table); 4] = [
    (true, &DC_LUMA_COUNTS, &DC_SYMBOLS, &DC_LUMA),
    (true, &DC_CHROMA_COUNTS, &DC_SYMBOLS, &DC_CHROMA),
    (false, &AC_LUMA_COUNTS, &AC_LUMA_SYMBOLS, &AC_LUMA),
    (false, &AC_CHROMA_COUNTS, &AC_CHROMA_SYMBOLS, &AC_CHROMA),
];

/// Reads the entropy-coded segment: a 64-bit buffer, next bit on top,
/// refilled eight bytes at a time while those hold no 0xFF (a stuffed
/// 0xFF 0x00 or a marker), and a byte at a time around them.
///
/// At a marker or the end of the data it goes on with zero bits, as
/// libjpeg does, but counts them: a scan that uses any is
/// [`Bits::check_not_short`]'s error.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load.
    pos: usize,
    buf: u64,
    /// Bits in `buf`, the real ones first and then `padding`.
    count: u32,
    /// Zero bits appended after the data stopped (at most 64 at a time).
    padding: u32,
    /// `pos` is at a marker (its first 0xFF).
    at_marker: bool,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Bits { data, pos, buf: 0, count: 0, padding: 0, at_marker: false }
    }

    /// Makes at least 32 bits available, enough for one code (16) and its extra bits (15).
    #[inline(always)]
    fn ensure(&mut self) {
        if self.count < 32 {
            self.refill();
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        if let Some(bytes) = self.data.get(self.pos..).and_then(|d| d.first_chunk::<8>()) {
            let word = u64::from_be_bytes(*bytes);
            // Whether some byte is 0xFF (a zero byte of !word).
            let v = !word;
            if v.wrapping_sub(0x0101_0101_0101_0101) & !v & 0x8080_8080_8080_8080 == 0 {
                let n = (63 - self.count) / 8;
                let keep = !(u64::MAX >> (8 * n));
                self.buf |= (word & keep) >> self.count;
                self.count += 8 * n;
                self.pos += n as usize;
                return;
            }
        }
        self.refill_slow();
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.count <= 56 {
            let byte = match self.next_byte() {
                Some(b) => b,
                None => {
                    self.padding += 8;
                    0
                }
            };
            self.buf |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next data byte, unstuffed, or None at a marker or the end.
    fn next_byte(&mut self) -> Option<u8> {
        if self.at_marker {
            return None;
        }
        let &b = self.data.get(self.pos)?;
        if b != 0xff {
            self.pos += 1;
            return Some(b);
        }
        // 0xFF 0x00 is a data 0xFF; fill 0xFFs may come before either.
        let mut p = self.pos + 1;
        while self.data.get(p) == Some(&0xff) {
            p += 1;
        }
        if self.data.get(p) == Some(&0) {
            self.pos = p + 1;
            Some(0xff)
        } else {
            self.at_marker = true;
            None
        }
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> usize {
        (self.buf >> (64 - n)) as usize
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.count -= n;
    }

    /// `size` extra bits (at most 15, after [`Bits::ensure`]), sign-extended.
    #[inline(always)]
    fn receive(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.peek(size) as i32;
        self.consume(size);
        extend(v, size)
    }

    /// Decodes a symbol whose code is longer than 9 bits (or is no code).
    #[cold]
    fn long_symbol(&mut self, t: &Table) -> Result<u8, DecodeError> {
        for len in FAST_BITS + 1..=16 {
            let code = self.peek(len) as i32;
            let max = t.max_code[len as usize];
            if code <= max {
                self.consume(len);
                let at = usize::try_from(code + t.offset[len as usize]).map_err(|_| BAD_CODE)?;
                return t.symbols.get(at).copied().ok_or(BAD_CODE);
            }
        }
        Err(BAD_CODE)
    }

    /// `(run, value)` of the next coefficient; value 0 is EOB (run 0) or
    /// ZRL (run 15). For DC the run is 0.
    #[inline(always)]
    fn coefficient(&mut self, t: &Table) -> Result<(usize, i32), DecodeError> {
        self.ensure();
        let i = self.peek(FAST_BITS);
        let e = t.fast[i];
        if e != 0 {
            self.consume((e & 0xff) as u32);
            return Ok((((e >> 8) & 0xff) as usize, e >> 16));
        }
        let s = t.short[i];
        let sym = if s != 0 {
            self.consume(u32::from(s >> 8));
            s as u8
        } else {
            self.long_symbol(t)?
        };
        Ok((usize::from(sym >> 4), self.receive(u32::from(sym & 15))))
    }

    /// Decodes one block's coefficients, dequantised with `quant` (natural
    /// order), into `block` (all zero on entry); `pred` is the component's
    /// DC predictor. Returns which AC coefficients were set: bit `i` for
    /// natural position `i` (0 when the block is DC only).
    #[inline(always)]
    pub(super) fn block(
        &mut self,
        dc: &Table,
        ac: &Table,
        quant: &[i32; 64],
        pred: &mut i32,
        block: &mut [i32; 64],
    ) -> Result<u64, DecodeError> {
        let (_, diff) = self.coefficient(dc)?;
        // libjpeg keeps the predictor in an int and the coefficient in a JCOEF (i16).
        *pred = pred.wrapping_add(diff);
        block[0] = i32::from(*pred as i16) * quant[0];
        let mut set = 0;
        let mut k = 1;
        while k < 64 {
            let (run, value) = self.coefficient(ac)?;
            if value != 0 {
                k += run;
                // k <= 78: the table's tail sends overlong runs to 63, as libjpeg's does.
                let z = usize::from(NATURAL[k]) & 63;
                block[z] = value * quant[z];
                set |= 1 << z;
                k += 1;
            } else if run == 15 {
                k += 16;
            } else {
                break;
            }
        }
        Ok(set)
    }

    /// After a run of MCUs: an error if they used bits past the end of the data.
    pub(super) fn check_not_short(&self, len: usize) -> Result<(), DecodeError> {
        if self.padding > self.count {
            return Err(DecodeError::Truncated { what: "JPEG scan", need: len + 1, have: len });
        }
        Ok(())
    }

    /// Handles restart marker RST`n`: drops the buffered bits, skips to the
    /// next marker (libjpeg skips stray bytes too) and checks that it is RST`n`.
    pub(super) fn restart(&mut self, n: u8) -> Result<(), DecodeError> {
        self.check_not_short(self.data.len())?;
        self.buf = 0;
        self.count = 0;
        self.padding = 0;
        self.at_marker = false;
        loop {
            let ff = self.data.get(self.pos..).and_then(|d| d.iter().position(|&b| b == 0xff));
            let Some(ff) = ff else { return Err(DecodeError::Corrupt("JPEG restart marker missing")) };
            let mut p = self.pos + ff + 1;
            while self.data.get(p) == Some(&0xff) {
                p += 1;
            }
            match self.data.get(p) {
                Some(0) => self.pos = p + 1,
                Some(&m) if m == 0xd0 + n => {
                    self.pos = p + 1;
                    return Ok(());
                }
                _ => return Err(DecodeError::Corrupt("JPEG restart marker missing")),
            }
        }
    }
}

const BAD_CODE: DecodeError = DecodeError::Corrupt("JPEG Huffman data");

/// The natural (row-major) position of each zig-zag index, plus 16 entries
/// of 63 for runs that overshoot the block.
pub(super) const NATURAL: [u8; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tables_are_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Table::new(&counts, &[0, 1, 2], false).is_err());
        counts[0] = 2; // both 1-bit codes: one is all ones
        assert!(Table::new(&counts, &[0, 1], false).is_err());
        counts[0] = 1;
        assert!(Table::new(&counts, &[0x21], false).is_ok());
        assert!(Table::new(&counts, &[0x21], true).is_err(), "DC symbols are sizes");
        assert!(Table::new(&counts, &[], false).is_err(), "fewer symbols than codes");
        // Three 2-bit codes leave 128 of 9 bits, the last all ones: 128
        // would reach it (and, unchecked, run past the look-up), 127 fit.
        let mut nine = [0u8; 16];
        (nine[1], nine[8]) = (3, 128);
        assert!(Table::new(&nine, &[1; 131], false).is_err());
        nine[8] = 129;
        assert!(Table::new(&nine, &[1; 132], false).is_err());
        nine[8] = 127;
        assert!(Table::new(&nine, &[1; 130], false).is_ok());
    }

    /// Every code of a table, independently: (code, length, symbol).
    fn codes(counts: &[u8; 16], symbols: &[u8]) -> Vec<(u32, u32, u8)> {
        let (mut v, mut code, mut p) = (Vec::new(), 0u32, 0);
        for len in 1..=16 {
            for _ in 0..counts[len as usize - 1] {
                v.push((code, len, symbols[p]));
                code += 1;
                p += 1;
            }
            code <<= 1;
        }
        v
    }

    #[test]
    fn look_ups_agree_with_the_canonical_codes() {
        for (dc, counts, symbols, table) in STANDARD {
            let codes = codes(counts, symbols);
            for bits in 0..=u16::MAX {
                let data = [(bits >> 8) as u8, bits as u8, 0x5a, 0xa5, 0x5a, 0xa5, 0x5a, 0xa5, 0x5a, 0xa5];
                if data.contains(&0xff) {
                    continue;
                }
                let mut r = Bits::new(&data, 0);
                let got = r.coefficient(table);
                let prefix = u32::from(bits);
                let Some(&(_, len, sym)) = codes.iter().find(|&&(c, l, _)| prefix >> (16 - l) == c) else {
                    assert!(got.is_err(), "{bits:#06x}");
                    continue;
                };
                // The extra bits follow the code in the 32-bit window.
                let window = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                let size = u32::from(sym & 15);
                let extra = if size == 0 { 0 } else { (window << len) >> (32 - size) };
                let want = (usize::from(sym >> 4) * usize::from(!dc), extend(extra as i32, size));
                assert_eq!(got.unwrap(), want, "{bits:#06x}");
                assert_eq!(56 - r.count, len + size, "{bits:#06x}: bits used (7 bytes loaded)");
            }
        }
    }
}
