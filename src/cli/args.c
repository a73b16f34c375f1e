/* args.c: the one option parser of the CLI.
 *
 * Accepts --name VALUE and --name=VALUE; every command's option table is
 * also its --help text, so help and parsing cannot drift apart. Unknown
 * options and missing values are usage errors (exit status 2). */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *cmd, int status, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever the user typed: control characters are escaped. */
    fprintf(stderr, "lesion %s: ", cmd);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n') fputs("\\n", stderr);
        else if (*p == '\r') fputs("\\r", stderr);
        else if (*p == '\t') fputs("\\t", stderr);
        else if (*p < 0x20 || *p == 0x7f) fprintf(stderr, "\\x%02x", *p);
        else fputc(*p, stderr);
    }
    fputc('\n', stderr);
    return status;
}

static void print_help(const char *cmd, const char *summary, const cli_opt *opts, int n) {
    printf("usage: lesion %s [options]\n\n%s\n\noptions:\n", cmd, summary);
    for (int i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        printf("  %-26s %s\n", left, opts[i].help);
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

static int find_opt(const cli_args *a, const char *name, size_t len) {
    for (int i = 0; i < a->n_opts; i++)
        if (strlen(a->opts[i].name) == len && strncmp(a->opts[i].name, name, len) == 0) return i;
    return -1;
}

int cli_parse(cli_args *a, const char *cmd, const char *summary, const cli_opt *opts, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->opts = opts;
    a->cmd = cmd;
    while (opts[a->n_opts].name) a->n_opts++;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            print_help(cmd, summary, opts, a->n_opts);
            return 1;
        }
        if (strncmp(s, "--", 2) != 0)
            return cli_error(cmd, 2, "unexpected argument \"%s\" (options start with --; see lesion %s --help)", s, cmd);
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int k = find_opt(a, name, len);
        if (k < 0)
            return cli_error(cmd, 2, "unknown option --%.*s (see lesion %s --help)", (int)len, name, cmd);
        const char *val = NULL;
        if (opts[k].arg) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return cli_error(cmd, 2, "--%s needs a value (%s)", opts[k].name, opts[k].arg);
        } else if (eq) {
            return cli_error(cmd, 2, "--%s takes no value", opts[k].name);
        }
        if (a->n_values == CLI_MAX_VALUES) return cli_error(cmd, 2, "too many options");
        a->count[k]++;
        a->last[k] = val ? val : "";
        a->values[a->n_values] = val ? val : "";
        a->value_opt[a->n_values++] = k;
    }
    return 0;
}

static int opt_index(const cli_args *a, const char *name) { return find_opt(a, name, strlen(name)); }

const char *cli_str(const cli_args *a, const char *name, const char *dflt) {
    int k = opt_index(a, name);
    return k >= 0 && a->count[k] ? a->last[k] : dflt;
}

int cli_has(const cli_args *a, const char *name) {
    int k = opt_index(a, name);
    return k >= 0 && a->count[k] > 0;
}

int cli_all(const cli_args *a, const char *name, const char **out, int max) {
    int k = opt_index(a, name), n = 0;
    for (int i = 0; i < a->n_values && n < max; i++)
        if (a->value_opt[i] == k) out[n++] = a->values[i];
    return n;
}

int cli_int(const cli_args *a, const char *name, long long dflt, long long lo, long long hi, long long *out) {
    const char *s = cli_str(a, name, NULL);
    *out = dflt;
    if (!s) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_error(a->cmd, 2, "--%s: \"%s\" is not an integer in %lld..%lld", name, s, lo, hi);
    *out = v;
    return 0;
}

int cli_float(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out) {
    const char *s = cli_str(a, name, NULL);
    *out = dflt;
    if (!s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return cli_error(a->cmd, 2, "--%s: \"%s\" is not a number in %g..%g", name, s, lo, hi);
    *out = v;
    return 0;
}
