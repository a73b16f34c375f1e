/* decode.c: ids -> bytes, and the small accessors.
 *
 * Decoding is exact down to the byte: each id's text was computed once at
 * load time by the decoder's per-token steps (ByteLevel's byte alphabet,
 * Replace "▁" -> " ", ByteFallback's <0xNN> -> byte NN, Metaspace), so a
 * sequence decodes to the concatenation of its texts, with two adjustments
 * that only the whole sequence can make:
 *   - a Metaspace decoder drops the "▁" of the first token instead of
 *     turning it into a space (first_* texts);
 *   - a Strip step after the tokens are joined removes leading and trailing
 *     copies of its character (Llama 2's one leading space).
 * Hugging Face returns a string, replacing invalid UTF-8 (half an emoji)
 * with U+FFFD; lesion returns the bytes, so that streaming decode can
 * reassemble characters split across tokens. */
#include "tokenizer_impl.h"

#include <stdlib.h>

int ls_tokenizer_vocab_size(const ls_tokenizer *tok) { return tok->n_vocab; }

int32_t ls_tokenizer_eot(const ls_tokenizer *tok) { return tok->eot; }

int32_t ls_tokenizer_bos(const ls_tokenizer *tok) { return tok->n_prefix ? tok->prefix[0] : -1; }

void ls_tokenizer_template(const ls_tokenizer *tok, const int32_t **prefix, size_t *n_prefix,
                           const int32_t **suffix, size_t *n_suffix) {
    *prefix = tok->prefix;
    *n_prefix = tok->n_prefix;
    *suffix = tok->suffix;
    *n_suffix = tok->n_suffix;
}

static void text_of(const ls_tokenizer *tok, int32_t id, int first, const char **s, size_t *n) {
    if (first && tok->first_arena) {
        *s = tok->first_arena + tok->first_offset[id];
        *n = tok->first_len[id];
    } else if (tok->text_arena) {
        *s = tok->text_arena + tok->text_offset[id];
        *n = tok->text_len[id];
    } else {
        *s = tok->arena + tok->offset[id];
        *n = tok->len[id];
    }
}

int ls_tokenizer_token_bytes(const ls_tokenizer *tok, int32_t id, const char **bytes, size_t *len) {
    if (id < 0 || id >= tok->n_vocab || !tok->present[id]) return -1;
    text_of(tok, id, 0, bytes, len);
    return 0;
}

int ls_tokenizer_decode(const ls_tokenizer *tok, const int32_t *ids, size_t n_ids, char **text,
                        size_t *len, ls_error *err) {
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab)
            return ls_fail(err, "decode: id %d at position %zu is out of range (vocab has %d tokens)",
                           (int)ids[i], i, tok->n_vocab);
        if (!tok->present[ids[i]])
            return ls_fail(err, "decode: id %d at position %zu names no token (the vocab has no id %d)",
                           (int)ids[i], i, (int)ids[i]);
        const char *s;
        size_t n;
        text_of(tok, ids[i], i == 0, &s, &n);
        total += n;
    }
    char *out = malloc(total + 1);
    if (!out) return ls_fail(err, "decode: out of memory (%zu bytes)", total);
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        const char *s;
        size_t n;
        text_of(tok, ids[i], i == 0, &s, &n);
        memcpy(out + k, s, n);
        k += n;
    }
    /* Strip: whole characters only, as Hugging Face's Strip decoder. */
    size_t c = (size_t)tok->strip_char_len, from = 0, to = k;
    for (int i = 0; c && i < tok->strip_start && to - from >= c && memcmp(out + from, tok->strip_char, c) == 0; i++)
        from += c;
    for (int i = 0; c && i < tok->strip_stop && to - from >= c && memcmp(out + to - c, tok->strip_char, c) == 0; i++)
        to -= c;
    memmove(out, out + from, to - from);
    out[to - from] = '\0';
    *text = out;
    *len = to - from;
    return 0;
}
