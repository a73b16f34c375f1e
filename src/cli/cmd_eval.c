/* cmd_eval.c: `lesion eval`: cross-entropy, perplexity and bits per byte of a text.
 *
 * How tokens are scored: the file is tokenized as one string; windows of
 * --ctx tokens start every --stride tokens; every token except the first is
 * predicted exactly once, from at least ctx - stride tokens of context
 * (fewer only inside the first window). Bits per byte divide the total
 * nats by ln 2 and by the file's size in bytes, so they compare across
 * tokenizers. */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"file", "F", "text to score (default: the bundled model's heldout.txt)"},
    {"ctx", "N", "window length in tokens (default: the model's context)"},
    {"stride", "S", "tokens between window starts (default: ctx/2)"},
    {"max-tokens", "N", "score only the first N tokens of the file (default: all)"},
    {"batch", "B", "windows per forward batch (default 8)"},
    {"json", NULL, "print one JSON object"},
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
    size_t len = 0, n_ids = 0;
    int32_t *ids = NULL;
    ls_state *st = NULL;
    cli_weights w = {0};
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
    if (ls_tokenizer_encode(tok, text, len, &ids, &n_ids, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", file, err.msg);
        goto done;
    }
    if (max_tokens && (size_t)max_tokens < n_ids) {
        /* Bits per byte must then count only the bytes those tokens cover. */
        char *part;
        size_t part_len;
        if (ls_tokenizer_decode(tok, ids, (size_t)max_tokens, &part, &part_len, &err) != 0) {
            rc = cli_error(a.cmd, 1, "%s", err.msg);
            goto done;
        }
        free(part);
        len = part_len;
        n_ids = (size_t)max_tokens;
    }
    if (n_ids < 2) {
        rc = cli_error(a.cmd, 1, "%s: %zu tokens; need at least 2 to score", file, n_ids);
        goto done;
    }
    ls_eval_result res;
    if (ls_state_new(&st, cfg, (int)batch, (int)ctx, threads, &err) != 0 ||
        ls_eval_tokens(st, &w.view, ids, (int64_t)n_ids, (int)ctx, (int)stride, &res, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    double ce = res.nll_sum / (double)res.n_scored, bpb = res.nll_sum / log(2.0) / (double)len;
    if (cli_has(&a, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "tokens", (double)n_ids);
        cJSON_AddNumberToObject(o, "scored_tokens", (double)res.n_scored);
        cJSON_AddNumberToObject(o, "bytes", (double)len);
        cJSON_AddNumberToObject(o, "cross_entropy", ce);
        cJSON_AddNumberToObject(o, "perplexity", exp(ce));
        cJSON_AddNumberToObject(o, "bits_per_byte", bpb);
        cJSON_AddNumberToObject(o, "ctx", (double)ctx);
        cJSON_AddNumberToObject(o, "stride", (double)stride);
        cli_print_json(o);
    } else {
        printf("file           %s\ntokens         %zu (%lld scored, %zu bytes)\ncross-entropy  %.4f nats/token\n"
               "perplexity     %.3f\nbits per byte  %.4f\n",
               file, n_ids, (long long)res.n_scored, len, ce, exp(ce), bpb);
    }
done:
    free(ids);
    free(text);
    ls_state_free(st);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
