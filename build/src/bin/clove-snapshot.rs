//! `clove-snapshot spice://HOST:PORT --png OUT.png`: one frame from a SPICE
//! server, without cargo's start-up in the way (for timing against spicy-screenshot).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::ExitCode::from(xtask::snapshot::main(&args) as u8)
}
