/* cmd_generate.c: `lesion generate`: a continuation of a prompt, clean or lesioned. */
#include "cli/commands.h"
#include "cli/interventions.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"prompt", "TEXT", "the prompt (required)"},
    {"tokens", "N", "new tokens to generate (default 48)"},
    {"temperature", "T", "0 = greedy (default), otherwise sample at this temperature"},
    {"top-k", "K", "sample only among the K most likely tokens (default off)"},
    {"top-p", "P", "nucleus sampling: keep the most likely tokens up to this mass, in (0, 1] (default 1 = all)"},
    {"seed", "S", "sampling seed (default 0): same seed, same text, any thread count"},
    {"json", NULL, "print {\"text\":..., \"ids\":[...]} instead of the text"},
    CLI_INTERVENTION_OPTS,
    CLI_LESION_OPTS,
    {0},
};

int cmd_generate(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "generate", "Generates a continuation of --prompt; with --lesion, from the lesioned model.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    long long n_new, top_k, seed;
    double temp, top_p;
    int threads;
    if (cli_int(&a, "tokens", 48, 0, 1 << 20, &n_new) || cli_int(&a, "top-k", 0, 0, 1 << 30, &top_k) ||
        cli_int(&a, "seed", 0, 0, INT64_MAX, &seed) || cli_float(&a, "temperature", 0, 0, 100, &temp) ||
        cli_float(&a, "top-p", 1, 0, 1, &top_p) || cli_threads(&a, &threads))
        return 2;
    /* 0 would keep no token at all; it used to mean "off", while 1e-6 meant greedy. */
    if (!(top_p > 0)) return cli_error(a.cmd, 2, "--top-p: \"%s\" is not in (0, 1] (1 keeps every token)", cli_str(&a, "top-p", ""));
    char *prompt;
    size_t prompt_len;
    if ((rc = cli_read_text_or_file(&a, "prompt", NULL, &prompt, &prompt_len))) return rc;

    ls_model *model;
    ls_tokenizer *tok;
    ls_error err;
    if ((rc = cli_open_model(&a, &model, &tok))) {
        free(prompt);
        return rc;
    }
    const ls_config *cfg = ls_model_config(model);
    cli_weights w = {0};
    cli_interventions ci = {0};
    int32_t *ids = NULL, *out = NULL;
    size_t n_ids = 0;
    ls_state *st = NULL;
    char *text = NULL;
    size_t text_len;
    int n_out = 0;
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    if (ls_tokenizer_encode_input(tok, prompt, prompt_len, &ids, &n_ids, &err) != 0) {
        rc = cli_error(a.cmd, 2, "--prompt: %s", err.msg);
        goto done;
    }
    if (n_ids == 0) {
        rc = cli_error(a.cmd, 2, "--prompt is empty (need at least one token)");
        goto done;
    }
    if ((long long)n_ids + n_new > cfg->n_ctx) {
        rc = cli_error(a.cmd, 2, "prompt of %zu tokens + %lld new tokens exceeds the context length %d", n_ids, n_new,
                       cfg->n_ctx);
        goto done;
    }
    out = malloc(((size_t)n_new + 1) * sizeof *out);
    if (!out || ls_state_new(&st, cfg, 1, (int)n_ids + (int)n_new, threads, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", out ? err.msg : "out of memory");
        goto done;
    }
    /* A patch source matches the prompt; generated positions past it are left alone. */
    if ((rc = cli_interventions_build(&a, model, tok, &w, (int)n_ids, threads, &ci)) ||
        (rc = cli_interventions_install(&a, &ci, st)))
        goto done;
    ls_sampler sp = {.temperature = (float)temp, .top_k = (int)top_k, .top_p = (float)top_p, .seed = (uint64_t)seed};
    if (ls_generate(st, &w.view, ids, (int)n_ids, (int)n_new, &sp, -1, out, &n_out, &err) != 0 ||
        ls_tokenizer_decode(tok, out, (size_t)n_out, &text, &text_len, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (cli_has(&a, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "prompt", prompt);
        char *json_text = cli_json_text(text, text_len); /* JSON must be UTF-8; the bytes are in "ids" */
        cJSON_AddStringToObject(o, "text", json_text ? json_text : "");
        free(json_text);
        cJSON *arr = cJSON_AddArrayToObject(o, "ids");
        for (int i = 0; i < n_out; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(out[i]));
        cli_print_json(o);
    } else {
        fwrite(prompt, 1, prompt_len, stdout);
        fwrite(text, 1, text_len, stdout);
        fputc('\n', stdout);
    }
done:
    free(text);
    free(out);
    free(ids);
    free(prompt);
    ls_state_free(st);
    cli_interventions_free(&ci);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
