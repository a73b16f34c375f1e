/* test_kernels.c: proves that each kernel computes what its header says, by
 * comparison with naive double-precision implementations on small random
 * inputs (ls_matmul with and without bias, ls_matmul_nt, ls_layernorm,
 * ls_gelu, ls_attention for a full prefill, a cached chunk at pos0 > 0 and a
 * single decode step, ls_log_softmax_row, ls_add_inplace), to 1e-5 relative
 * to the magnitude of the terms summed; that attention never reads cache
 * positions beyond pos0 + T (they hold NaN here); and that every kernel is
 * bitwise identical for 1, 2 and 3 threads; that bf16 products are bitwise
 * the fp32 products of the widened matrices. */
#include "test_util.h"
#include "io/bf16.h"

#include <math.h>

/* Uniform in [lo, hi), a pure function of (seed, i). */
static void fill(float *x, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((double)(ls_mix64(seed, (uint64_t)i) >> 11) * 0x1.0p-53);
}

static float *alloc_f(int64_t n) {
    float *p = malloc((size_t)n * sizeof *p);
    assert_non_null(p);
    return p;
}

/* |got - ref| <= 1e-5 * max(|ref|, scale), scale = magnitude of the summed terms. */
static void check_rel(float got, double ref, double scale, const char *what, int64_t i) {
    double tol = 1e-5 * fmax(fabs(ref), scale);
    if (!(fabs((double)got - ref) <= tol))
        fail_msg("%s[%lld]: got %.9g, reference %.9g (tolerance %.3g)", what, (long long)i, (double)got, ref, tol);
}

/* ---- naive references ----------------------------------------------------- */

static void ref_matmul(double *out, double *scale, const float *inp, const float *w, const float *b, int64_t N,
                       int64_t IC, int64_t OC) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < OC; o++) {
            double acc = b ? b[o] : 0, mag = b ? fabs(b[o]) : 0;
            for (int64_t k = 0; k < IC; k++) {
                acc += (double)inp[i * IC + k] * w[k * OC + o];
                mag += fabs((double)inp[i * IC + k] * w[k * OC + o]);
            }
            out[i * OC + o] = acc;
            scale[i * OC + o] = mag;
        }
}

static void test_matmul_matches_reference(void **state) {
    (void)state;
    /* N < 4 takes the streaming gemv (with its two row chunks and 8-row blocks from IC >= 32, one chunk when
     * N * OC exceeds its stack buffer, as in {3, 40, 6000}), N >= 4 the BLAS. */
    const int64_t shapes[][3] = {{1, 1, 1},    {3, 5, 7},     {7, 37, 19},   {16, 64, 48},
                                 {5, 130, 3},  {2, 203, 37},  {1, 768, 300}, {3, 40, 6000}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t N = shapes[s][0], IC = shapes[s][1], OC = shapes[s][2];
        float *inp = alloc_f(N * IC), *w = alloc_f(IC * OC), *b = alloc_f(OC), *out = alloc_f(N * OC);
        double *ref = malloc(sizeof(double) * (size_t)(N * OC)), *scale = malloc(sizeof(double) * (size_t)(N * OC));
        assert_non_null(ref);
        assert_non_null(scale);
        fill(inp, N * IC, 1 + s, -1, 1);
        fill(w, IC * OC, 100 + s, -1, 1);
        fill(b, OC, 200 + s, -1, 1);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            fill(out, N * OC, 999, -50, 50); /* garbage: must be overwritten, not accumulated into */
            ls_matmul(out, inp, w, bias, N, IC, OC, 1);
            ref_matmul(ref, scale, inp, w, bias, N, IC, OC);
            for (int64_t i = 0; i < N * OC; i++) check_rel(out[i], ref[i], scale[i], with_bias ? "matmul+b" : "matmul", i);
        }
        free(inp), free(w), free(b), free(out), free(ref), free(scale);
    }
}

static void test_matmul_nt_matches_reference(void **state) {
    (void)state;
    const int64_t shapes[][3] = {{1, 1, 1}, {4, 8, 11}, {9, 33, 50}, {2, 128, 257}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t N = shapes[s][0], C = shapes[s][1], V = shapes[s][2];
        float *inp = alloc_f(N * C), *w = alloc_f(V * C), *out = alloc_f(N * V);
        fill(inp, N * C, 3 + s, -1, 1);
        fill(w, V * C, 300 + s, -1, 1);
        fill(out, N * V, 999, -50, 50);
        ls_matmul_nt(out, inp, w, N, C, V, 1);
        for (int64_t i = 0; i < N; i++)
            for (int64_t v = 0; v < V; v++) {
                double acc = 0, mag = 0;
                for (int64_t c = 0; c < C; c++) {
                    acc += (double)inp[i * C + c] * w[v * C + c];
                    mag += fabs((double)inp[i * C + c] * w[v * C + c]);
                }
                check_rel(out[i * V + v], acc, mag, "matmul_nt", i * V + v);
            }
        free(inp), free(w), free(out);
    }
}

static void test_layernorm_matches_reference(void **state) {
    (void)state;
    const int64_t N = 6, C = 40;
    float *x = alloc_f(N * C), *w = alloc_f(C), *b = alloc_f(C), *y = alloc_f(N * C);
    fill(x, N * C, 5, -1, 1);
    for (int64_t c = 0; c < C; c++) x[C + c] += 7.0f;       /* row 1: large mean */
    for (int64_t c = 0; c < C; c++) x[2 * C + c] *= 1e-3f;  /* row 2: tiny variance, where eps matters */
    for (int64_t c = 0; c < C; c++) x[3 * C + c] = 0.25f;   /* row 3: constant: output is exactly b */
    fill(w, C, 6, 0.5f, 1.5f);
    fill(b, C, 7, -0.5f, 0.5f);
    const float eps = 1e-5f;
    ls_layernorm(y, x, w, b, N, C, eps, 1);
    for (int64_t i = 0; i < N; i++) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += x[i * C + c];
        mean /= C;
        for (int64_t c = 0; c < C; c++) var += (x[i * C + c] - mean) * (x[i * C + c] - mean);
        var /= C; /* biased, as in PyTorch */
        double rstd = 1.0 / sqrt(var + eps);
        for (int64_t c = 0; c < C; c++) {
            double ref = (x[i * C + c] - mean) * rstd * w[c] + b[c];
            check_rel(y[i * C + c], ref, 1.0 + fabs(b[c]), "layernorm", i * C + c);
        }
    }
    for (int64_t c = 0; c < C; c++) assert_true(y[3 * C + c] == b[c]);
    /* In place (out == inp) is how the forward pass never uses it, but rows are independent anyway. */
    free(x), free(w), free(b), free(y);
}

static void test_gelu_matches_reference(void **state) {
    (void)state;
    enum { N = 2000 };
    float x[N], y[N];
    fill(x, N, 8, -8, 8);
    x[0] = 0, x[1] = -0.0f, x[2] = 30, x[3] = -30, x[4] = 1e-20f, x[5] = 1;
    memcpy(y, x, sizeof x);
    ls_gelu(y, N, 1);
    for (int i = 0; i < N; i++) {
        double v = x[i], ref = 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
        /* For very negative x, 1 + tanh cancels: float's absolute error there is about |x| 2^-24. */
        double tol = 1e-5 * fabs(ref) + 1e-6;
        if (!(fabs((double)y[i] - ref) <= tol)) fail_msg("gelu(%.9g): got %.9g, reference %.9g", v, (double)y[i], ref);
    }
    assert_true(y[0] == 0);
    assert_true(y[2] == 30.0f);                 /* identity for large x */
    assert_true(fabsf(y[3]) < 1e-30f);          /* zero for very negative x */
    assert_true(fabs(y[5] - 0.8411919906) < 1e-6); /* gelu_new(1) */
}

/* Reference attention for one (b, t, h). */
static void ref_attention_row(double *o, double *scale, const float *q, const float *kc, const float *vc, int n_keys,
                              int C, int D, int h) {
    double *sc = malloc(sizeof(double) * (size_t)n_keys), mx = -INFINITY, sum = 0;
    assert_non_null(sc);
    for (int s = 0; s < n_keys; s++) {
        double d = 0;
        for (int k = 0; k < D; k++) d += (double)q[h * D + k] * kc[(int64_t)s * C + h * D + k];
        sc[s] = d / sqrt((double)D);
        mx = fmax(mx, sc[s]);
    }
    for (int s = 0; s < n_keys; s++) sum += sc[s] = exp(sc[s] - mx);
    for (int k = 0; k < D; k++) {
        double acc = 0, mag = 0;
        for (int s = 0; s < n_keys; s++) {
            acc += sc[s] / sum * vc[(int64_t)s * C + h * D + k];
            mag += sc[s] / sum * fabs(vc[(int64_t)s * C + h * D + k]);
        }
        o[k] = acc;
        scale[k] = mag;
    }
    free(sc);
}

/* Runs ls_attention on random q/k/v with positions pos0..pos0+T-1 and checks every output. */
static void check_attention(int B, int T, int pos0, int S, int C, int H, uint64_t seed, float qscale) {
    const int D = C / H, qs = 3 * C; /* q rows live inside a (B,T,3C) qkv buffer, as in the forward pass */
    float *qkv = alloc_f((int64_t)B * T * qs), *kc = alloc_f((int64_t)B * S * C), *vc = alloc_f((int64_t)B * S * C);
    float *out = alloc_f((int64_t)B * T * C), *scratch = alloc_f((int64_t)S);
    fill(qkv, (int64_t)B * T * qs, seed, -qscale, qscale);
    fill(kc, (int64_t)B * S * C, seed + 1, -1, 1);
    fill(vc, (int64_t)B * S * C, seed + 2, -1, 1);
    /* Positions after the last new one are not part of the context: poison them. */
    for (int b = 0; b < B; b++)
        for (int s = pos0 + T; s < S; s++)
            for (int c = 0; c < C; c++) kc[((int64_t)b * S + s) * C + c] = vc[((int64_t)b * S + s) * C + c] = NAN;
    ls_attention(out, qkv, qs, kc, vc, B, T, pos0, S, C, H, scratch, 1);
    double o[64], sc[64];
    assert_true(D <= 64);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                ref_attention_row(o, sc, qkv + ((int64_t)b * T + t) * qs, kc + (int64_t)b * S * C,
                                  vc + (int64_t)b * S * C, pos0 + t + 1, C, D, h);
                for (int k = 0; k < D; k++)
                    check_rel(out[((int64_t)b * T + t) * C + h * D + k], o[k], sc[k], "attention",
                              ((int64_t)b * T + t) * C + h * D + k);
            }
    free(qkv), free(kc), free(vc), free(out), free(scratch);
}

static void test_attention_matches_reference(void **state) {
    (void)state;
    check_attention(1, 1, 0, 1, 4, 1, 10, 1);    /* one position: output = v */
    check_attention(2, 6, 0, 6, 8, 2, 11, 1);    /* full prefill */
    check_attention(2, 3, 4, 9, 8, 2, 12, 1);    /* cached chunk at pos0 = 4, cache longer than needed */
    check_attention(3, 1, 13, 16, 12, 3, 13, 1); /* one decode step after 13 cached positions */
    check_attention(1, 5, 2, 7, 32, 4, 14, 8);   /* sharp softmax (large scores), D = 8: vectorised dot path */
    check_attention(2, 4, 3, 8, 34, 2, 15, 1);   /* D = 17: dot's remainder loop */
}

static void test_softmax_and_add(void **state) {
    (void)state;
    const float a[2] = {0, logf(3)};
    float p[3];
    double lse = ls_log_softmax_row(a, 2, p);
    assert_true(fabs(lse - log(4)) < 1e-6);
    assert_true(fabs(p[0] - 0.25) < 1e-7 && fabs(p[1] - 0.75) < 1e-7);
    const float big[3] = {1000, 1000, -INFINITY};
    lse = ls_log_softmax_row(big, 3, p);
    assert_true(fabs(lse - (1000 + log(2))) < 1e-9);
    assert_true(p[0] == 0.5f && p[1] == 0.5f && p[2] == 0);
    assert_true(fabs(ls_log_softmax_row(a, 2, NULL) - log(4)) < 1e-6);

    float x[5] = {1, 2, 3, 4, 5};
    const float y[5] = {0.5f, -2, 0, 1e-8f, -5};
    ls_add_inplace(x, y, 5, 2);
    const float want[5] = {1.5f, 0, 3, 4 + 1e-8f, 0};
    assert_memory_equal(x, want, sizeof x);
}

/* ---- thread-count independence ------------------------------------------- */

static void assert_bitwise(const float *o, const float *ref, int64_t n, int nt, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&o[i], &ref[i], sizeof(float)) != 0)
            fail_msg("%s with %d threads: output %lld is %.9g, with 1 thread %.9g", what, nt, (long long)i,
                     (double)o[i], (double)ref[i]);
}

/* Our own kernels split only across rows / (sequence, head, position) items. */
static void test_pointwise_and_attention_thread_independent(void **state) {
    (void)state;
    const int64_t N = 64, C = 768;
    const int B = 2, T = 8, pos0 = 40, S = 48, AC = 64, H = 4;
    float *x = alloc_f(N * C), *w = alloc_f(C), *b = alloc_f(C);
    float *qkv = alloc_f((int64_t)B * T * 3 * AC), *kc = alloc_f((int64_t)B * S * AC), *vc = alloc_f((int64_t)B * S * AC);
    fill(x, N * C, 20, -3, 3);
    fill(w, C, 21, 0.5f, 1.5f);
    fill(b, C, 22, -1, 1);
    fill(qkv, (int64_t)B * T * 3 * AC, 24, -2, 2);
    fill(kc, (int64_t)B * S * AC, 25, -1, 1);
    fill(vc, (int64_t)B * S * AC, 26, -1, 1);
    const int64_t n_ln = N * C, n_gelu = N * C, n_att = (int64_t)B * T * AC;
    float *ref = NULL;
    for (int nt = 1; nt <= 3; nt++) {
        float *o = alloc_f(n_ln + n_gelu + n_att), *scr = alloc_f((int64_t)nt * S);
        ls_layernorm(o, x, w, b, N, C, 1e-5f, nt);
        memcpy(o + n_ln, x, sizeof(float) * (size_t)n_gelu);
        ls_gelu(o + n_ln, n_gelu, nt);
        ls_attention(o + n_ln + n_gelu, qkv, 3 * AC, kc, vc, B, T, pos0, S, AC, H, scr, nt);
        free(scr);
        if (!ref) {
            ref = o;
            continue;
        }
        assert_bitwise(o, ref, n_ln, nt, "layernorm");
        assert_bitwise(o + n_ln, ref + n_ln, n_gelu, nt, "gelu");
        assert_bitwise(o + n_ln + n_gelu, ref + n_ln + n_gelu, n_att, nt, "attention");
        free(o);
    }
    free(ref), free(x), free(w), free(b), free(qkv), free(kc), free(vc);
}

/* The BLAS products at GPT-2 small's shapes (a 64-token prefill through
 * c_attn, and the tied head over a 50257-row vocabulary cut to 4096 rows),
 * large enough that OpenBLAS actually uses several threads. kernels.h promises
 * bitwise-identical results for any n_threads. */
static void test_matmul_thread_independent(void **state) {
    (void)state;
    const int64_t N = 64, IC = 768, OC = 2304, V = 4096;
    float *inp = alloc_f(N * IC), *w = alloc_f(IC * OC), *b = alloc_f(OC), *wv = alloc_f(V * IC);
    fill(inp, N * IC, 30, -1, 1);
    fill(w, IC * OC, 31, -0.05f, 0.05f);
    fill(b, OC, 32, -0.1f, 0.1f);
    fill(wv, V * IC, 33, -0.05f, 0.05f);
    float *r1 = alloc_f(N * OC), *r2 = alloc_f(N * V), *o1 = alloc_f(N * OC), *o2 = alloc_f(N * V);
    ls_matmul(r1, inp, w, b, N, IC, OC, 1);
    ls_matmul_nt(r2, inp, wv, N, IC, V, 1);
    int64_t d1 = 0, d2 = 0;
    int nt = 2;
    for (; nt <= 3 && !d1 && !d2; nt++) {
        ls_matmul(o1, inp, w, b, N, IC, OC, nt);
        ls_matmul_nt(o2, inp, wv, N, IC, V, nt);
        for (int64_t i = 0; i < N * OC; i++) d1 += memcmp(&o1[i], &r1[i], sizeof(float)) != 0;
        for (int64_t i = 0; i < N * V; i++) d2 += memcmp(&o2[i], &r2[i], sizeof(float)) != 0;
    }
    free(inp), free(w), free(b), free(wv), free(r1), free(r2), free(o1), free(o2);
    if (d1 || d2)
        fail_msg("%d threads vs 1: ls_matmul (%lldx%lld @ %lldx%lld) differs in %lld of %lld outputs, ls_matmul_nt "
                 "in %lld of %lld (OpenBLAS's threaded sgemm does not reproduce its single-threaded sums)",
                 nt - 1, (long long)N, (long long)IC, (long long)IC, (long long)OC, (long long)d1,
                 (long long)(N * OC), (long long)d2, (long long)(N * V));
}

/* A bf16 matrix and its exact fp32 widening. */
static void bf16_pair(int64_t n, uint64_t seed, uint16_t **w16, float **wide) {
    *w16 = malloc((size_t)n * sizeof **w16);
    *wide = alloc_f(n);
    assert_non_null(*w16);
    fill(*wide, n, seed, -0.5f, 0.5f);
    for (int64_t i = 0; i < n; i++) {
        (*w16)[i] = ls_f32_to_bf16((*wide)[i]);
        (*wide)[i] = ls_bf16_to_f32((*w16)[i]);
    }
}

static int64_t count_differing(const float *a, const float *b, int64_t n) {
    int64_t d = 0;
    for (int64_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return d;
}

/* kernels.h promises that a bf16 product is bitwise the fp32 product of the
 * widened matrix, on both paths (gemv below 4 rows, panels through sgemm
 * above), and like every kernel the same for any thread count. */
static void test_matmul_bf16_is_fp32_of_widened(void **state) {
    (void)state;
    const int64_t shapes[][3] = {{1, 768, 2304}, {2, 203, 37}, {3, 3072, 768}, {3, 40, 6000}, {4, 96, 300}, {37, 768, 520}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int64_t N = shapes[k][0], IC = shapes[k][1], OC = shapes[k][2];
        uint16_t *w16, *h16;
        float *w, *h;
        bf16_pair(IC * OC, 40 + k, &w16, &w);
        bf16_pair(OC * IC, 50 + k, &h16, &h); /* as a head: V = OC rows of C = IC */
        float *inp = alloc_f(N * IC), *b = alloc_f(OC), *want = alloc_f(N * OC), *got = alloc_f(N * OC);
        float *scratch = alloc_f((int64_t)ls_matmul_bf16_scratch_floats(IC, 3));
        fill(inp, N * IC, 60 + k, -1, 1);
        fill(b, OC, 70 + k, -0.1f, 0.1f);
        for (int nt = 1; nt <= 3; nt++) {
            ls_matmul(want, inp, w, b, N, IC, OC, 1);
            ls_matmul_bf16(got, inp, w16, b, N, IC, OC, scratch, nt);
            int64_t d = count_differing(got, want, N * OC);
            if (d) fail_msg("ls_matmul_bf16 %lldx%lld @ %lldx%lld, %d threads: %lld of %lld outputs differ from fp32",
                            (long long)N, (long long)IC, (long long)IC, (long long)OC, nt, (long long)d, (long long)(N * OC));
            ls_matmul_nt(want, inp, h, N, IC, OC, 1);
            ls_matmul_nt_bf16(got, inp, h16, N, IC, OC, scratch, nt);
            d = count_differing(got, want, N * OC);
            if (d) fail_msg("ls_matmul_nt_bf16 N=%lld C=%lld V=%lld, %d threads: %lld outputs differ from fp32",
                            (long long)N, (long long)IC, (long long)OC, nt, (long long)d);
        }
        free(w16), free(h16), free(w), free(h), free(inp), free(b), free(want), free(got), free(scratch);
    }
}

/* The decode path (fewer than 4 rows) cuts work by thread count differently
 * from the BLAS path; its sums must not depend on it either. */
static void test_gemv_thread_independent(void **state) {
    (void)state;
    const int64_t IC = 3072, OC = 768, V = 5000;
    float *w = alloc_f(IC * OC), *h = alloc_f(V * IC), *inp = alloc_f(3 * IC), *b = alloc_f(OC);
    float *r1 = alloc_f(3 * V), *o1 = alloc_f(3 * V);
    fill(w, IC * OC, 80, -0.05f, 0.05f);
    fill(h, V * IC, 81, -0.05f, 0.05f);
    fill(inp, 3 * IC, 82, -1, 1);
    fill(b, OC, 83, -0.1f, 0.1f);
    for (int64_t N = 1; N <= 3; N++)
        for (int nt = 2; nt <= 3; nt++) {
            ls_matmul(r1, inp, w, b, N, IC, OC, 1);
            ls_matmul(o1, inp, w, b, N, IC, OC, nt);
            int64_t d = count_differing(o1, r1, N * OC);
            ls_matmul_nt(r1, inp, h, N, IC, V, 1);
            ls_matmul_nt(o1, inp, h, N, IC, V, nt);
            d += count_differing(o1, r1, N * V);
            if (d) fail_msg("N=%lld, %d threads vs 1: %lld outputs differ", (long long)N, nt, (long long)d);
        }
    free(w), free(h), free(inp), free(b), free(r1), free(o1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_matches_reference),
        cmocka_unit_test(test_matmul_nt_matches_reference),
        cmocka_unit_test(test_layernorm_matches_reference),
        cmocka_unit_test(test_gelu_matches_reference),
        cmocka_unit_test(test_attention_matches_reference),
        cmocka_unit_test(test_softmax_and_add),
        cmocka_unit_test(test_pointwise_and_attention_thread_independent),
        cmocka_unit_test(test_matmul_thread_independent),
        cmocka_unit_test(test_matmul_bf16_is_fp32_of_widened),
        cmocka_unit_test(test_gemv_thread_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
