// Minimal freestanding C runtime for the axsim kernels (static, no libc).
// _start calls kernel_main(), optionally writes the output region to stdout (when the host set
// dump_output = 1, used to compare against qemu-aarch64), then makes the Linux exit syscall.
// The same ELF runs on sparce_sim, qemu-aarch64 (user mode) and gem5 SE mode.
    .data
    .balign 8
    .global dump_output
dump_output: .quad 0

    .text
    .global _start
    .type _start, %function
_start:
    mov x29, #0
    mov x30, #0
    bl kernel_main
    adrp x9, dump_output
    ldr x9, [x9, :lo12:dump_output]
    cbz x9, 1f
    mov x0, #1                  // fd = stdout
    adrp x1, output_ptr
    ldr x1, [x1, :lo12:output_ptr]
    adrp x2, output_bytes
    ldr x2, [x2, :lo12:output_bytes]
    mov x8, #64                 // write
    svc #0
1:  mov x0, #0
    mov x8, #93                 // exit
    svc #0
    .size _start, . - _start
