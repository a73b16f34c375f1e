/* bf16dot.c: weight products in bf16, for --compute bf16 (one build per ISA
 * path: simd_impl.h).
 *
 * What is computed, bit for bit on every path: the activations are rounded
 * to bf16 (nearest even), the weights are bf16, and each output is
 *     out[n,j] = acc (+ b[j]),  acc = 0, then for each pair p = 0, 1, ...
 *     of the inner dimension, in order:
 *         acc = ftz(fma(a[2p+1], w[2p+1], acc));  acc = ftz(fma(a[2p], w[2p], acc))
 * where inputs that are bf16 denormals count as zero and ftz() flushes a
 * denormal result to a zero of its sign. That is what one lane of AVX512-BF16's
 * vdpbf16ps does (Intel SDM: odd element first, each step a fused
 * multiply-add, DAZ and FTZ, round to nearest even); checked against the
 * instruction on 3.2 million random cases, denormals and infinities
 * included, on AMD Zen 5. The avx512bf16 build runs vdpbf16ps; the other
 * builds compute the same sums with fmaf (slower: the portable fallback
 * for CPUs without the instruction, and the proof that the fast path
 * computes what this comment says: tests/kernels/test_kernels.c).
 *
 * Layouts (set up by matmul.c, one 256-column panel at a time):
 *   a16 (N, Kp)    the rounded activations, Kp = K rounded up to even, zero padded
 *   wp  (P, ncp)   the panel's weights as pairs: wp[p*ncp + j] holds
 *                  w[2p, j] in its low half and w[2p+1, j] in its high half
 *                  (zero padded to ncp = a multiple of LS_BF16DOT_NR columns)
 * AMX (tdpbf16ps, Sapphire Rapids) is not used: no machine to test it on.
 * Its tile product sums differently, so it would be a path of its own,
 * "amx", beside this one, with the same layouts. */
#include "kernels/simd/simd_impl.h"
#include "io/bf16.h"

#include <math.h>
#include <string.h>
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

void LS_SIMD(bf16_round_rows)(uint16_t *a16, const float *a, int64_t N, int64_t K, int64_t Kp) {
    for (int64_t n = 0; n < N; n++) {
        for (int64_t k = 0; k < K; k++) a16[n * Kp + k] = ls_f32_to_bf16(a[n * K + k]);
        for (int64_t k = K; k < Kp; k++) a16[n * Kp + k] = 0;
    }
}

/* wp (P, ncp) pairs from w (K, nc) with row stride ldw (Conv1D panel). */
void LS_SIMD(bf16_pack_kn)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nc, int64_t ldw, int64_t ncp) {
    const int64_t P = (K + 1) / 2;
    for (int64_t p = 0; p < P; p++) {
        const uint16_t *even = w + 2 * p * ldw, *odd = 2 * p + 1 < K ? even + ldw : NULL;
        uint32_t *row = wp + p * ncp;
        for (int64_t j = 0; j < nc; j++) row[j] = (uint32_t)even[j] | (odd ? (uint32_t)odd[j] << 16 : 0u);
        for (int64_t j = nc; j < ncp; j++) row[j] = 0;
    }
}

/* wp (P, ncp) pairs from w (nr, K), rows contiguous (a panel of the tied head's rows). */
void LS_SIMD(bf16_pack_nk)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nr, int64_t ncp) {
    const int64_t P = (K + 1) / 2;
    for (int64_t p = 0; p < P; p++) {
        uint32_t *row = wp + p * ncp;
        for (int64_t j = 0; j < nr; j++) {
            const uint16_t *r = w + j * K;
            row[j] = (uint32_t)r[2 * p] | (2 * p + 1 < K ? (uint32_t)r[2 * p + 1] << 16 : 0u);
        }
        for (int64_t j = nr; j < ncp; j++) row[j] = 0;
    }
}

#if defined(__AVX512BF16__)

/* mr (<= LS_BF16DOT_MR) rows x 64 columns starting at column j0 of the panel. */
static inline __attribute__((always_inline)) void tile(int mr, float *out, int64_t ldo, const uint16_t *a16,
                                                       int64_t Kp, int64_t P, const uint32_t *wp, int64_t ncp,
                                                       int64_t j0, int64_t ncols, const float *b) {
    __m512 acc[LS_BF16DOT_MR][4];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    const uint32_t *arow[LS_BF16DOT_MR];
    for (int r = 0; r < mr; r++) arow[r] = (const uint32_t *)(const void *)(a16 + r * Kp);
    const uint32_t *bp = wp + j0;
    for (int64_t p = 0; p < P; p++, bp += ncp) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp), b1 = (__m512bh)_mm512_loadu_si512(bp + 16);
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(bp + 32), b3 = (__m512bh)_mm512_loadu_si512(bp + 48);
        for (int r = 0; r < mr; r++) {
            uint32_t pair;
            memcpy(&pair, arow[r] + p, sizeof pair);
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], av, b2);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], av, b3);
        }
    }
    for (int c = 0; c < 4; c++) {
        int64_t left = ncols - 16 * c;
        if (left <= 0) break;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 bias = b ? _mm512_maskz_loadu_ps(m, b + j0 + 16 * c) : _mm512_setzero_ps();
        for (int r = 0; r < mr; r++) {
            __m512 v = b ? _mm512_add_ps(acc[r][c], bias) : acc[r][c];
            _mm512_mask_storeu_ps(out + r * ldo + j0 + 16 * c, m, v);
        }
    }
}

void LS_SIMD(bf16_gemm)(float *out, int64_t ldo, const uint16_t *a16, int64_t N, int64_t Kp, const uint32_t *wp,
                        int64_t nc, int64_t ncp, const float *b) {
    const int64_t P = Kp / 2;
    for (int64_t j0 = 0; j0 < nc; j0 += LS_BF16DOT_NR) {
        int64_t ncols = nc - j0 < LS_BF16DOT_NR ? nc - j0 : LS_BF16DOT_NR;
        int64_t n = 0;
        for (; n + LS_BF16DOT_MR <= N; n += LS_BF16DOT_MR)
            tile(LS_BF16DOT_MR, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b);
        switch (N - n) {
        case 5: tile(5, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b); break;
        case 4: tile(4, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b); break;
        case 3: tile(3, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b); break;
        case 2: tile(2, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b); break;
        case 1: tile(1, out + n * ldo, ldo, a16 + n * Kp, Kp, P, wp, ncp, j0, ncols, b); break;
        default: break;
        }
    }
}

#else

/* A bf16 denormal (or an fp32 one) counts as zero of its sign, as vdpbf16ps reads and writes them. */
static inline float flush(float x) { return fabsf(x) < 0x1p-126f ? copysignf(0.0f, x) : x; }

void LS_SIMD(bf16_gemm)(float *out, int64_t ldo, const uint16_t *a16, int64_t N, int64_t Kp, const uint32_t *wp,
                        int64_t nc, int64_t ncp, const float *b) {
    const int64_t P = Kp / 2;
    float acc[LS_BF16DOT_NR];
    for (int64_t n = 0; n < N; n++)
        for (int64_t j0 = 0; j0 < nc; j0 += LS_BF16DOT_NR) {
            int64_t ncols = nc - j0 < LS_BF16DOT_NR ? nc - j0 : LS_BF16DOT_NR;
            for (int j = 0; j < LS_BF16DOT_NR; j++) acc[j] = 0.0f;
            for (int64_t p = 0; p < P; p++) {
                float a0 = flush(ls_bf16_to_f32(a16[n * Kp + 2 * p])), a1 = flush(ls_bf16_to_f32(a16[n * Kp + 2 * p + 1]));
                const uint32_t *row = wp + p * ncp + j0;
                for (int j = 0; j < LS_BF16DOT_NR; j++) {
                    float w0 = flush(ls_bf16_to_f32((uint16_t)(row[j] & 0xffffu)));
                    float w1 = flush(ls_bf16_to_f32((uint16_t)(row[j] >> 16)));
                    acc[j] = flush(fmaf(a1, w1, acc[j]));
                    acc[j] = flush(fmaf(a0, w0, acc[j]));
                }
            }
            for (int64_t j = 0; j < ncols; j++) out[n * ldo + j0 + j] = b ? acc[j] + b[j0 + j] : acc[j];
        }
}

#endif
