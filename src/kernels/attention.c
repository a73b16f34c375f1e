/* attention.c: causal multi-head attention over a KV cache.
 *
 * One work item is (sequence b, head h, new position t); items are
 * independent, so they are spread over threads without changing any sum.
 * Only the causal part of the score row is computed (keys 0..pos0+t), and
 * the T x S score matrix is never materialised: each item uses one row of
 * per-thread scratch. Dot products use eight fixed partial sums, which the
 * compiler vectorises without reassociating anything behind our back. */
#include "lesion/kernels.h"

#include <math.h>
#include <omp.h>
#include <string.h>

static inline float dot(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    for (; i < n; i++) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void ls_attention(float *out, const float *q, int64_t q_stride, const float *kcache, const float *vcache, int B,
                  int T, int pos0, int S, int C, int H, float *scratch, int n_threads) {
    const int D = C / H;
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t items = (int64_t)B * H * T;
    /* Rough work: items x average keys x D multiply-adds, twice. */
    const int64_t work = items * (pos0 + (T + 1) / 2) * D;
#pragma omp parallel num_threads(n_threads) if (work >= LS_PAR_MIN)
    {
        float *att = scratch + (int64_t)omp_get_thread_num() * S;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int t = (int)(it % T), h = (int)(it / T % H), b = (int)(it / T / H);
            int n_keys = pos0 + t + 1;
            const float *qv = q + ((int64_t)b * T + t) * q_stride + (int64_t)h * D;
            const float *kb = kcache + (int64_t)b * S * C + (int64_t)h * D;
            const float *vb = vcache + (int64_t)b * S * C + (int64_t)h * D;
            float mx = -INFINITY;
            for (int s = 0; s < n_keys; s++) {
                att[s] = dot(qv, kb + (int64_t)s * C, D) * scale;
                mx = att[s] > mx ? att[s] : mx;
            }
            float sum = 0.0f;
            for (int s = 0; s < n_keys; s++) {
                att[s] = expf(att[s] - mx);
                sum += att[s];
            }
            float inv = 1.0f / sum;
            float *o = out + ((int64_t)b * T + t) * C + (int64_t)h * D;
            memset(o, 0, (size_t)D * sizeof *o);
            for (int s = 0; s < n_keys; s++) {
                float p = att[s] * inv;
                const float *v = vb + (int64_t)s * C;
                for (int d = 0; d < D; d++) o[d] += p * v[d];
            }
        }
    }
}
