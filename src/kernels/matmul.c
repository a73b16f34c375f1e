/* matmul.c: the dense products of the forward pass, through the BLAS.
 *
 * GPT-2 stores Conv1D weights as (in, out), so y = x W is a plain row-major
 * sgemm; the tied head multiplies by wte transposed.
 *
 * Determinism: OpenBLAS's own threading changes how a product is cut up,
 * and with it the order of the additions for some shapes (measured: logits
 * differing by ~2e-6 between 1 and 2 threads). So lesion does the cutting
 * itself: the output columns are split into fixed panels of LS_PANEL_COLS,
 * each computed by a single-threaded sgemm call with the same arguments
 * whatever the thread count, and threads take whole panels. Each output
 * element is then computed by the same call, in the same order, for any
 * n_threads. (Single-threaded OpenBLAS called from several threads at once
 * is the configuration OpenBLAS recommends for threaded applications.)
 *
 * Products with fewer than LS_GEMV_MAX_ROWS rows (decode steps) go to the
 * streaming kernels of gemv.c instead: through sgemm a decode step spent
 * most of its time packing weight panels it then used once. bf16 weights
 * (ls_matmul_bf16) take the same two paths. */
#include "lesion/kernels.h"
#include "io/bf16.h"
#include "kernels/gemv.h"

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

void ls_matmul(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
               int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_gemv_f32(out, inp, w, b, N, IC, OC, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (OC + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (N * IC * OC >= 16 * LS_PAR_MIN)
    for (int64_t p = 0; p < panels; p++) {
        int64_t c0, nc = panel_width(OC, p, &c0);
        panel_sgemm(out, inp, w + c0, OC, b, N, IC, OC, c0, nc);
    }
}

void ls_matmul_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_gemv_nt_f32(out, inp, w, N, C, V, n_threads);
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
        ls_gemv_bf16(out, inp, w, b, N, IC, OC, n_threads);
        return;
    }
    ls_blas_single_threaded();
    const int64_t panels = (OC + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel num_threads(n_threads) if (N * IC * OC >= 16 * LS_PAR_MIN)
    {
        float *wide = scratch + (int64_t)omp_get_thread_num() * IC * LS_PANEL_COLS; /* (IC, nc) */
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < panels; p++) {
            int64_t c0, nc = panel_width(OC, p, &c0);
            for (int64_t i = 0; i < IC; i++)
                for (int64_t o = 0; o < nc; o++) wide[i * nc + o] = ls_bf16_to_f32(w[i * OC + c0 + o]);
            panel_sgemm(out, inp, wide, nc, b, N, IC, OC, c0, nc);
        }
    }
}

void ls_matmul_nt_bf16(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                       float *scratch, int n_threads) {
    if (N < LS_GEMV_MAX_ROWS) {
        ls_gemv_nt_bf16(out, inp, w, N, C, V, n_threads);
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
            for (int64_t k = 0; k < nr * C; k++) wide[k] = ls_bf16_to_f32(w[r0 * C + k]);
            panel_sgemm_nt(out, inp, wide, N, C, V, r0, nr);
        }
    }
}
