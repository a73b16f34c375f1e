/* cmd_inspect.c: `lesion inspect`: what a checkpoint holds, and what lesions change. */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    {"json", NULL, "print one JSON object"},
    CLI_LESION_OPTS,
    {0},
};

static void tensor_stats(const float *x, int64_t n, double *mean, double *std) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

int cmd_inspect(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "inspect", "Prints the config, parameter count and per-tensor shape, dtype, mean and std; "
                                      "with --lesion, the lesioned slices' statistics before and after.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    ls_model *model;
    if ((rc = cli_open_model(&a, &model, NULL))) return rc;
    cli_weights w = {0};
    if ((rc = cli_weights_build(&a, model, &w))) {
        ls_model_close(model);
        return rc;
    }
    const ls_config *c = ls_model_config(model);
    int json = cli_has(&a, "json");
    cJSON *o = cJSON_CreateObject(), *tensors = NULL;
    int name_width = 28;
    if (json) {
        char *cfg_text = ls_model_config_json(model); /* the same keys as the Python API's Model.config */
        cJSON_AddItemToObject(o, "config", cfg_text ? cJSON_Parse(cfg_text) : cJSON_CreateNull());
        ls_free(cfg_text);
        cJSON_AddStringToObject(o, "model", ls_model_dir(model));
        cJSON_AddNumberToObject(o, "parameters", (double)ls_model_param_count(model));
        tensors = cJSON_AddArrayToObject(o, "tensors");
    } else {
        printf("model       %s (%s)\nlayers %d, heads %d (key/value heads %d, size %d), width %d, MLP width %d, "
               "context %d, vocabulary %d, eps %g%s\nparameters  %lld\n\n",
               ls_model_dir(model), ls_arch_name(c->arch), c->n_layer, c->n_head, c->n_kv_head, c->d_head, c->n_embd,
               c->n_ff, c->n_ctx, c->vocab_size, (double)c->ln_eps, c->tied_head ? ", tied output" : "",
               (long long)ls_model_param_count(model));
        for (ls_tensor_id id = 0; id < ls_tensor_count(c); id++) {
            int len = (int)strlen(ls_model_tensor_info(model, id)->name);
            if (len > name_width) name_width = len;
        }
        printf("%-*s %-14s %-5s %12s %12s\n", name_width, "tensor", "shape", "dtype", "mean", "std");
    }
    for (ls_tensor_id id = 0; id < ls_tensor_count(c); id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(model, id);
        if (!ti->n_elems) continue; /* the family has no such tensor */
        /* A tied output is the embedding: shown only once a lesion separates them. */
        if (ti->alias_of >= 0 && w.view.t[id] == w.view.t[ti->alias_of]) continue;
        double mean, std;
        tensor_stats(w.view.t[id], ti->n_elems, &mean, &std);
        char shape[48];
        if (ti->ndim == 2) snprintf(shape, sizeof shape, "%lldx%lld", (long long)ti->shape[0], (long long)ti->shape[1]);
        else snprintf(shape, sizeof shape, "%lld", (long long)ti->shape[0]);
        int lesioned = w.view.t[id] != ls_model_weights(model).t[id];
        if (json) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", ti->name);
            cJSON *sh = cJSON_AddArrayToObject(t, "shape");
            for (int d = 0; d < ti->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ti->shape[d]));
            cJSON_AddStringToObject(t, "dtype", ls_dtype_name(ti->dtype));
            cJSON_AddNumberToObject(t, "mean", mean);
            cJSON_AddNumberToObject(t, "std", std);
            cJSON_AddBoolToObject(t, "lesioned", lesioned);
            cJSON_AddItemToArray(tensors, t);
        } else {
            printf("%-*s %-14s %-5s %12.6f %12.6f%s\n", name_width, ti->name, shape, ls_dtype_name(ti->dtype), mean, std,
                   lesioned ? "  (lesioned)" : "");
        }
    }
    cli_weights_report(&w, model, json ? o : NULL);
    if (json) cli_print_json(o);
    else cJSON_Delete(o);
    cli_weights_free(&w);
    ls_model_close(model);
    return 0;
}
