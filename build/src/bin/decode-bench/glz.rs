//! Benchmark cases for this codec (being written).

use std::path::Path;

pub fn cases(_vectors: &Path) -> Vec<super::Case> {
    Vec::new()
}
