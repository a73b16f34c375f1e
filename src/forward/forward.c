/* forward.c: GPT-2's forward pass over a weights view.
 *
 * Pre-LN block:  x += c_proj(attn(ln_1(x)));  x += mlp_proj(gelu(c_fc(ln_2(x))))
 * The pass never knows whether a view is clean or lesioned. All buffers are
 * allocated once in ls_state and reused across layers and calls; the KV
 * cache holds every layer's keys and values, so generation runs each new
 * token through the model once. */
#include <lesion.h>
#include "io/bf16.h"

#include <stdlib.h>
#include <string.h>

struct ls_state {
    ls_config cfg;
    int max_batch, max_seq, n_threads;
    float *x;      /* (B,T,C)  residual stream for ls_forward */
    float *xn;     /* (B,T,C)  normalised input of a sublayer */
    float *qkv;    /* (B,T,3C) */
    float *att;    /* (B,T,C)  attention output before c_proj */
    float *proj;   /* (B,T,C)  sublayer output before the residual add */
    float *fc;     /* (B,T,4C) */
    float *kv;     /* (L,2,B,S,C) key and value caches, S = max_seq */
    float *scores; /* (n_threads,S,S) attention scratch */
    float *wide;   /* bf16 weight panels widened for sgemm (ls_matmul_bf16_scratch_floats); untouched with fp32 weights */
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
    size_t rows = (size_t)max_batch * (size_t)max_seq, C = (size_t)cfg->n_embd;
    s->x = malloc(rows * C * sizeof(float));
    s->xn = malloc(rows * C * sizeof(float));
    s->qkv = malloc(rows * 3 * C * sizeof(float));
    s->att = malloc(rows * C * sizeof(float));
    s->proj = malloc(rows * C * sizeof(float));
    s->fc = malloc(rows * 4 * C * sizeof(float));
    s->kv = malloc((size_t)cfg->n_layer * 2 * rows * C * sizeof(float));
    s->scores = malloc((size_t)n_threads * (size_t)max_seq * (size_t)max_seq * sizeof(float));
    s->wide = malloc(ls_matmul_bf16_scratch_floats(4 * (int64_t)C, n_threads) * sizeof(float));
    if (!s->x || !s->xn || !s->qkv || !s->att || !s->proj || !s->fc || !s->kv || !s->scores || !s->wide) {
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
    free(s->qkv);
    free(s->att);
    free(s->proj);
    free(s->fc);
    free(s->kv);
    free(s->scores);
    free(s->wide);
    free(s);
}

int ls_state_threads(const ls_state *s) { return s->n_threads; }
int ls_state_max_seq(const ls_state *s) { return s->max_seq; }
int ls_state_batch_fits(const ls_state *s, int B, int T) { return B <= s->max_batch && T <= s->max_seq; }
float *ls_state_residual(ls_state *s) { return s->x; }

/* The bf16 copy of tensor id the forward pass uses instead of t[id], or NULL. */
static const uint16_t *bf16_of(const ls_weights *w, ls_tensor_id id) { return w->bf16 ? w->bf16[id] : NULL; }

void ls_embed(ls_state *s, const ls_weights *w, const int32_t *tokens, int B, int T, int pos0, float *x) {
    const int64_t C = s->cfg.n_embd;
    const float *wte = w->t[LS_WTE], *wpe = w->t[LS_WPE];
    const uint16_t *wte16 = bf16_of(w, LS_WTE);
#pragma omp parallel for num_threads(s->n_threads) schedule(static) if ((int64_t)B * T * C >= LS_PAR_MIN)
    for (int64_t i = 0; i < (int64_t)B * T; i++) {
        const float *pe = wpe + (int64_t)(pos0 + i % T) * C;
        if (wte16)
            for (int64_t c = 0; c < C; c++) x[i * C + c] = ls_bf16_to_f32(wte16[(int64_t)tokens[i] * C + c]) + pe[c];
        else
            for (int64_t c = 0; c < C; c++) x[i * C + c] = wte[(int64_t)tokens[i] * C + c] + pe[c];
    }
}

/* out (N,OC) = inp (N,IC) @ W_id + b, from the bf16 copy where the view has one. */
static void project(ls_state *s, const ls_weights *w, ls_tensor_id id, const float *b, float *out, const float *inp,
                    int64_t N, int64_t IC, int64_t OC) {
    const uint16_t *w16 = bf16_of(w, id);
    if (w16) ls_matmul_bf16(out, inp, w16, b, N, IC, OC, s->wide, s->n_threads);
    else ls_matmul(out, inp, w->t[id], b, N, IC, OC, s->n_threads);
}

void ls_block(ls_state *s, const ls_weights *w, int layer, float *x, int B, int T, int pos0) {
    const int64_t C = s->cfg.n_embd, N = (int64_t)B * T, S = s->max_seq;
    const int nt = s->n_threads;
    const float *const *p = w->t + ls_layer_tensor(layer, 0);
    const ls_tensor_id first = ls_layer_tensor(layer, 0);
    float *kc = s->kv + (int64_t)layer * 2 * s->max_batch * S * C, *vc = kc + (int64_t)s->max_batch * S * C;

    ls_layernorm(s->xn, x, p[LS_LN1_W], p[LS_LN1_B], N, C, s->cfg.ln_eps, nt);
    project(s, w, first + LS_ATTN_W, p[LS_ATTN_B], s->qkv, s->xn, N, C, 3 * C);
    /* Append this call's keys and values to the cache: (B,T,C) slices of qkv -> (B,S,C). */
#pragma omp parallel for num_threads(nt) schedule(static) if (N * C >= LS_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        int64_t b = i / T, t = i % T;
        memcpy(kc + (b * S + pos0 + t) * C, s->qkv + i * 3 * C + C, (size_t)C * sizeof(float));
        memcpy(vc + (b * S + pos0 + t) * C, s->qkv + i * 3 * C + 2 * C, (size_t)C * sizeof(float));
    }
    ls_attention(s->att, s->qkv, 3 * C, kc, vc, B, T, pos0, (int)S, (int)C, s->cfg.n_head, s->scores, nt);
    project(s, w, first + LS_ATTN_PROJ_W, p[LS_ATTN_PROJ_B], s->proj, s->att, N, C, C);
    ls_add_inplace(x, s->proj, N * C, nt);

    ls_layernorm(s->xn, x, p[LS_LN2_W], p[LS_LN2_B], N, C, s->cfg.ln_eps, nt);
    project(s, w, first + LS_FC_W, p[LS_FC_B], s->fc, s->xn, N, C, 4 * C);
    ls_gelu(s->fc, N * 4 * C, nt);
    project(s, w, first + LS_MLP_PROJ_W, p[LS_MLP_PROJ_B], s->proj, s->fc, N, 4 * C, C);
    ls_add_inplace(x, s->proj, N * C, nt);
}

void ls_head(ls_state *s, const ls_weights *w, const float *x, int64_t N, float *logits) {
    const int64_t C = s->cfg.n_embd;
    ls_layernorm(s->xn, x, w->t[LS_LNF_W], w->t[LS_LNF_B], N, C, s->cfg.ln_eps, s->n_threads);
    const uint16_t *wte16 = bf16_of(w, LS_WTE);
    if (wte16) ls_matmul_nt_bf16(logits, s->xn, wte16, N, C, s->cfg.vocab_size, s->wide, s->n_threads);
    else ls_matmul_nt(logits, s->xn, w->t[LS_WTE], N, C, s->cfg.vocab_size, s->n_threads);
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
        /* Gather the last row of each sequence; s->att is free scratch here. */
        for (int b = 0; b < B; b++)
            memcpy(s->att + b * C, s->x + ((int64_t)b * T + T - 1) * C, (size_t)C * sizeof(float));
        ls_head(s, w, s->att, B, logits);
    }
    return 0;
}
