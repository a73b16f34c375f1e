/* classifier.c: the probes' linear classifier, a thin layer over LIBLINEAR.
 *
 * LIBLINEAR (Debian's liblinear-dev) is a well-kept solver made for exactly
 * this: a linear classifier on many examples. What this file adds is what
 * a probe needs around it, measured on real activations of the bundled
 * model (docs/probes.md, "How the classifier was chosen"):
 *
 *  - the solver: L2-regularised logistic regression solved in the primal
 *    (L2R_LR, one-vs-rest for several classes). It was the most accurate
 *    with the dual solver at C = 1 (and 2.4 times faster than it there),
 *    ahead of Crammer and Singer's multiclass SVM, and it is deterministic
 *    by construction: the primal trust-region Newton method draws no random
 *    numbers, while LIBLINEAR's dual and Crammer-Singer solvers shuffle
 *    with the C library's global rand(), which a library cannot seed
 *    without touching the process's state, and which would make probes
 *    trained concurrently on threads depend on scheduling.
 *  - feature standardisation (mean 0, std 1 per feature, statistics of the
 *    training rows): the residual stream's scale grows from layer to layer,
 *    and one C should mean the same regularisation at every layer.
 *  - one constant C for every probe (LS_PROBE_C = 1, LIBLINEAR's default:
 *    the most accurate of 0.01, 0.1 and 1 at every layer measured, with 10
 *    no better), rather than a cross-validated search per probe, which
 *    would multiply the cost and shuffle with rand() too.
 *
 * LIBLINEAR prints progress on stdout unless told otherwise, through one
 * process-wide function pointer; the library never prints, so the first
 * fit installs a silent one (once, so that fits on several threads do not
 * race on that pointer). */
#include <lesion.h>

#include <limits.h>
#include <linear.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ls_classifier {
    int d;
    double *mean, *inv_sd; /* (d) standardisation of the training rows */
    struct model *model;
};

static void print_nothing(const char *s) { (void)s; }
static void silence_liblinear(void) { set_print_string_function(print_nothing); }

/* Row i of x as LIBLINEAR's sparse row: d standardised features (indices
 * 1..d), the bias feature (index d+1, value 1), the terminator. */
static void fill_row(const ls_classifier *c, const float *x, struct feature_node *row) {
    for (int j = 0; j < c->d; j++) row[j] = (struct feature_node){j + 1, ((double)x[j] - c->mean[j]) * c->inv_sd[j]};
    row[c->d] = (struct feature_node){c->d + 1, 1.0};
    row[c->d + 1] = (struct feature_node){-1, 0.0};
}

void ls_classifier_free(ls_classifier *c) {
    if (!c) return;
    if (c->model) free_and_destroy_model(&c->model);
    free(c->mean);
    free(c->inv_sd);
    free(c);
}

int ls_classifier_fit(ls_classifier **out, const float *x, const int32_t *y, int64_t n, int d, double C,
                      ls_error *err) {
    *out = NULL;
    if (n < 2 || n > INT_MAX / 2 || d < 1 || d > LS_MAX_EMBD * 16)
        return ls_fail(err, "classifier: %lld rows of %d features (expected 2..%d rows, 1..%d features)",
                       (long long)n, d, INT_MAX / 2, LS_MAX_EMBD * 16);
    if (!(C > 0)) return ls_fail(err, "classifier: C = %g (expected > 0)", C);
    int two_classes = 0;
    for (int64_t i = 0; i < n; i++) {
        if (y[i] < 0) return ls_fail(err, "classifier: class %d of row %lld (expected >= 0)", y[i], (long long)i);
        two_classes |= y[i] != y[0];
    }
    if (!two_classes) return ls_fail(err, "classifier: every training row has class %d (need two classes)", y[0]);

    ls_classifier *c = calloc(1, sizeof *c);
    struct feature_node *nodes = NULL, **rows = NULL;
    double *yd = NULL;
    if (!c) return ls_fail(err, "out of memory");
    c->d = d;
    c->mean = calloc((size_t)d, sizeof *c->mean);
    c->inv_sd = calloc((size_t)d, sizeof *c->inv_sd);
    nodes = malloc((size_t)n * ((size_t)d + 2) * sizeof *nodes);
    rows = malloc((size_t)n * sizeof *rows);
    yd = malloc((size_t)n * sizeof *yd);
    if (!c->mean || !c->inv_sd || !nodes || !rows || !yd) {
        free(nodes);
        free(rows);
        free(yd);
        ls_classifier_free(c);
        return ls_fail(err, "out of memory for a classifier of %lld rows x %d features", (long long)n, d);
    }
    /* Two passes in double: mean, then the (population) standard deviation. */
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) c->mean[j] += x[i * d + j];
    for (int j = 0; j < d; j++) c->mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double u = x[i * d + j] - c->mean[j];
            c->inv_sd[j] += u * u;
        }
    /* A constant feature stays 0 after centring; its weight is then 0 too. */
    for (int j = 0; j < d; j++) c->inv_sd[j] = c->inv_sd[j] > 0 ? 1.0 / sqrt(c->inv_sd[j] / (double)n) : 1.0;
    for (int64_t i = 0; i < n; i++) {
        rows[i] = nodes + i * (d + 2);
        fill_row(c, x + i * d, rows[i]);
        yd[i] = y[i];
    }
    struct problem prob = {.l = (int)n, .n = d + 1, .y = yd, .x = rows, .bias = 1.0};
    /* eps 0.01: LIBLINEAR's default stopping tolerance for this solver. */
    struct parameter par = {.solver_type = L2R_LR, .eps = 0.01, .C = C};
    const char *bad = check_parameter(&prob, &par);
    if (bad) {
        free(nodes);
        free(rows);
        free(yd);
        ls_classifier_free(c);
        return ls_fail(err, "classifier: LIBLINEAR refused its parameters: %s", bad);
    }
    static pthread_once_t silenced = PTHREAD_ONCE_INIT;
    pthread_once(&silenced, silence_liblinear);
    c->model = train(&prob, &par);
    /* The model keeps no pointer into the problem (it copies w and labels). */
    free(nodes);
    free(rows);
    free(yd);
    if (!c->model) {
        ls_classifier_free(c);
        return ls_fail(err, "classifier: LIBLINEAR's training failed");
    }
    *out = c;
    return 0;
}

void ls_classifier_predict(const ls_classifier *c, const float *x, int64_t n, int32_t *pred) {
    struct feature_node *row = malloc(((size_t)c->d + 2) * sizeof *row);
    if (!row) { /* cannot happen in practice (d+2 nodes); answer "no class" rather than crash */
        for (int64_t i = 0; i < n; i++) pred[i] = -1;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        fill_row(c, x + i * c->d, row);
        pred[i] = (int32_t)predict(c->model, row);
    }
    free(row);
}
