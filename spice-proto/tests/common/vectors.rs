//! The image vectors in `shared/vectors/<capture>/` (one file per image and
//! an `index.tsv` in stream order), for the decoder tests.

use std::path::{Path, PathBuf};

/// `shared/vectors/<name>` beside the clone; under `CI` it must exist.
pub fn shared_vectors(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors").join(name);
    assert!(dir.is_dir() || std::env::var_os("CI").is_none(), "CI is set but {} is missing", dir.display());
    dir.is_dir().then_some(dir)
}

/// One row of an `index.tsv`: an image and the DRAW_COPY that drew it.
pub struct Row {
    pub file: PathBuf,
    pub kind: String,
    pub width: u32,
    pub height: u32,
    /// Destination box (left, top, right, bottom).
    pub dst: (u32, u32, u32, u32),
    /// Source area (left, top, right, bottom).
    pub src_area: (u32, u32, u32, u32),
    /// SPICE_ROPD of the draw.
    pub rop: u32,
    /// Per-type details (e.g. a BITMAP's `fmt=…,flags=…,stride=…`).
    pub extra: String,
}

impl Row {
    /// Source area origin (left, top).
    pub fn src(&self) -> (u32, u32) {
        (self.src_area.0, self.src_area.1)
    }
}

/// The rows of `dir/index.tsv`; clipped draws are not handled by these tests.
pub fn index(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let n = |name: &str| c[col(name)].parse::<u32>().unwrap();
            assert_eq!(c[col("clip")], "0", "clipped draws are not handled here");
            Row {
                file: dir.join(c[col("file")]),
                kind: c[col("type")].to_string(),
                width: n("width"),
                height: n("height"),
                dst: (n("box_left"), n("box_top"), n("box_right"), n("box_bottom")),
                src_area: (n("src_left"), n("src_top"), n("src_right"), n("src_bottom")),
                rop: n("rop"),
                extra: c.get(col("extra")).copied().unwrap_or("").to_string(),
            }
        })
        .collect()
}
