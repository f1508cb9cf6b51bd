//! Playback and record channel messages (`PlaybackChannel`,
//! `RecordChannel` in spice.proto), server → client only.

use alloc::vec::Vec;

use super::{Reader, Result};
use crate::consts::msg::{playback::server as p, record::server as r};

/// Audio data modes (`SPICE_AUDIO_DATA_MODE_*`).
pub mod data_mode {
    /// Raw PCM.
    pub const RAW: u16 = 1;
    /// CELT 0.5.1 (obsolete).
    pub const CELT_0_5_1: u16 = 2;
    /// Opus.
    pub const OPUS: u16 = 3;
}

/// Audio sample format `S16` (`SPICE_AUDIO_FMT_S16`).
pub const AUDIO_FMT_S16: u16 = 1;

/// PLAYBACK START.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaybackStart {
    /// Channel count.
    pub channels: u32,
    /// Sample format ([`AUDIO_FMT_S16`]).
    pub format: u16,
    /// Sample rate.
    pub frequency: u32,
    /// Multimedia time of the start.
    pub time: u32,
}

/// A server message of the playback channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackMessage<'a> {
    /// DATA: one packet of audio in the current mode.
    Data {
        /// Multimedia time.
        time: u32,
        /// Samples (PCM or Opus).
        data: &'a [u8],
    },
    /// MODE.
    Mode {
        /// Multimedia time.
        time: u32,
        /// [`data_mode`].
        mode: u16,
        /// Codec data.
        data: &'a [u8],
    },
    /// START.
    Start(PlaybackStart),
    /// STOP.
    Stop,
    /// VOLUME: per-channel volume.
    Volume(Vec<u16>),
    /// MUTE.
    Mute(bool),
    /// LATENCY (ms).
    Latency(u32),
}

fn parse_volume(name: &'static str, body: &[u8]) -> Result<Vec<u16>> {
    let mut rd = Reader::new(name, body);
    let n = rd.u8("nchannels")?;
    rd.list("volume", n.into(), 2, |rd| rd.u16("volume"))
}

impl<'a> PlaybackMessage<'a> {
    /// Parses a playback-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            p::DATA => {
                let mut rd = Reader::new("PLAYBACK_DATA", body);
                PlaybackMessage::Data { time: rd.u32("time")?, data: rd.rest() }
            }
            p::MODE => {
                let mut rd = Reader::new("PLAYBACK_MODE", body);
                PlaybackMessage::Mode { time: rd.u32("time")?, mode: rd.u16("mode")?, data: rd.rest() }
            }
            p::START => {
                let mut rd = Reader::new("PLAYBACK_START", body);
                PlaybackMessage::Start(PlaybackStart {
                    channels: rd.u32("channels")?,
                    format: rd.u16("format")?,
                    frequency: rd.u32("frequency")?,
                    time: rd.u32("time")?,
                })
            }
            p::STOP => PlaybackMessage::Stop,
            p::VOLUME => PlaybackMessage::Volume(parse_volume("PLAYBACK_VOLUME", body)?),
            p::MUTE => PlaybackMessage::Mute(Reader::new("PLAYBACK_MUTE", body).u8("mute")? != 0),
            p::LATENCY => PlaybackMessage::Latency(Reader::new("PLAYBACK_LATENCY", body).u32("latency_ms")?),
            _ => return Ok(None),
        }))
    }
}

/// A server message of the record channel (Clove does not record; parsed
/// so that a session with a record channel is understood).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordMessage {
    /// START.
    Start {
        /// Channel count.
        channels: u32,
        /// Sample format.
        format: u16,
        /// Sample rate.
        frequency: u32,
    },
    /// STOP.
    Stop,
    /// VOLUME.
    Volume(Vec<u16>),
    /// MUTE.
    Mute(bool),
}

impl RecordMessage {
    /// Parses a record-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &[u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            r::START => {
                let mut rd = Reader::new("RECORD_START", body);
                RecordMessage::Start {
                    channels: rd.u32("channels")?,
                    format: rd.u16("format")?,
                    frequency: rd.u32("frequency")?,
                }
            }
            r::STOP => RecordMessage::Stop,
            r::VOLUME => RecordMessage::Volume(parse_volume("RECORD_VOLUME", body)?),
            r::MUTE => RecordMessage::Mute(Reader::new("RECORD_MUTE", body).u8("mute")? != 0),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    // Real bodies from playback-raw.pcapng.
    #[test]
    fn playback() {
        let start = [2, 0, 0, 0, 1, 0, 0x80, 0xbb, 0, 0, 0x76, 0x0e, 0x89, 0];
        assert_eq!(
            PlaybackMessage::parse(p::START, &start).unwrap(),
            Some(PlaybackMessage::Start(PlaybackStart {
                channels: 2,
                format: AUDIO_FMT_S16,
                frequency: 48000,
                time: 0x0089_0e76
            }))
        );
        assert!(PlaybackMessage::parse(p::START, &start[..13]).is_err());
        assert_eq!(
            PlaybackMessage::parse(p::MODE, &[0x6f, 0xf0, 0x88, 0, 1, 0]).unwrap(),
            Some(PlaybackMessage::Mode { time: 0x0088_f06f, mode: data_mode::RAW, data: &[] })
        );
        assert_eq!(
            PlaybackMessage::parse(p::VOLUME, &[2, 0, 0, 0, 0]).unwrap(),
            Some(PlaybackMessage::Volume(vec![0, 0]))
        );
        assert!(PlaybackMessage::parse(p::VOLUME, &[3, 0, 0, 0, 0]).is_err());
        assert_eq!(PlaybackMessage::parse(p::MUTE, &[1]).unwrap(), Some(PlaybackMessage::Mute(true)));
        let data = [0x81, 0x0e, 0x89, 0, 0x7f, 0x05, 0x7f, 0x05];
        assert_eq!(
            PlaybackMessage::parse(p::DATA, &data).unwrap(),
            Some(PlaybackMessage::Data { time: 0x0089_0e81, data: &data[4..] })
        );
        assert_eq!(PlaybackMessage::parse(p::STOP, &[]).unwrap(), Some(PlaybackMessage::Stop));
    }

    #[test]
    fn record() {
        assert_eq!(RecordMessage::parse(r::VOLUME, &[2, 0, 0, 0, 0]).unwrap(), Some(RecordMessage::Volume(vec![0, 0])));
        assert_eq!(RecordMessage::parse(r::MUTE, &[0]).unwrap(), Some(RecordMessage::Mute(false)));
        assert_eq!(
            RecordMessage::parse(r::START, &[2, 0, 0, 0, 1, 0, 0x80, 0xbb, 0, 0]).unwrap(),
            Some(RecordMessage::Start { channels: 2, format: 1, frequency: 48000 })
        );
    }
}
