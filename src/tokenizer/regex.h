/* regex.h: pre-tokenization regexes, written for Oniguruma, run by PCRE2.
 *
 * tokenizer.json files carry patterns for Hugging Face tokenizers, which
 * compiles them with Oniguruma; tiktoken's patterns (GPT-2's included) are
 * compiled by Rust's regex crate. Both answer \p{..}, \s, \w and \d from
 * Unicode 16.0 tables, PCRE2 from its build's (14.0 in Debian 12), and the
 * escapes do not all mean the same (\h is a hex digit in Oniguruma,
 * horizontal space in PCRE2; \v a vertical tab, not a class). So a pattern
 * is translated before PCRE2 sees it: every class escape is spelled out as
 * code point ranges from unicode.h, the few differing escapes are rewritten,
 * and what has no exact translation is refused with a message naming it.
 *
 * Matching follows Hugging Face's find_matches over Oniguruma's find_iter:
 * successive leftmost matches, an empty match never right after the previous
 * match, the search moving one character on after an empty match. */
#ifndef LS_TOK_REGEX_H
#define LS_TOK_REGEX_H

#include <lesion.h>

typedef struct ls_regex ls_regex;

/* GPT-2's pre-tokenization pattern, as Hugging Face's ByteLevel and
 * tiktoken's "gpt2" encoding spell it. */
extern const char ls_gpt2_pattern[];

/* Translates and compiles pattern[0..len). `what` names the pattern's place
 * in the file for messages ("pre_tokenizer.pretokenizers[0].pattern"). */
int ls_regex_compile(ls_regex **out, const char *pattern, size_t len, const char *what, ls_error *err);
void ls_regex_free(ls_regex *re);

/* Per-call match state (a loaded tokenizer is shared by threads). */
typedef struct ls_regex_state ls_regex_state;
ls_regex_state *ls_regex_state_new(void);
void ls_regex_state_free(ls_regex_state *st);

/* Finds the matches of re in s[0..n) (valid UTF-8), as Oniguruma's
 * find_iter: calls on_match(ctx, start, end) for each, in order. Returns 0,
 * or -1 with err set (a PCRE2 failure, e.g. its match limit). */
int ls_regex_find_all(const ls_regex *re, ls_regex_state *st, const char *s, size_t n,
                      int (*on_match)(void *ctx, size_t start, size_t end), void *ctx, ls_error *err);

#endif
