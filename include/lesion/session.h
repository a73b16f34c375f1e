/* session.h: a model opened for interactive use, the handle a language
 * binding holds (python/lesion/ binds it with ctypes).
 *
 * A session owns what a command of the CLI assembles for one run: the
 * model, its tokenizer, an overlay of lesions on the clean weights, and
 * optionally activation interventions. Its calls take and return plain
 * values (strings, flat arrays, one small struct), so a binding needs no
 * copy of the library's structs, and each does exactly what the matching
 * command does, through the same library functions:
 *   ls_session_logits    `lesion logits`  (bitwise the same array)
 *   ls_session_generate  `lesion generate` (the same ids)
 *   ls_session_eval      `lesion eval --json` (the same numbers)
 *   ls_session_lesion    --lesion, --mode, --match, --with-bias, --lesion-seed, --rng
 *   ls_session_intervene --ablate, --ablate-mode, --ablate-seed, --patch
 *   ls_session_record    `lesion activations --site`
 * Lesions compose until ls_session_reset, which restores the clean weights
 * bitwise. Interventions hold until ls_session_clear_interventions.
 * A session is used by one thread at a time. */
#ifndef LESION_SESSION_H
#define LESION_SESSION_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */
#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_session ls_session;

/* Opens dir's model and tokenizer. weights: "f32" (mapped), "f32-copy" or
 * "bf16", as --weights; n_threads >= 1 (the results do not depend on it). */
int ls_session_open(ls_session **out, const char *dir, const char *weights, int n_threads, ls_error *err);
void ls_session_close(ls_session *s);

const ls_model *ls_session_model(const ls_session *s);
const ls_tokenizer *ls_session_tokenizer(const ls_session *s);
int ls_session_threads(const ls_session *s);
/* The weights a run sees now: the clean view, or the overlay's. */
ls_weights ls_session_view(const ls_session *s);

/* The model's configuration as one line of JSON (malloc'd: ls_free):
 * ls_model_config_json of the session's model. */
char *ls_session_config_json(const ls_session *s);

/* Applies lesions on top of those applied: specs is one spec or several
 * separated by ';' or spaces, all with the same mode ("gauss", "zero", ...,
 * "scale:F"), match ("tensor", "head"), with_bias, seed and rng ("philox",
 * "torch", ...). Every spec is parsed before any is applied, so a bad one
 * applies none (only running out of memory can stop after some); the
 * lesions of earlier calls stay. Returns how many specs. */
int ls_session_lesion(ls_session *s, const char *specs, const char *mode, const char *match, int with_bias,
                      uint64_t seed, const char *rng, ls_error *err);
/* Undoes every lesion: the clean weights, bitwise. */
void ls_session_reset(ls_session *s);
/* Lesion calls since the last reset (0: clean). */
int ls_session_lesion_count(const ls_session *s);
/* What the applied lesions did, one JSON array of slices (tensor, head,
 * elements, mean/std before and after), malloc'd (ls_free); NULL if none. */
char *ls_session_lesions_json(const ls_session *s);
/* The same array for any overlay of model m (what `--json` prints under
 * lesion.slices); malloc'd (ls_free); NULL if the overlay changed nothing. */
char *ls_overlay_stats_json(const ls_overlay *ov, const ls_model *m);

/* Sets the activation interventions of the next runs (replacing any):
 * ablate (sites separated by ';', or NULL) with ablate_mode "zero", "mean"
 * or "resample" (seed: resample's draws), mean and resample over the
 * reference tokens (its first LS_REFERENCE_TOKENS); patch (sites, or NULL)
 * from a run on patch_from, whose length a run's input must then equal.
 * Fitted at once on the clean weights, as the CLI does. */
int ls_session_intervene(ls_session *s, const char *ablate, const char *ablate_mode, uint64_t ablate_seed,
                         const int32_t *reference, int64_t n_reference, const char *patch, const int32_t *patch_from,
                         int n_patch_from, ls_error *err);
/* Adds record rules for sites (separated by ';') after the interventions,
 * so they see their result; returns the index of the first (for
 * ls_interventions_recorded on ls_session_interventions). Records are kept
 * from every run until cleared. */
int ls_session_record(ls_session *s, const char *sites, ls_error *err);
/* The rules in force (NULL if none). */
ls_interventions *ls_session_interventions(ls_session *s);
void ls_session_clear_interventions(ls_session *s);

/* logits (n,V) of ids (n, 1..n_ctx, each < V) at positions 0..n-1. */
int ls_session_logits(ls_session *s, const int32_t *ids, int n, float *logits, ls_error *err);

/* Up to n_new tokens after prompt (n_prompt >= 1; n_prompt + n_new <=
 * n_ctx) into out (n_new), *n_out of them. temperature 0 is greedy; top_k
 * 0 and top_p 1 are off; the draw at step i depends only on (seed, i). */
int ls_session_generate(ls_session *s, const int32_t *prompt, int n_prompt, int n_new, double temperature, int top_k,
                        double top_p, uint64_t seed, int32_t *out, int *n_out, ls_error *err);

/* ls_eval_text of len bytes of text (ctx, stride, max_tokens 0: defaults)
 * in batches of `batch` windows (0: 8). */
int ls_session_eval(ls_session *s, const char *text, size_t len, int ctx, int stride, int64_t max_tokens, int batch,
                    ls_text_eval *out, ls_error *err);

/* sizeof the public structs a binding mirrors ("ls_error", "ls_text_eval",
 * "ls_sweep_options"), so it can check its copy of their layout at load
 * time; 0 for another name. */
size_t ls_struct_size(const char *name);

/* Frees what the library returned (strings, id and text buffers): a binding
 * may not share the C library's allocator. */
void ls_free(void *p);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
