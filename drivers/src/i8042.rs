//! The i8042 PS/2 controller, polled: keyboard (translated scan code set 1)
//! and mouse (with IntelliMouse wheel detection).
//!
//! There is one poller, [`I8042::read_byte`]: it reads the status port and,
//! when the output buffer is full, the data byte, sorted by the status AUX
//! bit into keyboard or mouse. Command replies are awaited through it too,
//! so a key typed while a command is in flight is queued, not lost. Every
//! wait is bounded: absent or dead hardware yields an error, never a hang.

use crate::port::PortIo;
use alloc::collections::VecDeque;
use core::fmt;

pub const DATA: u16 = 0x60;
/// Status (read) and command (write).
pub const STATUS: u16 = 0x64;

/// Status register bits.
pub mod status {
    /// Output buffer full: a byte waits at the data port.
    pub const OBF: u8 = 1 << 0;
    /// Input buffer full: the controller has not taken our last write yet.
    pub const IBF: u8 = 1 << 1;
    /// The waiting byte is from the aux (mouse) port.
    pub const AUX: u8 = 1 << 5;
}

/// Controller configuration byte bits.
pub mod config {
    pub const KBD_IRQ: u8 = 1 << 0;
    pub const AUX_IRQ: u8 = 1 << 1;
    pub const KBD_CLOCK_OFF: u8 = 1 << 4;
    pub const AUX_CLOCK_OFF: u8 = 1 << 5;
    /// Translate the keyboard's set 2 into set 1.
    pub const TRANSLATE: u8 = 1 << 6;
}

/// Controller commands (written to [`STATUS`]).
pub mod cmd {
    pub const READ_CONFIG: u8 = 0x20;
    pub const WRITE_CONFIG: u8 = 0x60;
    pub const DISABLE_AUX: u8 = 0xa7;
    pub const ENABLE_AUX: u8 = 0xa8;
    pub const TEST_AUX: u8 = 0xa9;
    pub const SELF_TEST: u8 = 0xaa;
    pub const TEST_KBD: u8 = 0xab;
    pub const DISABLE_KBD: u8 = 0xad;
    pub const ENABLE_KBD: u8 = 0xae;
    /// The next data byte goes to the mouse.
    pub const WRITE_AUX: u8 = 0xd4;
}

/// Device commands and replies (through [`DATA`]).
pub mod dev {
    pub const SET_LEDS: u8 = 0xed;
    pub const GET_ID: u8 = 0xf2;
    pub const SET_RATE: u8 = 0xf3;
    pub const ENABLE: u8 = 0xf4;
    pub const RESET: u8 = 0xff;
    pub const ACK: u8 = 0xfa;
    pub const RESEND: u8 = 0xfe;
    pub const BAT_OK: u8 = 0xaa;
    pub const SELF_TEST_OK: u8 = 0x55;
}

/// Status reads before a wait gives up. A port read takes about 1 us on
/// real hardware; devices answer in a few ms.
pub const POLL_LIMIT: u32 = 100_000;
/// A mouse's reset self-test (BAT) can take half a second.
pub const RESET_POLL_LIMIT: u32 = 1_000_000;
/// Bytes a flush or a drain reads at most: a stuck status never hangs us.
const DRAIN_LIMIT: usize = 64;
/// Bytes kept per device between drains; older ones are dropped.
const QUEUE_LIMIT: usize = 256;
/// Tries for a device command answered with RESEND.
const SEND_TRIES: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum I8042Error {
    /// The status port floats (0xff) or the output buffer never empties.
    NotPresent,
    /// The controller did not take a byte or answer in time.
    Timeout(&'static str),
    /// The controller's self-test answered this instead of 0x55.
    SelfTest(u8),
    /// The keyboard port test answered this instead of 0.
    KeyboardPort(u8),
    /// A device answered a command with this instead of ACK.
    NoAck { cmd: u8, got: u8 },
}

impl fmt::Display for I8042Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            I8042Error::NotPresent => f.write_str("no i8042 PS/2 controller"),
            I8042Error::Timeout(what) => write!(f, "i8042: timed out {what}"),
            I8042Error::SelfTest(v) => write!(f, "i8042: self-test failed ({v:#04x})"),
            I8042Error::KeyboardPort(v) => write!(f, "i8042: keyboard port test failed ({v:#04x})"),
            I8042Error::NoAck { cmd, got } => write!(f, "i8042: device answered {cmd:#04x} with {got:#04x}"),
        }
    }
}

/// One byte from a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Byte {
    Keyboard(u8),
    Mouse(u8),
}

/// The mouse found at init.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mouse {
    /// The ID after the IntelliMouse knock: 0 plain, 3 wheel.
    pub id: u8,
}

impl Mouse {
    /// 4-byte packets with a wheel.
    pub fn wheel(self) -> bool {
        self.id == 3
    }
}

/// A polled i8042 with its keyboard and (maybe) mouse enabled.
pub struct I8042<P: PortIo> {
    ports: P,
    /// Bytes read while waiting for something else, oldest first.
    queue: VecDeque<Byte>,
    keyboard: bool,
    mouse: Option<Mouse>,
    leds: u8,
    /// Bytes dropped because the queue was full.
    pub dropped: u64,
}

impl<P: PortIo> I8042<P> {
    /// Finds and sets up the controller: both ports off, flushed, IRQs off
    /// and translation on, self-tested, keyboard enabled with LEDs off, then
    /// the mouse reset, probed for a wheel and set streaming. A missing
    /// keyboard or mouse is not an error ([`Self::keyboard`], [`Self::mouse`]).
    pub fn init(ports: P) -> Result<Self, I8042Error> {
        let mut c = Self { ports, queue: VecDeque::new(), keyboard: false, mouse: None, leds: 0, dropped: 0 };
        if c.ports.read8(STATUS) == 0xff {
            return Err(I8042Error::NotPresent);
        }
        c.command(cmd::DISABLE_KBD)?;
        c.command(cmd::DISABLE_AUX)?;
        c.flush()?;
        let mut cfg = c.command_reply(cmd::READ_CONFIG)?;
        cfg &= !(config::KBD_IRQ | config::AUX_IRQ);
        cfg |= config::TRANSLATE | config::KBD_CLOCK_OFF | config::AUX_CLOCK_OFF;
        c.write_config(cfg)?;
        // Some controllers reset themselves on the self-test: the
        // configuration goes in again afterwards.
        match c.command_reply(cmd::SELF_TEST)? {
            dev::SELF_TEST_OK => {}
            v => return Err(I8042Error::SelfTest(v)),
        }
        c.write_config(cfg)?;
        match c.command_reply(cmd::TEST_KBD)? {
            0 => {}
            v => return Err(I8042Error::KeyboardPort(v)),
        }
        let aux_port = c.command_reply(cmd::TEST_AUX)? == 0;

        c.command(cmd::ENABLE_KBD)?;
        c.keyboard = c.send(false, dev::ENABLE).is_ok() && c.set_leds(0).is_ok();
        if aux_port {
            c.command(cmd::ENABLE_AUX)?;
            c.mouse = c.init_mouse().ok();
        }
        // The enable commands cleared the clock-off bits; IRQs stay off.
        let cfg = c.command_reply(cmd::READ_CONFIG)?;
        c.write_config(cfg & !(config::KBD_IRQ | config::AUX_IRQ))?;
        Ok(c)
    }

    fn init_mouse(&mut self) -> Result<Mouse, I8042Error> {
        self.send(true, dev::RESET)?;
        // BAT result, then the device ID.
        let bat = self.wait_device(true, RESET_POLL_LIMIT)?;
        if bat != dev::BAT_OK {
            return Err(I8042Error::NoAck { cmd: dev::RESET, got: bat });
        }
        self.wait_device(true, POLL_LIMIT)?;
        // The IntelliMouse knock: sample rates 200, 100, 80, then ask the ID.
        for rate in [200, 100, 80] {
            self.send(true, dev::SET_RATE)?;
            self.send(true, rate)?;
        }
        self.send(true, dev::GET_ID)?;
        let id = self.wait_device(true, POLL_LIMIT)?;
        self.send(true, dev::ENABLE)?;
        Ok(Mouse { id })
    }

    /// Whether a keyboard acknowledged being enabled.
    pub fn keyboard(&self) -> bool {
        self.keyboard
    }

    pub fn mouse(&self) -> Option<Mouse> {
        self.mouse
    }

    /// The LEDs last set (bit 0 Scroll, 1 Num, 2 Caps Lock).
    pub fn leds(&self) -> u8 {
        self.leds
    }

    pub fn ports(&self) -> &P {
        &self.ports
    }

    /// Sets the keyboard LEDs (bit 0 Scroll, 1 Num, 2 Caps Lock).
    pub fn set_leds(&mut self, leds: u8) -> Result<(), I8042Error> {
        self.send(false, dev::SET_LEDS)?;
        self.send(false, leds & 7)?;
        self.leds = leds & 7;
        Ok(())
    }

    /// The next byte from either device: queued ones first, then one read
    /// from the controller if its output buffer is full.
    pub fn read_byte(&mut self) -> Option<Byte> {
        self.queue.pop_front().or_else(|| self.poll_hw())
    }

    /// Up to a bounded number of waiting bytes, in order.
    pub fn drain(&mut self, mut f: impl FnMut(Byte)) {
        for _ in 0..DRAIN_LIMIT {
            match self.read_byte() {
                Some(b) => f(b),
                None => break,
            }
        }
    }

    /// The poller: status, then the data byte sorted by the AUX bit.
    fn poll_hw(&mut self) -> Option<Byte> {
        let s = self.ports.read8(STATUS);
        if s & status::OBF == 0 {
            return None;
        }
        let b = self.ports.read8(DATA);
        Some(if s & status::AUX != 0 { Byte::Mouse(b) } else { Byte::Keyboard(b) })
    }

    fn enqueue(&mut self, b: Byte) {
        if self.queue.len() >= QUEUE_LIMIT {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(b);
    }

    fn wait_input_empty(&mut self) -> Result<(), I8042Error> {
        for _ in 0..POLL_LIMIT {
            if self.ports.read8(STATUS) & status::IBF == 0 {
                return Ok(());
            }
        }
        Err(I8042Error::Timeout("waiting for the controller to take a byte"))
    }

    fn command(&mut self, c: u8) -> Result<(), I8042Error> {
        self.wait_input_empty()?;
        self.ports.write8(STATUS, c);
        Ok(())
    }

    /// A controller command that answers one byte (from the keyboard side).
    fn command_reply(&mut self, c: u8) -> Result<u8, I8042Error> {
        self.command(c)?;
        self.wait_device(false, POLL_LIMIT)
    }

    fn write_config(&mut self, cfg: u8) -> Result<(), I8042Error> {
        self.command(cmd::WRITE_CONFIG)?;
        self.wait_input_empty()?;
        self.ports.write8(DATA, cfg);
        Ok(())
    }

    /// Reads and drops what sits in the output buffer.
    fn flush(&mut self) -> Result<(), I8042Error> {
        for _ in 0..DRAIN_LIMIT {
            if self.poll_hw().is_none() {
                return Ok(());
            }
        }
        Err(I8042Error::NotPresent)
    }

    /// The next byte from the mouse (`aux`) or the keyboard side; bytes
    /// from the other side are queued for [`Self::read_byte`].
    fn wait_device(&mut self, aux: bool, limit: u32) -> Result<u8, I8042Error> {
        for _ in 0..limit {
            match self.poll_hw() {
                Some(Byte::Mouse(b)) if aux => return Ok(b),
                Some(Byte::Keyboard(b)) if !aux => return Ok(b),
                Some(other) => self.enqueue(other),
                None => {}
            }
        }
        Err(I8042Error::Timeout(if aux { "waiting for the mouse" } else { "waiting for the keyboard" }))
    }

    /// Sends one byte to a device and waits for its ACK, resending on
    /// RESEND. Other bytes from that device before the ACK are data (keys
    /// typed meanwhile) and are queued.
    fn send(&mut self, aux: bool, byte: u8) -> Result<(), I8042Error> {
        for _ in 0..SEND_TRIES {
            if aux {
                self.command(cmd::WRITE_AUX)?;
            }
            self.wait_input_empty()?;
            self.ports.write8(DATA, byte);
            let mut got = dev::RESEND;
            for _ in 0..QUEUE_LIMIT {
                got = self.wait_device(aux, POLL_LIMIT)?;
                match got {
                    dev::ACK => return Ok(()),
                    dev::RESEND => break,
                    b => self.enqueue(if aux { Byte::Mouse(b) } else { Byte::Keyboard(b) }),
                }
            }
            if got != dev::RESEND {
                return Err(I8042Error::NoAck { cmd: byte, got });
            }
        }
        Err(I8042Error::NoAck { cmd: byte, got: dev::RESEND })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port::mock::{Access, RecordingPorts};
    use alloc::rc::Rc;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A controller model: keyboard and mouse answering like QEMU's.
    struct Fake {
        /// Output buffer: (byte, from aux).
        out: VecDeque<(u8, bool)>,
        config: u8,
        /// The last command wants a data byte (WRITE_CONFIG / WRITE_AUX).
        pending: Option<u8>,
        mouse_present: bool,
        wheel: bool,
        /// The mouse's last SET_RATE arguments, for the IntelliMouse knock.
        rates: Vec<u8>,
        mouse_wants_rate: bool,
        kbd_wants_param: bool,
        /// Keyboard answers RESEND this many times first.
        kbd_resends: u32,
        /// Keyboard bytes to push before the next ACK (a key typed meanwhile).
        kbd_before_ack: Vec<u8>,
    }

    impl Fake {
        fn new() -> Self {
            Self {
                out: VecDeque::new(),
                config: 0x47,
                pending: None,
                mouse_present: true,
                wheel: true,
                rates: Vec::new(),
                mouse_wants_rate: false,
                kbd_wants_param: false,
                kbd_resends: 0,
                kbd_before_ack: Vec::new(),
            }
        }

        fn status(&self) -> u8 {
            match self.out.front() {
                Some(&(_, aux)) => status::OBF | if aux { status::AUX } else { 0 },
                None => 0,
            }
        }

        fn command(&mut self, c: u8) {
            match c {
                cmd::READ_CONFIG => self.out.push_back((self.config, false)),
                cmd::SELF_TEST => self.out.push_back((0x55, false)),
                cmd::TEST_KBD => self.out.push_back((0, false)),
                cmd::TEST_AUX => self.out.push_back((if self.mouse_present { 0 } else { 1 }, false)),
                cmd::ENABLE_KBD => self.config &= !config::KBD_CLOCK_OFF,
                cmd::ENABLE_AUX => self.config &= !config::AUX_CLOCK_OFF,
                cmd::WRITE_CONFIG | cmd::WRITE_AUX => self.pending = Some(c),
                _ => {}
            }
        }

        fn data(&mut self, b: u8) {
            match self.pending.take() {
                Some(cmd::WRITE_CONFIG) => self.config = b,
                Some(_) => self.mouse(b),
                None => self.keyboard(b),
            }
        }

        fn keyboard(&mut self, b: u8) {
            if self.kbd_resends > 0 {
                self.kbd_resends -= 1;
                self.out.push_back((dev::RESEND, false));
                return;
            }
            for k in core::mem::take(&mut self.kbd_before_ack) {
                self.out.push_back((k, false));
            }
            self.kbd_wants_param = !self.kbd_wants_param && b == dev::SET_LEDS;
            self.out.push_back((dev::ACK, false));
        }

        fn mouse(&mut self, b: u8) {
            if !self.mouse_present {
                return;
            }
            let ack = |f: &mut Fake| f.out.push_back((dev::ACK, true));
            if self.mouse_wants_rate {
                self.mouse_wants_rate = false;
                self.rates.push(b);
                return ack(self);
            }
            match b {
                dev::RESET => {
                    ack(self);
                    self.out.push_back((dev::BAT_OK, true));
                    self.out.push_back((0, true));
                }
                dev::SET_RATE => {
                    self.mouse_wants_rate = true;
                    ack(self);
                }
                dev::GET_ID => {
                    ack(self);
                    let knocked = self.rates.ends_with(&[200, 100, 80]);
                    self.out.push_back((if knocked && self.wheel { 3 } else { 0 }, true));
                }
                _ => ack(self),
            }
        }
    }

    fn fake_ports(f: Fake) -> (RecordingPorts, Rc<RefCell<Fake>>) {
        let f = Rc::new(RefCell::new(f));
        let g = f.clone();
        let ports = RecordingPorts::with_responder(move |port, _, write| {
            let mut f = g.borrow_mut();
            match (port, write) {
                (STATUS, None) => u32::from(f.status()),
                (DATA, None) => u32::from(f.out.pop_front().map_or(0, |(b, _)| b)),
                (STATUS, Some(c)) => {
                    f.command(c as u8);
                    0
                }
                (DATA, Some(b)) => {
                    f.data(b as u8);
                    0
                }
                _ => 0xff,
            }
        });
        (ports, f)
    }

    /// The writes as (port, byte) pairs.
    fn writes(p: &RecordingPorts) -> Vec<(u16, u8)> {
        p.writes().into_iter().map(|(port, v)| (port, v as u8)).collect()
    }

    #[test]
    fn init_sequence_with_a_wheel_mouse() {
        let (ports, fake) = fake_ports(Fake::new());
        let c = I8042::init(ports).unwrap();
        assert!(c.keyboard());
        assert_eq!(c.mouse(), Some(Mouse { id: 3 }));
        assert!(c.mouse().unwrap().wheel());
        let cmd = |b| (STATUS, b);
        let data = |b| (DATA, b);
        let aux = |b| [cmd(cmd::WRITE_AUX), data(b)];
        let mut want = vec![
            cmd(cmd::DISABLE_KBD),
            cmd(cmd::DISABLE_AUX),
            cmd(cmd::READ_CONFIG),
            // 0x47 (QEMU's): IRQs off, translation kept, clocks off for now.
            cmd(cmd::WRITE_CONFIG),
            data(0x74),
            cmd(cmd::SELF_TEST),
            cmd(cmd::WRITE_CONFIG),
            data(0x74),
            cmd(cmd::TEST_KBD),
            cmd(cmd::TEST_AUX),
            cmd(cmd::ENABLE_KBD),
            data(dev::ENABLE),
            data(dev::SET_LEDS),
            data(0),
            cmd(cmd::ENABLE_AUX),
        ];
        for b in [dev::RESET, dev::SET_RATE, 200, dev::SET_RATE, 100, dev::SET_RATE, 80, dev::GET_ID, dev::ENABLE] {
            want.extend(aux(b));
        }
        want.extend([cmd(cmd::READ_CONFIG), cmd(cmd::WRITE_CONFIG), data(0x44)]);
        assert_eq!(writes(c.ports()), want);
        let f = fake.borrow();
        assert_eq!(f.config, 0x44, "translation on, IRQs off, both clocks on");
        assert!(f.out.is_empty(), "every reply was read");
    }

    #[test]
    fn mouse_without_wheel_and_without_mouse() {
        let (ports, _) = fake_ports(Fake { wheel: false, ..Fake::new() });
        let c = I8042::init(ports).unwrap();
        assert_eq!(c.mouse(), Some(Mouse { id: 0 }));
        assert!(!c.mouse().unwrap().wheel());

        let (ports, _) = fake_ports(Fake { mouse_present: false, ..Fake::new() });
        let c = I8042::init(ports).unwrap();
        assert!(c.keyboard());
        assert_eq!(c.mouse(), None);
        assert!(!writes(c.ports()).contains(&(STATUS, cmd::WRITE_AUX)), "a failed port test leaves the mouse alone");
    }

    #[test]
    fn absent_controller_is_reported_at_once() {
        // Nothing decodes the ports: reads float to 0xff.
        let r = I8042::init(RecordingPorts::new());
        assert_eq!(r.err(), Some(I8042Error::NotPresent));
        assert_eq!(I8042Error::NotPresent.to_string(), "no i8042 PS/2 controller");
    }

    #[test]
    fn stuck_output_buffer_is_not_a_controller() {
        let mut p = RecordingPorts::new();
        p.default_read = 0x01; // OBF forever, never 0xff
        let r = I8042::init(p);
        assert_eq!(r.err(), Some(I8042Error::NotPresent));
    }

    #[test]
    fn busy_input_buffer_times_out() {
        let mut p = RecordingPorts::new();
        p.default_read = status::IBF as u32;
        let e = I8042::init(p).err();
        assert!(matches!(e, Some(I8042Error::Timeout(_))), "{e:?}");
    }

    #[test]
    fn bytes_are_sorted_by_the_aux_bit() {
        let (ports, fake) = fake_ports(Fake::new());
        let mut c = I8042::init(ports).unwrap();
        fake.borrow_mut().out.extend([(0x1e, false), (0x08, true), (0x9e, false), (0x01, true)]);
        let mut got = Vec::new();
        c.drain(|b| got.push(b));
        assert_eq!(got, [Byte::Keyboard(0x1e), Byte::Mouse(0x08), Byte::Keyboard(0x9e), Byte::Mouse(0x01)]);
        assert_eq!(c.read_byte(), None);
    }

    #[test]
    fn leds_with_ack_and_keys_typed_meanwhile() {
        let (ports, fake) = fake_ports(Fake::new());
        let mut c = I8042::init(ports).unwrap();
        let mark = c.ports().log.len();
        // A key and a mouse byte arrive before the keyboard's ACK.
        fake.borrow_mut().out.push_back((0x10, true));
        fake.borrow_mut().kbd_before_ack = vec![0x1e];
        c.set_leds(4).unwrap();
        assert_eq!(c.leds(), 4);
        let w: Vec<Access> =
            c.ports().log[mark..].iter().copied().filter(|a| matches!(a, Access::Write8(..))).collect();
        assert_eq!(w, [Access::Write8(DATA, dev::SET_LEDS), Access::Write8(DATA, 4)]);
        let mut got = Vec::new();
        c.drain(|b| got.push(b));
        assert_eq!(got, [Byte::Mouse(0x10), Byte::Keyboard(0x1e)], "nothing typed meanwhile is lost");
    }

    #[test]
    fn resend_is_retried_then_given_up() {
        let (ports, fake) = fake_ports(Fake::new());
        let mut c = I8042::init(ports).unwrap();
        fake.borrow_mut().kbd_resends = 1;
        c.set_leds(2).unwrap();
        assert_eq!(c.leds(), 2);
        fake.borrow_mut().kbd_resends = 10;
        assert_eq!(c.set_leds(1), Err(I8042Error::NoAck { cmd: dev::SET_LEDS, got: dev::RESEND }));
        assert_eq!(c.leds(), 2);
    }

    #[test]
    fn silent_keyboard_times_out_without_hanging() {
        let (ports, _) = fake_ports(Fake::new());
        let mut c = I8042::init(ports).unwrap();
        // From now on the controller takes bytes but nothing ever answers.
        let mut p = RecordingPorts::new();
        p.default_read = 0;
        c.ports = p;
        assert_eq!(c.set_leds(1), Err(I8042Error::Timeout("waiting for the keyboard")));
        assert!(c.ports().log.len() as u32 <= POLL_LIMIT + 2);
    }
}
