/* summary.c: from per-seed rows to what a person reads.
 *
 * For every configuration: mean and 95% CI over noise seeds of each metric,
 * and a band, one of the seed experiment's four verdicts, decided by fixed
 * thresholds relative to the clean model (ls_band_rule says them in words;
 * docs/sweep.md explains the choice). For ordered plans (cumulative,
 * reverse) the phase transition is where held-out cross-entropy jumps most,
 * with a bootstrap over seeds for its uncertainty. */
#include <lesion.h>

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const metrics[] = {"cross_entropy", "perplexity", "kl", "top1", "gen_ppl", "rep4", "distinct2"};
#define N_METRICS (int)(sizeof metrics / sizeof metrics[0])

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
           "means over noise seeds.";
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

void *ls_sweep_summarize(const ls_sweep_meta *meta, const char *const *rows, int n_rows, ls_error *err) {
    int C = meta->n_configs, S = meta->n_seeds;
    cJSON **parsed = calloc((size_t)n_rows + 1, sizeof *parsed);
    double *vals = malloc(((size_t)C * S * N_METRICS + 1) * sizeof *vals);
    if (!parsed || !vals) {
        free(parsed);
        free(vals);
        ls_fail(err, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < (size_t)C * S * N_METRICS; i++) vals[i] = NAN;
#define VAL(c, s, m) vals[((size_t)(c) * S + (size_t)(s)) * N_METRICS + (size_t)(m)]
    for (int i = 0; i < n_rows; i++) {
        parsed[i] = cJSON_Parse(rows[i]);
        int c = row_index(parsed[i], "config", C), s = row_index(parsed[i], "seed_index", S);
        if (c < 0 || s < 0) continue;
        for (int m = 0; m < N_METRICS; m++) VAL(c, s, m) = num(parsed[i], metrics[m]);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", meta->model);
    cJSON_AddStringToObject(o, "plan", meta->plan);
    cJSON_AddStringToObject(o, "target", meta->target);
    cJSON_AddStringToObject(o, "mode", meta->mode);
    cJSON_AddStringToObject(o, "match", meta->match);
    cJSON_AddNumberToObject(o, "seeds", S);
    cJSON_AddNumberToObject(o, "eval_tokens", (double)meta->eval_tokens);
    cJSON_AddStringToObject(o, "band_rule", ls_band_rule());
    cJSON *pr = cJSON_AddArrayToObject(o, "prompts");
    for (int p = 0; p < meta->n_prompts; p++) cJSON_AddItemToArray(pr, cJSON_CreateString(meta->prompts[p]));
    cJSON *cfgs = cJSON_AddArrayToObject(o, "configs");
    /* Config 0 is always the clean model: its means anchor the bands. */
    double clean[N_METRICS];
    for (int c = 0; c < C; c++) {
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddNumberToObject(cj, "index", c);
        cJSON_AddStringToObject(cj, "label", meta->labels[c]);
        cJSON_AddStringToObject(cj, "spec", meta->specs[c]);
        cJSON *mj = cJSON_AddObjectToObject(cj, "metrics");
        double mean[N_METRICS];
        for (int m = 0; m < N_METRICS; m++) {
            double x[1024];
            int k = 0;
            for (int s = 0; s < S && k < 1024; s++)
                if (!isnan(VAL(c, s, m))) x[k++] = VAL(c, s, m);
            ls_summary sm = ls_summarize(x, k);
            mean[m] = k ? sm.mean : NAN;
            cJSON *e = cJSON_AddObjectToObject(mj, metrics[m]);
            cJSON_AddNumberToObject(e, "mean", sm.mean);
            cJSON_AddNumberToObject(e, "lo", sm.lo);
            cJSON_AddNumberToObject(e, "hi", sm.hi);
            cJSON_AddNumberToObject(e, "sd", sm.sd);
            cJSON_AddNumberToObject(e, "n", k);
        }
        if (c == 0) memcpy(clean, mean, sizeof clean);
        int band = ls_band(mean[1], mean[3], mean[4], mean[5], clean[1], clean[4], clean[5]);
        cJSON_AddStringToObject(cj, "band", ls_band_names[band]);
        cJSON_AddNumberToObject(cj, "band_index", band);
        /* Samples of the lowest seed present. */
        for (int s = 0; s < S; s++) {
            const cJSON *found = NULL;
            for (int i = 0; i < n_rows && !found; i++)
                if (row_index(parsed[i], "config", C) == c && row_index(parsed[i], "seed_index", S) == s) found = parsed[i];
            if (found) {
                cJSON_AddItemToObject(cj, "samples",
                                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(found, "samples"), 1));
                break;
            }
        }
        cJSON_AddItemToArray(cfgs, cj);
    }
    if (meta->ordered && C >= 2) {
        double *ce = malloc((size_t)C * S * sizeof *ce);
        if (ce) {
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) ce[c * S + s] = VAL(c, s, 0);
            ls_transition tr = ls_find_transition(ce, C, S, 12345);
            free(ce);
            cJSON *t = cJSON_AddObjectToObject(o, "transition");
            cJSON_AddStringToObject(t, "metric", "cross_entropy");
            cJSON_AddNumberToObject(t, "step", tr.step);
            cJSON_AddStringToObject(t, "from", meta->labels[tr.step - 1]);
            cJSON_AddStringToObject(t, "to", meta->labels[tr.step]);
            cJSON_AddNumberToObject(t, "jump", tr.jump);
            cJSON_AddNumberToObject(t, "jump_lo", tr.jump_lo);
            cJSON_AddNumberToObject(t, "jump_hi", tr.jump_hi);
            cJSON_AddNumberToObject(t, "agreement", tr.agreement);
            char text[512];
            if (tr.jump < TRANSITION_MIN_JUMP)
                snprintf(text, sizeof text,
                         "No phase transition: held-out cross-entropy never rises by %.2f nats/token or more between "
                         "consecutive configurations; the largest step, between \"%s\" and \"%s\", is +%.3f "
                         "(bootstrap 95%% interval %.3f to %.3f).",
                         TRANSITION_MIN_JUMP, meta->labels[tr.step - 1], meta->labels[tr.step], tr.jump, tr.jump_lo,
                         tr.jump_hi);
            else
            snprintf(text, sizeof text,
                     "Held-out cross-entropy jumps most between \"%s\" and \"%s\": +%.3f nats/token (bootstrap 95%% "
                     "interval %.3f to %.3f); %.0f%% of bootstrap resamples over noise seeds put the largest jump at "
                     "this same step.",
                     meta->labels[tr.step - 1], meta->labels[tr.step], tr.jump, tr.jump_lo, tr.jump_hi,
                     100 * tr.agreement);
            cJSON_AddStringToObject(t, "statement", text);
        }
    }
    if (meta->heads_layers > 0) {
        /* Per-head plan: configs 1.. are (layer, head) in order; KL means into a grid. */
        cJSON *h = cJSON_AddObjectToObject(o, "heads");
        cJSON *grid = cJSON_AddArrayToObject(h, "kl");
        for (int l = 0; l < meta->heads_layers; l++) {
            cJSON *row = cJSON_CreateArray();
            for (int hd = 0; hd < meta->heads_per_layer; hd++) {
                int c = 1 + l * meta->heads_per_layer + hd;
                double x[1024];
                int k = 0;
                for (int s = 0; c < C && s < S && k < 1024; s++)
                    if (!isnan(VAL(c, s, 2))) x[k++] = VAL(c, s, 2);
                cJSON_AddItemToArray(row, cJSON_CreateNumber(k ? ls_summarize(x, k).mean : 0));
            }
            cJSON_AddItemToArray(grid, row);
        }
    }
#undef VAL
    for (int i = 0; i < n_rows; i++) cJSON_Delete(parsed[i]);
    free(parsed);
    free(vals);
    return o;
}
