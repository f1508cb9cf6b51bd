//! `cargo xtask fuzz [TARGET] [--seconds N]`: cargo-fuzz on the nightly
//! toolchain, over spice-proto/fuzz. Each target's corpus lives in
//! spice-proto/fuzz/corpus/<target>/ and is replayed on stable by
//! spice-proto/tests/fuzz_corpus.rs.

use std::process::Command;

use crate::util::{Error, Result};

pub fn cmd(args: &[String]) -> Result<()> {
    let mut target = None;
    let mut seconds = 60u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let v = it.next().ok_or_else(|| Error::Usage("fuzz: --seconds needs a value".into()))?;
                seconds = v.parse().map_err(|_| Error::Usage(format!("fuzz: bad seconds {v:?}")))?;
            }
            s if target.is_none() && !s.starts_with("--") => target = Some(s.to_string()),
            other => return Err(Error::Usage(format!("fuzz: unexpected argument {other:?}"))),
        }
    }
    let root = qemu_test::artifacts::workspace_root();
    let fuzz_dir = root.join("spice-proto/fuzz");
    ensure_cargo_fuzz()?;
    let targets = match target {
        Some(t) => vec![t],
        None => list(&fuzz_dir)?,
    };
    for t in targets {
        println!("==> fuzz {t} for {seconds} s");
        let corpus = fuzz_dir.join("corpus").join(&t);
        std::fs::create_dir_all(&corpus).map_err(|e| Error::Failed(format!("{}: {e}", corpus.display())))?;
        let status = Command::new("cargo")
            .current_dir(root.join("spice-proto"))
            .args(["+nightly", "fuzz", "run", &t])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-max_len=1048576")
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .map_err(|e| Error::Failed(format!("cargo fuzz: {e}")))?;
        if !status.success() {
            return Err(Error::Failed(format!("fuzz target {t} failed: {status}")));
        }
    }
    Ok(())
}

/// Target names from fuzz/Cargo.toml's [[bin]] entries.
fn list(fuzz_dir: &std::path::Path) -> Result<Vec<String>> {
    let toml = std::fs::read_to_string(fuzz_dir.join("Cargo.toml")).map_err(|e| Error::Failed(e.to_string()))?;
    Ok(toml
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "spice-proto-fuzz")
        .map(String::from)
        .collect())
}

fn ensure_cargo_fuzz() -> Result<()> {
    let have = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz");
    let status = Command::new("cargo")
        .args(["install", "--locked", "cargo-fuzz"])
        .status()
        .map_err(|e| Error::Failed(format!("cargo install cargo-fuzz: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed("could not install cargo-fuzz".into()))
    }
}
