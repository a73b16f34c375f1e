/* fuzz_probe_input.c: what `lesion probe` reads from its user: site specs
 * and labels files.
 *
 * Input: one byte n (the labels file must have n lines), a site spec, NUL,
 * then the bytes of a labels file (NULs included).
 *
 * ls_probe_site_parse, on a 12-layer config, must accept or fail with a one-line
 * message, never append on failure, and on success append sites whose
 * layers are in range, ascending, each formatting to a name that parses
 * back to exactly that site.
 * ls_probe_labels_parse must succeed exactly when the file has n lines
 * (counting a last line without newline) none of which is empty once a
 * trailing \r is dropped and none of which holds a tab or NUL; its classes
 * are -1 or names it registered; parsing the same file again with the
 * same names gives the same labels and adds no name. */
#include "fuzz_util.h"

static const ls_config cfg = {.arch = LS_ARCH_GPT2, .n_layer = 12, .n_head = 12, .n_kv_head = 12, .d_head = 16,
                              .n_embd = 192, .n_ff = 768, .n_ctx = 256, .vocab_size = 8192, .ln_eps = 1e-5f};

static void check_message(const ls_error *err) {
    FUZZ_CHECK(err->msg[0] && strchr(err->msg, '\n') == NULL, "error message empty or not one line: %s", err->msg);
}

static void check_sites(const char *spec) {
    ls_probe_site s[32];
    int n = 3;
    ls_error err = {{0}};
    if (ls_probe_site_parse(&cfg, spec, s, 32, &n, &err) != 0) {
        check_message(&err);
        FUZZ_CHECK(n == 3, "a refused spec appended %d sites", n - 3);
        return;
    }
    FUZZ_CHECK(n > 3, "an accepted spec gave no site");
    for (int i = 3; i < n; i++) {
        FUZZ_CHECK(s[i].layer >= 0 && s[i].layer < cfg.n_layer, "site layer %d", s[i].layer);
        FUZZ_CHECK(s[i].site == s[3].site && (i == 3 || s[i].layer > s[i - 1].layer), "sites not one kind, ascending");
        int width = ls_probe_site_width(&cfg, &s[i]);
        FUZZ_CHECK(width >= 1 && width <= cfg.n_ff, "site width %d", width);
        char name[128];
        FUZZ_CHECK(ls_probe_site_format(&s[i], name, sizeof name) < (int)sizeof name, "site name too long");
        ls_probe_site back[1];
        int m = 0;
        FUZZ_CHECK(ls_probe_site_parse(&cfg, name, back, 1, &m, &err) == 0 && m == 1 && back[0].site == s[i].site &&
                       back[0].layer == s[i].layer && ls_probe_site_width(&cfg, &back[0]) == width,
                   "\"%s\" does not parse back to itself", name);
    }
}

/* What the parser must decide, from the definition: -1 if it must fail, else 0. */
static int expected_ok(const char *text, size_t len, int64_t n_tokens) {
    int64_t lines = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *s = text + pos;
        pos += n + (nl != NULL);
        if (n > 0 && s[n - 1] == '\r') n--;
        if (n == 0 || memchr(s, '\t', n) || memchr(s, '\0', n)) return -1;
        lines++;
    }
    return lines == n_tokens ? 0 : -1;
}

static void check_labels(const char *text, size_t len, int64_t n_tokens) {
    ls_label_names names = {0};
    int32_t *a = malloc((size_t)(n_tokens + 1) * sizeof *a), *b = malloc((size_t)(n_tokens + 1) * sizeof *b);
    ls_error err = {{0}};
    int rc = ls_probe_labels_parse(text, len, n_tokens, &names, a, &err);
    FUZZ_CHECK(rc == expected_ok(text, len, n_tokens), "labels parse returned %d on a file the definition %s", rc,
               rc ? "accepts" : "refuses");
    if (rc != 0) {
        check_message(&err);
    } else {
        for (int64_t i = 0; i < n_tokens; i++)
            FUZZ_CHECK(a[i] >= -1 && a[i] < names.n, "label %d of token %lld with %d names", a[i], (long long)i,
                       names.n);
        int before = names.n;
        FUZZ_CHECK(ls_probe_labels_parse(text, len, n_tokens, &names, b, &err) == 0, "second parse: %s", err.msg);
        FUZZ_CHECK(names.n == before, "the second parse added names");
        FUZZ_CHECK(memcmp(a, b, (size_t)n_tokens * sizeof *a) == 0, "the second parse gave other labels");
    }
    ls_label_names_free(&names);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 8192) return 0;
    int64_t n_tokens = data[0];
    const char *rest = (const char *)data + 1;
    size_t rest_len = size - 1;
    const char *nul = memchr(rest, '\0', rest_len);
    size_t spec_len = nul ? (size_t)(nul - rest) : rest_len;
    char *spec = malloc(spec_len + 1);
    memcpy(spec, rest, spec_len);
    spec[spec_len] = '\0';
    check_sites(spec);
    free(spec);
    if (nul) check_labels(nul + 1, rest_len - spec_len - 1, n_tokens);
    return 0;
}
