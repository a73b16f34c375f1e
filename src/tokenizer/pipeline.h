/* pipeline.h: the stages of one encode call, in the order text meets them.
 *
 *   added.c       added tokens found in the text (leftmost, then longest)
 *   normalize.c   normalizer steps: NFC, Prepend, Replace
 *   pretokenize.c pre-tokenizer steps: ByteLevel, Split, Digits, Metaspace
 *   bpe.c         the BPE model on one pre-token
 *   encode.c      drives them
 *
 * Each stage reads the tokenizer (read-only, shared by threads) and writes
 * into the call's own ls_encoder. */
#ifndef LS_TOK_PIPELINE_H
#define LS_TOK_PIPELINE_H

#include "tokenizer_impl.h"

typedef struct ls_bpe_symbols {  /* one pre-token's symbols, by index */
    int32_t *id, *start, *end, *prev, *next;
    size_t cap;
    struct ls_bpe_merge *heap;
    size_t n_heap, cap_heap;
} ls_bpe_symbols;

typedef struct ls_encoder {
    const ls_tokenizer *tok;
    int32_t *ids;            /* output */
    size_t n_ids, cap_ids;
    ls_regex_state *re;
    ls_bpe_symbols bpe;
    ls_error *err;
} ls_encoder;

int ls_enc_push(ls_encoder *e, int32_t id);

/* A stretch of text found by added-token matching: an added token's id, or
 * -1 for the text between tokens. */
typedef struct ls_span {
    size_t start, end;
    int32_t id;
} ls_span;

/* Splits s[0..n) at the tokens of set, as Hugging Face's AddedVocabulary:
 * leftmost-longest matches, a single_word token kept only between non-word
 * characters, lstrip/rstrip widening a match over the whitespace beside it.
 * *spans is malloc'd. Returns 0 or -1 (out of memory). */
int ls_added_split(const ls_added_set *set, const char *s, size_t n, ls_span **spans, size_t *n_spans);

/* Applies the normalizer steps to s[0..n): a malloc'd result, or the input
 * itself (*out == s) when there is nothing to do. */
int ls_normalize(const ls_tokenizer *t, const char *s, size_t n, char **out, size_t *out_len, ls_error *err);

/* Pre-tokenizes s[0..n) from step `step` on and runs BPE on each pre-token.
 * origin: the text starts at offset 0 of the input (Metaspace's "first"). */
int ls_pretokenize(ls_encoder *e, size_t step, const char *s, size_t n, int origin);

/* BPE of one pre-token, appending ids. */
int ls_bpe(ls_encoder *e, const char *piece, size_t n);
void ls_bpe_free(ls_bpe_symbols *b);

#endif
