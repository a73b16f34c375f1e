/* cmd_sweep.c: `lesion sweep`, the main job: lesion a component layer after
 * layer (or per layer, per head, or from a plan file), over several noise
 * seeds, measure the damage, and write results.jsonl, results.csv,
 * summary.json and report.html into --out.
 *
 * With no arguments it runs the seed experiment: W_Q (attn.q) replaced by
 * matched Gaussian noise in blocks 0, 0-1, ..., 0-(L-1), 5 seeds, on the
 * bundled model, into ./lesion-report.
 *
 * Resuming: sweep.json in --out records the parameters; the same command
 * again skips every (configuration, seed) row already in results.jsonl; a
 * different command is refused unless --force (which starts over). */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"plan", "NAME", "cumulative (default), reverse, single or heads"},
    {"plan-file", "F", "one configuration per line: lesion specs separated by ';' (instead of --plan)"},
    {"target", "COMP", "component the plans lesion (default attn.q)"},
    {"mode", "MODE", "gauss (default), zero, mean, shuffle, uniform, scale:F"},
    {"match", "tensor|head", "statistics over the whole slice (default) or per head"},
    {"with-bias", NULL, "also lesion the matching bias slice"},
    {"rng", "GEN", "noise generator: philox (default) or torch[:T] (see lesion generate --help)"},
    {"lesion-seed", "S", "first noise seed (default 0); seed i uses S+i"},
    {"seeds", "N", "noise seeds per configuration (default 5; deterministic modes run once)"},
    {"eval", "F", "held-out text (default: the model's heldout.txt)"},
    {"eval-tokens", "N", "held-out tokens scored per run (default 4096)"},
    {"ctx", "N", "eval window length (default: min(context, 256))"},
    {"batch", "B", "eval windows per forward batch (default 8)"},
    {"prompts", "F", "generation prompts, one per line (default: four KJV openings)"},
    {"gen-tokens", "N", "tokens generated per prompt (default 32)"},
    {"out", "DIR", "output directory (default lesion-report)"},
    {"force", NULL, "start over in an --out that holds a different sweep"},
    {"no-prefix-reuse", NULL, "recompute every layer (to measure what prefix reuse saves)"},
    {"quiet", NULL, "no progress output"},
    {0},
};

static const char *const default_prompts[] = {"And God said", "In the beginning", "The LORD is my shepherd",
                                              "And it came to pass"};

typedef struct plan {
    char **labels, **specs;
    int n;
} plan;

static void plan_add(plan *p, const char *label, const char *spec) {
    p->labels = realloc(p->labels, (size_t)(p->n + 1) * sizeof *p->labels);
    p->specs = realloc(p->specs, (size_t)(p->n + 1) * sizeof *p->specs);
    p->labels[p->n] = strdup(label);
    p->specs[p->n] = strdup(spec);
    p->n++;
}

static void plan_free(plan *p) {
    for (int i = 0; i < p->n; i++) free(p->labels[i]), free(p->specs[i]);
    free(p->labels);
    free(p->specs);
}

static int build_plan(const cli_args *a, const ls_config *cfg, plan *p, int *ordered, int *heads) {
    const char *target = cli_str(a, "target", "attn.q"), *name = cli_str(a, "plan", "cumulative");
    const char *file = cli_str(a, "plan-file", NULL);
    char label[64], spec[256];
    plan_add(p, "clean", "");
    *ordered = 0;
    *heads = 0;
    if (file) {
        if (cli_has(a, "plan")) return cli_error(a->cmd, 2, "give --plan or --plan-file, not both");
        char *text;
        size_t len;
        ls_error err;
        if (ls_read_file(file, &text, &len, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            while (*line == ' ' || *line == '\t') line++;
            size_t n = strcspn(line, "\r#");
            while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
            line[n] = '\0';
            if (*line) plan_add(p, line, line);
        }
        free(text);
        if (p->n == 1) return cli_error(a->cmd, 2, "--plan-file %s: no configurations (one lesion spec per line)", file);
        return 0;
    }
    if (strcmp(name, "cumulative") == 0 || strcmp(name, "reverse") == 0) {
        int rev = name[0] == 'r';
        for (int k = 1; k <= cfg->n_layer; k++) {
            int lo = rev ? cfg->n_layer - k : 0, hi = rev ? cfg->n_layer - 1 : k - 1;
            if (lo == hi) snprintf(label, sizeof label, "L%d", lo);
            else snprintf(label, sizeof label, "L%d-%d", lo, hi);
            snprintf(spec, sizeof spec, "%s@%s", target, label);
            plan_add(p, label, spec);
        }
        *ordered = 1;
    } else if (strcmp(name, "single") == 0) {
        for (int l = 0; l < cfg->n_layer; l++) {
            snprintf(label, sizeof label, "L%d", l);
            snprintf(spec, sizeof spec, "%s@L%d", target, l);
            plan_add(p, label, spec);
        }
    } else if (strcmp(name, "heads") == 0) {
        for (int l = 0; l < cfg->n_layer; l++)
            for (int h = 0; h < cfg->n_head; h++) {
                snprintf(label, sizeof label, "L%dH%d", l, h);
                snprintf(spec, sizeof spec, "%s@L%dH%d", target, l, h);
                plan_add(p, label, spec);
            }
        *heads = 1;
    } else {
        return cli_error(a->cmd, 2, "--plan %s: unknown (expected cumulative, reverse, single or heads)", name);
    }
    return 0;
}

/* The parameters that define a sweep's rows; a resumed run must match them. */
static char *sweep_identity(const cli_args *a, const char *model_dir, int n_seeds, long long eval_tokens, int ctx,
                            int gen_tokens, const cli_lesion_opts *lo) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model_dir);
    /* Only bf16 changes the numbers (f32-copy is the same values elsewhere in
     * memory); absent otherwise, so older runs' identities stay valid. */
    if (strcmp(cli_str(a, "weights", "f32"), "bf16") == 0) cJSON_AddStringToObject(o, "weights", "bf16");
    cJSON_AddStringToObject(o, "plan", cli_str(a, "plan", cli_has(a, "plan-file") ? "file" : "cumulative"));
    cJSON_AddStringToObject(o, "plan_file", cli_str(a, "plan-file", ""));
    cJSON_AddStringToObject(o, "target", cli_str(a, "target", "attn.q"));
    cJSON_AddStringToObject(o, "mode", lo->mode);
    cJSON_AddStringToObject(o, "match", lo->match);
    cJSON_AddStringToObject(o, "rng", lo->rng);
    cJSON_AddBoolToObject(o, "with_bias", lo->with_bias);
    cJSON_AddNumberToObject(o, "lesion_seed", (double)lo->seed);
    cJSON_AddNumberToObject(o, "seeds", n_seeds);
    cJSON_AddStringToObject(o, "eval", cli_str(a, "eval", "(heldout.txt)"));
    cJSON_AddNumberToObject(o, "eval_tokens", (double)eval_tokens);
    cJSON_AddNumberToObject(o, "ctx", ctx);
    cJSON_AddStringToObject(o, "prompts", cli_str(a, "prompts", "(default)"));
    cJSON_AddNumberToObject(o, "gen_tokens", gen_tokens);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* Creates --out, checks or writes sweep.json. 0, or an exit status. */
static int prepare_out(const char *cmd, const char *dir, const char *identity, int force) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return cli_error(cmd, 1, "%s: cannot create: %s", dir, strerror(errno));
    char path[4200], *old = NULL;
    size_t len;
    ls_error err;
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (access(path, F_OK) == 0 && ls_read_file(path, &old, &len, &err) == 0) {
        int same = strcmp(old, identity) == 0;
        free(old);
        if (!same && !force)
            return cli_error(cmd, 2, "%s holds a different sweep (see %s); use another --out, or --force to start over",
                             dir, path);
        if (!same) {
            snprintf(path, sizeof path, "%s/results.jsonl", dir);
            if (unlink(path) != 0 && errno != ENOENT) return cli_error(cmd, 1, "%s: %s", path, strerror(errno));
        } else {
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (ls_write_file_atomic(path, identity, strlen(identity), &err) != 0) return cli_error(cmd, 1, "%s", err.msg);
    return 0;
}

static int read_prompts(const cli_args *a, ls_tokenizer *tok, char ***texts, int32_t ***ids, int **lens, int *n) {
    const char *file = cli_str(a, "prompts", NULL);
    char *buf = NULL;
    size_t len;
    ls_error err;
    *n = 0;
    *texts = NULL;
    if (file) {
        if (ls_read_file(file, &buf, &len, &err) != 0) return cli_error(a->cmd, 1, "%s", err.msg);
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
            line[strcspn(line, "\r")] = '\0';
            if (!*line) continue;
            *texts = realloc(*texts, (size_t)(*n + 1) * sizeof **texts);
            (*texts)[(*n)++] = strdup(line);
        }
        free(buf);
        if (*n == 0) return cli_error(a->cmd, 2, "--prompts %s: no prompts (one per line)", file);
    } else {
        *n = 4;
        *texts = malloc(4 * sizeof **texts);
        for (int i = 0; i < 4; i++) (*texts)[i] = strdup(default_prompts[i]);
    }
    *ids = calloc((size_t)*n, sizeof **ids);
    *lens = calloc((size_t)*n, sizeof **lens);
    for (int i = 0; i < *n; i++) {
        size_t k;
        if (ls_tokenizer_encode(tok, (*texts)[i], strlen((*texts)[i]), &(*ids)[i], &k, &err) != 0)
            return cli_error(a->cmd, 2, "%s: prompt %d: %s", file ? file : "default prompts", i + 1, err.msg);
        (*lens)[i] = (int)k;
    }
    return 0;
}

static char *row_json(const ls_damage_row *r, int config, const char *label, const char *spec, int seed_index,
                      uint64_t seed, double secs, char **samples, int n_prompts) {
    cJSON *o = cJSON_CreateObject();
    char key[64];
    snprintf(key, sizeof key, "c%d-s%d", config, seed_index);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddNumberToObject(o, "config", config);
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddStringToObject(o, "spec", spec);
    cJSON_AddNumberToObject(o, "seed_index", seed_index);
    cJSON_AddNumberToObject(o, "lesion_seed", (double)seed);
    cJSON_AddNumberToObject(o, "cross_entropy", r->cross_entropy);
    cJSON_AddNumberToObject(o, "perplexity", r->perplexity);
    cJSON_AddNumberToObject(o, "kl", r->kl);
    cJSON_AddNumberToObject(o, "top1", r->top1);
    cJSON_AddNumberToObject(o, "gen_ppl", r->gen_ppl);
    cJSON_AddNumberToObject(o, "rep4", r->rep4);
    cJSON_AddNumberToObject(o, "distinct2", r->distinct2);
    cJSON_AddNumberToObject(o, "first_layer", r->first_layer);
    cJSON_AddNumberToObject(o, "secs", secs);
    cJSON *s = cJSON_AddArrayToObject(o, "samples");
    for (int p = 0; p < n_prompts; p++) cJSON_AddItemToArray(s, cJSON_CreateString(samples[p]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* CSV of the rows, pandas-ready: one column per scalar field, samples joined. */
static int write_csv(const char *path, const ls_store *st, ls_error *err) {
    static const char *const cols[] = {"key", "config", "label", "spec", "seed_index", "lesion_seed", "cross_entropy",
                                       "perplexity", "kl", "top1", "gen_ppl", "rep4", "distinct2", "first_layer", "secs"};
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return ls_fail(err, "out of memory");
#define EMIT(...)                                                                          \
    do {                                                                                   \
        int n_ = snprintf(NULL, 0, __VA_ARGS__);                                           \
        while (len + (size_t)n_ + 1 > cap) buf = realloc(buf, cap *= 2);                   \
        snprintf(buf + len, cap - len, __VA_ARGS__);                                       \
        len += (size_t)n_;                                                                 \
    } while (0)
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) EMIT("%s%s", c ? "," : "", cols[c]);
    EMIT("\n");
    for (int i = 0; i < ls_store_count(st); i++) {
        cJSON *r = cJSON_Parse(ls_store_row(st, i));
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, cols[c]);
            if (cJSON_IsString(v)) {
                EMIT("%s\"", c ? "," : "");
                for (const char *s = v->valuestring; *s; s++) EMIT(*s == '"' ? "\"\"" : "%c", *s);
                EMIT("\"");
            } else if (cJSON_IsNumber(v)) {
                EMIT("%s%.17g", c ? "," : "", v->valuedouble);
            } else {
                EMIT("%s", c ? "," : "");
            }
        }
        EMIT("\n");
        cJSON_Delete(r);
    }
#undef EMIT
    int rc = ls_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

static void progress(int quiet, int done, int total, double secs, time_t *last) {
    if (quiet) return;
    double eta = done ? secs / done * (total - done) : 0;
    if (isatty(STDERR_FILENO)) {
        int w = 30, f = total ? done * w / total : w;
        fprintf(stderr, "\r[%.*s%*s] %d/%d rows  %.0fs elapsed  ETA %.0fs ", f, "##############################", w - f,
                "", done, total, secs, eta);
        if (done == total) fputc('\n', stderr);
    } else if (done == total || time(NULL) - *last >= 10) {
        fprintf(stderr, "lesion sweep: %d/%d rows, %.0fs elapsed, ETA %.0fs\n", done, total, secs, eta);
        *last = time(NULL);
    }
}

static void print_table(const cJSON *summary) {
    const cJSON *cfgs = cJSON_GetObjectItemCaseSensitive(summary, "configs"), *c;
    printf("\n%-12s %-24s %22s %16s %16s %8s  %s\n", "lesioned", "band", "perplexity [95% CI]", "KL (nats)", "top-1",
           "rep-4", "sample (seed 0, first prompt)");
    cJSON_ArrayForEach(c, cfgs) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metrics");
#define F(name, f) cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, name), f)->valuedouble
        char ppl[64], kl[32], top[32];
        snprintf(ppl, sizeof ppl, "%.2f [%.2f, %.2f]", F("perplexity", "mean"), F("perplexity", "lo"), F("perplexity", "hi"));
        double klm = F("kl", "mean");
        snprintf(kl, sizeof kl, "%.3f", klm < 0 && klm > -1e-6 ? 0.0 : klm); /* rounding, not a negative KL */
        snprintf(top, sizeof top, "%.3f", F("top1", "mean"));
        const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "samples"), 0);
        char sample[64] = "";
        if (cJSON_IsString(s)) {
            snprintf(sample, sizeof sample, "%s", s->valuestring);
            for (char *q = sample; *q; q++)
                if (*q == '\n' || *q == '\r' || *q == '\t') *q = ' ';
        }
        printf("%-12s %-24s %22s %16s %16s %8.3f  %s\n", cJSON_GetObjectItemCaseSensitive(c, "label")->valuestring,
               cJSON_GetObjectItemCaseSensitive(c, "band")->valuestring, ppl, kl, top, F("rep4", "mean"), sample);
#undef F
    }
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(summary, "transition");
    if (tr) printf("\n%s\n", cJSON_GetObjectItemCaseSensitive(tr, "statement")->valuestring);
}

int cmd_sweep(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "sweep", "Lesions a component layer by layer (or per head, or from a plan file) over "
                                    "several noise seeds, measures the damage and writes a report.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    int threads;
    long long n_seeds, eval_tokens, ctx_opt, batch, gen_tokens;
    cli_lesion_opts lo;
    if (cli_threads(&a, &threads) || cli_int(&a, "seeds", 5, 1, 1000, &n_seeds) ||
        cli_int(&a, "eval-tokens", 4096, 2, 1LL << 30, &eval_tokens) || cli_int(&a, "ctx", 0, 2, LS_MAX_CTX, &ctx_opt) ||
        cli_int(&a, "batch", 8, 1, 1024, &batch) || cli_int(&a, "gen-tokens", 32, 1, 1 << 20, &gen_tokens) ||
        cli_lesion_opts_parse(&a, &lo))
        return 2;
    int random_mode = strcmp(lo.mode, "gauss") == 0 || strcmp(lo.mode, "uniform") == 0 || strcmp(lo.mode, "shuffle") == 0;
    if (!random_mode) n_seeds = 1;
    const char *out_dir = cli_str(&a, "out", "lesion-report");
    int quiet = cli_has(&a, "quiet");

    ls_model *model;
    ls_tokenizer *tok;
    if ((rc = cli_open_model(&a, &model, &tok))) return rc;
    const ls_config *cfg = ls_model_config(model);
    int ctx = ctx_opt ? (int)ctx_opt : (cfg->n_ctx < 256 ? cfg->n_ctx : 256);
    plan p = {0};
    int ordered = 0, heads = 0, n_prompts = 0, *prompt_lens = NULL;
    char **prompts = NULL, *eval_text = NULL, *identity = NULL, path[4200];
    int32_t **prompt_ids = NULL, *eval_ids = NULL;
    size_t eval_len, n_eval = 0;
    ls_damage *dmg = NULL;
    ls_store *store = NULL;
    cJSON *summary = NULL;
    cli_weights w = {0};
    ls_damage_row row = {0};
    ls_error err;
    if (ctx > cfg->n_ctx) {
        rc = cli_error(a.cmd, 2, "--ctx %d exceeds the model's context %d", ctx, cfg->n_ctx);
        goto done;
    }
    if ((rc = build_plan(&a, cfg, &p, &ordered, &heads))) goto done;
    /* Reject a bad spec before any long work starts. */
    if (cli_weights_init(&w, model, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    for (int i = 1; i < p.n; i++) {
        if (cli_weights_apply(&w, model, p.specs[i], &lo, &err) != 0) {
            rc = cli_error(a.cmd, 2, "%s", err.msg);
            goto done;
        }
        cli_weights_reset(&w, model);
    }
    if ((rc = read_prompts(&a, tok, &prompts, &prompt_ids, &prompt_lens, &n_prompts))) goto done;
    for (int i = 0; i < n_prompts; i++) /* checked before --out is touched: a fixed command must not be refused */
        if ((long long)prompt_lens[i] + gen_tokens > cfg->n_ctx) {
            rc = cli_error(a.cmd, 2, "prompt %d (%d tokens) + --gen-tokens %lld exceed the context length %d", i + 1,
                           prompt_lens[i], gen_tokens, cfg->n_ctx);
            goto done;
        }
    snprintf(path, sizeof path, "%s/heldout.txt", ls_model_dir(model));
    const char *eval_path = cli_str(&a, "eval", path);
    if (ls_read_file(eval_path, &eval_text, &eval_len, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (ls_tokenizer_encode(tok, eval_text, eval_len, &eval_ids, &n_eval, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", eval_path, err.msg);
        goto done;
    }
    if ((long long)n_eval > eval_tokens) n_eval = (size_t)eval_tokens;
    n_eval = n_eval / (size_t)ctx * (size_t)ctx;
    if (n_eval < (size_t)ctx) {
        rc = cli_error(a.cmd, 1, "%s: fewer than %d tokens (one eval window)", eval_path, ctx);
        goto done;
    }
    identity = sweep_identity(&a, ls_model_dir(model), (int)n_seeds, (long long)n_eval, ctx, (int)gen_tokens, &lo);
    if ((rc = prepare_out(a.cmd, out_dir, identity, cli_has(&a, "force")))) goto done;
    snprintf(path, sizeof path, "%s/results.jsonl", out_dir);
    int dropped;
    if (ls_store_open(&store, path, &dropped, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (dropped && !quiet) fprintf(stderr, "lesion sweep: dropped a torn last row of %s (an interrupted write)\n", path);

    ls_damage_setup su = {
        .tokens = eval_ids, .n_tokens = (int64_t)n_eval, .ctx = ctx, .batch = (int)batch,
        .prompts = (const int32_t *const *)prompt_ids, .prompt_lens = prompt_lens, .n_prompts = n_prompts,
        .gen_tokens = (int)gen_tokens, .sampler = {.temperature = 0.7f, .top_k = 40, .top_p = 1.0f, .seed = 1},
        .n_threads = threads, .reuse_prefix = !cli_has(&a, "no-prefix-reuse"),
    };
    int total = 1 + (p.n - 1) * (int)n_seeds, done_rows = 0;
    for (int c = 0; c < p.n; c++)
        for (int s = 0; s < (c ? n_seeds : 1); s++) {
            char key[64];
            snprintf(key, sizeof key, "c%d-s%d", c, s);
            done_rows += ls_store_has(store, key);
        }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    time_t last = 0;
    if (done_rows < total) {
        if (!quiet) fprintf(stderr, "lesion sweep: %d configurations x %lld seeds, %zu eval tokens; clean pass...\n",
                            p.n - 1, n_seeds, n_eval);
        ls_weights clean = ls_model_weights(model); /* not w.view: the overlay's array changes under apply */
        if (ls_damage_new(&dmg, &clean, &su, &err) != 0 || ls_damage_row_alloc(dmg, &row) != 0) {
            rc = cli_error(a.cmd, 1, "%s", dmg ? "out of memory" : err.msg);
            goto done;
        }
    }
    progress(quiet, done_rows, total, 0, &last);
    for (int c = 0; c < p.n && rc == 0; c++)
        for (int s = 0; s < (c ? n_seeds : 1) && rc == 0; s++) {
            char key[64];
            snprintf(key, sizeof key, "c%d-s%d", c, s);
            if (ls_store_has(store, key)) continue;
            struct timespec r0, r1;
            clock_gettime(CLOCK_MONOTONIC, &r0);
            cli_lesion_opts seeded = lo;
            seeded.seed = lo.seed + (uint64_t)s;
            cli_weights_reset(&w, model);
            if (c > 0 && cli_weights_apply(&w, model, p.specs[c], &seeded, &err) != 0) {
                rc = cli_error(a.cmd, 1, "%s", err.msg);
                break;
            }
            if (ls_damage_measure(dmg, &w.view, &row, &err) != 0) {
                rc = cli_error(a.cmd, 1, "%s", err.msg);
                break;
            }
            char **samples = calloc((size_t)n_prompts, sizeof *samples);
            for (int q = 0; q < n_prompts; q++) {
                size_t len;
                char *raw = NULL;
                if (ls_tokenizer_decode(tok, row.gen_ids + (int64_t)q * gen_tokens, (size_t)row.gen_lens[q], &raw,
                                        &len, &err) != 0)
                    len = 0;
                samples[q] = cli_json_text(raw ? raw : "", len); /* results.jsonl must be UTF-8 */
                free(raw);
            }
            clock_gettime(CLOCK_MONOTONIC, &r1);
            double secs = (double)(r1.tv_sec - r0.tv_sec) + 1e-9 * (double)(r1.tv_nsec - r0.tv_nsec);
            char *line = row_json(&row, c, p.labels[c], p.specs[c], s, seeded.seed, secs, samples, n_prompts);
            for (int q = 0; q < n_prompts; q++) free(samples[q]);
            free(samples);
            if (ls_store_append(store, key, line, &err) != 0) rc = cli_error(a.cmd, 1, "%s", err.msg);
            free(line);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            progress(quiet, ++done_rows, total,
                     (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), &last);
        }
    if (rc) goto done;
    cli_weights_reset(&w, model);

    /* Everything below is derived from results.jsonl, so a resumed run writes the same files. */
    const char **rows = malloc((size_t)ls_store_count(store) * sizeof *rows + 1);
    if (!rows) {
        rc = cli_error(a.cmd, 1, "out of memory");
        goto done;
    }
    for (int i = 0; i < ls_store_count(store); i++) rows[i] = ls_store_row(store, i);
    ls_sweep_meta meta = {
        .model = ls_model_dir(model), .plan = cli_has(&a, "plan-file") ? "file" : cli_str(&a, "plan", "cumulative"),
        .target = cli_has(&a, "plan-file") ? "(plan file)" : cli_str(&a, "target", "attn.q"), .mode = lo.mode,
        .match = lo.match, .n_seeds = (int)n_seeds, .eval_tokens = (int64_t)n_eval,
        .prompts = (const char *const *)prompts, .n_prompts = n_prompts, .labels = (const char *const *)p.labels,
        .specs = (const char *const *)p.specs, .n_configs = p.n, .ordered = ordered,
        .heads_layers = heads ? cfg->n_layer : 0, .heads_per_layer = heads ? cfg->n_head : 0,
    };
    summary = ls_sweep_summarize(&meta, rows, ls_store_count(store), &err);
    free(rows);
    if (!summary) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    char *sj = cJSON_Print(summary);
    snprintf(path, sizeof path, "%s/summary.json", out_dir);
    int wrc = ls_write_file_atomic(path, sj, strlen(sj), &err);
    free(sj);
    if (wrc == 0) {
        snprintf(path, sizeof path, "%s/results.csv", out_dir);
        wrc = write_csv(path, store, &err);
    }
    if (wrc == 0) {
        snprintf(path, sizeof path, "%s/report.html", out_dir);
        wrc = ls_report_write(path, summary, &err);
    }
    if (wrc != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (!quiet) print_table(summary);
    if (!quiet) fprintf(stderr, "\nlesion sweep: wrote %s/{results.jsonl,results.csv,summary.json,report.html}\n", out_dir);
done:
    cJSON_Delete(summary);
    ls_damage_row_free(&row);
    ls_damage_free(dmg);
    ls_store_close(store);
    cli_weights_free(&w);
    for (int i = 0; i < n_prompts; i++) {
        free(prompts[i]);
        if (prompt_ids) free(prompt_ids[i]);
    }
    free(prompts);
    free(prompt_ids);
    free(prompt_lens);
    free(eval_text);
    free(eval_ids);
    free(identity);
    plan_free(&p);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
