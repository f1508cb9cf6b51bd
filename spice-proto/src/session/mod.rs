//! Channel connections as sans-IO state machines, and the session that ties
//! them together.

pub mod channel;
pub mod link;
