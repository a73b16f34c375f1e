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
 * is the configuration OpenBLAS recommends for threaded applications.) */
#include "lesion/kernels.h"

#include <cblas.h>

/* Wide enough that each call is efficient, narrow enough to balance threads. */
#define LS_PANEL_COLS 256
/* Fewer rows than this go through sgemv, row by row: sgemm would spend most
 * of a decode step packing the weight panels it then uses once. */
#define LS_GEMV_MAX_ROWS 4

void ls_blas_single_threaded(void) { openblas_set_num_threads(1); }

void ls_matmul(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
               int n_threads) {
    ls_blas_single_threaded();
    const int64_t panels = (OC + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (N * IC * OC >= 16 * LS_PAR_MIN)
    for (int64_t p = 0; p < panels; p++) {
        int64_t c0 = p * LS_PANEL_COLS, nc = OC - c0 < LS_PANEL_COLS ? OC - c0 : LS_PANEL_COLS;
        float beta = 0.0f;
        if (b) {
            for (int64_t i = 0; i < N; i++)
                for (int64_t o = 0; o < nc; o++) out[i * OC + c0 + o] = b[c0 + o];
            beta = 1.0f;
        }
        if (N < LS_GEMV_MAX_ROWS)
            for (int64_t i = 0; i < N; i++) /* out[i, c0:c0+nc] = W[:, c0:c0+nc]^T inp[i] */
                cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)IC, (blasint)nc, 1.0f, w + c0, (blasint)OC,
                            inp + i * IC, 1, beta, out + i * OC + c0, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)N, (blasint)nc, (blasint)IC, 1.0f, inp,
                        (blasint)IC, w + c0, (blasint)OC, beta, out + c0, (blasint)OC);
    }
}

void ls_matmul_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads) {
    ls_blas_single_threaded();
    const int64_t panels = (V + LS_PANEL_COLS - 1) / LS_PANEL_COLS;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (N * C * V >= 16 * LS_PAR_MIN)
    for (int64_t p = 0; p < panels; p++) {
        int64_t r0 = p * LS_PANEL_COLS, nr = V - r0 < LS_PANEL_COLS ? V - r0 : LS_PANEL_COLS;
        if (N < LS_GEMV_MAX_ROWS)
            for (int64_t i = 0; i < N; i++) /* out[i, r0:r0+nr] = w[r0:r0+nr] inp[i] */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)nr, (blasint)C, 1.0f, w + r0 * C, (blasint)C,
                            inp + i * C, 1, 0.0f, out + i * V + r0, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)N, (blasint)nr, (blasint)C, 1.0f, inp,
                        (blasint)C, w + r0 * C, (blasint)C, 0.0f, out + r0, (blasint)V);
    }
}
