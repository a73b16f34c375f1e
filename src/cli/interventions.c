/* interventions.c: --ablate / --patch for every command that runs the model
 * (the mechanism is the library's, src/experiment/sites.c). */
#include "cli/interventions.h"

#include <stdlib.h>
#include <string.h>

int cli_interventions_build(const cli_args *a, const ls_model *m, const ls_tokenizer *tok, const cli_weights *w,
                            int target_len, int n_threads, cli_interventions *out) {
    memset(out, 0, sizeof *out);
    const ls_config *cfg = ls_model_config(m);
    ls_error err;
    long long seed;
    if (cli_int(a, "ablate-seed", 0, 0, INT64_MAX, &seed)) return 2;
    if (ls_interventions_new(&out->iv, cfg, (uint64_t)seed, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
    const char *mode_name = cli_str(a, "ablate-mode", "zero");
    int mode = ls_act_op_parse(mode_name);
    if (mode != LS_ACT_ZERO && mode != LS_ACT_MEAN && mode != LS_ACT_RESAMPLE)
        return cli_error(a->cmd, 2, "--ablate-mode %s: expected zero, mean or resample", mode_name);
    const char *ablate[CLI_MAX_VALUES], *patch[CLI_MAX_VALUES];
    int n_ablate = cli_all(a, "ablate", ablate, CLI_MAX_VALUES), n_patch = cli_all(a, "patch", patch, CLI_MAX_VALUES);
    if (!n_ablate)
        for (const char *o = "ablate-mode\0reference\0ablate-seed\0"; *o; o += strlen(o) + 1)
            if (cli_has(a, o)) return cli_error(a->cmd, 2, "--%s has no effect without --ablate SITE", o);
    if (!n_patch && (cli_has(a, "from-prompt") || cli_has(a, "from-ids")))
        return cli_error(a->cmd, 2, "--from-prompt / --from-ids have no effect without --patch SITE");
    if (n_patch && cli_has(a, "from-prompt") == cli_has(a, "from-ids"))
        return cli_error(a->cmd, 2, "--patch needs exactly one of --from-prompt TEXT or --from-ids IDS");
    for (int k = 0; k < n_ablate + n_patch; k++) {
        const char *text = k < n_ablate ? ablate[k] : patch[k - n_ablate];
        ls_site_spec sp;
        if (ls_site_spec_parse(&sp, cfg, text, &err) != 0 ||
            ls_interventions_add(out->iv, &sp, k < n_ablate ? (ls_act_op)mode : LS_ACT_PATCH, &err) < 0)
            return cli_error(a->cmd, 2, "--%s %s: %s", k < n_ablate ? "ablate" : "patch", text, err.msg);
    }
    out->n_active = n_ablate + n_patch;
    if (!out->n_active) return 0;

    /* What mean, resample and patch need, gathered once on the clean weights. */
    int32_t *ref = NULL, *src = NULL;
    int n_src = 0, rc = 0;
    size_t n_ref = 0;
    if (n_patch) {
        if (cli_has(a, "from-ids")) {
            rc = cli_parse_ids(a->cmd, cli_str(a, "from-ids", ""), &src, &n_src);
        } else {
            const char *p = cli_str(a, "from-prompt", "");
            size_t k = 0;
            if (ls_tokenizer_encode_input(tok, p, strlen(p), &src, &k, &err) != 0) rc = cli_error(a->cmd, 2, "--from-prompt: %s", err.msg);
            n_src = (int)k;
        }
        if (rc == 0 && target_len > 0 && n_src != target_len)
            rc = cli_error(a->cmd, 2, "--patch: the source has %d tokens but the input has %d (patching needs equal "
                                      "lengths)", n_src, target_len);
        for (int i = 0; rc == 0 && i < n_src; i++)
            if (src[i] < 0 || src[i] >= cfg->vocab_size)
                rc = cli_error(a->cmd, 2, "--from-ids: token id %d is outside the vocabulary (0..%d)", src[i],
                               cfg->vocab_size - 1);
        if (rc == 0 && (n_src < 1 || n_src > cfg->n_ctx))
            rc = cli_error(a->cmd, 2, "--patch: the source has %d tokens (expected 1..%d)", n_src, cfg->n_ctx);
    }
    if (rc == 0 && n_ablate && mode != LS_ACT_ZERO) {
        char path[4200], *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/heldout.txt", ls_model_dir(m));
        const char *file = cli_str(a, "reference", path);
        if (ls_read_file(file, &text, &len, &err) != 0) rc = cli_error(a->cmd, 1, "--reference: %s", err.msg);
        else if (ls_tokenizer_encode_input(tok, text, len, &ref, &n_ref, &err) != 0) rc = cli_error(a->cmd, 1, "%s: %s", file, err.msg);
        free(text);
        if (rc == 0 && n_ref < 2) rc = cli_error(a->cmd, 1, "%s: %zu tokens; mean and resample need a longer text", file, n_ref);
    }
    if (rc == 0 && ls_interventions_prepare(out->iv, &w->clean, ref, (int64_t)n_ref, src, n_src, n_threads, &err) != 0)
        rc = cli_error(a->cmd, 1, "%s", err.msg);
    free(ref);
    free(src);
    return rc;
}

int cli_interventions_need_tokenizer(const cli_args *a) {
    const char *mode = cli_str(a, "ablate-mode", "zero");
    return cli_has(a, "from-prompt") || (cli_has(a, "ablate") && strcmp(mode, "zero") != 0);
}

int cli_interventions_install(const cli_args *a, cli_interventions *ci, ls_state *s) {
    if (!ci->iv || !ls_interventions_count(ci->iv)) return 0;
    ls_hooks h = ls_interventions_hooks(ci->iv);
    ls_error err;
    if (ls_state_set_hooks(s, &h, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
    return 0;
}

void cli_interventions_free(cli_interventions *ci) {
    ls_interventions_free(ci->iv);
    memset(ci, 0, sizeof *ci);
}
