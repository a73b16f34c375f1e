/* export.c: a weights view (clean or lesioned) written as a new Hugging Face
 * model directory that transformers, PyTorch and lesion load directly.
 *
 * Tensor names are the input file's own (GPT-2's with or without
 * "transformer.", each family's names from the architecture table). Values
 * are written as F32 whatever the input dtype, so the exported model
 * reproduces the in-memory logits exactly. A sharded checkpoint is merged
 * into one model.safetensors, or, with keep_shards, written back as shards
 * of the same names with a new model.safetensors.index.json.
 *
 * A tied output matrix that a lesion separated from the embedding (wte.in
 * or wte.out) is written as the family's untied output tensor, and
 * config.json says tie_word_embeddings: false, so the exported model
 * computes what the lesioned one did.
 *
 * The tokenizer and other small files are copied. The directory is
 * assembled under DIR.partial-PID and renamed into place, so a failed export
 * leaves nothing behind, and an existing directory is never overwritten. */
#include <lesion.h>

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The untied name of the output matrix in this family's files. */
static const char *untied_output_name(const ls_config *cfg) {
    return cfg->arch == LS_ARCH_GPT_NEOX ? "embed_out.weight" : "lm_head.weight";
}

/* config.json, with tie_word_embeddings false when untie is set. */
static int write_config(const ls_model *m, const char *dir, int untie, ls_error *err) {
    if (!untie) return copy_file(ls_model_dir(m), dir, "config.json", err);
    char src[4400], dst[4400], *text;
    size_t len;
    snprintf(src, sizeof src, "%s/config.json", ls_model_dir(m));
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    if (ls_read_file(src, &text, &len, err) != 0) return -1;
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    if (!o) return ls_fail(err, "%s: not JSON", src);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "tie_word_embeddings");
    cJSON_AddFalseToObject(o, "tie_word_embeddings");
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    if (!out) return ls_fail(err, "out of memory");
    int rc = ls_write_file_atomic(dst, out, strlen(out), err);
    free(out);
    return rc;
}

int ls_model_export(const ls_model *m, const ls_weights *view, const char *dir, int keep_shards,
                    const char *lesion_json, ls_error *err) {
    struct stat st;
    if (stat(dir, &st) == 0) return ls_fail(err, "%s already exists (export never overwrites)", dir);
    char tmp[4200], path[4400];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", dir, (long)getpid());
    if (mkdir(tmp, 0755) != 0) return ls_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    const ls_config *cfg = ls_model_config(m);
    const int n = ls_tensor_count(cfg), n_files = keep_shards ? ls_model_file_count(m) : 1;
    /* A tied output that no longer shows the embedding's values goes out as its own tensor. */
    const int untie = cfg->tied_head && view->t[LS_OUTPUT] != view->t[LS_EMBED];
    ls_st_entry *e = calloc((size_t)n, sizeof *e);
    int rc = e ? 0 : ls_fail(err, "out of memory");
    cJSON *index = NULL, *map = NULL;
    if (rc == 0 && n_files > 1) {
        index = cJSON_CreateObject();
        cJSON_AddObjectToObject(index, "metadata");
        map = cJSON_AddObjectToObject(index, "weight_map");
    }
    /* The lesion description goes into every file's metadata, on one line. */
    cJSON *desc = lesion_json ? cJSON_Parse(lesion_json) : NULL;
    char *compact = desc ? cJSON_PrintUnformatted(desc) : NULL;
    cJSON_Delete(desc);
    const char *meta[] = {"format", "pt", compact ? "lesion" : NULL, compact, NULL};
    for (int f = 0; rc == 0 && f < n_files; f++) {
        int k = 0;
        for (ls_tensor_id id = 0; id < n; id++) {
            const ls_tensor_info *ti = ls_model_tensor_info(m, id);
            int file = ls_model_tensor_file(m, id);
            const char *name = ti->file_key;
            if (!ti->n_elems) continue;
            if (ti->alias_of >= 0) {
                if (!untie) continue;
                name = untied_output_name(cfg);
                file = ls_model_tensor_file(m, ti->alias_of);
            }
            if (keep_shards && file != f) continue;
            e[k] = (ls_st_entry){.name = name, .dtype = LS_DTYPE_F32, .ndim = ti->ndim, .data = view->t[id]};
            e[k].shape[0] = ti->shape[0];
            e[k].shape[1] = ti->shape[1];
            k++;
        }
        const char *fname = n_files > 1 ? ls_model_file_name(m, f) : "model.safetensors";
        snprintf(path, sizeof path, "%s/%s", tmp, fname);
        for (int i = 0; map && i < k; i++) cJSON_AddStringToObject(map, e[i].name, fname);
        rc = ls_safetensors_write(path, e, k, meta, err);
    }
    if (rc == 0 && index) {
        char *text = cJSON_Print(index);
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", tmp);
        rc = text ? ls_write_file_atomic(path, text, strlen(text), err) : ls_fail(err, "out of memory");
        free(text);
    }
    if (rc == 0 && lesion_json) {
        snprintf(path, sizeof path, "%s/lesion.json", tmp);
        rc = ls_write_file_atomic(path, lesion_json, strlen(lesion_json), err);
    }
    if (rc == 0) rc = write_config(m, tmp, untie, err);
    const char *copies[] = {"vocab.json",           "merges.txt",           "encoder.json",        "vocab.bpe",
                            "heldout.txt",          "generation_config.json", "tokenizer.json",    "tokenizer_config.json",
                            "special_tokens_map.json", "tokenizer.model"};
    for (size_t i = 0; rc == 0 && i < sizeof copies / sizeof copies[0]; i++)
        rc = copy_file(ls_model_dir(m), tmp, copies[i], err);
    if (rc == 0 && rename(tmp, dir) != 0) rc = ls_fail(err, "%s: cannot rename into place: %s", dir, strerror(errno));
    if (rc != 0) ls_remove_dir(tmp);
    cJSON_Delete(index);
    free(compact);
    free(e);
    return rc;
}
