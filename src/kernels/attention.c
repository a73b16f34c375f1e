/* attention.c: ls_attention, through the ISA dispatch (the kernel itself is
 * in simd/attention.c, compiled once per path). */
#include "lesion/kernels.h"
#include "kernels/simd.h"

#include <string.h>

size_t ls_attention_scratch_floats(int S, int n_threads) {
    return (size_t)n_threads * (size_t)(S < LS_ATTN_QBLOCK ? S : LS_ATTN_QBLOCK) * (size_t)S;
}

void ls_attention(float *out, const float *q, const float *kcache, const float *vcache, const ls_attn_shape *sh,
                  const ls_attn_rows *rows, float *scratch, int n_threads) {
    ls_simd()->attention(out, q, kcache, vcache, sh, rows, scratch, n_threads);
}

/* A changed attn.pattern (an intervention) multiplied into V: not a hot path. */
void ls_attention_from_pattern(float *out, const float *pattern, const float *vcache, const ls_attn_shape *sh,
                               int n_threads) {
    const int T = sh->T, H = sh->H, D = sh->D, n_keys = sh->pos0 + T, group = sh->H / sh->KV;
    const int64_t kv_row = (int64_t)sh->KV * D, out_row = (int64_t)H * D;
    const int64_t items = (int64_t)sh->B * H * T;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (items * n_keys * D >= LS_PAR_MIN)
    for (int64_t it = 0; it < items; it++) {
        int t = (int)(it % T), h = (int)(it / T % H), b = (int)(it / T / H);
        const float *p = pattern + it * n_keys;
        const float *vb = vcache + (int64_t)b * sh->S * kv_row + (int64_t)(h / group) * D;
        float *o = out + ((int64_t)b * T + t) * out_row + (int64_t)h * D;
        memset(o, 0, (size_t)D * sizeof *o);
        for (int s = 0; s < n_keys; s++)
            for (int d = 0; d < D; d++) o[d] += p[s] * vb[(int64_t)s * kv_row + d];
    }
}
