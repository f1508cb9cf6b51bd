//! The serial log: a banner line, then `[seconds.millis] message` lines.

use super::cpu;
use core::fmt::{self, Write};
use drivers::config::LogLevel;
use drivers::port::X86Ports;
use drivers::timer::{self, Clock};
use drivers::uart::Uart16550;

pub const COM1: u16 = 0x3f8;

pub struct Console {
    uart: Uart16550<X86Ports>,
    ports: X86Ports,
    clock: Option<Clock>,
    t0: u64,
    /// `log=`: which lines go out.
    level: LogLevel,
}

impl Console {
    pub fn new(ports: X86Ports, t0: u64) -> Self {
        let mut uart = Uart16550::new(ports.clone(), COM1);
        // An absent UART leaves us logging to nowhere; the screen still works.
        let _ = uart.init(115_200);
        Self { uart, ports, clock: None, t0, level: LogLevel::Info }
    }

    /// Move the log to the UART at I/O port `base` (the firmware's console).
    pub fn use_port(&mut self, base: u16) {
        self.uart = Uart16550::new(self.ports.clone(), base);
        let _ = self.uart.init(115_200);
    }

    pub fn banner(&mut self) {
        let _ = writeln!(self.uart, "Clove {}", super::VERSION);
    }

    /// Calibrate the TSC against the PIT so log lines carry real time.
    pub fn calibrate_clock(&mut self) {
        match timer::calibrate_tsc(&mut self.ports, cpu::rdtsc) {
            Ok(hz) => {
                self.clock = Some(Clock::new(hz, self.t0));
                self.log(format_args!("clock: TSC {} MHz (PIT-calibrated)", hz / 1_000_000));
            }
            Err(e) => self.log(format_args!("clock: {e}; log times are unavailable")),
        }
    }

    /// The calibrated clock, if calibration worked.
    pub fn clock(&self) -> Option<Clock> {
        self.clock
    }

    pub fn set_level(&mut self, level: LogLevel) {
        self.level = level;
    }

    /// A step of the boot or the connection (level info).
    pub fn log(&mut self, args: fmt::Arguments) {
        if self.level >= LogLevel::Info {
            self.write_line(args);
        }
    }

    /// Something the user must fix or know about; printed at every level.
    pub fn error(&mut self, args: fmt::Arguments) {
        self.write_line(args);
    }

    /// Details for `log=debug` only.
    pub fn debug(&mut self, args: fmt::Arguments) {
        if self.level >= LogLevel::Debug {
            self.write_line(args);
        }
    }

    fn write_line(&mut self, args: fmt::Arguments) {
        let ms = self.clock.as_ref().map_or(0, |c| c.millis_at(cpu::rdtsc()));
        let _ = write!(self.uart, "[{:4}.{:03}] ", ms / 1000, ms % 1000);
        let _ = self.uart.write_fmt(args);
        let _ = self.uart.write_str("\n");
    }
}
