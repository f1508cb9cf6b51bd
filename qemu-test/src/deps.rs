//! The system tools Clove's builds and tests need, and the Debian packages
//! that provide them. `cargo xtask deps` installs from this table; the harness
//! uses it to say how to install a missing QEMU.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// How to tell whether a dependency is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// An executable found on `PATH`.
    Program(&'static str),
    /// A file at an absolute path.
    File(&'static str),
}

/// One system dependency.
#[derive(Debug, Clone, Copy)]
pub struct Dep {
    pub check: Check,
    /// The Debian package that provides it.
    pub package: &'static str,
    /// Why Clove needs it.
    pub why: &'static str,
}

/// The QEMU binary every test boots.
pub const QEMU: &str = "qemu-system-x86_64";

/// Every system dependency: tool or file → Debian package.
pub const DEPS: &[Dep] = &[
    Dep { check: Check::Program(QEMU), package: "qemu-system-x86", why: "boots the payload" },
    Dep {
        check: Check::File("/usr/lib/ipxe/qemu/efi-e1000.rom"),
        package: "ipxe-qemu",
        why: "option ROMs QEMU loads for its NICs",
    },
    Dep { check: Check::File("/usr/share/seabios/bios-256k.bin"), package: "seabios", why: "QEMU's PC BIOS" },
    Dep { check: Check::Program("openssl"), package: "openssl", why: "cross-checks the SPICE ticket encryption" },
];

/// Only for `cargo xtask run` with a display: QEMU's GTK window.
pub const WINDOW_DEPS: &[Dep] = &[Dep {
    check: Check::File("/usr/lib/x86_64-linux-gnu/qemu/ui-gtk.so"),
    package: "qemu-system-gui",
    why: "QEMU's GTK window for `cargo xtask run`",
}];

impl Check {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Check::Program(p) | Check::File(p) => p,
        }
    }

    /// Whether the tool or file is present.
    pub fn is_present(&self) -> bool {
        match self {
            Check::Program(p) => find_program(p).is_some(),
            Check::File(p) => Path::new(p).is_file(),
        }
    }
}

/// Finds an executable on `PATH`, like `command -v`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The dependencies that are missing.
pub fn missing(table: &'static [Dep]) -> Vec<&'static Dep> {
    table.iter().filter(|d| !d.check.is_present()).collect()
}

/// The packages that provide `deps`, each once, in table order.
pub fn packages<'a>(deps: impl IntoIterator<Item = &'a Dep>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for d in deps {
        if !out.contains(&d.package) {
            out.push(d.package);
        }
    }
    out
}

/// Whether this process runs as root (real uid 0, from `/proc/self/status`).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").ok().and_then(|s| parse_uid(&s)).is_some_and(|uid| uid == 0)
}

fn parse_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|u| u.parse().ok())
}

/// The exact command that installs `packages` (with `sudo` unless root).
pub fn install_line(packages: &[&str]) -> String {
    let sudo = if is_root() { "" } else { "sudo " };
    format!("{sudo}apt-get install -y --no-install-recommends {}", packages.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_from_proc_status() {
        let s = "Name:\tcat\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\nGid:\t0\n";
        assert_eq!(parse_uid(s), Some(1000));
        assert_eq!(parse_uid("Name:\tx\n"), None);
    }

    #[test]
    fn packages_are_deduplicated_in_order() {
        let deps = [DEPS[1], DEPS[0], DEPS[1]];
        assert_eq!(packages(deps.iter()), ["ipxe-qemu", "qemu-system-x86"]);
    }

    #[test]
    fn install_line_names_packages() {
        let line = install_line(&["qemu-system-x86", "seabios"]);
        assert!(line.ends_with("apt-get install -y --no-install-recommends qemu-system-x86 seabios"));
    }

    #[test]
    fn finds_sh_on_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("clove-no-such-program-xyz").is_none());
    }
}
