/* model.c: opening a checkpoint of any family and exposing its clean weights.
 *
 * The safetensors files (one, or the shards model.safetensors.index.json
 * lists) are mapped read-only and every tensor the family's role table
 * (arch.c) expects is found and validated against config.json before any
 * pointer into it is used; a tensor the table does not know, other than the
 * family's known non-parameter buffers, is an error: a silently unused
 * weight would mean a silently wrong model. F32 parameters that are 4-byte
 * aligned are used in place (zero copies, pages shared with the page
 * cache); F16/BF16 parameters are widened to fp32 once, because all compute
 * is fp32. The clean weights are never written: lesions live in an overlay
 * (src/lesion/overlay.c), so undo never re-reads the file.
 *
 * GPT-2 keys may carry the "transformer." prefix (GPT2LMHeadModel). A tied
 * output matrix (LS_OUTPUT aliasing LS_EMBED) may also be stored (some
 * exports write lm_head.weight anyway): it must then equal the embedding. */
#include "lesion.h"
#include "io/bf16.h"
#include "io/safetensors.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct ls_model {
    ls_config cfg;
    char *dir;
    ls_st_file *files;     /* [n_files]: model.safetensors, or the shards in index order */
    int n_files;
    char **file_names;     /* [n_names] the files' names in the model directory (n_names >= n_files while opening) */
    int n_names;
    int *file_of;          /* [n_tensors] which file holds the tensor (-1: absent or alias) */
    ls_tensor_info *info;  /* [n_tensors] */
    const float **data;    /* [n_tensors] fp32 views (mapped or owned) */
    float **owned;         /* [n_tensors] converted copies to free, or NULL */
    const uint16_t **bf16; /* [n_tensors] bf16 storage of the matrices (ls_model_store_bf16), or NULL */
    void *f32_arena;       /* one block holding the ls_model_copy_f32 copies, or NULL */
    void *bf16_arena;      /* one block holding the bf16 roundings, or NULL */
    int compute_bf16;      /* ls_model_compute_bf16 */
};

const char *ls_dtype_name(ls_dtype dt) {
    switch (dt) {
    case LS_DTYPE_F32: return "F32";
    case LS_DTYPE_F16: return "F16";
    case LS_DTYPE_BF16: return "BF16";
    }
    return "?";
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

/* Makes an fp32 view of tensor t of file f: in place if possible, else a converted copy. */
static int fp32_view(ls_model *m, ls_tensor_id id, const ls_st_file *f, const ls_st_tensor *t, ls_error *err) {
    const uint8_t *src = f->data + t->begin;
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

/* The tensor named key in any of the files; *which gets the file index. */
static const ls_st_tensor *find_tensor(const ls_model *m, const char *key, int *which) {
    for (int i = 0; i < m->n_files; i++) {
        const ls_st_tensor *t = ls_st_find(&m->files[i], key);
        if (t) {
            *which = i;
            return t;
        }
    }
    return NULL;
}

static int parse_dtype(const ls_st_tensor *t, ls_dtype *out) {
    if (strcmp(t->dtype, "F32") == 0) *out = LS_DTYPE_F32;
    else if (strcmp(t->dtype, "F16") == 0) *out = LS_DTYPE_F16;
    else if (strcmp(t->dtype, "BF16") == 0) *out = LS_DTYPE_BF16;
    else return -1;
    return 0;
}

/* A stored copy of a tied output matrix must be the embedding, byte for byte. */
static int check_tied_copy(const ls_model *m, const char *where, ls_error *err) {
    const ls_tensor_info *emb = &m->info[LS_EMBED];
    static const char *const names[] = {"lm_head.weight", "embed_out.weight"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int fi = 0, fe = 0;
        const ls_st_tensor *head = find_tensor(m, names[k], &fi), *e = find_tensor(m, emb->file_key, &fe);
        if (!head || !e) continue;
        if (!shape_matches(head, emb) || strcmp(head->dtype, ls_dtype_name(emb->dtype)) != 0 ||
            memcmp(m->files[fi].data + head->begin, m->files[fe].data + e->begin, (size_t)(head->end - head->begin)))
            return ls_fail(err, "%s: %s differs from %s, but config.json ties them (tie_word_embeddings)", where,
                           names[k], emb->name);
    }
    return 0;
}

/* config.json's name for the layer count. */
static const char *layers_key(const ls_config *c) { return c->arch == LS_ARCH_GPT2 ? "n_layer" : "num_hidden_layers"; }

/* Finds every parameter the family's table expects in the files and checks
 * it; then refuses any tensor nobody asked for. */
static int bind_tensors(ls_model *m, const char *where, ls_error *err) {
    const int n = ls_tensor_count(&m->cfg);
    int prefixed = 0;
    if (m->cfg.arch == LS_ARCH_GPT2) {
        int fi;
        prefixed = find_tensor(m, "transformer.wte.weight", &fi) != NULL;
    }
    int n_files_tensors = 0;
    for (int i = 0; i < m->n_files; i++) n_files_tensors += m->files[i].n_tensors;
    char *used = calloc((size_t)n_files_tensors + 1, 1);
    if (!used) return ls_fail(err, "out of memory");
    int rc = 0;
    for (ls_tensor_id id = 0; id < n && rc == 0; id++) {
        ls_tensor_info *info = &m->info[id];
        ls_tensor_expected(&m->cfg, id, info);
        m->file_of[id] = -1;
        if (!info->n_elems || info->alias_of >= 0) continue;
        snprintf(info->file_key, sizeof info->file_key, "%s%s", prefixed ? "transformer." : "", info->name);
        int fi;
        const ls_st_tensor *t = find_tensor(m, info->file_key, &fi);
        if (!t) {
            rc = ls_fail(err, "%s: tensor \"%s\" is missing (config.json describes a %s model with %s=%d)", where,
                         info->file_key, ls_arch_name(m->cfg.arch), layers_key(&m->cfg), m->cfg.n_layer);
            break;
        }
        m->file_of[id] = fi;
        int base = 0;
        for (int i = 0; i < fi; i++) base += m->files[i].n_tensors;
        used[base + (int)(t - m->files[fi].tensors)] = 1;
        if (parse_dtype(t, &info->dtype) != 0) {
            rc = ls_fail(err, "%s: tensor \"%s\" has dtype %s (expected F32, F16 or BF16)", where, t->name, t->dtype);
            break;
        }
        if (!shape_matches(t, info)) {
            char got[96], want[96];
            shape_str(got, sizeof got, t->ndim, t->shape);
            shape_str(want, sizeof want, info->ndim, info->shape);
            rc = ls_fail(err, "%s: tensor \"%s\" has shape %s but config.json implies %s", where, t->name, got, want);
            break;
        }
        if (fp32_view(m, id, &m->files[fi], t, err) != 0) rc = ls_fail_context(err, "%s", where);
    }
    if (rc == 0 && m->cfg.tied_head) {
        m->info[LS_OUTPUT].dtype = m->info[LS_EMBED].dtype;
        snprintf(m->info[LS_OUTPUT].file_key, sizeof m->info[LS_OUTPUT].file_key, "%s", m->info[LS_EMBED].file_key);
        m->data[LS_OUTPUT] = m->data[LS_EMBED];
        rc = check_tied_copy(m, where, err);
    }
    /* Anything left: a buffer the family is known to carry, a tied copy
     * checked above, or a tensor this config does not explain. */
    for (int i = 0, k = 0; i < m->n_files && rc == 0; i++)
        for (int j = 0; j < m->files[i].n_tensors && rc == 0; j++, k++) {
            const char *name = m->files[i].tensors[j].name, *bare = name;
            if (used[k]) continue;
            if (prefixed && strncmp(bare, "transformer.", 12) == 0) bare += 12;
            if (ls_tensor_is_ignored_buffer(&m->cfg, bare)) continue;
            if (m->cfg.tied_head && (!strcmp(name, "lm_head.weight") || !strcmp(name, "embed_out.weight"))) continue;
            rc = ls_fail(err, "%s: has tensor \"%s\", which a %s model with %s=%d (config.json) does not have", where,
                         name, ls_arch_name(m->cfg.arch), layers_key(&m->cfg), m->cfg.n_layer);
        }
    free(used);
    return rc;
}

/* Opens model.safetensors, or the shards model.safetensors.index.json names
 * (each file once, in order of first mention; every tensor must then be in
 * the file the index says). */
static int open_files(ls_model *m, char *where, size_t where_cap, ls_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", m->dir);
    if (access(path, F_OK) != 0) {
        snprintf(where, where_cap, "%s/model.safetensors", m->dir);
        /* A download that holds only PyTorch pickles: say so, rather than "cannot open". */
        char pickle[4096];
        snprintf(pickle, sizeof pickle, "%s/pytorch_model.bin", m->dir);
        if (access(where, F_OK) != 0 && access(pickle, F_OK) == 0)
            return ls_fail(err, "%s: holds pytorch_model.bin but no model.safetensors: lesion reads safetensors only "
                                "(pickles can run code); convert it first",
                           m->dir);
        m->files = calloc(1, sizeof *m->files);
        m->file_names = calloc(1, sizeof *m->file_names);
        if (!m->files || !m->file_names || !(m->file_names[0] = strdup("model.safetensors")))
            return ls_fail(err, "out of memory");
        m->n_names = 1;
        if (ls_st_open(&m->files[0], where, err) != 0) return -1;
        m->n_files = 1;
        return 0;
    }
    snprintf(where, where_cap, "%s", path);
    char *text;
    size_t len;
    if (ls_read_file(path, &text, &len, err) != 0) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    int rc = 0;
    if (!map || !cJSON_IsObject(map) || !cJSON_GetArraySize(map))
        rc = ls_fail(err, "%s: expected a JSON object with a non-empty \"weight_map\"", path);
    int cap = cJSON_GetArraySize(map);
    char **names = rc ? NULL : calloc((size_t)cap, sizeof *names);
    if (!rc && !names) rc = ls_fail(err, "out of memory");
    m->files = rc ? NULL : calloc((size_t)cap, sizeof *m->files);
    m->file_names = rc ? NULL : calloc((size_t)cap, sizeof *m->file_names);
    if (!rc && (!m->files || !m->file_names)) rc = ls_fail(err, "out of memory");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, map) {
        if (rc) break;
        if (!cJSON_IsString(e) || !*e->valuestring || strchr(e->valuestring, '/')) {
            rc = ls_fail(err, "%s: weight_map[\"%.80s\"] must be a file name in the model directory", path, e->string);
            break;
        }
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(names[i], e->valuestring);
        if (seen) continue;
        names[n] = e->valuestring;
        if (!(m->file_names[n] = strdup(e->valuestring))) {
            rc = ls_fail(err, "out of memory");
            break;
        }
        m->n_names = n + 1;
        char shard[4400];
        snprintf(shard, sizeof shard, "%s/%s", m->dir, e->valuestring);
        if (ls_st_open(&m->files[n], shard, err) != 0) {
            rc = ls_fail_context(err, "%s", path);
            break;
        }
        m->n_files = ++n;
    }
    /* Every tensor where the index says it is. */
    cJSON_ArrayForEach(e, map) {
        if (rc) break;
        int which = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(names[i], e->valuestring)) which = i;
        if (!ls_st_find(&m->files[which], e->string))
            rc = ls_fail(err, "%s: \"%.80s\" is not in %s, where the index puts it", path, e->string, e->valuestring);
    }
    free(names);
    cJSON_Delete(root);
    return rc;
}

int ls_model_open(ls_model **out, const char *dir, ls_error *err) {
    *out = NULL;
    ls_model *m = calloc(1, sizeof *m);
    if (!m) return ls_fail(err, "out of memory");
    m->dir = strdup(dir);
    char path[4096], where[4096] = "";
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = m->dir ? ls_config_load(&m->cfg, path, err) : ls_fail(err, "out of memory");
    if (rc == 0) rc = open_files(m, where, sizeof where, err);
    if (rc == 0) {
        size_t n = (size_t)ls_tensor_count(&m->cfg);
        m->info = calloc(n, sizeof *m->info);
        m->data = calloc(n, sizeof *m->data);
        m->owned = calloc(n, sizeof *m->owned);
        m->file_of = calloc(n, sizeof *m->file_of);
        rc = (m->info && m->data && m->owned && m->file_of) ? bind_tensors(m, where, err)
                                                             : ls_fail(err, "out of memory");
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
    free(m->file_of);
    for (int i = 0; i < m->n_files; i++) ls_st_close(&m->files[i]);
    for (int i = 0; i < m->n_names; i++) free(m->file_names[i]);
    free(m->file_names);
    free(m->files);
    free(m->dir);
    free(m);
}

const ls_config *ls_model_config(const ls_model *m) { return &m->cfg; }
const char *ls_model_dir(const ls_model *m) { return m->dir; }
const ls_tensor_info *ls_model_tensor_info(const ls_model *m, ls_tensor_id id) { return &m->info[id]; }
const void *ls_model_metadata(const ls_model *m) { return m->n_files ? m->files[0].metadata : NULL; }
int ls_model_file_count(const ls_model *m) { return m->n_files; }
const char *ls_model_file_name(const ls_model *m, int i) { return m->file_names[i]; }
int ls_model_tensor_file(const ls_model *m, ls_tensor_id id) { return m->file_of[id]; }

ls_weights ls_model_weights(const ls_model *m) {
    ls_weights w = {.cfg = &m->cfg, .t = m->data, .bf16 = m->bf16, .compute_bf16 = m->compute_bf16};
    return w;
}

int ls_model_compute_bf16(ls_model *m, ls_error *err) {
    if (!m->bf16) return ls_fail(err, "bf16 compute needs the weights stored as bf16 first (--weights bf16)");
    m->compute_bf16 = 1;
    return 0;
}

/* A tensor the file holds (not absent, not an alias of another). */
static int is_file_tensor(const ls_model *m, ls_tensor_id id) { return m->file_of[id] >= 0; }

/* Points a tied output at its embedding's current storage again. */
static void refresh_alias(ls_model *m) {
    if (!m->cfg.tied_head) return;
    m->data[LS_OUTPUT] = m->data[LS_EMBED];
    if (m->bf16) m->bf16[LS_OUTPUT] = m->bf16[LS_EMBED];
}

int ls_model_copy_f32(ls_model *m, ls_error *err) {
    if (m->bf16) return ls_fail(err, "the weights are already stored as bf16 (copy them before, or not at all)");
    if (m->f32_arena) return 0;
    const int n = ls_tensor_count(&m->cfg);
    size_t total = 0;
    for (ls_tensor_id id = 0; id < n; id++) /* owned: already a private copy, widened from F16/BF16 */
        if (is_file_tensor(m, id) && !m->owned[id]) total += arena_slot((size_t)m->info[id].n_elems * sizeof(float));
    if (total == 0) return 0; /* every tensor is a private copy already */
    uint8_t *arena = m->f32_arena = weights_arena(total);
    if (!arena) return ls_fail(err, "out of memory copying the weights (%zu bytes)", total);
    for (ls_tensor_id id = 0; id < n; id++) {
        if (!is_file_tensor(m, id) || m->owned[id]) continue;
        size_t bytes = (size_t)m->info[id].n_elems * sizeof(float);
        memcpy(arena, m->data[id], bytes);
        ls_st_release(&m->files[m->file_of[id]], m->data[id], bytes);
        m->data[id] = (const float *)(const void *)arena;
        arena += arena_slot(bytes);
    }
    refresh_alias(m);
    return 0;
}

/* The file's BF16 tensor id, if it can be used where it lies; else NULL. */
static const uint16_t *mapped_bf16(const ls_model *m, ls_tensor_id id) {
    const ls_st_file *f = &m->files[m->file_of[id]];
    const uint8_t *src = f->data + ls_st_find(f, m->info[id].file_key)->begin;
    return m->info[id].dtype == LS_DTYPE_BF16 && ((uintptr_t)src & 1u) == 0 ? (const uint16_t *)(const void *)src
                                                                            : NULL;
}

/* BF16 tensors of the file are used where they lie; others are rounded to
 * nearest even into one arena, the fp32 vectors copied beside them, and the
 * fp32 pages they came from are handed back to the page cache, so the
 * process holds 16 bits a weight and nothing of the file's fp32 data. */
int ls_model_store_bf16(ls_model *m, ls_error *err) {
    if (m->bf16) return 0;
    const int n = ls_tensor_count(&m->cfg);
    size_t total = 0;
    for (ls_tensor_id id = 0; id < n; id++) {
        if (!is_file_tensor(m, id)) continue;
        const size_t count = (size_t)m->info[id].n_elems;
        if (ls_tensor_is_matrix(&m->cfg, id) && !mapped_bf16(m, id)) total += arena_slot(count * sizeof(uint16_t));
        else if (!ls_tensor_is_matrix(&m->cfg, id) && !m->owned[id]) total += arena_slot(count * sizeof(float));
    }
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
        if (!is_file_tensor(m, id)) continue;
        const int64_t count = m->info[id].n_elems;
        if (!ls_tensor_is_matrix(&m->cfg, id)) {
            /* The vectors (biases, norms, wpe) are copied too: reading a few
             * bytes of one in the mapping maps the page-cache folio around
             * it, pieces of the matrices beside it included (measured on
             * Linux 6.18: 73 MiB of GPT-2 124M's fp32 matrices back in RSS
             * by the end of a prefill). */
            if (m->owned[id]) continue;
            memcpy(arena, m->data[id], (size_t)count * sizeof(float));
            ls_st_release(&m->files[m->file_of[id]], m->data[id], (size_t)count * sizeof(float));
            m->data[id] = (const float *)(const void *)arena;
            arena += arena_slot((size_t)count * sizeof(float));
            continue;
        }
        if ((bf16[id] = mapped_bf16(m, id))) continue;
        uint16_t *dst = (uint16_t *)(void *)arena;
        for (int64_t i = 0; i < count; i++) dst[i] = ls_f32_to_bf16(m->data[id][i]);
        bf16[id] = dst;
        arena += arena_slot((size_t)count * sizeof *dst);
        if (!m->owned[id]) ls_st_release(&m->files[m->file_of[id]], m->data[id], (size_t)count * sizeof(float));
    }
    refresh_alias(m);
    return 0;
}

int64_t ls_model_param_count(const ls_model *m) {
    int64_t total = 0;
    for (int i = 0; i < ls_tensor_count(&m->cfg); i++)
        if (is_file_tensor(m, i)) total += m->info[i].n_elems;
    return total;
}

char *ls_model_config_json(const ls_model *m) {
    static const char *const norms[] = {"layernorm", "rmsnorm"}, *const acts[] = {"gelu_tanh", "gelu_erf", "silu"},
                             *const ropes[] = {"default", "linear", "llama3"};
    const ls_config *c = &m->cfg;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "model_type", ls_arch_name(c->arch));
    cJSON_AddStringToObject(o, "model", m->dir);
    cJSON_AddNumberToObject(o, "parameters", (double)ls_model_param_count(m));
    cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(o, "n_head", c->n_head);
    cJSON_AddNumberToObject(o, "n_kv_head", c->n_kv_head);
    cJSON_AddNumberToObject(o, "d_head", c->d_head);
    cJSON_AddNumberToObject(o, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(o, "n_ff", c->n_ff);
    cJSON_AddNumberToObject(o, "n_ctx", c->n_ctx);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "layer_norm_epsilon", (double)c->ln_eps);
    cJSON_AddStringToObject(o, "norm", norms[c->norm]);
    cJSON_AddStringToObject(o, "activation", acts[c->act]);
    cJSON_AddBoolToObject(o, "learned_pos", c->learned_pos);
    cJSON_AddNumberToObject(o, "rope_dims", c->rope_dims);
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    cJSON_AddStringToObject(o, "rope_scaling", ropes[c->rope_scaling]);
    cJSON_AddBoolToObject(o, "fused_qkv", c->fused_qkv);
    cJSON_AddBoolToObject(o, "qkv_bias", c->qkv_bias);
    cJSON_AddBoolToObject(o, "out_bias", c->out_bias);
    cJSON_AddBoolToObject(o, "parallel_residual", c->parallel_residual);
    cJSON_AddBoolToObject(o, "tied_head", c->tied_head);
    cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    cJSON_AddNumberToObject(o, "bos_id", c->bos_id);
    cJSON_AddNumberToObject(o, "eos_id", c->eos_id);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
