/* regex.c: Oniguruma patterns translated for PCRE2, and find_iter.
 *
 * The translation walks the pattern once, tracking whether it is inside a
 * character class:
 *   \s \S \d \D \w \W \h \H \p{..} \P{..} \p{^..}
 *        -> the class's code point ranges (negated ones complemented when
 *           inside [...], since PCRE2 cannot nest a negated class there);
 *   \v -> \x{0B} (a character in Oniguruma, a class in PCRE2);
 *   \uHHHH -> \x{HHHH};  {,n} -> {0,n};  (?m) -> (?s) (Ruby syntax);
 *   ^ $ . keep their Oniguruma meaning through PCRE2_MULTILINE with LF
 *         as the only newline;
 * and refuses back-references, \b \B \K \R \X \N \O \G \k \g, nested
 * classes, POSIX brackets and Ruby's (?m)-style options other than i, m, x.
 * Everything else (literals, groups, lookaround, quantifiers, (?i:..))
 * passes through: both engines read it the same way.
 *
 * Classes are spelled with \x{..} ranges, skipping the surrogates (PCRE2
 * refuses them in UTF mode and valid UTF-8 cannot hold them anyway). */
#include "regex.h"
#include "unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

const char ls_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct ls_regex {
    pcre2_code *code;
};

struct ls_regex_state {
    pcre2_match_data *md;
};

/* ---- output buffer ------------------------------------------------------------ */

typedef struct strbuf {
    char *s;
    size_t n, cap;
    int oom;
} strbuf;

static void put(strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) { b->oom = 1; return; }
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void puts_(strbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_cp(strbuf *b, uint32_t cp) {
    char tmp[16];
    int k = snprintf(tmp, sizeof tmp, "\\x{%X}", (unsigned)cp);
    put(b, tmp, (size_t)k);
}

/* Writes the ranges of cls (negated if negate) as class contents. */
static int put_class_ranges(strbuf *b, ls_uni_class cls, int negate) {
    ls_cp_range *r = NULL;
    long n = ls_uni_class_ranges(cls, negate, &r);
    if (n < 0) { b->oom = 1; return -1; }
    for (long i = 0; i < n; i++) {
        uint32_t lo = r[i].lo, hi = r[i].hi;
        /* cut out the surrogates D800..DFFF */
        uint32_t parts[2][2] = {{lo, hi < 0xD7FF ? hi : 0xD7FF}, {lo > 0xE000 ? lo : 0xE000, hi}};
        for (int p = 0; p < 2; p++) {
            uint32_t a = parts[p][0], z = parts[p][1];
            if (a > z) continue;
            put_cp(b, a);
            if (z > a) {
                if (z > a + 1) put(b, "-", 1);
                put_cp(b, z);
            }
        }
    }
    free(r);
    return 0;
}

/* ---- translation --------------------------------------------------------------- */

typedef struct translator {
    const char *p;
    size_t n, i;
    strbuf out;
    const char *what;
    ls_error *err;
} translator;

static int bad(translator *t, const char *why) {
    char shown[48];
    size_t k = 0;
    for (size_t j = t->i; j < t->n && k < 24; j++) shown[k++] = t->p[j];
    shown[k] = '\0';
    return ls_fail(t->err, "%s: %s at offset %zu (\"%s%s\")", t->what, why, t->i, shown,
                   t->i + k < t->n ? "..." : "");
}

/* Reads the class named by the escape at p[i] (just after the backslash):
 * s S d D w W h H p{..} P{..}. Returns 1 and fills *cls / *negate when it
 * is one, 0 when it is not a class escape, -1 on a bad \p name. *adv gets
 * the escape's length after the backslash. */
static int class_escape(translator *t, size_t i, ls_uni_class *cls, int *negate, int *hex, size_t *adv) {
    char c = t->p[i];
    *negate = c >= 'A' && c <= 'Z';
    *hex = 0;
    *adv = 1;
    switch (c) {
    case 's': case 'S': *cls = (ls_uni_class){0, 1}; return 1;
    case 'd': case 'D': *cls = (ls_uni_class){LS_GC_BIT(LS_GC_ND), 0}; return 1;
    case 'w': case 'W': /* Oniguruma: Letter | Mark | Number | Connector_Punctuation */
        *cls = (ls_uni_class){LS_GC_MASK_L | LS_GC_MASK_M | LS_GC_MASK_N | LS_GC_BIT(LS_GC_PC), 0};
        return 1;
    case 'h': case 'H': *hex = 1; return 1; /* Oniguruma: hexadecimal digit */
    case 'p': case 'P': {
        if (i + 1 >= t->n || t->p[i + 1] != '{') { t->i = i; return bad(t, "\\p without {name}"), -1; }
        const char *close = memchr(t->p + i + 2, '}', t->n - i - 2);
        if (!close) { t->i = i; return bad(t, "unterminated \\p{"), -1; }
        const char *name = t->p + i + 2;
        size_t len = (size_t)(close - name);
        if (len && name[0] == '^') { *negate = !*negate; name++; len--; }
        if (ls_uni_class_by_name(name, len, cls)) {
            t->i = i;
            return bad(t, "unsupported Unicode property (general categories and White_Space only)"), -1;
        }
        *adv = (size_t)(close - (t->p + i)) + 1;
        return 1;
    }
    default: return 0;
    }
}

/* Translates one escape (the backslash at t->i); in_class says where. */
static int escape(translator *t, int in_class) {
    size_t i = t->i + 1;
    if (i >= t->n) return bad(t, "pattern ends with a backslash");
    char c = t->p[i];
    ls_uni_class cls;
    int negate, hex;
    size_t adv;
    int k = class_escape(t, i, &cls, &negate, &hex, &adv);
    if (k < 0) return -1;
    if (k == 1) {
        if (!in_class) puts_(&t->out, negate ? "[^" : "[");
        if (hex) {
            if (in_class && negate) return bad(t, "\\H inside a character class is not supported");
            puts_(&t->out, "0-9a-fA-F");
        } else if (in_class && negate) {
            put_class_ranges(&t->out, cls, 1);
        } else {
            put_class_ranges(&t->out, cls, 0);
        }
        if (!in_class) puts_(&t->out, "]");
        t->i = i + adv;
        return 0;
    }
    if (c == 'v') { puts_(&t->out, "\\x{0B}"); t->i = i + 1; return 0; }
    if (c == 'u') {
        size_t j = i + 1;
        while (j < t->n && j < i + 5 &&
               ((t->p[j] >= '0' && t->p[j] <= '9') || ((t->p[j] | 32) >= 'a' && (t->p[j] | 32) <= 'f')))
            j++;
        if (j != i + 5) return bad(t, "\\u needs four hexadecimal digits");
        puts_(&t->out, "\\x{");
        put(&t->out, t->p + i + 1, 4);
        puts_(&t->out, "}");
        t->i = j;
        return 0;
    }
    if (c == 'x') { /* \xHH or \x{H..}: the same in both */
        size_t j = i + 1;
        if (j < t->n && t->p[j] == '{') {
            const char *close = memchr(t->p + j, '}', t->n - j);
            if (!close) return bad(t, "unterminated \\x{");
            j = (size_t)(close - t->p) + 1;
        } else {
            while (j < t->n && j < i + 3 &&
                   ((t->p[j] >= '0' && t->p[j] <= '9') || ((t->p[j] | 32) >= 'a' && (t->p[j] | 32) <= 'f')))
                j++;
        }
        put(&t->out, t->p + t->i, j - t->i);
        t->i = j;
        return 0;
    }
    /* Characters both engines read alike; \b is a backspace only in a class. */
    if (strchr("tnrfae", c) || (in_class && c == 'b') || (!in_class && strchr("AzZ", c))) {
        put(&t->out, t->p + t->i, 2);
        t->i = i + 1;
        return 0;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return bad(t, "unsupported escape");
    /* An escaped punctuation character or non-ASCII character: a literal. */
    size_t len = 1;
    if ((unsigned char)c >= 0x80) {
        uint32_t cp;
        len = (size_t)ls_utf8_decode(t->p + i, t->n - i, &cp);
    }
    put(&t->out, t->p + t->i, 1 + len);
    t->i = i + len;
    return 0;
}

static int translate_class(translator *t) {
    put(&t->out, "[", 1);
    t->i++;
    if (t->i < t->n && t->p[t->i] == '^') { put(&t->out, "^", 1); t->i++; }
    if (t->i < t->n && t->p[t->i] == ']') { put(&t->out, "\\]", 2); t->i++; } /* a leading ] is literal */
    while (t->i < t->n) {
        char c = t->p[t->i];
        if (c == ']') { put(&t->out, "]", 1); t->i++; return 0; }
        if (c == '\\') { if (escape(t, 1)) return -1; continue; }
        if (c == '[') return bad(t, "nested character classes and POSIX brackets are not supported");
        if (c == '&' && t->i + 1 < t->n && t->p[t->i + 1] == '&')
            return bad(t, "class intersection && is not supported");
        put(&t->out, &c, 1);
        t->i++;
    }
    return bad(t, "unterminated character class");
}

static int translate(translator *t) {
    while (t->i < t->n) {
        char c = t->p[t->i];
        if (c == '\\') {
            if (t->i + 1 < t->n && strchr("bBKRXNOGkgy", t->p[t->i + 1]) && t->p[t->i + 1] != '\0')
                return bad(t, "unsupported escape");
            if (escape(t, 0)) return -1;
        } else if (c == '[') {
            if (translate_class(t)) return -1;
        } else if (c == '{' && t->i + 1 < t->n && t->p[t->i + 1] == ',') {
            put(&t->out, "{0", 2); /* Oniguruma's {,n} is {0,n}; PCRE2 10.42 reads it literally */
            t->i++;
        } else if (c == '(' && t->i + 2 < t->n && t->p[t->i + 1] == '?') {
            /* Inline options (?imx-imx) or (?imx-imx:...): Ruby's m is dotall. */
            size_t j = t->i + 2;
            char ch = t->p[j];
            if ((ch >= 'a' && ch <= 'z') || ch == '-') {
                put(&t->out, "(?", 2);
                for (; j < t->n && t->p[j] != ')' && t->p[j] != ':'; j++) {
                    char o = t->p[j];
                    if (o == 'm') o = 's';
                    else if (o != 'i' && o != 'x' && o != '-') {
                        t->i = j;
                        return bad(t, "unsupported inline option");
                    }
                    put(&t->out, &o, 1);
                }
                t->i = j;
            } else {
                put(&t->out, "(?", 2);
                t->i += 2;
            }
        } else {
            put(&t->out, &c, 1);
            t->i++;
        }
    }
    return 0;
}

int ls_regex_compile(ls_regex **out, const char *pattern, size_t len, const char *what, ls_error *err) {
    *out = NULL;
    translator t = {.p = pattern, .n = len, .what = what, .err = err};
    if (memchr(pattern, '\0', len)) return ls_fail(err, "%s: the pattern contains a NUL character", what);
    if (translate(&t)) { free(t.out.s); return -1; }
    put(&t.out, "", 0);
    if (t.out.oom) { free(t.out.s); return ls_fail(err, "%s: out of memory", what); }

    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) { free(t.out.s); return ls_fail(err, "%s: out of memory", what); }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)t.out.s, t.out.n, PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &code,
                                   &at, cc);
    pcre2_compile_context_free(cc);
    free(t.out.s);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return ls_fail(err, "%s: not a pattern lesion can run: %s", what, (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT, the interpreter runs it */
    ls_regex *r = malloc(sizeof *r);
    if (!r) { pcre2_code_free(re); return ls_fail(err, "%s: out of memory", what); }
    r->code = re;
    *out = r;
    return 0;
}

void ls_regex_free(ls_regex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re);
}

ls_regex_state *ls_regex_state_new(void) {
    ls_regex_state *st = malloc(sizeof *st);
    if (!st) return NULL;
    st->md = pcre2_match_data_create(16, NULL);
    if (!st->md) { free(st); return NULL; }
    return st;
}

void ls_regex_state_free(ls_regex_state *st) {
    if (!st) return;
    pcre2_match_data_free(st->md);
    free(st);
}

static size_t next_char(const char *s, size_t n, size_t at) {
    if (at >= n) return n + 1;
    at++;
    while (at < n && ((unsigned char)s[at] & 0xC0) == 0x80) at++;
    return at;
}

int ls_regex_find_all(const ls_regex *re, ls_regex_state *st, const char *s, size_t n,
                      int (*on_match)(void *ctx, size_t start, size_t end), void *ctx, ls_error *err) {
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
    size_t from = 0, last_match_end = (size_t)-1;
    while (from <= n) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, st->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* deep backtracking: the interpreter keeps its stack on the heap */
            rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, st->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) return 0;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return ls_fail(err, "encode: pre-tokenization failed at byte %zu: %s", from, (const char *)msg);
        }
        size_t a = ov[0], z = ov[1];
        if (a == z) {
            from = next_char(s, n, z);
            if (z == last_match_end) continue; /* no empty match right after a match */
        } else {
            from = z;
        }
        last_match_end = z;
        if (on_match(ctx, a, z)) return ls_fail(err, "encode: out of memory");
    }
    return 0;
}
