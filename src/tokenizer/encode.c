/* encode.c: text -> token ids, exactly as tiktoken's "gpt2" encoding.
 *
 * Three steps, each chosen to reproduce tiktoken to the id:
 *
 * 1. The literal "<|endoftext|>" becomes the end-of-text id and splits the
 *    text; each piece of text in between is encoded on its own (so a space
 *    just before the marker stays a separate pre-token, as in tiktoken).
 *
 * 2. Pre-tokenization with GPT-2's regex
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    run by PCRE2 (UTF mode, JIT-compiled). tiktoken runs it with Rust's
 *    regex engine, and PCRE2 differs from it twice, so none of \s, \p{L}
 *    and \p{N} is left to PCRE2:
 *    - Rust's \s is Unicode's White_Space property. PCRE2's \s (UCP mode) is
 *      \p{Z} plus \h and \v, which adds U+180E (MONGOLIAN VOWEL SEPARATOR,
 *      no longer White_Space since Unicode 6.3). LS_WS below spells
 *      White_Space out. (Python's str.isspace() would also count \x1c-\x1f;
 *      Rust does not, and neither do we.)
 *    - Rust's \p{L} and \p{N} follow Unicode 16.0; PCRE2 follows the
 *      Unicode of its build (14.0 for 10.42), which lacks ~9,400 of them, and
 *      that changes ids (e.g. U+A7DA followed by a CJK letter). The classes
 *      come spelled out from unicode_classes.h, generated for Unicode 16.0.
 *
 * 3. Byte-pair merging of each pre-token. If the whole pre-token is a token,
 *    that token is the answer (tiktoken's shortcut; plain BPE could in
 *    principle reach other ids). Otherwise start from single bytes and
 *    repeatedly merge the adjacent pair whose concatenation has the lowest
 *    merge rank, leftmost first on ties. Like tiktoken, a pair is judged by
 *    its concatenated bytes; for GPT-2's files, where every merge makes a
 *    distinct token, that is the same as encoder.py's rule of merging listed
 *    pairs by rank. A binary heap keyed by (rank, position) with lazy
 *    deletion keeps very long pre-tokens O(n log n) instead of O(n^2).
 *
 * Speed: most pre-tokens of ordinary text are whole tokens and cost one
 * hash lookup. */
#include "tokenizer_impl.h"
#include "unicode_classes.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

/* Unicode White_Space, as Rust's regex \s: TAB LF VT FF CR, SPACE, NEL,
 * NBSP, OGHAM SPACE MARK, EN QUAD..HAIR SPACE, LINE SEPARATOR, PARAGRAPH
 * SEPARATOR, NARROW NBSP, MEDIUM MATHEMATICAL SPACE, IDEOGRAPHIC SPACE. */
#define LS_WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
              "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d"
    "| ?[" LS_UNI_LETTER "]+"
    "| ?[" LS_UNI_NUMBER "]+"
    "| ?[^" LS_WS LS_UNI_LETTER LS_UNI_NUMBER "]+"
    "|[" LS_WS "]+(?![^" LS_WS "])"
    "|[" LS_WS "]+";

int ls_tok_compile_regex(ls_tokenizer *tok, ls_error *err) {
    int code;
    PCRE2_SIZE at;
    /* ANCHORED: every alternative set together covers any character, so a
     * match always starts where the last one ended; anchoring makes a
     * failure to do so an error instead of silently skipped text. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &code, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return ls_fail(err, "tokenizer regex: %s at offset %zu", (const char *)msg, (size_t)at);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT, the interpreter runs it */
    tok->re = re;
    return 0;
}

void ls_tok_free_regex(ls_tokenizer *tok) { pcre2_code_free((pcre2_code *)tok->re); }

/* Offset of the first byte that is not part of valid UTF-8 (no overlongs,
 * no surrogates, nothing above U+10FFFF), or len if all is valid. */
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

/* ---- one encode call's working memory ------------------------------------- */

typedef struct heap_entry {
    int32_t rank;     /* merge rank of the pair's concatenation */
    int32_t start;    /* byte offset of the pair's left symbol in the piece */
    int32_t pair_end; /* end of the right symbol when pushed: detects staleness */
} heap_entry;

typedef struct encoder {
    const ls_tokenizer *tok;
    int32_t *ids; /* output */
    size_t n_ids, cap_ids;
    /* BPE over one piece of n bytes: symbols are named by their start byte. */
    int32_t *end;  /* (n) end of the symbol starting here; 0 once merged away */
    int32_t *next; /* (n) start of the next symbol, -1 at the end */
    int32_t *prev; /* (n) start of the previous symbol, -1 at the start */
    heap_entry *heap; /* (3n): n-1 initial pairs + at most 2 per merge */
    size_t n_heap, cap_piece;
} encoder;

static int push_id(encoder *e, int32_t id) {
    if (e->n_ids == e->cap_ids) {
        size_t cap = e->cap_ids * 2;
        int32_t *p = realloc(e->ids, cap * sizeof *p);
        if (!p) return -1;
        e->ids = p;
        e->cap_ids = cap;
    }
    e->ids[e->n_ids++] = id;
    return 0;
}

static int reserve_piece(encoder *e, size_t n) {
    if (n <= e->cap_piece) return 0;
    size_t cap = e->cap_piece ? e->cap_piece : 64;
    while (cap < n) cap *= 2;
    int32_t *a = realloc(e->end, cap * sizeof *a);
    if (a) e->end = a;
    int32_t *b = realloc(e->next, cap * sizeof *b);
    if (b) e->next = b;
    int32_t *c = realloc(e->prev, cap * sizeof *c);
    if (c) e->prev = c;
    heap_entry *h = realloc(e->heap, 3 * cap * sizeof *h);
    if (h) e->heap = h;
    if (!a || !b || !c || !h) return -1;
    e->cap_piece = cap;
    return 0;
}

static int entry_less(heap_entry a, heap_entry b) {
    return a.rank < b.rank || (a.rank == b.rank && a.start < b.start);
}

static void heap_push(encoder *e, heap_entry x) {
    size_t i = e->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_less(x, e->heap[parent])) break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = x;
}

static heap_entry heap_pop(encoder *e) {
    heap_entry top = e->heap[0], x = e->heap[--e->n_heap];
    size_t i = 0, n = e->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && entry_less(e->heap[c + 1], e->heap[c])) c++;
        if (!entry_less(e->heap[c], x)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n) e->heap[i] = x;
    return top;
}

/* Pushes the pair of symbols [a, b) + [b, pair_end) if it is mergeable. */
static void push_pair(encoder *e, const char *piece, int32_t a, int32_t pair_end) {
    int32_t id = ls_tok_lookup(e->tok, piece + a, (size_t)(pair_end - a));
    if (id < 0 || e->tok->merge_rank[id] == LS_NO_RANK) return;
    heap_push(e, (heap_entry){e->tok->merge_rank[id], a, pair_end});
}

/* Encodes one pre-token of n bytes. */
static int encode_piece(encoder *e, const char *piece, size_t n) {
    const ls_tokenizer *t = e->tok;
    if (n == 1) return push_id(e, t->byte_id[(uint8_t)piece[0]]);
    int32_t whole = ls_tok_lookup(t, piece, n);
    if (whole >= 0 && !t->special[whole]) return push_id(e, whole);
    if (n > INT32_MAX / 4 || reserve_piece(e, n)) return -1;

    int32_t len = (int32_t)n;
    for (int32_t i = 0; i < len; i++) {
        e->end[i] = i + 1;
        e->next[i] = i + 1 < len ? i + 1 : -1;
        e->prev[i] = i - 1;
    }
    e->n_heap = 0;
    for (int32_t i = 0; i + 1 < len; i++) push_pair(e, piece, i, i + 2);
    while (e->n_heap) {
        heap_entry top = heap_pop(e);
        int32_t a = top.start, b = e->next[a];
        if (e->end[a] == 0 || b < 0 || e->end[b] != top.pair_end) continue; /* stale */
        e->end[a] = e->end[b];
        e->end[b] = 0;
        e->next[a] = e->next[b];
        if (e->next[a] >= 0) {
            e->prev[e->next[a]] = a;
            push_pair(e, piece, a, e->end[e->next[a]]);
        }
        if (e->prev[a] >= 0) push_pair(e, piece, e->prev[a], e->end[a]);
    }
    for (int32_t i = 0; i >= 0; i = e->next[i]) {
        int32_t id = ls_tok_lookup(t, piece + i, (size_t)(e->end[i] - i));
        if (push_id(e, id)) return -1; /* id >= 0: every symbol is a byte or a merge result */
    }
    return 0;
}

/* Pre-tokenizes and encodes text that holds no special token. */
static int encode_ordinary(encoder *e, pcre2_match_data *md, const char *s, size_t n, size_t base,
                           ls_error *err) {
    const pcre2_code *re = e->tok->re;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    for (size_t off = 0; off < n;) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0 || ov[0] != off || ov[1] <= off) {
            PCRE2_UCHAR msg[256] = "no match";
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) pcre2_get_error_message(rc, msg, sizeof msg);
            return ls_fail(err, "encode: pre-tokenization failed at byte %zu: %s", base + off,
                           (const char *)msg);
        }
        if (encode_piece(e, s + ov[0], ov[1] - ov[0]))
            return ls_fail(err, "encode: out of memory");
        off = ov[1];
    }
    return 0;
}

int ls_tokenizer_encode(const ls_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                        size_t *n_ids, ls_error *err) {
    *ids = NULL;
    *n_ids = 0;
    size_t bad = utf8_invalid_at((const unsigned char *)text, len);
    if (bad < len) return ls_fail(err, "encode: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                                  (unsigned)(unsigned char)text[bad]);
    encoder e = {.tok = tok, .cap_ids = len / 4 + 16};
    e.ids = malloc(e.cap_ids * sizeof *e.ids);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(tok->re, NULL);
    int rc = -1;
    if (!e.ids || !md) { ls_fail(err, "encode: out of memory"); goto out; }

    static const char eot_text[] = "<|endoftext|>";
    const size_t eot_len = sizeof eot_text - 1;
    for (size_t pos = 0; pos < len;) {
        const char *hit = tok->eot >= 0 ? memmem(text + pos, len - pos, eot_text, eot_len) : NULL;
        size_t stop = hit ? (size_t)(hit - text) : len;
        if (encode_ordinary(&e, md, text + pos, stop - pos, pos, err)) goto out;
        if (!hit) break;
        if (push_id(&e, tok->eot)) { ls_fail(err, "encode: out of memory"); goto out; }
        pos = stop + eot_len;
    }
    int32_t *shrunk = realloc(e.ids, (e.n_ids ? e.n_ids : 1) * sizeof *shrunk);
    *ids = shrunk ? shrunk : e.ids;
    *n_ids = e.n_ids;
    e.ids = NULL;
    rc = 0;
out:
    free(e.ids);
    free(e.end);
    free(e.next);
    free(e.prev);
    free(e.heap);
    pcre2_match_data_free(md);
    return rc;
}
