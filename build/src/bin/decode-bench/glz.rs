//! GLZ_RGB over the whole glz-anim chain with a fresh dictionary each pass,
//! and GLZ_RGB + ZLIB_GLZ_RGB over zlib-anim through one dictionary.

use std::path::Path;

use spice_proto::decode::glz::Dictionary;
use spice_proto::decode::Limits;

/// Large enough for every capture's window (spice-gtk announces 3M+).
const WINDOW: u32 = 4 << 20;

/// One image: its payload and, for ZLIB_GLZ, the inflated size.
type Image = (Vec<u8>, Option<u32>);

/// The GLZ-family images of `dir`, in order; `glz_data_size` comes from the
/// index's `extra` column.
fn load(dir: &Path) -> Vec<Image> {
    let text = std::fs::read_to_string(dir.join("index.tsv")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let extra_col = text.lines().next().unwrap_or("").split('\t').position(|h| h == "extra");
    let extras: Vec<Option<u32>> = text
        .lines()
        .skip(1)
        .map(|l| {
            let extra = extra_col.and_then(|c| l.split('\t').nth(c)).unwrap_or("");
            extra.split(',').find_map(|kv| kv.strip_prefix("glz_data_size=")).map(|v| v.parse().unwrap())
        })
        .collect();
    super::index(dir)
        .into_iter()
        .zip(extras)
        .filter(|((_, ty, _, _), _)| ty == "GLZ_RGB" || ty == "ZLIB_GLZ_RGB")
        .map(|((file, ty, _, _), size)| {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            (data, if ty == "ZLIB_GLZ_RGB" { Some(size.expect("glz_data_size")) } else { None })
        })
        .collect()
}

fn case(codec: &'static str, vectors: &'static str, c_mbps: f64, images: Vec<Image>) -> super::Case {
    let limits = Limits::default();
    super::Case {
        codec,
        vectors,
        images: images.len(),
        c_mbps,
        pass: Box::new(move || {
            let mut dict = Dictionary::new(WINDOW);
            images
                .iter()
                .map(|(data, zlib)| {
                    let p = match zlib {
                        Some(size) => dict.decode_zlib(*size, data, &limits),
                        None => dict.decode(data, &limits),
                    };
                    p.expect("GLZ vector decodes").data.len() as u64 * 4
                })
                .sum()
        }),
    }
}

pub fn cases(vectors: &Path) -> Vec<super::Case> {
    vec![
        case("GLZ_RGB", "glz-anim, whole chain, fresh window", 6507.0, load(&vectors.join("glz-anim"))),
        case("GLZ + ZLIB_GLZ", "zlib-anim (one dictionary, both)", 1158.0, load(&vectors.join("zlib-anim"))),
    ]
}
