//! Everything that only exists on the bare target.

mod config;
mod console;
mod cpu;
mod display;
mod entropy;
mod entry;
mod fault;
mod fetch;
mod input;
mod memory;
mod net;
mod spice;
mod status;

use console::Console;
use drivers::boot::{BootInfo, EntryKind, EntryState};
use drivers::config::TestFault;
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
    // The rest of the configuration needs the heap; test-exit must hold
    // from here on.
    fault::set_test_exit(drivers::config::early_test_exit(boot.cmdline.as_str()));
    log_boot(&mut con, &boot);

    // SAFETY: once, on the boot stack, with the entry code's page tables.
    unsafe { memory::protect_stack_guard() };
    match memory::init_heap(&boot.memory) {
        Ok((start, len)) => con.log(format_args!("heap: {start:#x}+{len:#x} ({} MiB)", len >> 20)),
        Err(e) => boot_failed(&mut con, ports, &e),
    }
    if let Some(e) = &boot.config_error {
        con.error(format_args!("config: CBFS clove.cfg not used: {e}"));
    }
    let sources =
        config::Sources { cmdline: boot.cmdline.as_str(), cbfs: boot.config.as_ref().map(|c| c.text.as_str()) };
    let opts = sources.merge(&mut con, None);
    // The local setup screen (F2 while connecting) edits this boot's server
    // and password later, in the client: see `spice::Client::setup`.
    fault::set_test_exit(opts.boot.test_exit);
    let notes: alloc::vec::Vec<alloc::string::String> = opts.errors.iter().map(|e| alloc::format!("{e}")).collect();

    let mut cfg = pci::ConfigSpace::new(ports.clone());
    let devices = pci::enumerate(&mut cfg);
    for d in &devices {
        con.log(format_args!("pci {}", status::PciLine(d)));
    }

    let screen = display::bring_up(boot.framebuffer.as_ref(), &devices, &mut cfg, ports.clone(), opts.boot.mode);
    match &screen {
        Ok(s) => con.log(format_args!("display: {}", s.describe())),
        Err(e) => con.log(format_args!("display: none ({e})")),
    }
    let mut screen = screen.ok();
    if let Some(s) = screen.as_mut() {
        fault::register_framebuffer(s.fb.info());
        status::draw(s, &boot, &devices, "starting", &notes);
    }
    // Opened this early so that F2 pressed from now on reaches the client.
    let input = input::Input::open(&mut con, ports.clone());

    // With a server (or a file naming one) to connect to, the thin client
    // takes over from here.
    let testing = opts.boot.test_exit || opts.boot.test_fault.is_some() || opts.net.nettest.is_some();
    if !testing && (opts.server.server.is_some() || opts.boot.vv.is_some()) {
        spice::run(&mut con, screen, input, &devices, &mut cfg, &sources, opts, None);
    }

    let mut net = net::start(&mut con, &devices, &mut cfg, &opts.net);
    // DHCP may name a file (a .vv or clove.cfg) that names the server.
    if let Some(n) = net.take_if(|n| !testing && config::network_url(&opts, n).is_some()) {
        spice::run(&mut con, screen, input, &devices, &mut cfg, &sources, opts, Some(n));
    }
    if let Some(s) = screen.as_mut() {
        let line = net.as_ref().map_or_else(|| "no supported NIC".into(), net::Net::status_line);
        status::draw(s, &boot, &devices, &line, &notes);
    }

    con.log(format_args!("ready"));
    match opts.boot.test_fault {
        Some(TestFault::Panic) => panic!("test-fault=panic asked for a panic"),
        Some(TestFault::StackOverflow) => con.log(format_args!("recursed {} times", recurse(0))),
        None => {}
    }
    if let (Some(n), Some(t)) = (net.as_mut(), opts.net.nettest) {
        n.nettest(&mut con, &t);
    }
    if opts.boot.test_exit {
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
    con.error(format_args!("boot error: {err}"));
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

/// Unbounded recursion for `test-fault=stack`: must end on the guard page.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = core::hint::black_box([depth; 64]);
    core::hint::black_box(recurse(depth + 1)) + pad[(depth % 64) as usize]
}
