/* pretokenize.c: the pre-tokenizer steps of tokenizer.json.
 *
 * Each step cuts every piece the previous step produced; the last pieces
 * (pre-tokens) go to BPE. Pieces are handled depth first (a piece goes
 * through all remaining steps before its right neighbour starts), which
 * gives the same pre-tokens in the same order as Hugging Face's
 * step-by-step lists without ever holding them all. Empty pieces vanish.
 *
 * A step finds its delimiters ("matches") in the piece, then keeps, drops or
 * glues them to their neighbours by the split behaviour, exactly as Hugging
 * Face's NormalizedString::split folds them:
 *   ByteLevel  optional " " before a piece not starting with one
 *              (add_prefix_space), then GPT-2's regex, matches isolated. The
 *              byte-to-alphabet mapping itself is implicit: keys are raw
 *              bytes (tokenizer_impl.h);
 *   Split      the file's pattern (literal or regex), matches inverted if
 *              asked, then the behaviour;
 *   Digits     each numeric character (Rust's char::is_numeric) a match,
 *              isolated (individual_digits) or contiguous;
 *   Metaspace  spaces become the replacement character, which is prepended
 *              (always / first piece of the text / never) unless already
 *              there, and with split every replacement character starts a
 *              new piece (MergedWithNext). */
#include "pipeline.h"
#include "unicode.h"

#include <stdlib.h>

typedef struct seg {
    size_t start, end;
    int is_match;
} seg;

typedef struct segs {
    seg *v;
    size_t n, cap;
    size_t done; /* end of the last span, while matches are collected */
} segs;

static int seg_push(segs *s, size_t start, size_t end, int is_match) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        seg *g = realloc(s->v, cap * sizeof *g);
        if (!g) return -1;
        s->v = g;
        s->cap = cap;
    }
    s->v[s->n++] = (seg){start, end, is_match};
    return 0;
}

/* Collects a match and the gap before it (find_matches). */
static int on_match(void *ctx, size_t start, size_t end) {
    segs *s = ctx;
    if (s->done != start && seg_push(s, s->done, start, 0)) return -1;
    s->done = end;
    return seg_push(s, start, end, 1);
}

static int finish(segs *s, size_t n) {
    if (s->done != n) return seg_push(s, s->done, n, 0);
    return 0;
}

static void reverse(seg *v, size_t n) {
    for (size_t i = 0; i < n / 2; i++) {
        seg tmp = v[i];
        v[i] = v[n - 1 - i];
        v[n - 1 - i] = tmp;
    }
}

/* Folds s->v by behaviour into the pieces to keep (is_match is reused as
 * "remove"). */
static void fold(segs *s, ls_split_behavior behavior) {
    size_t k = 0;
    int previous = 0;
    switch (behavior) {
    case LS_SPLIT_ISOLATED:
        for (size_t i = 0; i < s->n; i++) s->v[i].is_match = 0;
        return;
    case LS_SPLIT_REMOVED:
        return;
    case LS_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < s->n; i++) {
            seg x = s->v[i];
            if (x.is_match == previous && k) s->v[k - 1].end = x.end;
            else s->v[k++] = (seg){x.start, x.end, 0};
            previous = x.is_match;
        }
        break;
    case LS_SPLIT_MERGED_WITH_PREVIOUS:
        for (size_t i = 0; i < s->n; i++) {
            seg x = s->v[i];
            if (x.is_match && !previous && k) s->v[k - 1].end = x.end;
            else s->v[k++] = (seg){x.start, x.end, 0};
            previous = x.is_match;
        }
        break;
    case LS_SPLIT_MERGED_WITH_NEXT: /* the same from the right: reverse, fold, reverse */
        reverse(s->v, s->n);
        for (size_t i = 0; i < s->n; i++) {
            seg x = s->v[i];
            if (x.is_match && !previous && k) s->v[k - 1].start = x.start;
            else s->v[k++] = (seg){x.start, x.end, 0};
            previous = x.is_match;
        }
        reverse(s->v, k);
        break;
    }
    s->n = k;
}

/* Runs the remaining steps on each kept piece of the folded segments. */
static int descend(ls_encoder *e, size_t step, const char *text, const segs *s, int origin) {
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].is_match || s->v[i].end == s->v[i].start) continue;
        if (ls_pretokenize(e, step + 1, text + s->v[i].start, s->v[i].end - s->v[i].start,
                           origin && s->v[i].start == 0))
            return -1;
    }
    return 0;
}

static int find_pattern(ls_encoder *e, const ls_pattern *p, const char *text, size_t n, segs *s) {
    if (p->literal) {
        for (const char *q = text; (q = memmem(q, n - (size_t)(q - text), p->literal, p->literal_len)) != NULL;
             q += p->literal_len)
            if (on_match(s, (size_t)(q - text), (size_t)(q - text) + p->literal_len)) goto oom;
    } else if (ls_regex_find_all(p->re, e->re, text, n, on_match, s, e->err)) {
        return -1;
    }
    if (finish(s, n)) goto oom;
    return 0;
oom:
    return ls_fail(e->err, "encode: out of memory");
}

/* Each character c with is(c) a match of its own. */
static int find_chars(const char *text, size_t n, int (*is)(const char *, size_t, const void *), const void *arg,
                      segs *s) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = (size_t)ls_utf8_decode(text + i, n - i, &cp);
        if (is(text + i, l, arg) && on_match(s, i, i + l)) return -1;
        i += l;
    }
    return finish(s, n);
}

static int is_numeric_char(const char *c, size_t l, const void *arg) {
    (void)arg;
    uint32_t cp;
    ls_utf8_decode(c, l, &cp);
    return ls_uni_is_numeric(cp);
}

static int is_replacement(const char *c, size_t l, const void *arg) {
    const ls_pre_step *st = arg;
    return (int)l == st->replacement_len && memcmp(c, st->replacement, l) == 0;
}

int ls_pretokenize(ls_encoder *e, size_t step, const char *text, size_t n, int origin) {
    const ls_tokenizer *t = e->tok;
    if (n == 0) return 0;
    if (step == t->n_pre) return ls_bpe(e, text, n) ? ls_fail(e->err, "encode: out of memory") : 0;
    const ls_pre_step *st = &t->pre[step];
    segs s = {0};
    char *own = NULL; /* a transformed copy of the piece */
    int rc = -1;

    if (st->kind == LS_PRE_BYTE_LEVEL && st->add_prefix_space && text[0] != ' ') {
        if (!(own = malloc(n + 1))) goto oom;
        own[0] = ' ';
        memcpy(own + 1, text, n);
        text = own;
        n++;
    }
    if (st->kind == LS_PRE_METASPACE) {
        size_t spaces = 0;
        for (size_t i = 0; i < n; i++) spaces += text[i] == ' ';
        size_t r = (size_t)st->replacement_len;
        if (!(own = malloc(n + spaces * (r - 1) + r))) goto oom;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (text[i] == ' ') { memcpy(own + k, st->replacement, r); k += r; }
            else own[k++] = text[i];
        }
        int starts = k >= r && memcmp(own, st->replacement, r) == 0;
        if (!starts && (st->prepend == LS_PREPEND_ALWAYS || (st->prepend == LS_PREPEND_FIRST && origin))) {
            memmove(own + r, own, k);
            memcpy(own, st->replacement, r);
            k += r;
        }
        text = own;
        n = k;
    }

    switch (st->kind) {
    case LS_PRE_BYTE_LEVEL:
        if (!st->pattern.re) {
            rc = ls_pretokenize(e, step + 1, text, n, origin);
            goto out;
        }
        if (find_pattern(e, &st->pattern, text, n, &s)) goto out;
        fold(&s, LS_SPLIT_ISOLATED);
        break;
    case LS_PRE_SPLIT:
        if (find_pattern(e, &st->pattern, text, n, &s)) goto out;
        if (st->invert)
            for (size_t i = 0; i < s.n; i++) s.v[i].is_match = !s.v[i].is_match;
        fold(&s, st->behavior);
        break;
    case LS_PRE_DIGITS:
        if (find_chars(text, n, is_numeric_char, NULL, &s)) goto oom;
        fold(&s, st->behavior);
        break;
    case LS_PRE_METASPACE:
        if (!st->split) {
            rc = ls_pretokenize(e, step + 1, text, n, origin);
            goto out;
        }
        if (find_chars(text, n, is_replacement, st, &s)) goto oom;
        fold(&s, LS_SPLIT_MERGED_WITH_NEXT);
        break;
    }
    rc = descend(e, step, text, &s, origin);
    goto out;
oom:
    rc = ls_fail(e->err, "encode: out of memory");
out:
    free(s.v);
    free(own);
    return rc;
}
