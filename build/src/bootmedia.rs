//! `cargo xtask iso` (GRUB rescue ISO) and `cargo xtask netboot` (iPXE
//! directory), via qemu-test's one builder of each.

use qemu_test::bootmedia::{self, IPXE_SCRIPT, KERNEL_FILE};
use qemu_test::Variant;

use crate::payload;
use crate::util::{Error, Result};

#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    append: String,
    kernel_url: Option<String>,
}

fn parse(command: &str, args: &[String], kernel_url: bool) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| Error::Usage(format!("{command}: {a} needs a value")));
        match a.as_str() {
            "--append" => o.append = value()?,
            "--kernel-url" if kernel_url => o.kernel_url = Some(value()?),
            other => return Err(Error::Usage(format!("{command}: unexpected argument {other:?}"))),
        }
    }
    Ok(o)
}

/// `cargo xtask iso [--append CMDLINE]`.
pub fn iso_cmd(args: &[String]) -> Result<()> {
    let o = parse("iso", args, false)?;
    let elf = payload::build(&[Variant::Multiboot])?.remove(0);
    let iso = bootmedia::iso_path();
    let size = bootmedia::build_iso(&elf, &o.append, &iso)?;
    println!("built {} ({size} bytes, {:.1} MiB), command line {:?}", iso.display(), mib(size), o.append);
    println!("try it:  qemu-system-x86_64 -cdrom {} -serial stdio -nic user,model=e1000", iso.display());
    println!("USB stick (BIOS boot; erases the stick):  sudo dd if={} of=/dev/sdX bs=4M conv=fsync", iso.display());
    Ok(())
}

/// `cargo xtask netboot [--append CMDLINE] [--kernel-url URL]`.
pub fn netboot_cmd(args: &[String]) -> Result<()> {
    let o = parse("netboot", args, true)?;
    let elf = payload::build(&[Variant::Multiboot])?.remove(0);
    let dir = bootmedia::netboot_dir();
    bootmedia::build_netboot_dir(&elf, &o.append, o.kernel_url.as_deref(), &dir)?;
    let script = dir.join(IPXE_SCRIPT);
    println!("built {}/ with {KERNEL_FILE} and {IPXE_SCRIPT}:", dir.display());
    let text = std::fs::read_to_string(&script).map_err(|e| Error::Failed(format!("{}: {e}", script.display())))?;
    print!("{text}");
    println!(
        "try it:  qemu-system-x86_64 -boot n -serial stdio -netdev user,id=n0,{} -device e1000,netdev=n0",
        bootmedia::tftp_options(&dir)
    );
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_append_and_kernel_url() {
        assert_eq!(parse("iso", &[], false).unwrap(), Options::default());
        let o = parse("netboot", &strings(&["--append", "a b", "--kernel-url", "http://h/c.elf"]), true).unwrap();
        assert_eq!(o, Options { append: "a b".into(), kernel_url: Some("http://h/c.elf".into()) });
        assert!(matches!(parse("iso", &strings(&["--kernel-url", "x"]), false), Err(Error::Usage(_))));
        assert!(matches!(parse("iso", &strings(&["--append"]), false), Err(Error::Usage(_))));
        assert!(matches!(parse("iso", &strings(&["x"]), false), Err(Error::Usage(_))));
    }
}
