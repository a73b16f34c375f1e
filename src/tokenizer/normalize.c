/* normalize.c: the normalizer steps of tokenizer.json, on one stretch of
 * text between added tokens (Hugging Face normalizes each such stretch on
 * its own, which is why Llama 2's "▁" is prepended after every special
 * token too).
 *
 *   NFC            Unicode 9.0 composition (unicode.c), as Hugging Face's
 *                  normalizer crate;
 *   Prepend(p)     p before the text, if the text is not empty;
 *   Replace(a, b)  every non-overlapping match of a, leftmost first, becomes
 *                  b (a is a literal, or a regex as Split's). */
#include "pipeline.h"
#include "unicode.h"

#include <stdlib.h>

typedef struct growbuf {
    char *s;
    size_t n, cap;
} growbuf;

static int grow_put(growbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) return -1;
        b->s = g;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    return 0;
}

typedef struct replace_ctx {
    growbuf out;
    const char *s;
    size_t done;
    const ls_norm_step *step;
} replace_ctx;

static int on_replace(void *vctx, size_t start, size_t end) {
    replace_ctx *c = vctx;
    if (grow_put(&c->out, c->s + c->done, start - c->done) ||
        grow_put(&c->out, c->step->text, c->step->text_len))
        return -1;
    c->done = end;
    return 0;
}

static int replace(const ls_norm_step *st, ls_regex_state *rs, const char *s, size_t n, growbuf *out,
                   ls_error *err) {
    replace_ctx c = {.s = s, .step = st};
    if (st->pattern.literal) {
        const char *lit = st->pattern.literal;
        size_t ll = st->pattern.literal_len;
        for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), lit, ll)) != NULL; p += ll)
            if (on_replace(&c, (size_t)(p - s), (size_t)(p - s) + ll)) goto oom;
    } else if (ls_regex_find_all(st->pattern.re, rs, s, n, on_replace, &c, err)) {
        free(c.out.s);
        return -1;
    }
    if (grow_put(&c.out, s + c.done, n - c.done)) goto oom;
    *out = c.out;
    return 0;
oom:
    free(c.out.s);
    return ls_fail(err, "encode: out of memory");
}

int ls_normalize(const ls_tokenizer *t, const char *s, size_t n, char **out, size_t *out_len, ls_error *err) {
    *out = (char *)s;
    *out_len = n;
    ls_regex_state *rs = NULL;
    for (size_t i = 0; i < t->n_norm; i++) {
        const ls_norm_step *st = &t->norm[i];
        growbuf next = {0};
        int rc = 0;
        if (st->kind == LS_NORM_NFC) {
            rc = ls_uni_nfc(*out, *out_len, &next.s, &next.n) ? ls_fail(err, "encode: out of memory") : 0;
        } else if (st->kind == LS_NORM_PREPEND) {
            if (*out_len == 0) continue;
            rc = grow_put(&next, st->text, st->text_len) || grow_put(&next, *out, *out_len)
                     ? ls_fail(err, "encode: out of memory") : 0;
        } else {
            if (!st->pattern.literal && !rs && !(rs = ls_regex_state_new())) {
                rc = ls_fail(err, "encode: out of memory");
            } else {
                rc = replace(st, rs, *out, *out_len, &next, err);
            }
        }
        if (*out != s) free(*out);
        if (rc) {
            free(next.s);
            *out = NULL;
            ls_regex_state_free(rs);
            return -1;
        }
        *out = next.s ? next.s : malloc(1);
        *out_len = next.n;
        if (!*out) { ls_regex_state_free(rs); return ls_fail(err, "encode: out of memory"); }
    }
    ls_regex_state_free(rs);
    return 0;
}
