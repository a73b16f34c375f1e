/* tokenizer_impl.h: the tokenizer's private state, shared by load.c (which
 * builds and validates it) and encode.c (which only reads it).
 *
 * Tokens are kept as raw bytes (the byte alphabet of the files is undone at
 * load time), all in one arena. A single open-addressing hash table maps a
 * token's bytes to its id; BPE asks it "is left+right a token, and with what
 * merge rank?", which is exactly tiktoken's question (see encode.c). */
#ifndef LS_TOKENIZER_IMPL_H
#define LS_TOKENIZER_IMPL_H

#include <lesion.h>

#include <stdint.h>
#include <string.h>

#define LS_NO_RANK INT32_MAX

struct ls_tokenizer {
    int32_t n_vocab;        /* V */
    int32_t eot;            /* id of <|endoftext|>, or -1 */
    char *arena;            /* every token's bytes, back to back */
    size_t *offset;         /* (V) start of token id in arena */
    uint32_t *len;          /* (V) bytes in token id */
    int32_t *merge_rank;    /* (V) rank of the first merge producing id, or LS_NO_RANK */
    uint8_t *special;       /* (V) 1 for <|...|> tokens that no merge produces */
    int32_t byte_id[256];   /* id of each single-byte token */
    int32_t *slots;         /* (cap) ids, -1 = empty; keyed by the token's bytes */
    size_t cap;             /* power of two, >= 2V */
    void *re;               /* pcre2_code_8 *: the pre-tokenization regex */
};

/* FNV-1a: short keys, cheap, good enough spread for token strings. */
static inline uint32_t ls_tok_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Id of the token whose bytes are s[0..n), or -1. */
static inline int32_t ls_tok_lookup(const struct ls_tokenizer *t, const char *s, size_t n) {
    size_t mask = t->cap - 1;
    for (size_t i = ls_tok_hash(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->arena + t->offset[id], s, n) == 0) return id;
    }
}

#endif
