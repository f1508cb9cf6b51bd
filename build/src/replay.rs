//! `cargo xtask replay CAPTURE.pcapng [--png OUT.png] [--fragments MAX]`:
//! feed a recorded session through spice-proto and report what it held.

use std::time::Instant;

use spice_proto::capture::replay::{replay, ReplayOptions};
use spice_proto::consts::{message_name, Direction};
use spice_proto::session::Event;

use crate::util::{Error, Result};
use xtask::client::primary_rgb;
use xtask::snapshot::write_png;

pub fn cmd(args: &[String]) -> Result<()> {
    let mut capture = None;
    let mut png = None;
    let mut options = ReplayOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--png" => png = Some(it.next().ok_or_else(|| Error::Usage("replay: --png needs a path".into()))?),
            "--fragments" => {
                let v = it.next().ok_or_else(|| Error::Usage("replay: --fragments needs a size".into()))?;
                let max = v.parse().map_err(|_| Error::Usage(format!("replay: bad size {v:?}")))?;
                options.fragments = Some((max, 1));
            }
            s if capture.is_none() && !s.starts_with("--") => capture = Some(s),
            other => return Err(Error::Usage(format!("replay: unexpected argument {other:?}"))),
        }
    }
    let capture = capture.ok_or_else(|| Error::Usage("replay: which capture?".into()))?;
    let file = std::fs::read(capture).map_err(|e| Error::Failed(format!("{capture}: {e}")))?;
    let origin = Instant::now();
    let mut clock = || origin.elapsed().as_nanos() as u64;
    let (session, report) =
        replay(&file, &options, &mut clock).map_err(|e| Error::Failed(format!("{capture}: {e}")))?;

    println!("{capture}");
    for (i, ch) in report.channels.iter().enumerate() {
        let Some((channel, id)) = ch.channel else {
            println!("  connection {i}: not SPICE");
            continue;
        };
        let total: usize = ch.messages.values().sum();
        println!(
            "  {channel:?} {id}: {} bytes, {total} messages, {:.1} ms in the session",
            ch.server_bytes,
            ch.elapsed as f64 / 1e6
        );
        for (t, n) in &ch.messages {
            let name = message_name(channel, Direction::ServerToClient, *t).unwrap_or("?");
            println!("      {name:<24} {n:>6}");
        }
        for (ty, n, px) in ch.images.values() {
            println!("      image {:<16} {n:>6}  {:.2} Mpx", format!("{ty:?}"), *px as f64 / 1e6);
        }
    }
    let errors: Vec<_> =
        report.events.iter().filter_map(|e| if let Event::DrawError(s) = e { Some(s) } else { None }).collect();
    println!("  draw errors: {}", errors.len());
    for e in errors.iter().take(5) {
        println!("      {e}");
    }
    if let Some(path) = png {
        let (w, h, rgb) = primary_rgb(&session).ok_or_else(|| Error::Failed("no primary surface".into()))?;
        write_png(std::path::Path::new(path), w, h, &rgb).map_err(Error::Failed)?;
        println!("  wrote {path} ({w}x{h})");
    }
    Ok(())
}
