/* experiment.h: measuring what a lesion does.
 *
 * Held-out text is scored in sliding windows (ls_windows): every token but
 * the first is predicted exactly once, and after the first window each
 * prediction sees at least ctx - stride tokens of context. The same windows
 * serve `lesion eval` and the sweep's damage metrics. */
#ifndef LESION_EXPERIMENT_H
#define LESION_EXPERIMENT_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

/* One window: tokens [start, start+len) are run; the predictions at window
 * positions score_from..len-2 are scored (position t predicts token start+t+1). */
typedef struct ls_window {
    int64_t start;
    int len;
    int score_from;
} ls_window;

/* Plans the windows over n tokens (n >= 2). *out is malloc'd. */
int ls_windows(int64_t n_tokens, int ctx, int stride, ls_window **out, int *n_windows, ls_error *err);

typedef struct ls_eval_result {
    double nll_sum;      /* nats, summed over scored tokens */
    int64_t n_scored;
} ls_eval_result;

/* Scores tokens with the model in batches of windows; the state must hold
 * max_batch windows of ctx positions. */
int ls_eval_tokens(ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n_tokens, int ctx, int stride,
                   ls_eval_result *res, ls_error *err);

/* What `lesion eval` reports of a text (its --json keys, less "file"). */
typedef struct ls_text_eval {
    int64_t tokens;        /* tokens of the text that were scored over (after max_tokens) */
    int64_t scored_tokens; /* predictions scored: tokens - 1 */
    int64_t bytes;         /* bytes those tokens cover */
    double cross_entropy;  /* nats per scored token */
    double perplexity;     /* exp(cross_entropy) */
    double bits_per_byte;  /* all nats / ln 2 / bytes: comparable across tokenizers */
    int ctx, stride;       /* the windows used */
} ls_text_eval;

/* Scores len bytes of text as `lesion eval` does: encoded as the model's
 * input, cut to its first max_tokens tokens (0: all; bytes then counts only
 * the bytes they decode to), in windows of ctx tokens (0: the model's
 * context) every stride tokens (0: ctx / 2). The state must hold its
 * max_batch windows of ctx positions. ids (may be NULL) receives the scored
 * tokens (malloc'd, out->tokens of them). */
int ls_eval_text(ls_state *s, const ls_weights *w, const ls_tokenizer *tok, const char *text, size_t len,
                 int ctx, int stride, int64_t max_tokens, ls_text_eval *out, int32_t **ids, ls_error *err);

/* ---- how a model uses its context (context.c) --------------------------- */

/* Cross-entropy by position in the window and per-head attention summaries
 * over disjoint windows of ctx tokens (position t of each window predicts
 * from exactly t+1 tokens). See context.c for the definitions. */
typedef struct ls_context_stats ls_context_stats;

/* Queries before min_pos are left out of the attention summaries (their
 * rows have too few keys for a normalised entropy to mean much). */
#define LS_CONTEXT_MIN_POS 16
/* The in-context score needs the last quarter of the window past position 32. */
#define LS_CONTEXT_SCORE_MIN_CTX 64
/* ls_context_head_offset's answers besides an offset >= 0. */
#define LS_OFFSET_FIRST (-1) /* the first position of the window */
#define LS_OFFSET_NONE (-2)  /* nothing measured */

/* attention: also summarise attention (the state must track it: ls_state_track_attention). */
int ls_context_stats_new(ls_context_stats **out, const ls_config *cfg, int ctx, int min_pos, int attention,
                         ls_error *err);
void ls_context_stats_free(ls_context_stats *st);
int ls_context_stats_ctx(const ls_context_stats *st);
int ls_context_stats_min_pos(const ls_context_stats *st);
int64_t ls_context_stats_windows(const ls_context_stats *st);
int ls_context_stats_has_attention(const ls_context_stats *st);

/* Runs floor((n_tokens - 1) / ctx) disjoint windows through w (batched as
 * the state allows) and accumulates both diagnostics into st. */
int ls_context_measure(ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n_tokens,
                       ls_context_stats *st, ls_error *err);
/* Accumulates the attention rows of layers [layer_from, layer_to) that the
 * state's last ls_block calls wrote for B windows of T = ctx positions. */
void ls_context_add_attention(ls_context_stats *st, const ls_state *s, int B, int T, int layer_from, int layer_to);

/* Mean cross-entropy (nats) over positions t_lo..t_hi (inclusive); NaN if none. */
double ls_context_loss(const ls_context_stats *st, int t_lo, int t_hi);
/* The in-context score: loss over the last quarter of the positions minus
 * loss over positions 16..32 (negative: more context, better predictions).
 * NaN when ctx < LS_CONTEXT_SCORE_MIN_CTX. */
double ls_context_score(const ls_context_stats *st);
/* Mean normalised attention entropy (0 = one key, 1 = uniform) of a head,
 * and the mean over a layer's heads; NaN without attention data. */
double ls_context_head_entropy(const ls_context_stats *st, int layer, int head);
double ls_context_layer_entropy(const ls_context_stats *st, int layer);
/* A head's most frequent most-attended relative offset (0 = self, 1 =
 * previous token, ...), LS_OFFSET_FIRST for the window's first position, or
 * LS_OFFSET_NONE; *share is the fraction of rows that chose it. */
int ls_context_head_offset(const ls_context_stats *st, int layer, int head, double *share);

/* ---- damage metrics (damage.c) ------------------------------------------ */

typedef struct ls_damage_setup {
    const int32_t *tokens;   /* eval text; scored as floor(n_tokens / ctx) chunks of ctx tokens */
    int64_t n_tokens;
    int ctx;
    int batch;               /* chunks per forward batch */
    const int32_t *const *prompts; /* generation prompts (token ids) */
    const int *prompt_lens;
    int n_prompts;
    int gen_tokens;          /* tokens generated per prompt */
    ls_sampler sampler;      /* prompt p samples with seed sampler.seed + p */
    int n_threads;
    int reuse_prefix;        /* 1: restart from the first changed block (default); 0: full recompute */
    const ls_hooks *hooks;   /* NULL, or activation interventions in force in every pass, the clean pass
                                included: the baseline is then "clean + these" (the fluency judge stays
                                the untouched clean model); copied, its ctx must outlive the ls_damage */
} ls_damage_setup;

/* One measurement of a weights view against the clean model. */
typedef struct ls_damage_row {
    double cross_entropy;    /* held-out nats per token */
    double perplexity;
    double kl;               /* mean KL(clean || lesioned) of next-token distributions, nats */
    double top1;             /* fraction of positions whose argmax equals the clean argmax */
    double gen_ppl;          /* fluency: clean-model perplexity of the generated tokens (mean over prompts) */
    double rep4;             /* fraction of repeated 4-grams in generations (mean over prompts) */
    double distinct2;        /* distinct bigrams / bigrams (mean over prompts) */
    int first_layer;         /* first recomputed block (prefix reuse) */
    int n_layer;             /* L: the length of attn_entropy */
    double *attn_entropy;    /* (L) mean normalised attention entropy of each layer over the eval windows
                                (queries at positions >= 16; context.c); layers before first_layer: the clean values */
    int32_t *gen_ids;        /* (n_prompts, gen_tokens) generated ids */
    int *gen_lens;           /* (n_prompts) */
} ls_damage_row;

typedef struct ls_damage ls_damage;
/* Runs and caches the clean pass (and measures the clean model itself). */
int ls_damage_new(ls_damage **out, const ls_weights *clean, const ls_damage_setup *setup, ls_error *err);
void ls_damage_free(ls_damage *d);
const ls_damage_row *ls_damage_clean(const ls_damage *d);
int ls_damage_row_alloc(const ls_damage *d, ls_damage_row *row);
void ls_damage_row_free(ls_damage_row *row);
/* Measures a weights view (clean or an overlay of the same model). */
int ls_damage_measure(ls_damage *d, const ls_weights *w, ls_damage_row *row, ls_error *err);
/* The same with hooks (NULL: the setup's) in force instead of the setup's:
 * they must do everything the setup's hooks do (the cached prefix holds
 * their effect), and hooks->first_write_layer is the earliest layer where
 * they differ from them: prefix reuse restarts there or at the first
 * changed weight, whichever comes first. */
int ls_damage_measure_hooked(ls_damage *d, const ls_weights *w, const ls_hooks *hooks, ls_damage_row *row,
                             ls_error *err);

/* ---- results store (store.c) ------------------------------------------- */

/* Append-only JSONL with one row per unique "key". An open store holds an
 * exclusive lock on the file until closed: a second open fails instead of
 * merging. Opening never follows a symbolic link. A line that is not a row
 * (not a JSON object with a string "key") is cut off when it is the last
 * line (a torn write: *dropped_line gets its 1-based number, else 0); a bad
 * line with rows after it is an error naming the line, and nothing is cut. */
typedef struct ls_store ls_store;
int ls_store_open(ls_store **out, const char *path, int *dropped_line, ls_error *err);
/* The rows of a store that another process may be writing: read-only, no
 * lock, nothing cut; a bad last line is ignored (*ignored_line, else 0). */
int ls_store_read(ls_store **out, const char *path, int *ignored_line, ls_error *err);
int ls_store_has(const ls_store *s, const char *key);
int ls_store_count(const ls_store *s);
const char *ls_store_row(const ls_store *s, int i);
/* Appends row (a JSON object on one line, without newline) and flushes it to disk. */
int ls_store_append(ls_store *s, const char *key, const char *row, ls_error *err);
void ls_store_close(ls_store *s);

/* ---- statistics (stats.c) ---------------------------------------------- */

/* Mean, sample standard deviation and Student-t 95% confidence interval. */
typedef struct ls_summary {
    int n;
    double mean, sd, lo, hi;
} ls_summary;
ls_summary ls_summarize(const double *x, int n);

/* The scale a metric's interval is computed on, so that it stays inside
 * what the metric can be (docs/sweep.md gives the reasons):
 *   LINEAR   raw values, the interval cut at lower (cross-entropy >= 0);
 *   LOG      log x, back with exp (perplexities: exp of a cross-entropy);
 *   SQRT     sqrt x, cut at 0, back squared (KL >= 0, and 0 allowed);
 *   ANGULAR  asin(sqrt x), cut to [0, pi/2], back with sin^2 (fractions in [0, 1]). */
typedef enum ls_scale { LS_SCALE_LINEAR, LS_SCALE_LOG, LS_SCALE_SQRT, LS_SCALE_ANGULAR } ls_scale;
const char *ls_scale_name(ls_scale s);

/* A metric over noise seeds: the arithmetic mean and sd of the raw values;
 * the center (the mean on the interval's scale, transformed back: what
 * tables and plots show and bands use); the 95% interval around it (only
 * when has_interval, i.e. n >= 2; one value has no interval, not a zero-
 * width one). Identical values give center = that value exactly. */
typedef struct ls_estimate {
    int n;
    double mean, sd, center, lo, hi;
    int has_interval;
} ls_estimate;
ls_estimate ls_estimate_on(const double *x, int n, ls_scale scale, double lower);

/* Seeds below this make intervals and the transition's bootstrap rough. */
#define LS_ROUGH_BELOW_SEEDS 5

/* Fraction of the k-grams of ids that already occurred earlier in ids (repetition). */
double ls_repeated_ngram_fraction(const int32_t *ids, int n, int k);
/* Distinct k-grams / all k-grams (diversity; "distinct-2" for k = 2). */
double ls_distinct_ngrams(const int32_t *ids, int n, int k);

/* Where an ordered series of configurations jumps most. values is
 * (n_configs, n_seeds), NaN for missing; step c means "between c-1 and c". */
typedef struct ls_transition {
    int step;          /* -1 if fewer than 2 configurations */
    double jump;       /* increase of the mean at that step */
    double jump_lo, jump_hi; /* bootstrap 95% interval of that increase */
    double agreement;  /* fraction of bootstrap resamples locating the largest jump at the same step */
} ls_transition;
ls_transition ls_find_transition(const double *values, int n_configs, int n_seeds, uint64_t seed);

/* ---- sweep plans (sweep_plan.c) ---------------------------------------- */

typedef enum ls_plan_kind {
    LS_PLAN_CUMULATIVE, /* L0, L0-1, ... (over the chosen layers) */
    LS_PLAN_REVERSE,    /* from the last layer down */
    LS_PLAN_SINGLE,     /* each layer alone */
    LS_PLAN_HEADS,      /* each head of each layer */
    LS_PLAN_DIMS,       /* blocks of dims (D), per layer or model-wide */
    LS_PLAN_FILE        /* one configuration per line of a file */
} ls_plan_kind;
const char *ls_plan_kind_name(ls_plan_kind k);

/* A plan: configuration i is labels[i] with lesion specs specs[i] (';'
 * separated); configuration 0 is the clean model ("clean", ""). */
typedef struct ls_plan {
    ls_plan_kind kind;
    int ordered;               /* a series (cumulative, reverse): the transition is located */
    char **labels, **specs;
    int n, cap;
    int *grid_row, *grid_col;  /* [n] heads plan: position in the layer x head grid, else -1 */
    int grid_rows, grid_cols;  /* heads plan: chosen layers x heads; else 0 */
    int *grid_layers;          /* [grid_rows] the layer of each grid row */
} ls_plan;

typedef struct ls_plan_request {
    const char *name;    /* cumulative (default), reverse, single, heads, dims */
    const char *target;  /* a component (default attn.q), no selector */
    const char *layers;  /* NULL: all layers; else a list, e.g. "0-3,5" */
    int dim_block;       /* dims plan: dims per configuration (default 64) */
} ls_plan_request;

int ls_plan_build(ls_plan *p, const ls_config *cfg, const ls_plan_request *req, ls_error *err);
/* A plan file's text (one configuration per line: specs separated by ';';
 * '#' starts a comment). Errors name path and line: NUL bytes, bad specs,
 * and unless allow_duplicates a configuration listed twice or two specs of
 * one line touching the same weights. */
int ls_plan_parse_file(ls_plan *p, const ls_config *cfg, const char *path, const char *text, size_t len,
                       int allow_duplicates, ls_error *err);
void ls_plan_free(ls_plan *p);
/* A plan-file item that is an activation intervention rather than a lesion
 * spec: "ablate:SITE" (zero), "ablate-mean:SITE" or "ablate-resample:SITE"
 * (mean and resample over the sweep's eval text). 1 with *where and *op
 * filled; 0 if text is not one (a lesion spec); -1 with err for a bad
 * intervention, "patch:..." (not supported in a sweep) or an unknown
 * "word:" prefix. */
int ls_plan_intervention(const ls_config *cfg, const char *text, ls_site_spec *where, ls_act_op *op, ls_error *err);
/* Its canonical text ("ablate-mean:attn.z@L1H2"), as snprintf. */
int ls_plan_intervention_format(const ls_site_spec *where, ls_act_op op, char *buf, size_t cap);

/* ---- sweep identity (sweep_identity.c) ----------------------------------- */

/* What defines a sweep's rows. Inputs are named by content: the model's
 * weights, config and tokenizer files and the eval text are hashed; the
 * prompts and the plan are kept themselves. Paths, --threads, --batch and
 * --weights f32-copy change no number and are not part of the identity. */
typedef struct ls_sweep_inputs {
    const char *model_dir;
    const char *weights;            /* "f32" or "bf16" */
    const char *compute;            /* "f32" or "bf16" (--compute bf16 rounds activations too) */
    const char *eval_path;
    const char *prompts_path;       /* NULL: the built-in prompts */
    const char *const *prompts;
    int n_prompts;
    const char *plan_path;          /* NULL: a generated plan */
    const ls_plan *plan;
    const char *target, *layers;    /* generated plans: what built them */
    int dim_block;
    const char *mode, *match, *rng;
    int with_bias, allow_duplicates;
    uint64_t lesion_seed;
    const char *const *interventions; /* sweep-wide activation interventions, canonical ("ablate-mean:attn.z@L1H2") */
    int n_interventions;
    int has_resample;               /* some intervention (sweep-wide or in the plan) resamples: the seed counts */
    uint64_t ablate_seed;
    int batch;                      /* only with has_resample: a draw depends on the window's place in its batch */
    const char *probe_task;         /* NULL: no probe */
    const char *probe_path;         /* the probe text */
    int64_t probe_tokens;           /* tokens used (train + test) */
    int probe_top, probe_buckets;
    int n_seeds;                    /* seeds of each lesioned configuration (the clean one runs once) */
    int64_t eval_tokens;
    int ctx, gen_tokens;
    const char *command;            /* provenance only: the command line */
} ls_sweep_inputs;

/* The record written as sweep.json (a cJSON object; caller deletes). old
 * (a previous record, or NULL) lends its file stamps: a file whose stamp is
 * unchanged is not hashed again. */
void *ls_sweep_record_new(const ls_sweep_inputs *in, const void *old, ls_error *err);
/* 0 if old and now have the same identity; else 1, and why says in one
 * line which input differs ("the eval text changed (path)"). */
int ls_sweep_record_diff(const void *old, const void *now, char *why, size_t cap);
/* Rows a complete sweep of this record has: 1 + (configurations - 1) * seeds. */
int ls_sweep_record_rows(const void *record);

/* ---- the output folder (sweep_dir.c) ------------------------------------- */

/* A sweep's --out, locked for one writer from open to close (the lock holds
 * against --force, and dies with the process). */
typedef struct ls_sweep_dir ls_sweep_dir;
int ls_sweep_dir_open(ls_sweep_dir **out, const char *dir, ls_error *err);
/* The sweep.json found there (a cJSON object owned by d), or NULL. */
const void *ls_sweep_dir_record(const ls_sweep_dir *d);

typedef struct ls_sweep_dir_outcome {
    int resumed;          /* the folder held this same sweep */
    int refused;          /* failed because the folder holds something else: the user's to resolve (a usage error) */
    char moved_to[4096];  /* with force: where the previous files went, or "" */
} ls_sweep_dir_outcome;

/* Makes the folder ready for the sweep of record: an empty folder, or one
 * holding the same sweep, is used as is; anything else (another sweep, other
 * files, an output name that is a symbolic link) is refused, unless force,
 * which moves the files lesion would write into DIR/replaced-<time>/ and
 * starts over. Writes sweep.json. */
int ls_sweep_dir_prepare(ls_sweep_dir *d, const void *record, int force, ls_sweep_dir_outcome *outcome, ls_error *err);
/* Opens DIR/results.jsonl (see ls_store_open). */
int ls_sweep_dir_store(ls_sweep_dir *d, ls_store **store, int *dropped_line, ls_error *err);
const char *ls_sweep_dir_path(const ls_sweep_dir *d);
void ls_sweep_dir_close(ls_sweep_dir *d);

/* ---- rows (sweep_rows.c) -------------------------------------------------- */

/* "c<config>-s<seed index>": a row's key in results.jsonl. */
void ls_sweep_row_key(char *buf, size_t cap, int config, int seed_index);
/* How many of a plan's rows (config 0 once, the others n_seeds times) the store holds. */
int ls_sweep_rows_done(const ls_store *s, int n_configs, int n_seeds);

typedef struct ls_sweep_row_id {
    int config, seed_index;
    const char *label, *spec;
    uint64_t lesion_seed;
    const char *probe_task;           /* NULL: the row has no probe */
    const char *const *probe_sites;   /* (n_probe_sites) "resid_post@L3" */
    const double *probe_accuracy;     /* (n_probe_sites) held-out accuracy */
    int n_probe_sites;
} ls_sweep_row_id;
/* The row as one line of JSON (malloc'd; NULL when out of memory). samples
 * must be valid UTF-8 (results.jsonl is). */
char *ls_sweep_row_json(const ls_sweep_row_id *id, const ls_damage_row *r, double secs, const char *const *samples,
                        int n_samples);

/* ---- summary (summary.c) -------------------------------------------------- */

/* What the summary needs to know about the sweep besides its rows. */
typedef struct ls_sweep_meta {
    const char *model, *plan, *target, *mode, *match;
    int n_seeds;
    int64_t eval_tokens;
    const char *const *prompts;
    int n_prompts;
    const char *const *labels;  /* [n_configs]; config 0 is the clean model */
    const char *const *specs;   /* [n_configs] */
    int n_configs;
    int ordered;                /* configurations form a series (cumulative, reverse): locate the transition */
    int heads_layers, heads_per_layer; /* heads plan: configs 1.. are (layer, head) in order */
    const int *heads_layer_ids; /* [heads_layers] the layer of each grid row; NULL: 0, 1, ... */
    const void *record;         /* sweep.json (cJSON) for provenance: command, rng, seeds, hashes; may be NULL */
} ls_sweep_meta;

extern const char *const ls_band_names[4];
const char *ls_band_rule(void);
/* Band index 0..3 (about normal, meaning lost, repetitive or confused, noise). */
int ls_band(double ppl, double top1, double gen_ppl, double rep4, double clean_ppl, double clean_gen_ppl,
            double clean_rep4);

/* Aggregates rows (JSON objects with "config", "seed_index", the metric
 * fields and "samples") into the summary (a cJSON object; caller deletes). */
void *ls_sweep_summarize(const ls_sweep_meta *meta, const char *const *rows, int n_rows, ls_error *err);

/* From a sweep's record (sweep.json) and rows: the summary (returned in
 * *summary if not NULL, else deleted) and dir/summary.json, dir/results.csv
 * and dir/report.html, each written atomically. Rows may be fewer than the
 * record's: the summary and report then say "partial: N of M rows". */
int ls_sweep_write_outputs(const char *dir, const void *record, const char *const *rows, int n_rows, void **summary,
                           ls_error *err);
/* The summary alone (nothing written): a cJSON object, or NULL with err. */
void *ls_sweep_summary_of(const void *record, const char *const *rows, int n_rows, ls_error *err);
/* The CSV of rows (one column per scalar field), written atomically. */
int ls_sweep_write_csv(const char *path, const char *const *rows, int n_rows, ls_error *err);

/* ---- report (report.c) --------------------------------------------------- */

/* Renders report.html (self-contained: inline SVG plots, band table,
 * samples) from a sweep's summary (a cJSON object as in summary.json). */
int ls_report_write(const char *path, const void *summary_json, ls_error *err);
/* One page comparing several sweeps of the same model and eval text (for
 * example attn.q, attn.k and mlp.fc cumulative): each metric's plot holds
 * one series per sweep, configurations matched by label, and one table.
 * names[i] labels sweep i (e.g. its folder). Refused when the sweeps' model
 * or eval text differ. */
int ls_report_compare_write(const char *path, const void *const *summaries, const char *const *names, int n,
                            ls_error *err);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
