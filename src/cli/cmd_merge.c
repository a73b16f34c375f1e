/* cmd_merge.c: `lesion merge OUT DIR...`: the folders of one sweep's
 * shards (or parts run anywhere) combined into OUT, as if one process had
 * run the sweep: results.jsonl in row order, summary.json, results.csv,
 * report.html. Refused, with nothing written, when a folder is not a sweep,
 * the sweeps differ, or a row appears twice with different numbers
 * (ls_sweep_merge, src/experiment/sweep_merge.c). */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/sweep_table.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"force", NULL, "OUT may hold something else: its files are moved to OUT/replaced-<time>/"},
    {"top", "N", "unordered plans: configurations printed, ranked by KL (default 10)"},
    {"quiet", NULL, "print nothing"},
    {0},
};

int cmd_merge(int argc, char **argv) {
    /* Folders are the arguments that are neither options nor their values. */
    const char **dirs = malloc(((size_t)argc + 1) * sizeof *dirs);
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    int n_dirs = 0, n_rest = 0;
    if (!dirs || !rest) {
        free(dirs);
        free(rest);
        return cli_error("merge", 1, "out of memory");
    }
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-h") == 0) {
            rest[n_rest++] = argv[i];
            if (!strcmp(argv[i], "--top") && i + 1 < argc) rest[n_rest++] = argv[++i];
        } else {
            dirs[n_dirs++] = argv[i];
        }
    }
    cli_args a;
    int rc = cli_parse(&a, "merge",
                       "Combines sweep folders of one sweep (e.g. the shards of lesion sweep --shard K/N) into OUT and "
                       "writes its summary and report (usage: lesion merge OUT DIR1 DIR2 ...).",
                       opts, n_rest, rest);
    free(rest);
    long long top = 10;
    if (rc == 0 && cli_int(&a, "top", 10, 1, 1 << 20, &top)) rc = 2;
    if (rc == 0 && n_dirs < 2) rc = cli_error(a.cmd, 2, "needs OUT and at least one sweep folder (lesion merge OUT DIR1 DIR2 ...)");
    if (rc) {
        free(dirs);
        return rc == 1 ? 0 : rc;
    }
    char *command = cli_command_line("merge", argc, argv);
    void *summary = NULL;
    int added;
    ls_error err;
    int lrc = ls_sweep_merge(dirs[0], dirs + 1, n_dirs - 1, command, cli_has(&a, "force"), &added, &summary, &err);
    free(command);
    if (lrc != 0) {
        rc = cli_error(a.cmd, lrc == LS_SWEEP_USAGE ? 2 : 1, "%s", err.msg);
    } else if (!cli_has(&a, "quiet")) {
        cli_print_sweep_table(summary, (int)top);
        fprintf(stderr, "\nlesion merge: added %d rows; wrote %s/{results.jsonl,results.csv,summary.json,report.html}\n",
                added, dirs[0]);
    }
    cJSON_Delete(summary);
    free(dirs);
    return rc;
}
