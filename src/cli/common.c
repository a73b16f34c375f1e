/* common.c: model resolution, threads and small I/O shared by the commands. */
#include "cli/common.h"

#include <cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir_with_config(const char *dir) {
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/config.json", dir);
    return stat(p, &st) == 0;
}

int cli_model_dir(const cli_args *a, char *out, size_t n) {
    const char *m = cli_str(a, "model", NULL);
    if (!m) m = getenv("LESION_MODEL");
    if (m) {
        snprintf(out, n, "%s", m);
        return 0;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *bindir = dirname(exe);
        const char *candidates[] = {"%s/../models/kjv-gpt2", "%s/../share/lesion/models/kjv-gpt2"};
        for (size_t i = 0; i < 2; i++) {
            snprintf(out, n, candidates[i], bindir);
            char resolved[4096];
            if (is_dir_with_config(out)) {
                if (realpath(out, resolved) && strlen(resolved) < n) strcpy(out, resolved);
                return 0;
            }
        }
    }
    snprintf(out, n, "models/kjv-gpt2");
    return 0;
}

int cli_threads(const cli_args *a, int *out) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long long v;
    if (cli_int(a, "threads", cores > 0 ? cores : 1, 1, 1024, &v)) return 2;
    *out = (int)v;
    return 0;
}

int cli_open_model(const cli_args *a, ls_model **model, ls_tokenizer **tok) {
    char dir[4096];
    ls_error err;
    cli_model_dir(a, dir, sizeof dir);
    *model = NULL;
    const char *storage = cli_str(a, "weights", "f32");
    if (strcmp(storage, "f32") != 0 && strcmp(storage, "f32-copy") != 0 && strcmp(storage, "bf16") != 0)
        return cli_error(a->cmd, 2, "--weights %s: unknown storage (expected f32, f32-copy or bf16)", storage);
    if (ls_model_open(model, dir, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
    if ((strcmp(storage, "bf16") == 0 && ls_model_store_bf16(*model, &err) != 0) ||
        (strcmp(storage, "f32-copy") == 0 && ls_model_copy_f32(*model, &err) != 0)) {
        ls_model_close(*model);
        *model = NULL;
        return cli_error(a->cmd, 1, "%s", err.msg);
    }
    if (tok) {
        *tok = NULL;
        if (ls_tokenizer_load_dir(tok, dir, &err) != 0) {
            ls_model_close(*model);
            *model = NULL;
            return cli_error(a->cmd, 1, "%s", err.msg);
        }
        int tv = ls_tokenizer_vocab_size(*tok), mv = ls_model_config(*model)->vocab_size;
        if (tv > mv) {
            ls_tokenizer_free(*tok);
            ls_model_close(*model);
            *tok = NULL;
            *model = NULL;
            return cli_error(a->cmd, 1, "%s: the tokenizer has %d tokens but config.json says vocab_size=%d", dir, tv, mv);
        }
    }
    return 0;
}

int cli_parse_ids(const char *cmd, const char *s, int32_t **ids, int *n) {
    size_t cap = strlen(s) / 2 + 1;
    int32_t *v = malloc(cap * sizeof *v);
    int k = 0;
    if (!v) return cli_error(cmd, 1, "out of memory");
    const char *p = s;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '[' || *p == ']') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX) {
            free(v);
            return cli_error(cmd, 2, "--ids: \"%.20s\" is not a token id (expected comma-separated integers >= 0)", p);
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    if (k == 0) {
        free(v);
        return cli_error(cmd, 2, "--ids: no token ids given");
    }
    *ids = v;
    *n = k;
    return 0;
}

int cli_read_text_or_file(const cli_args *a, const char *text_opt, const char *file_opt, char **text, size_t *len) {
    const char *t = cli_str(a, text_opt, NULL), *f = file_opt ? cli_str(a, file_opt, NULL) : NULL;
    if (t && f) return cli_error(a->cmd, 2, "give --%s or --%s, not both", text_opt, file_opt);
    if (t) {
        *len = strlen(t);
        *text = strdup(t);
        return *text ? 0 : cli_error(a->cmd, 1, "out of memory");
    }
    if (f) {
        ls_error err;
        if (ls_read_file(f, text, len, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
        return 0;
    }
    if (file_opt) return cli_error(a->cmd, 2, "needs --%s TEXT or --%s FILE", text_opt, file_opt);
    return cli_error(a->cmd, 2, "needs --%s TEXT", text_opt);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 (no overlongs, surrogates, or code points above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c >= 0x01 && c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) k = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (n < k || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return k;
}

char *cli_json_text(const char *s, size_t len) {
    char *out = malloc(3 * len + 1), *o = out;
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i);
        if (k) {
            memcpy(o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

void cli_print_json(void *cjson) {
    char *s = cJSON_PrintUnformatted(cjson);
    if (s) {
        puts(s);
        free(s);
    }
    cJSON_Delete(cjson);
}
