/* generate.c: sampling and autoregressive generation with the KV cache.
 *
 * Randomness is stateless: the uniform draw for step i is a hash of
 * (seed, i), so a continuation depends only on the seed, the weights and the
 * prompt, never on thread count or on what ran before in the process. */
#include <lesion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { float p; int32_t id; } prob_id;

static int by_prob_desc(const void *a, const void *b) {
    const prob_id *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id); /* ties: lower id first, for determinism */
}

int32_t ls_sample(const float *logits, int V, const ls_sampler *sp, uint64_t step, void *scratch) {
    int32_t best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (sp->temperature <= 0.0f) return best;

    prob_id *c = scratch;
    double sum = 0.0;
    for (int i = 0; i < V; i++) {
        c[i].p = (float)exp((double)(logits[i] - logits[best]) / sp->temperature);
        c[i].id = i;
    }
    int n = V;
    if ((sp->top_k > 0 && sp->top_k < V) || (sp->top_p > 0.0f && sp->top_p < 1.0f)) {
        qsort(c, (size_t)V, sizeof *c, by_prob_desc);
        if (sp->top_k > 0 && sp->top_k < n) n = sp->top_k;
        if (sp->top_p > 0.0f && sp->top_p < 1.0f) {
            double total = 0.0, acc = 0.0;
            for (int i = 0; i < n; i++) total += c[i].p;
            int keep = 0;
            while (keep < n) { /* smallest prefix whose mass reaches top_p (at least one token) */
                acc += c[keep++].p;
                if (acc >= sp->top_p * total) break;
            }
            n = keep;
        }
    }
    for (int i = 0; i < n; i++) sum += c[i].p;
    double u = (double)(ls_mix64(sp->seed, step) >> 11) * 0x1.0p-53 * sum, acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += c[i].p;
        if (u < acc) return c[i].id;
    }
    return c[n - 1].id;
}

int ls_generate(ls_state *s, const ls_weights *w, const int32_t *prompt, int n_prompt, int n_new,
                const ls_sampler *sp, int32_t stop_id, int32_t *out, int *n_out, ls_error *err) {
    *n_out = 0;
    int max_len = ls_state_max_seq(s);
    if (n_prompt < 1) return ls_fail(err, "the prompt is empty (need at least one token)");
    if (n_new < 0 || (int64_t)n_prompt + n_new > max_len)
        return ls_fail(err, "prompt of %d tokens + %d new tokens exceeds the context length %d", n_prompt, n_new,
                       max_len);
    const ls_config *cfg = w->cfg;
    float *logits = malloc((size_t)cfg->vocab_size * sizeof *logits);
    void *scratch = malloc((size_t)cfg->vocab_size * 2 * sizeof(float));
    if (!logits || !scratch) {
        free(logits);
        free(scratch);
        return ls_fail(err, "out of memory");
    }
    int rc = n_new > 0 ? ls_forward(s, w, prompt, 1, n_prompt, 0, logits, LS_LOGITS_LAST, err) : 0;
    for (int i = 0; rc == 0 && i < n_new; i++) {
        int32_t next = ls_sample(logits, cfg->vocab_size, sp, (uint64_t)i, scratch);
        out[(*n_out)++] = next;
        if (next == stop_id || i + 1 == n_new) break;
        rc = ls_forward(s, w, &next, 1, 1, n_prompt + i, logits, LS_LOGITS_LAST, err);
    }
    free(logits);
    free(scratch);
    return rc;
}
