//! The software canvas (being written).
