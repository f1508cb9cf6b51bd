//! GLZ_RGB over the whole glz-anim chain with a fresh dictionary each pass,
//! and GLZ_RGB + ZLIB_GLZ_RGB over zlib-anim through one dictionary.

use std::path::Path;

use spice_proto::decode::glz::Dictionary;
use spice_proto::decode::Limits;

use super::{index, Case, Image};

/// Large enough for every capture's window (spice-gtk announces 3M+).
const WINDOW: u32 = 4 << 20;

/// The GLZ-family images of `dir`, in order.
fn load(dir: &Path) -> Vec<Image> {
    index(dir).into_iter().filter(|i| i.kind == "GLZ_RGB" || i.kind == "ZLIB_GLZ_RGB").collect()
}

fn case(codec: &'static str, vectors: &'static str, images: Vec<Image>) -> Case {
    // The payload and, for ZLIB_GLZ, the inflated size.
    let data: Vec<(Vec<u8>, Option<u32>)> = images
        .iter()
        .map(|i| {
            let data = std::fs::read(&i.file).unwrap_or_else(|e| panic!("{}: {e}", i.file.display()));
            let zlib = (i.kind == "ZLIB_GLZ_RGB").then(|| i.glz_data_size.expect("glz_data_size"));
            (data, zlib)
        })
        .collect();
    let limits = Limits::default();
    Case {
        codec,
        vectors,
        images,
        pass: Box::new(move |out| {
            let mut dict = Dictionary::new(WINDOW);
            for (data, zlib) in &data {
                let p = match zlib {
                    Some(size) => dict.decode_zlib(*size, data, &limits),
                    None => dict.decode(data, &limits),
                };
                out.add(&p.expect("GLZ vector decodes"));
            }
        }),
    }
}

pub fn cases(vectors: &Path) -> Vec<Case> {
    vec![
        case("GLZ_RGB", "glz-anim, whole chain, fresh window", load(&vectors.join("glz-anim"))),
        case("GLZ + ZLIB_GLZ", "zlib-anim (one dictionary, both)", load(&vectors.join("zlib-anim"))),
    ]
}
