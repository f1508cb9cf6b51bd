//! coreboot's handoff to its payload, recreated for QEMU.
//!
//! No coreboot ROM can be had here, so a tiny multiboot1 shim does what
//! coreboot's last stage does: it copies the staged blobs into place (the
//! payload's PT_LOAD segments to their p_paddr with bss zeroed, an `LBIO`
//! table at 0x500 holding only a FORWARD, the full table high in RAM), sets
//! the Bochs VBE display to 800x600x32 like coreboot's QEMU graphics driver,
//! and calls the ELF entry in 32-bit protected mode with the table pointer at
//! 4(%esp) and no multiboot magic in EAX. The blobs are staged with QEMU's
//! generic loader. The flash is a `-bios` file: a CBFS built with cbfstool,
//! then Debian's SeaBIOS, so SeaBIOS still boots (its reset vector is at the
//! top) while the CBFS sits just below it under 4 GiB, as on real flash.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use drivers::boot::coreboot::build::{boot_media, forward, framebuffer, memory, serial, table, version};
use drivers::boot::coreboot::MEM_RAM;

use crate::deps::CBFSTOOL;
use crate::error::{HarnessError, Result};
use crate::multiboot;

/// Guest RAM the table describes: run QEMU with `-m 256M`.
pub const RAM: &str = "256M";
const RAM_END: u64 = 256 << 20;
/// The full table, in a type-16 (coreboot tables) range below SeaBIOS's
/// own data at the top of RAM.
pub const TABLE_ADDR: u64 = 0x0fe0_0000;
const TABLES_END: u64 = 0x0ff0_0000;
/// Where the forwarder goes, as coreboot puts it.
pub const LOW_TABLE_ADDR: u64 = 0x500;
/// The shim's load address and the staged blobs', clear of the payload
/// (1 MiB up), of QEMU's multiboot info (after the shim) and of SeaBIOS.
const SHIM_LOAD: u32 = 0x0100_0000;
const SHIM_STACK: u32 = 4096;
const STAGE_ADDR: u64 = 0x0300_0000;
/// QEMU's std VGA framebuffer (BAR0 as SeaBIOS assigns it on i440fx).
pub const FB_ADDR: u64 = 0xfd00_0000;
pub const FB_SIZE: (u32, u32) = (800, 600);
/// SeaBIOS, the top of the `-bios` flash.
pub const SEABIOS: &str = "/usr/share/seabios/bios-256k.bin";
/// The CBFS below SeaBIOS in the flash.
const CBFS_SIZE: u64 = 64 * 1024;
/// The version string the table carries (the loader name is `coreboot` and this).
pub const VERSION: &str = "26.06-clove-test";

/// One PT_LOAD segment of an ELF64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub paddr: u64,
    pub vaddr: u64,
    pub data: Vec<u8>,
    pub memsz: u64,
}

/// The entry point and PT_LOAD segments of an ELF64 (little-endian x86_64).
pub fn load_segments(elf: &[u8]) -> std::result::Result<(u64, Vec<Segment>), String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |o: usize| elf.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
    let u64_at = |o: usize| elf.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        return Err("not an ELF64 file".into());
    }
    let short = || "ELF header or program headers truncated".to_string();
    let entry = u64_at(24).ok_or_else(short)?;
    let phoff = u64_at(32).ok_or_else(short)? as usize;
    let (phentsize, phnum) = (u16_at(54).ok_or_else(short)?, u16_at(56).ok_or_else(short)?);
    let mut segments = Vec::new();
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph).ok_or_else(short)? != 1 {
            continue;
        }
        let (offset, vaddr, paddr) = (u64_at(ph + 8), u64_at(ph + 16), u64_at(ph + 24));
        let (filesz, memsz) = (u64_at(ph + 32), u64_at(ph + 40));
        let (Some(offset), Some(vaddr), Some(paddr), Some(filesz), Some(memsz)) = (offset, vaddr, paddr, filesz, memsz)
        else {
            return Err(short());
        };
        let data =
            elf.get(offset as usize..(offset + filesz) as usize).ok_or("a segment lies outside the file")?.to_vec();
        segments.push(Segment { paddr, vaddr, data, memsz });
    }
    Ok((entry, segments))
}

/// What a test needs to boot the recreated handoff.
#[derive(Debug)]
pub struct Handoff {
    /// The shim, for `-kernel`.
    pub shim: PathBuf,
    /// `-device loader,...` for the staged blobs.
    pub loader: String,
    /// The flash, for `-bios`.
    pub flash: PathBuf,
}

/// How to break the handoff, for the error tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// One bit of the full table's records flipped after checksumming.
    TableChecksum,
}

/// The full coreboot table for `flash_size` bytes of flash with the CBFS at
/// its start: RAM with the usual holes, the tables themselves (type 16),
/// the framebuffer, COM1, the boot media and the version.
pub fn full_table(flash_size: u64) -> Vec<u8> {
    table(&[
        version(VERSION),
        memory(&[
            (0, 0x1000, 16),
            (0x1000, 0x9f000, MEM_RAM),
            (0xa0000, 0x60000, 2),
            (0x10_0000, TABLE_ADDR - 0x10_0000, MEM_RAM),
            (TABLE_ADDR, TABLES_END - TABLE_ADDR, 16),
            (TABLES_END, RAM_END - TABLES_END, 2),
        ]),
        serial(true, 0x3f8),
        framebuffer(FB_ADDR, FB_SIZE.0, FB_SIZE.1),
        boot_media(0, 0, CBFS_SIZE, flash_size),
    ])
}

/// Writes the shim, the staged blobs and the flash (with `config` as
/// `clove.cfg` in its CBFS) into `dir`.
pub fn prepare(dir: &Path, payload_elf: &Path, config: Option<&str>, fault: Fault) -> Result<Handoff> {
    fs::create_dir_all(dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let elf = fs::read(payload_elf).map_err(|e| HarnessError::io(format!("reading {}", payload_elf.display()), e))?;
    let (entry, segments) = load_segments(&elf).map_err(|e| setup(format!("{}: {e}", payload_elf.display())))?;
    if let Some(s) = segments.iter().find(|s| s.paddr != s.vaddr) {
        return Err(setup(format!("segment at {:#x} has p_paddr {:#x}: cbfstool loads at p_paddr", s.vaddr, s.paddr)));
    }

    let flash = dir.join("flash.rom");
    let flash_size = write_flash(dir, &flash, config)?;
    let mut full = full_table(flash_size);
    if fault == Fault::TableChecksum {
        let last = full.len() - 1;
        full[last] ^= 1;
    }

    // Staged: segments, then the forwarder, then the full table.
    let mut stage = Vec::new();
    let mut copies: Vec<(u32, u32, u32)> = Vec::new();
    let mut put = |bytes: &[u8], dest: u64| {
        let at = STAGE_ADDR + stage.len() as u64;
        stage.extend(bytes);
        stage.resize(stage.len().next_multiple_of(16), 0);
        copies.push((at as u32, dest as u32, bytes.len() as u32));
    };
    let mut zeroes = Vec::new();
    for s in &segments {
        put(&s.data, s.paddr);
        if s.memsz > s.data.len() as u64 {
            zeroes.push((0, (s.paddr + s.data.len() as u64) as u32, (s.memsz - s.data.len() as u64) as u32));
        }
    }
    put(&table(&[forward(TABLE_ADDR)]), LOW_TABLE_ADDR);
    put(&full, TABLE_ADDR);
    copies.extend(zeroes);

    let staged = dir.join("staged.bin");
    fs::write(&staged, &stage).map_err(|e| HarnessError::io(format!("writing {}", staged.display()), e))?;
    let shim = dir.join("shim.bin");
    let image = shim_kernel(&copies, TABLE_ADDR as u32, entry as u32);
    fs::write(&shim, image).map_err(|e| HarnessError::io(format!("writing {}", shim.display()), e))?;
    let loader = format!("loader,file={},addr={STAGE_ADDR:#x},force-raw=on", staged.display());
    Ok(Handoff { shim, loader, flash })
}

fn setup(msg: String) -> HarnessError {
    HarnessError::io(msg, std::io::ErrorKind::InvalidData.into())
}

/// A CBFS made by cbfstool (with `clove.cfg` when given) followed by
/// SeaBIOS. Returns the flash size.
fn write_flash(dir: &Path, flash: &Path, config: Option<&str>) -> Result<u64> {
    let cbfs = dir.join("cbfs.bin");
    let _ = fs::remove_file(&cbfs);
    cbfstool(&cbfs, &["create", "-m", "x86", "-s", &CBFS_SIZE.to_string()])?;
    if let Some(text) = config {
        let cfg = dir.join("clove.cfg");
        fs::write(&cfg, text).map_err(|e| HarnessError::io(format!("writing {}", cfg.display()), e))?;
        cbfstool(&cbfs, &["add", "-f", &cfg.to_string_lossy(), "-n", "clove.cfg", "-t", "raw"])?;
    }
    let mut image = fs::read(&cbfs).map_err(|e| HarnessError::io(format!("reading {}", cbfs.display()), e))?;
    if image.len() as u64 != CBFS_SIZE {
        return Err(setup(format!("cbfstool made a {} byte CBFS, not {CBFS_SIZE}", image.len())));
    }
    image.extend(fs::read(SEABIOS).map_err(|e| HarnessError::io(format!("reading {SEABIOS}"), e))?);
    fs::write(flash, &image).map_err(|e| HarnessError::io(format!("writing {}", flash.display()), e))?;
    Ok(image.len() as u64)
}

fn cbfstool(rom: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(CBFSTOOL)
        .arg(rom)
        .args(args)
        .output()
        .map_err(|e| HarnessError::io(format!("running {CBFSTOOL} (package coreboot-utils)"), e))?;
    if !out.status.success() {
        return Err(HarnessError::Build {
            command: format!("{CBFSTOOL} {} {}", rom.display(), args.join(" ")),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// Bochs VBE (index, value) writes for 800x600x32, in the order coreboot's
/// QEMU graphics driver makes them: disable, bank, bpp, size, virtual size,
/// offsets, enable with the linear framebuffer.
const VBE_800X600: [(u16, u16); 10] =
    [(4, 0), (5, 0), (3, 32), (1, 800), (2, 600), (6, 800), (7, 600), (8, 0), (9, 0), (4, 0x41)];

/// The shim: for each `(src, dst, len)` copy `len` bytes (src 0: zero
/// them), program the display, then call `entry` the way coreboot calls a
/// payload: `entry(table)` with cdecl, EAX = 0.
pub fn shim_kernel(copies: &[(u32, u32, u32)], table_ptr: u32, entry: u32) -> Vec<u8> {
    let mut c: Vec<u8> = Vec::new();
    c.extend([0xFA, 0xFC]); // cli; cld
    let table_fixup = c.len() + 1;
    c.extend([0xBB, 0, 0, 0, 0]); // mov ebx, copies
    let top = c.len();
    c.extend([0x8B, 0x4B, 0x08]); // mov ecx, [ebx+8]
    let done_fixup = c.len() + 1;
    c.extend([0xE3, 0]); // jecxz done
    c.extend([0x8B, 0x33, 0x8B, 0x7B, 0x04]); // mov esi, [ebx]; mov edi, [ebx+4]
    c.extend([0x85, 0xF6, 0x74, 0x04]); // test esi, esi; jz zero
    c.extend([0xF3, 0xA4, 0xEB, 0x04]); // rep movsb; jmp next
    c.extend([0x31, 0xC0, 0xF3, 0xAA]); // zero: xor eax, eax; rep stosb
    c.extend([0x83, 0xC3, 0x0C]); // next: add ebx, 12
    let back = top as i64 - (c.len() as i64 + 2);
    c.extend([0xEB, back as i8 as u8]); // jmp top
    c[done_fixup] = (c.len() - (done_fixup + 1)) as u8;
    for (index, value) in VBE_800X600 {
        c.extend([0x66, 0xBA, 0xCE, 0x01, 0x66, 0xB8]); // mov dx, 0x1ce; mov ax, index
        c.extend(index.to_le_bytes());
        c.extend([0x66, 0xEF, 0x42, 0x66, 0xB8]); // out dx, ax; inc edx; mov ax, value
        c.extend(value.to_le_bytes());
        c.extend([0x66, 0xEF]); // out dx, ax
    }
    // Unblank the VGA attribute controller (read 0x3da resets its flip-flop).
    c.extend([0x66, 0xBA, 0xDA, 0x03, 0xEC, 0x66, 0xBA, 0xC0, 0x03, 0xB0, 0x20, 0xEE]);
    let stack_fixup = c.len() + 1;
    c.extend([0xBC, 0, 0, 0, 0]); // mov esp, stack_top
    c.push(0x68); // push table_ptr
    c.extend(table_ptr.to_le_bytes());
    let ret_fixup = c.len() + 1;
    c.extend([0x68, 0, 0, 0, 0]); // push halt (the return address)
    c.extend([0x31, 0xC0, 0x31, 0xDB, 0xB9]); // xor eax, eax; xor ebx, ebx; mov ecx, entry
    c.extend(entry.to_le_bytes());
    c.extend([0xFF, 0xE1]); // jmp ecx
    let halt = c.len();
    c.extend([0xFA, 0xF4, 0xEB, 0xFD]); // halt: cli; hlt; jmp hlt

    let base = SHIM_LOAD + multiboot::HEADER_LEN;
    c.resize(c.len().next_multiple_of(4), 0);
    let table_at = base + c.len() as u32;
    for &(src, dst, len) in copies {
        c.extend([src, dst, len].iter().flat_map(|w| w.to_le_bytes()));
    }
    c.extend([0u8; 12]);
    let stack_top = base + c.len() as u32 + SHIM_STACK;
    c[table_fixup..table_fixup + 4].copy_from_slice(&table_at.to_le_bytes());
    c[stack_fixup..stack_fixup + 4].copy_from_slice(&stack_top.to_le_bytes());
    c[ret_fixup..ret_fixup + 4].copy_from_slice(&(base + halt as u32).to_le_bytes());
    multiboot::flat_kernel(SHIM_LOAD, &c, SHIM_STACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_of_a_tiny_elf() {
        let mut elf = vec![0u8; 64 + 56 + 16];
        elf[..5].copy_from_slice(b"\x7fELF\x02");
        elf[24..32].copy_from_slice(&0x10_0010u64.to_le_bytes());
        elf[32..40].copy_from_slice(&64u64.to_le_bytes());
        elf[54..56].copy_from_slice(&56u16.to_le_bytes());
        elf[56..58].copy_from_slice(&1u16.to_le_bytes());
        let ph = &mut elf[64..120];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes());
        for (o, v) in [(8, 120u64), (16, 0x10_0000), (24, 0x10_0000), (32, 16), (40, 0x1000)] {
            ph[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
        elf[120..136].copy_from_slice(&[0xAB; 16]);
        let (entry, segs) = load_segments(&elf).unwrap();
        assert_eq!(entry, 0x10_0010);
        assert_eq!(segs, [Segment { paddr: 0x10_0000, vaddr: 0x10_0000, data: vec![0xAB; 16], memsz: 0x1000 }]);
        elf[64 + 32] = 17;
        assert!(load_segments(&elf).unwrap_err().contains("outside"));
        assert!(load_segments(b"\x7fELF\x01").is_err());
    }

    #[test]
    fn shim_points_at_its_copy_table() {
        let k = shim_kernel(&[(0x300_0000, 0x10_0000, 0x20), (0, 0x10_0020, 0x10)], 0xfe0_0000, 0x10_0050);
        let body = &k[multiboot::HEADER_LEN as usize..];
        // mov ebx, imm32 right after cli; cld: the copy table, then its terminator.
        let table = u32::from_le_bytes(body[3..7].try_into().unwrap());
        let at = (table - SHIM_LOAD - multiboot::HEADER_LEN) as usize;
        let words: Vec<u32> = body[at..at + 36].chunks(4).map(|w| u32::from_le_bytes(w.try_into().unwrap())).collect();
        assert_eq!(words, [0x300_0000, 0x10_0000, 0x20, 0, 0x10_0020, 0x10, 0, 0, 0]);
        assert_eq!(at + 36, body.len());
    }
}
