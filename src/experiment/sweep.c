/* sweep.c: the main job, as the library runs it (include/lesion/sweep.h).
 *
 * One object holds what every row needs: the model and its clean weights,
 * the overlay the row's lesions go into, the plan, the tokenized prompts and
 * eval text, the clean pass (ls_damage, made on the first row) and, for the
 * process that owns the output folder, the locked folder and its store. The
 * CLI, the MPI driver and bindings all drive rows through it, so a row has
 * the same bits whoever computes it: nothing in a row depends on the thread
 * count, the batch, or which rows ran before it in this process.
 *
 * Order of the checks in ls_sweep_new matters to users: everything that can
 * be wrong with the command (a bad spec, a prompt too long for the context)
 * fails before --out is touched, so that a fixed command is never refused
 * as "a different sweep".
 *
 * Activation interventions all live in one ls_interventions: the sweep-wide
 * ones (--ablate, in force in every row, the clean one included) first,
 * then each plan-file configuration's ablate: items. They are fitted in one
 * pass over the eval text on the clean weights (mean, resample), and a row
 * switches on the sweep-wide rules and its own. Its prefix reuse restarts
 * at the earliest layer its own rules or weights change (the sweep-wide
 * rules' effect is in the cached clean pass). With --probe, every row also
 * trains and scores linear probes (probe.c) on its model, interventions
 * included. */
#include <lesion.h>

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ls_sweep {
    ls_sweep_options o;        /* strings below are private copies */
    char *strings[24];
    int n_strings;
    char **ablate;             /* [o.n_ablate] copies of o.ablate */
    ls_model *model;
    ls_tokenizer *tok;
    ls_weights clean;          /* the overlay keeps a pointer to it */
    ls_overlay *overlay;
    ls_plan plan;
    int n_seeds, ctx, gen_tokens, dim_block;
    char **prompts;            /* [n_prompts] text */
    int32_t **prompt_ids;      /* [n_prompts] */
    int *prompt_lens;
    int n_prompts;
    char *eval_path;
    int32_t *eval_ids;         /* (n_eval) */
    size_t n_eval;
    ls_damage *dmg;            /* the clean pass: made by the first row */
    ls_damage_row row;
    ls_interventions *iv;      /* rules 0..n_wide-1 sweep-wide, then each configuration's */
    int n_wide, fitted;
    int *iv_first, *iv_count;  /* [plan.n] configuration c's rules: iv_first[c] .. iv_first[c] + iv_count[c] - 1 */
    char **iv_canon;           /* [n_wide] canonical text of the sweep-wide rules (identity) */
    int has_resample;
    ls_probe *probe;           /* --probe: prepared on the probe text (NULL without) */
    char *probe_path;
    int32_t *probe_ids;
    size_t n_probe;
    char **probe_sites;        /* [n_probe_sites] names */
    int n_probe_sites;
    double *probe_acc;         /* (n_probe_sites) */
    ls_sweep_dir *dir;         /* the output folder, locked (ls_sweep_open_output) */
    ls_store *store;
    int dropped, resumed;
    char moved_to[4096];
};

/* A usage error: the message is set by call, the status says whose it is to fix. */
#define USAGE(call) ((call), LS_SWEEP_USAGE)

static const char *const default_prompts[] = {"And God said", "In the beginning", "The LORD is my shepherd",
                                              "And it came to pass"};

/* Copies an option string into the sweep (NULL stays NULL). */
static int keep(ls_sweep *sw, const char **s) {
    if (!*s) return 0;
    char *c = strdup(*s);
    if (!c || sw->n_strings == (int)(sizeof sw->strings / sizeof sw->strings[0])) {
        free(c);
        return -1;
    }
    sw->strings[sw->n_strings++] = c;
    *s = c;
    return 0;
}

static int is_random_mode(const char *mode) {
    return !strcmp(mode, "gauss") || !strcmp(mode, "uniform") || !strcmp(mode, "shuffle");
}

/* The options with every default filled in; LS_SWEEP_USAGE on values out of range. */
static int settle_options(ls_sweep *sw, const ls_sweep_options *in, ls_error *err) {
    ls_sweep_options *o = &sw->o;
    *o = *in;
    const char **strs[] = {&o->model_dir, &o->weights, &o->compute, &o->plan, &o->plan_file, &o->target,
                           &o->layers, &o->mode, &o->match, &o->rng, &o->eval_path, &o->prompts_path,
                           &o->out_dir, &o->command, &o->ablate_mode, &o->probe, &o->probe_text};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (keep(sw, strs[i]) != 0) return ls_fail(err, "out of memory");
    if (o->n_ablate < 0 || (o->n_ablate && !o->ablate))
        return USAGE(ls_fail(err, "n_ablate %d: expected at least 0, with that many sites in ablate", o->n_ablate));
    if (o->n_ablate && !(sw->ablate = calloc((size_t)o->n_ablate, sizeof *sw->ablate))) return ls_fail(err, "out of memory");
    for (int i = 0; i < o->n_ablate; i++)
        if (!(sw->ablate[i] = strdup(o->ablate[i] ? o->ablate[i] : ""))) return ls_fail(err, "out of memory");
    o->ablate = (const char *const *)sw->ablate;
    if (!o->ablate_mode) o->ablate_mode = "zero";
    int am = ls_act_op_parse(o->ablate_mode);
    if (am != LS_ACT_ZERO && am != LS_ACT_MEAN && am != LS_ACT_RESAMPLE)
        return USAGE(ls_fail(err, "--ablate-mode %s: expected zero, mean or resample", o->ablate_mode));
    if (o->probe_tokens == 0) o->probe_tokens = 4096;
    if (o->probe_top == 0) o->probe_top = 16;
    if (o->probe_buckets == 0) o->probe_buckets = 8;
    if (o->probe_tokens < 2 || o->probe_top < 2 || o->probe_buckets < 2)
        return USAGE(ls_fail(err, "a probe option is out of range (--probe-tokens, --probe-top, --probe-buckets: at least 2)"));
    if (!o->model_dir) return USAGE(ls_fail(err, "no model folder given"));
    if (!o->weights) o->weights = "f32";
    if (!o->compute) o->compute = "f32";
    if (!o->mode) o->mode = "gauss";
    if (!o->match) o->match = "tensor";
    if (!o->rng) o->rng = "philox";
    if (!o->out_dir) o->out_dir = "lesion-report";
    if (o->n_seeds == 0) o->n_seeds = 5;
    if (o->eval_tokens == 0) o->eval_tokens = 4096;
    if (o->batch == 0) o->batch = 8;
    if (o->gen_tokens == 0) o->gen_tokens = 32;
    if (o->n_threads <= 0) o->n_threads = 1;
    if (o->n_seeds < 1 || o->eval_tokens < 2 || o->ctx < 0 || o->batch < 1 || o->gen_tokens < 1 || o->dim_block < 0)
        return USAGE(ls_fail(err, "a sweep option is out of range (seeds, eval tokens, ctx, batch, gen tokens, dim block)"));
    if (o->shard_count < 0 || (o->shard_count > 0 && (o->shard_index < 0 || o->shard_index >= o->shard_count)))
        return USAGE(ls_fail(err, "--shard %d/%d: expected K/N with 0 <= K < N", o->shard_index, o->shard_count));
    sw->n_seeds = is_random_mode(o->mode) ? o->n_seeds : 1;
    sw->dim_block = o->dim_block ? o->dim_block : 64;
    return 0;
}

static int open_model(ls_sweep *sw, ls_error *err) {
    const char *storage = sw->o.weights, *compute = sw->o.compute;
    if (strcmp(storage, "f32") && strcmp(storage, "f32-copy") && strcmp(storage, "bf16"))
        return USAGE(ls_fail(err, "--weights %s: unknown storage (expected f32, f32-copy or bf16)", storage));
    if (strcmp(compute, "f32") && strcmp(compute, "bf16"))
        return USAGE(ls_fail(err, "--compute %s: unknown arithmetic (expected f32 or bf16)", compute));
    int bf16_compute = !strcmp(compute, "bf16");
    if (bf16_compute && strcmp(storage, "bf16"))
        return USAGE(ls_fail(err, "--compute bf16 needs --weights bf16 (the products multiply bf16 weights)"));
    if (ls_model_open(&sw->model, sw->o.model_dir, err) != 0) return -1;
    if ((!strcmp(storage, "bf16") && ls_model_store_bf16(sw->model, err) != 0) ||
        (bf16_compute && ls_model_compute_bf16(sw->model, err) != 0) ||
        (!strcmp(storage, "f32-copy") && ls_model_copy_f32(sw->model, err) != 0))
        return -1;
    if (ls_tokenizer_load_dir(&sw->tok, sw->o.model_dir, err) != 0) return -1;
    int tv = ls_tokenizer_vocab_size(sw->tok), mv = ls_model_config(sw->model)->vocab_size;
    if (tv > mv)
        return ls_fail(err, "%s: the tokenizer has %d tokens but config.json says vocab_size=%d", sw->o.model_dir, tv, mv);
    sw->clean = ls_model_weights(sw->model);
    sw->overlay = ls_overlay_new(&sw->clean);
    return sw->overlay ? 0 : ls_fail(err, "out of memory");
}

static int make_plan(ls_sweep *sw, ls_error *err) {
    const ls_sweep_options *o = &sw->o;
    const ls_config *cfg = ls_model_config(sw->model);
    if (o->plan_file) {
        static const char *const not_with_file[] = {"plan", "target", "layers", "dim-block"};
        const void *given[] = {o->plan, o->target, o->layers, o->dim_block ? "" : NULL};
        for (int i = 0; i < 4; i++)
            if (given[i])
                return USAGE(ls_fail(err, "--%s does not apply to --plan-file (the file names every lesion)", not_with_file[i]));
        char *text;
        size_t len;
        if (ls_read_file(o->plan_file, &text, &len, err) != 0) return -1;
        int rc = ls_plan_parse_file(&sw->plan, cfg, o->plan_file, text, len, o->allow_duplicates, err);
        free(text);
        if (rc != 0) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return USAGE(ls_fail(err, "--plan-file %s", msg));
        }
        return 0;
    }
    if (o->allow_duplicates) return USAGE(ls_fail(err, "--allow-duplicates applies to --plan-file only"));
    if (o->dim_block && (!o->plan || strcmp(o->plan, "dims")))
        return USAGE(ls_fail(err, "--dim-block applies to --plan dims only"));
    ls_plan_request req = {.name = o->plan ? o->plan : "cumulative", .target = o->target ? o->target : "attn.q",
                           .layers = o->layers, .dim_block = sw->dim_block};
    return ls_plan_build(&sw->plan, cfg, &req, err) == 0 ? 0 : LS_SWEEP_USAGE;
}

/* Applies one configuration's specs (';' or space separated) with this seed. */
static int apply_specs(ls_sweep *sw, const char *specs, uint64_t seed, ls_error *err) {
    char *copy = strdup(specs), *save = NULL;
    if (!copy) return ls_fail(err, "out of memory");
    int rc = 0;
    const ls_sweep_options *o = &sw->o;
    for (char *s = strtok_r(copy, "; \t", &save); s && rc == 0; s = strtok_r(NULL, "; \t", &save)) {
        ls_lesion l;
        ls_site_spec where;
        ls_act_op op;
        int iv = ls_plan_intervention(ls_model_config(sw->model), s, &where, &op, err);
        if (iv != 0) { /* an activation intervention: the row's hooks apply it (make_interventions) */
            rc = iv < 0 ? -1 : 0;
            continue;
        }
        rc = ls_lesion_parse(&l, ls_model_config(sw->model), s, o->mode, o->match, o->with_bias, seed, o->rng, err);
        if (rc == 0) rc = ls_overlay_apply(sw->overlay, &l, err);
    }
    free(copy);
    return rc;
}

static int read_prompts(ls_sweep *sw, ls_error *err) {
    const char *file = sw->o.prompts_path;
    if (file) {
        char *buf;
        size_t len;
        if (ls_read_file(file, &buf, &len, err) != 0) return -1;
        if (memchr(buf, '\0', len)) {
            free(buf);
            return USAGE(ls_fail(err, "--prompts %s: NUL byte (one prompt per line of text)", file));
        }
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            line[strcspn(line, "\r")] = '\0';
            if (!*line) continue;
            char **grown = realloc(sw->prompts, (size_t)(sw->n_prompts + 1) * sizeof *grown);
            if (!grown || !(grown[sw->n_prompts] = strdup(line))) {
                if (grown) sw->prompts = grown;
                free(buf);
                return ls_fail(err, "out of memory");
            }
            sw->prompts = grown;
            sw->n_prompts++;
        }
        free(buf);
        if (sw->n_prompts == 0) return USAGE(ls_fail(err, "--prompts %s: no prompts (one per line)", file));
    } else {
        if (!(sw->prompts = calloc(4, sizeof *sw->prompts))) return ls_fail(err, "out of memory");
        for (int i = 0; i < 4; i++)
            if (!(sw->prompts[sw->n_prompts++] = strdup(default_prompts[i]))) return ls_fail(err, "out of memory");
    }
    sw->prompt_ids = calloc((size_t)sw->n_prompts, sizeof *sw->prompt_ids);
    sw->prompt_lens = calloc((size_t)sw->n_prompts, sizeof *sw->prompt_lens);
    if (!sw->prompt_ids || !sw->prompt_lens) return ls_fail(err, "out of memory");
    for (int i = 0; i < sw->n_prompts; i++) {
        size_t k;
        if (ls_tokenizer_encode_input(sw->tok, sw->prompts[i], strlen(sw->prompts[i]), &sw->prompt_ids[i], &k, err) != 0)
            return USAGE(ls_fail_context(err, "%s: prompt %d", file ? file : "default prompts", i + 1));
        sw->prompt_lens[i] = (int)k;
    }
    return 0;
}

static int read_eval(ls_sweep *sw, ls_error *err) {
    char path[4200], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/heldout.txt", sw->o.model_dir);
    if (!(sw->eval_path = strdup(sw->o.eval_path ? sw->o.eval_path : path))) return ls_fail(err, "out of memory");
    if (ls_read_file(sw->eval_path, &text, &len, err) != 0) return -1;
    int rc = ls_tokenizer_encode_input(sw->tok, text, len, &sw->eval_ids, &sw->n_eval, err);
    free(text);
    if (rc != 0) return ls_fail_context(err, "%s", sw->eval_path);
    if ((int64_t)sw->n_eval > sw->o.eval_tokens) sw->n_eval = (size_t)sw->o.eval_tokens;
    sw->n_eval = sw->n_eval / (size_t)sw->ctx * (size_t)sw->ctx;
    if (sw->n_eval < (size_t)sw->ctx) return ls_fail(err, "%s: fewer than %d tokens (one eval window)", sw->eval_path, sw->ctx);
    return 0;
}

/* The sweep-wide rules, then each configuration's ablate: items. */
static int make_interventions(ls_sweep *sw, ls_error *err) {
    const ls_config *cfg = ls_model_config(sw->model);
    const ls_sweep_options *o = &sw->o;
    if (ls_interventions_new(&sw->iv, cfg, o->ablate_seed, err) != 0) return -1;
    sw->iv_first = calloc((size_t)sw->plan.n, sizeof *sw->iv_first);
    sw->iv_count = calloc((size_t)sw->plan.n, sizeof *sw->iv_count);
    sw->iv_canon = calloc((size_t)o->n_ablate + 1, sizeof *sw->iv_canon);
    if (!sw->iv_first || !sw->iv_count || !sw->iv_canon) return ls_fail(err, "out of memory");
    ls_act_op mode = (ls_act_op)ls_act_op_parse(o->ablate_mode);
    for (int i = 0; i < o->n_ablate; i++) {
        ls_site_spec where;
        char buf[1024];
        if (ls_site_spec_parse(&where, cfg, o->ablate[i], err) != 0 || ls_interventions_add(sw->iv, &where, mode, err) < 0)
            return USAGE(ls_fail_context(err, "--ablate %s", o->ablate[i]));
        ls_plan_intervention_format(&where, mode, buf, sizeof buf);
        if (!(sw->iv_canon[i] = strdup(buf))) return ls_fail(err, "out of memory");
        sw->has_resample |= mode == LS_ACT_RESAMPLE;
    }
    sw->n_wide = o->n_ablate;
    for (int c = 1; c < sw->plan.n; c++) {
        sw->iv_first[c] = ls_interventions_count(sw->iv);
        char *copy = strdup(sw->plan.specs[c]), *save = NULL;
        if (!copy) return ls_fail(err, "out of memory");
        int rc = 0;
        for (char *t = strtok_r(copy, "; \t", &save); t && rc == 0; t = strtok_r(NULL, "; \t", &save)) {
            ls_site_spec where;
            ls_act_op op;
            int iv = ls_plan_intervention(cfg, t, &where, &op, err);
            if (iv < 0 || (iv == 1 && ls_interventions_add(sw->iv, &where, op, err) < 0)) rc = LS_SWEEP_USAGE;
            if (iv == 1) sw->iv_count[c]++, sw->has_resample |= op == LS_ACT_RESAMPLE;
        }
        free(copy);
        if (rc) return USAGE(ls_fail_context(err, "configuration \"%s\"", sw->plan.labels[c]));
    }
    return 0;
}

/* Switches on the sweep-wide rules and configuration c's (c = -1: only the
 * sweep-wide ones); returns the hooks, whose first_write_layer is where c's
 * own rules start (the sweep-wide ones are in the cached clean pass).
 * NULL when nothing is switched on. */
static const ls_hooks *row_hooks(ls_sweep *sw, int c, ls_hooks *h) {
    int n = ls_interventions_count(sw->iv), first = c > 0 ? sw->iv_first[c] : n, end = c > 0 ? first + sw->iv_count[c] : n;
    for (int r = 0; r < n; r++) ls_interventions_enable(sw->iv, r, r >= first && r < end);
    int own = ls_interventions_first_write_layer(sw->iv);
    for (int r = 0; r < sw->n_wide; r++) ls_interventions_enable(sw->iv, r, 1);
    if (sw->n_wide == 0 && end == first) return NULL;
    *h = ls_interventions_hooks(sw->iv);
    h->first_write_layer = own;
    return h;
}

/* --probe: the probe text (first 80% train, the rest test, as lesion probe
 * splits it), the sites resid_pre@L0 and resid_post@L of every layer, and
 * the prepared probe. */
static int make_probe(ls_sweep *sw, ls_error *err) {
    const ls_sweep_options *o = &sw->o;
    const ls_config *cfg = ls_model_config(sw->model);
    ls_probe_task task;
    if (ls_probe_task_parse(o->probe, &task, err) != 0) return USAGE(ls_fail_context(err, "--probe"));
    if (task == LS_PROBE_LABELS) return USAGE(ls_fail(err, "--probe labels: a sweep probes prev-token, token or position"));
    char path[4200], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/heldout.txt", o->model_dir);
    if (!(sw->probe_path = strdup(o->probe_text ? o->probe_text : path))) return ls_fail(err, "out of memory");
    if (ls_read_file(sw->probe_path, &text, &len, err) != 0) return -1;
    int rc = ls_tokenizer_encode(sw->tok, text, len, &sw->probe_ids, &sw->n_probe, err);
    free(text);
    if (rc != 0) return ls_fail_context(err, "%s", sw->probe_path);
    if ((int64_t)sw->n_probe > o->probe_tokens) sw->n_probe = (size_t)o->probe_tokens;
    ls_probe_site sites[LS_MAX_LAYERS + 1];
    int n = 0;
    if (ls_probe_site_parse(cfg, "resid_pre@L0", sites, LS_MAX_LAYERS + 1, &n, err) != 0 ||
        ls_probe_site_parse(cfg, "resid_post@all", sites, LS_MAX_LAYERS + 1, &n, err) != 0)
        return -1;
    sw->probe_sites = calloc((size_t)n, sizeof *sw->probe_sites);
    sw->probe_acc = calloc((size_t)n, sizeof *sw->probe_acc);
    if (!sw->probe_sites || !sw->probe_acc) return ls_fail(err, "out of memory");
    for (int i = 0; i < n; i++) {
        char name[128];
        ls_probe_site_format(&sites[i], name, sizeof name);
        if (!(sw->probe_sites[i] = strdup(name))) return ls_fail(err, "out of memory");
        sw->n_probe_sites++;
    }
    if (task == LS_PROBE_POSITION && o->probe_buckets > sw->ctx)
        return USAGE(ls_fail(err, "--probe-buckets %d: expected at most the window of %d positions (--ctx)",
                             o->probe_buckets, sw->ctx));
    int64_t n_train = (int64_t)sw->n_probe * 8 / 10;
    ls_probe_setup su = {.task = task, .train_tokens = sw->probe_ids, .n_train = n_train,
                         .test_tokens = sw->probe_ids + n_train, .n_test = (int64_t)sw->n_probe - n_train,
                         .ctx = sw->ctx, .top = o->probe_top, .buckets = o->probe_buckets, .sites = sites,
                         .n_sites = n, .batch = o->batch, .n_threads = o->n_threads};
    if (ls_probe_new(&sw->probe, cfg, &su, err) != 0) return USAGE(ls_fail_context(err, "--probe %s (%s)", o->probe, sw->probe_path));
    return 0;
}

int ls_sweep_new(ls_sweep **out, const ls_sweep_options *o, ls_error *err) {
    *out = NULL;
    ls_sweep *sw = calloc(1, sizeof *sw);
    if (!sw) return ls_fail(err, "out of memory");
    int rc = settle_options(sw, o, err);
    if (rc == 0) rc = open_model(sw, err);
    if (rc == 0) {
        const ls_config *cfg = ls_model_config(sw->model);
        sw->ctx = sw->o.ctx ? sw->o.ctx : (cfg->n_ctx < 256 ? cfg->n_ctx : 256);
        if (sw->ctx < 2 || sw->ctx > cfg->n_ctx)
            rc = USAGE(ls_fail(err, "--ctx %d exceeds the model's context %d", sw->ctx, cfg->n_ctx));
    }
    if (rc == 0) rc = make_plan(sw, err);
    /* Every spec once, before any long work: a bad one is a usage error now, not after hours. */
    for (int i = 1; rc == 0 && i < sw->plan.n; i++) {
        if (apply_specs(sw, sw->plan.specs[i], sw->o.lesion_seed, err) != 0)
            rc = USAGE(ls_fail_context(err, "configuration \"%s\"", sw->plan.labels[i]));
        ls_overlay_reset(sw->overlay);
    }
    if (rc == 0) rc = make_interventions(sw, err);
    if (rc == 0) rc = read_prompts(sw, err);
    for (int i = 0; rc == 0 && i < sw->n_prompts; i++)
        if ((long long)sw->prompt_lens[i] + sw->o.gen_tokens > ls_model_config(sw->model)->n_ctx)
            rc = USAGE(ls_fail(err, "prompt %d (%d tokens) + --gen-tokens %d exceed the context length %d", i + 1,
                         sw->prompt_lens[i], sw->o.gen_tokens, ls_model_config(sw->model)->n_ctx));
    if (rc == 0) rc = read_eval(sw, err);
    if (rc == 0 && sw->o.probe) rc = make_probe(sw, err);
    if (rc != 0) {
        ls_sweep_free(sw);
        return rc;
    }
    *out = sw;
    return 0;
}

/* The sweep's record (sweep.json): its identity by content, and the shard. */
static cJSON *make_record(ls_sweep *sw, ls_error *err) {
    const ls_sweep_options *o = &sw->o;
    ls_sweep_inputs in = {
        .model_dir = o->model_dir, .weights = o->weights, .compute = o->compute, .eval_path = sw->eval_path,
        .prompts_path = o->prompts_path, .prompts = (const char *const *)sw->prompts, .n_prompts = sw->n_prompts,
        .plan_path = o->plan_file, .plan = &sw->plan, .target = o->target ? o->target : "attn.q",
        .layers = o->layers, .dim_block = sw->dim_block, .mode = o->mode, .match = o->match, .rng = o->rng,
        .with_bias = o->with_bias, .lesion_seed = o->lesion_seed, .n_seeds = sw->n_seeds,
        .eval_tokens = (int64_t)sw->n_eval, .ctx = sw->ctx, .gen_tokens = o->gen_tokens, .command = o->command,
        .interventions = (const char *const *)sw->iv_canon, .n_interventions = sw->n_wide,
        .has_resample = sw->has_resample, .ablate_seed = o->ablate_seed, .batch = o->batch,
        .probe_task = sw->probe ? o->probe : NULL, .probe_path = sw->probe_path, .probe_tokens = (int64_t)sw->n_probe,
        .probe_top = o->probe_top, .probe_buckets = o->probe_buckets,
    };
    cJSON *record = ls_sweep_record_new(&in, ls_sweep_dir_record(sw->dir), err);
    if (record && o->shard_count > 0) {
        cJSON *shard = cJSON_AddObjectToObject(record, "shard");
        cJSON_AddNumberToObject(shard, "index", o->shard_index);
        cJSON_AddNumberToObject(shard, "count", o->shard_count);
    }
    return record;
}

int ls_sweep_open_output(ls_sweep *sw, ls_error *err) {
    if (sw->dir) return ls_fail(err, "the sweep's output folder is already open");
    if (ls_sweep_dir_open(&sw->dir, sw->o.out_dir, err) != 0) return -1;
    cJSON *record = make_record(sw, err);
    if (!record) return -1;
    ls_sweep_dir_outcome outcome;
    int rc = ls_sweep_dir_prepare(sw->dir, record, sw->o.force, &outcome, err);
    cJSON_Delete(record);
    if (rc != 0) return outcome.refused ? LS_SWEEP_USAGE : -1;
    sw->resumed = outcome.resumed;
    snprintf(sw->moved_to, sizeof sw->moved_to, "%s", outcome.moved_to);
    return ls_sweep_dir_store(sw->dir, &sw->store, &sw->dropped, err);
}

int ls_sweep_open(ls_sweep **out, const ls_sweep_options *o, ls_error *err) {
    int rc = ls_sweep_new(out, o, err);
    if (rc != 0) return rc;
    if ((rc = ls_sweep_open_output(*out, err)) != 0) {
        ls_sweep_free(*out);
        *out = NULL;
    }
    return rc;
}

void ls_sweep_free(ls_sweep *sw) {
    if (!sw) return;
    ls_damage_row_free(&sw->row);
    ls_damage_free(sw->dmg);
    ls_store_close(sw->store);
    ls_sweep_dir_close(sw->dir);
    if (sw->overlay) ls_overlay_free(sw->overlay);
    for (int i = 0; i < sw->n_prompts; i++) {
        free(sw->prompts[i]);
        if (sw->prompt_ids) free(sw->prompt_ids[i]);
    }
    free(sw->prompts);
    free(sw->prompt_ids);
    free(sw->prompt_lens);
    free(sw->eval_path);
    free(sw->eval_ids);
    ls_plan_free(&sw->plan);
    ls_interventions_free(sw->iv);
    free(sw->iv_first);
    free(sw->iv_count);
    for (int i = 0; sw->iv_canon && i < sw->o.n_ablate; i++) free(sw->iv_canon[i]);
    free(sw->iv_canon);
    for (int i = 0; sw->ablate && i < sw->o.n_ablate; i++) free(sw->ablate[i]);
    free(sw->ablate);
    ls_probe_free(sw->probe);
    free(sw->probe_path);
    free(sw->probe_ids);
    for (int i = 0; i < sw->n_probe_sites; i++) free(sw->probe_sites[i]);
    free(sw->probe_sites);
    free(sw->probe_acc);
    ls_tokenizer_free(sw->tok);
    ls_model_close(sw->model);
    for (int i = 0; i < sw->n_strings; i++) free(sw->strings[i]);
    free(sw);
}

/* ---- rows ------------------------------------------------------------------ */

int ls_sweep_total(const ls_sweep *sw) { return 1 + (sw->plan.n - 1) * sw->n_seeds; }
int ls_sweep_configs(const ls_sweep *sw) { return sw->plan.n; }
int ls_sweep_seeds(const ls_sweep *sw) { return sw->n_seeds; }
int64_t ls_sweep_eval_tokens(const ls_sweep *sw) { return (int64_t)sw->n_eval; }
const char *ls_sweep_out_dir(const ls_sweep *sw) { return sw->o.out_dir; }
const char *ls_sweep_moved_to(const ls_sweep *sw) { return sw->moved_to; }
int ls_sweep_dropped_line(const ls_sweep *sw) { return sw->dropped; }
int ls_sweep_resumed(const ls_sweep *sw) { return sw->resumed; }

void ls_sweep_row_of(const ls_sweep *sw, int row, int *config, int *seed_index) {
    *config = row == 0 ? 0 : 1 + (row - 1) / sw->n_seeds;
    *seed_index = row == 0 ? 0 : (row - 1) % sw->n_seeds;
}

const char *ls_sweep_row_label(const ls_sweep *sw, int row) {
    int c, s;
    ls_sweep_row_of(sw, row, &c, &s);
    return sw->plan.labels[c];
}

void ls_sweep_key_of(const ls_sweep *sw, int row, char *buf, size_t cap) {
    int c, s;
    ls_sweep_row_of(sw, row, &c, &s);
    ls_sweep_row_key(buf, cap, c, s);
}

static int in_scope(const ls_sweep *sw, int row) {
    return sw->o.shard_count <= 0 || row % sw->o.shard_count == sw->o.shard_index;
}

static int stored(const ls_sweep *sw, int row) {
    char key[64];
    ls_sweep_key_of(sw, row, key, sizeof key);
    return sw->store && ls_store_has(sw->store, key);
}

void ls_sweep_counts(const ls_sweep *sw, int *done, int *total) {
    *done = *total = 0;
    for (int r = 0; r < ls_sweep_total(sw); r++)
        if (in_scope(sw, r)) {
            ++*total;
            *done += stored(sw, r);
        }
}

int ls_sweep_pending(const ls_sweep *sw, int **rows, int *n, ls_error *err) {
    *rows = NULL;
    *n = 0;
    if (!sw->store) return ls_fail(err, "the sweep's output folder is not open (ls_sweep_open_output)");
    int total = ls_sweep_total(sw);
    int *r = malloc((size_t)total * sizeof *r);
    if (!r) return ls_fail(err, "out of memory");
    for (int i = 0; i < total; i++)
        if (in_scope(sw, i) && !stored(sw, i)) r[(*n)++] = i;
    *rows = r;
    return 0;
}

static double since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* The clean pass: the residual stream entering every block and the clean
 * predictions, which every row compares against and restarts from. */
static int clean_pass(ls_sweep *sw, ls_error *err) {
    /* What mean and resample rules need, once, from the eval text on the clean weights. */
    if (!sw->fitted && ls_interventions_count(sw->iv) > 0) {
        ls_state *st = NULL;
        int rc = ls_state_new(&st, ls_model_config(sw->model), 1, sw->ctx, sw->o.n_threads, err);
        if (rc == 0) rc = ls_interventions_fit(sw->iv, st, &sw->clean, sw->eval_ids, (int64_t)sw->n_eval, sw->ctx, NULL, 0, err);
        ls_state_free(st);
        if (rc != 0) return -1;
    }
    sw->fitted = 1;
    ls_hooks base;
    ls_damage_setup su = {
        .tokens = sw->eval_ids, .n_tokens = (int64_t)sw->n_eval, .ctx = sw->ctx, .batch = sw->o.batch,
        .prompts = (const int32_t *const *)sw->prompt_ids, .prompt_lens = sw->prompt_lens, .n_prompts = sw->n_prompts,
        .gen_tokens = sw->o.gen_tokens, .sampler = {.temperature = 0.7f, .top_k = 40, .top_p = 1.0f, .seed = 1},
        .n_threads = sw->o.n_threads, .reuse_prefix = !sw->o.no_prefix_reuse, .hooks = row_hooks(sw, -1, &base),
    };
    if (ls_damage_new(&sw->dmg, &sw->clean, &su, err) != 0) return -1;
    if (ls_damage_row_alloc(sw->dmg, &sw->row) != 0) return ls_fail(err, "out of memory");
    return 0;
}

int ls_sweep_run_row(ls_sweep *sw, int row, char **line, ls_error *err) {
    *line = NULL;
    if (row < 0 || row >= ls_sweep_total(sw)) return ls_fail(err, "row %d is not in the sweep (0..%d)", row, ls_sweep_total(sw) - 1);
    if (!sw->dmg && clean_pass(sw, err) != 0) return -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int c, s;
    ls_sweep_row_of(sw, row, &c, &s);
    uint64_t seed = sw->o.lesion_seed + (uint64_t)s;
    ls_overlay_reset(sw->overlay);
    int rc = c > 0 ? apply_specs(sw, sw->plan.specs[c], seed, err) : 0;
    ls_weights view = ls_overlay_view(sw->overlay);
    ls_hooks hooks;
    const ls_hooks *h = row_hooks(sw, c, &hooks);
    if (rc == 0) rc = ls_damage_measure_hooked(sw->dmg, &view, h, &sw->row, err);
    /* The probes of this row's model: its weights and its interventions. */
    if (rc == 0 && sw->probe && (ls_probe_set_hooks(sw->probe, h, err) != 0 ||
                                 ls_probe_run(sw->probe, &view, sw->probe_acc, err) != 0))
        rc = ls_fail_context(err, "probe");
    ls_overlay_reset(sw->overlay);
    if (rc != 0) return -1;
    char **samples = calloc((size_t)sw->n_prompts, sizeof *samples);
    if (!samples) return ls_fail(err, "out of memory");
    for (int q = 0; q < sw->n_prompts && rc == 0; q++) {
        size_t len;
        char *raw = NULL;
        ls_error ignore;
        if (ls_tokenizer_decode(sw->tok, sw->row.gen_ids + (int64_t)q * sw->o.gen_tokens, (size_t)sw->row.gen_lens[q],
                                &raw, &len, &ignore) != 0)
            len = 0;
        samples[q] = ls_utf8_repair(raw ? raw : "", len); /* results.jsonl must be UTF-8 */
        free(raw);
        if (!samples[q]) rc = ls_fail(err, "out of memory");
    }
    ls_sweep_row_id id = {.config = c, .seed_index = s, .label = sw->plan.labels[c], .spec = sw->plan.specs[c],
                          .lesion_seed = seed, .probe_task = sw->probe ? sw->o.probe : NULL,
                          .probe_sites = (const char *const *)sw->probe_sites, .probe_accuracy = sw->probe_acc,
                          .n_probe_sites = sw->n_probe_sites};
    if (rc == 0 && !(*line = ls_sweep_row_json(&id, &sw->row, since(&t0), (const char *const *)samples, sw->n_prompts)))
        rc = ls_fail(err, "out of memory");
    for (int q = 0; q < sw->n_prompts; q++) free(samples[q]);
    free(samples);
    return rc;
}

int ls_sweep_append(ls_sweep *sw, int row, const char *line, ls_error *err) {
    if (!sw->store) return ls_fail(err, "the sweep's output folder is not open (ls_sweep_open_output)");
    char key[64];
    ls_sweep_key_of(sw, row, key, sizeof key);
    return ls_store_append(sw->store, key, line, err);
}

static int cancelled(const ls_sweep *sw) {
    return (sw->o.cancel && *sw->o.cancel) || (sw->o.cancelled && sw->o.cancelled(sw->o.user));
}

int ls_sweep_run(ls_sweep *sw, ls_error *err) {
    int *rows, n, done, total;
    if (ls_sweep_pending(sw, &rows, &n, err) != 0) return -1;
    ls_sweep_counts(sw, &done, &total);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (cancelled(sw)) {
            rc = LS_SWEEP_CANCELLED;
            break;
        }
        char *line;
        if (ls_sweep_run_row(sw, rows[i], &line, err) != 0 || ls_sweep_append(sw, rows[i], line, err) != 0) rc = -1;
        free(line);
        if (rc == 0 && sw->o.progress) sw->o.progress(sw->o.user, rows[i], ++done, total, ls_sweep_row_label(sw, rows[i]));
    }
    free(rows);
    return rc;
}

int ls_sweep_finish(ls_sweep *sw, void **summary, ls_error *err) {
    if (summary) *summary = NULL;
    if (!sw->store) return ls_fail(err, "the sweep's output folder is not open (ls_sweep_open_output)");
    int n = ls_store_count(sw->store);
    const char **rows = malloc((size_t)n * sizeof *rows + 1);
    if (!rows) return ls_fail(err, "out of memory");
    for (int i = 0; i < n; i++) rows[i] = ls_store_row(sw->store, i);
    int rc = ls_sweep_write_outputs(sw->o.out_dir, ls_sweep_dir_record(sw->dir), rows, n, summary, err);
    free(rows);
    return rc;
}
