/* One lowered network layer as Caffe computes it with OpenBLAS (dissertation §4.3.1): C = W x col,
 * W the weights (M x K), col the layer's im2col'ed activations (K x N), through cblas_sgemm.
 * The host writes W and COL into these arrays before the run and reads CT after it (the engine's
 * symbols), so one build serves every input of a shape. Activations x Weights order (CT = col^T W^T,
 * N x M): OpenBLAS's kernel then gets the activations as its B, the operand shared across SIMD lanes
 * (§4.4.3), as sparce_jobs/programs/conv_layer.c's ORDER=1.
 * Build: aarch64-linux-gnu-gcc -O2 -static gemm_layer.c -I<include> <libopenblas.a> -lm -DM_=.. -DN_=.. -DK_=.. */
#include <cblas.h>

float W[(M_) * (K_)];
float COL[(K_) * (N_)];
float CT[(N_) * (M_)];

int main(void) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, N_, M_, K_, 1.0f, COL, N_, W, K_, 0.0f, CT, M_);
    return 0;
}
