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

/* Everything declared in the public headers is the API of liblesion.so; the
 * library is compiled with -fvisibility=hidden, so any function not
 * declared here (the kernels' ISA paths, internal helpers of src/) stays
 * private to it. Each sub-header pushes the same visibility, so including
 * one of them first works too. */
#pragma GCC visibility push(default)

/* The library's version: the shared library is liblesion.so.MAJOR (its
 * soname) -> liblesion.so.MAJOR.MINOR.PATCH; the Makefile reads it here. */
#define LS_VERSION "0.1.0"

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

/* XXH64 content hash (src/io/hash.c), one shot or streamed: init, update
 * any number of times, final. Identifies inputs by content (sweep identity). */
typedef struct ls_hasher {
    uint64_t v[4], seed, total;
    uint8_t buf[32];
    unsigned n_buf;
} ls_hasher;
void ls_hash_init(ls_hasher *h, uint64_t seed);
void ls_hash_update(ls_hasher *h, const void *data, size_t len);
uint64_t ls_hash_final(const ls_hasher *h);
uint64_t ls_hash64(const void *data, size_t len, uint64_t seed);

/* A copy of len bytes as valid UTF-8 (malloc'd, NUL-terminated): each
 * byte that does not start a valid sequence, and each NUL, becomes U+FFFD.
 * NULL when out of memory. (src/io/utf8.c) */
char *ls_utf8_repair(const char *s, size_t len);

/* ---- model configuration ------------------------------------------------ */

/* The model families lesion computes, by Hugging Face's model_type. */
typedef enum ls_arch {
    LS_ARCH_GPT2,     /* gpt2 */
    LS_ARCH_LLAMA,    /* llama (Llama 2/3, TinyLlama, SmolLM) */
    LS_ARCH_MISTRAL,  /* mistral */
    LS_ARCH_QWEN2,    /* qwen2 */
    LS_ARCH_GPT_NEOX, /* gpt_neox (Pythia) */
    LS_ARCH_COUNT
} ls_arch;

typedef enum ls_norm_kind { LS_NORM_LAYER, LS_NORM_RMS } ls_norm_kind;            /* LayerNorm (w, b) or RMSNorm (w) */
typedef enum ls_act_kind { LS_ACT_GELU_TANH, LS_ACT_GELU_ERF, LS_ACT_SILU } ls_act_kind;
typedef enum ls_rope_kind { LS_ROPE_PLAIN, LS_ROPE_LINEAR, LS_ROPE_LLAMA3 } ls_rope_kind;

/* Everything that fixes tensor shapes and the math of the forward pass.
 * The sizes come from config.json; the kinds below them follow from the
 * family (ls_config_derive) and from the keys that choose a variant. */
typedef struct ls_config {
    ls_arch arch;
    int n_layer;      /* L */
    int n_head;       /* H: query heads */
    int n_kv_head;    /* key/value heads (grouped-query attention when < H) */
    int d_head;       /* D: head size (C / H unless the config says otherwise) */
    int n_embd;       /* C: residual stream width */
    int n_ff;         /* F: MLP hidden width */
    int n_ctx;        /* maximum sequence length (n_positions, max_position_embeddings) */
    int vocab_size;   /* V */
    float ln_eps;     /* epsilon of every norm */

    ls_norm_kind norm;
    ls_act_kind act;  /* the MLP nonlinearity; SiLU means a gated (SwiGLU) MLP */
    int learned_pos;  /* 1: learned position embeddings (GPT-2's wpe); 0: rotary */
    int rope_dims;    /* rotary dimensions per head (the first rope_dims of D), 0 without rotary */
    double rope_theta;
    ls_rope_kind rope_scaling;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor; /* llama3 / linear scaling */
    int rope_original_ctx; /* llama3: original_max_position_embeddings */
    int fused_qkv;    /* one Q/K/V matrix (GPT-2, GPT-NeoX) instead of three */
    int qkv_bias;     /* biases on Q, K and V */
    int out_bias;     /* biases on the attention output and the MLP matrices */
    int parallel_residual; /* x + attn(ln1 x) + mlp(ln2 x) (GPT-NeoX) instead of one after the other */
    int tied_head;    /* the output matrix is the input embedding */
    int sliding_window; /* 0, or a position sees only the last sliding_window positions (Mistral) */
    int32_t bos_id, eos_id; /* -1 when the config names none */
} ls_config;

/* Upper bounds accepted from config files: generous enough for GPT-2 XL,
 * Llama 3 and beyond, small enough that size arithmetic cannot overflow. */
#define LS_MAX_LAYERS 1024
#define LS_MAX_HEADS 1024
#define LS_MAX_EMBD 65536
#define LS_MAX_FF (1 << 20)
#define LS_MAX_CTX (1 << 20)
#define LS_MAX_VOCAB (1 << 22)

/* "gpt2", "llama", ...: the model_type of config.json. */
const char *ls_arch_name(ls_arch a);

/* Fills what the family fixes (kinds, biases, fused Q/K/V, learned
 * positions) and what it derives from the sizes where still 0: n_kv_head =
 * n_head, d_head = n_embd / n_head, n_ff = 4 n_embd (GPT-2, GPT-NeoX),
 * rotary dims = d_head (Llama family), rope_theta = 10000. Call it after
 * filling arch and the sizes by hand. */
void ls_config_derive(ls_config *cfg);

/* A GPT-2 config of these sizes (layer_norm_epsilon 1e-5), derived. */
ls_config ls_config_gpt2(int n_layer, int n_head, int n_embd, int n_ctx, int vocab_size);

/* Checks ranges and consistency (n_head % n_kv_head, head size, rotary dims). */
int ls_config_validate(const ls_config *cfg, ls_error *err);

/* Reads config.json: model_type picks the family (absent: gpt2, for old
 * GPT-2 files), then that family's keys. A key whose value changes the
 * math in a way lesion does not implement is an error naming it. */
int ls_config_load(ls_config *cfg, const char *path, ls_error *err);

/* LS_VERSION of the library actually loaded (may differ from the header's). */
const char *ls_version(void);

#ifdef __cplusplus
}
#endif

/* One sub-header per concept, in layer order (each uses only those above). */
#include "lesion/model.h"      /* safetensors loading, tensor table, weights views */
#include "lesion/tokenizer.h"  /* GPT-2 byte-level BPE */
#include "lesion/cpu.h"        /* CPU features, ISA paths of the kernels, the BLAS kernel check */
#include "lesion/kernels.h"    /* matmul, layernorm, GELU, softmax, attention */
#include "lesion/lesion.h"     /* spec grammar, modes, counter-based RNG, overlay */
#include "lesion/forward.h"    /* forward pass, KV cache, sampling, generation */
#include "lesion/sites.h"      /* activation sites by name: record, ablate, patch */
#include "lesion/experiment.h" /* metrics, statistics, results store, report */
#include "lesion/probe.h"      /* linear probes on activations */
#include "lesion/sweep.h"      /* the sweep as a library: rows, resume, shards, merge */
#include "lesion/session.h"    /* a model opened for a binding: one handle, plain values */
#pragma GCC visibility pop
#endif
