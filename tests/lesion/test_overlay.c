/* test_overlay.c: proves the overlay and the modes on in-memory weights
 * (3 layers, 4 heads, C = 64, D = 16):
 *  - a gauss lesion gives its slice the slice's mean and std (within
 *    sampling error), per tensor or per head, and leaves every other element
 *    of every tensor bitwise unchanged; the clean arrays are never written;
 *  - copy-on-write: only touched tensors are copied, once; reset gives back
 *    the clean pointers and frees every copy;
 *  - lesions compose, disjoint lesions commute bitwise, and randomness is
 *    keyed by element: heads lesioned together or one by one are equal;
 *  - shuffle is a permutation; zero, mean and scale are exact; uniform
 *    stays within mean +- sqrt(3) std; seeds reproduce and differ;
 *  - rng torch writes exactly ls_torch_gauss of the contiguous slice, and
 *    rejects a group of several blocks without changing anything;
 *  - the recorded statistics say what happened;
 *  - the tied embedding: wte lesions both uses (the head follows wte's
 *    copy), wte.in only the lookup (the head keeps the clean matrix, or what
 *    an earlier wte lesion made of it), wte.out only the head; once untied a
 *    wte lesion writes the same values into both; reset ties them again;
 *  - rng torch-stream: the first block is what torch draws after
 *    manual_seed, the next continues the same stream (not a restart), and a
 *    reset reseeds. */
#include "test_util.h"

#include "fake_weights.h"
#include "lesion/rng.h"

#include <math.h>

enum { L = 3, H = 4, C = 64, D = 16 };
#define T(layer, p) ls_layer_tensor(layer, p)

static fake_weights fw;

static int setup(void **state) {
    (void)state;
    fake_weights_init(&fw, fake_config(L, H, C));
    return 0;
}
static int teardown(void **state) {
    (void)state;
    assert_clean_untouched(&fw);
    fake_weights_free(&fw);
    return 0;
}

/* Mean and unbiased std of rows x cols at (row0, col0) of a tensor with n_cols columns. */
static void block_stats(const float *t, int64_t n_cols, int64_t row0, int64_t rows, int64_t col0, int64_t cols, double *mean,
                        double *std) {
    double s = 0, ss = 0;
    int64_t n = rows * cols;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) s += t[(row0 + r) * n_cols + col0 + c];
    *mean = s / (double)n;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            double d = t[(row0 + r) * n_cols + col0 + c] - *mean;
            ss += d * d;
        }
    *std = sqrt(ss / (double)(n - 1));
}

static int in_block(int64_t i, int64_t n_cols, int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
    int64_t r = i / n_cols, c = i % n_cols;
    return r >= row0 && r < row0 + rows && c >= col0 && c < col0 + cols;
}

/* Every tensor but `id` is the clean pointer; in `id` everything outside
 * the block is bitwise clean. */
static void assert_only_block_changed(const ls_overlay *ov, ls_tensor_id id, int64_t n_cols, int64_t row0, int64_t rows,
                                      int64_t col0, int64_t cols) {
    ls_weights v = ls_overlay_view(ov);
    assert_ptr_equal(v.cfg, &fw.cfg);
    for (int t = 0; t < fw.n; t++)
        if (t != id && !(t == LS_OUTPUT && id == LS_EMBED)) assert_ptr_equal(v.t[t], fw.ptrs[t]); /* a tied output follows wte */
    assert_ptr_not_equal(v.t[id], fw.data[id]);
    for (int64_t i = 0; i < fw.numel[id]; i++)
        if (!in_block(i, n_cols, row0, rows, col0, cols) && memcmp(&v.t[id][i], &fw.data[id][i], sizeof(float)) != 0)
            fail_msg("tensor %d element %lld outside the slice changed", id, (long long)i);
}

static void assert_views_equal(const ls_overlay *a, const ls_overlay *b) {
    ls_weights va = ls_overlay_view(a), vb = ls_overlay_view(b);
    for (int t = 0; t < fw.n; t++)
        if (fw.numel[t] > 0 && memcmp(va.t[t], vb.t[t], (size_t)fw.numel[t] * sizeof(float)) != 0) fail_msg("tensor %d differs", t);
}

static void test_gauss_slice(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    assert_non_null(ov);
    const ls_tensor_id id = T(1, LS_QKV_W);
    double m0, s0, m1, s1;
    block_stats(fw.data[id], 3 * C, 0, C, 0, C, &m0, &s0);
    ls_lesion l = fake_lesion(&fw, "attn.q@L1", "gauss", NULL, 0, 1, NULL);
    apply_ok(ov, &l);
    ls_weights v = ls_overlay_view(ov);
    block_stats(v.t[id], 3 * C, 0, C, 0, C, &m1, &s1);
    const double n = C * C;
    assert_true(fabs(m1 - m0) < 5 * s0 / sqrt(n));
    assert_true(fabs(s1 / s0 - 1) < 5 * sqrt(1 / (2 * n)));
    assert_only_block_changed(ov, id, 3 * C, 0, C, 0, C);
    int changed = 0;
    for (int64_t r = 0; r < C; r++)
        for (int64_t c = 0; c < C; c++) changed += v.t[id][r * 3 * C + c] != fw.data[id][r * 3 * C + c];
    assert_int_equal(changed, C * C);
    /* what was recorded */
    int n_stats;
    const ls_slice_stats *st = ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 1);
    assert_int_equal(st[0].lesion, 0);
    assert_int_equal(st[0].id, id);
    assert_int_equal(st[0].head, -1);
    assert_int_equal(st[0].is_bias, 0);
    assert_int_equal(st[0].n, C * C);
    assert_true(fabs(st[0].mean_before - m0) < 1e-12 && fabs(st[0].std_before - s0) < 1e-12);
    assert_true(fabs(st[0].mean_after - m1) < 1e-12 && fabs(st[0].std_after - s1) < 1e-12);
    /* one copy of c_attn.weight, not the model */
    assert_int_equal(ls_overlay_bytes(ov), (size_t)C * 3 * C * sizeof(float));
    ls_overlay_free(ov);
}

static void test_match_head(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    const ls_tensor_id id = T(0, LS_QKV_W);
    /* make the heads' statistics differ, in a private copy of the clean data */
    ls_lesion scale = fake_lesion(&fw, "attn.k@L0H3", "scale:4", NULL, 0, 0, NULL);
    apply_ok(ov, &scale);
    ls_lesion l = fake_lesion(&fw, "attn.k@L0", "gauss", "head", 0, 2, NULL);
    double before[H][2];
    for (int h = 0; h < H; h++) block_stats(ls_overlay_view(ov).t[id], 3 * C, 0, C, C + h * D, D, &before[h][0], &before[h][1]);
    apply_ok(ov, &l);
    int n_stats;
    const ls_slice_stats *st = ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 1 + H);
    for (int h = 0; h < H; h++) {
        double m, s;
        block_stats(ls_overlay_view(ov).t[id], 3 * C, 0, C, C + h * D, D, &m, &s);
        const double n = C * D;
        assert_true(fabs(m - before[h][0]) < 5 * before[h][1] / sqrt(n));
        assert_true(fabs(s / before[h][1] - 1) < 5 * sqrt(1 / (2 * n)));
        assert_int_equal(st[1 + h].lesion, 1);
        assert_int_equal(st[1 + h].head, h);
        assert_int_equal(st[1 + h].n, C * D);
        assert_true(fabs(st[1 + h].std_before - before[h][1]) < 1e-12);
    }
    assert_true(before[3][1] > 3 * before[0][1]); /* head 3 kept its own (larger) std */
    assert_only_block_changed(ov, id, 3 * C, 0, C, C, C);
    ls_overlay_free(ov);
}

static void test_reset(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    ls_overlay *fresh = ls_overlay_new(&fw.view);
    const char *specs[] = {"attn.q@all", "mlp.proj@L2D1-5", "wte@D0-3", "lnf", "attn.o@L1H2"};
    for (size_t i = 0; i < 5; i++) {
        ls_lesion l = fake_lesion(&fw, specs[i], "gauss", NULL, 1, 9, NULL);
        apply_ok(ov, &l);
    }
    assert_true(ls_overlay_bytes(ov) > 0);
    ls_overlay_reset(ov);
    ls_weights v = ls_overlay_view(ov);
    for (int t = 0; t < fw.n; t++) assert_ptr_equal(v.t[t], fw.ptrs[t]);
    assert_int_equal(ls_overlay_bytes(ov), 0);
    int n_stats;
    ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 0);
    /* after a reset, a lesion starts from the clean weights again */
    ls_lesion l = fake_lesion(&fw, "attn.v@L2H1", "uniform", NULL, 0, 4, NULL);
    apply_ok(ov, &l);
    apply_ok(fresh, &l);
    assert_views_equal(ov, fresh);
    const ls_slice_stats *st = ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 1);
    assert_int_equal(st[0].lesion, 0);
    ls_overlay_free(ov);
    ls_overlay_free(fresh);
}

static void test_disjoint_commute(void **state) {
    (void)state;
    ls_lesion ls[] = {
        fake_lesion(&fw, "attn.q@L0H1", "gauss", NULL, 1, 5, NULL),
        fake_lesion(&fw, "attn.q@L0H2", "uniform", NULL, 0, 6, NULL),
        fake_lesion(&fw, "mlp.fc@L1D3-7", "shuffle", NULL, 1, 7, NULL),
        fake_lesion(&fw, "wte@D0-3", "gauss", NULL, 0, 8, NULL),
        fake_lesion(&fw, "attn.o@L2H0", "shuffle", NULL, 0, 9, NULL),
        fake_lesion(&fw, "attn.o@L2H3", "mean", NULL, 0, 9, NULL),
    };
    const int n = (int)(sizeof ls / sizeof ls[0]);
    ls_overlay *fwd = ls_overlay_new(&fw.view), *bwd = ls_overlay_new(&fw.view);
    for (int i = 0; i < n; i++) apply_ok(fwd, &ls[i]);
    for (int i = n - 1; i >= 0; i--) apply_ok(bwd, &ls[i]);
    assert_views_equal(fwd, bwd);
    ls_overlay_free(fwd);
    ls_overlay_free(bwd);

    /* randomness is keyed by element: two heads at once (match head) equal one after the other */
    ls_overlay *together = ls_overlay_new(&fw.view), *apart = ls_overlay_new(&fw.view);
    ls_lesion both = fake_lesion(&fw, "attn.q@L1H1,2", "gauss", "head", 0, 3, NULL);
    ls_lesion h1 = fake_lesion(&fw, "attn.q@L1H1", "gauss", NULL, 0, 3, NULL);
    ls_lesion h2 = fake_lesion(&fw, "attn.q@L1H2", "gauss", NULL, 0, 3, NULL);
    apply_ok(together, &both);
    apply_ok(apart, &h2);
    apply_ok(apart, &h1);
    assert_views_equal(together, apart);
    ls_overlay_free(together);
    ls_overlay_free(apart);
}

static void test_compose(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    const ls_tensor_id id = T(2, LS_FFN_UP_W);
    ls_lesion a = fake_lesion(&fw, "mlp.fc@L2", "scale:2", NULL, 0, 0, NULL);
    ls_lesion b = fake_lesion(&fw, "mlp.fc@L2D0-9", "scale:3", NULL, 0, 0, NULL);
    apply_ok(ov, &a);
    const float *after_a = ls_overlay_view(ov).t[id];
    apply_ok(ov, &b);
    assert_ptr_equal(ls_overlay_view(ov).t[id], after_a); /* copied once */
    const float *v = ls_overlay_view(ov).t[id];
    for (int64_t i = 0; i < fw.numel[id]; i++) {
        float x2 = (float)((double)fw.data[id][i] * 2.0);
        float want = i % (4 * C) < 10 ? (float)((double)x2 * 3.0) : x2;
        assert_memory_equal(&v[i], &want, sizeof want);
    }
    int n_stats;
    const ls_slice_stats *st = ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 2);
    assert_int_equal(st[1].lesion, 1);
    assert_true(fabs(st[1].std_after - 3 * st[1].std_before) < 1e-6);
    assert_int_equal(ls_overlay_bytes(ov), (size_t)C * 4 * C * sizeof(float));
    ls_overlay_free(ov);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_shuffle(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    const ls_tensor_id id = T(2, LS_FFN_UP_W);
    ls_lesion l = fake_lesion(&fw, "mlp.fc@L2D0-99", "shuffle", NULL, 0, 11, NULL);
    apply_ok(ov, &l);
    const float *v = ls_overlay_view(ov).t[id];
    float *was = malloc(C * 100 * sizeof *was), *now = malloc(C * 100 * sizeof *now);
    int moved = 0;
    for (int r = 0; r < C; r++)
        for (int c = 0; c < 100; c++) {
            was[r * 100 + c] = fw.data[id][r * 4 * C + c];
            now[r * 100 + c] = v[r * 4 * C + c];
            moved += was[r * 100 + c] != now[r * 100 + c];
        }
    assert_true(moved > C * 100 * 9 / 10);
    qsort(was, C * 100, sizeof *was, cmp_float);
    qsort(now, C * 100, sizeof *now, cmp_float);
    assert_memory_equal(was, now, C * 100 * sizeof *was);
    assert_only_block_changed(ov, id, 4 * C, 0, C, 0, 100);
    free(was);
    free(now);

    /* match head: each head keeps its own values */
    ls_overlay_reset(ov);
    const ls_tensor_id a = T(0, LS_QKV_W);
    ls_lesion lh = fake_lesion(&fw, "attn.v@L0", "shuffle", "head", 0, 12, NULL);
    apply_ok(ov, &lh);
    v = ls_overlay_view(ov).t[a];
    for (int h = 0; h < H; h++) {
        float w0[C * D], w1[C * D];
        for (int r = 0; r < C; r++)
            for (int c = 0; c < D; c++) {
                w0[r * D + c] = fw.data[a][r * 3 * C + 2 * C + h * D + c];
                w1[r * D + c] = v[r * 3 * C + 2 * C + h * D + c];
            }
        assert_memory_not_equal(w0, w1, sizeof w0);
        qsort(w0, C * D, sizeof(float), cmp_float);
        qsort(w1, C * D, sizeof(float), cmp_float);
        assert_memory_equal(w0, w1, sizeof w0);
    }
    ls_overlay_free(ov);
}

static void test_exact_modes(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    /* zero, with the bias: the Q part of c_attn.bias goes too, K and V stay */
    ls_lesion z = fake_lesion(&fw, "attn.q@L1", "zero", NULL, 1, 0, NULL);
    apply_ok(ov, &z);
    ls_weights v = ls_overlay_view(ov);
    const ls_tensor_id w = T(1, LS_QKV_W), b = T(1, LS_QKV_B);
    for (int r = 0; r < C; r++)
        for (int c = 0; c < C; c++) assert_true(v.t[w][r * 3 * C + c] == 0.0f && !signbit(v.t[w][r * 3 * C + c]));
    for (int c = 0; c < 3 * C; c++) {
        if (c < C) assert_true(v.t[b][c] == 0.0f);
        else assert_memory_equal(&v.t[b][c], &fw.data[b][c], sizeof(float));
    }
    int n_stats;
    const ls_slice_stats *st = ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 2);
    assert_int_equal(st[1].id, b);
    assert_int_equal(st[1].is_bias, 1);
    assert_int_equal(st[1].n, C);
    assert_true(st[1].mean_after == 0 && st[1].std_after == 0);

    /* mean: every element is the double mean rounded once */
    ls_overlay_reset(ov);
    const ls_tensor_id e = LS_POS_EMBED;
    double m, s;
    block_stats(fw.data[e], C, 0, 8, 4, 6, &m, &s);
    ls_lesion mean = fake_lesion(&fw, "wpe@D4-9", "mean", NULL, 0, 0, NULL);
    apply_ok(ov, &mean);
    v = ls_overlay_view(ov);
    const float want = (float)m;
    for (int r = 0; r < 8; r++)
        for (int c = 4; c < 10; c++) assert_memory_equal(&v.t[e][r * C + c], &want, sizeof want);
    assert_only_block_changed(ov, e, C, 0, 8, 4, 6);

    /* scale */
    ls_overlay_reset(ov);
    ls_lesion sc = fake_lesion(&fw, "ln2@L0", "scale:0.5", NULL, 0, 0, NULL);
    apply_ok(ov, &sc);
    v = ls_overlay_view(ov);
    for (int c = 0; c < C; c++) assert_true(v.t[T(0, LS_FFN_NORM_W)][c] == fw.data[T(0, LS_FFN_NORM_W)][c] * 0.5f);
    ls_overlay_free(ov);
}

static void test_uniform(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    const ls_tensor_id id = T(1, LS_FFN_DOWN_W); /* (4C, C) */
    double m0, s0, m1, s1;
    block_stats(fw.data[id], C, 0, 4 * C, 0, C, &m0, &s0);
    ls_lesion l = fake_lesion(&fw, "mlp.proj@L1", "uniform", NULL, 0, 13, NULL);
    apply_ok(ov, &l);
    const float *v = ls_overlay_view(ov).t[id];
    block_stats(v, C, 0, 4 * C, 0, C, &m1, &s1);
    const double n = 4 * C * C;
    assert_true(fabs(m1 - m0) < 5 * s0 / sqrt(n));
    assert_true(fabs(s1 / s0 - 1) < 5 * sqrt(0.8 / (4 * n))); /* a uniform's sample std varies less */
    for (int64_t i = 0; i < n; i++) assert_true(fabs(v[i] - m0) <= sqrt(3.0) * s0 * (1 + 1e-6));
    ls_overlay_free(ov);
}

static void test_seeds(void **state) {
    (void)state;
    const char *modes[] = {"gauss", "uniform", "shuffle"};
    for (int m = 0; m < 3; m++) {
        ls_overlay *a = ls_overlay_new(&fw.view), *b = ls_overlay_new(&fw.view), *c = ls_overlay_new(&fw.view);
        ls_lesion la = fake_lesion(&fw, "attn.k@L2H1-2", modes[m], NULL, 1, 100, NULL);
        ls_lesion lc = fake_lesion(&fw, "attn.k@L2H1-2", modes[m], NULL, 1, 101, NULL);
        apply_ok(a, &la);
        apply_ok(b, &la);
        apply_ok(c, &lc);
        assert_views_equal(a, b);
        const ls_tensor_id id = T(2, LS_QKV_W);
        assert_memory_not_equal(ls_overlay_view(a).t[id], ls_overlay_view(c).t[id], (size_t)fw.numel[id] * sizeof(float));
        ls_overlay_free(a);
        ls_overlay_free(b);
        ls_overlay_free(c);
    }
}

static void test_memory(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    assert_int_equal(ls_overlay_bytes(ov), 0);
    ls_lesion q = fake_lesion(&fw, "attn.q@L0", NULL, NULL, 0, 0, NULL);
    ls_lesion k = fake_lesion(&fw, "attn.k@L0", NULL, NULL, 0, 0, NULL);
    ls_lesion fc = fake_lesion(&fw, "mlp.fc@L0D1", NULL, NULL, 1, 0, NULL);
    apply_ok(ov, &q);
    assert_int_equal(ls_overlay_bytes(ov), (size_t)C * 3 * C * 4);
    apply_ok(ov, &k);
    assert_int_equal(ls_overlay_bytes(ov), (size_t)C * 3 * C * 4);
    apply_ok(ov, &fc);
    assert_int_equal(ls_overlay_bytes(ov), (size_t)(C * 3 * C + C * 4 * C + 4 * C) * 4);
    ls_overlay_reset(ov);
    assert_int_equal(ls_overlay_bytes(ov), 0);
    ls_overlay_free(ov);
}

static void test_torch_rng(void **state) {
    (void)state;
    const ls_tensor_id id = T(1, LS_QKV_W);
    const char *rngs[] = {"torch", "torch-avx512:3", "torch-scalar:2"};
    const ls_torch_kernel kernels[] = {LS_TORCH_AVX2, LS_TORCH_AVX512, LS_TORCH_DEFAULT};
    for (int k = 0; k < 3; k++) {
        ls_overlay *ov = ls_overlay_new(&fw.view);
        ls_lesion l = fake_lesion(&fw, "attn.v@L1H1-2", "gauss", NULL, 0, 3, rngs[k]);
        apply_ok(ov, &l);
        /* the same as torch on the contiguous (C, 2D) slice */
        float slice[C * 2 * D], scratch[C * 2 * D];
        for (int r = 0; r < C; r++)
            for (int c = 0; c < 2 * D; c++) slice[r * 2 * D + c] = fw.data[id][r * 3 * C + 2 * C + D + c];
        ls_torch_gauss(slice, C * 2 * D, 3, kernels[k], k + 1, scratch, NULL, NULL);
        const float *v = ls_overlay_view(ov).t[id];
        for (int r = 0; r < C; r++) assert_memory_equal(&v[r * 3 * C + 2 * C + D], &slice[r * 2 * D], 2 * D * sizeof(float));
        assert_only_block_changed(ov, id, 3 * C, 0, C, 2 * C + D, 2 * D);
        ls_overlay_free(ov);
    }

    /* two separate heads are two blocks: rejected with match tensor, and nothing changes */
    ls_overlay *ov = ls_overlay_new(&fw.view);
    ls_lesion first = fake_lesion(&fw, "wte@D0", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &first);
    size_t bytes = ls_overlay_bytes(ov);
    ls_lesion bad = fake_lesion(&fw, "attn.q@L1H0,2", "gauss", NULL, 1, 3, "torch");
    ls_error err = {{0}};
    assert_int_equal(ls_overlay_apply(ov, &bad, &err), -1);
    assert_contains(err.msg, "rng torch: attn.q@L1H0,2 puts 2 separate blocks into h.1.attn.c_attn.weight");
    assert_contains(err.msg, "use match head");
    assert_int_equal(ls_overlay_bytes(ov), bytes);
    ls_weights v = ls_overlay_view(ov);
    for (int t = 1; t < fw.n; t++)
        if (t != LS_OUTPUT) assert_ptr_equal(v.t[t], fw.ptrs[t]); /* the tied output follows wte */
    int n_stats;
    ls_overlay_stats(ov, &n_stats);
    assert_int_equal(n_stats, 1);

    /* with match head each head is its own torch slice (each restarts at the seed) */
    ls_lesion heads = fake_lesion(&fw, "attn.q@L1H0,2", "gauss", "head", 0, 3, "torch");
    apply_ok(ov, &heads);
    const float *t = ls_overlay_view(ov).t[id];
    for (int h = 0; h <= 2; h += 2) {
        float slice[C * D], scratch[C * D];
        for (int r = 0; r < C; r++)
            for (int c = 0; c < D; c++) slice[r * D + c] = fw.data[id][r * 3 * C + h * D + c];
        ls_torch_gauss(slice, C * D, 3, LS_TORCH_AVX2, 1, scratch, NULL, NULL);
        for (int r = 0; r < C; r++) assert_memory_equal(&t[r * 3 * C + h * D], &slice[r * D], D * sizeof(float));
    }
    ls_overlay_free(ov);
}

/* Column col of a (V, C) matrix is all zero. */
static int col_zero(const float *t, int V, int col) {
    for (int r = 0; r < V; r++)
        if (t[r * C + col] != 0.0f) return 0;
    return 1;
}

static void test_tied_embedding(void **state) {
    (void)state;
    const int V = fw.cfg.vocab_size;
    const float *clean = fw.data[LS_EMBED];
    ls_overlay *ov = ls_overlay_new(&fw.view);
    ls_weights v = ls_overlay_view(ov);
    assert_ptr_equal(v.t[LS_OUTPUT], clean); /* a tied head: wte's memory */

    ls_lesion l = fake_lesion(&fw, "wte@D1", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_true(col_zero(v.t[LS_EMBED], V, 1));
    assert_ptr_equal(v.t[LS_OUTPUT], v.t[LS_EMBED]); /* both uses lesioned */
    ls_overlay_reset(ov);

    l = fake_lesion(&fw, "wte.in@D1", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_true(col_zero(v.t[LS_EMBED], V, 1));
    assert_ptr_equal(v.t[LS_OUTPUT], clean); /* the head keeps the clean matrix, no copy */
    assert_int_equal(ls_overlay_bytes(ov), (size_t)V * C * sizeof(float));
    ls_overlay_reset(ov);

    l = fake_lesion(&fw, "wte.out@D1", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_ptr_equal(v.t[LS_EMBED], clean);
    assert_true(col_zero(v.t[LS_OUTPUT], V, 1));
    for (int r = 0; r < V; r++)
        for (int c = 0; c < C; c++)
            if (c != 1) assert_true(v.t[LS_OUTPUT][r * C + c] == clean[r * C + c]);
    ls_overlay_reset(ov);

    /* wte, then wte.in: the head keeps the first lesion only */
    l = fake_lesion(&fw, "wte@D0", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    l = fake_lesion(&fw, "wte.in@D1", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_true(col_zero(v.t[LS_EMBED], V, 0) && col_zero(v.t[LS_EMBED], V, 1));
    assert_true(col_zero(v.t[LS_OUTPUT], V, 0) && !col_zero(v.t[LS_OUTPUT], V, 1));
    ls_overlay_reset(ov);

    /* wte.out, then wte (gauss): the same new values in both copies of D3 */
    l = fake_lesion(&fw, "wte.out@D2", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    l = fake_lesion(&fw, "wte@D3", "gauss", NULL, 0, 9, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_true(v.t[LS_OUTPUT] != v.t[LS_EMBED]);
    assert_true(col_zero(v.t[LS_OUTPUT], V, 2) && !col_zero(v.t[LS_EMBED], V, 2));
    for (int r = 0; r < V; r++) {
        assert_true(v.t[LS_OUTPUT][r * C + 3] == v.t[LS_EMBED][r * C + 3]);
        assert_true(v.t[LS_OUTPUT][r * C + 3] != clean[r * C + 3]);
    }
    /* reset: tied again */
    ls_overlay_reset(ov);
    v = ls_overlay_view(ov);
    assert_ptr_equal(v.t[LS_OUTPUT], clean);
    l = fake_lesion(&fw, "wte@D0", "zero", NULL, 0, 0, NULL);
    apply_ok(ov, &l);
    v = ls_overlay_view(ov);
    assert_ptr_equal(v.t[LS_OUTPUT], v.t[LS_EMBED]);
    ls_overlay_free(ov);
}

static void test_torch_stream(void **state) {
    (void)state;
    ls_overlay *ov = ls_overlay_new(&fw.view);
    ls_lesion l = fake_lesion(&fw, "attn.q@L0-1", "gauss", NULL, 0, 3, "torch-stream");
    apply_ok(ov, &l);
    /* expected: seed once, L0's (C, C) block, then L1's from the same stream */
    float s0[C * C], s1[C * C], restart[C * C], scratch[C * C];
    for (int r = 0; r < C; r++)
        for (int c = 0; c < C; c++) {
            s0[r * C + c] = fw.data[T(0, LS_QKV_W)][r * 3 * C + c];
            s1[r * C + c] = restart[r * C + c] = fw.data[T(1, LS_QKV_W)][r * 3 * C + c];
        }
    ls_torch_gen *g = ls_torch_gen_new();
    assert_non_null(g);
    ls_torch_gen_seed(g, 3);
    ls_torch_gauss_stream(s0, C * C, g, LS_TORCH_AVX2, 1, scratch, NULL, NULL);
    ls_torch_gauss_stream(s1, C * C, g, LS_TORCH_AVX2, 1, scratch, NULL, NULL);
    ls_torch_gauss(restart, C * C, 3, LS_TORCH_AVX2, 1, scratch, NULL, NULL);
    ls_torch_gen_free(g);
    for (int pass = 0; pass < 2; pass++) {
        ls_weights v = ls_overlay_view(ov);
        for (int r = 0; r < C; r++) {
            assert_memory_equal(&v.t[T(0, LS_QKV_W)][r * 3 * C], &s0[r * C], C * sizeof(float));
            assert_memory_equal(&v.t[T(1, LS_QKV_W)][r * 3 * C], &s1[r * C], C * sizeof(float));
        }
        /* not what --rng torch gives L1 (a restart at the seed) */
        assert_true(memcmp(&v.t[T(1, LS_QKV_W)][0], &restart[0], C * sizeof(float)) != 0);
        ls_overlay_reset(ov); /* reseeds: the same again */
        apply_ok(ov, &l);
    }
    ls_overlay_free(ov);
}

static void test_errors(void **state) {
    (void)state;
    /* a lesion parsed for a bigger model does not fit this one */
    ls_config big = fake_config(12, 4, 64);
    ls_lesion l;
    ls_error err = {{0}};
    assert_int_equal(ls_lesion_parse(&l, &big, "attn.q@L7", NULL, NULL, 0, 0, NULL, &err), 0);
    ls_overlay *ov = ls_overlay_new(&fw.view);
    assert_int_equal(ls_overlay_apply(ov, &l, &err), -1);
    assert_contains(err.msg, "does not fit this model: layer 7 out of range 0-2");
    assert_int_equal(ls_overlay_bytes(ov), 0);
    /* a one-element slice has no torch std */
    ls_lesion one = fake_lesion(&fw, "lnf@D3", "gauss", NULL, 0, 0, "torch");
    assert_int_equal(ls_overlay_apply(ov, &one, &err), -1);
    assert_contains(err.msg, "no std");
    /* with philox it has std 0: gauss leaves it at its mean, i.e. itself */
    one = fake_lesion(&fw, "lnf@D3", "gauss", NULL, 0, 0, NULL);
    apply_ok(ov, &one);
    assert_memory_equal(ls_overlay_view(ov).t[LS_OUT_NORM_W], fw.data[LS_OUT_NORM_W], C * sizeof(float));
    ls_overlay_free(ov);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gauss_slice), cmocka_unit_test(test_match_head), cmocka_unit_test(test_reset),
        cmocka_unit_test(test_disjoint_commute), cmocka_unit_test(test_compose), cmocka_unit_test(test_shuffle),
        cmocka_unit_test(test_exact_modes), cmocka_unit_test(test_uniform), cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_memory), cmocka_unit_test(test_torch_rng), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tied_embedding), cmocka_unit_test(test_torch_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
