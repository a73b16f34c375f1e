/* test_probe.c: proves the linear probes give known answers.
 *
 *  - the classifier (LIBLINEAR behind ls_classifier) scores ~100% on
 *    held-out rows of linearly separable synthetic classes, also when one
 *    feature is a thousand times larger than the others (standardisation),
 *    and near chance on random labels (it does not leak test labels);
 *  - it is deterministic: the same rows give the same predictions, also
 *    when several fits run at once on threads;
 *  - the labels of each task on a tiny token sequence (prev-token, token,
 *    position), the top-token classes (ties to the lower id), labels-file
 *    parsing (skips, shared names, CRLF, wrong line counts, empty lines);
 *  - site specs: every layer selector, and one-line errors for unknown
 *    names, layers out of range, reversed or repeated layers;
 *  - a whole probe on the tiny fixture model: the current token is
 *    linearly readable from the embedding (resid_pre@L0) almost perfectly,
 *    accuracies are identical on 1 and 2 threads and between ls_probe_run
 *    and a separate fit and score, the labels task given the token task's
 *    labels (renumbered) answers exactly like it, and too-short texts and
 *    bad labels are refused;
 *  - the current-token baseline equals a direct count of the most frequent
 *    previous token after each token, and is 1 where the current token
 *    decides the label (the token task; a cyclic text for prev-token). */
#include "test_util.h"

#include <math.h>

/* A standard normal draw from (seed, i): Box-Muller over ls_mix64. */
static double normal(uint64_t seed, uint64_t i) {
    double u1 = ((double)(ls_mix64(seed, 2 * i) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(ls_mix64(seed, 2 * i + 1) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* n rows of d features in K Gaussian blobs (std 1) whose centres are 8
 * apart along their own axis: linearly separable in practice. Feature 0 is
 * scaled by `scale` (the classifier must not care). */
static void blobs(float *x, int32_t *y, int n, int d, int K, double scale, uint64_t seed) {
    for (int i = 0; i < n; i++) {
        y[i] = (int32_t)(ls_mix64(seed + 1, (uint64_t)i) % (uint64_t)K);
        for (int j = 0; j < d; j++) {
            double v = normal(seed, (uint64_t)i * d + j) + (j == y[i] ? 8.0 : 0.0);
            x[i * d + j] = (float)(j == 0 ? v * scale : v);
        }
    }
}

static double accuracy(const ls_classifier *c, const float *x, const int32_t *y, int n) {
    int32_t *pred = malloc((size_t)n * sizeof *pred);
    ls_classifier_predict(c, x, n, pred);
    int hit = 0;
    for (int i = 0; i < n; i++) hit += pred[i] == y[i];
    free(pred);
    return (double)hit / n;
}

static void test_classifier_separable(void **state) {
    (void)state;
    enum { N = 600, NT = 400, D = 12, K = 5 };
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    for (int pass = 0; pass < 2; pass++) {
        double scale = pass ? 1000.0 : 1.0;
        blobs(x, y, N, D, K, scale, 11);
        blobs(xt, yt, NT, D, K, scale, 12);
        ls_classifier *c;
        ls_error err;
        assert_int_equal(ls_classifier_fit(&c, x, y, N, D, LS_PROBE_C, &err), 0);
        double acc = accuracy(c, xt, yt, NT);
        if (acc < 0.99) fail_msg("separable blobs (feature 0 scaled by %g): held-out accuracy %.4f", scale, acc);
        ls_classifier_free(c);
    }
}

static void test_classifier_random_labels_near_chance(void **state) {
    (void)state;
    enum { N = 2000, NT = 2000, D = 16, K = 4 };
    static float x[N * D], xt[NT * D];
    static int32_t y[N], yt[NT];
    for (int i = 0; i < N * D; i++) x[i] = (float)normal(21, (uint64_t)i);
    for (int i = 0; i < NT * D; i++) xt[i] = (float)normal(22, (uint64_t)i);
    for (int i = 0; i < N; i++) y[i] = (int32_t)(ls_mix64(23, (uint64_t)i) % K);
    for (int i = 0; i < NT; i++) yt[i] = (int32_t)(ls_mix64(24, (uint64_t)i) % K);
    ls_classifier *c;
    ls_error err;
    assert_int_equal(ls_classifier_fit(&c, x, y, N, D, LS_PROBE_C, &err), 0);
    /* Chance is 0.25; the standard error of 2000 draws is 0.0097. */
    double acc = accuracy(c, xt, yt, NT);
    if (fabs(acc - 0.25) > 0.05) fail_msg("random labels: held-out accuracy %.4f, expected near 0.25", acc);
    /* On its own training rows it does better than chance (it fits noise a little), so the test above can fail. */
    assert_true(accuracy(c, x, y, N) > 0.27);
    ls_classifier_free(c);
}

static void test_classifier_deterministic(void **state) {
    (void)state;
    enum { N = 800, D = 10, K = 3, FITS = 4 };
    static float x[N * D];
    static int32_t y[N], pred[FITS][N];
    /* Overlapping blobs (centres 1 apart), so that predictions hinge on small weight differences. */
    for (int i = 0; i < N; i++) {
        y[i] = (int32_t)(ls_mix64(31, (uint64_t)i) % K);
        for (int j = 0; j < D; j++) x[i * D + j] = (float)(normal(32, (uint64_t)i * D + j) + (j == y[i] ? 1.0 : 0.0));
    }
    int failures = 0;
#pragma omp parallel for num_threads(2)
    for (int f = 0; f < FITS; f++) {
        ls_classifier *c;
        ls_error err;
        if (ls_classifier_fit(&c, x, y, N, D, LS_PROBE_C, &err) != 0) {
#pragma omp atomic
            failures++;
            continue;
        }
        ls_classifier_predict(c, x, N, pred[f]);
        ls_classifier_free(c);
    }
    assert_int_equal(failures, 0);
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += pred[0][i] != y[i];
    assert_true(wrong > N / 10); /* the problem is not trivial */
    for (int f = 1; f < FITS; f++) assert_memory_equal(pred[0], pred[f], sizeof pred[0]);
}

static void test_classifier_errors(void **state) {
    (void)state;
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t one[4] = {2, 2, 2, 2}, neg[4] = {0, 1, -1, 0};
    ls_classifier *c = (ls_classifier *)1;
    ls_error err;
    assert_int_equal(ls_classifier_fit(&c, x, one, 4, 2, LS_PROBE_C, &err), -1);
    assert_null(c);
    assert_contains(err.msg, "need two classes");
    assert_int_equal(ls_classifier_fit(&c, x, neg, 4, 2, LS_PROBE_C, &err), -1);
    assert_contains(err.msg, "class -1 of row 2");
    assert_int_equal(ls_classifier_fit(&c, x, neg, 1, 2, LS_PROBE_C, &err), -1);
    assert_contains(err.msg, "1 rows");
    assert_int_equal(ls_classifier_fit(&c, x, neg, 2, 2, 0.0, &err), -1);
    assert_contains(err.msg, "C = 0");
}

/* ---- labels -------------------------------------------------------------------- */

static void test_top_tokens(void **state) {
    (void)state;
    const int32_t t[] = {5, 3, 5, 7, 3, 5, 9, 3, 1};
    int32_t class_of[10], ids[4];
    /* 5 and 3 occur 3 times each: the tie goes to the lower id, 3. */
    assert_int_equal(ls_probe_top_tokens(t, 9, 10, 2, class_of, ids), 2);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 5);
    for (int v = 0; v < 10; v++) assert_int_equal(class_of[v], v == 3 ? 0 : v == 5 ? 1 : -1);
    /* More classes asked for than distinct tokens: the ones there are, then 1 < 7 < 9 by id. */
    assert_int_equal(ls_probe_top_tokens(t, 9, 10, 8, class_of, NULL), 5);
    assert_int_equal(class_of[1], 2);
    assert_int_equal(class_of[7], 3);
    assert_int_equal(class_of[9], 4);
    assert_int_equal(class_of[0], -1);
}

static void test_derive_labels_known_answers(void **state) {
    (void)state;
    /* Windows of 3: [5 3 5] [7 3 5] [9 3]; classes 5 -> 0, 3 -> 1. */
    const int32_t t[] = {5, 3, 5, 7, 3, 5, 9, 3};
    int32_t class_of[10];
    for (int v = 0; v < 10; v++) class_of[v] = -1;
    class_of[5] = 0;
    class_of[3] = 1;
    int32_t got[8];
    const int32_t prev[8] = {-1, 0, 1, -1, -1, 1, -1, -1}; /* window starts and previous 7, 9 left out */
    const int32_t cur[8] = {0, 1, 0, -1, 1, 0, -1, 1};
    const int32_t pos2[8] = {0, 0, 1, 0, 0, 1, 0, 0};      /* t * 2 / 3 */
    const int32_t pos3[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    ls_probe_derive_labels(LS_PROBE_PREV_TOKEN, t, 8, 3, class_of, 0, got);
    assert_memory_equal(got, prev, sizeof got);
    ls_probe_derive_labels(LS_PROBE_TOKEN, t, 8, 3, class_of, 0, got);
    assert_memory_equal(got, cur, sizeof got);
    ls_probe_derive_labels(LS_PROBE_POSITION, t, 8, 3, NULL, 2, got);
    assert_memory_equal(got, pos2, sizeof got);
    ls_probe_derive_labels(LS_PROBE_POSITION, t, 8, 3, NULL, 3, got);
    assert_memory_equal(got, pos3, sizeof got);

    ls_probe_task task;
    ls_error err;
    assert_int_equal(ls_probe_task_parse("prev-token", &task, &err), 0);
    assert_int_equal(task, LS_PROBE_PREV_TOKEN);
    assert_string_equal(ls_probe_task_name(LS_PROBE_POSITION), "position");
    assert_int_equal(ls_probe_task_parse("prev_token", &task, &err), -1);
    assert_contains(err.msg, "unknown probe task \"prev_token\"");
    assert_contains(err.msg, "prev-token, token, position or labels");
}

static void test_labels_file(void **state) {
    (void)state;
    ls_label_names names = {0};
    int32_t lab[5];
    ls_error err;
    const char *a = "noun\nverb\n-\nnoun\r\nthe end";
    assert_int_equal(ls_probe_labels_parse(a, strlen(a), 5, &names, lab, &err), 0);
    const int32_t want_a[5] = {0, 1, -1, 0, 2};
    assert_memory_equal(lab, want_a, sizeof want_a);
    assert_int_equal(names.n, 3);
    assert_string_equal(names.name[2], "the end");
    /* A second file shares the names; a final newline is optional. */
    const char *b = "verb\nadj\n";
    assert_int_equal(ls_probe_labels_parse(b, strlen(b), 2, &names, lab, &err), 0);
    assert_int_equal(lab[0], 1);
    assert_int_equal(lab[1], 3);
    assert_int_equal(names.n, 4);
    /* Line counts must match the tokens. */
    assert_int_equal(ls_probe_labels_parse(b, strlen(b), 3, &names, lab, &err), -1);
    assert_contains(err.msg, "2 lines, expected one per token of the text: 3");
    assert_int_equal(ls_probe_labels_parse(a, strlen(a), 4, &names, lab, &err), -1);
    assert_contains(err.msg, "5 lines");
    const char *empty = "a\n\nb\n";
    assert_int_equal(ls_probe_labels_parse(empty, strlen(empty), 3, &names, lab, &err), -1);
    assert_contains(err.msg, "line 2 is empty");
    const char *tab = "a\tb\n";
    assert_int_equal(ls_probe_labels_parse(tab, strlen(tab), 1, &names, lab, &err), -1);
    assert_contains(err.msg, "line 1");
    assert_int_equal(ls_probe_labels_parse("", 0, 1, &names, lab, &err), -1);
    assert_contains(err.msg, "0 lines");
    ls_label_names_free(&names);
    assert_int_equal(names.n, 0);
}

/* ---- sites ------------------------------------------------------------------------ */

static void test_site_parse(void **state) {
    (void)state;
    ls_config cfg = {.arch = LS_ARCH_GPT2, .n_layer = 12, .n_head = 12, .n_kv_head = 12, .d_head = 16,
                     .n_embd = 192, .n_ff = 768, .n_ctx = 256, .vocab_size = 8192, .ln_eps = 1e-5f};
    ls_probe_site s[64];
    int n = 0;
    ls_error err;
    char name[64];
    assert_int_equal(ls_probe_site_parse(&cfg, "resid_post@L5", s, 64, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(s[0].site == LS_SITE_RESID_POST && s[0].layer == 5 && s[0].heads.n == 0);
    ls_probe_site_format(&s[0], name, sizeof name);
    assert_string_equal(name, "resid_post@L5");
    assert_int_equal(ls_probe_site_width(&cfg, &s[0]), 192);
    assert_int_equal(ls_probe_site_parse(&cfg, "resid_pre@L0-2,7,10-11", s, 64, &n, &err), 0);
    assert_int_equal(n, 7);
    const int want[] = {5, 0, 1, 2, 7, 10, 11};
    for (int i = 0; i < 7; i++) assert_int_equal(s[i].layer, want[i]);
    assert_true(s[1].site == LS_SITE_RESID_PRE);
    ls_probe_site_format(&s[6], name, sizeof name);
    assert_string_equal(name, "resid_pre@L11");
    assert_int_equal(ls_probe_site_parse(&cfg, "resid_post@all", s, 64, &n, &err), 0);
    assert_int_equal(n, 19);
    assert_int_equal(s[18].layer, 11);
    /* Heads: the selected heads side by side; all of them without H. */
    n = 0;
    assert_int_equal(ls_probe_site_parse(&cfg, "attn.z@L1-2H2,5-6", s, 64, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ls_probe_site_width(&cfg, &s[1]), 3 * 16);
    ls_probe_site_format(&s[1], name, sizeof name);
    assert_string_equal(name, "attn.z@L2H2,5-6");
    assert_int_equal(ls_probe_site_parse(&cfg, "attn.q@L0", s, 64, &n, &err), 0);
    assert_int_equal(ls_probe_site_width(&cfg, &s[2]), 12 * 16);
    assert_int_equal(ls_probe_site_parse(&cfg, "mlp.post@L3", s, 64, &n, &err), 0);
    assert_int_equal(ls_probe_site_width(&cfg, &s[3]), 768);

    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"attn.pattern@L0", "attn.pattern has none"},
        {"logits", "logits has none"},
        {"lnf.out", "lnf.out has none"},
        {"resid_post@L1P3", "drop the P selector"},
        {"resid_post@L1Plast", "drop the P selector"},
        {"mlp.up@L1", "has no mlp.up"},
        {"resid_post", "needs a layer selector"},
        {"resid_post@", "needs a layer selector"},
        {"resid_post@L12", "layers 0-11"},
        {"resid_post@L0-99999999999", "number too large"},
        {"resid_post@L1H2", "has no heads"},
        {"attn.z@L1H12", "heads 0-11"},
        {"resid_post@5", "unexpected '5'"},
        {"resid_pos@L1", "unknown name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 0;
        if (ls_probe_site_parse(&cfg, bad[i].spec, s, 64, &n, &err) != -1) fail_msg("%s was accepted", bad[i].spec);
        assert_int_equal(n, 0);
        if (!strstr(err.msg, bad[i].msg)) fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].spec, err.msg, bad[i].msg);
    }
    n = 60;
    assert_int_equal(ls_probe_site_parse(&cfg, "resid_post@all", s, 64, &n, &err), -1);
    assert_int_equal(n, 60);
    assert_contains(err.msg, "at most 64");
}

/* Sites that hold the same values must give the same accuracies: the
 * stream leaving block 0 is the one entering block 1, and attn.z with
 * every head listed is attn.z. Different values (one head, the MLP) give
 * features of their own width, read without error. */
static int32_t *tiny_tokens(int n, uint64_t seed);

static void test_probe_site_identities(void **state) {
    (void)state;
    ls_model *m;
    ls_error err;
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    ls_weights w = ls_model_weights(m);
    int32_t *train = tiny_tokens(2000, 61), *test = tiny_tokens(600, 62);
    char all_heads[64];
    snprintf(all_heads, sizeof all_heads, "attn.z@L0H0-%d", cfg->n_head - 1);
    const char *specs[] = {"resid_post@L0", "resid_pre@L1", "attn.z@L0", all_heads, "attn.z@L0H1", "mlp.post@L1"};
    ls_probe_site sites[8];
    int n_sites = 0;
    for (int i = 0; i < 6; i++)
        if (ls_probe_site_parse(cfg, specs[i], sites, 8, &n_sites, &err) != 0) fail_msg("%s", err.msg);
    ls_probe_setup su = {.task = LS_PROBE_PREV_TOKEN, .train_tokens = train, .n_train = 2000, .test_tokens = test,
                         .n_test = 600, .ctx = 32, .top = 6, .sites = sites, .n_sites = n_sites, .batch = 3,
                         .n_threads = 2};
    ls_probe *p;
    if (ls_probe_new(&p, cfg, &su, &err) != 0) fail_msg("%s", err.msg);
    double acc[6];
    if (ls_probe_run(p, &w, acc, &err) != 0) fail_msg("%s", err.msg);
    print_message("prev-token: %.4f %.4f %.4f %.4f %.4f %.4f\n", acc[0], acc[1], acc[2], acc[3], acc[4], acc[5]);
    assert_true(acc[0] == acc[1]);
    assert_true(acc[2] == acc[3]);
    for (int i = 0; i < 6; i++) assert_true(acc[i] > 0 && acc[i] <= 1);
    ls_probe_free(p);
    /* A site the probe cannot read, built by hand, is refused at setup. */
    ls_probe_site bad = {.site = LS_SITE_ATTN_PATTERN, .layer = 0};
    su.sites = &bad;
    su.n_sites = 1;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), -1);
    assert_contains(err.msg, "cannot be probed");
    free(train);
    free(test);
    ls_model_close(m);
}

/* ---- a whole probe on the tiny fixture model ------------------------------------- */

/* Token ids with a skewed distribution (id = floor of 64 u^2), so the top classes are clear. */
static int32_t *tiny_tokens(int n, uint64_t seed) {
    int32_t *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) {
        double u = (double)(ls_mix64(seed, (uint64_t)i) >> 11) / 9007199254740992.0;
        t[i] = (int32_t)(64 * u * u);
    }
    return t;
}

static void test_probe_tiny_model(void **state) {
    (void)state;
    ls_model *m;
    ls_error err;
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    ls_weights w = ls_model_weights(m);
    int32_t *train = tiny_tokens(3000, 41), *test = tiny_tokens(1000, 42);
    ls_probe_site sites[4];
    int n_sites = 0;
    assert_int_equal(ls_probe_site_parse(cfg, "resid_pre@L0-1", sites, 4, &n_sites, &err), 0);
    assert_int_equal(ls_probe_site_parse(cfg, "resid_post@L1", sites, 4, &n_sites, &err), 0);
    ls_probe_setup su = {.task = LS_PROBE_TOKEN, .train_tokens = train, .n_train = 3000, .test_tokens = test,
                         .n_test = 1000, .ctx = 32, .top = 6, .buckets = 4, .sites = sites, .n_sites = n_sites,
                         .batch = 4, .n_threads = 1};
    ls_probe *p;
    if (ls_probe_new(&p, cfg, &su, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_probe_classes(p), 6);
    const int32_t *ids = ls_probe_class_tokens(p);
    assert_int_equal(ids[0], 0); /* the most frequent id of 64 u^2 */
    double acc[3], again[3], threads2[3], split[3];
    if (ls_probe_run(p, &w, acc, &err) != 0) fail_msg("%s", err.msg);
    print_message("token: accuracy %.4f %.4f %.4f (resid_pre@L0, resid_pre@L1, resid_post@L1)\n", acc[0], acc[1],
                  acc[2]);
    /* The embedding is wte[token] + wpe[position]: the token is readable. */
    if (acc[0] < 0.95) fail_msg("token from resid_pre@L0: accuracy %.4f", acc[0]);
    int cls;
    double maj = ls_probe_majority(p, &cls);
    assert_int_equal(cls, 0);
    print_message("majority %.4f\n", maj);
    assert_true(maj > 0.2 && maj < 0.5);
    for (int s = 0; s < 3; s++) assert_true(acc[s] > maj);
    assert_true(ls_probe_token_baseline(p) == 1.0); /* the current token is the label */
    assert_int_equal(ls_probe_run(p, &w, again, &err), 0);
    assert_memory_equal(acc, again, sizeof acc);
    assert_int_equal(ls_probe_fit(p, &w, &err), 0);
    assert_int_equal(ls_probe_score(p, &w, split, &err), 0);
    assert_memory_equal(acc, split, sizeof acc);
    ls_probe_free(p);
    su.n_threads = 2;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), 0);
    assert_int_equal(ls_probe_run(p, &w, threads2, &err), 0);
    assert_memory_equal(acc, threads2, sizeof acc);
    ls_probe_free(p);

    /* The labels task given the token task's own labels (renumbered, one
     * more token left out by hand) must give the token task's answers on
     * the same positions: same rows, same classifiers. */
    {
        int32_t class_of[64], *ltr = malloc(3000 * sizeof *ltr), *lte = malloc(1000 * sizeof *lte);
        ls_probe_top_tokens(train, 3000, 64, 6, class_of, NULL);
        ls_probe_derive_labels(LS_PROBE_TOKEN, train, 3000, 32, class_of, 0, ltr);
        ls_probe_derive_labels(LS_PROBE_TOKEN, test, 1000, 32, class_of, 0, lte);
        for (int i = 0; i < 3000; i++) ltr[i] = ltr[i] < 0 ? -1 : 100 + 7 * ltr[i];
        for (int i = 0; i < 1000; i++) lte[i] = lte[i] < 0 ? -1 : 100 + 7 * lte[i];
        ls_probe_setup sl = su;
        sl.task = LS_PROBE_LABELS;
        sl.train_labels = ltr;
        sl.test_labels = lte;
        double lab[3];
        if (ls_probe_new(&p, cfg, &sl, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(ls_probe_classes(p), 6);
        assert_null(ls_probe_class_tokens(p));
        assert_int_equal(ls_probe_run(p, &w, lab, &err), 0);
        assert_memory_equal(lab, acc, sizeof acc);
        assert_true(ls_probe_majority(p, &cls) == maj);
        assert_int_equal(cls, 100);
        ls_probe_free(p);
        ltr[5] = -2;
        assert_int_equal(ls_probe_new(&p, cfg, &sl, &err), -1);
        assert_contains(err.msg, "train labels: class -2 at token 5");
        free(ltr);
        free(lte);
    }

    /* Position from the embedding: wpe makes it readable too; 4 buckets of 8. */
    su.task = LS_PROBE_POSITION;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), 0);
    assert_int_equal(ls_probe_classes(p), 4);
    assert_null(ls_probe_class_tokens(p));
    assert_int_equal(ls_probe_run(p, &w, acc, &err), 0);
    print_message("position: accuracy %.4f %.4f %.4f\n", acc[0], acc[1], acc[2]);
    if (acc[0] < 0.6) fail_msg("position from resid_pre@L0: accuracy %.4f (chance 0.25)", acc[0]);
    ls_probe_free(p);

    /* Refusals: too few labelled positions, bad shapes. */
    su.task = LS_PROBE_PREV_TOKEN;
    su.n_test = 5;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), -1);
    assert_contains(err.msg, "labelled positions in the test text of 5 tokens; need at least 10");
    su.n_test = 1000;
    su.ctx = 33;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), -1);
    assert_contains(err.msg, "expected 1..32");
    su.ctx = 32;
    su.top = 1;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), -1);
    assert_contains(err.msg, "at least 2");
    su.top = 6;
    test[7] = 64;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), -1);
    assert_contains(err.msg, "token id 64 at index 7");
    free(train);
    free(test);
    ls_model_close(m);
}

/* The current-token baseline against a direct count: for each token, the
 * most frequent previous-token class in the train text (ties: lower class). */
static void test_token_baseline(void **state) {
    (void)state;
    ls_model *m;
    ls_error err;
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    enum { NTR = 2000, NTE = 700, CTX = 16, TOP = 6, V = 64 };
    int32_t *train = tiny_tokens(NTR, 51), *test = tiny_tokens(NTE, 52);
    ls_probe_site site = {.site = LS_SITE_RESID_PRE, .layer = 0};
    ls_probe_setup su = {.task = LS_PROBE_PREV_TOKEN, .train_tokens = train, .n_train = NTR, .test_tokens = test,
                         .n_test = NTE, .ctx = CTX, .top = TOP, .sites = &site, .n_sites = 1, .batch = 2,
                         .n_threads = 1};
    ls_probe *p;
    if (ls_probe_new(&p, cfg, &su, &err) != 0) fail_msg("%s", err.msg);
    int32_t class_of[V], ltr[NTR], lte[NTE];
    assert_int_equal(ls_probe_top_tokens(train, NTR, V, TOP, class_of, NULL), TOP);
    ls_probe_derive_labels(LS_PROBE_PREV_TOKEN, train, NTR, CTX, class_of, 0, ltr);
    ls_probe_derive_labels(LS_PROBE_PREV_TOKEN, test, NTE, CTX, class_of, 0, lte);
    static int count[V][TOP];
    int total[TOP] = {0}, maj = 0;
    for (int i = 0; i < NTR; i++)
        if (ltr[i] >= 0) count[train[i]][ltr[i]]++, total[ltr[i]]++;
    for (int c = 1; c < TOP; c++)
        if (total[c] > total[maj]) maj = c;
    int hit = 0, n = 0;
    for (int i = 0; i < NTE; i++) {
        if (lte[i] < 0) continue;
        int v = test[i], guess = maj, best = 0;
        for (int c = 0; c < TOP; c++)
            if (count[v][c] > best) best = count[v][c], guess = c;
        hit += guess == lte[i];
        n++;
    }
    assert_int_equal(ls_probe_test_samples(p), n);
    assert_true(ls_probe_token_baseline(p) == (double)hit / n);
    ls_probe_free(p);

    /* A cycle 1 2 3 1 2 3 ...: the previous token follows from the current one. */
    for (int i = 0; i < NTR; i++) train[i] = 1 + i % 3;
    for (int i = 0; i < NTE; i++) test[i] = 1 + i % 3;
    assert_int_equal(ls_probe_new(&p, cfg, &su, &err), 0);
    assert_true(ls_probe_token_baseline(p) == 1.0);
    double majority = ls_probe_majority(p, NULL);
    assert_true(majority > 0.3 && majority < 0.35);
    ls_probe_free(p);
    free(train);
    free(test);
    ls_model_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier_separable),
        cmocka_unit_test(test_classifier_random_labels_near_chance),
        cmocka_unit_test(test_classifier_deterministic),
        cmocka_unit_test(test_classifier_errors),
        cmocka_unit_test(test_top_tokens),
        cmocka_unit_test(test_derive_labels_known_answers),
        cmocka_unit_test(test_labels_file),
        cmocka_unit_test(test_site_parse),
        cmocka_unit_test(test_probe_tiny_model),
        cmocka_unit_test(test_probe_site_identities),
        cmocka_unit_test(test_token_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
