/* cmd_export.c: `lesion export`: a lesioned model as a new Hugging Face model
 * directory (the writing is the library's ls_model_export, src/model/export.c).
 * The lesion (specs, mode, seed, statistics before and after) is recorded in
 * the safetensors __metadata__ and in lesion.json. */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    {"out", "DIR", "new model directory (must not exist)"},
    {"keep-shards", NULL, "write a sharded checkpoint back as shards of the same names (default: one model.safetensors)"},
    CLI_LESION_OPTS,
    {0},
};

int cmd_export(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "export", "Writes the model with --lesion applied as a new Hugging Face model directory "
                                     "that transformers and PyTorch load directly.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    const char *out = cli_str(&a, "out", NULL);
    if (!out) return cli_error(a.cmd, 2, "needs --out DIR");
    if (!cli_has(&a, "lesion")) return cli_error(a.cmd, 2, "needs at least one --lesion SPEC (nothing to export)");
    ls_model *model;
    if ((rc = cli_open_model(&a, &model, NULL))) return rc;
    cli_weights w = {0};
    char *lesion_json = NULL;
    ls_error err;
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    cJSON *desc = cJSON_CreateObject();
    cJSON_AddStringToObject(desc, "source_model", ls_model_dir(model));
    cli_weights_report(&w, model, desc);
    lesion_json = cJSON_Print(desc);
    cJSON_Delete(desc);
    if (!lesion_json) rc = cli_error(a.cmd, 1, "out of memory");
    else if (ls_model_export(model, &w.view, out, cli_has(&a, "keep-shards"), lesion_json, &err) != 0)
        rc = cli_error(a.cmd, 1, "%s", err.msg);
done:
    free(lesion_json);
    cli_weights_free(&w);
    ls_model_close(model);
    return rc;
}
