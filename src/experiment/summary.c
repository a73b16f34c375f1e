/* summary.c: from per-seed rows to what a person reads.
 *
 * For every configuration and metric: the per-seed values, their mean, and
 * a center with a 95% interval computed on a scale that keeps it inside
 * what the metric can be (ls_estimate_on; docs/sweep.md gives each choice
 * and its reason); one seed gives no interval. Then a band, one of the seed
 * experiment's four verdicts, by fixed thresholds relative to the clean
 * model (ls_band_rule says them in words). For ordered plans (cumulative,
 * reverse) the phase transition is where held-out cross-entropy jumps most,
 * with a bootstrap over seeds; for unordered ones a ranking by KL. With
 * fewer than LS_ROUGH_BELOW_SEEDS seeds the summary says its intervals and
 * bootstrap are rough. It also carries the provenance (command, generator,
 * seeds, input hashes from sweep.json) and, when rows are missing, that it
 * is partial. */
#include <lesion.h>

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The scalar metrics of a row, in row order, and the scale of each one's
 * interval. perplexity is not estimated on its own: its center and interval
 * are exp of cross_entropy's (see metric_estimate).
 * Per-layer array fields of a row ("attn_entropy": [L numbers]) are
 * averaged over the seeds element by element, into "per_layer" of each
 * configuration; the report draws them as a layers x configurations map. */
static const struct {
    const char *name;
    ls_scale scale;
    double lower; /* LINEAR: the interval's floor */
} metrics[] = {
    {"cross_entropy", LS_SCALE_LINEAR, 0.0}, {"perplexity", LS_SCALE_LOG, 0.0}, {"kl", LS_SCALE_SQRT, 0.0},
    {"top1", LS_SCALE_ANGULAR, 0.0},        {"gen_ppl", LS_SCALE_LOG, 0.0},    {"rep4", LS_SCALE_ANGULAR, 0.0},
    {"distinct2", LS_SCALE_ANGULAR, 0.0},
};
#define N_METRICS (int)(sizeof metrics / sizeof metrics[0])
enum { M_CE, M_PPL, M_KL, M_TOP1, M_GEN_PPL, M_REP4, M_DISTINCT2 };

const char *const ls_band_names[4] = {"about normal", "meaning lost", "repetitive or confused", "noise"};

/* Thresholds, relative to the clean model's own values. */
#define NOISE_FLUENCY_RATIO 8.0  /* generated text this much less likely under the clean model than clean text */
#define REPETITIVE_REP4 0.25     /* at least this fraction of repeated 4-grams ... */
#define REPETITIVE_MARGIN 0.15   /* ... and this much above the clean model's own repetition */
#define MEANING_PPL_RATIO 1.25   /* held-out perplexity up by 25% */
#define MEANING_TOP1 0.75        /* or fewer than 75% of next-token argmaxes agree with clean */
/* A largest step smaller than this is not called a transition. */
#define TRANSITION_MIN_JUMP 0.05

const char *ls_band_rule(void) {
    return "Bands, first rule that holds: noise if generated text has clean-model perplexity >= 8x the clean "
           "model's own generations and repetition is not what explains it (repeated 4-grams < 25%); repetitive or "
           "confused if repeated 4-grams >= 25% and at least 15 points above the clean model's; meaning lost if "
           "held-out perplexity >= 1.25x clean or top-1 agreement < 75%; otherwise about normal. Decided on the "
           "centers over noise seeds.";
}

int ls_band(double ppl, double top1, double gen_ppl, double rep4, double clean_ppl, double clean_gen_ppl,
            double clean_rep4) {
    if (gen_ppl >= NOISE_FLUENCY_RATIO * clean_gen_ppl && rep4 < REPETITIVE_REP4) return 3;
    if (rep4 >= REPETITIVE_REP4 && rep4 >= clean_rep4 + REPETITIVE_MARGIN) return 2;
    if (ppl >= MEANING_PPL_RATIO * clean_ppl || top1 < MEANING_TOP1) return 1;
    return 0;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Field k of a row as an index in 0..n-1, or -1 when it is missing, not an
 * integer or out of range (a hand-edited row is skipped, never cast). */
static int row_index(const cJSON *o, const char *k, int n) {
    double v = num(o, k);
    return v >= 0 && v < n && v == floor(v) ? (int)v : -1;
}

/* A number, or null for NaN / infinity (JSON has neither). */
static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static ls_estimate metric_estimate(int m, const double *x, int k, const double *ce, int k_ce) {
    if (m != M_PPL) return ls_estimate_on(x, k, metrics[m].scale, metrics[m].lower);
    ls_estimate e = ls_estimate_on(x, k, LS_SCALE_LINEAR, 0.0), c = ls_estimate_on(ce, k_ce, LS_SCALE_LINEAR, 0.0);
    if (k_ce == k && k > 0) { /* perplexity = exp(cross-entropy), interval included */
        e.center = exp(c.center);
        e.lo = c.has_interval ? exp(c.lo) : NAN;
        e.hi = c.has_interval ? exp(c.hi) : NAN;
    }
    return e;
}

static void add_provenance(cJSON *o, const cJSON *record) {
    if (!record) return;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(record, "identity");
    const cJSON *les = cJSON_GetObjectItemCaseSensitive(id, "lesion");
    cJSON *p = cJSON_AddObjectToObject(o, "provenance");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(record, "command");
    cJSON_AddStringToObject(p, "command", cJSON_IsString(cmd) ? cmd->valuestring : "");
    static const char *const keys[] = {"rng", "lesion_seed", "seeds", "with_bias"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(les, keys[i]);
        if (v) cJSON_AddItemToObject(p, keys[i], cJSON_Duplicate(v, 1));
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(id, "model"), *ev = cJSON_GetObjectItemCaseSensitive(id, "eval");
    if (model) cJSON_AddItemToObject(p, "model", cJSON_Duplicate(model, 1));
    if (ev) cJSON_AddItemToObject(p, "eval", cJSON_Duplicate(ev, 1));
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(id, "weights");
    if (w) cJSON_AddItemToObject(p, "weights", cJSON_Duplicate(w, 1));
    /* Sweep-wide interventions make the baseline "clean + them": said once, where every reader looks. */
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(id, "interventions"), *probe = cJSON_GetObjectItemCaseSensitive(id, "probe");
    if (iv) cJSON_AddItemToObject(p, "interventions", cJSON_Duplicate(iv, 1));
    if (probe) cJSON_AddItemToObject(p, "probe", cJSON_Duplicate(probe, 1));
    const cJSON *wide = cJSON_GetObjectItemCaseSensitive(iv, "sweep_wide"), *e;
    if (cJSON_GetArraySize(wide) > 0) {
        char text[1024];
        size_t k = (size_t)snprintf(text, sizeof text, "clean +");
        cJSON_ArrayForEach(e, wide) if (cJSON_IsString(e) && k < sizeof text)
            k += (size_t)snprintf(text + k, sizeof text - k, " %s", e->valuestring);
        if (k < sizeof text)
            snprintf(text + k, sizeof text - k, ": every row, the clean one included, runs with these activation "
                                                "interventions; KL and top-1 compare with that baseline");
        cJSON_AddStringToObject(o, "baseline", text);
    }
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(record, "inputs");
    static const char *const ikeys[] = {"model", "eval", "prompts", "plan_file"};
    for (size_t i = 0; i < sizeof ikeys / sizeof ikeys[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(inputs, ikeys[i]);
        char k[32];
        snprintf(k, sizeof k, "%s_path", ikeys[i]);
        if (v) cJSON_AddItemToObject(p, k, cJSON_Duplicate(v, 1));
    }
}

static void add_transition(cJSON *o, const ls_sweep_meta *meta, const double *vals, int S) {
    int C = meta->n_configs;
    double *ce = malloc((size_t)C * S * sizeof *ce);
    if (!ce) return;
    for (int c = 0; c < C; c++)
        for (int s = 0; s < S; s++) ce[c * S + s] = vals[((size_t)c * S + (size_t)s) * N_METRICS + M_CE];
    ls_transition tr = ls_find_transition(ce, C, S, 12345);
    free(ce);
    if (tr.step < 1) return;
    cJSON *t = cJSON_AddObjectToObject(o, "transition");
    cJSON_AddStringToObject(t, "metric", "cross_entropy");
    cJSON_AddNumberToObject(t, "step", tr.step);
    cJSON_AddStringToObject(t, "from", meta->labels[tr.step - 1]);
    cJSON_AddStringToObject(t, "to", meta->labels[tr.step]);
    add_num(t, "jump", tr.jump);
    add_num(t, "jump_lo", tr.jump_lo);
    add_num(t, "jump_hi", tr.jump_hi);
    add_num(t, "agreement", tr.agreement);
    cJSON_AddBoolToObject(t, "rough", S < LS_ROUGH_BELOW_SEEDS);
    char text[768], caveat[200] = "";
    if (S == 1)
        snprintf(caveat, sizeof caveat, " With one noise seed the bootstrap has nothing to resample: the location and "
                                        "size of the jump come with no uncertainty estimate.");
    else if (S < LS_ROUGH_BELOW_SEEDS)
        snprintf(caveat, sizeof caveat, " With %d noise seeds this bootstrap is rough (%d or more give a usable one).",
                 S, LS_ROUGH_BELOW_SEEDS);
    if (tr.jump < TRANSITION_MIN_JUMP)
        snprintf(text, sizeof text,
                 "No phase transition: held-out cross-entropy never rises by %.2f nats/token or more between "
                 "consecutive configurations; the largest step, between \"%s\" and \"%s\", is %+.3f "
                 "(bootstrap 95%% interval %.3f to %.3f).%s",
                 TRANSITION_MIN_JUMP, meta->labels[tr.step - 1], meta->labels[tr.step], tr.jump, tr.jump_lo,
                 tr.jump_hi, caveat);
    else
        snprintf(text, sizeof text,
                 "Held-out cross-entropy jumps most between \"%s\" and \"%s\": +%.3f nats/token (bootstrap 95%% "
                 "interval %.3f to %.3f); %.0f%% of bootstrap resamples over noise seeds put the largest jump at "
                 "this same step.%s",
                 meta->labels[tr.step - 1], meta->labels[tr.step], tr.jump, tr.jump_lo, tr.jump_hi, 100 * tr.agreement,
                 caveat);
    cJSON_AddStringToObject(t, "statement", text);
}

/* Sorts order[0..n) by key (largest first; NaN last; ties by index). Insertion
 * sort: plans have hundreds of configurations, not millions. */
static void sort_desc(int *order, int n, const double *key) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            double a = key[order[j - 1]], b = key[order[j]];
            if (isnan(a)) a = -INFINITY;
            if (isnan(b)) b = -INFINITY;
            if (!(b > a)) break;
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

/* "per_layer": {"attn_entropy": [L means over the seeds]} of configuration c, when its rows have it. */
static void add_per_layer(cJSON *cj, int c, cJSON *const *parsed, int n_rows, int C, int S) {
    double sum[LS_MAX_LAYERS];
    int count[LS_MAX_LAYERS], L = 0;
    for (int i = 0; i < n_rows; i++) {
        if (row_index(parsed[i], "config", C) != c || row_index(parsed[i], "seed_index", c == 0 ? 1 : S) < 0) continue;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(parsed[i], "attn_entropy"), *v;
        if (!cJSON_IsArray(a)) continue;
        int l = 0;
        cJSON_ArrayForEach(v, a) {
            if (l >= LS_MAX_LAYERS) break;
            if (l >= L) sum[l] = 0, count[l] = 0, L = l + 1;
            if (cJSON_IsNumber(v)) sum[l] += v->valuedouble, count[l]++;
            l++;
        }
    }
    if (!L) return;
    cJSON *arr = cJSON_AddArrayToObject(cJSON_AddObjectToObject(cj, "per_layer"), "attn_entropy");
    for (int l = 0; l < L; l++) cJSON_AddItemToArray(arr, count[l] ? cJSON_CreateNumber(sum[l] / count[l]) : cJSON_CreateNull());
}

/* "probe": per-site accuracy of configuration c over its seeds, on the
 * angular scale of fractions (as top1): {"task", "sites", "center", "lo",
 * "hi", "n"}, when its rows have probes. */
static void add_probe(cJSON *cj, int c, cJSON *const *parsed, int n_rows, int C, int S) {
    const cJSON *first = NULL;
    double *acc = NULL; /* (S, sites) by seed index, then (S) scratch */
    char *seen = NULL;  /* (S): a seed's row already taken (a row listed twice counts once) */
    int n_sites = 0, Sc = c == 0 ? 1 : S;
    for (int i = 0; i < n_rows; i++) {
        int s = row_index(parsed[i], "seed_index", Sc);
        if (row_index(parsed[i], "config", C) != c || s < 0) continue;
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(parsed[i], "probe");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(pr, "accuracy");
        if (!cJSON_IsArray(a)) continue;
        if (!first) {
            first = pr;
            n_sites = cJSON_GetArraySize(a);
            acc = malloc((size_t)(Sc + 1) * (size_t)(n_sites + 1) * sizeof *acc);
            seen = calloc((size_t)Sc, 1);
            if (!n_sites || !acc || !seen) {
                free(acc), free(seen);
                return;
            }
        }
        if (cJSON_GetArraySize(a) != n_sites || seen[s]) continue;
        seen[s] = 1;
        for (int j = 0; j < n_sites; j++) {
            const cJSON *v = cJSON_GetArrayItem(a, j);
            acc[(size_t)s * n_sites + j] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
    }
    if (!first) return;
    cJSON *o = cJSON_AddObjectToObject(cj, "probe");
    cJSON_AddItemToObject(o, "task", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(first, "task"), 1));
    cJSON_AddItemToObject(o, "sites", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(first, "sites"), 1));
    cJSON *ce = cJSON_AddArrayToObject(o, "center"), *lo = cJSON_AddArrayToObject(o, "lo"), *hi = cJSON_AddArrayToObject(o, "hi");
    double *x = acc + (size_t)(Sc + 1) * n_sites; /* (Sc) scratch after the values */
    int k = 0;
    for (int j = 0; j < n_sites; j++) {
        int m = 0;
        for (int q = 0; q < Sc; q++)
            if (seen[q] && !isnan(acc[(size_t)q * n_sites + j])) x[m++] = acc[(size_t)q * n_sites + j];
        ls_estimate e = ls_estimate_on(x, m, LS_SCALE_ANGULAR, 0.0);
        cJSON_AddItemToArray(ce, m && isfinite(e.center) ? cJSON_CreateNumber(e.center) : cJSON_CreateNull());
        cJSON_AddItemToArray(lo, e.has_interval ? cJSON_CreateNumber(e.lo) : cJSON_CreateNull());
        cJSON_AddItemToArray(hi, e.has_interval ? cJSON_CreateNumber(e.hi) : cJSON_CreateNull());
    }
    for (int q = 0; q < Sc; q++) k += seen[q];
    cJSON_AddNumberToObject(o, "n", k);
    free(acc);
    free(seen);
}

void *ls_sweep_summarize(const ls_sweep_meta *meta, const char *const *rows, int n_rows, ls_error *err) {
    int C = meta->n_configs, S = meta->n_seeds > 0 ? meta->n_seeds : 1;
    if (S > 100000) {
        ls_fail(err, "%d seeds: more than a summary holds", S);
        return NULL;
    }
    cJSON **parsed = calloc((size_t)n_rows + 1, sizeof *parsed);
    double *vals = malloc(((size_t)C * S * N_METRICS + 1) * sizeof *vals);
    double *x = malloc(((size_t)S + 1) * sizeof *x), *ce = malloc(((size_t)S + 1) * sizeof *ce);
    double *kl_center = malloc(((size_t)C + 1) * sizeof *kl_center);
    int *order = malloc(((size_t)C + 1) * sizeof *order);
    cJSON **samples = calloc((size_t)C + 1, sizeof *samples);
    if (!parsed || !vals || !x || !ce || !kl_center || !order || !samples) {
        free(parsed), free(vals), free(x), free(ce), free(kl_center), free(order), free(samples);
        ls_fail(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < (size_t)C * S * N_METRICS; i++) vals[i] = NAN;
#define VAL(c, s, m) vals[((size_t)(c) * S + (size_t)(s)) * N_METRICS + (size_t)(m)]
    int present = 0, *best_seed = calloc((size_t)C + 1, sizeof *best_seed);
    for (int c = 0; best_seed && c < C; c++) best_seed[c] = S;
    for (int i = 0; i < n_rows; i++) {
        parsed[i] = cJSON_Parse(rows[i]);
        int c = row_index(parsed[i], "config", C), s = row_index(parsed[i], "seed_index", c == 0 ? 1 : S);
        if (c < 0 || s < 0 || !isnan(VAL(c, s, M_CE)) || isnan(num(parsed[i], "cross_entropy"))) continue;
        present++;
        for (int m = 0; m < N_METRICS; m++) VAL(c, s, m) = num(parsed[i], metrics[m].name);
        if (best_seed && s < best_seed[c]) best_seed[c] = s, samples[c] = cJSON_GetObjectItemCaseSensitive(parsed[i], "samples");
    }
    free(best_seed);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", meta->model);
    cJSON_AddStringToObject(o, "plan", meta->plan);
    cJSON_AddStringToObject(o, "target", meta->target);
    cJSON_AddStringToObject(o, "mode", meta->mode);
    cJSON_AddStringToObject(o, "match", meta->match);
    cJSON_AddNumberToObject(o, "seeds", S);
    cJSON_AddNumberToObject(o, "eval_tokens", (double)meta->eval_tokens);
    cJSON_AddBoolToObject(o, "ordered", meta->ordered);
    int expected = 1 + (C - 1) * S;
    cJSON_AddNumberToObject(o, "rows_present", present);
    cJSON_AddNumberToObject(o, "rows_expected", expected);
    cJSON_AddBoolToObject(o, "partial", present < expected);
    cJSON_AddStringToObject(o, "intervals",
                            S == 1 ? "none: one noise seed per configuration"
                            : S < LS_ROUGH_BELOW_SEEDS ? "rough: fewer than 5 noise seeds per configuration"
                                                       : "95% Student-t, on each metric's scale");
    cJSON_AddStringToObject(o, "band_rule", ls_band_rule());
    add_provenance(o, meta->record);
    cJSON *pr = cJSON_AddArrayToObject(o, "prompts");
    for (int p = 0; p < meta->n_prompts; p++) cJSON_AddItemToArray(pr, cJSON_CreateString(meta->prompts[p]));
    cJSON *cfgs = cJSON_AddArrayToObject(o, "configs");
    /* Config 0 is always the clean model: its centers anchor the bands. */
    double clean[N_METRICS];
    for (int m = 0; m < N_METRICS; m++) clean[m] = NAN;
    for (int c = 0; c < C; c++) {
        int Sc = c == 0 ? 1 : S; /* the clean model runs once */
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddNumberToObject(cj, "index", c);
        cJSON_AddStringToObject(cj, "label", meta->labels[c]);
        cJSON_AddStringToObject(cj, "spec", meta->specs[c]);
        cJSON *mj = cJSON_AddObjectToObject(cj, "metrics");
        double center[N_METRICS];
        ls_estimate ce_est = {0};
        int k_ce = 0;
        for (int s = 0; s < Sc; s++)
            if (!isnan(VAL(c, s, M_CE))) ce[k_ce++] = VAL(c, s, M_CE);
        for (int m = 0; m < N_METRICS; m++) {
            int k = 0;
            cJSON *e = cJSON_AddObjectToObject(mj, metrics[m].name), *values = cJSON_CreateArray();
            for (int s = 0; s < Sc; s++) {
                double v = VAL(c, s, m);
                if (!isnan(v)) x[k++] = v;
                cJSON_AddItemToArray(values, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
            }
            ls_estimate est = metric_estimate(m, x, k, ce, k_ce);
            if (m == M_CE) ce_est = est;
            center[m] = est.center;
            add_num(e, "center", est.center);
            add_num(e, "lo", est.has_interval ? est.lo : NAN);
            add_num(e, "hi", est.has_interval ? est.hi : NAN);
            add_num(e, "mean", est.mean);
            add_num(e, "sd", est.sd);
            cJSON_AddNumberToObject(e, "n", k);
            cJSON_AddStringToObject(e, "scale", m == M_PPL ? "exp of cross_entropy" : ls_scale_name(metrics[m].scale));
            cJSON_AddItemToObject(e, "values", values);
        }
        if (c == 0) memcpy(clean, center, sizeof clean);
        kl_center[c] = center[M_KL];
        int band = ls_band(center[M_PPL], center[M_TOP1], center[M_GEN_PPL], center[M_REP4], clean[M_PPL],
                           clean[M_GEN_PPL], clean[M_REP4]);
        cJSON_AddStringToObject(cj, "band", ls_band_names[band]);
        cJSON_AddNumberToObject(cj, "band_index", band);
        /* Whether held-out cross-entropy moved beyond noise: its interval excludes the clean value. */
        if (c > 0 && ce_est.has_interval)
            cJSON_AddBoolToObject(cj, "differs_from_clean", ce_est.lo > clean[M_CE] || ce_est.hi < clean[M_CE]);
        else
            cJSON_AddNullToObject(cj, "differs_from_clean");
        if (samples[c]) cJSON_AddItemToObject(cj, "samples", cJSON_Duplicate(samples[c], 1)); /* of the lowest seed present */
        add_per_layer(cj, c, parsed, n_rows, C, S);
        add_probe(cj, c, parsed, n_rows, C, S);
        cJSON_AddItemToArray(cfgs, cj);
    }
    if (meta->ordered && C >= 2) add_transition(o, meta, vals, S);
    if (!meta->ordered && C >= 2) {
        cJSON *rank = cJSON_AddArrayToObject(o, "ranking");
        for (int c = 1; c < C; c++) order[c - 1] = c;
        sort_desc(order, C - 1, kl_center);
        for (int i = 0; i < C - 1; i++) cJSON_AddItemToArray(rank, cJSON_CreateNumber(order[i]));
    }
    if (meta->heads_layers > 0) {
        /* Per-head plan: configs 1.. are (layer, head) in order; KL centers and "differs" marks in a grid. */
        cJSON *h = cJSON_AddObjectToObject(o, "heads");
        cJSON *grid = cJSON_AddArrayToObject(h, "kl"), *marks = cJSON_AddArrayToObject(h, "differs"),
              *layers = cJSON_AddArrayToObject(h, "layers");
        for (int l = 0; l < meta->heads_layers; l++) {
            cJSON *row = cJSON_CreateArray(), *mrow = cJSON_CreateArray();
            cJSON_AddItemToArray(layers, cJSON_CreateNumber(meta->heads_layer_ids ? meta->heads_layer_ids[l] : l));
            for (int hd = 0; hd < meta->heads_per_layer; hd++) {
                int c = 1 + l * meta->heads_per_layer + hd;
                const cJSON *cj = c < C ? cJSON_GetArrayItem(cfgs, c) : NULL;
                cJSON_AddItemToArray(row, c < C && isfinite(kl_center[c]) ? cJSON_CreateNumber(kl_center[c]) : cJSON_CreateNull());
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(cj, "differs_from_clean");
                cJSON_AddItemToArray(mrow, cJSON_IsBool(d) ? cJSON_CreateBool(cJSON_IsTrue(d)) : cJSON_CreateNull());
            }
            cJSON_AddItemToArray(grid, row);
            cJSON_AddItemToArray(marks, mrow);
        }
    }
#undef VAL
    for (int i = 0; i < n_rows; i++) cJSON_Delete(parsed[i]);
    free(parsed), free(vals), free(x), free(ce), free(kl_center), free(order), free(samples);
    return o;
}
