// Vector dot product of Fig. 4.2 (dissertation §4.1.1): OUT += INP[i] * KER[i], scalar FP.
// INP is the sparse operand. The loop is Fig. 4.2's, unrolled by four with the four INP loads
// hoisted to the top (the reordering step of §4.2.1, Fig. 4.6c), so each INP value is loaded
// several instructions before the region it decides. Per element e the hand-written SASA table
// (kernels/tables.py) skips the KER load when INP[e] == 0 (Fig. 4.2's inst 4) and the multiply
// and add when INP[e] == 0 or KER[e] == 0 (insts 6-7); dot_pre_w<e> / dot_pre_mac<e> label the
// precedingPCs.
// Build parameters: DOT_N (vector length, a multiple of 4).
#include "sparce.inc"
// @sparse x0      (SASA compiler: x0 points at INP, the sparse activations; see sasa_compiler/README.md)
// @returns none

#if DOT_N % 4
#error "DOT_N must be a multiple of 4"
#endif

    .data
    .balign 16
    .global N, INP, KER, OUT, output_ptr, output_bytes
    .balign 16
N:            .quad DOT_N
    .balign 16
INP:          .zero 4 * DOT_N
    .balign 16
KER:          .zero 4 * DOT_N
    .balign 16
OUT:          .zero 16
    .balign 16
output_ptr:   .quad OUT
    .balign 16
output_bytes: .quad 4

// One element e: the KER load (region skipped when INP[e] == 0; its precedingPC, dot_pre_w<e>,
// is the instruction before it) and the multiply-add (skipped when INP[e] == 0 or KER[e] == 0;
// precedingPC dot_pre_mac<e> is the KER load). \next labels this element's fadd, the precedingPC
// of the next element's KER load.
.macro DOT_ELEMENT e, inp, off, next
    .global dot_pre_mac\e
dot_pre_mac\e:
    ldr s1, [x1, #\off]             // (4)  LD r1, [p1]   load KER
    fmul s3, s1, \inp              // (6)  r3 = INP * KER
    .global \next
\next:
    fadd s2, s2, s3                 // (7)  OUT += r3
.endm

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
    ldr s0, [x0]                    // (2)  LD r0, [p0]     load INP (sparse), x4 unrolled
    ldr s4, [x0, #4]
    ldr s5, [x0, #8]
    ldr s6, [x0, #12]
    add x0, x0, #16                 // (3)  ADD p0, p0, #1
    .global dot_pre_w0
dot_pre_w0:
    subs x3, x3, #4                 // (8)  INC INDEX
    DOT_ELEMENT 0, s0, 0, dot_pre_w1
    DOT_ELEMENT 1, s4, 4, dot_pre_w2
    DOT_ELEMENT 2, s5, 8, dot_pre_w3
    DOT_ELEMENT 3, s6, 12, dot_last_fadd
    add x1, x1, #16                 // (5)  ADD p1, p1, #1
    b.ne .Lloop                     // (9)  BNE INDEX, #N, LOOP
.Ldone:
    str s2, [x2]                    // (10) ST r2, [p2]
    ret
    .size kernel_main, . - kernel_main
