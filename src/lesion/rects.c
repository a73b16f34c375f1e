/* rects.c: slice geometry, where W_Q is sliced. A parsed lesion becomes
 * rectangles of tensors (rows x cols of each tensor's 2-D view as stored in
 * the file), grouped into the statistics groups the modes work on.
 *
 * Which tensor a component names, and where its heads or units sit, comes
 * from one geometry per (family, component), built from the architecture
 * table's roles and layouts (ls_component_geometry below):
 *   - a matrix's OUTPUT units (attn.q/k/v heads, mlp.fc/up/gate units,
 *     mlp.proj/down output dims) are its columns when stored (in, out)
 *     (GPT-2's Conv1D) and its rows when stored (out, in) (everyone else);
 *   - attn.o's heads are its INPUT units: rows of GPT-2's (C,C) c_proj,
 *     columns of o_proj / dense (C, H*D);
 *   - in a fused Q/K/V matrix head h of Q is at unit h*D (GPT-2: [Q|K|V]
 *     blocks, K from H*D, V from H*D + KV*D) or at 3hD (GPT-NeoX's per-head
 *     interleaving [q_h|k_h|v_h], K at 3hD + D, V at 3hD + 2D);
 *   - under grouped-query attention attn.k and attn.v select key/value
 *     heads (0..KV-1), attn.q and attn.o query heads (0..H-1);
 *   - norms, embeddings and the output matrix: D selects elements / columns;
 *     on a tied model wte.in is the embedding's lookup use (LS_EMBED) and
 *     wte.out its output use (LS_OUTPUT), which the overlay separates.
 * Bias slices (with_bias) follow the weight's units; see include/lesion/lesion.h. */
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

/* Adds the index ranges of `set` (or 0..all-1 when empty) as unit ranges:
 * index i covers units [off + i*stride, off + i*stride + width) of full rows
 * (as_rows) or full columns. Contiguous ranges (stride == width) with match
 * tensor are one rectangle each; otherwise one rectangle per index, in one
 * group (match tensor) or one group each (match head). */
static void add_ranges(rect_list *L, const ls_index_set *set, int all, int64_t width, int64_t stride, int64_t off,
                       int as_rows, ls_tensor_id id, int64_t n_rows, int64_t n_cols, ls_match match, int is_bias) {
    int whole_group = L->groups;
    if (match == LS_MATCH_TENSOR) L->groups++;
    int n = set->n ? set->n : 1;
    for (int i = 0; i < n; i++) {
        int lo = set->n ? set->r[i].lo : 0, hi = set->n ? set->r[i].hi : all - 1;
        if (match == LS_MATCH_TENSOR && stride == width) {
            int64_t a = off + lo * stride, len = (int64_t)(hi - lo + 1) * width;
            if (as_rows) add(L, id, a, len, 0, n_cols, whole_group, -1, is_bias);
            else add(L, id, 0, n_rows, a, len, whole_group, -1, is_bias);
            continue;
        }
        for (int h = lo; h <= hi; h++) {
            int64_t a = off + h * stride;
            int group = match == LS_MATCH_TENSOR ? whole_group : L->groups++;
            int head = match == LS_MATCH_TENSOR ? -1 : h;
            if (as_rows) add(L, id, a, width, 0, n_cols, group, head, is_bias);
            else add(L, id, 0, n_rows, a, width, group, head, is_bias);
        }
    }
}

static int check_set(const ls_index_set *s, int max, const char *what, ls_error *err) {
    for (int i = 0; i < s->n; i++)
        if (s->r[i].lo < 0 || s->r[i].hi < s->r[i].lo || s->r[i].hi >= max)
            return ls_fail(err, "lesion does not fit this model: %s %d out of range 0-%d", what, s->r[i].hi, max - 1);
    return 0;
}

/* ---- component geometry ----------------------------------------------------------- */

int ls_component_geometry(const ls_config *cfg, ls_component comp, ls_comp_geom *g) {
    memset(g, 0, sizeof *g);
    g->bias = -1;
    const int64_t D = cfg->d_head, HD = (int64_t)cfg->n_head * D, KVD = (int64_t)cfg->n_kv_head * D;
    const int neox = cfg->arch == LS_ARCH_GPT_NEOX;
    int role = -1, bias = -1, per_layer = 1;
    switch (comp) {
    case LS_COMP_ATTN_Q:
    case LS_COMP_ATTN_K:
    case LS_COMP_ATTN_V: {
        int k = comp - LS_COMP_ATTN_Q;
        g->heads = k == 0 ? cfg->n_head : cfg->n_kv_head;
        g->head_width = D;
        if (cfg->fused_qkv) {
            role = LS_QKV_W, bias = LS_QKV_B;
            g->head_stride = neox ? 3 * D : D;
            g->head_base = neox ? k * D : (k == 0 ? 0 : k == 1 ? HD : HD + KVD);
        } else {
            role = k == 0 ? LS_Q_W : k == 1 ? LS_K_W : LS_V_W;
            bias = role + 1; /* LS_Q_B, LS_K_B, LS_V_B follow their weights */
            g->head_stride = D;
        }
        break;
    }
    case LS_COMP_ATTN_O:
        role = LS_ATTN_OUT_W, bias = LS_ATTN_OUT_B;
        g->heads = cfg->n_head, g->head_width = g->head_stride = D;
        g->input_side = 1;
        g->bias_whole = 1;
        break;
    case LS_COMP_MLP_FC:
    case LS_COMP_MLP_UP:
        if ((comp == LS_COMP_MLP_FC) == (cfg->act == LS_ACT_SILU)) return -1; /* fc: GPT-2/NeoX; up: SwiGLU */
        role = LS_FFN_UP_W, bias = LS_FFN_UP_B;
        break;
    case LS_COMP_MLP_PROJ:
    case LS_COMP_MLP_DOWN:
        if ((comp == LS_COMP_MLP_PROJ) == (cfg->act == LS_ACT_SILU)) return -1;
        role = LS_FFN_DOWN_W, bias = LS_FFN_DOWN_B;
        break;
    case LS_COMP_MLP_GATE: role = LS_FFN_GATE_W; break;
    case LS_COMP_LN1: role = LS_ATTN_NORM_W, bias = LS_ATTN_NORM_B; break;
    case LS_COMP_LN2: role = LS_FFN_NORM_W, bias = LS_FFN_NORM_B; break;
    case LS_COMP_LNF: role = LS_OUT_NORM_W, bias = LS_OUT_NORM_B, per_layer = 0; break;
    case LS_COMP_WTE: role = LS_EMBED, per_layer = 0, g->embed_dims = 1; break; /* tied: the overlay makes the output follow */
    case LS_COMP_WTE_IN:  /* one use of a tied embedding: the lookup ... */
    case LS_COMP_WTE_OUT: /* ... or the output matrix */
        if (!cfg->tied_head) return -1; /* untied: wte and head are separate matrices already */
        role = comp == LS_COMP_WTE_IN ? LS_EMBED : LS_OUTPUT, per_layer = 0, g->embed_dims = 1;
        break;
    case LS_COMP_WPE: role = LS_POS_EMBED, per_layer = 0, g->embed_dims = 1; break;
    case LS_COMP_HEAD:
        if (cfg->tied_head) return -1; /* the tied output is wte */
        role = LS_OUTPUT, per_layer = 0, g->embed_dims = 1;
        break;
    default: return -1;
    }
    g->per_layer = per_layer;
    g->role = role;
    /* Probe layer 0 (every layer has the same roles). */
    ls_tensor_id id = per_layer ? ls_layer_tensor(0, (ls_layer_role)role) : role;
    if (!ls_tensor_present(cfg, id)) return -1;
    if (bias >= 0 && ls_tensor_present(cfg, per_layer ? ls_layer_tensor(0, (ls_layer_role)bias) : bias)) g->bias = bias;
    int64_t rows, cols;
    ls_layout layout;
    ls_tensor_shape(cfg, id, &rows, &cols, &layout);
    if (layout == LS_LAYOUT_VECTOR) {
        g->units_are_rows = 0, g->n_units = rows; /* a vector is one row of n columns */
    } else if (g->embed_dims) {
        g->units_are_rows = 0, g->n_units = cols;
    } else {
        /* Output units: columns of (in,out), rows of (out,in); attn.o's heads the other way. */
        int out_rows = layout == LS_LAYOUT_OUT_IN;
        g->units_are_rows = g->input_side ? !out_rows : out_rows;
        g->n_units = g->units_are_rows ? rows : cols;
    }
    return 0;
}

/* (rows, cols) of a tensor's 2-D view: a vector is one row. */
static void view_2d(const ls_config *cfg, ls_tensor_id id, int64_t *rows, int64_t *cols) {
    ls_layout layout;
    ls_tensor_shape(cfg, id, rows, cols, &layout);
    if (*cols == 0) *cols = *rows, *rows = 1;
}

int ls_lesion_rects(const ls_lesion *l, const ls_config *cfg, ls_rect **out, int *n_rects, ls_error *err) {
    *out = NULL;
    *n_rects = 0;
    const ls_spec *s = &l->spec;
    ls_comp_geom g;
    if (ls_component_geometry(cfg, s->comp, &g) != 0)
        return ls_fail(err, "lesion does not fit this model: a %s model has no %s", ls_arch_name(cfg->arch),
                       ls_component_name(s->comp));
    if (check_set(&s->layers, cfg->n_layer, "layer", err) || check_set(&s->heads, g.heads ? g.heads : 1, "head", err) ||
        check_set(&s->dims, (int)g.n_units, "dim", err))
        return -1;
    if (g.per_layer && !s->layers.n) return ls_fail(err, "lesion has no layers");
    /* attn.o's bias is shared by all heads: only a lesion of every head takes it. */
    const int all_heads =
        !s->heads.n || (s->heads.n == 1 && s->heads.r[0].lo == 0 && s->heads.r[0].hi == g.heads - 1);
    const int want_bias = l->with_bias && g.bias >= 0 && (!g.bias_whole || all_heads);

    rect_list L = {0};
    int n_layer_ranges = g.per_layer ? s->layers.n : 1;
    for (int i = 0; i < n_layer_ranges; i++) {
        int lo = g.per_layer ? s->layers.r[i].lo : 0, hi = g.per_layer ? s->layers.r[i].hi : 0;
        for (int layer = lo; layer <= hi; layer++) {
            ls_tensor_id w = g.per_layer ? ls_layer_tensor(layer, (ls_layer_role)g.role) : g.role;
            ls_tensor_id b = g.bias < 0 ? -1 : g.per_layer ? ls_layer_tensor(layer, (ls_layer_role)g.bias) : g.bias;
            int64_t rows, cols, brows, bcols;
            view_2d(cfg, w, &rows, &cols);
            if (g.heads) {
                add_ranges(&L, &s->heads, g.heads, g.head_width, g.head_stride, g.head_base, g.units_are_rows, w, rows,
                           cols, l->match, 0);
                if (want_bias && g.bias_whole) {
                    view_2d(cfg, b, &brows, &bcols);
                    add(&L, b, 0, 1, 0, bcols, L.groups++, -1, 1);
                } else if (want_bias) {
                    view_2d(cfg, b, &brows, &bcols);
                    add_ranges(&L, &s->heads, g.heads, g.head_width, g.head_stride, g.head_base, 0, b, 1, bcols,
                               l->match, 1);
                }
            } else {
                add_ranges(&L, &s->dims, (int)g.n_units, 1, 1, 0, g.units_are_rows, w, rows, cols, LS_MATCH_TENSOR, 0);
                if (want_bias) {
                    view_2d(cfg, b, &brows, &bcols);
                    add_ranges(&L, &s->dims, (int)g.n_units, 1, 1, 0, 0, b, 1, bcols, LS_MATCH_TENSOR, 1);
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
