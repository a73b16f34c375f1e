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

/* ---- results store (store.c) ------------------------------------------- */

/* Append-only JSONL with one row per unique "key"; opening it drops a torn
 * last row (and says so in *dropped_tail). */
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

#ifdef __cplusplus
}
#endif
#endif
