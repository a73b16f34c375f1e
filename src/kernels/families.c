/* families.c: the operations the Llama family and GPT-NeoX add to GPT-2's:
 * RMSNorm, the exact (erf) GELU, SwiGLU, bias rows and rotary position
 * embeddings.
 *
 * Same rules as pointwise.c: rows are independent work items, threads only
 * for enough work, statistics in double, and nothing whose result depends
 * on the thread count. */
#include "lesion/kernels.h"
#include "kernels/fastmath.h"

#include <math.h>
#include <stdlib.h>

void ls_rmsnorm(float *out, const float *inp, const float *w, int64_t N, int64_t C, float eps, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (N * C >= LS_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *x = inp + i * C;
        float *y = out + i * C;
        double ss = 0.0;
        for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t c = 0; c < C; c++) y[c] = w[c] * (x[c] * r);
    }
}

void ls_gelu_erf(float *x, int64_t n, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * 0.70710678118654752440)));
}

void ls_swiglu(float *gate, const float *up, int64_t n, int n_threads) {
#pragma omp parallel for simd num_threads(n_threads) schedule(static) if (n >= LS_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + ls_expf(-g)) * up[i];
    }
}

void ls_add_bias(float *x, const float *b, int64_t N, int64_t OC, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (N * OC >= LS_PAR_MIN)
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < OC; o++) x[i * OC + o] += b[o];
}

/* ---- rotary position embeddings --------------------------------------------- */

int ls_rope_frequencies(double *inv_freq, const ls_config *c) {
    const int half = c->rope_dims / 2;
    for (int i = 0; i < half; i++) {
        double f = 1.0 / pow(c->rope_theta, (2.0 * i) / c->rope_dims);
        if (c->rope_scaling == LS_ROPE_LINEAR) {
            f /= c->rope_factor;
        } else if (c->rope_scaling == LS_ROPE_LLAMA3) {
            /* Llama 3.1's rule: long wavelengths slowed down by factor, short
             * ones kept, a smooth blend in between. */
            const double two_pi = 6.28318530717958647692, wavelen = two_pi / f;
            const double low_wavelen = c->rope_original_ctx / c->rope_low_freq_factor;
            const double high_wavelen = c->rope_original_ctx / c->rope_high_freq_factor;
            if (wavelen > low_wavelen) {
                f /= c->rope_factor;
            } else if (wavelen >= high_wavelen) {
                double smooth = (c->rope_original_ctx / wavelen - c->rope_low_freq_factor) /
                                (c->rope_high_freq_factor - c->rope_low_freq_factor);
                f = (1.0 - smooth) * f / c->rope_factor + smooth * f;
            }
        }
        inv_freq[i] = f;
    }
    return half;
}

void ls_rope_table(float *cos_t, float *sin_t, const double *inv_freq, int half, int n_pos) {
    for (int p = 0; p < n_pos; p++)
        for (int i = 0; i < half; i++) {
            double a = (double)p * inv_freq[i];
            cos_t[(int64_t)p * half + i] = (float)cos(a);
            sin_t[(int64_t)p * half + i] = (float)sin(a);
        }
}

void ls_rope(float *x, int64_t row_stride, int B, int T, int64_t seq_stride, int pos0, int n_heads, int D, int dims,
             const float *cos_t, const float *sin_t, int n_threads) {
    const int half = dims / 2;
    const int64_t n = (int64_t)B * T;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n * n_heads * dims >= LS_PAR_MIN)
    for (int64_t r = 0; r < n; r++) {
        int b = (int)(r / T), t = (int)(r % T);
        float *row = x + b * seq_stride + (int64_t)t * row_stride;
        const float *cs = cos_t + (int64_t)(pos0 + t) * half, *sn = sin_t + (int64_t)(pos0 + t) * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = row + (int64_t)h * D;
            for (int i = 0; i < half; i++) {
                float a = v[i], bb = v[i + half];
                v[i] = a * cs[i] - bb * sn[i];
                v[i + half] = bb * cs[i] + a * sn[i];
            }
        }
    }
}
