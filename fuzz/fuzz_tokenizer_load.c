/* fuzz_tokenizer_load.c: vocab.json + merges.txt, untrusted.
 *
 * The input is split at its first NUL byte: what comes before is written as
 * vocab.json, what comes after as merges.txt (so merges.txt may itself hold
 * NUL bytes, which the loader must reject). ls_tokenizer_load must accept
 * the pair or fail with a one-line message. When it accepts, the tokenizer
 * must work: a fixed text and the merges text itself encode to ids inside
 * the vocab that decode back to exactly the same bytes (or, for invalid
 * UTF-8, encoding fails cleanly), and every id's bytes are readable. */
#include "fuzz_util.h"

static const char sample[] = "In the beginning God created the heaven and the earth.\n\n"
                             "  <|endoftext|> it's 1611 AD; caf\xc3\xa9 \xf0\x9f\x98\x80 \t\r\n x";

static void round_trip(const ls_tokenizer *tok, const char *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0;
    ls_error err = {{0}};
    if (ls_tokenizer_encode(tok, text, len, &ids, &n, &err) != 0) {
        FUZZ_CHECK(ids == NULL && err.msg[0], "failed encode left ids or no message");
        return;
    }
    int V = ls_tokenizer_vocab_size(tok);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d at %zu outside 0..%d", ids[i], i, V - 1);
    char *back = NULL;
    size_t back_len = 0;
    FUZZ_CHECK(ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err) == 0, "decode: %s", err.msg);
    FUZZ_CHECK(back_len == len && memcmp(back, text, len) == 0, "decode(encode(text)) != text (%zu vs %zu bytes)",
               back_len, len);
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char vocab[512], merges[512];
    const uint8_t *nul = memchr(data, 0, size);
    size_t vlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *mdata = nul ? nul + 1 : data + size;
    size_t mlen = nul ? size - vlen - 1 : 0;
    fuzz_write("vocab.json", data, vlen, vocab, sizeof vocab);
    fuzz_write("merges.txt", mdata, mlen, merges, sizeof merges);

    ls_tokenizer *tok = (ls_tokenizer *)1;
    ls_error err = {{0}};
    if (ls_tokenizer_load(&tok, vocab, merges, &err) != 0) {
        FUZZ_CHECK(tok == NULL, "failed load left a tokenizer");
        FUZZ_CHECK(err.msg[0], "no error message");
        return 0;
    }
    int V = ls_tokenizer_vocab_size(tok);
    FUZZ_CHECK(V >= 256 && V <= LS_MAX_VOCAB, "vocab size %d", V);
    int32_t eot = ls_tokenizer_eot(tok);
    FUZZ_CHECK(eot >= -1 && eot < V, "eot %d", eot);
    size_t total = 0;
    for (int32_t id = 0; id < V; id++) {
        const char *b;
        size_t n;
        FUZZ_CHECK(ls_tokenizer_token_bytes(tok, id, &b, &n) == 0 && n > 0, "token %d has no bytes", id);
        for (size_t i = 0; i < n; i++) total += (uint8_t)b[i];
    }
    const char *b;
    size_t n;
    FUZZ_CHECK(ls_tokenizer_token_bytes(tok, V, &b, &n) != 0 && ls_tokenizer_token_bytes(tok, -1, &b, &n) != 0,
               "out-of-range ids accepted");
    (void)total;
    round_trip(tok, sample, sizeof sample - 1);
    round_trip(tok, (const char *)mdata, mlen);
    ls_tokenizer_free(tok);
    return 0;
}
