/* test_tokenizer_json.c: proves that tokenizer.json files load into the
 * pipeline Hugging Face runs, with known answers on hand-made files, and that
 * every unsupported or malformed part is refused with a one-line message
 * naming it.
 *
 *  - SentencePiece-style BPE (Llama 2): "▁" prepended and for spaces, merges
 *    by rank, byte fallback, unk fused or not, the decoder's leading-space
 *    strip, <s> from the template (not added by encode), Metaspace's
 *    prepend_scheme "first" (no "▁" after a special token);
 *  - byte-level BPE: merges keyed by the pair (not by the concatenated
 *    bytes, as GPT-2's files are: see test_tokenizer.c's "pqrs"),
 *    ignore_merges, id holes, added-token lstrip/rstrip/single_word;
 *  - regex translation: Oniguruma's \h, \v, {,n} and (?m) mean what they
 *    mean there;
 *  - load_dir prefers tokenizer.json over vocab.json + merges.txt;
 *  - errors, each with the part of the file it concerns.
 * Exactness on real-sized files is tests/e2e/tokenizer_json_diff.sh. */
#include "test_util.h"

#include <unistd.h>

TEST_TMPDIR_FIXTURE(tmp)

/* ---- helpers ------------------------------------------------------------------------ */

static char json_path[128];

static void write_json(const char *text) {
    test_path(json_path, sizeof json_path, tmp, "tokenizer.json");
    test_write_text(json_path, text);
}

static ls_tokenizer *load_ok(const char *text) {
    write_json(text);
    ls_tokenizer *tok = NULL;
    ls_error err = {{0}};
    if (ls_tokenizer_load_json(&tok, json_path, &err)) fail_msg("load: %s", err.msg);
    return tok;
}

static void expect_error(const char *text, const char *fragment1, const char *fragment2) {
    write_json(text);
    ls_tokenizer *tok = (ls_tokenizer *)&tok;
    ls_error err = {{0}};
    if (ls_tokenizer_load_json(&tok, json_path, &err) == 0) fail_msg("loaded, but expected \"%s\"", fragment1);
    assert_null(tok);
    assert_contains(err.msg, json_path);
    assert_contains(err.msg, fragment1);
    if (fragment2) assert_contains(err.msg, fragment2);
    assert_null(strchr(err.msg, '\n'));
}

static void expect_ids_n(const ls_tokenizer *tok, const char *text, const int32_t *want, size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err)) fail_msg("encode \"%s\": %s", text, err.msg);
    if (n != n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
        char got[512] = "", exp[512] = "";
        for (size_t i = 0; i < n && strlen(got) < 480; i++) snprintf(got + strlen(got), 16, "%d ", (int)ids[i]);
        for (size_t i = 0; i < n_want && strlen(exp) < 480; i++) snprintf(exp + strlen(exp), 16, "%d ", (int)want[i]);
        free(ids);
        fail_msg("encode \"%s\": got [%s], want [%s]", text, got, exp);
    }
    free(ids);
}
#define expect_ids(tok, text, ...)                                                    \
    do {                                                                              \
        const int32_t want_[] = {__VA_ARGS__};                                        \
        expect_ids_n(tok, text, want_, sizeof want_ / sizeof want_[0]);               \
    } while (0)
#define expect_no_ids(tok, text) expect_ids_n(tok, text, NULL, 0)

static void expect_decode(const ls_tokenizer *tok, const int32_t *ids, size_t n, const char *want) {
    char *text = NULL;
    size_t len = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_decode(tok, ids, n, &text, &len, &err)) fail_msg("decode: %s", err.msg);
    if (len != strlen(want) || memcmp(text, want, len) != 0) fail_msg("decode: got \"%s\", want \"%s\"", text, want);
    free(text);
}

/* GPT-2's spelling of byte b, as a JSON string (with quotes). */
static void spell_byte(char *out, int b) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int cp = b;
    if (!printable) {
        cp = 256;
        for (int c = 0; c < b; c++)
            if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) cp++;
    }
    snprintf(out, 16, "\"\\u%04x\"", (unsigned)cp);
}

/* A byte-level tokenizer.json: bytes have ids 0..255 (byte value = id),
 * then `vocab` (JSON members, may be ""), `merges` (a JSON array), and the
 * given pre_tokenizer / model options / added_tokens. */
static char *byte_level_json(const char *vocab, const char *merges, const char *pre, const char *model_opts,
                             const char *added) {
    static char buf[65536];
    int k = snprintf(buf, sizeof buf, "{\"added_tokens\": %s, \"normalizer\": null, \"pre_tokenizer\": %s, "
                     "\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", %s \"vocab\": {",
                     added, pre, model_opts);
    for (int b = 0; b < 256; b++) {
        char s[16];
        spell_byte(s, b);
        k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%s: %d", b ? ", " : "", s, b);
    }
    snprintf(buf + k, sizeof buf - (size_t)k, "%s%s}, \"merges\": %s}}", vocab[0] ? ", " : "", vocab, merges);
    return buf;
}
#define BYTE_LEVEL_PRE "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}"

/* A SentencePiece-style tokenizer.json (Llama 2's layout): <unk> <s> </s>,
 * <0x00>..<0xFF> as ids 3..258, then 259.. for the pieces below. */
static char *sentencepiece_json(const char *normalizer, const char *pre, const char *model_opts) {
    static char buf[65536];
    int k = snprintf(buf, sizeof buf,
                     "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"normalized\": false, \"special\": true},"
                     " {\"id\": 1, \"content\": \"<s>\", \"normalized\": false, \"special\": true},"
                     " {\"id\": 2, \"content\": \"</s>\", \"normalized\": false, \"special\": true}],"
                     " \"normalizer\": %s, \"pre_tokenizer\": %s,"
                     " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": "
                     "\"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": "
                     "{\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}},"
                     " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": "
                     "{\"String\": \"\\u2581\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, "
                     "{\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]},"
                     " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", %s \"vocab\": {\"<unk>\": 0, \"<s>\": 1, "
                     "\"</s>\": 2",
                     normalizer, pre, model_opts);
    for (int b = 0; b < 256; b++) k += snprintf(buf + k, sizeof buf - (size_t)k, ", \"<0x%02X>\": %d", b, 3 + b);
    snprintf(buf + k, sizeof buf - (size_t)k,
             ", \"\\u2581\": 259, \"h\": 260, \"e\": 261, \"l\": 262, \"o\": 263, \"\\u2581h\": 264, \"\\u2581he\": 265,"
             " \"ll\": 266, \"\\u2581hell\": 267, \"\\u2581hello\": 268, \"w\": 269, \"r\": 270, \"d\": 271},"
             " \"merges\": [\"\\u2581 h\", \"\\u2581h e\", \"l l\", \"\\u2581he ll\", \"\\u2581hell o\"]}}");
    return buf;
}
#define SP_NORMALIZER "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"}," \
                      " {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]}"
#define FALLBACK "\"byte_fallback\": true, \"fuse_unk\": true,"
#define BYTE(b) (3 + (b)) /* the id of <0xbb> */

/* ---- SentencePiece-style BPE ----------------------------------------------------------- */

static void test_sentencepiece(void **state) {
    (void)state;
    ls_tokenizer *tok = load_ok(sentencepiece_json(SP_NORMALIZER, "null", FALLBACK));
    assert_int_equal(ls_tokenizer_vocab_size(tok), 272);
    /* "▁" prepended, merged by rank up to the whole word. */
    expect_ids(tok, "hello", 268);
    /* Spaces become "▁"; "▁w" is no token; "o", "r", "l", "d" are. */
    expect_ids(tok, "hello world", 268, 259, 269, 263, 270, 262, 271);
    /* Characters not in the vocab: their UTF-8 bytes as <0xNN> tokens. */
    expect_ids(tok, "\xC3\xA9", 259, BYTE(0xC3), BYTE(0xA9));
    expect_ids(tok, "hi", 264, BYTE('i'));
    /* Special tokens are found first; each stretch after one gets its own
     * "▁" (normalizers run per stretch). */
    expect_ids(tok, "<s>hi</s>", 1, 264, BYTE('i'), 2);
    expect_ids(tok, "<s> hi", 1, 259, 264, BYTE('i'));
    /* encode never adds the template's <s>; the file says it is the BOS. */
    assert_int_equal(ls_tokenizer_bos(tok), 1);
    const int32_t *prefix, *suffix;
    size_t n_prefix, n_suffix;
    ls_tokenizer_template(tok, &prefix, &n_prefix, &suffix, &n_suffix);
    assert_int_equal(n_prefix, 1);
    assert_int_equal(prefix[0], 1);
    assert_int_equal(n_suffix, 0);
    assert_int_equal(ls_tokenizer_eot(tok), -1);
    /* Decoding: "▁" -> " ", <0xNN> -> the byte, the first space stripped. */
    expect_decode(tok, (const int32_t[]){268, 259, 269, 263}, 4, "hello wo");
    expect_decode(tok, (const int32_t[]){1, 268}, 2, "<s> hello");
    expect_decode(tok, (const int32_t[]){259, BYTE(0xC3), BYTE(0xA9)}, 3, "\xC3\xA9");
    const char *bytes;
    size_t len;
    assert_int_equal(ls_tokenizer_token_bytes(tok, 268, &bytes, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(bytes, " hello", 6);
    assert_int_equal(ls_tokenizer_token_bytes(tok, BYTE(0x0A), &bytes, &len), 0);
    assert_int_equal(len, 1);
    assert_int_equal(bytes[0], '\n');
    ls_tokenizer_free(tok);
}

static void test_sentencepiece_unk(void **state) {
    (void)state;
    /* Without byte fallback, unknown characters are <unk>: fused... */
    ls_tokenizer *tok = load_ok(sentencepiece_json(SP_NORMALIZER, "null", "\"fuse_unk\": true,"));
    expect_ids(tok, "h\xC3\xA9\xC3\xA9o", 264, 0, 263);
    ls_tokenizer_free(tok);
    /* ... or one each. */
    tok = load_ok(sentencepiece_json(SP_NORMALIZER, "null", "\"fuse_unk\": false,"));
    expect_ids(tok, "h\xC3\xA9\xC3\xA9o", 264, 0, 0, 263);
    ls_tokenizer_free(tok);
}

static void test_metaspace_first(void **state) {
    (void)state;
    /* The newer layout: no normalizer, Metaspace with prepend_scheme
     * "first": "▁" only at the very start of the text, not after <s>. */
    ls_tokenizer *tok = load_ok(sentencepiece_json(
        "null", "{\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\", \"split\": false}",
        FALLBACK));
    expect_ids(tok, "hello", 268);
    expect_ids(tok, "<s>hello", 1, 260, 261, 266, 263);
    expect_ids(tok, " hello", 268); /* already starts with "▁" */
    ls_tokenizer_free(tok);
}

/* ---- byte-level BPE --------------------------------------------------------------------------- */

static void test_pair_merges(void **state) {
    (void)state;
    /* "q r" outranks "p q"; then p + qr is not a listed pair, so "pqrs" stays
     * p qr s, although pq + r = "pqr" is a token (GPT-2's files, merged by
     * concatenated bytes as tiktoken does, give pqr s). */
    const char *vocab = "\"qr\": 256, \"pq\": 257, \"pqr\": 258";
    const char *merges = "[[\"q\", \"r\"], [\"p\", \"q\"], [\"pq\", \"r\"]]";
    ls_tokenizer *tok = load_ok(byte_level_json(vocab, merges, BYTE_LEVEL_PRE, "", "[]"));
    expect_ids(tok, "pqrs", 'p', 256, 's');
    expect_ids(tok, "pq", 257);
    ls_tokenizer_free(tok);
    /* ignore_merges: a pre-token that is a token is that token. */
    tok = load_ok(byte_level_json(vocab, merges, BYTE_LEVEL_PRE, "\"ignore_merges\": true,", "[]"));
    expect_ids(tok, "pqr", 258);
    expect_ids(tok, "pqrs", 'p', 256, 's');
    ls_tokenizer_free(tok);
}

static void test_id_holes(void **state) {
    (void)state;
    /* ids 256..299 unused; an added token not in the vocab comes after the
     * vocab's size (257 entries), as Hugging Face numbers it. */
    ls_tokenizer *tok = load_ok(byte_level_json("\"ab\": 300", "[\"a b\"]", BYTE_LEVEL_PRE, "",
                                                "[{\"id\": 257, \"content\": \"<|endoftext|>\", \"special\": true}]"));
    assert_int_equal(ls_tokenizer_vocab_size(tok), 301);
    assert_int_equal(ls_tokenizer_eot(tok), 257);
    expect_ids(tok, "ab<|endoftext|>", 300, 257);
    const char *bytes;
    size_t len;
    assert_int_equal(ls_tokenizer_token_bytes(tok, 299, &bytes, &len), -1);
    assert_int_equal(ls_tokenizer_token_bytes(tok, 257, &bytes, &len), 0);
    assert_int_equal(len, 13);
    char *text = NULL;
    ls_error err = {{0}};
    assert_int_equal(ls_tokenizer_decode(tok, (const int32_t[]){300, 299}, 2, &text, &len, &err), -1);
    assert_null(text);
    assert_contains(err.msg, "id 299 at position 1");
    expect_decode(tok, (const int32_t[]){300, 257}, 2, "ab<|endoftext|>");
    ls_tokenizer_free(tok);
    /* A file "id" that disagrees: Hugging Face warns and numbers the token
     * its own way; so does lesion. */
    tok = load_ok(byte_level_json("", "[]", BYTE_LEVEL_PRE, "", "[{\"id\": 999, \"content\": \"<x>\"}]"));
    assert_int_equal(ls_tokenizer_vocab_size(tok), 257);
    expect_ids(tok, "a<x>", 'a', 256);
    ls_tokenizer_free(tok);
}

static void test_added_token_flags(void **state) {
    (void)state;
    const char *added =
        "[{\"id\": 256, \"content\": \"<|end|>\", \"rstrip\": true, \"normalized\": false, \"special\": true},"
        " {\"id\": 257, \"content\": \"<mask>\", \"lstrip\": true, \"normalized\": false, \"special\": true},"
        " {\"id\": 258, \"content\": \"Lord\", \"single_word\": true, \"normalized\": false}]";
    ls_tokenizer *tok = load_ok(byte_level_json("", "[]", BYTE_LEVEL_PRE, "", added));
    /* rstrip eats the whitespace after, lstrip the whitespace before. */
    expect_ids(tok, "a<|end|> \n b", 'a', 256, 'b');
    expect_ids(tok, "a \t<mask>b", 'a', 257, 'b');
    /* single_word: only between non-word characters. */
    expect_ids(tok, "Lord", 258);
    expect_ids(tok, "(Lord)", '(', 258, ')');
    expect_ids(tok, "Lords", 'L', 'o', 'r', 'd', 's');
    expect_ids(tok, "xLord", 'x', 'L', 'o', 'r', 'd');
    ls_tokenizer_free(tok);
}

static void test_oniguruma_escapes(void **state) {
    (void)state;
    /* Each pattern removes what it matches (Split, Removed), so the ids show
     * what Oniguruma's reading of it matches. */
    static const struct { const char *pattern, *text, *kept; } cases[] = {
        {"\\\\h", "a1g_F", "g_"},         /* \h: a hexadecimal digit (not horizontal space) */
        {"\\\\v", "a\\u000bb\\nc", "ab\nc"}, /* \v: the vertical tab only */
        {"x{,2}", "xxxxxy", "y"},         /* {,n}: {0,n} */
        {"(?m)a.b", "a\\nb acb", " "},     /* (?m): dot matches newline (Ruby) */
        {"a.b", "a\\nb", "a\nb"},
        {"\\\\u00e9|\\\\d", "\\u00e9t\\u00e912\\u0663", "t"}, /* \uHHHH; \d is Unicode Nd */
        {"[^\\\\S\\\\n]", "a b\\nc\\td", "ab\ncd"},            /* \S negated inside a class */
        {"\\\\p{^L}", "a1-b", "ab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pre[256], text[64];
        snprintf(pre, sizeof pre, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                 "{\"Regex\": \"%s\"}, \"behavior\": \"Removed\", \"invert\": false}, {\"type\": \"ByteLevel\", "
                 "\"add_prefix_space\": false, \"use_regex\": false}]}", cases[i].pattern);
        ls_tokenizer *tok = load_ok(byte_level_json("", "[]", pre, "", "[]"));
        /* the text, JSON-unescaped by writing it as a vocab-free JSON string */
        char js[96];
        snprintf(js, sizeof js, "%s", cases[i].text);
        size_t k = 0;
        for (size_t j = 0; js[j]; j++) {
            if (js[j] == '\\' && js[j + 1] == 'n') { text[k++] = '\n'; j++; }
            else if (js[j] == '\\' && js[j + 1] == 't') { text[k++] = '\t'; j++; }
            else if (js[j] == '\\' && js[j + 1] == 'u') {
                unsigned cp;
                sscanf(js + j + 2, "%4x", &cp);
                if (cp < 0x80) text[k++] = (char)cp;
                else if (cp < 0x800) { text[k++] = (char)(0xC0 | (cp >> 6)); text[k++] = (char)(0x80 | (cp & 0x3F)); }
                j += 5;
            } else {
                text[k++] = js[j];
            }
        }
        text[k] = '\0';
        int32_t want[32];
        size_t n = strlen(cases[i].kept);
        for (size_t j = 0; j < n; j++) want[j] = (uint8_t)cases[i].kept[j];
        expect_ids_n(tok, text, want, n);
        ls_tokenizer_free(tok);
    }
}

/* ---- directories ---------------------------------------------------------------------------- */

static void test_load_dir_prefers_json(void **state) {
    (void)state;
    /* GPT-2-format files (257 tokens) and a tokenizer.json (256 tokens). */
    char vocab[128], merges[128];
    test_path(vocab, sizeof vocab, tmp, "vocab.json");
    test_path(merges, sizeof merges, tmp, "merges.txt");
    char *bl = byte_level_json("", "[]", BYTE_LEVEL_PRE, "", "[]");
    /* vocab.json = the model's vocab with one extra special token */
    char *v = strstr(bl, "\"vocab\": {") + 9, *end = strstr(v, "}, \"merges\"");
    char gpt2_vocab[8192];
    snprintf(gpt2_vocab, sizeof gpt2_vocab, "%.*s, \"<|endoftext|>\": 256}", (int)(end - v), v);
    test_write_text(vocab, gpt2_vocab);
    test_write_text(merges, "#version: 0.2\n");
    ls_tokenizer *tok = NULL;
    ls_error err = {{0}};
    if (ls_tokenizer_load_dir(&tok, tmp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ls_tokenizer_vocab_size(tok), 257);
    ls_tokenizer_free(tok);
    write_json(bl);
    if (ls_tokenizer_load_dir(&tok, tmp, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ls_tokenizer_vocab_size(tok), 256);
    ls_tokenizer_free(tok);
}

/* ---- errors ------------------------------------------------------------------------------------ */

static void test_unsupported_parts(void **state) {
    (void)state;
    char buf[1024];
    expect_error("{\"model\": ", "not valid JSON", NULL);
    expect_error("[1]", "not a JSON object", NULL);
    expect_error("{\"decoder\": {\"type\": \"ByteLevel\"}}", "no \"model\"", NULL);
    expect_error("{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}",
                 "model: type \"WordPiece\" is not supported", NULL);
    expect_error("{\"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
                 "model: type \"Unigram\"", NULL);
    expect_error("{\"normalizer\": {\"type\": \"NFKC\"}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 "normalizer: type \"NFKC\" is not supported", NULL);
    expect_error("{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": "
                 "\"Lowercase\"}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 "normalizer.normalizers[1]: type \"Lowercase\"", NULL);
    expect_error("{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\"}, {\"type\": "
                 "\"Whitespace\"}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 "pre_tokenizer.pretokenizers[1]: type \"Whitespace\" is not supported", NULL);
    expect_error("{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"ByteLevel\"}, "
                 "{\"type\": \"Digits\"}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 "pre_tokenizer.pretokenizers[1]", "ByteLevel must be the last");
    expect_error("{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Kept\", "
                 "\"invert\": false}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 "pre_tokenizer.behavior: \"Kept\"", NULL);
    expect_error("{\"decoder\": {\"type\": \"WordPiece\"}, \"model\": {}}", "decoder: type \"WordPiece\"", NULL);
    expect_error("{\"decoder\": null, \"model\": {}}", "decoder: missing", NULL);
    expect_error("{\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Fuse\"}, {\"type\": "
                 "\"ByteFallback\"}]}, \"model\": {}}", "decoder.decoders[1]", "after the tokens are joined");
    static const struct { const char *regex, *why; } bad_regex[] = {
        {"\\\\bword", "unsupported escape"}, {"[a[b]]", "nested character classes"},
        {"\\\\p{Han}", "unsupported Unicode property"}, {"(a", "not a pattern lesion can run"},
        {"[[:alpha:]]", "POSIX"}, {"(?y)a", "unsupported inline option"}, {"\\\\1", "unsupported escape"},
    };
    for (size_t i = 0; i < sizeof bad_regex / sizeof bad_regex[0]; i++) {
        snprintf(buf, sizeof buf, "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, "
                 "\"behavior\": \"Isolated\", \"invert\": false}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {}}",
                 bad_regex[i].regex);
        expect_error(buf, "pre_tokenizer.pattern", bad_regex[i].why);
    }
}

static void test_bad_models(void **state) {
    (void)state;
    expect_error(byte_level_json("", "[]", BYTE_LEVEL_PRE, "\"dropout\": 0.1,", "[]"), "model.dropout", NULL);
    expect_error(byte_level_json("", "[]", BYTE_LEVEL_PRE, "\"continuing_subword_prefix\": \"##\",", "[]"),
                 "model.continuing_subword_prefix", NULL);
    expect_error(byte_level_json("", "[\"ab\"]", BYTE_LEVEL_PRE, "", "[]"), "model.merges[0]", "one space");
    expect_error(byte_level_json("", "[\"a bc\"]", BYTE_LEVEL_PRE, "", "[]"), "model.merges[0]", "\"bc\" is not a token");
    expect_error(byte_level_json("", "[[\"a\", \"b\"]]", BYTE_LEVEL_PRE, "", "[]"), "model.merges[0]",
                 "merge result \"ab\"");
    expect_error(byte_level_json("", "[[\"a\"]]", BYTE_LEVEL_PRE, "", "[]"), "model.merges[0]", NULL);
    expect_error(byte_level_json("\"x\": 5", "[]", BYTE_LEVEL_PRE, "", "[]"), "model.vocab", "used twice");
    expect_error(byte_level_json("\"a b\": 300", "[]", BYTE_LEVEL_PRE, "", "[]"), "model.vocab",
                 "outside GPT-2's byte alphabet");
    expect_error(byte_level_json("\"ab\": -1", "[]", BYTE_LEVEL_PRE, "", "[]"), "model.vocab", "not an integer");
    expect_error(byte_level_json("", "[]", BYTE_LEVEL_PRE, "\"unk_token\": \"<unk>\",", "[]"), "model.unk_token",
                 NULL);
    expect_error(byte_level_json("\"ab\": 258", "[\"a b\"]", BYTE_LEVEL_PRE, "",
                                 "[{\"id\": 300, \"content\": \"<x>\"}, {\"id\": 301, \"content\": \"<y>\"}]"),
                 "added_tokens[1]", "gets id 258");
    expect_error(byte_level_json("", "[]", BYTE_LEVEL_PRE, "",
                                 "[{\"id\": 256, \"content\": \"<x>\"}, {\"id\": 257, \"content\": \"<x>\"}]"),
                 "added_tokens[1]", "listed twice");
    expect_error(byte_level_json("", "[]", BYTE_LEVEL_PRE, "", "[{\"id\": 256, \"content\": \"\"}]"),
                 "added_tokens[0].content", NULL);
    /* the template's <s> with an id that is no token */
    const char *sp = sentencepiece_json(SP_NORMALIZER, "null", FALLBACK), *at = strstr(sp, "\"ids\": [1]");
    static char bad_template[65536];
    snprintf(bad_template, sizeof bad_template, "%.*s\"ids\": [9999999]%s", (int)(at - sp), sp, at + 10);
    expect_error(bad_template, "post_processor.special_tokens", "token ids");
    /* merges written both ways in one file (Hugging Face reads neither) */
    expect_error(byte_level_json("\"ab\": 256, \"cd\": 257", "[\"a b\", [\"c\", \"d\"]]", BYTE_LEVEL_PRE, "", "[]"),
                 "model.merges[1]", "mixes");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sentencepiece, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentencepiece_unk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metaspace_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pair_merges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_id_holes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_added_token_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oniguruma_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_dir_prefers_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_models, setup, teardown),
    };
    return cmocka_run_group_tests_name("tokenizer.json", tests, NULL, NULL);
}
