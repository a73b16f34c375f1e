/* fuzz_plan_file.c: a sweep's --plan-file, as anyone may write it.
 *
 * The input is parsed by ls_plan_parse_file against a 4-layer, 2-head
 * config, with and without allow_duplicates. Either it fails with a
 * one-line message that names the file and a line ("plan.txt:N: ...", or
 * "plan.txt: no configurations"), or it gives a plan whose configuration 0
 * is the clean model, whose every other configuration is a non-empty line of
 * the input, trimmed, without a NUL byte or a '#', each of whose items
 * parses as a lesion spec or an activation intervention (ablate:SITE); and a plan accepted without allow_duplicates is also accepted
 * with it, with the same configurations. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    const ls_config cfg = ls_config_gpt2(4, 2, 16, 64, 300);
    ls_plan strict, loose;
    ls_error err = {{0}};
    int rs = ls_plan_parse_file(&strict, &cfg, "plan.txt", (const char *)data, size, 0, &err);
    if (rs != 0) {
        FUZZ_CHECK(strncmp(err.msg, "plan.txt:", 9) == 0 || strncmp(err.msg, "plan.txt: no configurations", 27) == 0 ||
                       strstr(err.msg, "out of memory"),
                   "message does not name the file: %s", err.msg);
        FUZZ_CHECK(!strchr(err.msg, '\n'), "message has a newline");
    }
    int rl = ls_plan_parse_file(&loose, &cfg, "plan.txt", (const char *)data, size, 1, &err);
    FUZZ_CHECK(rs != 0 || rl == 0, "accepted strictly but refused with allow_duplicates: %s", err.msg);
    if (rs == 0) {
        FUZZ_CHECK(strict.n == loose.n, "strict %d configurations, loose %d", strict.n, loose.n);
        for (int i = 1; i < strict.n; i++) FUZZ_CHECK(strcmp(strict.specs[i], loose.specs[i]) == 0, "config %d differs", i);
        ls_plan_free(&strict);
    }
    if (rl == 0) {
        FUZZ_CHECK(loose.n >= 2 && strcmp(loose.labels[0], "clean") == 0 && loose.specs[0][0] == 0, "no clean config 0");
        for (int i = 1; i < loose.n; i++) {
            const char *s = loose.specs[i];
            size_t n = strlen(s);
            FUZZ_CHECK(n > 0 && !strchr(s, '#') && !strchr(s, '\n') && !strchr(s, '\r'), "bad config %d: \"%s\"", i, s);
            FUZZ_CHECK(s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t', "untrimmed config %d", i);
            FUZZ_CHECK(memmem(data, size, s, n) != NULL, "config %d is not a line of the input", i);
            char *copy = strdup(s), *save = NULL;
            for (char *t = strtok_r(copy, "; \t", &save); t; t = strtok_r(NULL, "; \t", &save)) {
                ls_spec sp;
                ls_site_spec where;
                ls_act_op op;
                int iv = ls_plan_intervention(&cfg, t, &where, &op, &err);
                FUZZ_CHECK(iv == 1 || (iv == 0 && ls_spec_parse(&sp, &cfg, t, &err) == 0), "config %d item \"%s\": %s", i,
                           t, err.msg);
            }
            free(copy);
        }
        ls_plan_free(&loose);
    }
    return 0;
}
