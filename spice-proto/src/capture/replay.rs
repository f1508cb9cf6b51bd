//! Replays a recorded session through a [`Session`]: every SPICE connection
//! of a capture, in the order the client opened them, fed with exactly the
//! bytes the server sent.

use std::collections::BTreeMap;
use std::fmt;

use super::{reassemble, CaptureError, Connection};
use crate::auth::Entropy;
use crate::consts::{ChannelType, ImageType};
use crate::framing::MessageReader;
use crate::msg::display::DisplayMessage;
use crate::session::{Event, Session, SessionConfig};
use crate::wire::header::HeaderKind;
use crate::wire::link::{LinkHeader, LinkHeaderRepr, LinkMess, LinkMessRepr, LINK_HEADER_LEN, LINK_RESULT_LEN};

/// How to feed the streams.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Session settings (the password does not matter: the recorded server
    /// already accepted the recorded ticket).
    pub config: SessionConfig,
    /// Feed each stream in random pieces of 1..=`max_fragment` bytes
    /// (deterministic for a seed), as TCP may deliver it; `None` feeds it whole.
    pub fragments: Option<(usize, u64)>,
}

/// What one connection carried.
#[derive(Clone, Debug, Default)]
pub struct ChannelReport {
    /// Channel type and id from the client's link message.
    pub channel: Option<(ChannelType, u8)>,
    /// Bytes the server sent.
    pub server_bytes: usize,
    /// Server message counts by type (sub-messages of a LIST counted singly).
    pub messages: BTreeMap<u16, usize>,
    /// Image counts by type, over every draw command's source image.
    pub images: BTreeMap<u8, (ImageType, usize, u64)>,
    /// Clock units spent in `Session::receive` for this connection.
    pub elapsed: u64,
}

/// The outcome of a replay.
#[derive(Debug)]
pub struct ReplayReport {
    /// One entry per SPICE connection, in capture order.
    pub channels: Vec<ChannelReport>,
    /// Every event the session raised, in order.
    pub events: Vec<Event>,
}

/// Why a capture could not be replayed.
#[derive(Debug)]
pub enum ReplayError {
    /// The capture itself is unreadable.
    Capture(CaptureError),
    /// A connection is not a SPICE connection, or the session never asked
    /// for its channel.
    Connection {
        /// Index in capture order.
        index: usize,
        /// What was wrong.
        reason: String,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capture(e) => write!(f, "{e}"),
            Self::Connection { index, reason } => write!(f, "connection {index}: {reason}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Deterministic filler for the ticket's OAEP padding: the recorded server
/// never sees our ticket.
struct ReplayEntropy(u64);

impl Entropy for ReplayEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

/// The channel a client link message asks for.
fn link_target(client: &[u8]) -> Option<(ChannelType, u8, usize)> {
    let header = LinkHeaderRepr::parse(&LinkHeader::new_checked(client).ok()?).ok()?;
    let body = client.get(LINK_HEADER_LEN..LINK_HEADER_LEN + header.size as usize)?;
    let mess = LinkMessRepr::parse(&LinkMess::new_checked(body).ok()?).ok()?;
    Some((mess.channel_type, mess.channel_id, LINK_HEADER_LEN + header.size as usize))
}

/// Counts the server's messages and image types after its link stage.
fn count(report: &mut ChannelReport, conn: &Connection, channel: ChannelType) {
    let s = &conn.server_to_client;
    let Some(header) = LinkHeader::new_checked(&s[..]).ok().and_then(|h| LinkHeaderRepr::parse(&h).ok()) else {
        return;
    };
    let start = LINK_HEADER_LEN + header.size as usize + LINK_RESULT_LEN;
    let Some(mut rest) = s.get(start..) else { return };
    // Replays only need counts; a capture that did not agree on the mini
    // header shows as a single unparsable frame.
    let mut reader = MessageReader::new(HeaderKind::Mini);
    while let Ok(Some(frame)) = reader.feed(&mut rest) {
        for m in frame.messages() {
            *report.messages.entry(m.msg_type).or_default() += 1;
            if channel != ChannelType::Display {
                continue;
            }
            if let Ok(Some(msg)) = DisplayMessage::parse(m.msg_type, m.body) {
                for image in source_images(&msg) {
                    let e = report.images.entry(image.descriptor.image_type.into()).or_insert((
                        image.descriptor.image_type,
                        0,
                        0,
                    ));
                    e.1 += 1;
                    e.2 += u64::from(image.descriptor.width) * u64::from(image.descriptor.height);
                }
            }
        }
    }
}

/// The source images of a draw command (what the capture README counts).
fn source_images<'m>(msg: &'m DisplayMessage<'_>) -> Vec<&'m crate::msg::image::Image<'m>> {
    let src = match msg {
        DisplayMessage::DrawCopy(d) | DisplayMessage::DrawBlend(d) => d.src_bitmap.as_ref(),
        DisplayMessage::DrawOpaque(d) => d.src_bitmap.as_ref(),
        DisplayMessage::DrawRop3(d) => d.src_bitmap.as_ref(),
        DisplayMessage::DrawTransparent(d) => d.src_bitmap.as_ref(),
        DisplayMessage::DrawAlphaBlend(d) => d.src_bitmap.as_ref(),
        _ => None,
    };
    src.into_iter().collect()
}

/// The DISPLAY_INIT the recorded client sent, if any: the server sized its
/// GLZ window and pixmap cache by it, so a faithful replay uses the same.
fn recorded_display_init(conns: &[Connection]) -> Option<crate::msg::display::DisplayInit> {
    for conn in conns {
        let Some((ChannelType::Display, _, link_len)) = link_target(&conn.client_to_server) else { continue };
        let mess = &conn.client_to_server[LINK_HEADER_LEN..link_len];
        let mess = LinkMessRepr::parse(&LinkMess::new_checked(mess).ok()?).ok()?;
        // Link message, the auth mechanism word when offered, the ticket.
        let mech = if mess.common_caps.has(crate::consts::caps::common::PROTOCOL_AUTH_SELECTION) { 4 } else { 0 };
        let mut rest = conn.client_to_server.get(link_len + mech + crate::consts::ENCRYPTED_TICKET_BYTES..)?;
        let mut reader = MessageReader::new(HeaderKind::Mini);
        while let Ok(Some(frame)) = reader.feed(&mut rest) {
            for m in frame.messages() {
                if m.msg_type == crate::consts::msg::display::client::INIT {
                    return crate::msg::display::DisplayInit::parse(m.body).ok();
                }
            }
        }
    }
    None
}

/// Replays `file`; `clock` is read around every `receive` so the caller
/// can time decoding (pass `|| 0` to skip).
pub fn replay(
    file: &[u8],
    options: &ReplayOptions,
    clock: &mut dyn FnMut() -> u64,
) -> Result<(Session, ReplayReport), ReplayError> {
    let conns = reassemble(file).map_err(ReplayError::Capture)?;
    let mut config = options.config.clone();
    if let Some(init) = recorded_display_init(&conns) {
        config.display.glz_window_pixels = init.glz_dictionary_window_size;
        config.display.pixmap_cache_pixels = init.pixmap_cache_size;
    }
    let mut session = Session::new(config, Box::new(ReplayEntropy(0x9e37_79b9_7f4a_7c15)));
    let mut announced = Vec::new();
    let mut reports = Vec::new();
    let mut events = Vec::new();
    let mut rng = options.fragments.map_or(1, |(_, seed)| seed | 1);
    for (index, conn) in conns.iter().enumerate() {
        let Some((channel, id, _)) = link_target(&conn.client_to_server) else {
            // Not SPICE (e.g. a probe); report it empty.
            reports.push(ChannelReport::default());
            continue;
        };
        while let Some(h) = session.poll_connect() {
            announced.push(h);
        }
        let Some(pos) = announced.iter().position(|&h| session.channel(h) == Some((channel, id))) else {
            return Err(ReplayError::Connection {
                index,
                reason: format!("the session did not ask for {channel:?} channel {id}"),
            });
        };
        let handle = announced.remove(pos);
        session.connected(handle);
        let mut report = ChannelReport {
            channel: Some((channel, id)),
            server_bytes: conn.server_to_client.len(),
            ..Default::default()
        };
        let mut input = &conn.server_to_client[..];
        let t0 = clock();
        while !input.is_empty() {
            let n = match options.fragments {
                Some((max, _)) => {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    1 + (rng % max.max(1) as u64) as usize
                }
                None => input.len(),
            }
            .min(input.len());
            let result = session.receive(handle, &input[..n]);
            input = &input[n..];
            if let Err(e) = result {
                return Err(ReplayError::Connection { index, reason: format!("{channel:?}: {e}") });
            }
        }
        report.elapsed = clock().wrapping_sub(t0);
        count(&mut report, conn, channel);
        reports.push(report);
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
    }
    Ok((session, ReplayReport { channels: reports, events }))
}
