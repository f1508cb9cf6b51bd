//! The link stage of one channel connection, as a sans-IO state machine:
//! link message out; reply in; ticket out; result in.

use alloc::vec::Vec;
use core::fmt;

use crate::auth::{encrypt_ticket, AuthError, Entropy};
use crate::consts::caps::common;
use crate::consts::{ChannelType, LinkError, AUTH_MECHANISM_SPICE};
use crate::wire::header::HeaderKind;
use crate::wire::link::{
    agreed, parse_link_result, LinkHeader, LinkHeaderRepr, LinkMessRepr, LinkReply, LinkReplyRepr, LINK_HEADER_LEN,
    LINK_RESULT_LEN, MAX_LINK_BODY,
};
use crate::wire::{self, Caps};

/// What we announce for one channel.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// 0 for main; the session id from MAIN_INIT for every other channel.
    pub connection_id: u32,
    /// The channel to open.
    pub channel_type: ChannelType,
    /// Its id (from CHANNELS_LIST; 0 for main).
    pub channel_id: u8,
    /// Our channel capabilities.
    pub channel_caps: Caps,
}

/// The common capabilities Clove always offers: ticket auth with an explicit
/// mechanism, and the 6-byte mini header.
pub fn our_common_caps() -> Caps {
    let mut c = Caps::new();
    for bit in [common::PROTOCOL_AUTH_SELECTION, common::AUTH_SPICE, common::MINI_HEADER] {
        // These bits are all in the first word.
        let _ = c.set(bit);
    }
    c
}

/// The link stage ended well: how to talk on this channel from now on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    /// Mini header when both sides offered it.
    pub header: HeaderKind,
    /// The server's common capabilities.
    pub server_common_caps: Caps,
    /// The server's channel capabilities.
    pub server_channel_caps: Caps,
}

/// Why the link stage failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkFailure {
    /// The server refused the link message (bad version, no such channel…).
    Refused(LinkError),
    /// The server rejected the ticket: a wrong password.
    WrongPassword,
    /// The server answered the ticket with another error.
    AuthFailed(LinkError),
    /// The server's bytes do not parse.
    Protocol(wire::Error),
    /// Our ticket could not be made (bad key from the server, long password).
    Ticket(AuthError),
}

impl fmt::Display for LinkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "server refused the link: {}", e.describe()),
            Self::WrongPassword => f.write_str("wrong password"),
            Self::AuthFailed(e) => write!(f, "authentication failed: {}", e.describe()),
            Self::Protocol(e) => write!(f, "bad link reply: {e}"),
            Self::Ticket(e) => write!(f, "cannot make the ticket: {e}"),
        }
    }
}

impl From<wire::Error> for LinkFailure {
    fn from(e: wire::Error) -> Self {
        Self::Protocol(e)
    }
}

enum State {
    /// Collecting the reply: header, then `size` more bytes.
    AwaitReply,
    /// Ticket sent; waiting for the 4-byte result.
    AwaitResult(Linked),
    Done,
}

/// One channel's link stage.
pub struct Handshake {
    state: State,
    buf: Vec<u8>,
    out: Vec<u8>,
    ours: Caps,
}

impl Handshake {
    /// Starts the link stage; the link message is queued for sending.
    pub fn new(config: &LinkConfig) -> Self {
        let ours = our_common_caps();
        let mess = LinkMessRepr {
            connection_id: config.connection_id,
            channel_type: config.channel_type,
            channel_id: config.channel_id,
            common_caps: ours,
            channel_caps: config.channel_caps,
        };
        let mut out = alloc::vec![0u8; LINK_HEADER_LEN + mess.buffer_len()];
        // The buffer is exactly the size the repr asked for.
        let n = mess.emit_with_header(&mut out).unwrap_or(0);
        out.truncate(n);
        Self { state: State::AwaitReply, buf: Vec::new(), out, ours }
    }

    /// Bytes to send now (the link message, then the ticket).
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// Consumes server bytes from `input`, leaving any that follow the link
    /// stage (the first messages) in it. `Ok(Some)` once linked.
    pub fn receive(
        &mut self,
        input: &mut &[u8],
        password: &str,
        entropy: &mut dyn Entropy,
    ) -> Result<Option<Linked>, LinkFailure> {
        loop {
            match &self.state {
                State::AwaitReply => {
                    if !self.fill(input, LINK_HEADER_LEN) {
                        return Ok(None);
                    }
                    let header = LinkHeaderRepr::parse(&LinkHeader::new_checked(&self.buf[..LINK_HEADER_LEN])?)?;
                    // parse() bounds the size by MAX_LINK_BODY.
                    debug_assert!(header.size <= MAX_LINK_BODY);
                    if !self.fill(input, LINK_HEADER_LEN + header.size as usize) {
                        return Ok(None);
                    }
                    let reply = LinkReplyRepr::parse(&LinkReply::new_checked(&self.buf[LINK_HEADER_LEN..])?)?;
                    if reply.error != LinkError::Ok {
                        return Err(LinkFailure::Refused(reply.error));
                    }
                    let ticket =
                        encrypt_ticket(&reply.pub_key, password.as_bytes(), entropy).map_err(LinkFailure::Ticket)?;
                    if agreed(&self.ours, &reply.common_caps, common::PROTOCOL_AUTH_SELECTION) {
                        self.out.extend_from_slice(&AUTH_MECHANISM_SPICE.to_le_bytes());
                    }
                    self.out.extend_from_slice(&ticket);
                    let header = if agreed(&self.ours, &reply.common_caps, common::MINI_HEADER) {
                        HeaderKind::Mini
                    } else {
                        HeaderKind::Full
                    };
                    self.buf.clear();
                    self.state = State::AwaitResult(Linked {
                        header,
                        server_common_caps: reply.common_caps,
                        server_channel_caps: reply.channel_caps,
                    });
                }
                State::AwaitResult(_) => {
                    if !self.fill(input, LINK_RESULT_LEN) {
                        return Ok(None);
                    }
                    let result = parse_link_result(&self.buf)?;
                    let State::AwaitResult(linked) = core::mem::replace(&mut self.state, State::Done) else {
                        return Ok(None);
                    };
                    return match result {
                        LinkError::Ok => Ok(Some(linked)),
                        LinkError::PermissionDenied => Err(LinkFailure::WrongPassword),
                        other => Err(LinkFailure::AuthFailed(other)),
                    };
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// Moves bytes from `input` until `buf` holds `want`; true when it does.
    fn fill(&mut self, input: &mut &[u8], want: usize) -> bool {
        let take = want.saturating_sub(self.buf.len()).min(input.len());
        self.buf.extend_from_slice(&input[..take]);
        *input = &input[take..];
        self.buf.len() >= want
    }
}
