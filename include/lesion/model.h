/* model.h: checkpoints in Hugging Face layout, described as data, and weights views.
 *
 * A model directory holds config.json, model.safetensors (or shards listed
 * in model.safetensors.index.json) and the tokenizer files. ls_model_open
 * maps the safetensors files read-only, validates every tensor (dtype,
 * shape, byte range) against the config, and exposes each parameter as an
 * fp32 array: F32 tensors point straight into the mapping (when aligned),
 * F16/BF16 tensors are converted once into owned buffers.
 *
 * Every family is described once, as data (src/model/arch.c): a table of
 * ROLES (the token embedding, a layer's query matrix, its MLP down
 * projection, ...) with, per family, the tensor name in the file, its
 * layout and its shape from the config. A role a family lacks (GPT-2 has no
 * gate matrix, Llama no position embedding) has no tensor: its pointer in
 * every view is NULL. Parameters are addressed by tensor id = role (and
 * layer), never by string at run time.
 *
 * A weights view (ls_weights) is an array of fp32 pointers indexed by
 * tensor id: the clean view points at the model's arrays; a lesion overlay
 * makes a view in which a few ids point at private copies. The forward pass
 * sees only views, so it cannot tell clean from lesioned. A tied output
 * matrix (GPT-2, tied Llama) is its own role, LS_OUTPUT, whose clean
 * pointer is the embedding's: a lesion can then change either use alone.
 */
#ifndef LESION_MODEL_H
#define LESION_MODEL_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

/* Model-wide roles: ids 0 .. LS_GLOBAL_ROLES-1. */
enum {
    LS_EMBED,      /* (V,C) token embedding: wte, embed_tokens, embed_in */
    LS_POS_EMBED,  /* (n_ctx,C) learned positions: GPT-2's wpe */
    LS_OUT_NORM_W, /* (C) final norm: ln_f, model.norm, final_layer_norm */
    LS_OUT_NORM_B, /* (C) its bias (LayerNorm only) */
    LS_OUTPUT,     /* (V,C) output matrix (out,in): lm_head, embed_out; the embedding itself when tied */
    LS_GLOBAL_ROLES
};

/* Per-layer roles, in the order of a GPT-2 block first (so that GPT-2's
 * tensors keep their historical order), then the other families' extras. */
typedef enum ls_layer_role {
    LS_ATTN_NORM_W, /* (C)   ln_1, input_layernorm */
    LS_ATTN_NORM_B, /* (C)   LayerNorm bias */
    LS_QKV_W,       /* fused Q/K/V: GPT-2 c_attn (C,3C) in-out; GPT-NeoX query_key_value (3C,C) out-in, per-head interleaved */
    LS_QKV_B,       /* (3C)  its bias */
    LS_ATTN_OUT_W,  /* GPT-2 attn.c_proj (C,C) in-out; o_proj / dense (C,H*D) out-in */
    LS_ATTN_OUT_B,  /* (C) */
    LS_FFN_NORM_W,  /* (C)   ln_2, post_attention_layernorm */
    LS_FFN_NORM_B,  /* (C) */
    LS_FFN_UP_W,    /* GPT-2 c_fc (C,F) in-out; dense_h_to_4h / up_proj (F,C) out-in */
    LS_FFN_UP_B,    /* (F) */
    LS_FFN_DOWN_W,  /* GPT-2 mlp.c_proj (F,C) in-out; dense_4h_to_h / down_proj (C,F) out-in */
    LS_FFN_DOWN_B,  /* (C) */
    LS_Q_W,         /* (H*D,C) q_proj, out-in */
    LS_Q_B,         /* (H*D) */
    LS_K_W,         /* (KV*D,C) k_proj */
    LS_K_B,         /* (KV*D) */
    LS_V_W,         /* (KV*D,C) v_proj */
    LS_V_B,         /* (KV*D) */
    LS_FFN_GATE_W,  /* (F,C) gate_proj (SwiGLU) */
    LS_LAYER_ROLES
} ls_layer_role;

typedef int ls_tensor_id;

static inline ls_tensor_id ls_layer_tensor(int layer, ls_layer_role r) {
    return LS_GLOBAL_ROLES + layer * LS_LAYER_ROLES + (int)r;
}
static inline int ls_tensor_count(const ls_config *cfg) {
    return LS_GLOBAL_ROLES + cfg->n_layer * LS_LAYER_ROLES;
}
/* The layer of a per-layer id, -1 for a model-wide one. */
static inline int ls_tensor_layer(ls_tensor_id id) {
    return id < LS_GLOBAL_ROLES ? -1 : (id - LS_GLOBAL_ROLES) / LS_LAYER_ROLES;
}

/* How a matrix is stored: (in, out) as GPT-2's Conv1D (y = x W), or
 * (out, in) as torch.nn.Linear (y = x W^T). Vectors are LS_LAYOUT_VECTOR. */
typedef enum ls_layout { LS_LAYOUT_VECTOR, LS_LAYOUT_IN_OUT, LS_LAYOUT_OUT_IN } ls_layout;

typedef enum ls_dtype { LS_DTYPE_F32, LS_DTYPE_F16, LS_DTYPE_BF16 } ls_dtype;
const char *ls_dtype_name(ls_dtype dt);

/* What the file said about one parameter. */
typedef struct ls_tensor_info {
    char name[96];      /* canonical name, e.g. "h.3.attn.c_attn.weight", "model.layers.3.self_attn.q_proj.weight" */
    char file_key[112]; /* the key as stored in the file (GPT-2's may carry "transformer.") */
    ls_dtype dtype;     /* as stored */
    int ndim;           /* 1 or 2; 0 when the model has no such tensor */
    int64_t shape[2];   /* (rows, cols) for 2-D, (n) for 1-D */
    int64_t n_elems;    /* 0 when absent */
    ls_layout layout;
    int alias_of;       /* the id whose values this one shares (a tied output: LS_EMBED), or -1 */
    int ordinal;        /* 0, 1, ... over the file's tensors in id order (aliases after them): keys lesion noise */
} ls_tensor_info;

/* Expected tensor of an id under a config: name, shape, layout, alias,
 * ordinal (ndim 0 and n_elems 0 when the family or config has no such
 * tensor). The single source of the architecture table. */
void ls_tensor_expected(const ls_config *cfg, ls_tensor_id id, ls_tensor_info *info);
/* Whether the config's model has this tensor (an alias counts). */
int ls_tensor_present(const ls_config *cfg, ls_tensor_id id);
/* Shape and layout of a tensor id without building its name (cols 0 for
 * vectors; all 0 when absent): the forward pass's cheap lookup. */
void ls_tensor_shape(const ls_config *cfg, ls_tensor_id id, int64_t *rows, int64_t *cols, ls_layout *layout);
/* The layout of a 2-D role under a config (LS_LAYOUT_VECTOR for vectors and absent ones). */
ls_layout ls_tensor_layout(const ls_config *cfg, ls_tensor_id id);

/* A weights view: fp32 pointers for every tensor id. Never owns memory.
 * bf16 is NULL, or (after ls_model_store_bf16) an array of 16-bit copies of
 * the matrices: where bf16[id] is set, the forward pass uses it and the
 * model's weights are those bf16 values widened; t[id] keeps the file's
 * full-precision values for readers that want them (inspect, export). */
typedef struct ls_weights {
    const ls_config *cfg;
    const float *const *t;       /* [ls_tensor_count(cfg)] */
    const uint16_t *const *bf16; /* NULL or [ls_tensor_count(cfg)], NULL entries for non-matrices */
    int compute_bf16;            /* 1: products with bf16[id] also round the activations to bf16 and
                                    multiply in bf16 (ls_model_compute_bf16, ls_matmul_bf16dot) */
} ls_weights;

typedef struct ls_model ls_model;

/* Opens a model directory (config.json + model.safetensors). */
int ls_model_open(ls_model **out, const char *dir, ls_error *err);
void ls_model_close(ls_model *m);

const ls_config *ls_model_config(const ls_model *m);
const char *ls_model_dir(const ls_model *m);
/* For ids 0..ls_output_tensor(cfg) (the head: wte's info under lm_head's name). */
const ls_tensor_info *ls_model_tensor_info(const ls_model *m, ls_tensor_id id);
/* The clean weights view (valid while the model is open). */
ls_weights ls_model_weights(const ls_model *m);
/* Switches the model to bf16 storage of its weight matrices (wte and every
 * block's c_attn, attn c_proj, c_fc and mlp c_proj weights; the small
 * vectors stay fp32): halves their memory and the bytes a decode step reads.
 * Computation stays fp32. Cannot be undone; views taken before keep fp32. */
int ls_model_store_bf16(ls_model *m, ls_error *err);
/* Opts in to --compute bf16: after ls_model_store_bf16, the products with
 * the bf16 matrices of 4 or more rows (prefill, batched evaluation) round
 * their activations to bf16 and multiply with AVX512-BF16's vdpbf16ps (or
 * portable code computing the same bits): about twice the speed of the
 * fp32 products where the CPU has the instruction, at a measured cost in
 * accuracy (docs/performance.md). Views taken afterwards carry it;
 * tensors a lesion replaces run in fp32 as before. Refused without bf16
 * storage. */
int ls_model_compute_bf16(ls_model *m, ls_error *err);
/* Copies every fp32 tensor still mapped from the file into private memory
 * in 2 MiB pages: a decode step then streams the weights 15-25% faster
 * (measured on GPT-2 124M), for 0.4-0.8 s of copying at open and no
 * sharing of the page cache. Values are unchanged. Refused after
 * ls_model_store_bf16. Views taken before keep pointing at the mapping. */
int ls_model_copy_f32(ls_model *m, ls_error *err);
/* Whether id is one of the matrices ls_model_store_bf16 converts (every
 * present 2-D tensor but the learned position embedding). */
int ls_tensor_is_matrix(const ls_config *cfg, ls_tensor_id id);
/* Metadata of the safetensors header (may be NULL): a cJSON object, opaque here. */
const void *ls_model_metadata(const ls_model *m);
int64_t ls_model_param_count(const ls_model *m);
/* The configuration as one line of JSON (malloc'd: ls_free; NULL when out of
 * memory): the sizes, the directory, the parameter count and the kinds of
 * the forward pass (norm, activation, rope, biases). `lesion inspect --json`
 * prints it as "config"; ls_session_config_json returns it. */
char *ls_model_config_json(const ls_model *m);
/* How many safetensors files the checkpoint has (1, or its shards), and
 * which holds a tensor (-1 for absent and aliased ids). */
int ls_model_file_count(const ls_model *m);
int ls_model_tensor_file(const ls_model *m, ls_tensor_id id);
const char *ls_model_file_name(const ls_model *m, int i);

/* Writes view (the model's clean weights or an overlay of them) as a new
 * model directory dir in the input's layout and names, F32, with its
 * config and tokenizer files; keep_shards keeps a sharded input's shards
 * (else one model.safetensors). lesion_json (may be NULL) describes the
 * lesion: written as lesion.json and into the safetensors metadata.
 * All or nothing: dir appears only when complete; it must not exist. */
int ls_model_export(const ls_model *m, const ls_weights *view, const char *dir, int keep_shards,
                    const char *lesion_json, ls_error *err);

/* Looks up a tensor id by canonical name ("h.3.attn.c_attn.weight"); -1 if none. */
ls_tensor_id ls_tensor_by_name(const ls_config *cfg, const char *name);
/* Whether name is a buffer the family's checkpoints may carry that is not a
 * parameter (GPT-2's attn.bias mask, GPT-NeoX's rotary_emb.inv_freq, ...). */
int ls_tensor_is_ignored_buffer(const ls_config *cfg, const char *name);

/* ---- safetensors writer (used by init and export) ------------------------ */

typedef struct ls_st_entry {
    const char *name;      /* key written to the file */
    ls_dtype dtype;        /* F32, F16 or BF16 on disk; data is always fp32 */
    int ndim;
    int64_t shape[2];
    const float *data;
} ls_st_entry;

/* Writes a safetensors file atomically (temp file + fsync + rename). metadata
 * is a NULL-terminated array of key, value strings (may be NULL). */
int ls_safetensors_write(const char *path, const ls_st_entry *entries, int n,
                         const char *const *metadata, ls_error *err);

/* Writes a random-weight GPT-2 (GPT-2's init: N(0, 0.02) weights, zero
 * biases, unit LayerNorms) in Hugging Face layout into dir (created). */
int ls_model_init_random(const ls_config *cfg, uint64_t seed, ls_dtype dtype, const char *dir, ls_error *err);

/* Writes a GPT-2 config.json for cfg (atomically). */
int ls_config_write(const ls_config *cfg, const char *path, ls_error *err);

/* ---- generic file helpers ----------------------------------------------- */

/* Reads a whole regular file into a NUL-terminated malloc'd buffer. Anything
 * else (a FIFO, a device, a directory) is refused at once, never waited on. */
int ls_read_file(const char *path, char **data, size_t *len, ls_error *err);
/* Writes a whole file atomically: path.tmp.<pid>, fsync, rename. The temp
 * file is created exclusively and never through a symbolic link, and the
 * rename replaces a link at path rather than writing where it points. */
int ls_write_file_atomic(const char *path, const void *data, size_t len, ls_error *err);
/* Removes a directory of plain files (a failed command's partial output); best effort. */
void ls_remove_dir(const char *dir);
/* What identifies a file's version without reading it: if the stamp is
 * unchanged, so is the content (ctime cannot be set back by a user). */
typedef struct ls_file_stamp {
    uint64_t dev, ino;
    int64_t size, mtime_ns, ctime_ns;
} ls_file_stamp;
int ls_file_stamp_of(const char *path, ls_file_stamp *out, ls_error *err);
int ls_file_stamp_equal(const ls_file_stamp *a, const ls_file_stamp *b);
/* XXH64 of a regular file's bytes, and its stamp after reading (stamp may be NULL). */
int ls_hash_file(const char *path, ls_file_stamp *stamp, uint64_t *hash, ls_error *err);
/* Writes a float32 .npy array of the given shape atomically. */
int ls_npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim, ls_error *err);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
