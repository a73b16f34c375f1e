/* cmd_export.c: `lesion export`: a lesioned model as a new Hugging Face model directory.
 *
 * Weights are written as F32 whatever the input dtype, so the exported model
 * reproduces the in-memory lesioned logits exactly; key names are those of
 * the input file (with or without the "transformer." prefix). The lesion
 * (specs, mode, seed, statistics before and after) is recorded in the
 * safetensors __metadata__ and in lesion.json. The directory is assembled
 * under a temporary name and renamed into place, so a failed export leaves
 * nothing behind, and an existing directory is never overwritten. */
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
    CLI_LESION_OPTS,
    {0},
};

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static int copy_file(const char *from_dir, const char *to_dir, const char *name, ls_error *err) {
    char src[4400], dst[4400], *data;
    size_t len;
    if ((size_t)snprintf(src, sizeof src, "%s/%s", from_dir, name) >= sizeof src ||
        (size_t)snprintf(dst, sizeof dst, "%s/%s", to_dir, name) >= sizeof dst)
        return ls_fail(err, "%s: path too long", from_dir);
    if (access(src, F_OK) != 0) return 0; /* optional file */
    if (ls_read_file(src, &data, &len, err) != 0) return -1;
    int rc = ls_write_file_atomic(dst, data, len, err);
    free(data);
    return rc;
}

int cmd_export(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "export", "Writes the model with --lesion applied as a new Hugging Face model directory "
                                     "that transformers and PyTorch load directly.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    const char *out = cli_str(&a, "out", NULL);
    if (!out) return cli_error(a.cmd, 2, "needs --out DIR");
    if (!cli_has(&a, "lesion")) return cli_error(a.cmd, 2, "needs at least one --lesion SPEC (nothing to export)");
    struct stat st;
    if (stat(out, &st) == 0) return cli_error(a.cmd, 1, "%s already exists (export never overwrites)", out);
    ls_model *model;
    if ((rc = cli_open_model(&a, &model, NULL))) return rc;
    cli_weights w = {0};
    char tmp[4200], path[4400];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", out, (long)getpid());
    ls_st_entry *e = NULL;
    char *lesion_json = NULL;
    ls_error err;
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    if (mkdir(tmp, 0755) != 0) {
        rc = cli_error(a.cmd, 1, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    const ls_config *cfg = ls_model_config(model);
    int n = ls_tensor_count(cfg);
    e = calloc((size_t)n, sizeof *e);
    for (ls_tensor_id id = 0; e && id < n; id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(model, id);
        e[id] = (ls_st_entry){.name = ti->file_key, .dtype = LS_DTYPE_F32, .ndim = ti->ndim, .data = w.view.t[id]};
        e[id].shape[0] = ti->shape[0];
        e[id].shape[1] = ti->shape[1];
    }
    cJSON *desc = cJSON_CreateObject();
    cJSON_AddStringToObject(desc, "source_model", ls_model_dir(model));
    cli_weights_report(&w, model, desc);
    lesion_json = cJSON_Print(desc);
    char *compact = cJSON_PrintUnformatted(desc);
    cJSON_Delete(desc);
    const char *meta[] = {"format", "pt", "lesion", compact ? compact : "", NULL};
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    int wrc = e && lesion_json ? ls_safetensors_write(path, e, n, meta, &err) : ls_fail(&err, "out of memory");
    free(compact);
    if (wrc == 0) {
        snprintf(path, sizeof path, "%s/lesion.json", tmp);
        wrc = ls_write_file_atomic(path, lesion_json, strlen(lesion_json), &err);
    }
    const char *copies[] = {"config.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "heldout.txt",
                            "generation_config.json", "tokenizer.json", "tokenizer_config.json"};
    for (size_t i = 0; wrc == 0 && i < sizeof copies / sizeof copies[0]; i++)
        wrc = copy_file(ls_model_dir(model), tmp, copies[i], &err);
    if (wrc == 0 && rename(tmp, out) != 0) wrc = ls_fail(&err, "%s: cannot rename into place: %s", out, strerror(errno));
    if (wrc != 0) {
        remove_tree(tmp);
        rc = cli_error(a.cmd, 1, "%s", err.msg);
    }
done:
    free(e);
    free(lesion_json);
    cli_weights_free(&w);
    ls_model_close(model);
    return rc;
}
