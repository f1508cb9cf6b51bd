//! Hand-assembled multiboot1 kernels: flat binaries with the a.out-kludge
//! header, which QEMU's `-kernel` loads at a fixed address and enters in
//! 32-bit protected mode with paging off.

/// Header magic and the flag that puts load addresses in the header.
const MAGIC: u32 = 0x1BAD_B002;
const FLAG_AOUT_KLUDGE: u32 = 1 << 16;
/// The header's length; the code starts right after it.
pub const HEADER_LEN: u32 = 32;

/// A kernel loaded at `load` whose code (entered at its first byte) is
/// `body`, followed by `bss` zeroed bytes.
pub fn flat_kernel(load: u32, body: &[u8], bss: u32) -> Vec<u8> {
    let end = load + HEADER_LEN + body.len() as u32;
    let header = [
        MAGIC,
        FLAG_AOUT_KLUDGE,
        0u32.wrapping_sub(MAGIC.wrapping_add(FLAG_AOUT_KLUDGE)),
        load,              // header_addr
        load,              // load_addr
        end,               // load_end_addr
        end + bss,         // bss_end_addr
        load + HEADER_LEN, // entry_addr
    ];
    let mut image: Vec<u8> = header.iter().flat_map(|w| w.to_le_bytes()).collect();
    image.extend(body);
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checksums_and_addresses() {
        let k = flat_kernel(0x10_0000, &[0xf4; 5], 0x1000);
        let w = |i: usize| u32::from_le_bytes(k[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(w(0).wrapping_add(w(1)).wrapping_add(w(2)), 0);
        assert_eq!((w(4), w(5), w(6), w(7)), (0x10_0000, 0x10_0025, 0x10_1025, 0x10_0020));
        assert_eq!(k.len(), 37);
    }
}
