/* overlay.c: the one mechanism through which weights change, and the modes.
 *
 * An overlay holds, per tensor id, the pointer the view shows: the clean
 * array until a lesion first touches the tensor, then a private copy made
 * at that moment (copy-on-write, so a W_Q lesion of one layer costs one
 * copy of that layer's c_attn.weight, never the model). Lesions write only
 * private copies; reset frees them and the view is the clean one again.
 *
 * Each lesion is applied group by group (see include/lesion/lesion.h): the
 * group's statistics are taken from the values it holds now (so lesions
 * compose), the mode writes new values, and the statistics before and
 * after are recorded. Random values depend only on (seed, tensor id,
 * element index, purpose), never on the order groups or lesions are
 * applied in. Everything that can fail (geometry, copies, scratch, the
 * statistics array) happens before the first write, so a failed apply
 * changes nothing visible. The work is sequential: applying a lesion costs
 * far less than the forward pass that follows it.
 *
 * The output matrix has its own id, LS_OUTPUT (the architecture table's
 * role). In a tied model it follows the embedding: a `wte` lesion changes
 * both uses, and the output's pointer follows the embedding's copy. `wte.in` and `wte.out`
 * untie them: from then on the head keeps the values it had (its own copy
 * once anything differs), and a later `wte` lesion writes the same new
 * values into both copies. Reset ties them again. */
#include <lesion.h>
#include "io/bf16.h"
#include "lesion/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ls_overlay {
    const ls_config *cfg;
    int n_tensors;
    int head;            /* LS_OUTPUT */
    int tied, follows;   /* the clean output is the embedding's memory; the view's output still follows it */
    const float **clean; /* [n_tensors] the clean view's pointers */
    const float **view;  /* [n_tensors] what ls_overlay_view shows */
    const uint16_t **clean16, **view16; /* [n_tensors] the clean view's bf16 storage and the shown one; NULL arrays for fp32 models */
    int compute_bf16;                   /* the clean view's, passed on to ls_overlay_view */
    float **own;         /* [n_tensors] private copies, NULL while untouched */
    int64_t *n_rows, *n_cols; /* [n_tensors] the 2-D view of each tensor (1-D: one row) */
    int *key;            /* [n_tensors] the tensor's ordinal: keys its random numbers (stable across families' id tables) */
    size_t bytes;
    ls_slice_stats *stats;
    int n_stats, cap_stats;
    int n_applied;
    ls_torch_gen *stream; /* rng torch-stream: seeded on its first draw after a reset */
    int stream_seeded;
};

ls_overlay *ls_overlay_new(const ls_weights *clean) {
    ls_overlay *ov = calloc(1, sizeof *ov);
    if (!ov) return NULL;
    ov->cfg = clean->cfg;
    ov->compute_bf16 = clean->compute_bf16;
    int n = ov->n_tensors = ls_tensor_count(clean->cfg);
    ov->head = LS_OUTPUT;
    ov->clean = calloc((size_t)n, sizeof *ov->clean);
    ov->view = calloc((size_t)n, sizeof *ov->view);
    ov->own = calloc((size_t)n, sizeof *ov->own);
    ov->n_rows = calloc((size_t)n, sizeof *ov->n_rows);
    ov->n_cols = calloc((size_t)n, sizeof *ov->n_cols);
    ov->key = calloc((size_t)n, sizeof *ov->key);
    if (clean->bf16) {
        ov->clean16 = calloc((size_t)n, sizeof *ov->clean16);
        ov->view16 = calloc((size_t)n, sizeof *ov->view16);
    }
    if (!ov->clean || !ov->view || !ov->own || !ov->n_rows || !ov->n_cols || !ov->key ||
        (clean->bf16 && (!ov->clean16 || !ov->view16))) {
        ls_overlay_free(ov);
        return NULL;
    }
    for (ls_tensor_id id = 0; id < n; id++) {
        ov->clean[id] = ov->view[id] = clean->t[id];
        if (clean->bf16) ov->clean16[id] = ov->view16[id] = clean->bf16[id];
        ls_tensor_info info;
        ls_tensor_expected(clean->cfg, id, &info);
        ov->n_rows[id] = info.ndim == 2 ? info.shape[0] : 1;
        ov->n_cols[id] = info.ndim == 2 ? info.shape[1] : info.shape[0];
        ov->key[id] = info.ordinal;
    }
    ls_tensor_info out;
    ls_tensor_expected(clean->cfg, LS_OUTPUT, &out);
    ov->tied = ov->follows = out.alias_of == LS_EMBED;
    return ov;
}

void ls_overlay_reset(ls_overlay *ov) {
    if (!ov) return;
    for (int id = 0; id < ov->n_tensors; id++) {
        free(ov->own[id]);
        ov->own[id] = NULL;
        ov->view[id] = ov->clean[id];
        if (ov->view16) ov->view16[id] = ov->clean16[id];
    }
    ov->bytes = 0;
    ov->n_stats = 0;
    ov->n_applied = 0;
    ov->follows = ov->tied;
    ov->stream_seeded = 0;
}

void ls_overlay_free(ls_overlay *ov) {
    if (!ov) return;
    if (ov->own && ov->view && ov->clean) ls_overlay_reset(ov);
    free(ov->clean);
    free(ov->view);
    free(ov->clean16);
    free(ov->view16);
    free(ov->own);
    free(ov->n_rows);
    free(ov->n_cols);
    free(ov->key);
    free(ov->stats);
    ls_torch_gen_free(ov->stream);
    free(ov);
}

ls_weights ls_overlay_view(const ls_overlay *ov) {
    return (ls_weights){.cfg = ov->cfg, .t = ov->view, .bf16 = ov->view16, .compute_bf16 = ov->compute_bf16};
}
size_t ls_overlay_bytes(const ls_overlay *ov) { return ov->bytes; }

const ls_slice_stats *ls_overlay_stats(const ls_overlay *ov, int *n) {
    *n = ov->n_stats;
    return ov->stats;
}

/* ---- groups ------------------------------------------------------------------- */

/* A group: rects r[0..n) of one tensor, whose data is t with n_cols columns. */
typedef struct group {
    const ls_rect *r;
    int n;
    float *t;
    int64_t n_cols;
    int64_t numel;
} group;

#define FOR_EACH_ELEMENT(g, flat)                                                   \
    for (int ri_ = 0; ri_ < (g)->n; ri_++)                                          \
        for (int64_t r_ = 0; r_ < (g)->r[ri_].rows; r_++)                           \
            for (int64_t flat = ((g)->r[ri_].row0 + r_) * (g)->n_cols + (g)->r[ri_].col0, \
                         end_ = flat + (g)->r[ri_].cols;                             \
                 flat < end_; flat++)

static void group_stats(const group *g, double *mean, double *std) {
    double sum = 0;
    FOR_EACH_ELEMENT(g, i) sum += g->t[i];
    double m = sum / (double)g->numel, ss = 0;
    FOR_EACH_ELEMENT(g, i) {
        double d = (double)g->t[i] - m;
        ss += d * d;
    }
    *mean = m;
    *std = g->numel > 1 ? sqrt(ss / (double)(g->numel - 1)) : 0.0;
}

static void gather(const group *g, float *buf) {
    int64_t k = 0;
    FOR_EACH_ELEMENT(g, i) buf[k++] = g->t[i];
}

static void scatter(const group *g, const float *buf) {
    int64_t k = 0;
    FOR_EACH_ELEMENT(g, i) g->t[i] = buf[k++];
}

/* Flat index (in the tensor) of the group's k-th element; start[i] is the
 * group index of rect i's first element. */
static int64_t flat_of(const group *g, const int64_t *start, int64_t k) {
    int lo = 0, hi = g->n - 1;
    while (lo < hi) { /* last rect with start <= k */
        int mid = (lo + hi + 1) / 2;
        if (start[mid] <= k) lo = mid;
        else hi = mid - 1;
    }
    const ls_rect *r = &g->r[lo];
    int64_t j = k - start[lo];
    return (r->row0 + j / r->cols) * g->n_cols + r->col0 + j % r->cols;
}

/* Fisher-Yates over the gathered values; step k draws at the flat index of element k. */
static void shuffle(const group *g, float *buf, int64_t *start, uint64_t seed, int key) {
    int64_t acc = 0;
    for (int i = 0; i < g->n; i++) start[i] = acc, acc += g->r[i].rows * g->r[i].cols;
    for (int64_t k = g->numel - 1; k > 0; k--) {
        int64_t j = (int64_t)ls_philox_below(seed, key, (uint64_t)flat_of(g, start, k), (uint64_t)k + 1);
        float tmp = buf[k];
        buf[k] = buf[j];
        buf[j] = tmp;
    }
}

/* key: the tensor's ordinal, which (with the seed and the element) keys its random numbers. */
static void apply_group(ls_overlay *ov, const ls_lesion *l, const group *g, int key, double mean, double std,
                        float *buf, float *scratch, int64_t *start) {
    switch (l->mode) {
    case LS_MODE_GAUSS:
        if (l->rng != LS_RNG_PHILOX) {
            gather(g, buf);
            ls_torch_kernel kernel = l->rng == LS_RNG_TORCH_SCALAR   ? LS_TORCH_DEFAULT
                                     : l->rng == LS_RNG_TORCH_AVX512 ? LS_TORCH_AVX512
                                                                     : LS_TORCH_AVX2;
            if (l->rng == LS_RNG_TORCH_STREAM) {
                if (!ov->stream_seeded) ls_torch_gen_seed(ov->stream, l->seed), ov->stream_seeded = 1;
                ls_torch_gauss_stream(buf, g->numel, ov->stream, kernel, l->torch_threads, scratch, NULL, NULL);
            } else {
                ls_torch_gauss(buf, g->numel, l->seed, kernel, l->torch_threads, scratch, NULL, NULL);
            }
            scatter(g, buf);
        } else {
            FOR_EACH_ELEMENT(g, i) g->t[i] = (float)(mean + std * ls_philox_gauss(l->seed, key, (uint64_t)i));
        }
        break;
    case LS_MODE_UNIFORM: {
        const double half_width = std * 1.7320508075688772935; /* sqrt(3) std */
        FOR_EACH_ELEMENT(g, i) g->t[i] = (float)(mean + half_width * (2.0 * ls_philox_uniform(l->seed, key, (uint64_t)i) - 1.0));
        break;
    }
    case LS_MODE_ZERO: FOR_EACH_ELEMENT(g, i) g->t[i] = 0.0f; break;
    case LS_MODE_MEAN: {
        const float m = (float)mean;
        FOR_EACH_ELEMENT(g, i) g->t[i] = m;
        break;
    }
    case LS_MODE_SCALE: FOR_EACH_ELEMENT(g, i) g->t[i] = (float)((double)g->t[i] * l->scale); break;
    case LS_MODE_SHUFFLE:
        gather(g, buf);
        shuffle(g, buf, start, l->seed, key);
        scatter(g, buf);
        break;
    }
}

/* ---- apply ----------------------------------------------------------------------- */

int ls_overlay_apply(ls_overlay *ov, const ls_lesion *l, ls_error *err) {
    ls_rect *rects;
    int n_rects;
    if (ls_lesion_rects(l, ov->cfg, &rects, &n_rects, err) != 0) return -1;
    const int torch = l->rng != LS_RNG_PHILOX && l->mode == LS_MODE_GAUSS;
    const int needs_buf = torch || l->mode == LS_MODE_SHUFFLE;

    /* Pass 1: check groups, size the scratch, count groups. */
    int n_groups = 0, max_rects = 1;
    int64_t max_numel = 0;
    for (int a = 0; a < n_rects;) {
        int b = a;
        int64_t numel = 0;
        while (b < n_rects && rects[b].group == rects[a].group) numel += rects[b].rows * rects[b].cols, b++;
        if (torch && b - a > 1) {
            char spec[160];
            ls_spec_format(&l->spec, spec, sizeof spec);
            ls_tensor_info info;
            ls_tensor_expected(ov->cfg, rects[a].id, &info);
            free(rects);
            return ls_fail(err, "rng torch: %s puts %d separate blocks into %s, but torch mode reproduces one contiguous "
                                "(rows, cols) slice per group: use match head, or apply the blocks as separate lesions",
                           spec, b - a, info.name);
        }
        if (torch && numel < 2) {
            free(rects);
            return ls_fail(err, "rng torch: a slice of %lld element has no std (torch gives NaN)", (long long)numel);
        }
        if (numel > max_numel) max_numel = numel;
        if (b - a > max_rects) max_rects = b - a;
        n_groups++;
        a = b;
    }

    /* Pass 2: everything that can fail, before the first write. */
    float *buf = NULL, *scratch = NULL;
    int64_t *start = NULL;
    int *fresh = calloc((size_t)ov->n_tensors, sizeof *fresh); /* copies made by this call */
    int ok = fresh != NULL;
    if (ok && l->rng == LS_RNG_TORCH_STREAM && torch && !ov->stream) ok = (ov->stream = ls_torch_gen_new()) != NULL;
    if (ok && needs_buf) {
        buf = malloc((size_t)max_numel * sizeof *buf);
        scratch = torch ? malloc((size_t)max_numel * sizeof *scratch) : NULL;
        start = malloc((size_t)max_rects * sizeof *start);
        ok = buf && start && (!torch || scratch);
    }
    if (ok && ov->n_stats + n_groups > ov->cap_stats) {
        int cap = ov->cap_stats ? ov->cap_stats : 16;
        while (cap < ov->n_stats + n_groups) cap *= 2;
        ls_slice_stats *s = realloc(ov->stats, (size_t)cap * sizeof *s);
        if (s) ov->stats = s, ov->cap_stats = cap;
        else ok = 0;
    }
    /* The head gets its own copy where wte's values are about to diverge from
     * what the head must keep: wte.in after a wte lesion (the head keeps the
     * lesioned values), or a wte lesion once untied (written into both). */
    const ls_component comp = l->spec.comp;
    const int untie = (comp == LS_COMP_WTE_IN || comp == LS_COMP_WTE_OUT) && ov->follows;
    const int mirror = comp == LS_COMP_WTE && !ov->follows && ov->tied;
    const int head_copy = (comp == LS_COMP_WTE_IN && untie && ov->view[ov->head] != ov->clean[ov->head]) || mirror;
    const float *head_before = ov->view[ov->head];
    const uint16_t *head16_before = ov->view16 ? ov->view16[ov->head] : NULL;
    for (int i = 0; ok && i < n_rects + head_copy; i++) {
        ls_tensor_id id = i < n_rects ? rects[i].id : ov->head;
        if (ov->own[id]) continue;
        size_t bytes = (size_t)(ov->n_rows[id] * ov->n_cols[id]) * sizeof(float);
        float *copy = malloc(bytes);
        if (!copy) {
            ok = 0;
            break;
        }
        /* The copy starts from the values the forward pass uses: with bf16
         * storage those are the widened bf16 values, so untouched parts of a
         * lesioned tensor stay exactly what the clean model computes with. */
        if (ov->view16 && ov->view16[id])
            for (int64_t k = 0; k < ov->n_rows[id] * ov->n_cols[id]; k++) copy[k] = ls_bf16_to_f32(ov->view16[id][k]);
        else
            memcpy(copy, ov->view[id], bytes);
        ov->own[id] = copy;
        ov->view[id] = copy;
        if (ov->view16) ov->view16[id] = NULL;
        ov->bytes += bytes;
        fresh[id] = 1;
    }
    if (!ok) {
        for (int id = 0; fresh && id < ov->n_tensors; id++)
            if (fresh[id]) {
                ov->bytes -= (size_t)(ov->n_rows[id] * ov->n_cols[id]) * sizeof(float);
                free(ov->own[id]);
                ov->own[id] = NULL;
                ov->view[id] = id == ov->head ? head_before : ov->clean[id];
                if (ov->view16) ov->view16[id] = id == ov->head ? head16_before : ov->clean16[id];
            }
        free(fresh), free(buf), free(scratch), free(start), free(rects);
        return ls_fail(err, "out of memory applying a lesion");
    }

    /* Pass 3: write, group by group. */
    for (int a = 0; a < n_rects;) {
        int b = a;
        int64_t numel = 0;
        while (b < n_rects && rects[b].group == rects[a].group) numel += rects[b].rows * rects[b].cols, b++;
        ls_tensor_id id = rects[a].id;
        group g = {rects + a, b - a, ov->own[id], ov->n_cols[id], numel};
        ls_slice_stats *st = &ov->stats[ov->n_stats++];
        *st = (ls_slice_stats){.lesion = ov->n_applied, .id = id, .head = rects[a].head, .is_bias = rects[a].is_bias, .n = numel};
        group_stats(&g, &st->mean_before, &st->std_before);
        apply_group(ov, l, &g, ov->key[id], st->mean_before, st->std_before, buf, scratch, start);
        group_stats(&g, &st->mean_after, &st->std_after);
        a = b;
    }
    if (untie) ov->follows = 0;
    if (comp == LS_COMP_WTE && ov->follows) { /* tied: the head is wte, lesioned or not */
        ov->view[ov->head] = ov->view[LS_EMBED];
        if (ov->view16) ov->view16[ov->head] = ov->view16[LS_EMBED];
    } else if (mirror) { /* untied: the same new values in the head's copy */
        for (int i = 0; i < n_rects; i++)
            for (int64_t r = 0; r < rects[i].rows; r++) {
                int64_t at = (rects[i].row0 + r) * ov->n_cols[LS_EMBED] + rects[i].col0;
                memcpy(ov->own[ov->head] + at, ov->own[LS_EMBED] + at, (size_t)rects[i].cols * sizeof(float));
            }
    }
    ov->n_applied++;
    free(fresh), free(buf), free(scratch), free(start), free(rects);
    return 0;
}
