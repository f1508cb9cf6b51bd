//! What the guest helper draws, shared with the host tests that look for it.
//!
//! The binary (`src/main.rs`) runs inside the SPICE server VM's Linux guest;
//! this library only holds the sprite and the marker lines, so a test knows
//! exactly which pixels a client must show and where.

/// The cursor sprite: a 64x64 ARGB buffer, transparent but for an opaque
/// 16x16 square split along its diagonal into two colours (a flipped or
/// shifted sprite cannot pass for the right one).
pub mod sprite {
    /// Width and height of the cursor buffer.
    pub const SIZE: u32 = 64;
    /// Top-left of the opaque square inside the buffer.
    pub const SQUARE_X: u32 = 8;
    pub const SQUARE_Y: u32 = 8;
    /// Side of the square.
    pub const SIDE: u32 = 16;
    /// The hot spot, from the buffer's top-left (inside the square, off its corner).
    pub const HOT_X: u32 = 10;
    pub const HOT_Y: u32 = 12;
    /// Square pixels above the diagonal (`x > y`), ARGB.
    pub const UPPER: u32 = 0xffff_00ff;
    /// Square pixels on and below the diagonal, ARGB.
    pub const LOWER: u32 = 0xff00_c0ff;

    /// The ARGB pixel at (`x`, `y`) of the buffer (0: transparent).
    pub fn pixel(x: u32, y: u32) -> u32 {
        let (sx, sy) = (x.wrapping_sub(SQUARE_X), y.wrapping_sub(SQUARE_Y));
        match (sx < SIDE && sy < SIDE, sx > sy) {
            (false, _) => 0,
            (true, true) => UPPER,
            (true, false) => LOWER,
        }
    }
}

/// Serial markers, printed once each step has been done.
pub mod marker {
    /// `CURSOR-HELPER-READY crtc=N`: the card is open and commands are read.
    pub const READY: &str = "CURSOR-HELPER-READY";
    /// `CURSOR-SET X Y`: the sprite is defined with its hot spot at (X, Y).
    pub const SET: &str = "CURSOR-SET";
    /// `CURSOR-MOVED X Y`: the hot spot is now at (X, Y).
    pub const MOVED: &str = "CURSOR-MOVED";
    /// `CURSOR-HIDDEN`: no cursor.
    pub const HIDDEN: &str = "CURSOR-HIDDEN";
    /// A failure; the line says what.
    pub const ERROR: &str = "GUEST-ERROR";
}

#[cfg(test)]
mod tests {
    use super::sprite::*;

    #[test]
    fn sprite_is_an_opaque_two_colour_square() {
        let opaque: Vec<(u32, u32)> =
            (0..SIZE).flat_map(|y| (0..SIZE).map(move |x| (x, y))).filter(|&(x, y)| pixel(x, y) != 0).collect();
        assert_eq!(opaque.len(), (SIDE * SIDE) as usize);
        assert!(opaque
            .iter()
            .all(|&(x, y)| (SQUARE_X..SQUARE_X + SIDE).contains(&x) && (SQUARE_Y..SQUARE_Y + SIDE).contains(&y)));
        assert_eq!(pixel(SQUARE_X + 1, SQUARE_Y), UPPER);
        assert_eq!(pixel(SQUARE_X, SQUARE_Y + 1), LOWER);
        assert_eq!(pixel(SQUARE_X, SQUARE_Y), LOWER);
        assert_eq!(pixel(SQUARE_X + SIDE, SQUARE_Y), 0);
        assert!(pixel(HOT_X, HOT_Y) >> 24 == 0xff, "the hot spot is on the square");
    }
}
