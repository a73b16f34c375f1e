/* init.c: random-weight GPT-2 checkpoints for tests and benchmarks.
 *
 * GPT-2's initialisation: every weight matrix and embedding N(0, 0.02),
 * biases 0, LayerNorm weight 1 and bias 0. The model is written in
 * Hugging Face layout (config.json + model.safetensors), so lesion, PyTorch
 * and transformers all load it. */
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

int ls_model_init_random(const ls_config *cfg, uint64_t seed, ls_dtype dtype, const char *dir, ls_error *err) {
    if (ls_config_validate(cfg, err) != 0) return -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ls_fail(err, "%s: cannot create directory: %s", dir, strerror(errno));
    int n = ls_tensor_count(cfg);
    ls_st_entry *e = calloc((size_t)n, sizeof *e);
    ls_tensor_info *info = calloc((size_t)n, sizeof *info);
    float **data = calloc((size_t)n, sizeof *data);
    int rc = (e && info && data) ? 0 : ls_fail(err, "out of memory");
    for (ls_tensor_id id = 0; id < n && rc == 0; id++) {
        ls_tensor_expected(cfg, id, &info[id]);
        float *d = malloc((size_t)info[id].n_elems * sizeof *d);
        if (!d) {
            rc = ls_fail(err, "out of memory for %s", info[id].name);
            break;
        }
        data[id] = d;
        const char *nm = info[id].name;
        int is_ln = strstr(nm, "ln_") != NULL, is_weight = strstr(nm, ".weight") != NULL;
        uint64_t tseed = ls_mix64(seed, (uint64_t)id);
        for (int64_t i = 0; i < info[id].n_elems; i++)
            d[i] = is_ln ? (is_weight ? 1.0f : 0.0f) : is_weight ? 0.02f * gauss_at(tseed, (uint64_t)i) : 0.0f;
        e[id] = (ls_st_entry){.name = nm, .dtype = dtype, .ndim = info[id].ndim, .data = d};
        e[id].shape[0] = info[id].shape[0];
        e[id].shape[1] = info[id].shape[1];
    }
    char path[4096];
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/config.json", dir);
        rc = ls_config_write(cfg, path, err);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        const char *meta[] = {"format", "pt", NULL};
        rc = ls_safetensors_write(path, e, n, meta, err);
    }
    for (int i = 0; data && i < n; i++) free(data[i]);
    free(data);
    free(info);
    free(e);
    return rc;
}
