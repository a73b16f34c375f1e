/* encode.c: text -> token ids, through the pipeline of tokenizer_impl.h.
 *
 *   1. Added tokens (special tokens such as <|endoftext|> or <s>) are found
 *      in the raw text first and become their ids; the text between them is
 *      encoded stretch by stretch, so nothing merges across a special token.
 *   2. Each stretch is normalized (NFC, Prepend, Replace); added tokens
 *      marked "normalized" are then found in the normalized text.
 *   3. Pre-tokenization cuts what is left into pre-tokens (pretokenize.c),
 *      and BPE turns each into ids (bpe.c).
 * This is Hugging Face's order (AddedVocabulary::extract_and_normalize, then
 * pre_tokenize, then the model). For GPT-2's two files it reduces to
 * tiktoken's: <|endoftext|>, GPT-2's regex, byte-pair merges.
 *
 * The input must be valid UTF-8 (no overlongs, no surrogates, nothing above
 * U+10FFFF); the first bad byte is reported by offset. The post-processor's
 * template (a BOS token, say) is not applied: see tokenizer.h. */
#include "pipeline.h"

#include <stdlib.h>

/* Offset of the first byte that is not part of valid UTF-8, or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return i;
        if (len - i < n || s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += n;
    }
    return len;
}

/* Normalizes one stretch between raw added tokens and encodes it. */
static int encode_stretch(ls_encoder *e, const char *s, size_t n, int origin) {
    const ls_tokenizer *t = e->tok;
    char *norm;
    size_t norm_len;
    if (ls_normalize(t, s, n, &norm, &norm_len, e->err)) return -1;
    int rc = -1;
    ls_span *spans = NULL;
    size_t n_spans = 0;
    if (ls_added_split(&t->added_norm, norm, norm_len, &spans, &n_spans)) {
        ls_fail(e->err, "encode: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_spans; i++) {
        const ls_span *sp = &spans[i];
        if (sp->id >= 0) {
            if (ls_enc_push(e, sp->id)) { ls_fail(e->err, "encode: out of memory"); goto out; }
        } else if (ls_pretokenize(e, 0, norm + sp->start, sp->end - sp->start, origin && sp->start == 0)) {
            goto out;
        }
    }
    rc = 0;
out:
    free(spans);
    if (norm != s) free(norm);
    return rc;
}

int ls_tokenizer_encode(const ls_tokenizer *tok, const char *text, size_t len, int32_t **ids, size_t *n_ids,
                        ls_error *err) {
    *ids = NULL;
    *n_ids = 0;
    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len) return ls_fail(err, "encode: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                                  (unsigned)(unsigned char)text[bad]);
    ls_encoder e = {.tok = tok, .cap_ids = len / 4 + 16, .err = err};
    e.ids = malloc(e.cap_ids * sizeof *e.ids);
    e.re = ls_regex_state_new();
    ls_span *spans = NULL;
    size_t n_spans = 0;
    int rc = -1;
    if (!e.ids || !e.re || ls_added_split(&tok->added_raw, text, len, &spans, &n_spans)) {
        ls_fail(err, "encode: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_spans; i++) {
        const ls_span *sp = &spans[i];
        if (sp->id >= 0) {
            if (ls_enc_push(&e, sp->id)) { ls_fail(err, "encode: out of memory"); goto out; }
        } else if (encode_stretch(&e, text + sp->start, sp->end - sp->start, sp->start == 0)) {
            goto out;
        }
    }
    int32_t *shrunk = realloc(e.ids, (e.n_ids ? e.n_ids : 1) * sizeof *shrunk);
    *ids = shrunk ? shrunk : e.ids;
    *n_ids = e.n_ids;
    e.ids = NULL;
    rc = 0;
out:
    free(spans);
    free(e.ids);
    ls_bpe_free(&e.bpe);
    ls_regex_state_free(e.re);
    return rc;
}

int ls_tokenizer_encode_input(const ls_tokenizer *tok, const char *text, size_t len, int32_t **ids, size_t *n_ids,
                              ls_error *err) {
    const int32_t *prefix, *suffix;
    size_t n_prefix, n_suffix;
    ls_tokenizer_template(tok, &prefix, &n_prefix, &suffix, &n_suffix);
    if (ls_tokenizer_encode(tok, text, len, ids, n_ids, err) != 0) return -1;
    if (!n_prefix) return 0;
    int32_t *all = malloc((n_prefix + *n_ids) * sizeof *all);
    if (!all) {
        free(*ids);
        *ids = NULL;
        return ls_fail(err, "encode: out of memory");
    }
    memcpy(all, prefix, n_prefix * sizeof *all);
    memcpy(all + n_prefix, *ids, *n_ids * sizeof *all);
    free(*ids);
    *ids = all;
    *n_ids += n_prefix;
    return 0;
}
