/* sweep_outputs.c: what a sweep's folder shows, rebuilt from its rows.
 *
 * summary.json, results.csv and report.html are derived from sweep.json (the
 * plan, prompts and provenance) and the rows of results.jsonl alone, each
 * written atomically; so a resumed sweep ends with the same files as an
 * uninterrupted one, and `lesion report DIR` can rebuild them from an
 * interrupted or still-running sweep (marked partial). Rows are taken in
 * row order whatever order they were appended in (MPI, resume, merge), so
 * the same rows give the same files, bit for bit. */
#include <lesion.h>

#include <cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *str_at(const cJSON *o, const char *k, const char *dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* The strings of a JSON array, pointing into it; NULL when it is not an array of strings. */
static const char **string_array(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    const char **out = calloc((size_t)*n + 1, sizeof *out);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        if (!out || !cJSON_IsString(e)) {
            free(out);
            return NULL;
        }
        out[i++] = e->valuestring;
    }
    return out;
}

/* Rows are summed in row order (config, then seed), not in the order they
 * reached results.jsonl: an MPI run or a resumed one appends them in another
 * order, and floating-point sums of the same numbers in another order can
 * differ in the last bit. Each row's position in the plan. */
typedef struct ordered {
    const char *row;
    int config, seed, index;
} ordered;

static int by_plan_order(const void *a, const void *b) {
    const ordered *x = a, *y = b;
    if (x->config != y->config) return x->config < y->config ? -1 : 1;
    if (x->seed != y->seed) return x->seed < y->seed ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* A copy of rows sorted by (config, seed_index); rows without them keep their place at the end. NULL: out of memory. */
static const char **in_row_order(const char *const *rows, int n) {
    ordered *o = malloc((size_t)n * sizeof *o + 1);
    const char **out = malloc((size_t)n * sizeof *out + 1);
    if (!o || !out) {
        free(o);
        free(out);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        cJSON *r = cJSON_Parse(rows[i]);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "config"), *s = cJSON_GetObjectItemCaseSensitive(r, "seed_index");
        o[i] = (ordered){rows[i], cJSON_IsNumber(c) ? c->valueint : INT_MAX, cJSON_IsNumber(s) ? s->valueint : INT_MAX, i};
        cJSON_Delete(r);
    }
    qsort(o, (size_t)n, sizeof *o, by_plan_order);
    for (int i = 0; i < n; i++) out[i] = o[i].row;
    free(o);
    return out;
}

static void *summary_in_order(const void *record_json, const char *const *rows, int n_rows, ls_error *err);

void *ls_sweep_summary_of(const void *record_json, const char *const *rows, int n_rows, ls_error *err) {
    const char **sorted = in_row_order(rows, n_rows);
    if (!sorted) return ls_fail(err, "out of memory"), NULL;
    void *summary = summary_in_order(record_json, sorted, n_rows, err);
    free(sorted);
    return summary;
}

static void *summary_in_order(const void *record_json, const char *const *rows, int n_rows, ls_error *err) {
    const cJSON *record = record_json, *id = cJSON_GetObjectItemCaseSensitive(record, "identity");
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(id, "plan"), *les = cJSON_GetObjectItemCaseSensitive(id, "lesion");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(id, "eval"), *gen = cJSON_GetObjectItemCaseSensitive(id, "generation");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(record, "inputs");
    int n_labels, n_specs, n_prompts;
    const char **labels = string_array(cJSON_GetObjectItemCaseSensitive(plan, "labels"), &n_labels);
    const char **specs = string_array(cJSON_GetObjectItemCaseSensitive(plan, "specs"), &n_specs);
    const char **prompts = string_array(cJSON_GetObjectItemCaseSensitive(gen, "prompts"), &n_prompts);
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(plan, "grid_layers"), *g;
    const cJSON *grid_heads = cJSON_GetObjectItemCaseSensitive(plan, "grid_heads");
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(les, "seeds"), *tokens = cJSON_GetObjectItemCaseSensitive(ev, "tokens");
    int n_grid = cJSON_GetArraySize(grid), *grid_layers = calloc((size_t)n_grid + 1, sizeof *grid_layers), k = 0;
    cJSON_ArrayForEach(g, grid) {
        if (grid_layers) grid_layers[k] = cJSON_IsNumber(g) ? g->valueint : k;
        k++;
    }
    int rc = 0;
    if (!labels || !specs || !prompts || n_labels < 1 || n_labels != n_specs || !cJSON_IsNumber(seeds) ||
        seeds->valueint < 1 || !grid_layers)
        rc = ls_fail(err, "sweep.json: not a lesion sweep record (no plan, prompts or seeds)");
    cJSON *summary = NULL;
    if (rc == 0) {
        const char *kind = str_at(plan, "kind", "cumulative");
        int is_file = strcmp(kind, "file") == 0;
        ls_sweep_meta meta = {
            .model = str_at(inputs, "model", ""), .plan = kind,
            .target = is_file ? "(plan file)" : str_at(plan, "target", "attn.q"), .mode = str_at(les, "mode", "gauss"),
            .match = str_at(les, "match", "tensor"), .n_seeds = seeds->valueint,
            .eval_tokens = cJSON_IsNumber(tokens) ? (int64_t)tokens->valuedouble : 0, .prompts = prompts,
            .n_prompts = n_prompts, .labels = labels, .specs = specs, .n_configs = n_labels,
            .ordered = !strcmp(kind, "cumulative") || !strcmp(kind, "reverse"),
            .heads_layers = n_grid, .heads_per_layer = cJSON_IsNumber(grid_heads) ? grid_heads->valueint : 0,
            .heads_layer_ids = grid_layers, .record = record,
        };
        if (meta.heads_per_layer < 1) meta.heads_layers = 0;
        summary = ls_sweep_summarize(&meta, rows, n_rows, err);
        if (!summary) rc = -1;
    }
    free(labels), free(specs), free(prompts), free(grid_layers);
    return rc == 0 ? summary : NULL;
}

int ls_sweep_write_outputs(const char *dir, const void *record, const char *const *rows, int n_rows,
                           void **summary_out, ls_error *err) {
    if (summary_out) *summary_out = NULL;
    const char **sorted = in_row_order(rows, n_rows);
    if (!sorted) return ls_fail(err, "out of memory");
    rows = sorted;
    cJSON *summary = summary_in_order(record, rows, n_rows, err);
    int rc = summary ? 0 : -1;
    char path[4200];
    if (rc == 0) {
        char *text = cJSON_Print(summary);
        snprintf(path, sizeof path, "%s/summary.json", dir);
        rc = text ? ls_write_file_atomic(path, text, strlen(text), err) : ls_fail(err, "out of memory");
        free(text);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/results.csv", dir);
        rc = ls_sweep_write_csv(path, rows, n_rows, err);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/report.html", dir);
        rc = ls_report_write(path, summary, err);
    }
    free(sorted);
    if (rc == 0 && summary_out) *summary_out = summary;
    else cJSON_Delete(summary);
    return rc;
}

/* ---- results.csv ------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} text_buf;

static void emit(text_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap : 1 << 16);
        while (b->len + n + 1 > cap) cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->buf = p, b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}
static void emits(text_buf *b, const char *s) { emit(b, s, strlen(s)); }

int ls_sweep_write_csv(const char *path, const char *const *rows, int n_rows, ls_error *err) {
    /* pandas-ready: one column per scalar field, in row order; samples left out (they are in results.jsonl) */
    static const char *const cols[] = {"key", "config", "label", "spec", "seed_index", "lesion_seed", "cross_entropy",
                                       "perplexity", "kl", "top1", "gen_ppl", "rep4", "distinct2", "first_layer", "secs"};
    const size_t n_cols = sizeof cols / sizeof cols[0];
    text_buf b = {0};
    for (size_t c = 0; c < n_cols; c++) emits(&b, c ? "," : ""), emits(&b, cols[c]);
    /* --probe: one column per probe site, "probe_resid_post@L3", named from the first row that has them */
    cJSON *first_probe = NULL;
    for (int i = 0; i < n_rows && !first_probe; i++) {
        cJSON *r = cJSON_Parse(rows[i]);
        if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "probe"), "sites")))
            first_probe = cJSON_DetachItemFromObjectCaseSensitive(r, "probe");
        cJSON_Delete(r);
    }
    const cJSON *site;
    int n_probe = 0;
    cJSON_ArrayForEach(site, cJSON_GetObjectItemCaseSensitive(first_probe, "sites")) {
        emits(&b, ",probe_");
        emits(&b, cJSON_IsString(site) ? site->valuestring : "?");
        n_probe++;
    }
    cJSON_Delete(first_probe);
    emits(&b, "\n");
    for (int i = 0; i < n_rows; i++) {
        cJSON *r = cJSON_Parse(rows[i]);
        for (size_t c = 0; c < n_cols; c++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, cols[c]);
            char num[64];
            if (c) emits(&b, ",");
            if (cJSON_IsString(v)) {
                emits(&b, "\"");
                for (const char *s = v->valuestring; *s; s++) emit(&b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
                emits(&b, "\"");
            } else if (cJSON_IsNumber(v)) {
                snprintf(num, sizeof num, "%.17g", v->valuedouble);
                emits(&b, num);
            }
        }
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "probe"), "accuracy");
        for (int k = 0; k < n_probe; k++) {
            const cJSON *v = cJSON_GetArrayItem(acc, k);
            char num[64];
            emits(&b, ",");
            if (cJSON_IsNumber(v)) snprintf(num, sizeof num, "%.17g", v->valuedouble), emits(&b, num);
        }
        emits(&b, "\n");
        cJSON_Delete(r);
    }
    if (b.oom) {
        free(b.buf);
        return ls_fail(err, "%s: out of memory", path);
    }
    int rc = ls_write_file_atomic(path, b.buf, b.len, err);
    free(b.buf);
    return rc;
}
