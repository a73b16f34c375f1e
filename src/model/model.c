/* model.c: opening a GPT-2 checkpoint and exposing its clean weights.
 *
 * The safetensors file is mapped read-only and validated tensor by tensor
 * against config.json before any pointer into it is used. F32 parameters
 * that are 4-byte aligned are used in place (zero copies, pages shared with
 * the page cache); F16/BF16 parameters are widened to fp32 once, because
 * all compute is fp32. The clean weights are never written: lesions live in
 * an overlay (src/lesion/overlay.c), so undo never re-reads the file.
 *
 * Accepted key layouts: "h.0.attn.c_attn.weight" (GPT2Model) and
 * "transformer.h.0.attn.c_attn.weight" (GPT2LMHeadModel). The causal-mask
 * buffers h.{i}.attn.bias / attn.masked_bias are ignored; lm_head.weight,
 * when present, must equal wte (GPT-2 ties them). */
#include "lesion.h"
#include "io/bf16.h"
#include "io/safetensors.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ls_model {
    ls_config cfg;
    char *dir;
    ls_st_file file;
    ls_tensor_info *info;  /* [n_tensors] */
    const float **data;    /* [n_tensors] fp32 views (mapped or owned) */
    float **owned;         /* [n_tensors] converted copies to free, or NULL */
    const uint16_t **bf16; /* [n_tensors] bf16 storage of the matrices (ls_model_store_bf16), or NULL */
    void *f32_arena;       /* one block holding the ls_model_copy_f32 copies, or NULL */
    void *bf16_arena;      /* one block holding the bf16 roundings, or NULL */
};

const char *ls_dtype_name(ls_dtype dt) {
    switch (dt) {
    case LS_DTYPE_F32: return "F32";
    case LS_DTYPE_F16: return "F16";
    case LS_DTYPE_BF16: return "BF16";
    }
    return "?";
}

static const char *const layer_param_names[LS_LAYER_PARAMS] = {
    "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
    "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",    "mlp.c_fc.bias",    "mlp.c_proj.weight",  "mlp.c_proj.bias",
};

void ls_tensor_expected(const ls_config *cfg, ls_tensor_id id, ls_tensor_info *info) {
    memset(info, 0, sizeof *info);
    int64_t C = cfg->n_embd;
    int64_t rows = 0, cols = 0; /* cols == 0 means 1-D of length rows */
    if (id < LS_GLOBAL_PARAMS) {
        static const char *const names[] = {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"};
        snprintf(info->name, sizeof info->name, "%s", names[id]);
        if (id == LS_WTE) rows = cfg->vocab_size, cols = C;
        else if (id == LS_WPE) rows = cfg->n_ctx, cols = C;
        else rows = C;
    } else {
        int layer = (id - LS_GLOBAL_PARAMS) / LS_LAYER_PARAMS;
        ls_layer_param p = (ls_layer_param)((id - LS_GLOBAL_PARAMS) % LS_LAYER_PARAMS);
        snprintf(info->name, sizeof info->name, "h.%d.%s", layer, layer_param_names[p]);
        switch (p) {
        case LS_ATTN_W: rows = C, cols = 3 * C; break;
        case LS_ATTN_B: rows = 3 * C; break;
        case LS_ATTN_PROJ_W: rows = C, cols = C; break;
        case LS_FC_W: rows = C, cols = 4 * C; break;
        case LS_FC_B: rows = 4 * C; break;
        case LS_MLP_PROJ_W: rows = 4 * C, cols = C; break;
        default: rows = C; break; /* layer norms and the C-sized biases */
        }
    }
    info->ndim = cols ? 2 : 1;
    info->shape[0] = rows;
    info->shape[1] = cols;
    info->n_elems = cols ? rows * cols : rows;
}

ls_tensor_id ls_tensor_by_name(const ls_config *cfg, const char *name) {
    if (strncmp(name, "transformer.", 12) == 0) name += 12;
    ls_tensor_info info;
    for (ls_tensor_id id = 0; id < ls_tensor_count(cfg); id++) {
        ls_tensor_expected(cfg, id, &info);
        if (strcmp(info.name, name) == 0) return id;
    }
    return -1;
}

/* One block for a set of weight copies the forward pass streams through,
 * freed with free(), in 2 MiB pages (transparent huge pages are in
 * "madvise" mode on Debian, so lesion asks): a decode step reads every
 * weight once, and with 4 KiB pages the hardware prefetchers stop at every
 * page boundary and the TLB misses once per page (measured on GPT-2 124M
 * bf16 decode: 135-150 tokens/s with 4 KiB pages, 160-165 with 2 MiB;
 * loading also faults 512x fewer times). One block rather than one per
 * tensor, so only its end is rounded up to a whole huge page. */
static void *weights_arena(size_t bytes) {
    const size_t huge = (size_t)2 << 20, rounded = (bytes + huge - 1) / huge * huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded ? rounded : huge) != 0) return NULL;
    madvise(p, rounded, MADV_HUGEPAGE); /* advisory: without it, ordinary pages */
    return p;
}

/* Copies start on their own 4 KiB page inside an arena (measured: a few
 * percent faster decode than cache-line starts, within the noise of 2 MiB starts). */
static size_t arena_slot(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, u;
    if (exp == 0x1f) u = sign | 0x7f800000u | (mant << 13);
    else if (exp) u = sign | ((exp + 112) << 23) | (mant << 13);
    else if (!mant) u = sign;
    else { /* subnormal: normalise */
        int e = -1;
        do { mant <<= 1; e++; } while (!(mant & 0x400u));
        u = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Makes an fp32 view of tensor t: in place if possible, else a converted copy. */
static int fp32_view(ls_model *m, ls_tensor_id id, const ls_st_tensor *t, ls_error *err) {
    const uint8_t *src = m->file.data + t->begin;
    int64_t n = m->info[id].n_elems;
    if (m->info[id].dtype == LS_DTYPE_F32 && ((uintptr_t)src & 3u) == 0) {
        m->data[id] = (const float *)(const void *)src;
        return 0;
    }
    float *dst = malloc((size_t)n * sizeof *dst);
    if (!dst) return ls_fail(err, "%s: out of memory converting to fp32", t->name);
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = src + i * (int64_t)t->elem_bytes;
        if (m->info[id].dtype == LS_DTYPE_F32) memcpy(&dst[i], p, 4);
        else {
            uint16_t h = (uint16_t)(p[0] | p[1] << 8);
            if (m->info[id].dtype == LS_DTYPE_F16) dst[i] = f16_to_f32(h);
            else dst[i] = ls_bf16_to_f32(h);
        }
    }
    m->owned[id] = dst;
    m->data[id] = dst;
    return 0;
}

static int shape_matches(const ls_st_tensor *t, const ls_tensor_info *want) {
    if (t->ndim != want->ndim) return 0;
    for (int d = 0; d < want->ndim; d++)
        if (t->shape[d] != want->shape[d]) return 0;
    return 1;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    int k = snprintf(buf, n, "[");
    for (int d = 0; d < ndim && (size_t)k < n; d++)
        k += snprintf(buf + k, n - (size_t)k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if ((size_t)k < n) snprintf(buf + k, n - (size_t)k, "]");
}

/* Finds every parameter of the config in the file and checks it. */
static int bind_tensors(ls_model *m, const char *st_path, ls_error *err) {
    int n = ls_tensor_count(&m->cfg);
    int prefixed = ls_st_find(&m->file, "transformer.wte.weight") != NULL;
    for (ls_tensor_id id = 0; id < n; id++) {
        ls_tensor_info *info = &m->info[id];
        ls_tensor_expected(&m->cfg, id, info);
        snprintf(info->file_key, sizeof info->file_key, "%s%s", prefixed ? "transformer." : "", info->name);
        const ls_st_tensor *t = ls_st_find(&m->file, info->file_key);
        if (!t) return ls_fail(err, "%s: tensor \"%s\" is missing (config.json says n_layer=%d)", st_path,
                               info->file_key, m->cfg.n_layer);
        if (strcmp(t->dtype, "F32") == 0) info->dtype = LS_DTYPE_F32;
        else if (strcmp(t->dtype, "F16") == 0) info->dtype = LS_DTYPE_F16;
        else if (strcmp(t->dtype, "BF16") == 0) info->dtype = LS_DTYPE_BF16;
        else return ls_fail(err, "%s: tensor \"%s\" has dtype %s (expected F32, F16 or BF16)", st_path, t->name, t->dtype);
        if (!shape_matches(t, info)) {
            char got[96], want[96];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(want, sizeof want, info->ndim, info->shape);
            return ls_fail(err, "%s: tensor \"%s\" has shape %s but config.json implies %s", st_path, t->name, got, want);
        }
        if (fp32_view(m, id, t, err) != 0) return ls_fail_context(err, "%s", st_path);
    }
    /* A layer beyond n_layer means config and checkpoint disagree. */
    char extra[64];
    snprintf(extra, sizeof extra, "%sh.%d.ln_1.weight", prefixed ? "transformer." : "", m->cfg.n_layer);
    if (ls_st_find(&m->file, extra))
        return ls_fail(err, "%s: has tensor \"%s\" but config.json says n_layer=%d", st_path, extra, m->cfg.n_layer);
    const ls_st_tensor *head = ls_st_find(&m->file, "lm_head.weight");
    if (head) {
        const ls_tensor_info *wte = &m->info[LS_WTE];
        if (!shape_matches(head, wte) || strcmp(head->dtype, ls_dtype_name(wte->dtype)) != 0 ||
            memcmp(m->file.data + head->begin, m->file.data + ls_st_find(&m->file, wte->file_key)->begin,
                   (size_t)(head->end - head->begin)) != 0)
            return ls_fail(err, "%s: lm_head.weight differs from wte.weight (lesion supports GPT-2's tied head only)",
                           st_path);
    }
    return 0;
}

int ls_model_open(ls_model **out, const char *dir, ls_error *err) {
    *out = NULL;
    ls_model *m = calloc(1, sizeof *m);
    if (!m) return ls_fail(err, "out of memory");
    m->dir = strdup(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = m->dir ? ls_config_load(&m->cfg, path, err) : ls_fail(err, "out of memory");
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        rc = ls_st_open(&m->file, path, err);
    }
    if (rc == 0) {
        size_t n = (size_t)ls_tensor_count(&m->cfg);
        m->info = calloc(n, sizeof *m->info);
        m->data = calloc(n, sizeof *m->data);
        m->owned = calloc(n, sizeof *m->owned);
        rc = (m->info && m->data && m->owned) ? bind_tensors(m, path, err) : ls_fail(err, "out of memory");
    }
    if (rc != 0) {
        ls_model_close(m);
        return -1;
    }
    *out = m;
    return 0;
}

void ls_model_close(ls_model *m) {
    if (!m) return;
    if (m->owned)
        for (int i = 0; i < ls_tensor_count(&m->cfg); i++) free(m->owned[i]);
    free(m->f32_arena);
    free(m->bf16_arena);
    free(m->bf16);
    free(m->owned);
    free(m->data);
    free(m->info);
    ls_st_close(&m->file);
    free(m->dir);
    free(m);
}

const ls_config *ls_model_config(const ls_model *m) { return &m->cfg; }
const char *ls_model_dir(const ls_model *m) { return m->dir; }
const ls_tensor_info *ls_model_tensor_info(const ls_model *m, ls_tensor_id id) { return &m->info[id]; }
const void *ls_model_metadata(const ls_model *m) { return m->file.metadata; }

ls_weights ls_model_weights(const ls_model *m) {
    ls_weights w = {.cfg = &m->cfg, .t = m->data, .bf16 = m->bf16};
    return w;
}

int ls_tensor_is_matrix(ls_tensor_id id) {
    if (id == LS_WTE) return 1;
    if (id < LS_GLOBAL_PARAMS) return 0;
    int p = (id - LS_GLOBAL_PARAMS) % LS_LAYER_PARAMS;
    return p == LS_ATTN_W || p == LS_ATTN_PROJ_W || p == LS_FC_W || p == LS_MLP_PROJ_W;
}

int ls_model_copy_f32(ls_model *m, ls_error *err) {
    if (m->bf16) return ls_fail(err, "the weights are already stored as bf16 (copy them before, or not at all)");
    if (m->f32_arena) return 0;
    const int n = ls_tensor_count(&m->cfg);
    size_t total = 0;
    for (ls_tensor_id id = 0; id < n; id++) /* owned: already a private copy, widened from F16/BF16 */
        if (!m->owned[id]) total += arena_slot((size_t)m->info[id].n_elems * sizeof(float));
    if (total == 0) return 0; /* every tensor is a private copy already */
    uint8_t *arena = m->f32_arena = weights_arena(total);
    if (!arena) return ls_fail(err, "out of memory copying the weights (%zu bytes)", total);
    for (ls_tensor_id id = 0; id < n; id++) {
        if (m->owned[id]) continue;
        size_t bytes = (size_t)m->info[id].n_elems * sizeof(float);
        memcpy(arena, m->data[id], bytes);
        ls_st_release(&m->file, m->data[id], bytes);
        m->data[id] = (const float *)(const void *)arena;
        arena += arena_slot(bytes);
    }
    return 0;
}

/* The file's BF16 tensor id, if it can be used where it lies; else NULL. */
static const uint16_t *mapped_bf16(const ls_model *m, ls_tensor_id id) {
    const uint8_t *src = m->file.data + ls_st_find(&m->file, m->info[id].file_key)->begin;
    return m->info[id].dtype == LS_DTYPE_BF16 && ((uintptr_t)src & 1u) == 0 ? (const uint16_t *)(const void *)src
                                                                            : NULL;
}

/* BF16 tensors of the file are used where they lie; others are rounded to
 * nearest even into one arena, and the fp32 pages they came from are
 * handed back to the page cache, so the process holds 16 bits a weight. */
int ls_model_store_bf16(ls_model *m, ls_error *err) {
    if (m->bf16) return 0;
    const int n = ls_tensor_count(&m->cfg);
    size_t total = 0;
    for (ls_tensor_id id = 0; id < n; id++)
        if (ls_tensor_is_matrix(id) && !mapped_bf16(m, id))
            total += arena_slot((size_t)m->info[id].n_elems * sizeof(uint16_t));
    const uint16_t **bf16 = calloc((size_t)n, sizeof *bf16);
    uint8_t *arena = total ? weights_arena(total) : NULL;
    if (!bf16 || (total && !arena)) {
        free(bf16);
        free(arena);
        return ls_fail(err, "out of memory for bf16 copies of the weights (%zu bytes)", total);
    }
    m->bf16 = bf16;
    m->bf16_arena = arena;
    for (ls_tensor_id id = 0; id < n; id++) {
        if (!ls_tensor_is_matrix(id)) continue;
        if ((bf16[id] = mapped_bf16(m, id))) continue;
        const int64_t count = m->info[id].n_elems;
        uint16_t *dst = (uint16_t *)(void *)arena;
        for (int64_t i = 0; i < count; i++) dst[i] = ls_f32_to_bf16(m->data[id][i]);
        bf16[id] = dst;
        arena += arena_slot((size_t)count * sizeof *dst);
        if (!m->owned[id]) ls_st_release(&m->file, m->data[id], (size_t)count * sizeof(float));
    }
    return 0;
}

int64_t ls_model_param_count(const ls_model *m) {
    int64_t total = 0;
    for (int i = 0; i < ls_tensor_count(&m->cfg); i++) total += m->info[i].n_elems;
    return total;
}
