/* cmd_logits.c: `lesion logits`: every position's logits as float32 .npy (T, V). */
#include "cli/commands.h"
#include "cli/interventions.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"ids", "1,2,3", "token ids to run"},
    {"prompt", "TEXT", "text to tokenize and run (instead of --ids)"},
    {"out", "FILE.npy", "where to write the float32 array of shape (T, vocab) (required)"},
    CLI_INTERVENTION_OPTS,
    CLI_LESION_OPTS,
    {0},
};

int cmd_logits(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "logits", "Runs the model on --ids or --prompt and writes all logits to --out.", opts, argc,
                       argv);
    if (rc) return rc == 1 ? 0 : rc;
    int threads;
    if (cli_threads(&a, &threads)) return 2;
    const char *out_path = cli_str(&a, "out", NULL);
    if (!out_path) return cli_error(a.cmd, 2, "needs --out FILE.npy");
    if (cli_has(&a, "ids") == cli_has(&a, "prompt")) return cli_error(a.cmd, 2, "needs exactly one of --ids or --prompt");

    int32_t *ids = NULL;
    int n = 0;
    if (cli_has(&a, "ids") && (rc = cli_parse_ids(a.cmd, cli_str(&a, "ids", ""), &ids, &n))) return rc;
    ls_model *model;
    ls_tokenizer *tok = NULL;
    if ((rc = cli_open_model(&a, &model, cli_has(&a, "prompt") || cli_interventions_need_tokenizer(&a) ? &tok : NULL))) {
        free(ids);
        return rc;
    }
    ls_error err;
    const ls_config *cfg = ls_model_config(model);
    cli_weights w = {0};
    cli_interventions ci = {0};
    ls_state *st = NULL;
    float *logits = NULL;
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    if (cli_has(&a, "prompt")) {
        const char *p = cli_str(&a, "prompt", "");
        size_t k;
        if (ls_tokenizer_encode_input(tok, p, strlen(p), &ids, &k, &err) != 0) {
            rc = cli_error(a.cmd, 2, "--prompt: %s", err.msg);
            goto done;
        }
        n = (int)k;
        if (n == 0) {
            rc = cli_error(a.cmd, 2, "--prompt is empty");
            goto done;
        }
    }
    if (n > cfg->n_ctx) {
        rc = cli_error(a.cmd, 2, "%d tokens exceed the context length %d", n, cfg->n_ctx);
        goto done;
    }
    logits = malloc((size_t)n * (size_t)cfg->vocab_size * sizeof *logits);
    if (!logits || ls_state_new(&st, cfg, 1, n, threads, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", logits ? err.msg : "out of memory");
        goto done;
    }
    if ((rc = cli_interventions_build(&a, model, tok, &w, n, threads, &ci)) ||
        (rc = cli_interventions_install(&a, &ci, st)))
        goto done;
    if (ls_forward(st, &w.view, ids, 1, n, 0, logits, LS_LOGITS_ALL, &err) != 0) {
        rc = cli_error(a.cmd, 2, "%s", err.msg);
        goto done;
    }
    int64_t shape[2] = {n, cfg->vocab_size};
    if (ls_npy_write_f32(out_path, logits, shape, 2, &err) != 0) rc = cli_error(a.cmd, 1, "%s", err.msg);
done:
    free(logits);
    free(ids);
    ls_state_free(st);
    cli_interventions_free(&ci);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
