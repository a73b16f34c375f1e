/* common.c: model resolution, threads and small I/O shared by the commands. */
#include "cli/common.h"

#include <cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <sched.h>
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

/* CPUs this process may run on (its affinity mask: taskset, cgroups, a
 * container's limit), not the machine's count. */
static int usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int cli_threads(const cli_args *a, int *out) {
    int cpus = usable_cpus();
    long long v;
    if (cli_int(a, "threads", cpus, 1, 1024, &v)) return 2;
    /* More threads than CPUs only makes the fixed work shares wait for each
     * other (measured: 1000 threads ran 250x slower); say so and cap. */
    if (v > cpus) {
        fprintf(stderr, "lesion %s: --threads %lld: this process may run on %d CPU%s; using %d\n", a->cmd, v, cpus,
                cpus == 1 ? "" : "s", cpus);
        v = cpus;
    }
    *out = (int)v;
    return 0;
}

int cli_open_model(const cli_args *a, ls_model **model, ls_tokenizer **tok) {
    char dir[4096];
    ls_error err;
    cli_model_dir(a, dir, sizeof dir);
    *model = NULL;
    const char *storage = cli_str(a, "weights", "f32");
    const char *compute = cli_str(a, "compute", "f32");
    if (strcmp(storage, "f32") != 0 && strcmp(storage, "f32-copy") != 0 && strcmp(storage, "bf16") != 0)
        return cli_error(a->cmd, 2, "--weights %s: unknown storage (expected f32, f32-copy or bf16)", storage);
    if (strcmp(compute, "f32") != 0 && strcmp(compute, "bf16") != 0)
        return cli_error(a->cmd, 2, "--compute %s: unknown arithmetic (expected f32 or bf16)", compute);
    int bf16_compute = strcmp(compute, "bf16") == 0;
    if (bf16_compute && strcmp(storage, "bf16") != 0)
        return cli_error(a->cmd, 2, "--compute bf16 needs --weights bf16 (the products multiply bf16 weights)");
    if (ls_model_open(model, dir, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
    if ((strcmp(storage, "bf16") == 0 && ls_model_store_bf16(*model, &err) != 0) ||
        (bf16_compute && ls_model_compute_bf16(*model, &err) != 0) ||
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

char *cli_json_text(const char *s, size_t len) { return ls_utf8_repair(s, len); }

void cli_print_json(void *cjson) {
    char *s = cJSON_PrintUnformatted(cjson);
    if (s) {
        puts(s);
        free(s);
    }
    cJSON_Delete(cjson);
}

int cli_input_ids(const cli_args *a, const ls_tokenizer *tok, const ls_config *cfg, int32_t **ids, int *n) {
    *ids = NULL;
    *n = 0;
    ls_error err;
    if (cli_has(a, "ids")) {
        int rc = cli_parse_ids(a->cmd, cli_str(a, "ids", ""), ids, n);
        if (rc) return rc;
        for (int i = 0; i < *n; i++)
            if ((*ids)[i] < 0 || (*ids)[i] >= cfg->vocab_size)
                return cli_error(a->cmd, 2, "--ids: token id %d is outside the vocabulary (0..%d)", (*ids)[i],
                                 cfg->vocab_size - 1);
    } else {
        char *text;
        size_t len, k = 0;
        int rc = cli_read_text_or_file(a, "prompt", "file", &text, &len);
        if (rc) return rc;
        rc = ls_tokenizer_encode_input(tok, text, len, ids, &k, &err);
        free(text);
        if (rc != 0) return cli_error(a->cmd, 2, "%s: %s", cli_has(a, "prompt") ? "--prompt" : cli_str(a, "file", ""), err.msg);
        if (cli_has(a, "file") && k > (size_t)cfg->n_ctx) k = (size_t)cfg->n_ctx; /* a file: its first window */
        *n = k > INT32_MAX ? INT32_MAX : (int)k;
    }
    if (*n < 1) return cli_error(a->cmd, 2, "the input is empty");
    if (*n > cfg->n_ctx) return cli_error(a->cmd, 2, "%d tokens exceed the context length %d", *n, cfg->n_ctx);
    return 0;
}
