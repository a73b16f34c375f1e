/* pointwise.c: layernorm, GELU and the residual add, through the ISA
 * dispatch (their loops live in simd/pointwise.c), and the log-softmax of
 * one row of logits, which stays scalar double precision everywhere (it
 * feeds cross-entropies; libm's exp gives the same bits on every path).
 *
 * Threads are used only when a call has enough work to pay for waking them
 * (LS_PAR_MIN elements): a decode step touches a single row, and forking
 * for it costs more than the row itself, badly so on a loaded machine. */
#include "lesion/kernels.h"
#include "kernels/simd.h"

#include <math.h>

void ls_layernorm(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C, float eps,
                  int n_threads) {
    ls_simd()->layernorm(out, inp, w, b, N, C, eps, n_threads);
}

void ls_gelu(float *x, int64_t n, int n_threads) { ls_simd()->gelu(x, n, n_threads); }

void ls_add_inplace(float *x, const float *y, int64_t n, int n_threads) { ls_simd()->add_inplace(x, y, n, n_threads); }

double ls_log_softmax_row(const float *x, int64_t n, float *probs_out) {
    float mx = x[0];
    for (int64_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    double lse = log(sum) + mx;
    if (probs_out)
        for (int64_t i = 0; i < n; i++) probs_out[i] = (float)exp((double)x[i] - lse);
    return lse;
}
