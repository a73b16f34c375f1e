/* table.c: this build's kernels as one dispatch table, ls_simd_<path>
 * (simd.h). Compiled once per ISA path like the rest of src/kernels/simd/. */
#include "kernels/simd/simd_impl.h"

#define LS_SIMD_ISA_generic LS_ISA_GENERIC
#define LS_SIMD_ISA_avx2 LS_ISA_AVX2
#define LS_SIMD_ISA_avx512 LS_ISA_AVX512
#define LS_SIMD_ISA_avx512bf16 LS_ISA_AVX512_BF16

const ls_simd_kernels LS_SIMD(ls_simd) = {
    .isa = LS_SIMD_CAT(LS_SIMD_ISA, LS_SIMD_PATH),
    .gemv_f32 = LS_SIMD(gemv_f32),
    .gemv_bf16 = LS_SIMD(gemv_bf16),
    .gemv_nt_f32 = LS_SIMD(gemv_nt_f32),
    .gemv_nt_bf16 = LS_SIMD(gemv_nt_bf16),
    .widen_bf16 = LS_SIMD(widen_bf16),
    .layernorm = LS_SIMD(layernorm),
    .gelu = LS_SIMD(gelu),
    .add_inplace = LS_SIMD(add_inplace),
    .attention = LS_SIMD(attention),
    .bf16_round_rows = LS_SIMD(bf16_round_rows),
    .bf16_pack_kn = LS_SIMD(bf16_pack_kn),
    .bf16_pack_nk = LS_SIMD(bf16_pack_nk),
    .bf16_gemm = LS_SIMD(bf16_gemm),
};
