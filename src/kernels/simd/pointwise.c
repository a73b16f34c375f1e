/* pointwise.c: layernorm, GELU and the residual add (one build per ISA path: simd_impl.h).
 *
 * Threads are used only when a call has enough work to pay for waking them
 * (LS_PAR_MIN elements): a decode step touches a single row, and forking
 * for it costs more than the row itself, badly so on a loaded machine.
 *
 * Row statistics are accumulated in double: C is at most a few thousand, so
 * this costs nothing next to the matmuls and keeps lesion's numbers close to
 * a float64 reference. */
#include "kernels/simd/simd_impl.h"
#include "lesion/kernels.h"
#include "kernels/fastmath.h"

#include <math.h>

void LS_SIMD(layernorm)(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C, float eps,
                  int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (N * C >= LS_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *x = inp + i * C;
        float *y = out + i * C;
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++) sum += x[c];
        double mean = sum / (double)C, var = 0.0;
        for (int64_t c = 0; c < C; c++) var += (x[c] - mean) * (x[c] - mean);
        float m = (float)mean, rstd = (float)(1.0 / sqrt(var / (double)C + (double)eps));
        for (int64_t c = 0; c < C; c++) y[c] = (x[c] - m) * rstd * w[c] + b[c];
    }
}

void LS_SIMD(gelu)(float *x, int64_t n, int n_threads) {
    /* 0.5 x (1 + tanh(u)) = x * sigmoid(2u) = x / (1 + exp(-2u)): one exp,
     * and no cancellation near u = 0 as 1 - 2 / (exp(2u) + 1) would have. */
    const float k2 = -2.0f * 0.7978845608028654f; /* -2 sqrt(2/pi) */
#pragma omp parallel for simd num_threads(n_threads) schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = v / (1.0f + ls_expf(k2 * (v + 0.044715f * v * v * v)));
    }
}

void LS_SIMD(add_inplace)(float *x, const float *y, int64_t n, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}
