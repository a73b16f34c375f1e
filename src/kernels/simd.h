/* simd.h: the dispatch table of lesion's own kernels, one per ISA path.
 *
 * The mechanism, in one place: every file under src/kernels/simd/ is plain
 * C, written once, and the Makefile compiles it once per path, with the flags
 * of one path each (generic: the x86-64 baseline; avx2: -mavx2 -mfma;
 * avx512: -mavx512f/bw/vl/dq; avx512bf16: also -mavx512bf16, whose only
 * use is the vdpbf16ps tile of bf16dot.c), renaming its functions with the path's
 * suffix (LS_SIMD() in simd/simd_impl.h). simd/table.c collects each
 * build's functions into a table ls_simd_<path>; the public kernels
 * (ls_layernorm, ls_matmul for decode rows, ...) call through ls_simd(),
 * the table dispatch.c chose from CPUID or ls_isa_select().
 *
 * Why identical source and no FMA: -ffp-contract=off (Makefile) keeps
 * every multiply and add a separate IEEE operation, and the kernels never
 * leave the order of a sum to the vectoriser (explicit partial sums), so
 * the three builds compute bitwise the same results; only their speed
 * differs (tested: tests/kernels/test_isa_paths.c). */
#ifndef LESION_KERNELS_SIMD_H
#define LESION_KERNELS_SIMD_H

#include "lesion/cpu.h"
#include "lesion/kernels.h"

#include <stdint.h>

/* Products with fewer rows than this (decode steps) stream the weights
 * through the gemv kernels instead of the BLAS. */
#define LS_GEMV_MAX_ROWS 4

/* The bf16 products' tile (bf16dot.c): rows x columns per register block. */
#define LS_BF16DOT_MR 6
#define LS_BF16DOT_NR 64

typedef struct ls_simd_kernels {
    ls_isa isa;
    /* out (N,OC) = inp (N,IC) @ w (IC,OC) + b (OC); b may be NULL; N < LS_GEMV_MAX_ROWS. */
    void (*gemv_f32)(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC,
                     int64_t OC, int n_threads);
    void (*gemv_bf16)(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                      int64_t OC, int n_threads);
    /* out (N,V) = inp (N,C) @ w^T, w (V,C); N < LS_GEMV_MAX_ROWS. */
    void (*gemv_nt_f32)(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V,
                        int n_threads);
    void (*gemv_nt_bf16)(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                         int n_threads);
    /* dst (rows,cols) = widened src (rows, cols) with row stride src_stride. */
    void (*widen_bf16)(float *dst, const uint16_t *src, int64_t rows, int64_t cols, int64_t src_stride);
    void (*layernorm)(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C, float eps,
                      int n_threads);
    void (*gelu)(float *x, int64_t n, int n_threads);
    void (*add_inplace)(float *x, const float *y, int64_t n, int n_threads);
    /* ls_attention (kernels.h) */
    void (*attention)(float *out, const float *q, const float *kcache, const float *vcache, const ls_attn_shape *sh,
                      const ls_attn_rows *rows, float *scratch, int n_threads);
    /* --compute bf16 (simd/bf16dot.c, which defines the layouts and the exact sums):
     * a16 (N,Kp) = a (N,K) rounded to bf16, zero padded to Kp (even) */
    void (*bf16_round_rows)(uint16_t *a16, const float *a, int64_t N, int64_t K, int64_t Kp);
    /* wp (ceil(K/2), ncp) bf16 pairs of the panel w (K, nc) with row stride ldw, or of w (nc, K) */
    void (*bf16_pack_kn)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nc, int64_t ldw, int64_t ncp);
    void (*bf16_pack_nk)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nc, int64_t ncp);
    /* out (N, nc) with row stride ldo = a16 (N,Kp) @ wp + b (nc); b may be NULL. One thread. */
    void (*bf16_gemm)(float *out, int64_t ldo, const uint16_t *a16, int64_t N, int64_t Kp, const uint32_t *wp,
                      int64_t nc, int64_t ncp, const float *b);
} ls_simd_kernels;

extern const ls_simd_kernels ls_simd_generic, ls_simd_avx2, ls_simd_avx512, ls_simd_avx512bf16;

/* The table of the active path (ls_isa_active()). */
const ls_simd_kernels *ls_simd(void);

#endif
