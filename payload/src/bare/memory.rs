//! Physical memory: reading the loader's structures, the stack guard page and
//! the heap.

use super::cpu;
use super::entry::layout;
use drivers::boot::{self, BootError, BootInfo, EntryState, MemoryMap, PhysMem};
use linked_list_allocator::LockedHeap;

/// The entry code identity-maps this much; nothing above it is reachable.
pub const MAPPED_LIMIT: u64 = 4 << 30;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Physical memory below [`MAPPED_LIMIT`], read through the identity map.
struct IdentityMapped;

impl PhysMem for IdentityMapped {
    fn read(&self, addr: u64, len: usize, what: &'static str) -> Result<&[u8], BootError> {
        let end = addr.checked_add(len as u64);
        if addr == 0 || end.is_none_or(|e| e > MAPPED_LIMIT) {
            return Err(BootError::Unreadable { what, addr, len });
        }
        // SAFETY: the range is inside the identity map, so it is mapped and
        // readable; `read_boot_info`'s caller guarantees nothing writes the
        // loader's structures while we parse them.
        Ok(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    }
}

/// Parse the loader's boot information into a plain [`BootInfo`] (for
/// coreboot, with `clove.cfg` from the memory-mapped flash).
///
/// # Safety
/// Call once, with the registers the entry code saved, before the heap is
/// set up (the heap may lie over the loader's structures).
pub unsafe fn read_boot_info(entry: EntryState) -> Result<BootInfo, BootError> {
    boot::parse(&IdentityMapped, entry)
}

/// Unmap the page below the boot stack, so an overflow faults (and the
/// double-fault stack reports it) instead of corrupting memory.
///
/// # Safety
/// Call once, while the entry code's page tables are live.
pub unsafe fn protect_stack_guard() {
    const PRESENT_RW: u64 = 0b11;
    let l = layout();
    let two_mib = l.stack_guard & !0x1f_ffff;
    let pd_entry = (l.pd + (two_mib >> 21) * 8) as *mut u64;
    let pt = l.guard_pt as *mut u64;
    for i in 0..512u64 {
        let phys = two_mib + i * 4096;
        let entry = if phys == l.stack_guard { 0 } else { phys | PRESENT_RW };
        // SAFETY: `guard_pt` is our own 4 KiB page-table page in .bss, not
        // yet in use; index i < 512 stays inside it.
        unsafe { pt.add(i as usize).write_volatile(entry) };
    }
    // SAFETY: the PD entry covers the same 2 MiB, now through a table that
    // maps it identically except for the guard page, which nothing uses.
    unsafe {
        pd_entry.write_volatile(l.guard_pt | PRESENT_RW);
        cpu::flush_tlb();
    }
}

#[derive(Debug)]
pub struct NoHeapMemory;

impl core::fmt::Display for NoHeapMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "no available RAM above the payload image and below 4 GiB for the heap")
    }
}

/// Give the allocator the largest available range above our image and
/// below the mapped limit. Returns (start, len).
pub fn init_heap(map: &MemoryMap) -> Result<(u64, u64), NoHeapMemory> {
    let floor = layout().image_end.max(0x10_0000);
    let (start, len) = map.largest_available(floor, MAPPED_LIMIT).ok_or(NoHeapMemory)?;
    // SAFETY: the memory map calls this RAM available, it lies above our
    // image and inside the identity map, and nothing else uses it: the
    // loader's structures were copied into `BootInfo` already.
    unsafe { HEAP.lock().init(start as *mut u8, len as usize) };
    Ok((start, len))
}

/// Heap for reporting a boot error when there is no memory map to take one
/// from: enough for the PCI list and one framebuffer row.
const FALLBACK_HEAP: usize = 256 * 1024;

pub fn init_fallback_heap() {
    #[repr(align(4096))]
    struct Arena(core::cell::UnsafeCell<[u8; FALLBACK_HEAP]>);
    // SAFETY: the arena is only ever handed to the allocator, once.
    unsafe impl Sync for Arena {}
    static ARENA: Arena = Arena(core::cell::UnsafeCell::new([0; FALLBACK_HEAP]));
    let mut heap = HEAP.lock();
    if heap.size() == 0 {
        // SAFETY: the arena is ours, static, and given to nothing else; the
        // size check above makes this the heap's only initialisation.
        unsafe { heap.init(ARENA.0.get().cast::<u8>(), FALLBACK_HEAP) };
    }
}

/// The heap's size in bytes.
pub fn heap_size() -> usize {
    HEAP.lock().size()
}

/// Bytes of heap in use now.
pub fn heap_used() -> usize {
    HEAP.lock().used()
}
