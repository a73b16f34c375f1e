/* sweep_plan.c: which configurations a sweep measures.
 *
 * A plan is a list of configurations, each a label and a list of lesion
 * specs separated by ';'; configuration 0 is always the clean model. Plans
 * are generated (cumulative, reverse, single, heads, dims, over all layers
 * or the ones --layers names) or read from a plan file, one configuration
 * per line. A plan file is checked line by line before any work starts: a
 * NUL byte, a bad spec, a configuration listed twice or two specs of one
 * line that touch the same weights (noise applied twice) are errors that
 * name the file and the line (the last two unless allow_duplicates).
 * A plan-file line may also hold activation interventions, items written
 * ablate:SITE (zero), ablate-mean:SITE or ablate-resample:SITE in the site
 * grammar of sites.h; the sweep applies them to that configuration's rows
 * (ls_plan_intervention tells them from lesion specs). */
#include <lesion.h>

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"cumulative", "reverse", "single", "heads", "dims", "file"};

const char *ls_plan_kind_name(ls_plan_kind k) {
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

static int plan_add(ls_plan *p, const char *label, const char *spec, int grid_row, int grid_col, ls_error *err) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        char **l = realloc(p->labels, (size_t)cap * sizeof *l);
        if (!l) return ls_fail(err, "out of memory (plan)");
        p->labels = l;
        char **s = realloc(p->specs, (size_t)cap * sizeof *s);
        if (!s) return ls_fail(err, "out of memory (plan)");
        p->specs = s;
        int *r = realloc(p->grid_row, (size_t)cap * sizeof *r);
        if (!r) return ls_fail(err, "out of memory (plan)");
        p->grid_row = r;
        int *c = realloc(p->grid_col, (size_t)cap * sizeof *c);
        if (!c) return ls_fail(err, "out of memory (plan)");
        p->grid_col = c;
        p->cap = cap;
    }
    p->labels[p->n] = strdup(label);
    p->specs[p->n] = strdup(spec);
    p->grid_row[p->n] = grid_row;
    p->grid_col[p->n] = grid_col;
    p->n++;
    return p->labels[p->n - 1] && p->specs[p->n - 1] ? 0 : ls_fail(err, "out of memory (plan)");
}

void ls_plan_free(ls_plan *p) {
    for (int i = 0; i < p->n; i++) free(p->labels[i]), free(p->specs[i]);
    free(p->labels);
    free(p->specs);
    free(p->grid_row);
    free(p->grid_col);
    free(p->grid_layers);
    memset(p, 0, sizeof *p);
}

/* "L" + the canonical list of layers[lo..hi] (ascending indices), e.g. L0-3 or L0,4,7. */
static void layer_label(char *buf, size_t cap, const int *layers, int lo, int hi) {
    ls_spec s = {.comp = LS_COMP_LN1};
    for (int i = lo; i <= hi; i++) {
        if (s.layers.n && s.layers.r[s.layers.n - 1].hi + 1 == layers[i]) s.layers.r[s.layers.n - 1].hi = layers[i];
        else if (s.layers.n < LS_SPEC_MAX_RANGES) s.layers.r[s.layers.n].lo = s.layers.r[s.layers.n].hi = layers[i], s.layers.n++;
    }
    char spec[512];
    ls_spec_format(&s, spec, sizeof spec);
    snprintf(buf, cap, "%s", spec + strlen("ln1@"));
}

int ls_plan_build(ls_plan *p, const ls_config *cfg, const ls_plan_request *req, ls_error *err) {
    memset(p, 0, sizeof *p);
    const char *name = req->name ? req->name : "cumulative", *target = req->target ? req->target : "attn.q";
    int k;
    for (k = 0; k < LS_PLAN_FILE; k++)
        if (strcmp(name, kind_names[k]) == 0) break;
    if (k == LS_PLAN_FILE)
        return ls_fail(err, "plan \"%.40s\": unknown (expected cumulative, reverse, single, heads or dims)", name);
    p->kind = (ls_plan_kind)k;
    p->ordered = p->kind == LS_PLAN_CUMULATIVE || p->kind == LS_PLAN_REVERSE;
    if (strchr(target, '@'))
        return ls_fail(err, "target \"%.60s\": give a component (e.g. attn.q); choose layers with --layers (e.g. "
                            "--layers 0-3)", target);
    ls_component comp;
    if (ls_component_parse(target, strlen(target), &comp) != 0)
        return ls_fail(err, "target \"%.60s\": unknown component (valid: attn.q, attn.k, attn.v, attn.o, mlp.fc, "
                            "mlp.proj, mlp.gate, mlp.up, mlp.down, ln1, ln2, lnf, wte, wte.in, wte.out, wpe, head)", target);
    ls_comp_geom geom;
    if (ls_component_geometry(cfg, comp, &geom) != 0) {
        char have[256];
        size_t k = 0;
        have[0] = 0;
        for (int c = 0; c < LS_COMP_COUNT; c++) {
            ls_comp_geom g;
            if (ls_component_geometry(cfg, (ls_component)c, &g) == 0)
                k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", k ? ", " : "", ls_component_name((ls_component)c));
        }
        return ls_fail(err, "target %s: a %s model has no such part (it has: %s)", target, ls_arch_name(cfg->arch), have);
    }
    const int per_layer = ls_component_per_layer(comp);
    if (!per_layer && p->kind != LS_PLAN_DIMS)
        return ls_fail(err, "target %s is model-wide (no layers): use plan dims (with a dim block), or a plan file",
                       target);
    if (p->kind == LS_PLAN_HEADS && !ls_component_has_heads(comp))
        return ls_fail(err, "plan heads needs a component with heads (attn.q, attn.k, attn.v, attn.o), not %s", target);
    if (p->kind == LS_PLAN_DIMS && ls_component_has_heads(comp))
        return ls_fail(err, "plan dims needs a component with dims (mlp.*, ln*, wte*, wpe), not %s: use plan heads",
                       target);
    int *layers = malloc((size_t)cfg->n_layer * sizeof *layers), n_layers = 0;
    if (!layers) return ls_fail(err, "out of memory (plan)");
    if (req->layers && *req->layers) {
        if (!per_layer) {
            free(layers);
            return ls_fail(err, "target %s is model-wide: it takes no layers", target);
        }
        ls_index_set set;
        if (ls_index_list_parse(&set, req->layers, cfg->n_layer, "layer", err) != 0) {
            free(layers);
            return ls_fail_context(err, "layers");
        }
        for (int i = 0; i < set.n; i++)
            for (int l = set.r[i].lo; l <= set.r[i].hi; l++) layers[n_layers++] = l;
    } else {
        for (int l = 0; l < cfg->n_layer; l++) layers[n_layers++] = l;
    }
    int dim_block = req->dim_block > 0 ? req->dim_block : 64, n_dims = ls_component_dims(comp, cfg);
    if (p->kind == LS_PLAN_DIMS && dim_block > n_dims) dim_block = n_dims;
    char label[600], spec[700];
    int rc = plan_add(p, "clean", "", -1, -1, err);
    switch (p->kind) {
    case LS_PLAN_CUMULATIVE:
    case LS_PLAN_REVERSE:
        for (int i = 1; rc == 0 && i <= n_layers; i++) {
            int lo = p->kind == LS_PLAN_REVERSE ? n_layers - i : 0, hi = p->kind == LS_PLAN_REVERSE ? n_layers - 1 : i - 1;
            layer_label(label, sizeof label, layers, lo, hi);
            snprintf(spec, sizeof spec, "%s@%s", target, label);
            rc = plan_add(p, label, spec, -1, -1, err);
        }
        break;
    case LS_PLAN_SINGLE:
        for (int i = 0; rc == 0 && i < n_layers; i++) {
            snprintf(label, sizeof label, "L%d", layers[i]);
            snprintf(spec, sizeof spec, "%s@%s", target, label);
            rc = plan_add(p, label, spec, -1, -1, err);
        }
        break;
    case LS_PLAN_HEADS:
        /* geom.heads: key/value heads for attn.k and attn.v under grouped-query attention */
        p->grid_rows = n_layers, p->grid_cols = geom.heads;
        for (int i = 0; rc == 0 && i < n_layers; i++)
            for (int h = 0; rc == 0 && h < geom.heads; h++) {
                snprintf(label, sizeof label, "L%dH%d", layers[i], h);
                snprintf(spec, sizeof spec, "%s@%s", target, label);
                rc = plan_add(p, label, spec, i, h, err);
            }
        break;
    case LS_PLAN_DIMS:
        for (int i = 0; rc == 0 && i < (per_layer ? n_layers : 1); i++)
            for (int d = 0; rc == 0 && d < n_dims; d += dim_block) {
                int hi = d + dim_block - 1 < n_dims - 1 ? d + dim_block - 1 : n_dims - 1;
                char dims[64];
                if (hi == d) snprintf(dims, sizeof dims, "D%d", d);
                else snprintf(dims, sizeof dims, "D%d-%d", d, hi);
                if (per_layer) snprintf(label, sizeof label, "L%d%s", layers[i], dims);
                else snprintf(label, sizeof label, "%s", dims);
                snprintf(spec, sizeof spec, "%s@%s", target, label);
                rc = plan_add(p, label, spec, -1, -1, err);
            }
        break;
    default: break;
    }
    if (rc == 0 && p->kind == LS_PLAN_HEADS) {
        p->grid_layers = layers;
        layers = NULL;
    }
    free(layers);
    if (rc != 0) ls_plan_free(p);
    return rc;
}

/* ---- plan files ------------------------------------------------------------ */

/* The rectangles one spec touches (weights only); wte also counts as the
 * output head it is tied to, so that wte;wte.out is seen to overlap. */
static int spec_rects(const ls_config *cfg, const ls_spec *s, ls_rect **r, int *n, ls_error *err) {
    ls_lesion l = {.spec = *s, .mode = LS_MODE_ZERO, .match = LS_MATCH_TENSOR};
    if (ls_lesion_rects(&l, cfg, r, n, err) != 0) return -1;
    if (s->comp != LS_COMP_WTE || !cfg->tied_head) return 0;
    ls_rect *more = realloc(*r, (size_t)(2 * *n + 1) * sizeof *more);
    if (!more) return ls_fail(err, "out of memory");
    for (int i = 0; i < *n; i++) more[*n + i] = more[i], more[*n + i].id = LS_OUTPUT;
    *r = more;
    *n *= 2;
    return 0;
}

static int rects_overlap(const ls_rect *a, int na, const ls_rect *b, int nb) {
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (a[i].id == b[j].id && a[i].row0 < b[j].row0 + b[j].rows && b[j].row0 < a[i].row0 + a[i].rows &&
                a[i].col0 < b[j].col0 + b[j].cols && b[j].col0 < a[i].col0 + a[i].cols)
                return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- activation interventions in a plan file ------------------------------- */

static const struct {
    const char *prefix;
    ls_act_op op;
} iv_prefixes[] = {{"ablate:", LS_ACT_ZERO}, {"ablate-mean:", LS_ACT_MEAN}, {"ablate-resample:", LS_ACT_RESAMPLE}};

int ls_plan_intervention(const ls_config *cfg, const char *text, ls_site_spec *where, ls_act_op *op, ls_error *err) {
    for (size_t i = 0; i < sizeof iv_prefixes / sizeof iv_prefixes[0]; i++) {
        size_t k = strlen(iv_prefixes[i].prefix);
        if (strncmp(text, iv_prefixes[i].prefix, k) != 0) continue;
        if (ls_site_spec_parse(where, cfg, text + k, err) != 0) return ls_fail_context(err, "%.*s", (int)k - 1, text);
        *op = iv_prefixes[i].op;
        if (*op != LS_ACT_ZERO && where->site == LS_SITE_ATTN_PATTERN)
            return ls_fail(err, "%s: attn.pattern can only be zero-ablated (its rows differ in length)", text);
        return 1;
    }
    if (!strncmp(text, "patch:", 6))
        return ls_fail(err, "%s: patching is not supported in a sweep (a patch source has one input's length; a "
                            "sweep runs eval windows and prompts of other lengths): use lesion eval/logits --patch",
                       text);
    const char *colon = strchr(text, ':'), *at = strchr(text, '@');
    if (colon && (!at || colon < at))
        return ls_fail(err, "\"%.60s\": unknown item (expected a lesion spec like attn.q@L0, or ablate:SITE, "
                            "ablate-mean:SITE, ablate-resample:SITE)", text);
    return 0;
}

int ls_plan_intervention_format(const ls_site_spec *where, ls_act_op op, char *buf, size_t cap) {
    char site[512];
    ls_site_spec_format(where, site, sizeof site);
    for (size_t i = 0; i < sizeof iv_prefixes / sizeof iv_prefixes[0]; i++)
        if (iv_prefixes[i].op == op) return snprintf(buf, cap, "%s%s", iv_prefixes[i].prefix, site);
    return snprintf(buf, cap, "?:%s", site);
}

/* Checks one configuration (lesion specs and interventions separated by ';'
 * or blanks) and writes its canonical form (items canonical and sorted)
 * into canon. */
static int check_line(const ls_config *cfg, const char *line, int allow_duplicates, char *canon, size_t cap,
                      ls_error *err) {
    char *copy = strdup(line), *save = NULL;
    char **texts = NULL, **canon_items = NULL;
    ls_spec *specs = NULL;
    int n = 0, n_items = 0, rc = copy ? 0 : ls_fail(err, "out of memory");
    for (char *t = copy ? strtok_r(copy, "; \t", &save) : NULL; t && rc == 0; t = strtok_r(NULL, "; \t", &save)) {
        char buf[1024];
        ls_site_spec where;
        ls_act_op op;
        char **ci = realloc(canon_items, (size_t)(n_items + 1) * sizeof *ci);
        if (ci) canon_items = ci;
        if (!ci) {
            rc = ls_fail(err, "out of memory");
            break;
        }
        int iv = ls_plan_intervention(cfg, t, &where, &op, err);
        if (iv < 0) {
            rc = -1;
            break;
        }
        if (iv == 1) {
            ls_plan_intervention_format(&where, op, buf, sizeof buf);
        } else {
            ls_spec *s = realloc(specs, (size_t)(n + 1) * sizeof *s);
            char **x = realloc(texts, (size_t)(n + 1) * sizeof *x);
            if (s) specs = s;
            if (x) texts = x;
            if (!s || !x) {
                rc = ls_fail(err, "out of memory");
                break;
            }
            if (ls_spec_parse(&specs[n], cfg, t, err) != 0) {
                rc = -1;
                break;
            }
            ls_spec_format(&specs[n], buf, sizeof buf);
            texts[n++] = t;
        }
        if (!(canon_items[n_items] = strdup(buf))) rc = ls_fail(err, "out of memory");
        else n_items++;
    }
    if (rc == 0 && n_items == 0) rc = ls_fail(err, "no lesion spec");
    for (int i = 0; rc == 0 && !allow_duplicates && i < n; i++) {
        ls_rect *ri = NULL;
        int ni = 0;
        if (spec_rects(cfg, &specs[i], &ri, &ni, err) != 0) {
            rc = -1;
            break;
        }
        for (int j = i + 1; rc == 0 && j < n; j++) {
            ls_rect *rj = NULL;
            int nj = 0;
            if (spec_rects(cfg, &specs[j], &rj, &nj, err) != 0) rc = -1;
            else if (rects_overlap(ri, ni, rj, nj))
                rc = ls_fail(err, "%s and %s lesion the same weights (the second would lesion the first's result; "
                                  "allow it with --allow-duplicates)", texts[i], texts[j]);
            free(rj);
        }
        free(ri);
    }
    /* Canonical form: each item formatted, sorted, joined by ';'. */
    if (rc == 0) {
        qsort(canon_items, (size_t)n_items, sizeof *canon_items, cmp_str);
        size_t at = 0;
        canon[0] = '\0';
        for (int i = 0; i < n_items && at < cap; i++) at += (size_t)snprintf(canon + at, cap - at, "%s%s", i ? ";" : "", canon_items[i]);
    }
    for (int i = 0; canon_items && i < n_items; i++) free(canon_items[i]);
    free(canon_items);
    free(specs);
    free(texts);
    free(copy);
    return rc;
}

int ls_plan_parse_file(ls_plan *p, const ls_config *cfg, const char *path, const char *text, size_t len,
                       int allow_duplicates, ls_error *err) {
    memset(p, 0, sizeof *p);
    p->kind = LS_PLAN_FILE;
    char **canon = NULL; /* [p->n]: canonical form of each configuration, for duplicates */
    int *line_of = NULL;
    int rc = plan_add(p, "clean", "", -1, -1, err), line_no = 0;
    for (size_t at = 0; rc == 0 && at < len;) {
        const char *start = text + at, *nl = memchr(start, '\n', len - at);
        size_t n = nl ? (size_t)(nl - start) : len - at;
        at += n + 1;
        line_no++;
        if (memchr(start, '\0', n)) {
            rc = ls_fail(err, "%s:%d: NUL byte (a plan file is text: one configuration per line)", path, line_no);
            break;
        }
        char *line = strndup(start, n);
        if (!line) {
            rc = ls_fail(err, "out of memory");
            break;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t k = strcspn(s, "\r#");
        while (k && (s[k - 1] == ' ' || s[k - 1] == '\t')) k--;
        s[k] = '\0';
        if (*s) {
            char c[4096];
            if (check_line(cfg, s, allow_duplicates, c, sizeof c, err) != 0) {
                rc = ls_fail_context(err, "%s:%d", path, line_no);
            } else {
                for (int i = 1; rc == 0 && !allow_duplicates && i < p->n; i++)
                    if (strcmp(canon[i], c) == 0)
                        rc = ls_fail(err, "%s:%d: the same configuration as line %d (%s); it would be measured twice "
                                          "(allow it with --allow-duplicates)", path, line_no, line_of[i], c);
                char **cc = rc == 0 ? realloc(canon, (size_t)(p->n + 1) * sizeof *cc) : NULL;
                int *lo = rc == 0 ? realloc(line_of, (size_t)(p->n + 1) * sizeof *lo) : NULL;
                if (cc) canon = cc;
                if (lo) line_of = lo;
                if (rc == 0 && (!cc || !lo)) rc = ls_fail(err, "out of memory");
                if (rc == 0) {
                    canon[p->n] = strdup(c);
                    line_of[p->n] = line_no;
                    rc = plan_add(p, s, s, -1, -1, err);
                }
            }
        }
        free(line);
    }
    if (rc == 0 && p->n == 1) rc = ls_fail(err, "%s: no configurations (one line of lesion specs per configuration)", path);
    for (int i = 1; canon && i < p->n; i++) free(canon[i]);
    free(canon);
    free(line_of);
    if (rc != 0) ls_plan_free(p);
    return rc;
}
