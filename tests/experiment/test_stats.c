/* test_stats.c: proves the sweep's statistics give known answers: the mean,
 * sample standard deviation and Student-t 95% interval of small samples
 * (n = 1..5) and beyond the t table (n = 31, 32, 61, 121, 1001); the
 * repeated and distinct n-gram fractions of hand-made sequences; that
 * ls_find_transition locates a jump in a noisy step series with high
 * bootstrap agreement and an interval containing the true jump, reports
 * agreement near 1/2 when two equal jumps compete, ignores missing (NaN)
 * seeds, and resamples each configuration independently even with many
 * seeds; that ls_windows scores every token but the first exactly once, with
 * at least ctx - stride tokens of context after the first window, for many
 * (n, ctx, stride), and refuses bad ones; and that ls_band puts hand-made
 * metric values in each of the four bands; that ls_estimate_on keeps every
 * interval inside what its metric can be for 1, 2 and 3 seeds and at the
 * bounds (log: positive; sqrt: KL >= 0 with zeros; angular: fractions in
 * [0, 1] with values at 0 and 1), gives no interval for one seed and the
 * value itself for identical ones, and matches hand-computed intervals;
 * and that a summary's perplexity interval is exp of cross-entropy's, the
 * clean KL stays exactly 0, one seed gives null bounds, and the ranking and
 * "differs from clean" mark follow the data. */
#include "test_util.h"

#include <cJSON.h>
#include <math.h>

static void assert_near(double got, double want, double tol, const char *what) {
    if (!(fabs(got - want) <= tol)) fail_msg("%s: got %.10g, expected %.10g (tolerance %.2g)", what, got, want, tol);
}

/* ---- ls_summarize ---------------------------------------------------------- */

static void test_summarize_known_answers(void **state) {
    (void)state;
    const double x[5] = {1, 2, 3, 4, 5};
    ls_summary s = ls_summarize(x, 5);
    assert_int_equal(s.n, 5);
    assert_near(s.mean, 3, 1e-12, "mean");
    assert_near(s.sd, sqrt(2.5), 1e-12, "sd"); /* 1.5811 */
    double half = 2.776 * sqrt(2.5) / sqrt(5.0);
    assert_near(s.lo, 3 - half, 1e-9, "lo");
    assert_near(s.hi, 3 + half, 1e-9, "hi");

    /* n = 2: t(0.975, 1) = 12.706. */
    const double y[2] = {10, 12};
    s = ls_summarize(y, 2);
    assert_near(s.mean, 11, 1e-12, "mean2");
    assert_near(s.sd, sqrt(2.0), 1e-12, "sd2");
    assert_near(s.hi - s.mean, 12.706 * sqrt(2.0) / sqrt(2.0), 1e-9, "half2");

    /* n = 1: no spread, interval collapses; n = 0: zeros. */
    s = ls_summarize(y, 1);
    assert_int_equal(s.n, 1);
    assert_true(s.mean == 10 && s.sd == 0 && s.lo == 10 && s.hi == 10);
    s = ls_summarize(NULL, 0);
    assert_int_equal(s.n, 0);
    assert_true(s.mean == 0 && s.sd == 0);

    /* Constant samples: zero width. */
    const double c[4] = {0.5, 0.5, 0.5, 0.5};
    s = ls_summarize(c, 4);
    assert_true(s.sd == 0 && s.lo == 0.5 && s.hi == 0.5);
}

static void test_summarize_beyond_the_t_table(void **state) {
    (void)state;
    /* Two-sided 95% Student t quantiles (scipy.stats.t.ppf(0.975, df)). */
    static const struct { int n; double t; } q[] = {
        {31, 2.0422724563}, {32, 2.0395134464}, {61, 2.0002978220}, {121, 1.9799304050}, {1001, 1.9623390808},
    };
    double *x = malloc(1001 * sizeof *x);
    assert_non_null(x);
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        int n = q[k].n;
        for (int i = 0; i < n; i++) x[i] = i % 2 ? 1.0 : -1.0; /* mean ~0, sd ~1 */
        ls_summary s = ls_summarize(x, n);
        double want = q[k].t * s.sd / sqrt((double)n);
        char what[64];
        snprintf(what, sizeof what, "CI half-width for n = %d", n);
        /* 0.1% of the width: 1.96 in place of 2.04 would be off by 4%. */
        assert_near(s.hi - s.mean, want, 1e-3 * want, what);
    }
    free(x);
}

/* ---- n-gram metrics --------------------------------------------------------- */

static void test_ngram_metrics(void **state) {
    (void)state;
    const int32_t a[6] = {1, 2, 3, 1, 2, 3};
    /* bigrams 12 23 31 12 23: two repeats of five, three distinct of five */
    assert_near(ls_repeated_ngram_fraction(a, 6, 2), 2.0 / 5, 1e-12, "rep2 a");
    assert_near(ls_distinct_ngrams(a, 6, 2), 3.0 / 5, 1e-12, "distinct2 a");
    /* trigrams 123 231 312 123: one repeat of four */
    assert_near(ls_repeated_ngram_fraction(a, 6, 3), 1.0 / 4, 1e-12, "rep3 a");
    assert_near(ls_distinct_ngrams(a, 6, 3), 3.0 / 4, 1e-12, "distinct3 a");

    const int32_t same[6] = {5, 5, 5, 5, 5, 5};
    assert_near(ls_repeated_ngram_fraction(same, 6, 4), 2.0 / 3, 1e-12, "rep4 same");
    assert_near(ls_distinct_ngrams(same, 6, 2), 1.0 / 5, 1e-12, "distinct2 same");

    const int32_t uniq[6] = {1, 2, 3, 4, 5, 6};
    assert_near(ls_repeated_ngram_fraction(uniq, 6, 4), 0, 0, "rep4 uniq");
    assert_near(ls_distinct_ngrams(uniq, 6, 2), 1, 0, "distinct2 uniq");
    assert_near(ls_distinct_ngrams(uniq, 6, 1), 1, 0, "distinct1 uniq");

    /* A 4-gram repeated but not at a bigram level boundary: 7 8 9 10 | 7 8 9 10 11 */
    const int32_t r[9] = {7, 8, 9, 10, 7, 8, 9, 10, 11};
    /* 4-grams: 6 of them; [4..7] repeats [0..3]; nothing else */
    assert_near(ls_repeated_ngram_fraction(r, 9, 4), 1.0 / 6, 1e-12, "rep4 r");

    /* Too short for one k-gram: 0 by convention. */
    assert_near(ls_repeated_ngram_fraction(a, 3, 4), 0, 0, "rep short");
    assert_near(ls_distinct_ngrams(a, 1, 2), 0, 0, "distinct short");
    assert_near(ls_distinct_ngrams(a, 0, 2), 0, 0, "distinct empty");
}

/* ---- ls_find_transition --------------------------------------------------- */

/* Zero-sum noise offsets, permuted per configuration: every configuration's
 * sample mean is exactly its level, so the observed jump is exactly known. */
static double noise(int c, int s, int n_seeds, double amp) {
    int k = (int)((ls_mix64(77, (uint64_t)c) + (uint64_t)s * 5) % (uint64_t)n_seeds); /* 5 coprime to n_seeds */
    return amp * (2.0 * k / (n_seeds - 1) - 1.0);
}

static void test_transition_on_step_series(void **state) {
    (void)state;
    enum { NC = 10, NS = 8 };
    double v[NC * NS];
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < NS; s++) v[c * NS + s] = (c >= 6 ? 5.0 : 1.0) + 0.02 * c + noise(c, s, NS, 0.05);
    ls_transition tr = ls_find_transition(v, NC, NS, 1);
    assert_int_equal(tr.step, 6);
    assert_near(tr.jump, 4.02, 1e-9, "jump");
    if (!(tr.agreement > 0.9)) fail_msg("agreement %.3f", tr.agreement);
    if (!(tr.jump_lo <= 4.02 && 4.02 <= tr.jump_hi && tr.jump_hi - tr.jump_lo < 0.2))
        fail_msg("jump interval [%.4f, %.4f] should contain 4.02 and be narrow", tr.jump_lo, tr.jump_hi);
    /* Deterministic in the seed. */
    ls_transition again = ls_find_transition(v, NC, NS, 1);
    assert_memory_equal(&again, &tr, sizeof tr);

    /* Missing seeds (NaN) are ignored. */
    v[6 * NS + 2] = NAN;
    v[3 * NS + 0] = NAN;
    tr = ls_find_transition(v, NC, NS, 2);
    assert_int_equal(tr.step, 6);
    assert_true(tr.agreement > 0.9);
    assert_true(isfinite(tr.jump_lo) && isfinite(tr.jump_hi));

    /* A jump at the very first step. */
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < NS; s++) v[c * NS + s] = (c >= 1 ? 3.0 : 0.0) + noise(c, s, NS, 0.1);
    tr = ls_find_transition(v, NC, NS, 3);
    assert_int_equal(tr.step, 1);
    assert_near(tr.jump, 3, 1e-9, "jump at 1");

    /* Fewer than two configurations: no transition. */
    tr = ls_find_transition(v, 1, NS, 4);
    assert_int_equal(tr.step, -1);
}

static void test_transition_ambiguous_has_low_agreement(void **state) {
    (void)state;
    enum { NC = 10, NS = 8 };
    double v[NC * NS];
    /* Two exactly equal jumps (steps 3 and 7) under seed noise: the location is a coin toss. */
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < NS; s++) v[c * NS + s] = (c >= 3) + (c >= 7) + noise(c, s, NS, 0.5);
    ls_transition tr = ls_find_transition(v, NC, NS, 9);
    assert_true(tr.step == 3 || tr.step == 7);
    assert_near(tr.jump, 1, 1e-9, "jump");
    if (!(tr.agreement > 0.2 && tr.agreement < 0.8)) fail_msg("agreement %.3f for two equal jumps", tr.agreement);
    assert_true(tr.jump_lo <= tr.jump && tr.jump <= tr.jump_hi);
}

/* With many seeds the bootstrap must still resample adjacent configurations
 * independently: the 95% interval of the jump then has the width of a
 * difference of two independent means, 2 * 1.96 * sqrt(2) * sd / sqrt(n). */
static void test_transition_bootstrap_width_with_many_seeds(void **state) {
    (void)state;
    enum { NC = 4, NS = 100 };
    double *v = malloc(NC * NS * sizeof *v);
    assert_non_null(v);
    /* The same seed pattern in every configuration (as when seeds are shared). */
    double m = 0, ss = 0;
    for (int s = 0; s < NS; s++) m += (double)s / NS;
    m /= NS;
    for (int s = 0; s < NS; s++) ss += ((double)s / NS - m) * ((double)s / NS - m);
    double sd = sqrt(ss / NS);
    for (int c = 0; c < NC; c++)
        for (int s = 0; s < NS; s++) v[c * NS + s] = (c >= 2 ? 10.0 : 0.0) + (double)s / NS;
    double width = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ls_transition tr = ls_find_transition(v, NC, NS, seed);
        assert_int_equal(tr.step, 2);
        width += (tr.jump_hi - tr.jump_lo) / 4;
    }
    double want = 2 * 1.959964 * sqrt(2.0) * sd / sqrt((double)NS);
    if (fabs(width / want - 1) > 0.1)
        fail_msg("bootstrap interval width %.4f, expected %.4f for independent resampling", width, want);
    free(v);
}

/* ---- ls_windows ------------------------------------------------------------- */

static void check_windows(int64_t n, int ctx, int stride) {
    ls_window *w = NULL;
    int nw = 0;
    ls_error err = {{0}};
    if (ls_windows(n, ctx, stride, &w, &nw, &err) != 0) fail_msg("(%lld, %d, %d): %s", (long long)n, ctx, stride, err.msg);
    int *scored = calloc((size_t)n, sizeof *scored);
    assert_non_null(scored);
    assert_true(nw >= 1);
    for (int k = 0; k < nw; k++) {
        assert_true(w[k].start >= 0);
        assert_true(w[k].len >= 2 && w[k].len <= ctx);
        assert_true(w[k].start + w[k].len <= n);
        assert_true(w[k].score_from >= 0 && w[k].score_from <= w[k].len - 2);
        if (k == 0) assert_int_equal(w[k].score_from, 0);
        else if (w[k].score_from + 1 < ctx - stride) /* context of the first scored prediction */
            fail_msg("(%lld, %d, %d): window %d sees only %d tokens before its first target", (long long)n, ctx, stride,
                     k, w[k].score_from + 1);
        for (int t = w[k].score_from; t <= w[k].len - 2; t++) scored[w[k].start + t + 1]++;
    }
    assert_int_equal(w[nw - 1].start + w[nw - 1].len, n); /* reaches the end */
    assert_int_equal(scored[0], 0);
    for (int64_t i = 1; i < n; i++)
        if (scored[i] != 1)
            fail_msg("(%lld, %d, %d): token %lld scored %d times", (long long)n, ctx, stride, (long long)i, scored[i]);
    free(scored);
    free(w);
}

static void test_windows_score_every_token_once(void **state) {
    (void)state;
    static const int cases[][3] = {
        {2, 2, 1},    {3, 2, 1},     {10, 4, 1},    {10, 4, 3},    {10, 4, 2},   {100, 16, 8},  {17, 16, 15},
        {16, 16, 8},  {5, 8, 4},     {33, 8, 7},    {1000, 64, 32}, {1000, 64, 1}, {1001, 64, 63}, {257, 256, 128},
        {129, 2, 1},  {40, 10, 9},   {41, 10, 5},   {64, 1024, 512},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_windows(cases[i][0], cases[i][1], cases[i][2]);
    /* A sweep over small shapes. */
    for (int n = 2; n <= 40; n++)
        for (int ctx = 2; ctx <= 12; ctx++)
            for (int stride = 1; stride < ctx; stride++) check_windows(n, ctx, stride);
}

static void test_windows_known_layout_and_errors(void **state) {
    (void)state;
    ls_window *w;
    int nw;
    ls_error err = {{0}};
    /* n = 10, ctx 4, stride 2: [0,4) scores targets 1..3; [2,6) 4..5; [4,8) 6..7; [6,10) 8..9. */
    assert_int_equal(ls_windows(10, 4, 2, &w, &nw, &err), 0);
    assert_int_equal(nw, 4);
    const int want[4][3] = {{0, 4, 0}, {2, 4, 1}, {4, 4, 1}, {6, 4, 1}};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(w[k].start, want[k][0]);
        assert_int_equal(w[k].len, want[k][1]);
        assert_int_equal(w[k].score_from, want[k][2]);
    }
    free(w);

    assert_int_equal(ls_windows(1, 4, 2, &w, &nw, &err), -1);
    assert_contains(err.msg, "need at least 2 tokens");
    assert_null(w);
    assert_int_equal(nw, 0);
    assert_int_equal(ls_windows(10, 1, 1, &w, &nw, &err), -1);
    assert_contains(err.msg, "window 1 / stride 1");
    assert_int_equal(ls_windows(10, 4, 0, &w, &nw, &err), -1);
    assert_contains(err.msg, "stride 0");
    assert_int_equal(ls_windows(10, 4, 4, &w, &nw, &err), -1);
    assert_contains(err.msg, "1 <= stride < window");
    assert_int_equal(ls_windows(10, 4, -3, &w, &nw, &err), -1);
    assert_int_equal(ls_windows(10, -4, 2, &w, &nw, &err), -1);
}

/* ---- ls_band --------------------------------------------------------------- */

static void test_band_each_of_four(void **state) {
    (void)state;
    /* Clean model: perplexity 10, its generations' perplexity 20, rep4 0.05. */
    const double cp = 10, cg = 20, cr = 0.05;
    /* 0: about normal */
    assert_int_equal(ls_band(11, 0.9, 25, 0.06, cp, cg, cr), 0);
    assert_int_equal(ls_band(10, 1.0, 20, 0.05, cp, cg, cr), 0); /* the clean model itself */
    assert_int_equal(ls_band(12.49, 0.75, 159, 0.24, cp, cg, cr), 0);
    /* 1: meaning lost: perplexity >= 1.25x, or top-1 below 75% */
    assert_int_equal(ls_band(12.5, 0.9, 25, 0.06, cp, cg, cr), 1);
    assert_int_equal(ls_band(11, 0.74, 25, 0.06, cp, cg, cr), 1);
    assert_int_equal(ls_band(40, 0.3, 100, 0.1, cp, cg, cr), 1);
    /* 2: repetitive: rep4 >= 0.25 and >= clean + 0.15 (even with awful fluency) */
    assert_int_equal(ls_band(11, 0.9, 25, 0.25, cp, cg, cr), 2);
    assert_int_equal(ls_band(50, 0.2, 5000, 0.8, cp, cg, cr), 2);
    assert_int_equal(ls_band(11, 0.9, 25, 0.3, cp, cg, 0.2), 0); /* clean model repeats too: not damage */
    assert_int_equal(ls_band(13, 0.9, 25, 0.3, cp, cg, 0.2), 1);
    /* 3: noise: generations >= 8x the clean generations' perplexity, not explained by repetition */
    assert_int_equal(ls_band(11, 0.9, 160, 0.1, cp, cg, cr), 3);
    assert_int_equal(ls_band(500, 0.01, 1e5, 0.0, cp, cg, cr), 3);
    assert_int_equal(ls_band(11, 0.9, 159.9, 0.1, cp, cg, cr), 0);

    for (int i = 0; i < 4; i++) assert_true(ls_band_names[i] && ls_band_names[i][0]);
    assert_string_equal(ls_band_names[0], "about normal");
    assert_string_equal(ls_band_names[3], "noise");
    assert_contains(ls_band_rule(), "1.25x");
}

/* ---- intervals on each metric's scale -------------------------------------- */

static void test_estimate_edge_cases(void **state) {
    (void)state;
    /* One seed: the value, no interval (not a zero-width one). */
    const double one[1] = {0.25};
    for (int sc = 0; sc < 4; sc++) {
        ls_estimate e = ls_estimate_on(one, 1, (ls_scale)sc, 0);
        assert_int_equal(e.n, 1);
        assert_false(e.has_interval);
        assert_true(e.center == 0.25 && e.mean == 0.25);
        assert_true(isnan(e.lo) && isnan(e.hi));
    }
    /* Identical values: exactly that value, interval [v, v]. */
    const double same[3] = {0.3, 0.3, 0.3};
    ls_estimate e = ls_estimate_on(same, 3, LS_SCALE_ANGULAR, 0);
    assert_true(e.has_interval && e.center == 0.3 && e.lo == 0.3 && e.hi == 0.3);

    /* The 2-seed example (mlp.fc@L0 perplexity 353.7 and 852.8 would give
     * [-524, 1909] on raw values): log scale keeps it positive. */
    const double ppl[2] = {353.71, 852.82};
    e = ls_estimate_on(ppl, 2, LS_SCALE_LOG, 0);
    double ml = (log(353.71) + log(852.82)) / 2, sl = fabs(log(852.82) - log(353.71)) / sqrt(2.0);
    assert_near(e.center, exp(ml), 1e-9 * exp(ml), "log center = geometric mean");
    assert_near(e.lo, exp(ml - 12.706 * sl / sqrt(2.0)), 1e-9, "log lo");
    assert_near(e.hi, exp(ml + 12.706 * sl / sqrt(2.0)), 1e-3, "log hi");
    assert_true(e.lo > 0);
    assert_near(e.mean, (353.71 + 852.82) / 2, 1e-9, "raw mean kept");

    /* Fractions at and near their bounds, 2 and 3 seeds: inside [0, 1]. */
    const double top[][3] = {{1.0, 0.98, 0.99}, {0.0, 0.02, 0.01}, {1.0, 0.5, 0.0}, {0.99, 1.0, 1.0}};
    for (size_t k = 0; k < sizeof top / sizeof top[0]; k++)
        for (int n = 2; n <= 3; n++) {
            e = ls_estimate_on(top[k], n, LS_SCALE_ANGULAR, 0);
            assert_true(e.has_interval);
            if (!(e.lo >= 0 && e.hi <= 1 && e.lo <= e.center && e.center <= e.hi))
                fail_msg("angular, case %zu, n %d: center %g [%g, %g] outside [0, 1] or unordered", k, n, e.center, e.lo, e.hi);
        }
    /* Hand-computed: angular on {0.25, 0.75}: y = pi/6, pi/3; mean pi/4 -> center 0.5. */
    const double q[2] = {0.25, 0.75};
    e = ls_estimate_on(q, 2, LS_SCALE_ANGULAR, 0);
    assert_near(e.center, 0.5, 1e-12, "angular center");
    assert_true(e.lo == 0 && e.hi == 1); /* 2 seeds this far apart: the whole range, honestly */

    /* KL: never below 0, zeros allowed; sqrt scale by hand. */
    const double kl[3] = {0.0, 0.04, 0.01};
    e = ls_estimate_on(kl, 3, LS_SCALE_SQRT, 0);
    double ys[3] = {0, 0.2, 0.1}, my = 0.1, sy = 0.1; /* sd of {0, .2, .1} */
    (void)ys;
    double lo = fmax(0, my - 4.303 * sy / sqrt(3.0)), hi = my + 4.303 * sy / sqrt(3.0);
    assert_near(e.center, my * my, 1e-12, "sqrt center");
    assert_near(e.lo, lo * lo, 1e-12, "sqrt lo (cut at 0)");
    assert_near(e.hi, hi * hi, 1e-9, "sqrt hi");
    assert_true(e.lo == 0);
    /* Cross-entropy: linear, cut at 0. */
    const double ce[2] = {0.001, 0.5};
    e = ls_estimate_on(ce, 2, LS_SCALE_LINEAR, 0);
    assert_true(e.lo == 0 && e.hi > 0.5);
    /* Log with a non-positive value falls back to linear rather than producing NaN. */
    const double bad[2] = {0.0, 2.0};
    e = ls_estimate_on(bad, 2, LS_SCALE_LOG, 0);
    assert_near(e.center, 1.0, 1e-12, "log fallback");
}

static const char *const k_prompts[] = {"p"};
static const char *const k_labels[] = {"clean", "L0H0", "L0H1"};
static const char *const k_specs[] = {"", "attn.q@L0H0", "attn.q@L0H1"};

static cJSON *metric(const cJSON *summary, int config, const char *name) {
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(summary, "configs"), config),
                                         "metrics"),
        name);
}

static double field(const cJSON *m, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_summary_intervals(void **state) {
    (void)state;
    /* clean once; L0H0 hurts (CE 3.0, 3.02), L0H1 does not (CE 2.0, 2.001) */
    const char *rows[] = {
        "{\"config\":0,\"seed_index\":0,\"cross_entropy\":2.0,\"perplexity\":7.38905609893065,\"kl\":0,\"top1\":1,"
        "\"gen_ppl\":10,\"rep4\":0,\"distinct2\":1}",
        "{\"config\":1,\"seed_index\":0,\"cross_entropy\":3.0,\"perplexity\":20.085536923187668,\"kl\":0.9,\"top1\":0.5,"
        "\"gen_ppl\":50,\"rep4\":0,\"distinct2\":0.9}",
        "{\"config\":1,\"seed_index\":1,\"cross_entropy\":3.02,\"perplexity\":20.489332227999717,\"kl\":1.1,\"top1\":0.4,"
        "\"gen_ppl\":70,\"rep4\":0.1,\"distinct2\":1}",
        "{\"config\":2,\"seed_index\":0,\"cross_entropy\":2.0,\"perplexity\":7.38905609893065,\"kl\":0.001,\"top1\":1,"
        "\"gen_ppl\":10,\"rep4\":0,\"distinct2\":1}",
        "{\"config\":2,\"seed_index\":1,\"cross_entropy\":2.001,\"perplexity\":7.396445,\"kl\":0.002,\"top1\":0.999,"
        "\"gen_ppl\":10,\"rep4\":0,\"distinct2\":1}",
    };
    ls_sweep_meta meta = {.model = "m", .plan = "heads", .target = "attn.q", .mode = "gauss", .match = "tensor",
                          .n_seeds = 2, .eval_tokens = 64, .prompts = k_prompts, .n_prompts = 1, .labels = k_labels,
                          .specs = k_specs, .n_configs = 3, .heads_layers = 1, .heads_per_layer = 2};
    ls_error err = {{0}};
    cJSON *s = ls_sweep_summarize(&meta, rows, 5, &err);
    assert_non_null(s);
    /* perplexity = exp of the cross-entropy estimate */
    const cJSON *ppl = metric(s, 1, "perplexity"), *ce = metric(s, 1, "cross_entropy");
    assert_near(field(ppl, "center"), exp(3.01), 1e-9, "ppl center");
    assert_near(field(ppl, "lo"), exp(field(ce, "lo")), 1e-9, "ppl lo");
    assert_near(field(ppl, "hi"), exp(field(ce, "hi")), 1e-6, "ppl hi");
    assert_true(field(ppl, "lo") > 0);
    /* bounded metrics stay in range with 2 seeds */
    const cJSON *top = metric(s, 1, "top1");
    assert_true(field(top, "lo") >= 0 && field(top, "hi") <= 1);
    assert_true(field(metric(s, 1, "kl"), "lo") >= 0);
    assert_true(field(metric(s, 1, "rep4"), "lo") >= 0);
    assert_true(field(metric(s, 1, "distinct2"), "hi") <= 1);
    /* the clean model: one row, exactly its values, no interval */
    const cJSON *ckl = metric(s, 0, "kl");
    assert_true(field(ckl, "center") == 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ckl, "lo")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ckl, "hi")));
    /* per-seed values kept */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ce, "values")), 2);
    /* ranking by KL, and which heads differ from clean beyond noise */
    const cJSON *rank = cJSON_GetObjectItemCaseSensitive(s, "ranking");
    assert_int_equal(cJSON_GetArrayItem(rank, 0)->valueint, 1);
    assert_int_equal(cJSON_GetArrayItem(rank, 1)->valueint, 2);
    const cJSON *diff = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "heads"), "differs");
    assert_true(cJSON_IsTrue(cJSON_GetArrayItem(cJSON_GetArrayItem(diff, 0), 0)));  /* CE 3.0, 3.02 vs 2.0 */
    assert_true(cJSON_IsFalse(cJSON_GetArrayItem(cJSON_GetArrayItem(diff, 0), 1))); /* 2.0, 2.001: crosses 2.0 */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "partial")));
    assert_contains(cJSON_GetObjectItemCaseSensitive(s, "intervals")->valuestring, "rough");
    cJSON_Delete(s);

    /* rows missing: partial 3 of 5 */
    s = ls_sweep_summarize(&meta, rows, 3, &err);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "partial")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s, "rows_present")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(s, "rows_expected")->valueint, 5);
    cJSON_Delete(s);

    /* one seed: no interval anywhere, no "differs" claim */
    meta.n_seeds = 1;
    s = ls_sweep_summarize(&meta, rows, 5, &err);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(metric(s, 1, "perplexity"), "lo")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "configs"), 1), "differs_from_clean")));
    assert_contains(cJSON_GetObjectItemCaseSensitive(s, "intervals")->valuestring, "none");
    cJSON_Delete(s);
}

static void test_transition_says_rough(void **state) {
    (void)state;
    static const char *const labels[] = {"clean", "L0", "L0-1"};
    static const char *const specs[] = {"", "attn.q@L0", "attn.q@L0-1"};
    const char *rows[] = {
        "{\"config\":0,\"seed_index\":0,\"cross_entropy\":2.0}",
        "{\"config\":1,\"seed_index\":0,\"cross_entropy\":2.01}", "{\"config\":1,\"seed_index\":1,\"cross_entropy\":2.02}",
        "{\"config\":2,\"seed_index\":0,\"cross_entropy\":3.0}", "{\"config\":2,\"seed_index\":1,\"cross_entropy\":3.1}",
    };
    ls_sweep_meta meta = {.model = "m", .plan = "cumulative", .target = "attn.q", .mode = "gauss", .match = "tensor",
                          .n_seeds = 2, .eval_tokens = 64, .prompts = k_prompts, .n_prompts = 1, .labels = labels,
                          .specs = specs, .n_configs = 3, .ordered = 1};
    ls_error err = {{0}};
    cJSON *s = ls_sweep_summarize(&meta, rows, 5, &err);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(s, "transition");
    assert_non_null(tr);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tr, "rough")));
    assert_contains(cJSON_GetObjectItemCaseSensitive(tr, "statement")->valuestring, "With 2 noise seeds this bootstrap is rough");
    assert_null(cJSON_GetObjectItemCaseSensitive(s, "ranking")); /* a series is not ranked */
    cJSON_Delete(s);
    meta.n_seeds = 1;
    s = ls_sweep_summarize(&meta, rows, 5, &err);
    tr = cJSON_GetObjectItemCaseSensitive(s, "transition");
    assert_contains(cJSON_GetObjectItemCaseSensitive(tr, "statement")->valuestring, "no uncertainty estimate");
    cJSON_Delete(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimate_edge_cases),
        cmocka_unit_test(test_summary_intervals),
        cmocka_unit_test(test_transition_says_rough),
        cmocka_unit_test(test_summarize_known_answers),
        cmocka_unit_test(test_summarize_beyond_the_t_table),
        cmocka_unit_test(test_ngram_metrics),
        cmocka_unit_test(test_transition_on_step_series),
        cmocka_unit_test(test_transition_ambiguous_has_low_agreement),
        cmocka_unit_test(test_transition_bootstrap_width_with_many_seeds),
        cmocka_unit_test(test_windows_score_every_token_once),
        cmocka_unit_test(test_windows_known_layout_and_errors),
        cmocka_unit_test(test_band_each_of_four),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
