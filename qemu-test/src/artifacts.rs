//! Where the payload ELFs live, and the one place that builds them.
//!
//! `cargo xtask build` and `cargo xtask test` call [`build_payload`] and then
//! set `CLOVE_ARTIFACTS_BUILT=1`, so tests just take the path. A plain
//! `cargo test` builds each variant once per test process instead.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::error::{HarnessError, Result};

/// The payload's package and binary names, and its bare target.
pub const PACKAGE: &str = "clove-payload";
pub const BINARY: &str = "clove";
pub const TARGET: &str = "x86_64-unknown-none";

/// Set to `1` by the xtask after it has built every variant.
pub const BUILT_ENV: &str = "CLOVE_ARTIFACTS_BUILT";

/// Which payload ELF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Multiboot1 header and PVH note; QEMU's `-kernel` picks multiboot1.
    Multiboot,
    /// Built with `--features pvh-only`: only the PVH note, so QEMU uses PVH.
    PvhOnly,
}

impl Variant {
    /// Both variants, in build order.
    pub const ALL: [Variant; 2] = [Variant::Multiboot, Variant::PvhOnly];

    /// The ELF's file name under `target/clove/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Variant::Multiboot => "clove.elf",
            Variant::PvhOnly => "clove-pvh.elf",
        }
    }

    /// The cargo features that select this variant.
    pub fn features(self) -> Option<&'static str> {
        match self {
            Variant::Multiboot => None,
            Variant::PvhOnly => Some("pvh-only"),
        }
    }

    fn index(self) -> usize {
        match self {
            Variant::Multiboot => 0,
            Variant::PvhOnly => 1,
        }
    }
}

/// The workspace root (the parent of `qemu-test/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().expect("qemu-test lives inside the workspace").to_path_buf()
}

/// The workspace's own `target/` dir. Artifacts go here whatever
/// `CARGO_TARGET_DIR` says, because payload builds never override it.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target")
}

/// `<root>/target/clove/`, where the payload ELFs are copied.
pub fn artifacts_dir() -> PathBuf {
    target_dir().join("clove")
}

/// Where `variant`'s ELF is (whether or not it has been built).
pub fn payload_path(variant: Variant) -> PathBuf {
    artifacts_dir().join(variant.file_name())
}

/// Where cargo links the payload binary.
fn cargo_output() -> PathBuf {
    target_dir().join(TARGET).join("release").join(BINARY)
}

/// The cargo command that builds `variant` (run from the workspace root).
pub fn build_command(variant: Variant) -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "--release", "-p", PACKAGE, "--bin", BINARY])
        .args(["--target", TARGET]);
    if let Some(features) = variant.features() {
        cmd.args(["--features", features]);
    }
    // Let cargo use its normal target dir: the ELF must land in <root>/target.
    cmd.env_remove("CARGO_TARGET_DIR");
    cmd
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Serializes build + copy: the two variants link to the same output file.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

fn build(variant: Variant, quiet: bool) -> Result<PathBuf> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = build_command(variant);
    let command = describe(&cmd);
    let output = if quiet {
        cmd.stdin(Stdio::null()).output()
    } else {
        cmd.stdin(Stdio::null()).status().map(|status| std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }
    .map_err(|e| HarnessError::io(format!("running {command}"), e))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        if text.is_empty() {
            text = format!("cargo exited with {}", output.status);
        }
        return Err(HarnessError::Build { command, output: text });
    }

    let from = cargo_output();
    let dir = artifacts_dir();
    fs::create_dir_all(&dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    let to = payload_path(variant);
    // Copy then rename, so a reader never sees a half-written ELF.
    let tmp = dir.join(format!(".{}.tmp-{}", variant.file_name(), std::process::id()));
    fs::copy(&from, &tmp)
        .map_err(|e| HarnessError::io(format!("copying {} to {}", from.display(), tmp.display()), e))?;
    fs::rename(&tmp, &to)
        .map_err(|e| HarnessError::io(format!("renaming {} to {}", tmp.display(), to.display()), e))?;
    Ok(to)
}

/// Builds `variant` with cargo (output shown) and copies it to
/// [`payload_path`]. Returns that path.
pub fn build_payload(variant: Variant) -> Result<PathBuf> {
    build(variant, false)
}

/// The path of `variant`'s ELF, ready to boot.
///
/// With `CLOVE_ARTIFACTS_BUILT=1` this only checks that the file exists.
/// Otherwise it builds the variant once per process (cargo output is shown
/// only if the build fails).
pub fn payload(variant: Variant) -> Result<PathBuf> {
    if env::var(BUILT_ENV).as_deref() == Ok("1") {
        let p = payload_path(variant);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(HarnessError::io(
                format!("{BUILT_ENV}=1 but {} is missing", p.display()),
                std::io::ErrorKind::NotFound.into(),
            ))
        };
    }
    static BUILT: [OnceLock<Result<PathBuf, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    BUILT[variant.index()]
        .get_or_init(|| build(variant, true).map_err(|e| e.to_string()))
        .clone()
        .map_err(|msg| HarnessError::Build { command: format!("building {}", variant.file_name()), output: msg })
}

/// The Linux guest's helper (see `qemu-test/guest-helper`): package and
/// target. Static musl, because it runs in the busybox initramfs.
pub const HELPER_PACKAGE: &str = "clove-guest-helper";
pub const HELPER_TARGET: &str = "x86_64-unknown-linux-musl";

/// The cargo command that builds the guest helper.
pub fn guest_helper_command() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "--release", "-p", HELPER_PACKAGE, "--bin", HELPER_PACKAGE])
        .args(["--target", HELPER_TARGET])
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// The guest helper's static Linux binary, built once per process (cargo
/// output is shown only if the build fails).
pub fn guest_helper() -> Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut cmd = guest_helper_command();
            let command = describe(&cmd);
            let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("running {command}: {e}"))?;
            if !out.status.success() {
                return Err(format!("{command}: {}", String::from_utf8_lossy(&out.stderr)));
            }
            Ok(target_dir().join(HELPER_TARGET).join("release").join(HELPER_PACKAGE))
        })
        .clone()
        .map_err(|msg| HarnessError::Build { command: format!("building {HELPER_PACKAGE}"), output: msg })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_holds_the_workspace_manifest() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("qemu-test").is_dir());
    }

    #[test]
    fn variant_paths_and_features() {
        assert!(payload_path(Variant::Multiboot).ends_with("target/clove/clove.elf"));
        assert!(payload_path(Variant::PvhOnly).ends_with("target/clove/clove-pvh.elf"));
        let cmd = build_command(Variant::PvhOnly);
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            ["build", "--release", "-p", PACKAGE, "--bin", BINARY, "--target", TARGET, "--features", "pvh-only"]
        );
        // The child must not inherit a CARGO_TARGET_DIR override.
        assert!(cmd.get_envs().any(|(k, v)| k == "CARGO_TARGET_DIR" && v.is_none()));
        let args: Vec<_> = guest_helper_command().get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            ["build", "--release", "-p", HELPER_PACKAGE, "--bin", HELPER_PACKAGE, "--target", HELPER_TARGET]
        );
    }
}
