/* sweep_options.c: `lesion sweep`'s flags into ls_sweep_options, and what
 * the command prints while the library runs the rows. Shared by
 * src/cli/cmd_sweep.c and the MPI driver, so both take the same command. */
#include "cli/sweep_options.h"

#include "cli/common.h"
#include "cli/sweep_table.h"
#include "cli/weights.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cli_sweep_summary[] = "Lesions a component layer by layer (or per head, per dims, or from a plan file) over "
                                 "several noise seeds, measures the damage and writes a report.";

const cli_opt cli_sweep_opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"plan", "NAME", "cumulative (default), reverse, single, heads or dims"},
    {"plan-file", "F", "one configuration per line: lesion specs separated by ';' (instead of --plan)"},
    {"target", "COMP", "component the plans lesion (default attn.q; wte, wte.in, wte.out, wpe, lnf with --plan dims)"},
    {"layers", "LIST", "layers the plan covers, e.g. 0-3 or 0,4,7 (default all)"},
    {"dim-block", "N", "--plan dims: dims per configuration (default 64)"},
    {"allow-duplicates", NULL, "accept a plan file that lists a configuration twice or lesions a weight twice in one line"},
    {"mode", "MODE", "gauss (default), zero, mean, shuffle, uniform, scale:F"},
    {"match", "tensor|head", "statistics over the whole slice (default) or per head"},
    {"with-bias", NULL, "also lesion the matching bias slice"},
    {"rng", "GEN", "noise generator: philox (default), torch[:T] (reseeded per block) or torch-stream[:T] (seeded once per configuration)"},
    {"lesion-seed", "S", "first noise seed (default 0); seed i uses S+i"},
    {"seeds", "N", "noise seeds per configuration (default 5; deterministic modes run once)"},
    {"eval", "F", "held-out text (default: the model's heldout.txt)"},
    {"eval-tokens", "N", "held-out tokens scored per run (default 4096)"},
    {"ctx", "N", "eval window length (default: min(context, 256))"},
    {"batch", "B", "eval windows per forward batch (default 8)"},
    {"prompts", "F", "generation prompts, one per line (default: four KJV openings)"},
    {"gen-tokens", "N", "tokens generated per prompt (default 32)"},
    {"out", "DIR", "output directory (default lesion-report)"},
    {"shard", "K/N", "run only the rows whose index % N == K, into its own --out (combine with `lesion merge`)"},
    {"force", NULL, "start over in an --out that holds something else (its files are moved to DIR/replaced-<time>/)"},
    {"no-prefix-reuse", NULL, "recompute every layer (to measure what prefix reuse saves)"},
    {"ablate", "SITE", "ablate an activation in every row, the clean one included (repeatable), e.g. attn.z@L1H2: the sweep then measures lesions on top of it"},
    {"ablate-mode", "MODE", "zero (default), mean (over the eval text) or resample (from another position of it)"},
    {"ablate-seed", "S", "seed of resample ablations (default 0)"},
    {"patch", "SITE", "not in a sweep (refused: a patch source matches one input's length)"},
    {"probe", "TASK", "prev-token, token or position: every row gets linear-probe accuracy at resid_pre@L0 and resid_post@L of each layer"},
    {"probe-text", "F", "text the probes learn from (first 80%) and are scored on (last 20%) (default: the model's heldout.txt)"},
    {"probe-tokens", "N", "tokens of the probe text used (default 4096)"},
    {"probe-top", "N", "prev-token, token: classes are the N most frequent tokens (default 16)"},
    {"probe-buckets", "N", "position: number of position buckets (default 8)"},
    {"top", "N", "unordered plans: configurations printed, ranked by KL (default 10)"},
    {"quiet", NULL, "no progress output"},
    {0},
};

/* "K/N" with 0 <= K < N. */
static int parse_shard(const cli_args *a, ls_sweep_options *o) {
    const char *s = cli_str(a, "shard", NULL);
    if (!s) return 0;
    char *end;
    long k = strtol(s, &end, 10), n = -1;
    if (end != s && *end == '/') {
        const char *p = end + 1;
        n = strtol(p, &end, 10);
        if (end == p || *end) n = -1;
    }
    if (n < 1 || n > 1000000 || k < 0 || k >= n)
        return cli_error(a->cmd, 2, "--shard %s: expected K/N with 0 <= K < N (e.g. 0/4)", s);
    o->shard_index = (int)k;
    o->shard_count = (int)n;
    return 0;
}

int cli_sweep_options(const cli_args *a, int argc, char **argv, ls_sweep_options *o, cli_sweep_flags *pr,
                      char **command) {
    int threads;
    long long n_seeds, eval_tokens, ctx, batch, gen_tokens, top, dim_block, ablate_seed, probe_tokens, probe_top,
        probe_buckets;
    cli_lesion_opts lo;
    memset(o, 0, sizeof *o);
    *command = NULL;
    if (cli_threads(a, &threads) || cli_int(a, "seeds", 5, 1, 1000, &n_seeds) ||
        cli_int(a, "eval-tokens", 4096, 2, 1LL << 30, &eval_tokens) || cli_int(a, "ctx", 0, 2, LS_MAX_CTX, &ctx) ||
        cli_int(a, "batch", 8, 1, 1024, &batch) || cli_int(a, "gen-tokens", 32, 1, 1 << 20, &gen_tokens) ||
        cli_int(a, "top", 10, 1, 1 << 20, &top) || cli_int(a, "dim-block", 0, 1, 1 << 22, &dim_block) ||
        cli_int(a, "ablate-seed", 0, 0, INT64_MAX, &ablate_seed) ||
        cli_int(a, "probe-tokens", 4096, 2, 1LL << 30, &probe_tokens) || cli_int(a, "probe-top", 16, 2, 65536, &probe_top) ||
        cli_int(a, "probe-buckets", 8, 2, LS_MAX_CTX, &probe_buckets) || cli_lesion_opts_parse(a, &lo) ||
        parse_shard(a, o))
        return 2;
    if (cli_has(a, "patch"))
        return cli_error(a->cmd, 2, "--patch is not supported in a sweep (a patch source has one input's length; a sweep "
                                    "runs eval windows and prompts of other lengths): use lesion eval/logits --patch");
    o->n_ablate = cli_all(a, "ablate", pr->ablate, CLI_MAX_VALUES);
    o->ablate = pr->ablate;
    if (!o->n_ablate && cli_has(a, "ablate-mode"))
        return cli_error(a->cmd, 2, "--ablate-mode has no effect without --ablate SITE (plan-file items name their mode)");
    if (!o->n_ablate && !cli_has(a, "plan-file") && cli_has(a, "ablate-seed"))
        return cli_error(a->cmd, 2, "--ablate-seed has no effect without --ablate SITE or ablate-resample: items in a --plan-file");
    o->ablate_mode = cli_str(a, "ablate-mode", NULL);
    o->ablate_seed = (uint64_t)ablate_seed;
    o->probe = cli_str(a, "probe", NULL);
    if (!o->probe)
        for (const char *f = "probe-text\0probe-tokens\0probe-top\0probe-buckets\0"; *f; f += strlen(f) + 1)
            if (cli_has(a, f)) return cli_error(a->cmd, 2, "--%s has no effect without --probe TASK", f);
    o->probe_text = cli_str(a, "probe-text", NULL);
    o->probe_tokens = probe_tokens;
    o->probe_top = (int)probe_top;
    o->probe_buckets = (int)probe_buckets;
    cli_model_dir(a, pr->model_dir, sizeof pr->model_dir);
    o->model_dir = pr->model_dir;
    o->weights = cli_str(a, "weights", "f32");
    o->compute = cli_str(a, "compute", "f32");
    o->plan = cli_str(a, "plan", NULL);
    o->plan_file = cli_str(a, "plan-file", NULL);
    o->target = cli_str(a, "target", NULL);
    o->layers = cli_str(a, "layers", NULL);
    o->dim_block = (int)dim_block;
    o->allow_duplicates = cli_has(a, "allow-duplicates");
    o->mode = lo.mode;
    o->match = lo.match;
    o->rng = lo.rng;
    o->with_bias = lo.with_bias;
    o->lesion_seed = lo.seed;
    o->n_seeds = (int)n_seeds;
    o->eval_path = cli_str(a, "eval", NULL);
    o->eval_tokens = eval_tokens;
    o->ctx = (int)ctx;
    o->batch = (int)batch;
    o->prompts_path = cli_str(a, "prompts", NULL);
    o->gen_tokens = (int)gen_tokens;
    o->out_dir = cli_str(a, "out", "lesion-report");
    o->force = cli_has(a, "force");
    o->no_prefix_reuse = cli_has(a, "no-prefix-reuse");
    o->n_threads = threads;
    pr->quiet = cli_has(a, "quiet");
    pr->top = (int)top;
    if (!(*command = cli_command_line("sweep", argc, argv))) return cli_error(a->cmd, 1, "out of memory");
    o->command = *command;
    return 0;
}

static double since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static void show(cli_sweep_progress *p, int done, int total) {
    if (p->quiet) return;
    double secs = since(&p->t0), eta = done ? secs / done * (total - done) : 0;
    if (isatty(STDERR_FILENO)) {
        int w = 30, f = total ? done * w / total : w;
        fprintf(stderr, "\r[%.*s%*s] %d/%d rows  %.0fs elapsed  ETA %.0fs ", f, "##############################", w - f,
                "", done, total, secs, eta);
        if (done == total) fputc('\n', stderr);
    } else if (done == total || time(NULL) - p->last >= 10) {
        fprintf(stderr, "lesion sweep: %d/%d rows, %.0fs elapsed, ETA %.0fs\n", done, total, secs, eta);
        p->last = time(NULL);
    }
}

void cli_sweep_progress_start(cli_sweep_progress *p, int quiet, int done, int total) {
    p->quiet = quiet;
    p->last = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
    show(p, done, total);
}

void cli_sweep_progress_row(void *ctx, int row, int done, int total, const char *label) {
    (void)row, (void)label;
    show(ctx, done, total);
}

void cli_sweep_print_opened(const ls_sweep *sw, int quiet) {
    if (quiet) return;
    if (ls_sweep_moved_to(sw)[0]) fprintf(stderr, "lesion sweep: moved the previous files to %s\n", ls_sweep_moved_to(sw));
    if (ls_sweep_dropped_line(sw))
        fprintf(stderr, "lesion sweep: cut the torn last line (line %d) of %s/results.jsonl (an interrupted write)\n",
                ls_sweep_dropped_line(sw), ls_sweep_out_dir(sw));
}

void cli_sweep_print_done(const ls_sweep *sw, const void *summary, const cli_sweep_flags *pr) {
    if (pr->quiet) return;
    cli_print_sweep_table(summary, pr->top);
    fprintf(stderr, "\nlesion sweep: wrote %s/{results.jsonl,results.csv,summary.json,report.html}\n",
            ls_sweep_out_dir(sw));
}
