/* simd_impl.h: included by every file of src/kernels/simd/, each of which
 * the Makefile compiles once per ISA path with -DLS_SIMD_PATH=<path>
 * (generic, avx2, avx512 or avx512bf16) and that path's -m flags. LS_SIMD(name)
 * gives each build's functions its own name (name_avx2, ...), so the three
 * builds link side by side; simd/table.c gathers them into ls_simd_<path>. */
#ifndef LESION_KERNELS_SIMD_IMPL_H
#define LESION_KERNELS_SIMD_IMPL_H

#include "kernels/simd.h"

#ifndef LS_SIMD_PATH
#error "src/kernels/simd/ is compiled by the Makefile with -DLS_SIMD_PATH=generic|avx2|avx512|avx512bf16"
#endif

#define LS_SIMD_CAT2(a, b) a##_##b
#define LS_SIMD_CAT(a, b) LS_SIMD_CAT2(a, b)
#define LS_SIMD(name) LS_SIMD_CAT(name, LS_SIMD_PATH)

void LS_SIMD(gemv_f32)(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t IC,
                       int64_t OC, int n_threads);
void LS_SIMD(gemv_bf16)(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t IC,
                        int64_t OC, int n_threads);
void LS_SIMD(gemv_nt_f32)(float *out, const float *inp, const float *w, int64_t N, int64_t C, int64_t V,
                          int n_threads);
void LS_SIMD(gemv_nt_bf16)(float *out, const float *inp, const uint16_t *w, int64_t N, int64_t C, int64_t V,
                           int n_threads);
void LS_SIMD(widen_bf16)(float *dst, const uint16_t *src, int64_t rows, int64_t cols, int64_t src_stride);
void LS_SIMD(layernorm)(float *out, const float *inp, const float *w, const float *b, int64_t N, int64_t C,
                        float eps, int n_threads);
void LS_SIMD(gelu)(float *x, int64_t n, int n_threads);
void LS_SIMD(add_inplace)(float *x, const float *y, int64_t n, int n_threads);
void LS_SIMD(bf16_round_rows)(uint16_t *a16, const float *a, int64_t N, int64_t K, int64_t Kp);
void LS_SIMD(bf16_pack_kn)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nc, int64_t ldw, int64_t ncp);
void LS_SIMD(bf16_pack_nk)(uint32_t *wp, const uint16_t *w, int64_t K, int64_t nc, int64_t ncp);
void LS_SIMD(bf16_gemm)(float *out, int64_t ldo, const uint16_t *a16, int64_t N, int64_t Kp, const uint32_t *wp,
                        int64_t nc, int64_t ncp, const float *b);
void LS_SIMD(attention)(float *out, const float *q, const float *kcache, const float *vcache, const ls_attn_shape *sh,
                        const ls_attn_rows *rows, float *scratch, int n_threads);

#endif
