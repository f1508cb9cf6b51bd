//! `cargo xtask run`: boot the payload in QEMU, interactively.

use std::env;
use std::process::Stdio;

use qemu_test::{QemuConfig, Serial, Variant};

use crate::util::{Error, Result};
use crate::{deps, payload};

struct Options {
    variant: Variant,
    append: Option<String>,
    qemu_args: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options { variant: Variant::Multiboot, append: None, qemu_args: Vec::new() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pvh-only" => o.variant = Variant::PvhOnly,
            "--append" => {
                let v = it.next().ok_or_else(|| Error::Usage("run: --append needs a value".into()))?;
                o.append = Some(v.clone());
            }
            "--" => {
                o.qemu_args = it.cloned().collect();
                break;
            }
            other => return Err(Error::Usage(format!("run: unexpected argument {other:?} (QEMU args go after --)"))),
        }
    }
    Ok(o)
}

/// Whether a graphical session is available.
pub fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Returns QEMU's exit code.
pub fn cmd(args: &[String]) -> Result<i32> {
    let o = parse(args)?;
    deps::ensure()?;
    if has_display() {
        deps::ensure_window()?;
    }
    let kernel = payload::build(&[o.variant])?.remove(0);
    let mut config = QemuConfig::new(kernel).window(has_display()).serial(Serial::Stdio).extra_args(o.qemu_args);
    if let Some(cmdline) = &o.append {
        config = config.append(cmdline);
    }
    qemu_test::qemu::require_qemu(&config.binary)?;
    eprintln!("run: {}", config.command_line());
    if !config.window {
        eprintln!("run: headless (no DISPLAY); serial below, Ctrl+C quits");
    }
    let status = config
        .command()
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::Failed(format!("cannot start {}: {e}", config.binary)))?;
    // isa-debug-exit codes (1 = clean test exit) are passed through as they are.
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options_and_qemu_args() {
        let o = parse(&strings(&["--pvh-only", "--append", "a b", "--", "-m", "1G", "--x"])).unwrap();
        assert_eq!(o.variant, Variant::PvhOnly);
        assert_eq!(o.append.as_deref(), Some("a b"));
        assert_eq!(o.qemu_args, ["-m", "1G", "--x"]);
        assert!(matches!(parse(&strings(&["-m"])), Err(Error::Usage(_))));
        assert!(matches!(parse(&strings(&["--append"])), Err(Error::Usage(_))));
        let o = parse(&[]).unwrap();
        assert_eq!(o.variant, Variant::Multiboot);
        assert!(o.qemu_args.is_empty());
    }
}
