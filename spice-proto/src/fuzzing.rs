//! Entry points shared by the fuzz targets (`fuzz/`) and the stable test
//! that replays their corpus (`tests/fuzz_corpus.rs`). Each takes arbitrary
//! bytes and must never panic.

use crate::consts::ChannelType;
use crate::framing::MessageReader;
use crate::msg::ServerMessage;
use crate::wire::header::HeaderKind;

/// The first byte picks a channel; the rest is a mini-header stream whose
/// messages go through the typed parsers.
pub fn messages(data: &[u8]) {
    let Some((&ch, mut rest)) = data.split_first() else { return };
    let channel = ChannelType::from(ch % 7 + 1);
    let mut reader = MessageReader::new(HeaderKind::Mini).with_max_size(1 << 20);
    while let Ok(Some(frame)) = reader.feed(&mut rest) {
        for m in frame.messages() {
            let _ = ServerMessage::parse(channel, m.msg_type, m.body);
        }
    }
}
