/* cmd_sweep.c: `lesion sweep`, the main job: lesion a component layer after
 * layer (or per layer, per head, per block of dims, or from a plan file),
 * over several noise seeds, measure the damage, and write results.jsonl,
 * results.csv, summary.json and report.html into --out.
 *
 * With no arguments it runs the seed experiment: W_Q (attn.q) replaced by
 * matched Gaussian noise in blocks 0, 0-1, ..., 0-(L-1), 5 seeds, on the
 * bundled model, into ./lesion-report.
 *
 * This file parses flags and prints; the sweep itself (plan, identity,
 * the output folder's rules, rows, resume, outputs) is the library's
 * ls_sweep (include/lesion/sweep.h). Rerunning the same command resumes; a
 * different one (or changed inputs) is refused, --force moves the old
 * results aside; a live sweep into the same folder is never overridden.
 * Ctrl-C stops between rows: the finished rows stay, the summary and report
 * describe them (partial), and the exit status is 130. */
#include "cli/commands.h"
#include "cli/sweep_options.h"

#include <cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The one flag a signal handler may set: a handler gets no argument, so it
 * can only reach static storage. The library reads it between rows. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Library status to exit status: usage errors are 2, the others 1. */
static int fail(const char *cmd, int rc, const ls_error *err) {
    return cli_error(cmd, rc == LS_SWEEP_USAGE ? 2 : 1, "%s", err->msg);
}

int cmd_sweep(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "sweep", cli_sweep_summary, cli_sweep_opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    ls_sweep_options o;
    cli_sweep_flags pr;
    char *command;
    if ((rc = cli_sweep_options(&a, argc, argv, &o, &pr, &command))) return rc;
    cli_sweep_progress prog;
    o.progress = cli_sweep_progress_row;
    o.user = &prog;
    o.cancel = &interrupted;

    ls_sweep *sw = NULL;
    void *summary = NULL;
    ls_error err;
    int lrc = ls_sweep_open(&sw, &o, &err);
    free(command);
    if (lrc != 0) return fail(a.cmd, lrc, &err);
    cli_sweep_print_opened(sw, pr.quiet);
    int done, total;
    ls_sweep_counts(sw, &done, &total);
    if (done < total && !pr.quiet)
        fprintf(stderr, "lesion sweep: %d configurations x %d seeds, %lld eval tokens; clean pass...\n",
                ls_sweep_configs(sw) - 1, ls_sweep_seeds(sw), (long long)ls_sweep_eval_tokens(sw));
    cli_sweep_progress_start(&prog, pr.quiet, done, total);
    struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND}, old_int, old_term; /* a second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    lrc = ls_sweep_run(sw, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (lrc < 0) {
        rc = fail(a.cmd, lrc, &err);
    } else if (ls_sweep_finish(sw, &summary, &err) != 0) {
        rc = fail(a.cmd, -1, &err);
    } else if (lrc == LS_SWEEP_CANCELLED) {
        ls_sweep_counts(sw, &done, &total);
        if (!pr.quiet) fputc('\n', stderr);
        rc = cli_error(a.cmd, 130, "interrupted: %d of %d rows are in %s/results.jsonl (the summary and report say "
                                   "partial); run the same command again to finish", done, total, ls_sweep_out_dir(sw));
    } else {
        cli_sweep_print_done(sw, summary, &pr);
    }
    cJSON_Delete(summary);
    ls_sweep_free(sw);
    return rc;
}
