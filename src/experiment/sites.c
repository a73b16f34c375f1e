/* sites.c: activations by name: the site grammar, recording, ablation and
 * patching, as rules behind the forward pass's one hook (ls_hooks).
 *
 * A rule is (where, op). The hook's ask step returns, per layer, the sites
 * some rule names there, so the pass shows nothing else; visit walks the
 * selected (sequence, position, head) blocks of an activation and records
 * or rewrites them. Everything a rule needs from other runs (the mean or
 * the positions to resample from, the source activations to patch in) is
 * gathered once by ls_interventions_fit, with the same hook in a "fitting"
 * state that only records. The grammar is in include/lesion/sites.h. */
#include <lesion.h>

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* What one rule keeps for one layer (index layer + 1: the head's sites are layer -1). */
typedef struct layer_data {
    float *vals;         /* RECORD: the selected values; RESAMPLE: the pool; PATCH: the source */
    int64_t n, cap;      /* floats */
    int64_t rows;        /* RECORD: position rows (pattern: blocks); RESAMPLE/PATCH: position rows */
    int64_t dims[3];
    int ndim;
    int64_t row_floats;  /* floats per position row (all heads) for pools and sources */
    double *sum;         /* MEAN: per (head, feature) sums */
    int64_t count;
    float *mean;
} layer_data;

typedef struct rule {
    ls_site_spec where;
    ls_act_op op;
    layer_data *per_layer; /* [n_layer + 1] */
    int fitted;
    int off;               /* switched off (ls_interventions_enable): the hook passes it by */
} rule;

struct ls_interventions {
    ls_config cfg;
    uint64_t seed;
    rule *rules;
    int n, cap;
    int fitting; /* 1 while ls_interventions_fit runs: rules only gather */
};

/* ---- grammar -------------------------------------------------------------------- */

static int per_layer_site(ls_site s) { return s != LS_SITE_LNF_OUT && s != LS_SITE_LOGITS; }

int ls_site_spec_parse(ls_site_spec *out, const ls_config *cfg, const char *text, ls_error *err) {
    memset(out, 0, sizeof *out);
    if (!text || !*text) return ls_fail(err, "empty site (expected NAME[@SELECTOR], e.g. resid_post@L3 or attn.z@L1H2)");
    size_t len = strcspn(text, "@");
    int site = -1;
    for (int s = 0; s < LS_SITE_COUNT; s++)
        if (strlen(ls_site_name((ls_site)s)) == len && !strncmp(text, ls_site_name((ls_site)s), len)) site = s;
    char have[512];
    size_t k = 0;
    have[0] = 0;
    for (int s = 0; s < LS_SITE_COUNT; s++)
        if (ls_site_exists(cfg, (ls_site)s)) k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", k ? ", " : "", ls_site_name((ls_site)s));
    if (site < 0)
        return ls_fail(err, "site \"%.80s\": unknown name \"%.*s\" (this model has: %s)", text, (int)(len > 40 ? 40 : len),
                       text, have);
    out->site = (ls_site)site;
    if (!ls_site_exists(cfg, out->site))
        return ls_fail(err, "site \"%.80s\": a %s model%s has no %s (it has: %s)", text, ls_arch_name(cfg->arch),
                       cfg->parallel_residual ? " with a parallel residual" : "", ls_site_name(out->site), have);
    const char *name = ls_site_name(out->site);
    size_t pos = len;
    char msg[256], range[96];
    if (text[pos] == '@') {
        pos++;
        if (text[pos] == 'L' || !strncmp(text + pos, "all", 3)) {
            if (!per_layer_site(out->site))
                return ls_fail(err, "site \"%.80s\": %s is model-wide and takes no layer selector", text, name);
            if (text[pos] == 'L') {
                pos++;
                snprintf(range, sizeof range, "this model has layers 0-%d", cfg->n_layer - 1);
                if (ls_index_list_scan(text, &pos, cfg->n_layer, "layer", range, 'L', &out->layers, msg, sizeof msg))
                    return ls_fail(err, "site \"%.80s\": %s", text, msg);
            } else {
                pos += 3;
                out->layers.n = 1, out->layers.r[0].lo = 0, out->layers.r[0].hi = cfg->n_layer - 1;
            }
        }
        if (text[pos] == 'H') {
            if (!ls_site_has_heads(out->site))
                return ls_fail(err, "site \"%.80s\": %s has no heads (H applies to attn.q, attn.k, attn.v, "
                                    "attn.pattern, attn.z)", text, name);
            int kv = out->site == LS_SITE_ATTN_K || out->site == LS_SITE_ATTN_V;
            int heads = kv ? cfg->n_kv_head : cfg->n_head;
            pos++;
            snprintf(range, sizeof range, "this model has %sheads 0-%d", kv && heads != cfg->n_head ? "key/value " : "",
                     heads - 1);
            if (ls_index_list_scan(text, &pos, heads, "head", range, 'H', &out->heads, msg, sizeof msg))
                return ls_fail(err, "site \"%.80s\": %s", text, msg);
        }
        if (!strcmp(text + pos, "Plast")) {
            out->last = 1;
            pos += 5;
        } else if (text[pos] == 'P') {
            pos++;
            snprintf(range, sizeof range, "the context holds positions 0-%d", cfg->n_ctx - 1);
            if (ls_index_list_scan(text, &pos, cfg->n_ctx, "position", range, 'P', &out->positions, msg, sizeof msg))
                return ls_fail(err, "site \"%.80s\": %s", text, msg);
        }
        if (text[pos])
            return ls_fail(err, "site \"%.80s\": unexpected '%c' at offset %zu (expected L<layers>, all, H<heads>, "
                                "P<positions>, Plast, or the end)", text, text[pos], pos);
    }
    if (per_layer_site(out->site) && !out->layers.n)
        return ls_fail(err, "site \"%.80s\": %s needs a layer selector, e.g. %s@L0, %s@L0-3 or %s@all", text, name, name,
                       name, name);
    return 0;
}

static int list_text(char *buf, size_t cap, char letter, const ls_index_set *s) {
    int k = 0;
    if (!s->n) return 0;
    k += snprintf(buf, cap, "%c", letter);
    for (int i = 0; i < s->n; i++) {
        size_t at = (size_t)k < cap ? (size_t)k : cap;
        if (s->r[i].lo == s->r[i].hi) k += snprintf(buf + at, cap - at, "%s%d", i ? "," : "", s->r[i].lo);
        else k += snprintf(buf + at, cap - at, "%s%d-%d", i ? "," : "", s->r[i].lo, s->r[i].hi);
    }
    return k;
}

int ls_site_spec_format(const ls_site_spec *s, char *buf, size_t cap) {
    char l[512] = "", h[512] = "", p[512] = "";
    list_text(l, sizeof l, 'L', &s->layers);
    list_text(h, sizeof h, 'H', &s->heads);
    if (s->last) snprintf(p, sizeof p, "Plast");
    else list_text(p, sizeof p, 'P', &s->positions);
    int sel = *l || *h || *p;
    return snprintf(buf, cap, "%s%s%s%s%s", ls_site_name(s->site), sel ? "@" : "", l, h, p);
}

static const char *const k_op_names[] = {"record", "zero", "mean", "resample", "patch"};

const char *ls_act_op_name(ls_act_op op) { return (unsigned)op <= LS_ACT_PATCH ? k_op_names[op] : "?"; }

int ls_act_op_parse(const char *name) {
    for (int i = 0; i <= LS_ACT_PATCH; i++)
        if (!strcmp(name, k_op_names[i])) return i;
    return -1;
}

/* ---- rules ------------------------------------------------------------------------ */

int ls_interventions_new(ls_interventions **out, const ls_config *cfg, uint64_t seed, ls_error *err) {
    *out = calloc(1, sizeof **out);
    if (!*out) return ls_fail(err, "out of memory");
    (*out)->cfg = *cfg;
    (*out)->seed = seed;
    return 0;
}

static void layer_data_free(layer_data *d) {
    free(d->vals);
    free(d->sum);
    free(d->mean);
    memset(d, 0, sizeof *d);
}

void ls_interventions_clear(ls_interventions *iv) {
    for (int r = 0; r < iv->n; r++)
        if (iv->rules[r].op == LS_ACT_RECORD)
            for (int l = 0; l <= iv->cfg.n_layer; l++) layer_data_free(&iv->rules[r].per_layer[l]);
}

void ls_interventions_free(ls_interventions *iv) {
    if (!iv) return;
    for (int r = 0; r < iv->n; r++) {
        for (int l = 0; l <= iv->cfg.n_layer; l++) layer_data_free(&iv->rules[r].per_layer[l]);
        free(iv->rules[r].per_layer);
    }
    free(iv->rules);
    free(iv);
}

int ls_interventions_add(ls_interventions *iv, const ls_site_spec *where, ls_act_op op, ls_error *err) {
    if (op == LS_ACT_MEAN && where->site == LS_SITE_ATTN_PATTERN)
        return ls_fail(err, "mean ablation of attn.pattern is not defined (rows differ in length): use zero or patch");
    if (op == LS_ACT_RESAMPLE && where->site == LS_SITE_ATTN_PATTERN)
        return ls_fail(err, "resample ablation of attn.pattern is not defined: use zero or patch");
    if (iv->n == iv->cap) {
        int cap = iv->cap ? 2 * iv->cap : 4;
        rule *r = realloc(iv->rules, (size_t)cap * sizeof *r);
        if (!r) return ls_fail(err, "out of memory");
        iv->rules = r, iv->cap = cap;
    }
    rule *r = &iv->rules[iv->n];
    memset(r, 0, sizeof *r);
    r->where = *where;
    r->op = op;
    r->fitted = op == LS_ACT_RECORD || op == LS_ACT_ZERO;
    if (!(r->per_layer = calloc((size_t)iv->cfg.n_layer + 1, sizeof *r->per_layer))) return ls_fail(err, "out of memory");
    return iv->n++;
}

int ls_interventions_count(const ls_interventions *iv) { return iv->n; }

void ls_interventions_enable(ls_interventions *iv, int rule, int on) {
    if (rule >= 0 && rule < iv->n) iv->rules[rule].off = !on;
}

int ls_interventions_first_write_layer(const ls_interventions *iv) {
    int first = INT_MAX;
    for (int r = 0; r < iv->n; r++) {
        const rule *ru = &iv->rules[r];
        if (ru->op == LS_ACT_RECORD || ru->off) continue;
        int l = per_layer_site(ru->where.site) ? ru->where.layers.r[0].lo : iv->cfg.n_layer;
        if (l < first) first = l;
    }
    return first;
}

/* ---- the hook ------------------------------------------------------------------------ */

static int rule_layer(const rule *r, int layer) {
    return per_layer_site(r->where.site) ? layer >= 0 && ls_index_set_has(&r->where.layers, layer) : layer == -1;
}

static uint32_t hook_ask(void *ctx, int layer) {
    const ls_interventions *iv = ctx;
    uint32_t mask = 0;
    for (int r = 0; r < iv->n; r++) {
        const rule *ru = &iv->rules[r];
        if (iv->fitting ? ru->fitted : !ru->fitted || ru->off) continue; /* fitting: only the rules that still need it */
        if (rule_layer(ru, layer)) mask |= 1u << ru->where.site;
    }
    return mask;
}

static int pos_selected(const ls_site_spec *w, int pos, int t, int T) {
    if (w->last) return t == T - 1;
    return !w->positions.n || ls_index_set_has(&w->positions, pos);
}

static int head_selected(const ls_site_spec *w, int h) { return !w->heads.n || ls_index_set_has(&w->heads, h); }

static int grow(layer_data *d, int64_t more) {
    if (d->n + more <= d->cap) return 0;
    int64_t cap = d->cap ? d->cap : 1024;
    while (cap < d->n + more) cap *= 2;
    float *v = realloc(d->vals, (size_t)cap * sizeof *v);
    if (!v) return -1;
    d->vals = v, d->cap = cap;
    return 0;
}

/* Records the selected blocks of a. attn.pattern: per sequence one block
 * (H_sel, T_sel, keys); other sites: rows (T_sel, H_sel, width) appended. */
static void record(layer_data *d, const ls_site_spec *w, const ls_act *a) {
    int t_sel = 0, h_sel = 0;
    for (int t = 0; t < a->T; t++) t_sel += pos_selected(w, a->pos0 + t, t, a->T);
    for (int h = 0; h < a->heads; h++) h_sel += head_selected(w, h);
    const int pattern = w->site == LS_SITE_ATTN_PATTERN, heads = ls_site_has_heads(w->site);
    int64_t dims[3] = {0};
    int ndim;
    if (pattern) dims[0] = h_sel, dims[1] = t_sel, dims[2] = a->width, ndim = 3;
    else if (heads) dims[0] = h_sel, dims[1] = a->width, ndim = 2;
    else dims[0] = a->width, ndim = 1;
    if (d->ndim && memcmp(dims, d->dims, sizeof dims) != 0) return; /* a block of another shape (a later call) */
    memcpy(d->dims, dims, sizeof dims);
    d->ndim = ndim;
    if (grow(d, (int64_t)a->B * t_sel * h_sel * a->width) != 0) return;
    for (int b = 0; b < a->B; b++) {
        if (pattern) {
            for (int h = 0; h < a->heads; h++)
                for (int t = 0; t < a->T; t++)
                    if (head_selected(w, h) && pos_selected(w, a->pos0 + t, t, a->T)) {
                        memcpy(d->vals + d->n, a->x + b * a->seq_stride + t * a->row_stride + h * a->head_stride,
                               (size_t)a->width * sizeof(float));
                        d->n += a->width;
                    }
            d->rows++;
            continue;
        }
        for (int t = 0; t < a->T; t++) {
            if (!pos_selected(w, a->pos0 + t, t, a->T)) continue;
            for (int h = 0; h < a->heads; h++)
                if (head_selected(w, h)) {
                    memcpy(d->vals + d->n, a->x + b * a->seq_stride + t * a->row_stride + h * a->head_stride,
                           (size_t)a->width * sizeof(float));
                    d->n += a->width;
                }
            d->rows++;
        }
    }
}

/* Fitting: mean sums, resample pools and patch sources keep every position and head. */
static void gather(layer_data *d, const rule *ru, const ls_act *a) {
    const int64_t row_floats = (int64_t)a->heads * a->width;
    if (ru->op == LS_ACT_MEAN) {
        if (!d->sum && !(d->sum = calloc((size_t)row_floats, sizeof *d->sum))) return;
        d->row_floats = row_floats;
        for (int b = 0; b < a->B; b++)
            for (int t = 0; t < a->T; t++, d->count++)
                for (int h = 0; h < a->heads; h++)
                    for (int i = 0; i < a->width; i++)
                        d->sum[h * a->width + i] += a->x[b * a->seq_stride + t * a->row_stride + h * a->head_stride + i];
        return;
    }
    /* RESAMPLE pool and PATCH source: rows of (heads, width) per position; a
     * pattern source keeps (heads, T, keys) of its one call. */
    if (grow(d, (int64_t)a->B * a->T * row_floats) != 0) return;
    d->row_floats = row_floats;
    for (int b = 0; b < a->B; b++)
        for (int t = 0; t < a->T; t++, d->rows++)
            for (int h = 0; h < a->heads; h++) {
                memcpy(d->vals + d->n, a->x + b * a->seq_stride + t * a->row_stride + h * a->head_stride,
                       (size_t)a->width * sizeof(float));
                d->n += a->width;
            }
}

static int apply(const ls_interventions *iv, const rule *ru, const layer_data *d, const ls_act *a) {
    int changed = 0;
    for (int b = 0; b < a->B; b++)
        for (int t = 0; t < a->T; t++) {
            const int pos = a->pos0 + t;
            if (!pos_selected(&ru->where, pos, t, a->T)) continue;
            const float *src = NULL;
            if (ru->op == LS_ACT_PATCH) {
                if (pos >= d->rows) continue; /* the source is shorter: nothing to patch in here */
                src = d->vals + (int64_t)pos * d->row_floats;
            } else if (ru->op == LS_ACT_RESAMPLE) {
                if (!d->rows) continue;
                uint64_t key = ((uint64_t)(a->layer + 1) << 40) ^ ((uint64_t)b << 32) ^ (uint64_t)pos;
                src = d->vals + (int64_t)(ls_mix64(iv->seed, key) % (uint64_t)d->rows) * d->row_floats;
            } else if (ru->op == LS_ACT_MEAN) {
                src = d->mean;
            }
            for (int h = 0; h < a->heads; h++) {
                if (!head_selected(&ru->where, h)) continue;
                float *x = a->x + b * a->seq_stride + t * a->row_stride + h * a->head_stride;
                if (src) memcpy(x, src + (int64_t)h * a->width, (size_t)a->width * sizeof *x);
                else memset(x, 0, (size_t)a->width * sizeof *x);
                changed = 1;
            }
        }
    return changed;
}

static int hook_visit(void *ctx, const ls_act *a) {
    ls_interventions *iv = ctx;
    int changed = 0;
    for (int r = 0; r < iv->n; r++) {
        rule *ru = &iv->rules[r];
        if (ru->where.site != a->site || !rule_layer(ru, a->layer) || (ru->off && !iv->fitting)) continue;
        layer_data *d = &ru->per_layer[a->layer + 1];
        if (iv->fitting) {
            if (!ru->fitted) gather(d, ru, a);
        } else if (ru->op == LS_ACT_RECORD) {
            record(d, &ru->where, a);
        } else {
            changed |= apply(iv, ru, d, a);
        }
    }
    return changed;
}

ls_hooks ls_interventions_hooks(ls_interventions *iv) {
    return (ls_hooks){.ask = hook_ask, .visit = hook_visit, .ctx = iv,
                      .first_write_layer = ls_interventions_first_write_layer(iv)};
}

/* ---- fitting ---------------------------------------------------------------------------- */

int ls_interventions_fit(ls_interventions *iv, ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n,
                         int ctx, const int32_t *patch_from, int n_patch_from, ls_error *err) {
    int need_text = 0, need_source = 0;
    for (int r = 0; r < iv->n; r++) {
        if (iv->rules[r].fitted) continue;
        need_text |= iv->rules[r].op == LS_ACT_MEAN || iv->rules[r].op == LS_ACT_RESAMPLE;
        need_source |= iv->rules[r].op == LS_ACT_PATCH;
    }
    if (need_text && (!tokens || n < 1))
        return ls_fail(err, "mean and resample ablations need a reference text (--eval or --file)");
    if (need_source && (!patch_from || n_patch_from < 1))
        return ls_fail(err, "patching needs a source input (--from-prompt or --from-ids)");
    ls_hooks h = ls_interventions_hooks(iv);
    iv->fitting = 1;
    int rc = ls_state_set_hooks(s, &h, err);
    /* The source first (patch rules), then the text (mean, resample): each
     * rule gathers only from the runs it needs, told apart by op. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (int r = 0; r < iv->n; r++) { /* a rule not fed by this pass sits it out */
            rule *ru = &iv->rules[r];
            if (ru->op == LS_ACT_MEAN || ru->op == LS_ACT_RESAMPLE || ru->op == LS_ACT_PATCH)
                ru->fitted = (ru->op == LS_ACT_PATCH) != (pass == 0);
        }
        if (pass == 0 && need_source) {
            rc = ls_forward(s, w, patch_from, 1, n_patch_from, 0, NULL, LS_LOGITS_NONE, err);
        } else if (pass == 1 && need_text) {
            int T = n < ctx ? (int)n : ctx;
            for (int64_t at = 0; at + T <= n && rc == 0; at += T)
                rc = ls_forward(s, w, tokens + at, 1, T, 0, NULL, LS_LOGITS_NONE, err);
        }
    }
    iv->fitting = 0;
    ls_state_set_hooks(s, NULL, NULL);
    for (int r = 0; r < iv->n; r++) iv->rules[r].fitted = 1;
    if (rc != 0) return -1;
    for (int r = 0; r < iv->n; r++) { /* means from sums */
        rule *ru = &iv->rules[r];
        if (ru->op != LS_ACT_MEAN) continue;
        for (int l = 0; l <= iv->cfg.n_layer; l++) {
            layer_data *d = &ru->per_layer[l];
            if (!d->sum || !d->count) continue;
            if (!(d->mean = malloc((size_t)d->row_floats * sizeof *d->mean))) return ls_fail(err, "out of memory");
            for (int64_t i = 0; i < d->row_floats; i++) d->mean[i] = (float)(d->sum[i] / (double)d->count);
        }
    }
    return 0;
}

const float *ls_interventions_recorded(const ls_interventions *iv, int rule, int layer, int64_t *rows,
                                       int64_t dims[3], int *ndim) {
    if (rule < 0 || rule >= iv->n || layer < -1 || layer >= iv->cfg.n_layer) return NULL;
    const layer_data *d = &iv->rules[rule].per_layer[layer + 1];
    if (!d->ndim) return NULL;
    *rows = d->rows;
    memcpy(dims, d->dims, 3 * sizeof *dims);
    *ndim = d->ndim;
    return d->vals;
}

int ls_interventions_prepare(ls_interventions *iv, const ls_weights *w, const int32_t *reference, int64_t n_reference,
                             const int32_t *patch_from, int n_patch_from, int n_threads, ls_error *err) {
    const ls_config *cfg = w->cfg;
    if (patch_from && (n_patch_from < 1 || n_patch_from > cfg->n_ctx))
        return ls_fail(err, "the patch source has %d tokens (expected 1..%d)", n_patch_from, cfg->n_ctx);
    for (int i = 0; patch_from && i < n_patch_from; i++)
        if (patch_from[i] < 0 || patch_from[i] >= cfg->vocab_size)
            return ls_fail(err, "patch source: token id %d is outside the vocabulary (0..%d)", patch_from[i],
                           cfg->vocab_size - 1);
    if (n_reference > LS_REFERENCE_TOKENS) n_reference = LS_REFERENCE_TOKENS;
    for (int64_t i = 0; reference && i < n_reference; i++)
        if (reference[i] < 0 || reference[i] >= cfg->vocab_size)
            return ls_fail(err, "reference text: token id %d is outside the vocabulary (0..%d)", reference[i],
                           cfg->vocab_size - 1);
    int ctx = cfg->n_ctx < 1024 ? cfg->n_ctx : 1024;
    if (reference && n_reference > 0 && n_reference < ctx) ctx = (int)n_reference;
    if (patch_from && n_patch_from > ctx) ctx = n_patch_from;
    ls_state *s = NULL;
    if (ls_state_new(&s, cfg, 1, ctx, n_threads, err) != 0) return -1;
    int rc = ls_interventions_fit(iv, s, w, reference, reference ? n_reference : 0, ctx, patch_from,
                                  patch_from ? n_patch_from : 0, err);
    ls_state_free(s);
    return rc;
}
