//! An open channel after the link stage: framing both ways, ACK flow
//! control, PING/PONG and the other base messages every channel shares.

use alloc::vec::Vec;
use core::fmt;

use crate::consts::msg::base::client;
use crate::framing::{FrameError, Message, MessageReader, MessageWriter};
use crate::msg::base::{AckSync, BaseMessage, Pong};
use crate::msg::{EmitMessage, MsgError};
use crate::wire::header::HeaderKind;

/// Outgoing messages of one channel.
pub struct Sender {
    writer: MessageWriter,
    out: Vec<u8>,
}

impl Sender {
    /// Queues one message.
    pub fn send(&mut self, msg_type: u16, body: &[u8]) {
        // Bodies we build are far below the u32 size limit.
        let _ = self.writer.write(msg_type, body, &mut self.out);
    }

    /// Bytes waiting to go out.
    pub fn pending(&self) -> &[u8] {
        &self.out
    }

    /// Drops the first `n` pending bytes, which the caller has sent.
    pub fn consume(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Appends raw bytes (the link stage's output).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

/// ACK flow control state, from SET_ACK.
#[derive(Clone, Copy, Debug, Default)]
struct Ack {
    window: u32,
    /// Frames received since the last ACK (or ACK_SYNC).
    count: u32,
}

/// Why an open channel failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The byte stream cannot be framed.
    Frame(FrameError),
    /// A message body is malformed.
    Message(MsgError),
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "framing: {e}"),
            Self::Message(e) => write!(f, "{e}"),
        }
    }
}

/// What the base layer made of a message.
pub enum Base<'a> {
    /// Fully handled here (SET_ACK, PING, WAIT_FOR_CHANNELS).
    Handled,
    /// The server is closing the channel.
    Disconnecting,
    /// A NOTIFY for the user: severity and text.
    Notify {
        /// SPICE_NOTIFY_SEVERITY_*.
        severity: u32,
        /// The message, cut to what the body holds.
        text: &'a [u8],
    },
    /// A channel-specific message for the channel's own handler.
    Channel(Message<'a>),
}

/// The core every open channel shares.
pub struct ChannelCore {
    reader: MessageReader,
    /// Outgoing side, separate so handlers can send while a frame is borrowed.
    pub sender: Sender,
    ack: Option<Ack>,
}

impl ChannelCore {
    /// A channel whose link agreed on `header`, with frames up to `max_message` bytes.
    pub fn new(header: HeaderKind, max_message: u32) -> Self {
        Self {
            reader: MessageReader::new(header).with_max_size(max_message),
            sender: Sender { writer: MessageWriter::new(header), out: Vec::new() },
            ack: None,
        }
    }

    /// Frames `input`, handles the base messages and passes every other
    /// message (and NOTIFY/DISCONNECTING) to `handle` with the sender.
    pub fn receive(
        &mut self,
        mut input: &[u8],
        mut handle: impl FnMut(&mut Sender, Base<'_>) -> Result<(), ChannelError>,
    ) -> Result<(), ChannelError> {
        while !input.is_empty() {
            let Some(frame) = self.reader.feed(&mut input).map_err(ChannelError::Frame)? else { break };
            // The SET_ACK that starts flow control is not itself counted.
            let counting = self.ack.is_some();
            for msg in frame.messages() {
                let base = base(&mut self.sender, &mut self.ack, msg)?;
                handle(&mut self.sender, base)?;
            }
            if let Some(ack) = self.ack.as_mut().filter(|_| counting) {
                ack.count += 1;
                if ack.count >= ack.window {
                    ack.count = 0;
                    self.sender.send(client::ACK, &[]);
                }
            }
        }
        Ok(())
    }
}

fn base<'a>(sender: &mut Sender, ack: &mut Option<Ack>, msg: Message<'a>) -> Result<Base<'a>, ChannelError> {
    let parsed = BaseMessage::parse(msg.msg_type, msg.body).map_err(ChannelError::Message)?;
    Ok(match parsed {
        Some(BaseMessage::SetAck(set)) => {
            sender.send(AckSync::MSG_TYPE, &AckSync { generation: set.generation }.to_vec());
            // A window of 0 turns flow control off.
            *ack = (set.window > 0).then_some(Ack { window: set.window, count: 0 });
            Base::Handled
        }
        Some(BaseMessage::Ping(ping)) => {
            sender.send(Pong::MSG_TYPE, &ping.pong().to_vec());
            Base::Handled
        }
        Some(BaseMessage::Notify(n)) => Base::Notify { severity: n.severity, text: n.message },
        Some(BaseMessage::Disconnecting(_)) => Base::Disconnecting,
        Some(_) => Base::Handled,
        None => Base::Channel(msg),
    })
}
