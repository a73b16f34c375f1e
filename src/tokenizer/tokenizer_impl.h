/* tokenizer_impl.h: the tokenizer's private state, shared by the loaders
 * (load.c for GPT-2's two files, load_json.c for tokenizer.json), which build
 * and validate it, and by encode.c / decode.c, which only read it.
 *
 * A tokenizer is a pipeline described as data, as tokenizer.json describes
 * it: added tokens matched first, then normalizer steps, pre-tokenizer
 * steps, the BPE model, and on the way back the decoder steps. GPT-2's two
 * files load into the same description (no normalizer, GPT-2's regex, one
 * added token <|endoftext|>), with one difference kept from tiktoken: merges
 * are judged by the concatenated bytes of a pair (see bpe.c).
 *
 * Tokens are kept under two spellings:
 *   key  - what the model looks up: raw bytes for byte-level BPE (the byte
 *          alphabet of the files undone at load time), the UTF-8 string as
 *          written for SentencePiece-style BPE ("▁the", "<0x0A>");
 *   text - what decoding produces for the token on its own (the decoder's
 *          per-token steps applied once, at load time).
 * A single open-addressing table maps a key to its id. */
#ifndef LS_TOKENIZER_IMPL_H
#define LS_TOKENIZER_IMPL_H

#include <lesion.h>

#include <stdint.h>
#include <string.h>

#include "regex.h"

#define LS_NO_RANK INT32_MAX

/* ---- the pipeline as data ------------------------------------------------- */

typedef enum { LS_NORM_NFC, LS_NORM_PREPEND, LS_NORM_REPLACE } ls_normalizer_kind;

typedef struct ls_pattern {  /* a Split or Replace pattern: a literal or a regex */
    char *literal;           /* {"String": ...}: matched literally (NULL for a regex) */
    size_t literal_len;
    ls_regex *re;            /* {"Regex": ...} */
} ls_pattern;

typedef struct ls_norm_step {
    ls_normalizer_kind kind;
    char *text;              /* Prepend: the prefix; Replace: the replacement */
    size_t text_len;
    ls_pattern pattern;      /* Replace */
} ls_norm_step;

typedef enum { LS_PRE_BYTE_LEVEL, LS_PRE_SPLIT, LS_PRE_DIGITS, LS_PRE_METASPACE } ls_pre_kind;

/* What happens to the matched delimiters, as Hugging Face's
 * SplitDelimiterBehavior. */
typedef enum {
    LS_SPLIT_REMOVED, LS_SPLIT_ISOLATED, LS_SPLIT_MERGED_WITH_PREVIOUS, LS_SPLIT_MERGED_WITH_NEXT,
    LS_SPLIT_CONTIGUOUS
} ls_split_behavior;

typedef enum { LS_PREPEND_ALWAYS, LS_PREPEND_FIRST, LS_PREPEND_NEVER } ls_prepend_scheme;

typedef struct ls_pre_step {
    ls_pre_kind kind;
    ls_split_behavior behavior; /* Split, Digits */
    int invert;                 /* Split */
    ls_pattern pattern;         /* Split; ByteLevel with use_regex: GPT-2's pattern */
    int add_prefix_space;       /* ByteLevel */
    char replacement[5];        /* Metaspace: one character, UTF-8 */
    int replacement_len;
    ls_prepend_scheme prepend;  /* Metaspace */
    int split;                  /* Metaspace */
} ls_pre_step;

/* A token matched in the text before anything else runs. */
typedef struct ls_added_token {
    int32_t id;
    char *match;             /* what is searched for: the content, or for a
                                normalized token the content normalized */
    size_t match_len;
    uint8_t lstrip, rstrip, single_word;
} ls_added_token;

typedef struct ls_added_set {  /* one search: leftmost, then longest */
    ls_added_token *tok;       /* (n) sorted by first byte, then longest first */
    size_t n;
    uint32_t first[257];       /* tok[first[b]..first[b+1]) start with byte b */
} ls_added_set;

/* ---- the tokenizer -------------------------------------------------------------- */

struct ls_tokenizer {
    int32_t n_vocab;         /* V = largest id + 1; ids without a token are holes */
    int32_t eot;             /* id of <|endoftext|>, or -1 */
    char *arena;             /* every key, back to back */
    size_t *offset;          /* (V) start of key id in arena */
    uint32_t *len;           /* (V) bytes in key id */
    char *text_arena;        /* decoded texts, or NULL: same as the keys */
    size_t *text_offset;     /* (V) */
    uint32_t *text_len;      /* (V) */
    uint8_t *present;        /* (V) 1 for ids that name a token (not a hole) */
    uint8_t *special;        /* (V) GPT-2 files: 1 for <|...|> tokens no merge produces */
    int32_t byte_id[256];    /* id of each single byte (byte-level) or of <0xNN> (byte_fallback); -1 if none */
    int32_t *slots;          /* (cap) ids, -1 = empty; keyed by the token's key bytes */
    size_t cap;              /* power of two, >= 2V */

    /* model */
    int byte_level;          /* keys are raw bytes; symbols start as single bytes */
    int merge_by_concat;     /* GPT-2 files: a pair merges if its bytes form a merge result (tiktoken) */
    int32_t *merge_rank;     /* (V) concat mode: rank of the first merge producing id */
    uint64_t *pair_key;      /* (pair_cap) pair mode: (left << 32 | right) + 1, 0 = empty */
    int32_t *pair_rank;      /* (pair_cap) */
    int32_t *pair_result;    /* (pair_cap) */
    size_t pair_cap;
    int whole_piece_first;   /* a pre-token that is a token is that token (ignore_merges / tiktoken) */
    int byte_fallback;
    int32_t unk;             /* -1 if none */
    int fuse_unk;

    /* pipeline */
    ls_added_set added_raw;  /* matched in the input text */
    ls_added_set added_norm; /* matched in the normalized text */
    ls_norm_step *norm;
    size_t n_norm;
    ls_pre_step *pre;
    size_t n_pre;

    /* decoder, beyond each token's text */
    char strip_char[5];      /* Strip after the tokens are joined: up to strip_start leading and */
    int strip_char_len;      /* strip_stop trailing copies of strip_char removed */
    int strip_start, strip_stop;
    char *first_arena;       /* Metaspace decoder: the texts of ids decoded first (their */
    size_t *first_offset;    /* "▁" dropped, not turned into spaces), or NULL */
    uint32_t *first_len;

    /* post-processor template: ids placed around one sequence */
    int32_t *prefix, *suffix;
    size_t n_prefix, n_suffix;
};

/* FNV-1a: short keys, cheap, good enough spread for token strings. */
static inline uint32_t ls_tok_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Id of the token whose key is s[0..n), or -1. */
static inline int32_t ls_tok_lookup(const struct ls_tokenizer *t, const char *s, size_t n) {
    size_t mask = t->cap - 1;
    for (size_t i = ls_tok_hash(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->arena + t->offset[id], s, n) == 0) return id;
    }
}

/* ---- shared by the loaders (load.c) ------------------------------------------------ */

/* Allocates the per-id arrays and the key table for ids 0..n_vocab-1 and
 * arena_bytes of keys (all ids start as holes). */
int ls_tok_alloc(ls_tokenizer *t, int32_t n_vocab, size_t arena_bytes, ls_error *err);
/* Sets the key of id (appending to the arena at *used) and, if in_table,
 * inserts it in the lookup table; -1 if another id has the same key. */
int ls_tok_set_key(ls_tokenizer *t, int32_t id, const char *key, size_t len, size_t *used, int in_table);
/* A token or text written for a one-line message (escaped, cut at ~60 bytes). */
const char *ls_tok_show(char out[80], const char *s, size_t n);
/* GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the
 * other 68 take the code points 256, 257, ... in byte order. code_of[byte],
 * byte_of[code point] (-1 outside the alphabet, 324 entries). */
#define LS_ALPHABET_CPS 324
void ls_tok_byte_alphabet(int code_of[256], int byte_of[LS_ALPHABET_CPS]);
/* Builds an added-token search set from tokens (takes ownership). */
int ls_tok_added_set(ls_added_set *set, ls_added_token *tok, size_t n);
void ls_tok_added_set_free(ls_added_set *set);
/* Pair table for pair-mode merges. */
int ls_tok_pairs_alloc(ls_tokenizer *t, size_t n_merges);
void ls_tok_pairs_put(ls_tokenizer *t, int32_t left, int32_t right, int32_t rank, int32_t result);
static inline int ls_tok_pair_get(const struct ls_tokenizer *t, int32_t left, int32_t right, int32_t *rank,
                                  int32_t *result) {
    if (!t->pair_cap) return 0;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    size_t mask = t->pair_cap - 1;
    for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;; i = (i + 1) & mask) {
        if (t->pair_key[i] == 0) return 0;
        if (t->pair_key[i] == key) {
            *rank = t->pair_rank[i];
            *result = t->pair_result[i];
            return 1;
        }
    }
}

#endif
