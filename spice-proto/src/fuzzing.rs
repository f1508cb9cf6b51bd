//! Entry points shared by the fuzz targets (`fuzz/`) and the stable test
//! that replays their corpus (`tests/fuzz_corpus.rs`). Each takes arbitrary
//! bytes and must never panic.

use crate::consts::ChannelType;
use crate::framing::MessageReader;
use crate::msg::ServerMessage;
use crate::wire::header::HeaderKind;

/// The first byte picks a channel; the rest is a mini-header stream whose
/// messages go through the typed parsers.
pub fn messages(data: &[u8]) {
    let Some((&ch, mut rest)) = data.split_first() else { return };
    let channel = ChannelType::from(ch % 7 + 1);
    let mut reader = MessageReader::new(HeaderKind::Mini).with_max_size(1 << 20);
    while let Ok(Some(frame)) = reader.feed(&mut rest) {
        for m in frame.messages() {
            let _ = ServerMessage::parse(channel, m.msg_type, m.body);
        }
    }
}

/// LZ4 image payloads: the first four bytes are the descriptor's width and
/// height (u16 LE each), the rest is the payload.
pub fn lz4(data: &[u8]) {
    let Some((dims, payload)) = data.split_first_chunk::<4>() else { return };
    let (w, h) = (u16::from_le_bytes([dims[0], dims[1]]), u16::from_le_bytes([dims[2], dims[3]]));
    let limits = crate::decode::Limits { max_pixels: 1 << 20, max_side: 4096 };
    if let Ok(p) = crate::decode::lz4::decode(payload, w.into(), h.into(), &limits) {
        assert_eq!(p.data.len(), usize::from(w) * usize::from(h));
    }
}

/// JPEG payloads, as JPEG and as the colour half of JPEG_ALPHA with an
/// all-opaque alpha plane made to fit.
pub fn jpeg(data: &[u8]) {
    let limits = crate::decode::Limits { max_pixels: 1 << 20, max_side: 4096 };
    if let Ok(p) = crate::decode::jpeg::decode(data, &limits) {
        assert_eq!(p.data.len() as u64, u64::from(p.width) * u64::from(p.height));
        if p.data.len() <= 4096 {
            // A top-down XXXA LZ stream of literal runs of 0xff.
            let mut alpha = alloc::vec::Vec::new();
            let header = [crate::decode::lz::MAGIC, crate::decode::lz::VERSION, 10, p.width, p.height, p.width * 4, 1];
            for v in header {
                alpha.extend_from_slice(&v.to_be_bytes());
            }
            for run in (0..p.data.len()).step_by(32) {
                let n = (p.data.len() - run).min(32);
                alpha.push(n as u8 - 1);
                alpha.extend(core::iter::repeat_n(0xff, n));
            }
            let with_alpha = crate::decode::jpeg::decode_alpha(data, &alpha, 1, &limits).unwrap();
            assert!(with_alpha.data.iter().zip(&p.data).all(|(a, c)| *a == *c | 0xff00_0000));
        }
    }
}

/// LZ payloads: the first byte is the number of palette entries (0: none),
/// the rest is an LZ_RGB or LZ_PLT payload.
pub fn lz(data: &[u8]) {
    let Some((&entries, payload)) = data.split_first() else { return };
    let palette: alloc::vec::Vec<u32> = (0..u32::from(entries)).map(|i| i.wrapping_mul(0x0012_3457)).collect();
    let limits = crate::decode::Limits { max_pixels: 1 << 20, max_side: 4096 };
    let palette = if entries == 0 { None } else { Some(&palette[..]) };
    if let Ok(p) = crate::decode::lz::decode(payload, palette, &limits) {
        assert_eq!(p.data.len() as u64, u64::from(p.width) * u64::from(p.height));
    }
}

/// A chain of images through one GLZ dictionary (window: first byte ×
/// 4096 pixels). Each image is a kind byte (0: GLZ, 1: ZLIB_GLZ with a u32
/// LE glz_data_size first, else LZ), a u16 LE length and the payload.
pub fn glz(data: &[u8]) {
    let Some((&window, mut rest)) = data.split_first() else { return };
    let limits = crate::decode::Limits { max_pixels: 1 << 20, max_side: 4096 };
    let mut dict = crate::decode::glz::Dictionary::new(u32::from(window) * 4096);
    while let Some((head, tail)) = rest.split_first_chunk::<3>() {
        let len = usize::from(u16::from_le_bytes([head[1], head[2]])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        let result = match head[0] {
            0 => dict.decode(payload, &limits),
            1 => {
                let Some((size, z)) = payload.split_first_chunk::<4>() else { continue };
                dict.decode_zlib(u32::from_le_bytes(*size), z, &limits)
            }
            _ => crate::decode::lz::decode(payload, None, &limits),
        };
        if let Ok(p) = result {
            assert_eq!(p.data.len() as u64, u64::from(p.width) * u64::from(p.height));
        }
        assert!(dict.retained_pixels() <= u64::from(dict.window_pixels()));
    }
}

/// A QUIC payload: decodes it under small limits (so a fuzzer explores the
/// coder, not the allocator), and checks the result's shape.
pub fn quic(data: &[u8]) {
    use crate::decode::{quic, Limits};
    let limits = Limits { max_pixels: 1 << 20, max_side: 4096 };
    if let Ok(p) = quic::decode(data, &limits) {
        assert_eq!(p.data.len(), p.width as usize * p.height as usize);
        let hdr = quic::header(data).expect("a decoded image has a valid header");
        assert_eq!((hdr.width, hdr.height), (p.width, p.height));
    }
}
