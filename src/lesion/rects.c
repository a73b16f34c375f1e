/* rects.c: slice geometry, where W_Q is sliced. A parsed lesion becomes
 * rectangles of tensors (rows x cols of each tensor's 2-D view, in the
 * Hugging Face Conv1D layout, y = x W + b, W (in, out)), grouped into the
 * statistics groups the modes work on.
 *
 *   attn.q/k/v  c_attn.weight (C,3C): all rows; block k in {q,k,v} is cols
 *               k*C .. k*C+C-1 and head h owns cols k*C + h*D .. + D-1
 *   attn.o      attn.c_proj.weight (C,C): head h owns rows h*D .. h*D+D-1
 *               (its rows multiply head h's slice of the attention output)
 *   mlp.fc      c_fc.weight (C,4C): D selects columns (output units)
 *   mlp.proj    mlp.c_proj.weight (4C,C): D selects columns (output dims)
 *   ln1/ln2/lnf LayerNorm weight (C) = 1 row: D selects columns
 *   wte, wpe    (V,C), (n_ctx,C): D selects columns
 * Bias slices (with_bias) are documented in include/lesion/lesion.h. */
#include <lesion.h>

#include <stdlib.h>
#include <string.h>

typedef struct rect_list {
    ls_rect *r;
    int n, cap, groups;
    int oom;
} rect_list;

static void add(rect_list *L, ls_tensor_id id, int64_t row0, int64_t rows, int64_t col0, int64_t cols, int group,
                int head, int is_bias) {
    if (L->oom) return;
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 16;
        ls_rect *r = realloc(L->r, (size_t)cap * sizeof *r);
        if (!r) {
            L->oom = 1;
            return;
        }
        L->r = r, L->cap = cap;
    }
    L->r[L->n++] = (ls_rect){id, row0, rows, col0, cols, group, head, is_bias};
}

/* Adds the index ranges of `set` (or 0..all-1 when empty) as column ranges
 * [off + lo*width, ...) of full rows, or as row ranges of full columns. */
static void add_ranges(rect_list *L, const ls_index_set *set, int all, int64_t width, int64_t off, int as_rows,
                       ls_tensor_id id, int64_t n_rows, int64_t n_cols, ls_match match, int is_bias) {
    int whole_group = L->groups;
    if (match == LS_MATCH_TENSOR) L->groups++;
    int n = set->n ? set->n : 1;
    for (int i = 0; i < n; i++) {
        int lo = set->n ? set->r[i].lo : 0, hi = set->n ? set->r[i].hi : all - 1;
        if (match == LS_MATCH_TENSOR) {
            int64_t a = off + lo * width, len = (int64_t)(hi - lo + 1) * width;
            if (as_rows) add(L, id, a, len, 0, n_cols, whole_group, -1, is_bias);
            else add(L, id, 0, n_rows, a, len, whole_group, -1, is_bias);
        } else {
            for (int h = lo; h <= hi; h++) {
                int64_t a = off + h * width;
                if (as_rows) add(L, id, a, width, 0, n_cols, L->groups++, h, is_bias);
                else add(L, id, 0, n_rows, a, width, L->groups++, h, is_bias);
            }
        }
    }
}

static int check_set(const ls_index_set *s, int max, const char *what, ls_error *err) {
    for (int i = 0; i < s->n; i++)
        if (s->r[i].lo < 0 || s->r[i].hi < s->r[i].lo || s->r[i].hi >= max)
            return ls_fail(err, "lesion does not fit this model: %s %d out of range 0-%d", what, s->r[i].hi, max - 1);
    return 0;
}

int ls_lesion_rects(const ls_lesion *l, const ls_config *cfg, ls_rect **out, int *n_rects, ls_error *err) {
    *out = NULL;
    *n_rects = 0;
    const ls_spec *s = &l->spec;
    const int64_t C = cfg->n_embd, H = cfg->n_head, D = C / H;
    const int per_layer = s->comp != LS_COMP_LNF && s->comp != LS_COMP_WTE && s->comp != LS_COMP_WPE;
    const int n_dims = s->comp == LS_COMP_MLP_FC ? (int)(4 * C) : (int)C;
    if (check_set(&s->layers, cfg->n_layer, "layer", err) || check_set(&s->heads, cfg->n_head, "head", err) ||
        check_set(&s->dims, n_dims, "dim", err))
        return -1;
    if (per_layer && !s->layers.n) return ls_fail(err, "lesion has no layers");
    /* attn.o's bias is shared by all heads: only a lesion of every head takes it. */
    const int all_heads = !s->heads.n || (s->heads.n == 1 && s->heads.r[0].lo == 0 && s->heads.r[0].hi == H - 1);
    const ls_match match = l->match;

    rect_list L = {0};
    int n_layer_ranges = per_layer ? s->layers.n : 1;
    for (int i = 0; i < n_layer_ranges; i++) {
        int lo = per_layer ? s->layers.r[i].lo : 0, hi = per_layer ? s->layers.r[i].hi : 0;
        for (int layer = lo; layer <= hi; layer++) {
            switch (s->comp) {
            case LS_COMP_ATTN_Q:
            case LS_COMP_ATTN_K:
            case LS_COMP_ATTN_V: {
                int64_t off = (int64_t)(s->comp - LS_COMP_ATTN_Q) * C;
                add_ranges(&L, &s->heads, (int)H, D, off, 0, ls_layer_tensor(layer, LS_ATTN_W), C, 3 * C, match, 0);
                if (l->with_bias)
                    add_ranges(&L, &s->heads, (int)H, D, off, 0, ls_layer_tensor(layer, LS_ATTN_B), 1, 3 * C, match, 1);
                break;
            }
            case LS_COMP_ATTN_O:
                add_ranges(&L, &s->heads, (int)H, D, 0, 1, ls_layer_tensor(layer, LS_ATTN_PROJ_W), C, C, match, 0);
                if (l->with_bias && all_heads) add(&L, ls_layer_tensor(layer, LS_ATTN_PROJ_B), 0, 1, 0, C, L.groups++, -1, 1);
                break;
            default: {
                ls_tensor_id w, b;
                int64_t rows;
                switch (s->comp) {
                case LS_COMP_MLP_FC: w = ls_layer_tensor(layer, LS_FC_W), b = ls_layer_tensor(layer, LS_FC_B), rows = C; break;
                case LS_COMP_MLP_PROJ:
                    w = ls_layer_tensor(layer, LS_MLP_PROJ_W), b = ls_layer_tensor(layer, LS_MLP_PROJ_B), rows = 4 * C;
                    break;
                case LS_COMP_LN1: w = ls_layer_tensor(layer, LS_LN1_W), b = ls_layer_tensor(layer, LS_LN1_B), rows = 1; break;
                case LS_COMP_LN2: w = ls_layer_tensor(layer, LS_LN2_W), b = ls_layer_tensor(layer, LS_LN2_B), rows = 1; break;
                case LS_COMP_LNF: w = LS_LNF_W, b = LS_LNF_B, rows = 1; break;
                case LS_COMP_WTE: w = LS_WTE, b = -1, rows = cfg->vocab_size; break;
                default: w = LS_WPE, b = -1, rows = cfg->n_ctx; break;
                }
                add_ranges(&L, &s->dims, n_dims, 1, 0, 0, w, rows, n_dims, LS_MATCH_TENSOR, 0);
                if (l->with_bias && b >= 0) add_ranges(&L, &s->dims, n_dims, 1, 0, 0, b, 1, n_dims, LS_MATCH_TENSOR, 1);
                break;
            }
            }
        }
    }
    if (L.oom) {
        free(L.r);
        return ls_fail(err, "out of memory (lesion geometry)");
    }
    *out = L.r;
    *n_rects = L.n;
    return 0;
}
