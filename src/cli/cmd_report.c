/* cmd_report.c: `lesion report DIR [DIR ...] [--out DIR]`: the report of
 * what a sweep folder holds, now.
 *
 * One folder: summary.json, results.csv and report.html are rebuilt from its
 * sweep.json and the rows in results.jsonl, so an interrupted sweep, or one
 * still running, can be looked at (the page then says "partial: N of M
 * rows"). Nothing in the folder is locked or cut: a running sweep goes on.
 * Several folders: one comparison page (and comparison.json) in --out, each
 * metric's plot holding one series per sweep, refused unless the sweeps
 * share the model and the eval text. */
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/sweep_table.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_opt opts[] = {
    {"out", "DIR", "where to write (default: the sweep's own folder; required for several)"},
    {"top", "N", "unordered plans: configurations printed, ranked by KL (default 10)"},
    {"quiet", NULL, "print nothing"},
    {0},
};

#define MAX_DIRS 64

/* dir's record and rows: 0, or an exit status after printing the error. */
static int load(const char *cmd, const char *dir, cJSON **record, ls_store **store) {
    char path[4200], *text;
    size_t len;
    ls_error err;
    *record = NULL;
    *store = NULL;
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (ls_read_file(path, &text, &len, &err) != 0) return cli_error(cmd, 1, "%s (is %s a lesion sweep folder?)", err.msg, dir);
    *record = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*record)) {
        cJSON_Delete(*record);
        *record = NULL;
        return cli_error(cmd, 1, "%s: not a lesion sweep record", path);
    }
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    int ignored;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) return 0; /* killed before its first row: no rows */
    if (ls_store_read(store, path, &ignored, &err) != 0) return cli_error(cmd, 1, "%s", err.msg);
    return 0;
}

static void *summary_of(const char *cmd, cJSON *record, ls_store *store, const char *out_dir, int *rc) {
    int n = store ? ls_store_count(store) : 0;
    const char **rows = malloc((size_t)n * sizeof *rows + 1);
    ls_error err;
    void *summary = NULL;
    if (!rows) {
        *rc = cli_error(cmd, 1, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) rows[i] = ls_store_row(store, i);
    int ok = out_dir ? ls_sweep_write_outputs(out_dir, record, rows, n, &summary, &err) == 0
                     : (summary = ls_sweep_summary_of(record, rows, n, &err)) != NULL;
    free(rows);
    if (!ok) *rc = cli_error(cmd, 1, "%s", err.msg);
    return summary;
}

int cmd_report(int argc, char **argv) {
    /* Folders are the arguments that are neither options nor their values. */
    const char *dirs[MAX_DIRS];
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    int n_dirs = 0, n_rest = 0;
    if (!rest) return cli_error("report", 1, "out of memory");
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-h") == 0) {
            rest[n_rest++] = argv[i];
            if ((!strcmp(argv[i], "--out") || !strcmp(argv[i], "--top")) && i + 1 < argc) rest[n_rest++] = argv[++i];
        } else if (n_dirs < MAX_DIRS) {
            dirs[n_dirs++] = argv[i];
        } else {
            free(rest);
            return cli_error("report", 2, "more than %d sweep folders", MAX_DIRS);
        }
    }
    cli_args a;
    int rc = cli_parse(&a, "report",
                       "Rebuilds summary.json, results.csv and report.html of a sweep folder from the rows it holds "
                       "(usage: lesion report DIR), or compares several sweeps in one report (lesion report DIR1 "
                       "DIR2 ... --out DIR).",
                       opts, n_rest, rest);
    free(rest);
    if (rc) return rc == 1 ? 0 : rc;
    long long top_n;
    if (cli_int(&a, "top", 10, 1, 1 << 20, &top_n)) return 2;
    const char *out_dir = cli_str(&a, "out", NULL);
    int quiet = cli_has(&a, "quiet");
    if (n_dirs == 0) return cli_error(a.cmd, 2, "needs a sweep folder (lesion report DIR, or DIR1 DIR2 ... --out DIR)");
    if (n_dirs > 1 && !out_dir) return cli_error(a.cmd, 2, "comparing %d sweeps needs --out DIR for the page", n_dirs);
    if (out_dir && mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        return cli_error(a.cmd, 1, "%s: cannot create: %s", out_dir, strerror(errno));

    cJSON *records[MAX_DIRS] = {0};
    ls_store *stores[MAX_DIRS] = {0};
    void *summaries[MAX_DIRS] = {0};
    for (int i = 0; i < n_dirs && rc == 0; i++) {
        rc = load(a.cmd, dirs[i], &records[i], &stores[i]);
        if (rc == 0) summaries[i] = summary_of(a.cmd, records[i], stores[i], n_dirs == 1 ? (out_dir ? out_dir : dirs[i]) : NULL, &rc);
    }
    if (rc == 0 && n_dirs == 1) {
        if (!quiet) cli_print_sweep_table(summaries[0], (int)top_n);
        if (!quiet) fprintf(stderr, "\nlesion report: wrote %s/{summary.json,results.csv,report.html}\n", out_dir ? out_dir : dirs[0]);
    } else if (rc == 0) {
        char path[4200];
        ls_error err;
        snprintf(path, sizeof path, "%s/report.html", out_dir);
        if (ls_report_compare_write(path, (const void *const *)summaries, dirs, n_dirs, &err) != 0) {
            rc = cli_error(a.cmd, 2, "%s", err.msg);
        } else {
            cJSON *all = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(all, "sweeps");
            for (int i = 0; i < n_dirs; i++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "folder", dirs[i]);
                cJSON_AddItemToObject(e, "summary", cJSON_Duplicate(summaries[i], 1));
                cJSON_AddItemToArray(arr, e);
            }
            char *text = cJSON_Print(all);
            cJSON_Delete(all);
            snprintf(path, sizeof path, "%s/comparison.json", out_dir);
            if (!text || ls_write_file_atomic(path, text, strlen(text), &err) != 0)
                rc = cli_error(a.cmd, 1, "%s", text ? err.msg : "out of memory");
            free(text);
            if (rc == 0 && !quiet) fprintf(stderr, "lesion report: wrote %s/{report.html,comparison.json}\n", out_dir);
        }
    }
    for (int i = 0; i < n_dirs; i++) {
        cJSON_Delete(summaries[i]);
        cJSON_Delete(records[i]);
        ls_store_close(stores[i]);
    }
    return rc;
}
