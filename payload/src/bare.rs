//! Everything that only exists on the bare target.

mod console;
mod cpu;
mod display;
mod entropy;
mod entry;
mod fault;
mod input;
mod memory;
mod net;
mod options;
mod spice;
mod status;

use console::Console;
use drivers::boot::{BootInfo, EntryKind};
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
    let _ = stack_arg; // coreboot's table pointer; read once coreboot lands.

    let kind = if kind == 1 { EntryKind::Pvh } else { EntryKind::Elf };
    // SAFETY: called once, with the entry registers, before the heap exists.
    let boot = match unsafe { memory::read_boot_info(kind, eax, ebx) } {
        Ok(b) => b,
        Err(e) => boot_failed(&mut con, ports, &e),
    };
    let opts = options::Options::parse(boot.cmdline.as_str());
    fault::set_test_exit(opts.test_exit);
    log_boot(&mut con, &boot);

    // SAFETY: once, on the boot stack, with the entry code's page tables.
    unsafe { memory::protect_stack_guard() };
    match memory::init_heap(&boot.memory) {
        Ok((start, len)) => con.log(format_args!("heap: {start:#x}+{len:#x} ({} MiB)", len >> 20)),
        Err(e) => boot_failed(&mut con, ports, &e),
    }

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
    let remote = ServerOptions::parse(boot.cmdline.as_str());
    for e in &remote.errors {
        con.log(format_args!("spice: {e}"));
    }
    if remote.server.is_some() && !opts.test_exit && opts.test_fault.is_none() && opts.net.nettest.is_none() {
        let input = input::Input::open(&mut con, ports.clone());
        spice::run(&mut con, screen, &devices, &mut cfg, &opts.net, remote, input);
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
        Some(n) => n.run(),
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
        boot.cmdline.as_str(),
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
}

/// Unbounded recursion for `test-fault=stack`: must end on the guard page.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let pad = core::hint::black_box([depth; 64]);
    core::hint::black_box(recurse(depth + 1)) + pad[(depth % 64) as usize]
}
