//! The Linux guest that the SPICE server VM runs: Debian's kernel plus a
//! busybox initramfs written here in Rust (cpio "newc", gzip via flate2), so
//! the same inputs always give the same bytes.
//!
//! The initramfs holds static busybox and its applet links, the test
//! pictures as raw framebuffer dumps (`/img/<name>.raw`), the kernel modules
//! a [`GuestSpec`] asks for, and `/init`, a shell script that:
//! 1. mounts proc, sysfs and devtmpfs and prints `GUEST-READY uptime=…` on ttyS0;
//! 2. loads the modules named by `clove.modules=a,b` (each with its dependencies);
//! 3. with `clove.draw=<name>`: checks that fb0 is 1024x768x32 (stride 4096;
//!    `clove.fb=WxH` for another size), unbinds fbcon so the console never
//!    draws over the picture again, copies `/img/<name>.raw` to `/dev/fb0`
//!    (repeated to fill a larger one) and prints `IMAGE-DRAWN <name> uptime=…`;
//!    with `clove.animate=<other>` it then alternates the two pictures forever;
//!    with `clove.animate_frames=N` it waits for Enter on tty1, alternates
//!    the band with the known rows N times, restores them and prints
//!    `ANIMATION-DONE`;
//!    with `clove.band_every=N` it writes the band and restores the rows,
//!    every N seconds, forever;
//! 4. with `clove.cursor=<tty>`: starts the guest helper's DRM cursor, which
//!    takes commands on that serial port (see [`Scenario::Cursor`]);
//! 5. with `clove.shell=1`: runs a shell whose input is tty1 (the VT the
//!    PS/2 keyboard types into) and whose output goes to ttyS0, with the
//!    prompt [`PROMPT`], and writes every `/dev/input/mice` packet to ttyS0
//!    as `MOUSE <flags> <dx> <dy> <wheel>` (IntelliMouse packets, signed
//!    decimal bytes; the wheel is negative upwards), then prints
//!    `SHELL-READY`;
//! 6. keeps a shell on the serial console.
//!
//! On an error it prints `GUEST-ERROR: …` and powers off, so a waiting test
//! fails at once instead of timing out.
//!
//! Builds are cached under `target/guest/<hash>/`, where the hash covers the
//! whole uncompressed archive, the kernel (version, size, mtime) and
//! [`BUILDER_VERSION`].

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use crate::artifacts;
use crate::deps;
use crate::error::{HarnessError, Result};
use crate::testimage::{self, TestImage};

/// Bump when the archive layout or the compression changes in a way the
/// content hash would not see.
pub const BUILDER_VERSION: u32 = 1;

/// Marker lines the guest prints on ttyS0.
pub const READY: &str = "GUEST-READY";
pub const DRAWN: &str = "IMAGE-DRAWN";
pub const ERROR: &str = "GUEST-ERROR";

/// What goes into the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GuestSpec {
    /// Kernel release, e.g. `6.1.0-56-amd64`; `None` takes the newest
    /// `/boot/vmlinuz-*-amd64`.
    pub kernel_version: Option<String>,
    /// Kernel modules to include (with their dependencies), e.g. `qxl`,
    /// `bochs`, `e1000`. The guest loads them only when the command line says
    /// `clove.modules=...`.
    pub modules: Vec<String>,
    /// Put `/bin/clove-guest-helper` (`qemu-test/guest-helper`, built for
    /// musl by [`artifacts::guest_helper`]) into the initramfs.
    pub helper: bool,
}

/// A built guest, ready to boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestImage {
    /// The kernel (a copy of `/boot/vmlinuz-<kver>`).
    pub vmlinuz: PathBuf,
    /// The gzipped initramfs.
    pub initrd: PathBuf,
    /// The kernel release.
    pub kernel_version: String,
    /// The cache dir holding both.
    pub dir: PathBuf,
    /// Whether this call found the build in the cache.
    pub cached: bool,
}

/// What the guest does after booting (turned into its command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Boot, print `GUEST-READY`, draw nothing.
    Idle,
    /// Draw a test picture full screen and print `IMAGE-DRAWN`.
    Draw(TestImage),
    /// Draw the known picture, then `after_secs` later write the band over
    /// rows 560..688 and print `IMAGE-UPDATED`: an update that is not the
    /// first frame, as GLZ needs.
    DrawThenBand {
        /// Seconds between the two.
        after_secs: u32,
    },
    /// Draw the known picture, print `IMAGE-DRAWN`, then alternate it with
    /// its inverse as fast as the guest can, forever: every pixel changes
    /// every frame (the sustained update-rate benchmark).
    Animate,
    /// Draw the known picture, print [`ANIMATION_WAITING`], wait for Enter
    /// on the keyboard's VT (tty1; the test presses it, e.g. once a client
    /// is connected), then alternate the band (rows 560..688) with the
    /// known rows `frames` times, put the known rows back and print
    /// [`ANIMATION_DONE`]: an animation of bounded length that
    /// spice-server's video detection turns into streams. Each frame is
    /// one 512 KiB write and an 80 ms pause (about 8 frames per second
    /// under TCG). Unpaced (about 70 per second) the frames outrun QEMU's
    /// display refresh, reach the server torn into boxes of varying size,
    /// and no stream ever started in our runs.
    AnimateThenStop {
        /// Band writes plus restores, before the final restore.
        frames: u32,
    },
    /// Draw the known picture, then every `every_secs` seconds, forever,
    /// write the band over it and then put the known rows back: updates
    /// that come after any client's first frame (GLZ only compresses those).
    BandLoop {
        /// Seconds between two updates.
        every_secs: u32,
    },
    /// A 1920x1080x32 framebuffer (`vga=0x392`) filled with the known
    /// picture's bytes, repeated (rows wrap), then `IMAGE-DRAWN`.
    FullHd,
    /// Draw the known picture, then run the guest helper's DRM cursor
    /// (needs the qxl module and [`GuestSpec::helper`]): it takes `set X Y`,
    /// `move X Y` and `hide` lines on `control` (e.g. `/dev/ttyS1`) and
    /// prints `clove_guest_helper::marker` lines.
    Cursor {
        /// The guest's serial port the commands come in on.
        control: &'static str,
    },
    /// Draw nothing; a shell reads the keyboard's VT (tty1) and answers on
    /// ttyS0, and mouse packets are logged there: the input tests' guest.
    /// The PS/2 mouse needs `psmouse` (a module) loaded for the packets.
    Shell,
}

/// Printed once the tty1 shell and the mouse reader run ([`Scenario::Shell`]).
pub const SHELL_READY: &str = "SHELL-READY";
/// The tty1 shell's prompt.
pub const PROMPT: &str = "TTY1-PROMPT> ";
/// Waits until the tty1 shell's prompt is on `qemu`'s serial. The prompt
/// ends no line, so the line waits of [`crate::Qemu`] would miss it.
pub fn wait_for_prompt(qemu: &crate::Qemu, timeout: std::time::Duration) -> Result<()> {
    let start = std::time::Instant::now();
    while !qemu.serial().contains(PROMPT) {
        if start.elapsed() > timeout || qemu.exit_status().is_some() {
            return Err(HarnessError::Timeout {
                what: format!("the guest shell's prompt {PROMPT:?}"),
                waited: start.elapsed(),
                serial_tail: crate::serial::tail(&qemu.serial(), 20),
                stderr: qemu.stderr(),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

/// Starts each line of `/dev/input/mice` packets on ttyS0.
pub const MOUSE: &str = "MOUSE ";

/// Printed by the guest once the band is on screen.
pub const UPDATED: &str = "IMAGE-UPDATED";

/// Printed once [`Scenario::AnimateThenStop`] waits for Enter on tty1.
pub const ANIMATION_WAITING: &str = "ANIMATION-WAITING";
/// Printed when [`Scenario::AnimateThenStop`] starts drawing frames.
pub const ANIMATING: &str = "ANIMATING";
/// Printed once [`Scenario::AnimateThenStop`] has put the known picture back.
pub const ANIMATION_DONE: &str = "ANIMATION-DONE";

impl Default for Scenario {
    fn default() -> Self {
        Scenario::Draw(TestImage::Known)
    }
}

impl Scenario {
    /// This scenario's words on the kernel command line.
    pub fn cmdline_words(&self) -> Vec<String> {
        match self {
            Scenario::Idle => Vec::new(),
            Scenario::Shell => vec!["clove.shell=1".into()],
            Scenario::Draw(img) => vec![format!("clove.draw={}", img.name())],
            Scenario::DrawThenBand { after_secs } => {
                vec![format!("clove.draw={}", TestImage::Known.name()), format!("clove.band_after={after_secs}")]
            }
            Scenario::Cursor { control } => {
                vec![format!("clove.draw={}", TestImage::Known.name()), format!("clove.cursor={control}")]
            }
            Scenario::Animate => {
                vec![
                    format!("clove.draw={}", TestImage::Known.name()),
                    format!("clove.animate={}", TestImage::Inverse.name()),
                ]
            }
            Scenario::AnimateThenStop { frames } => {
                vec![format!("clove.draw={}", TestImage::Known.name()), format!("clove.animate_frames={frames}")]
            }
            Scenario::FullHd => vec![format!("clove.draw={}", TestImage::Known.name()), "clove.fb=1920x1080".into()],
            Scenario::BandLoop { every_secs } => {
                vec![format!("clove.draw={}", TestImage::Known.name()), format!("clove.band_every={every_secs}")]
            }
        }
    }

    /// The VESA mode the guest's vesafb takes (`vga=`): 1024x768x32, or
    /// 1920x1080x32 for [`Scenario::FullHd`] (SeaBIOS's Bochs VBE modes).
    pub fn vga_mode(&self) -> &'static str {
        match self {
            Scenario::FullHd => "0x392",
            _ => "0x344",
        }
    }

    /// The serial marker that says the scenario is in place.
    pub fn done_marker(&self) -> &'static str {
        match self {
            Scenario::Idle => READY,
            Scenario::Shell => SHELL_READY,
            Scenario::Draw(_)
            | Scenario::DrawThenBand { .. }
            | Scenario::BandLoop { .. }
            | Scenario::Animate
            | Scenario::FullHd => DRAWN,
            Scenario::AnimateThenStop { .. } => ANIMATION_WAITING,
            Scenario::Cursor { .. } => clove_guest_helper::marker::READY,
        }
    }

    /// The picture the screen ends on (for [`Scenario::DrawThenBand`], after
    /// [`UPDATED`]; for the others, once [`Scenario::done_marker`] is printed).
    pub fn expected_image(&self) -> Option<crate::image::Image> {
        match self {
            Scenario::Idle | Scenario::Animate | Scenario::FullHd | Scenario::Shell | Scenario::BandLoop { .. } => None,
            Scenario::Draw(img) => Some(img.render()),
            Scenario::Cursor { .. } | Scenario::AnimateThenStop { .. } => Some(TestImage::Known.render()),
            Scenario::DrawThenBand { .. } => Some(crate::testimage::known_with_band()),
        }
    }
}

/// The guest's kernel command line: vesafb at 1024x768x32 (`vga=0x344`),
/// console on ttyS0, no cursor, reboot (= QEMU exits, with `-no-reboot`) on
/// panic, then the scenario and `extra` words.
pub fn cmdline(scenario: &Scenario, extra: &[String]) -> String {
    let mut words: Vec<String> = vec![format!("vga={}", scenario.vga_mode())];
    words.extend(["console=ttyS0", "quiet", "panic=-1", "vt.global_cursor_default=0"].iter().map(|s| s.to_string()));
    words.extend(scenario.cmdline_words());
    words.extend(extra.iter().cloned());
    words.join(" ")
}

/// The guest's `/init`.
const INIT: &str = r#"#!/bin/sh
# Clove's SPICE test guest (written by qemu-test/src/guest.rs).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
uptime() { cut -d' ' -f1 /proc/uptime; }
say() { echo "$*" > /dev/ttyS0; }
fail() { say "GUEST-ERROR: $*"; sleep 1; poweroff -f; }
draw=; modules=; band_after=; band_every=; animate=; frames=; fbsize=1024x768; cursor=; shell=
for a in $(cat /proc/cmdline); do
  case $a in
    clove.draw=*) draw=${a#*=};;
    clove.animate=*) animate=${a#*=};;
    clove.animate_frames=*) frames=${a#*=};;
    clove.fb=*) fbsize=${a#*=};;
    clove.modules=*) modules=$(echo "${a#*=}" | tr , ' ');;
    clove.band_after=*) band_after=${a#*=};;
    clove.band_every=*) band_every=${a#*=};;
    clove.cursor=*) cursor=${a#*=};;
    clove.shell=*) shell=${a#*=};;
  esac
done
say "GUEST-READY uptime=$(uptime)"
for m in $modules; do
  [ -f "/etc/modules.d/$m" ] || fail "module $m is not in the initramfs"
  while read -r ko; do
    insmod "$ko" 2>/dev/null || grep -q "^$(basename "$ko" .ko) " /proc/modules || fail "insmod $ko"
  done < "/etc/modules.d/$m"
  say "MODULE-LOADED $m"
done
if [ -n "$draw" ]; then
  img=/img/$draw.raw
  [ -f "$img" ] || fail "no picture $img"
  fb=/sys/class/graphics/fb0
  [ -e /dev/fb0 ] || fail "no /dev/fb0"
  geom="$(cat $fb/virtual_size) $(cat $fb/bits_per_pixel) $(cat $fb/stride)"
  say "FB: $(cat $fb/name) $geom"
  w=${fbsize%x*}; h=${fbsize#*x}
  want="$w,$h 32 $((w * 4))"
  [ "$geom" = "$want" ] || fail "fb0 is $geom, expected $want"
  # Keep the console off the picture: no cursor, and fbcon unbound (the
  # dummy console takes over the VTs and draws nothing).
  echo 0 > /sys/class/graphics/fbcon/cursor_blink 2>/dev/null
  printf '\033[?25l' > /dev/tty1 2>/dev/null
  for v in /sys/class/vtconsole/vtcon*; do
    case "$(cat "$v/name")" in *"frame buffer"*) echo 0 > "$v/bind" || fail "cannot unbind $v";; esac
  done
  if [ "$fbsize" = 1024x768 ]; then
    cat "$img" > /dev/fb0 || fail "writing $img to /dev/fb0"
  else
    # Repeat the picture's bytes until the framebuffer is full (the last
    # write stops at its end).
    n=$(( (w * h * 4 + 3145727) / 3145728 )); i=0
    while [ $i -lt $n ]; do cat "$img"; i=$((i + 1)); done 2>/dev/null | dd of=/dev/fb0 bs=65536 2>/dev/null
  fi
  say "IMAGE-DRAWN $draw uptime=$(uptime)"
  if [ -n "$band_every" ]; then
    # In the background: the guest's other duties go on.
    (while :; do
      sleep "$band_every"
      dd if=/img/band.raw of=/dev/fb0 bs=4096 seek=560 conv=notrunc 2>/dev/null
      sleep "$band_every"
      dd if="$img" of=/dev/fb0 bs=4096 skip=560 seek=560 count=128 conv=notrunc 2>/dev/null
    done) &
  fi
  if [ -n "$animate" ]; then
    other=/img/$animate.raw
    [ -f "$other" ] || fail "no picture $other"
    say "ANIMATING $draw $animate"
    while :; do cat "$other" > /dev/fb0; cat "$img" > /dev/fb0; done
  fi
  if [ -n "$frames" ]; then
    # tty1 is open before the marker, so an Enter right after it is kept.
    exec 3< /dev/tty1
    say "ANIMATION-WAITING uptime=$(uptime)"
    read -r _ <&3
    exec 3<&-
    say "ANIMATING band $frames frames uptime=$(uptime)"
    # Each frame is one write of rows 560..688 (512 KiB at byte 2293760),
    # so QEMU's display refresh rarely sees half of one, then a pause so
    # that every frame is a refresh of its own: spice-server only streams
    # a box that changes whole, again and again.
    at="bs=524288 count=1 seek=2293760 oflag=seek_bytes conv=notrunc"
    i=0
    while [ $i -lt "$frames" ]; do
      if [ $((i % 2)) = 0 ]; then
        dd if=/img/band.raw of=/dev/fb0 $at 2>/dev/null
      else
        dd if="$img" of=/dev/fb0 skip=2293760 iflag=skip_bytes $at 2>/dev/null
      fi
      usleep 80000
      i=$((i + 1))
    done
    dd if="$img" of=/dev/fb0 skip=2293760 iflag=skip_bytes $at 2>/dev/null
    say "ANIMATION-DONE frames=$frames uptime=$(uptime)"
  fi
  if [ -n "$band_after" ]; then
    sleep "$band_after"
    dd if=/img/band.raw of=/dev/fb0 bs=4096 seek=560 conv=notrunc 2>/dev/null || fail "writing the band"
    say "IMAGE-UPDATED band uptime=$(uptime)"
  fi
fi
if [ -n "$cursor" ]; then
  [ -x /bin/clove-guest-helper ] || fail "no /bin/clove-guest-helper"
  # It runs until killed: if it stops, the waiting test fails at once.
  { clove-guest-helper cursor "$cursor" || fail "the cursor helper stopped"; } > /dev/ttyS0 2>&1 &
fi
if [ -n "$shell" ]; then
  # Keys typed on the VT run here; all the shell prints goes to serial.
  (while :; do
    setsid sh -c 'export PS1="TTY1-PROMPT> "; exec sh -i </dev/tty1 >/dev/ttyS0 2>&1'
    sleep 1
  done) &
  if [ -e /dev/input/mice ]; then
    # The IntelliMouse knock (rates 200, 100, 80): 4-byte packets with the wheel.
    (exec 3<>/dev/input/mice
     printf '\363\310\363\144\363\120' >&3
     while :; do
       echo "MOUSE $(dd bs=4 count=1 <&3 2>/dev/null | od -An -td1)"
     done > /dev/ttyS0) &
  fi
  say "SHELL-READY uptime=$(uptime)"
fi
while :; do
  setsid cttyhack sh
  sleep 1
done
"#;

/// A cpio "newc" archive (the initramfs format), built in memory. Every
/// entry is owned by root with mtime 0, and inode numbers count up, so the
/// bytes depend only on what is added and in which order.
#[derive(Debug, Default)]
pub struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl Cpio {
    pub fn new() -> Cpio {
        Cpio::default()
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
        let name = name.trim_start_matches('/');
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime
            u32::try_from(data.len()).expect("cpio newc entries are below 4 GiB"),
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).expect("short name"),
            0, // check
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// A directory (mode e.g. `0o755`).
    pub fn dir(&mut self, name: &str, perm: u32) {
        self.entry(name, S_IFDIR | perm, 2, (0, 0), &[]);
    }
    /// A regular file.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, S_IFREG | perm, 1, (0, 0), data);
    }
    /// A symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
    }
    /// A character device node.
    pub fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | perm, 1, (major, minor), &[]);
    }
    /// Ends the archive and returns it.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[]);
        self.buf
    }
}

/// 64-bit FNV-1a, for cache keys (stable across Rust versions, unlike `DefaultHasher`).
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        // A length terminator, so ("ab", "c") and ("a", "bc") differ.
        for &b in &(bytes.len() as u64).to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Compares kernel releases like `sort -V`: digit runs as numbers.
fn version_key(v: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push((rest[..digits].parse().unwrap_or(u64::MAX), String::new()));
            rest = &rest[digits..];
        } else {
            let text = rest.len() - rest.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
            out.push((0, rest[..text].to_string()));
            rest = &rest[text..];
        }
    }
    out
}

fn missing(tool: &str, package: &str) -> HarnessError {
    HarnessError::MissingTool { tool: tool.to_string(), install: deps::install_line(&[package]) }
}

/// The kernel release to boot: `wanted`, or the newest `-amd64` one installed.
pub fn kernel_version(wanted: Option<&str>) -> Result<String> {
    if let Some(v) = wanted {
        let path = format!("/boot/vmlinuz-{v}");
        return if Path::new(&path).is_file() { Ok(v.to_string()) } else { Err(missing(&path, "linux-image-amd64")) };
    }
    deps::glob(deps::KERNEL_GLOB)
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.strip_prefix("vmlinuz-").map(str::to_string))
        .max_by_key(|v| version_key(v))
        .ok_or_else(|| missing(deps::KERNEL_GLOB, "linux-image-amd64"))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> HarnessError {
    move |e| HarnessError::io(context, e)
}

pub(crate) fn tool_output(cmd: &mut Command) -> Result<String> {
    let line = format!("{cmd:?}");
    let out = cmd.output().map_err(io(format!("running {line}")))?;
    if !out.status.success() {
        return Err(HarnessError::Build {
            command: line,
            output: format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `.ko` files `module` needs, dependencies first (`modprobe --show-depends`).
fn module_files(kver: &str, module: &str) -> Result<Vec<PathBuf>> {
    if !Path::new(deps::MODPROBE).is_file() {
        return Err(missing(deps::MODPROBE, "kmod"));
    }
    let text = tool_output(Command::new(deps::MODPROBE).args(["-S", kver, "--show-depends", module]))?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("insmod "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .collect())
}

/// Adds `path` and its missing parents (tracked in `dirs`).
fn add_parents(cpio: &mut Cpio, dirs: &mut Vec<String>, path: &str) {
    let mut prefix = String::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if !dirs.contains(&prefix) {
            dirs.push(prefix.clone());
            cpio.dir(&prefix, 0o755);
        }
    }
}

/// The uncompressed initramfs for `spec` (kernel `kver`).
pub fn initramfs(spec: &GuestSpec, kver: &str) -> Result<Vec<u8>> {
    let busybox = fs::read(deps::BUSYBOX).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => missing(deps::BUSYBOX, "busybox-static"),
        _ => HarnessError::io(format!("reading {}", deps::BUSYBOX), e),
    })?;
    let applets = tool_output(Command::new(deps::BUSYBOX).arg("--list"))?;
    let mut applets: Vec<&str> =
        applets.lines().map(str::trim).filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/')).collect();
    applets.sort_unstable();
    applets.dedup();

    let mut cpio = Cpio::new();
    let mut dirs: Vec<String> = Vec::new();
    let top = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "etc/modules.d", "proc", "sys", "dev", "tmp"];
    for d in top.iter().chain(&["root", "img", "lib", "lib/modules"]) {
        dirs.push(d.to_string());
        cpio.dir(d, if *d == "tmp" { 0o1777 } else { 0o755 });
    }
    // The kernel opens /dev/console for init before anything is mounted.
    cpio.char_dev("dev/console", 0o600, 5, 1);
    cpio.file("bin/busybox", 0o755, &busybox);
    for a in applets {
        cpio.symlink(&format!("bin/{a}"), "busybox");
    }
    cpio.file("init", 0o755, INIT.as_bytes());
    if spec.helper {
        let path = artifacts::guest_helper()?;
        let data = fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
        cpio.file("bin/clove-guest-helper", 0o755, &data);
    }
    for img in TestImage::ALL {
        cpio.file(&format!("img/{}.raw", img.name()), 0o644, &testimage::to_bgrx(&img.render()));
    }

    let mut added: Vec<PathBuf> = Vec::new();
    for module in &spec.modules {
        let files = module_files(kver, module)?;
        if files.is_empty() {
            return Err(HarnessError::Build {
                command: format!("modprobe -S {kver} --show-depends {module}"),
                output: "no module file (built in, or unknown)".into(),
            });
        }
        let mut list = String::new();
        for f in files {
            let name = f.to_string_lossy().into_owned();
            if !added.contains(&f) {
                let data = fs::read(&f).map_err(io(format!("reading {name}")))?;
                add_parents(&mut cpio, &mut dirs, &name);
                cpio.file(&name, 0o644, &data);
                added.push(f);
            }
            list.push_str(&name);
            list.push('\n');
        }
        cpio.file(&format!("etc/modules.d/{module}"), 0o644, list.as_bytes());
    }
    Ok(cpio.finish())
}

/// Where guests are cached: `<root>/target/guest/`.
pub fn cache_root() -> PathBuf {
    artifacts::target_dir().join("guest")
}

/// Builds (or finds in the cache) the guest for a spec.
pub struct Guest;

/// One build at a time per process; the tmp-dir-and-rename handles other processes.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

impl Guest {
    /// Builds the kernel + initramfs pair for `spec`, or returns the cached one.
    pub fn build(spec: &GuestSpec) -> Result<GuestImage> {
        static DONE: Mutex<Option<HashMap<GuestSpec, GuestImage>>> = Mutex::new(None);
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(img) = DONE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|m| m.get(spec)) {
            if img.vmlinuz.is_file() && img.initrd.is_file() {
                return Ok(GuestImage { cached: true, ..img.clone() });
            }
        }
        let img = Self::build_uncached(spec)?;
        DONE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(spec.clone(), img.clone());
        Ok(img)
    }

    fn build_uncached(spec: &GuestSpec) -> Result<GuestImage> {
        let kver = kernel_version(spec.kernel_version.as_deref())?;
        let kernel = PathBuf::from(format!("/boot/vmlinuz-{kver}"));
        let meta = fs::metadata(&kernel).map_err(io(format!("reading {}", kernel.display())))?;
        let archive = initramfs(spec, &kver)?;

        let mut h = Fnv::new();
        h.write(&BUILDER_VERSION.to_le_bytes());
        h.write(kver.as_bytes());
        h.write(&meta.len().to_le_bytes());
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
        h.write(&mtime.to_le_bytes());
        h.write(&archive);
        let dir = cache_root().join(format!("{:016x}", h.0));
        let (vmlinuz, initrd) = (dir.join("vmlinuz"), dir.join("initrd.gz"));
        let image = |cached| GuestImage {
            vmlinuz: vmlinuz.clone(),
            initrd: initrd.clone(),
            kernel_version: kver.clone(),
            dir: dir.clone(),
            cached,
        };
        if vmlinuz.is_file() && initrd.is_file() {
            return Ok(image(true));
        }

        // Build in a private dir, then rename it into place.
        let root = cache_root();
        let tmp = root.join(format!(".tmp-{}-{:016x}", std::process::id(), h.0));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
        let result = (|| {
            fs::copy(&kernel, tmp.join("vmlinuz")).map_err(io(format!("copying {}", kernel.display())))?;
            let gz = gzip(&archive)?;
            fs::write(tmp.join("initrd.gz"), &gz).map_err(io(format!("writing {}/initrd.gz", tmp.display())))?;
            let manifest = format!(
                "kernel {kver}\nmodules {}\ninitramfs {} bytes, gzipped {} bytes\nbuilder {BUILDER_VERSION}\n",
                spec.modules.join(","),
                archive.len(),
                gz.len()
            );
            fs::write(tmp.join("manifest.txt"), manifest).map_err(io(format!("writing {}", tmp.display())))?;
            match fs::rename(&tmp, &dir) {
                Ok(()) => Ok(()),
                // Another process finished the same build first.
                Err(_) if initrd.is_file() && vmlinuz.is_file() => Ok(()),
                Err(e) => Err(HarnessError::io(format!("renaming {} to {}", tmp.display(), dir.display()), e)),
            }
        })();
        let _ = fs::remove_dir_all(&tmp);
        result.map(|()| image(false))
    }
}

/// gzip with a fixed header (mtime 0, no name), so the output is reproducible.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data).map_err(io("compressing the initramfs".into()))?;
    enc.finish().map_err(io("compressing the initramfs".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_newc_layout() {
        let mut c = Cpio::new();
        c.dir("/bin", 0o755);
        c.file("bin/x", 0o644, b"hello");
        c.symlink("bin/y", "x");
        let a = c.finish();
        // Every header starts on a 4-byte boundary with the newc magic.
        assert!(a.starts_with(b"070701"));
        let hdr = std::str::from_utf8(&a[..110]).unwrap();
        assert_eq!(&hdr[6..14], "00000001"); // ino
        assert_eq!(&hdr[14..22], "000041ed"); // dir 0755
        assert_eq!(&hdr[94..102], "00000004"); // "bin" + NUL
        assert_eq!(&a[110..114], b"bin\0");
        // Header (110) + name (4) = 114, padded to 116: the next entry.
        assert_eq!(&a[116..122], b"070701");
        assert_eq!(a.len() % 4, 0);
        assert!(a.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn cpio_lists_with_gnu_cpio() {
        if deps::find_program("cpio").is_none() {
            eprintln!("skipped: cpio not installed");
            return;
        }
        let mut c = Cpio::new();
        c.dir("etc", 0o755);
        c.file("etc/motd", 0o644, b"odd-length!");
        c.symlink("etc/link", "motd");
        c.char_dev("console", 0o600, 5, 1);
        c.file("empty", 0o600, b"");
        let archive = c.finish();
        let dir = artifacts::target_dir().join("guest-unit");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("t-{}.cpio", std::process::id()));
        fs::write(&path, &archive).unwrap();
        let out = Command::new("cpio").args(["-t", "-v", "--quiet", "-F"]).arg(&path).output().expect("running cpio");
        let _ = fs::remove_file(&path);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" etc"), "{text}");
        assert!(lines[1].starts_with("-rw-r--r--") && lines[1].contains(" 11 ") && lines[1].ends_with("etc/motd"));
        assert!(lines[2].starts_with("lrwxrwxrwx") && lines[2].ends_with("etc/link -> motd"), "{text}");
        assert!(lines[3].starts_with("crw-------") && lines[3].contains("5,") && lines[3].ends_with("console"));
        assert!(lines[4].ends_with(" empty"), "{text}");
    }

    #[test]
    fn gzip_is_reproducible() {
        let data = b"clove clove clove".repeat(100);
        let a = gzip(&data).unwrap();
        assert_eq!(a, gzip(&data).unwrap());
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&a[4..8], &[0, 0, 0, 0]); // mtime 0
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&a[..]), &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn versions_sort_numerically() {
        let mut v = vec!["6.1.0-9-amd64", "6.1.0-10-amd64", "5.10.0-28-amd64"];
        v.sort_by_key(|s| version_key(s));
        assert_eq!(v, ["5.10.0-28-amd64", "6.1.0-9-amd64", "6.1.0-10-amd64"]);
    }

    #[test]
    fn cmdline_has_mode_console_and_scenario() {
        let c = cmdline(&Scenario::default(), &["clove.modules=qxl".into()]);
        assert_eq!(
            c,
            "vga=0x344 console=ttyS0 quiet panic=-1 vt.global_cursor_default=0 clove.draw=known clove.modules=qxl"
        );
        assert_eq!(Scenario::Idle.done_marker(), READY);
        assert_eq!(Scenario::default().done_marker(), DRAWN);
        assert!(cmdline(&Scenario::Idle, &[]).ends_with("vt.global_cursor_default=0"));
        let cursor = Scenario::Cursor { control: "/dev/ttyS1" };
        assert!(cmdline(&cursor, &[]).ends_with(" clove.draw=known clove.cursor=/dev/ttyS1"));
        assert_eq!(cursor.done_marker(), clove_guest_helper::marker::READY);
        let anim = Scenario::AnimateThenStop { frames: 150 };
        assert!(cmdline(&anim, &[]).ends_with(" clove.draw=known clove.animate_frames=150"));
        assert_eq!(anim.done_marker(), ANIMATION_WAITING);
    }

    #[test]
    fn fnv_separates_fields() {
        let (mut a, mut b) = (Fnv::new(), Fnv::new());
        a.write(b"ab");
        a.write(b"c");
        b.write(b"a");
        b.write(b"bc");
        assert_ne!(a.0, b.0);
    }
}
