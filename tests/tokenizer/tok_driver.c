/* tok_driver.c: the lesion side of the tokenizer differential test.
 *
 *   tok_driver [--decode] TOKENIZER_DIR FILE...
 *
 * Encodes each file whole and prints one line per file: its ids separated by
 * spaces; with --decode, the bytes that decoding those ids gives back, in
 * hexadecimal. Timing (bytes, ids, seconds) goes to stderr.
 *
 * Why a driver and not `lesion tokenize`: the differential test must not
 * depend on the CLI's output format. Why it is not named test_*.c: the
 * Makefile would then run it as a cmocka unit test. Its pattern rule
 * $(BUILD)/tests/%: tests/%.c still builds it with the exact CFLAGS, LDLIBS
 * and sanitizer flags of the rest of the suite, so tests/e2e/tokenizer_diff.sh
 * just runs `make $BUILD/tests/tokenizer/tok_driver`; the Makefile itself
 * needs no rule for it. */
#include <lesion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) { free(buf); buf = NULL; }
            buf = b;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static double now_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int decode = argc > 1 && strcmp(argv[1], "--decode") == 0;
    argv += decode;
    argc -= decode;
    if (argc < 3) {
        fprintf(stderr, "usage: tok_driver [--decode] TOKENIZER_DIR FILE...\n");
        return 2;
    }
    ls_error err;
    ls_tokenizer *tok;
    double t0 = now_secs();
    if (ls_tokenizer_load_dir(&tok, argv[1], &err)) {
        fprintf(stderr, "tok_driver: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "tok_driver: loaded %d tokens in %.3f s\n", ls_tokenizer_vocab_size(tok),
            now_secs() - t0);
    int status = 0;
    for (int a = 2; a < argc && status == 0; a++) {
        size_t len;
        char *text = read_all(argv[a], &len);
        if (!text) {
            fprintf(stderr, "tok_driver: cannot read %s\n", argv[a]);
            status = 1;
            break;
        }
        int32_t *ids;
        size_t n;
        t0 = now_secs();
        if (ls_tokenizer_encode(tok, text, len, &ids, &n, &err)) {
            fprintf(stderr, "tok_driver: %s: %s\n", argv[a], err.msg);
            status = 1;
        } else {
            double secs = now_secs() - t0;
            if (len > 100000)
                fprintf(stderr, "tok_driver: %s: %zu bytes -> %zu ids in %.3f s (%.1f MB/s)\n", argv[a],
                        len, n, secs, (double)len / 1e6 / secs);
            char *back = NULL;
            size_t back_len = 0;
            if (!decode) {
                for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", (int)ids[i]);
            } else if (ls_tokenizer_decode(tok, ids, n, &back, &back_len, &err)) {
                fprintf(stderr, "tok_driver: %s: decode: %s\n", argv[a], err.msg);
                status = 1;
            } else {
                for (size_t i = 0; i < back_len; i++) printf("%02x", (unsigned char)back[i]);
            }
            putchar('\n');
            free(back);
            free(ids);
        }
        free(text);
    }
    ls_tokenizer_free(tok);
    return status;
}
