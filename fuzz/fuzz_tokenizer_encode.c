/* fuzz_tokenizer_encode.c: arbitrary bytes through the bundled tokenizer.
 *
 * The tokenizer of models/kjv-gpt2 (found next to the binary:
 * ../models/kjv-gpt2, or $LESION_FUZZ_TOKENIZER_DIR) is loaded once. For any
 * input, ls_tokenizer_encode must succeed exactly when the input is valid
 * UTF-8 (checked here independently: no overlongs, surrogates or code points
 * above U+10FFFF) and otherwise fail naming the first bad byte's offset;
 * every id must be in the vocab; and decoding the ids must give back the
 * input byte for byte. "<|endoftext|>" in the input must become the
 * end-of-text id, and the end-of-text id must come from nowhere else. */
#include "fuzz_util.h"

#include <libgen.h>

static ls_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    char dir[4096];
    const char *env = getenv("LESION_FUZZ_TOKENIZER_DIR");
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) abort();
        exe[n] = '\0';
        /* build-fuzz/fuzz_x or BUILD/fuzz-replay/replay_x: the repository is one or two levels up. */
        const char *up[] = {"%s/../models/kjv-gpt2", "%s/../../models/kjv-gpt2"};
        char *bindir = dirname(exe);
        for (int i = 0; i < 2; i++) {
            snprintf(dir, sizeof dir, up[i], bindir);
            char probe[4200];
            snprintf(probe, sizeof probe, "%s/vocab.json", dir);
            if (access(probe, R_OK) == 0) break;
        }
    }
    ls_error err = {{0}};
    if (ls_tokenizer_load_dir(&tok, dir, &err) != 0) {
        fprintf(stderr, "fuzz_tokenizer_encode: %s\n", err.msg);
        exit(77);
    }
    return 0;
}

/* Offset of the first byte of s that is not valid UTF-8, or len. Written
 * from the Unicode table of well-formed byte sequences (Table 3-7), not
 * from the tokenizer's code. */
static size_t first_invalid(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c <= 0x7F) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) need = 2, lo = 0xA0;
        else if (c == 0xED) need = 2, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) need = 3, lo = 0x90;
        else if (c == 0xF4) need = 3, hi = 0x8F;
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else return i;
        if (len - i - 1 < need) return i; /* truncated sequence */
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += need + 1;
    }
    return len;
}

static size_t count_eot(const uint8_t *s, size_t len) {
    static const char m[] = "<|endoftext|>";
    size_t n = 0;
    for (size_t i = 0; i + 13 <= len;)
        if (memcmp(s + i, m, 13) == 0) n++, i += 13;
        else i++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int32_t *ids = NULL;
    size_t n = 0;
    ls_error err = {{0}};
    size_t bad = first_invalid(data, size);
    int rc = ls_tokenizer_encode(tok, (const char *)data, size, &ids, &n, &err);
    if (bad < size) {
        FUZZ_CHECK(rc != 0, "invalid UTF-8 at byte %zu was accepted", bad);
        char want[64];
        snprintf(want, sizeof want, "offset %zu ", bad);
        FUZZ_CHECK(strstr(err.msg, want) != NULL, "error does not name offset %zu: %s", bad, err.msg);
        FUZZ_CHECK(ids == NULL, "failed encode left ids");
        return 0;
    }
    FUZZ_CHECK(rc == 0, "valid UTF-8 rejected: %s", err.msg);
    FUZZ_CHECK(ids != NULL, "NULL ids on success");
    int V = ls_tokenizer_vocab_size(tok);
    int32_t eot = ls_tokenizer_eot(tok);
    size_t eots = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d at %zu outside 0..%d", ids[i], i, V - 1);
        eots += ids[i] == eot;
    }
    FUZZ_CHECK(n <= size, "%zu ids for %zu bytes", n, size);
    if (eot >= 0) FUZZ_CHECK(eots == count_eot(data, size), "%zu end-of-text ids for %zu markers", eots, count_eot(data, size));
    char *back = NULL;
    size_t back_len = 0;
    FUZZ_CHECK(ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err) == 0, "decode: %s", err.msg);
    FUZZ_CHECK(back_len == size && memcmp(back, data, size) == 0, "round trip differs (%zu -> %zu bytes)", size,
               back_len);
    FUZZ_CHECK(back[back_len] == '\0', "decode result not NUL-terminated");
    free(back);
    free(ids);
    return 0;
}
