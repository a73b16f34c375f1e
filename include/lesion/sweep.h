/* sweep.h: the main job as a library: a lesion sweep, driven row by row.
 *
 * A sweep is a plan (one lesion configuration per entry, configuration 0 the
 * clean model) measured over noise seeds; each (configuration, seed) is one
 * row of results.jsonl in an output folder. The CLI (`lesion sweep`), the
 * MPI driver (build/lesion-mpi) and bindings are thin clients of these
 * calls, so resume, identity and outputs behave the same in all of them.
 *
 * Rows are numbered 0 .. total-1 in the plan's order: row 0 is the clean
 * model (config 0, seed 0); row 1 + (c-1)*seeds + s is config c, seed s.
 *
 * Lifecycle:
 *   ls_sweep_new          opens the model, builds the plan (every spec is
 *                         applied once: a bad one fails here), reads the
 *                         prompts and the eval text; nothing is written
 *   ls_sweep_open_output  locks --out, checks its identity (resume, refuse
 *                         or with force move aside), writes sweep.json,
 *                         opens results.jsonl
 *   ls_sweep_pending      the rows this process still has to run (missing
 *                         from results.jsonl, in its shard)
 *   ls_sweep_run_row      measures one row (the clean pass runs once, on
 *                         the first call) and returns its JSON line
 *   ls_sweep_append       appends a row's line to results.jsonl (one write
 *                         + fdatasync)
 *   ls_sweep_finish       summary.json, results.csv, report.html from
 *                         sweep.json and the rows
 * ls_sweep_open and ls_sweep_run do the usual sequences in one call.
 *
 * A process that only computes rows (an MPI worker) calls ls_sweep_new and
 * ls_sweep_run_row; it never touches the folder. */
#ifndef LESION_SWEEP_H
#define LESION_SWEEP_H
#include <lesion.h>

#include <signal.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

/* Return values beside 0 (the library's -1 is a runtime error). */
#define LS_SWEEP_USAGE (-2)    /* a bad option, spec or plan, or --out holds something else: the caller's to fix */
#define LS_SWEEP_CANCELLED 1   /* ls_sweep_run stopped between rows because cancel was set; finished rows are kept */

/* Called after each row is stored: its index, the rows of this sweep (or
 * shard) now stored, how many it has, the configuration's label. */
typedef void (*ls_sweep_progress_fn)(void *user, int row, int done, int total, const char *label);

/* The options of `lesion sweep`. Zero (or NULL) means the default given;
 * strings are copied by ls_sweep_new. */
typedef struct ls_sweep_options {
    const char *model_dir;       /* required */
    const char *weights;         /* "f32" (default), "f32-copy" or "bf16" */
    const char *compute;         /* "f32" (default) or "bf16" (needs weights "bf16") */
    const char *plan;            /* cumulative (default), reverse, single, heads, dims */
    const char *plan_file;       /* instead of plan: one configuration per line */
    const char *target;          /* default attn.q */
    const char *layers;          /* default all */
    int dim_block;               /* dims plan: default 64 */
    int allow_duplicates;        /* plan files */
    const char *mode;            /* gauss (default), zero, mean, shuffle, uniform, scale:F */
    const char *match;           /* tensor (default) or head */
    const char *rng;             /* philox (default), torch[:T], torch-stream[:T] */
    int with_bias;
    uint64_t lesion_seed;        /* seed i of a configuration uses lesion_seed + i */
    int n_seeds;                 /* default 5; deterministic modes run once */
    const char *eval_path;       /* default: the model's heldout.txt */
    int64_t eval_tokens;         /* default 4096 (cut to whole windows of ctx) */
    int ctx;                     /* default min(context, 256) */
    int batch;                   /* eval windows per forward batch, default 8 */
    const char *prompts_path;    /* one prompt per line; default four KJV openings */
    int gen_tokens;              /* default 32 */
    const char *out_dir;         /* default lesion-report */
    int force;                   /* move another sweep's files aside instead of refusing */
    int no_prefix_reuse;         /* recompute every block (to measure what reuse saves) */
    int n_threads;               /* default 1 */
    int shard_index, shard_count;/* shard_count > 0: only rows with index % shard_count == shard_index */
    const char *command;         /* provenance: the command line recorded in sweep.json */
    ls_sweep_progress_fn progress;
    int (*cancelled)(void *user); /* checked between rows: nonzero stops ls_sweep_run */
    volatile sig_atomic_t *cancel; /* the same, as a flag a signal handler may set */
    void *user;                  /* passed to progress and cancelled */
    /* Activation interventions and probes (after the fields above, which bindings mirror in order). */
    const char *const *ablate;   /* sweep-wide activation ablations (site specs, sites.h), in force in every
                                    row, the clean one included: the baseline is "clean + these" */
    int n_ablate;
    const char *ablate_mode;     /* zero (default), mean or resample (both over the eval text) */
    uint64_t ablate_seed;        /* resample's seed (also for ablate-resample: items of a plan file) */
    const char *probe;           /* NULL, or a probe task (prev-token, token, position): every row gets the
                                    held-out accuracy of linear probes at resid_pre@L0 and resid_post@L */
    const char *probe_text;      /* default: the model's heldout.txt */
    int64_t probe_tokens;        /* default 4096: the first 80% train, the last 20% test */
    int probe_top;               /* prev-token, token: classes (default 16) */
    int probe_buckets;           /* position: classes (default 8) */
} ls_sweep_options;

typedef struct ls_sweep ls_sweep;

/* 0, -1 (runtime error) or LS_SWEEP_USAGE, with err. */
int ls_sweep_new(ls_sweep **out, const ls_sweep_options *o, ls_error *err);
int ls_sweep_open_output(ls_sweep *sw, ls_error *err);
/* ls_sweep_new then ls_sweep_open_output. */
int ls_sweep_open(ls_sweep **out, const ls_sweep_options *o, ls_error *err);
void ls_sweep_free(ls_sweep *sw);

/* Rows of the whole sweep: 1 + (configurations - 1) * seeds. */
int ls_sweep_total(const ls_sweep *sw);
/* The rows of this process's scope (the shard, else all) and how many of them results.jsonl holds. */
void ls_sweep_counts(const ls_sweep *sw, int *done, int *total);
/* The rows of the scope missing from results.jsonl, in order (*rows malloc'd, may be NULL when *n is 0). */
int ls_sweep_pending(const ls_sweep *sw, int **rows, int *n, ls_error *err);
/* Configuration and seed index of a row; its configuration's label. */
void ls_sweep_row_of(const ls_sweep *sw, int row, int *config, int *seed_index);
const char *ls_sweep_row_label(const ls_sweep *sw, int row);
/* "c<config>-s<seed>", the row's key in results.jsonl. */
void ls_sweep_key_of(const ls_sweep *sw, int row, char *buf, size_t cap);

/* Measures row and returns it as one line of JSON (*line malloc'd, no newline). */
int ls_sweep_run_row(ls_sweep *sw, int row, char **line, ls_error *err);
/* Appends row's line to results.jsonl and flushes it to disk. */
int ls_sweep_append(ls_sweep *sw, int row, const char *line, ls_error *err);
/* Runs every pending row (progress after each, cancel checked before each):
 * 0, LS_SWEEP_CANCELLED, or -1. */
int ls_sweep_run(ls_sweep *sw, ls_error *err);
/* Writes summary.json, results.csv and report.html; *summary (if not NULL)
 * gets the summary (a cJSON object, caller deletes). */
int ls_sweep_finish(ls_sweep *sw, void **summary, ls_error *err);

/* What ls_sweep_open_output found, for the caller to tell the user. */
const char *ls_sweep_moved_to(const ls_sweep *sw);  /* "" unless force moved old files */
int ls_sweep_dropped_line(const ls_sweep *sw);      /* a torn last line cut from results.jsonl (1-based), or 0 */
int ls_sweep_resumed(const ls_sweep *sw);
/* What the sweep measures: configurations (clean included), seeds, eval tokens scored. */
int ls_sweep_configs(const ls_sweep *sw);
int ls_sweep_seeds(const ls_sweep *sw);
int64_t ls_sweep_eval_tokens(const ls_sweep *sw);
const char *ls_sweep_out_dir(const ls_sweep *sw);

/* ---- merging stores (sweep_merge.c) ---------------------------------------- */

/* Combines the rows of sweep folders of one identity (shards, or parts of a
 * sweep run apart) into out_dir: its sweep.json (without the shard), the
 * rows missing there appended to its results.jsonl in row order, then the
 * summary, CSV and report. Refused (LS_SWEEP_USAGE) when a folder is not a
 * sweep, the identities differ, or two folders hold the same row with
 * different numbers (rows equal but for "secs" are one row). out_dir may
 * already hold the same sweep (rows are added); force as in ls_sweep_open.
 * *added gets the rows appended, *summary (if not NULL) the summary. */
int ls_sweep_merge(const char *out_dir, const char *const *dirs, int n_dirs, const char *command, int force,
                   int *added, void **summary, ls_error *err);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
