/* eval.c: held-out cross-entropy over sliding windows, of tokens or of a
 * text (ls_eval_text: what `lesion eval` and the Python binding report).
 *
 * Windows of equal length are run as one batch, so the cost per token is a
 * batched prefill; only the scored positions go through the output head,
 * which matters when the vocabulary is large. */
#include <lesion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ls_windows(int64_t n, int ctx, int stride, ls_window **out, int *n_windows, ls_error *err) {
    *out = NULL;
    *n_windows = 0;
    if (n < 2) return ls_fail(err, "need at least 2 tokens to score, got %lld", (long long)n);
    if (ctx < 2 || stride < 1 || stride > ctx - 1)
        return ls_fail(err, "window %d / stride %d: expected window >= 2 and 1 <= stride < window", ctx, stride);
    int64_t cap = (n + stride - 1) / stride + 1;
    ls_window *w = malloc((size_t)cap * sizeof *w);
    if (!w) return ls_fail(err, "out of memory");
    int k = 0;
    int64_t scored_to = 0; /* last target index already scored */
    for (int64_t start = 0;; start += stride) {
        int64_t end = start + ctx < n ? start + ctx : n;
        w[k].start = start;
        w[k].len = (int)(end - start);
        w[k].score_from = (int)(scored_to - start); /* first target scored_to+1 is predicted at position scored_to-start */
        k++;
        scored_to = end - 1;
        if (end == n) break;
    }
    *out = w;
    *n_windows = k;
    return 0;
}

int ls_eval_tokens(ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n_tokens, int ctx, int stride,
                   ls_eval_result *res, ls_error *err) {
    memset(res, 0, sizeof *res);
    ls_window *win;
    int n_win;
    if (ls_windows(n_tokens, ctx, stride, &win, &n_win, err) != 0) return -1;
    const int V = w->cfg->vocab_size, C = w->cfg->n_embd;
    int max_b = 1;
    while (max_b < 64 && ls_state_batch_fits(s, max_b * 2, ctx)) max_b *= 2;
    int32_t *batch = malloc((size_t)max_b * (size_t)ctx * sizeof *batch);
    float *logits = malloc((size_t)ctx * (size_t)V * sizeof *logits);
    int rc = (batch && logits) ? 0 : ls_fail(err, "out of memory");
    for (int i = 0; i < n_win && rc == 0;) {
        /* A batch: consecutive windows of the same length. */
        int B = 0, T = win[i].len;
        while (i + B < n_win && B < max_b && win[i + B].len == T) {
            memcpy(batch + (int64_t)B * T, tokens + win[i + B].start, (size_t)T * sizeof *batch);
            B++;
        }
        rc = ls_forward(s, w, batch, B, T, 0, NULL, LS_LOGITS_NONE, err);
        const float *x = ls_state_residual(s);
        for (int b = 0; b < B && rc == 0; b++) {
            const ls_window *wd = &win[i + b];
            int n_pos = wd->len - 1 - wd->score_from;
            ls_head(s, w, x + ((int64_t)b * T + wd->score_from) * C, n_pos, logits);
            for (int t = 0; t < n_pos; t++) {
                int32_t target = tokens[wd->start + wd->score_from + t + 1];
                const float *row = logits + (int64_t)t * V;
                res->nll_sum += ls_log_softmax_row(row, V, NULL) - row[target];
            }
            res->n_scored += n_pos;
        }
        i += B;
    }
    free(batch);
    free(logits);
    free(win);
    return rc;
}

int ls_eval_text(ls_state *s, const ls_weights *w, const ls_tokenizer *tok, const char *text, size_t len, int ctx,
                 int stride, int64_t max_tokens, ls_text_eval *out, int32_t **ids_out, ls_error *err) {
    memset(out, 0, sizeof *out);
    if (ids_out) *ids_out = NULL;
    if (ctx == 0) ctx = w->cfg->n_ctx;
    if (stride == 0) stride = ctx / 2 > 0 ? ctx / 2 : 1;
    if (ctx < 2 || ctx > w->cfg->n_ctx || stride < 1 || stride >= ctx)
        return ls_fail(err, "ctx %d / stride %d: expected 2 <= ctx <= %d and 1 <= stride < ctx", ctx, stride,
                       w->cfg->n_ctx);
    if (max_tokens < 0) return ls_fail(err, "max_tokens %lld: expected 0 (all) or a count", (long long)max_tokens);
    if (ls_state_max_seq(s) < ctx) return ls_fail(err, "the state holds %d positions, less than ctx %d", ls_state_max_seq(s), ctx);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (ls_tokenizer_encode_input(tok, text, len, &ids, &n_ids, err) != 0) return -1;
    if (max_tokens && (size_t)max_tokens < n_ids) {
        /* Bits per byte must then count only the bytes those tokens cover. */
        char *part;
        size_t part_len;
        if (ls_tokenizer_decode(tok, ids, (size_t)max_tokens, &part, &part_len, err) != 0) {
            free(ids);
            return -1;
        }
        free(part);
        len = part_len;
        n_ids = (size_t)max_tokens;
    }
    if (n_ids < 2) {
        free(ids);
        return ls_fail(err, "%zu tokens; need at least 2 to score", n_ids);
    }
    ls_eval_result res;
    if (ls_eval_tokens(s, w, ids, (int64_t)n_ids, ctx, stride, &res, err) != 0) {
        free(ids);
        return -1;
    }
    out->tokens = (int64_t)n_ids;
    out->scored_tokens = res.n_scored;
    out->bytes = (int64_t)len;
    out->cross_entropy = res.nll_sum / (double)res.n_scored;
    out->perplexity = exp(out->cross_entropy);
    out->bits_per_byte = res.nll_sum / log(2.0) / (double)len;
    out->ctx = ctx;
    out->stride = stride;
    if (ids_out) *ids_out = ids;
    else free(ids);
    return 0;
}
