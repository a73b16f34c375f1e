/* unicode.c: class lookups, UTF-8, and NFC over the generated tables.
 *
 * Every lookup is a binary search in a sorted table of unicode_data.h: the
 * general category partition (ranges covering all of 0..10FFFF), White_Space
 * and Alphabetic ranges, and for NFC the combining classes, one-level
 * canonical decompositions and primary composites. NFC follows UAX #15:
 * full canonical decomposition (Hangul algorithmically), canonical ordering
 * of each run of non-starters (stable, by combining class), then canonical
 * composition of each character with the last starter when not blocked. */
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

typedef struct ls_gc_range { uint32_t lo, hi; uint8_t gc; } ls_gc_range;
typedef struct ls_ccc_entry { uint32_t cp; uint8_t ccc; } ls_ccc_entry;
typedef struct ls_decomp_entry { uint32_t cp, first, second; } ls_decomp_entry;
typedef struct ls_compose_entry { uint32_t first, second, composite; } ls_compose_entry;
#include "unicode_data.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- classes --------------------------------------------------------------- */

int ls_uni_gc(uint32_t cp) {
    size_t lo = 0, hi = N_OF(LS_GC_PARTITION);
    if (cp > 0x10FFFF) return LS_GC_CN;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (LS_GC_PARTITION[mid].lo <= cp) lo = mid;
        else hi = mid;
    }
    return LS_GC_PARTITION[lo].gc;
}

static int in_ranges(const ls_cp_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int ls_uni_is_white_space(uint32_t cp) { return in_ranges(LS_WHITE_SPACE, N_OF(LS_WHITE_SPACE), cp); }

int ls_uni_is_numeric(uint32_t cp) { return (LS_GC_MASK_N >> ls_uni_gc(cp)) & 1; }

int ls_uni_is_word(uint32_t cp) {
    /* Perl's \w as the regex crate defines it: Alphabetic, Mark,
     * Decimal_Number, Connector_Punctuation, Join_Control (ZWNJ, ZWJ). */
    if (cp == 0x200C || cp == 0x200D) return 1;
    uint32_t mask = LS_GC_MASK_M | LS_GC_BIT(LS_GC_ND) | LS_GC_BIT(LS_GC_PC);
    return ((mask >> ls_uni_gc(cp)) & 1) || in_ranges(LS_ALPHABETIC, N_OF(LS_ALPHABETIC), cp);
}

int ls_uni_in_class(ls_uni_class cls, uint32_t cp) {
    if (cls.white_space && ls_uni_is_white_space(cp)) return 1;
    return (cls.gc_mask >> ls_uni_gc(cp)) & 1;
}

/* Lowercases and drops '_', ' ' and '-', as Oniguruma compares names. */
static size_t loose_name(const char *s, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_' || c == ' ' || c == '-') continue;
        if (k + 1 >= cap) return cap;
        out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[k] = '\0';
    return k;
}

int ls_uni_class_by_name(const char *name, size_t len, ls_uni_class *cls) {
    static const struct { const char *a, *b; uint32_t mask; } names[] = {
        {"l", "letter", LS_GC_MASK_L},
        {"lc", "casedletter", LS_GC_BIT(LS_GC_LU) | LS_GC_BIT(LS_GC_LL) | LS_GC_BIT(LS_GC_LT)},
        {"lu", "uppercaseletter", LS_GC_BIT(LS_GC_LU)}, {"ll", "lowercaseletter", LS_GC_BIT(LS_GC_LL)},
        {"lt", "titlecaseletter", LS_GC_BIT(LS_GC_LT)}, {"lm", "modifierletter", LS_GC_BIT(LS_GC_LM)},
        {"lo", "otherletter", LS_GC_BIT(LS_GC_LO)},
        {"m", "mark", LS_GC_MASK_M}, {"mn", "nonspacingmark", LS_GC_BIT(LS_GC_MN)},
        {"mc", "spacingmark", LS_GC_BIT(LS_GC_MC)}, {"me", "enclosingmark", LS_GC_BIT(LS_GC_ME)},
        {"n", "number", LS_GC_MASK_N}, {"nd", "decimalnumber", LS_GC_BIT(LS_GC_ND)},
        {"nl", "letternumber", LS_GC_BIT(LS_GC_NL)}, {"no", "othernumber", LS_GC_BIT(LS_GC_NO)},
        {"p", "punctuation", LS_GC_BIT(LS_GC_PC) | LS_GC_BIT(LS_GC_PD) | LS_GC_BIT(LS_GC_PS) | LS_GC_BIT(LS_GC_PE) |
                                 LS_GC_BIT(LS_GC_PI) | LS_GC_BIT(LS_GC_PF) | LS_GC_BIT(LS_GC_PO)},
        {"pc", "connectorpunctuation", LS_GC_BIT(LS_GC_PC)}, {"pd", "dashpunctuation", LS_GC_BIT(LS_GC_PD)},
        {"ps", "openpunctuation", LS_GC_BIT(LS_GC_PS)}, {"pe", "closepunctuation", LS_GC_BIT(LS_GC_PE)},
        {"pi", "initialpunctuation", LS_GC_BIT(LS_GC_PI)}, {"pf", "finalpunctuation", LS_GC_BIT(LS_GC_PF)},
        {"po", "otherpunctuation", LS_GC_BIT(LS_GC_PO)},
        {"s", "symbol", LS_GC_BIT(LS_GC_SM) | LS_GC_BIT(LS_GC_SC) | LS_GC_BIT(LS_GC_SK) | LS_GC_BIT(LS_GC_SO)},
        {"sm", "mathsymbol", LS_GC_BIT(LS_GC_SM)}, {"sc", "currencysymbol", LS_GC_BIT(LS_GC_SC)},
        {"sk", "modifiersymbol", LS_GC_BIT(LS_GC_SK)}, {"so", "othersymbol", LS_GC_BIT(LS_GC_SO)},
        {"z", "separator", LS_GC_BIT(LS_GC_ZS) | LS_GC_BIT(LS_GC_ZL) | LS_GC_BIT(LS_GC_ZP)},
        {"zs", "spaceseparator", LS_GC_BIT(LS_GC_ZS)}, {"zl", "lineseparator", LS_GC_BIT(LS_GC_ZL)},
        {"zp", "paragraphseparator", LS_GC_BIT(LS_GC_ZP)},
        {"c", "other", LS_GC_BIT(LS_GC_CC) | LS_GC_BIT(LS_GC_CF) | LS_GC_BIT(LS_GC_CS) | LS_GC_BIT(LS_GC_CO) |
                           LS_GC_BIT(LS_GC_CN)},
        {"cc", "control", LS_GC_BIT(LS_GC_CC)}, {"cf", "format", LS_GC_BIT(LS_GC_CF)},
        {"cs", "surrogate", LS_GC_BIT(LS_GC_CS)}, {"co", "privateuse", LS_GC_BIT(LS_GC_CO)},
        {"cn", "unassigned", LS_GC_BIT(LS_GC_CN)},
        {"any", "any", (1u << LS_GC_COUNT) - 1},
        {"assigned", "assigned", ((1u << LS_GC_COUNT) - 1) & ~LS_GC_BIT(LS_GC_CN)},
    };
    char key[40];
    if (loose_name(name, len, key, sizeof key) >= sizeof key) return -1;
    if (strcmp(key, "whitespace") == 0 || strcmp(key, "space") == 0) {
        *cls = (ls_uni_class){0, 1};
        return 0;
    }
    for (size_t i = 0; i < N_OF(names); i++)
        if (strcmp(key, names[i].a) == 0 || strcmp(key, names[i].b) == 0) {
            *cls = (ls_uni_class){names[i].mask, 0};
            return 0;
        }
    return -1;
}

/* Appends [lo, hi] to a sorted range list, merging with its last range. */
static int push_range(ls_cp_range **r, size_t *n, size_t *cap, uint32_t lo, uint32_t hi) {
    if (*n && (*r)[*n - 1].hi + 1 >= lo) {
        if (hi > (*r)[*n - 1].hi) (*r)[*n - 1].hi = hi;
        return 0;
    }
    if (*n == *cap) {
        ls_cp_range *g = realloc(*r, (*cap *= 2) * sizeof **r);
        if (!g) return -1;
        *r = g;
    }
    (*r)[(*n)++] = (ls_cp_range){lo, hi};
    return 0;
}

long ls_uni_class_ranges(ls_uni_class cls, int negate, ls_cp_range **out) {
    /* The class's ranges: categories from the partition, merged in order
     * with White_Space; then complemented if asked. */
    size_t cap = 256, n = 0, w = 0, wn = cls.white_space ? N_OF(LS_WHITE_SPACE) : 0;
    ls_cp_range *r = malloc(cap * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i <= N_OF(LS_GC_PARTITION); i++) {
        uint32_t lo = i < N_OF(LS_GC_PARTITION) ? LS_GC_PARTITION[i].lo : 0x110000;
        for (; w < wn && LS_WHITE_SPACE[w].lo < lo; w++)
            if (push_range(&r, &n, &cap, LS_WHITE_SPACE[w].lo, LS_WHITE_SPACE[w].hi)) goto oom;
        if (i < N_OF(LS_GC_PARTITION) && ((cls.gc_mask >> LS_GC_PARTITION[i].gc) & 1))
            if (push_range(&r, &n, &cap, lo, LS_GC_PARTITION[i].hi)) goto oom;
    }
    if (negate) {
        ls_cp_range *c = malloc((n + 1) * sizeof *c);
        if (!c) goto oom;
        size_t k = 0;
        uint32_t next = 0;
        for (size_t i = 0; i < n; i++) {
            if (r[i].lo > next) c[k++] = (ls_cp_range){next, r[i].lo - 1};
            next = r[i].hi + 1;
        }
        if (next <= 0x10FFFF) c[k++] = (ls_cp_range){next, 0x10FFFF};
        free(r);
        r = c;
        n = k;
    }
    *out = r;
    return (long)n;
oom:
    free(r);
    return -1;
}

/* ---- UTF-8 -------------------------------------------------------------------- */

int ls_utf8_decode(const char *str, size_t n, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    if (s[0] < 0x80 || n < 2) { *cp = s[0]; return 1; }
    if (s[0] < 0xE0) { *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F); return 2; }
    if (s[0] < 0xF0 || n < 4) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
          (s[3] & 0x3F);
    return 4;
}

int ls_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- NFC (Unicode 9.0) ------------------------------------------------------------ */

enum { HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7,
       HANGUL_LN = 19, HANGUL_VN = 21, HANGUL_TN = 28, HANGUL_N = HANGUL_VN * HANGUL_TN,
       HANGUL_SN = HANGUL_LN * HANGUL_N };

static int ccc_of(uint32_t cp) {
    if (cp < 0x300) return 0;
    size_t lo = 0, hi = N_OF(LS_CCC);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (LS_CCC[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < N_OF(LS_CCC) && LS_CCC[lo].cp == cp ? LS_CCC[lo].ccc : 0;
}

static const ls_decomp_entry *decomp_of(uint32_t cp) {
    if (cp < 0xC0) return NULL;
    size_t lo = 0, hi = N_OF(LS_DECOMP);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (LS_DECOMP[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < N_OF(LS_DECOMP) && LS_DECOMP[lo].cp == cp ? &LS_DECOMP[lo] : NULL;
}

/* The primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= HANGUL_L && a < HANGUL_L + HANGUL_LN && b >= HANGUL_V && b < HANGUL_V + HANGUL_VN)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VN + (b - HANGUL_V)) * HANGUL_TN;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SN && (a - HANGUL_S) % HANGUL_TN == 0 && b > HANGUL_T &&
        b < HANGUL_T + HANGUL_TN)
        return a + (b - HANGUL_T);
    size_t lo = 0, hi = N_OF(LS_COMPOSE);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const ls_compose_entry *e = &LS_COMPOSE[mid];
        if (e->first < a || (e->first == a && e->second < b)) lo = mid + 1;
        else hi = mid;
    }
    return lo < N_OF(LS_COMPOSE) && LS_COMPOSE[lo].first == a && LS_COMPOSE[lo].second == b
               ? LS_COMPOSE[lo].composite : 0;
}

/* Appends the full canonical decomposition of cp to buf[*n..] (room for
 * 18 code points at least: no decomposition is longer). */
static void decompose(uint32_t cp, uint32_t *buf, size_t *n) {
    if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SN) {
        uint32_t s = cp - HANGUL_S;
        buf[(*n)++] = HANGUL_L + s / HANGUL_N;
        buf[(*n)++] = HANGUL_V + (s % HANGUL_N) / HANGUL_TN;
        if (s % HANGUL_TN) buf[(*n)++] = HANGUL_T + s % HANGUL_TN;
        return;
    }
    const ls_decomp_entry *d = decomp_of(cp);
    if (!d) { buf[(*n)++] = cp; return; }
    decompose(d->first, buf, n);
    if (d->second) decompose(d->second, buf, n);
}

int ls_uni_nfc(const char *s, size_t n, char **out, size_t *out_len) {
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80) i++;
    if (i == n) { /* ASCII is its own NFC */
        char *o = malloc(n + 1);
        if (!o) return -1;
        memcpy(o, s, n);
        *out = o;
        *out_len = n;
        return 0;
    }
    /* Code points: at most n, times 18 for the decompositions of the
     * longest (a few) characters: grow as needed instead. */
    size_t cap = n + 32, m = 0;
    uint32_t *cps = malloc(cap * sizeof *cps);
    if (!cps) return -1;
    for (size_t k = 0; k < n;) {
        uint32_t cp;
        k += (size_t)ls_utf8_decode(s + k, n - k, &cp);
        if (m + 18 > cap) {
            uint32_t *g = realloc(cps, (cap *= 2) * sizeof *cps);
            if (!g) { free(cps); return -1; }
            cps = g;
        }
        decompose(cp, cps, &m);
    }
    /* Canonical ordering: insertion sort of each run of non-starters. */
    for (size_t k = 1; k < m; k++) {
        int c = ccc_of(cps[k]);
        if (c == 0) continue;
        uint32_t x = cps[k];
        size_t j = k;
        while (j > 0 && ccc_of(cps[j - 1]) > c) { cps[j] = cps[j - 1]; j--; }
        cps[j] = x;
    }
    /* Canonical composition, in place. */
    size_t w = 0, starter = (size_t)-1;
    int last_class = -1;
    for (size_t k = 0; k < m; k++) {
        uint32_t c = cps[k];
        int cc = ccc_of(c);
        if (starter != (size_t)-1 && (last_class < cc || last_class == 0)) {
            uint32_t comp = compose(cps[starter], c);
            if (comp) { cps[starter] = comp; continue; }
        }
        if (cc == 0) starter = w;
        last_class = (cc == 0 || starter != (size_t)-1) ? cc : 256;
        cps[w++] = c;
    }
    char *o = malloc(4 * w + 1);
    if (!o) { free(cps); return -1; }
    size_t len = 0;
    for (size_t k = 0; k < w; k++) len += (size_t)ls_utf8_encode(cps[k], o + len);
    free(cps);
    *out = o;
    *out_len = len;
    return 0;
}
