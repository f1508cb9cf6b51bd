//! LZ4: lz4-anim's LZ4 strips, skipping the blank first screen (seq 0), as
//! PERF-ANCHORS.md measured spice-gtk.

use std::path::Path;

use spice_proto::decode::{lz4, Limits, Pixels};

use super::{index, Case};

pub fn cases(vectors: &Path) -> Vec<Case> {
    let dir = vectors.join("lz4-anim");
    if !dir.is_dir() {
        return Vec::new();
    }
    let images: Vec<_> = index(&dir).into_iter().skip(1).filter(|i| i.kind == "LZ4").collect();
    let data: Vec<(Vec<u8>, u32, u32)> =
        images.iter().map(|i| (std::fs::read(&i.file).unwrap(), i.width, i.height)).collect();
    let limits = Limits::default();
    let flex_data = data.clone();
    let flex = Case {
        codec: "LZ4",
        vectors: "the same, lz4_flex 0.14 safe-decode",
        images: images.clone(),
        pass: Box::new(move |out| {
            for (d, w, h) in &flex_data {
                out.add(&lz4_flex_decode(d, *w, *h));
            }
        }),
    };
    vec![
        Case {
            codec: "LZ4",
            vectors: "lz4-anim, strips only (skip seq 0)",
            images,
            pass: Box::new(move |out| {
                for (d, w, h) in &data {
                    out.add(&lz4::decode(d, *w, *h, &limits).unwrap());
                }
            }),
        },
        flex,
    ]
}

/// An LZ4 payload (32-bit, top-down) decoded by lz4_flex's safe decoder,
/// each block given everything before it as the dictionary, straight into
/// the output words.
fn lz4_flex_decode(data: &[u8], width: u32, height: u32) -> Pixels {
    assert_eq!(&data[..2], &[1, 8], "lz4_flex row: only top-down 32-bit images");
    let mut words = vec![0u32; (width * height) as usize];
    let out: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    let (mut pos, mut blocks) = (0, &data[2..]);
    while let Some((len, rest)) = blocks.split_first_chunk::<4>() {
        let (block, rest) = rest.split_at(u32::from_be_bytes(*len) as usize);
        let (dict, free) = out.split_at_mut(pos);
        pos += lz4_flex::block::decompress_into_with_dict(block, free, &dict[pos.saturating_sub(1 << 16)..])
            .expect("lz4_flex decodes the vector");
        blocks = rest;
    }
    assert_eq!(pos, out.len(), "lz4_flex row: image not filled");
    Pixels { width, height, has_alpha: false, data: words }
}
