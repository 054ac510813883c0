/* OpenBLAS-SIMD4 driver (dissertation §4.2.2): C = A * B in single precision, column major.
 * It packs A into 16-row panels and B into 4-column panels (zero padded to multiples of 16 and 4),
 * calls sgemm_kernel_16x4 on every 16x4 tile, and copies the valid part of the padded result to C.
 * Packing and copying are the GEMM "supplementary operations" of §4.4.1.
 * Build parameters: GEMM_M, GEMM_N, GEMM_K. Inputs A (M x K), B (K x N); output C (M x N).
 * SPARSE marks the sparse operand for the SASA compiler (the C-level @Sparse qualifier, Fig. 4.6a).
 */
#define SPARSE
#define MP ((GEMM_M + 15) / 16 * 16)
#define NP ((GEMM_N + 3) / 4 * 4)

void sgemm_kernel_16x4(long K, const float *pA, const float *pB, float *C, long ldc);

long M = GEMM_M, N = GEMM_N, K = GEMM_K;
float A[GEMM_M * GEMM_K] __attribute__((aligned(64), section(".data")));
SPARSE float B[GEMM_K * GEMM_N] __attribute__((aligned(64), section(".data")));
float C[GEMM_M * GEMM_N] __attribute__((aligned(64)));
static float Apack[MP * GEMM_K] __attribute__((aligned(64)));
static float Bpack[NP * GEMM_K] __attribute__((aligned(64)));
static float Cpad[MP * NP] __attribute__((aligned(64)));
const float *output_ptr = C;
long output_bytes = sizeof(C);

static void pack_a(void)
{
    for (long mb = 0; mb < MP / 16; mb++)
        for (long k = 0; k < GEMM_K; k++)
            for (long i = 0; i < 16; i++) {
                long m = mb * 16 + i;
                Apack[(mb * GEMM_K + k) * 16 + i] = m < GEMM_M ? A[k * GEMM_M + m] : 0.0f;
            }
}

static void pack_b(void)
{
    for (long nb = 0; nb < NP / 4; nb++)
        for (long k = 0; k < GEMM_K; k++)
            for (long j = 0; j < 4; j++) {
                long n = nb * 4 + j;
                Bpack[(nb * GEMM_K + k) * 4 + j] = n < GEMM_N ? B[n * GEMM_K + k] : 0.0f;
            }
}

void kernel_main(void)
{
    pack_a();
    pack_b();
    for (long nb = 0; nb < NP / 4; nb++)
        for (long mb = 0; mb < MP / 16; mb++)
            sgemm_kernel_16x4(GEMM_K, Apack + mb * GEMM_K * 16, Bpack + nb * GEMM_K * 4,
                              Cpad + nb * 4 * MP + mb * 16, MP);
    for (long n = 0; n < GEMM_N; n++)
        for (long m = 0; m < GEMM_M; m++)
            C[n * GEMM_M + m] = Cpad[n * MP + m];
}
