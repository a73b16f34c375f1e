/* init.c: random-weight checkpoints of any family, for tests and benchmarks.
 *
 * GPT-2's initialisation for every family: every weight matrix and
 * embedding N(0, 0.02), biases 0, norm weights 1 (and LayerNorm biases 0).
 * The model is written in the family's Hugging Face layout (config.json +
 * model.safetensors, tensor names and layouts from the architecture table),
 * so lesion, PyTorch and transformers all load it. Each tensor's values are
 * a pure function of (seed, the tensor's ordinal in the file), so a GPT-2
 * made today is bitwise the one made before other families existed. */
#include <lesion.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Standard normal from two hashed uniforms (Box-Muller), a pure function of (seed, i). */
static float gauss_at(uint64_t seed, uint64_t i) {
    double u1 = ((double)(ls_mix64(seed, 2 * i) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (double)(ls_mix64(seed, 2 * i + 1) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Norm weights start at 1. */
static int is_norm_weight(ls_tensor_id id) {
    if (id == LS_OUT_NORM_W) return 1;
    if (id < LS_GLOBAL_ROLES) return 0;
    int r = (id - LS_GLOBAL_ROLES) % LS_LAYER_ROLES;
    return r == LS_ATTN_NORM_W || r == LS_FFN_NORM_W;
}

int ls_model_init_random(const ls_config *cfg, uint64_t seed, ls_dtype dtype, const char *dir, ls_error *err) {
    if (ls_config_validate(cfg, err) != 0) return -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ls_fail(err, "%s: cannot create directory: %s", dir, strerror(errno));
    int n = ls_tensor_count(cfg), k = 0;
    ls_st_entry *e = calloc((size_t)n, sizeof *e);
    ls_tensor_info *info = calloc((size_t)n, sizeof *info);
    float **data = calloc((size_t)n, sizeof *data);
    int rc = (e && info && data) ? 0 : ls_fail(err, "out of memory");
    for (ls_tensor_id id = 0; id < n && rc == 0; id++) {
        ls_tensor_info *ti = &info[k];
        ls_tensor_expected(cfg, id, ti);
        if (!ti->n_elems || ti->alias_of >= 0) continue; /* absent, or the tied output (it is the embedding) */
        float *d = malloc((size_t)ti->n_elems * sizeof *d);
        if (!d) {
            rc = ls_fail(err, "out of memory for %s", ti->name);
            break;
        }
        data[k] = d;
        uint64_t tseed = ls_mix64(seed, (uint64_t)ti->ordinal);
        if (is_norm_weight(id))
            for (int64_t i = 0; i < ti->n_elems; i++) d[i] = 1.0f;
        else if (ti->ndim == 2)
            for (int64_t i = 0; i < ti->n_elems; i++) d[i] = 0.02f * gauss_at(tseed, (uint64_t)i);
        else
            for (int64_t i = 0; i < ti->n_elems; i++) d[i] = 0.0f;
        e[k] = (ls_st_entry){.name = ti->name, .dtype = dtype, .ndim = ti->ndim, .data = d};
        e[k].shape[0] = ti->shape[0];
        e[k].shape[1] = ti->shape[1];
        k++;
    }
    char path[4096];
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/config.json", dir);
        rc = ls_config_write(cfg, path, err);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        const char *meta[] = {"format", "pt", NULL};
        rc = ls_safetensors_write(path, e, k, meta, err);
    }
    for (int i = 0; data && i < n; i++) free(data[i]);
    free(data);
    free(info);
    free(e);
    return rc;
}
