//! Main channel messages (`MainChannel` in spice.proto).

use alloc::vec::Vec;

use super::{empty_client_message, len_u32, text, EmitMessage, Reader, Result, Writer};
use crate::consts::msg::main::{client as c, server as s};
use crate::consts::{ChannelType, LinkError};

/// Mouse mode bits (`SPICE_MOUSE_MODE_*`).
pub mod mouse_mode {
    /// Server mode: relative MOUSE_MOTION.
    pub const SERVER: u16 = 1 << 0;
    /// Client mode: absolute MOUSE_POSITION.
    pub const CLIENT: u16 = 1 << 1;
}

/// INIT: the session parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MainInit {
    /// Session id: the connection id of every other channel's link message.
    pub session_id: u32,
    /// How many display channels to expect.
    pub display_channels_hint: u32,
    /// Supported [`mouse_mode`] bits.
    pub supported_mouse_modes: u32,
    /// Current [`mouse_mode`].
    pub current_mouse_mode: u32,
    /// Whether a guest agent is connected.
    pub agent_connected: u32,
    /// Agent tokens granted.
    pub agent_tokens: u32,
    /// Multimedia time (ms).
    pub multi_media_time: u32,
    /// Guest RAM hint.
    pub ram_hint: u32,
}

impl MainInit {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("MAIN_INIT", body);
        Ok(MainInit {
            session_id: r.u32("session_id")?,
            display_channels_hint: r.u32("display_channels_hint")?,
            supported_mouse_modes: r.u32("supported_mouse_modes")?,
            current_mouse_mode: r.u32("current_mouse_mode")?,
            agent_connected: r.u32("agent_connected")?,
            agent_tokens: r.u32("agent_tokens")?,
            multi_media_time: r.u32("multi_media_time")?,
            ram_hint: r.u32("ram_hint")?,
        })
    }
}

/// A channel the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelId {
    /// Channel type.
    pub channel_type: ChannelType,
    /// Channel id.
    pub id: u8,
}

/// CHANNELS_LIST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsList {
    /// The channels, in server order.
    pub channels: Vec<ChannelId>,
}

impl ChannelsList {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("CHANNELS_LIST", body);
        let n = r.u32("num_of_channels")?;
        let channels = r.list("channels", n.into(), 2, |r| {
            Ok(ChannelId { channel_type: r.u8("channels.type")?.into(), id: r.u8("channels.id")? })
        })?;
        Ok(ChannelsList { channels })
    }
}

/// MOUSE_MODE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouseMode {
    /// Supported [`mouse_mode`] bits.
    pub supported: u16,
    /// Current [`mouse_mode`].
    pub current: u16,
}

/// Migration target (`DstInfo`): parsed to be reported; Clove does not migrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationDstInfo<'a> {
    /// Plain port.
    pub port: u16,
    /// TLS port.
    pub sport: u16,
    /// Host name (with its NUL, as sent).
    pub host: &'a [u8],
    /// Certificate subject, if any.
    pub cert_subject: Option<&'a [u8]>,
}

fn parse_dst_info<'a>(r: &mut Reader<'a>) -> Result<MigrationDstInfo<'a>> {
    let port = r.u16("port")?;
    let sport = r.u16("sport")?;
    let host_size = r.u32("host_size")?;
    let host = r.ptr_nonnull("host_data")?.take("host_data", host_size.into())?;
    let cert_size = r.u32("cert_subject_size")?;
    let cert_subject = match r.ptr("cert_subject_data")? {
        Some(mut p) => Some(p.take("cert_subject_data", cert_size.into())?),
        None => None,
    };
    Ok(MigrationDstInfo { port, sport, host, cert_subject })
}

/// NAME: the VM name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    /// The name as sent (NUL-terminated).
    pub name: &'a [u8],
}

impl<'a> Name<'a> {
    /// The name without trailing NULs, if it is UTF-8.
    pub fn text(&self) -> Option<&'a str> {
        text(self.name)
    }
}

/// A server message of the main channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainMessage<'a> {
    /// MIGRATE_BEGIN.
    MigrateBegin(MigrationDstInfo<'a>),
    /// MIGRATE_CANCEL.
    MigrateCancel,
    /// INIT.
    Init(MainInit),
    /// CHANNELS_LIST.
    ChannelsList(ChannelsList),
    /// MOUSE_MODE.
    MouseMode(MouseMode),
    /// MULTI_MEDIA_TIME (ms).
    MultiMediaTime(u32),
    /// AGENT_CONNECTED.
    AgentConnected,
    /// AGENT_DISCONNECTED with its error code.
    AgentDisconnected(LinkError),
    /// AGENT_DATA (raw VDAgent bytes).
    AgentData(&'a [u8]),
    /// AGENT_TOKEN: more tokens.
    AgentToken(u32),
    /// MIGRATE_SWITCH_HOST.
    MigrateSwitchHost(MigrationDstInfo<'a>),
    /// MIGRATE_END.
    MigrateEnd,
    /// NAME.
    Name(Name<'a>),
    /// UUID.
    Uuid([u8; 16]),
    /// AGENT_CONNECTED_TOKENS.
    AgentConnectedTokens(u32),
    /// MIGRATE_BEGIN_SEAMLESS.
    MigrateBeginSeamless {
        /// Target.
        dst: MigrationDstInfo<'a>,
        /// Source migration protocol version.
        src_mig_version: u32,
    },
    /// MIGRATE_DST_SEAMLESS_ACK.
    MigrateDstSeamlessAck,
    /// MIGRATE_DST_SEAMLESS_NACK.
    MigrateDstSeamlessNack,
}

impl<'a> MainMessage<'a> {
    /// Parses a main-channel message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            s::MIGRATE_BEGIN => MainMessage::MigrateBegin(parse_dst_info(&mut Reader::new("MIGRATE_BEGIN", body))?),
            s::MIGRATE_CANCEL => MainMessage::MigrateCancel,
            s::INIT => MainMessage::Init(MainInit::parse(body)?),
            s::CHANNELS_LIST => MainMessage::ChannelsList(ChannelsList::parse(body)?),
            s::MOUSE_MODE => {
                let mut r = Reader::new("MOUSE_MODE", body);
                MainMessage::MouseMode(MouseMode {
                    supported: r.u16("supported_modes")?,
                    current: r.u16("current_mode")?,
                })
            }
            s::MULTI_MEDIA_TIME => MainMessage::MultiMediaTime(Reader::new("MULTI_MEDIA_TIME", body).u32("time")?),
            s::AGENT_CONNECTED => MainMessage::AgentConnected,
            s::AGENT_DISCONNECTED => {
                MainMessage::AgentDisconnected(Reader::new("AGENT_DISCONNECTED", body).u32("error_code")?.into())
            }
            s::AGENT_DATA => MainMessage::AgentData(body),
            s::AGENT_TOKEN => MainMessage::AgentToken(Reader::new("AGENT_TOKEN", body).u32("num_tokens")?),
            s::MIGRATE_SWITCH_HOST => {
                MainMessage::MigrateSwitchHost(parse_dst_info(&mut Reader::new("MIGRATE_SWITCH_HOST", body))?)
            }
            s::MIGRATE_END => MainMessage::MigrateEnd,
            s::NAME => {
                let mut r = Reader::new("NAME", body);
                let len = r.u32("name_len")?;
                MainMessage::Name(Name { name: r.take("name", len.into())? })
            }
            s::UUID => {
                let mut uuid = [0u8; 16];
                uuid.copy_from_slice(Reader::new("UUID", body).take("uuid", 16)?);
                MainMessage::Uuid(uuid)
            }
            s::AGENT_CONNECTED_TOKENS => {
                MainMessage::AgentConnectedTokens(Reader::new("AGENT_CONNECTED_TOKENS", body).u32("num_tokens")?)
            }
            s::MIGRATE_BEGIN_SEAMLESS => {
                let mut r = Reader::new("MIGRATE_BEGIN_SEAMLESS", body);
                let dst = parse_dst_info(&mut r)?;
                MainMessage::MigrateBeginSeamless { dst, src_mig_version: r.u32("src_mig_version")? }
            }
            s::MIGRATE_DST_SEAMLESS_ACK => MainMessage::MigrateDstSeamlessAck,
            s::MIGRATE_DST_SEAMLESS_NACK => MainMessage::MigrateDstSeamlessNack,
            _ => return Ok(None),
        }))
    }
}

/// Implements a client message whose body is one little-endian integer.
macro_rules! int_client_message {
    ($(#[$attr:meta])* $name:ident { $(#[$fattr:meta])* $field:ident: $ty:ident }, $msg_type:expr, $label:expr) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            $(#[$fattr])*
            pub $field: $ty,
        }

        impl $name {
            /// Parses the body.
            pub fn parse(body: &[u8]) -> Result<Self> {
                Ok($name { $field: Reader::new($label, body).$ty(stringify!($field))? })
            }
        }

        impl EmitMessage for $name {
            const MSG_TYPE: u16 = $msg_type;
            const NAME: &'static str = $label;
            fn buffer_len(&self) -> usize {
                core::mem::size_of::<$ty>()
            }
            fn emit(&self, buf: &mut [u8]) -> Result<usize> {
                let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
                w.$ty(self.$field);
                w.finish()
            }
        }
    };
}
pub(crate) use int_client_message;

int_client_message!(
    /// CLIENT_INFO: the client's cache size.
    ClientInfo {
        /// Cache size.
        cache_size: u64
    },
    c::CLIENT_INFO,
    "CLIENT_INFO"
);
int_client_message!(
    /// MOUSE_MODE_REQUEST: ask for a [`mouse_mode`].
    MouseModeRequest {
        /// Requested [`mouse_mode`].
        mode: u16
    },
    c::MOUSE_MODE_REQUEST,
    "MOUSE_MODE_REQUEST"
);
int_client_message!(
    /// AGENT_START: start talking to the agent, granting tokens.
    AgentStart {
        /// Tokens granted.
        num_tokens: u32
    },
    c::AGENT_START,
    "AGENT_START"
);
int_client_message!(
    /// AGENT_TOKEN: grant more agent tokens.
    AgentToken {
        /// Tokens granted.
        num_tokens: u32
    },
    c::AGENT_TOKEN,
    "AGENT_TOKEN"
);
int_client_message!(
    /// MIGRATE_DST_DO_SEAMLESS.
    MigrateDstDoSeamless {
        /// Migration protocol version of the source.
        src_version: u32
    },
    c::MIGRATE_DST_DO_SEAMLESS,
    "MIGRATE_DST_DO_SEAMLESS"
);

empty_client_message!(
    /// ATTACH_CHANNELS: sent after INIT; the server then sends CHANNELS_LIST.
    AttachChannels,
    c::ATTACH_CHANNELS,
    "ATTACH_CHANNELS"
);

/// AGENT_DATA (client → agent): raw VDAgent bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentData<'a> {
    /// Raw bytes.
    pub data: &'a [u8],
}

impl EmitMessage for AgentData<'_> {
    const MSG_TYPE: u16 = c::AGENT_DATA;
    const NAME: &'static str = "AGENT_DATA";
    fn buffer_len(&self) -> usize {
        self.data.len()
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        len_u32(Self::NAME, "data", self.data.len())?;
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.bytes(self.data);
        w.finish()
    }
}

/// A client message of the main channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainClientMessage<'a> {
    /// CLIENT_INFO.
    ClientInfo(ClientInfo),
    /// MIGRATE_CONNECTED.
    MigrateConnected,
    /// MIGRATE_CONNECT_ERROR.
    MigrateConnectError,
    /// ATTACH_CHANNELS.
    AttachChannels,
    /// MOUSE_MODE_REQUEST.
    MouseModeRequest(MouseModeRequest),
    /// AGENT_START.
    AgentStart(AgentStart),
    /// AGENT_DATA.
    AgentData(AgentData<'a>),
    /// AGENT_TOKEN.
    AgentToken(AgentToken),
    /// MIGRATE_END.
    MigrateEnd,
    /// MIGRATE_DST_DO_SEAMLESS.
    MigrateDstDoSeamless(MigrateDstDoSeamless),
    /// MIGRATE_CONNECTED_SEAMLESS.
    MigrateConnectedSeamless,
    /// QUALITY_INDICATOR (opaque).
    QualityIndicator(&'a [u8]),
}

impl<'a> MainClientMessage<'a> {
    /// Parses a main-channel client message; `Ok(None)` for an unknown type.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            c::CLIENT_INFO => MainClientMessage::ClientInfo(ClientInfo::parse(body)?),
            c::MIGRATE_CONNECTED => MainClientMessage::MigrateConnected,
            c::MIGRATE_CONNECT_ERROR => MainClientMessage::MigrateConnectError,
            c::ATTACH_CHANNELS => MainClientMessage::AttachChannels,
            c::MOUSE_MODE_REQUEST => MainClientMessage::MouseModeRequest(MouseModeRequest::parse(body)?),
            c::AGENT_START => MainClientMessage::AgentStart(AgentStart::parse(body)?),
            c::AGENT_DATA => MainClientMessage::AgentData(AgentData { data: body }),
            c::AGENT_TOKEN => MainClientMessage::AgentToken(AgentToken::parse(body)?),
            c::MIGRATE_END => MainClientMessage::MigrateEnd,
            c::MIGRATE_DST_DO_SEAMLESS => MainClientMessage::MigrateDstDoSeamless(MigrateDstDoSeamless::parse(body)?),
            c::MIGRATE_CONNECTED_SEAMLESS => MainClientMessage::MigrateConnectedSeamless,
            c::QUALITY_INDICATOR => MainClientMessage::QualityIndicator(body),
            _ => return Ok(None),
        }))
    }

    /// Message type number.
    pub fn msg_type(&self) -> u16 {
        match self {
            MainClientMessage::ClientInfo(_) => c::CLIENT_INFO,
            MainClientMessage::MigrateConnected => c::MIGRATE_CONNECTED,
            MainClientMessage::MigrateConnectError => c::MIGRATE_CONNECT_ERROR,
            MainClientMessage::AttachChannels => c::ATTACH_CHANNELS,
            MainClientMessage::MouseModeRequest(_) => c::MOUSE_MODE_REQUEST,
            MainClientMessage::AgentStart(_) => c::AGENT_START,
            MainClientMessage::AgentData(_) => c::AGENT_DATA,
            MainClientMessage::AgentToken(_) => c::AGENT_TOKEN,
            MainClientMessage::MigrateEnd => c::MIGRATE_END,
            MainClientMessage::MigrateDstDoSeamless(_) => c::MIGRATE_DST_DO_SEAMLESS,
            MainClientMessage::MigrateConnectedSeamless => c::MIGRATE_CONNECTED_SEAMLESS,
            MainClientMessage::QualityIndicator(_) => c::QUALITY_INDICATOR,
        }
    }

    /// The body bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            MainClientMessage::ClientInfo(m) => m.to_vec(),
            MainClientMessage::MouseModeRequest(m) => m.to_vec(),
            MainClientMessage::AgentStart(m) => m.to_vec(),
            MainClientMessage::AgentData(m) => m.to_vec(),
            MainClientMessage::AgentToken(m) => m.to_vec(),
            MainClientMessage::MigrateDstDoSeamless(m) => m.to_vec(),
            MainClientMessage::QualityIndicator(b) => b.to_vec(),
            MainClientMessage::MigrateConnected
            | MainClientMessage::MigrateConnectError
            | MainClientMessage::AttachChannels
            | MainClientMessage::MigrateEnd
            | MainClientMessage::MigrateConnectedSeamless => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real bodies: main channel of input-glz.pcapng (INIT, MOUSE_MODE) and
    // playback-raw.pcapng (CHANNELS_LIST with 5 channels, MULTI_MEDIA_TIME).
    const INIT: [u8; 32] = [
        0x73, 0x03, 0x80, 0xc0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0x07, 0xdc,
        0x84, 0x00, 0x00, 0xe0, 0xff, 0x02,
    ];
    const CHANNELS_LIST: [u8; 14] = [0x05, 0, 0, 0, 0x05, 0, 0x06, 0, 0x02, 0, 0x04, 0, 0x03, 0];
    const MOUSE_MODE: [u8; 4] = [0x03, 0, 0x01, 0];
    const NAME: &[u8] = b"\x0c\x00\x00\x00QEMU 7.2.22\x00";

    #[test]
    fn init() {
        let Some(MainMessage::Init(i)) = MainMessage::parse(s::INIT, &INIT).unwrap() else { panic!() };
        assert_eq!(i.session_id, 0xc080_0373);
        assert_eq!((i.display_channels_hint, i.supported_mouse_modes, i.current_mouse_mode), (1, 1, 1));
        assert_eq!((i.agent_connected, i.agent_tokens, i.multi_media_time), (0, 10, 0x0084_dc07));
        assert_eq!(i.ram_hint, 0x02ff_e000);
        assert_eq!(MainInit::parse(&INIT[..31]).unwrap_err().field, "ram_hint");
    }

    #[test]
    fn channels_list() {
        let l = ChannelsList::parse(&CHANNELS_LIST).unwrap();
        let types: Vec<_> = l.channels.iter().map(|c| c.channel_type).collect();
        use ChannelType::*;
        assert_eq!(types, [Playback, Record, Display, Cursor, Inputs]);
        assert!(l.channels.iter().all(|c| c.id == 0));
        let mut huge = CHANNELS_LIST;
        huge[3] = 0x40; // 1 Gi channels in a 14-byte body
        assert!(ChannelsList::parse(&huge).is_err());
    }

    #[test]
    fn small_messages() {
        assert_eq!(
            MainMessage::parse(s::MOUSE_MODE, &MOUSE_MODE).unwrap(),
            Some(MainMessage::MouseMode(MouseMode { supported: 3, current: mouse_mode::SERVER }))
        );
        assert_eq!(
            MainMessage::parse(s::MULTI_MEDIA_TIME, &[0xf6, 0x14, 0x89, 0]).unwrap(),
            Some(MainMessage::MultiMediaTime(0x0089_14f6))
        );
        let Some(MainMessage::Name(n)) = MainMessage::parse(s::NAME, NAME).unwrap() else { panic!() };
        assert_eq!(n.text(), Some("QEMU 7.2.22"));
        assert!(MainMessage::parse(s::NAME, &NAME[..15]).is_err());
        assert_eq!(MainMessage::parse(s::UUID, &[0; 16]).unwrap(), Some(MainMessage::Uuid([0; 16])));
        assert!(MainMessage::parse(s::UUID, &[0; 15]).is_err());
        assert_eq!(
            MainMessage::parse(s::AGENT_DISCONNECTED, &[1, 0, 0, 0]).unwrap(),
            Some(MainMessage::AgentDisconnected(LinkError::Error))
        );
        assert_eq!(MainMessage::parse(s::AGENT_DATA, &[1, 2]).unwrap(), Some(MainMessage::AgentData(&[1, 2])));
        assert_eq!(MainMessage::parse(s::AGENT_TOKEN, &[5, 0, 0, 0]).unwrap(), Some(MainMessage::AgentToken(5)));
        assert_eq!(MainMessage::parse(200, &[]).unwrap(), None);
    }

    #[test]
    fn migrate_begin() {
        // port 5900, sport 0, host_size 2, host ptr 20, cert size 0, cert ptr NULL; then "h\0".
        let mut body = vec![0x0c, 0x17, 0, 0, 2, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        body.extend_from_slice(b"h\0");
        let Some(MainMessage::MigrateBegin(d)) = MainMessage::parse(s::MIGRATE_BEGIN, &body).unwrap() else { panic!() };
        assert_eq!((d.port, d.sport, d.host, d.cert_subject), (5900, 0, &b"h\0"[..], None));
        body[8] = 21; // host runs past the end
        assert!(MainMessage::parse(s::MIGRATE_BEGIN, &body).is_err());
        body[8] = 0; // NULL host
        assert_eq!(MainMessage::parse(s::MIGRATE_BEGIN, &body).unwrap_err().field, "host_data");
    }

    #[test]
    fn client_messages_round_trip() {
        // Real MOUSE_MODE_REQUEST (client mode) from input-glz.
        assert_eq!(MouseModeRequest { mode: mouse_mode::CLIENT }.to_vec(), [2, 0]);
        let msgs = [
            MainClientMessage::ClientInfo(ClientInfo { cache_size: 1 << 40 }),
            MainClientMessage::AttachChannels,
            MainClientMessage::MouseModeRequest(MouseModeRequest { mode: 2 }),
            MainClientMessage::AgentStart(AgentStart { num_tokens: 10 }),
            MainClientMessage::AgentData(AgentData { data: &[1, 2, 3] }),
            MainClientMessage::AgentToken(AgentToken { num_tokens: 3 }),
            MainClientMessage::MigrateDstDoSeamless(MigrateDstDoSeamless { src_version: 1 }),
            MainClientMessage::MigrateEnd,
        ];
        for m in msgs {
            let b = m.to_vec();
            assert_eq!(MainClientMessage::parse(m.msg_type(), &b).unwrap(), Some(m));
        }
        assert_eq!(AgentStart { num_tokens: 10 }.to_vec(), [10, 0, 0, 0]);
        assert_eq!(AttachChannels.to_vec(), []);
        let mut small = [0u8; 3];
        assert!(AgentStart { num_tokens: 1 }.emit(&mut small).is_err());
    }
}
