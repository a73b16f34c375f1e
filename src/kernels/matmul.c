/* matmul.c: the dense products of the forward pass, through the BLAS.
 *
 * GPT-2 stores Conv1D weights as (in, out), so y = x W is a plain row-major
 * sgemm; the tied head multiplies by wte transposed. OpenBLAS splits the
 * output matrix among threads but never the inner dimension, so each output
 * element is accumulated in the same order whatever the thread count. */
#include "lesion/kernels.h"

#include <cblas.h>

void ls_matmul(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
               int n_threads) {
    openblas_set_num_threads(n_threads);
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for num_threads(n_threads) schedule(static) if (N * OC >= LS_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            for (int64_t o = 0; o < OC; o++) out[i * OC + o] = b[o];
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)N, (blasint)OC, (blasint)IC, 1.0f, inp,
                (blasint)IC, w, (blasint)OC, beta, out, (blasint)OC);
}

void ls_matmul_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads) {
    openblas_set_num_threads(n_threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)N, (blasint)V, (blasint)C, 1.0f, inp, (blasint)C,
                w, (blasint)C, 0.0f, out, (blasint)V);
}
