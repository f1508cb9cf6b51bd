//! `clove-guest-helper cursor CONTROL`: defines a DRM cursor on the first
//! connected connector's CRTC of `/dev/dri/card0` and then obeys one
//! command per line read from `CONTROL` (a serial port the test writes to):
//!
//! - `set X Y`: the sprite from [`sprite`], hot spot at (X, Y);
//! - `move X Y`: the hot spot to (X, Y);
//! - `hide`: no cursor.
//!
//! Each done step prints its marker line on stdout (the guest's serial
//! console). Commands instead of timers: the test moves on only after it
//! has seen the client show the previous step, whatever the load.
//!
//! The card stays open until the helper is killed: closing it would hand the
//! display back to the fbdev console, which resets the cursor.

// The legacy cursor ioctls are the point: they are what X servers and most
// guests use, and qxl turns them into QXL cursor commands like plane updates.
#![allow(deprecated)]

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::ExitCode;

use clove_guest_helper::{marker, sprite};
use drm::buffer::{Buffer, DrmFourcc};
use drm::control::{connector, crtc, dumbbuffer::DumbBuffer, Device as ControlDevice};

const CARD: &str = "/dev/dri/card0";

struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl drm::Device for Card {}
impl ControlDevice for Card {}

fn err(what: &str) -> impl FnOnce(io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The CRTC that drives the first connected connector.
fn connected_crtc(card: &Card) -> Result<crtc::Handle, String> {
    let res = card.resource_handles().map_err(err("DRM resources"))?;
    for &c in res.connectors() {
        let info = card.get_connector(c, false).map_err(err("DRM connector"))?;
        if info.state() != connector::State::Connected {
            continue;
        }
        let Some(enc) = info.current_encoder() else { continue };
        if let Some(crtc) = card.get_encoder(enc).map_err(err("DRM encoder"))?.crtc() {
            return Ok(crtc);
        }
    }
    Err(String::from("no connected connector with a CRTC"))
}

/// A dumb buffer holding [`sprite`].
fn sprite_buffer(card: &Card) -> Result<DumbBuffer, String> {
    let n = sprite::SIZE;
    let mut buf = card.create_dumb_buffer((n, n), DrmFourcc::Argb8888, 32).map_err(err("creating the dumb buffer"))?;
    let pitch = buf.pitch() as usize;
    let mut map = card.map_dumb_buffer(&mut buf).map_err(err("mapping the dumb buffer"))?;
    for y in 0..n {
        for x in 0..n {
            let at = y as usize * pitch + x as usize * 4;
            map[at..at + 4].copy_from_slice(&sprite::pixel(x, y).to_le_bytes());
        }
    }
    drop(map);
    Ok(buf)
}

fn parse_xy(words: &[&str]) -> Result<(i32, i32), String> {
    match words {
        [x, y] => Ok((x.parse().map_err(|_| format!("bad x {x:?}"))?, y.parse().map_err(|_| format!("bad y {y:?}"))?)),
        _ => Err(format!("want X Y, got {words:?}")),
    }
}

fn run(control: &str) -> Result<(), String> {
    let file = OpenOptions::new().read(true).write(true).open(CARD).map_err(err(CARD))?;
    let card = Card(file);
    let crtc = connected_crtc(&card)?;
    let buffer = sprite_buffer(&card)?;
    let hot = (sprite::HOT_X as i32, sprite::HOT_Y as i32);
    let input = File::open(control).map_err(err(control))?;
    println!("{} crtc={}", marker::READY, u32::from(crtc));
    for line in BufReader::new(input).lines() {
        let line = line.map_err(err(control))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.split_first() {
            Some((&"set", xy)) => {
                let (x, y) = parse_xy(xy)?;
                // DRM positions the buffer's top-left; the hot spot goes with the buffer.
                card.move_cursor(crtc, (x - hot.0, y - hot.1)).map_err(err("moving the cursor"))?;
                card.set_cursor2(crtc, Some(&buffer), hot).map_err(err("setting the cursor"))?;
                println!("{} {x} {y}", marker::SET);
            }
            Some((&"move", xy)) => {
                let (x, y) = parse_xy(xy)?;
                card.move_cursor(crtc, (x - hot.0, y - hot.1)).map_err(err("moving the cursor"))?;
                println!("{} {x} {y}", marker::MOVED);
            }
            Some((&"hide", [])) => {
                card.set_cursor2(crtc, None::<&DumbBuffer>, (0, 0)).map_err(err("hiding the cursor"))?;
                println!("{}", marker::HIDDEN);
            }
            // Echoes and line noise of the serial port.
            _ => {}
        }
    }
    Err(format!("{control} was closed"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.as_slice() {
        [_, cmd, control] if cmd == "cursor" => run(control),
        _ => Err(String::from("usage: clove-guest-helper cursor CONTROL")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{}: cursor helper: {e}", marker::ERROR);
            ExitCode::FAILURE
        }
    }
}
