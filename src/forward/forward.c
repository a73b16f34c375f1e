/* forward.c: one forward pass for every family, over a weights view.
 *
 * One parameterised pre-norm block; the config's kinds choose its
 * branches (see include/lesion.h):
 *   a  = norm1(x)                          LayerNorm (GPT-2, GPT-NeoX) or RMSNorm (Llama family)
 *   q, k, v = projections of a             one fused matrix (GPT-2; GPT-NeoX, per-head interleaved) or three
 *   q, k = rotary(q, k)                    Llama family, GPT-NeoX (partial)
 *   y  = attention(q, k, v) @ W_o          grouped-query when KV < H; sliding window (Mistral)
 *   sequential:  x += y;  x += mlp(norm2(x))
 *   parallel:    x += y + mlp(norm2(x_in))  (GPT-NeoX's use_parallel_residual)
 *   mlp(h) = down(act(up(h)))  or  down(silu(gate(h)) * up(h))  (SwiGLU)
 * Every matrix goes through project(), which reads the role's layout (GPT-2
 * stores (in, out), everything else (out, in)) from the architecture table.
 * The pass never knows whether a view is clean or lesioned. All buffers are
 * allocated once in ls_state and reused across layers and calls; the KV
 * cache holds every layer's keys and values (after rotary), so generation
 * runs each new token through the model once. */
#include <lesion.h>
#include "io/bf16.h"

#include <stdlib.h>
#include <string.h>

struct ls_state {
    ls_config cfg;
    int max_batch, max_seq, n_threads;
    float *x;      /* (B,T,C)  residual stream for ls_forward */
    float *xn;     /* (B,T,C)  normalised input of a sublayer */
    float *qkv;    /* (B,T,QKV) fused projection (QKV = (H + 2 KV) D), or q (B,T,H*D) with separate ones */
    float *q;      /* (B,T,H*D) queries when they cannot be read in place from qkv (GPT-NeoX, Llama family) */
    float *k, *v;  /* (B,T,KV*D) new keys and values before they enter the cache (all but GPT-2) */
    float *att;    /* (B,T,H*D) attention output before the output projection */
    float *proj;   /* (B,T,C)  sublayer output before the residual add */
    float *mlp;    /* (B,T,C)  parallel residual: the MLP's output */
    float *fc;     /* (B,T,F) */
    float *gate;   /* (B,T,F)  SwiGLU's gate */
    float *kv;     /* (L,2,B,S,KV*D) key and value caches, S = max_seq */
    float *scores; /* attention scratch (ls_attention_scratch_floats) */
    void *wide;    /* bf16 weight panels widened for sgemm (ls_matmul_bf16_scratch_floats), or the rounded
                      activations and bf16 pairs of --compute bf16 (ls_matmul_bf16dot_scratch_bytes); untouched
                      with fp32 weights (a large malloc is mapped lazily: no memory until used) */
    float *rope_cos, *rope_sin; /* (S, rope_dims/2) */
    ls_hooks hooks;     /* ask == NULL: none */
    float *pattern;     /* (B,H,S,S) attention weights, only when a hook asks for attn.pattern */
    float *row_entropy; /* NULL, or (L,B,H,S) attention-row entropies of each layer's last call */
    int32_t *row_argmax; /* NULL, or (L,B,H,S) most-attended key positions, likewise */
};

int ls_state_new(ls_state **out, const ls_config *cfg, int max_batch, int max_seq, int n_threads, ls_error *err) {
    *out = NULL;
    if (max_batch < 1 || max_seq < 1 || max_seq > cfg->n_ctx || n_threads < 1)
        return ls_fail(err, "invalid state shape: batch %d, length %d (context %d), threads %d", max_batch, max_seq,
                       cfg->n_ctx, n_threads);
    ls_state *s = calloc(1, sizeof *s);
    if (!s) return ls_fail(err, "out of memory");
    s->cfg = *cfg;
    s->max_batch = max_batch;
    s->max_seq = max_seq;
    s->n_threads = n_threads;
    const size_t rows = (size_t)max_batch * (size_t)max_seq, C = (size_t)cfg->n_embd, F = (size_t)cfg->n_ff;
    const size_t HD = (size_t)cfg->n_head * cfg->d_head, KVD = (size_t)cfg->n_kv_head * cfg->d_head;
    const size_t QKV = HD + 2 * KVD;
    const int gpt2_qkv = cfg->fused_qkv && cfg->arch == LS_ARCH_GPT2;
    s->x = malloc(rows * C * sizeof(float));
    s->xn = malloc(rows * C * sizeof(float));
    s->qkv = malloc(rows * (cfg->fused_qkv ? QKV : HD) * sizeof(float));
    s->q = gpt2_qkv ? NULL : cfg->fused_qkv ? malloc(rows * HD * sizeof(float)) : s->qkv;
    s->k = gpt2_qkv ? NULL : malloc(rows * KVD * sizeof(float));
    s->v = gpt2_qkv ? NULL : malloc(rows * KVD * sizeof(float));
    s->att = malloc(rows * HD * sizeof(float));
    s->proj = malloc(rows * C * sizeof(float));
    s->mlp = cfg->parallel_residual ? malloc(rows * C * sizeof(float)) : NULL;
    s->fc = malloc(rows * F * sizeof(float));
    s->gate = cfg->act == LS_ACT_SILU ? malloc(rows * F * sizeof(float)) : NULL;
    s->kv = malloc((size_t)cfg->n_layer * 2 * rows * KVD * sizeof(float));
    s->scores = malloc(ls_attention_scratch_floats(max_seq, n_threads) * sizeof(float));
    size_t inner = C > F ? C : F; /* the widest input of any product */
    if (HD > inner) inner = HD;
    size_t wide_bytes = ls_matmul_bf16_scratch_floats((int64_t)inner, n_threads) * sizeof(float);
    size_t dot_bytes = ls_matmul_bf16dot_scratch_bytes((int64_t)rows, (int64_t)inner, n_threads);
    s->wide = malloc(wide_bytes > dot_bytes ? wide_bytes : dot_bytes);
    int ok = s->x && s->xn && s->qkv && s->att && s->proj && s->fc && s->kv && s->scores && s->wide &&
             (gpt2_qkv || (s->q && s->k && s->v)) && (!cfg->parallel_residual || s->mlp) &&
             (cfg->act != LS_ACT_SILU || s->gate);
    if (ok && cfg->rope_dims > 0) {
        int half = cfg->rope_dims / 2;
        double *inv = malloc((size_t)half * sizeof *inv);
        s->rope_cos = malloc((size_t)max_seq * (size_t)half * sizeof(float));
        s->rope_sin = malloc((size_t)max_seq * (size_t)half * sizeof(float));
        ok = inv && s->rope_cos && s->rope_sin;
        if (ok) {
            ls_rope_frequencies(inv, cfg);
            ls_rope_table(s->rope_cos, s->rope_sin, inv, half, max_seq);
        }
        free(inv);
    }
    if (!ok) {
        ls_state_free(s);
        return ls_fail(err, "out of memory for activations (batch %d x %d positions)", max_batch, max_seq);
    }
    *out = s;
    return 0;
}

void ls_state_free(ls_state *s) {
    if (!s) return;
    free(s->x);
    free(s->xn);
    if (s->q != s->qkv) free(s->q);
    free(s->qkv);
    free(s->k);
    free(s->v);
    free(s->att);
    free(s->proj);
    free(s->mlp);
    free(s->fc);
    free(s->gate);
    free(s->kv);
    free(s->scores);
    free(s->wide);
    free(s->rope_cos);
    free(s->rope_sin);
    free(s->row_entropy);
    free(s->row_argmax);
    free(s->pattern);
    free(s);
}

/* ---- sites and hooks ------------------------------------------------------------ */

static const char *const k_site_names[LS_SITE_COUNT] = {
    "resid_pre", "ln1.out", "attn.q",  "attn.k",   "attn.v",   "attn.pattern", "attn.z",  "attn.out",  "resid_mid",
    "ln2.out",   "mlp.pre", "mlp.up",  "mlp.post", "mlp.out",  "resid_post",   "lnf.out", "logits",
};

const char *ls_site_name(ls_site site) { return (unsigned)site < LS_SITE_COUNT ? k_site_names[site] : "?"; }

int ls_site_has_heads(ls_site site) { return site >= LS_SITE_ATTN_Q && site <= LS_SITE_ATTN_Z; }

int ls_site_exists(const ls_config *cfg, ls_site site) {
    if (site == LS_SITE_MLP_UP) return cfg->act == LS_ACT_SILU;
    if (site == LS_SITE_RESID_MID) return !cfg->parallel_residual;
    return (unsigned)site < LS_SITE_COUNT;
}

int ls_state_set_hooks(ls_state *s, const ls_hooks *hooks, ls_error *err) {
    memset(&s->hooks, 0, sizeof s->hooks);
    free(s->pattern);
    s->pattern = NULL;
    if (!hooks || !hooks->ask) return 0;
    s->hooks = *hooks;
    int patterns = 0;
    for (int l = 0; l < s->cfg.n_layer; l++) patterns |= (hooks->ask(hooks->ctx, l) >> LS_SITE_ATTN_PATTERN) & 1u;
    if (patterns) {
        size_t n = (size_t)s->max_batch * (size_t)s->cfg.n_head * (size_t)s->max_seq * (size_t)s->max_seq;
        if (!(s->pattern = malloc(n * sizeof *s->pattern))) {
            memset(&s->hooks, 0, sizeof s->hooks);
            return ls_fail(err, "out of memory for attention patterns (%zu floats)", n);
        }
    }
    return 0;
}

/* The sites the hooks want at this layer (-1: the head), or 0 without hooks. */
static uint32_t asked(const ls_state *s, int layer) { return s->hooks.ask ? s->hooks.ask(s->hooks.ctx, layer) : 0; }

/* Shows one activation to the hooks if they asked for it; returns 1 if they changed it. */
static int show(ls_state *s, uint32_t mask, ls_site site, int layer, float *x, int B, int T, int pos0, int heads,
                int width, int64_t head_stride, int64_t row_stride, int64_t seq_stride) {
    if (!(mask & (1u << site))) return 0;
    ls_act a = {.site = site, .layer = layer, .x = x, .B = B, .T = T, .pos0 = pos0, .heads = heads, .width = width,
                .head_stride = head_stride, .row_stride = row_stride, .seq_stride = seq_stride};
    return s->hooks.visit(s->hooks.ctx, &a);
}

/* A site of T rows per sequence, heads of width floats per row, rows row_stride apart. */
static int show_heads(ls_state *s, uint32_t mask, ls_site site, int layer, float *x, int B, int T, int pos0, int heads,
                      int width, int64_t row_stride) {
    return show(s, mask, site, layer, x, B, T, pos0, heads, width, width, row_stride, (int64_t)T * row_stride);
}

/* A (B,T,W) row site. */
static int show_rows(ls_state *s, uint32_t mask, ls_site site, int layer, float *x, int B, int T, int pos0, int64_t W) {
    return show_heads(s, mask, site, layer, x, B, T, pos0, 1, (int)W, W);
}

int ls_state_threads(const ls_state *s) { return s->n_threads; }
int ls_state_max_seq(const ls_state *s) { return s->max_seq; }
int ls_state_batch_fits(const ls_state *s, int B, int T) { return B <= s->max_batch && T <= s->max_seq; }
float *ls_state_residual(ls_state *s) { return s->x; }

int ls_state_track_attention(ls_state *s, int on, ls_error *err) {
    free(s->row_entropy);
    free(s->row_argmax);
    s->row_entropy = NULL;
    s->row_argmax = NULL;
    if (!on) return 0;
    size_t n = (size_t)s->cfg.n_layer * (size_t)s->max_batch * (size_t)s->cfg.n_head * (size_t)s->max_seq;
    s->row_entropy = malloc(n * sizeof *s->row_entropy);
    s->row_argmax = malloc(n * sizeof *s->row_argmax);
    if (!s->row_entropy || !s->row_argmax) {
        ls_state_track_attention(s, 0, err);
        return ls_fail(err, "out of memory for attention statistics (%zu rows)", n);
    }
    return 0;
}

/* Where layer's rows go: (B,H,S) capacity per layer, used as (B,H,T) by each call. */
static ls_attn_rows layer_rows(const ls_state *s, int layer) {
    size_t per_layer = (size_t)s->max_batch * (size_t)s->cfg.n_head * (size_t)s->max_seq;
    return (ls_attn_rows){s->row_entropy + layer * per_layer, s->row_argmax + layer * per_layer, NULL};
}

int ls_state_attention_rows(const ls_state *s, int layer, ls_attn_rows *rows) {
    if (!s->row_entropy || layer < 0 || layer >= s->cfg.n_layer) return -1;
    *rows = layer_rows(s, layer);
    return 0;
}

/* The bf16 copy of tensor id the forward pass uses instead of t[id], or NULL. */
static const uint16_t *bf16_of(const ls_weights *w, ls_tensor_id id) { return w->bf16 ? w->bf16[id] : NULL; }

void ls_embed(ls_state *s, const ls_weights *w, const int32_t *tokens, int B, int T, int pos0, float *x) {
    const int64_t C = s->cfg.n_embd;
    const float *wte = w->t[LS_EMBED], *wpe = w->t[LS_POS_EMBED];
    const uint16_t *wte16 = bf16_of(w, LS_EMBED);
#pragma omp parallel for num_threads(s->n_threads) schedule(static) if ((int64_t)B * T * C >= LS_PAR_MIN)
    for (int64_t i = 0; i < (int64_t)B * T; i++) {
        float *xi = x + i * C;
        if (wte16)
            for (int64_t c = 0; c < C; c++) xi[c] = ls_bf16_to_f32(wte16[(int64_t)tokens[i] * C + c]);
        else
            for (int64_t c = 0; c < C; c++) xi[c] = wte[(int64_t)tokens[i] * C + c];
        if (wpe) {
            const float *pe = wpe + (int64_t)(pos0 + i % T) * C;
            for (int64_t c = 0; c < C; c++) xi[c] = xi[c] + pe[c];
        }
    }
}

/* out (N,OUT) = inp (N,IN) @ W_id (+ b_id): sgemm on the role's layout,
 * from the bf16 copy where the view has one. b_id may be absent (NULL). */
static void project(ls_state *s, const ls_weights *w, ls_tensor_id id, ls_tensor_id b_id, float *out,
                    const float *inp, int64_t N) {
    int64_t rows, cols;
    ls_layout layout;
    ls_tensor_shape(&s->cfg, id, &rows, &cols, &layout);
    const uint16_t *w16 = bf16_of(w, id);
    const float *b = b_id >= 0 ? w->t[b_id] : NULL;
    if (layout == LS_LAYOUT_IN_OUT) { /* (IN, OUT): y = x W + b, the bias inside the product */
        if (w16 && w->compute_bf16) ls_matmul_bf16dot(out, inp, w16, b, N, rows, cols, s->wide, s->n_threads);
        else if (w16) ls_matmul_bf16(out, inp, w16, b, N, rows, cols, s->wide, s->n_threads);
        else ls_matmul(out, inp, w->t[id], b, N, rows, cols, s->n_threads);
        return;
    }
    if (w16 && w->compute_bf16) ls_matmul_nt_bf16dot(out, inp, w16, N, cols, rows, s->wide, s->n_threads);
    else if (w16) ls_matmul_nt_bf16(out, inp, w16, N, cols, rows, s->wide, s->n_threads);
    else ls_matmul_nt(out, inp, w->t[id], N, cols, rows, s->n_threads);
    if (b) ls_add_bias(out, b, N, rows, s->n_threads);
}

static void norm(ls_state *s, float *out, const float *inp, const float *wt, const float *b, int64_t N) {
    if (s->cfg.norm == LS_NORM_RMS) ls_rmsnorm(out, inp, wt, N, s->cfg.n_embd, s->cfg.ln_eps, s->n_threads);
    else ls_layernorm(out, inp, wt, b, N, s->cfg.n_embd, s->cfg.ln_eps, s->n_threads);
}

/* The bias id of a role if the model has it, else -1. */
static ls_tensor_id bias(const ls_state *s, ls_tensor_id id) { return ls_tensor_present(&s->cfg, id) ? id : -1; }

/* Appends n rows of width W (rows src_stride apart) to a (B,S,W) cache at positions pos0..pos0+T-1. */
static void to_cache(float *cache, const float *src, int64_t src_stride, int B, int T, int pos0, int64_t S, int64_t W,
                     int nt) {
    const int64_t N = (int64_t)B * T;
#pragma omp parallel for num_threads(nt) schedule(static) if (N * W >= LS_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        int64_t b = i / T, t = i % T;
        memcpy(cache + (b * S + pos0 + t) * W, src + i * src_stride, (size_t)W * sizeof(float));
    }
}

/* Queries, keys and values of this call: queries end in q_out (rows
 * *q_stride apart), keys and values in the layer's cache; the hooks see
 * them after rotary, before the keys and values enter the cache. */
static void attention_inputs(ls_state *s, const ls_weights *w, int layer, uint32_t mask, int B, int T, int pos0,
                             float *kc, float *vc, const float **q_out, int64_t *q_stride) {
    const ls_config *c = &s->cfg;
    const int64_t N = (int64_t)B * T, S = s->max_seq, D = c->d_head, HD = (int64_t)c->n_head * D,
                  KVD = (int64_t)c->n_kv_head * D;
    const int nt = s->n_threads;
    if (c->arch == LS_ARCH_GPT2) { /* (N,3C) = [Q | K | V]: queries read in place */
        const int64_t row = HD + 2 * KVD;
        project(s, w, ls_layer_tensor(layer, LS_QKV_W), bias(s, ls_layer_tensor(layer, LS_QKV_B)), s->qkv, s->xn, N);
        show_heads(s, mask, LS_SITE_ATTN_Q, layer, s->qkv, B, T, pos0, c->n_head, (int)D, row);
        show_heads(s, mask, LS_SITE_ATTN_K, layer, s->qkv + HD, B, T, pos0, c->n_kv_head, (int)D, row);
        show_heads(s, mask, LS_SITE_ATTN_V, layer, s->qkv + HD + KVD, B, T, pos0, c->n_kv_head, (int)D, row);
        to_cache(kc, s->qkv + HD, row, B, T, pos0, S, KVD, nt);
        to_cache(vc, s->qkv + HD + KVD, row, B, T, pos0, S, KVD, nt);
        *q_out = s->qkv;
        *q_stride = row;
        return;
    }
    if (c->fused_qkv) { /* GPT-NeoX: head h's rows are [q_h | k_h | v_h], 3D wide: de-interleave */
        project(s, w, ls_layer_tensor(layer, LS_QKV_W), bias(s, ls_layer_tensor(layer, LS_QKV_B)), s->qkv, s->xn, N);
#pragma omp parallel for num_threads(nt) schedule(static) if (N * 3 * HD >= LS_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            for (int h = 0; h < c->n_head; h++) {
                const float *src = s->qkv + i * 3 * HD + (int64_t)h * 3 * D;
                memcpy(s->q + i * HD + h * D, src, (size_t)D * sizeof(float));
                memcpy(s->k + i * KVD + h * D, src + D, (size_t)D * sizeof(float));
                memcpy(s->v + i * KVD + h * D, src + 2 * D, (size_t)D * sizeof(float));
            }
    } else {
        project(s, w, ls_layer_tensor(layer, LS_Q_W), bias(s, ls_layer_tensor(layer, LS_Q_B)), s->q, s->xn, N);
        project(s, w, ls_layer_tensor(layer, LS_K_W), bias(s, ls_layer_tensor(layer, LS_K_B)), s->k, s->xn, N);
        project(s, w, ls_layer_tensor(layer, LS_V_W), bias(s, ls_layer_tensor(layer, LS_V_B)), s->v, s->xn, N);
    }
    if (c->rope_dims > 0) {
        ls_rope(s->q, HD, B, T, T * HD, pos0, c->n_head, (int)D, c->rope_dims, s->rope_cos, s->rope_sin, nt);
        ls_rope(s->k, KVD, B, T, T * KVD, pos0, c->n_kv_head, (int)D, c->rope_dims, s->rope_cos, s->rope_sin, nt);
    }
    show_heads(s, mask, LS_SITE_ATTN_Q, layer, s->q, B, T, pos0, c->n_head, (int)D, HD);
    show_heads(s, mask, LS_SITE_ATTN_K, layer, s->k, B, T, pos0, c->n_kv_head, (int)D, KVD);
    show_heads(s, mask, LS_SITE_ATTN_V, layer, s->v, B, T, pos0, c->n_kv_head, (int)D, KVD);
    to_cache(kc, s->k, KVD, B, T, pos0, S, KVD, nt);
    to_cache(vc, s->v, KVD, B, T, pos0, S, KVD, nt);
    *q_out = s->q;
    *q_stride = HD;
}

/* out (B,T,C) = the MLP of xn (B,T,C), showing its sites to the hooks. */
static void mlp(ls_state *s, const ls_weights *w, int layer, uint32_t mask, float *out, int B, int T, int pos0) {
    const ls_config *c = &s->cfg;
    const int64_t N = (int64_t)B * T, F = c->n_ff;
    project(s, w, ls_layer_tensor(layer, LS_FFN_UP_W), bias(s, ls_layer_tensor(layer, LS_FFN_UP_B)), s->fc, s->xn, N);
    float *post = s->fc;
    if (c->act == LS_ACT_SILU) {
        project(s, w, ls_layer_tensor(layer, LS_FFN_GATE_W), -1, s->gate, s->xn, N);
        show_rows(s, mask, LS_SITE_MLP_PRE, layer, s->gate, B, T, pos0, F);
        show_rows(s, mask, LS_SITE_MLP_UP, layer, s->fc, B, T, pos0, F);
        ls_swiglu(s->gate, s->fc, N * F, s->n_threads);
        post = s->gate;
    } else {
        show_rows(s, mask, LS_SITE_MLP_PRE, layer, s->fc, B, T, pos0, F);
        if (c->act == LS_ACT_GELU_ERF) ls_gelu_erf(s->fc, N * F, s->n_threads);
        else ls_gelu(s->fc, N * F, s->n_threads);
    }
    show_rows(s, mask, LS_SITE_MLP_POST, layer, post, B, T, pos0, F);
    project(s, w, ls_layer_tensor(layer, LS_FFN_DOWN_W), bias(s, ls_layer_tensor(layer, LS_FFN_DOWN_B)), out, post, N);
    show_rows(s, mask, LS_SITE_MLP_OUT, layer, out, B, T, pos0, c->n_embd);
}

void ls_block(ls_state *s, const ls_weights *w, int layer, float *x, int B, int T, int pos0) {
    const ls_config *c = &s->cfg;
    const int64_t C = c->n_embd, N = (int64_t)B * T, S = s->max_seq, KVD = (int64_t)c->n_kv_head * c->d_head;
    const int nt = s->n_threads;
    const float *const *p = w->t;
    float *kc = s->kv + (int64_t)layer * 2 * s->max_batch * S * KVD, *vc = kc + (int64_t)s->max_batch * S * KVD;
    const ls_tensor_id L0 = ls_layer_tensor(layer, 0);
    const uint32_t mask = asked(s, layer);
    const int H = c->n_head, D = c->d_head;

    show_rows(s, mask, LS_SITE_RESID_PRE, layer, x, B, T, pos0, C);
    norm(s, s->xn, x, p[L0 + LS_ATTN_NORM_W], p[L0 + LS_ATTN_NORM_B], N);
    show_rows(s, mask, LS_SITE_LN1_OUT, layer, s->xn, B, T, pos0, C);
    const float *q;
    int64_t q_stride;
    attention_inputs(s, w, layer, mask, B, T, pos0, kc, vc, &q, &q_stride);
    const int want_pattern = (mask >> LS_SITE_ATTN_PATTERN) & 1u;
    ls_attn_rows rows = s->row_entropy ? layer_rows(s, layer) : (ls_attn_rows){0};
    if (want_pattern) rows.pattern = s->pattern;
    ls_attn_shape sh = {.B = B, .T = T, .pos0 = pos0, .S = (int)S, .H = H, .KV = c->n_kv_head, .D = D,
                        .window = c->sliding_window, .q_stride = q_stride};
    ls_attention(s->att, q, kc, vc, &sh, s->row_entropy || want_pattern ? &rows : NULL, s->scores, nt);
    const int64_t keys = pos0 + T; /* pattern (B,H,T,keys): head stride T*keys, query stride keys */
    if (want_pattern && show(s, mask, LS_SITE_ATTN_PATTERN, layer, s->pattern, B, T, pos0, H, (int)keys, T * keys,
                             keys, (int64_t)H * T * keys))
        ls_attention_from_pattern(s->att, s->pattern, vc, &sh, nt); /* the heads follow the changed weights */
    show_heads(s, mask, LS_SITE_ATTN_Z, layer, s->att, B, T, pos0, H, D, (int64_t)H * D);
    project(s, w, L0 + LS_ATTN_OUT_W, bias(s, L0 + LS_ATTN_OUT_B), s->proj, s->att, N);
    show_rows(s, mask, LS_SITE_ATTN_OUT, layer, s->proj, B, T, pos0, C);

    if (c->parallel_residual) { /* x + attn(ln1 x) + mlp(ln2 x), both from the block's input */
        norm(s, s->xn, x, p[L0 + LS_FFN_NORM_W], p[L0 + LS_FFN_NORM_B], N);
        show_rows(s, mask, LS_SITE_LN2_OUT, layer, s->xn, B, T, pos0, C);
        mlp(s, w, layer, mask, s->mlp, B, T, pos0);
        ls_add_inplace(s->mlp, s->proj, N * C, nt);
        ls_add_inplace(x, s->mlp, N * C, nt);
    } else {
        ls_add_inplace(x, s->proj, N * C, nt);
        show_rows(s, mask, LS_SITE_RESID_MID, layer, x, B, T, pos0, C);
        norm(s, s->xn, x, p[L0 + LS_FFN_NORM_W], p[L0 + LS_FFN_NORM_B], N);
        show_rows(s, mask, LS_SITE_LN2_OUT, layer, s->xn, B, T, pos0, C);
        mlp(s, w, layer, mask, s->proj, B, T, pos0);
        ls_add_inplace(x, s->proj, N * C, nt);
    }
    show_rows(s, mask, LS_SITE_RESID_POST, layer, x, B, T, pos0, C);
}

void ls_head(ls_state *s, const ls_weights *w, const float *x, int64_t N, float *logits) {
    const uint32_t mask = asked(s, -1);
    norm(s, s->xn, x, w->t[LS_OUT_NORM_W], w->t[LS_OUT_NORM_B], N);
    show_rows(s, mask, LS_SITE_LNF_OUT, -1, s->xn, (int)N, 1, 0, s->cfg.n_embd);
    project(s, w, LS_OUTPUT, -1, logits, s->xn, N);
    show_rows(s, mask, LS_SITE_LOGITS, -1, logits, (int)N, 1, 0, s->cfg.vocab_size);
}

int ls_forward(ls_state *s, const ls_weights *w, const int32_t *tokens, int B, int T, int pos0, float *logits,
               enum ls_logits_mode mode, ls_error *err) {
    if (B < 1 || B > s->max_batch) return ls_fail(err, "batch of %d sequences (this state holds 1..%d)", B, s->max_batch);
    if (T < 1 || pos0 < 0 || pos0 + T > s->max_seq)
        return ls_fail(err, "positions %d..%d exceed the context length %d", pos0, pos0 + T - 1, s->max_seq);
    for (int64_t i = 0; i < (int64_t)B * T; i++)
        if (tokens[i] < 0 || tokens[i] >= s->cfg.vocab_size)
            return ls_fail(err, "token id %d at index %lld is outside the vocabulary (0..%d)", tokens[i],
                           (long long)i, s->cfg.vocab_size - 1);
    ls_embed(s, w, tokens, B, T, pos0, s->x);
    for (int l = 0; l < s->cfg.n_layer; l++) ls_block(s, w, l, s->x, B, T, pos0);
    const int64_t C = s->cfg.n_embd;
    if (mode == LS_LOGITS_ALL) {
        ls_head(s, w, s->x, (int64_t)B * T, logits);
    } else if (mode == LS_LOGITS_LAST) {
        /* Gather the last row of each sequence; s->proj is free scratch here. */
        for (int b = 0; b < B; b++)
            memcpy(s->proj + b * C, s->x + ((int64_t)b * T + T - 1) * C, (size_t)C * sizeof(float));
        ls_head(s, w, s->proj, B, logits);
    }
    return 0;
}
