//! LZ4 (being written).
