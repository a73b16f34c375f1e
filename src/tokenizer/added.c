/* added.c: finding added tokens (special tokens and the like) in text.
 *
 * As Hugging Face's AddedVocabulary: the tokens are searched leftmost
 * first, longest first among those starting at the same place, and the
 * search goes on after the end of each match (matches never overlap). Then,
 * per match:
 *   single_word - the match is dropped unless the characters on both sides
 *                 (if any) are not word characters (the regex crate's \w);
 *   lstrip      - the match widens left over the whitespace before it (but
 *                 not into the previous match);
 *   rstrip      - the match widens right over the whitespace after it.
 * Whitespace is Rust's char::is_whitespace (White_Space).
 *
 * Tokens are bucketed by first byte, longest first within a bucket, so a
 * position costs one bucket scan; real files have a few hundred added
 * tokens, mostly starting with '<'. */
#include "pipeline.h"
#include "unicode.h"

#include <stdlib.h>

/* The code point before s[end] (end > 0). */
static uint32_t cp_before(const char *s, size_t end) {
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    uint32_t cp;
    ls_utf8_decode(s + i, end - i, &cp);
    return cp;
}

static size_t white_before(const char *s, size_t end) { /* start of the whitespace run ending at end */
    while (end > 0) {
        size_t i = end - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
        uint32_t cp;
        ls_utf8_decode(s + i, end - i, &cp);
        if (!ls_uni_is_white_space(cp)) break;
        end = i;
    }
    return end;
}

static size_t white_after(const char *s, size_t n, size_t start) { /* end of the whitespace run at start */
    while (start < n) {
        uint32_t cp;
        int l = ls_utf8_decode(s + start, n - start, &cp);
        if (!ls_uni_is_white_space(cp)) break;
        start += (size_t)l;
    }
    return start;
}

static int push_span(ls_span **v, size_t *n, size_t *cap, size_t start, size_t end, int32_t id) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        ls_span *g = realloc(*v, c * sizeof *g);
        if (!g) return -1;
        *v = g;
        *cap = c;
    }
    (*v)[(*n)++] = (ls_span){start, end, id};
    return 0;
}

int ls_added_split(const ls_added_set *set, const char *s, size_t n, ls_span **spans, size_t *n_spans) {
    ls_span *v = NULL;
    size_t nv = 0, cap = 0, done = 0; /* text before `done` is in spans */
    for (size_t i = 0; i < n && set->n;) {
        uint8_t b = (uint8_t)s[i];
        const ls_added_token *hit = NULL;
        for (uint32_t k = set->first[b]; k < set->first[b + 1]; k++) {
            const ls_added_token *a = &set->tok[k];
            if (a->match_len <= n - i && memcmp(s + i, a->match, a->match_len) == 0) { hit = a; break; }
        }
        if (!hit) { i++; continue; }
        size_t start = i, stop = i + hit->match_len;
        i = stop;
        if (hit->single_word) {
            uint32_t cp;
            int left_ok = start == 0 || !ls_uni_is_word(cp_before(s, start));
            int right_ok = stop == n || (ls_utf8_decode(s + stop, n - stop, &cp), !ls_uni_is_word(cp));
            if (!left_ok || !right_ok) continue;
        }
        if (hit->lstrip) {
            size_t w = white_before(s, start);
            start = w > done ? w : done;
        }
        if (hit->rstrip) stop = white_after(s, n, stop);
        if (start < done) start = done; /* a token beginning inside the previous one's rstrip */
        if (done < start && push_span(&v, &nv, &cap, done, start, -1)) goto oom;
        if (push_span(&v, &nv, &cap, start, stop, hit->id)) goto oom;
        done = stop;
        if (i < stop) i = stop;
    }
    if (done < n && push_span(&v, &nv, &cap, done, n, -1)) goto oom;
    *spans = v;
    *n_spans = nv;
    return 0;
oom:
    free(v);
    return -1;
}
