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

#ifdef __cplusplus
}
#endif
#endif
