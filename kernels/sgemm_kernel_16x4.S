// sgemm micro-kernel in the style of OpenBLAS's ARMv8 sgemm_kernel_16x4 (dissertation §4.2.2,
// Fig. 4.7): computes a 16x4 tile C = A_panel * B_panel over K from packed panels.
//   A panel: for each k, 16 consecutive floats (rows m0..m0+15 of column k)
//   B panel: for each k, 4 consecutive floats (columns n0..n0+3 of row k); B is the shared
//            (lane-broadcast) SIMD operand: fmla vC.4s, vA.4s, vB.s[lane]
// The k loop alternates two halves, KERNEL16x4_M1 and KERNEL16x4_M2: each multiplies the
// operands loaded by the other (even set v0-v3/v8, odd set v4-v7/v12) while loading the next
// ones, and both prefetch with prfm. Accumulators: column j, rows 4i..4i+3 in v(16+4j+i).
// Written for axsim; OpenBLAS's file was read for its structure only.
//
// C ABI: void sgemm_kernel_16x4(long K, const float *pA, const float *pB, float *C, long ldc)
//        K >= 1, ldc in elements (C is column major).
// pB addresses the sparse data (the activations): the SASA compiler's annotation follows.
#define origK   x0
#define pA      x1
#define pB      x2
#define pC      x3
#define LDC     x4
#define counter x5
#define pCRow1  x6
#define pCRow2  x7
#define pCRow3  x8
#define A_PRE_SIZE 1024
#define B_PRE_SIZE 256

// @sparse pB      (SASA compiler annotation: pB addresses sparse data)
// @returns none   (void: the caller reads no register, so stale v0-v3 are dead at ret)

.macro INIT16x4
    movi v16.16b, #0
    movi v17.16b, #0
    movi v18.16b, #0
    movi v19.16b, #0
    movi v20.16b, #0
    movi v21.16b, #0
    movi v22.16b, #0
    movi v23.16b, #0
    movi v24.16b, #0
    movi v25.16b, #0
    movi v26.16b, #0
    movi v27.16b, #0
    movi v28.16b, #0
    movi v29.16b, #0
    movi v30.16b, #0
    movi v31.16b, #0
.endm

.macro LOAD_EVEN
    ld1 {v8.4s}, [pB]
    add pB, pB, #16
    ld1 {v0.4s}, [pA]
    add pA, pA, #16
    ld1 {v1.4s}, [pA]
    add pA, pA, #16
    ld1 {v2.4s}, [pA]
    add pA, pA, #16
    ld1 {v3.4s}, [pA]
    add pA, pA, #16
.endm


.macro KERNEL16x4_M1
    // multiply the even set, load the odd set
    fmla v16.4s, v0.4s, v8.s[0]
    fmla v17.4s, v1.4s, v8.s[0]
    ld1 {v12.4s}, [pB]                // B for the other half (sparse)
    add pB, pB, #16
    fmla v18.4s, v2.4s, v8.s[0]
    fmla v19.4s, v3.4s, v8.s[0]
    ld1 {v4.4s}, [pA]
    add pA, pA, #16
    fmla v20.4s, v0.4s, v8.s[1]
    fmla v21.4s, v1.4s, v8.s[1]
    ld1 {v5.4s}, [pA]
    add pA, pA, #16
    prfm PLDL1KEEP, [pA, #A_PRE_SIZE]
    fmla v22.4s, v2.4s, v8.s[1]
    fmla v23.4s, v3.4s, v8.s[1]
    ld1 {v6.4s}, [pA]
    add pA, pA, #16
    fmla v24.4s, v0.4s, v8.s[2]
    fmla v25.4s, v1.4s, v8.s[2]
    ld1 {v7.4s}, [pA]
    add pA, pA, #16
    fmla v26.4s, v2.4s, v8.s[2]
    fmla v27.4s, v3.4s, v8.s[2]
    fmla v28.4s, v0.4s, v8.s[3]
    fmla v29.4s, v1.4s, v8.s[3]
    fmla v30.4s, v2.4s, v8.s[3]
    fmla v31.4s, v3.4s, v8.s[3]
    prfm PLDL1KEEP, [pB, #B_PRE_SIZE]
.endm

.macro KERNEL16x4_M2
    // multiply the odd set, load the even set
    fmla v16.4s, v4.4s, v12.s[0]
    fmla v17.4s, v5.4s, v12.s[0]
    ld1 {v8.4s}, [pB]                // B for the other half (sparse)
    add pB, pB, #16
    fmla v18.4s, v6.4s, v12.s[0]
    fmla v19.4s, v7.4s, v12.s[0]
    ld1 {v0.4s}, [pA]
    add pA, pA, #16
    fmla v20.4s, v4.4s, v12.s[1]
    fmla v21.4s, v5.4s, v12.s[1]
    ld1 {v1.4s}, [pA]
    add pA, pA, #16
    prfm PLDL1KEEP, [pA, #A_PRE_SIZE]
    fmla v22.4s, v6.4s, v12.s[1]
    fmla v23.4s, v7.4s, v12.s[1]
    ld1 {v2.4s}, [pA]
    add pA, pA, #16
    fmla v24.4s, v4.4s, v12.s[2]
    fmla v25.4s, v5.4s, v12.s[2]
    ld1 {v3.4s}, [pA]
    add pA, pA, #16
    fmla v26.4s, v6.4s, v12.s[2]
    fmla v27.4s, v7.4s, v12.s[2]
    fmla v28.4s, v4.4s, v12.s[3]
    fmla v29.4s, v5.4s, v12.s[3]
    fmla v30.4s, v6.4s, v12.s[3]
    fmla v31.4s, v7.4s, v12.s[3]
.endm

.macro KERNEL16x4_E
    // last step: multiply the odd set
    fmla v16.4s, v4.4s, v12.s[0]
    fmla v17.4s, v5.4s, v12.s[0]
    fmla v18.4s, v6.4s, v12.s[0]
    fmla v19.4s, v7.4s, v12.s[0]
    fmla v20.4s, v4.4s, v12.s[1]
    fmla v21.4s, v5.4s, v12.s[1]
    fmla v22.4s, v6.4s, v12.s[1]
    fmla v23.4s, v7.4s, v12.s[1]
    fmla v24.4s, v4.4s, v12.s[2]
    fmla v25.4s, v5.4s, v12.s[2]
    fmla v26.4s, v6.4s, v12.s[2]
    fmla v27.4s, v7.4s, v12.s[2]
    fmla v28.4s, v4.4s, v12.s[3]
    fmla v29.4s, v5.4s, v12.s[3]
    fmla v30.4s, v6.4s, v12.s[3]
    fmla v31.4s, v7.4s, v12.s[3]
.endm

.macro KERNEL16x4_E_EVEN
    // last step: multiply the even set
    fmla v16.4s, v0.4s, v8.s[0]
    fmla v17.4s, v1.4s, v8.s[0]
    fmla v18.4s, v2.4s, v8.s[0]
    fmla v19.4s, v3.4s, v8.s[0]
    fmla v20.4s, v0.4s, v8.s[1]
    fmla v21.4s, v1.4s, v8.s[1]
    fmla v22.4s, v2.4s, v8.s[1]
    fmla v23.4s, v3.4s, v8.s[1]
    fmla v24.4s, v0.4s, v8.s[2]
    fmla v25.4s, v1.4s, v8.s[2]
    fmla v26.4s, v2.4s, v8.s[2]
    fmla v27.4s, v3.4s, v8.s[2]
    fmla v28.4s, v0.4s, v8.s[3]
    fmla v29.4s, v1.4s, v8.s[3]
    fmla v30.4s, v2.4s, v8.s[3]
    fmla v31.4s, v3.4s, v8.s[3]
.endm

.macro SAVE16x4
    add pCRow1, pC, LDC
    add pCRow2, pCRow1, LDC
    add pCRow3, pCRow2, LDC
    st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [pC]
    st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [pCRow1]
    st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [pCRow2]
    st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [pCRow3]
.endm

    .text
    .global sgemm_kernel_16x4
    .type sgemm_kernel_16x4, %function
sgemm_kernel_16x4:
    lsl LDC, LDC, #2                // ldc in bytes
    INIT16x4
    LOAD_EVEN                       // operands of k = 0
    sub counter, origK, #1          // steps still to load
    asr x9, counter, #1             // pairs of steps
    cbz x9, .Ltail
.Lloop:
    KERNEL16x4_M1
    KERNEL16x4_M2
    subs x9, x9, #1
    b.gt .Lloop
.Ltail:
    tbz counter, #0, .Llast_even
    KERNEL16x4_M1
    KERNEL16x4_E
    b .Lsave
.Llast_even:
    KERNEL16x4_E_EVEN
.Lsave:
    SAVE16x4
    ret
    .size sgemm_kernel_16x4, . - sgemm_kernel_16x4
