//! JPEG and JPEG_ALPHA (being written).
