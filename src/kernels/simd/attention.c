/* attention.c: causal multi-head attention over a KV cache (one build per
 * ISA path: simd_impl.h; ls_attention in ../attention.c dispatches).
 *
 * Two paths, chosen by the number of new positions T only (never by the
 * thread count, so results stay bitwise independent of threads):
 *
 *  - T < LS_ATTN_GEMM_MIN (decode, short prompts): one work item per
 *    (sequence, head, position), spread over threads; only the causal part
 *    of each score row is computed, in per-thread scratch. Dot products use
 *    eight fixed partial sums, which the compiler vectorises without
 *    reassociating anything behind our back.
 *  - T >= LS_ATTN_GEMM_MIN (prefill): one (sequence, head, block of
 *    LS_ATTN_QBLOCK queries) per work item; the block's score matrix
 *    Q K^T over the keys it can see and the product P V are two
 *    single-threaded sgemm calls with the masked softmax in between. Only
 *    the diagonal block's masked corner is computed and thrown away.
 *
 * Grouped-query attention (KV < H key/value heads) reads kv head h / (H/KV)
 * for query head h, straight from the shared cache rows: no copies. A
 * sliding window (Mistral) masks keys older than window positions.
 */
#include "kernels/simd/simd_impl.h"
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

/* The same softmax, also writing the row's entropy and argmax at index i of
 * rows. With z_j = x_j - max and e_j = exp(z_j), the entropy is
 * ln(sum e) - sum(e z) / sum(e): one extra multiply-add per key instead of a
 * logarithm per key. Sums in double: the statistic, not the weights, needs
 * them. The weights come out bitwise as softmax_inplace's. */
static void softmax_inplace_rows(float *att, int n, const ls_attn_rows *rows, int64_t i) {
    float mx = att[0];
    int arg = 0;
    for (int s = 1; s < n; s++)
        if (att[s] > mx) mx = att[s], arg = s;
    double ez = 0.0, e_sum = 0.0;
    for (int s = 0; s < n; s++) {
        float z = att[s] - mx;
        att[s] = ls_expf(z);
        ez += (double)att[s] * z;
        e_sum += att[s];
    }
    float sum = 0.0f;
    for (int s = 0; s < n; s++) sum += att[s];
    float inv = 1.0f / sum;
#pragma omp simd
    for (int s = 0; s < n; s++) att[s] *= inv;
    if (rows->entropy) rows->entropy[i] = (float)(log(e_sum) - ez / e_sum);
    if (rows->argmax) rows->argmax[i] = arg;
}

/* Softmax of one row; rows/i as in softmax_inplace_rows, rows may be NULL. */
static inline void softmax_row(float *att, int n, const ls_attn_rows *rows, int64_t i) {
    if (rows) softmax_inplace_rows(att, n, rows, i);
    else softmax_inplace(att, n);
}

/* Key positions a query at position p sees: [lo, p], lo > 0 only under a sliding window. */
static inline int first_key(const ls_attn_shape *sh, int p) {
    return sh->window > 0 && p - sh->window + 1 > 0 ? p - sh->window + 1 : 0;
}

/* Softmax of the visible part [lo, valid) of a score row of n_keys entries;
 * the rest of the row becomes 0 (it is multiplied into V next). */
static void softmax_visible(float *row, int lo, int valid, int n_keys, const ls_attn_rows *rows, int64_t i) {
    softmax_row(row + lo, valid - lo, rows, i);
    if (rows && rows->argmax) rows->argmax[i] += lo;
    memset(row, 0, (size_t)lo * sizeof *row);
    memset(row + valid, 0, (size_t)(n_keys - valid) * sizeof *row);
}

static void attention_items(float *out, const float *q, const float *kcache, const float *vcache,
                            const ls_attn_shape *sh, const ls_attn_rows *rows, float *scratch, int n_threads) {
    const int T = sh->T, H = sh->H, D = sh->D, S = sh->S, group = sh->H / sh->KV;
    const int64_t kv_row = (int64_t)sh->KV * D, out_row = (int64_t)H * D;
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t items = (int64_t)sh->B * H * T;
    const int64_t work = items * (sh->pos0 + (T + 1) / 2) * D; /* multiply-adds, roughly */
#pragma omp parallel num_threads(n_threads) if (work >= LS_PAR_MIN)
    {
        float *att = scratch + (int64_t)omp_get_thread_num() * S;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; it++) {
            int t = (int)(it % T), h = (int)(it / T % H), b = (int)(it / T / H);
            int p = sh->pos0 + t, lo = first_key(sh, p), n = p - lo + 1;
            const float *qv = q + ((int64_t)b * T + t) * sh->q_stride + (int64_t)h * D;
            const float *kb = kcache + ((int64_t)b * S + lo) * kv_row + (int64_t)(h / group) * D;
            const float *vb = vcache + ((int64_t)b * S + lo) * kv_row + (int64_t)(h / group) * D;
            for (int s = 0; s < n; s++) att[s] = dot(qv, kb + (int64_t)s * kv_row, D) * scale;
            int64_t row = ((int64_t)b * H + h) * T + t;
            softmax_row(att, n, rows, row);
            if (rows && rows->argmax) rows->argmax[row] += lo;
            if (rows && rows->pattern) { /* keys lo..p of a row of pos0 + T */
                float *pr = rows->pattern + row * (sh->pos0 + T);
                memset(pr, 0, (size_t)(sh->pos0 + T) * sizeof *pr);
                memcpy(pr + lo, att, (size_t)n * sizeof *pr);
            }
            float *o = out + ((int64_t)b * T + t) * out_row + (int64_t)h * D;
            memset(o, 0, (size_t)D * sizeof *o);
            for (int s = 0; s < n; s++) {
                float w = att[s];
                const float *v = vb + (int64_t)s * kv_row;
                for (int d = 0; d < D; d++) o[d] += w * v[d];
            }
        }
    }
}

/* The sgemm path, LS_ATTN_QBLOCK query rows per work item: a block of
 * queries only needs the keys up to its last row, so the masked triangle
 * above the diagonal is computed for one block's width only (about
 * T^2/2 + T*LS_ATTN_QBLOCK/2 score entries instead of T^2). */
static void attention_gemm(float *out, const float *q, const float *kcache, const float *vcache,
                           const ls_attn_shape *sh, const ls_attn_rows *rows, float *scratch, int n_threads) {
    const int T = sh->T, H = sh->H, D = sh->D, S = sh->S, group = sh->H / sh->KV, n_keys = sh->pos0 + T;
    const int64_t kv_row = (int64_t)sh->KV * D, out_row = (int64_t)H * D;
    const float scale = 1.0f / sqrtf((float)D);
    const int blocks = (T + LS_ATTN_QBLOCK - 1) / LS_ATTN_QBLOCK;
    ls_blas_single_threaded(); /* one item per thread: see matmul.c on determinism */
#pragma omp parallel num_threads(n_threads)
    {
        float *scores = scratch + (int64_t)omp_get_thread_num() * ls_attention_scratch_floats(S, 1);
        /* Items (sequence, head, query block), the largest blocks first so the
         * last ones to finish are short. */
#pragma omp for schedule(dynamic, 1)
        for (int item = 0; item < sh->B * H * blocks; item++) {
            int bh = item % (sh->B * H), blk = blocks - 1 - item / (sh->B * H);
            int b = bh / H, h = bh % H, t0 = blk * LS_ATTN_QBLOCK;
            int nq = T - t0 < LS_ATTN_QBLOCK ? T - t0 : LS_ATTN_QBLOCK, nk = sh->pos0 + t0 + nq; /* keys [0, nk) */
            const float *qh = q + ((int64_t)b * T + t0) * sh->q_stride + (int64_t)h * D;
            const float *kh = kcache + (int64_t)b * S * kv_row + (int64_t)(h / group) * D;
            const float *vh = vcache + (int64_t)b * S * kv_row + (int64_t)(h / group) * D;
            /* scores (nq, nk) = scale * Q_block (nq,D) K_h^T (D,nk) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, scale, qh, (blasint)sh->q_stride, kh,
                        (blasint)kv_row, 0.0f, scores, nk);
            for (int t = 0; t < nq; t++) {
                int p = sh->pos0 + t0 + t;
                softmax_visible(scores + (int64_t)t * nk, first_key(sh, p), p + 1, nk, rows,
                                (int64_t)bh * T + t0 + t);
            }
            if (rows && rows->pattern)
                for (int t = 0; t < nq; t++) { /* rows of n_keys: keys past the block's last are 0 */
                    float *pr = rows->pattern + ((int64_t)bh * T + t0 + t) * n_keys;
                    memcpy(pr, scores + (int64_t)t * nk, (size_t)nk * sizeof *pr);
                    memset(pr + nk, 0, (size_t)(n_keys - nk) * sizeof *pr);
                }
            /* out_block (nq,D) = P (nq,nk) V_h (nk,D) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, scores, nk, vh, (blasint)kv_row,
                        0.0f, out + ((int64_t)b * T + t0) * out_row + (int64_t)h * D, (blasint)out_row);
        }
    }
}

void LS_SIMD(attention)(float *out, const float *q, const float *kcache, const float *vcache, const ls_attn_shape *sh,
                        const ls_attn_rows *rows, float *scratch, int n_threads) {
    if (sh->T >= LS_ATTN_GEMM_MIN)
        attention_gemm(out, q, kcache, vcache, sh, rows, scratch, n_threads);
    else
        attention_items(out, q, kcache, vcache, sh, rows, scratch, n_threads);
}
