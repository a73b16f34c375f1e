/* arch.c: every model family lesion computes, described once, as data.
 *
 * One row per role (include/lesion/model.h) gives, for each family, the
 * tensor's name in the Hugging Face checkpoint ("%d" is the layer) and its
 * layout; the shapes follow from the config by role alone, and whether a
 * model has a role follows from the config's kinds (LayerNorm has biases,
 * RMSNorm none; fused or separate Q/K/V; a gate only in SwiGLU MLPs;
 * learned positions only in GPT-2). The loader, the forward pass, the lesion
 * geometry, export and init all read this table, so adding a family is
 * adding a column here and its config keys in src/io/config.c.
 *
 * Tensor names follow llama.cpp's per-architecture name tables in spirit
 * (src/llama-arch.cpp), written from the checkpoints' published layouts. */
#include <lesion.h>

#include <stdio.h>
#include <string.h>

typedef struct role_names {
    const char *global[LS_GLOBAL_ROLES];
    const char *layer[LS_LAYER_ROLES];
    const char *ignored[4]; /* per-layer buffers some checkpoints carry that are not parameters */
} role_names;

#define LLAMA_NAMES                                                                                              \
    {                                                                                                            \
        .global = {[LS_EMBED] = "model.embed_tokens.weight", [LS_OUT_NORM_W] = "model.norm.weight",             \
                   [LS_OUTPUT] = "lm_head.weight"},                                                              \
        .layer = {[LS_ATTN_NORM_W] = "model.layers.%d.input_layernorm.weight",                                  \
                  [LS_Q_W] = "model.layers.%d.self_attn.q_proj.weight",                                         \
                  [LS_Q_B] = "model.layers.%d.self_attn.q_proj.bias",                                           \
                  [LS_K_W] = "model.layers.%d.self_attn.k_proj.weight",                                         \
                  [LS_K_B] = "model.layers.%d.self_attn.k_proj.bias",                                           \
                  [LS_V_W] = "model.layers.%d.self_attn.v_proj.weight",                                         \
                  [LS_V_B] = "model.layers.%d.self_attn.v_proj.bias",                                           \
                  [LS_ATTN_OUT_W] = "model.layers.%d.self_attn.o_proj.weight",                                  \
                  [LS_FFN_NORM_W] = "model.layers.%d.post_attention_layernorm.weight",                          \
                  [LS_FFN_GATE_W] = "model.layers.%d.mlp.gate_proj.weight",                                     \
                  [LS_FFN_UP_W] = "model.layers.%d.mlp.up_proj.weight",                                         \
                  [LS_FFN_DOWN_W] = "model.layers.%d.mlp.down_proj.weight"},                                    \
        .ignored = {"model.layers.%d.self_attn.rotary_emb.inv_freq"},                                           \
    }

static const role_names k_names[LS_ARCH_COUNT] = {
    [LS_ARCH_GPT2] =
        {
            .global = {[LS_EMBED] = "wte.weight", [LS_POS_EMBED] = "wpe.weight", [LS_OUT_NORM_W] = "ln_f.weight",
                       [LS_OUT_NORM_B] = "ln_f.bias", [LS_OUTPUT] = "lm_head.weight"},
            .layer = {[LS_ATTN_NORM_W] = "h.%d.ln_1.weight", [LS_ATTN_NORM_B] = "h.%d.ln_1.bias",
                      [LS_QKV_W] = "h.%d.attn.c_attn.weight", [LS_QKV_B] = "h.%d.attn.c_attn.bias",
                      [LS_ATTN_OUT_W] = "h.%d.attn.c_proj.weight", [LS_ATTN_OUT_B] = "h.%d.attn.c_proj.bias",
                      [LS_FFN_NORM_W] = "h.%d.ln_2.weight", [LS_FFN_NORM_B] = "h.%d.ln_2.bias",
                      [LS_FFN_UP_W] = "h.%d.mlp.c_fc.weight", [LS_FFN_UP_B] = "h.%d.mlp.c_fc.bias",
                      [LS_FFN_DOWN_W] = "h.%d.mlp.c_proj.weight", [LS_FFN_DOWN_B] = "h.%d.mlp.c_proj.bias"},
            .ignored = {"h.%d.attn.bias", "h.%d.attn.masked_bias"},
        },
    [LS_ARCH_LLAMA] = LLAMA_NAMES,
    [LS_ARCH_MISTRAL] = LLAMA_NAMES,
    [LS_ARCH_QWEN2] = LLAMA_NAMES,
    [LS_ARCH_GPT_NEOX] =
        {
            .global = {[LS_EMBED] = "gpt_neox.embed_in.weight", [LS_OUT_NORM_W] = "gpt_neox.final_layer_norm.weight",
                       [LS_OUT_NORM_B] = "gpt_neox.final_layer_norm.bias", [LS_OUTPUT] = "embed_out.weight"},
            .layer = {[LS_ATTN_NORM_W] = "gpt_neox.layers.%d.input_layernorm.weight",
                      [LS_ATTN_NORM_B] = "gpt_neox.layers.%d.input_layernorm.bias",
                      [LS_QKV_W] = "gpt_neox.layers.%d.attention.query_key_value.weight",
                      [LS_QKV_B] = "gpt_neox.layers.%d.attention.query_key_value.bias",
                      [LS_ATTN_OUT_W] = "gpt_neox.layers.%d.attention.dense.weight",
                      [LS_ATTN_OUT_B] = "gpt_neox.layers.%d.attention.dense.bias",
                      [LS_FFN_NORM_W] = "gpt_neox.layers.%d.post_attention_layernorm.weight",
                      [LS_FFN_NORM_B] = "gpt_neox.layers.%d.post_attention_layernorm.bias",
                      [LS_FFN_UP_W] = "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight",
                      [LS_FFN_UP_B] = "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias",
                      [LS_FFN_DOWN_W] = "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight",
                      [LS_FFN_DOWN_B] = "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias"},
            .ignored = {"gpt_neox.layers.%d.attention.bias", "gpt_neox.layers.%d.attention.masked_bias",
                        "gpt_neox.layers.%d.attention.rotary_emb.inv_freq"},
        },
};

static const char *const k_arch_names[LS_ARCH_COUNT] = {"gpt2", "llama", "mistral", "qwen2", "gpt_neox"};

const char *ls_arch_name(ls_arch a) { return (unsigned)a < LS_ARCH_COUNT ? k_arch_names[a] : "?"; }

/* Whether the model has a tensor of this role (an alias counts), from the config's kinds alone. */
static int role_present(const ls_config *c, ls_tensor_id id) {
    if (id < 0 || id >= ls_tensor_count(c)) return 0;
    const int layer_norm = c->norm == LS_NORM_LAYER;
    if (id < LS_GLOBAL_ROLES) {
        switch (id) {
        case LS_POS_EMBED: return c->learned_pos;
        case LS_OUT_NORM_B: return layer_norm;
        default: return 1;
        }
    }
    switch ((ls_layer_role)((id - LS_GLOBAL_ROLES) % LS_LAYER_ROLES)) {
    case LS_ATTN_NORM_B:
    case LS_FFN_NORM_B: return layer_norm;
    case LS_QKV_W: return c->fused_qkv;
    case LS_QKV_B: return c->fused_qkv && c->qkv_bias;
    case LS_Q_W:
    case LS_K_W:
    case LS_V_W: return !c->fused_qkv;
    case LS_Q_B:
    case LS_K_B:
    case LS_V_B: return !c->fused_qkv && c->qkv_bias;
    case LS_ATTN_OUT_B:
    case LS_FFN_UP_B:
    case LS_FFN_DOWN_B: return c->out_bias;
    case LS_FFN_GATE_W: return c->act == LS_ACT_SILU;
    default: return 1;
    }
}

int ls_tensor_present(const ls_config *cfg, ls_tensor_id id) { return role_present(cfg, id); }

/* (rows, cols) of a present role; cols 0 for vectors. GPT-2 stores its
 * block matrices (in, out); everything else (and every embedding-like
 * table) is (out, in). */
static void role_shape(const ls_config *c, ls_tensor_id id, int64_t *rows, int64_t *cols, ls_layout *layout) {
    const int64_t C = c->n_embd, V = c->vocab_size, F = c->n_ff, HD = (int64_t)c->n_head * c->d_head,
                  KVD = (int64_t)c->n_kv_head * c->d_head, QKV = HD + 2 * KVD;
    const int in_out = c->arch == LS_ARCH_GPT2;
    int64_t out = 0, in = 0; /* a matrix's output and input sizes; vectors: out only */
    *layout = LS_LAYOUT_OUT_IN;
    if (id < LS_GLOBAL_ROLES) {
        switch (id) {
        case LS_EMBED:
        case LS_OUTPUT: *rows = V, *cols = C; return;
        case LS_POS_EMBED: *rows = c->n_ctx, *cols = C; return;
        default: *rows = C, *cols = 0, *layout = LS_LAYOUT_VECTOR; return;
        }
    }
    switch ((ls_layer_role)((id - LS_GLOBAL_ROLES) % LS_LAYER_ROLES)) {
    case LS_QKV_W: out = QKV, in = C; break;
    case LS_QKV_B: out = QKV; break;
    case LS_ATTN_OUT_W: out = C, in = HD; break;
    case LS_FFN_UP_W:
    case LS_FFN_GATE_W: out = F, in = C; break;
    case LS_FFN_UP_B: out = F; break;
    case LS_FFN_DOWN_W: out = C, in = F; break;
    case LS_Q_W: out = HD, in = C; break;
    case LS_Q_B: out = HD; break;
    case LS_K_W:
    case LS_V_W: out = KVD, in = C; break;
    case LS_K_B:
    case LS_V_B: out = KVD; break;
    default: out = C; break; /* norms and C-sized biases */
    }
    if (!in) {
        *rows = out, *cols = 0, *layout = LS_LAYOUT_VECTOR;
    } else if (in_out) {
        *rows = in, *cols = out, *layout = LS_LAYOUT_IN_OUT;
    } else {
        *rows = out, *cols = in;
    }
}

/* Present roles of a layer (the same in every layer), and how many come before role r. */
static int layer_present_before(const ls_config *c, int r) {
    int n = 0;
    for (int k = 0; k < r; k++) n += role_present(c, ls_layer_tensor(0, (ls_layer_role)k));
    return n;
}

/* Model-wide file tensors (not aliases) before global role g. */
static int global_present_before(const ls_config *c, int g) {
    int n = 0;
    for (int k = 0; k < g; k++) n += role_present(c, k) && !(k == LS_OUTPUT && c->tied_head);
    return n;
}

void ls_tensor_expected(const ls_config *cfg, ls_tensor_id id, ls_tensor_info *info) {
    memset(info, 0, sizeof *info);
    info->alias_of = -1;
    if (!role_present(cfg, id)) return;
    const role_names *nm = &k_names[cfg->arch];
    int64_t rows, cols;
    role_shape(cfg, id, &rows, &cols, &info->layout);
    info->ndim = cols ? 2 : 1;
    info->shape[0] = rows;
    info->shape[1] = cols;
    info->n_elems = cols ? rows * cols : rows;
    int per_layer_files = layer_present_before(cfg, LS_LAYER_ROLES);
    int globals = global_present_before(cfg, LS_GLOBAL_ROLES);
    if (id < LS_GLOBAL_ROLES) {
        if (id == LS_OUTPUT && cfg->tied_head) {
            snprintf(info->name, sizeof info->name, "%s", nm->global[LS_EMBED]);
            info->alias_of = LS_EMBED;
            info->ordinal = globals + cfg->n_layer * per_layer_files;
        } else {
            snprintf(info->name, sizeof info->name, "%s", nm->global[id]);
            info->ordinal = global_present_before(cfg, id);
        }
    } else {
        int layer = ls_tensor_layer(id), r = (id - LS_GLOBAL_ROLES) % LS_LAYER_ROLES;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(info->name, sizeof info->name, nm->layer[r], layer);
#pragma GCC diagnostic pop
        info->ordinal = globals + layer * per_layer_files + layer_present_before(cfg, r);
    }
    snprintf(info->file_key, sizeof info->file_key, "%s", info->name);
}

void ls_tensor_shape(const ls_config *cfg, ls_tensor_id id, int64_t *rows, int64_t *cols, ls_layout *layout) {
    *rows = *cols = 0;
    *layout = LS_LAYOUT_VECTOR;
    if (role_present(cfg, id)) role_shape(cfg, id, rows, cols, layout);
}

ls_layout ls_tensor_layout(const ls_config *cfg, ls_tensor_id id) {
    int64_t rows, cols;
    ls_layout layout;
    ls_tensor_shape(cfg, id, &rows, &cols, &layout);
    return layout;
}

int ls_tensor_is_matrix(const ls_config *cfg, ls_tensor_id id) {
    return id != LS_POS_EMBED && role_present(cfg, id) && ls_tensor_layout(cfg, id) != LS_LAYOUT_VECTOR;
}

ls_tensor_id ls_tensor_by_name(const ls_config *cfg, const char *name) {
    if (cfg->arch == LS_ARCH_GPT2 && strncmp(name, "transformer.", 12) == 0) name += 12;
    ls_tensor_info info;
    for (ls_tensor_id id = 0; id < ls_tensor_count(cfg); id++) {
        ls_tensor_expected(cfg, id, &info);
        if (info.n_elems && info.alias_of < 0 && strcmp(info.name, name) == 0) return id;
    }
    return -1;
}

int ls_tensor_is_ignored_buffer(const ls_config *cfg, const char *name) {
    const role_names *nm = &k_names[cfg->arch];
    for (int i = 0; i < 4 && nm->ignored[i]; i++) {
        /* The pattern is "<prefix>%d<suffix>": match the prefix, digits, then the suffix. */
        const char *pat = nm->ignored[i], *d = strstr(pat, "%d");
        size_t pre = (size_t)(d - pat);
        if (strncmp(name, pat, pre) != 0) continue;
        const char *p = name + pre;
        if (*p < '0' || *p > '9') continue;
        while (*p >= '0' && *p <= '9') p++;
        if (strcmp(p, d + 2) == 0) return 1;
    }
    return 0;
}
