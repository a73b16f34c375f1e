/* fuzz_tokenizer_json.c: tokenizer.json, untrusted.
 *
 * The input is written as tokenizer.json. ls_tokenizer_load_json must accept
 * it or fail with a one-line message. When it accepts, the tokenizer must
 * work: every id either names a token with readable bytes or is a hole
 * (refused by token_bytes and decode), the template's ids name tokens, and a
 * fixed text (special tokens, SentencePiece spellings, Unicode) and the
 * input itself (when it is valid UTF-8) encode to ids that name tokens and
 * decode without error. (Decoding need not give the text back: a Split may
 * remove characters, a missing character may become <unk>.) Encoding the
 * same text twice gives the same ids. */
#include "fuzz_util.h"

static const char sample[] = "In the beginning God created the heaven and the earth.\n\n"
                             "  <|endoftext|><s>x</s> it's IT'S 1611 AD;\xe2\x96\x81 <0x41> caf\xc3\xa9 e\xcc\x81 "
                             "\xf0\x9f\x98\x80 \t\r\n x\xe3\x80\x80y 12345";

static void check_encode(const ls_tokenizer *tok, const char *text, size_t len) {
    int32_t *ids = NULL, *again = NULL;
    size_t n = 0, n_again = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_encode(tok, text, len, &ids, &n, &err) != 0) {
        FUZZ_CHECK(ids == NULL && err.msg[0] && !strchr(err.msg, '\n'), "failed encode left ids or a bad message");
        return;
    }
    const char *b;
    size_t bn;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ls_tokenizer_token_bytes(tok, ids[i], &b, &bn) == 0, "id %d at %zu names no token", ids[i], i);
    FUZZ_CHECK(ls_tokenizer_encode(tok, text, len, &again, &n_again, &err) == 0 && n_again == n &&
                   memcmp(ids, again, n * sizeof *ids) == 0,
               "encoding twice differs");
    char *back = NULL;
    size_t back_len = 0;
    FUZZ_CHECK(ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err) == 0, "decode: %s", err.msg);
    free(back);
    free(again);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write("tokenizer.json", data, size, path, sizeof path);
    ls_tokenizer *tok = (ls_tokenizer *)1;
    ls_error err = {{0}};
    if (ls_tokenizer_load_json(&tok, path, &err) != 0) {
        FUZZ_CHECK(tok == NULL, "failed load left a tokenizer");
        FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'), "no message, or not one line: %s", err.msg);
        return 0;
    }
    int V = ls_tokenizer_vocab_size(tok);
    FUZZ_CHECK(V >= 1 && V <= LS_MAX_VOCAB, "vocab size %d", V);
    int32_t eot = ls_tokenizer_eot(tok), bos = ls_tokenizer_bos(tok);
    FUZZ_CHECK(eot >= -1 && eot < V && bos >= -1 && bos < V, "eot %d bos %d", eot, bos);
    const char *b;
    size_t n;
    size_t present = 0, total = 0;
    for (int32_t id = 0; id < V; id++) {
        if (ls_tokenizer_token_bytes(tok, id, &b, &n) != 0) {
            char *text = NULL;
            size_t len;
            FUZZ_CHECK(ls_tokenizer_decode(tok, &id, 1, &text, &len, &err) != 0 && text == NULL, "hole %d decodes", id);
            continue;
        }
        present++;
        for (size_t i = 0; i < n; i++) total += (uint8_t)b[i]; /* every byte readable (ASan) */
    }
    (void)total;
    FUZZ_CHECK(present >= 1, "no token at all");
    FUZZ_CHECK(ls_tokenizer_token_bytes(tok, V, &b, &n) != 0 && ls_tokenizer_token_bytes(tok, -1, &b, &n) != 0,
               "out-of-range ids accepted");
    const int32_t *prefix, *suffix;
    size_t n_prefix, n_suffix;
    ls_tokenizer_template(tok, &prefix, &n_prefix, &suffix, &n_suffix);
    for (size_t i = 0; i < n_prefix; i++) FUZZ_CHECK(ls_tokenizer_token_bytes(tok, prefix[i], &b, &n) == 0, "prefix");
    for (size_t i = 0; i < n_suffix; i++) FUZZ_CHECK(ls_tokenizer_token_bytes(tok, suffix[i], &b, &n) == 0, "suffix");
    check_encode(tok, sample, sizeof sample - 1);
    check_encode(tok, (const char *)data, size < 4096 ? size : 4096);
    ls_tokenizer_free(tok);
    return 0;
}
