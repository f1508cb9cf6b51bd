//! Helpers for the harness's own unit tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::multiboot;

/// A fresh, empty scratch dir under the system temp dir (short paths keep
/// unix sockets under the 108-byte limit), removed when dropped.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub fn scratch_dir(name: &str) -> Scratch {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("clove-qt-{name}-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Writes a tiny multiboot1 kernel (a.out kludge, flat binary loaded at
/// 1 MiB) that prints `text` on COM1 and then either writes `exit` to the
/// isa-debug-exit port or halts forever. It stands in for the payload so the
/// harness can be tested against a real QEMU.
pub fn fake_kernel(dir: &Path, text: &str, exit: Option<u32>) -> PathBuf {
    const LOAD: u32 = 0x10_0000;

    let mut code: Vec<u8> = Vec::new();
    code.push(0xFC); // cld
    let msg_fixup = code.len() + 1;
    code.extend([0xBE, 0, 0, 0, 0]); // mov esi, msg
    code.extend([0x66, 0xBA, 0xF8, 0x03]); // mov dx, 0x3f8
    code.extend([0xAC, 0x84, 0xC0, 0x74, 0x03, 0xEE, 0xEB, 0xF8]); // lodsb; test al,al; jz +3; out dx,al; jmp -8
    if let Some(status) = exit {
        code.extend([0x66, 0xBA, 0xF4, 0x00]); // mov dx, 0xf4
        code.push(0xB8); // mov eax, status
        code.extend(status.to_le_bytes());
        code.push(0xEF); // out dx, eax
    }
    code.extend([0xFA, 0xF4, 0xEB, 0xFD]); // cli; hlt; jmp hlt

    let msg_addr = LOAD + multiboot::HEADER_LEN + code.len() as u32;
    code[msg_fixup..msg_fixup + 4].copy_from_slice(&msg_addr.to_le_bytes());
    code.extend(text.as_bytes());
    code.push(0);
    let path = dir.join("fake-kernel.bin");
    fs::write(&path, multiboot::flat_kernel(LOAD, &code, 0)).unwrap();
    path
}
