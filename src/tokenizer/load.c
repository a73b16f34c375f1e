/* load.c: reads and validates GPT-2's two tokenizer files, and decodes.
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

/* Implemented in encode.c, which owns everything about the regex. */
int ls_tok_compile_regex(ls_tokenizer *tok, ls_error *err);
void ls_tok_free_regex(ls_tokenizer *tok);

/* ---- the byte alphabet -------------------------------------------------- */

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) take the code
 * points 256, 257, ... in byte order. Fills code_of[byte] and
 * byte_of[code point] (-1 where a code point is not in the alphabet). */
#define LS_ALPHABET_CPS 324 /* 256 + 68 */
static void byte_alphabet(int code_of[256], int byte_of[LS_ALPHABET_CPS]) {
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

/* Writes a token (or any text) for a one-line message: control bytes, '"'
 * and '\\' as \\xNN, the rest as is, cut at about 60 bytes on a character
 * boundary. */
static const char *show(char out[80], const char *s, size_t n) {
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
#define SHOW(buf, str) show(buf, str, strlen(str))

static int fail_unspell(ls_error *err, const char *where, const char *tok, int bad_cp) {
    char shown[80];
    if (bad_cp == -2) return ls_fail(err, "%s: token \"%s\" is not valid UTF-8", where, SHOW(shown, tok));
    return ls_fail(err, "%s: token \"%s\" has U+%04X, which is not in GPT-2's byte alphabet",
                   where, SHOW(shown, tok), (unsigned)bad_cp);
}

/* ---- files --------------------------------------------------------------- */

static int read_file(const char *path, char **buf, size_t *len, ls_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ls_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ls_fail(err, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n + 1);
    if (!b) { fclose(f); return ls_fail(err, "%s: out of memory (%zu bytes)", path, n); }
    size_t got = fread(b, 1, n, f);
    int bad = ferror(f) || got != n;
    fclose(f);
    if (bad) { free(b); return ls_fail(err, "%s: read error", path); }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/* ---- vocab ----------------------------------------------------------------- */

static int table_insert(ls_tokenizer *t, int32_t id) {
    const char *s = t->arena + t->offset[id];
    size_t n = t->len[id], mask = t->cap - 1;
    for (size_t i = ls_tok_hash(s, n) & mask;; i = (i + 1) & mask) {
        int32_t other = t->slots[i];
        if (other < 0) { t->slots[i] = id; return 0; }
        if (t->len[other] == n && memcmp(t->arena + t->offset[other], s, n) == 0) return -1;
    }
}

static int load_vocab(ls_tokenizer *t, const char *path, const int byte_of[LS_ALPHABET_CPS],
                      ls_error *err) {
    char *buf;
    size_t buf_len;
    if (read_file(path, &buf, &buf_len, err)) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, buf_len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - buf) : 0;
        free(buf);
        return ls_fail(err, "%s: not valid JSON (near byte %zu)", path, at);
    }
    free(buf);
    int rc = -1;
    uint8_t *seen = NULL;
    if (!cJSON_IsObject(root)) { ls_fail(err, "%s: not a JSON object of token -> id", path); goto out; }
    int n = cJSON_GetArraySize(root);
    if (n <= 0) { ls_fail(err, "%s: the vocab is empty", path); goto out; }
    if (n > LS_MAX_VOCAB) {
        ls_fail(err, "%s: %d tokens, more than the limit %d", path, n, LS_MAX_VOCAB);
        goto out;
    }

    size_t arena_bytes = 0;
    for (cJSON *it = root->child; it; it = it->next) arena_bytes += strlen(it->string);
    t->n_vocab = n;
    t->arena = malloc(arena_bytes + 1);
    t->offset = malloc((size_t)n * sizeof *t->offset);
    t->len = malloc((size_t)n * sizeof *t->len);
    t->merge_rank = malloc((size_t)n * sizeof *t->merge_rank);
    t->special = calloc((size_t)n, 1);
    seen = calloc((size_t)n, 1);
    for (t->cap = 1024; t->cap < 2 * (size_t)n; t->cap *= 2) {}
    t->slots = malloc(t->cap * sizeof *t->slots);
    if (!t->arena || !t->offset || !t->len || !t->merge_rank || !t->special || !seen || !t->slots) {
        ls_fail(err, "%s: out of memory", path);
        goto out;
    }
    memset(t->slots, 0xFF, t->cap * sizeof *t->slots); /* all -1 */

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
        if (seen[id]) {
            ls_fail(err, "%s: id %d is used twice (again by token \"%s\")", path, id, SHOW(shown, key));
            goto out;
        }
        seen[id] = 1;
        if (key[0] == '\0') { ls_fail(err, "%s: empty token (id %d)", path, id); goto out; }
        int bad_cp = 0;
        long k = unspell(key, byte_of, t->arena + used, &bad_cp);
        if (k < 0) { fail_unspell(err, path, key, bad_cp); goto out; }
        t->offset[id] = used;
        t->len[id] = (uint32_t)k;
        t->merge_rank[id] = LS_NO_RANK;
        t->special[id] = (uint8_t)is_special_spelling(key, strlen(key));
        used += (size_t)k;
        if (table_insert(t, id)) {
            ls_fail(err, "%s: token \"%s\" appears twice", path, SHOW(shown, key));
            goto out;
        }
    }
    rc = 0;
out:
    free(seen);
    cJSON_Delete(root);
    return rc;
}

/* ---- merges ----------------------------------------------------------------- */

static int load_merges(ls_tokenizer *t, const char *path, const char *vocab_path,
                       const int byte_of[LS_ALPHABET_CPS], ls_error *err) {
    char *buf;
    size_t buf_len;
    if (read_file(path, &buf, &buf_len, err)) return -1;
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
        int32_t part_id[2];
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
            part_id[p] = ls_tok_lookup(t, scratch + k, (size_t)n);
            if (part_id[p] < 0) {
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

/* ---- public ------------------------------------------------------------------- */

int ls_tokenizer_load(ls_tokenizer **out, const char *vocab_json_path, const char *merges_path,
                      ls_error *err) {
    *out = NULL;
    ls_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return ls_fail(err, "out of memory");
    t->eot = -1;
    int code_of[256], byte_of[LS_ALPHABET_CPS];
    byte_alphabet(code_of, byte_of);

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
                    show(shown, t->arena + t->offset[id], t->len[id]), (int)id, merges_path);
            goto fail;
        }
    }
    t->eot = ls_tok_lookup(t, "<|endoftext|>", 13);
    if (t->eot >= 0 && !t->special[t->eot]) t->eot = -1; /* produced by merges: ordinary text */
    if (ls_tok_compile_regex(t, err)) goto fail;
    *out = t;
    return 0;
fail:
    ls_tokenizer_free(t);
    return -1;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int ls_tokenizer_load_dir(ls_tokenizer **out, const char *dir, ls_error *err) {
    static const char *const names[2][2] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
    char vocab[4096], merges[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(vocab, sizeof vocab, "%s/%s", dir, names[i][0]);
        snprintf(merges, sizeof merges, "%s/%s", dir, names[i][1]);
        if (file_exists(vocab) || file_exists(merges)) return ls_tokenizer_load(out, vocab, merges, err);
    }
    *out = NULL;
    return ls_fail(err, "%s: no tokenizer files (expected vocab.json + merges.txt, or encoder.json + vocab.bpe)",
                   dir);
}

void ls_tokenizer_free(ls_tokenizer *tok) {
    if (!tok) return;
    ls_tok_free_regex(tok);
    free(tok->arena);
    free(tok->offset);
    free(tok->len);
    free(tok->merge_rank);
    free(tok->special);
    free(tok->slots);
    free(tok);
}

int ls_tokenizer_vocab_size(const ls_tokenizer *tok) { return tok->n_vocab; }

int32_t ls_tokenizer_eot(const ls_tokenizer *tok) { return tok->eot; }

int ls_tokenizer_token_bytes(const ls_tokenizer *tok, int32_t id, const char **bytes, size_t *len) {
    if (id < 0 || id >= tok->n_vocab) return -1;
    *bytes = tok->arena + tok->offset[id];
    *len = tok->len[id];
    return 0;
}

int ls_tokenizer_decode(const ls_tokenizer *tok, const int32_t *ids, size_t n_ids, char **text,
                        size_t *len, ls_error *err) {
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= tok->n_vocab)
            return ls_fail(err, "decode: id %d at position %zu is out of range (vocab has %d tokens)",
                           (int)ids[i], i, tok->n_vocab);
        total += tok->len[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s) return ls_fail(err, "decode: out of memory (%zu bytes)", total);
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(s + k, tok->arena + tok->offset[ids[i]], tok->len[ids[i]]);
        k += tok->len[ids[i]];
    }
    s[k] = '\0';
    *text = s;
    *len = k;
    return 0;
}
