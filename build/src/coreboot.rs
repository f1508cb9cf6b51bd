//! `cargo xtask coreboot`: put Clove into a coreboot ROM as its payload.
//!
//! Debian's `cbfstool` (coreboot-utils) does the work: `add-payload -c lzma`
//! turns the ELF into an LZMA-compressed SELF that coreboot loads at each
//! segment's p_paddr, and `add -t raw` stores `clove.cfg` uncompressed (the
//! payload reads it straight from the memory-mapped flash).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use qemu_test::artifacts::{self, Variant};
use qemu_test::deps;

use crate::util::{self, Error, Result};

pub use qemu_test::deps::CBFSTOOL;
/// The name coreboot boots.
pub const PAYLOAD_NAME: &str = "fallback/payload";
/// The name Clove reads its configuration from.
pub const CONFIG_NAME: &str = "clove.cfg";
/// Size of the CBFS-only image made when no ROM is given (just to measure).
const MEASURE_SIZE: &str = "0x400000";

/// `cargo xtask coreboot [--rom BASE.rom] [--config clove.cfg]`.
pub fn cmd(args: &[String]) -> Result<()> {
    let (mut rom, mut config) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| Error::Usage(format!("coreboot: {a} needs a value")));
        match a.as_str() {
            "--rom" => rom = Some(PathBuf::from(value()?)),
            "--config" => config = Some(PathBuf::from(value()?)),
            other => return Err(Error::Usage(format!("coreboot: unexpected argument {other:?}"))),
        }
    }
    if deps::find_program(CBFSTOOL).is_none() {
        return Err(Error::Failed(format!(
            "{CBFSTOOL} is missing; install it with:\n  {}",
            deps::install_line(&["coreboot-utils"])
        )));
    }
    let elf = artifacts::build_payload(Variant::Multiboot)?;
    let out = match &rom {
        Some(_) => artifacts::artifacts_dir().join("coreboot.rom"),
        None => artifacts::artifacts_dir().join("cbfs-only.rom"),
    };
    match &rom {
        Some(base) => {
            fs::copy(base, &out).map_err(|e| Error::Failed(format!("copying {}: {e}", base.display())))?;
        }
        None => {
            println!("coreboot: no --rom given: making a CBFS-only image to measure the payload (not bootable)");
            let _ = fs::remove_file(&out);
            cbfstool(&out, &["create", "-m", "x86", "-s", MEASURE_SIZE])?;
        }
    }
    add(&out, &elf, config.as_deref())?;
    let listing = cbfstool_output(&out, &["print"])?;
    print!("{listing}");
    match payload_size(&listing) {
        Some(size) => println!("coreboot: {PAYLOAD_NAME} is {size} bytes in CBFS (lzma)"),
        None => return Err(Error::Failed(format!("{PAYLOAD_NAME} is missing from `cbfstool print`"))),
    }
    println!("coreboot: wrote {}", out.display());
    if rom.is_some() {
        println!("coreboot: boot it with: qemu-system-x86_64 -bios {} -serial stdio", out.display());
    }
    Ok(())
}

/// Replace the payload (and `clove.cfg`) in `rom`.
pub fn add(rom: &Path, elf: &Path, config: Option<&Path>) -> Result<()> {
    let listing = cbfstool_output(rom, &["print"])?;
    for name in [PAYLOAD_NAME, CONFIG_NAME] {
        if listing.lines().any(|l| l.split_whitespace().next() == Some(name)) {
            cbfstool(rom, &["remove", "-n", name])?;
        }
    }
    let elf = elf.to_string_lossy();
    cbfstool(rom, &["add-payload", "-f", &elf, "-n", PAYLOAD_NAME, "-c", "lzma"])?;
    if let Some(cfg) = config {
        cbfstool(rom, &["add", "-f", &cfg.to_string_lossy(), "-n", CONFIG_NAME, "-t", "raw"])?;
    }
    Ok(())
}

fn cbfstool(rom: &Path, args: &[&str]) -> Result<()> {
    util::run(Command::new(CBFSTOOL).arg(rom).args(args))
}

fn cbfstool_output(rom: &Path, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(CBFSTOOL);
    cmd.arg(rom).args(args);
    let line = util::describe(&cmd);
    let out = cmd.output().map_err(|e| Error::Failed(format!("cannot run `{line}`: {e}")))?;
    if !out.status.success() {
        return Err(Error::Failed(format!("`{line}` failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The payload's size from `cbfstool print`: `fallback/payload 0x0 simple elf 367069 none`.
fn payload_size(listing: &str) -> Option<u64> {
    let line = listing.lines().find(|l| l.split_whitespace().next() == Some(PAYLOAD_NAME))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "elf")?;
    words.get(at + 1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_size_from_a_listing() {
        let listing = "FMAP REGION: COREBOOT\n\
            Name                           Offset     Type           Size   Comp\n\
            cbfs master header             0x0        cbfs header        32 none\n\
            fallback/payload               0x80       simple elf     367069 none\n\
            clove.cfg                      0x59a40    raw                29 none\n";
        assert_eq!(payload_size(listing), Some(367_069));
        assert_eq!(payload_size("clove.cfg 0x0 raw 29 none\n"), None);
    }
}
