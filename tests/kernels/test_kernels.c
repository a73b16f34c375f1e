/* test_kernels.c: proves that each kernel computes what its header says, by
 * comparison with naive double-precision implementations on small random
 * inputs (ls_matmul with and without bias, ls_matmul_nt, ls_layernorm,
 * ls_gelu, ls_attention for a full prefill, a cached chunk at pos0 > 0 and a
 * single decode step, ls_log_softmax_row, ls_add_inplace), to 1e-5 relative
 * to the magnitude of the terms summed; that attention never reads cache
 * positions beyond pos0 + T (they hold NaN here); and that every kernel is
 * bitwise identical for 1, 2 and 3 threads; that bf16 products are bitwise
 * the fp32 products of the widened matrices; that the --compute bf16
 * products (ls_matmul_bf16dot, ls_matmul_nt_bf16dot) compute bit for bit
 * the sums bf16dot.c defines (a scalar fmaf reference of vdpbf16ps,
 * denormals included), for any thread count, and stay within bf16's
 * rounding of the exact product. All of it runs once per ISA
 * path this CPU supports (generic, avx2, avx512: TEST_FOR_EACH_ISA), and
 * test_isa_paths_bitwise_identical proves that every path gives the same
 * bits as the generic one, kernel by kernel. */
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
                                 {5, 130, 3},  {2, 203, 37},  {1, 768, 300}, {3, 40, 6000},
                                 {1030, 40, 300}}; /* 3 row chunks of 352 rows (LS_CHUNK_ROWS), the last partial */
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

/* Reference attention for one query row over keys lo..p of one kv head, in
 * double: the output (D), the magnitude of its terms (for the tolerance),
 * the row's entropy and its first argmax (an absolute key position).
 *   q: the query head's D values; kc, vc: the kv head's first key, rows kv_row apart */
static void ref_attention_row(double *o, double *scale, double *entropy, int *argmax, const float *q, const float *kc,
                              const float *vc, int lo, int p, int64_t kv_row, int D) {
    int n = p - lo + 1;
    double *sc = malloc(sizeof(double) * (size_t)n), mx = -INFINITY, sum = 0, ent = 0;
    assert_non_null(sc);
    for (int s = 0; s < n; s++) {
        double d = 0;
        for (int k = 0; k < D; k++) d += (double)q[k] * kc[(int64_t)(lo + s) * kv_row + k];
        sc[s] = d / sqrt((double)D);
        if (sc[s] > mx) mx = sc[s], *argmax = lo + s;
    }
    for (int s = 0; s < n; s++) sum += sc[s] = exp(sc[s] - mx);
    for (int s = 0; s < n; s++) {
        double w = sc[s] / sum;
        if (w > 0) ent -= w * log(w);
    }
    *entropy = ent;
    for (int k = 0; k < D; k++) {
        double acc = 0, mag = 0;
        for (int s = 0; s < n; s++) {
            acc += sc[s] / sum * vc[(int64_t)(lo + s) * kv_row + k];
            mag += sc[s] / sum * fabs(vc[(int64_t)(lo + s) * kv_row + k]);
        }
        o[k] = acc;
        scale[k] = mag;
    }
    free(sc);
}

/* Runs ls_attention on random q/k/v with positions pos0..pos0+T-1, H query
 * heads over KV key/value heads, an optional sliding window, and checks every
 * output, every row's entropy and argmax against the double reference, and
 * that asking for the row statistics leaves the output bitwise unchanged. */
static void check_attention_gqa(int B, int T, int pos0, int S, int H, int KV, int D, int window, uint64_t seed,
                                float qscale) {
    const int64_t C = (int64_t)H * D, kv_row = (int64_t)KV * D;
    const int64_t qs = C + 2 * kv_row; /* q rows live inside a (B,T,C+2 KV D) qkv buffer, as in the forward pass */
    const int64_t n_rows = (int64_t)B * H * T;
    float *qkv = alloc_f((int64_t)B * T * qs), *kc = alloc_f((int64_t)B * S * kv_row);
    float *vc = alloc_f((int64_t)B * S * kv_row), *out = alloc_f((int64_t)B * T * C), *out2 = alloc_f((int64_t)B * T * C);
    float *scratch = alloc_f((int64_t)ls_attention_scratch_floats(S, 1)), *ent = alloc_f(n_rows), *pat = alloc_f(n_rows * (pos0 + T));
    int32_t *arg = malloc((size_t)n_rows * sizeof *arg);
    assert_non_null(arg);
    fill(qkv, (int64_t)B * T * qs, seed, -qscale, qscale);
    fill(kc, (int64_t)B * S * kv_row, seed + 1, -1, 1);
    fill(vc, (int64_t)B * S * kv_row, seed + 2, -1, 1);
    /* Positions after the last new one, and before a window, are not part of the context: poison them. */
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++)
            if (s >= pos0 + T || (window > 0 && s < pos0 - window + 1))
                for (int64_t c = 0; c < kv_row; c++) kc[((int64_t)b * S + s) * kv_row + c] = vc[((int64_t)b * S + s) * kv_row + c] = NAN;
    ls_attn_shape sh = {.B = B, .T = T, .pos0 = pos0, .S = S, .H = H, .KV = KV, .D = D, .window = window, .q_stride = qs};
    ls_attention(out, qkv, kc, vc, &sh, NULL, scratch, 1);
    ls_attn_rows rows = {ent, arg, pat};
    ls_attention(out2, qkv, kc, vc, &sh, &rows, scratch, 1);
    assert_memory_equal(out, out2, sizeof(float) * (size_t)(B * T * C));
    /* Pattern rows (pos0 + T keys): the softmax weights over [lo, p], exact zeros elsewhere. */
    for (int64_t i = 0; i < n_rows; i++) {
        int p = pos0 + (int)(i % T), lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
        double sum = 0;
        for (int s = 0; s < pos0 + T; s++) {
            float v = pat[i * (pos0 + T) + s];
            if ((s < lo || s > p) && v != 0.0f) fail_msg("pattern row %lld key %d outside [%d, %d]: %g", (long long)i, s, lo, p, (double)v);
            sum += v;
        }
        if (!(fabs(sum - 1.0) <= 1e-5)) fail_msg("pattern row %lld sums to %.9g", (long long)i, sum);
    }
    double o[64], sc[64], e;
    int am = 0;
    assert_true(D <= 64);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++) {
                int p = pos0 + t, lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0, g = h / (H / KV);
                ref_attention_row(o, sc, &e, &am, qkv + ((int64_t)b * T + t) * qs + (int64_t)h * D,
                                  kc + (int64_t)b * S * kv_row + (int64_t)g * D,
                                  vc + (int64_t)b * S * kv_row + (int64_t)g * D, lo, p, kv_row, D);
                for (int k = 0; k < D; k++)
                    check_rel(out[((int64_t)b * T + t) * C + h * D + k], o[k], sc[k], "attention",
                              ((int64_t)b * T + t) * C + h * D + k);
                int64_t i = ((int64_t)b * H + h) * T + t;
                if (!(fabs(ent[i] - e) <= 1e-5 * (1 + e)))
                    fail_msg("entropy of row b%d h%d t%d: %.9g, reference %.9g", b, h, t, (double)ent[i], e);
                if (arg[i] != am) fail_msg("argmax of row b%d h%d t%d: %d, reference %d", b, h, t, arg[i], am);
            }
    free(qkv), free(kc), free(vc), free(out), free(out2), free(scratch), free(ent), free(pat), free(arg);
}

/* Plain multi-head attention with C = H * D. */
static void check_attention(int B, int T, int pos0, int S, int C, int H, uint64_t seed, float qscale) {
    check_attention_gqa(B, T, pos0, S, H, H, C / H, 0, seed, qscale);
}

/* Grouped-query attention and sliding windows, on both kernel paths (T below
 * and above LS_ATTN_GEMM_MIN). */
static void test_attention_gqa_and_window(void **state) {
    (void)state;
    check_attention_gqa(2, 5, 3, 8, 4, 2, 8, 0, 51, 1);     /* 2 query heads per kv head, per-item path */
    check_attention_gqa(1, 3, 9, 12, 6, 1, 4, 0, 52, 1);    /* one kv head (multi-query) */
    check_attention_gqa(2, 70, 0, 70, 4, 2, 8, 0, 53, 2);   /* GQA on the sgemm path */
    check_attention_gqa(1, 6, 10, 16, 2, 2, 8, 4, 54, 1);   /* window of 4 keys, decode-like chunk */
    check_attention_gqa(1, 80, 0, 80, 4, 2, 8, 16, 55, 2);  /* window on the sgemm path */
    check_attention_gqa(1, 64, 20, 90, 2, 1, 16, 30, 56, 2); /* window, GQA, cached prefix */
    /* Several query blocks (LS_ATTN_QBLOCK 128), the last one partial. */
    check_attention_gqa(1, 300, 0, 300, 2, 1, 8, 0, 57, 2);   /* full prefill */
    check_attention_gqa(2, 200, 37, 260, 2, 2, 8, 0, 58, 1);  /* cached prefix */
    check_attention_gqa(1, 260, 10, 280, 2, 1, 8, 50, 59, 2); /* window shorter than a block */
}

/* Entropy and argmax of every row on both kernel paths, sharp and flat rows. */
static void test_attention_row_statistics(void **state) {
    (void)state;
    check_attention_gqa(2, 5, 3, 8, 2, 2, 4, 0, 41, 1);      /* per-item path, cached chunk */
    check_attention_gqa(1, 70, 0, 70, 2, 2, 8, 0, 42, 4);    /* sgemm path, full prefill, sharp rows */
    check_attention_gqa(2, 64, 6, 80, 3, 3, 4, 0, 43, 0.1f); /* sgemm path at pos0 > 0, near-uniform rows */
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
        float *o = alloc_f(n_ln + n_gelu + n_att), *scr = alloc_f((int64_t)ls_attention_scratch_floats(S, nt));
        ls_layernorm(o, x, w, b, N, C, 1e-5f, nt);
        memcpy(o + n_ln, x, sizeof(float) * (size_t)n_gelu);
        ls_gelu(o + n_ln, n_gelu, nt);
        ls_attn_shape sh = {.B = B, .T = T, .pos0 = pos0, .S = S, .H = H, .KV = H, .D = AC / H, .q_stride = 3 * AC};
        ls_attention(o + n_ln + n_gelu, qkv, kc, vc, &sh, NULL, scr, nt);
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
    const int64_t N = 600, IC = 768, OC = 2304, V = 4096; /* 2 row chunks */
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
    const int64_t shapes[][3] = {{1, 768, 2304}, {2, 203, 37}, {3, 3072, 768}, {3, 40, 6000}, {4, 96, 300}, {37, 768, 520},
                                 {1030, 40, 520}};
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

/* ---- --compute bf16 -------------------------------------------------------- */

static float flush_denormal(float x) { return fabsf(x) < 0x1p-126f ? copysignf(0.0f, x) : x; }

/* The definition of bf16dot.c, written out scalar: activations rounded to
 * bf16, pairs (2p, 2p+1) taken odd element first, each step one fused
 * multiply-add, bf16 denormal inputs and denormal results flushed. */
static void ref_bf16dot(float *out, const float *inp, const uint16_t *w, const float *b, int64_t N, int64_t K,
                        int64_t M, int head) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < M; j++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k += 2) {
                for (int e = 1; e >= 0; e--) {
                    if (k + e >= K) continue; /* the zero padding: fma(0, 0, acc) = acc */
                    float a = flush_denormal(ls_bf16_to_f32(ls_f32_to_bf16(inp[n * K + k + e])));
                    float wv = flush_denormal(ls_bf16_to_f32(head ? w[j * K + k + e] : w[(k + e) * M + j]));
                    acc = flush_denormal(fmaf(a, wv, acc));
                }
            }
            out[n * M + j] = b ? acc + b[j] : acc;
        }
}

static void test_matmul_bf16dot_is_its_definition(void **state) {
    (void)state;
    /* N from 4 (smaller calls take the gemv), row tails of 1..5 below the 6-row tile, odd K, column tails
     * inside a 64-column block and a 256-column panel. */
    const int64_t shapes[][3] = {{4, 8, 16}, {7, 33, 70}, {13, 64, 300}, {6, 129, 257}, {11, 768, 64},
                                 {1030, 17, 300}}; /* and several row chunks */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t N = shapes[s][0], K = shapes[s][1], M = shapes[s][2];
        uint16_t *w16, *h16;
        float *w, *h, *inp = alloc_f(N * K), *b = alloc_f(M), *want = alloc_f(N * M), *got = alloc_f(N * M);
        bf16_pair(K * M, 110 + s, &w16, &w);
        bf16_pair(M * K, 120 + s, &h16, &h);
        fill(inp, N * K, 130 + s, -2, 2);
        fill(b, M, 140 + s, -0.1f, 0.1f);
        /* Denormals on both sides: they must be read and written as vdpbf16ps does. */
        inp[1] = 1e-39f, inp[K] = -3e-39f, w16[2] = 0x0001, h16[3] = 0x8040, w16[M + 1] = 0x0080;
        for (int nt = 1; nt <= 3; nt++) {
            void *scratch = malloc(ls_matmul_bf16dot_scratch_bytes(N, K, nt));
            assert_non_null(scratch);
            for (int head = 0; head < 2; head++) {
                const float *bias = head ? NULL : b;
                ref_bf16dot(want, inp, head ? h16 : w16, bias, N, K, M, head);
                fill(got, N * M, 999, -50, 50);
                if (head) ls_matmul_nt_bf16dot(got, inp, h16, N, K, M, scratch, nt);
                else ls_matmul_bf16dot(got, inp, w16, bias, N, K, M, scratch, nt);
                for (int64_t i = 0; i < N * M; i++)
                    if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
                        fail_msg("%s N=%lld K=%lld M=%lld, %d threads, path %s: output %lld is %a, definition %a",
                                 head ? "ls_matmul_nt_bf16dot" : "ls_matmul_bf16dot", (long long)N, (long long)K,
                                 (long long)M, nt, ls_isa_name(ls_isa_active()), (long long)i, (double)got[i],
                                 (double)want[i]);
            }
            free(scratch);
        }
        free(w16), free(h16), free(w), free(h), free(inp), free(b), free(want), free(got);
    }
}

/* The price of --compute bf16 at the kernel level: on inputs of magnitude
 * ~1 and weights ~0.05, each output is within 2^-7 of the magnitude of the
 * terms summed (bf16 keeps 8 significant bits: rounding an activation moves
 * it by at most 2^-9 relative), and the errors do not all vanish. */
static void test_matmul_bf16dot_accuracy(void **state) {
    (void)state;
    const int64_t N = 16, K = 768, M = 512;
    uint16_t *w16;
    float *w, *inp = alloc_f(N * K), *got = alloc_f(N * M);
    bf16_pair(K * M, 150, &w16, &w);
    fill(inp, N * K, 151, -1, 1);
    void *scratch = malloc(ls_matmul_bf16dot_scratch_bytes(N, K, 2));
    assert_non_null(scratch);
    ls_matmul_bf16dot(got, inp, w16, NULL, N, K, M, scratch, 2);
    double worst = 0;
    int64_t moved = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < M; j++) {
            double exact = 0, mag = 0;
            for (int64_t k = 0; k < K; k++) {
                exact += (double)inp[n * K + k] * w[k * M + j];
                mag += fabs((double)inp[n * K + k] * w[k * M + j]);
            }
            double rel = fabs(got[n * M + j] - exact) / mag;
            worst = fmax(worst, rel);
            moved += rel > 1e-6;
        }
    if (!(worst <= 0x1p-7)) fail_msg("bf16dot: worst error %.3g of the summed magnitude (bound 2^-7)", worst);
    assert_true(moved > N * M / 2); /* rounding the activations does change most outputs */
    free(w16), free(w), free(inp), free(got), free(scratch);
}

/* ---- ISA paths -------------------------------------------------------------- */

/* One output segment per kernel, named for the failure message. */
typedef struct {
    const char *name;
    int64_t n;
} segment;

/* Runs every dispatched kernel on fixed inputs with n_threads, writing all
 * outputs one after the other into a malloc'd buffer (*n floats). */
static float *run_every_kernel(int n_threads, const segment **segs_out, int *n_segs, int64_t *n) {
    enum { IC = 300, OC = 520, V = 700, NG = 3000, LN_N = 5, LN_C = 777, AB = 2, AT = 3, APOS = 29, AS = 70, AC = 48,
           AH = 3, GT = LS_ATTN_GEMM_MIN };
    static const segment segs[] = {
        {"gemv_f32 N=1", OC},     {"gemv_f32 N=3", 3 * OC},     {"gemv_nt_f32 N=2", 2 * V},
        {"gemv_bf16 N=1", OC},    {"gemv_bf16 N=3", 3 * OC},    {"gemv_nt_bf16 N=3", 3 * V},
        {"matmul_bf16 N=6 (panel widening)", 6 * OC},           {"matmul_nt_bf16 N=5", 5 * V},
        {"layernorm", LN_N * LN_C}, {"gelu", NG},               {"add_inplace", NG},
        {"attention (rows path)", AB * AT * AC},    {"attention entropy (rows path)", AB * AT * AH},
        {"attention (sgemm path)", GT * AC},         {"attention entropy (sgemm path)", GT * AH},
        {"matmul_bf16dot N=9", 9 * OC},               {"matmul_nt_bf16dot N=7", 7 * V},
    };
    *segs_out = segs;
    *n_segs = (int)(sizeof segs / sizeof segs[0]);
    int64_t total = 0;
    for (int i = 0; i < *n_segs; i++) total += segs[i].n;
    *n = total;
    float *out = alloc_f(total), *o = out;
    float *inp = alloc_f(6 * IC), *w = alloc_f(IC * OC), *b = alloc_f(OC), *h = alloc_f(V * IC);
    uint16_t *w16, *h16;
    float *wide_w, *wide_h, *scratch = alloc_f((int64_t)ls_matmul_bf16_scratch_floats(IC, n_threads));
    bf16_pair(IC * OC, 90, &w16, &wide_w);
    bf16_pair(V * IC, 91, &h16, &wide_h);
    fill(inp, 6 * IC, 92, -1, 1);
    fill(w, IC * OC, 93, -0.1f, 0.1f);
    fill(b, OC, 94, -0.1f, 0.1f);
    fill(h, V * IC, 95, -0.1f, 0.1f);
    ls_matmul(o, inp, w, b, 1, IC, OC, n_threads), o += OC;
    ls_matmul(o, inp, w, NULL, 3, IC, OC, n_threads), o += 3 * OC;
    ls_matmul_nt(o, inp, h, 2, IC, V, n_threads), o += 2 * V;
    ls_matmul_bf16(o, inp, w16, b, 1, IC, OC, scratch, n_threads), o += OC;
    ls_matmul_bf16(o, inp, w16, b, 3, IC, OC, scratch, n_threads), o += 3 * OC;
    ls_matmul_nt_bf16(o, inp, h16, 3, IC, V, scratch, n_threads), o += 3 * V;
    ls_matmul_bf16(o, inp, w16, b, 6, IC, OC, scratch, n_threads), o += 6 * OC;
    ls_matmul_nt_bf16(o, inp, h16, 5, IC, V, scratch, n_threads), o += 5 * V;
    float *x = alloc_f(LN_N * LN_C), *g = alloc_f(LN_C), *bb = alloc_f(LN_C);
    fill(x, LN_N * LN_C, 96, -4, 4);
    fill(g, LN_C, 97, 0.5f, 1.5f);
    fill(bb, LN_C, 98, -1, 1);
    ls_layernorm(o, x, g, bb, LN_N, LN_C, 1e-5f, n_threads), o += LN_N * LN_C;
    fill(o, NG, 99, -12, 12);
    o[0] = 0, o[1] = -0.0f, o[2] = 100, o[3] = -100, o[4] = 1e-30f;
    ls_gelu(o, NG, n_threads), o += NG;
    fill(o, NG, 100, -1, 1);
    ls_add_inplace(o, o - NG, NG, n_threads), o += NG;
    float *qkv = alloc_f(AB * GT * 3 * AC), *kc = alloc_f(AB * AS * AC), *vc = alloc_f(AB * AS * AC);
    float *att_scratch = alloc_f((int64_t)ls_attention_scratch_floats(AS, n_threads));
    int32_t *amax = malloc(sizeof(int32_t) * AB * GT * AH);
    assert_non_null(amax);
    fill(qkv, AB * GT * 3 * AC, 101, -2, 2);
    fill(kc, AB * AS * AC, 102, -1, 1);
    fill(vc, AB * AS * AC, 103, -1, 1);
    ls_attn_shape sh = {.B = AB, .T = AT, .pos0 = APOS, .S = AS, .H = AH, .KV = AH, .D = AC / AH, .q_stride = 3 * AC};
    ls_attn_rows rows = {.entropy = o + AB * AT * AC, .argmax = amax};
    ls_attention(o, qkv, kc, vc, &sh, &rows, att_scratch, n_threads), o += AB * AT * AC + AB * AT * AH;
    ls_attn_shape gsh = {.B = 1, .T = GT, .pos0 = 2, .S = AS, .H = AH, .KV = AH, .D = AC / AH, .q_stride = 3 * AC};
    rows.entropy = o + GT * AC;
    ls_attention(o, qkv, kc, vc, &gsh, &rows, att_scratch, n_threads), o += GT * AC + GT * AH;
    free(amax);
    float *inp9 = alloc_f(9 * IC);
    fill(inp9, 9 * IC, 104, -1, 1);
    inp9[3] = 2e-39f, w16[5] = 0x0003; /* denormals, flushed alike on every path */
    void *dot_scratch = malloc(ls_matmul_bf16dot_scratch_bytes(9, IC, n_threads));
    assert_non_null(dot_scratch);
    ls_matmul_bf16dot(o, inp9, w16, b, 9, IC, OC, dot_scratch, n_threads), o += 9 * OC;
    ls_matmul_nt_bf16dot(o, inp9, h16, 7, IC, V, dot_scratch, n_threads), o += 7 * V;
    free(inp9), free(dot_scratch);
    assert_true(o == out + total);
    free(inp), free(w), free(b), free(h), free(w16), free(h16), free(wide_w), free(wide_h), free(scratch);
    free(x), free(g), free(bb), free(qkv), free(kc), free(vc), free(att_scratch);
    return out;
}

/* docs/performance.md promises that lesion's own kernels give the same bits
 * on every ISA path (the same C, no FMA contraction, sums in a fixed
 * order): compare each path the CPU runs with the generic one, for 1 and 2
 * threads. */
static void test_isa_paths_bitwise_identical(void **state) {
    (void)state;
    ls_isa was = ls_isa_active();
    ls_cpu_info cpu;
    ls_error err;
    ls_cpu_detect(&cpu);
    const segment *segs;
    int n_segs, tested = 0;
    int64_t n;
    for (int nt = 1; nt <= 2; nt++) {
        float *ref = NULL;
        for (int isa = 0; isa < LS_ISA_COUNT; isa++) {
            if (!ls_isa_supported(&cpu, (ls_isa)isa)) continue;
            if (ls_isa_select((ls_isa)isa, &err) != 0) fail_msg("%s", err.msg);
            assert_int_equal(ls_isa_active(), isa);
            float *o = run_every_kernel(nt, &segs, &n_segs, &n);
            tested++;
            if (!ref) {
                ref = o;
                continue;
            }
            int64_t at = 0;
            for (int k = 0; k < n_segs; at += segs[k].n, k++)
                for (int64_t i = 0; i < segs[k].n; i++)
                    if (memcmp(&o[at + i], &ref[at + i], sizeof(float)) != 0)
                        fail_msg("%s, path %s, %d threads: output %lld is %.9g, on the generic path %.9g",
                                 segs[k].name, ls_isa_name((ls_isa)isa), nt, (long long)i, (double)o[at + i],
                                 (double)ref[at + i]);
            free(o);
        }
        free(ref);
    }
    assert_true(tested >= 2); /* generic and at least one more on any x86-64 CPU of the last decade */
    if (ls_isa_select(was, &err) != 0) fail_msg("%s", err.msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_matches_reference),
        cmocka_unit_test(test_matmul_nt_matches_reference),
        cmocka_unit_test(test_layernorm_matches_reference),
        cmocka_unit_test(test_gelu_matches_reference),
        cmocka_unit_test(test_attention_matches_reference),
        cmocka_unit_test(test_attention_row_statistics),
        cmocka_unit_test(test_attention_gqa_and_window),
        cmocka_unit_test(test_softmax_and_add),
        cmocka_unit_test(test_pointwise_and_attention_thread_independent),
        cmocka_unit_test(test_matmul_thread_independent),
        cmocka_unit_test(test_matmul_bf16_is_fp32_of_widened),
        cmocka_unit_test(test_gemv_thread_independent),
        cmocka_unit_test(test_matmul_bf16dot_is_its_definition),
        cmocka_unit_test(test_matmul_bf16dot_accuracy),
    };
    const struct CMUnitTest once[] = {
        cmocka_unit_test(test_isa_paths_bitwise_identical),
    };
    int failed = cmocka_run_group_tests(once, NULL, NULL);
    TEST_FOR_EACH_ISA(failed += cmocka_run_group_tests(tests, NULL, NULL));
    return failed;
}
