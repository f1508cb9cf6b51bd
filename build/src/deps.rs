//! `cargo xtask deps`: system packages from qemu-test's table, and the Rust target.

use std::path::PathBuf;
use std::process::Command;

use qemu_test::artifacts::TARGET;
use qemu_test::deps::{self, Dep, BENCH_DEPS, DEPS, WINDOW_DEPS};

use crate::util::{self, Error, Result};

/// `cargo xtask deps [--bench]`.
pub fn cmd(args: &[String]) -> Result<()> {
    match args {
        [] => ensure(),
        [flag] if flag == "--bench" => ensure().and_then(|()| ensure_bench()),
        [other, ..] => Err(Error::Usage(format!("deps: unexpected argument {other:?}"))),
    }
}

/// Checks everything and installs what is missing (as root), or prints the
/// command to run (otherwise).
pub fn ensure() -> Result<()> {
    ensure_packages(DEPS)?;
    ensure_rust_target()
}

/// What a QEMU window needs on top of [`ensure`].
pub fn ensure_window() -> Result<()> {
    ensure_packages(WINDOW_DEPS)
}

/// What benchmarks need on top of [`ensure`]: a real SPICE client, and the
/// toolchain and libraries for spice-gtk's C decoders.
pub fn ensure_bench() -> Result<()> {
    ensure_packages(BENCH_DEPS)
}

fn ensure_packages(table: &'static [Dep]) -> Result<()> {
    let missing = deps::missing(table);
    for d in table {
        let state = if missing.iter().any(|m| m.check == d.check) { "missing" } else { "ok" };
        println!("deps: {state:<7} {:<36} ({}: {})", d.check.name(), d.package, d.why);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let packages = deps::packages(missing.iter().copied());
    if !deps::is_root() {
        return Err(Error::Failed(format!(
            "missing system packages; install them with:\n  {}",
            deps::install_line(&packages)
        )));
    }
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(&packages);
    if let Err(first) = apt(&install) {
        eprintln!("deps: install failed ({first}); trying `apt-get -f install -y` and again");
        apt(&["-f", "install", "-y"])?;
        apt(&install)?;
    }
    let still = deps::missing(table);
    if !still.is_empty() {
        let names: Vec<_> = still.iter().map(|d| d.check.name()).collect();
        return Err(Error::Failed(format!("still missing after apt-get: {}", names.join(", "))));
    }
    println!("deps: installed {}", packages.join(" "));
    Ok(())
}

fn apt(args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    println!("deps: $ {}", util::describe(&cmd));
    util::run(&mut cmd)
}

/// A rustup command run in the workspace root without an env override, so
/// rust-toolchain.toml decides the toolchain.
fn rustup(args: &[&str]) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(args).current_dir(qemu_test::artifacts::workspace_root()).env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

fn target_installed() -> Result<Option<bool>> {
    if deps::find_program("rustup").is_none() {
        // No rustup: look in rustc's sysroot instead.
        let out = Command::new("rustc").args(["--print", "sysroot"]).output();
        return Ok(out.ok().filter(|o| o.status.success()).map(|o| {
            let sysroot = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            sysroot.join("lib/rustlib").join(TARGET).is_dir()
        }));
    }
    let out = rustup(&["target", "list", "--installed"])
        .output()
        .map_err(|e| Error::Failed(format!("cannot run rustup: {e}")))?;
    if !out.status.success() {
        return Ok(Some(false));
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET)))
}

fn ensure_rust_target() -> Result<()> {
    match target_installed()? {
        Some(true) => {
            println!("deps: ok      rust target {TARGET}");
            return Ok(());
        }
        None => {
            return Err(Error::Failed(format!(
                "neither rustup nor rustc found; install the toolchain in rust-toolchain.toml (with {TARGET})"
            )))
        }
        Some(false) => {}
    }
    if deps::find_program("rustup").is_none() {
        return Err(Error::Failed(format!("rust target {TARGET} is missing and there is no rustup to add it")));
    }
    println!("deps: missing rust target {TARGET}; $ rustup toolchain install");
    util::run(&mut rustup(&["toolchain", "install"]))?;
    if target_installed()? != Some(true) {
        println!("deps: $ rustup target add {TARGET}");
        util::run(&mut rustup(&["target", "add", TARGET]))?;
    }
    Ok(())
}
