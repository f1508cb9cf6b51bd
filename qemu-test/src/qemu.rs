//! QEMU's command line (every flag in one place) and a running QEMU instance.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::artifacts;
use crate::deps;
use crate::error::{HarnessError, Result};
use crate::image::{Image, Rect};
use crate::qmp::Qmp;
use crate::serial::{self, SerialMark, WaitFail};

/// The emulated chipset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// i440fx (`-machine pc`).
    Pc,
    /// Q35 (`-machine q35`).
    Q35,
}

/// The display adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// `-vga std` (Bochs VBE behind a VGA).
    StdVga,
    /// `-vga none -device bochs-display` (no legacy VGA).
    BochsDisplay,
    /// `-vga qxl`.
    Qxl,
    /// `-vga none`: no display adapter at all.
    None,
}

/// Where COM1 goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serial {
    /// QEMU's stdio (for `cargo xtask run`).
    Stdio,
    /// A file QEMU appends to.
    File(PathBuf),
    /// Nowhere (`-serial none`).
    None,
}

/// User-mode networking for one NIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNet {
    /// The NIC's `-device` model, e.g. `e1000`.
    pub model: String,
    /// Extra `-netdev user` options, e.g. `hostfwd=tcp::5555-:22` (may be empty).
    pub options: String,
}

/// What the firmware boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// `-kernel PATH`: QEMU's own multiboot1/PVH/Linux loader (takes `-append`, `-initrd`).
    Kernel(PathBuf),
    /// `-cdrom ISO`: SeaBIOS boots the CD (a GRUB rescue ISO).
    Cdrom(PathBuf),
    /// `-drive if=none` on a `usb-storage` stick (xHCI), read-only: SeaBIOS boots it like a USB stick.
    UsbStick(PathBuf),
    /// `-boot n`: the NIC's iPXE option ROM netboots (give the NIC `tftp=`/`bootfile=`).
    Network,
}

/// `-spice image-compression=`: how the server compresses images.
/// QEMU 7.2 accepts these six (not `lz4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageCompression {
    Off,
    AutoGlz,
    AutoLz,
    Quic,
    Glz,
    Lz,
}

impl ImageCompression {
    /// Every value, in QEMU's documentation order.
    pub const ALL: [ImageCompression; 6] = [
        ImageCompression::Off,
        ImageCompression::AutoGlz,
        ImageCompression::AutoLz,
        ImageCompression::Quic,
        ImageCompression::Glz,
        ImageCompression::Lz,
    ];

    /// The option value, e.g. `auto_glz`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageCompression::Off => "off",
            ImageCompression::AutoGlz => "auto_glz",
            ImageCompression::AutoLz => "auto_lz",
            ImageCompression::Quic => "quic",
            ImageCompression::Glz => "glz",
            ImageCompression::Lz => "lz",
        }
    }
}

impl std::str::FromStr for ImageCompression {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        ImageCompression::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            let all: Vec<_> = ImageCompression::ALL.iter().map(|c| c.as_str()).collect();
            format!("unknown image compression {s:?} (one of {})", all.join(", "))
        })
    }
}

/// QEMU's built-in SPICE server (`-spice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpiceOptions {
    /// TCP port on `addr`.
    pub port: u16,
    /// Listen address, e.g. `127.0.0.1`.
    pub addr: String,
    /// `None`: `disable-ticketing=on`. `Some`: ticket auth with this password
    /// (passed as a `-object secret`, so QEMU prints no deprecation warning).
    pub password: Option<String>,
    /// `None`: QEMU's default (`auto_glz`).
    pub image_compression: Option<ImageCompression>,
    /// More `-spice` options, e.g. `jpeg-wan-compression=always` (not escaped).
    pub options: Vec<String>,
}

impl SpiceOptions {
    /// Port `port` on 127.0.0.1, no ticketing, default compression.
    pub fn localhost(port: u16) -> SpiceOptions {
        SpiceOptions {
            port,
            addr: "127.0.0.1".to_string(),
            password: None,
            image_compression: None,
            options: Vec::new(),
        }
    }
}

/// Every QEMU flag Clove uses, built up step by step. [`QemuConfig::args`]
/// turns it into the command line; tests and `cargo xtask run` share it.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    pub binary: String,
    pub name: Option<String>,
    pub boot: Boot,
    /// `-initrd` (for a Linux guest; only with [`Boot::Kernel`]).
    pub initrd: Option<PathBuf>,
    /// `-append` (only with [`Boot::Kernel`]; QEMU refuses it otherwise).
    pub append: Option<String>,
    pub memory: String,
    pub machine: Machine,
    pub cpu: Option<String>,
    pub display: Display,
    /// `true`: show a window (QEMU's default UI); `false`: `-display none`.
    pub window: bool,
    pub serial: Serial,
    pub qmp_socket: Option<PathBuf>,
    /// `None` adds `-nic none`, so no default NIC shows up on the PCI bus.
    pub net: Option<UserNet>,
    /// `-device` strings, in order.
    pub devices: Vec<String>,
    /// QEMU's SPICE server.
    pub spice: Option<SpiceOptions>,
    /// Start with the CPUs stopped (`-S`) until [`Qemu::resume`], so QMP
    /// can set things up (e.g. a NIC's link) before the guest runs.
    pub paused: bool,
    /// Raw arguments appended last.
    pub extra_args: Vec<String>,
}

/// Escapes a value for a QEMU `key=value,...` option list.
pub fn opt_escape(s: &str) -> String {
    s.replace(',', ",,")
}

impl QemuConfig {
    /// Boots `kernel` with `-kernel`; see [`QemuConfig::booting`].
    pub fn new(kernel: impl Into<PathBuf>) -> QemuConfig {
        QemuConfig::booting(Boot::Kernel(kernel.into()))
    }

    /// Defaults: `pc`, 256 MiB, `-vga std`, headless, serial on stdio.
    pub fn booting(boot: Boot) -> QemuConfig {
        QemuConfig {
            binary: deps::QEMU.to_string(),
            name: None,
            boot,
            initrd: None,
            append: None,
            memory: "256M".to_string(),
            machine: Machine::Pc,
            cpu: None,
            display: Display::StdVga,
            window: false,
            serial: Serial::Stdio,
            qmp_socket: None,
            net: None,
            devices: Vec::new(),
            spice: None,
            paused: false,
            extra_args: Vec::new(),
        }
    }

    /// A config for a payload variant's ELF (building it if needed).
    pub fn payload(variant: artifacts::Variant) -> Result<QemuConfig> {
        Ok(QemuConfig::new(artifacts::payload(variant)?))
    }

    /// Names the instance's work dir (default: the current test's name).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }
    /// The initial ramdisk (`-initrd`).
    pub fn initrd(mut self, path: impl Into<PathBuf>) -> Self {
        self.initrd = Some(path.into());
        self
    }
    /// Serve the display over SPICE (`-spice`).
    pub fn spice(mut self, spice: SpiceOptions) -> Self {
        self.spice = Some(spice);
        self
    }
    /// The kernel command line (`-append`).
    pub fn append(mut self, cmdline: &str) -> Self {
        self.append = Some(cmdline.to_string());
        self
    }
    /// Guest RAM in QEMU's syntax: `96M`, `4200M`, `1G`.
    pub fn memory(mut self, size: &str) -> Self {
        self.memory = size.to_string();
        self
    }
    pub fn machine(mut self, machine: Machine) -> Self {
        self.machine = machine;
        self
    }
    /// `-cpu` model, e.g. `max` (for RDRAND).
    pub fn cpu(mut self, model: &str) -> Self {
        self.cpu = Some(model.to_string());
        self
    }
    pub fn display(mut self, display: Display) -> Self {
        self.display = display;
        self
    }
    /// Show a window instead of running headless.
    pub fn window(mut self, window: bool) -> Self {
        self.window = window;
        self
    }
    pub fn serial(mut self, serial: Serial) -> Self {
        self.serial = serial;
        self
    }
    /// Serve QMP on a unix socket.
    pub fn qmp_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.qmp_socket = Some(path.into());
        self
    }
    /// One NIC on `-netdev user` (guest reaches the host's 127.0.0.1 as 10.0.2.2).
    pub fn user_net(mut self, model: &str, options: &str) -> Self {
        self.net = Some(UserNet { model: model.to_string(), options: options.to_string() });
        self
    }
    /// Adds `-device <spec>`.
    pub fn device(mut self, spec: &str) -> Self {
        self.devices.push(spec.to_string());
        self
    }
    /// Start with the CPUs stopped (see [`QemuConfig::paused`]).
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }
    /// Appends one raw argument.
    pub fn extra_arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_string());
        self
    }
    /// Appends raw arguments.
    pub fn extra_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The full argument list (without the binary).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        push(&["-accel", "tcg"]);
        push(&[
            "-machine",
            match self.machine {
                Machine::Pc => "pc",
                Machine::Q35 => "q35",
            },
        ]);
        push(&["-m", &self.memory]);
        if let Some(cpu) = &self.cpu {
            push(&["-cpu", cpu]);
        }
        match &self.boot {
            Boot::Kernel(path) => push(&["-kernel", &path.to_string_lossy()]),
            Boot::Cdrom(iso) => push(&["-cdrom", &iso.to_string_lossy()]),
            Boot::UsbStick(image) => {
                let drive =
                    format!("file={},format=raw,if=none,id=stick,readonly=on", opt_escape(&image.to_string_lossy()));
                push(&["-drive", &drive, "-device", "qemu-xhci", "-device", "usb-storage,drive=stick"]);
            }
            Boot::Network => push(&["-boot", "n"]),
        }
        if let Some(initrd) = &self.initrd {
            push(&["-initrd", &initrd.to_string_lossy()]);
        }
        if let Some(cmdline) = &self.append {
            push(&["-append", cmdline]);
        }
        push(&["-no-reboot"]);
        if self.paused {
            push(&["-S"]);
        }
        push(&["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        match self.display {
            Display::StdVga => push(&["-vga", "std"]),
            Display::BochsDisplay => push(&["-vga", "none", "-device", "bochs-display"]),
            Display::Qxl => push(&["-vga", "qxl"]),
            Display::None => push(&["-vga", "none"]),
        }
        if !self.window {
            push(&["-display", "none"]);
        }
        match &self.serial {
            Serial::Stdio => push(&["-serial", "stdio"]),
            Serial::File(path) => {
                let chardev = format!("file,id=ser0,path={}", opt_escape(&path.to_string_lossy()));
                push(&["-chardev", &chardev, "-serial", "chardev:ser0"]);
            }
            Serial::None => push(&["-serial", "none"]),
        }
        if let Some(sock) = &self.qmp_socket {
            let spec = format!("unix:{},server=on,wait=off", opt_escape(&sock.to_string_lossy()));
            push(&["-qmp", &spec]);
        }
        match &self.net {
            None => push(&["-nic", "none"]),
            Some(net) => {
                let mut netdev = "user,id=net0".to_string();
                if !net.options.is_empty() {
                    netdev.push(',');
                    netdev.push_str(&net.options);
                }
                let device = format!("{},netdev=net0", net.model);
                push(&["-netdev", &netdev, "-device", &device]);
            }
        }
        for d in &self.devices {
            push(&["-device", d]);
        }
        if let Some(spice) = &self.spice {
            let mut opts = format!("port={},addr={}", spice.port, opt_escape(&spice.addr));
            match &spice.password {
                None => opts.push_str(",disable-ticketing=on"),
                Some(password) => {
                    let secret = format!("secret,id=spice-password,data={}", opt_escape(password));
                    push(&["-object", &secret]);
                    opts.push_str(",password-secret=spice-password");
                }
            }
            if let Some(c) = spice.image_compression {
                opts.push_str(",image-compression=");
                opts.push_str(c.as_str());
            }
            for o in &spice.options {
                opts.push(',');
                opts.push_str(o);
            }
            push(&["-spice", &opts]);
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }

    /// A `Command` for this config (stdio not yet set).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(self.args());
        cmd
    }

    /// The command line as one shell-like string, for logs.
    pub fn command_line(&self) -> String {
        std::iter::once(self.binary.clone())
            .chain(self.args().into_iter().map(|a| {
                if a.is_empty() || a.contains([' ', '"', '\'']) {
                    format!("'{}'", a.replace('\'', "'\\''"))
                } else {
                    a
                }
            }))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Fails with the install line if the QEMU binary is missing.
pub fn require_qemu(binary: &str) -> Result<()> {
    if deps::find_program(binary).is_some() {
        return Ok(());
    }
    let package = deps::DEPS
        .iter()
        .find(|d| d.check == deps::Check::Program(deps::QEMU))
        .map_or("qemu-system-x86", |d| d.package);
    Err(HarnessError::MissingTool { tool: binary.to_string(), install: deps::install_line(&[package]) })
}

/// Longest unix socket path we hand QEMU (sun_path is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 100;

/// How long QEMU may take to open its QMP socket.
const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Lines of serial log quoted in errors.
const TAIL_LINES: usize = 40;

static INSTANCE: AtomicUsize = AtomicUsize::new(0);

/// A work dir name from the test name: safe characters, bounded length.
fn sanitize(name: &str) -> String {
    let short = name.rsplit("::").next().unwrap_or(name);
    let mut s: String =
        short.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    s.truncate(40);
    if s.is_empty() {
        s.push_str("qemu");
    }
    s
}

/// A running QEMU, killed when dropped.
///
/// Its files live in a fresh work dir, `<root>/target/qemu-test/<name>-<pid>-<n>/`:
/// `serial.log`, `qemu.stderr`, `cmdline.txt`, `qmp.sock` and screendumps.
/// The dir is kept after the test so a failure can be looked at.
#[derive(Debug)]
pub struct Qemu {
    dir: PathBuf,
    serial_path: PathBuf,
    stderr_path: PathBuf,
    socket_path: PathBuf,
    socket_outside_dir: bool,
    child: Mutex<Proc>,
    qmp: Qmp,
    started: Instant,
    poll: Duration,
    dumps: u32,
}

#[derive(Debug)]
struct Proc {
    child: Child,
    status: Option<ExitStatus>,
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => format!("ended ({status})"),
    }
}

impl Qemu {
    /// Starts QEMU headless with serial to a file and QMP on a unix socket,
    /// and completes the QMP handshake.
    pub fn start(config: QemuConfig) -> Result<Qemu> {
        require_qemu(&config.binary)?;
        let name = sanitize(config.name.as_deref().or(thread::current().name()).unwrap_or("qemu"));
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let dir = artifacts::target_dir().join("qemu-test").join(format!("{name}-{pid}-{n}"));
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| HarnessError::io(format!("clearing {}", dir.display()), e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;

        let mut socket_path = dir.join("qmp.sock");
        let mut socket_outside_dir = false;
        if socket_path.as_os_str().len() > MAX_SOCKET_PATH {
            socket_path = std::env::temp_dir().join(format!("clove-qmp-{pid}-{n}.sock"));
            let _ = fs::remove_file(&socket_path);
            socket_outside_dir = true;
        }
        let serial_path = dir.join("serial.log");
        let stderr_path = dir.join("qemu.stderr");

        let config = QemuConfig {
            window: false,
            serial: Serial::File(serial_path.clone()),
            qmp_socket: Some(socket_path.clone()),
            ..config
        };
        let cmdline = config.command_line();
        let _ = fs::write(dir.join("cmdline.txt"), format!("{cmdline}\n"));
        let stderr = File::create(&stderr_path)
            .map_err(|e| HarnessError::io(format!("creating {}", stderr_path.display()), e))?;
        let stdout = File::create(dir.join("qemu.stdout"))
            .map_err(|e| HarnessError::io(format!("creating {}/qemu.stdout", dir.display()), e))?;

        let mut cmd = config.command();
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let started = Instant::now();
        let child = cmd.spawn().map_err(|e| HarnessError::io(format!("starting {cmdline}"), e))?;
        let proc = Mutex::new(Proc { child, status: None });

        // Until the handshake is done we have no Qemu to drop, so kill by hand.
        let qmp = Qmp::connect(&socket_path, QMP_CONNECT_TIMEOUT, || {
            let mut p = proc.lock().unwrap_or_else(|e| e.into_inner());
            match p.child.try_wait() {
                Ok(Some(status)) => Err(HarnessError::Exited {
                    what: "the QMP socket".into(),
                    status: describe_status(status),
                    serial_tail: serial::tail(&read_lossy(&serial_path), TAIL_LINES),
                    stderr: read_lossy(&stderr_path),
                }),
                _ => Ok(()),
            }
        });
        let qmp = match qmp {
            Ok(q) => q,
            Err(e) => {
                let mut p = proc.into_inner().unwrap_or_else(|e| e.into_inner());
                // QEMU opens the socket before it checks every option, so a
                // broken handshake usually means QEMU is exiting: say why.
                let deadline = Instant::now() + Duration::from_secs(2);
                let mut exited = None;
                while exited.is_none() && Instant::now() < deadline {
                    exited = p.child.try_wait().ok().flatten();
                    thread::sleep(Duration::from_millis(10));
                }
                let e = match (e, exited) {
                    (e @ HarnessError::Exited { .. }, _) => e,
                    (_, Some(status)) => HarnessError::Exited {
                        what: "the QMP handshake".into(),
                        status: describe_status(status),
                        serial_tail: serial::tail(&read_lossy(&serial_path), TAIL_LINES),
                        stderr: read_lossy(&stderr_path),
                    },
                    (e, None) => e,
                };
                let _ = p.child.kill();
                let _ = p.child.wait();
                if socket_outside_dir {
                    let _ = fs::remove_file(&socket_path);
                }
                return Err(e);
            }
        };
        Ok(Qemu {
            dir,
            serial_path,
            stderr_path,
            socket_path,
            socket_outside_dir,
            child: proc,
            qmp,
            started,
            poll: Duration::from_millis(10),
            dumps: 0,
        })
    }

    /// The instance's work dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The serial log file.
    pub fn serial_path(&self) -> &Path {
        &self.serial_path
    }
    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.proc().child.id()
    }
    /// When QEMU was spawned.
    pub fn started_at(&self) -> Instant {
        self.started
    }
    /// How often the wait functions poll (default 10 ms).
    pub fn set_poll_interval(&mut self, poll: Duration) {
        self.poll = poll;
    }

    fn proc(&self) -> std::sync::MutexGuard<'_, Proc> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// QEMU's exit status if it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut p = self.proc();
        if p.status.is_none() {
            p.status = p.child.try_wait().ok().flatten();
        }
        p.status
    }

    /// Everything on the serial port so far.
    pub fn serial(&self) -> String {
        read_lossy(&self.serial_path)
    }

    /// QEMU's stderr so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// The current end of the serial log (see [`Qemu::wait_for_line_after`]).
    pub fn serial_mark(&self) -> SerialMark {
        serial::read_bytes(&self.serial_path).map(|b| serial::mark_of(&b)).unwrap_or_default()
    }

    fn fail(&self, what: String, fail: WaitFail, waited: Duration) -> HarnessError {
        let serial_tail = serial::tail(&self.serial(), TAIL_LINES);
        let stderr = self.stderr();
        match fail {
            WaitFail::Timeout => HarnessError::Timeout { what, waited, serial_tail, stderr },
            WaitFail::Exited(status) => HarnessError::Exited { what, status, serial_tail, stderr },
        }
    }

    /// Waits until a serial line contains `needle` and returns that line
    /// (without its line ending). Searches the whole log, so a line printed
    /// before the call also matches. Fails early if QEMU exits.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Result<String> {
        self.wait_for_line_after(SerialMark(0), needle, timeout)
    }

    /// Like [`Qemu::wait_for_line`], but only lines after `mark`.
    pub fn wait_for_line_after(&self, mark: SerialMark, needle: &str, timeout: Duration) -> Result<String> {
        let start = Instant::now();
        let exited = || self.exit_status().map(describe_status);
        match serial::wait_for_line(&self.serial_path, mark, needle, timeout, self.poll, exited) {
            Err(e) => Err(HarnessError::io(format!("reading {}", self.serial_path.display()), e)),
            Ok(Ok(line)) => Ok(line),
            Ok(Err(fail)) => Err(self.fail(format!("serial line containing {needle:?}"), fail, start.elapsed())),
        }
    }

    /// Waits for QEMU to exit and returns its exit code. With
    /// isa-debug-exit, guest status `s` gives code `(s << 1) | 1`.
    pub fn wait_exit(&self, timeout: Duration) -> Result<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exit_status() {
                return status.code().ok_or_else(|| {
                    self.fail("QEMU to exit".into(), WaitFail::Exited(describe_status(status)), start.elapsed())
                });
            }
            if start.elapsed() >= timeout {
                return Err(self.fail("QEMU to exit".into(), WaitFail::Timeout, start.elapsed()));
            }
            thread::sleep(self.poll);
        }
    }

    /// Kills QEMU (SIGKILL) and reaps it. Harmless if it already exited.
    pub fn kill(&self) {
        let mut p = self.proc();
        if p.status.is_none() {
            let _ = p.child.kill();
            p.status = p.child.wait().ok();
        }
    }

    /// Runs a QMP command; `args` is an object or `Value::Null`.
    pub fn qmp(&mut self, command: &str, args: Value) -> Result<Value> {
        self.qmp.execute(command, args)
    }

    /// Plugs (`up`) or pulls a NIC's cable: QMP `set_link` on a netdev id
    /// (`net0` for [`QemuConfig::user_net`]) or a `-device ...,id=` NIC id.
    pub fn set_link(&mut self, name: &str, up: bool) -> Result<()> {
        self.qmp("set_link", json!({ "name": name, "up": up })).map(|_| ())
    }

    /// Starts the CPUs of a [`QemuConfig::paused`] instance.
    pub fn resume(&mut self) -> Result<()> {
        self.qmp("cont", Value::Null).map(|_| ())
    }

    /// QMP events received so far (cleared by this call).
    pub fn take_events(&mut self) -> Vec<Value> {
        self.qmp.take_events()
    }

    /// Takes a screendump of the primary display (a PPM in the work dir).
    pub fn screendump(&mut self) -> Result<Image> {
        self.dumps += 1;
        let path = self.dir.join(format!("screendump-{}.ppm", self.dumps));
        self.qmp("screendump", json!({ "filename": path.to_string_lossy() }))?;
        Image::load_ppm(&path)
    }

    /// Saves `image` as `<work dir>/<name>.png` (for failure reports) and
    /// returns the path.
    pub fn save_artifact(&self, image: &Image, name: &str) -> Result<PathBuf> {
        let path = self.dir.join(format!("{}.png", sanitize(name)));
        image.save_png(&path)?;
        Ok(path)
    }

    /// Compares a region of `actual` with the same region of `expected`. On
    /// a mismatch both images are saved as `<name>-actual.png` and
    /// `<name>-expected.png` in the work dir, and the error names them.
    pub fn check_region(&self, name: &str, actual: &Image, expected: &Image, rect: Rect) -> Result<()> {
        let (x, y, w, h) = rect;
        let Err(mismatch) = actual.region_equals(expected, x, y, w, h) else {
            return Ok(());
        };
        let artifacts = vec![
            self.save_artifact(actual, &format!("{name}-actual"))?,
            self.save_artifact(expected, &format!("{name}-expected"))?,
        ];
        Err(HarnessError::Screen { what: name.to_string(), mismatch, artifacts })
    }
}

fn read_lossy(path: &Path) -> String {
    serial::read_bytes(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let p = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if p.status.is_none() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        if self.socket_outside_dir {
            let _ = fs::remove_file(&self.socket_path);
        }
        if thread::panicking() {
            eprintln!("qemu-test: QEMU's files are in {}", self.dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(c: &QemuConfig) -> String {
        c.args().join(" ")
    }

    #[test]
    fn default_args() {
        let c = QemuConfig::new("/k/clove.elf").append("test-exit");
        assert_eq!(
            joined(&c),
            "-accel tcg -machine pc -m 256M -kernel /k/clove.elf -append test-exit -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -vga std -display none -serial stdio -nic none"
        );
    }

    #[test]
    fn every_option() {
        let c = QemuConfig::new("/k/clove.elf")
            .memory("4200M")
            .machine(Machine::Q35)
            .cpu("max")
            .display(Display::BochsDisplay)
            .window(true)
            .serial(Serial::File("/w/a,b/serial.log".into()))
            .qmp_socket("/w/qmp.sock")
            .user_net("e1000", "hostfwd=tcp::5555-:22")
            .device("rtl8139")
            .extra_args(["-d", "int"]);
        assert_eq!(
            joined(&c),
            "-accel tcg -machine q35 -m 4200M -cpu max -kernel /k/clove.elf -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -vga none -device bochs-display \
             -chardev file,id=ser0,path=/w/a,,b/serial.log -serial chardev:ser0 \
             -qmp unix:/w/qmp.sock,server=on,wait=off \
             -netdev user,id=net0,hostfwd=tcp::5555-:22 -device e1000,netdev=net0 \
             -device rtl8139 -d int"
        );
    }

    #[test]
    fn linux_guest_with_spice() {
        let mut spice = SpiceOptions::localhost(5930);
        spice.image_compression = Some(ImageCompression::AutoGlz);
        spice.options.push("jpeg-wan-compression=never".into());
        let c = QemuConfig::new("/g/vmlinuz").initrd("/g/initrd.gz").serial(Serial::None).spice(spice.clone());
        let args = joined(&c);
        assert!(args.contains("-kernel /g/vmlinuz -initrd /g/initrd.gz -no-reboot"), "{args}");
        assert!(
            args.ends_with(
                "-nic none -spice port=5930,addr=127.0.0.1,disable-ticketing=on,image-compression=auto_glz,\
                 jpeg-wan-compression=never"
            ),
            "{args}"
        );
        spice.password = Some("a,b".into());
        spice.image_compression = None;
        spice.options.clear();
        let args = joined(&QemuConfig::new("k").serial(Serial::None).spice(spice));
        assert!(
            args.ends_with(
                "-object secret,id=spice-password,data=a,,b \
                 -spice port=5930,addr=127.0.0.1,password-secret=spice-password"
            ),
            "{args}"
        );
    }

    #[test]
    fn image_compression_names() {
        for c in ImageCompression::ALL {
            assert_eq!(c.as_str().parse::<ImageCompression>(), Ok(c));
        }
        assert!("lz4".parse::<ImageCompression>().unwrap_err().contains("auto_glz"));
    }

    #[test]
    fn boot_without_kernel() {
        let args = |b| joined(&QemuConfig::booting(b).serial(Serial::None));
        assert!(args(Boot::Cdrom("/m/clove.iso".into())).contains("-m 256M -cdrom /m/clove.iso -no-reboot"));
        assert!(args(Boot::Network).contains("-m 256M -boot n -no-reboot"));
        let usb = args(Boot::UsbStick("/m/a,b.iso".into()));
        assert!(
            usb.contains(
                "-drive file=/m/a,,b.iso,format=raw,if=none,id=stick,readonly=on -device qemu-xhci \
                 -device usb-storage,drive=stick -no-reboot"
            ),
            "{usb}"
        );
        assert!(!usb.contains("-kernel"));
    }

    #[test]
    fn display_choices() {
        let d = |d| joined(&QemuConfig::new("k").display(d).serial(Serial::None));
        assert!(d(Display::Qxl).contains("-vga qxl -display none -serial none"));
        assert!(d(Display::None).contains("-vga none -display none"));
        assert!(d(Display::StdVga).contains("-vga std"));
    }

    #[test]
    fn command_line_quotes() {
        let c = QemuConfig::new("k").append("a b");
        assert!(c.command_line().starts_with("qemu-system-x86_64 -accel tcg"));
        assert!(c.command_line().contains("-append 'a b'"));
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("tests::boot multiboot/1"), "boot_multiboot_1");
        assert_eq!(sanitize(""), "qemu");
        assert_eq!(sanitize(&"x".repeat(80)).len(), 40);
    }

    #[test]
    fn missing_qemu_names_the_apt_line() {
        let err = require_qemu("clove-no-such-qemu").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("apt-get install -y --no-install-recommends qemu-system-x86"), "{msg}");
        let cfg = QemuConfig { binary: "clove-no-such-qemu".into(), ..QemuConfig::new("k") };
        assert!(matches!(Qemu::start(cfg), Err(HarnessError::MissingTool { .. })));
    }

    fn have_qemu() -> bool {
        let ok = deps::find_program(deps::QEMU).is_some();
        if !ok {
            eprintln!("skipped: {} not installed", deps::QEMU);
        }
        ok
    }

    fn fake(name: &str, text: &str, exit: Option<u32>) -> QemuConfig {
        let dir = artifacts::target_dir().join("qemu-test").join("fake-kernels").join(name);
        fs::create_dir_all(&dir).unwrap();
        QemuConfig::new(crate::testutil::fake_kernel(&dir, text, exit)).name(&format!("unit-{name}")).memory("32M")
    }

    const T: Duration = Duration::from_secs(60);

    #[test]
    fn real_qemu_serial_exit_code_and_screendump() {
        if !have_qemu() {
            return;
        }
        let mut q = Qemu::start(fake("boot", "Clove 9.9.9\r\n[0000.001] ready\n", Some(0))).unwrap();
        assert!(q.dir().starts_with(artifacts::target_dir().join("qemu-test")));
        let status = q.qmp("query-status", Value::Null).unwrap();
        assert!(status["status"].is_string(), "{status}");
        assert_eq!(q.wait_for_line("ready", T).unwrap(), "[0000.001] ready");
        assert_eq!(q.wait_exit(T).unwrap(), 1);
        assert!(q.serial().starts_with("Clove 9.9.9\r\n"));
        // Already-printed lines still match after exit.
        assert_eq!(q.wait_for_line("Clove", T).unwrap(), "Clove 9.9.9");
        assert!(fs::read_to_string(q.dir().join("cmdline.txt")).unwrap().contains("-chardev file,id=ser0"));
    }

    #[test]
    fn real_qemu_screendump() {
        if !have_qemu() {
            return;
        }
        let mut q = Qemu::start(fake("dump", "Clove 9.9.9\n", None)).unwrap();
        q.wait_for_line("Clove", T).unwrap();
        let img = q.screendump().unwrap();
        assert!(img.width >= 320 && img.height >= 200, "{img:?}");
        assert_eq!(img.rgb.len(), (img.width * img.height) as usize);
        let png = q.save_artifact(&img, "screen").unwrap();
        assert_eq!(Image::load_png(&png).unwrap(), img);

        let (w, h) = (img.width, img.height);
        q.check_region("same", &img, &img, (0, 0, w, h)).unwrap();
        let mut other = img.clone();
        other.rgb[0] ^= 0xff_ffff;
        let err = q.check_region("flipped", &img, &other, (0, 0, w, h)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("flipped: 1 of "), "{msg}");
        assert!(q.dir().join("flipped-actual.png").is_file(), "{msg}");
        assert!(q.dir().join("flipped-expected.png").is_file(), "{msg}");
    }

    #[test]
    fn real_qemu_error_exit_fails_the_wait_early() {
        if !have_qemu() {
            return;
        }
        let q = Qemu::start(fake("panic", "Clove 9.9.9\nPANIC: at x.rs:1\n", Some(1))).unwrap();
        let start = Instant::now();
        let err = q.wait_for_line("ready", T).unwrap_err();
        assert!(start.elapsed() < T);
        let msg = err.to_string();
        assert!(matches!(err, HarnessError::Exited { .. }), "{msg}");
        assert!(msg.contains("QEMU exited with code 3"), "{msg}");
        assert!(msg.contains("PANIC: at x.rs:1"), "{msg}");
        assert_eq!(q.wait_exit(T).unwrap(), 3);
    }

    #[test]
    fn real_qemu_timeout_quotes_logs_and_drop_kills() {
        if !have_qemu() {
            return;
        }
        let q = Qemu::start(fake("hang", "Clove 9.9.9\nwaiting\n", None)).unwrap();
        let err = q.wait_for_line("ready", Duration::from_millis(500)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HarnessError::Timeout { .. }), "{msg}");
        assert!(msg.contains("waiting"), "{msg}");
        assert!(q.wait_exit(Duration::from_millis(50)).is_err());
        let pid = q.pid();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(q);
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "QEMU {pid} survived drop");
    }

    #[test]
    fn real_qemu_is_killed_when_a_test_panics() {
        if !have_qemu() {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let r = thread::Builder::new()
            .name("panicking-test".into())
            .spawn(move || {
                let q = Qemu::start(fake("panicking", "x\n", None)).unwrap();
                tx.send(q.pid()).unwrap();
                panic!("test failed");
            })
            .unwrap()
            .join();
        assert!(r.is_err());
        let pid = rx.recv().unwrap();
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "QEMU {pid} survived a panic");
    }

    #[test]
    fn real_qemu_bad_args_report_stderr() {
        if !have_qemu() {
            return;
        }
        let err = Qemu::start(fake("badarg", "x\n", None).device("no-such-device-xyz")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HarnessError::Exited { .. }), "{msg}");
        assert!(msg.contains("no-such-device-xyz"), "{msg}");
    }
}
