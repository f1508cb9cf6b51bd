//! Boot media for the loaders that chainload Clove on real machines: a GRUB
//! rescue ISO (BIOS, from a CD or a USB stick) and an iPXE netboot directory
//! (served over TFTP or HTTP). `cargo xtask iso` / `netboot` and the tests
//! build them here, so both use the same `grub.cfg` and `boot.ipxe`.
//!
//! Facts checked on Debian 12 (GRUB 2.06, ipxe-qemu 1.0.0+git-20190125):
//! - GRUB's `multiboot2` passes its arguments joined by spaces, but escapes
//!   `'`, `"` and `\` with a backslash, so command lines holding them are
//!   refused. Each word is single-quoted in `grub.cfg`, so `$`, `;`, `#`
//!   reach Clove as they are.
//! - The iPXE in QEMU's NIC ROMs loads multiboot1 kernels, and with them our
//!   ELF64 through its a.out-kludge header. It has no ELF64, PVH or
//!   multiboot2 loader: `clove-pvh.elf` (ELF64 with the multiboot2 header
//!   and PVH note, no multiboot1) gives "Exec format error" (ipxe.org/2e008001). It fetches over TFTP and HTTP, resolves a relative
//!   kernel name against the script's own URL, and puts the kernel's URL in
//!   front of the command line (Clove skips words it does not know). It
//!   expands `${...}` in script lines, so that is refused. A DHCP round
//!   in iPXE costs about 2.7 s (TCG), so the script skips a second one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::artifacts;
use crate::deps;
use crate::error::{HarnessError, Result};
use crate::guest::tool_output;
use crate::qemu::opt_escape;

/// The ISO's file name under `target/clove/`.
pub const ISO_FILE: &str = "clove.iso";
/// The netboot directory's name under `target/clove/`.
pub const NETBOOT_DIR: &str = "tftp";
/// The iPXE script in the netboot directory (the DHCP boot file).
pub const IPXE_SCRIPT: &str = "boot.ipxe";
/// The payload's name on the ISO (under `/boot/`) and in the netboot directory.
pub const KERNEL_FILE: &str = "clove.elf";

/// Just what `grub.cfg` needs: its parser, the loader, and the CD/disk/USB
/// access the BIOS gives. Fonts, locales and themes are left out too: the
/// ISO shrinks from 10.6 MB to about 1.8 MB.
const GRUB_MODULES: &str = "normal multiboot2 iso9660 biosdisk part_msdos";

/// iPXE: DHCP only if no interface has an address yet.
const DHCP_IF_NEEDED: &str = "isset ${ip} || dhcp";

/// The Debian packages [`build_iso`] runs.
const GRUB_PACKAGES: &[&str] = &["grub-common", "grub-pc-bin", "xorriso", "mtools"];

/// `target/clove/clove.iso`.
pub fn iso_path() -> PathBuf {
    artifacts::artifacts_dir().join(ISO_FILE)
}

/// `target/clove/tftp/`.
pub fn netboot_dir() -> PathBuf {
    artifacts::artifacts_dir().join(NETBOOT_DIR)
}

/// A fresh directory for one test's boot media,
/// `target/qemu-test/<name>-media-<pid>-<n>/` (kept, like QEMU's work dirs).
pub fn media_dir(name: &str) -> Result<PathBuf> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = artifacts::target_dir().join("qemu-test").join(format!("{name}-media-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

fn refuse_controls(cmdline: &str) -> Result<()> {
    match cmdline.chars().find(|c| c.is_control() && *c != ' ') {
        Some(c) => Err(HarnessError::Invalid(format!("the command line holds the control character {c:?}"))),
        None => Ok(()),
    }
}

/// The `grub.cfg` that boots `/boot/clove.elf` at once through multiboot2
/// with `cmdline` (words split on whitespace, each one single-quoted).
pub fn grub_cfg(cmdline: &str) -> Result<String> {
    let mut line = format!("multiboot2 /boot/{KERNEL_FILE}");
    for word in cmdline.split_ascii_whitespace() {
        if let Some(c) = word.chars().find(|c| c.is_control() || matches!(c, '\'' | '"' | '\\')) {
            return Err(HarnessError::Invalid(format!(
                "GRUB would hand {c:?} (in {word:?}) to Clove with a backslash in front; \
                 leave it out (a password= can spell it %{:02X})",
                u32::from(c)
            )));
        }
        line.push_str(" '");
        line.push_str(word);
        line.push('\'');
    }
    Ok(format!("set timeout=0\n{line}\nboot\n"))
}

/// Builds a BIOS-bootable ISO (hybrid: also a USB stick image) at `iso` with
/// grub-mkrescue: `/boot/clove.elf` from `elf` and the [`grub_cfg`] for
/// `cmdline`. Returns the ISO's size in bytes.
pub fn build_iso(elf: &Path, cmdline: &str, iso: &Path) -> Result<u64> {
    let cfg = grub_cfg(cmdline)?;
    deps::require(GRUB_PACKAGES)?;
    let parent = iso.parent().unwrap_or(Path::new("."));
    let root = parent.join(format!(".iso-root-{}", std::process::id()));
    let grub_dir = root.join("boot/grub");
    let io = |what: &str, path: &Path| {
        let context = format!("{what} {}", path.display());
        move |e| HarnessError::io(context, e)
    };
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&grub_dir).map_err(io("creating", &grub_dir))?;
    let built = (|| -> Result<u64> {
        fs::copy(elf, root.join("boot").join(KERNEL_FILE)).map_err(io("copying", elf))?;
        fs::write(grub_dir.join("grub.cfg"), cfg).map_err(io("writing grub.cfg in", &grub_dir))?;
        tool_output(
            Command::new(deps::GRUB_MKRESCUE)
                .args(["-d", deps::GRUB_BIOS_DIR])
                .arg(format!("--install-modules={GRUB_MODULES}"))
                .args(["--fonts=", "--locales=", "--themes=", "--compress=xz", "-o"])
                .arg(iso)
                .arg(&root),
        )?;
        Ok(fs::metadata(iso).map_err(io("reading", iso))?.len())
    })();
    let _ = fs::remove_dir_all(&root);
    built
}

/// The iPXE script: DHCP unless the NIC has an address already, then the
/// multiboot kernel at `kernel` (a URL, or a name relative to the script's
/// own URL) with `cmdline`. When the ROM fetched the script itself, DHCP is
/// done; a second round would cost about 2.7 s (TCG).
pub fn ipxe_script(kernel: &str, cmdline: &str) -> Result<String> {
    refuse_controls(cmdline)?;
    if kernel.is_empty() || kernel.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(HarnessError::Invalid(format!("kernel URL {kernel:?} is empty or holds whitespace")));
    }
    if kernel.contains("${") || cmdline.contains("${") {
        return Err(HarnessError::Invalid("iPXE would expand \"${\" as a setting; leave it out".into()));
    }
    let words: Vec<&str> = std::iter::once(kernel).chain(cmdline.split_ascii_whitespace()).collect();
    Ok(format!("#!ipxe\n{DHCP_IF_NEEDED}\nkernel {}\nboot\n", words.join(" ")))
}

/// Fills `dir` for netbooting: `clove.elf` (from `elf`) and `boot.ipxe`
/// loading `kernel_url` (default: `clove.elf` next to the script) with `cmdline`.
pub fn build_netboot_dir(elf: &Path, cmdline: &str, kernel_url: Option<&str>, dir: &Path) -> Result<()> {
    let script = ipxe_script(kernel_url.unwrap_or(KERNEL_FILE), cmdline)?;
    fs::create_dir_all(dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let to = dir.join(KERNEL_FILE);
    fs::copy(elf, &to).map_err(|e| HarnessError::io(format!("copying {} to {}", elf.display(), to.display()), e))?;
    let to = dir.join(IPXE_SCRIPT);
    fs::write(&to, script).map_err(|e| HarnessError::io(format!("writing {}", to.display()), e))
}

/// The `-netdev user` options that make QEMU's DHCP hand out `boot.ipxe`
/// from `dir` over its built-in TFTP server.
pub fn tftp_options(dir: &Path) -> String {
    format!("tftp={},bootfile={IPXE_SCRIPT}", opt_escape(&dir.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_cfg_quotes_each_word() {
        assert_eq!(grub_cfg("").unwrap(), "set timeout=0\nmultiboot2 /boot/clove.elf\nboot\n");
        assert_eq!(
            grub_cfg("  server=spice://10.0.2.2:5930   password=a$b;c ").unwrap(),
            "set timeout=0\nmultiboot2 /boot/clove.elf 'server=spice://10.0.2.2:5930' 'password=a$b;c'\nboot\n"
        );
        for bad in ["password=it's", "a=\"b\"", "a=\\x", "a=\u{7f}"] {
            let err = grub_cfg(bad).unwrap_err();
            assert!(matches!(err, HarnessError::Invalid(_)), "{bad}: {err}");
        }
        assert!(grub_cfg("password=it's").unwrap_err().to_string().contains("%27"));
    }

    #[test]
    fn ipxe_script_loads_the_kernel_with_the_cmdline() {
        assert_eq!(
            ipxe_script("clove.elf", "server=spice://10.0.2.2:5930  mode=800x600").unwrap(),
            "#!ipxe\nisset ${ip} || dhcp\nkernel clove.elf server=spice://10.0.2.2:5930 mode=800x600\nboot\n"
        );
        assert_eq!(
            ipxe_script("http://10.0.2.2:8080/clove.elf", "").unwrap(),
            "#!ipxe\nisset ${ip} || dhcp\nkernel http://10.0.2.2:8080/clove.elf\nboot\n"
        );
        for (kernel, cmdline) in
            [("clove.elf", "password=${x}"), ("${url}", ""), ("", ""), ("a b", ""), ("clove.elf", "a\nboot")]
        {
            assert!(matches!(ipxe_script(kernel, cmdline), Err(HarnessError::Invalid(_))), "{kernel:?} {cmdline:?}");
        }
    }

    #[test]
    fn netboot_dir_holds_the_kernel_and_script() {
        let dir = crate::testutil::scratch_dir("netboot");
        let elf = dir.join("in.elf");
        fs::write(&elf, b"\x7fELF fake").unwrap();
        let out = dir.join("tftp");
        build_netboot_dir(&elf, "test-exit", None, &out).unwrap();
        assert_eq!(fs::read(out.join("clove.elf")).unwrap(), b"\x7fELF fake");
        assert_eq!(
            fs::read_to_string(out.join("boot.ipxe")).unwrap(),
            "#!ipxe\nisset ${ip} || dhcp\nkernel clove.elf test-exit\nboot\n"
        );
        assert_eq!(tftp_options(Path::new("/a,b/tftp")), "tftp=/a,,b/tftp,bootfile=boot.ipxe");
    }

    #[test]
    fn iso_holds_grub_and_the_kernel() {
        if deps::require(GRUB_PACKAGES).is_err() {
            eprintln!("skipped: GRUB tools not installed");
            return;
        }
        let dir = crate::testutil::scratch_dir("iso");
        let elf = dir.join("in.elf");
        fs::write(&elf, b"\x7fELF fake kernel").unwrap();
        let iso = dir.join("clove.iso");
        let size = build_iso(&elf, "test-exit", &iso).unwrap();
        assert_eq!(size, fs::metadata(&iso).unwrap().len());
        let bytes = fs::read(&iso).unwrap();
        // ISO 9660 primary volume descriptor at sector 16, and an MBR boot signature (hybrid image).
        assert_eq!(&bytes[0x8001..0x8006], b"CD001");
        assert_eq!(&bytes[510..512], &[0x55, 0xaa]);
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(find(b"multiboot2 /boot/clove.elf 'test-exit'"), "grub.cfg not on the ISO");
        assert!(find(b"\x7fELF fake kernel"), "the kernel is not on the ISO");
        assert!(!dir.join(format!(".iso-root-{}", std::process::id())).exists(), "staging dir left behind");
    }
}
