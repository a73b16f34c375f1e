/* args.h: command-line option parsing shared by every command. */
#ifndef LESION_CLI_ARGS_H
#define LESION_CLI_ARGS_H
#include <lesion.h>

/* One option of a command: --name VALUE (arg names the value) or a --flag (arg NULL). */
typedef struct cli_opt {
    const char *name;
    const char *arg;
    const char *help;
} cli_opt;

#define CLI_MAX_OPTS 48
#define CLI_MAX_VALUES 256

typedef struct cli_args {
    const cli_opt *opts;
    int n_opts;
    const char *cmd;
    int count[CLI_MAX_OPTS];                  /* times each option was given */
    const char *last[CLI_MAX_OPTS];           /* its last value */
    const char *values[CLI_MAX_VALUES];       /* every value in order, for repeatable options */
    int value_opt[CLI_MAX_VALUES];
    int n_values;
} cli_args;

/* Parses argv (after the command name). Returns 0 to run, 1 if --help was
 * printed, 2 after printing a one-line usage error to stderr. */
int cli_parse(cli_args *a, const char *cmd, const char *summary, const cli_opt *opts, int argc, char **argv);

const char *cli_str(const cli_args *a, const char *name, const char *dflt);
int cli_has(const cli_args *a, const char *name);
/* All values of a repeatable option, in order; returns how many (at most max). */
int cli_all(const cli_args *a, const char *name, const char **out, int max);

/* Typed getters: 0 on success, 2 after printing "lesion CMD: --name: ..." on a bad value. */
int cli_int(const cli_args *a, const char *name, long long dflt, long long lo, long long hi, long long *out);
int cli_float(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out);

/* Prints "lesion CMD: message" to stderr and returns status (1 runtime, 2 usage). */
int cli_error(const char *cmd, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
