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
    /// A file matching an absolute path whose last component has one `*`,
    /// e.g. `/boot/vmlinuz-*-amd64`.
    Glob(&'static str),
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
    Dep {
        check: Check::Glob(KERNEL_GLOB),
        package: "linux-image-amd64",
        why: "the Linux guest's kernel (and its modules) for the SPICE server VM",
    },
    Dep { check: Check::File(BUSYBOX), package: "busybox-static", why: "the Linux guest's userland" },
    Dep { check: Check::File(MODPROBE), package: "kmod", why: "lists kernel modules' dependencies for the guest" },
    Dep { check: Check::Program("cpio"), package: "cpio", why: "cross-checks the guest initramfs writer" },
    Dep {
        check: Check::Program(CBFSTOOL),
        package: "coreboot-utils",
        why: "puts Clove into coreboot ROMs (`cargo xtask coreboot`) and builds the coreboot test's CBFS",
    },
    Dep { check: Check::Program(GRUB_MKRESCUE), package: "grub-common", why: "builds the GRUB ISO (`xtask iso`)" },
    Dep { check: Check::File(GRUB_BIOS_MODULE), package: "grub-pc-bin", why: "GRUB's BIOS modules for the ISO" },
    Dep { check: Check::Program("xorriso"), package: "xorriso", why: "writes the ISO image for grub-mkrescue" },
    Dep { check: Check::Program("mformat"), package: "mtools", why: "grub-mkrescue's FAT tools" },
];

/// coreboot's CBFS tool, by path: Debian installs it in /usr/sbin, which a
/// user's `PATH` often lacks.
pub const CBFSTOOL: &str = "/usr/sbin/cbfstool";

/// GRUB's rescue-image builder.
pub const GRUB_MKRESCUE: &str = "grub-mkrescue";
/// GRUB's BIOS platform dir (grub-pc-bin), and a module the ISO needs from it.
pub const GRUB_BIOS_DIR: &str = "/usr/lib/grub/i386-pc";
pub const GRUB_BIOS_MODULE: &str = "/usr/lib/grub/i386-pc/multiboot2.mod";

/// The Debian kernels the guest can boot.
pub const KERNEL_GLOB: &str = "/boot/vmlinuz-*-amd64";
/// Static busybox, copied into the guest.
pub const BUSYBOX: &str = "/bin/busybox";
/// modprobe (kmod), often outside a user's `PATH`.
pub const MODPROBE: &str = "/sbin/modprobe";

/// Only for `cargo xtask run` with a display: QEMU's GTK window.
pub const WINDOW_DEPS: &[Dep] = &[Dep {
    check: Check::File("/usr/lib/x86_64-linux-gnu/qemu/ui-gtk.so"),
    package: "qemu-system-gui",
    why: "QEMU's GTK window for `cargo xtask run`",
}];

/// Only for `cargo xtask bench` (and `deps --bench`): a real SPICE client, and
/// what building spice-gtk's C decoders from Debian's source takes (`bench decode`).
pub const BENCH_DEPS: &[Dep] = &[
    Dep {
        check: Check::Program("spicy-screenshot"),
        package: "spice-client-gtk",
        why: "spice-gtk's client, the baseline for SPICE benchmarks",
    },
    Dep { check: Check::Program("gcc"), package: "gcc", why: "compiles spice-gtk's C decoders (bench decode)" },
    Dep {
        check: Check::Program("dpkg-buildflags"),
        package: "dpkg-dev",
        why: "Debian's CFLAGS, and dpkg-source unpacks spice-gtk's source",
    },
    Dep { check: Check::Program("xz"), package: "xz-utils", why: "unpacks spice-gtk's source tarball" },
    Dep { check: Check::Program("pkg-config"), package: "pkgconf", why: "flags of glib and pixman" },
    Dep { check: Check::File("/usr/include/lz4.h"), package: "liblz4-dev", why: "LZ4 for the C baseline" },
    Dep {
        check: Check::File("/usr/include/jpeglib.h"),
        package: "libjpeg62-turbo-dev",
        why: "JPEG for the C baseline",
    },
    Dep { check: Check::File("/usr/include/zlib.h"), package: "zlib1g-dev", why: "ZLIB_GLZ for the C baseline" },
    Dep {
        check: Check::File("/usr/include/glib-2.0/glib.h"),
        package: "libglib2.0-dev",
        why: "spice-gtk's GLZ window and decoders use glib",
    },
    Dep {
        check: Check::File("/usr/include/pixman-1/pixman.h"),
        package: "libpixman-1-dev",
        why: "the C decoders' output surfaces",
    },
    Dep {
        check: Check::File("/usr/include/spice-1/spice/enums.h"),
        package: "libspice-protocol-dev",
        why: "SPICE protocol headers the C decoders include",
    },
];

impl Check {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Check::Program(p) | Check::File(p) | Check::Glob(p) => p,
        }
    }

    /// Whether the tool or file is present.
    pub fn is_present(&self) -> bool {
        match self {
            Check::Program(p) => find_program(p).is_some(),
            Check::File(p) => Path::new(p).is_file(),
            Check::Glob(p) => !glob(p).is_empty(),
        }
    }
}

/// The files matching `pattern`: an absolute path whose last component may
/// hold one `*`. Sorted by name.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let (prefix, suffix) = name.split_once('*').unwrap_or((name, ""));
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            let matches = if name.contains('*') {
                n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
            } else {
                n == name
            };
            matches && e.path().is_file()
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
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

/// Fails with the install line unless every [`DEPS`] entry of `packages` is present.
pub fn require(packages: &[&str]) -> crate::Result<()> {
    require_in(DEPS, packages)
}

fn require_in(table: &'static [Dep], packages: &[&str]) -> crate::Result<()> {
    let missing: Vec<&Dep> = missing(table).into_iter().filter(|d| packages.contains(&d.package)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let tools: Vec<&str> = missing.iter().map(|d| d.check.name()).collect();
    Err(crate::HarnessError::MissingTool {
        tool: tools.join(", "),
        install: install_line(&self::packages(missing.iter().copied())),
    })
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
    fn require_names_what_is_missing() {
        static TABLE: &[Dep] = &[
            Dep { check: Check::Program("clove-no-such-tool"), package: "clove-fake", why: "" },
            Dep { check: Check::Program("sh"), package: "dash", why: "" },
        ];
        require_in(TABLE, &["dash"]).unwrap();
        let msg = require_in(TABLE, &["dash", "clove-fake"]).unwrap_err().to_string();
        assert!(msg.starts_with("clove-no-such-tool is not installed"), "{msg}");
        assert!(msg.ends_with("apt-get install -y --no-install-recommends clove-fake"), "{msg}");
    }

    #[test]
    fn install_line_names_packages() {
        let line = install_line(&["qemu-system-x86", "seabios"]);
        assert!(line.ends_with("apt-get install -y --no-install-recommends qemu-system-x86 seabios"));
    }

    #[test]
    fn glob_matches_one_star() {
        let dir = std::env::temp_dir().join(format!("clove-glob-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for n in ["vmlinuz-6.1.0-9-amd64", "vmlinuz-6.1.0-10-amd64", "vmlinuz-6.1.0-9-rt", "config-6.1.0-9-amd64"] {
            fs::write(dir.join(n), b"").unwrap();
        }
        let found = glob(&format!("{}/vmlinuz-*-amd64", dir.display()));
        let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["vmlinuz-6.1.0-10-amd64", "vmlinuz-6.1.0-9-amd64"]);
        assert_eq!(glob(&format!("{}/config-6.1.0-9-amd64", dir.display())).len(), 1);
        assert!(glob(&format!("{}/nothing-*", dir.display())).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn finds_sh_on_path() {
        assert!(find_program("sh").is_some());
        assert!(find_program("clove-no-such-program-xyz").is_none());
    }
}
