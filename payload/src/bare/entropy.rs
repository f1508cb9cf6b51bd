//! Randomness for the SPICE ticket's OAEP padding: RDRAND when CPUID says
//! the CPU has it, otherwise jitter between TSC reads mixed into a state.
//! Never a constant seed.

use super::cpu;
use core::arch::asm;
use spice_proto::auth::Entropy;

/// RDRAND may fail transiently; Intel suggests 10 tries.
const RDRAND_TRIES: usize = 10;
/// TSC samples folded into each 64-bit word of the jitter fallback.
const JITTER_SAMPLES: usize = 64;

pub struct CpuEntropy {
    rdrand: bool,
    /// The fallback's running state (also stirred with RDRAND output).
    state: u64,
    counter: u64,
}

impl CpuEntropy {
    pub fn new() -> Self {
        let rdrand = cpu::has_rdrand() && rdrand64().is_some();
        let mut e = Self { rdrand, state: cpu::rdtsc(), counter: 0 };
        // Stir the first TSC reading before anything is handed out.
        e.state = e.jitter_word();
        e
    }

    /// What the bytes come from, for the log.
    pub fn source(&self) -> &'static str {
        if self.rdrand {
            "RDRAND"
        } else {
            "TSC jitter (no RDRAND)"
        }
    }

    fn word(&mut self) -> u64 {
        if self.rdrand {
            if let Some(v) = rdrand64() {
                return v;
            }
        }
        self.jitter_word()
    }

    /// Folds the low bits of many TSC deltas (with some work between the
    /// reads, whose timing varies with caches, interrupts of the host and
    /// the emulator) into the state through a 64-bit finaliser.
    fn jitter_word(&mut self) -> u64 {
        let mut prev = cpu::rdtsc();
        for i in 0..JITTER_SAMPLES {
            let mut x = self.state ^ i as u64;
            for _ in 0..(prev & 7) + 1 {
                x = core::hint::black_box(x.rotate_left(7).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            let now = cpu::rdtsc();
            self.state = mix(self.state ^ now.wrapping_sub(prev) ^ (x << 1));
            prev = now;
        }
        self.counter = self.counter.wrapping_add(1);
        mix(self.state ^ self.counter)
    }
}

impl Entropy for CpuEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let w = self.word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One RDRAND result, or `None` when the instruction keeps failing.
/// Only call when CPUID reports RDRAND.
fn rdrand64() -> Option<u64> {
    if !cpu::has_rdrand() {
        return None;
    }
    for _ in 0..RDRAND_TRIES {
        let v: u64;
        let ok: u8;
        // SAFETY: CPUID.1:ECX.RDRAND is set (checked above); RDRAND only
        // writes its register and CF.
        unsafe { asm!("rdrand {v}", "setc {ok}", v = out(reg) v, ok = out(reg_byte) ok, options(nomem, nostack)) };
        if ok != 0 {
            return Some(v);
        }
    }
    None
}
