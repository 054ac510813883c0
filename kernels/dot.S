// Vector dot product of Fig. 4.2 (dissertation §4.1.1): OUT += INP[i] * KER[i], scalar FP.
// INP is the sparse operand. Labels dot_i3 and dot_i5 mark instructions (3) and (5) of Fig. 4.2,
// the precedingPCs of the hand-written SASA table (kernels/tables.py): skip (4) if INP == 0 and
// (6)-(7) if INP == 0 or KER == 0.
// Build parameters: DOT_N (vector length).
#include "sparce.inc"

    .data
    .balign 16
    .global N, INP, KER, OUT, output_ptr, output_bytes
N:            .quad DOT_N
INP:          .zero 4 * DOT_N
KER:          .zero 4 * DOT_N
OUT:          .zero 16
output_ptr:   .quad OUT
output_bytes: .quad 4

    .text
    .global kernel_main
    .type kernel_main, %function
kernel_main:
#ifdef SASA_ENTRIES
    adrp x16, sasa_table
    add x16, x16, :lo12:sasa_table
    sasa_ld x16, SASA_ENTRIES
#endif
    adrp x0, INP
    add x0, x0, :lo12:INP           // p0
    adrp x1, KER
    add x1, x1, :lo12:KER           // p1
    adrp x2, OUT
    add x2, x2, :lo12:OUT           // p2
    adrp x3, N
    ldr x3, [x3, :lo12:N]           // INDEX counts down
    ldr s2, [x2]                    // (1)  LD r2, [p2]     load OUT
    cbz x3, .Ldone
.Lloop:
    ldr s0, [x0]                    // (2)  LD r0, [p0]     load INP (sparse)
    .global dot_i3
dot_i3:
    add x0, x0, #4                  // (3)  ADD p0, p0, #1
    ldr s1, [x1]                    // (4)  LD r1, [p1]     load KER
    .global dot_i5
dot_i5:
    add x1, x1, #4                  // (5)  ADD p1, p1, #1
    fmul s3, s1, s0                 // (6)  r3 = INP * KER
    fadd s2, s2, s3                 // (7)  OUT += r3
    subs x3, x3, #1                 // (8)  INC INDEX
    b.ne .Lloop                     // (9)  BNE INDEX, #N, LOOP
.Ldone:
    str s2, [x2]                    // (10) ST r2, [p2]
    ret
    .size kernel_main, . - kernel_main
