//! Small CPU primitives.

use core::arch::asm;
use drivers::port::{PortIo, X86Ports};

/// isa-debug-exit's port (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
const DEBUG_EXIT_PORT: u16 = 0xf4;
/// QEMU exits with `(status << 1) | 1`.
pub const EXIT_OK: u32 = 0;
pub const EXIT_PANIC: u32 = 1;
pub const EXIT_BOOT_ERROR: u32 = 2;

pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC only reads the time-stamp counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Leave QEMU with `status` when it has the debug-exit device; on anything
/// else the write goes nowhere and we halt.
pub fn qemu_exit(status: u32) -> ! {
    // SAFETY: this is the last thing we do; no driver needs the ports after.
    let mut ports = unsafe { X86Ports::new() };
    ports.write32(DEBUG_EXIT_PORT, status);
    halt_forever()
}

pub fn halt_forever() -> ! {
    loop {
        // SAFETY: with interrupts off, HLT only stops the CPU.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Reload CR3 to drop every cached translation.
///
/// # Safety
/// The current page tables must stay valid for the code that runs next.
pub unsafe fn flush_tlb() {
    // SAFETY: rewriting CR3 with its own value only flushes the TLB.
    unsafe { asm!("mov {0}, cr3", "mov cr3, {0}", out(reg) _, options(nostack, preserves_flags)) };
}

/// Whether RDRAND exists (CPUID.1:ECX bit 30).
pub fn has_rdrand() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0
}
