/* load.c: GPT-2's two tokenizer files, the directory loader, and the
 * helpers both loaders share (the key table, the byte alphabet, added-token
 * sets, the merge pair table).
 *
 * The files spell bytes in GPT-2's "byte alphabet" (bytes_to_unicode in
 * OpenAI's encoder.py): each of the 256 bytes is one printable Unicode
 * character, so that tokens never contain spaces or control characters
 * ("Ġ" is the space byte, "Ċ" the newline). We undo that mapping once, here,
 * and keep every token as raw bytes; the rest of the tokenizer never sees
 * the alphabet. Special tokens spelled <|...|> are taken literally, as
 * tiktoken and Hugging Face do.
 *
 * Validation is strict because a tokenizer that loads but encodes slightly
 * differently poisons every experiment downstream without any visible error:
 * ids must be exactly 0..V-1, all 256 bytes must be tokens, each merge must
 * join two tokens into a third, and every other multi-byte token must come
 * from a merge or be special. */
#include "tokenizer_impl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the byte alphabet -------------------------------------------------- */

void ls_tok_byte_alphabet(int code_of[256], int byte_of[LS_ALPHABET_CPS]) {
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        code_of[b] = printable ? b : 256 + extra++;
    }
    for (int c = 0; c < LS_ALPHABET_CPS; c++) byte_of[c] = -1;
    for (int b = 0; b < 256; b++) byte_of[code_of[b]] = b;
}

/* Decodes one UTF-8 code point of s[0..n); returns its length, 0 if bad. */
static int utf8_next(const unsigned char *s, size_t n, int *cp) {
    if (s[0] < 0x80) { *cp = s[0]; return 1; }
    int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || (size_t)len > n) return 0;
    int c = s[0] & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

static int is_special_spelling(const char *s, size_t n) {
    return n >= 4 && memcmp(s, "<|", 2) == 0 && memcmp(s + n - 2, "|>", 2) == 0;
}

/* Converts a token as spelled in the files into raw bytes in out (which has
 * room for strlen(s) bytes). Returns the byte count, or -1 with *bad_cp set
 * to the first code point outside the alphabet (-2 for broken UTF-8). */
static long unspell(const char *s, const int byte_of[LS_ALPHABET_CPS], char *out, int *bad_cp) {
    size_t n = strlen(s);
    if (is_special_spelling(s, n)) { memcpy(out, s, n); return (long)n; }
    long k = 0;
    for (size_t i = 0; i < n;) {
        int cp = 0, l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (l == 0) { *bad_cp = -2; return -1; }
        if (cp >= LS_ALPHABET_CPS || byte_of[cp] < 0) { *bad_cp = cp; return -1; }
        out[k++] = (char)byte_of[cp];
        i += (size_t)l;
    }
    return k;
}

const char *ls_tok_show(char out[80], const char *s, size_t n) {
    size_t k = 0, i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (k >= 60 && ((c & 0xC0) != 0x80 || k >= 72)) break; /* a run of stray continuation bytes ends too */
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') k += (size_t)snprintf(out + k, 5, "\\x%02X", c);
        else out[k++] = (char)c;
    }
    if (i < n) { memcpy(out + k, "...", 3); k += 3; }
    out[k] = '\0';
    return out;
}
#define SHOW(buf, str) ls_tok_show(buf, str, strlen(str))

static int fail_unspell(ls_error *err, const char *where, const char *tok, int bad_cp) {
    char shown[80];
    if (bad_cp == -2) return ls_fail(err, "%s: token \"%s\" is not valid UTF-8", where, SHOW(shown, tok));
    return ls_fail(err, "%s: token \"%s\" has U+%04X, which is not in GPT-2's byte alphabet",
                   where, SHOW(shown, tok), (unsigned)bad_cp);
}

/* ---- the key table ------------------------------------------------------------ */

int ls_tok_alloc(ls_tokenizer *t, int32_t n_vocab, size_t arena_bytes, ls_error *err) {
    size_t n = (size_t)n_vocab;
    t->n_vocab = n_vocab;
    t->arena = malloc(arena_bytes + 1);
    t->offset = calloc(n, sizeof *t->offset);
    t->len = calloc(n, sizeof *t->len);
    t->present = calloc(n, 1);
    t->special = calloc(n, 1);
    for (t->cap = 1024; t->cap < 2 * n; t->cap *= 2) {}
    t->slots = malloc(t->cap * sizeof *t->slots);
    if (!t->arena || !t->offset || !t->len || !t->present || !t->special || !t->slots)
        return ls_fail(err, "out of memory (%d tokens)", (int)n_vocab);
    memset(t->slots, 0xFF, t->cap * sizeof *t->slots); /* all -1 */
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    return 0;
}

int ls_tok_set_key(ls_tokenizer *t, int32_t id, const char *key, size_t len, size_t *used, int in_table) {
    memmove(t->arena + *used, key, len); /* key may already sit at *used */
    t->offset[id] = *used;
    t->len[id] = (uint32_t)len;
    t->present[id] = 1;
    *used += len;
    if (!in_table) return 0;
    const char *s = t->arena + t->offset[id];
    size_t mask = t->cap - 1;
    for (size_t i = ls_tok_hash(s, len) & mask;; i = (i + 1) & mask) {
        int32_t other = t->slots[i];
        if (other < 0) { t->slots[i] = id; return 0; }
        if (t->len[other] == len && memcmp(t->arena + t->offset[other], s, len) == 0) return -1;
    }
}

/* ---- merge pairs ----------------------------------------------------------------- */

int ls_tok_pairs_alloc(ls_tokenizer *t, size_t n_merges) {
    size_t cap = 1024;
    while (cap < 2 * n_merges + 2) cap *= 2;
    t->pair_key = calloc(cap, sizeof *t->pair_key);
    t->pair_rank = malloc(cap * sizeof *t->pair_rank);
    t->pair_result = malloc(cap * sizeof *t->pair_result);
    if (!t->pair_key || !t->pair_rank || !t->pair_result) return -1;
    t->pair_cap = cap;
    return 0;
}

/* A pair listed twice keeps its last rank, as Hugging Face's merge map does. */
void ls_tok_pairs_put(ls_tokenizer *t, int32_t left, int32_t right, int32_t rank, int32_t result) {
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    size_t mask = t->pair_cap - 1;
    for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;; i = (i + 1) & mask) {
        if (t->pair_key[i] == 0 || t->pair_key[i] == key) {
            t->pair_key[i] = key;
            t->pair_rank[i] = rank;
            t->pair_result[i] = result;
            return;
        }
    }
}

/* ---- added-token sets -------------------------------------------------------------- */

static int added_cmp(const void *a, const void *b) {
    const ls_added_token *x = a, *y = b;
    unsigned char fx = (unsigned char)x->match[0], fy = (unsigned char)y->match[0];
    if (fx != fy) return fx < fy ? -1 : 1;
    if (x->match_len != y->match_len) return x->match_len > y->match_len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int ls_tok_added_set(ls_added_set *set, ls_added_token *tok, size_t n) {
    set->tok = tok;
    set->n = n;
    if (n) qsort(tok, n, sizeof *tok, added_cmp);
    size_t k = 0;
    for (int b = 0; b <= 256; b++) {
        while (k < n && (unsigned char)tok[k].match[0] < b) k++;
        set->first[b] = (uint32_t)k;
    }
    set->first[256] = (uint32_t)n;
    return 0;
}

void ls_tok_added_set_free(ls_added_set *set) {
    for (size_t i = 0; i < set->n; i++) free(set->tok[i].match);
    free(set->tok);
    set->tok = NULL;
    set->n = 0;
}

/* ---- GPT-2's vocab.json ------------------------------------------------------------ */

static int load_vocab(ls_tokenizer *t, const char *path, const int byte_of[LS_ALPHABET_CPS],
                      ls_error *err) {
    char *buf;
    size_t buf_len;
    if (ls_read_file(path, &buf, &buf_len, err)) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, buf_len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - buf) : 0;
        free(buf);
        return ls_fail(err, "%s: not valid JSON (near byte %zu)", path, at);
    }
    free(buf);
    int rc = -1;
    if (!cJSON_IsObject(root)) { ls_fail(err, "%s: not a JSON object of token -> id", path); goto out; }
    int n = cJSON_GetArraySize(root);
    if (n <= 0) { ls_fail(err, "%s: the vocab is empty", path); goto out; }
    if (n > LS_MAX_VOCAB) {
        ls_fail(err, "%s: %d tokens, more than the limit %d", path, n, LS_MAX_VOCAB);
        goto out;
    }

    size_t arena_bytes = 0;
    for (cJSON *it = root->child; it; it = it->next) arena_bytes += strlen(it->string);
    if (ls_tok_alloc(t, n, arena_bytes, err)) { ls_fail_context(err, "%s", path); goto out; }
    t->merge_rank = malloc((size_t)n * sizeof *t->merge_rank);
    if (!t->merge_rank) { ls_fail(err, "%s: out of memory", path); goto out; }

    size_t used = 0;
    for (cJSON *it = root->child; it; it = it->next) {
        const char *key = it->string;
        char shown[80];
        if (!cJSON_IsNumber(it)) {
            ls_fail(err, "%s: the id of token \"%s\" is not a number", path, SHOW(shown, key));
            goto out;
        }
        double d = it->valuedouble;
        if (!(d >= 0 && d < n) || d != (double)(int32_t)d) {
            ls_fail(err, "%s: id %.17g of token \"%s\" is out of range (ids must be integers 0..%d)",
                    path, d, SHOW(shown, key), n - 1);
            goto out;
        }
        int32_t id = (int32_t)d;
        if (t->present[id]) {
            ls_fail(err, "%s: id %d is used twice (again by token \"%s\")", path, id, SHOW(shown, key));
            goto out;
        }
        if (key[0] == '\0') { ls_fail(err, "%s: empty token (id %d)", path, id); goto out; }
        int bad_cp = 0;
        long k = unspell(key, byte_of, t->arena + used, &bad_cp);
        if (k < 0) { fail_unspell(err, path, key, bad_cp); goto out; }
        t->merge_rank[id] = LS_NO_RANK;
        t->special[id] = (uint8_t)is_special_spelling(key, strlen(key));
        if (ls_tok_set_key(t, id, t->arena + used, (size_t)k, &used, 1)) {
            ls_fail(err, "%s: token \"%s\" appears twice", path, SHOW(shown, key));
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- GPT-2's merges.txt ------------------------------------------------------------- */

static int load_merges(ls_tokenizer *t, const char *path, const char *vocab_path,
                       const int byte_of[LS_ALPHABET_CPS], ls_error *err) {
    char *buf;
    size_t buf_len;
    if (ls_read_file(path, &buf, &buf_len, err)) return -1;
    int rc = -1;
    char *scratch = malloc(buf_len + 1); /* unspelled parts: never longer than the line */
    if (!scratch) { ls_fail(err, "%s: out of memory", path); goto out; }
    /* Lines after the last non-empty one are ignored (a trailing newline, or
     * several); an empty line before it is an error like any malformed line. */
    size_t content_end = buf_len;
    while (content_end > 0 && (buf[content_end - 1] == '\n' || buf[content_end - 1] == '\r')) content_end--;

    int32_t rank = 0;
    size_t line_no = 0;
    for (size_t pos = 0; pos < content_end;) {
        char *line = buf + pos;
        char *nl = memchr(line, '\n', content_end - pos);
        size_t line_len = nl ? (size_t)(nl - line) : content_end - pos;
        pos += line_len + 1;
        line_no++;
        line[line_len] = '\0';
        if (line_len > 0 && line[line_len - 1] == '\r') line[--line_len] = '\0';
        if (line_no == 1 && strncmp(line, "#version", 8) == 0) continue;
        if (memchr(line, '\0', line_len)) {
            ls_fail(err, "%s: line %zu: contains a NUL byte", path, line_no);
            goto out;
        }
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || sp[1] == '\0' || strchr(sp + 1, ' ')) {
            char shown[80];
            ls_fail(err, "%s: line %zu: expected two tokens separated by one space, got \"%s\"",
                    path, line_no, SHOW(shown, line));
            goto out;
        }
        *sp = '\0';
        const char *part[2] = {line, sp + 1};
        size_t k = 0; /* the concatenation, built in scratch */
        for (int p = 0; p < 2; p++) {
            int bad_cp = 0;
            long n = unspell(part[p], byte_of, scratch + k, &bad_cp);
            if (n < 0) {
                char where[512];
                snprintf(where, sizeof where, "%s: line %zu", path, line_no);
                fail_unspell(err, where, part[p], bad_cp);
                goto out;
            }
            if (ls_tok_lookup(t, scratch + k, (size_t)n) < 0) {
                char shown[80];
                ls_fail(err, "%s: line %zu: \"%s\" is not a token of %s", path, line_no, SHOW(shown, part[p]),
                        vocab_path);
                goto out;
            }
            k += (size_t)n;
        }
        int32_t result = ls_tok_lookup(t, scratch, k);
        if (result < 0) {
            char shown[2][80];
            ls_fail(err, "%s: line %zu: the merge result \"%s%s\" is not a token of %s",
                    path, line_no, SHOW(shown[0], part[0]), SHOW(shown[1], part[1]), vocab_path);
            goto out;
        }
        if (t->merge_rank[result] == LS_NO_RANK) t->merge_rank[result] = rank;
        t->special[result] = 0;
        rank++;
    }
    rc = 0;
out:
    free(scratch);
    free(buf);
    return rc;
}

/* GPT-2's pipeline: GPT-2's regex, then bytes merged as tiktoken merges
 * them, and <|endoftext|> matched in the text first. */
static int gpt2_pipeline(ls_tokenizer *t, ls_error *err) {
    t->byte_level = 1;
    t->merge_by_concat = 1;
    t->whole_piece_first = 1;
    t->unk = -1;
    t->pre = calloc(1, sizeof *t->pre);
    if (!t->pre) return ls_fail(err, "out of memory");
    t->n_pre = 1;
    t->pre[0].kind = LS_PRE_BYTE_LEVEL;
    if (ls_regex_compile(&t->pre[0].pattern.re, ls_gpt2_pattern, strlen(ls_gpt2_pattern), "GPT-2's regex", err))
        return -1;
    if (t->eot >= 0) {
        ls_added_token *a = calloc(1, sizeof *a);
        char *m = malloc(14);
        if (!a || !m) { free(a); free(m); return ls_fail(err, "out of memory"); }
        memcpy(m, "<|endoftext|>", 14);
        *a = (ls_added_token){.id = t->eot, .match = m, .match_len = 13};
        ls_tok_added_set(&t->added_raw, a, 1);
    }
    return 0;
}

int ls_tokenizer_load(ls_tokenizer **out, const char *vocab_json_path, const char *merges_path,
                      ls_error *err) {
    *out = NULL;
    ls_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return ls_fail(err, "out of memory");
    t->eot = -1;
    int code_of[256], byte_of[LS_ALPHABET_CPS];
    ls_tok_byte_alphabet(code_of, byte_of);

    if (load_vocab(t, vocab_json_path, byte_of, err)) goto fail;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = ls_tok_lookup(t, &c, 1);
        if (t->byte_id[b] < 0) {
            ls_fail(err, "%s: byte 0x%02X (spelled U+%04X) is not a token; all 256 bytes must be",
                    vocab_json_path, (unsigned)b, (unsigned)code_of[b]);
            goto fail;
        }
    }
    if (load_merges(t, merges_path, vocab_json_path, byte_of, err)) goto fail;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->len[id] > 1 && t->merge_rank[id] == LS_NO_RANK && !t->special[id]) {
            char shown[80];
            ls_fail(err, "%s: token \"%s\" (id %d) is neither a byte, the result of a merge in %s, "
                    "nor a special token <|...|>", vocab_json_path,
                    ls_tok_show(shown, t->arena + t->offset[id], t->len[id]), (int)id, merges_path);
            goto fail;
        }
    }
    t->eot = ls_tok_lookup(t, "<|endoftext|>", 13);
    if (t->eot >= 0 && !t->special[t->eot]) t->eot = -1; /* produced by merges: ordinary text */
    if (gpt2_pipeline(t, err)) goto fail;
    *out = t;
    return 0;
fail:
    ls_tokenizer_free(t);
    return -1;
}

/* ---- directories ----------------------------------------------------------------- */

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int ls_tokenizer_load_dir(ls_tokenizer **out, const char *dir, ls_error *err) {
    static const char *const names[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
    char path[4096], merges[4096];
    /* tokenizer.json first: it is the whole description (added tokens,
     * normalizer, pre-tokenizer, decoder), of which a vocab.json +
     * merges.txt beside it are only the model part. */
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (file_exists(path)) return ls_tokenizer_load_json(out, path, err);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i][0]);
        snprintf(merges, sizeof merges, "%s/%s", dir, names[i][1]);
        if (file_exists(path) || file_exists(merges)) return ls_tokenizer_load(out, path, merges, err);
    }
    *out = NULL;
    return ls_fail(err, "%s: no tokenizer files (expected tokenizer.json, vocab.json + merges.txt, "
                   "or encoder.json + vocab.bpe)", dir);
}

static void free_pattern(ls_pattern *p) {
    free(p->literal);
    ls_regex_free(p->re);
}

void ls_tokenizer_free(ls_tokenizer *tok) {
    if (!tok) return;
    free(tok->arena);
    free(tok->offset);
    free(tok->len);
    free(tok->text_arena);
    free(tok->text_offset);
    free(tok->text_len);
    free(tok->first_arena);
    free(tok->first_offset);
    free(tok->first_len);
    free(tok->present);
    free(tok->special);
    free(tok->slots);
    free(tok->merge_rank);
    free(tok->pair_key);
    free(tok->pair_rank);
    free(tok->pair_result);
    ls_tok_added_set_free(&tok->added_raw);
    ls_tok_added_set_free(&tok->added_norm);
    for (size_t i = 0; i < tok->n_norm; i++) {
        free(tok->norm[i].text);
        free_pattern(&tok->norm[i].pattern);
    }
    free(tok->norm);
    for (size_t i = 0; i < tok->n_pre; i++) free_pattern(&tok->pre[i].pattern);
    free(tok->pre);
    free(tok->prefix);
    free(tok->suffix);
    free(tok);
}
