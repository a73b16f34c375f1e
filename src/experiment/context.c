/* context.c: how a model uses its context.
 *
 * A trained language model predicts a token better the more text precedes
 * it, and its attention heads are sharp (previous token, first token,
 * induction); a model that ignores its context is flat on both counts, and
 * no lesion of the machinery that reads context can hurt it. These are the
 * two diagnostics measured here, for any model and any weights view:
 *
 *  - cross-entropy by position in the window;
 *  - per head, the mean normalised entropy of the attention weights and the
 *    most-attended relative offset.
 *
 * Both run over disjoint windows of ctx tokens: window k runs tokens
 * [k ctx, (k+1) ctx) and position t predicts token k ctx + t + 1, so every
 * position t sees exactly t + 1 tokens and every position is averaged over
 * the same windows (sliding windows, as `lesion eval` uses, score only the
 * second half of most windows). A token is predicted once at most; windows
 * whose last target would fall past the text are not run.
 *
 * Normalised entropy of a query row with n = t + 1 keys is H / ln n, in
 * [0, 1]: 1 is uniform attention, 0 all weight on one key. Only queries at
 * t >= min_pos count (16 by default), where ln n is large enough for the
 * ratio to mean something. The offset of a row is t - j for its
 * most-attended key j (0 = itself, 1 = the previous token), except that
 * j = 0 counts as "first" whatever t is: the first-token (attention sink)
 * heads of GPT-2 are a kind of their own. */
#include <lesion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ls_context_stats {
    int n_layer, n_head, ctx, min_pos;
    int64_t n_windows;
    double *nll_sum;     /* (ctx) nats by position, summed over windows */
    double *entropy_sum; /* NULL, or (L,H) normalised entropies of counted rows */
    int64_t *offsets;    /* NULL, or (L,H,ctx+1): [o] argmax at offset o (key j > 0), [ctx] argmax at key 0 */
    int64_t *att_rows;   /* NULL, or (L): counted rows per head of each layer */
};

int ls_context_stats_new(ls_context_stats **out, const ls_config *cfg, int ctx, int min_pos, int attention,
                         ls_error *err) {
    *out = NULL;
    if (ctx < 2 || ctx > cfg->n_ctx)
        return ls_fail(err, "window of %d tokens: expected 2..%d (the model's context)", ctx, cfg->n_ctx);
    if (min_pos < 1 || min_pos >= ctx)
        return ls_fail(err, "minimum query position %d: expected 1..%d (below the window of %d)", min_pos, ctx - 1,
                       ctx);
    ls_context_stats *st = calloc(1, sizeof *st);
    if (!st) return ls_fail(err, "out of memory");
    st->n_layer = cfg->n_layer;
    st->n_head = cfg->n_head;
    st->ctx = ctx;
    st->min_pos = min_pos;
    size_t LH = (size_t)cfg->n_layer * (size_t)cfg->n_head;
    st->nll_sum = calloc((size_t)ctx, sizeof *st->nll_sum);
    int ok = st->nll_sum != NULL;
    if (attention) {
        st->entropy_sum = calloc(LH, sizeof *st->entropy_sum);
        st->offsets = calloc(LH * ((size_t)ctx + 1), sizeof *st->offsets);
        st->att_rows = calloc((size_t)cfg->n_layer, sizeof *st->att_rows);
        ok = ok && st->entropy_sum && st->offsets && st->att_rows;
    }
    if (!ok) {
        ls_context_stats_free(st);
        return ls_fail(err, "out of memory for context statistics");
    }
    *out = st;
    return 0;
}

void ls_context_stats_free(ls_context_stats *st) {
    if (!st) return;
    free(st->nll_sum);
    free(st->entropy_sum);
    free(st->offsets);
    free(st->att_rows);
    free(st);
}

int ls_context_stats_ctx(const ls_context_stats *st) { return st->ctx; }
int ls_context_stats_min_pos(const ls_context_stats *st) { return st->min_pos; }
int64_t ls_context_stats_windows(const ls_context_stats *st) { return st->n_windows; }
int ls_context_stats_has_attention(const ls_context_stats *st) { return st->entropy_sum != NULL; }

void ls_context_add_attention(ls_context_stats *st, const ls_state *s, int B, int T, int layer_from, int layer_to) {
    const int H = st->n_head, K = st->ctx + 1;
    for (int l = layer_from; l < layer_to; l++) {
        ls_attn_rows rows;
        if (ls_state_attention_rows(s, l, &rows) != 0) continue;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                double *esum = &st->entropy_sum[(int64_t)l * H + h];
                int64_t *hist = st->offsets + ((int64_t)l * H + h) * K;
                for (int t = st->min_pos; t < T; t++) {
                    int64_t i = ((int64_t)b * H + h) * T + t;
                    *esum += rows.entropy[i] / log((double)(t + 1));
                    int j = rows.argmax[i];
                    hist[j == 0 ? st->ctx : t - j]++;
                }
            }
        if (T > st->min_pos) st->att_rows[l] += (int64_t)B * (T - st->min_pos);
    }
}

int ls_context_measure(ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n_tokens,
                       ls_context_stats *st, ls_error *err) {
    const int T = st->ctx, V = w->cfg->vocab_size, C = w->cfg->n_embd;
    if (n_tokens < (int64_t)T + 1)
        return ls_fail(err, "%lld tokens: need at least %d (one window of %d and its next token)",
                       (long long)n_tokens, T + 1, T);
    if (!ls_state_batch_fits(s, 1, T)) return ls_fail(err, "state too small for windows of %d tokens", T);
    if (st->entropy_sum && ls_state_attention_rows(s, 0, &(ls_attn_rows){0}) != 0)
        return ls_fail(err, "attention statistics asked for, but the state does not track attention");
    int max_b = 1;
    while (max_b < 64 && ls_state_batch_fits(s, max_b * 2, T)) max_b *= 2;
    const int64_t n_win = (n_tokens - 1) / T;
    float *logits = malloc((size_t)T * (size_t)V * sizeof *logits);
    if (!logits) return ls_fail(err, "out of memory");
    int rc = 0;
    for (int64_t k = 0; k < n_win && rc == 0;) {
        int B = (int)(n_win - k < max_b ? n_win - k : max_b);
        /* Consecutive windows are consecutive in the text: one (B,T) block. */
        rc = ls_forward(s, w, tokens + k * T, B, T, 0, NULL, LS_LOGITS_NONE, err);
        if (rc) break;
        if (st->entropy_sum) ls_context_add_attention(st, s, B, T, 0, st->n_layer);
        const float *x = ls_state_residual(s);
        for (int b = 0; b < B; b++) {
            ls_head(s, w, x + (int64_t)b * T * C, T, logits);
            const int32_t *target = tokens + (k + b) * T + 1;
            for (int t = 0; t < T; t++) {
                const float *row = logits + (int64_t)t * V;
                st->nll_sum[t] += ls_log_softmax_row(row, V, NULL) - row[target[t]];
            }
        }
        st->n_windows += B;
        k += B;
    }
    free(logits);
    return rc;
}

double ls_context_loss(const ls_context_stats *st, int t_lo, int t_hi) {
    if (st->n_windows == 0 || t_lo < 0 || t_hi >= st->ctx || t_lo > t_hi) return NAN;
    double s = 0;
    for (int t = t_lo; t <= t_hi; t++) s += st->nll_sum[t];
    return s / ((double)st->n_windows * (t_hi - t_lo + 1));
}

double ls_context_score(const ls_context_stats *st) {
    if (st->ctx < LS_CONTEXT_SCORE_MIN_CTX) return NAN;
    return ls_context_loss(st, st->ctx - st->ctx / 4, st->ctx - 1) - ls_context_loss(st, 16, 32);
}

double ls_context_head_entropy(const ls_context_stats *st, int layer, int head) {
    if (!st->entropy_sum || st->att_rows[layer] == 0) return NAN;
    return st->entropy_sum[(int64_t)layer * st->n_head + head] / (double)st->att_rows[layer];
}

double ls_context_layer_entropy(const ls_context_stats *st, int layer) {
    double s = 0;
    for (int h = 0; h < st->n_head; h++) s += ls_context_head_entropy(st, layer, h);
    return s / st->n_head;
}

int ls_context_head_offset(const ls_context_stats *st, int layer, int head, double *share) {
    *share = NAN;
    if (!st->offsets || st->att_rows[layer] == 0) return LS_OFFSET_NONE;
    const int64_t *hist = st->offsets + ((int64_t)layer * st->n_head + head) * (st->ctx + 1);
    int best = 0;
    for (int o = 1; o <= st->ctx; o++)
        if (hist[o] > hist[best]) best = o;
    *share = (double)hist[best] / (double)st->att_rows[layer];
    return best == st->ctx ? LS_OFFSET_FIRST : best;
}
