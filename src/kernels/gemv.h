/* gemv.h: products of a few rows by a weight matrix (decode steps).
 *
 * Internal to the kernels layer: ls_matmul and ls_matmul_nt route calls
 * with fewer than LS_GEMV_MAX_ROWS rows here. The weights (fp32 or bf16)
 * are streamed from memory once per call, whatever N is. */
#ifndef LESION_KERNELS_GEMV_H
#define LESION_KERNELS_GEMV_H

#include <stdint.h>

#define LS_GEMV_MAX_ROWS 4

/* out (N,OC) = inp (N,IC) @ w (IC,OC) + b (OC); b may be NULL; N < LS_GEMV_MAX_ROWS. */
void ls_gemv_f32(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
                 int n_threads);
void ls_gemv_bf16(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC, int64_t OC,
                  int n_threads);

/* out (N,V) = inp (N,C) @ w^T, w (V,C); N < LS_GEMV_MAX_ROWS. */
void ls_gemv_nt_f32(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads);
void ls_gemv_nt_bf16(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                     int n_threads);

#endif
