/* Minimal freestanding runtime for the fidelity programs (no libc: sparce_sim
 * implements write/exit only).  _start calls main(); main's result is the exit
 * code; put_hex writes a 64-bit checksum to stdout. */
#ifndef FIDELITY_RT_H
#define FIDELITY_RT_H

/* One initialised word, so the writable segment has file data: gem5's ELF loader panics on a
 * PT_LOAD whose (empty) file range lies past the end of the file ("Segment outside the bounds of
 * the image data"), which a program with only .bss produces. */
__attribute__((used)) static volatile long rt_data_anchor = 1;

__asm__(".text\n.global _start\n.type _start, %function\n_start:\n"
        "    mov x29, #0\n    mov x30, #0\n    bl main\n"
        "    mov x8, #93\n    svc #0\n");

static inline long
sys_write(long fd, const void *buf, unsigned long n)
{
    register long x0 __asm__("x0") = fd;
    register const void *x1 __asm__("x1") = buf;
    register unsigned long x2 __asm__("x2") = n;
    register long x8 __asm__("x8") = 64;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
    return x0;
}

static inline void
put_hex(unsigned long v)
{
    char buf[17];
    for (int i = 15; i >= 0; i--) {
        buf[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
    buf[16] = '\n';
    sys_write(1, buf, 17);
}

#endif
