//! `cargo xtask <command>`: Clove's build, run, test and bench tasks.
//!
//! Everything QEMU-related goes through the `qemu-test` crate, so the flags
//! the tests use and the flags `run` uses are the same.
#![forbid(unsafe_code)]

mod bench;
mod check;
mod deps;
mod payload;
mod run;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  deps                    check QEMU, its firmware and the Rust target; install what is missing
  build [--pvh-only]      build clove.elf and clove-pvh.elf into target/clove/
                          (--pvh-only: only clove-pvh.elf)
  run [--pvh-only] [--append CMDLINE] [-- QEMU-ARGS...]
                          boot the payload in QEMU: in a window when DISPLAY or
                          WAYLAND_DISPLAY is set, else headless; serial on stdout
  test                    the full gate: fmt, clippy, bare builds, all tests
  bench boot              time 10 boots (spawn to banner, spawn to exit)
  help                    this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => ("", &[][..]),
    };
    let result = match command {
        "deps" => no_args(rest).and_then(|()| deps::ensure()).map(|()| 0),
        "build" => payload::cmd(rest).map(|()| 0),
        "run" => run::cmd(rest),
        "test" => no_args(rest).and_then(|()| check::cmd()).map(|()| 0),
        "bench" => bench::cmd(rest).map(|()| 0),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(0)
        }
        _ => {
            if !command.is_empty() {
                eprintln!("xtask: unknown command {command:?}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(util::Error::Usage(msg)) => {
            eprintln!("xtask: {msg}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn no_args(rest: &[String]) -> util::Result<()> {
    match rest.first() {
        None => Ok(()),
        Some(a) => Err(util::Error::Usage(format!("unexpected argument {a:?}"))),
    }
}
