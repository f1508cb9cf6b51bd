//! A small inflater for the tiny zlib streams ZLIB_GLZ usually carries (a
//! few hundred bytes, one dynamic block). Setting one up costs little: the
//! Huffman tables are a 512-entry lookup for codes up to nine bits, filled
//! only as far as the code needs, with the canonical `count`/`symbol` arrays
//! for longer codes; miniz_oxide spends most of such a stream building its
//! 1024-entry tables. Larger streams still go to miniz_oxide.

use alloc::vec::Vec;

use crate::decode::DecodeError;

/// Streams at most this long (compressed) are inflated here.
pub const MAX_INPUT: usize = 4096;

#[cold]
fn corrupt(why: &'static str) -> DecodeError {
    DecodeError::Corrupt(why)
}

#[cold]
fn truncated(need: usize, have: usize) -> DecodeError {
    DecodeError::Truncated { what: "zlib stream", need, have }
}

/// Input bits, least significant first, buffered in a u64.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    cnt: u32,
}

impl Bits<'_> {
    /// Tops the buffer up to at least 56 bits while input lasts. Eight bytes
    /// at a time when they are there: the bits above `cnt` are then the next
    /// input bytes already, and OR-ing them in again later changes nothing.
    #[inline(always)]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.pos..).and_then(|d| d.first_chunk::<8>()) {
            self.buf |= u64::from_le_bytes(*word) << self.cnt;
            let take = (63 - self.cnt) / 8;
            self.pos += take as usize;
            self.cnt += take * 8;
            return;
        }
        while self.cnt <= 56 {
            let Some(&b) = self.data.get(self.pos) else { return };
            self.buf |= u64::from(b) << self.cnt;
            self.pos += 1;
            self.cnt += 8;
        }
    }

    /// `n` (at most 16) bits, least significant first.
    #[inline(always)]
    fn bits(&mut self, n: u32) -> Result<u32, DecodeError> {
        if self.cnt < n {
            self.refill();
            if self.cnt < n {
                return Err(truncated(self.pos + 1, self.data.len()));
            }
        }
        let v = (self.buf & ((1u64 << n) - 1)) as u32;
        self.buf >>= n;
        self.cnt -= n;
        Ok(v)
    }

    /// Drops the bits up to the next byte boundary.
    fn align(&mut self) {
        let n = self.cnt % 8;
        self.buf >>= n;
        self.cnt -= n;
    }
}

/// Codes up to this many bits are decoded by one table lookup.
const FAST_BITS: u32 = 9;

/// A canonical Huffman code.
struct Huffman<const N: usize> {
    /// Codes per length (`count[0]`: unused symbols).
    count: [u16; 16],
    /// Symbols in code order.
    symbol: [u16; N],
    /// Indexed by the next `fast_bits` input bits: `symbol << 4 | length`
    /// for codes up to that long, 0 otherwise.
    fast: [u16; 1 << FAST_BITS],
    /// The longest code's length, at most [`FAST_BITS`].
    fast_bits: u32,
}

impl<const N: usize> Huffman<N> {
    fn empty() -> Self {
        Self { count: [0; 16], symbol: [0; N], fast: [0; 1 << FAST_BITS], fast_bits: 0 }
    }

    /// Makes this the code for `lengths`; returns how many codes are left
    /// unused (0: complete). Over-subscribed lengths are an error. Built in
    /// place: the tables are rebuilt for every block and are too big to move.
    fn build(&mut self, lengths: &[u8]) -> Result<i32, DecodeError> {
        // Four histograms, summed after: runs of equal lengths would
        // otherwise wait on the store of the same counter every step.
        let mut hist = [[0u16; 16]; 4];
        let (quads, rest) = lengths.as_chunks::<4>();
        for q in quads {
            for (h, &l) in hist.iter_mut().zip(q) {
                h[usize::from(l & 15)] += 1;
            }
        }
        for &l in rest {
            hist[0][usize::from(l & 15)] += 1;
        }
        for (len, c) in self.count.iter_mut().enumerate() {
            *c = hist.iter().map(|h| h[len]).sum();
        }
        let longest = (1..16).rev().find(|&len| self.count[len] != 0).unwrap_or(0) as u32;
        let mut left = 1i32;
        for len in 1..16 {
            left = (left << 1) - i32::from(self.count[len]);
            if left < 0 {
                return Err(corrupt("over-subscribed Huffman code"));
            }
        }
        let mut offs = [0u16; 16];
        let mut next = [0u16; 16];
        for len in 1..15 {
            offs[len + 1] = offs[len] + self.count[len];
            next[len + 1] = (next[len] + self.count[len]) << 1;
        }
        self.fast_bits = longest.min(FAST_BITS);
        let fast = &mut self.fast[..1 << self.fast_bits];
        fast.fill(0);
        for (sym, &l) in lengths.iter().enumerate() {
            if l == 0 {
                continue;
            }
            let l = usize::from(l);
            self.symbol[usize::from(offs[l])] = sym as u16;
            offs[l] += 1;
            let code = next[l];
            next[l] += 1;
            if l as u32 <= self.fast_bits {
                // Input bits arrive least significant first: index by the
                // code reversed, every slot whose low `l` bits match.
                let entry = (sym as u16) << 4 | l as u16;
                let mut at = usize::from(code.reverse_bits() >> (16 - l));
                while let Some(slot) = fast.get_mut(at) {
                    *slot = entry;
                    at += 1 << l;
                }
            }
        }
        Ok(left)
    }

    #[inline(always)]
    fn decode(&self, bits: &mut Bits<'_>) -> Result<usize, DecodeError> {
        if bits.cnt < FAST_BITS {
            bits.refill();
        }
        let mask = (1u64 << self.fast_bits) - 1;
        let entry = self.fast[(bits.buf & mask) as usize];
        let len = u32::from(entry & 15);
        if len != 0 && len <= bits.cnt {
            bits.buf >>= len;
            bits.cnt -= len;
            return Ok(usize::from(entry >> 4));
        }
        self.decode_slow(bits)
    }

    /// A bit at a time: codes longer than the table, and input running out.
    #[cold]
    fn decode_slow(&self, bits: &mut Bits<'_>) -> Result<usize, DecodeError> {
        if bits.cnt < 15 {
            bits.refill();
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            if bits.cnt == 0 {
                return Err(truncated(bits.pos + 1, bits.data.len()));
            }
            code |= (bits.buf & 1) as i32;
            bits.buf >>= 1;
            bits.cnt -= 1;
            let count = i32::from(self.count[len]);
            if code - count < first {
                let at = (index + (code - first)) as usize;
                return self.symbol.get(at).map(|&s| usize::from(s)).ok_or_else(|| corrupt("bad Huffman code"));
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(corrupt("bad Huffman code"))
    }
}

const LEN_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/// Why inflating stopped early.
pub enum Stop {
    /// The stream is bad or cut short.
    Error(DecodeError),
    /// It would inflate past `cap` bytes.
    Overflow,
}

impl From<DecodeError> for Stop {
    fn from(e: DecodeError) -> Self {
        Stop::Error(e)
    }
}

/// Inflates the zlib stream `data` onto `out` (empty), producing at most
/// `cap` bytes, and checks its Adler-32.
pub fn inflate(data: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), Stop> {
    let [cmf, flg, ..] = *data else { return Err(truncated(2, data.len()).into()) };
    if cmf & 0x0f != 8 || cmf >> 4 > 7 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 || flg & 0x20 != 0 {
        return Err(corrupt("bad zlib header").into());
    }
    let mut bits = Bits { data, pos: 2, buf: 0, cnt: 0 };
    let mut tables = Tables { lit: Huffman::empty(), dist: Huffman::empty(), lengths: Huffman::empty() };
    loop {
        let last = bits.bits(1)?;
        match bits.bits(2)? {
            0 => stored(&mut bits, out, cap)?,
            1 => {
                let mut lengths = [0u8; 288 + 30];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..288].fill(8);
                lengths[288..].fill(5);
                tables.lit.build(&lengths[..288])?;
                tables.dist.build(&lengths[288..])?;
                codes(&mut bits, out, cap, &tables.lit, &tables.dist)?;
            }
            2 => dynamic(&mut bits, out, cap, &mut tables)?,
            _ => return Err(corrupt("bad deflate block type").into()),
        }
        if last == 1 {
            break;
        }
    }
    bits.align();
    let mut adler = 0u32;
    for _ in 0..4 {
        adler = adler << 8 | bits.bits(8)?;
    }
    if adler != adler32(out) {
        return Err(corrupt("zlib checksum mismatch").into());
    }
    Ok(())
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    b << 16 | a
}

fn stored(bits: &mut Bits<'_>, out: &mut Vec<u8>, cap: usize) -> Result<(), Stop> {
    bits.align();
    let len = bits.bits(16)?;
    if bits.bits(16)? != !len & 0xffff {
        return Err(corrupt("stored block length check fails").into());
    }
    if len as usize > cap - out.len() {
        return Err(Stop::Overflow);
    }
    for _ in 0..len {
        out.push(bits.bits(8)? as u8);
    }
    Ok(())
}

/// The codes of one block.
struct Tables {
    lit: Huffman<288>,
    dist: Huffman<30>,
    /// The code-length code of a dynamic block.
    lengths: Huffman<19>,
}

fn dynamic(bits: &mut Bits<'_>, out: &mut Vec<u8>, cap: usize, t: &mut Tables) -> Result<(), Stop> {
    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return Err(corrupt("bad deflate code counts").into());
    }
    let mut cl = [0u8; 19];
    for &i in &ORDER[..ncode] {
        cl[i] = bits.bits(3)? as u8;
    }
    if t.lengths.build(&cl)? != 0 {
        return Err(corrupt("incomplete code-length code").into());
    }
    let mut lengths = [0u8; 286 + 30];
    let mut i = 0;
    while i < nlen + ndist {
        let sym = t.lengths.decode(bits)?;
        if sym < 16 {
            lengths[i] = sym as u8;
            i += 1;
            continue;
        }
        let (v, n) = match sym {
            16 if i == 0 => return Err(corrupt("repeat with no previous length").into()),
            16 => (lengths[i - 1], 3 + bits.bits(2)? as usize),
            17 => (0, 3 + bits.bits(3)? as usize),
            _ => (0, 11 + bits.bits(7)? as usize),
        };
        if n > nlen + ndist - i {
            return Err(corrupt("code lengths run past their count").into());
        }
        lengths[i..i + n].fill(v);
        i += n;
    }
    if lengths[256] == 0 {
        return Err(corrupt("no end-of-block code").into());
    }
    let left = t.lit.build(&lengths[..nlen])?;
    // An incomplete code is only allowed as a single one-bit code.
    let single = |h: &[u16; 16]| usize::from(h[0]) + usize::from(h[1]);
    if left != 0 && nlen != single(&t.lit.count) {
        return Err(corrupt("incomplete literal/length code").into());
    }
    let left = t.dist.build(&lengths[nlen..nlen + ndist])?;
    if left != 0 && ndist != single(&t.dist.count) {
        return Err(corrupt("incomplete distance code").into());
    }
    codes(bits, out, cap, &t.lit, &t.dist)
}

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    cap: usize,
    lit: &Huffman<288>,
    dist: &Huffman<30>,
) -> Result<(), Stop> {
    loop {
        let sym = lit.decode(bits)?;
        if sym < 256 {
            if out.len() == cap {
                return Err(Stop::Overflow);
            }
            out.push(sym as u8);
            continue;
        }
        if sym == 256 {
            return Ok(());
        }
        let s = sym - 257;
        let (Some(&base), Some(&extra)) = (LEN_BASE.get(s), LEN_EXTRA.get(s)) else {
            return Err(corrupt("bad deflate length code").into());
        };
        let len = usize::from(base) + bits.bits(u32::from(extra))? as usize;
        let s = dist.decode(bits)?;
        let (Some(&base), Some(&extra)) = (DIST_BASE.get(s), DIST_EXTRA.get(s)) else {
            return Err(corrupt("bad deflate distance code").into());
        };
        let d = usize::from(base) + bits.bits(u32::from(extra))? as usize;
        if d > out.len() {
            return Err(DecodeError::BadReference { distance: d as u64, available: out.len() as u64 }.into());
        }
        if len > cap - out.len() {
            return Err(Stop::Overflow);
        }
        crate::decode::lz::extend_match(out, d, len);
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use miniz_oxide::deflate::compress_to_vec_zlib;
    use miniz_oxide::inflate::decompress_to_vec_zlib;

    /// The small inflater agrees with miniz_oxide on valid streams of every
    /// block type, and on mutated ones never panics and never returns
    /// anything but miniz_oxide's output.
    #[test]
    fn matches_miniz() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..3000 {
            let len = (next() % 3000) as usize;
            let alphabet = 1 + next() % 256;
            let data: Vec<u8> = (0..len).map(|j| ((next() % alphabet) as u8).wrapping_add((j / 97) as u8)).collect();
            let mut z = compress_to_vec_zlib(&data, (i % 11) as u8);
            let mut out = Vec::new();
            assert!(super::inflate(&z, &mut out, len).is_ok());
            assert_eq!(out, data);
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % z.len();
                z[at] ^= 1 << (next() % 8);
            }
            out.clear();
            if super::inflate(&z, &mut out, 1 << 20).is_ok() {
                assert_eq!(Ok(out), decompress_to_vec_zlib(&z).map_err(|_| ()));
            }
        }
    }
}
