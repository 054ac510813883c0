// Dir-Conv-Scalar (dissertation §4.3.1): direct convolution with scalar FP only, no SIMD and no
// prefetching. OUT[oc][oy][ox] = sum_{c,ky,kx} INP[c][oy+ky][ox+kx] * KER[oc][c][ky][kx]
// (stride 1; INP is given already padded by the host). INP (the activations) is the sparse operand.
// The inner loop follows Fig. 4.2: dc_pre_w and dc_pre_mac are the precedingPCs of the
// hand-written SASA table (kernels/tables.py).
// Build parameters: C, IH, IW (padded input), OC, KH, KW.
#include "sparce.inc"

#define OH (IH - KH + 1)
#define OW (IW - KW + 1)

    .data
    .balign 16
    .global INP, KER, OUT, output_ptr, output_bytes
INP:          .zero 4 * C * IH * IW
KER:          .zero 4 * OC * C * KH * KW
OUT:          .zero 4 * OC * OH * OW
output_ptr:   .quad OUT
output_bytes: .quad 4 * OC * OH * OW

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
    add x0, x0, :lo12:INP           // input base
    adrp x1, KER
    add x1, x1, :lo12:KER           // kernel of the current output channel
    adrp x2, OUT
    add x2, x2, :lo12:OUT           // output pointer (advances by 4 per output)
    ldr x14, =4 * (IW - KW)         // input stride to the next kernel row
    ldr x15, =4 * IW * (IH - KH)    // input stride to the next channel
    ldr x17, =4 * C * KH * KW       // weights of one output channel
    ldr x18, =4 * IW                // one input row
    ldr x3, =OC
.Loc:
    mov x4, #OH
    mov x12, x0                     // input row of (oy, ox = 0)
.Loy:
    mov x5, #OW
    mov x13, x12                    // input of (oy, ox)
.Lox:
    fmov s2, wzr                    // acc = +0.0
    mov x10, x13                    // input pointer
    mov x11, x1                     // weight pointer
    mov x6, #C
.Lc:
    mov x7, #KH
.Lky:
    mov x8, #KW
.Lkx:
    ldr s0, [x10]                   // INP (sparse)
    .global dc_pre_w
dc_pre_w:
    add x10, x10, #4
    ldr s1, [x11]                   // KER
    .global dc_pre_mac
dc_pre_mac:
    add x11, x11, #4
    fmadd s2, s0, s1, s2            // acc += INP * KER
    subs x8, x8, #1
    b.ne .Lkx
    add x10, x10, x14                // next kernel row
    subs x7, x7, #1
    b.ne .Lky
    add x10, x10, x15                // next input channel
    subs x6, x6, #1
    b.ne .Lc
    str s2, [x2], #4
    add x13, x13, #4                // next ox
    subs x5, x5, #1
    b.ne .Lox
    add x12, x12, x18                // next oy
    subs x4, x4, #1
    b.ne .Loy
    add x1, x1, x17                  // next output channel's kernel
    subs x3, x3, #1
    b.ne .Loc
    ret
    .ltorg
    .size kernel_main, . - kernel_main
