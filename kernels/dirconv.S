// Dir-Conv-Scalar (dissertation §4.3.1): direct convolution with scalar FP only, no SIMD and no
// prefetching. OUT[oc][oy][ox] = sum_{c,ky,kx} INP[c][oy+ky][ox+kx] * KER[oc][c][ky][kx]
// (stride 1; INP is given already padded by the host). INP (the activations) is the sparse operand.
// The channel loop is Fig. 4.2's multiply-accumulate unrolled over the 9 taps of a 3x3 window,
// with the nine INP loads hoisted to the top (the reordering of §4.2.1) so most of them settle
// before the regions they decide. dc_pre_w<e> / dc_pre_mac<e> are the precedingPCs of the hand-written SASA
// table (kernels/tables.py): skip tap e's KER load if INP == 0, its fmadd if INP or KER == 0.
// Build parameters: C, IH, IW (padded input), OC, KH = KW = 3 (the AlexNet conv3-5 kernels).
#include "sparce.inc"
// @sparse x0      (SASA compiler: x0 points at INP, the sparse activations; see sasa_compiler/README.md)
// @returns none

#if KW != 3 || KH != 3
#error "dirconv is unrolled for 3x3 kernels"
#endif

// tap e: KER load, then the multiply-accumulate; \next labels the fmadd (next tap's precedingPC)
.macro DC_TAP e, inp, off, next
    .global dc_pre_mac\e
dc_pre_mac\e:
    ldr s1, [x11, #\off]            // KER
    .global \next
\next:
    fmadd s2, \inp, s1, s2           // acc += INP * KER
.endm

#define OH (IH - KH + 1)
#define OW (IW - KW + 1)

    .data
    .balign 16
    .global INP, KER, OUT, output_ptr, output_bytes
    .balign 16
INP:          .zero 4 * C * IH * IW
    .balign 16
KER:          .zero 4 * OC * C * KH * KW
    .balign 16
OUT:          .zero 4 * OC * OH * OW
    .balign 16
output_ptr:   .quad OUT
    .balign 16
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
    ldr x15, =4 * IW * IH           // input stride to the next channel
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
    ldr s0, [x10]                   // INP window row 0 (sparse)
    ldr s4, [x10, #4]
    ldr s5, [x10, #8]
    add x19, x10, x18
    ldr s6, [x19]                   // row 1
    ldr s7, [x19, #4]
    ldr s16, [x19, #8]
    add x19, x19, x18
    ldr s17, [x19]                  // row 2
    ldr s18, [x19, #4]
    ldr s19, [x19, #8]
    add x10, x10, x15               // next input channel
    .global dc_pre_w0
dc_pre_w0:
    subs x6, x6, #1
    DC_TAP 0, s0, 0, dc_pre_w1
    DC_TAP 1, s4, 4, dc_pre_w2
    DC_TAP 2, s5, 8, dc_pre_w3
    DC_TAP 3, s6, 12, dc_pre_w4
    DC_TAP 4, s7, 16, dc_pre_w5
    DC_TAP 5, s16, 20, dc_pre_w6
    DC_TAP 6, s17, 24, dc_pre_w7
    DC_TAP 7, s18, 28, dc_pre_w8
    DC_TAP 8, s19, 32, dc_last_tap
    add x11, x11, #36
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
