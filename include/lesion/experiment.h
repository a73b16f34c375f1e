/* experiment.h: measuring what a lesion does.
 *
 * Held-out text is scored in sliding windows (ls_windows): every token but
 * the first is predicted exactly once, and after the first window each
 * prediction sees at least ctx - stride tokens of context. The same windows
 * serve `lesion eval` and the sweep's damage metrics. */
#ifndef LESION_EXPERIMENT_H
#define LESION_EXPERIMENT_H
#include <lesion.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One window: tokens [start, start+len) are run; the predictions at window
 * positions score_from..len-2 are scored (position t predicts token start+t+1). */
typedef struct ls_window {
    int64_t start;
    int len;
    int score_from;
} ls_window;

/* Plans the windows over n tokens (n >= 2). *out is malloc'd. */
int ls_windows(int64_t n_tokens, int ctx, int stride, ls_window **out, int *n_windows, ls_error *err);

typedef struct ls_eval_result {
    double nll_sum;      /* nats, summed over scored tokens */
    int64_t n_scored;
} ls_eval_result;

/* Scores tokens with the model in batches of windows; the state must hold
 * max_batch windows of ctx positions. */
int ls_eval_tokens(ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n_tokens, int ctx, int stride,
                   ls_eval_result *res, ls_error *err);

/* ---- damage metrics (damage.c) ------------------------------------------ */

typedef struct ls_damage_setup {
    const int32_t *tokens;   /* eval text; scored as floor(n_tokens / ctx) chunks of ctx tokens */
    int64_t n_tokens;
    int ctx;
    int batch;               /* chunks per forward batch */
    const int32_t *const *prompts; /* generation prompts (token ids) */
    const int *prompt_lens;
    int n_prompts;
    int gen_tokens;          /* tokens generated per prompt */
    ls_sampler sampler;      /* prompt p samples with seed sampler.seed + p */
    int n_threads;
    int reuse_prefix;        /* 1: restart from the first changed block (default); 0: full recompute */
} ls_damage_setup;

/* One measurement of a weights view against the clean model. */
typedef struct ls_damage_row {
    double cross_entropy;    /* held-out nats per token */
    double perplexity;
    double kl;               /* mean KL(clean || lesioned) of next-token distributions, nats */
    double top1;             /* fraction of positions whose argmax equals the clean argmax */
    double gen_ppl;          /* fluency: clean-model perplexity of the generated tokens (mean over prompts) */
    double rep4;             /* fraction of repeated 4-grams in generations (mean over prompts) */
    double distinct2;        /* distinct bigrams / bigrams (mean over prompts) */
    int first_layer;         /* first recomputed block (prefix reuse) */
    int32_t *gen_ids;        /* (n_prompts, gen_tokens) generated ids */
    int *gen_lens;           /* (n_prompts) */
} ls_damage_row;

typedef struct ls_damage ls_damage;
/* Runs and caches the clean pass (and measures the clean model itself). */
int ls_damage_new(ls_damage **out, const ls_weights *clean, const ls_damage_setup *setup, ls_error *err);
void ls_damage_free(ls_damage *d);
const ls_damage_row *ls_damage_clean(const ls_damage *d);
int ls_damage_row_alloc(const ls_damage *d, ls_damage_row *row);
void ls_damage_row_free(ls_damage_row *row);
/* Measures a weights view (clean or an overlay of the same model). */
int ls_damage_measure(ls_damage *d, const ls_weights *w, ls_damage_row *row, ls_error *err);

/* ---- results store (store.c) ------------------------------------------- */

/* Append-only JSONL with one row per unique "key"; opening it drops a torn
 * last row (and says so in *dropped_tail). An open store holds an exclusive
 * lock on the file until closed: a second open fails instead of merging. */
typedef struct ls_store ls_store;
int ls_store_open(ls_store **out, const char *path, int *dropped_tail, ls_error *err);
int ls_store_has(const ls_store *s, const char *key);
int ls_store_count(const ls_store *s);
const char *ls_store_row(const ls_store *s, int i);
/* Appends row (a JSON object on one line, without newline) and flushes it to disk. */
int ls_store_append(ls_store *s, const char *key, const char *row, ls_error *err);
void ls_store_close(ls_store *s);

/* ---- statistics (stats.c) ---------------------------------------------- */

/* Mean, sample standard deviation and Student-t 95% confidence interval. */
typedef struct ls_summary {
    int n;
    double mean, sd, lo, hi;
} ls_summary;
ls_summary ls_summarize(const double *x, int n);

/* Fraction of the k-grams of ids that already occurred earlier in ids (repetition). */
double ls_repeated_ngram_fraction(const int32_t *ids, int n, int k);
/* Distinct k-grams / all k-grams (diversity; "distinct-2" for k = 2). */
double ls_distinct_ngrams(const int32_t *ids, int n, int k);

/* Where an ordered series of configurations jumps most. values is
 * (n_configs, n_seeds), NaN for missing; step c means "between c-1 and c". */
typedef struct ls_transition {
    int step;          /* -1 if fewer than 2 configurations */
    double jump;       /* increase of the mean at that step */
    double jump_lo, jump_hi; /* bootstrap 95% interval of that increase */
    double agreement;  /* fraction of bootstrap resamples locating the largest jump at the same step */
} ls_transition;
ls_transition ls_find_transition(const double *values, int n_configs, int n_seeds, uint64_t seed);

/* ---- summary (summary.c) -------------------------------------------------- */

/* What the summary needs to know about the sweep besides its rows. */
typedef struct ls_sweep_meta {
    const char *model, *plan, *target, *mode, *match;
    int n_seeds;
    int64_t eval_tokens;
    const char *const *prompts;
    int n_prompts;
    const char *const *labels;  /* [n_configs]; config 0 is the clean model */
    const char *const *specs;   /* [n_configs] */
    int n_configs;
    int ordered;                /* configurations form a series (cumulative, reverse): locate the transition */
    int heads_layers, heads_per_layer; /* heads plan: configs 1.. are (layer, head) in order */
} ls_sweep_meta;

extern const char *const ls_band_names[4];
const char *ls_band_rule(void);
/* Band index 0..3 (about normal, meaning lost, repetitive or confused, noise). */
int ls_band(double ppl, double top1, double gen_ppl, double rep4, double clean_ppl, double clean_gen_ppl,
            double clean_rep4);

/* Aggregates rows (JSON objects with "config", "seed_index", the metric
 * fields and "samples") into the summary (a cJSON object; caller deletes). */
void *ls_sweep_summarize(const ls_sweep_meta *meta, const char *const *rows, int n_rows, ls_error *err);

/* ---- report (report.c) --------------------------------------------------- */

/* Renders report.html (self-contained: inline SVG plots, band table,
 * samples) from a sweep's summary (a cJSON object as in summary.json). */
int ls_report_write(const char *path, const void *summary_json, ls_error *err);

#ifdef __cplusplus
}
#endif
#endif
