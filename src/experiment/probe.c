/* probe.c: linear probes on activations, clean vs lesioned.
 *
 * A probe (include/lesion/probe.h) is prepared once from two texts and a
 * task: labels derived, texts checked, a forward state made. Then for any
 * weights view it reads the activations of the asked-for sites at the
 * labelled positions, trains one classifier per site on the train text
 * (ls_probe_fit) and scores it on the test text (ls_probe_score). Fit and
 * score take separate views so that probes trained on the clean model can
 * read a lesioned one; a sweep calls ls_probe_run once per row.
 *
 * Activations are read through the forward pass's hooks (forward.h): the
 * probe asks each layer for the sites it probes and copies the labelled
 * rows as they pass, running the blocks only as deep as its deepest site.
 *
 * Classifiers of different sites are independent: they are trained on
 * n_threads threads at once, each single-threaded and deterministic, so the
 * accuracies do not depend on the thread count. */
#include <lesion.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- a prepared probe --------------------------------------------------------- */

/* One of the two texts, with what the probe keeps of it. */
typedef struct probe_text {
    const int32_t *tokens;
    int64_t n;
    int32_t *label;    /* (n) class or -1 */
    int64_t *row;      /* (n) the position's row among the labelled ones, or -1 */
    int64_t n_samples; /* labelled positions */
    int32_t *y;        /* (n_samples) their classes */
    float **x;         /* (n_sites) of (n_samples, width of the site): activations of the last view read */
} probe_text;

struct ls_probe {
    ls_config cfg;
    ls_probe_task task;
    int ctx, batch, n_threads;
    ls_probe_site *sites;
    int *width;            /* (n_sites) features of each site */
    int n_sites;
    int n_layers_run;      /* blocks the deepest site needs */
    uint32_t ask[LS_MAX_LAYERS]; /* sites probed in each layer, as the hooks' mask */
    probe_text *reading;   /* the text and window start being read, for the hook */
    int64_t reading_start;
    int n_classes;         /* distinct classes among the train samples */
    int32_t *class_tokens; /* token tasks: (top) token id of each class */
    probe_text train, test;
    ls_state *state;
    ls_hooks extra;        /* interventions that run before the probe reads (ask NULL: none) */
    ls_classifier **clf;   /* (n_sites), NULL until fitted */
};

static void text_free(probe_text *t, int n_sites) {
    free(t->label);
    free(t->row);
    free(t->y);
    if (t->x)
        for (int s = 0; s < n_sites; s++) free(t->x[s]);
    free(t->x);
}

static void drop_classifiers(ls_probe *p) {
    for (int i = 0; i < p->n_sites; i++) {
        ls_classifier_free(p->clf[i]);
        p->clf[i] = NULL;
    }
}

void ls_probe_free(ls_probe *p) {
    if (!p) return;
    if (p->clf) drop_classifiers(p);
    free(p->clf);
    free(p->sites);
    free(p->width);
    free(p->class_tokens);
    text_free(&p->train, p->n_sites);
    text_free(&p->test, p->n_sites);
    ls_state_free(p->state);
    free(p);
}

/* Labels, rows and buffers of one text; what = "train" or "test" for messages. */
static int text_prepare(ls_probe *p, probe_text *t, const int32_t *tokens, int64_t n, const int32_t *given,
                        const int32_t *class_of, int buckets, const char *what, ls_error *err) {
    t->tokens = tokens;
    t->n = n;
    if (n < 1) return ls_fail(err, "the %s text has no tokens", what);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= p->cfg.vocab_size)
            return ls_fail(err, "%s text: token id %d at index %lld is outside the vocabulary (0..%d)", what,
                           tokens[i], (long long)i, p->cfg.vocab_size - 1);
    t->label = malloc((size_t)n * sizeof *t->label);
    t->row = malloc((size_t)n * sizeof *t->row);
    if (!t->label || !t->row) return ls_fail(err, "out of memory for %lld %s positions", (long long)n, what);
    if (p->task == LS_PROBE_LABELS) {
        for (int64_t i = 0; i < n; i++)
            if (given[i] < -1 || given[i] >= LS_PROBE_MAX_CLASSES)
                return ls_fail(err, "%s labels: class %d at token %lld (expected -1..%d)", what, given[i],
                               (long long)i, LS_PROBE_MAX_CLASSES - 1);
        memcpy(t->label, given, (size_t)n * sizeof *t->label);
    } else ls_probe_derive_labels(p->task, tokens, n, p->ctx, class_of, buckets, t->label);
    for (int64_t i = 0; i < n; i++) t->row[i] = t->label[i] >= 0 ? t->n_samples++ : -1;
    int64_t need = t == &p->train ? LS_PROBE_MIN_TRAIN : LS_PROBE_MIN_TEST;
    if (t->n_samples < need)
        return ls_fail(err, "%s task: %lld labelled positions in the %s text of %lld tokens; need at least %lld",
                       ls_probe_task_name(p->task), (long long)t->n_samples, what, (long long)n, (long long)need);
    t->y = malloc((size_t)t->n_samples * sizeof *t->y);
    t->x = calloc((size_t)p->n_sites, sizeof *t->x);
    if (!t->y || !t->x) return ls_fail(err, "out of memory for %lld %s positions", (long long)t->n_samples, what);
    for (int s = 0; s < p->n_sites; s++)
        if (!(t->x[s] = malloc((size_t)t->n_samples * (size_t)p->width[s] * sizeof(float))))
            return ls_fail(err, "out of memory for the activations of %lld %s positions at %d sites",
                           (long long)t->n_samples, what, p->n_sites);
    for (int64_t i = 0; i < n; i++)
        if (t->row[i] >= 0) t->y[t->row[i]] = t->label[i];
    return 0;
}

static uint32_t hook_ask(void *ctx, int layer);
static int hook_visit(void *ctx, const ls_act *a);

int ls_probe_new(ls_probe **out, const ls_config *cfg, const ls_probe_setup *su, ls_error *err) {
    *out = NULL;
    if (su->ctx < 1 || su->ctx > cfg->n_ctx)
        return ls_fail(err, "window of %d tokens: expected 1..%d (the model's context)", su->ctx, cfg->n_ctx);
    if (su->n_sites < 1) return ls_fail(err, "no sites to probe");
    if (su->batch < 1 || su->n_threads < 1)
        return ls_fail(err, "batch %d, threads %d: expected at least 1 each", su->batch, su->n_threads);
    if ((su->task == LS_PROBE_PREV_TOKEN || su->task == LS_PROBE_TOKEN) && su->top < 2)
        return ls_fail(err, "%d token classes: expected at least 2", su->top);
    if (su->task == LS_PROBE_POSITION && (su->buckets < 2 || su->buckets > su->ctx))
        return ls_fail(err, "%d position buckets: expected 2..%d (the window length)", su->buckets, su->ctx);
    if (su->task == LS_PROBE_LABELS && (!su->train_labels || !su->test_labels))
        return ls_fail(err, "labels task without labels for both texts");
    for (int i = 0; i < su->n_sites; i++) {
        const ls_probe_site *ps = &su->sites[i];
        if (ps->layer < 0 || ps->layer >= cfg->n_layer)
            return ls_fail(err, "site layer %d out of range (the model has layers 0-%d)", ps->layer, cfg->n_layer - 1);
        if ((unsigned)ps->site >= LS_SITE_COUNT || ps->site == LS_SITE_ATTN_PATTERN || ps->site == LS_SITE_LNF_OUT ||
            ps->site == LS_SITE_LOGITS || !ls_site_exists(cfg, ps->site) || ls_probe_site_width(cfg, ps) < 1)
            return ls_fail(err, "site %d (%s@L%d) cannot be probed in this model (see ls_probe_site_parse)", i,
                           (unsigned)ps->site < LS_SITE_COUNT ? ls_site_name(ps->site) : "?", ps->layer);
    }

    ls_probe *p = calloc(1, sizeof *p);
    if (!p) return ls_fail(err, "out of memory");
    p->cfg = *cfg;
    p->task = su->task;
    p->ctx = su->ctx;
    p->batch = su->batch;
    p->n_threads = su->n_threads;
    p->n_sites = su->n_sites;
    p->sites = malloc((size_t)su->n_sites * sizeof *p->sites);
    p->width = malloc((size_t)su->n_sites * sizeof *p->width);
    p->clf = calloc((size_t)su->n_sites, sizeof *p->clf);
    int32_t *class_of = NULL;
    int rc = -1;
    if (!p->sites || !p->width || !p->clf) {
        ls_fail(err, "out of memory");
        goto done;
    }
    memcpy(p->sites, su->sites, (size_t)su->n_sites * sizeof *p->sites);
    for (int i = 0; i < p->n_sites; i++) {
        p->width[i] = ls_probe_site_width(cfg, &p->sites[i]);
        p->ask[p->sites[i].layer] |= 1u << p->sites[i].site;
        if (p->sites[i].layer + 1 > p->n_layers_run) p->n_layers_run = p->sites[i].layer + 1;
    }
    if (p->task == LS_PROBE_PREV_TOKEN || p->task == LS_PROBE_TOKEN) {
        class_of = malloc((size_t)cfg->vocab_size * sizeof *class_of);
        p->class_tokens = malloc((size_t)su->top * sizeof *p->class_tokens);
        if (!class_of || !p->class_tokens) {
            ls_fail(err, "out of memory");
            goto done;
        }
        /* Ids outside the vocabulary are refused below (text_prepare) before any label is used. */
        ls_probe_top_tokens(su->train_tokens, su->n_train, cfg->vocab_size, su->top, class_of, p->class_tokens);
    }
    if (text_prepare(p, &p->train, su->train_tokens, su->n_train, su->train_labels, class_of, su->buckets, "train",
                     err) != 0 ||
        text_prepare(p, &p->test, su->test_tokens, su->n_test, su->test_labels, class_of, su->buckets, "test",
                     err) != 0)
        goto done;
    /* Classes: the distinct labels of the train positions. */
    int32_t max_class = 0;
    for (int64_t i = 0; i < p->train.n_samples; i++)
        if (p->train.y[i] > max_class) max_class = p->train.y[i];
    char *present = calloc((size_t)max_class + 1, 1);
    if (!present) {
        ls_fail(err, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < p->train.n_samples; i++) present[p->train.y[i]] = 1;
    for (int32_t c = 0; c <= max_class; c++) p->n_classes += present[c];
    free(present);
    if (p->n_classes < 2) {
        ls_fail(err, "%s task: every labelled position of the train text has the same class; need two classes",
                ls_probe_task_name(p->task));
        goto done;
    }
    if (ls_state_new(&p->state, cfg, su->batch, su->ctx, su->n_threads, err) != 0) goto done;
    ls_hooks hooks = {.ask = hook_ask, .visit = hook_visit, .ctx = p, .first_write_layer = INT_MAX};
    if (ls_state_set_hooks(p->state, &hooks, err) != 0) goto done;
    rc = 0;
done:
    free(class_of);
    if (rc) ls_probe_free(p);
    else *out = p;
    return rc;
}

int ls_probe_classes(const ls_probe *p) { return p->n_classes; }
const int32_t *ls_probe_class_tokens(const ls_probe *p) { return p->class_tokens; }
int64_t ls_probe_train_samples(const ls_probe *p) { return p->train.n_samples; }
int64_t ls_probe_test_samples(const ls_probe *p) { return p->test.n_samples; }

double ls_probe_majority(const ls_probe *p, int *cls) {
    int32_t max_class = 0;
    for (int64_t i = 0; i < p->train.n_samples; i++)
        if (p->train.y[i] > max_class) max_class = p->train.y[i];
    int64_t *count = calloc((size_t)max_class + 1, sizeof *count);
    if (!count) return -1;
    for (int64_t i = 0; i < p->train.n_samples; i++) count[p->train.y[i]]++;
    int best = 0;
    for (int c = 1; c <= max_class; c++)
        if (count[c] > count[best]) best = c;
    free(count);
    int64_t hit = 0;
    for (int64_t i = 0; i < p->test.n_samples; i++) hit += p->test.y[i] == best;
    if (cls) *cls = best;
    return (double)hit / (double)p->test.n_samples;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

double ls_probe_token_baseline(const ls_probe *p) {
    const probe_text *tr = &p->train, *te = &p->test;
    int maj;
    ls_probe_majority(p, &maj);
    /* (token, class) of every train sample, sorted: the runs give each token's class counts. */
    int64_t *pair = malloc((size_t)tr->n_samples * sizeof *pair);
    int32_t *best = malloc((size_t)p->cfg.vocab_size * sizeof *best);
    if (!pair || !best) {
        free(pair);
        free(best);
        return -1;
    }
    for (int64_t i = 0; i < tr->n; i++)
        if (tr->row[i] >= 0) pair[tr->row[i]] = (int64_t)tr->tokens[i] << 32 | (uint32_t)tr->label[i];
    qsort(pair, (size_t)tr->n_samples, sizeof *pair, cmp_i64);
    for (int v = 0; v < p->cfg.vocab_size; v++) best[v] = maj;
    for (int64_t i = 0, run_best = 0; i < tr->n_samples;) {
        int64_t j = i;
        while (j < tr->n_samples && pair[j] == pair[i]) j++; /* [i, j): one (token, class) */
        int32_t token = (int32_t)(pair[i] >> 32);
        int64_t first_of_token = i == 0 || (int32_t)(pair[i - 1] >> 32) != token;
        if (first_of_token) run_best = 0;
        if (j - i > run_best) { /* ascending class order: ties keep the lower class */
            run_best = j - i;
            best[token] = (int32_t)(uint32_t)pair[i];
        }
        i = j;
    }
    int64_t hit = 0;
    for (int64_t i = 0; i < te->n; i++)
        if (te->row[i] >= 0) hit += best[te->tokens[i]] == te->label[i];
    free(pair);
    free(best);
    return (double)hit / (double)te->n_samples;
}

/* ---- reading activations ---------------------------------------------------------- */

static uint32_t hook_ask(void *ctx, int layer) {
    const ls_probe *p = ctx;
    uint32_t extra = p->extra.ask ? p->extra.ask(p->extra.ctx, layer) : 0;
    return (layer >= 0 && layer < LS_MAX_LAYERS ? p->ask[layer] : 0) | extra;
}

int ls_probe_set_hooks(ls_probe *p, const ls_hooks *hooks, ls_error *err) {
    memset(&p->extra, 0, sizeof p->extra);
    if (hooks && hooks->ask) p->extra = *hooks;
    ls_hooks mine = {.ask = hook_ask, .visit = hook_visit, .ctx = p, .first_write_layer = p->extra.first_write_layer};
    if (!p->extra.ask) mine.first_write_layer = INT_MAX;
    return ls_state_set_hooks(p->state, &mine, err);
}

/* Copies the labelled rows of an activation into the buffer of every probe
 * site it is (the window batch starts at text position reading_start). */
static int hook_visit(void *ctx, const ls_act *a) {
    ls_probe *p = ctx;
    int changed = 0;
    if (p->extra.ask && (p->extra.ask(p->extra.ctx, a->layer) >> a->site & 1u)) changed = p->extra.visit(p->extra.ctx, a);
    if (a->layer < 0 || a->layer >= LS_MAX_LAYERS || !(p->ask[a->layer] >> a->site & 1u)) return changed;
    probe_text *t = p->reading;
    for (int s = 0; s < p->n_sites; s++) {
        const ls_probe_site *ps = &p->sites[s];
        if (ps->site != a->site || ps->layer != a->layer) continue;
        float *dst = t->x[s];
        const int W = p->width[s];
        for (int b = 0; b < a->B; b++)
            for (int i = 0; i < a->T; i++) {
                int64_t r = t->row[p->reading_start + (int64_t)b * p->ctx + a->pos0 + i];
                if (r < 0) continue;
                float *out = dst + r * W;
                for (int h = 0; h < a->heads; h++) {
                    if (ps->heads.n && !ls_index_set_has(&ps->heads, h)) continue;
                    memcpy(out, a->x + b * a->seq_stride + i * a->row_stride + h * a->head_stride,
                           (size_t)a->width * sizeof(float));
                    out += a->width;
                }
            }
    }
    return changed; /* the probe itself only reads */
}

/* B consecutive windows of T tokens from text position start, through w,
 * as deep as the deepest site. */
static void read_window_batch(ls_probe *p, probe_text *t, const ls_weights *w, int64_t start, int B, int T) {
    float *x = ls_state_residual(p->state); /* (B,T,C) */
    p->reading = t;
    p->reading_start = start;
    ls_embed(p->state, w, t->tokens + start, B, T, 0, x);
    for (int l = 0; l < p->n_layers_run; l++) ls_block(p->state, w, l, x, B, T, 0);
}

/* The activations of every site at every labelled position of t, under w. */
static void read_text(ls_probe *p, probe_text *t, const ls_weights *w) {
    const int64_t full = t->n / p->ctx;
    const int rest = (int)(t->n % p->ctx);
    for (int64_t k = 0; k < full; k += p->batch) {
        int B = (int)(full - k < p->batch ? full - k : p->batch);
        read_window_batch(p, t, w, k * p->ctx, B, p->ctx);
    }
    if (rest > 0) read_window_batch(p, t, w, full * p->ctx, 1, rest);
}

/* ---- fitting and scoring ----------------------------------------------------------- */

int ls_probe_fit(ls_probe *p, const ls_weights *w, ls_error *err) {
    drop_classifiers(p);
    read_text(p, &p->train, w);
    const int64_t n = p->train.n_samples;
    ls_error *errs = calloc((size_t)p->n_sites, sizeof *errs);
    if (!errs) return ls_fail(err, "out of memory");
    int failed = -1;
#pragma omp parallel for num_threads(p->n_threads) schedule(dynamic, 1)
    for (int s = 0; s < p->n_sites; s++)
        if (ls_classifier_fit(&p->clf[s], p->train.x[s], p->train.y, n, p->width[s], LS_PROBE_C,
                              &errs[s]) != 0) {
#pragma omp critical(ls_probe_fit_failed)
            if (failed < 0 || s < failed) failed = s;
        }
    int rc = 0;
    if (failed >= 0) {
        char name[128];
        ls_probe_site_format(&p->sites[failed], name, sizeof name);
        rc = ls_fail(err, "%s: %s", name, errs[failed].msg);
        drop_classifiers(p);
    }
    free(errs);
    return rc;
}

int ls_probe_score(ls_probe *p, const ls_weights *w, double *accuracy, ls_error *err) {
    if (!p->clf[0]) return ls_fail(err, "probe scored before it was fitted");
    read_text(p, &p->test, w);
    const int64_t n = p->test.n_samples;
    int32_t *pred = malloc((size_t)p->n_sites * (size_t)n * sizeof *pred);
    if (!pred) return ls_fail(err, "out of memory");
#pragma omp parallel for num_threads(p->n_threads) schedule(dynamic, 1)
    for (int s = 0; s < p->n_sites; s++) {
        ls_classifier_predict(p->clf[s], p->test.x[s], n, pred + (int64_t)s * n);
        int64_t hit = 0;
        for (int64_t i = 0; i < n; i++) hit += pred[(int64_t)s * n + i] == p->test.y[i];
        accuracy[s] = (double)hit / (double)n;
    }
    free(pred);
    return 0;
}

int ls_probe_run(ls_probe *p, const ls_weights *w, double *accuracy, ls_error *err) {
    if (ls_probe_fit(p, w, err) != 0) return -1;
    return ls_probe_score(p, w, accuracy, err);
}
