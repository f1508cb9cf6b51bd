//! `cargo xtask test`: the whole gate, in order, stopping at the first failure.

use std::fs;
use std::process::Command;

use qemu_test::artifacts::{self, Variant, BUILT_ENV, PACKAGE, TARGET};

use crate::util::{self, Error, Result};
use crate::{deps, payload};

fn cargo(args: &[&str]) -> Command {
    let mut cmd = util::cargo();
    cmd.args(args).env(BUILT_ENV, "1");
    cmd
}

pub fn cmd() -> Result<()> {
    step("deps", deps::ensure)?;
    step("build payloads", || payload::build(&Variant::ALL).map(drop))?;

    // Old instance dirs from earlier runs.
    let old = artifacts::target_dir().join("qemu-test");
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| Error::Failed(format!("removing {}: {e}", old.display())))?;
    }

    let steps: Vec<(&str, Command)> = vec![
        ("format", cargo(&["fmt", "--all", "--check"])),
        ("clippy (host)", cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])),
        (
            "clippy (payload, bare)",
            cargo(&["clippy", "-p", PACKAGE, "--target", TARGET, "--release", "--", "-D", "warnings"]),
        ),
        ("spice-proto builds bare", cargo(&["build", "-p", "spice-proto", "--target", TARGET])),
        ("tests", cargo(&["test", "--workspace"])),
    ];
    for (name, mut command) in steps {
        step(name, || {
            println!("$ {}", util::describe(&command));
            util::run(&mut command)
        })?;
    }
    println!("xtask test: all steps passed");
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("==> {name}");
    f().map_err(|e| Error::Failed(format!("step \"{name}\" failed: {e}")))
}
