//! `cargo xtask build`: the payload ELFs, via qemu-test's one build function.

use std::fs;
use std::path::PathBuf;

use qemu_test::artifacts::{self, Variant};

use crate::util::{Error, Result};

pub fn cmd(args: &[String]) -> Result<()> {
    let variants: &[Variant] = match args {
        [] => &Variant::ALL,
        [flag] if flag == "--pvh-only" => &[Variant::PvhOnly],
        [other, ..] => return Err(Error::Usage(format!("build: unexpected argument {other:?}"))),
    };
    build(variants)?;
    Ok(())
}

/// Builds `variants` in order and prints each ELF's path and size.
pub fn build(variants: &[Variant]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for &v in variants {
        let path = artifacts::build_payload(v)?;
        let size = fs::metadata(&path).map_err(|e| Error::Failed(format!("{}: {e}", path.display())))?.len();
        println!("built {} ({size} bytes)", path.display());
        paths.push(path);
    }
    Ok(paths)
}
