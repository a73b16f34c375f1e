/* sweep_options.h: the flags of `lesion sweep`, shared by the CLI command
 * and the MPI driver (src/mpi/), which take the same command line. */
#ifndef LESION_CLI_SWEEP_OPTIONS_H
#define LESION_CLI_SWEEP_OPTIONS_H
#include <lesion.h>

#include "cli/args.h"

#include <time.h>

extern const cli_opt cli_sweep_opts[];
extern const char cli_sweep_summary[];

/* What the command itself uses: printing, and the model folder o points at. */
typedef struct cli_sweep_flags {
    int quiet;
    int top;       /* unordered plans: configurations printed */
    char model_dir[4096]; /* --model, $LESION_MODEL or the bundled model */
    const char *ablate[CLI_MAX_VALUES]; /* the --ablate values o->ablate points at */
} cli_sweep_flags;

/* Reads the parsed flags into o (strings point into a and argv; *command is
 * malloc'd, the caller frees it). 0, or 2 after printing a usage error. */
int cli_sweep_options(const cli_args *a, int argc, char **argv, ls_sweep_options *o, cli_sweep_flags *pr,
                      char **command);

/* The progress line (a bar on a terminal, a line every 10 s otherwise). */
typedef struct cli_sweep_progress {
    int quiet;
    struct timespec t0;
    time_t last;
} cli_sweep_progress;
void cli_sweep_progress_start(cli_sweep_progress *p, int quiet, int done, int total);
/* An ls_sweep_progress_fn; ctx is a cli_sweep_progress. */
void cli_sweep_progress_row(void *ctx, int row, int done, int total, const char *label);

/* What opening the folder found (old files moved aside, a torn line cut). */
void cli_sweep_print_opened(const ls_sweep *sw, int quiet);
/* The table and the closing line. */
void cli_sweep_print_done(const ls_sweep *sw, const void *summary, const cli_sweep_flags *pr);

#endif
