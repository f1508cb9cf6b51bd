//! spice-gtk's C decoders, the same-run baseline of `bench decode`: Debian's
//! spice-gtk source package, fetched with apt-get into target/cbench/ (never
//! kept in the repo), compiled with Debian's own flags (dpkg-buildflags) and
//! linked with our harness build/cbench/decoders.c into target/cbench/decoders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps;
use crate::util::{self, Error, Result};

/// The sources the harness links, from spice-common and from spice-gtk.
const COMMON: &[&str] = &["quic.c", "lz.c", "canvas_utils.c", "mem.c"];
const GTK: &[&str] = &["decode-glz.c", "decode-zlib.c", "decode-jpeg.c"];
/// Our harness and the config.h it stands in for.
const HARNESS: &[&str] = &["build/cbench/decoders.c", "build/cbench/config.h"];

/// The built harness, and a line saying what it is.
pub struct Baseline {
    pub exe: PathBuf,
    pub what: String,
}

/// Installs the toolchain and libraries (BENCH_DEPS), fetches the source
/// unless cached, and compiles the harness unless it is up to date.
pub fn build() -> Result<Baseline> {
    deps::ensure_bench()?;
    let root = qemu_test::artifacts::workspace_root();
    let dir = root.join("target/cbench");
    let src = source(&dir)?;
    let exe = dir.join("decoders");
    let flags = |what: &str| output(Command::new("dpkg-buildflags").args(["--get", what]));
    let (cppflags, cflags, ldflags) = (flags("CPPFLAGS")?, flags("CFLAGS")?, flags("LDFLAGS")?);
    if is_stale(&exe, &root)? {
        let pkg =
            |what: &str| output(Command::new("pkg-config").args([what, "glib-2.0", "pixman-1", "spice-protocol"]));
        let common = src.join("subprojects/spice-common");
        let mut gcc = Command::new("gcc");
        gcc.args(cppflags.split_whitespace())
            .args(cflags.split_whitespace())
            .args(pkg("--cflags")?.split_whitespace())
            .arg("-I")
            .arg(root.join("build/cbench"))
            .arg("-I")
            .arg(&common)
            .arg("-I")
            .arg(common.join("common"))
            .arg("-I")
            .arg(src.join("src"))
            .args(COMMON.iter().map(|f| common.join("common").join(f)))
            .args(GTK.iter().map(|f| src.join("src").join(f)))
            .arg(root.join(HARNESS[0]))
            .args(ldflags.split_whitespace())
            .args(pkg("--libs")?.split_whitespace())
            .args(["-llz4", "-ljpeg", "-lz", "-o"])
            .arg(&exe);
        println!("bench decode: compiling {}'s decoders into {}", name(&src), exe.display());
        util::run(&mut gcc)?;
    }
    let jpeg = output(Command::new("dpkg-query").args(["-W", "-f", "${Version}", "libjpeg62-turbo"]))
        .unwrap_or_else(|_| "?".into());
    Ok(Baseline {
        exe,
        what: format!(
            "{} from Debian's source, gcc {cppflags} {cflags} (dpkg-buildflags); libjpeg-turbo {jpeg}",
            name(&src)
        ),
    })
}

/// `spice-gtk-VERSION`, from the unpacked source's directory name.
fn name(src: &Path) -> String {
    src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Whether the harness must be (re)built: missing, or older than our files.
fn is_stale(exe: &Path, root: &Path) -> Result<bool> {
    let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified());
    let Ok(built) = mtime(exe) else { return Ok(true) };
    for f in HARNESS {
        let changed = mtime(&root.join(f)).map_err(|e| Error::Failed(format!("{f}: {e}")))?;
        if changed > built {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The unpacked spice-gtk source under `dir`: cached, or fetched now with
/// apt-get through a throwaway source list (the system's apt config stays as it is).
fn source(dir: &Path) -> Result<PathBuf> {
    let complete = |d: &Path| {
        let common = d.join("subprojects/spice-common/common");
        COMMON.iter().all(|f| common.join(f).is_file()) && GTK.iter().all(|f| d.join("src").join(f).is_file())
    };
    if let Some(d) = find(dir, "spice-gtk-", "").filter(|d| complete(d)) {
        return Ok(d);
    }
    let apt = dir.join("apt");
    let dsc = match find(&apt, "spice-gtk_", ".dsc") {
        Some(dsc) => dsc,
        None => {
            for sub in ["lists/partial", "cache"] {
                fs::create_dir_all(apt.join(sub)).map_err(|e| Error::Failed(format!("{}: {e}", apt.display())))?;
            }
            let line = deb_src_line();
            println!("bench decode: fetching spice-gtk's source with apt-get ({line})");
            fs::write(apt.join("src.list"), format!("{line}\n")).map_err(|e| Error::Failed(e.to_string()))?;
            let apt_get = |args: &[&str]| {
                let mut cmd = Command::new("apt-get");
                cmd.current_dir(&apt).env("DEBIAN_FRONTEND", "noninteractive");
                for (key, value) in [
                    ("Dir::Etc::SourceList", apt.join("src.list")),
                    ("Dir::Etc::SourceParts", PathBuf::from("/dev/null")),
                    ("Dir::State::Lists", apt.join("lists")),
                    ("Dir::Cache", apt.join("cache")),
                ] {
                    cmd.arg("-o").arg(format!("{key}={}", value.display()));
                }
                cmd.args(args);
                util::run(&mut cmd)
            };
            apt_get(&["-q", "update"])?;
            apt_get(&["-q", "source", "--download-only", "spice-gtk"])?;
            find(&apt, "spice-gtk_", ".dsc").ok_or_else(|| Error::Failed("apt-get fetched no spice-gtk .dsc".into()))?
        }
    };
    // spice-gtk_0.42-1.dsc unpacks, Debian's patches applied, into spice-gtk-0.42-1.
    let version = dsc.file_stem().and_then(|s| s.to_str()).and_then(|s| s.strip_prefix("spice-gtk_")).unwrap_or("");
    let out = dir.join(format!("spice-gtk-{version}"));
    let _ = fs::remove_dir_all(&out);
    let _ = fs::remove_file(dir.join("decoders"));
    util::run(Command::new("dpkg-source").args(["--no-check", "-x"]).arg(&dsc).arg(&out))?;
    if !complete(&out) {
        return Err(Error::Failed(format!("{} lacks the decoder sources", out.display())));
    }
    Ok(out)
}

/// The first entry of `dir` named `prefix…suffix`.
fn find(dir: &Path, prefix: &str, suffix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// A `deb-src` line for the mirror and suite this machine's apt uses.
fn deb_src_line() -> String {
    let mut texts: Vec<String> = Vec::new();
    let mut sources: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    sources.sort();
    sources.insert(0, PathBuf::from("/etc/apt/sources.list"));
    for path in sources {
        texts.extend(fs::read_to_string(path).ok());
    }
    texts.iter().find_map(|t| deb_src_from(t)).unwrap_or_else(|| {
        let release = fs::read_to_string("/etc/os-release").unwrap_or_default();
        let codename = release.lines().find_map(|l| l.strip_prefix("VERSION_CODENAME=")).unwrap_or("bookworm");
        format!("deb-src http://deb.debian.org/debian {codename} main")
    })
}

/// The `deb-src` line for the first `deb` source of a sources.list or a
/// deb822 .sources file (its first URI and suite, and its Signed-By).
fn deb_src_from(text: &str) -> Option<String> {
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("deb ") {
            return Some(format!("deb-src {}", rest.trim()));
        }
    }
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':'))).map(str::trim)
        };
        if !field("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb")) {
            continue;
        }
        let uri = field("URIs")?.split_whitespace().next()?;
        let suite = field("Suites")?.split_whitespace().next()?;
        let options = field("Signed-By").map(|k| format!("[signed-by={k}] ")).unwrap_or_default();
        return Some(format!("deb-src {options}{uri} {suite} main"));
    }
    None
}

/// A command's stdout, trimmed; fails unless it exits 0.
fn output(cmd: &mut Command) -> Result<String> {
    let line = util::describe(cmd);
    let out = cmd.output().map_err(|e| Error::Failed(format!("cannot run `{line}`: {e}")))?;
    if !out.status.success() {
        return Err(Error::Failed(format!("`{line}` failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_src_from_deb822() {
        let text =
            "Types: deb\n# a mirror note\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n\
                    Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            deb_src_from(text).unwrap(),
            "deb-src [signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main"
        );
        let src_only = "Types: deb-src\nURIs: http://x/debian\nSuites: trixie\n";
        assert_eq!(deb_src_from(src_only), None);
    }

    #[test]
    fn deb_src_from_one_line_format() {
        let text = "# comment\ndeb http://mirror.example/debian trixie main contrib\n";
        assert_eq!(deb_src_from(text).unwrap(), "deb-src http://mirror.example/debian trixie main contrib");
    }
}
