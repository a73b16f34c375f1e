/* config.c: config.json of each family, read and written.
 *
 * model_type picks the family (absent: gpt2, as in GPT-2's first
 * releases); each family then has its own key names for the same sizes
 * (n_embd / hidden_size, n_layer / num_hidden_layers, ...), read from one
 * table per family. Keys that only matter for training (dropout, use_cache,
 * initializer_range) are ignored. Keys whose value would change the forward
 * pass in a way lesion does not compute (a rope_scaling type, attention or
 * MLP biases on Llama, GPT-2's unscaled attention, a Qwen2 sliding window,
 * an activation other than the family's) are refused with the key and the
 * value in the message: a model is computed exactly or not at all. */
#include "lesion.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- derive and validate ------------------------------------------------------ */

void ls_config_derive(ls_config *c) {
    const int gpt2 = c->arch == LS_ARCH_GPT2, neox = c->arch == LS_ARCH_GPT_NEOX;
    if (!c->n_kv_head) c->n_kv_head = c->n_head;
    if (!c->d_head && c->n_head > 0) c->d_head = c->n_embd / c->n_head;
    /* 4 x n_embd in int would overflow for an absurd n_embd; validate refuses n_embd first. */
    if (!c->n_ff && c->n_embd > 0) c->n_ff = c->n_embd <= INT_MAX / 4 ? 4 * c->n_embd : INT_MAX;
    if (!(c->rope_theta > 0)) c->rope_theta = 10000.0;
    c->norm = gpt2 || neox ? LS_NORM_LAYER : LS_NORM_RMS;
    if (!gpt2 && !neox) c->act = LS_ACT_SILU;
    c->learned_pos = gpt2;
    c->fused_qkv = gpt2 || neox;
    c->qkv_bias = gpt2 || neox || c->arch == LS_ARCH_QWEN2;
    c->out_bias = gpt2 || neox;
    if (gpt2) c->rope_dims = 0;
    else if (!neox && !c->rope_dims) c->rope_dims = c->d_head;
}

ls_config ls_config_gpt2(int n_layer, int n_head, int n_embd, int n_ctx, int vocab_size) {
    ls_config c = {.arch = LS_ARCH_GPT2, .n_layer = n_layer, .n_head = n_head, .n_embd = n_embd, .n_ctx = n_ctx,
                   .vocab_size = vocab_size, .ln_eps = 1e-5f, .tied_head = 1, .act = LS_ACT_GELU_TANH,
                   .bos_id = -1, .eos_id = -1};
    ls_config_derive(&c);
    return c;
}

int ls_config_validate(const ls_config *c, ls_error *err) {
    if ((unsigned)c->arch >= LS_ARCH_COUNT) return ls_fail(err, "unknown architecture %d", (int)c->arch);
    const int gpt2 = c->arch == LS_ARCH_GPT2;
    struct { const char *name; int v, max; } f[] = {
        {gpt2 ? "n_layer" : "num_hidden_layers", c->n_layer, LS_MAX_LAYERS},
        {gpt2 ? "n_head" : "num_attention_heads", c->n_head, LS_MAX_HEADS},
        {gpt2 ? "n_embd" : "hidden_size", c->n_embd, LS_MAX_EMBD}, /* before the sizes derived from it */
        {"num_key_value_heads", c->n_kv_head, LS_MAX_HEADS},
        {"head_dim", c->d_head, LS_MAX_EMBD},
        {gpt2 ? "n_inner" : "intermediate_size", c->n_ff, LS_MAX_FF},
        {gpt2 ? "n_positions" : "max_position_embeddings", c->n_ctx, LS_MAX_CTX},
        {"vocab_size", c->vocab_size, LS_MAX_VOCAB},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return ls_fail(err, "%s = %d is out of range (expected 1..%d)", f[i].name, f[i].v, f[i].max);
    if ((gpt2 || c->arch == LS_ARCH_GPT_NEOX) && c->n_embd % c->n_head != 0)
        return ls_fail(err, "%s = %d is not divisible by %s = %d", gpt2 ? "n_embd" : "hidden_size", c->n_embd,
                       gpt2 ? "n_head" : "num_attention_heads", c->n_head);
    if ((gpt2 || c->arch == LS_ARCH_GPT_NEOX) &&
        (c->n_kv_head != c->n_head || (int64_t)c->d_head * c->n_head != c->n_embd))
        return ls_fail(err, "%s has one fused Q/K/V matrix: num_key_value_heads (%d) must equal the heads (%d) and "
                            "head_dim (%d) must be %d / %d",
                       ls_arch_name(c->arch), c->n_kv_head, c->n_head, c->d_head, c->n_embd, c->n_head);
    if (c->n_head % c->n_kv_head != 0)
        return ls_fail(err, "num_attention_heads = %d is not a multiple of num_key_value_heads = %d", c->n_head,
                       c->n_kv_head);
    if ((int64_t)c->n_head * c->d_head > LS_MAX_EMBD)
        return ls_fail(err, "heads x head_dim = %lld is out of range (expected at most %d)",
                       (long long)c->n_head * c->d_head, LS_MAX_EMBD);
    if (!(c->ln_eps > 0.0f && c->ln_eps < 1.0f))
        return ls_fail(err, "%s = %g is out of range (expected 0 < eps < 1)",
                       gpt2 ? "layer_norm_epsilon" : c->norm == LS_NORM_RMS ? "rms_norm_eps" : "layer_norm_eps",
                       (double)c->ln_eps);
    if (c->rope_dims < 0 || c->rope_dims > c->d_head || c->rope_dims % 2)
        return ls_fail(err, "rotary dimensions = %d: expected an even number in 0..head_dim (%d)", c->rope_dims,
                       c->d_head);
    if (!gpt2 && c->rope_dims == 0)
        return ls_fail(err, "rotary dimensions = 0: %s needs rotary position embeddings", ls_arch_name(c->arch));
    if (!(c->rope_theta > 0 && isfinite(c->rope_theta)))
        return ls_fail(err, "rope_theta = %g: expected a positive number", c->rope_theta);
    if (c->rope_scaling != LS_ROPE_PLAIN && !(c->rope_factor > 0 && isfinite(c->rope_factor)))
        return ls_fail(err, "rope_scaling factor = %g: expected a positive number", c->rope_factor);
    if (c->rope_scaling == LS_ROPE_LLAMA3 &&
        !(c->rope_low_freq_factor > 0 && c->rope_high_freq_factor > c->rope_low_freq_factor &&
          c->rope_original_ctx > 0))
        return ls_fail(err, "rope_scaling llama3: expected 0 < low_freq_factor (%g) < high_freq_factor (%g) and "
                            "original_max_position_embeddings (%d) > 0",
                       c->rope_low_freq_factor, c->rope_high_freq_factor, c->rope_original_ctx);
    if (c->sliding_window < 0) return ls_fail(err, "sliding_window = %d: expected >= 0", c->sliding_window);
    return 0;
}

/* ---- reading -------------------------------------------------------------------- */

typedef struct reader {
    const cJSON *root;
    ls_error *err;
    int rc; /* 0 until the first error */
} reader;

static const cJSON *field(const reader *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* An integer field; returns 1 if read, 0 if absent (then *out keeps its value). */
static int get_int(reader *r, const char *key, int *out) {
    const cJSON *v = field(r, key);
    if (!v || r->rc) return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0) {
        r->rc = ls_fail(r->err, "field \"%s\" must be an integer", key);
        return 0;
    }
    *out = (int)d;
    return 1;
}

static int need_int(reader *r, const char *key, int *out) {
    if (r->rc) return 0;
    if (get_int(r, key, out)) return 1;
    if (!r->rc) r->rc = ls_fail(r->err, "missing field \"%s\"", key);
    return 0;
}

static int get_num(reader *r, const char *key, double *out) {
    const cJSON *v = field(r, key);
    if (!v || r->rc) return 0;
    if (!cJSON_IsNumber(v)) {
        r->rc = ls_fail(r->err, "field \"%s\" must be a number", key);
        return 0;
    }
    *out = v->valuedouble;
    return 1;
}

/* A boolean field: 1/0, or dflt when absent. */
static int get_bool(reader *r, const char *key, int dflt) {
    const cJSON *v = field(r, key);
    if (!v || r->rc) return dflt;
    if (!cJSON_IsBool(v)) {
        r->rc = ls_fail(r->err, "field \"%s\" must be true or false", key);
        return dflt;
    }
    return cJSON_IsTrue(v);
}

static const char *get_str(reader *r, const char *key) {
    const cJSON *v = field(r, key);
    if (!v || r->rc) return NULL;
    if (!cJSON_IsString(v)) {
        r->rc = ls_fail(r->err, "field \"%s\" must be a string", key);
        return NULL;
    }
    return v->valuestring;
}

/* A token id: an integer, or the first of a list (Llama 3 lists several eos ids). */
static int32_t get_token_id(reader *r, const char *key) {
    const cJSON *v = field(r, key);
    if (v && cJSON_IsArray(v)) v = cJSON_GetArrayItem(v, 0);
    if (!v || !cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > LS_MAX_VOCAB)
        return -1;
    return (int32_t)v->valuedouble;
}

static void refuse(reader *r, const char *key, const char *value, const char *why) {
    if (!r->rc) r->rc = ls_fail(r->err, "%s = %s is not supported (%s)", key, value, why);
}

static void read_eps(reader *r, const char *key, double dflt, ls_config *c) {
    double eps = dflt;
    if (get_num(r, key, &eps) && !(eps > 0 && eps < 1)) /* refused here, before a narrowing to float */
        r->rc = ls_fail(r->err, "%s = %g is out of range (expected 0 < eps < 1)", key, eps);
    c->ln_eps = r->rc ? (float)dflt : (float)eps;
}

/* hidden_act / activation_function: the GELU variants and SiLU. */
static void read_act(reader *r, const char *key, const char *dflt, ls_config *c) {
    const char *a = get_str(r, key);
    if (!a) a = dflt;
    const int gated = c->arch != LS_ARCH_GPT2 && c->arch != LS_ARCH_GPT_NEOX; /* the Llama family: SwiGLU */
    if (gated && !strcmp(a, "silu"))
        c->act = LS_ACT_SILU;
    else if (!gated && (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh") || !strcmp(a, "gelu_fast")))
        c->act = LS_ACT_GELU_TANH;
    else if (!gated && !strcmp(a, "gelu"))
        c->act = LS_ACT_GELU_ERF;
    else {
        char v[80];
        snprintf(v, sizeof v, "\"%.60s\"", a);
        refuse(r, key, v, gated ? "this family's MLP is SwiGLU: silu" : "expected gelu, gelu_new, gelu_pytorch_tanh or gelu_fast");
    }
}

static void read_gpt2(reader *r, ls_config *c) {
    need_int(r, "n_layer", &c->n_layer);
    need_int(r, "n_head", &c->n_head);
    need_int(r, "n_embd", &c->n_embd);
    need_int(r, "vocab_size", &c->vocab_size);
    if (!r->rc && !get_int(r, "n_positions", &c->n_ctx) && !get_int(r, "n_ctx", &c->n_ctx) && !r->rc)
        r->rc = ls_fail(r->err, "missing field \"n_positions\" (or \"n_ctx\")");
    get_int(r, "n_inner", &c->n_ff);
    read_eps(r, "layer_norm_epsilon", 1e-5, c);
    read_act(r, "activation_function", "gelu_new", c);
    c->tied_head = get_bool(r, "tie_word_embeddings", 1);
    if (!get_bool(r, "scale_attn_weights", 1)) refuse(r, "scale_attn_weights", "false", "lesion scales by 1/sqrt(D)");
    if (get_bool(r, "scale_attn_by_inverse_layer_idx", 0))
        refuse(r, "scale_attn_by_inverse_layer_idx", "true", "not implemented");
}

/* rope_scaling (or, in newer files, rope_parameters, which also carries rope_theta). */
static void read_rope_scaling(reader *r, ls_config *c) {
    const cJSON *rs = field(r, "rope_scaling");
    const cJSON *params = field(r, "rope_parameters");
    if (params && cJSON_IsObject(params)) {
        reader sub = {params, r->err, 0};
        get_num(&sub, "rope_theta", &c->rope_theta);
        if (sub.rc) r->rc = sub.rc;
        if (!rs) rs = params;
    }
    if (!rs || r->rc) return;
    if (!cJSON_IsObject(rs)) {
        r->rc = ls_fail(r->err, "field \"rope_scaling\" must be an object or null");
        return;
    }
    reader sub = {rs, r->err, 0};
    const char *type = get_str(&sub, "rope_type");
    if (!type) type = get_str(&sub, "type");
    if (!type || !strcmp(type, "default")) return;
    if (!strcmp(type, "linear")) {
        c->rope_scaling = LS_ROPE_LINEAR;
    } else if (!strcmp(type, "llama3")) {
        c->rope_scaling = LS_ROPE_LLAMA3;
        get_num(&sub, "low_freq_factor", &c->rope_low_freq_factor);
        get_num(&sub, "high_freq_factor", &c->rope_high_freq_factor);
        get_int(&sub, "original_max_position_embeddings", &c->rope_original_ctx);
    } else {
        char v[80];
        snprintf(v, sizeof v, "\"%.60s\"", type);
        refuse(r, "rope_scaling type", v, "lesion implements linear and llama3");
        return;
    }
    if (!get_num(&sub, "factor", &c->rope_factor) && !sub.rc)
        sub.rc = ls_fail(r->err, "rope_scaling %s needs a \"factor\"", type);
    if (sub.rc) r->rc = sub.rc;
}

static void read_llama_family(reader *r, ls_config *c) {
    need_int(r, "num_hidden_layers", &c->n_layer);
    need_int(r, "num_attention_heads", &c->n_head);
    need_int(r, "hidden_size", &c->n_embd);
    need_int(r, "intermediate_size", &c->n_ff);
    need_int(r, "vocab_size", &c->vocab_size);
    need_int(r, "max_position_embeddings", &c->n_ctx);
    get_int(r, "num_key_value_heads", &c->n_kv_head);
    get_int(r, "head_dim", &c->d_head);
    read_eps(r, "rms_norm_eps", 1e-6, c);
    get_num(r, "rope_theta", &c->rope_theta);
    read_rope_scaling(r, c);
    c->act = LS_ACT_SILU;
    read_act(r, "hidden_act", "silu", c);
    c->tied_head = get_bool(r, "tie_word_embeddings", 0);
    if (get_bool(r, "attention_bias", 0) && c->arch != LS_ARCH_QWEN2)
        refuse(r, "attention_bias", "true", "Q/K/V/O biases on this family are not implemented");
    if (get_bool(r, "mlp_bias", 0)) refuse(r, "mlp_bias", "true", "MLP biases on this family are not implemented");
    if (c->arch == LS_ARCH_MISTRAL) get_int(r, "sliding_window", &c->sliding_window);
    if (c->arch == LS_ARCH_QWEN2 && get_bool(r, "use_sliding_window", 0))
        refuse(r, "use_sliding_window", "true", "Qwen2's per-layer sliding window is not implemented");
    double partial = 1.0;
    if (get_num(r, "partial_rotary_factor", &partial) && partial != 1.0) {
        char v[32];
        snprintf(v, sizeof v, "%g", partial);
        refuse(r, "partial_rotary_factor", v, "this family rotates whole heads");
    }
    if (get_bool(r, "rope_interleaved", 0)) refuse(r, "rope_interleaved", "true", "lesion rotates halves, as Hugging Face");
    const cJSON *types = field(r, "layer_types"), *t;
    if (types && cJSON_IsArray(types))
        cJSON_ArrayForEach(t, types) if (!cJSON_IsString(t) || strcmp(t->valuestring, "full_attention")) {
            refuse(r, "layer_types", "with sliding layers", "per-layer attention types are not implemented");
            break;
        }
}

static void read_gpt_neox(reader *r, ls_config *c) {
    need_int(r, "num_hidden_layers", &c->n_layer);
    need_int(r, "num_attention_heads", &c->n_head);
    need_int(r, "hidden_size", &c->n_embd);
    need_int(r, "intermediate_size", &c->n_ff);
    need_int(r, "vocab_size", &c->vocab_size);
    need_int(r, "max_position_embeddings", &c->n_ctx);
    read_eps(r, "layer_norm_eps", 1e-5, c);
    double pct = 0.25;
    get_num(r, "rotary_pct", &pct);
    if (!r->rc && !(pct > 0 && pct <= 1)) r->rc = ls_fail(r->err, "rotary_pct = %g: expected 0 < rotary_pct <= 1", pct);
    if (!get_num(r, "rotary_emb_base", &c->rope_theta)) get_num(r, "rope_theta", &c->rope_theta);
    if (field(r, "rope_scaling")) refuse(r, "rope_scaling", "(set)", "GPT-NeoX rope scaling is not implemented");
    c->parallel_residual = get_bool(r, "use_parallel_residual", 1);
    read_act(r, "hidden_act", "gelu", c);
    c->tied_head = get_bool(r, "tie_word_embeddings", 0);
    if (!get_bool(r, "attention_bias", 1)) refuse(r, "attention_bias", "false", "GPT-NeoX without biases");
    if (!r->rc && c->n_head > 0) {
        int d = c->n_embd / c->n_head;
        c->rope_dims = (int)((double)d * pct); /* as Hugging Face: int(head_size * rotary_pct) */
        c->rope_dims -= c->rope_dims % 2;
    }
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
    reader r = {root, err, 0};
    ls_config c = {.arch = LS_ARCH_GPT2};
    const char *type = get_str(&r, "model_type");
    if (type) {
        int found = 0;
        for (int a = 0; a < LS_ARCH_COUNT; a++)
            if (!strcmp(type, ls_arch_name((ls_arch)a))) c.arch = (ls_arch)a, found = 1;
        if (!found)
            r.rc = ls_fail(err, "model_type \"%.60s\" is not supported (supported: gpt2, llama, mistral, qwen2, "
                                "gpt_neox)", type);
    }
    if (!r.rc) {
        if (c.arch == LS_ARCH_GPT2) read_gpt2(&r, &c);
        else if (c.arch == LS_ARCH_GPT_NEOX) read_gpt_neox(&r, &c);
        else read_llama_family(&r, &c);
    }
    c.bos_id = get_token_id(&r, "bos_token_id");
    c.eos_id = get_token_id(&r, "eos_token_id");
    cJSON_Delete(root);
    int rc = r.rc;
    if (rc == 0) {
        ls_config_derive(&c);
        rc = ls_config_validate(&c, err);
    }
    if (rc != 0) return ls_fail_context(err, "%s", path);
    *cfg = c;
    return 0;
}

/* ---- writing ---------------------------------------------------------------------- */

/* A float as the shortest decimal that reads back to it (1e-05, not 9.99999974737875e-06). */
static double short_decimal(float x) {
    char buf[32];
    for (int digits = 6; digits < 10; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)x);
        if ((float)strtod(buf, NULL) == x) break;
    }
    return strtod(buf, NULL);
}

static const char *act_name(const ls_config *c) {
    switch (c->act) {
    case LS_ACT_GELU_ERF: return "gelu";
    case LS_ACT_SILU: return "silu";
    default: return "gelu_new";
    }
}

static const char *const k_class_names[LS_ARCH_COUNT] = {"GPT2LMHeadModel", "LlamaForCausalLM", "MistralForCausalLM",
                                                         "Qwen2ForCausalLM", "GPTNeoXForCausalLM"};

int ls_config_write(const ls_config *c, const char *path, ls_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(k_class_names[c->arch]));
    cJSON_AddStringToObject(o, "model_type", ls_arch_name(c->arch));
    if (c->arch == LS_ARCH_GPT2) {
        cJSON_AddStringToObject(o, "activation_function", act_name(c));
        cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
        cJSON_AddNumberToObject(o, "n_head", c->n_head);
        cJSON_AddNumberToObject(o, "n_embd", c->n_embd);
        if (c->n_ff != 4 * c->n_embd) cJSON_AddNumberToObject(o, "n_inner", c->n_ff);
        cJSON_AddNumberToObject(o, "n_positions", c->n_ctx);
        cJSON_AddNumberToObject(o, "n_ctx", c->n_ctx);
        cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
        cJSON_AddNumberToObject(o, "layer_norm_epsilon", short_decimal(c->ln_eps));
        if (!c->tied_head) cJSON_AddFalseToObject(o, "tie_word_embeddings");
    } else {
        cJSON_AddNumberToObject(o, "num_hidden_layers", c->n_layer);
        cJSON_AddNumberToObject(o, "num_attention_heads", c->n_head);
        cJSON_AddNumberToObject(o, "hidden_size", c->n_embd);
        cJSON_AddNumberToObject(o, "intermediate_size", c->n_ff);
        cJSON_AddNumberToObject(o, "max_position_embeddings", c->n_ctx);
        cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
        cJSON_AddStringToObject(o, "hidden_act", act_name(c));
        cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tied_head);
        if (c->arch == LS_ARCH_GPT_NEOX) {
            cJSON_AddNumberToObject(o, "layer_norm_eps", short_decimal(c->ln_eps));
            cJSON_AddNumberToObject(o, "rotary_pct", (double)c->rope_dims / c->d_head);
            cJSON_AddNumberToObject(o, "rotary_emb_base", c->rope_theta);
            cJSON_AddBoolToObject(o, "use_parallel_residual", c->parallel_residual);
        } else {
            cJSON_AddNumberToObject(o, "num_key_value_heads", c->n_kv_head);
            if (c->d_head != c->n_embd / c->n_head) cJSON_AddNumberToObject(o, "head_dim", c->d_head);
            cJSON_AddNumberToObject(o, "rms_norm_eps", short_decimal(c->ln_eps));
            cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
            if (c->rope_scaling == LS_ROPE_PLAIN) {
                cJSON_AddNullToObject(o, "rope_scaling");
            } else {
                cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
                cJSON_AddStringToObject(rs, "rope_type", c->rope_scaling == LS_ROPE_LLAMA3 ? "llama3" : "linear");
                cJSON_AddNumberToObject(rs, "factor", c->rope_factor);
                if (c->rope_scaling == LS_ROPE_LLAMA3) {
                    cJSON_AddNumberToObject(rs, "low_freq_factor", c->rope_low_freq_factor);
                    cJSON_AddNumberToObject(rs, "high_freq_factor", c->rope_high_freq_factor);
                    cJSON_AddNumberToObject(rs, "original_max_position_embeddings", c->rope_original_ctx);
                }
            }
            if (c->arch == LS_ARCH_LLAMA) {
                cJSON_AddFalseToObject(o, "attention_bias");
                cJSON_AddFalseToObject(o, "mlp_bias");
            }
            if (c->arch == LS_ARCH_MISTRAL) {
                if (c->sliding_window) cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
                else cJSON_AddNullToObject(o, "sliding_window");
            }
            if (c->arch == LS_ARCH_QWEN2) cJSON_AddFalseToObject(o, "use_sliding_window");
        }
    }
    int32_t bos = c->bos_id >= 0 ? c->bos_id : c->vocab_size - 1, eos = c->eos_id >= 0 ? c->eos_id : c->vocab_size - 1;
    cJSON_AddNumberToObject(o, "bos_token_id", bos);
    cJSON_AddNumberToObject(o, "eos_token_id", eos);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return ls_fail(err, "%s: out of memory", path);
    size_t n = strlen(text);
    int rc = ls_write_file_atomic(path, text, n, err);
    free(text);
    return rc;
}
