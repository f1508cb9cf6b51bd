//! Video streams on the display channel: MJPEG frames decoded and put on
//! their surface, and the STREAM_REPORT feedback the server's rate control
//! asks for.
//!
//! Placement follows spice-gtk: a frame goes to the stream's destination box
//! (STREAM_DATA) or to the box carried by the frame (STREAM_DATA_SIZED),
//! scaled with nearest-neighbour sampling when the sizes differ, clipped by
//! the stream's current clip (from STREAM_CREATE, replaced by STREAM_CLIP).
//! A stream without SPICE_STREAM_FLAGS_TOP_DOWN carries its rows bottom-up.
//!
//! Huffman tables: spice-server's MJPEG encoder writes the DHT segments
//! only into a stream's first frame and leaves them out of the rest, relying
//! on the client's decoder keeping them (libjpeg does, across images of one
//! decompressor). We keep each stream's last DHT segments and splice them in
//! before the scan of a frame that has none.
//!
//! Reports: after STREAM_ACTIVATE_REPORT, every frame of the stream counts;
//! a report goes out when `max_window_size` frames have arrived or when the
//! frames' multimedia times span `timeout_ms` (the session has no clock, so
//! the frame stamps stand in for one). `last_frame_delay` is the constant
//! [`REPORTED_FRAME_DELAY_MS`]: without a clock we cannot measure it, and
//! spice-server's MJPEG rate control only lowers the bit rate for a negative
//! delay or one that falls well below the largest seen, so a steady value
//! reads as "on time". Frames we could not decode count as drops.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use super::channel::Sender;
use super::display::DrawFailure;
use crate::canvas::{self, Canvas, CopyOp, Image, Ropd, ScaleMode, Source};
use crate::decode::{self, jpeg};
use crate::msg::display::{stream_flags, video_codec, StreamActivateReport, StreamCreate, StreamReport};
use crate::msg::EmitMessage;

/// Most streams alive at once (spice-server uses ids below 50).
pub const MAX_STREAMS: usize = 64;
/// spice-server's stream table size: it drops the connection on a report for
/// an id at or above it, so refusal reports are only sent below it.
const SERVER_STREAM_IDS: u32 = 50;
/// The `last_frame_delay` we report (see the module docs).
pub const REPORTED_FRAME_DELAY_MS: i32 = 0;
/// Largest report window we honour (frames).
const MAX_REPORT_WINDOW: u32 = 1024;
/// Most DHT bytes kept per stream (the four usual tables take about 420).
const MAX_KEPT_TABLES: usize = 4096;

struct Stream {
    surface_id: u32,
    top_down: bool,
    dest: canvas::Rect,
    clip: Option<Vec<canvas::Rect>>,
    report: Option<Report>,
    /// DHT segments of the last frame that had them.
    tables: Vec<u8>,
}

/// STREAM_ACTIVATE_REPORT settings and the current window's counts.
struct Report {
    unique_id: u32,
    window: u32,
    timeout_ms: u32,
    frames: u32,
    drops: u32,
    start_mm_time: u32,
}

/// One frame as received.
pub(super) struct Frame<'a> {
    pub id: u32,
    pub mm_time: u32,
    /// STREAM_DATA_SIZED's own destination.
    pub dest: Option<crate::msg::Rect>,
    pub data: &'a [u8],
}

/// What the streams did so far (all display channels of a session).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StreamCounts {
    /// Streams set up (STREAM_CREATE accepted).
    pub created: u64,
    /// Frames decoded and drawn.
    pub frames: u64,
    /// Rate-control STREAM_REPORTs sent (refusals not counted).
    pub reports: u64,
    /// Streams alive now.
    pub live: u64,
    /// The largest stream's frame size (width, height), by area.
    pub largest: (u32, u32),
}

#[derive(Default)]
pub(super) struct Streams {
    live: BTreeMap<u32, Stream>,
    /// All but `live`, which [`Streams::counts`] fills in.
    counts: StreamCounts,
}

impl Streams {
    /// STREAM_CREATE: an MJPEG stream is set up; anything else is refused
    /// (and the server told, so it falls back to plain images).
    pub(super) fn create(&mut self, sender: &mut Sender, s: &StreamCreate) -> Result<(), DrawFailure> {
        let refuse = |sender: &mut Sender, why: alloc::string::String| {
            send_refusal(sender, s.id);
            Err(DrawFailure(why))
        };
        if s.codec_type != video_codec::MJPEG {
            return refuse(sender, format!("stream {}: codec {} is not supported", s.id, s.codec_type));
        }
        let replaced = self.live.remove(&s.id).is_some();
        if self.live.len() >= MAX_STREAMS {
            return refuse(sender, format!("stream {}: more than {MAX_STREAMS} streams", s.id));
        }
        self.live.insert(
            s.id,
            Stream {
                surface_id: s.surface_id,
                top_down: s.flags & stream_flags::TOP_DOWN != 0,
                dest: super::display::rect(s.dest),
                clip: super::display::clip_rects(&s.clip),
                report: None,
                tables: Vec::new(),
            },
        );
        self.counts.created += 1;
        let (w, h) = self.counts.largest;
        if u64::from(s.stream_width) * u64::from(s.stream_height) > u64::from(w) * u64::from(h) {
            self.counts.largest = (s.stream_width, s.stream_height);
        }
        if replaced {
            return Err(DrawFailure(format!("stream {} was created again; the old one is replaced", s.id)));
        }
        Ok(())
    }

    /// What the streams did so far, and how many are alive.
    pub(super) fn counts(&self) -> StreamCounts {
        StreamCounts { live: self.live.len() as u64, ..self.counts }
    }

    /// STREAM_CLIP.
    pub(super) fn clip(&mut self, id: u32, clip: &crate::msg::draw::Clip) -> Result<(), DrawFailure> {
        let st = self.live.get_mut(&id).ok_or_else(|| unknown(id))?;
        st.clip = super::display::clip_rects(clip);
        Ok(())
    }

    /// STREAM_DESTROY.
    pub(super) fn destroy(&mut self, id: u32) {
        self.live.remove(&id);
    }

    /// STREAM_DESTROY_ALL, RESET.
    pub(super) fn clear(&mut self) {
        self.live.clear();
    }

    /// STREAM_ACTIVATE_REPORT.
    pub(super) fn activate_report(&mut self, a: &StreamActivateReport) -> Result<(), DrawFailure> {
        let st = self.live.get_mut(&a.stream_id).ok_or_else(|| unknown(a.stream_id))?;
        st.report = Some(Report {
            unique_id: a.unique_id,
            window: a.max_window_size.clamp(1, MAX_REPORT_WINDOW),
            timeout_ms: a.timeout_ms,
            frames: 0,
            drops: 0,
            start_mm_time: 0,
        });
        Ok(())
    }

    /// STREAM_DATA / STREAM_DATA_SIZED: decode, draw, count for the report.
    pub(super) fn frame(
        &mut self,
        sender: &mut Sender,
        canvas: &mut Canvas,
        limits: &decode::Limits,
        f: &Frame<'_>,
    ) -> Result<(), DrawFailure> {
        let Some(st) = self.live.get_mut(&f.id) else {
            send_refusal(sender, f.id);
            return Err(unknown(f.id));
        };
        let drawn = draw(canvas, limits, st, f);
        if drawn.is_ok() {
            self.counts.frames += 1;
        }
        if let Some(r) = st.report.as_mut() {
            if r.frames == 0 {
                r.start_mm_time = f.mm_time;
            }
            r.frames += 1;
            r.drops += u32::from(drawn.is_err());
            let span = f.mm_time.wrapping_sub(r.start_mm_time);
            if r.frames >= r.window || (span as i32) >= r.timeout_ms.min(i32::MAX as u32) as i32 {
                let report = StreamReport {
                    stream_id: f.id,
                    unique_id: r.unique_id,
                    start_frame_mm_time: r.start_mm_time,
                    end_frame_mm_time: f.mm_time,
                    num_frames: r.frames,
                    num_drops: r.drops,
                    last_frame_delay: REPORTED_FRAME_DELAY_MS,
                    audio_delay: u32::MAX,
                };
                sender.send(StreamReport::MSG_TYPE, &report.to_vec());
                self.counts.reports += 1;
                r.frames = 0;
                r.drops = 0;
            }
        }
        drawn
    }
}

fn unknown(id: u32) -> DrawFailure {
    DrawFailure(format!("stream {id} does not exist"))
}

/// Tells the server we cannot show stream `id` (no frames, all dropped), as
/// spice-gtk does; the server then stops streaming it.
fn send_refusal(sender: &mut Sender, id: u32) {
    if id >= SERVER_STREAM_IDS {
        return;
    }
    let report = StreamReport {
        stream_id: id,
        unique_id: 0,
        start_frame_mm_time: 0,
        end_frame_mm_time: 0,
        num_frames: 0,
        num_drops: u32::MAX,
        last_frame_delay: 0,
        audio_delay: 0,
    };
    sender.send(StreamReport::MSG_TYPE, &report.to_vec());
}

/// Decodes one frame and puts it in place.
fn draw(canvas: &mut Canvas, limits: &decode::Limits, st: &mut Stream, f: &Frame<'_>) -> Result<(), DrawFailure> {
    let dest = f.dest.map(super::display::rect).unwrap_or(st.dest);
    if dest.is_empty() || dest.width() > limits.max_side || dest.height() > limits.max_side {
        return Err(DrawFailure(format!(
            "stream {}: destination {}x{} is empty or too large",
            f.id,
            dest.width(),
            dest.height()
        )));
    }
    let (scan, tables) = headers(f.data)
        .ok_or_else(|| DrawFailure(format!("stream {}: the frame's JPEG headers are malformed", f.id)))?;
    let mut px = if !tables.is_empty() {
        if tables.len() <= MAX_KEPT_TABLES {
            st.tables = tables;
        }
        jpeg::decode(f.data, limits)?
    } else if st.tables.is_empty() {
        jpeg::decode(f.data, limits)?
    } else {
        let mut whole = Vec::with_capacity(f.data.len() + st.tables.len());
        whole.extend_from_slice(&f.data[..scan]);
        whole.extend_from_slice(&st.tables);
        whole.extend_from_slice(&f.data[scan..]);
        jpeg::decode(&whole, limits)?
    };
    let (w, h) = (px.width as usize, px.height as usize);
    if !st.top_down {
        flip_rows(&mut px.data, w, h);
    }
    let op = CopyOp {
        src: Source::Image(Image::new(px.width, px.height, w, &px.data, false)?),
        src_area: canvas::Rect::new(0, 0, px.width as i32, px.height as i32),
        rop: Ropd::OP_PUT,
        scale: ScaleMode::Nearest,
        mask: None,
    };
    canvas.copy(st.surface_id, dest, super::display::as_clip(&st.clip), &op)?;
    Ok(())
}

/// Walks a JPEG's marker segments up to the first scan: returns the offset
/// of the SOS marker and the DHT segments met before it (whole, markers
/// included). None when the stream does not start with SOI or a segment runs
/// past the end.
fn headers(data: &[u8]) -> Option<(usize, Vec<u8>)> {
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut tables = Vec::new();
    let mut at = 2;
    loop {
        if *data.get(at)? != 0xff {
            return None;
        }
        let marker = *data.get(at + 1)?;
        match marker {
            // Fill byte before a marker.
            0xff => at += 1,
            0xda => return Some((at, tables)),
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => at += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
                let end = at.checked_add(2 + len).filter(|&e| len >= 2 && e <= data.len())?;
                if marker == 0xc4 {
                    tables.extend_from_slice(&data[at..end]);
                }
                at = end;
            }
        }
    }
}

/// Reverses the order of the `h` rows of `w` pixels.
fn flip_rows(data: &mut [u32], w: usize, h: usize) {
    for y in 0..h / 2 {
        let (top, bottom) = data.split_at_mut((h - 1 - y) * w);
        top[y * w..(y + 1) * w].swap_with_slice(&mut bottom[..w]);
    }
}

#[cfg(test)]
mod tests {
    use super::{flip_rows, headers};

    #[test]
    fn headers_finds_tables_and_scan() {
        let jpeg = [0xff, 0xd8, 0xff, 0xdb, 0, 3, 9, 0xff, 0xc4, 0, 4, 1, 2, 0xff, 0xda, 0, 2];
        assert_eq!(headers(&jpeg), Some((13, vec![0xff, 0xc4, 0, 4, 1, 2])));
        assert_eq!(headers(&jpeg[..9]), None);
        assert_eq!(headers(&[0xff, 0xd9]), None);
        assert_eq!(headers(&[0xff, 0xd8, 0xff, 0xe0, 0, 1, 0xff, 0xda]), None, "length below 2");
    }

    #[test]
    fn flip_rows_reverses_rows() {
        let mut d = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        flip_rows(&mut d, 3, 3);
        assert_eq!(d, [7, 8, 9, 4, 5, 6, 1, 2, 3]);
        let mut e = [1, 2, 3, 4];
        flip_rows(&mut e, 2, 2);
        assert_eq!(e, [3, 4, 1, 2]);
    }
}
