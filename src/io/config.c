/* config.c: GPT-2's config.json, read and written.
 *
 * Only the fields that determine tensor shapes and numerics are read:
 * n_layer, n_head, n_embd, n_positions (older files: n_ctx), vocab_size and
 * layer_norm_epsilon (default 1e-5). Everything else (dropout, task heads,
 * activation name) is ignored: lesion always computes GPT-2's gelu_new. */
#include "lesion.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ls_config_validate(const ls_config *c, ls_error *err) {
    struct { const char *name; int v, max; } f[] = {
        {"n_layer", c->n_layer, LS_MAX_LAYERS}, {"n_head", c->n_head, LS_MAX_HEADS},
        {"n_embd", c->n_embd, LS_MAX_EMBD},     {"n_positions", c->n_ctx, LS_MAX_CTX},
        {"vocab_size", c->vocab_size, LS_MAX_VOCAB},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return ls_fail(err, "%s = %d is out of range (expected 1..%d)", f[i].name, f[i].v, f[i].max);
    if (c->n_embd % c->n_head != 0)
        return ls_fail(err, "n_embd = %d is not divisible by n_head = %d", c->n_embd, c->n_head);
    if (!(c->ln_eps > 0.0f && c->ln_eps < 1.0f))
        return ls_fail(err, "layer_norm_epsilon = %g is out of range (expected 0 < eps < 1)", (double)c->ln_eps);
    return 0;
}

/* Reads an integer field; returns 1 if found, 0 if absent, -1 if malformed. */
static int read_int(const cJSON *root, const char *key, int *out, ls_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0)
        return ls_fail(err, "field \"%s\" must be an integer", key);
    *out = (int)d;
    return 1;
}

int ls_config_load(ls_config *cfg, const char *path, ls_error *err) {
    char *text;
    size_t len;
    if (ls_read_file(path, &text, &len, err) != 0) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ls_fail(err, "%s: not a JSON object", path);
    }
    ls_config c = {.ln_eps = 1e-5f};
    struct { const char *key; int *dst; } req[] = {
        {"n_layer", &c.n_layer}, {"n_head", &c.n_head}, {"n_embd", &c.n_embd}, {"vocab_size", &c.vocab_size},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof req / sizeof req[0] && rc == 0; i++) {
        int r = read_int(root, req[i].key, req[i].dst, err);
        if (r == 0) rc = ls_fail(err, "missing field \"%s\"", req[i].key);
        if (r < 0) rc = -1;
    }
    if (rc == 0) {
        int r = read_int(root, "n_positions", &c.n_ctx, err);
        if (r == 0) r = read_int(root, "n_ctx", &c.n_ctx, err);
        if (r == 0) rc = ls_fail(err, "missing field \"n_positions\" (or \"n_ctx\")");
        if (r < 0) rc = -1;
    }
    if (rc == 0) {
        const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
        if (eps && !cJSON_IsNull(eps)) {
            if (!cJSON_IsNumber(eps)) rc = ls_fail(err, "field \"layer_norm_epsilon\" must be a number");
            else c.ln_eps = (float)eps->valuedouble;
        }
    }
    cJSON_Delete(root);
    if (rc == 0) rc = ls_config_validate(&c, err);
    if (rc != 0) return ls_fail_context(err, "%s", path);
    *cfg = c;
    return 0;
}

int ls_config_write(const ls_config *cfg, const char *path, ls_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
    cJSON_AddStringToObject(o, "model_type", "gpt2");
    cJSON_AddStringToObject(o, "activation_function", "gelu_new");
    cJSON_AddNumberToObject(o, "n_layer", cfg->n_layer);
    cJSON_AddNumberToObject(o, "n_head", cfg->n_head);
    cJSON_AddNumberToObject(o, "n_embd", cfg->n_embd);
    cJSON_AddNumberToObject(o, "n_positions", cfg->n_ctx);
    cJSON_AddNumberToObject(o, "n_ctx", cfg->n_ctx);
    cJSON_AddNumberToObject(o, "vocab_size", cfg->vocab_size);
    cJSON_AddNumberToObject(o, "layer_norm_epsilon", (double)cfg->ln_eps);
    cJSON_AddNumberToObject(o, "bos_token_id", cfg->vocab_size - 1);
    cJSON_AddNumberToObject(o, "eos_token_id", cfg->vocab_size - 1);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return ls_fail(err, "%s: out of memory", path);
    size_t n = strlen(text);
    int rc = ls_write_file_atomic(path, text, n, err);
    free(text);
    return rc;
}
