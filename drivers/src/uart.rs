//! 16550 UART, polled, transmit-mostly: the boot log and debug console.
//!
//! Serial output must never hang the machine, so every wait for the
//! transmitter is bounded and a byte that cannot be sent is dropped and
//! counted instead.

use crate::port::PortIo;
use core::fmt;

/// The first legacy serial port.
pub const COM1: u16 = 0x3F8;

/// Register offsets from the base port.
mod reg {
    /// Receive buffer (read) / transmit holding (write); divisor low with DLAB.
    pub const DATA: u16 = 0;
    /// Interrupt enable; divisor high with DLAB.
    pub const IER: u16 = 1;
    /// FIFO control (write).
    pub const FCR: u16 = 2;
    /// Line control.
    pub const LCR: u16 = 3;
    /// Modem control.
    pub const MCR: u16 = 4;
    /// Line status.
    pub const LSR: u16 = 5;
    /// Scratch: plain storage, only there if a UART is.
    pub const SCRATCH: u16 = 7;
}

const LCR_DLAB: u8 = 0x80;
/// 8 data bits, no parity, 1 stop bit.
const LCR_8N1: u8 = 0x03;
/// Enable FIFOs, clear RX and TX FIFOs, RX trigger at 14 bytes.
const FCR_ENABLE_CLEAR: u8 = 0xC7;
/// DTR | RTS | OUT2 (OUT2 gates the IRQ line on PCs; set it as firmware does).
const MCR_DTR_RTS_OUT2: u8 = 0x0B;
const LSR_DATA_READY: u8 = 0x01;
const LSR_THRE: u8 = 0x20;

/// The divisor latch counts from this clock (1.8432 MHz / 16).
const BASE_BAUD: u32 = 115_200;

/// Polls of LSR before a byte is given up. At 115200 baud a byte takes about
/// 87 us, and a port read on real hardware roughly 1 us.
pub const THRE_POLL_LIMIT: u32 = 100_000;

/// Why the UART could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UartError {
    /// The scratch register did not keep a value written to it.
    NotPresent { base: u16 },
    /// `baud` is not 115200 divided by a whole number that fits the latch.
    BadBaud { base: u16, baud: u32 },
}

impl fmt::Display for UartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UartError::NotPresent { base } => {
                write!(f, "no 16550 UART at port {base:#x}: scratch register did not read back")
            }
            UartError::BadBaud { base, baud } => {
                write!(f, "UART at port {base:#x}: baud rate {baud} is not 115200 divided by a whole number")
            }
        }
    }
}

/// A polled 16550 UART at `base`.
pub struct Uart16550<P: PortIo> {
    ports: P,
    base: u16,
    dropped: u64,
    /// Set after a transmit timeout: later bytes poll once instead of
    /// spinning the full bound each, so a dead UART costs one read per byte.
    stalled: bool,
}

impl<P: PortIo> Uart16550<P> {
    pub fn new(ports: P, base: u16) -> Self {
        Self { ports, base, dropped: 0, stalled: false }
    }

    pub fn base(&self) -> u16 {
        self.base
    }

    /// Bytes dropped because the transmitter never became ready.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// Checks a UART is there, then programs `baud`, 8N1, FIFOs and MCR.
    /// Interrupts stay off: the driver is polled.
    pub fn init(&mut self, baud: u32) -> Result<(), UartError> {
        let divisor = match BASE_BAUD.checked_div(baud) {
            Some(d) if BASE_BAUD.is_multiple_of(baud) && d <= u16::MAX as u32 => d as u16,
            _ => return Err(UartError::BadBaud { base: self.base, baud }),
        };
        // An absent port floats to 0xff, so test two complementary patterns.
        for pattern in [0x55, 0xAA] {
            self.write(reg::SCRATCH, pattern);
            if self.read(reg::SCRATCH) != pattern {
                return Err(UartError::NotPresent { base: self.base });
            }
        }
        self.write(reg::IER, 0);
        self.write(reg::LCR, LCR_DLAB);
        let [lo, hi] = divisor.to_le_bytes();
        self.write(reg::DATA, lo);
        self.write(reg::IER, hi);
        self.write(reg::LCR, LCR_8N1);
        self.write(reg::FCR, FCR_ENABLE_CLEAR);
        self.write(reg::MCR, MCR_DTR_RTS_OUT2);
        self.stalled = false;
        Ok(())
    }

    /// Sends one byte once the transmit holding register is empty, or drops
    /// it (and counts it) if that does not happen within the poll bound.
    pub fn write_byte(&mut self, byte: u8) {
        let limit = if self.stalled { 1 } else { THRE_POLL_LIMIT };
        for _ in 0..limit {
            if self.read(reg::LSR) & LSR_THRE != 0 {
                self.write(reg::DATA, byte);
                self.stalled = false;
                return;
            }
        }
        self.stalled = true;
        self.dropped += 1;
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.read(reg::LSR) & LSR_DATA_READY != 0 {
            Some(self.read(reg::DATA))
        } else {
            None
        }
    }

    fn read(&mut self, reg: u16) -> u8 {
        self.ports.read8(self.base + reg)
    }

    fn write(&mut self, reg: u16, value: u8) {
        self.ports.write8(self.base + reg, value)
    }
}

/// Text output with "\n" sent as "\r\n" for terminals. Never fails: bytes
/// that cannot be sent are counted in [`Uart16550::dropped`].
impl<P: PortIo> fmt::Write for Uart16550<P> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::mock::{Access, RecordingPorts};
    use core::fmt::Write as _;

    const LSR: u16 = COM1 + 5;

    fn present() -> RecordingPorts {
        let mut p = RecordingPorts::new();
        p.script(COM1 + 7, &[0x55, 0xAA]);
        p
    }

    #[test]
    fn init_sequence_is_exact() {
        let mut u = Uart16550::new(present(), COM1);
        u.init(38_400).unwrap();
        assert_eq!(
            u.ports().log,
            [
                Access::Write8(0x3FF, 0x55),
                Access::Read8(0x3FF, 0x55),
                Access::Write8(0x3FF, 0xAA),
                Access::Read8(0x3FF, 0xAA),
                Access::Write8(0x3F9, 0x00),
                Access::Write8(0x3FB, 0x80),
                Access::Write8(0x3F8, 3),
                Access::Write8(0x3F9, 0),
                Access::Write8(0x3FB, 0x03),
                Access::Write8(0x3FA, 0xC7),
                Access::Write8(0x3FC, 0x0B),
            ]
        );
    }

    #[test]
    fn divisor_high_byte_is_written() {
        let mut u = Uart16550::new(present(), COM1);
        u.init(300).unwrap();
        // 115200 / 300 = 384 = 0x0180.
        assert_eq!(u.ports().writes()[4..6], [(0x3F8, 0x80), (0x3F9, 0x01)]);
    }

    #[test]
    fn bad_baud_touches_nothing() {
        for baud in [0, 1, 100_000, 230_400] {
            let mut u = Uart16550::new(present(), COM1);
            assert_eq!(u.init(baud), Err(UartError::BadBaud { base: COM1, baud }));
            assert!(u.ports().log.is_empty());
        }
    }

    #[test]
    fn absent_uart_is_detected() {
        // Nothing answers: reads float to 0xff.
        let mut u = Uart16550::new(RecordingPorts::new(), COM1);
        assert_eq!(u.init(115_200), Err(UartError::NotPresent { base: COM1 }));
        assert_eq!(u.ports().log, [Access::Write8(0x3FF, 0x55), Access::Read8(0x3FF, 0xFF)]);
        assert_eq!(
            UartError::NotPresent { base: COM1 }.to_string(),
            "no 16550 UART at port 0x3f8: scratch register did not read back"
        );
    }

    #[test]
    fn scratch_that_only_holds_one_pattern_is_not_a_uart() {
        let mut p = RecordingPorts::new();
        p.script(COM1 + 7, &[0x55, 0x55]);
        let mut u = Uart16550::new(p, COM1);
        assert_eq!(u.init(115_200), Err(UartError::NotPresent { base: COM1 }));
    }

    #[test]
    fn write_waits_for_thre() {
        let mut p = RecordingPorts::new();
        p.script(LSR, &[0x00, 0x00, LSR_THRE as u32]);
        let mut u = Uart16550::new(p, COM1);
        u.write_byte(b'A');
        assert_eq!(
            u.ports().log,
            [Access::Read8(LSR, 0), Access::Read8(LSR, 0), Access::Read8(LSR, 0x20), Access::Write8(COM1, b'A'),]
        );
        assert_eq!(u.dropped(), 0);
    }

    #[test]
    fn timeout_drops_and_counts_then_fails_fast() {
        let mut p = RecordingPorts::new();
        p.default_read = 0; // THRE never set
        let mut u = Uart16550::new(p, COM1);
        u.write_byte(b'x');
        assert_eq!(u.dropped(), 1);
        assert_eq!(u.ports().log.len(), THRE_POLL_LIMIT as usize);
        assert!(u.ports().writes().is_empty());

        // Stalled: one poll per byte from now on.
        u.write_byte(b'y');
        assert_eq!(u.dropped(), 2);
        assert_eq!(u.ports().log.len(), THRE_POLL_LIMIT as usize + 1);
    }

    #[test]
    fn recovers_after_stall() {
        let mut p = RecordingPorts::new();
        p.default_read = 0;
        let mut u = Uart16550::new(p, COM1);
        u.write_byte(b'x');
        let mut p = RecordingPorts::new();
        p.script(LSR, &[LSR_THRE as u32, 0, LSR_THRE as u32]);
        u.ports = p;
        u.write_byte(b'a');
        // Full bound again after a success.
        u.write_byte(b'b');
        assert_eq!(u.ports().writes(), [(COM1, b'a' as u32), (COM1, b'b' as u32)]);
        assert_eq!(u.dropped(), 1);
    }

    #[test]
    fn newline_becomes_crlf() {
        let mut p = RecordingPorts::new();
        p.default_read = LSR_THRE as u32;
        let mut u = Uart16550::new(p, COM1);
        write!(u, "a\nb{}", 7).unwrap();
        let sent: Vec<u8> = u.ports().writes().iter().map(|&(_, v)| v as u8).collect();
        assert_eq!(sent, b"a\r\nb7");
    }

    #[test]
    fn read_byte_checks_data_ready() {
        let mut p = RecordingPorts::new();
        p.script(LSR, &[0x60, 0x61]);
        p.script(COM1, &[b'k' as u32]);
        let mut u = Uart16550::new(p, COM1);
        assert_eq!(u.try_read_byte(), None);
        assert_eq!(u.try_read_byte(), Some(b'k'));
        assert_eq!(u.ports().log, [Access::Read8(LSR, 0x60), Access::Read8(LSR, 0x61), Access::Read8(COM1, b'k')]);
    }
}
