//! The C side: the program the xtask builds from build/cbench/decoders.c
//! (spice-gtk's decoders), run as a child process over a list of images.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Image;

/// Writes the harness's list of `images` (type, width, height,
/// glz_data_size, path; one a line) beside it; returns its path.
pub fn write_list(harness: &Path, images: &[Image]) -> PathBuf {
    let list = harness.with_extension("list");
    let text: String = images
        .iter()
        .map(|i| format!("{} {} {} {} {}\n", i.kind, i.width, i.height, i.glz_data_size.unwrap_or(0), i.file.display()))
        .collect();
    fs::write(&list, text).unwrap_or_else(|e| panic!("{}: {e}", list.display()));
    list
}

/// `runs` runs of `passes` passes over `list`, libjpeg-turbo's SIMD on or
/// off: the checksum of the pixels, and each run's seconds per pass.
pub fn run(harness: &Path, list: &Path, passes: usize, runs: usize, simd: bool) -> (u64, Vec<f64>) {
    let mut cmd = Command::new(harness);
    cmd.arg(list).arg(passes.to_string()).arg(runs.to_string());
    if simd {
        cmd.env_remove("JSIMD_FORCENONE");
    } else {
        cmd.env("JSIMD_FORCENONE", "1");
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", harness.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{stdout}{}",
        harness.display(),
        list.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&stdout).unwrap_or_else(|| panic!("{}: unexpected output:\n{stdout}", harness.display()))
}

/// `checksum HEX` then `pass SECONDS` lines.
fn parse(text: &str) -> Option<(u64, Vec<f64>)> {
    let mut lines = text.lines();
    let sum = u64::from_str_radix(lines.next()?.strip_prefix("checksum ")?, 16).ok()?;
    let times = lines.map(|l| l.strip_prefix("pass ")?.parse().ok()).collect::<Option<Vec<f64>>>()?;
    (!times.is_empty()).then_some((sum, times))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_checksum_and_times() {
        assert_eq!(parse("checksum 00000000000000ff\npass 0.5\npass 0.25\n"), Some((255, vec![0.5, 0.25])));
        assert_eq!(parse("checksum zz\npass 0.5\n"), None);
        assert_eq!(parse("checksum 1\n"), None);
        assert_eq!(parse("checksum 1\npass x\n"), None);
    }
}
