//! QUIC (being written).
