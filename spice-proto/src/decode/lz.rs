//! LZ_RGB and LZ_PLT (being written).
