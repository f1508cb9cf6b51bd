//! Command-line options this stage understands.

use drivers::net::config::NetOptions;

/// What the command line asks of the boot itself.
pub struct Options {
    /// Exit QEMU through isa-debug-exit once booted (tests).
    pub test_exit: bool,
    /// `mode=WIDTHxHEIGHT` for a display we can set the mode of.
    pub mode: Option<(u32, u32)>,
    /// `test-fault=panic|stack`: fail on purpose once booted, so tests can
    /// check that faults are reported on serial and on screen.
    pub test_fault: Option<TestFault>,
    /// `ip=`, `gw=`, `dns=`, `nettest=` (parsed and tested in `drivers`).
    pub net: NetOptions,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TestFault {
    Panic,
    StackOverflow,
}

impl Options {
    pub fn parse(cmdline: &str) -> Self {
        let mut o = Self { test_exit: false, mode: None, test_fault: None, net: NetOptions::parse(cmdline) };
        for word in cmdline.split_ascii_whitespace() {
            match word.split_once('=') {
                None if word == "test-exit" => o.test_exit = true,
                Some(("mode", v)) => o.mode = parse_mode(v),
                Some(("test-fault", "panic")) => o.test_fault = Some(TestFault::Panic),
                Some(("test-fault", "stack")) => o.test_fault = Some(TestFault::StackOverflow),
                _ => {}
            }
        }
        o
    }
}

fn parse_mode(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}
