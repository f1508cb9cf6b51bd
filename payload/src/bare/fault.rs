//! Panics, CPU exceptions and fatal boot errors: say what happened on serial
//! and on screen, then stop (or leave QEMU under `test-exit`).
//!
//! These paths own nothing: they make their own serial writer and draw on the
//! framebuffer that `main` registered, so a fault can never deadlock on a
//! lock some other code was holding.

use super::console::COM1;
use super::cpu;
use super::entry::{layout, ExceptionFrame};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use drivers::framebuffer::{FbInfo, Framebuffer, MmioFramebuffer, PixelFormat};
use drivers::port::X86Ports;
use drivers::screen;
use drivers::uart::Uart16550;

static TEST_EXIT: AtomicBool = AtomicBool::new(false);
/// Set by the first fatal path, so a fault inside it cannot recurse.
static DYING: AtomicBool = AtomicBool::new(false);
/// base, width | height << 32, pitch | bpp << 32, channel shifts/sizes.
static FB: [AtomicU64; 4] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

pub fn set_test_exit(on: bool) {
    TEST_EXIT.store(on, Ordering::Relaxed);
}

pub fn register_framebuffer(info: &FbInfo) {
    let f = &info.format;
    let ch = |c: drivers::framebuffer::Channel| u64::from(c.shift) | (u64::from(c.bits) << 8);
    FB[1].store(u64::from(info.width) | (u64::from(info.height) << 32), Ordering::Relaxed);
    FB[2].store(u64::from(info.pitch) | (u64::from(f.bpp()) << 32), Ordering::Relaxed);
    FB[3].store(ch(f.red()) | (ch(f.green()) << 16) | (ch(f.blue()) << 32), Ordering::Relaxed);
    FB[0].store(info.base, Ordering::Release);
}

fn registered_framebuffer() -> Option<Framebuffer<MmioFramebuffer>> {
    let base = FB[0].load(Ordering::Acquire);
    if base == 0 {
        return None;
    }
    let (wh, pb, chans) = (FB[1].load(Ordering::Relaxed), FB[2].load(Ordering::Relaxed), FB[3].load(Ordering::Relaxed));
    let ch = |v: u64| drivers::framebuffer::Channel { shift: v as u8, bits: (v >> 8) as u8 };
    let format = PixelFormat::new((pb >> 32) as u8, ch(chans), ch(chans >> 16), ch(chans >> 32)).ok()?;
    let info = FbInfo { base, width: wh as u32, height: (wh >> 32) as u32, pitch: pb as u32, format };
    let len = info.validate().ok()?;
    // SAFETY: `main` registered this identity-mapped framebuffer after
    // setting its mode; we only ever write it with volatile stores.
    let mem = unsafe { MmioFramebuffer::new(base as usize, len) };
    Framebuffer::new(info, mem).ok()
}

fn serial() -> Uart16550<X86Ports> {
    // SAFETY: we are on a fatal path; nothing else will use the UART again,
    // and the port writes only send bytes.
    Uart16550::new(unsafe { X86Ports::new() }, COM1)
}

/// Show `title` and `detail` on screen and serial, then stop with `status`.
pub fn fatal(title: &str, detail: core::fmt::Arguments, status: u32) -> ! {
    let mut s = serial();
    let _ = writeln!(s, "{title}: {detail}");
    if DYING.swap(true, Ordering::SeqCst) {
        let _ = writeln!(s, "(fault while reporting a fault; halting)");
        cpu::halt_forever();
    }
    if let Some(mut fb) = registered_framebuffer() {
        let mut msg = screen::FmtBuf::<512>::default();
        let _ = write!(msg, "{detail}");
        screen::draw_error(&mut fb, title, msg.as_str());
    }
    if TEST_EXIT.load(Ordering::Relaxed) {
        cpu::qemu_exit(status);
    }
    // Last line: the screen is final from here on.
    let _ = writeln!(s, "halted");
    cpu::halt_forever()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fatal("PANIC", format_args!("{info}"), cpu::EXIT_PANIC)
}

const NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 error",
    "alignment check",
    "machine check",
    "SIMD error",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
];

#[no_mangle]
extern "C" fn rust_exception(frame: *const ExceptionFrame) -> ! {
    // SAFETY: the stub passes a pointer to the frame it just pushed.
    let f = unsafe { &*frame };
    let cr2: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { core::arch::asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    let name = NAMES.get(f.vector as usize).copied().unwrap_or("unknown");
    let l = layout();
    let guard = f.vector == 14 && (l.stack_guard..l.stack_guard + 4096).contains(&cr2);
    fatal(
        "CPU exception",
        format_args!(
            "{} ({}) at rip={:#x} err={:#x} cr2={:#x} rsp={:#x}{}",
            name,
            f.vector,
            f.rip,
            f.error,
            cr2,
            f.rsp,
            if guard { ": stack overflow (hit the guard page)" } else { "" }
        ),
        cpu::EXIT_PANIC,
    )
}
