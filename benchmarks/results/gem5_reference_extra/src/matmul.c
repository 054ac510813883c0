/* Compute-bound FP: a naive 40x40 single-precision matrix multiply. */
#include "rt.h"

#define N 40
static float A[N][N], B[N][N], C[N][N];

int
main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (float)((i * 7 + j * 3) % 17) - 8.0f;
            B[i][j] = (float)((i * 5 + j * 11) % 13) - 6.0f;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < N; k++)
                s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
    unsigned long h = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            h = h * 31 + (unsigned long)(long)C[i][j];
    put_hex(h);
    return 0;
}
