//! Channel connections as sans-IO state machines, and the [`Session`] that
//! ties them together.
//!
//! The caller owns the sockets. It asks [`Session::poll_connect`] which
//! channel to open, reports [`Session::connected`], feeds what arrives to
//! [`Session::receive`], writes [`Session::pending_output`] out (and
//! [`Session::consume_output`] what it wrote), and drains
//! [`Session::poll_event`]. The primary surface is in [`Session::canvas`].

pub mod channel;
pub mod cursor;
mod display;
pub mod inputs;
pub mod link;
mod stream;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::auth::Entropy;
use crate::canvas::Canvas;
use crate::consts::caps;
use crate::consts::ChannelType;
use crate::msg::main::{mouse_mode, AttachChannels, MainMessage, MouseModeRequest};
use crate::msg::{EmitMessage, MsgError};
use crate::wire::Caps;
use channel::{Base, ChannelCore, ChannelError};
use cursor::{CursorChannel, CursorState};
use display::Display;
use inputs::{Inputs, Key};
use link::{Handshake, LinkConfig, LinkFailure};

pub use display::DisplayConfig;
pub use stream::StreamCounts;

/// Everything a session needs to know up front.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The ticket password ("" when the server has none).
    pub password: String,
    /// Largest message body accepted.
    pub max_message: u32,
    /// Open the inputs channel when offered.
    pub inputs: bool,
    /// Open the cursor channel when offered.
    pub cursor: bool,
    /// Ask for client (absolute) mouse mode when the server offers it.
    pub client_mouse: bool,
    /// Display channel settings.
    pub display: DisplayConfig,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            password: String::new(),
            max_message: crate::framing::DEFAULT_MAX_MESSAGE_SIZE,
            inputs: true,
            cursor: true,
            client_mouse: false,
            display: DisplayConfig::default(),
        }
    }
}

/// Index of a channel connection in the session.
pub type Handle = usize;

/// Something the caller may want to show or act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A channel finished its link stage.
    Linked {
        /// Which connection.
        handle: Handle,
        /// Its channel type.
        channel: ChannelType,
    },
    /// A channel connection ended (or failed); the session may go on.
    Closed {
        /// Which connection.
        handle: Handle,
        /// Its channel type.
        channel: ChannelType,
        /// Why, for the user.
        reason: String,
    },
    /// Mouse modes from MAIN_INIT or MOUSE_MODE: (supported, current).
    MouseMode {
        /// Supported mode bits.
        supported: u16,
        /// The current mode.
        current: u16,
    },
    /// A surface exists now.
    SurfaceCreated {
        /// Surface id (0 is the primary).
        surface: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A surface is gone.
    SurfaceDestroyed(u32),
    /// The server finished the initial drawing of the display (MARK).
    Mark,
    /// The display was reset.
    Reset,
    /// A NOTIFY text from the server.
    Notify(String),
    /// An image or draw command could not be rendered; the session goes on.
    DrawError(String),
    /// The guest's lock keys (SPICE_KEYBOARD_MODIFIER_FLAGS_*), to mirror on LEDs.
    KeyModifiers(u16),
    /// The cursor's shape, position or visibility changed: see [`Session::cursor`].
    CursorChanged,
}

/// Why the session (or one channel) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// The link stage failed.
    Link(LinkFailure),
    /// An open channel's stream broke.
    Channel(ChannelError),
    /// A message body is malformed.
    Message(MsgError),
    /// The server closed the main channel.
    MainClosed,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Link(e) => write!(f, "{e}"),
            Self::Channel(e) => write!(f, "{e}"),
            Self::Message(e) => write!(f, "{e}"),
            Self::MainClosed => f.write_str("the server closed the connection"),
        }
    }
}

impl From<MsgError> for SessionError {
    fn from(e: MsgError) -> Self {
        Self::Message(e)
    }
}

enum Kind {
    Main,
    Display(Box<Display>),
    Inputs(Inputs),
    Cursor(CursorChannel),
    Other,
}

enum State {
    /// Waiting for the caller to open the connection.
    Wanted {
        announced: bool,
    },
    Linking {
        handshake: Handshake,
        out: Vec<u8>,
    },
    Open {
        core: ChannelCore,
        kind: Kind,
    },
    Closed,
}

struct Slot {
    channel: ChannelType,
    id: u8,
    state: State,
}

/// One SPICE session: a main channel and the channels it offers.
pub struct Session {
    config: SessionConfig,
    entropy: Box<dyn Entropy>,
    slots: Vec<Slot>,
    session_id: Option<u32>,
    events: VecDeque<Event>,
    canvas: Canvas,
    cursor: CursorState,
}

impl Session {
    /// A session that will start with the main channel.
    pub fn new(config: SessionConfig, entropy: Box<dyn Entropy>) -> Self {
        let canvas = Canvas::new(config.display.canvas_limits);
        let main = Slot { channel: ChannelType::Main, id: 0, state: State::Wanted { announced: false } };
        Self {
            config,
            entropy,
            slots: alloc::vec![main],
            session_id: None,
            events: VecDeque::new(),
            canvas,
            cursor: CursorState::default(),
        }
    }

    /// The next connection the caller should open, once each.
    pub fn poll_connect(&mut self) -> Option<Handle> {
        self.slots.iter_mut().enumerate().find_map(|(h, s)| match &mut s.state {
            State::Wanted { announced } if !*announced => {
                *announced = true;
                Some(h)
            }
            _ => None,
        })
    }

    /// The channel type and id behind `handle`.
    pub fn channel(&self, handle: Handle) -> Option<(ChannelType, u8)> {
        self.slots.get(handle).map(|s| (s.channel, s.id))
    }

    /// The connection for `handle` is up: the link stage starts.
    pub fn connected(&mut self, handle: Handle) {
        let connection_id = self.session_id.unwrap_or(0);
        let Some(slot) = self.slots.get_mut(handle) else { return };
        if !matches!(slot.state, State::Wanted { .. }) {
            return;
        }
        let channel_caps = match slot.channel {
            ChannelType::Display => self.config.display.caps(),
            ChannelType::Main => main_caps(),
            _ => Caps::new(),
        };
        let config = LinkConfig { connection_id, channel_type: slot.channel, channel_id: slot.id, channel_caps };
        let mut handshake = Handshake::new(&config);
        let out = handshake.take_output();
        slot.state = State::Linking { handshake, out };
    }

    /// Bytes waiting to be sent on `handle`.
    pub fn pending_output(&self, handle: Handle) -> &[u8] {
        match self.slots.get(handle).map(|s| &s.state) {
            Some(State::Linking { out, .. }) => out,
            Some(State::Open { core, .. }) => core.sender.pending(),
            _ => &[],
        }
    }

    /// The caller sent the first `n` pending bytes of `handle`.
    pub fn consume_output(&mut self, handle: Handle, n: usize) {
        match self.slots.get_mut(handle).map(|s| &mut s.state) {
            Some(State::Linking { out, .. }) => {
                out.drain(..n.min(out.len()));
            }
            Some(State::Open { core, .. }) => core.sender.consume(n),
            _ => {}
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Surfaces and what was drawn on them.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// Mutable canvas access (to take damage rectangles).
    pub fn canvas_mut(&mut self) -> &mut Canvas {
        &mut self.canvas
    }

    /// How many images of each SPICE image type were decoded so far.
    pub fn images_decoded(&self) -> Vec<(crate::consts::ImageType, u64)> {
        let mut all: alloc::collections::BTreeMap<u8, u64> = alloc::collections::BTreeMap::new();
        for slot in &self.slots {
            if let State::Open { kind: Kind::Display(d), .. } = &slot.state {
                for (t, n) in &d.decoded {
                    *all.entry(*t).or_default() += n;
                }
            }
        }
        all.into_iter().map(|(t, n)| (t.into(), n)).collect()
    }

    /// Video streams created, frames decoded and drawn, reports sent and
    /// the largest stream so far, and streams alive now.
    pub fn stream_counts(&self) -> StreamCounts {
        let mut n = StreamCounts::default();
        for slot in &self.slots {
            if let State::Open { kind: Kind::Display(d), .. } = &slot.state {
                let c = d.streams.counts();
                n.created += c.created;
                n.frames += c.frames;
                n.reports += c.reports;
                n.live += c.live;
                let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
                if area(c.largest) > area(n.largest) {
                    n.largest = c.largest;
                }
            }
        }
        n
    }

    /// The pointer as the cursor channel describes it.
    pub fn cursor(&self) -> &CursorState {
        &self.cursor
    }

    /// The open inputs channel, with its sender.
    fn inputs(&mut self) -> Option<(&mut Inputs, &mut channel::Sender)> {
        self.slots.iter_mut().find_map(|s| match &mut s.state {
            State::Open { core, kind: Kind::Inputs(i) } => Some((i, &mut core.sender)),
            _ => None,
        })
    }

    /// Sends a key press (`down`) or release. False when no inputs channel is open.
    pub fn key(&mut self, key: Key, down: bool) -> bool {
        self.inputs().map(|(i, s)| i.key(s, key, down)).is_some()
    }

    /// Presses and releases Pause. False when no inputs channel is open.
    pub fn pause_key(&mut self) -> bool {
        self.inputs().map(|(i, s)| i.pause(s)).is_some()
    }

    /// Asks the server for a mouse mode ([`mouse_mode`] SERVER or CLIENT);
    /// the answer comes as [`Event::MouseMode`]. False before the main
    /// channel is open.
    pub fn request_mouse_mode(&mut self, mode: u16) -> bool {
        match &mut self.slots[0].state {
            State::Open { core, .. } => {
                send(&mut core.sender, &MouseModeRequest { mode });
                true
            }
            _ => false,
        }
    }

    /// Sets the guest's lock keys (SPICE_KEYBOARD_MODIFIER_FLAGS_*).
    pub fn key_modifiers(&mut self, modifiers: u16) -> bool {
        self.inputs().map(|(i, s)| i.modifiers(s, modifiers)).is_some()
    }

    /// Relative mouse motion (server mouse mode).
    pub fn mouse_motion(&mut self, dx: i32, dy: i32, buttons_state: u16) -> bool {
        self.inputs().map(|(i, s)| i.motion(s, dx, dy, buttons_state)).is_some()
    }

    /// Absolute mouse position (client mouse mode).
    pub fn mouse_position(&mut self, x: u32, y: u32, buttons_state: u16) -> bool {
        self.inputs().map(|(i, s)| i.position(s, x, y, buttons_state, 0)).is_some()
    }

    /// A button press or release (SPICE_MOUSE_BUTTON_*), with the new button mask.
    pub fn mouse_button(&mut self, button: u8, buttons_state: u16, pressed: bool) -> bool {
        self.inputs().map(|(i, s)| i.button(s, button, buttons_state, pressed)).is_some()
    }

    /// The session id from MAIN_INIT, once known.
    pub fn session_id(&self) -> Option<u32> {
        self.session_id
    }

    /// Whether the main channel is still open.
    pub fn is_alive(&self) -> bool {
        !matches!(self.slots[0].state, State::Closed)
    }

    /// The connection for `handle` closed (by the peer or an I/O error).
    /// Closing the main channel ends the session: `Err(MainClosed)`.
    pub fn closed(&mut self, handle: Handle, why: &str) -> Result<(), SessionError> {
        self.close(handle, String::from(why));
        if handle == 0 {
            return Err(SessionError::MainClosed);
        }
        Ok(())
    }

    fn close(&mut self, handle: Handle, reason: String) {
        if let Some(slot) = self.slots.get_mut(handle) {
            if !matches!(slot.state, State::Closed) {
                slot.state = State::Closed;
                self.events.push_back(Event::Closed { handle, channel: slot.channel, reason });
            }
        }
    }

    /// Feeds bytes that arrived on `handle`. An error closes that channel;
    /// on the main channel it ends the session.
    pub fn receive(&mut self, handle: Handle, bytes: &[u8]) -> Result<(), SessionError> {
        let result = self.receive_inner(handle, bytes);
        if let Err(e) = &result {
            let mut reason = String::new();
            let _ = fmt::write(&mut reason, format_args!("{e}"));
            self.close(handle, reason);
        }
        result
    }

    fn receive_inner(&mut self, handle: Handle, mut input: &[u8]) -> Result<(), SessionError> {
        let Some(slot) = self.slots.get_mut(handle) else { return Ok(()) };
        if let State::Linking { handshake, out } = &mut slot.state {
            let linked = handshake.receive(&mut input, &self.config.password, self.entropy.as_mut());
            // The ticket, once the reply is in.
            out.extend_from_slice(&handshake.take_output());
            let Some(linked) = linked.map_err(SessionError::Link)? else { return Ok(()) };
            let mut core = ChannelCore::new(linked.header, self.config.max_message);
            core.sender.push_raw(out);
            let kind = match slot.channel {
                ChannelType::Main => Kind::Main,
                ChannelType::Display => {
                    let display = Display::open(&self.config.display, &linked.server_channel_caps, &mut core.sender);
                    Kind::Display(Box::new(display))
                }
                ChannelType::Inputs => Kind::Inputs(Inputs::default()),
                ChannelType::Cursor => Kind::Cursor(CursorChannel::default()),
                _ => Kind::Other,
            };
            slot.state = State::Open { core, kind };
            self.events.push_back(Event::Linked { handle, channel: slot.channel });
        }
        if input.is_empty() {
            return Ok(());
        }
        let State::Open { core, kind } = &mut slot.state else { return Ok(()) };
        let mut offered = Vec::new();
        let events = &mut self.events;
        let canvas = &mut self.canvas;
        let session_id = &mut self.session_id;
        let config = &self.config;
        let cursor = &mut self.cursor;
        let mut disconnecting = false;
        core.receive(input, |sender, base| {
            let msg = match base {
                Base::Handled => return Ok(()),
                Base::Disconnecting => {
                    disconnecting = true;
                    return Ok(());
                }
                Base::Notify { text, .. } => {
                    events.push_back(Event::Notify(lossy_text(text)));
                    return Ok(());
                }
                Base::Channel(msg) => msg,
            };
            let result = match kind {
                Kind::Main => main_message(config, sender, events, session_id, &mut offered, msg.msg_type, msg.body),
                Kind::Display(d) => d.message(sender, canvas, events, msg.msg_type, msg.body),
                Kind::Inputs(i) => i.message(sender, events, msg.msg_type, msg.body),
                Kind::Cursor(c) => c.message(cursor, events, msg.msg_type, msg.body),
                Kind::Other => Ok(()),
            };
            result.map_err(ChannelError::Message)
        })
        .map_err(|e| match e {
            ChannelError::Message(m) => SessionError::Message(m),
            e => SessionError::Channel(e),
        })?;
        if disconnecting {
            self.close(handle, String::from("the server is disconnecting"));
        }
        for (channel, id) in offered {
            self.slots.push(Slot { channel, id, state: State::Wanted { announced: false } });
        }
        Ok(())
    }
}

/// Server text up to its first NUL, at most 1 KiB, invalid UTF-8 replaced.
fn lossy_text(b: &[u8]) -> String {
    let b = &b[..b.len().min(1024)];
    let b = b.split(|&c| c == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(b).into_owned()
}

fn main_caps() -> Caps {
    let mut c = Caps::new();
    let _ = c.set(caps::main::NAME_AND_UUID);
    c
}

fn main_message(
    config: &SessionConfig,
    sender: &mut channel::Sender,
    events: &mut VecDeque<Event>,
    session_id: &mut Option<u32>,
    offered: &mut Vec<(ChannelType, u8)>,
    msg_type: u16,
    body: &[u8],
) -> Result<(), MsgError> {
    let Some(msg) = MainMessage::parse(msg_type, body)? else { return Ok(()) };
    match msg {
        MainMessage::Init(init) => {
            *session_id = Some(init.session_id);
            let supported = init.supported_mouse_modes as u16;
            events.push_back(Event::MouseMode { supported, current: init.current_mouse_mode as u16 });
            if config.client_mouse && supported & mouse_mode::CLIENT != 0 {
                send(sender, &MouseModeRequest { mode: mouse_mode::CLIENT });
            }
            send(sender, &AttachChannels);
        }
        MainMessage::ChannelsList(list) => {
            for c in list.channels {
                let wanted = match c.channel_type {
                    ChannelType::Display => true,
                    ChannelType::Inputs => config.inputs,
                    ChannelType::Cursor => config.cursor,
                    _ => false,
                };
                if wanted {
                    offered.push((c.channel_type, c.id));
                }
            }
        }
        MainMessage::MouseMode(m) => events.push_back(Event::MouseMode { supported: m.supported, current: m.current }),
        _ => {}
    }
    Ok(())
}

fn send<M: EmitMessage>(sender: &mut channel::Sender, m: &M) {
    sender.send(M::MSG_TYPE, &m.to_vec());
}
