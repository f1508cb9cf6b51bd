//! Typed message bodies for every channel (being written).
