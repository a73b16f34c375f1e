/* load_json.c: Hugging Face's tokenizer.json, read into the pipeline of
 * tokenizer_impl.h.
 *
 * Supported, because real BPE tokenizers use them (docs/tokenizer.md lists
 * which file uses what):
 *   model           BPE: vocab, merges ("a b" strings or [a, b] arrays),
 *                   unk_token, fuse_unk, byte_fallback, ignore_merges;
 *   normalizer      null, NFC, Prepend, Replace, Sequence of these;
 *   pre_tokenizer   null, ByteLevel, Split, Digits, Metaspace, Sequence;
 *   decoder         ByteLevel, Replace (literal), ByteFallback, Fuse, Strip,
 *                   Metaspace, Sequence;
 *   post_processor  null, ByteLevel, TemplateProcessing, RobertaProcessing,
 *                   BertProcessing, Sequence (read for ls_tokenizer_template);
 *   added_tokens    content, id, lstrip, rstrip, single_word, normalized.
 * Anything else (WordPiece or Unigram models, NFKC, a BPE dropout, ...) is
 * refused with a one-line message naming the part, because encoding it
 * slightly wrong would be silent. truncation and padding are ignored:
 * lesion encodes whole texts and never pads.
 *
 * Ids. The vocab's ids may leave holes (cl100k_base has some). Added tokens
 * get their ids as Hugging Face gives them: the vocab's id when the content
 * is a vocab token, else the next one after the vocab's size (its number of
 * entries), in file order. Hugging Face only warns when the file's "id"
 * says otherwise, and so lesion follows Hugging Face, not the "id" field;
 * an id that lands on a vocab token is refused.
 *
 * Keys. With a ByteLevel pre-tokenizer the text reaching the model is bytes
 * spelled in GPT-2's alphabet, so vocab keys are unspelled into raw bytes
 * (a key outside the alphabet could never match and is refused as
 * malformed); otherwise keys are kept as the UTF-8 strings they are. */
#include "pipeline.h"
#include "unicode.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the load's working state --------------------------------------------------- */

typedef enum { DEC_BYTE_LEVEL, DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_METASPACE, DEC_STRIP } dec_kind;

typedef struct dec_step {  /* one per-token decoder step */
    dec_kind kind;
    const char *from, *to; /* Replace */
    char ch[5];            /* Metaspace replacement / Strip content */
    int ch_len;
    int drop_first;        /* Metaspace: prepend_scheme is not "never" */
    int start, stop;       /* Strip */
} dec_step;

typedef struct loader {
    const char *path;
    ls_error *err;
    ls_tokenizer *t;
    cJSON *root;
    int byte_of[LS_ALPHABET_CPS], code_of[256];
    const char **spelling; /* (V) each id's string as written (vocab key or added content) */
    dec_step dec[16];
    size_t n_dec;
    int has_meta_first;
} loader;

static int fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader *L, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_fail(L->err, "%s: %s", L->path, msg);
}

static const char *shown(char buf[80], const char *s) { return ls_tok_show(buf, s, strlen(s)); }

/* ---- JSON helpers ------------------------------------------------------------------ */

static cJSON *field(const cJSON *o, const char *name) { return cJSON_GetObjectItemCaseSensitive(o, name); }

static int get_bool(loader *L, const cJSON *o, const char *where, const char *name, int dflt, int *out) {
    const cJSON *v = field(o, name);
    if (!v || cJSON_IsNull(v)) { *out = dflt; return 0; }
    if (!cJSON_IsBool(v)) return fail(L, "%s.%s: expected true or false", where, name);
    *out = cJSON_IsTrue(v);
    return 0;
}

static const char *get_string(loader *L, const cJSON *o, const char *where, const char *name, int required) {
    const cJSON *v = field(o, name);
    if ((!v || cJSON_IsNull(v)) && !required) return NULL;
    if (!cJSON_IsString(v)) {
        fail(L, "%s.%s: expected a string", where, name);
        return NULL;
    }
    return v->valuestring;
}

static int get_int(loader *L, const cJSON *o, const char *where, const char *name, long lo, long hi, long *out) {
    const cJSON *v = field(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return fail(L, "%s.%s: expected an integer in %ld..%ld", where, name, lo, hi);
    *out = (long)v->valuedouble;
    return 0;
}

static const char *type_of(loader *L, const cJSON *o, const char *where) {
    if (!cJSON_IsObject(o)) { fail(L, "%s: expected an object", where); return NULL; }
    return get_string(L, o, where, "type", 1);
}

/* One character of UTF-8 (Metaspace's replacement, Strip's content). */
static int get_char(loader *L, const cJSON *o, const char *where, const char *name, char out[5], int *len) {
    const char *s = get_string(L, o, where, name, 1);
    if (!s) return -1;
    size_t n = strlen(s);
    uint32_t cp;
    if (n == 0 || n > 4 || (size_t)ls_utf8_decode(s, n, &cp) != n)
        return fail(L, "%s.%s: expected a single character", where, name);
    memcpy(out, s, n);
    out[n] = '\0';
    *len = (int)n;
    return 0;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = '\0'; }
    return d;
}

/* {"String": "..."} or {"Regex": "..."} */
static int get_pattern(loader *L, const cJSON *o, const char *where, ls_pattern *p) {
    const cJSON *pat = field(o, "pattern");
    char what[160];
    snprintf(what, sizeof what, "%s: %s.pattern", L->path, where);
    const cJSON *s = cJSON_IsObject(pat) ? field(pat, "String") : NULL;
    const cJSON *r = cJSON_IsObject(pat) ? field(pat, "Regex") : NULL;
    if (cJSON_IsString(s)) {
        if (!s->valuestring[0]) return fail(L, "%s.pattern: the String is empty", where);
        p->literal_len = strlen(s->valuestring);
        if (!(p->literal = dup_n(s->valuestring, p->literal_len))) return fail(L, "out of memory");
        return 0;
    }
    if (cJSON_IsString(r)) return ls_regex_compile(&p->re, r->valuestring, strlen(r->valuestring), what, L->err);
    return fail(L, "%s.pattern: expected {\"String\": ...} or {\"Regex\": ...}", where);
}

/* ---- normalizer ---------------------------------------------------------------------- */

static int add_norm(loader *L, const cJSON *o, const char *where) {
    const char *type = type_of(L, o, where);
    if (!type) return -1;
    char sub[128];
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = field(o, "normalizers");
        if (!cJSON_IsArray(list)) return fail(L, "%s.normalizers: expected an array", where);
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", where, i);
            if (add_norm(L, it, sub)) return -1;
        }
        return 0;
    }
    ls_tokenizer *t = L->t;
    ls_norm_step *g = realloc(t->norm, (t->n_norm + 1) * sizeof *g);
    if (!g) return fail(L, "out of memory");
    t->norm = g;
    ls_norm_step *st = &t->norm[t->n_norm];
    memset(st, 0, sizeof *st);
    t->n_norm++;
    if (strcmp(type, "NFC") == 0) {
        st->kind = LS_NORM_NFC;
    } else if (strcmp(type, "Prepend") == 0) {
        const char *p = get_string(L, o, where, "prepend", 1);
        if (!p) return -1;
        st->kind = LS_NORM_PREPEND;
        st->text_len = strlen(p);
        if (!(st->text = dup_n(p, st->text_len))) return fail(L, "out of memory");
    } else if (strcmp(type, "Replace") == 0) {
        const char *c = get_string(L, o, where, "content", 1);
        if (!c) return -1;
        st->kind = LS_NORM_REPLACE;
        st->text_len = strlen(c);
        if (!(st->text = dup_n(c, st->text_len))) return fail(L, "out of memory");
        if (get_pattern(L, o, where, &st->pattern)) return -1;
    } else {
        return fail(L, "%s: type \"%s\" is not supported (lesion supports NFC, Prepend, Replace and Sequence)",
                    where, type);
    }
    return 0;
}

/* ---- pre-tokenizer -------------------------------------------------------------------- */

static int parse_behavior(loader *L, const cJSON *o, const char *where, ls_split_behavior *b) {
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const char *s = get_string(L, o, where, "behavior", 1);
    if (!s) return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) { *b = (ls_split_behavior)i; return 0; }
    return fail(L, "%s.behavior: \"%s\" is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                "Contiguous", where, s);
}

static int parse_prepend_scheme(loader *L, const cJSON *o, const char *where, ls_prepend_scheme *p) {
    /* Older files say add_prefix_space instead; false means "never". */
    const char *s = get_string(L, o, where, "prepend_scheme", 0);
    int add_prefix = 1;
    if (get_bool(L, o, where, "add_prefix_space", 1, &add_prefix)) return -1;
    if (!s) {
        if (field(o, "prepend_scheme") && !cJSON_IsNull(field(o, "prepend_scheme"))) return -1;
        *p = add_prefix ? LS_PREPEND_ALWAYS : LS_PREPEND_NEVER;
        return 0;
    }
    if (strcmp(s, "always") == 0) *p = LS_PREPEND_ALWAYS;
    else if (strcmp(s, "first") == 0) *p = LS_PREPEND_FIRST;
    else if (strcmp(s, "never") == 0) *p = LS_PREPEND_NEVER;
    else return fail(L, "%s.prepend_scheme: \"%s\" is not one of always, first, never", where, s);
    if (!add_prefix && *p != LS_PREPEND_NEVER)
        return fail(L, "%s: add_prefix_space false contradicts prepend_scheme \"%s\"", where, s);
    return 0;
}

static int add_pre(loader *L, const cJSON *o, const char *where) {
    const char *type = type_of(L, o, where);
    if (!type) return -1;
    char sub[128];
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = field(o, "pretokenizers");
        if (!cJSON_IsArray(list)) return fail(L, "%s.pretokenizers: expected an array", where);
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%d]", where, i);
            if (add_pre(L, it, sub)) return -1;
        }
        return 0;
    }
    ls_tokenizer *t = L->t;
    if (t->byte_level)
        return fail(L, "%s: a %s after ByteLevel is not supported (ByteLevel must be the last pre-tokenizer)",
                    where, type);
    ls_pre_step *g = realloc(t->pre, (t->n_pre + 1) * sizeof *g);
    if (!g) return fail(L, "out of memory");
    t->pre = g;
    ls_pre_step *st = &t->pre[t->n_pre];
    memset(st, 0, sizeof *st);
    t->n_pre++;
    if (strcmp(type, "ByteLevel") == 0) {
        int use_regex = 0;
        st->kind = LS_PRE_BYTE_LEVEL;
        if (get_bool(L, o, where, "add_prefix_space", 1, &st->add_prefix_space) ||
            get_bool(L, o, where, "use_regex", 1, &use_regex))
            return -1;
        char what[160];
        snprintf(what, sizeof what, "%s: %s (GPT-2's regex)", L->path, where);
        if (use_regex && ls_regex_compile(&st->pattern.re, ls_gpt2_pattern, strlen(ls_gpt2_pattern), what, L->err))
            return -1;
        t->byte_level = 1;
    } else if (strcmp(type, "Split") == 0) {
        st->kind = LS_PRE_SPLIT;
        if (parse_behavior(L, o, where, &st->behavior) || get_bool(L, o, where, "invert", 0, &st->invert) ||
            get_pattern(L, o, where, &st->pattern))
            return -1;
    } else if (strcmp(type, "Digits") == 0) {
        int individual = 0;
        st->kind = LS_PRE_DIGITS;
        if (get_bool(L, o, where, "individual_digits", 0, &individual)) return -1;
        st->behavior = individual ? LS_SPLIT_ISOLATED : LS_SPLIT_CONTIGUOUS;
    } else if (strcmp(type, "Metaspace") == 0) {
        st->kind = LS_PRE_METASPACE;
        if (get_char(L, o, where, "replacement", st->replacement, &st->replacement_len) ||
            parse_prepend_scheme(L, o, where, &st->prepend) || get_bool(L, o, where, "split", 1, &st->split))
            return -1;
    } else {
        return fail(L, "%s: type \"%s\" is not supported (lesion supports ByteLevel, Split, Digits, Metaspace "
                    "and Sequence)", where, type);
    }
    return 0;
}

/* ---- decoder --------------------------------------------------------------------------- */

static int add_dec(loader *L, const cJSON *o, const char *where, int *fused) {
    const char *type = type_of(L, o, where);
    if (!type) return -1;
    char sub[128];
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = field(o, "decoders");
        if (!cJSON_IsArray(list)) return fail(L, "%s.decoders: expected an array", where);
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(sub, sizeof sub, "%s.decoders[%d]", where, i);
            if (add_dec(L, it, sub, fused)) return -1;
        }
        return 0;
    }
    ls_tokenizer *t = L->t;
    if (strcmp(type, "Fuse") == 0) { *fused = 1; return 0; }
    if (strcmp(type, "Strip") == 0 && *fused) { /* on the joined text */
        long start = 0, stop = 0;
        if (t->strip_char_len) return fail(L, "%s: a second Strip after Fuse is not supported", where);
        if (get_char(L, o, where, "content", t->strip_char, &t->strip_char_len) ||
            get_int(L, o, where, "start", 0, 1 << 20, &start) || get_int(L, o, where, "stop", 0, 1 << 20, &stop))
            return -1;
        t->strip_start = (int)start;
        t->strip_stop = (int)stop;
        return 0;
    }
    if (*fused) return fail(L, "%s: a %s after the tokens are joined (Fuse, ByteLevel) is not supported", where, type);
    if (L->n_dec == sizeof L->dec / sizeof L->dec[0]) return fail(L, "%s: too many decoder steps", where);
    dec_step *d = &L->dec[L->n_dec++];
    memset(d, 0, sizeof *d);
    if (strcmp(type, "ByteLevel") == 0) {
        d->kind = DEC_BYTE_LEVEL;
        *fused = 1;
    } else if (strcmp(type, "ByteFallback") == 0) {
        d->kind = DEC_BYTE_FALLBACK;
    } else if (strcmp(type, "Replace") == 0) {
        const cJSON *pat = field(o, "pattern");
        const cJSON *s = cJSON_IsObject(pat) ? field(pat, "String") : NULL;
        d->kind = DEC_REPLACE;
        if (!cJSON_IsString(s) || !s->valuestring[0])
            return fail(L, "%s.pattern: expected {\"String\": ...} with a non-empty string (a Regex is not "
                        "supported in decoders)", where);
        d->from = s->valuestring;
        if (!(d->to = get_string(L, o, where, "content", 1))) return -1;
    } else if (strcmp(type, "Metaspace") == 0) {
        ls_prepend_scheme p;
        d->kind = DEC_METASPACE;
        if (L->n_dec != 1) return fail(L, "%s: Metaspace must be the first decoder step", where);
        if (get_char(L, o, where, "replacement", d->ch, &d->ch_len) || parse_prepend_scheme(L, o, where, &p))
            return -1;
        d->drop_first = p != LS_PREPEND_NEVER;
        L->has_meta_first = d->drop_first;
    } else if (strcmp(type, "Strip") == 0) { /* on each token */
        long start = 0, stop = 0;
        d->kind = DEC_STRIP;
        if (get_char(L, o, where, "content", d->ch, &d->ch_len) || get_int(L, o, where, "start", 0, 1 << 20, &start) ||
            get_int(L, o, where, "stop", 0, 1 << 20, &stop))
            return -1;
        d->start = (int)start;
        d->stop = (int)stop;
    } else {
        return fail(L, "%s: type \"%s\" is not supported (lesion supports ByteLevel, Replace, ByteFallback, Fuse, "
                    "Strip, Metaspace and Sequence)", where, type);
    }
    return 0;
}

typedef struct bytes {
    char *s;
    size_t n, cap;
} bytes;

static int bput(bytes *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) return -1;
        b->s = g;
        b->cap = cap;
    }
    if (n) memcpy(b->s + b->n, s, n); /* s may be NULL when n is 0 */
    b->n += n;
    b->s[b->n] = '\0';
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)(c | 32);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The byte a ByteFallback token "<0xHH>" stands for, or -1. Rust's
 * u8::from_str_radix also takes "+H". */
static int fallback_byte(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = s[3] == '+' ? 0 : hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* One token's text through the per-token decoder steps. */
static int decode_token(loader *L, const char *s, size_t n, int first, bytes *out) {
    bytes cur = {0}, next = {0};
    if (bput(&cur, s, n)) return -1;
    for (size_t k = 0; k < L->n_dec; k++) {
        const dec_step *d = &L->dec[k];
        next.n = 0;
        int rc = 0;
        if (d->kind == DEC_BYTE_LEVEL) {
            /* Every character in the alphabet: its bytes; else the token as is. */
            size_t i = 0;
            while (i < cur.n) {
                uint32_t cp;
                int l = ls_utf8_decode(cur.s + i, cur.n - i, &cp);
                if (cp >= LS_ALPHABET_CPS || L->byte_of[cp] < 0) break;
                char b = (char)L->byte_of[cp];
                rc |= bput(&next, &b, 1);
                i += (size_t)l;
            }
            if (i < cur.n) { next.n = 0; rc |= bput(&next, cur.s, cur.n); }
        } else if (d->kind == DEC_BYTE_FALLBACK) {
            int b = fallback_byte(cur.s, cur.n);
            char c = (char)b;
            rc = b >= 0 ? bput(&next, &c, 1) : bput(&next, cur.s, cur.n);
        } else if (d->kind == DEC_REPLACE) {
            size_t fl = strlen(d->from), tl = strlen(d->to), i = 0;
            while (i < cur.n) {
                if (cur.n - i >= fl && memcmp(cur.s + i, d->from, fl) == 0) { rc |= bput(&next, d->to, tl); i += fl; }
                else rc |= bput(&next, cur.s + i++, 1);
            }
        } else if (d->kind == DEC_METASPACE) {
            for (size_t i = 0; i < cur.n;) {
                size_t c = (size_t)d->ch_len;
                if (cur.n - i >= c && memcmp(cur.s + i, d->ch, c) == 0) {
                    if (!(first && d->drop_first)) rc |= bput(&next, " ", 1);
                    i += c;
                } else {
                    rc |= bput(&next, cur.s + i++, 1);
                }
            }
        } else { /* DEC_STRIP on one token */
            size_t c = (size_t)d->ch_len, from = 0, to = cur.n;
            for (int i = 0; i < d->start && to - from >= c && memcmp(cur.s + from, d->ch, c) == 0; i++) from += c;
            for (int i = 0; i < d->stop && to - from >= c && memcmp(cur.s + to - c, d->ch, c) == 0; i++) to -= c;
            rc = bput(&next, cur.s + from, to - from);
        }
        if (rc) { free(cur.s); free(next.s); return -1; }
        bytes tmp = cur;
        cur = next;
        next = tmp;
    }
    free(next.s);
    *out = cur;
    return 0;
}

/* Fills text_* (and first_* for a Metaspace decoder) from each id's
 * spelling; no text arena when every text equals the key. */
static int build_texts(loader *L) {
    ls_tokenizer *t = L->t;
    size_t V = (size_t)t->n_vocab;
    for (int pass = 0; pass < 1 + L->has_meta_first; pass++) {
        bytes arena = {0};
        size_t *off = malloc(V * sizeof *off);
        uint32_t *len = calloc(V, sizeof *len);
        int same = 1;
        if (!off || !len) { free(off); free(len); return fail(L, "out of memory"); }
        for (size_t id = 0; id < V; id++) {
            off[id] = arena.n;
            if (!t->present[id]) continue;
            bytes one = {0};
            if (decode_token(L, L->spelling[id], strlen(L->spelling[id]), pass == 1, &one) ||
                bput(&arena, one.s, one.n)) {
                free(one.s);
                free(arena.s);
                free(off);
                free(len);
                return fail(L, "out of memory");
            }
            len[id] = (uint32_t)one.n;
            same &= one.n == t->len[id] && memcmp(one.s, t->arena + t->offset[id], one.n) == 0;
            free(one.s);
        }
        if (!arena.s && !(arena.s = malloc(1))) { free(off); free(len); return fail(L, "out of memory"); }
        if (pass == 0 && same) {
            free(arena.s);
            free(off);
            free(len);
        } else if (pass == 0) {
            t->text_arena = arena.s;
            t->text_offset = off;
            t->text_len = len;
        } else {
            t->first_arena = arena.s;
            t->first_offset = off;
            t->first_len = len;
        }
    }
    return 0;
}

/* ---- post-processor ----------------------------------------------------------------- */

static int push_ids(loader *L, int32_t **v, size_t *n, const cJSON *ids, const char *where) {
    if (!cJSON_IsArray(ids)) return fail(L, "%s: expected an array of ids", where);
    for (const cJSON *it = ids->child; it; it = it->next) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= L->t->n_vocab ||
            it->valuedouble != (double)(int32_t)it->valuedouble || !L->t->present[(int32_t)it->valuedouble])
            return fail(L, "%s: ids must be token ids of this tokenizer", where);
        int32_t *g = realloc(*v, (*n + 1) * sizeof *g);
        if (!g) return fail(L, "out of memory");
        *v = g;
        (*v)[(*n)++] = (int32_t)it->valuedouble;
    }
    return 0;
}

static int parse_template(loader *L, const cJSON *o, const char *where) {
    ls_tokenizer *t = L->t;
    const cJSON *single = field(o, "single"), *specials = field(o, "special_tokens");
    char sub[160];
    if (!cJSON_IsArray(single)) return fail(L, "%s.single: expected an array", where);
    int seen_a = 0, i = 0;
    for (const cJSON *it = single->child; it; it = it->next, i++) {
        snprintf(sub, sizeof sub, "%s.single[%d]", where, i);
        const cJSON *seq = field(it, "Sequence"), *sp = field(it, "SpecialToken");
        if (seq) {
            const char *id = get_string(L, seq, sub, "id", 1);
            if (!id) return -1;
            if (strcmp(id, "A") != 0 || seen_a) return fail(L, "%s: only one Sequence \"A\" is expected", sub);
            seen_a = 1;
        } else if (sp) {
            const char *name = get_string(L, sp, sub, "id", 1);
            if (!name) return -1;
            const cJSON *entry = cJSON_IsObject(specials) ? field(specials, name) : NULL;
            char buf[80];
            if (!entry) return fail(L, "%s: special token \"%s\" is not in special_tokens", sub, shown(buf, name));
            snprintf(sub, sizeof sub, "%s.special_tokens[\"%s\"].ids", where, shown(buf, name));
            if (seen_a ? push_ids(L, &t->suffix, &t->n_suffix, field(entry, "ids"), sub)
                       : push_ids(L, &t->prefix, &t->n_prefix, field(entry, "ids"), sub))
                return -1;
        } else {
            return fail(L, "%s: expected {\"Sequence\": ...} or {\"SpecialToken\": ...}", sub);
        }
    }
    if (!seen_a) return fail(L, "%s.single: no Sequence \"A\"", where);
    return 0;
}

static int add_post(loader *L, const cJSON *o, const char *where) {
    const char *type = type_of(L, o, where);
    if (!type) return -1;
    char sub[128];
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = field(o, "processors");
        if (!cJSON_IsArray(list)) return fail(L, "%s.processors: expected an array", where);
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(sub, sizeof sub, "%s.processors[%d]", where, i);
            if (add_post(L, it, sub)) return -1;
        }
        return 0;
    }
    if (strcmp(type, "ByteLevel") == 0) return 0; /* offsets only */
    if (L->t->n_prefix || L->t->n_suffix) return fail(L, "%s: a second template is not supported", where);
    if (strcmp(type, "TemplateProcessing") == 0) return parse_template(L, o, where);
    if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "BertProcessing") == 0) {
        /* cls, the text, sep; each written as [token, id] */
        const cJSON *cls = field(o, "cls"), *sep = field(o, "sep");
        const cJSON *cls_id = cJSON_GetArrayItem(cls, 1), *sep_id = cJSON_GetArrayItem(sep, 1);
        if (!cJSON_IsArray(cls) || !cJSON_IsArray(sep) || !cJSON_IsNumber(cls_id) || !cJSON_IsNumber(sep_id))
            return fail(L, "%s: cls and sep must be [token, id]", where);
        int32_t c = (int32_t)cls_id->valuedouble, e = (int32_t)sep_id->valuedouble;
        if (cls_id->valuedouble != (double)c || sep_id->valuedouble != (double)e || c < 0 || e < 0 ||
            c >= L->t->n_vocab || e >= L->t->n_vocab || !L->t->present[c] || !L->t->present[e])
            return fail(L, "%s: cls and sep must be token ids of this tokenizer", where);
        if (!(L->t->prefix = malloc(sizeof c)) || !(L->t->suffix = malloc(sizeof e))) return fail(L, "out of memory");
        L->t->prefix[0] = c;
        L->t->suffix[0] = e;
        L->t->n_prefix = L->t->n_suffix = 1;
        return 0;
    }
    return fail(L, "%s: type \"%s\" is not supported (lesion supports TemplateProcessing, RobertaProcessing, "
                "BertProcessing, ByteLevel and Sequence)", where, type);
}

/* ---- model ------------------------------------------------------------------------------- */

/* The key a vocab token or added content would have; -1 if it cannot be
 * one (byte-level: a character outside the alphabet). out has strlen(s). */
static long key_of(const loader *L, const char *s, char *out) {
    size_t n = strlen(s);
    if (!L->t->byte_level) { memcpy(out, s, n); return (long)n; }
    long k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = ls_utf8_decode(s + i, n - i, &cp);
        if (cp >= LS_ALPHABET_CPS || L->byte_of[cp] < 0) return -1;
        out[k++] = (char)L->byte_of[cp];
        i += (size_t)l;
    }
    return k;
}

static int valid_utf8(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!l || i + l > n) return 0;
        for (size_t k = 1; k < l; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
        uint32_t cp;
        ls_utf8_decode(s + i, l, &cp);
        if ((l == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (l == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += l;
    }
    return 1;
}

/* model.type, dropout, affixes and the flags of the BPE model. */
static int model_options(loader *L, const cJSON *model) {
    ls_tokenizer *t = L->t;
    char buf[80];
    const char *type = type_of(L, model, "model");
    if (!type) return -1;
    if (strcmp(type, "BPE") != 0)
        return fail(L, "model: type \"%s\" is not supported (lesion supports BPE)", type);
    const cJSON *dropout = field(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return fail(L, "model.dropout: %g is not supported (BPE dropout makes encoding random)",
                    cJSON_IsNumber(dropout) ? dropout->valuedouble : -1.0);
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const char *s = get_string(L, model, "model", affixes[i], 0);
        if (!s && field(model, affixes[i]) && !cJSON_IsNull(field(model, affixes[i]))) return -1;
        if (s && s[0]) return fail(L, "model.%s: \"%s\" is not supported (only empty or null)", affixes[i], shown(buf, s));
    }
    return get_bool(L, model, "model", "fuse_unk", 0, &t->fuse_unk) ||
                   get_bool(L, model, "model", "byte_fallback", 0, &t->byte_fallback) ||
                   get_bool(L, model, "model", "ignore_merges", 0, &t->whole_piece_first)
               ? -1 : 0;
}

/* Sizes the tables for the vocab and the added tokens (an upper bound on
 * the ids: added tokens not in the vocab come after it), and reads the
 * vocab's keys. *n_entries: the vocab's size; *max_id: its largest id. */
static int read_vocab(loader *L, const cJSON *model, const cJSON *added, int *n_entries, long *max_id,
                      size_t *used) {
    ls_tokenizer *t = L->t;
    char buf[80];
    const cJSON *vocab = field(model, "vocab");
    if (!cJSON_IsObject(vocab)) return fail(L, "model.vocab: expected an object of token -> id");
    *n_entries = cJSON_GetArraySize(vocab);
    if (*n_entries <= 0) return fail(L, "model.vocab: the vocab is empty");
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added)) return fail(L, "added_tokens: expected an array");
    size_t arena_bytes = 0;
    *max_id = -1;
    for (const cJSON *it = vocab->child; it; it = it->next) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= LS_MAX_VOCAB ||
            it->valuedouble != (double)(int32_t)it->valuedouble)
            return fail(L, "model.vocab: the id of token \"%s\" is not an integer in 0..%d", shown(buf, it->string),
                        LS_MAX_VOCAB - 1);
        if ((long)it->valuedouble > *max_id) *max_id = (long)it->valuedouble;
        arena_bytes += strlen(it->string);
    }
    long n_added = cJSON_IsArray(added) ? cJSON_GetArraySize(added) : 0, bound = *max_id;
    if (*n_entries + n_added - 1 > bound) bound = *n_entries + n_added - 1;
    if (bound >= LS_MAX_VOCAB) return fail(L, "more than %d token ids", LS_MAX_VOCAB);
    for (const cJSON *it = n_added ? added->child : NULL; it; it = it->next) {
        const cJSON *c = field(it, "content");
        if (cJSON_IsString(c)) arena_bytes += strlen(c->valuestring);
    }
    if (ls_tok_alloc(t, (int32_t)bound + 1, arena_bytes, L->err)) return ls_fail_context(L->err, "%s", L->path);
    if (!(L->spelling = calloc((size_t)bound + 1, sizeof *L->spelling))) return fail(L, "out of memory");
    for (const cJSON *it = vocab->child; it; it = it->next) {
        int32_t id = (int32_t)it->valuedouble;
        const char *s = it->string;
        if (!s[0]) return fail(L, "model.vocab: empty token (id %d)", (int)id);
        if (!valid_utf8(s)) return fail(L, "model.vocab: token \"%s\" (id %d) is not valid UTF-8", shown(buf, s), (int)id);
        if (t->present[id])
            return fail(L, "model.vocab: id %d is used twice (again by token \"%s\")", (int)id, shown(buf, s));
        long k = key_of(L, s, t->arena + *used);
        if (k < 0)
            return fail(L, "model.vocab: token \"%s\" (id %d) has a character outside GPT-2's byte alphabet, "
                        "which a ByteLevel pre-tokenizer never produces", shown(buf, s), (int)id);
        if (ls_tok_set_key(t, id, t->arena + *used, (size_t)k, used, 1))
            return fail(L, "model.vocab: token \"%s\" appears twice", shown(buf, s));
        L->spelling[id] = s;
    }
    return 0;
}

/* One added token: its id as Hugging Face gives it (next_id counts the ids
 * after the vocab), its key if it has an id of its own, what it matches. */
static int read_added_token(loader *L, const cJSON *it, const char *where, int32_t *next_id, int n_entries,
                            size_t *used, ls_added_token *a, int *normalized) {
    ls_tokenizer *t = L->t;
    char buf[80];
    const char *content = get_string(L, it, where, "content", 1);
    long file_id = 0;
    int lstrip = 0, rstrip = 0, single_word = 0, special = 0;
    if (!content || get_int(L, it, where, "id", 0, LS_MAX_VOCAB - 1, &file_id) ||
        get_bool(L, it, where, "lstrip", 0, &lstrip) || get_bool(L, it, where, "rstrip", 0, &rstrip) ||
        get_bool(L, it, where, "single_word", 0, &single_word) ||
        get_bool(L, it, where, "normalized", 1, normalized) || get_bool(L, it, where, "special", 0, &special))
        return -1;
    (void)file_id; /* Hugging Face warns when it differs from the id it gives, and uses its own */
    if (!content[0]) return fail(L, "%s.content: empty", where);
    if (!valid_utf8(content)) return fail(L, "%s.content: not valid UTF-8", where);
    char *key = malloc(strlen(content) + 1);
    if (!key) return fail(L, "out of memory");
    long k = key_of(L, content, key);
    int32_t id = k >= 0 ? ls_tok_lookup(t, key, (size_t)k) : -1;
    free(key);
    if (id < 0) { /* an id of its own, not a key the model can produce */
        id = (*next_id)++;
        if (t->present[id])
            return fail(L, "%s: \"%s\" gets id %d (the next after model.vocab's %d entries), which a vocab token has",
                        where, shown(buf, content), (int)id, n_entries);
        memcpy(t->arena + *used, content, strlen(content));
        ls_tok_set_key(t, id, t->arena + *used, strlen(content), used, 0);
    }
    if (strcmp(content, "<|endoftext|>") == 0 && special) t->eot = id;
    /* A normalized token is searched for in the normalized text, after the
     * others, as the normalizer spells it, and decodes from that spelling
     * too (Hugging Face's normalized_cache). */
    char *m;
    size_t ml;
    if (ls_normalize(t, content, strlen(content), &m, &ml, L->err)) return ls_fail_context(L->err, "%s", L->path);
    const char *spelled = *normalized ? m : content;
    size_t spelled_len = *normalized ? ml : strlen(content);
    char *own = dup_n(spelled, spelled_len); /* NUL-terminated, ours */
    if (m != content) free(m);
    if (!own) return fail(L, "out of memory");
    if (spelled_len == 0) { free(own); return fail(L, "%s: normalizes to nothing", where); }
    L->spelling[id] = own;
    *a = (ls_added_token){.id = id, .match = own, .match_len = spelled_len, .lstrip = (uint8_t)lstrip,
                          .rstrip = (uint8_t)rstrip, .single_word = (uint8_t)single_word};
    return 0;
}

static int read_added(loader *L, const cJSON *added, int n_entries, size_t *used, long *max_id) {
    ls_tokenizer *t = L->t;
    size_t n = cJSON_IsArray(added) ? (size_t)cJSON_GetArraySize(added) : 0, n_raw = 0, n_norm = 0;
    ls_added_token *raw = calloc(n + 1, sizeof *raw), *norm = calloc(n + 1, sizeof *norm);
    int32_t next_id = n_entries;
    int rc = -1, i = 0;
    if (!raw || !norm) { fail(L, "out of memory"); goto out; }
    for (const cJSON *it = n ? added->child : NULL; it; it = it->next, i++) {
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%d]", i);
        for (const cJSON *prev = added->child; prev != it; prev = prev->next) {
            const cJSON *a = field(prev, "content"), *b = field(it, "content");
            if (cJSON_IsString(a) && cJSON_IsString(b) && strcmp(a->valuestring, b->valuestring) == 0) {
                char buf[80];
                fail(L, "%s: \"%s\" is listed twice", where, shown(buf, b->valuestring));
                goto out;
            }
        }
        ls_added_token tok;
        int normalized = 1;
        if (read_added_token(L, it, where, &next_id, n_entries, used, &tok, &normalized)) goto out;
        if (normalized) norm[n_norm++] = tok;
        else raw[n_raw++] = tok;
        if (tok.id > *max_id) *max_id = tok.id;
    }
    ls_tok_added_set(&t->added_raw, raw, n_raw);
    ls_tok_added_set(&t->added_norm, norm, n_norm);
    raw = norm = NULL;
    rc = 0;
out:
    if (raw) { for (size_t j = 0; j < n_raw; j++) free(raw[j].match); free(raw); }
    if (norm) { for (size_t j = 0; j < n_norm; j++) free(norm[j].match); free(norm); }
    return rc;
}

/* One merge's two parts: "left right" (split into *line) or [left, right]. */
static int merge_parts(loader *L, const cJSON *it, int i, const char *part[2], char **line) {
    char buf[80];
    *line = NULL;
    if (cJSON_IsString(it)) {
        char *sp;
        if (!(*line = strdup(it->valuestring))) return fail(L, "out of memory");
        if (!(sp = strchr(*line, ' ')) || strchr(sp + 1, ' '))
            return fail(L, "model.merges[%d]: expected \"left right\" (one space), got \"%s\"", i,
                        shown(buf, it->valuestring));
        *sp = '\0';
        part[0] = *line;
        part[1] = sp + 1;
        return 0;
    }
    if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(it->child) &&
        cJSON_IsString(it->child->next)) {
        part[0] = it->child->valuestring;
        part[1] = it->child->next->valuestring;
        return 0;
    }
    return fail(L, "model.merges[%d]: expected \"left right\" or [\"left\", \"right\"]", i);
}

/* The merges, ranked in list order ("#version" lines skipped, as Hugging
 * Face skips them): each part a vocab token, and their concatenation too. */
static int read_merges(loader *L, const cJSON *model) {
    ls_tokenizer *t = L->t;
    char buf[80], b2[80];
    const cJSON *merges = field(model, "merges");
    if (!cJSON_IsArray(merges)) return fail(L, "model.merges: expected an array");
    if (ls_tok_pairs_alloc(t, (size_t)cJSON_GetArraySize(merges))) return fail(L, "out of memory");
    char *scratch = NULL, *line = NULL;
    size_t scratch_cap = 0;
    int32_t rank = 0;
    int i = 0, rc = -1;
    for (const cJSON *it = merges->child; it; it = it->next, i++, free(line), line = NULL) {
        const char *part[2] = {NULL, NULL};
        if (cJSON_IsString(it) != cJSON_IsString(merges->child)) {
            fail(L, "model.merges[%d]: the list mixes \"left right\" strings and [left, right] arrays", i);
            goto out;
        }
        if (cJSON_IsString(it) && strncmp(it->valuestring, "#version", 8) == 0) continue;
        if (merge_parts(L, it, i, part, &line)) goto out;
        size_t need = strlen(part[0]) + strlen(part[1]) + 1, k = 0;
        if (need > scratch_cap) {
            char *g = realloc(scratch, need);
            if (!g) { fail(L, "out of memory"); goto out; }
            scratch = g;
            scratch_cap = need;
        }
        int32_t ids[2];
        for (int p = 0; p < 2; p++) {
            long n = key_of(L, part[p], scratch + k);
            ids[p] = n >= 0 ? ls_tok_lookup(t, scratch + k, (size_t)n) : -1;
            if (ids[p] < 0) {
                fail(L, "model.merges[%d]: \"%s\" is not a token of model.vocab", i, shown(buf, part[p]));
                goto out;
            }
            k += (size_t)n;
        }
        int32_t result = ls_tok_lookup(t, scratch, k);
        if (result < 0) {
            fail(L, "model.merges[%d]: the merge result \"%s%s\" is not a token of model.vocab", i, shown(buf, part[0]),
                 shown(b2, part[1]));
            goto out;
        }
        ls_tok_pairs_put(t, ids[0], ids[1], rank++, result);
    }
    rc = 0;
out:
    free(line);
    free(scratch);
    return rc;
}

/* The tokens BPE starts from: single bytes (byte-level) or <0xNN> (byte
 * fallback), and unk. */
static int unit_tokens(loader *L, const cJSON *model) {
    ls_tokenizer *t = L->t;
    char buf[80];
    for (int b = 0; b < 256; b++) {
        char key[8];
        if (t->byte_level) {
            key[0] = (char)b;
            t->byte_id[b] = ls_tok_lookup(t, key, 1);
        } else if (t->byte_fallback) {
            snprintf(key, sizeof key, "<0x%02X>", b);
            t->byte_id[b] = ls_tok_lookup(t, key, 6);
        }
        if (t->byte_level && t->byte_fallback && t->byte_id[b] < 0)
            return fail(L, "model.byte_fallback with a ByteLevel pre-tokenizer is supported only when all 256 bytes "
                        "are tokens, and byte 0x%02X is not", (unsigned)b);
    }
    t->unk = -1;
    const char *unk = get_string(L, model, "model", "unk_token", 0);
    if (!unk && field(model, "unk_token") && !cJSON_IsNull(field(model, "unk_token"))) return -1;
    if (unk) {
        char *key = malloc(strlen(unk) + 1);
        long k = key ? key_of(L, unk, key) : -1;
        t->unk = k >= 0 ? ls_tok_lookup(t, key, (size_t)k) : -1;
        free(key);
        if (t->unk < 0) return fail(L, "model.unk_token: \"%s\" is not a token of model.vocab", shown(buf, unk));
    }
    return 0;
}

static int load_model(loader *L, const cJSON *model, const cJSON *added) {
    int n_entries = 0;
    long max_id = -1;
    size_t used = 0;
    if (model_options(L, model) || read_vocab(L, model, added, &n_entries, &max_id, &used) ||
        read_added(L, added, n_entries, &used, &max_id))
        return -1;
    L->t->n_vocab = (int32_t)max_id + 1; /* the tables were sized for the most ids there could be */
    return read_merges(L, model) || unit_tokens(L, model) ? -1 : 0;
}

int ls_tokenizer_load_json(ls_tokenizer **out, const char *path, ls_error *err) {
    *out = NULL;
    loader L = {.path = path, .err = err};
    ls_tok_byte_alphabet(L.code_of, L.byte_of);
    char *buf;
    size_t len;
    if (ls_read_file(path, &buf, &len, err)) return -1;
    const char *end = NULL;
    L.root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!L.root) {
        size_t at = end ? (size_t)(end - buf) : 0;
        free(buf);
        return ls_fail(err, "%s: not valid JSON (near byte %zu)", path, at);
    }
    free(buf);
    L.t = calloc(1, sizeof *L.t);
    if (!L.t) { cJSON_Delete(L.root); return ls_fail(err, "out of memory"); }
    L.t->eot = -1;
    L.t->unk = -1;
    for (int b = 0; b < 256; b++) L.t->byte_id[b] = -1;
    int fused = 0;
    const cJSON *r = L.root;
    const cJSON *norm = field(r, "normalizer"), *pre = field(r, "pre_tokenizer"), *dec = field(r, "decoder"),
                *post = field(r, "post_processor"), *model = field(r, "model");
    if (!cJSON_IsObject(r)) { fail(&L, "not a JSON object"); goto fail; }
    if (!model) { fail(&L, "no \"model\""); goto fail; }
    if (norm && !cJSON_IsNull(norm) && add_norm(&L, norm, "normalizer")) goto fail;
    if (pre && !cJSON_IsNull(pre) && add_pre(&L, pre, "pre_tokenizer")) goto fail;
    if (!dec || cJSON_IsNull(dec)) {
        fail(&L, "decoder: missing; lesion decodes exactly and needs one (ByteLevel, or Replace/ByteFallback/Fuse/"
             "Strip for SentencePiece-style BPE)");
        goto fail;
    }
    if (add_dec(&L, dec, "decoder", &fused)) goto fail;
    if (L.has_meta_first && L.t->byte_level) {
        fail(&L, "decoder: a Metaspace decoder with a ByteLevel pre-tokenizer is not supported");
        goto fail;
    }
    if (load_model(&L, model, field(r, "added_tokens"))) goto fail;
    if (post && !cJSON_IsNull(post) && add_post(&L, post, "post_processor")) goto fail;
    if (build_texts(&L)) goto fail;
    free(L.spelling);
    cJSON_Delete(L.root);
    *out = L.t;
    return 0;
fail:
    free(L.spelling);
    cJSON_Delete(L.root);
    ls_tokenizer_free(L.t);
    return -1;
}
