/* forward.h: the GPT-2 forward pass over a weights view, and generation.
 *
 * The pass is exposed in its three stages so experiments can reuse work:
 * ls_embed writes the residual stream x (B,T,C), ls_block runs one
 * transformer block on it in place (filling that layer's KV cache), and
 * ls_head turns rows of x into logits. A sweep that lesions layer L keeps
 * the clean x at the input of layer L and restarts from there.
 *
 * Stable names of the intermediate points, llama.cpp style, used in docs
 * and hooks: "resid_pre.L" (x entering block L), "attn_norm.L", "qkv.L",
 * "attn_out.L", "mlp_norm.L", "mlp_act.L", "resid_post.L", "final_norm". */
#ifndef LESION_FORWARD_H
#define LESION_FORWARD_H
#include <lesion.h>

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
#endif
