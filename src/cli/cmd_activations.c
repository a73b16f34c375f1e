/* cmd_activations.c: `lesion activations`: named intermediate activations of
 * one input, as float32 .npy files, clean or with lesions and activation
 * interventions applied.
 *
 * Each --site SITE (see include/lesion/sites.h) writes one file per layer it
 * names into --out DIR: "<site>@L<layer>.npy" ("lnf.out.npy", "logits.npy"
 * for the model-wide ones). Shapes: (T, width) for row sites, (T, H, D) for
 * attn.q/k/v/z, (H, T, T) for attn.pattern, with T the selected positions
 * and H the selected heads. The input is one sequence: --prompt, --ids or
 * the first context-length tokens of --file. The directory is assembled
 * under a temporary name and renamed into place. */
#include "cli/commands.h"
#include "cli/weights.h"
#include "cli/interventions.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"site", "SITE", "an activation to write, e.g. resid_post@all, attn.z@L1H2, attn.pattern@L3 (repeatable)"},
    {"prompt", "TEXT", "the input text"},
    {"ids", "IDS", "the input as token ids (comma-separated)"},
    {"file", "F", "the input: the first context-length tokens of a text file"},
    {"out", "DIR", "output directory (created; must not exist)"},
    CLI_INTERVENTION_OPTS,
    CLI_LESION_OPTS,
    {0},
};

/* "attn.z@L3" -> "attn.z@L3" (file-safe as it is); model-wide sites keep their name. */
static void file_name(char *buf, size_t cap, ls_site site, int layer) {
    if (layer < 0) snprintf(buf, cap, "%s.npy", ls_site_name(site));
    else snprintf(buf, cap, "%s@L%d.npy", ls_site_name(site), layer);
}

int cmd_activations(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "activations", "Writes named activations of one input as float32 .npy files (one per site "
                                          "and layer), clean or lesioned.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    int threads;
    if (cli_threads(&a, &threads)) return 2;
    const char *out = cli_str(&a, "out", NULL);
    if (!out) return cli_error(a.cmd, 2, "needs --out DIR");
    const char *sites[CLI_MAX_VALUES];
    int n_sites = cli_all(&a, "site", sites, CLI_MAX_VALUES);
    if (!n_sites) return cli_error(a.cmd, 2, "needs at least one --site SITE (e.g. resid_post@all)");
    int n_in = cli_has(&a, "prompt") + cli_has(&a, "ids") + cli_has(&a, "file");
    if (n_in != 1) return cli_error(a.cmd, 2, "needs exactly one of --prompt, --ids, --file");
    struct stat st;
    if (stat(out, &st) == 0) return cli_error(a.cmd, 1, "%s already exists (activations never overwrites)", out);
    ls_model *model;
    ls_tokenizer *tok = NULL; /* --ids alone needs none */
    int need_tok = !cli_has(&a, "ids") || cli_interventions_need_tokenizer(&a);
    if ((rc = cli_open_model(&a, &model, need_tok ? &tok : NULL))) return rc;
    const ls_config *cfg = ls_model_config(model);
    cli_weights w = {0};
    cli_interventions ci = {0};
    ls_state *s = NULL;
    int32_t *ids = NULL;
    int n = 0;
    ls_error err;
    char tmp[4200], path[4400];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", out, (long)getpid());
    int made_tmp = 0;
    if ((rc = cli_weights_build(&a, model, &w)) || (rc = cli_input_ids(&a, tok, cfg, &ids, &n)) ||
        (rc = cli_interventions_build(&a, model, tok, &w, n, threads, &ci)))
        goto done;
    /* Record rules go after the interventions, so they see their result. */
    int first_record = ls_interventions_count(ci.iv);
    for (int i = 0; i < n_sites; i++) {
        ls_site_spec sp;
        if (ls_site_spec_parse(&sp, cfg, sites[i], &err) != 0 ||
            ls_interventions_add(ci.iv, &sp, LS_ACT_RECORD, &err) < 0) {
            rc = cli_error(a.cmd, 2, "--site %s: %s", sites[i], err.msg);
            goto done;
        }
    }
    if (ls_state_new(&s, cfg, 1, n, threads, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if ((rc = cli_interventions_install(&a, &ci, s))) goto done;
    if (ls_forward(s, &w.view, ids, 1, n, 0, NULL, LS_LOGITS_NONE, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    /* The logits site lives in the head: run it for every position. */
    for (int i = 0; i < n_sites; i++) {
        ls_site_spec sp;
        ls_site_spec_parse(&sp, cfg, sites[i], &err);
        if (sp.site == LS_SITE_LNF_OUT || sp.site == LS_SITE_LOGITS) {
            float *logits = malloc((size_t)n * (size_t)cfg->vocab_size * sizeof *logits);
            if (!logits) {
                rc = cli_error(a.cmd, 1, "out of memory");
                goto done;
            }
            ls_head(s, &w.view, ls_state_residual(s), n, logits);
            free(logits);
            break;
        }
    }
    if (mkdir(tmp, 0755) != 0) {
        rc = cli_error(a.cmd, 1, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    made_tmp = 1;
    for (int r = 0; r < n_sites && rc == 0; r++) {
        ls_site_spec sp;
        ls_site_spec_parse(&sp, cfg, sites[r], &err);
        for (int l = -1; l < cfg->n_layer && rc == 0; l++) {
            int64_t rows, dims[3], shape[4];
            int ndim;
            const float *v = ls_interventions_recorded(ci.iv, first_record + r, l, &rows, dims, &ndim);
            if (!v) continue;
            shape[0] = rows;
            for (int d = 0; d < ndim; d++) shape[d + 1] = dims[d];
            int nd = ndim + 1;
            if (sp.site == LS_SITE_ATTN_PATTERN) /* one sequence: (H, T, keys) */
                memmove(shape, shape + 1, sizeof(int64_t) * (size_t)ndim), nd = ndim;
            char name[128];
            file_name(name, sizeof name, sp.site, l);
            snprintf(path, sizeof path, "%s/%s", tmp, name);
            if (ls_npy_write_f32(path, v, shape, nd, &err) != 0) rc = cli_error(a.cmd, 1, "%s", err.msg);
        }
    }
    if (rc == 0 && rename(tmp, out) != 0) rc = cli_error(a.cmd, 1, "%s: cannot rename into place: %s", out, strerror(errno));
    if (rc == 0) made_tmp = 0;
done:
    if (made_tmp) ls_remove_dir(tmp);
    ls_state_free(s);
    cli_interventions_free(&ci);
    free(ids);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
