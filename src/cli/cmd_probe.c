/* cmd_probe.c: `lesion probe`: linear probes on activations, clean vs lesioned.
 *
 * For each --site, a linear classifier learns the --task's label from the
 * activations of a train text and is scored on a held-out test text; the
 * table gives its accuracy beside chance (1 / classes), the majority
 * baseline (always answering the train text's most frequent class) and the
 * current-token baseline (answering the most frequent class for the
 * current token: for prev-token, what bigram statistics give without any
 * attention). With --lesion, the same on the lesioned model, with probes
 * trained on it (default) or, with --probe-from clean, the clean model's
 * probes reading the lesioned activations.
 *
 * Texts: --train F (default: the model's heldout.txt), first --max-tokens
 * tokens. Without --test, its first 80% of tokens train and its last 20%
 * test. --labels F gives one label per token of the --train file (and
 * --test-labels of the --test file); include/lesion/probe.h and
 * docs/probes.md give the format. The probing itself is the library's
 * (src/experiment/probe.c); this file parses, reads files and prints. */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"task", "TASK", "prev-token (default: the previous token), token (the current one), position (bucket of the window position) or labels (--labels F)"},
    {"site", "SITE", "activations to probe, in the site grammar of `lesion activations` (any per-layer site but attn.pattern; H selects heads), e.g. resid_post@L5, attn.z@L1H2, mlp.post@all; repeatable (default resid_pre@L0 and resid_post@all)"},
    {"train", "F", "text the probes learn from (default: the model's heldout.txt)"},
    {"test", "F", "held-out text they are scored on (default: the last 20% of the --train tokens, the first 80% training)"},
    {"max-tokens", "N", "use only the first N tokens of each text (default 16384)"},
    {"ctx", "N", "window length in tokens (default: the model's context)"},
    {"top", "N", "prev-token and token: classes are the N most frequent tokens of the train text (default 16)"},
    {"buckets", "N", "position: number of equal position buckets in the window (default 8)"},
    {"labels", "F", "labels task: one label per line for each token of the --train text, - to leave a token out"},
    {"test-labels", "F", "labels task with --test: the same for the --test text"},
    {"probe-from", "clean|lesioned", "with --lesion: train the lesioned model's probes on the lesioned model (default) or on the clean one"},
    {"batch", "B", "windows per forward batch (default 8)"},
    {"json", NULL, "print one JSON object"},
    CLI_LESION_OPTS,
    {0},
};

#define TRAIN_SHARE_NUM 8 /* without --test: the first 8/10 of the tokens train */
#define TRAIN_SHARE_DEN 10

/* One text: its tokens and, for the labels task, its labels. */
typedef struct text {
    const char *path;
    int32_t *ids;
    size_t n;        /* tokens used (after --max-tokens) */
    int32_t *labels; /* (n) or NULL */
} text;

static int read_text(const char *cmd, const ls_tokenizer *tok, const char *path, int is_default,
                     const char *labels_path, ls_label_names *names, long long max_tokens, text *t) {
    char *data = NULL;
    size_t len;
    ls_error err;
    t->path = path;
    if (ls_read_file(path, &data, &len, &err) != 0)
        return cli_error(cmd, 1, "%s%s", err.msg, is_default ? " (the model's held-out text; give --train F)" : "");
    int rc = ls_tokenizer_encode(tok, data, len, &t->ids, &t->n, &err);
    free(data);
    if (rc != 0) return cli_error(cmd, 1, "%s: %s", path, err.msg);
    if (labels_path) {
        t->labels = malloc((t->n ? t->n : 1) * sizeof *t->labels);
        if (!t->labels) return cli_error(cmd, 1, "out of memory");
        if (ls_read_file(labels_path, &data, &len, &err) != 0) return cli_error(cmd, 1, "%s", err.msg);
        rc = ls_probe_labels_parse(data, len, (int64_t)t->n, names, t->labels, &err);
        free(data);
        if (rc != 0) return cli_error(cmd, 1, "%s: %s (the tokens of %s)", labels_path, err.msg, path);
    }
    if ((size_t)max_tokens < t->n) t->n = (size_t)max_tokens;
    return 0;
}

/* A token's text for the table: quoted, with newlines and tabs escaped. */
static void token_label(const ls_tokenizer *tok, int32_t id, char *out, size_t cap) {
    char *s = NULL;
    size_t len = 0, k = 0;
    ls_error err;
    if (ls_tokenizer_decode(tok, &id, 1, &s, &len, &err) != 0) len = 0;
    out[k++] = '"';
    for (size_t i = 0; i < len && k + 4 < cap; i++) {
        char c = s[i];
        if (c == '\n' || c == '\t' || c == '"' || c == '\\') {
            out[k++] = '\\';
            c = c == '\n' ? 'n' : c == '\t' ? 't' : c;
        }
        out[k++] = c;
    }
    out[k++] = '"';
    out[k] = 0;
    free(s);
}

/* The name of class c: its token, its label name, or its bucket of positions. */
static void class_name(const ls_probe *p, ls_probe_task task, const ls_tokenizer *tok, const ls_label_names *names,
                       int ctx, int buckets, int c, char *out, size_t cap) {
    if (task == LS_PROBE_PREV_TOKEN || task == LS_PROBE_TOKEN) token_label(tok, ls_probe_class_tokens(p)[c], out, cap);
    else if (task == LS_PROBE_LABELS) snprintf(out, cap, "%s", names->name[c]);
    else {
        /* Bucket c holds the positions t with t * buckets / ctx == c. */
        int lo = (c * ctx + buckets - 1) / buckets, hi = ((c + 1) * ctx + buckets - 1) / buckets - 1;
        snprintf(out, cap, "positions %d-%d", lo, hi);
    }
}

/* Sites one run may probe: every per-layer site of a deep model, about. */
#define PROBE_MAX_SITES (16 * LS_MAX_LAYERS)

/* Everything one invocation reads, builds and measures. */
typedef struct run {
    ls_probe_task task;
    int threads;
    long long max_tokens, ctx, top, buckets, batch;
    const char *labels_path, *test_labels_path, *test_path, *probe_from;
    char heldout[4200];                /* the default --train: the model's heldout.txt */
    ls_model *model;
    ls_tokenizer *tok;
    ls_probe_site *sites;
    int n_sites;
    ls_label_names names;
    text train, test;
    size_t n_train;                    /* tokens of train.ids that train (the rest test, without --test) */
    const char *test_file;
    size_t test_from, test_to;         /* the test tokens within test_file */
    cli_weights w;
    ls_probe *p;
    double *clean, *lesioned;          /* (n_sites) accuracies; lesioned only with --lesion */
} run;

/* The flags that need no model: the task and which files go with it. */
static int parse_flags(const cli_args *a, run *r) {
    ls_error err;
    if (cli_threads(a, &r->threads) || cli_int(a, "max-tokens", 16384, 2, INT64_MAX, &r->max_tokens) ||
        cli_int(a, "ctx", 0, 1, LS_MAX_CTX, &r->ctx) || cli_int(a, "top", 16, 2, 65536, &r->top) ||
        cli_int(a, "buckets", 8, 2, LS_MAX_CTX, &r->buckets) || cli_int(a, "batch", 8, 1, 1024, &r->batch))
        return 2;
    if (ls_probe_task_parse(cli_str(a, "task", "prev-token"), &r->task, &err) != 0)
        return cli_error(a->cmd, 2, "--task: %s", err.msg);
    r->labels_path = cli_str(a, "labels", NULL);
    r->test_labels_path = cli_str(a, "test-labels", NULL);
    r->test_path = cli_str(a, "test", NULL);
    if (r->task == LS_PROBE_LABELS && !r->labels_path) return cli_error(a->cmd, 2, "--task labels needs --labels F");
    if (r->task != LS_PROBE_LABELS && (r->labels_path || r->test_labels_path))
        return cli_error(a->cmd, 2, "--labels and --test-labels go with --task labels");
    if (r->test_labels_path && !r->test_path) return cli_error(a->cmd, 2, "--test-labels needs --test F");
    if (r->task == LS_PROBE_LABELS && r->test_path && !r->test_labels_path)
        return cli_error(a->cmd, 2, "--task labels with --test needs --test-labels F");
    r->probe_from = cli_str(a, "probe-from", "lesioned");
    if (strcmp(r->probe_from, "clean") != 0 && strcmp(r->probe_from, "lesioned") != 0)
        return cli_error(a->cmd, 2, "--probe-from %s: expected clean or lesioned", r->probe_from);
    if (cli_has(a, "probe-from") && !cli_has(a, "lesion"))
        return cli_error(a->cmd, 2, "--probe-from has no effect without --lesion SPEC");
    return 0;
}

/* With the model open: sites, window, lesions, texts, and the prepared probe. */
static int prepare(const cli_args *a, run *r) {
    const ls_config *cfg = ls_model_config(r->model);
    ls_error err;
    int rc;
    r->sites = malloc(PROBE_MAX_SITES * sizeof *r->sites);
    if (!r->sites) return cli_error(a->cmd, 1, "out of memory");
    const char *specs[CLI_MAX_VALUES];
    int n_specs = cli_all(a, "site", specs, CLI_MAX_VALUES);
    if (n_specs == 0) { /* the embedding, then the stream after every block */
        specs[n_specs++] = "resid_pre@L0";
        specs[n_specs++] = "resid_post@all";
    }
    for (int i = 0; i < n_specs; i++)
        if (ls_probe_site_parse(cfg, specs[i], r->sites, PROBE_MAX_SITES, &r->n_sites, &err) != 0)
            return cli_error(a->cmd, 2, "--site: %s", err.msg);
    if (r->ctx == 0) r->ctx = cfg->n_ctx;
    if (r->ctx > cfg->n_ctx)
        return cli_error(a->cmd, 2, "--ctx %lld: expected at most the model's context, %d", r->ctx, cfg->n_ctx);
    if (r->task == LS_PROBE_POSITION && r->buckets > r->ctx)
        return cli_error(a->cmd, 2, "--buckets %lld: expected at most the window of %lld positions", r->buckets,
                         r->ctx);
    if ((rc = cli_weights_build(a, r->model, &r->w))) return rc;

    snprintf(r->heldout, sizeof r->heldout, "%s/heldout.txt", ls_model_dir(r->model));
    if ((rc = read_text(a->cmd, r->tok, cli_str(a, "train", r->heldout), !cli_has(a, "train"), r->labels_path, &r->names,
                        r->max_tokens, &r->train)))
        return rc;
    if (r->test_path && (rc = read_text(a->cmd, r->tok, r->test_path, 0, r->test_labels_path, &r->names,
                                        r->max_tokens, &r->test)))
        return rc;
    /* Without --test, the train text's last 20% of tokens are the test text. */
    const int split = r->test_path == NULL;
    r->n_train = split ? r->train.n * TRAIN_SHARE_NUM / TRAIN_SHARE_DEN : r->train.n;
    r->test_file = split ? r->train.path : r->test_path;
    r->test_from = split ? r->n_train : 0;
    r->test_to = split ? r->train.n : r->test.n;
    const text *te = split ? &r->train : &r->test;
    ls_probe_setup su = {.task = r->task, .train_tokens = r->train.ids, .n_train = (int64_t)r->n_train,
                         .test_tokens = te->ids + r->test_from, .n_test = (int64_t)(r->test_to - r->test_from),
                         .ctx = (int)r->ctx, .top = (int)r->top, .buckets = (int)r->buckets,
                         .train_labels = r->train.labels, .test_labels = te->labels ? te->labels + r->test_from : NULL,
                         .sites = r->sites, .n_sites = r->n_sites, .batch = (int)r->batch, .n_threads = r->threads};
    r->clean = calloc((size_t)r->n_sites, sizeof *r->clean);
    r->lesioned = calloc((size_t)r->n_sites, sizeof *r->lesioned);
    if (!r->clean || !r->lesioned) return cli_error(a->cmd, 1, "out of memory");
    if (ls_probe_new(&r->p, cfg, &su, &err) != 0) {
        if (r->test_path) return cli_error(a->cmd, 1, "--train %s, --test %s: %s", r->train.path, r->test_path, err.msg);
        return cli_error(a->cmd, 1, "%s: %s", r->train.path, err.msg);
    }
    return 0;
}

/* Clean probes on the clean model; with --lesion, the lesioned model read by
 * its own probes or by the clean ones. */
static int measure(const char *cmd, run *r) {
    ls_error err;
    if (ls_probe_run(r->p, &r->w.clean, r->clean, &err) != 0) return cli_error(cmd, 1, "clean model: %s", err.msg);
    if (r->w.n_specs == 0) return 0;
    int rc = strcmp(r->probe_from, "clean") == 0 ? ls_probe_score(r->p, &r->w.view, r->lesioned, &err)
                                                 : ls_probe_run(r->p, &r->w.view, r->lesioned, &err);
    return rc ? cli_error(cmd, 1, "lesioned model: %s", err.msg) : 0;
}

static cJSON *text_json(const char *file, size_t from, size_t to, int64_t samples) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddNumberToObject(o, "from_token", (double)from);
    cJSON_AddNumberToObject(o, "tokens", (double)(to - from));
    cJSON_AddNumberToObject(o, "samples", (double)samples);
    return o;
}

static void print_json(const run *r, double chance, double maj, const char *maj_name, double tok_base) {
    const int lesioned = r->w.n_specs > 0;
    char site[128];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", ls_model_dir(r->model));
    cJSON_AddStringToObject(o, "task", ls_probe_task_name(r->task));
    cJSON_AddItemToObject(o, "train", text_json(r->train.path, 0, r->n_train, ls_probe_train_samples(r->p)));
    cJSON_AddItemToObject(o, "test", text_json(r->test_file, r->test_from, r->test_to, ls_probe_test_samples(r->p)));
    cJSON_AddNumberToObject(o, "ctx", (double)r->ctx);
    if (r->task == LS_PROBE_PREV_TOKEN || r->task == LS_PROBE_TOKEN) cJSON_AddNumberToObject(o, "top", (double)r->top);
    if (r->task == LS_PROBE_POSITION) cJSON_AddNumberToObject(o, "buckets", (double)r->buckets);
    cJSON_AddNumberToObject(o, "classes", ls_probe_classes(r->p));
    cJSON_AddNumberToObject(o, "chance", chance);
    cJSON_AddNumberToObject(o, "majority", maj);
    char *mj = cli_json_text(maj_name, strlen(maj_name)); /* token texts may be invalid UTF-8 */
    cJSON_AddStringToObject(o, "majority_class", mj ? mj : "");
    free(mj);
    cJSON_AddNumberToObject(o, "token_baseline", tok_base);
    cJSON_AddNumberToObject(o, "C", LS_PROBE_C);
    if (lesioned) cJSON_AddStringToObject(o, "probe_from", r->probe_from);
    cJSON *arr = cJSON_AddArrayToObject(o, "sites");
    for (int s = 0; s < r->n_sites; s++) {
        cJSON *e = cJSON_CreateObject();
        ls_probe_site_format(&r->sites[s], site, sizeof site);
        cJSON_AddStringToObject(e, "site", site);
        cJSON_AddNumberToObject(e, lesioned ? "clean" : "accuracy", r->clean[s]);
        if (lesioned) cJSON_AddNumberToObject(e, "lesioned", r->lesioned[s]);
        cJSON_AddItemToArray(arr, e);
    }
    cli_weights_report(&r->w, r->model, o);
    cli_print_json(o);
}

static void print_table(const run *r, double chance, double maj, const char *maj_name, double tok_base) {
    static const char *const what[] = {"the previous token", "the current token", "the position in the window",
                                       "the labels of"};
    const int k = ls_probe_classes(r->p), lesioned = r->w.n_specs > 0;
    printf("probe %s: %s", ls_probe_task_name(r->task), what[r->task]);
    if (r->task == LS_PROBE_LABELS) printf(" %s", r->labels_path);
    if (r->task == LS_PROBE_PREV_TOKEN || r->task == LS_PROBE_TOKEN)
        printf(", among the %d most frequent tokens of the train text", k);
    if (r->task == LS_PROBE_POSITION) printf(", in %lld buckets", r->buckets);
    printf("\nmodel %s; windows of %lld tokens\ntrain: %s tokens 0-%zu, %lld labelled positions\n"
           "test:  %s tokens %zu-%zu, %lld labelled positions\n",
           ls_model_dir(r->model), r->ctx, r->train.path, r->n_train - 1, (long long)ls_probe_train_samples(r->p),
           r->test_file, r->test_from, r->test_to - 1, (long long)ls_probe_test_samples(r->p));
    printf("classes %d: chance %.3f; majority baseline %.3f (always %s); current-token baseline %.3f (the train "
           "text's most frequent class for each current token)\n",
           k, chance, maj, maj_name, tok_base);
    if (lesioned) {
        printf("lesioned:");
        for (int i = 0; i < r->w.n_specs; i++) printf(" %s", r->w.specs[i]);
        printf(" (mode %s, seed %llu); its probes trained on the %s model\n\n%-16s %9s %9s %9s %9s %9s %9s\n",
               r->w.opts.mode, (unsigned long long)r->w.opts.seed, r->probe_from, "site", "clean", "lesioned",
               "change", "chance", "majority", "cur-token");
    } else {
        printf("\n%-16s %9s %9s %9s %9s\n", "site", "accuracy", "chance", "majority", "cur-token");
    }
    for (int s = 0; s < r->n_sites; s++) {
        char site[128];
        ls_probe_site_format(&r->sites[s], site, sizeof site);
        if (lesioned)
            printf("%-16s %9.3f %9.3f %+9.3f %9.3f %9.3f %9.3f\n", site, r->clean[s], r->lesioned[s],
                   r->lesioned[s] - r->clean[s], chance, maj, tok_base);
        else
            printf("%-16s %9.3f %9.3f %9.3f %9.3f\n", site, r->clean[s], chance, maj, tok_base);
    }
}

int cmd_probe(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "probe",
                       "Linear probes: how well a linear classifier reads the previous token, the current token, the "
                       "position or your labels off each activation site, clean and lesioned.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    run r = {0};
    if ((rc = parse_flags(&a, &r))) return rc;
    if ((rc = cli_open_model(&a, &r.model, &r.tok))) return rc;
    if ((rc = prepare(&a, &r)) == 0 && (rc = measure(a.cmd, &r)) == 0) {
        int maj_class;
        double maj = ls_probe_majority(r.p, &maj_class), tok_base = ls_probe_token_baseline(r.p);
        double chance = 1.0 / ls_probe_classes(r.p);
        char maj_name[256];
        class_name(r.p, r.task, r.tok, &r.names, (int)r.ctx, (int)r.buckets, maj_class, maj_name, sizeof maj_name);
        if (cli_has(&a, "json")) print_json(&r, chance, maj, maj_name, tok_base);
        else print_table(&r, chance, maj, maj_name, tok_base);
    }
    free(r.clean);
    free(r.lesioned);
    ls_probe_free(r.p);
    free(r.train.ids);
    free(r.train.labels);
    free(r.test.ids);
    free(r.test.labels);
    ls_label_names_free(&r.names);
    free(r.sites);
    cli_weights_free(&r.w);
    ls_tokenizer_free(r.tok);
    ls_model_close(r.model);
    return rc;
}
