//! Everything that only exists on the bare target.

mod console;
mod cpu;
mod display;
mod entropy;
mod entry;
mod fault;
mod memory;
mod net;
mod options;
mod spice;
mod status;

use alloc::string::String;
use console::Console;
use drivers::boot::{clove_cfg, BootInfo, EntryKind, EntryState};
use drivers::net::server::ServerOptions;
use drivers::pci;
use drivers::port::X86Ports;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Called by the entry code in long mode on the boot stack, once.
#[no_mangle]
extern "C" fn rust_entry(kind: u32, eax: u32, ebx: u32, stack_arg: u32) -> ! {
    let t0 = cpu::rdtsc();
    // SAFETY: we run at ring 0, alone, and own every device from here on.
    let ports = unsafe { X86Ports::new() };
    let mut con = Console::new(ports.clone(), t0);
    con.banner();
    con.calibrate_clock();

    let kind = if kind == 1 { EntryKind::Pvh } else { EntryKind::Elf };
    let entry = EntryState { kind, eax, ebx, stack_arg };
    // SAFETY: called once, with the entry registers, before the heap exists.
    let boot = match unsafe { memory::read_boot_info(entry) } {
        Ok(b) => b,
        Err(e) => boot_failed(&mut con, ports, &e),
    };
    // The firmware's console port, when it is not COM1, is where its user looks.
    if let Some(s) = boot.serial.filter(|s| s.io && s.base != u32::from(console::COM1)) {
        if let Ok(base) = u16::try_from(s.base) {
            con.log(format_args!("console: moving to the firmware's serial port {base:#x}"));
            con.use_port(base);
            con.banner();
        }
    }
    // clove.cfg's words, then the command line's: the command line wins.
    let options = boot.options();
    let opts = options::Options::parse(options.as_str());
    fault::set_test_exit(opts.test_exit);
    log_boot(&mut con, &boot);

    // SAFETY: once, on the boot stack, with the entry code's page tables.
    unsafe { memory::protect_stack_guard() };
    match memory::init_heap(&boot.memory) {
        Ok((start, len)) => con.log(format_args!("heap: {start:#x}+{len:#x} ({} MiB)", len >> 20)),
        Err(e) => boot_failed(&mut con, ports, &e),
    }
    check_config(&mut con, &boot);

    let mut cfg = pci::ConfigSpace::new(ports.clone());
    let devices = pci::enumerate(&mut cfg);
    for d in &devices {
        con.log(format_args!("pci {}", status::PciLine(d)));
    }

    let screen = display::bring_up(boot.framebuffer.as_ref(), &devices, &mut cfg, ports.clone(), opts.mode);
    match &screen {
        Ok(s) => con.log(format_args!("display: {}", s.describe())),
        Err(e) => con.log(format_args!("display: none ({e})")),
    }
    let mut screen = screen.ok();
    if let Some(s) = screen.as_mut() {
        fault::register_framebuffer(s.fb.info());
        status::draw(s, &boot, &devices, "starting");
    }

    // With a server to connect to, the thin client takes over from here.
    let remote = ServerOptions::parse(options.as_str());
    for e in &remote.errors {
        con.log(format_args!("spice: {e}"));
    }
    if remote.server.is_some() && !opts.test_exit && opts.test_fault.is_none() && opts.net.nettest.is_none() {
        spice::run(&mut con, screen, &devices, &mut cfg, &opts.net, remote);
    }

    let mut net = net::start(&mut con, &devices, &mut cfg, &opts.net);
    if let Some(s) = screen.as_mut() {
        let line = net.as_ref().map_or_else(|| "no supported NIC".into(), net::Net::status_line);
        status::draw(s, &boot, &devices, &line);
    }

    con.log(format_args!("ready"));
    match opts.test_fault {
        Some(options::TestFault::Panic) => panic!("test-fault=panic asked for a panic"),
        Some(options::TestFault::StackOverflow) => con.log(format_args!("recursed {} times", recurse(0))),
        None => {}
    }
    if let (Some(n), Some(t)) = (net.as_mut(), opts.net.nettest) {
        n.nettest(&mut con, &t);
    }
    if opts.test_exit {
        cpu::qemu_exit(cpu::EXIT_OK);
    }
    match net {
        Some(n) => n.run(&mut con),
        None => cpu::halt_forever(),
    }
}

/// The loader's data is unusable: log it, put it on whatever screen we can
/// find without a memory map (a small heap inside our image), and stop.
fn boot_failed(con: &mut Console, ports: X86Ports, err: &dyn core::fmt::Display) -> ! {
    con.log(format_args!("boot error: {err}"));
    memory::init_fallback_heap();
    let mut cfg = pci::ConfigSpace::new(ports.clone());
    let devices = pci::enumerate(&mut cfg);
    if let Ok(s) = display::bring_up(None, &devices, &mut cfg, ports, None) {
        fault::register_framebuffer(s.fb.info());
    }
    fault::fatal("boot error", format_args!("{err}"), cpu::EXIT_BOOT_ERROR)
}

fn log_boot(con: &mut Console, boot: &BootInfo) {
    con.log(format_args!(
        "boot: {} cmdline=\"{}\" loader=\"{}\"",
        boot.protocol.name(),
        drivers::net::server::MaskPasswords(boot.cmdline.as_str()),
        boot.loader_name.as_str()
    ));
    for r in boot.memory.regions() {
        con.log(format_args!("memory: {:#018x}-{:#018x} {}", r.start, r.end(), r.kind));
    }
    con.log(format_args!(
        "memory: total {} KiB available in {} regions",
        boot.memory.total_available() / 1024,
        boot.memory.available().count()
    ));
    if let Some(note) = boot.framebuffer_note {
        con.log(format_args!("framebuffer: {note}"));
    }
    if let Some(fb) = &boot.framebuffer {
        con.log(format_args!(
            "framebuffer: loader's {}x{}x{} at {:#x}, pitch {}",
            fb.width, fb.height, fb.bpp, fb.addr, fb.pitch
        ));
    }
    if let Some(addr) = boot.table_addr {
        con.log(format_args!("coreboot: table at {addr:#x}"));
    }
    if let Some(s) = boot.serial {
        let kind = if s.io { "io" } else { "mmio" };
        con.log(format_args!("coreboot: serial {kind} {:#x} {} baud", s.base, s.baud));
    }
    if let Some(m) = boot.boot_media {
        con.log(format_args!(
            "coreboot: boot media {:#x}+{:#x}, CBFS at +{:#x} ({} KiB), FMAP at +{:#x}",
            m.base,
            m.size,
            m.cbfs_offset,
            m.cbfs_size / 1024,
            m.fmap_offset
        ));
    }
}

/// Report the configuration file: where it came from, the keys it sets
/// (never their values: passwords), and its bad lines by number.
fn check_config(con: &mut Console, boot: &BootInfo) {
    if let Some(e) = &boot.config_error {
        con.log(format_args!("config: not used: {e}"));
    }
    let Some(cfg) = &boot.config else { return };
    let mut keys = String::new();
    for line in clove_cfg::lines(cfg.text.as_str()) {
        let checked = line.word.map_err(String::from).and_then(|w| clove_cfg::value_error(w).map_or(Ok(w), Err));
        match checked {
            Ok(word) => {
                if !keys.is_empty() {
                    keys.push(' ');
                }
                keys.push_str(word.split('=').next().unwrap_or(word));
            }
            Err(why) => con.log(format_args!("config: {} line {}: {why}", cfg.source, line.number)),
        }
    }
    con.log(format_args!("config: {} sets: {keys}", cfg.source));
}

/// Unbounded recursion for `test-fault=stack`: must end on the guard page.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = core::hint::black_box([depth; 64]);
    core::hint::black_box(recurse(depth + 1)) + pad[(depth % 64) as usize]
}
