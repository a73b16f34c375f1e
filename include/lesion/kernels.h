/* kernels.h: the numerical building blocks of the forward pass.
 *
 * Free functions over flat fp32 arrays with explicit shapes and an explicit
 * thread count; they know nothing about GPT-2 names or lesions. Every kernel
 * splits work across independent outputs (rows, heads, positions), or cuts a
 * reduction at points fixed by the shapes alone (the decode products), so
 * results are bitwise identical for any n_threads. */
#ifndef LESION_KERNELS_H
#define LESION_KERNELS_H
#include <lesion.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the BLAS to one thread: lesion splits products itself (matmul.c). */
void ls_blas_single_threaded(void);

/* Below this many elements of work a kernel runs on the calling thread only. */
#define LS_PAR_MIN 65536

/* out (N,OC) = inp (N,IC) @ w (IC,OC) + b (OC); b may be NULL. Conv1D layout. */
void ls_matmul(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC, int64_t OC,
               int n_threads);

/* out (N,V) = inp (N,C) @ w^T, w (V,C): the tied output head. */
void ls_matmul_nt(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V, int n_threads);

/* The same products with bf16 weights (the upper 16 bits of an fp32),
 * widened on the fly: bitwise the fp32 result for the widened matrix.
 * scratch: ls_matmul_bf16_scratch_floats(IC, n_threads) floats for
 * ls_matmul_bf16, (C, n_threads) for ls_matmul_nt_bf16. */
void ls_matmul_bf16(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                    int64_t OC, float *scratch, int n_threads);
void ls_matmul_nt_bf16(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                       float *scratch, int n_threads);
size_t ls_matmul_bf16_scratch_floats(int64_t max_inner, int n_threads);

/* out (N,C) = (inp - mean) / sqrt(var + eps) * w + b, biased variance per row. */
void ls_layernorm(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C, float eps,
                  int n_threads);

/* x (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in place ("gelu_new"). */
void ls_gelu(float *x, int64_t n, int n_threads);

/* x (N,C) += y (N,C) */
void ls_add_inplace(float *x, const float *y, int64_t n, int n_threads);

/* Causal multi-head attention for T new positions per sequence.
 *   q      (B,T,*) query rows with row stride q_stride (the Q block of qkv)
 *   kcache (B,S,C), vcache (B,S,C): keys/values of positions 0..pos0+T-1 (S = cache length)
 *   out    (B,T,C): softmax(q k^T / sqrt(D)) v per head, position pos0+t sees 0..pos0+t
 *   scratch: n_threads * S * S floats
 * Calls with T >= LS_ATTN_GEMM_MIN new positions run through sgemm. */
#define LS_ATTN_GEMM_MIN 64
void ls_attention(float *out, const float *q, int64_t q_stride, const float *kcache, const float *vcache, int B,
                  int T, int pos0, int S, int C, int H, float *scratch, int n_threads);

/* In-place softmax of one row of n logits; returns log(sum exp(x - max)) + max (the log-partition). */
double ls_log_softmax_row(const float *x, int64_t n, float *probs_out);

#ifdef __cplusplus
}
#endif
#endif
