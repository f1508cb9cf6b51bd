//! The 32-bit entry points, the loader headers and the switch to long mode.
//!
//! Every loader enters in 32-bit protected mode with paging off: multiboot1
//! and multiboot2 (EAX = magic, EBX = info) and coreboot at the ELF entry
//! `_start32`, and PVH at `_start_pvh` (EBX = start_info). We save the
//! registers, identity-map the first 4 GiB with 2 MiB pages, enable long mode,
//! install a GDT with a TSS (IST1 for #DF, #PF and NMI, so a stack overflow
//! into the guard page is reported, not a triple fault) and an IDT for the
//! 32 exceptions, then call `rust_entry(kind, eax, ebx, stack_arg)`.

use core::arch::global_asm;

/// Bytes of boot stack; a guard page sits below it.
pub const STACK_SIZE: usize = 512 * 1024;

// Multiboot1 header: page-align modules, give us memory info, and the a.out
// kludge (bit 16), without which QEMU refuses an ELF64 kernel.
#[cfg(not(feature = "pvh-only"))]
global_asm!(
    r#"
    .section .multiboot1, "a"
    .align 4
mb1_header:
    .long 0x1BADB002
    .long 0x00010003
    .long 0x100000000 - (0x1BADB002 + 0x00010003)
    .long mb1_header
    .long __image_start
    .long __load_end
    .long __image_end
    .long _start32
"#,
    options(att_syntax)
);

global_asm!(
    r#"
    .section .multiboot2, "a"
    .align 8
mb2_header:
    .long 0xE85250D6
    .long 0
    .long mb2_header_end - mb2_header
    .long 0x100000000 - (0xE85250D6 + (mb2_header_end - mb2_header))
    /* Framebuffer request (optional): 1024x768x32 linear. */
    .align 8
    .short 5, 1
    .long 20
    .long 1024, 768, 32
    .align 8
    .short 0, 0
    .long 8
mb2_header_end:

    /* PVH: XEN_ELFNOTE_PHYS32_ENTRY (18) gives the 32-bit entry. */
    .section .note.Xen, "a", @note
    .align 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .align 4
    .long _start_pvh

    .section .boot.text, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl $0, boot_kind
    jmp 1f
    .global _start_pvh
_start_pvh:
    cli
    cld
    movl $1, boot_kind
1:
    mov %eax, boot_eax
    mov %ebx, boot_ebx
    /* coreboot passes its table pointer at 4(%esp); other loaders leave ESP
       undefined, so read it only when the address cannot wrap. */
    xor %edx, %edx
    cmp $0xFFFFFF00, %esp
    jae 2f
    mov 4(%esp), %edx
2:
    mov %edx, boot_stack_arg
    mov $boot_stack_top, %esp

    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb no_long_mode
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz no_long_mode

    /* Zero PML4, PDPT and the four PDs, then map 0..4 GiB with 2 MiB pages. */
    mov $boot_pml4, %edi
    xor %eax, %eax
    mov $(6 * 4096 / 4), %ecx
    rep stosl
    mov $boot_pdpt, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $3, %eax
    mov $boot_pdpt, %edi
    mov $4, %ecx
3:
    mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 3b
    mov $boot_pd, %edi
    mov $0x83, %eax
    mov $2048, %ecx
4:
    mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 4b

    lgdt boot_gdt_ptr
    mov %cr4, %eax
    or $(1 << 5), %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $(1 << 8), %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax
    mov %eax, %cr0
    ljmp $0x08, $long_mode_entry

no_long_mode:
    mov $no_long_mode_msg, %esi
    mov $0x3f8, %dx
5:
    lodsb
    test %al, %al
    jz 6f
    out %al, %dx
    jmp 5b
6:
    cli
    hlt
    jmp 6b

    .code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp

    /* TSS descriptor base, IST1, then load the task register. */
    lea boot_tss(%rip), %rax
    lea boot_gdt_tss(%rip), %rdi
    mov %ax, 2(%rdi)
    shr $16, %rax
    mov %al, 4(%rdi)
    mov %ah, 7(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    lea boot_ist1_top(%rip), %rax
    lea boot_tss(%rip), %rdi
    mov %rax, 0x24(%rdi)
    movw $104, 0x66(%rdi)
    mov $0x18, %ax
    ltr %ax

    /* IDT: one interrupt gate per exception stub. */
    lea boot_idt(%rip), %rdi
    lea exception_stubs(%rip), %rsi
    xor %ecx, %ecx
7:
    mov (%rsi, %rcx, 8), %rax
    mov %ax, (%rdi)
    movw $0x08, 2(%rdi)
    movb $0, 4(%rdi)
    cmp $2, %ecx
    je 8f
    cmp $8, %ecx
    je 8f
    cmp $14, %ecx
    jne 9f
8:
    movb $1, 4(%rdi)
9:
    movb $0x8E, 5(%rdi)
    shr $16, %rax
    mov %ax, 6(%rdi)
    shr $16, %rax
    mov %eax, 8(%rdi)
    movl $0, 12(%rdi)
    add $16, %rdi
    inc %ecx
    cmp $32, %ecx
    jne 7b
    lidt boot_idt_ptr(%rip)

    mov boot_kind(%rip), %edi
    mov boot_eax(%rip), %esi
    mov boot_ebx(%rip), %edx
    mov boot_stack_arg(%rip), %ecx
    xor %ebp, %ebp
    call rust_entry
10:
    cli
    hlt
    jmp 10b

    /* Exception stubs: push a zero error code where the CPU pushes none,
       then the vector, and share one path into Rust. */
    .macro exception_noerr n
exception_\n:
    push $0
    push $\n
    jmp exception_common
    .endm
    .macro exception_err n
exception_\n:
    push $\n
    jmp exception_common
    .endm
    .irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    exception_noerr \n
    .endr
    .irp n, 8,10,11,12,13,14,17,21,29,30
    exception_err \n
    .endr

exception_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    and $-16, %rsp
    call rust_exception
11:
    cli
    hlt
    jmp 11b

    .section .rodata
    .align 8
exception_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_\n
    .endr
no_long_mode_msg:
    .asciz "Clove: this CPU has no long mode (x86-64); halting.\r\n"

    .section .data
    .align 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_tss:
    .quad 0x0000890000000067
    .quad 0
boot_gdt_end:
    .align 8
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt
    .align 8
boot_idt_ptr:
    .word 32 * 16 - 1
    .quad boot_idt
    .align 4
boot_kind: .long 0
boot_eax: .long 0
boot_ebx: .long 0
boot_stack_arg: .long 0

    .section .bss
    .align 4096
    .global boot_pml4, boot_pd, boot_guard_pt, boot_stack_guard, boot_stack_top
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd: .skip 4 * 4096
boot_guard_pt: .skip 4096
boot_stack_guard: .skip 4096
boot_stack_bottom: .skip {stack_size}
boot_stack_top:
boot_ist1: .skip 16384
boot_ist1_top:
    .align 16
boot_tss: .skip 104
    .align 16
boot_idt: .skip 32 * 16
"#,
    stack_size = const STACK_SIZE,
    options(att_syntax)
);

/// Registers the CPU and our stub pushed, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct ExceptionFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

extern "C" {
    static boot_pd: u8;
    static boot_guard_pt: u8;
    static boot_stack_guard: u8;
    static __image_end: u8;
}

/// Addresses the linker and the entry code fixed.
pub struct Layout {
    pub image_end: u64,
    pub pd: u64,
    pub guard_pt: u64,
    pub stack_guard: u64,
}

pub fn layout() -> Layout {
    // Only the symbols' addresses are taken; nothing is read or written.
    Layout {
        image_end: (&raw const __image_end) as u64,
        pd: (&raw const boot_pd) as u64,
        guard_pt: (&raw const boot_guard_pt) as u64,
        stack_guard: (&raw const boot_stack_guard) as u64,
    }
}
