//! Protocol numbers: channel types, link errors, capability bits, message
//! types, image types and bitmap formats.
//!
//! Every group names the upstream header (spice-protocol `spice/enums.h` or
//! `spice/protocol.h`) it was checked against. Message numbers are plain `u16`
//! constants, because a client must pass unknown numbers through untouched;
//! the small closed sets that a client switches on are enums with an
//! `Unknown` arm.

/// Declares a `#[repr]`-less enum with an `Unknown(raw)` arm and lossless
/// conversions from and to the raw integer.
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vattr])* $variant ),+,
            /// A value this crate does not know.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant ),+,
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value ),+,
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

/// Link header magic `REDQ` as a little-endian `u32` (`spice/protocol.h`).
pub const MAGIC: u32 = u32::from_le_bytes(*b"REDQ");
/// Protocol major version (`spice/protocol.h`).
pub const VERSION_MAJOR: u32 = 2;
/// Protocol minor version (`spice/protocol.h`).
pub const VERSION_MINOR: u32 = 2;
/// Longest password the server accepts, without the NUL (`spice/protocol.h`).
pub const MAX_PASSWORD_LENGTH: usize = 60;
/// RSA modulus size of the ticket key in bits (`spice/protocol.h`).
pub const TICKET_KEY_PAIR_LENGTH: usize = 1024;
/// Size of the DER public key in the link reply: 1024 / 8 + 34 (`spice/protocol.h`).
pub const TICKET_PUBKEY_BYTES: usize = TICKET_KEY_PAIR_LENGTH / 8 + 34;
/// Size of the encrypted ticket the client sends (`spice/protocol.h`).
pub const ENCRYPTED_TICKET_BYTES: usize = TICKET_KEY_PAIR_LENGTH / 8;
/// Upper bound on video stream ids (`spice/protocol.h`).
pub const MAX_NUM_STREAMS: u32 = 64;
/// The server acks every this many MOUSE_MOTION/POSITION messages (`spice/protocol.h`).
pub const INPUT_MOTION_ACK_BUNCH: u32 = 4;

enum_with_unknown! {
    /// Channel types (`spice/enums.h`, `SPICE_CHANNEL_*`).
    pub enum ChannelType(u8) {
        /// Main channel.
        Main = 1,
        /// Display channel.
        Display = 2,
        /// Keyboard and mouse.
        Inputs = 3,
        /// Cursor shapes and positions.
        Cursor = 4,
        /// Audio to the client.
        Playback = 5,
        /// Audio from the client.
        Record = 6,
        /// Obsolete tunnel channel.
        Tunnel = 7,
        /// Smartcard passthrough.
        Smartcard = 8,
        /// USB redirection.
        Usbredir = 9,
        /// Named port.
        Port = 10,
        /// WebDAV folder sharing.
        Webdav = 11,
    }
}

impl ChannelType {
    /// Short lower-case name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            ChannelType::Main => "main",
            ChannelType::Display => "display",
            ChannelType::Inputs => "inputs",
            ChannelType::Cursor => "cursor",
            ChannelType::Playback => "playback",
            ChannelType::Record => "record",
            ChannelType::Tunnel => "tunnel",
            ChannelType::Smartcard => "smartcard",
            ChannelType::Usbredir => "usbredir",
            ChannelType::Port => "port",
            ChannelType::Webdav => "webdav",
            ChannelType::Unknown(_) => "unknown",
        }
    }
}

enum_with_unknown! {
    /// Link errors, in the link reply and in the link result (`spice/enums.h`, `SPICE_LINK_ERR_*`).
    pub enum LinkError(u32) {
        /// Success.
        Ok = 0,
        /// Unspecified error.
        Error = 1,
        /// Bad `REDQ` magic.
        InvalidMagic = 2,
        /// Malformed link message.
        InvalidData = 3,
        /// Major version differs.
        VersionMismatch = 4,
        /// The channel needs TLS.
        NeedSecured = 5,
        /// The channel needs plain TCP.
        NeedUnsecured = 6,
        /// Wrong ticket (password).
        PermissionDenied = 7,
        /// Unknown session (connection) id.
        BadConnectionId = 8,
        /// No such channel.
        ChannelNotAvailable = 9,
    }
}

impl LinkError {
    /// Human-readable description.
    pub fn describe(self) -> &'static str {
        match self {
            LinkError::Ok => "ok",
            LinkError::Error => "error",
            LinkError::InvalidMagic => "invalid magic",
            LinkError::InvalidData => "invalid data",
            LinkError::VersionMismatch => "version mismatch",
            LinkError::NeedSecured => "server requires TLS",
            LinkError::NeedUnsecured => "server requires plain TCP",
            LinkError::PermissionDenied => "permission denied (wrong password?)",
            LinkError::BadConnectionId => "bad connection id",
            LinkError::ChannelNotAvailable => "channel not available",
            LinkError::Unknown(_) => "unknown link error",
        }
    }
}

/// Capability bit numbers. A capability set is an array of `u32` words; bit
/// `n` lives in word `n / 32`, bit `n % 32`.
pub mod caps {
    /// Common capabilities, valid on every channel (`spice/protocol.h`, `SPICE_COMMON_CAP_*`).
    pub mod common {
        /// The client sends a `u32` auth mechanism before the ticket.
        pub const PROTOCOL_AUTH_SELECTION: u32 = 0;
        /// SPICE ticket (RSA-OAEP) authentication.
        pub const AUTH_SPICE: u32 = 1;
        /// SASL authentication.
        pub const AUTH_SASL: u32 = 2;
        /// 6-byte mini data header instead of the 18-byte one.
        pub const MINI_HEADER: u32 = 3;
    }
    /// Main channel (`spice/protocol.h`, `SPICE_MAIN_CAP_*`).
    pub mod main {
        /// Semi-seamless migration.
        pub const SEMI_SEAMLESS_MIGRATE: u32 = 0;
        /// MAIN_NAME and MAIN_UUID messages.
        pub const NAME_AND_UUID: u32 = 1;
        /// MAIN_AGENT_CONNECTED_TOKENS.
        pub const AGENT_CONNECTED_TOKENS: u32 = 2;
        /// Seamless migration.
        pub const SEAMLESS_MIGRATE: u32 = 3;
    }
    /// Display channel (`spice/protocol.h`, `SPICE_DISPLAY_CAP_*`).
    pub mod display {
        /// STREAM_DATA_SIZED.
        pub const SIZED_STREAM: u32 = 0;
        /// MONITORS_CONFIG.
        pub const MONITORS_CONFIG: u32 = 1;
        /// DRAW_COMPOSITE.
        pub const COMPOSITE: u32 = 2;
        /// A8 surfaces.
        pub const A8_SURFACE: u32 = 3;
        /// STREAM_REPORT / STREAM_ACTIVATE_REPORT.
        pub const STREAM_REPORT: u32 = 4;
        /// LZ4 images.
        pub const LZ4_COMPRESSION: u32 = 5;
        /// PREFERRED_COMPRESSION.
        pub const PREF_COMPRESSION: u32 = 6;
        /// GL_SCANOUT_UNIX / GL_DRAW.
        pub const GL_SCANOUT: u32 = 7;
        /// Codec bits below are meaningful.
        pub const MULTI_CODEC: u32 = 8;
        /// MJPEG video streams.
        pub const CODEC_MJPEG: u32 = 9;
        /// VP8 video streams.
        pub const CODEC_VP8: u32 = 10;
        /// H.264 video streams.
        pub const CODEC_H264: u32 = 11;
        /// PREFERRED_VIDEO_CODEC_TYPE.
        pub const PREF_VIDEO_CODEC_TYPE: u32 = 12;
        /// VP9 video streams.
        pub const CODEC_VP9: u32 = 13;
        /// H.265 video streams.
        pub const CODEC_H265: u32 = 14;
    }
    /// Inputs channel (`spice/protocol.h`, `SPICE_INPUTS_CAP_*`).
    pub mod inputs {
        /// KEY_SCANCODE messages.
        pub const KEY_SCANCODE: u32 = 0;
    }
    /// Cursor channel: spice-protocol defines no cursor capabilities
    /// (`spice/protocol.h` has no `SPICE_CURSOR_CAP_*`).
    pub mod cursor {}
    /// Playback channel (`spice/protocol.h`, `SPICE_PLAYBACK_CAP_*`).
    pub mod playback {
        /// CELT 0.5.1 (obsolete).
        pub const CELT_0_5_1: u32 = 0;
        /// PLAYBACK_VOLUME / PLAYBACK_MUTE.
        pub const VOLUME: u32 = 1;
        /// PLAYBACK_LATENCY.
        pub const LATENCY: u32 = 2;
        /// Opus data mode.
        pub const OPUS: u32 = 3;
    }
    /// Record channel (`spice/protocol.h`, `SPICE_RECORD_CAP_*`).
    pub mod record {
        /// CELT 0.5.1 (obsolete).
        pub const CELT_0_5_1: u32 = 0;
        /// RECORD_VOLUME / RECORD_MUTE.
        pub const VOLUME: u32 = 1;
        /// Opus data mode.
        pub const OPUS: u32 = 2;
    }
}

/// Value of the `u32` auth mechanism sent after the link reply when both sides
/// have `PROTOCOL_AUTH_SELECTION`: the capability number of the mechanism
/// (spice-gtk sends `SPICE_COMMON_CAP_AUTH_SPICE`, i.e. 1).
pub const AUTH_MECHANISM_SPICE: u32 = caps::common::AUTH_SPICE;

/// Message type numbers. `server` = server→client (`SPICE_MSG_*`), `client` =
/// client→server (`SPICE_MSGC_*`); all from `spice/enums.h`.
pub mod msg {
    /// Base messages every channel understands (`spice/enums.h`).
    pub mod base {
        /// Server → client (`SPICE_MSG_*`).
        pub mod server {
            /// MIGRATE.
            pub const MIGRATE: u16 = 1;
            /// MIGRATE_DATA.
            pub const MIGRATE_DATA: u16 = 2;
            /// SET_ACK { generation u32, window u32 }.
            pub const SET_ACK: u16 = 3;
            /// PING { id u32, timestamp u64, data[] }.
            pub const PING: u16 = 4;
            /// WAIT_FOR_CHANNELS.
            pub const WAIT_FOR_CHANNELS: u16 = 5;
            /// DISCONNECTING.
            pub const DISCONNECTING: u16 = 6;
            /// NOTIFY.
            pub const NOTIFY: u16 = 7;
            /// LIST: the body is a sub-message list.
            pub const LIST: u16 = 8;
            /// First channel-specific number is above this.
            pub const BASE_LAST: u16 = 100;
        }
        /// Client → server (`SPICE_MSGC_*`).
        pub mod client {
            /// ACK_SYNC { generation u32 }.
            pub const ACK_SYNC: u16 = 1;
            /// ACK (empty).
            pub const ACK: u16 = 2;
            /// PONG { id u32, timestamp u64 }.
            pub const PONG: u16 = 3;
            /// MIGRATE_FLUSH_MARK.
            pub const MIGRATE_FLUSH_MARK: u16 = 4;
            /// MIGRATE_DATA.
            pub const MIGRATE_DATA: u16 = 5;
            /// DISCONNECTING.
            pub const DISCONNECTING: u16 = 6;
        }
    }

    /// Main channel (`spice/enums.h`).
    pub mod main {
        /// Server → client (`SPICE_MSG_MAIN_*`).
        pub mod server {
            /// MIGRATE_BEGIN.
            pub const MIGRATE_BEGIN: u16 = 101;
            /// MIGRATE_CANCEL.
            pub const MIGRATE_CANCEL: u16 = 102;
            /// INIT.
            pub const INIT: u16 = 103;
            /// CHANNELS_LIST.
            pub const CHANNELS_LIST: u16 = 104;
            /// MOUSE_MODE.
            pub const MOUSE_MODE: u16 = 105;
            /// MULTI_MEDIA_TIME.
            pub const MULTI_MEDIA_TIME: u16 = 106;
            /// AGENT_CONNECTED.
            pub const AGENT_CONNECTED: u16 = 107;
            /// AGENT_DISCONNECTED.
            pub const AGENT_DISCONNECTED: u16 = 108;
            /// AGENT_DATA.
            pub const AGENT_DATA: u16 = 109;
            /// AGENT_TOKEN.
            pub const AGENT_TOKEN: u16 = 110;
            /// MIGRATE_SWITCH_HOST.
            pub const MIGRATE_SWITCH_HOST: u16 = 111;
            /// MIGRATE_END.
            pub const MIGRATE_END: u16 = 112;
            /// NAME.
            pub const NAME: u16 = 113;
            /// UUID.
            pub const UUID: u16 = 114;
            /// AGENT_CONNECTED_TOKENS.
            pub const AGENT_CONNECTED_TOKENS: u16 = 115;
            /// MIGRATE_BEGIN_SEAMLESS.
            pub const MIGRATE_BEGIN_SEAMLESS: u16 = 116;
            /// MIGRATE_DST_SEAMLESS_ACK.
            pub const MIGRATE_DST_SEAMLESS_ACK: u16 = 117;
            /// MIGRATE_DST_SEAMLESS_NACK.
            pub const MIGRATE_DST_SEAMLESS_NACK: u16 = 118;
        }
        /// Client → server (`SPICE_MSGC_MAIN_*`).
        pub mod client {
            /// CLIENT_INFO.
            pub const CLIENT_INFO: u16 = 101;
            /// MIGRATE_CONNECTED.
            pub const MIGRATE_CONNECTED: u16 = 102;
            /// MIGRATE_CONNECT_ERROR.
            pub const MIGRATE_CONNECT_ERROR: u16 = 103;
            /// ATTACH_CHANNELS.
            pub const ATTACH_CHANNELS: u16 = 104;
            /// MOUSE_MODE_REQUEST.
            pub const MOUSE_MODE_REQUEST: u16 = 105;
            /// AGENT_START.
            pub const AGENT_START: u16 = 106;
            /// AGENT_DATA.
            pub const AGENT_DATA: u16 = 107;
            /// AGENT_TOKEN.
            pub const AGENT_TOKEN: u16 = 108;
            /// MIGRATE_END.
            pub const MIGRATE_END: u16 = 109;
            /// MIGRATE_DST_DO_SEAMLESS.
            pub const MIGRATE_DST_DO_SEAMLESS: u16 = 110;
            /// MIGRATE_CONNECTED_SEAMLESS.
            pub const MIGRATE_CONNECTED_SEAMLESS: u16 = 111;
            /// QUALITY_INDICATOR.
            pub const QUALITY_INDICATOR: u16 = 112;
        }
    }

    /// Display channel (`spice/enums.h`).
    pub mod display {
        /// Server → client (`SPICE_MSG_DISPLAY_*`).
        pub mod server {
            /// MODE.
            pub const MODE: u16 = 101;
            /// MARK.
            pub const MARK: u16 = 102;
            /// RESET.
            pub const RESET: u16 = 103;
            /// COPY_BITS.
            pub const COPY_BITS: u16 = 104;
            /// INVAL_LIST.
            pub const INVAL_LIST: u16 = 105;
            /// INVAL_ALL_PIXMAPS.
            pub const INVAL_ALL_PIXMAPS: u16 = 106;
            /// INVAL_PALETTE.
            pub const INVAL_PALETTE: u16 = 107;
            /// INVAL_ALL_PALETTES.
            pub const INVAL_ALL_PALETTES: u16 = 108;
            /// STREAM_CREATE.
            pub const STREAM_CREATE: u16 = 122;
            /// STREAM_DATA.
            pub const STREAM_DATA: u16 = 123;
            /// STREAM_CLIP.
            pub const STREAM_CLIP: u16 = 124;
            /// STREAM_DESTROY.
            pub const STREAM_DESTROY: u16 = 125;
            /// STREAM_DESTROY_ALL.
            pub const STREAM_DESTROY_ALL: u16 = 126;
            /// DRAW_FILL.
            pub const DRAW_FILL: u16 = 302;
            /// DRAW_OPAQUE.
            pub const DRAW_OPAQUE: u16 = 303;
            /// DRAW_COPY.
            pub const DRAW_COPY: u16 = 304;
            /// DRAW_BLEND.
            pub const DRAW_BLEND: u16 = 305;
            /// DRAW_BLACKNESS.
            pub const DRAW_BLACKNESS: u16 = 306;
            /// DRAW_WHITENESS.
            pub const DRAW_WHITENESS: u16 = 307;
            /// DRAW_INVERS.
            pub const DRAW_INVERS: u16 = 308;
            /// DRAW_ROP3.
            pub const DRAW_ROP3: u16 = 309;
            /// DRAW_STROKE.
            pub const DRAW_STROKE: u16 = 310;
            /// DRAW_TEXT.
            pub const DRAW_TEXT: u16 = 311;
            /// DRAW_TRANSPARENT.
            pub const DRAW_TRANSPARENT: u16 = 312;
            /// DRAW_ALPHA_BLEND.
            pub const DRAW_ALPHA_BLEND: u16 = 313;
            /// SURFACE_CREATE.
            pub const SURFACE_CREATE: u16 = 314;
            /// SURFACE_DESTROY.
            pub const SURFACE_DESTROY: u16 = 315;
            /// STREAM_DATA_SIZED.
            pub const STREAM_DATA_SIZED: u16 = 316;
            /// MONITORS_CONFIG.
            pub const MONITORS_CONFIG: u16 = 317;
            /// DRAW_COMPOSITE.
            pub const DRAW_COMPOSITE: u16 = 318;
            /// STREAM_ACTIVATE_REPORT.
            pub const STREAM_ACTIVATE_REPORT: u16 = 319;
            /// GL_SCANOUT_UNIX.
            pub const GL_SCANOUT_UNIX: u16 = 320;
            /// GL_DRAW.
            pub const GL_DRAW: u16 = 321;
            /// QUALITY_INDICATOR.
            pub const QUALITY_INDICATOR: u16 = 322;
        }
        /// Client → server (`SPICE_MSGC_DISPLAY_*`).
        pub mod client {
            /// INIT (cache_id u8, cache_size i64, glz_dict_id u8, glz_window i32).
            pub const INIT: u16 = 101;
            /// STREAM_REPORT.
            pub const STREAM_REPORT: u16 = 102;
            /// PREFERRED_COMPRESSION.
            pub const PREFERRED_COMPRESSION: u16 = 103;
            /// GL_DRAW_DONE.
            pub const GL_DRAW_DONE: u16 = 104;
            /// PREFERRED_VIDEO_CODEC_TYPE.
            pub const PREFERRED_VIDEO_CODEC_TYPE: u16 = 105;
        }
    }

    /// Inputs channel (`spice/enums.h`).
    pub mod inputs {
        /// Server → client (`SPICE_MSG_INPUTS_*`).
        pub mod server {
            /// INIT.
            pub const INIT: u16 = 101;
            /// KEY_MODIFIERS.
            pub const KEY_MODIFIERS: u16 = 102;
            /// MOUSE_MOTION_ACK.
            pub const MOUSE_MOTION_ACK: u16 = 111;
        }
        /// Client → server (`SPICE_MSGC_INPUTS_*`).
        pub mod client {
            /// KEY_DOWN.
            pub const KEY_DOWN: u16 = 101;
            /// KEY_UP.
            pub const KEY_UP: u16 = 102;
            /// KEY_MODIFIERS.
            pub const KEY_MODIFIERS: u16 = 103;
            /// KEY_SCANCODE.
            pub const KEY_SCANCODE: u16 = 104;
            /// MOUSE_MOTION.
            pub const MOUSE_MOTION: u16 = 111;
            /// MOUSE_POSITION.
            pub const MOUSE_POSITION: u16 = 112;
            /// MOUSE_PRESS.
            pub const MOUSE_PRESS: u16 = 113;
            /// MOUSE_RELEASE.
            pub const MOUSE_RELEASE: u16 = 114;
        }
    }

    /// Cursor channel (`spice/enums.h`); the client sends only base messages.
    pub mod cursor {
        /// Server → client (`SPICE_MSG_CURSOR_*`).
        pub mod server {
            /// INIT.
            pub const INIT: u16 = 101;
            /// RESET.
            pub const RESET: u16 = 102;
            /// SET.
            pub const SET: u16 = 103;
            /// MOVE.
            pub const MOVE: u16 = 104;
            /// HIDE.
            pub const HIDE: u16 = 105;
            /// TRAIL.
            pub const TRAIL: u16 = 106;
            /// INVAL_ONE.
            pub const INVAL_ONE: u16 = 107;
            /// INVAL_ALL.
            pub const INVAL_ALL: u16 = 108;
        }
    }

    /// Playback channel (`spice/enums.h`); the client sends only base messages.
    pub mod playback {
        /// Server → client (`SPICE_MSG_PLAYBACK_*`).
        pub mod server {
            /// DATA.
            pub const DATA: u16 = 101;
            /// MODE.
            pub const MODE: u16 = 102;
            /// START.
            pub const START: u16 = 103;
            /// STOP.
            pub const STOP: u16 = 104;
            /// VOLUME.
            pub const VOLUME: u16 = 105;
            /// MUTE.
            pub const MUTE: u16 = 106;
            /// LATENCY.
            pub const LATENCY: u16 = 107;
        }
    }

    /// Record channel (`spice/enums.h`).
    pub mod record {
        /// Server → client (`SPICE_MSG_RECORD_*`).
        pub mod server {
            /// START.
            pub const START: u16 = 101;
            /// STOP.
            pub const STOP: u16 = 102;
            /// VOLUME.
            pub const VOLUME: u16 = 103;
            /// MUTE.
            pub const MUTE: u16 = 104;
        }
        /// Client → server (`SPICE_MSGC_RECORD_*`).
        pub mod client {
            /// DATA.
            pub const DATA: u16 = 101;
            /// MODE.
            pub const MODE: u16 = 102;
            /// START_MARK.
            pub const START_MARK: u16 = 103;
        }
    }
}

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Server → client (`SPICE_MSG_*`).
    ServerToClient,
    /// Client → server (`SPICE_MSGC_*`).
    ClientToServer,
}

/// Name of a message type on a channel, for logs and debug tables.
pub fn message_name(channel: ChannelType, dir: Direction, msg_type: u16) -> Option<&'static str> {
    use Direction::*;
    let base = match (dir, msg_type) {
        (ServerToClient, 1) => Some("MIGRATE"),
        (ServerToClient, 2) => Some("MIGRATE_DATA"),
        (ServerToClient, 3) => Some("SET_ACK"),
        (ServerToClient, 4) => Some("PING"),
        (ServerToClient, 5) => Some("WAIT_FOR_CHANNELS"),
        (ServerToClient, 6) => Some("DISCONNECTING"),
        (ServerToClient, 7) => Some("NOTIFY"),
        (ServerToClient, 8) => Some("LIST"),
        (ClientToServer, 1) => Some("ACK_SYNC"),
        (ClientToServer, 2) => Some("ACK"),
        (ClientToServer, 3) => Some("PONG"),
        (ClientToServer, 4) => Some("MIGRATE_FLUSH_MARK"),
        (ClientToServer, 5) => Some("MIGRATE_DATA"),
        (ClientToServer, 6) => Some("DISCONNECTING"),
        _ => None,
    };
    if base.is_some() {
        return base;
    }
    const MAIN_S: &[&str] = &[
        "MIGRATE_BEGIN",
        "MIGRATE_CANCEL",
        "INIT",
        "CHANNELS_LIST",
        "MOUSE_MODE",
        "MULTI_MEDIA_TIME",
        "AGENT_CONNECTED",
        "AGENT_DISCONNECTED",
        "AGENT_DATA",
        "AGENT_TOKEN",
        "MIGRATE_SWITCH_HOST",
        "MIGRATE_END",
        "NAME",
        "UUID",
        "AGENT_CONNECTED_TOKENS",
        "MIGRATE_BEGIN_SEAMLESS",
        "MIGRATE_DST_SEAMLESS_ACK",
        "MIGRATE_DST_SEAMLESS_NACK",
    ];
    const MAIN_C: &[&str] = &[
        "CLIENT_INFO",
        "MIGRATE_CONNECTED",
        "MIGRATE_CONNECT_ERROR",
        "ATTACH_CHANNELS",
        "MOUSE_MODE_REQUEST",
        "AGENT_START",
        "AGENT_DATA",
        "AGENT_TOKEN",
        "MIGRATE_END",
        "MIGRATE_DST_DO_SEAMLESS",
        "MIGRATE_CONNECTED_SEAMLESS",
        "QUALITY_INDICATOR",
    ];
    const DISPLAY_S_101: &[&str] = &[
        "MODE",
        "MARK",
        "RESET",
        "COPY_BITS",
        "INVAL_LIST",
        "INVAL_ALL_PIXMAPS",
        "INVAL_PALETTE",
        "INVAL_ALL_PALETTES",
    ];
    const DISPLAY_S_122: &[&str] =
        &["STREAM_CREATE", "STREAM_DATA", "STREAM_CLIP", "STREAM_DESTROY", "STREAM_DESTROY_ALL"];
    const DISPLAY_S_302: &[&str] = &[
        "DRAW_FILL",
        "DRAW_OPAQUE",
        "DRAW_COPY",
        "DRAW_BLEND",
        "DRAW_BLACKNESS",
        "DRAW_WHITENESS",
        "DRAW_INVERS",
        "DRAW_ROP3",
        "DRAW_STROKE",
        "DRAW_TEXT",
        "DRAW_TRANSPARENT",
        "DRAW_ALPHA_BLEND",
        "SURFACE_CREATE",
        "SURFACE_DESTROY",
        "STREAM_DATA_SIZED",
        "MONITORS_CONFIG",
        "DRAW_COMPOSITE",
        "STREAM_ACTIVATE_REPORT",
        "GL_SCANOUT_UNIX",
        "GL_DRAW",
        "QUALITY_INDICATOR",
    ];
    const DISPLAY_C: &[&str] =
        &["INIT", "STREAM_REPORT", "PREFERRED_COMPRESSION", "GL_DRAW_DONE", "PREFERRED_VIDEO_CODEC_TYPE"];
    const INPUTS_C_101: &[&str] = &["KEY_DOWN", "KEY_UP", "KEY_MODIFIERS", "KEY_SCANCODE"];
    const INPUTS_C_111: &[&str] = &["MOUSE_MOTION", "MOUSE_POSITION", "MOUSE_PRESS", "MOUSE_RELEASE"];
    const CURSOR_S: &[&str] = &["INIT", "RESET", "SET", "MOVE", "HIDE", "TRAIL", "INVAL_ONE", "INVAL_ALL"];
    const PLAYBACK_S: &[&str] = &["DATA", "MODE", "START", "STOP", "VOLUME", "MUTE", "LATENCY"];

    fn from(table: &'static [&'static str], first: u16, t: u16) -> Option<&'static str> {
        t.checked_sub(first).and_then(|i| table.get(usize::from(i))).copied()
    }
    match (channel, dir) {
        (ChannelType::Main, ServerToClient) => from(MAIN_S, 101, msg_type),
        (ChannelType::Main, ClientToServer) => from(MAIN_C, 101, msg_type),
        (ChannelType::Display, ServerToClient) => from(DISPLAY_S_101, 101, msg_type)
            .or_else(|| from(DISPLAY_S_122, 122, msg_type))
            .or_else(|| from(DISPLAY_S_302, 302, msg_type)),
        (ChannelType::Display, ClientToServer) => from(DISPLAY_C, 101, msg_type),
        (ChannelType::Inputs, ServerToClient) => match msg_type {
            101 => Some("INIT"),
            102 => Some("KEY_MODIFIERS"),
            111 => Some("MOUSE_MOTION_ACK"),
            _ => None,
        },
        (ChannelType::Inputs, ClientToServer) => {
            from(INPUTS_C_101, 101, msg_type).or_else(|| from(INPUTS_C_111, 111, msg_type))
        }
        (ChannelType::Cursor, ServerToClient) => from(CURSOR_S, 101, msg_type),
        (ChannelType::Playback, ServerToClient) => from(PLAYBACK_S, 101, msg_type),
        (ChannelType::Record, ServerToClient) => from(&["START", "STOP", "VOLUME", "MUTE"], 101, msg_type),
        (ChannelType::Record, ClientToServer) => from(&["DATA", "MODE", "START_MARK"], 101, msg_type),
        _ => None,
    }
}

enum_with_unknown! {
    /// Image descriptor types (`spice/enums.h`, `SpiceImageType`). Note the
    /// gap: RESERVED is 2 and LZ_PLT restarts at 100.
    pub enum ImageType(u8) {
        /// Uncompressed bitmap.
        Bitmap = 0,
        /// QUIC.
        Quic = 1,
        /// Reserved, never sent.
        Reserved = 2,
        /// LZ with a palette.
        LzPlt = 100,
        /// LZ RGB.
        LzRgb = 101,
        /// GLZ RGB (shared dictionary).
        GlzRgb = 102,
        /// From the image cache.
        FromCache = 103,
        /// Copy of another surface.
        Surface = 104,
        /// JPEG.
        Jpeg = 105,
        /// From the image cache, lossless copy required.
        FromCacheLossless = 106,
        /// zlib around GLZ.
        ZlibGlzRgb = 107,
        /// JPEG with an LZ alpha plane.
        JpegAlpha = 108,
        /// LZ4.
        Lz4 = 109,
    }
}

enum_with_unknown! {
    /// Bitmap pixel formats (`spice/enums.h`, `SpiceBitmapFmt`).
    pub enum BitmapFormat(u8) {
        /// Invalid.
        Invalid = 0,
        /// 1 bpp, LSB first, palette.
        OneBitLe = 1,
        /// 1 bpp, MSB first, palette.
        OneBitBe = 2,
        /// 4 bpp, low nibble first, palette.
        FourBitLe = 3,
        /// 4 bpp, high nibble first, palette.
        FourBitBe = 4,
        /// 8 bpp, palette.
        EightBit = 5,
        /// 16 bpp 555.
        SixteenBit = 6,
        /// 24 bpp BGR.
        TwentyFourBit = 7,
        /// 32 bpp xRGB.
        ThirtyTwoBit = 8,
        /// 32 bpp ARGB.
        Rgba = 9,
        /// 8 bpp alpha only.
        EightBitA = 10,
    }
}

/// Image descriptor flags (`spice/enums.h`, `SPICE_IMAGE_FLAGS_*`).
pub mod image_flags {
    /// Store the image in the cache.
    pub const CACHE_ME: u8 = 1 << 0;
    /// High bits of the pixel values are set.
    pub const HIGH_BITS_SET: u8 = 1 << 1;
    /// Replace an existing cache entry with the same id.
    pub const CACHE_REPLACE_ME: u8 = 1 << 2;
}

/// Bitmap flags (`spice/enums.h`, `SPICE_BITMAP_FLAGS_*`).
pub mod bitmap_flags {
    /// Cache the palette.
    pub const PAL_CACHE_ME: u8 = 1 << 0;
    /// The palette comes from the cache.
    pub const PAL_FROM_CACHE: u8 = 1 << 1;
    /// Rows are stored top-down.
    pub const TOP_DOWN: u8 = 1 << 2;
}

enum_with_unknown! {
    /// Surface formats (`spice/enums.h`, `SpiceSurfaceFmt`).
    pub enum SurfaceFormat(u32) {
        /// Invalid.
        Invalid = 0,
        /// 1-bit alpha.
        OneA = 1,
        /// 8-bit alpha.
        EightA = 8,
        /// 16-bit 555.
        Sixteen555 = 16,
        /// 32-bit xRGB.
        ThirtyTwoXrgb = 32,
        /// 16-bit 565.
        Sixteen565 = 80,
        /// 32-bit ARGB.
        ThirtyTwoArgb = 96,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_match_enums_h() {
        // enums.h: BITMAP, QUIC, RESERVED, then LZ_PLT = 100 and counting on.
        assert_eq!(u8::from(ImageType::Quic), 1);
        assert_eq!(u8::from(ImageType::LzPlt), 100);
        assert_eq!(u8::from(ImageType::LzRgb), 101);
        assert_eq!(u8::from(ImageType::GlzRgb), 102);
        assert_eq!(u8::from(ImageType::FromCache), 103);
        assert_eq!(u8::from(ImageType::Surface), 104);
        assert_eq!(u8::from(ImageType::Jpeg), 105);
        assert_eq!(u8::from(ImageType::FromCacheLossless), 106);
        assert_eq!(u8::from(ImageType::ZlibGlzRgb), 107);
        assert_eq!(u8::from(ImageType::JpegAlpha), 108);
        assert_eq!(u8::from(ImageType::Lz4), 109);
        assert_eq!(ImageType::from(110), ImageType::Unknown(110));
        for raw in 0..=255u8 {
            assert_eq!(u8::from(ImageType::from(raw)), raw);
        }
    }

    #[test]
    fn channel_and_link_error_round_trip() {
        assert_eq!(ChannelType::from(2), ChannelType::Display);
        assert_eq!(u8::from(ChannelType::Webdav), 11);
        assert_eq!(LinkError::from(7), LinkError::PermissionDenied);
        assert_eq!(u32::from(LinkError::ChannelNotAvailable), 9);
        assert_eq!(MAGIC, 0x5144_4552);
        assert_eq!(TICKET_PUBKEY_BYTES, 162);
    }

    #[test]
    fn message_names() {
        use Direction::*;
        assert_eq!(message_name(ChannelType::Display, ServerToClient, 304), Some("DRAW_COPY"));
        assert_eq!(message_name(ChannelType::Display, ServerToClient, 322), Some("QUALITY_INDICATOR"));
        assert_eq!(message_name(ChannelType::Display, ServerToClient, 110), None);
        assert_eq!(message_name(ChannelType::Main, ServerToClient, 118), Some("MIGRATE_DST_SEAMLESS_NACK"));
        assert_eq!(message_name(ChannelType::Inputs, ClientToServer, 114), Some("MOUSE_RELEASE"));
        assert_eq!(message_name(ChannelType::Cursor, ServerToClient, 8), Some("LIST"));
        assert_eq!(message_name(ChannelType::Main, ClientToServer, 3), Some("PONG"));
        assert_eq!(msg::display::server::QUALITY_INDICATOR, 322);
        assert_eq!(msg::main::client::QUALITY_INDICATOR, 112);
    }
}
