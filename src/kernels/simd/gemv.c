/* gemv.c: a few rows times a weight matrix, at memory speed.
 *
 * A decode step multiplies one row by every weight matrix of the model, so
 * its speed is the rate at which the weights stream in from DRAM. These
 * kernels read each weight once, front to back, and do the arithmetic in a
 * fixed order that no thread count or vector width changes:
 *
 *  - x W (Conv1D layout, W (IC,OC)): the rows of W are cut into two fixed
 *    contiguous halves (LS_GEMV_ROW_CHUNKS); each half is summed row by
 *    row, x[i] * W[i,j] added into its own output vector in order
 *    i = i0, i0+1, ..., and the halves are then added, first + second.
 *    Threads take (half, column range) items; a column range changes
 *    nothing in any output's sum, so neither does the thread count.
 *  - x W^T (the tied head, W (V,C)): every thread owns a range of rows of
 *    W; each output is a dot product with LS_DOT_LANES fixed partial sums
 *    combined by a fixed tree, enough independent sums to hide the add
 *    latency.
 *
 * The bf16 variants are the same loops with the weight widened as it is
 * loaded (a 16-bit shift), so a bf16 matrix costs half the memory traffic
 * and gives exactly the fp32 result for its widened values.
 *
 * Compiled once per ISA path (simd_impl.h); the loops are written so that
 * the vectoriser never reorders a sum, and every path gives the same bits. */
#include "kernels/simd/simd_impl.h"
#include "io/bf16.h"
#include "lesion/kernels.h"

#include <omp.h>

#define LS_DOT_LANES 32
/* Column ranges start on 16-float (64-byte) boundaries: no cache line is shared by two threads. */
#define LS_GEMV_COL_ALIGN 16

/* This thread's share [*lo, *hi) of n items, cut at multiples of align. */
static void thread_share(int64_t n, int64_t align, int64_t *lo, int64_t *hi) {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads(), units = (n + align - 1) / align;
    int64_t a = units * t / nt * align, b = units * (t + 1) / nt * align;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}

#define LOAD_F32(p, i) ((p)[i])
#define LOAD_BF16(p, i) ls_bf16_to_f32((p)[i])

/* Rows of W folded into one pass over the outputs: out[j] is loaded and
 * stored once per block of rows instead of once per row, and the
 * additions still happen in row order, one rounding each. */
#define LS_GEMV_BLOCK_F32 8
#define LS_GEMV_BLOCK_BF16 8 /* 12 and 16 measured no faster */
/* Where the row chunks are cut (a multiple of this), the same for every block size. */
#define LS_GEMV_SPLIT_ALIGN 16
/* The rows of W are cut into this many contiguous halves, summed separately
 * and then added (first + second): each thread streams one long contiguous
 * block, which the prefetchers follow far better than the short row
 * segments a split by columns gives on narrow matrices (measured: 3072x768
 * at 30 GB/s split by columns). The cut is fixed, never the thread count's. */
#define LS_GEMV_ROW_CHUNKS 2
/* Outputs of the second chunk wait in a stack buffer; wider products split by columns only. */
#define LS_GEMV_PART_MAX (LS_GEMV_MAX_ROWS * 4096)

/* Columns per step of the row-block loop: one 64-byte line of every row of
 * the next block is prefetched per step, so the block's BLOCK short streams
 * are already in flight when it starts (the hardware prefetchers do not
 * follow so many short streams: measured ~21 GB/s without, on 768-3072
 * column bf16 matrices, against ~32 GB/s for one long stream). */
#define LS_GEMV_STEP_BYTES 64

/* y[j0:j1] = sum over rows i0..i1-1 (in order) of x[i] * w[i, j0:j1]. */
#define DEFINE_GEMV_ROWS(NAME, WTYPE, LOAD, BLOCK)                                                                      \
    static void NAME(float *restrict y, const float *x, const WTYPE *w, int64_t i0, int64_t i1, int64_t OC,      \
                     int64_t j0, int64_t j1) {                                                                    \
        enum { STEP = LS_GEMV_STEP_BYTES / sizeof(WTYPE) };                                                       \
        for (int64_t j = j0; j < j1; j++) y[j] = 0.0f;                                                            \
        int64_t i = i0;                                                                                           \
        for (; i + (BLOCK) <= i1; i += (BLOCK)) {                                                                 \
            const WTYPE *restrict w0 = w + i * OC;                                                                \
            const int prefetch = i + 2 * (BLOCK) <= i1;                                                           \
            for (int64_t js = j0; js < j1; js += STEP) {                                                          \
                int64_t je = js + STEP < j1 ? js + STEP : j1;                                                     \
                if (prefetch)                                                                                     \
                    for (int r = 0; r < (BLOCK); r++) __builtin_prefetch(w0 + ((BLOCK) + r) * OC + js, 0, 2);     \
                for (int64_t j = js; j < je; j++) {                                                               \
                    float acc = y[j];                                                                             \
                    for (int r = 0; r < (BLOCK); r++) acc += x[i + r] * LOAD(w0, r * OC + j);                    \
                    y[j] = acc;                                                                                   \
                }                                                                                                 \
            }                                                                                                     \
        }                                                                                                         \
        for (; i < i1; i++)                                                                                       \
            for (int64_t j = j0; j < j1; j++) y[j] += x[i] * LOAD(w, i * OC + j);                                 \
    }

#define DEFINE_GEMV(NAME, ROWS, WTYPE)                                                                           \
    void LS_SIMD(NAME)(float *out, const float *inp, const WTYPE *w, const float *b, int64_t N, int64_t IC,        \
                       int64_t OC, int n_threads) {                                                                                    \
        float part[LS_GEMV_PART_MAX];                                                                             \
        const int chunks = N * OC <= LS_GEMV_PART_MAX && IC >= 2 * LS_GEMV_SPLIT_ALIGN ? LS_GEMV_ROW_CHUNKS : 1;  \
        const int64_t split = chunks == 1 ? IC : IC / 2 / LS_GEMV_SPLIT_ALIGN * LS_GEMV_SPLIT_ALIGN;             \
        const int col_parts = n_threads > chunks ? (n_threads + chunks - 1) / chunks : 1;                         \
        _Pragma("omp parallel num_threads(n_threads) if (IC * OC >= LS_PAR_MIN)") {                                \
            _Pragma("omp for schedule(static)") for (int item = 0; item < chunks * col_parts; item++) {            \
                int c = item / col_parts, part_no = item % col_parts;                                             \
                int64_t units = (OC + LS_GEMV_COL_ALIGN - 1) / LS_GEMV_COL_ALIGN;                                 \
                int64_t j0 = units * part_no / col_parts * LS_GEMV_COL_ALIGN;                                     \
                int64_t j1 = units * (part_no + 1) / col_parts * LS_GEMV_COL_ALIGN;                               \
                j0 = j0 < OC ? j0 : OC;                                                                           \
                j1 = j1 < OC ? j1 : OC;                                                                           \
                for (int64_t n = 0; n < N; n++)                                                                   \
                    ROWS((c == 0 ? out : part) + n * OC, inp + n * IC, w, c == 0 ? 0 : split,                     \
                         c == 0 ? split : IC, OC, j0, j1);                                                        \
            }                                                                                                     \
            _Pragma("omp for schedule(static)") for (int64_t k = 0; k < N * OC; k++) {                             \
                if (chunks > 1) out[k] += part[k];                                                                \
                if (b) out[k] += b[k % OC];                                                                       \
            }                                                                                                     \
        }                                                                                                         \
    }

DEFINE_GEMV_ROWS(gemv_rows_f32, float, LOAD_F32, LS_GEMV_BLOCK_F32)
DEFINE_GEMV_ROWS(gemv_rows_bf16, uint16_t, LOAD_BF16, LS_GEMV_BLOCK_BF16)
DEFINE_GEMV(gemv_f32, gemv_rows_f32, float)
DEFINE_GEMV(gemv_bf16, gemv_rows_bf16, uint16_t)

#define DEFINE_DOT(NAME, WTYPE, LOAD)                                                                            \
    static inline float NAME(const WTYPE *restrict a, const float *restrict x, int64_t C) {                      \
        float acc[LS_DOT_LANES] = {0};                                                                            \
        int64_t c = 0;                                                                                            \
        for (; c + LS_DOT_LANES <= C; c += LS_DOT_LANES)                                                          \
            for (int k = 0; k < LS_DOT_LANES; k++) acc[k] += LOAD(a, c + k) * x[c + k];                           \
        for (int k = 0; c + k < C; k++) acc[k] += LOAD(a, c + k) * x[c + k];                                      \
        for (int width = LS_DOT_LANES / 2; width > 0; width /= 2)                                                 \
            for (int k = 0; k < width; k++) acc[k] += acc[k + width];                                             \
        return acc[0];                                                                                            \
    }

DEFINE_DOT(dot_f32, float, LOAD_F32)
DEFINE_DOT(dot_bf16, uint16_t, LOAD_BF16)

#define DEFINE_GEMV_NT(NAME, WTYPE, DOT)                                                                         \
    void LS_SIMD(NAME)(float *out, const float *inp, const WTYPE *w, int64_t N, int64_t C, int64_t V,             \
                       int n_threads) {                                                                           \
        _Pragma("omp parallel num_threads(n_threads) if (C * V >= LS_PAR_MIN)") {                                  \
            int64_t v0, v1;                                                                                       \
            thread_share(V, 1, &v0, &v1);                                                                         \
            for (int64_t v = v0; v < v1; v++)                                                                     \
                for (int64_t n = 0; n < N; n++) out[n * V + v] = DOT(w + v * C, inp + n * C, C);                  \
        }                                                                                                         \
    }

DEFINE_GEMV_NT(gemv_nt_f32, float, dot_f32)
DEFINE_GEMV_NT(gemv_nt_bf16, uint16_t, dot_bf16)

/* dst (rows,cols) = the widened bf16 matrix src (rows,cols), row stride src_stride:
 * a weight panel for sgemm (matmul.c). */
void LS_SIMD(widen_bf16)(float *dst, const uint16_t *src, int64_t rows, int64_t cols, int64_t src_stride) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[i * cols + j] = ls_bf16_to_f32(src[i * src_stride + j]);
}
