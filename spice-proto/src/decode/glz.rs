//! GLZ_RGB and ZLIB_GLZ_RGB: LZ across images through a shared dictionary (being written).
