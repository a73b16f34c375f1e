/* test_forward.c: proves, on a small random GPT-2, that the forward pass is
 * bitwise identical for 1 and 2 threads; that the KV cache is consistent
 * (prefill in one call = prefill in chunks = prefill then single steps, to
 * 1e-5); that sequences in a batch do not see each other (batched logits =
 * each sequence alone, to 1e-5); that ls_embed + ls_block + ls_head compose
 * to exactly ls_forward; that bad token ids, positions and batch sizes are
 * refused with messages; that greedy generation is deterministic and equals
 * the argmax of an uncached forward step by step, sampling depends only on
 * the seed (not on thread count), top_k = 1 is greedy and stop ids stop; and
 * that ls_sample gives known answers on hand-made logits (temperature 0,
 * ties, top_k, top_p, and the sampled frequencies of a known distribution);
 * that bf16 weight storage computes exactly the fp32 pass over the widened
 * matrices, clean and lesioned; that copying the fp32 weights into private
 * memory changes no bit; that --compute bf16 (ls_model_compute_bf16) is
 * refused without bf16 storage, changes the logits of a prefill (within
 * 1e-3 here) but not those of 1-3 rows (the decode kernels keep fp32
 * arithmetic), is bitwise the same for 1 and 2 threads, and runs a
 * lesioned tensor in fp32. Everything runs once per ISA path this CPU
 * supports (TEST_FOR_EACH_ISA). */
#include "test_util.h"
#include "io/bf16.h"

#include <math.h>

typedef struct {
    char dir[64];
    ls_model *model;
    ls_weights w;
    const ls_config *cfg;
} fixture;

static ls_config k_cfg; /* GPT-2: 2 layers, 2 heads, C 16, context 32, V 23 (setup) */
#define V 23

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    k_cfg = ls_config_gpt2(2, 2, 16, 32, 23);
    test_tmpdir(f->dir, sizeof f->dir);
    ls_error err = {{0}};
    char dir[128];
    test_path(dir, sizeof dir, f->dir, "model");
    /* 0.02 weights give near-uniform logits; that is fine for these tests, which compare paths. */
    if (ls_model_init_random(&k_cfg, 1234, LS_DTYPE_F32, dir, &err) != 0 || ls_model_open(&f->model, dir, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->w = ls_model_weights(f->model);
    f->cfg = ls_model_config(f->model);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ls_model_close(f->model);
    test_rmtree(f->dir);
    free(f);
    return 0;
}

static ls_state *new_state(const ls_config *cfg, int B, int S, int threads) {
    ls_state *s = NULL;
    ls_error err = {{0}};
    if (ls_state_new(&s, cfg, B, S, threads, &err) != 0) fail_msg("%s", err.msg);
    return s;
}

static void forward_ok(ls_state *s, const ls_weights *w, const int32_t *tok, int B, int T, int pos0, float *logits,
                       enum ls_logits_mode mode) {
    ls_error err = {{0}};
    if (ls_forward(s, w, tok, B, T, pos0, logits, mode, &err) != 0) fail_msg("%s", err.msg);
}

/* Deterministic token ids in 0..V-1. */
static void fill_tokens(int32_t *t, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) t[i] = (int32_t)(ls_mix64(seed, (uint64_t)i) % V);
}

static void assert_close(const float *a, const float *b, int64_t n, double tol, const char *what) {
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)a[i] - b[i]));
    if (!(mx <= tol)) fail_msg("%s: max |diff| %.3g > %.3g", what, mx, tol);
}

static int32_t argmax(const float *x, int n) {
    int32_t b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static void test_threads_bitwise_identical(void **state) {
    fixture *f = *state;
    enum { B = 2, T = 20 };
    int32_t tok[B * T];
    fill_tokens(tok, B * T, 1);
    float *l1 = malloc(sizeof(float) * B * T * V), *l2 = malloc(sizeof(float) * B * T * V);
    assert_non_null(l1);
    assert_non_null(l2);
    ls_state *s1 = new_state(f->cfg, B, T, 1), *s2 = new_state(f->cfg, B, T, 2);
    assert_int_equal(ls_state_threads(s2), 2);
    forward_ok(s1, &f->w, tok, B, T, 0, l1, LS_LOGITS_ALL);
    forward_ok(s2, &f->w, tok, B, T, 0, l2, LS_LOGITS_ALL);
    assert_memory_equal(l1, l2, sizeof(float) * B * T * V);
    for (int i = 0; i < B * T * V; i++) assert_true(isfinite(l1[i]));
    /* Cached steps too. */
    forward_ok(s1, &f->w, tok, B, T - 3, 0, NULL, LS_LOGITS_NONE);
    forward_ok(s2, &f->w, tok, B, T - 3, 0, NULL, LS_LOGITS_NONE);
    forward_ok(s1, &f->w, tok, B, 3, T - 3, l1, LS_LOGITS_LAST);
    forward_ok(s2, &f->w, tok, B, 3, T - 3, l2, LS_LOGITS_LAST);
    assert_memory_equal(l1, l2, sizeof(float) * B * V);
    ls_state_free(s1);
    ls_state_free(s2);
    free(l1);
    free(l2);
}

static void test_kv_cache_consistency(void **state) {
    fixture *f = *state;
    enum { T = 21 };
    int32_t tok[T];
    fill_tokens(tok, T, 2);
    float *full = malloc(sizeof(float) * T * V), *part = malloc(sizeof(float) * T * V);
    assert_non_null(full);
    assert_non_null(part);
    ls_state *s = new_state(f->cfg, 1, 32, 1);
    forward_ok(s, &f->w, tok, 1, T, 0, full, LS_LOGITS_ALL);

    /* Prefill T-1, then one step: the last position's logits agree. */
    float last[V];
    forward_ok(s, &f->w, tok, 1, T - 1, 0, NULL, LS_LOGITS_NONE);
    forward_ok(s, &f->w, tok + T - 1, 1, 1, T - 1, last, LS_LOGITS_LAST);
    assert_close(last, full + (T - 1) * V, V, 1e-5, "prefill T-1 + 1 step vs prefill T");

    /* Prefill in chunks 7 + 6 + 8 with all logits: every row agrees. */
    forward_ok(s, &f->w, tok, 1, 7, 0, part, LS_LOGITS_ALL);
    forward_ok(s, &f->w, tok + 7, 1, 6, 7, part + 7 * V, LS_LOGITS_ALL);
    forward_ok(s, &f->w, tok + 13, 1, 8, 13, part + 13 * V, LS_LOGITS_ALL);
    assert_close(part, full, T * V, 1e-5, "chunked prefill vs one prefill");

    /* One token at a time from the start. */
    for (int t = 0; t < T; t++) forward_ok(s, &f->w, tok + t, 1, 1, t, part + t * V, LS_LOGITS_LAST);
    assert_close(part, full, T * V, 1e-5, "token-by-token vs one prefill");

    /* LS_LOGITS_LAST of a prefill is the last row of LS_LOGITS_ALL (the head
     * may run a different BLAS path for 1 row than for T rows). */
    forward_ok(s, &f->w, tok, 1, T, 0, last, LS_LOGITS_LAST);
    assert_close(last, full + (T - 1) * V, V, 1e-5, "LS_LOGITS_LAST vs last row of LS_LOGITS_ALL");
    ls_state_free(s);
    free(full);
    free(part);
}

static void test_batch_consistency(void **state) {
    fixture *f = *state;
    enum { T = 12 };
    int32_t tok[2 * T];
    fill_tokens(tok, 2 * T, 3);
    tok[0] = 5, tok[T] = 17; /* surely different sequences */
    float both[2 * T * V], alone[T * V];
    ls_state *s = new_state(f->cfg, 3, 16, 2);
    forward_ok(s, &f->w, tok, 2, T, 0, both, LS_LOGITS_ALL);
    for (int b = 0; b < 2; b++) {
        forward_ok(s, &f->w, tok + b * T, 1, T, 0, alone, LS_LOGITS_ALL);
        assert_close(both + b * T * V, alone, T * V, 1e-5, "batched vs alone");
    }
    /* With the cache: both prefilled to 8 in a batch, then 4 more positions in a batch. */
    int32_t head[2 * 8], tail[2 * 4];
    for (int b = 0; b < 2; b++) {
        memcpy(head + b * 8, tok + b * T, 8 * sizeof *tok);
        memcpy(tail + b * 4, tok + b * T + 8, 4 * sizeof *tok);
    }
    float step[2 * 4 * V];
    forward_ok(s, &f->w, head, 2, 8, 0, NULL, LS_LOGITS_NONE);
    forward_ok(s, &f->w, tail, 2, 4, 8, step, LS_LOGITS_ALL);
    for (int b = 0; b < 2; b++) assert_close(step + b * 4 * V, both + (b * T + 8) * V, 4 * V, 1e-5, "batched cache");
    /* LS_LOGITS_LAST gives one row per sequence. */
    float lastrows[2 * V];
    forward_ok(s, &f->w, tok, 2, T, 0, lastrows, LS_LOGITS_LAST);
    for (int b = 0; b < 2; b++) assert_close(lastrows + b * V, both + (b * T + T - 1) * V, V, 1e-5, "batched LAST rows");
    ls_state_free(s);
}

static void test_stages_compose_to_forward(void **state) {
    fixture *f = *state;
    enum { B = 2, T = 9 };
    const int C = f->cfg->n_embd;
    int32_t tok[B * T];
    fill_tokens(tok, B * T, 4);
    float ref[B * T * V], got[B * T * V];
    float *x = malloc(sizeof(float) * B * T * C);
    assert_non_null(x);
    ls_state *s = new_state(f->cfg, B, T, 1);
    forward_ok(s, &f->w, tok, B, T, 0, ref, LS_LOGITS_ALL);
    ls_embed(s, &f->w, tok, B, T, 0, x);
    /* Embedding = wte[token] + wpe[position]. */
    assert_true(x[(1 * T + 3) * C + 5] == f->w.t[LS_EMBED][tok[T + 3] * C + 5] + f->w.t[LS_POS_EMBED][3 * C + 5]);
    for (int l = 0; l < f->cfg->n_layer; l++) ls_block(s, &f->w, l, x, B, T, 0);
    ls_head(s, &f->w, x, B * T, got);
    assert_memory_equal(got, ref, sizeof ref);
    /* ls_forward's own residual buffer holds the final x. */
    assert_memory_equal(ls_state_residual(s), x, sizeof(float) * B * T * C);
    ls_state_free(s);
    free(x);
}

static void test_forward_rejects_bad_input(void **state) {
    fixture *f = *state;
    ls_state *s = new_state(f->cfg, 2, 8, 1);
    assert_int_equal(ls_state_max_seq(s), 8);
    assert_true(ls_state_batch_fits(s, 2, 8));
    assert_false(ls_state_batch_fits(s, 3, 8));
    assert_false(ls_state_batch_fits(s, 1, 9));
    int32_t tok[16] = {0};
    float logits[16 * V];
    ls_error err = {{0}};

    tok[3] = V; /* one past the vocabulary */
    assert_int_equal(ls_forward(s, &f->w, tok, 1, 4, 0, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "token id 23 at index 3 is outside the vocabulary (0..22)");
    tok[3] = -1;
    assert_int_equal(ls_forward(s, &f->w, tok, 1, 4, 0, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "token id -1");
    tok[3] = 0;

    assert_int_equal(ls_forward(s, &f->w, tok, 1, 9, 0, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "positions 0..8 exceed the context length 8");
    assert_int_equal(ls_forward(s, &f->w, tok, 1, 2, 7, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "positions 7..8 exceed the context length 8");
    assert_int_equal(ls_forward(s, &f->w, tok, 1, 1, -1, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "exceed the context length");
    assert_int_equal(ls_forward(s, &f->w, tok, 1, 0, 0, logits, LS_LOGITS_ALL, &err), -1);
    assert_int_equal(ls_forward(s, &f->w, tok, 3, 2, 0, logits, LS_LOGITS_ALL, &err), -1);
    assert_contains(err.msg, "batch of 3 sequences (this state holds 1..2)");
    assert_int_equal(ls_forward(s, &f->w, tok, 0, 2, 0, logits, LS_LOGITS_ALL, &err), -1);
    /* The last position that fits is fine. */
    forward_ok(s, &f->w, tok, 2, 1, 7, logits, LS_LOGITS_ALL);

    ls_state *bad = (ls_state *)1;
    assert_int_equal(ls_state_new(&bad, f->cfg, 1, 33, 1, &err), -1); /* longer than n_ctx = 32 */
    assert_null(bad);
    assert_contains(err.msg, "invalid state shape");
    assert_int_equal(ls_state_new(&bad, f->cfg, 0, 8, 1, &err), -1);
    assert_int_equal(ls_state_new(&bad, f->cfg, 1, 8, 0, &err), -1);
    ls_state_free(NULL);
    ls_state_free(s);
}

static void generate_ok(ls_state *s, const ls_weights *w, const int32_t *prompt, int np, int n_new,
                        const ls_sampler *sp, int32_t stop, int32_t *out, int *n_out) {
    ls_error err = {{0}};
    if (ls_generate(s, w, prompt, np, n_new, sp, stop, out, n_out, &err) != 0) fail_msg("%s", err.msg);
}

static void test_generation(void **state) {
    fixture *f = *state;
    enum { NP = 3, NEW = 12 };
    const int32_t prompt[NP] = {4, 9, 1};
    ls_state *s = new_state(f->cfg, 1, 32, 1), *s2 = new_state(f->cfg, 1, 32, 2), *ref = new_state(f->cfg, 1, 32, 1);
    int32_t g1[NEW], g2[NEW], x[NEW], y[NEW];
    int n1, n2, nx, ny;

    /* Greedy: deterministic, and each token is the argmax of an uncached forward. */
    const ls_sampler greedy = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 0};
    generate_ok(s, &f->w, prompt, NP, NEW, &greedy, -1, g1, &n1);
    generate_ok(s, &f->w, prompt, NP, NEW, &greedy, -1, g2, &n2);
    assert_int_equal(n1, NEW);
    assert_int_equal(n2, NEW);
    assert_memory_equal(g1, g2, sizeof g1);
    int32_t seq[NP + NEW];
    memcpy(seq, prompt, sizeof prompt);
    memcpy(seq + NP, g1, sizeof g1);
    for (int i = 0; i < NEW; i++) {
        float logits[V];
        forward_ok(ref, &f->w, seq, 1, NP + i, 0, logits, LS_LOGITS_LAST);
        int32_t a = argmax(logits, V);
        /* Equal, unless two logits tie within the cached/uncached rounding difference. */
        if (a != g1[i] && !(logits[g1[i]] >= logits[a] - 1e-5f))
            fail_msg("step %d: generated %d, argmax of uncached forward is %d", i, g1[i], a);
    }

    /* Sampling: the same seed gives the same ids (also with 2 threads); another seed differs. */
    ls_sampler sp = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 42};
    generate_ok(s, &f->w, prompt, NP, NEW, &sp, -1, x, &nx);
    generate_ok(s, &f->w, prompt, NP, NEW, &sp, -1, y, &ny);
    assert_int_equal(nx, NEW);
    assert_memory_equal(x, y, sizeof x);
    generate_ok(s2, &f->w, prompt, NP, NEW, &sp, -1, y, &ny);
    assert_memory_equal(x, y, sizeof x);
    sp.seed = 43;
    generate_ok(s, &f->w, prompt, NP, NEW, &sp, -1, y, &ny);
    assert_memory_not_equal(x, y, sizeof x); /* 12 near-uniform draws over 23 ids: equal with p ~ 1e-16 */

    /* top_k = 1 is greedy whatever the temperature and seed. */
    ls_sampler k1 = {.temperature = 0.7f, .top_k = 1, .top_p = 1.0f, .seed = 99};
    generate_ok(s, &f->w, prompt, NP, NEW, &k1, -1, y, &ny);
    assert_memory_equal(g1, y, sizeof y);

    /* A stop id ends generation right after it is emitted. */
    int first = 0;
    while (g1[first] != g1[4]) first++;
    generate_ok(s, &f->w, prompt, NP, NEW, &greedy, g1[4], y, &ny);
    assert_int_equal(ny, first + 1);
    assert_memory_equal(y, g1, (size_t)ny * sizeof *y);

    /* Zero new tokens; the prompt plus new tokens may fill the state exactly. */
    generate_ok(s, &f->w, prompt, NP, 0, &greedy, -1, y, &ny);
    assert_int_equal(ny, 0);
    int32_t *longout = malloc(32 * sizeof *longout);
    assert_non_null(longout);
    generate_ok(s, &f->w, prompt, NP, 32 - NP, &sp, -1, longout, &ny);
    assert_int_equal(ny, 32 - NP);
    free(longout);

    ls_error err = {{0}};
    assert_int_equal(ls_generate(s, &f->w, prompt, 0, 4, &greedy, -1, y, &ny, &err), -1);
    assert_contains(err.msg, "prompt is empty");
    assert_int_equal(ls_generate(s, &f->w, prompt, NP, 30, &greedy, -1, y, &ny, &err), -1);
    assert_contains(err.msg, "prompt of 3 tokens + 30 new tokens exceeds the context length 32");
    assert_int_equal(ny, 0);
    int32_t badp[2] = {1, V + 5};
    assert_int_equal(ls_generate(s, &f->w, badp, 2, 4, &greedy, -1, y, &ny, &err), -1);
    assert_contains(err.msg, "outside the vocabulary");
    ls_state_free(s);
    ls_state_free(s2);
    ls_state_free(ref);
}

/* ---- ls_sample on hand-made logits -------------------------------------- */

static void test_sample_known_answers(void **state) {
    (void)state;
    float scratch[2 * 8];
    ls_sampler sp = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 1};

    /* Temperature 0: the maximum, the lowest id among ties; top_k/top_p ignored. */
    const float tie[4] = {1, 5, 5, 2};
    assert_int_equal(ls_sample(tie, 4, &sp, 0, scratch), 1);
    const float neg[3] = {-3, -1, -2};
    assert_int_equal(ls_sample(neg, 3, &sp, 0, scratch), 1);
    const float last[5] = {0, 0, 0, 0, 0.5f};
    sp.top_k = 2, sp.top_p = 0.1f;
    assert_int_equal(ls_sample(last, 5, &sp, 7, scratch), 4);
    const float one[1] = {3};
    sp.temperature = 1;
    assert_int_equal(ls_sample(one, 1, &sp, 0, scratch), 0);

    /* top_k = 2 never leaves the two largest, and both occur. */
    const float lg[5] = {0, 3, 1, 2.9f, -1};
    sp = (ls_sampler){.temperature = 1, .top_k = 2, .top_p = 1, .seed = 0};
    int seen[5] = {0};
    for (uint64_t seed = 0; seed < 500; seed++) {
        sp.seed = seed;
        seen[ls_sample(lg, 5, &sp, seed % 7, scratch)]++;
    }
    assert_int_equal(seen[0] + seen[2] + seen[4], 0);
    assert_true(seen[1] > 150 && seen[3] > 150);

    /* top_k among exact ties keeps the lowest ids. */
    const float flat[4] = {2, 2, 2, 2};
    sp.top_k = 2;
    for (uint64_t i = 0; i < 200; i++) assert_true(ls_sample(flat, 4, &sp, i, scratch) <= 1);

    /* A tiny top_p keeps only the argmax. */
    sp = (ls_sampler){.temperature = 1.5f, .top_k = 0, .top_p = 1e-6f, .seed = 3};
    for (uint64_t i = 0; i < 200; i++) assert_int_equal(ls_sample(lg, 5, &sp, i, scratch), 1);

    /* top_p on probabilities {0.5, 0.3, 0.2}: 0.45 keeps id 0 only; 0.7 keeps {0, 1} in ratio 5:3. */
    const float p3[3] = {logf(0.5f), logf(0.3f), logf(0.2f)};
    sp = (ls_sampler){.temperature = 1, .top_k = 0, .top_p = 0.45f, .seed = 11};
    for (uint64_t i = 0; i < 200; i++) assert_int_equal(ls_sample(p3, 3, &sp, i, scratch), 0);
    sp.top_p = 0.7f;
    int c3[3] = {0};
    const int N = 4000;
    for (uint64_t i = 0; i < (uint64_t)N; i++) c3[ls_sample(p3, 3, &sp, i, scratch)]++;
    assert_int_equal(c3[2], 0);
    assert_true(fabs((double)c3[0] / N - 0.625) < 0.03);

    /* Frequencies follow softmax(logits / temperature): P(1) = 0.75 both ways. */
    const float a[2] = {0, logf(3)}, b[2] = {0, logf(9)};
    int k1 = 0, k2 = 0;
    ls_sampler t1 = {.temperature = 1, .top_p = 1, .seed = 5}, t2 = {.temperature = 2, .top_p = 1, .seed = 6};
    for (uint64_t i = 0; i < (uint64_t)N; i++) {
        k1 += ls_sample(a, 2, &t1, i, scratch);
        k2 += ls_sample(b, 2, &t2, i, scratch);
    }
    if (fabs((double)k1 / N - 0.75) > 0.03 || fabs((double)k2 / N - 0.75) > 0.03)
        fail_msg("P(id 1) = %.3f (T=1) and %.3f (T=2), expected 0.75", (double)k1 / N, (double)k2 / N);

    /* A draw depends only on (seed, step). */
    for (uint64_t i = 0; i < 50; i++) assert_int_equal(ls_sample(lg, 5, &t1, i, scratch), ls_sample(lg, 5, &t1, i, scratch));
}

/* bf16 storage (ls_model_store_bf16): the matrices become their bf16
 * roundings and nothing else changes. A model stored as bf16 computes
 * bitwise what an fp32 view of the widened matrices computes, through the
 * prefill kernels and the decode kernels, clean and lesioned (the overlay's
 * copy of a lesioned matrix starts from the widened values), and the file's
 * fp32 values stay readable in t. */
static void test_bf16_storage(void **state) {
    fixture *f = *state;
    char dir[128];
    test_path(dir, sizeof dir, f->dir, "model");
    ls_model *m = NULL;
    ls_error err = {{0}};
    if (ls_model_open(&m, dir, &err) != 0 || ls_model_store_bf16(m, &err) != 0) fail_msg("%s", err.msg);
    ls_weights w16 = ls_model_weights(m);
    assert_non_null(w16.bf16);
    const int n = ls_tensor_count(f->cfg);
    const float **wide = calloc((size_t)n, sizeof *wide);
    assert_non_null(wide);
    for (ls_tensor_id id = 0; id < n; id++) {
        int64_t numel = ls_model_tensor_info(m, id)->n_elems;
        assert_memory_equal(w16.t[id], f->w.t[id], (size_t)numel * sizeof(float)); /* the file's values, still there */
        wide[id] = w16.t[id];
        if (!ls_tensor_is_matrix(f->cfg, id)) {
            assert_null(w16.bf16[id]);
            continue;
        }
        assert_non_null(w16.bf16[id]);
        float *wd = malloc((size_t)numel * sizeof *wd);
        assert_non_null(wd);
        int64_t moved = 0;
        for (int64_t i = 0; i < numel; i++) {
            assert_int_equal(w16.bf16[id][i], ls_f32_to_bf16(w16.t[id][i]));
            wd[i] = ls_bf16_to_f32(w16.bf16[id][i]);
            moved += wd[i] != w16.t[id][i];
        }
        assert_true(moved > numel / 2); /* the rounding really happened */
        wide[id] = wd;
    }
    ls_weights w32 = {.cfg = f->cfg, .t = wide};

    enum { T = 20, STEPS = 4 };
    int32_t tok[T + STEPS];
    fill_tokens(tok, T + STEPS, 77);
    float a[T * V], b[T * V];
    ls_overlay *ov16 = ls_overlay_new(&w16), *ov32 = ls_overlay_new(&w32);
    assert_true(ov16 && ov32);
    ls_lesion les[2];
    if (ls_lesion_parse(&les[0], f->cfg, "attn.q@L0", "gauss", NULL, 0, 5, NULL, &err) != 0 ||
        ls_lesion_parse(&les[1], f->cfg, "mlp.fc@L1", "shuffle", NULL, 0, 6, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    for (int lesioned = 0; lesioned < 2; lesioned++) {
        for (int k = 0; lesioned && k < 2; k++)
            if (ls_overlay_apply(ov16, &les[k], &err) != 0 || ls_overlay_apply(ov32, &les[k], &err) != 0)
                fail_msg("%s", err.msg);
        ls_weights v16 = ls_overlay_view(ov16), v32 = ls_overlay_view(ov32);
        ls_tensor_id q0 = ls_layer_tensor(0, LS_QKV_W);
        if (lesioned) assert_null(v16.bf16[q0]); /* the lesioned copy is fp32 */
        else assert_ptr_equal(v16.bf16[q0], w16.bf16[q0]);
        for (int threads = 1; threads <= 2; threads++) {
            ls_state *s16 = new_state(f->cfg, 1, T + STEPS, threads), *s32 = new_state(f->cfg, 1, T + STEPS, threads);
            forward_ok(s16, &v16, tok, 1, T, 0, a, LS_LOGITS_ALL);
            forward_ok(s32, &v32, tok, 1, T, 0, b, LS_LOGITS_ALL);
            assert_memory_equal(a, b, sizeof a);
            for (int step = 0; step < STEPS; step++) {
                forward_ok(s16, &v16, tok + T + step, 1, 1, T + step, a, LS_LOGITS_LAST);
                forward_ok(s32, &v32, tok + T + step, 1, 1, T + step, b, LS_LOGITS_LAST);
                assert_memory_equal(a, b, V * sizeof(float));
            }
            ls_state_free(s16);
            ls_state_free(s32);
        }
    }
    ls_overlay_reset(ov16);
    ls_weights back = ls_overlay_view(ov16);
    for (ls_tensor_id id = 0; id < n; id++) {
        assert_ptr_equal(back.bf16[id], w16.bf16[id]);
        assert_ptr_equal(back.t[id], w16.t[id]);
    }
    ls_overlay_free(ov16);
    ls_overlay_free(ov32);
    for (ls_tensor_id id = 0; id < n; id++)
        if (ls_tensor_is_matrix(f->cfg, id)) free((void *)wide[id]);
    free(wide);
    ls_model_close(m);
}

/* ls_model_copy_f32 moves the weights, never changes them: the same values
 * at new addresses, the same logits bit for bit; and it refuses a model
 * already stored as bf16 with a message. */
static void test_copy_f32(void **state) {
    fixture *f = *state;
    char dir[128];
    test_path(dir, sizeof dir, f->dir, "model");
    ls_model *m = NULL;
    ls_error err = {{0}};
    if (ls_model_open(&m, dir, &err) != 0 || ls_model_copy_f32(m, &err) != 0) fail_msg("%s", err.msg);
    ls_weights w = ls_model_weights(m);
    for (ls_tensor_id id = 0; id < ls_tensor_count(f->cfg); id++) {
        if (ls_model_tensor_file(m, id) < 0) continue;
        assert_ptr_not_equal(w.t[id], f->w.t[id]);
        assert_memory_equal(w.t[id], f->w.t[id], (size_t)ls_model_tensor_info(m, id)->n_elems * sizeof(float));
    }
    enum { T = 12 };
    int32_t tok[T];
    fill_tokens(tok, T, 91);
    float a[T * V], b[T * V];
    ls_state *s = new_state(f->cfg, 1, T, 2);
    forward_ok(s, &w, tok, 1, T, 0, a, LS_LOGITS_ALL);
    forward_ok(s, &f->w, tok, 1, T, 0, b, LS_LOGITS_ALL);
    assert_memory_equal(a, b, sizeof a);
    ls_state_free(s);
    ls_model_close(m);

    if (ls_model_open(&m, dir, &err) != 0 || ls_model_store_bf16(m, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_model_copy_f32(m, &err), -1);
    assert_non_null(strstr(err.msg, "bf16"));
    ls_model_close(m);
}

static void test_compute_bf16(void **state) {
    fixture *f = *state;
    char dir[128];
    test_path(dir, sizeof dir, f->dir, "model");
    ls_model *m16 = NULL, *mc = NULL;
    ls_error err = {{0}};
    if (ls_model_open(&mc, dir, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_model_compute_bf16(mc, &err), -1);
    assert_contains(err.msg, "bf16");
    if (ls_model_store_bf16(mc, &err) != 0 || ls_model_compute_bf16(mc, &err) != 0 ||
        ls_model_open(&m16, dir, &err) != 0 || ls_model_store_bf16(m16, &err) != 0)
        fail_msg("%s", err.msg);
    ls_weights wc = ls_model_weights(mc), w16 = ls_model_weights(m16);
    assert_int_equal(wc.compute_bf16, 1);
    assert_int_equal(w16.compute_bf16, 0);
    enum { T = 20 };
    int32_t tok[T];
    fill_tokens(tok, T, 78);
    float a[T * V], b[T * V], c[T * V];
    ls_state *s1 = new_state(f->cfg, 1, T, 1), *s2 = new_state(f->cfg, 1, T, 2);
    forward_ok(s1, &wc, tok, 1, T, 0, a, LS_LOGITS_ALL);
    forward_ok(s2, &wc, tok, 1, T, 0, b, LS_LOGITS_ALL);
    assert_memory_equal(a, b, sizeof a);
    forward_ok(s1, &w16, tok, 1, T, 0, c, LS_LOGITS_ALL);
    assert_close(a, c, T * V, 1e-3, "compute bf16 vs bf16 storage");
    assert_true(memcmp(a, c, sizeof a) != 0); /* the activations really were rounded */
    /* Decode steps (1 row) keep the exact bf16-storage kernels. */
    forward_ok(s1, &wc, tok, 1, 1, 0, a, LS_LOGITS_LAST);
    forward_ok(s2, &w16, tok, 1, 1, 0, b, LS_LOGITS_LAST);
    assert_memory_equal(a, b, V * sizeof(float));
    /* A lesioned matrix is an fp32 copy: with every bf16 matrix lesioned
     * away (scale:1 keeps the widened values) the pass is bf16 storage's. */
    ls_overlay *ov = ls_overlay_new(&wc);
    assert_non_null(ov);
    ls_lesion les;
    const char *all[] = {"attn.q@all", "attn.k@all", "attn.v@all", "attn.o@all", "mlp.fc@all", "mlp.proj@all", "wte"};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (ls_lesion_parse(&les, f->cfg, all[k], "scale:1", NULL, 0, 0, NULL, &err) != 0 ||
            ls_overlay_apply(ov, &les, &err) != 0)
            fail_msg("%s: %s", all[k], err.msg);
    ls_weights v = ls_overlay_view(ov);
    assert_int_equal(v.compute_bf16, 1);
    forward_ok(s1, &v, tok, 1, T, 0, a, LS_LOGITS_ALL);
    forward_ok(s1, &w16, tok, 1, T, 0, b, LS_LOGITS_ALL);
    assert_memory_equal(a, b, sizeof a);
    ls_overlay_free(ov);
    ls_state_free(s1);
    ls_state_free(s2);
    ls_model_close(mc);
    ls_model_close(m16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_bitwise_identical),
        cmocka_unit_test(test_kv_cache_consistency),
        cmocka_unit_test(test_batch_consistency),
        cmocka_unit_test(test_stages_compose_to_forward),
        cmocka_unit_test(test_forward_rejects_bad_input),
        cmocka_unit_test(test_generation),
        cmocka_unit_test(test_sample_known_answers),
        cmocka_unit_test(test_bf16_storage),
        cmocka_unit_test(test_copy_f32),
        cmocka_unit_test(test_compute_bf16),
    };
    int failed = 0;
    TEST_FOR_EACH_ISA(failed += cmocka_run_group_tests(tests, setup, teardown));
    return failed;
}
