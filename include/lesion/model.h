/* model.h: GPT-2 checkpoints in Hugging Face layout, and weights views.
 *
 * A model directory holds config.json, model.safetensors and the tokenizer
 * files. ls_model_open maps model.safetensors read-only, validates every
 * tensor (dtype, shape, byte range) against the config, and exposes each
 * parameter as an fp32 array: F32 tensors point straight into the mapping
 * (when aligned), F16/BF16 tensors are converted once into owned buffers.
 *
 * Parameters are addressed by a stable tensor id (ls_tensor_id), never by
 * string at run time. A weights view (ls_weights) is an array of fp32
 * pointers indexed by that id: the clean view points at the model's arrays;
 * a lesion overlay makes a view in which a few ids point at private copies.
 * The forward pass sees only views, so it cannot tell clean from lesioned.
 */
#ifndef LESION_MODEL_H
#define LESION_MODEL_H
#include <lesion.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-layer parameter kinds, in file order of a GPT-2 block. */
typedef enum ls_layer_param {
    LS_LN1_W,        /* h.{l}.ln_1.weight       (C)     */
    LS_LN1_B,        /* h.{l}.ln_1.bias         (C)     */
    LS_ATTN_W,       /* h.{l}.attn.c_attn.weight (C,3C) Conv1D: y = x W + b */
    LS_ATTN_B,       /* h.{l}.attn.c_attn.bias  (3C)    */
    LS_ATTN_PROJ_W,  /* h.{l}.attn.c_proj.weight (C,C)  */
    LS_ATTN_PROJ_B,  /* h.{l}.attn.c_proj.bias  (C)     */
    LS_LN2_W,        /* h.{l}.ln_2.weight       (C)     */
    LS_LN2_B,        /* h.{l}.ln_2.bias         (C)     */
    LS_FC_W,         /* h.{l}.mlp.c_fc.weight   (C,4C)  */
    LS_FC_B,         /* h.{l}.mlp.c_fc.bias     (4C)    */
    LS_MLP_PROJ_W,   /* h.{l}.mlp.c_proj.weight (4C,C)  */
    LS_MLP_PROJ_B,   /* h.{l}.mlp.c_proj.bias   (C)     */
    LS_LAYER_PARAMS
} ls_layer_param;

/* Model-wide parameters come first in the id space. */
enum {
    LS_WTE = 0,   /* wte.weight  (V,C), also the tied lm head */
    LS_WPE,       /* wpe.weight  (n_ctx,C) */
    LS_LNF_W,     /* ln_f.weight (C) */
    LS_LNF_B,     /* ln_f.bias   (C) */
    LS_GLOBAL_PARAMS
};

typedef int ls_tensor_id;

static inline ls_tensor_id ls_layer_tensor(int layer, ls_layer_param p) {
    return LS_GLOBAL_PARAMS + layer * LS_LAYER_PARAMS + (int)p;
}
static inline int ls_tensor_count(const ls_config *cfg) {
    return LS_GLOBAL_PARAMS + cfg->n_layer * LS_LAYER_PARAMS;
}

typedef enum ls_dtype { LS_DTYPE_F32, LS_DTYPE_F16, LS_DTYPE_BF16 } ls_dtype;
const char *ls_dtype_name(ls_dtype dt);

/* What the file said about one parameter. */
typedef struct ls_tensor_info {
    char name[96];      /* canonical name without "transformer." prefix, e.g. "h.3.attn.c_attn.weight" */
    char file_key[112]; /* the key as stored in the file (may carry the prefix) */
    ls_dtype dtype;     /* as stored */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];   /* (rows, cols) for 2-D, (n) for 1-D */
    int64_t n_elems;
} ls_tensor_info;

/* Expected shape of a tensor id under a config; fills name too. */
void ls_tensor_expected(const ls_config *cfg, ls_tensor_id id, ls_tensor_info *info);

/* A weights view: fp32 pointers for every tensor id. Never owns memory.
 * bf16 is NULL, or (after ls_model_store_bf16) an array of 16-bit copies of
 * the matrices: where bf16[id] is set, the forward pass uses it and the
 * model's weights are those bf16 values widened; t[id] keeps the file's
 * full-precision values for readers that want them (inspect, export). */
typedef struct ls_weights {
    const ls_config *cfg;
    const float *const *t;       /* [ls_tensor_count(cfg)] */
    const uint16_t *const *bf16; /* NULL or [ls_tensor_count(cfg)], NULL entries for non-matrices */
} ls_weights;

typedef struct ls_model ls_model;

/* Opens a model directory (config.json + model.safetensors). */
int ls_model_open(ls_model **out, const char *dir, ls_error *err);
void ls_model_close(ls_model *m);

const ls_config *ls_model_config(const ls_model *m);
const char *ls_model_dir(const ls_model *m);
const ls_tensor_info *ls_model_tensor_info(const ls_model *m, ls_tensor_id id);
/* The clean weights view (valid while the model is open). */
ls_weights ls_model_weights(const ls_model *m);
/* Switches the model to bf16 storage of its weight matrices (wte and every
 * block's c_attn, attn c_proj, c_fc and mlp c_proj weights; the small
 * vectors stay fp32): halves their memory and the bytes a decode step reads.
 * Computation stays fp32. Cannot be undone; views taken before keep fp32. */
int ls_model_store_bf16(ls_model *m, ls_error *err);
/* Copies every fp32 tensor still mapped from the file into private memory
 * in 2 MiB pages: a decode step then streams the weights 15-25% faster
 * (measured on GPT-2 124M), for 0.4-0.8 s of copying at open and no
 * sharing of the page cache. Values are unchanged. Refused after
 * ls_model_store_bf16. Views taken before keep pointing at the mapping. */
int ls_model_copy_f32(ls_model *m, ls_error *err);
/* Whether id is one of the matrices ls_model_store_bf16 converts. */
int ls_tensor_is_matrix(ls_tensor_id id);
/* Metadata of the safetensors header (may be NULL): a cJSON object, opaque here. */
const void *ls_model_metadata(const ls_model *m);
int64_t ls_model_param_count(const ls_model *m);

/* Looks up a tensor id by canonical name ("h.3.attn.c_attn.weight"); -1 if none. */
ls_tensor_id ls_tensor_by_name(const ls_config *cfg, const char *name);

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

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int ls_read_file(const char *path, char **data, size_t *len, ls_error *err);
/* Writes a whole file atomically: path.tmp.<pid>, fsync, rename. */
int ls_write_file_atomic(const char *path, const void *data, size_t len, ls_error *err);
/* Writes a float32 .npy array of the given shape atomically. */
int ls_npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim, ls_error *err);

#ifdef __cplusplus
}
#endif
#endif
