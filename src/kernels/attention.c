/* attention.c: causal multi-head attention over a KV cache.
 *
 * Two paths, chosen by the number of new positions T only (never by the
 * thread count, so results stay bitwise independent of threads):
 *
 *  - T < LS_ATTN_GEMM_MIN (decode, short prompts): one work item per
 *    (sequence, head, position), spread over threads; only the causal part
 *    of each score row is computed, in per-thread scratch. Dot products use
 *    eight fixed partial sums, which the compiler vectorises without
 *    reassociating anything behind our back.
 *  - T >= LS_ATTN_GEMM_MIN (prefill): one (sequence, head) per thread; the
 *    score matrix Q K^T and the product P V are two single-threaded sgemm
 *    calls with the masked softmax in between. The masked upper triangle is computed
 *    and thrown away: the BLAS does it faster than a loop does half.
 */
#include "lesion/kernels.h"
#include "kernels/fastmath.h"

#include <cblas.h>
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

/* att[0..n) = softmax(att[0..n)) in place. */
static void softmax_inplace(float *att, int n) {
    float mx = att[0];
    for (int s = 1; s < n; s++) mx = att[s] > mx ? att[s] : mx;
#pragma omp simd
    for (int s = 0; s < n; s++) att[s] = ls_expf(att[s] - mx);
    float sum = 0.0f;
    for (int s = 0; s < n; s++) sum += att[s];
    float inv = 1.0f / sum;
#pragma omp simd
    for (int s = 0; s < n; s++) att[s] *= inv;
}

static void attention_items(float *out, const float *q, int64_t q_stride, const float *kcache, const float *vcache,
                            int B, int T, int pos0, int S, int C, int H, float *scratch, int n_threads) {
    const int D = C / H;
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t items = (int64_t)B * H * T;
    const int64_t work = items * (pos0 + (T + 1) / 2) * D; /* multiply-adds, roughly */
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
            for (int s = 0; s < n_keys; s++) att[s] = dot(qv, kb + (int64_t)s * C, D) * scale;
            softmax_inplace(att, n_keys);
            float *o = out + ((int64_t)b * T + t) * C + (int64_t)h * D;
            memset(o, 0, (size_t)D * sizeof *o);
            for (int s = 0; s < n_keys; s++) {
                float p = att[s];
                const float *v = vb + (int64_t)s * C;
                for (int d = 0; d < D; d++) o[d] += p * v[d];
            }
        }
    }
}

static void attention_gemm(float *out, const float *q, int64_t q_stride, const float *kcache, const float *vcache,
                           int B, int T, int pos0, int S, int C, int H, float *scratch, int n_threads) {
    const int D = C / H, n_keys = pos0 + T;
    const float scale = 1.0f / sqrtf((float)D);
    ls_blas_single_threaded(); /* one (sequence, head) per thread: see matmul.c on determinism */
#pragma omp parallel num_threads(n_threads)
    {
        float *scores = scratch + (int64_t)omp_get_thread_num() * S * S;
#pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            const float *qh = q + (int64_t)b * T * q_stride + (int64_t)h * D;
            const float *kh = kcache + (int64_t)b * S * C + (int64_t)h * D;
            const float *vh = vcache + (int64_t)b * S * C + (int64_t)h * D;
            /* scores (T, n_keys) = scale * Q_h (T,D) K_h^T (D,n_keys) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n_keys, D, scale, qh, (blasint)q_stride, kh, C,
                        0.0f, scores, n_keys);
            for (int t = 0; t < T; t++) {
                float *row = scores + (int64_t)t * n_keys;
                int valid = pos0 + t + 1;
                softmax_inplace(row, valid);
                memset(row + valid, 0, (size_t)(n_keys - valid) * sizeof *row);
            }
            /* out_h (T,D) = P (T,n_keys) V_h (n_keys,D) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, n_keys, 1.0f, scores, n_keys, vh, C, 0.0f,
                        out + (int64_t)b * T * C + (int64_t)h * D, C);
        }
    }
}

void ls_attention(float *out, const float *q, int64_t q_stride, const float *kcache, const float *vcache, int B,
                  int T, int pos0, int S, int C, int H, float *scratch, int n_threads) {
    if (T >= LS_ATTN_GEMM_MIN)
        attention_gemm(out, q, q_stride, kcache, vcache, B, T, pos0, S, C, H, scratch, n_threads);
    else
        attention_items(out, q, q_stride, kcache, vcache, B, T, pos0, S, C, H, scratch, n_threads);
}
