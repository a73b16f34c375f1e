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

#pragma GCC visibility push(default) /* public API: see lesion.h */

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

/* --compute bf16: the same products with the activations rounded to bf16
 * too, multiplied pairwise with fp32 accumulation exactly as AVX512-BF16's
 * vdpbf16ps does (src/kernels/simd/bf16dot.c defines the sums); portable
 * code computes the same bits on CPUs without it, slower. Not the fp32
 * result of anything: an opt-in trade of accuracy for speed. Calls with
 * fewer than 4 rows (decode steps) run the exact bf16-weight kernels
 * above instead: they are memory-bound, and widening costs them little.
 * scratch: ls_matmul_bf16dot_scratch_bytes(N, inner dimension, n_threads) bytes. */
void ls_matmul_bf16dot(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                       int64_t OC, void *scratch, int n_threads);
void ls_matmul_nt_bf16dot(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                          void *scratch, int n_threads);
size_t ls_matmul_bf16dot_scratch_bytes(int64_t max_rows, int64_t max_inner, int n_threads);

/* out (N,C) = (inp - mean) / sqrt(var + eps) * w + b, biased variance per row. */
void ls_layernorm(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C, float eps,
                  int n_threads);

/* x (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in place ("gelu_new"). */
void ls_gelu(float *x, int64_t n, int n_threads);

/* x (N,C) += y (N,C) */
void ls_add_inplace(float *x, const float *y, int64_t n, int n_threads);

/* Optional per-row outputs of the attention weights, written while each
 * softmax row is still in cache (no second pass):
 *   entropy (B,H,T): -sum_j p_j ln p_j over the row's visible keys, nats
 *   argmax  (B,H,T): the most-attended key position (lowest on ties)
 *   pattern (B,H,T,pos0+T): the weights themselves, 0 where masked
 * Any pointer may be NULL. Pass NULL for the whole struct to skip them. */
typedef struct ls_attn_rows {
    float *entropy;
    int32_t *argmax;
    float *pattern;
} ls_attn_rows;

/* The shape of one attention call. */
typedef struct ls_attn_shape {
    int B, T, pos0;   /* sequences, new positions per sequence, position of the first */
    int S;            /* cache length (>= pos0 + T) */
    int H, KV, D;     /* query heads, key/value heads (H % KV == 0), head size */
    int window;       /* 0, or a query at position p sees only keys s with p - s < window */
    int64_t q_stride; /* floats between consecutive query rows */
} ls_attn_shape;

/* Causal multi-head attention for T new positions per sequence.
 *   q      (B,T,*) query rows with row stride q_stride; head h at columns [hD, (h+1)D)
 *   kcache (B,S,KV*D), vcache (B,S,KV*D): keys/values of positions 0..pos0+T-1;
 *          query head h reads key/value head h / (H/KV) (grouped-query attention)
 *   out    (B,T,H*D): softmax(q k^T / sqrt(D)) v per head, position pos0+t sees 0..pos0+t
 *   rows   NULL, or where to write each row's entropy and argmax (above)
 *   scratch: ls_attention_scratch_floats(S, n_threads) floats
 * Calls with T >= LS_ATTN_GEMM_MIN new positions run through sgemm, in work
 * items of LS_ATTN_QBLOCK queries over the keys they can see. */
#define LS_ATTN_GEMM_MIN 64
#define LS_ATTN_QBLOCK 128
/* n_threads score blocks of min(S, LS_ATTN_QBLOCK) rows of S keys. */
size_t ls_attention_scratch_floats(int S, int n_threads);
void ls_attention(float *out, const float *q, const float *kcache, const float *vcache, const ls_attn_shape *sh,
                  const ls_attn_rows *rows, float *scratch, int n_threads);
/* out (B,T,H*D) = pattern (B,H,T,pos0+T) @ V per head: the attention output
 * for given weights (an intervention on attn.pattern). */
void ls_attention_from_pattern(float *out, const float *pattern, const float *vcache, const ls_attn_shape *sh,
                               int n_threads);

/* ---- the other families' operations (families.c) -------------------------- */

/* out (N,C) = inp * w / sqrt(mean(inp^2) + eps) per row (RMSNorm; sum of squares in double). */
void ls_rmsnorm(float *out, const float *inp, const float *w, int64_t N, int64_t C, float eps, int n_threads);
/* x (n) = 0.5 x (1 + erf(x / sqrt 2)), in place: the exact GELU (GPT-NeoX). */
void ls_gelu_erf(float *x, int64_t n, int n_threads);
/* gate (n) = silu(gate) * up = gate / (1 + exp(-gate)) * up, in place (SwiGLU). */
void ls_swiglu(float *gate, const float *up, int64_t n, int n_threads);
/* x (N,OC) += b (OC) on every row. */
void ls_add_bias(float *x, const float *b, int64_t N, int64_t OC, int n_threads);

/* Rotary position embeddings in Hugging Face's rotate-half convention: the
 * first `dims` values of each head of D are split into halves (a, b) and
 * rotated by angle pos * inv_freq[i]: (a cos - b sin, b cos + a sin).
 * ls_rope_frequencies writes the rope_dims/2 frequencies of a config
 * (theta, linear or llama3 scaling) and returns how many; ls_rope_table the
 * (n_pos, half) cos and sin tables; ls_rope rotates rows in place:
 *   x: B sequences seq_stride floats apart, each of T rows row_stride apart
 *      at positions pos0.., each row n_heads heads of D. */
int ls_rope_frequencies(double *inv_freq, const ls_config *cfg);
void ls_rope_table(float *cos_t, float *sin_t, const double *inv_freq, int half, int n_pos);
void ls_rope(float *x, int64_t row_stride, int B, int T, int64_t seq_stride, int pos0, int n_heads, int D, int dims,
             const float *cos_t, const float *sin_t, int n_threads);

/* In-place softmax of one row of n logits; returns log(sum exp(x - max)) + max (the log-partition). */
double ls_log_softmax_row(const float *x, int64_t n, float *probs_out);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
