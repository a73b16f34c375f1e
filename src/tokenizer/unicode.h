/* unicode.h: the Unicode facts the tokenizer relies on, from fixed versions.
 *
 * A tokenizer must cut and normalize text exactly as its reference does, so
 * nothing here asks the C library or PCRE2 (whose tables follow whatever
 * Unicode they were built with). Categories, White_Space and Alphabetic are
 * Unicode 16.0; NFC is Unicode 9.0, as Hugging Face tokenizers' normalizer.
 * tools/gen_unicode_tables.js explains each choice and generates the tables
 * (unicode_data.h, included by unicode.c only). */
#ifndef LS_TOK_UNICODE_H
#define LS_TOK_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* General categories, in the generator's order; a class is a bit mask. */
enum {
    LS_GC_LU, LS_GC_LL, LS_GC_LT, LS_GC_LM, LS_GC_LO, LS_GC_MN, LS_GC_MC, LS_GC_ME,
    LS_GC_ND, LS_GC_NL, LS_GC_NO, LS_GC_PC, LS_GC_PD, LS_GC_PS, LS_GC_PE, LS_GC_PI,
    LS_GC_PF, LS_GC_PO, LS_GC_SM, LS_GC_SC, LS_GC_SK, LS_GC_SO, LS_GC_ZS, LS_GC_ZL,
    LS_GC_ZP, LS_GC_CC, LS_GC_CF, LS_GC_CS, LS_GC_CO, LS_GC_CN, LS_GC_COUNT
};
#define LS_GC_BIT(g) (1u << (g))
#define LS_GC_MASK_L (LS_GC_BIT(LS_GC_LU) | LS_GC_BIT(LS_GC_LL) | LS_GC_BIT(LS_GC_LT) | LS_GC_BIT(LS_GC_LM) | LS_GC_BIT(LS_GC_LO))
#define LS_GC_MASK_M (LS_GC_BIT(LS_GC_MN) | LS_GC_BIT(LS_GC_MC) | LS_GC_BIT(LS_GC_ME))
#define LS_GC_MASK_N (LS_GC_BIT(LS_GC_ND) | LS_GC_BIT(LS_GC_NL) | LS_GC_BIT(LS_GC_NO))

typedef struct ls_cp_range { uint32_t lo, hi; } ls_cp_range;

/* One of the classes the regex translator and the pre-tokenizers ask about:
 * a set of general categories, or White_Space (gc_mask 0, white_space 1). */
typedef struct ls_uni_class {
    uint32_t gc_mask;
    int white_space;
} ls_uni_class;

/* Parses a \p{...} property name as Oniguruma accepts it for general
 * categories: "L", "Lu", "Letter", "Uppercase_Letter", case and '_', ' ',
 * '-' insensitive, plus "Any", "Assigned", "LC"/"Cased_Letter" and
 * "White_Space"/"Space". Returns 0 and fills *cls, or -1 if unknown. */
int ls_uni_class_by_name(const char *name, size_t len, ls_uni_class *cls);

/* The class as sorted, disjoint code point ranges (complemented over
 * 0..10FFFF when negate), malloc'd. Returns the count, or -1 (no memory). */
long ls_uni_class_ranges(ls_uni_class cls, int negate, ls_cp_range **out);

int ls_uni_in_class(ls_uni_class cls, uint32_t cp);
int ls_uni_gc(uint32_t cp);
int ls_uni_is_white_space(uint32_t cp); /* Rust's char::is_whitespace */
int ls_uni_is_numeric(uint32_t cp);     /* Rust's char::is_numeric: Nd, Nl, No */
int ls_uni_is_word(uint32_t cp);        /* the regex crate's \w (Perl word) */

/* UTF-8: decodes the code point at s[0..n) (which must be valid UTF-8, as
 * encode checks first) and returns its length; encodes cp into out[4]. */
int ls_utf8_decode(const char *s, size_t n, uint32_t *cp);
int ls_utf8_encode(uint32_t cp, char *out);

/* NFC of valid UTF-8 s[0..n), Unicode 9.0, into a malloc'd buffer. Returns
 * 0, or -1 when out of memory. */
int ls_uni_nfc(const char *s, size_t n, char **out, size_t *out_len);

#endif
