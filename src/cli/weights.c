/* weights.c: from --lesion flags to the weights view a command runs.
 *
 * The only place in the CLI that touches the lesion layer: every command
 * gets either the clean view or an overlay view, and undo is a reset. */
#include "cli/weights.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

int cli_lesion_opts_parse(const cli_args *a, cli_lesion_opts *o) {
    long long seed;
    if (cli_int(a, "lesion-seed", 0, 0, INT64_MAX, &seed)) return 2;
    o->mode = cli_str(a, "mode", "gauss");
    o->match = cli_str(a, "match", "tensor");
    o->rng = cli_str(a, "rng", "philox");
    o->with_bias = cli_has(a, "with-bias");
    o->seed = (uint64_t)seed;
    return 0;
}

int cli_weights_init(cli_weights *w, const ls_model *m, ls_error *err) {
    w->view = ls_model_weights(m);
    w->clean = w->view;
    w->overlay = ls_overlay_new(&w->clean);
    return w->overlay ? 0 : ls_fail(err, "out of memory");
}

int cli_weights_apply(cli_weights *w, const ls_model *m, const char *specs, const cli_lesion_opts *o, ls_error *err) {
    char *copy = strdup(specs), *save = NULL;
    if (!copy) return ls_fail(err, "out of memory");
    int rc = 0;
    for (char *s = strtok_r(copy, "; \t", &save); s && rc == 0; s = strtok_r(NULL, "; \t", &save)) {
        ls_lesion l;
        rc = ls_lesion_parse(&l, ls_model_config(m), s, o->mode, o->match, o->with_bias, o->seed, o->rng, err);
        if (rc == 0) rc = ls_overlay_apply(w->overlay, &l, err);
    }
    free(copy);
    w->view = ls_overlay_view(w->overlay);
    return rc;
}

void cli_weights_reset(cli_weights *w, const ls_model *m) {
    (void)m;
    ls_overlay_reset(w->overlay);
    w->view = ls_overlay_view(w->overlay);
}

int cli_weights_build(const cli_args *a, const ls_model *m, cli_weights *out) {
    memset(out, 0, sizeof *out);
    out->view = out->clean = ls_model_weights(m);
    const char *specs[CLI_MAX_VALUES];
    int n = cli_all(a, "lesion", specs, CLI_MAX_VALUES);
    if (n == 0) {
        static const char *const only_with_lesion[] = {"mode", "match", "with-bias", "lesion-seed", "rng"};
        for (size_t i = 0; i < sizeof only_with_lesion / sizeof only_with_lesion[0]; i++)
            if (cli_has(a, only_with_lesion[i]))
                return cli_error(a->cmd, 2, "--%s has no effect without --lesion SPEC", only_with_lesion[i]);
        return 0;
    }
    cli_lesion_opts o;
    ls_error err;
    if (cli_lesion_opts_parse(a, &o)) return 2;
    if (cli_weights_init(out, m, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
    for (int i = 0; i < n; i++)
        if (cli_weights_apply(out, m, specs[i], &o, &err) != 0) {
            cli_weights_free(out);
            return cli_error(a->cmd, 2, "--lesion %s: %s", specs[i], err.msg);
        }
    out->opts = o;
    out->n_specs = n;
    for (int i = 0; i < n && i < CLI_MAX_VALUES; i++) out->specs[i] = specs[i];
    return 0;
}

void cli_weights_free(cli_weights *w) {
    if (w->overlay) ls_overlay_free(w->overlay);
    w->overlay = NULL;
}

void cli_weights_report(const cli_weights *w, const ls_model *m, void *json) {
    if (!w->overlay) return;
    if (json) {
        cJSON *l = cJSON_AddObjectToObject(json, "lesion");
        cJSON *specs = cJSON_AddArrayToObject(l, "specs");
        for (int i = 0; i < w->n_specs; i++) cJSON_AddItemToArray(specs, cJSON_CreateString(w->specs[i]));
        cJSON_AddStringToObject(l, "mode", w->opts.mode);
        cJSON_AddStringToObject(l, "match", w->opts.match);
        cJSON_AddStringToObject(l, "rng", w->opts.rng);
        cJSON_AddBoolToObject(l, "with_bias", w->opts.with_bias);
        cJSON_AddNumberToObject(l, "seed", (double)w->opts.seed);
        cJSON_AddNumberToObject(l, "overlay_bytes", (double)ls_overlay_bytes(w->overlay));
        /* The library's serialisation of the slices, the one the Python binding returns too. */
        char *slices = ls_overlay_stats_json(w->overlay, m);
        cJSON *parsed = slices ? cJSON_Parse(slices) : NULL;
        free(slices);
        cJSON_AddItemToObject(l, "slices", parsed ? parsed : cJSON_CreateArray());
        return;
    }
    int n;
    const ls_slice_stats *st = ls_overlay_stats(w->overlay, &n);
    printf("\nlesioned slices (%zu bytes of private copies):\n%-28s %5s %10s %12s %12s %12s %12s\n",
           ls_overlay_bytes(w->overlay), "tensor", "head", "elements", "mean before", "std before", "mean after",
           "std after");
    for (int i = 0; i < n; i++) {
        char head[16] = "-";
        if (st[i].head >= 0) snprintf(head, sizeof head, "%d", st[i].head);
        printf("%-28s %5s %10lld %12.6f %12.6f %12.6f %12.6f\n", ls_model_tensor_info(m, st[i].id)->name, head,
               (long long)st[i].n, st[i].mean_before, st[i].std_before, st[i].mean_after, st[i].std_after);
    }
}
