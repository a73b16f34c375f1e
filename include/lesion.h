/* lesion.h: the public interface of liblesion.
 *
 * lesion runs causal lesion experiments on GPT-2-family models: it loads a
 * checkpoint in Hugging Face layout, tokenizes exactly like GPT-2, runs the
 * forward pass, damages chosen weight slices through an overlay on the clean
 * read-only weights, and measures what the damage does.
 *
 * Conventions used throughout:
 *  - every fallible function returns 0 on success and -1 on failure, and
 *    fills the caller's ls_error with a one-line message; the library never
 *    prints and never exits;
 *  - shapes are written beside arrays as (B,T,C): batch, time, channels;
 *    V = vocabulary size, L = layers, H = heads, D = d_head = C / H;
 *  - sizes and offsets are size_t / int64_t and overflow-checked; token ids
 *    are int32_t;
 *  - no global state: thread counts and seeds are passed in.
 */
#ifndef LESION_H
#define LESION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

typedef struct ls_error {
    char msg[768];
} ls_error;

/* Formats msg into err (if err is not NULL) and returns -1, so that library
 * code can write `return ls_fail(err, "...", ...);`. */
int ls_fail(ls_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "context: old message". Returns -1. */
int ls_fail_context(ls_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A 64-bit mix of (seed, counter), splitmix64's finaliser over a Weyl step:
 * the stateless source of uniform draws for sampling and random init. */
uint64_t ls_mix64(uint64_t seed, uint64_t counter);

/* ---- model configuration ------------------------------------------------ */

typedef struct ls_config {
    int n_layer;      /* L */
    int n_head;       /* H */
    int n_embd;       /* C */
    int n_ctx;        /* maximum sequence length (n_positions) */
    int vocab_size;   /* V */
    float ln_eps;     /* layer_norm_epsilon */
} ls_config;

/* Upper bounds accepted from config files: generous enough for GPT-2 XL and
 * beyond, small enough that size arithmetic cannot overflow. */
#define LS_MAX_LAYERS 1024
#define LS_MAX_HEADS 1024
#define LS_MAX_EMBD 65536
#define LS_MAX_CTX (1 << 20)
#define LS_MAX_VOCAB (1 << 22)

/* Checks ranges and divisibility (n_embd % n_head == 0). */
int ls_config_validate(const ls_config *cfg, ls_error *err);

/* Reads config.json (n_layer, n_head, n_embd, n_positions or n_ctx,
 * vocab_size, layer_norm_epsilon). */
int ls_config_load(ls_config *cfg, const char *path, ls_error *err);

#ifdef __cplusplus
}
#endif

/* One sub-header per concept, in layer order (each uses only those above). */
#include "lesion/model.h"      /* safetensors loading, tensor table, weights views */
#include "lesion/tokenizer.h"  /* GPT-2 byte-level BPE */
#include "lesion/kernels.h"    /* matmul, layernorm, GELU, softmax, attention */
#include "lesion/lesion.h"     /* spec grammar, modes, counter-based RNG, overlay */
#include "lesion/forward.h"    /* forward pass, KV cache, sampling, generation */
#include "lesion/experiment.h" /* metrics, statistics, results store, report */
#endif
