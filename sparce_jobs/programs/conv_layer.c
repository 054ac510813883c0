/* One convolution layer the way Caffe's ConvolutionLayer computes it (dissertation §4.3.1): im2col of
 * the input feature map, then one cblas_sgemm of the weights (M = output channels, K = C*KH*KW) with
 * the column buffer (K x N, N = OH*OW), row-major, beta = 0. The input is a ReLU output: a fraction
 * SPARSITY of its values are exact zeros (seeded, so every build with the same -D values computes the
 * same layer). Prints a hash of the output's bit patterns and a few values through printf.
 * ORDER=1 (default) multiplies Activations x Weights: out^T (N x M) = col^T * W^T, so OpenBLAS's
 * sgemm kernel gets the activations as its B, the operand shared across SIMD lanes (§4.4.3's better
 * mapping). ORDER=0 is Caffe's own call, Weights x Activations: the activations become the kernel's A.
 * Build: aarch64-linux-gnu-gcc -O2 -static conv_layer.c -I<include> <libopenblas.a> -lm
 *        [-DC_IN=.. -DH_IN=.. -DW_IN=.. -DC_OUT=.. -DKSIZE=.. -DSPARSITY=.. -DSEED=..] */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <cblas.h>

#ifndef C_IN
#define C_IN 16
#endif
#ifndef H_IN
#define H_IN 12
#endif
#ifndef W_IN
#define W_IN 12
#endif
#ifndef C_OUT
#define C_OUT 32
#endif
#ifndef KSIZE
#define KSIZE 3
#endif
#ifndef SPARSITY
#define SPARSITY 0.5
#endif
#ifndef SEED
#define SEED 1
#endif
#ifndef ORDER
#define ORDER 1
#endif
#define PAD (KSIZE / 2)
#define OH (H_IN + 2 * PAD - KSIZE + 1)
#define OW (W_IN + 2 * PAD - KSIZE + 1)

static uint64_t state = 0x853c49e6748fea9bULL ^ (uint64_t)SEED;
static double uniform(void) {            /* xorshift64*, in [0, 1) */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (double)((state * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static void im2col(const float *in, float *col) {   /* Caffe's im2col_cpu, stride 1, dilation 1 */
    int row = 0;
    for (int c = 0; c < C_IN; c++)
        for (int ky = 0; ky < KSIZE; ky++)
            for (int kx = 0; kx < KSIZE; kx++, row++)
                for (int y = 0; y < OH; y++)
                    for (int x = 0; x < OW; x++) {
                        int iy = y - PAD + ky, ix = x - PAD + kx;
                        col[(size_t)row * OH * OW + y * OW + x] =
                            (iy >= 0 && iy < H_IN && ix >= 0 && ix < W_IN) ? in[(c * H_IN + iy) * W_IN + ix] : 0.0f;
                    }
}

int main(void) {
    const int M = C_OUT, K = C_IN * KSIZE * KSIZE, N = OH * OW;
    float *in = malloc(sizeof(float) * C_IN * H_IN * W_IN);
    float *w = malloc(sizeof(float) * M * K);
    float *col = malloc(sizeof(float) * (size_t)K * N);
    float *out = malloc(sizeof(float) * (size_t)M * N);
    if (!in || !w || !col || !out) { fprintf(stderr, "out of memory\n"); return 1; }
    for (int i = 0; i < M * K; i++) w[i] = (float)(uniform() * 2.0 - 1.0);
    int zeros = 0;
    for (int i = 0; i < C_IN * H_IN * W_IN; i++) {
        double keep = uniform(), v = uniform();
        in[i] = keep < SPARSITY ? 0.0f : (float)v;           /* ReLU output: >= 0, SPARSITY zeros */
        zeros += in[i] == 0.0f;
    }
    im2col(in, col);
#if ORDER
    float *outT = malloc(sizeof(float) * (size_t)M * N);
    if (!outT) { fprintf(stderr, "out of memory\n"); return 1; }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, N, M, K, 1.0f, col, N, w, K, 0.0f, outT, M);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) out[(size_t)m * N + n] = outT[(size_t)n * M + m];
    free(outT);
#else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, w, K, col, N, 0.0f, out, N);
#endif
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < (size_t)M * N; i++) {
        uint32_t u; memcpy(&u, &out[i], 4);
        h = (h ^ u) * 1099511628211ULL;
    }
    printf("conv M=%d N=%d K=%d input zeros %d/%d\n", M, N, K, zeros, C_IN * H_IN * W_IN);
    double sum = 0;
    for (size_t i = 0; i < (size_t)M * N; i++) sum += out[i];
    printf("out[0]=%.9g out[last]=%.9g sum=%.9g fnv1a=%016llx\n", out[0], out[(size_t)M * N - 1], sum,
           (unsigned long long)h);
    free(in); free(w); free(col); free(out);
    return 0;
}
