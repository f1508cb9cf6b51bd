//! Time from the TSC: its rate measured once against the PIT, then a
//! monotonic clock that turns TSC readings into micro- and milliseconds.
//!
//! The caller supplies `rdtsc`, so this module stays free of `unsafe` and is
//! tested on the host with a PIT model.

use crate::port::PortIo;
use core::fmt;

/// The PIT input clock.
pub const PIT_HZ: u64 = 1_193_182;
/// About 10 ms of PIT ticks.
pub const CALIBRATION_TICKS: u16 = 11_932;
/// Polls of OUT2 before calibration gives up. A port read takes well over
/// 10 ns anywhere, so 10 ms never needs this many; it only ends a dead PIT.
pub const PIT_POLL_LIMIT: u32 = 5_000_000;

const PIT_CH2_DATA: u16 = 0x42;
const PIT_COMMAND: u16 = 0x43;
/// NMI status and control: bit 0 gates channel 2, bit 1 drives the speaker,
/// bit 5 reads channel 2's OUT.
const PORT_61: u16 = 0x61;
const GATE2: u8 = 0x01;
const SPEAKER: u8 = 0x02;
const OUT2: u8 = 0x20;
/// Channel 2, low byte then high byte, mode 0 (interrupt on terminal
/// count), binary.
const CH2_LOHI_MODE0: u8 = 0b1011_0000;

const MIN_TSC_HZ: u64 = 1_000_000;
const MAX_TSC_HZ: u64 = 100_000_000_000;

/// Why the TSC rate could not be measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// OUT2 was already high right after the count was loaded; mode 0 drops
    /// it on programming, so the PIT is not there or not counting.
    PitNotCounting,
    /// OUT2 did not go high within `polls` reads of port 0x61.
    PitTimeout { polls: u32 },
    /// The TSC did not move forward over the calibration window.
    TscNotAdvancing { before: u64, after: u64 },
    /// The measured rate is outside 1 MHz..=100 GHz.
    TscOutOfRange { hz: u64 },
}

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimerError::PitNotCounting => {
                write!(f, "TSC calibration: PIT channel 2 output high before counting (no PIT?)")
            }
            TimerError::PitTimeout { polls } => {
                write!(f, "TSC calibration: PIT channel 2 did not reach terminal count in {polls} polls")
            }
            TimerError::TscNotAdvancing { before, after } => {
                write!(f, "TSC calibration: TSC did not advance ({before:#x} -> {after:#x})")
            }
            TimerError::TscOutOfRange { hz } => {
                write!(f, "TSC calibration: measured {hz} Hz, outside 1 MHz..100 GHz")
            }
        }
    }
}

/// Measures the TSC rate in Hz over about 10 ms of PIT channel 2.
///
/// Channel 2 is used because its gate and output are readable through port
/// 0x61 without interrupts. Port 0x61 is restored afterwards.
pub fn calibrate_tsc<P: PortIo>(ports: &mut P, mut rdtsc: impl FnMut() -> u64) -> Result<u64, TimerError> {
    let saved = ports.read8(PORT_61);
    ports.write8(PORT_61, (saved & !SPEAKER) | GATE2);
    ports.write8(PIT_COMMAND, CH2_LOHI_MODE0);
    let [lo, hi] = CALIBRATION_TICKS.to_le_bytes();
    ports.write8(PIT_CH2_DATA, lo);
    ports.write8(PIT_CH2_DATA, hi);

    let before = rdtsc();
    let mut result = Err(TimerError::PitTimeout { polls: PIT_POLL_LIMIT });
    for poll in 0..PIT_POLL_LIMIT {
        if ports.read8(PORT_61) & OUT2 != 0 {
            result = if poll == 0 { Err(TimerError::PitNotCounting) } else { Ok(rdtsc()) };
            break;
        }
    }
    ports.write8(PORT_61, saved);

    let after = result?;
    if after <= before {
        return Err(TimerError::TscNotAdvancing { before, after });
    }
    let hz = (after - before) as u128 * PIT_HZ as u128 / CALIBRATION_TICKS as u128;
    let hz = u64::try_from(hz).unwrap_or(u64::MAX);
    if !(MIN_TSC_HZ..=MAX_TSC_HZ).contains(&hz) {
        return Err(TimerError::TscOutOfRange { hz });
    }
    Ok(hz)
}

/// Monotonic time since `origin`, from TSC readings the caller takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    tsc_hz: u64,
    origin: u64,
}

impl Clock {
    /// `tsc_hz` comes from [`calibrate_tsc`]; zero is taken as 1 so the
    /// clock can never divide by zero.
    pub fn new(tsc_hz: u64, origin_tsc: u64) -> Self {
        Self { tsc_hz: tsc_hz.max(1), origin: origin_tsc }
    }

    pub fn tsc_hz(&self) -> u64 {
        self.tsc_hz
    }

    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// Microseconds from the origin to `tsc`; a reading before the origin
    /// counts as 0, so time never runs backwards past it.
    pub fn micros_at(&self, tsc: u64) -> u64 {
        self.scaled(tsc, 1_000_000)
    }

    /// Milliseconds from the origin to `tsc`.
    pub fn millis_at(&self, tsc: u64) -> u64 {
        self.scaled(tsc, 1_000)
    }

    fn scaled(&self, tsc: u64, per_second: u64) -> u64 {
        let ticks = tsc.saturating_sub(self.origin) as u128;
        // u128: ticks * 10^6 overflows u64 after ~5 hours at 1 GHz.
        u64::try_from(ticks * per_second as u128 / self.tsc_hz as u128).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::mock::{Access, RecordingPorts};

    /// Port 0x61 as a latch of bits 0..=3, with OUT2 rising after `polls`
    /// reads of port 0x61 once both count bytes are written (`None`: never).
    fn pit(port61: u8, polls: Option<u32>) -> RecordingPorts {
        let mut latch = port61;
        let mut count_bytes = 0;
        let mut left: Option<u32> = None;
        RecordingPorts::with_responder(move |port, width, value| {
            assert_eq!(width, 1);
            match (port, value) {
                (0x61, Some(v)) => latch = v as u8 & 0x0F,
                (0x61, None) => {
                    let out = match left.as_mut() {
                        Some(0) => OUT2,
                        Some(n) => {
                            *n -= 1;
                            0
                        }
                        None => 0,
                    };
                    return (latch | out) as u32;
                }
                (0x42, Some(_)) => {
                    count_bytes += 1;
                    if count_bytes == 2 {
                        left = polls;
                    }
                }
                _ => {}
            }
            0
        })
    }

    fn tsc(values: &[u64]) -> impl FnMut() -> u64 + '_ {
        let mut it = values.iter().copied();
        move || it.next().expect("rdtsc called too often")
    }

    #[test]
    fn calibration_sequence_and_rate_are_exact() {
        let mut ports = pit(0x0E, Some(3));
        // 2514 TSC ticks per PIT tick.
        let delta = 2514 * CALIBRATION_TICKS as u64;
        let hz = calibrate_tsc(&mut ports, tsc(&[1_000, 1_000 + delta])).unwrap();
        assert_eq!(hz, 2514 * PIT_HZ);
        assert_eq!(
            ports.log,
            [
                Access::Read8(0x61, 0x0E),
                Access::Write8(0x61, 0x0D), // speaker off, gate on
                Access::Write8(0x43, 0xB0),
                Access::Write8(0x42, 0x9C),
                Access::Write8(0x42, 0x2E),
                Access::Read8(0x61, 0x0D),
                Access::Read8(0x61, 0x0D),
                Access::Read8(0x61, 0x0D),
                Access::Read8(0x61, 0x2D),
                Access::Write8(0x61, 0x0E), // restored
            ]
        );
    }

    #[test]
    fn rate_rounds_down() {
        let mut ports = pit(0, Some(1));
        let hz = calibrate_tsc(&mut ports, tsc(&[0, 30_000_000])).unwrap();
        assert_eq!(hz, (30_000_000u128 * 1_193_182 / 11_932) as u64);
        assert_eq!(hz, 2_999_954_743);
    }

    #[test]
    fn dead_pit_times_out_and_restores_port_61() {
        let mut ports = pit(0x00, None);
        let err = calibrate_tsc(&mut ports, tsc(&[5])).unwrap_err();
        assert_eq!(err, TimerError::PitTimeout { polls: PIT_POLL_LIMIT });
        assert_eq!(ports.log.len(), 5 + PIT_POLL_LIMIT as usize + 1);
        assert_eq!(ports.log.last(), Some(&Access::Write8(0x61, 0x00)));
    }

    #[test]
    fn floating_port_61_is_not_a_pit() {
        // Nothing decodes the ports: every read is 0xff, OUT2 "high" at once.
        let mut ports = RecordingPorts::new();
        let err = calibrate_tsc(&mut ports, tsc(&[5])).unwrap_err();
        assert_eq!(err, TimerError::PitNotCounting);
        assert_eq!(ports.writes().last(), Some(&(0x61, 0xFF)));
    }

    #[test]
    fn stuck_tsc_is_rejected() {
        let err = calibrate_tsc(&mut pit(0, Some(2)), tsc(&[77, 77])).unwrap_err();
        assert_eq!(err, TimerError::TscNotAdvancing { before: 77, after: 77 });
        let err = calibrate_tsc(&mut pit(0, Some(2)), tsc(&[77, 10])).unwrap_err();
        assert_eq!(err, TimerError::TscNotAdvancing { before: 77, after: 10 });
    }

    #[test]
    fn nonsense_rates_are_rejected() {
        // 1000 ticks in 10 ms = 100 kHz.
        let err = calibrate_tsc(&mut pit(0, Some(2)), tsc(&[0, 1_000])).unwrap_err();
        assert_eq!(err, TimerError::TscOutOfRange { hz: 99_998 });
        let err = calibrate_tsc(&mut pit(0, Some(2)), tsc(&[0, u64::MAX])).unwrap_err();
        assert_eq!(err, TimerError::TscOutOfRange { hz: u64::MAX });
        assert_eq!(
            TimerError::TscOutOfRange { hz: 99_998 }.to_string(),
            "TSC calibration: measured 99998 Hz, outside 1 MHz..100 GHz"
        );
    }

    #[test]
    fn clock_arithmetic() {
        let c = Clock::new(3_000_000_000, 1_000);
        assert_eq!(c.micros_at(1_000), 0);
        assert_eq!(c.micros_at(1_000 + 2_999), 0);
        assert_eq!(c.micros_at(1_000 + 3_000), 1);
        assert_eq!(c.millis_at(1_000 + 4_500_000_000), 1_500);
        // Before the origin clamps to zero.
        assert_eq!(c.micros_at(0), 0);
    }

    #[test]
    fn clock_does_not_overflow() {
        // Ten years at 3 GHz: ticks * 10^6 is far beyond u64.
        let ten_years_s = 10 * 365 * 24 * 3600u64;
        let c = Clock::new(3_000_000_000, 0);
        assert_eq!(c.micros_at(ten_years_s * 3_000_000_000), ten_years_s * 1_000_000);
        assert_eq!(c.millis_at(u64::MAX), u64::MAX / 3_000_000);
        // Even a nonsense 1 Hz clock saturates rather than wrapping.
        let slow = Clock::new(0, 0);
        assert_eq!(slow.tsc_hz(), 1);
        assert_eq!(slow.micros_at(u64::MAX), u64::MAX);
    }
}
