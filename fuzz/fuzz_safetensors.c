/* fuzz_safetensors.c: model.safetensors from the internet, untrusted.
 *
 * The input is written as model.safetensors next to a fixed, valid
 * config.json (1 layer, 2 heads, n_embd 4, context 4, vocab 8), then
 *   1. ls_st_open must accept it or fail with a message; when it accepts,
 *      every tensor's byte range lies inside the data section and its shape
 *      times its dtype size equals that range (every byte is read, so ASan
 *      sees any pointer past the mapping);
 *   2. ls_model_open must accept it or fail with a message; when it
 *      accepts, every fp32 view is read in full and the parameter count is
 *      the config's. */
#include "fuzz_util.h"
#include "io/safetensors.h"

static const char config_json[] =
    "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 4, \"vocab_size\": 8,"
    " \"layer_norm_epsilon\": 1e-5}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char path[512];
    fuzz_write("config.json", config_json, sizeof config_json - 1, path, sizeof path);
    return 0;
}

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    ls_error err = {{0}};
    fuzz_write("model.safetensors", data, size, path, sizeof path);

    ls_st_file f;
    if (ls_st_open(&f, path, &err) == 0) {
        FUZZ_CHECK(f.size == size, "mapped %zu bytes of %zu", f.size, size);
        FUZZ_CHECK(f.data >= (const uint8_t *)f.map + 8 && f.data + f.data_size == (const uint8_t *)f.map + f.size,
                   "data section outside the file");
        uint64_t covered = 0, x = 0;
        for (int i = 0; i < f.n_tensors; i++) {
            const ls_st_tensor *t = &f.tensors[i];
            FUZZ_CHECK(t->begin <= t->end && t->end <= f.data_size, "tensor %s: [%llu, %llu) outside %llu", t->name,
                       (unsigned long long)t->begin, (unsigned long long)t->end, (unsigned long long)f.data_size);
            uint64_t n = t->elem_bytes;
            for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
            FUZZ_CHECK(n == t->end - t->begin, "tensor %s: shape bytes %llu != range %llu", t->name,
                       (unsigned long long)n, (unsigned long long)(t->end - t->begin));
            FUZZ_CHECK(ls_st_find(&f, t->name) != NULL, "tensor %s not found by name", t->name);
            for (uint64_t b = t->begin; b < t->end; b++) x += f.data[b];
            covered += t->end - t->begin;
        }
        FUZZ_CHECK(covered == f.data_size, "tensors cover %llu of %llu data bytes", (unsigned long long)covered,
                   (unsigned long long)f.data_size);
        sink = x;
        ls_st_close(&f);
    } else {
        FUZZ_CHECK(err.msg[0] && strchr(err.msg, '\n') == NULL, "error message empty or not one line: %s", err.msg);
    }

    ls_model *m = NULL;
    if (ls_model_open(&m, fuzz_scratch(), &err) == 0) {
        const ls_config *cfg = ls_model_config(m);
        ls_weights w = ls_model_weights(m);
        int64_t total = 0;
        float acc = 0;
        for (ls_tensor_id id = 0; id < ls_tensor_count(cfg); id++) {
            const ls_tensor_info *ti = ls_model_tensor_info(m, id);
            ls_tensor_info want;
            ls_tensor_expected(cfg, id, &want);
            FUZZ_CHECK(ti->n_elems == want.n_elems && ti->ndim == want.ndim, "tensor %s: shape differs from the config",
                       want.name);
            for (int64_t i = 0; i < ti->n_elems; i++) acc += w.t[id][i];
            if (ti->alias_of < 0) total += ti->n_elems; /* a tied output is the embedding: counted once */
        }
        FUZZ_CHECK(total == ls_model_param_count(m), "parameter count %lld != %lld", (long long)total,
                   (long long)ls_model_param_count(m));
        sink += (uint64_t)(acc != acc);
        ls_model_close(m);
    } else {
        FUZZ_CHECK(m == NULL, "failed open left a model");
        FUZZ_CHECK(err.msg[0] && strchr(err.msg, '\n') == NULL, "error message empty or not one line: %s", err.msg);
    }
    return 0;
}
