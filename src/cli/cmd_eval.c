/* cmd_eval.c: `lesion eval`: cross-entropy, perplexity and bits per byte of a text.
 *
 * How tokens are scored: the file is tokenized as one string; windows of
 * --ctx tokens start every --stride tokens; every token except the first is
 * predicted exactly once, from at least ctx - stride tokens of context
 * (fewer only inside the first window). Bits per byte divide the total
 * nats by ln 2 and by the file's size in bytes, so they compare across
 * tokenizers.
 *
 * --by-position adds how the model uses its context (context.c): the text is
 * cut into disjoint windows of --ctx tokens, so position t of every window
 * predicts from exactly t+1 tokens, and the loss is reported in buckets of
 * positions (0-7, 8-15, 16-31, 32-63, ... doubling up to the window) with
 * the in-context score, loss(last quarter) - loss(positions 16..32). */
#include "cli/commands.h"
#include "cli/interventions.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

/* Bucket b covers positions [lo, hi]: [0,7], [8,15], [16,31], ... doubling, the last cut at ctx-1. */
static int bucket_bounds(int b, int ctx, int *lo, int *hi) {
    *lo = b == 0 ? 0 : 8 << (b - 1);
    *hi = (8 << b) - 1;
    if (*hi > ctx - 1) *hi = ctx - 1;
    return *lo <= ctx - 1;
}

/* Adds the by-position section to o (JSON) or prints it. */
static void report_by_position(const ls_context_stats *cs, cJSON *o) {
    const int ctx = ls_context_stats_ctx(cs);
    double score = ls_context_score(cs);
    int late_lo = ctx - ctx / 4;
    if (o) {
        cJSON *bp = cJSON_AddObjectToObject(o, "by_position");
        cJSON_AddNumberToObject(bp, "ctx", ctx);
        cJSON_AddNumberToObject(bp, "windows", (double)ls_context_stats_windows(cs));
        cJSON *buckets = cJSON_AddArrayToObject(bp, "buckets");
        int lo, hi;
        for (int b = 0; bucket_bounds(b, ctx, &lo, &hi); b++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "from", lo);
            cJSON_AddNumberToObject(e, "to", hi);
            cJSON_AddNumberToObject(e, "cross_entropy", ls_context_loss(cs, lo, hi));
            cJSON_AddItemToArray(buckets, e);
        }
        cJSON *per = cJSON_AddArrayToObject(bp, "cross_entropy");
        for (int t = 0; t < ctx; t++) cJSON_AddItemToArray(per, cJSON_CreateNumber(ls_context_loss(cs, t, t)));
        if (isnan(score)) {
            cJSON_AddNullToObject(bp, "in_context_score");
        } else {
            cJSON_AddNumberToObject(bp, "in_context_score", score);
            cJSON_AddNumberToObject(bp, "late_cross_entropy", ls_context_loss(cs, late_lo, ctx - 1));
            cJSON_AddNumberToObject(bp, "early_cross_entropy", ls_context_loss(cs, 16, 32));
        }
        return;
    }
    printf("\nby position (%lld disjoint windows of %d tokens; position t predicts from t+1 tokens)\n",
           (long long)ls_context_stats_windows(cs), ctx);
    printf("positions    cross-entropy\n");
    int lo, hi;
    for (int b = 0; bucket_bounds(b, ctx, &lo, &hi); b++) {
        char range[32];
        snprintf(range, sizeof range, "%d-%d", lo, hi);
        printf("%-12s %.4f\n", range, ls_context_loss(cs, lo, hi));
    }
    if (isnan(score))
        printf("in-context score: needs a window of at least %d tokens\n", LS_CONTEXT_SCORE_MIN_CTX);
    else
        printf("in-context score  %+.4f nats (positions %d-%d: %.4f, positions 16-32: %.4f)\n", score, late_lo,
               ctx - 1, ls_context_loss(cs, late_lo, ctx - 1), ls_context_loss(cs, 16, 32));
}

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"file", "F", "text to score (default: the bundled model's heldout.txt)"},
    {"ctx", "N", "window length in tokens (default: the model's context)"},
    {"stride", "S", "tokens between window starts (default: ctx/2)"},
    {"max-tokens", "N", "score only the first N tokens of the file (default: all)"},
    {"batch", "B", "windows per forward batch (default 8)"},
    {"by-position", NULL, "also: cross-entropy by position in the window and the in-context score (disjoint windows of --ctx)"},
    {"json", NULL, "print one JSON object"},
    CLI_INTERVENTION_OPTS,
    CLI_LESION_OPTS,
    {0},
};

int cmd_eval(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "eval", "Scores a text file: mean cross-entropy, perplexity, bits per byte.", opts, argc,
                       argv);
    if (rc) return rc == 1 ? 0 : rc;
    int threads;
    long long ctx, stride, max_tokens, batch;
    if (cli_threads(&a, &threads) || cli_int(&a, "ctx", 0, 2, LS_MAX_CTX, &ctx) ||
        cli_int(&a, "stride", 0, 1, LS_MAX_CTX, &stride) || cli_int(&a, "max-tokens", 0, 2, INT64_MAX, &max_tokens) ||
        cli_int(&a, "batch", 8, 1, 1024, &batch))
        return 2;
    ls_model *model;
    ls_tokenizer *tok;
    if ((rc = cli_open_model(&a, &model, &tok))) return rc;
    const ls_config *cfg = ls_model_config(model);
    if (ctx == 0) ctx = cfg->n_ctx;
    if (stride == 0) stride = ctx / 2 > 0 ? ctx / 2 : 1;
    char path[4200], *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    ls_state *st = NULL;
    ls_context_stats *cs = NULL;
    cli_weights w = {0};
    cli_interventions ci = {0};
    ls_error err;
    snprintf(path, sizeof path, "%s/heldout.txt", ls_model_dir(model));
    const char *file = cli_str(&a, "file", path);
    if (ctx > cfg->n_ctx || stride >= ctx) {
        rc = cli_error(a.cmd, 2, "--ctx %lld / --stride %lld: expected ctx <= %d and stride < ctx", ctx, stride,
                       cfg->n_ctx);
        goto done;
    }
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    if (ls_read_file(file, &text, &len, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (ls_state_new(&st, cfg, (int)batch, (int)ctx, threads, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if ((rc = cli_interventions_build(&a, model, tok, &w, 0, threads, &ci)) ||
        (rc = cli_interventions_install(&a, &ci, st)))
        goto done;
    ls_text_eval res;
    if (ls_eval_text(st, &w.view, tok, text, len, (int)ctx, (int)stride, max_tokens, &res, &ids, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", file, err.msg);
        goto done;
    }
    if (cli_has(&a, "by-position")) {
        int min_pos = ctx > LS_CONTEXT_MIN_POS ? LS_CONTEXT_MIN_POS : 1;
        if (ls_context_stats_new(&cs, cfg, (int)ctx, min_pos, 0, &err) != 0 ||
            ls_context_measure(st, &w.view, ids, res.tokens, cs, &err) != 0) {
            rc = cli_error(a.cmd, 1, "%s: --by-position: %s", file, err.msg);
            goto done;
        }
    }
    if (cli_has(&a, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "tokens", (double)res.tokens);
        cJSON_AddNumberToObject(o, "scored_tokens", (double)res.scored_tokens);
        cJSON_AddNumberToObject(o, "bytes", (double)res.bytes);
        cJSON_AddNumberToObject(o, "cross_entropy", res.cross_entropy);
        cJSON_AddNumberToObject(o, "perplexity", res.perplexity);
        cJSON_AddNumberToObject(o, "bits_per_byte", res.bits_per_byte);
        cJSON_AddNumberToObject(o, "ctx", (double)res.ctx);
        cJSON_AddNumberToObject(o, "stride", (double)res.stride);
        if (cs) report_by_position(cs, o);
        cli_print_json(o);
    } else {
        printf("file           %s\ntokens         %lld (%lld scored, %lld bytes)\ncross-entropy  %.4f nats/token\n"
               "perplexity     %.3f\nbits per byte  %.4f\n",
               file, (long long)res.tokens, (long long)res.scored_tokens, (long long)res.bytes, res.cross_entropy,
               res.perplexity, res.bits_per_byte);
        if (cs) report_by_position(cs, NULL);
    }
done:
    free(ids);
    free(text);
    ls_context_stats_free(cs);
    ls_state_free(st);
    cli_interventions_free(&ci);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
