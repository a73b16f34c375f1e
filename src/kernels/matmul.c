/* matmul.c: the dense products of the forward pass, through the BLAS.
 *
 * GPT-2 stores Conv1D weights as (in, out), so y = x W is a plain row-major
 * sgemm; the tied head multiplies by wte transposed.
 *
 * Determinism: OpenBLAS's own threading changes how a product is cut up,
 * and with it the order of the additions for some shapes (measured: logits
 * differing by ~2e-6 between 1 and 2 threads). So lesion does the cutting
 * itself: the output columns are split into fixed panels of LS_PANEL_COLS
 * and, above 512 rows, the rows into equal chunks (row_chunks); each
 * tile is computed by a single-threaded sgemm call with the same arguments
 * whatever the thread count, and threads take whole tiles. Each output
 * element is then computed by the same call, in the same order, for any
 * n_threads. (Single-threaded OpenBLAS called from several threads at once
 * is the configuration OpenBLAS recommends for threaded applications.)
 *
 * Products with fewer than LS_GEMV_MAX_ROWS rows (decode steps) go to the
 * streaming kernels of simd/gemv.c instead: through sgemm a decode step spent
 * most of its time packing weight panels it then used once. bf16 weights
 * (ls_matmul_bf16) take the same two paths. */
#include "lesion/kernels.h"
#include "kernels/simd.h"

#include <cblas.h>
#include <omp.h>

/* Wide enough that each call is efficient, narrow enough to balance threads. */
#define LS_PANEL_COLS 256

void ls_blas_single_threaded(void) { openblas_set_num_threads(1); }

size_t ls_matmul_bf16_scratch_floats(int64_t max_inner, int n_threads) {
    return (size_t)n_threads * (size_t)max_inner * LS_PANEL_COLS;
}

/* One panel: out[:, c0:c0+nc] (+)= inp (N,IC) @ w[:, c0:c0+nc], w with row stride ldw. */
static void panel_sgemm(float *out, const float *inp, const float *w, int64_t ldw, const float *b, int64_t N,
                        int64_t IC, int64_t OC, int64_t c0, int64_t nc) {
    float beta = 0.0f;
    if (b) {
        for (int64_t i = 0; i < N; i++)
            for (int64_t o = 0; o < nc; o++) out[i * OC + c0 + o] = b[c0 + o];
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)N, (blasint)nc, (blasint)IC, 1.0f, inp,
                (blasint)IC, w, (blasint)ldw, beta, out + c0, (blasint)OC);
}

/* One panel of the head: out[:, r0:r0+nr] = inp (N,C) @ w[r0:r0+nr]^T, w rows contiguous. */
static void panel_sgemm_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V,
                           int64_t r0, int64_t nr) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)N, (blasint)nr, (blasint)C, 1.0f, inp, (blasint)C,
                w, (blasint)C, 0.0f, out + r0, (blasint)V);
}

static int64_t panel_width(int64_t total, int64_t p, int64_t *first) {
    *first = p * LS_PANEL_COLS;
    return total - *first < LS_PANEL_COLS ? total - *first : LS_PANEL_COLS;
}

/* Row chunks of a product with N rows: ceil(N / LS_CHUNK_ROWS) chunks of
 * equal size (a multiple of 16). A matrix with few column panels (768
 * outputs: 3 panels) would otherwise leave threads idle (3 panels on 2
 * threads: 75% busy); cutting rows as well gives 6 tiles. Shape only, as the
 * panels: the same tiles for any thread count. */
#define LS_CHUNK_ROWS 512
static int64_t row_chunks(int64_t N, int64_t *chunk_rows) {
    int64_t chunks = (N + LS_CHUNK_ROWS - 1) / LS_CHUNK_ROWS;
    *chunk_rows = ((N + chunks - 1) / chunks + 15) / 16 * 16;
    return (N + *chunk_rows - 1) / *chunk_rows;
}

/* Tile t of a product with N rows and M columns: rows [r0, r0+nr) of column
 * panel p, columns [c0, c0+nc). Consecutive tiles share a panel. */
typedef struct {
    int64_t p, c0, nc, r0, nr;
} tile;
static tile tile_of(int64_t t, int64_t chunks, int64_t chunk_rows, int64_t N, int64_t M) {
    tile x = {.p = t / chunks, .r0 = t % chunks * chunk_rows};
    x.nc = panel_width(M, x.p, &x.c0);
    x.nr = N - x.r0 < chunk_rows ? N - x.r0 : chunk_rows;
    return x;
}

void ls_matmul(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
               int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_f32(out, inp, w, b, N, IC, OC, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (OC + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
    int64_t chunk_rows, chunks = row_chunks(N, &chunk_rows);
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (N * IC * OC >= 16 * LS_PAR_MIN)
    for (int64_t t = 0; t < panels * chunks; t++) {
        tile x = tile_of(t, chunks, chunk_rows, N, OC);
        panel_sgemm(out + x.r0 * OC, inp + x.r0 * IC, w + x.c0, OC, b, x.nr, IC, OC, x.c0, x.nc);
    }
}

void ls_matmul_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_nt_f32(out, inp, w, N, C, V, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (V + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (N * C * V >= 16 * LS_PAR_MIN)
    for (int64_t p = 0; p < panels; p++) {
        int64_t r0, nr = panel_width(V, p, &r0);
        panel_sgemm_nt(out, inp, w + r0 * C, N, C, V, r0, nr);
    }
}

/* The bf16 products widen one panel at a time into the thread's scratch and
 * then make exactly the sgemm call the fp32 product makes on those values:
 * a bf16 matrix gives bitwise the fp32 result of its widened copy. */

void ls_matmul_bf16(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                    int64_t OC, float *scratch, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_bf16(out, inp, w, b, N, IC, OC, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (OC + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
    int64_t chunk_rows, chunks = row_chunks(N, &chunk_rows);
#pragma omp parallel num_threads(n_threads) if (N * IC * OC >= 16 * LS_PAR_MIN)
    {
        float *wide = scratch + (int64_t)omp_get_thread_num() * IC * LS_PANEL_COLS; /* (IC, nc) */
        int64_t widened = -1; /* the panel in wide */
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < panels * chunks; t++) {
            tile x = tile_of(t, chunks, chunk_rows, N, OC);
            if (widened != x.p) ls_simd()->widen_bf16(wide, w + x.c0, IC, x.nc, OC), widened = x.p;
            panel_sgemm(out + x.r0 * OC, inp + x.r0 * IC, wide, x.nc, b, x.nr, IC, OC, x.c0, x.nc);
        }
    }
}

void ls_matmul_nt_bf16(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                       float *scratch, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_nt_bf16(out, inp, w, N, C, V, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (V + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel num_threads(n_threads) if (N * C * V >= 16 * LS_PAR_MIN)
    {
        float *wide = scratch + (int64_t)omp_get_thread_num() * C * LS_PANEL_COLS; /* (nr, C) */
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < panels; p++) {
            int64_t r0, nr = panel_width(V, p, &r0);
            ls_simd()->widen_bf16(wide, w + r0 * C, nr, C, C);
            panel_sgemm_nt(out, inp, wide, N, C, V, r0, nr);
        }
    }
}

/* --compute bf16: the activations are rounded to bf16 once per call (a16,
 * shared), each thread packs whole 256-column panels of the weights into
 * bf16 pairs in its own scratch and multiplies all rows by them
 * (simd/bf16dot.c). As above, every output comes from the same panel call
 * whatever the thread count. */

/* Bytes of a16 for N rows of inner dimension K, rounded up to 64. */
static size_t a16_bytes(int64_t N, int64_t K) { return ((size_t)N * (size_t)(K + 1) / 2 * 4 + 63) / 64 * 64; }
static size_t panel_pairs_bytes(int64_t K) { return (size_t)(K + 1) / 2 * LS_PANEL_COLS * 4; }

size_t ls_matmul_bf16dot_scratch_bytes(int64_t max_rows, int64_t max_inner, int n_threads) {
    return a16_bytes(max_rows, max_inner) + (size_t)n_threads * panel_pairs_bytes(max_inner);
}

/* Shared by both layouts: nt = 0 for w (K, M) Conv1D, 1 for w (M, K) (the tied head). */
static void matmul_bf16dot(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t K,
                           int64_t M, int nt, void *scratch, int n_threads) {
    const ls_simd_kernels *k = ls_simd();
    const int64_t Kp = (K + 1) / 2 * 2, panels = (M + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
    int64_t chunk_rows, chunks = row_chunks(N, &chunk_rows);
    uint16_t *a16 = scratch;
    char *pairs = (char *)scratch + a16_bytes(N, K);
#pragma omp parallel num_threads(n_threads) if (N * K * M >= 16 * LS_PAR_MIN)
    {
#pragma omp for schedule(static)
        for (int64_t n = 0; n < N; n++) k->bf16_round_rows(a16 + n * Kp, inp + n * K, 1, K, Kp);
        uint32_t *wp = (uint32_t *)(void *)(pairs + (size_t)omp_get_thread_num() * panel_pairs_bytes(K));
        int64_t packed = -1; /* the panel in wp */
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < panels * chunks; t++) {
            tile x = tile_of(t, chunks, chunk_rows, N, M);
            int64_t ncp = (x.nc + LS_BF16DOT_NR - 1) / LS_BF16DOT_NR * LS_BF16DOT_NR;
            if (packed != x.p) {
                if (nt) k->bf16_pack_nk(wp, w + x.c0 * K, K, x.nc, ncp);
                else k->bf16_pack_kn(wp, w + x.c0, K, x.nc, M, ncp);
                packed = x.p;
            }
            k->bf16_gemm(out + x.r0 * M + x.c0, M, a16 + x.r0 * Kp, x.nr, Kp, wp, x.nc, ncp, b ? b + x.c0 : NULL);
        }
    }
}

void ls_matmul_bf16dot(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                       int64_t OC, void *scratch, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_bf16(out, inp, w, b, N, IC, OC, n_threads);
        return;
    }
    matmul_bf16dot(out, inp, w, b, N, IC, OC, 0, scratch, n_threads);
}

void ls_matmul_nt_bf16dot(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                          void *scratch, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_simd()->gemv_nt_bf16(out, inp, w, N, C, V, n_threads);
        return;
    }
    matmul_bf16dot(out, inp, w, NULL, N, C, V, 1, scratch, n_threads);
}
