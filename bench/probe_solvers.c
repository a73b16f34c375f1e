/* probe_solvers.c: which LIBLINEAR solver, regularisation constant and
 * feature scaling the probes use (docs/probes.md, "How the classifier was
 * chosen", shows its output and the command).
 *
 * It builds the prev-token task on the bundled model's held-out text the
 * way `lesion probe` does by default (first 80% of the tokens to train,
 * last 20% to test, disjoint windows of --ctx tokens, classes = the --top
 * most frequent tokens of the train part, positions whose previous token is
 * outside them skipped), reads the residual stream after the chosen blocks,
 * and then, for each solver x C x scaling, trains on the train positions
 * and prints held-out accuracy and training CPU seconds (LIBLINEAR is
 * single-threaded; run with OPENBLAS_NUM_THREADS=1). It calls LIBLINEAR
 * directly (not through ls_classifier) precisely so that it can vary what
 * the library fixes.
 *
 * Build and run (from the repository root, after `make`):
 *   cc $(make -s --eval 'p: ; @echo $(CFLAGS)' p) bench/probe_solvers.c build/liblesion.a \
 *      $(make -s --eval 'p: ; @echo $(LDFLAGS) $(LDLIBS)' p) -o build/probe_solvers
 *   build/probe_solvers [--model DIR] [--layers 0,3,6,11] [--top 32] [--ctx 256] [--max-tokens N]
 *                       [--solvers 0,7,4,1] [--C 0.01,0.1,1,10] [--scales 3 (1 raw, 2 standardised, 3 both)]
 */
#include <lesion.h>

#include <linear.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of this thread: on a shared machine, far steadier than wall time. */
static double cpu_secs(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void quiet(const char *s) { (void)s; }

typedef struct part {
    const int32_t *tokens;
    int64_t n;
    int32_t *label;     /* (n) class or -1 */
    int64_t n_samples;
    float *x;           /* per layer (n_samples, C) */
} part;

/* prev-token labels on disjoint windows of ctx tokens. */
static void derive(part *p, int ctx, const int32_t *class_of) {
    p->label = malloc((size_t)p->n * sizeof *p->label);
    p->n_samples = 0;
    for (int64_t i = 0; i < p->n; i++) {
        p->label[i] = (i % ctx == 0) ? -1 : class_of[p->tokens[i - 1]];
        p->n_samples += p->label[i] >= 0;
    }
}

static void collect(part *p, ls_state *s, const ls_weights *w, int ctx, const int *layers, int n_layers) {
    const int C = w->cfg->n_embd;
    p->x = malloc((size_t)n_layers * (size_t)p->n_samples * (size_t)C * sizeof(float));
    float *x = ls_state_residual(s);
    int64_t row = 0;
    for (int64_t start = 0; start < p->n; start += ctx) {
        int T = (int)(p->n - start < ctx ? p->n - start : ctx);
        ls_embed(s, w, p->tokens + start, 1, T, 0, x);
        for (int l = 0, k = 0; l < w->cfg->n_layer && k < n_layers; l++) {
            ls_block(s, w, l, x, 1, T, 0);
            if (l != layers[k]) continue;
            int64_t r = row;
            for (int t = 0; t < T; t++)
                if (p->label[start + t] >= 0)
                    memcpy(p->x + ((int64_t)k * p->n_samples + r++) * C, x + (int64_t)t * C, (size_t)C * sizeof(float));
            k++;
        }
        for (int t = 0; t < T; t++) row += p->label[start + t] >= 0;
    }
}

/* feature_node rows of (n, C) features, optionally standardised with (mean, sd), plus a bias feature. */
static struct feature_node **nodes(const float *x, int64_t n, int C, const double *mean, const double *sd,
                                   struct feature_node **store) {
    struct feature_node **rows = malloc((size_t)n * sizeof *rows);
    *store = malloc((size_t)n * (size_t)(C + 2) * sizeof **store);
    for (int64_t i = 0; i < n; i++) {
        struct feature_node *f = *store + i * (C + 2);
        rows[i] = f;
        for (int j = 0; j < C; j++) {
            double v = x[i * C + j];
            if (mean) v = (v - mean[j]) / sd[j];
            f[j] = (struct feature_node){j + 1, v};
        }
        f[C] = (struct feature_node){C + 1, 1.0};
        f[C + 1] = (struct feature_node){-1, 0};
    }
    return rows;
}

int main(int argc, char **argv) {
    const char *model_dir = "models/kjv-gpt2", *layer_list = "0,3,6,11", *solver_list = "0,7,4,1", *c_list = "0.01,0.1,1,10";
    int scales = 3; /* bit 0: raw features, bit 1: standardised */
    int top = 32, ctx = 256;
    long long max_tokens = 1LL << 40;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--layers")) layer_list = argv[i + 1];
        else if (!strcmp(argv[i], "--top")) top = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--ctx")) ctx = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-tokens")) max_tokens = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--solvers")) solver_list = argv[i + 1];
        else if (!strcmp(argv[i], "--C")) c_list = argv[i + 1];
        else if (!strcmp(argv[i], "--scales")) scales = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    ls_error err;
    ls_model *m;
    ls_tokenizer *tok;
    char path[4096], *text;
    size_t len, n_ids;
    int32_t *ids;
    if (ls_model_open(&m, model_dir, &err) || ls_tokenizer_load_dir(&tok, model_dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/heldout.txt", model_dir);
    if (ls_read_file(path, &text, &len, &err) || ls_tokenizer_encode(tok, text, len, &ids, &n_ids, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if ((long long)n_ids > max_tokens) n_ids = (size_t)max_tokens;
    const ls_config *cfg = ls_model_config(m);
    const int C = cfg->n_embd, V = cfg->vocab_size;
    int layers[64], n_layers = 0;
    for (char *s = strtok(strdup(layer_list), ","); s && n_layers < 64; s = strtok(NULL, ",")) layers[n_layers++] = atoi(s);

    part tr = {.tokens = ids, .n = (int64_t)n_ids * 8 / 10}, te = {.tokens = ids + tr.n, .n = (int64_t)n_ids - tr.n};
    /* Classes: the top most frequent tokens of the train part (ties: lower id). */
    int64_t *count = calloc((size_t)V, sizeof *count);
    int32_t *class_of = malloc((size_t)V * sizeof *class_of);
    for (int64_t i = 0; i < tr.n; i++) count[tr.tokens[i]]++;
    for (int v = 0; v < V; v++) class_of[v] = -1;
    for (int k = 0; k < top; k++) {
        int best = -1;
        for (int v = 0; v < V; v++)
            if (class_of[v] < 0 && count[v] > 0 && (best < 0 || count[v] > count[best])) best = v;
        if (best < 0) break;
        class_of[best] = k;
    }
    derive(&tr, ctx, class_of);
    derive(&te, ctx, class_of);
    ls_state *st;
    ls_weights w = ls_model_weights(m);
    if (ls_state_new(&st, cfg, 1, ctx, 2, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    collect(&tr, st, &w, ctx, layers, n_layers);
    collect(&te, st, &w, ctx, layers, n_layers);
    /* Majority baseline. */
    int64_t *freq = calloc((size_t)top, sizeof *freq);
    for (int64_t i = 0; i < tr.n; i++)
        if (tr.label[i] >= 0) freq[tr.label[i]]++;
    int maj = 0;
    for (int k = 1; k < top; k++)
        if (freq[k] > freq[maj]) maj = k;
    int64_t hit = 0;
    for (int64_t i = 0; i < te.n; i++) hit += te.label[i] == maj;
    printf("tokens %zu (train %lld, test %lld), ctx %d, top %d: train samples %lld, test samples %lld, "
           "majority %.4f, chance %.4f\n",
           n_ids, (long long)tr.n, (long long)te.n, ctx, top, (long long)tr.n_samples, (long long)te.n_samples,
           (double)hit / (double)te.n_samples, 1.0 / top);
    set_print_string_function(quiet);
    /* --solvers: LIBLINEAR solver_type numbers (0 L2R_LR, 7 L2R_LR_DUAL, 4 MCSVM_CS, 1 L2R_L2LOSS_SVC_DUAL). */
    int solvers[16], n_solvers = 0;
    double Cs[16];
    int n_C = 0;
    for (char *s = strtok(strdup(solver_list), ","); s && n_solvers < 16; s = strtok(NULL, ",")) solvers[n_solvers++] = atoi(s);
    for (char *s = strtok(strdup(c_list), ","); s && n_C < 16; s = strtok(NULL, ",")) Cs[n_C++] = atof(s);
    const char *solver_name[16] = {[L2R_LR] = "L2R_LR (OvR logistic, primal)",
                                   [L2R_LR_DUAL] = "L2R_LR_DUAL (OvR logistic, dual)",
                                   [MCSVM_CS] = "MCSVM_CS (Crammer-Singer)",
                                   [L2R_L2LOSS_SVC_DUAL] = "L2R_L2LOSS_SVC_DUAL (OvR SVM)"};
    double *y = malloc((size_t)tr.n_samples * sizeof *y);
    int32_t *yt = malloc((size_t)te.n_samples * sizeof *yt);
    for (int64_t i = 0, r = 0; i < tr.n; i++)
        if (tr.label[i] >= 0) y[r++] = tr.label[i];
    for (int64_t i = 0, r = 0; i < te.n; i++)
        if (te.label[i] >= 0) yt[r++] = te.label[i];
    printf("%-6s %-34s %-6s %-6s %9s %12s\n", "layer", "solver", "C", "scale", "accuracy", "train cpu s");
    for (int k = 0; k < n_layers; k++) {
        const float *xtr = tr.x + (int64_t)k * tr.n_samples * C, *xte = te.x + (int64_t)k * te.n_samples * C;
        double *mean = calloc((size_t)C, sizeof *mean), *sd = calloc((size_t)C, sizeof *sd);
        for (int64_t i = 0; i < tr.n_samples; i++)
            for (int j = 0; j < C; j++) mean[j] += xtr[i * C + j];
        for (int j = 0; j < C; j++) mean[j] /= (double)tr.n_samples;
        for (int64_t i = 0; i < tr.n_samples; i++)
            for (int j = 0; j < C; j++) sd[j] += (xtr[i * C + j] - mean[j]) * (xtr[i * C + j] - mean[j]);
        for (int j = 0; j < C; j++) sd[j] = sd[j] > 0 ? sqrt(sd[j] / (double)tr.n_samples) : 1.0;
        for (int scale = 0; scale < 2; scale++) {
            if (!(scales >> scale & 1)) continue;
            struct feature_node *s1, *s2;
            struct feature_node **xa = nodes(xtr, tr.n_samples, C, scale ? mean : NULL, sd, &s1);
            struct feature_node **xb = nodes(xte, te.n_samples, C, scale ? mean : NULL, sd, &s2);
            struct problem prob = {.l = (int)tr.n_samples, .n = C + 1, .y = y, .x = xa, .bias = 1};
            for (int si = 0; si < n_solvers; si++)
                for (int ci = 0; ci < n_C; ci++) {
                    /* eps: LIBLINEAR's default for each solver (train -e). */
                    struct parameter par = {.solver_type = solvers[si], .C = Cs[ci], .eps = 0.01, .p = 0.1};
                    if (solvers[si] == MCSVM_CS || solvers[si] == L2R_L2LOSS_SVC_DUAL) par.eps = 0.1;
                    srand(1);
                    double t0 = cpu_secs();
                    struct model *mo = train(&prob, &par);
                    double secs = cpu_secs() - t0;
                    int64_t ok = 0;
                    for (int64_t i = 0; i < te.n_samples; i++) ok += (int32_t)predict(mo, xb[i]) == yt[i];
                    printf("L%-5d %-34s %-6g %-6s %9.4f %12.2f\n", layers[k], solver_name[solvers[si] & 15] ? solver_name[solvers[si] & 15] : "?", Cs[ci],
                           scale ? "z" : "raw", (double)ok / (double)te.n_samples, secs);
                    fflush(stdout);
                    free_and_destroy_model(&mo);
                }
            free(xa);
            free(xb);
            free(s1);
            free(s2);
        }
        free(mean);
        free(sd);
    }
    return 0;
}
