/* forward.h: the forward pass of every family over a weights view, its
 * activation sites and hooks, and generation.
 *
 * The pass is exposed in its three stages so experiments can reuse work:
 * ls_embed writes the residual stream x (B,T,C), ls_block runs one
 * transformer block on it in place (filling that layer's KV cache), and
 * ls_head turns rows of x into logits (through the view's output matrix:
 * the embedding itself for a tied model's clean view). A sweep that
 * lesions layer L keeps the clean x at the input of layer L and restarts
 * from there.
 *
 * Every intermediate has a stable name (ls_site, in the spec grammar's
 * style: resid_pre@L, attn.z@L, ...), and one hook mechanism in the state
 * reads, ablates and patches them: before each layer the pass ASKS the
 * hooks which sites of that layer they want, and shows only those; a pass
 * without hooks does nothing more than before (measured: make bench). */
#ifndef LESION_FORWARD_H
#define LESION_FORWARD_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_state ls_state;

/* Buffers for up to max_batch sequences of up to max_seq positions each
 * (max_seq <= n_ctx is also the KV cache length). */
int ls_state_new(ls_state **out, const ls_config *cfg, int max_batch, int max_seq, int n_threads, ls_error *err);
void ls_state_free(ls_state *s);
int ls_state_threads(const ls_state *s);
int ls_state_max_seq(const ls_state *s);
/* Whether a call with B sequences of T positions fits this state. */
int ls_state_batch_fits(const ls_state *s, int B, int T);
/* The residual stream buffer (max_batch, max_seq, C) that ls_forward uses. */
float *ls_state_residual(ls_state *s);

struct ls_attn_rows; /* kernels.h */

/* Attention-row statistics (entropy and most-attended key of every softmax
 * row, see ls_attn_rows) recorded by every ls_block call while on. Off by
 * default: the forward pass then costs nothing extra. */
int ls_state_track_attention(ls_state *s, int on, ls_error *err);
/* The rows the last ls_block call on layer wrote, indexed ((b*H + h)*T + t)
 * with that call's B and T (t is the call's position index, pos0 + t the
 * query's position). Returns -1 when tracking is off or layer is out of range. */
int ls_state_attention_rows(const ls_state *s, int layer, struct ls_attn_rows *rows);

/* ---- activation sites and hooks ------------------------------------------- */

/* The sites, with the shape each call shows (B sequences of T new
 * positions; C width, H query heads, KV key/value heads, D head size, F MLP
 * width, S = pos0 + T keys, N head rows, V vocabulary). */
typedef enum ls_site {
    LS_SITE_RESID_PRE,    /* resid_pre@L    (B,T,C)    x entering block L */
    LS_SITE_LN1_OUT,      /* ln1.out@L      (B,T,C)    the attention's normalised input */
    LS_SITE_ATTN_Q,       /* attn.q@L       (B,T,H,D)  queries, after rotary */
    LS_SITE_ATTN_K,       /* attn.k@L       (B,T,KV,D) keys of the new positions, after rotary (before the cache) */
    LS_SITE_ATTN_V,       /* attn.v@L       (B,T,KV,D) values of the new positions */
    LS_SITE_ATTN_PATTERN, /* attn.pattern@L (B,H,T,S)  softmax weights; 0 where masked */
    LS_SITE_ATTN_Z,       /* attn.z@L       (B,T,H,D)  each head's output, before the output projection */
    LS_SITE_ATTN_OUT,     /* attn.out@L     (B,T,C)    after the output projection (and its bias) */
    LS_SITE_RESID_MID,    /* resid_mid@L    (B,T,C)    x + attn.out (sequential residual only) */
    LS_SITE_LN2_OUT,      /* ln2.out@L      (B,T,C)    the MLP's normalised input */
    LS_SITE_MLP_PRE,      /* mlp.pre@L      (B,T,F)    before the nonlinearity (SwiGLU: the gate) */
    LS_SITE_MLP_UP,       /* mlp.up@L       (B,T,F)    SwiGLU's up projection */
    LS_SITE_MLP_POST,     /* mlp.post@L     (B,T,F)    after it: the down projection's input */
    LS_SITE_MLP_OUT,      /* mlp.out@L      (B,T,C)    the MLP's output */
    LS_SITE_RESID_POST,   /* resid_post@L   (B,T,C)    x leaving block L */
    LS_SITE_LNF_OUT,      /* lnf.out        (N,C)      the final norm of the rows the head computes */
    LS_SITE_LOGITS,       /* logits         (N,V) */
    LS_SITE_COUNT
} ls_site;

/* "resid_pre", "attn.z", ... */
const char *ls_site_name(ls_site site);
/* Whether site has heads (attn.q/k/v/pattern/z) and whether it exists in cfg's model
 * (mlp.up only with SwiGLU; resid_mid only with a sequential residual). */
int ls_site_has_heads(ls_site site);
int ls_site_exists(const ls_config *cfg, ls_site site);

/* One activation shown to a hook: element (b, t, h, i) is
 * x[b*seq_stride + t*row_stride + h*head_stride + i], i < width; heads is 1
 * for sites without heads. attn.pattern: t is the query, i the key (keys of
 * them), h the head. The head's sites (layer -1) have B = N rows, T = 1. */
typedef struct ls_act {
    ls_site site;
    int layer;
    float *x;
    int B, T, pos0;
    int heads, width;
    int64_t head_stride, row_stride, seq_stride;
} ls_act;

/* Hooks: ask(ctx, layer) returns the sites of that layer (layer -1: the
 * head) the hook wants, as a mask of (1u << site); visit sees each one and
 * may change it in place, returning 1 if it did (a changed attn.pattern is
 * then multiplied into V again, so the head outputs follow it).
 * first_write_layer: the earliest layer whose activations visit may
 * change (prefix reuse restarts there; INT_MAX for hooks that only read). */
typedef struct ls_hooks {
    uint32_t (*ask)(void *ctx, int layer);
    int (*visit)(void *ctx, const ls_act *a);
    void *ctx;
    int first_write_layer;
} ls_hooks;

/* Installs hooks (copied; NULL removes them). Fails only for lack of memory
 * for attention patterns, which are kept only when asked for. */
int ls_state_set_hooks(ls_state *s, const ls_hooks *hooks, ls_error *err);

/* x (B,T,C) = wte[tokens] + wpe[pos0 + t]. Token ids must be < V (checked by ls_forward). */
void ls_embed(ls_state *s, const ls_weights *w, const int32_t *tokens, int B, int T, int pos0, float *x);

/* One pre-LN block in place on x (B,T,C) at positions pos0..pos0+T-1. */
void ls_block(ls_state *s, const ls_weights *w, int layer, float *x, int B, int T, int pos0);

/* logits (N,V) = ln_f(x) @ wte^T for N rows of x (N <= max_batch*max_seq). */
void ls_head(ls_state *s, const ls_weights *w, const float *x, int64_t N, float *logits);

enum ls_logits_mode { LS_LOGITS_NONE, LS_LOGITS_ALL, LS_LOGITS_LAST };

/* Whole forward of tokens (B,T) at positions pos0..; logits (B,T,V) for
 * LS_LOGITS_ALL, (B,V) for the last position only, or none. Checks ids and
 * lengths and returns an error instead of reading out of bounds. */
int ls_forward(ls_state *s, const ls_weights *w, const int32_t *tokens, int B, int T, int pos0, float *logits,
               enum ls_logits_mode mode, ls_error *err);

/* ---- sampling and generation -------------------------------------------- */

typedef struct ls_sampler {
    float temperature; /* 0 = greedy (argmax, lowest id on ties) */
    int top_k;         /* 0 = off */
    float top_p;       /* 1 = off */
    uint64_t seed;     /* the draw at step i depends only on (seed, i) */
} ls_sampler;

/* Picks the next token from logits (V). scratch: 2*V floats-worth, provided by the caller. */
int32_t ls_sample(const float *logits, int V, const ls_sampler *sp, uint64_t step, void *scratch);

/* Generates up to n_new tokens after prompt (n_prompt >= 1) with batch 1.
 * Writes them to out, sets *n_out; stops early after emitting stop_id
 * (pass -1 for none). Fails if n_prompt + n_new exceeds the state's length. */
int ls_generate(ls_state *s, const ls_weights *w, const int32_t *prompt, int n_prompt, int n_new,
                const ls_sampler *sp, int32_t stop_id, int32_t *out, int *n_out, ls_error *err);


#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
