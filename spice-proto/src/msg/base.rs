//! Messages every channel understands (`BaseChannel` in spice.proto).

use alloc::vec::Vec;

use super::{empty_client_message, text, EmitMessage, Reader, Result, Writer};
use crate::consts::msg::base::{client as c, server as s};
use crate::consts::LinkError;

/// NOTIFY severities (`SPICE_NOTIFY_SEVERITY_*`).
pub mod severity {
    /// Information.
    pub const INFO: u32 = 0;
    /// Warning.
    pub const WARN: u32 = 1;
    /// Error.
    pub const ERROR: u32 = 2;
}

/// MIGRATE flags (`SPICE_MIGRATE_*`).
pub mod migrate_flags {
    /// The client must flush before migrating.
    pub const NEED_FLUSH: u32 = 1 << 0;
    /// The client must transfer migration data.
    pub const NEED_DATA_TRANSFER: u32 = 1 << 1;
}

/// MIGRATE: the channel is about to migrate (parsed to be reported; Clove
/// does not migrate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrate {
    /// [`migrate_flags`].
    pub flags: u32,
}

/// SET_ACK: ack every `window` frames; answer with [`AckSync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetAck {
    /// Generation, echoed in ACK_SYNC.
    pub generation: u32,
    /// Frames per ACK.
    pub window: u32,
}

impl SetAck {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("SET_ACK", body);
        Ok(SetAck { generation: r.u32("generation")?, window: r.u32("window")? })
    }
}

/// PING: answer with [`Pong`] carrying the same id and time. The padding
/// (bandwidth test) is borrowed, not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping<'a> {
    /// Ping id.
    pub id: u32,
    /// Server timestamp.
    pub time: u64,
    /// Padding bytes.
    pub data: &'a [u8],
}

impl<'a> Ping<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("PING", body);
        Ok(Ping { id: r.u32("id")?, time: r.u64("timestamp")?, data: r.rest() })
    }

    /// The matching PONG.
    pub fn pong(&self) -> Pong {
        Pong { id: self.id, time: self.time }
    }
}

/// One entry of a wait list: wait until `message_serial` has been handled
/// on the given channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelWait {
    /// Channel type.
    pub channel_type: u8,
    /// Channel id.
    pub channel_id: u8,
    /// Serial to wait for.
    pub message_serial: u64,
}

/// Size of one [`ChannelWait`] on the wire.
const CHANNEL_WAIT_LEN: usize = 10;

/// Parses `u8 count` + wait list (WAIT_FOR_CHANNELS, INVAL_ALL_PIXMAPS).
pub(crate) fn parse_wait_list(r: &mut Reader<'_>) -> Result<Vec<ChannelWait>> {
    let count = r.u8("wait_count")?;
    r.list("wait_list", count.into(), CHANNEL_WAIT_LEN, |r| {
        Ok(ChannelWait {
            channel_type: r.u8("wait_list.channel_type")?,
            channel_id: r.u8("wait_list.channel_id")?,
            message_serial: r.u64("wait_list.message_serial")?,
        })
    })
}

/// WAIT_FOR_CHANNELS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitForChannels {
    /// What to wait for.
    pub waits: Vec<ChannelWait>,
}

/// DISCONNECTING (both directions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnecting {
    /// Timestamp.
    pub time_stamp: u64,
    /// Reason.
    pub reason: LinkError,
}

impl Disconnecting {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new("DISCONNECTING", body);
        Ok(Disconnecting { time_stamp: r.u64("time_stamp")?, reason: r.u32("reason")?.into() })
    }
}

impl EmitMessage for Disconnecting {
    const MSG_TYPE: u16 = c::DISCONNECTING;
    const NAME: &'static str = "DISCONNECTING";
    fn buffer_len(&self) -> usize {
        12
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u64(self.time_stamp);
        w.u32(self.reason.into());
        w.finish()
    }
}

/// NOTIFY: a message for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notify<'a> {
    /// Timestamp.
    pub time_stamp: u64,
    /// [`severity`].
    pub severity: u32,
    /// Visibility (0 low, 1 medium, 2 high).
    pub visibility: u32,
    /// Error, warning or info code.
    pub what: u32,
    /// The text as sent (usually NUL-terminated).
    pub message: &'a [u8],
}

impl<'a> Notify<'a> {
    /// Parses the body.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("NOTIFY", body);
        let time_stamp = r.u64("time_stamp")?;
        let severity = r.u32("severity")?;
        let visibility = r.u32("visibility")?;
        let what = r.u32("what")?;
        let len = r.u32("message_len")?;
        let message = r.take("message", len.into())?;
        Ok(Notify { time_stamp, severity, visibility, what, message })
    }

    /// The text without trailing NULs, if it is UTF-8.
    pub fn text(&self) -> Option<&'a str> {
        text(self.message)
    }
}

/// A server message of the base channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseMessage<'a> {
    /// MIGRATE.
    Migrate(Migrate),
    /// MIGRATE_DATA (opaque).
    MigrateData(&'a [u8]),
    /// SET_ACK.
    SetAck(SetAck),
    /// PING.
    Ping(Ping<'a>),
    /// WAIT_FOR_CHANNELS.
    WaitForChannels(WaitForChannels),
    /// DISCONNECTING.
    Disconnecting(Disconnecting),
    /// NOTIFY.
    Notify(Notify<'a>),
    /// LIST: a sub-message list ([`crate::framing`] unpacks these; this
    /// arm only appears if a caller parses a LIST body directly).
    List(&'a [u8]),
}

impl<'a> BaseMessage<'a> {
    /// Parses a base message; `Ok(None)` if `msg_type` is not one.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            s::MIGRATE => BaseMessage::Migrate(Migrate { flags: Reader::new("MIGRATE", body).u32("flags")? }),
            s::MIGRATE_DATA => BaseMessage::MigrateData(body),
            s::SET_ACK => BaseMessage::SetAck(SetAck::parse(body)?),
            s::PING => BaseMessage::Ping(Ping::parse(body)?),
            s::WAIT_FOR_CHANNELS => BaseMessage::WaitForChannels(WaitForChannels {
                waits: parse_wait_list(&mut Reader::new("WAIT_FOR_CHANNELS", body))?,
            }),
            s::DISCONNECTING => BaseMessage::Disconnecting(Disconnecting::parse(body)?),
            s::NOTIFY => BaseMessage::Notify(Notify::parse(body)?),
            s::LIST => BaseMessage::List(body),
            _ => return Ok(None),
        }))
    }
}

/// ACK_SYNC: the answer to SET_ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckSync {
    /// The SET_ACK generation.
    pub generation: u32,
}

impl AckSync {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        Ok(AckSync { generation: Reader::new(Self::NAME, body).u32("generation")? })
    }
}

impl EmitMessage for AckSync {
    const MSG_TYPE: u16 = c::ACK_SYNC;
    const NAME: &'static str = "ACK_SYNC";
    fn buffer_len(&self) -> usize {
        4
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u32(self.generation);
        w.finish()
    }
}

empty_client_message!(
    /// ACK: sent after every `window` frames.
    Ack,
    c::ACK,
    "ACK"
);

empty_client_message!(
    /// MIGRATE_FLUSH_MARK.
    MigrateFlushMark,
    c::MIGRATE_FLUSH_MARK,
    "MIGRATE_FLUSH_MARK"
);

/// PONG: the answer to PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    /// The PING id.
    pub id: u32,
    /// The PING timestamp.
    pub time: u64,
}

impl Pong {
    /// Parses the body.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(Self::NAME, body);
        Ok(Pong { id: r.u32("id")?, time: r.u64("timestamp")? })
    }
}

impl EmitMessage for Pong {
    const MSG_TYPE: u16 = c::PONG;
    const NAME: &'static str = "PONG";
    fn buffer_len(&self) -> usize {
        12
    }
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(Self::NAME, buf, self.buffer_len())?;
        w.u32(self.id);
        w.u64(self.time);
        w.finish()
    }
}

/// A client message of the base channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseClientMessage<'a> {
    /// ACK_SYNC.
    AckSync(AckSync),
    /// ACK.
    Ack,
    /// PONG.
    Pong(Pong),
    /// MIGRATE_FLUSH_MARK.
    MigrateFlushMark,
    /// MIGRATE_DATA (opaque).
    MigrateData(&'a [u8]),
    /// DISCONNECTING.
    Disconnecting(Disconnecting),
}

impl<'a> BaseClientMessage<'a> {
    /// Parses a base client message; `Ok(None)` if `msg_type` is not one.
    pub fn parse(msg_type: u16, body: &'a [u8]) -> Result<Option<Self>> {
        Ok(Some(match msg_type {
            c::ACK_SYNC => BaseClientMessage::AckSync(AckSync::parse(body)?),
            c::ACK => BaseClientMessage::Ack,
            c::PONG => BaseClientMessage::Pong(Pong::parse(body)?),
            c::MIGRATE_FLUSH_MARK => BaseClientMessage::MigrateFlushMark,
            c::MIGRATE_DATA => BaseClientMessage::MigrateData(body),
            c::DISCONNECTING => BaseClientMessage::Disconnecting(Disconnecting::parse(body)?),
            _ => return Ok(None),
        }))
    }

    /// Message type number.
    pub fn msg_type(&self) -> u16 {
        match self {
            BaseClientMessage::AckSync(_) => c::ACK_SYNC,
            BaseClientMessage::Ack => c::ACK,
            BaseClientMessage::Pong(_) => c::PONG,
            BaseClientMessage::MigrateFlushMark => c::MIGRATE_FLUSH_MARK,
            BaseClientMessage::MigrateData(_) => c::MIGRATE_DATA,
            BaseClientMessage::Disconnecting(_) => c::DISCONNECTING,
        }
    }

    /// The body bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            BaseClientMessage::AckSync(m) => m.to_vec(),
            BaseClientMessage::Ack | BaseClientMessage::MigrateFlushMark => Vec::new(),
            BaseClientMessage::Pong(m) => m.to_vec(),
            BaseClientMessage::MigrateData(b) => b.to_vec(),
            BaseClientMessage::Disconnecting(m) => m.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::MsgErrorKind;

    // Real bodies from the captures (display channel of off.pcapng; main
    // channel of jpeg-anim.pcapng).
    const SET_ACK: [u8; 8] = [0x01, 0, 0, 0, 0x14, 0, 0, 0];
    const PING: [u8; 12] = [0x01, 0, 0, 0, 0x27, 0x99, 0x5f, 0x91, 0, 0, 0, 0];
    const NOTIFY: &[u8] = b"\xa0\x26\x3a\xdf\x37\x02\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\
        \x1c\x00\x00\x00keyboard channel is insecure\x00";

    #[test]
    fn set_ack_and_ack_sync() {
        let m = BaseMessage::parse(s::SET_ACK, &SET_ACK).unwrap().unwrap();
        assert_eq!(m, BaseMessage::SetAck(SetAck { generation: 1, window: 20 }));
        let reply = AckSync { generation: 1 };
        assert_eq!(reply.to_vec(), [1, 0, 0, 0]);
        assert_eq!(AckSync::parse(&reply.to_vec()).unwrap(), reply);
        let e = SetAck::parse(&SET_ACK[..7]).unwrap_err();
        assert_eq!((e.message, e.field), ("SET_ACK", "window"));
    }

    #[test]
    fn ping_pong() {
        let p = Ping::parse(&PING).unwrap();
        assert_eq!((p.id, p.time, p.data.len()), (1, 0x915f_9927, 0));
        let pong = p.pong().to_vec();
        assert_eq!(pong, PING);
        assert_eq!(Pong::parse(&pong).unwrap(), p.pong());
        let mut big = PING.to_vec();
        big.extend_from_slice(&[0; 1000]);
        assert_eq!(Ping::parse(&big).unwrap().data.len(), 1000);
        assert!(Ping::parse(&PING[..11]).is_err());
    }

    #[test]
    fn notify() {
        let n = Notify::parse(NOTIFY).unwrap();
        assert_eq!((n.severity, n.visibility, n.what), (severity::WARN, 2, 0));
        assert_eq!(n.text(), Some("keyboard channel is insecure"));
        let mut bad = NOTIFY.to_vec();
        bad[20] = 0xff; // message_len way past the body
        let e = Notify::parse(&bad).unwrap_err();
        assert_eq!(e.field, "message");
        assert!(matches!(e.kind, MsgErrorKind::Truncated { offset: 24, need: 0xff, len: 53 }));
    }

    #[test]
    fn wait_for_channels_and_disconnecting() {
        let body = [2, 2, 0, 9, 0, 0, 0, 0, 0, 0, 0, 4, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        let Some(BaseMessage::WaitForChannels(w)) = BaseMessage::parse(s::WAIT_FOR_CHANNELS, &body).unwrap() else {
            panic!()
        };
        assert_eq!(w.waits.len(), 2);
        assert_eq!(w.waits[1], ChannelWait { channel_type: 4, channel_id: 1, message_serial: 1 });
        assert!(BaseMessage::parse(s::WAIT_FOR_CHANNELS, &body[..20]).is_err());
        assert!(BaseMessage::parse(s::WAIT_FOR_CHANNELS, &[255]).is_err());

        let d = Disconnecting { time_stamp: 5, reason: LinkError::PermissionDenied };
        let b = d.to_vec();
        assert_eq!(b, [5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]);
        assert_eq!(BaseMessage::parse(s::DISCONNECTING, &b).unwrap(), Some(BaseMessage::Disconnecting(d)));
        assert_eq!(BaseClientMessage::parse(c::DISCONNECTING, &b).unwrap().unwrap().to_vec(), b);
        assert_eq!(
            BaseMessage::parse(s::MIGRATE, &[3, 0, 0, 0]).unwrap(),
            Some(BaseMessage::Migrate(Migrate { flags: 3 }))
        );
        assert_eq!(BaseMessage::parse(101, &[]).unwrap(), None);
        assert_eq!(Ack.to_vec(), []);
    }
}
