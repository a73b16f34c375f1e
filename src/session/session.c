/* session.c: a model opened for interactive use (include/lesion/session.h).
 *
 * Why it exists: a binding (Python's ctypes) can call plain functions with
 * strings and flat arrays, but mirroring the library's structs (ls_weights,
 * ls_sampler, ls_lesion, ls_config) in another language would copy their
 * layout into a second place that drifts. A session keeps those structs on
 * this side and runs each command's steps with the library functions the
 * command itself uses, so the numbers are the CLI's by construction. */
#include <lesion.h>

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

struct ls_session {
    ls_model *model;
    ls_tokenizer *tok;
    ls_weights clean;      /* the overlay reads through a pointer to this */
    ls_overlay *overlay;
    int n_lesions;         /* ls_session_lesion calls since the last reset */
    ls_interventions *iv;  /* NULL: none */
    int n_active;          /* ablate and patch rules in iv */
    int patch_len;         /* > 0: a run's input must have this many tokens */
    int n_threads;
};

void ls_free(void *p) { free(p); }

size_t ls_struct_size(const char *name) {
    if (!name) return 0;
    if (strcmp(name, "ls_error") == 0) return sizeof(ls_error);
    if (strcmp(name, "ls_text_eval") == 0) return sizeof(ls_text_eval);
    if (strcmp(name, "ls_sweep_options") == 0) return sizeof(ls_sweep_options);
    return 0;
}

int ls_session_open(ls_session **out, const char *dir, const char *weights, int n_threads, ls_error *err) {
    *out = NULL;
    if (!dir || !weights) return ls_fail(err, "a model directory and a weights storage are needed");
    int bf16 = strcmp(weights, "bf16") == 0, copy = strcmp(weights, "f32-copy") == 0;
    if (!bf16 && !copy && strcmp(weights, "f32") != 0)
        return ls_fail(err, "weights %s: unknown storage (expected f32, f32-copy or bf16)", weights);
    if (n_threads < 1 || n_threads > 1024) return ls_fail(err, "threads %d: expected 1..1024", n_threads);
    ls_session *s = calloc(1, sizeof *s);
    if (!s) return ls_fail(err, "out of memory");
    s->n_threads = n_threads;
    if (ls_model_open(&s->model, dir, err) != 0 || (bf16 && ls_model_store_bf16(s->model, err) != 0) ||
        (copy && ls_model_copy_f32(s->model, err) != 0) || ls_tokenizer_load_dir(&s->tok, dir, err) != 0) {
        ls_session_close(s);
        return -1;
    }
    int tv = ls_tokenizer_vocab_size(s->tok), mv = ls_model_config(s->model)->vocab_size;
    if (tv > mv) {
        ls_session_close(s);
        return ls_fail(err, "%s: the tokenizer has %d tokens but config.json says vocab_size=%d", dir, tv, mv);
    }
    s->clean = ls_model_weights(s->model);
    if (!(s->overlay = ls_overlay_new(&s->clean))) {
        ls_session_close(s);
        return ls_fail(err, "out of memory");
    }
    *out = s;
    return 0;
}

void ls_session_close(ls_session *s) {
    if (!s) return;
    ls_interventions_free(s->iv);
    if (s->overlay) ls_overlay_free(s->overlay);
    ls_tokenizer_free(s->tok);
    ls_model_close(s->model);
    free(s);
}

const ls_model *ls_session_model(const ls_session *s) { return s->model; }
const ls_tokenizer *ls_session_tokenizer(const ls_session *s) { return s->tok; }
int ls_session_threads(const ls_session *s) { return s->n_threads; }
/* With nothing applied the overlay's view is the clean one, pointer for pointer. */
ls_weights ls_session_view(const ls_session *s) { return ls_overlay_view(s->overlay); }
int ls_session_lesion_count(const ls_session *s) { return s->n_lesions; }

char *ls_session_config_json(const ls_session *s) { return ls_model_config_json(s->model); }

/* The items of a ';' or space separated list, in a malloc'd copy (*copy). */
static int split_list(const char *text, char **copy, char **items, int cap, const char *what, ls_error *err) {
    if (!(*copy = strdup(text))) return ls_fail(err, "out of memory");
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(*copy, "; \t\n", &save); t; t = strtok_r(NULL, "; \t\n", &save)) {
        if (n == cap) return ls_fail(err, "more than %d %s in one call", cap, what);
        items[n++] = t;
    }
    if (n == 0) return ls_fail(err, "no %s given", what);
    return n;
}

#define MAX_ITEMS 256

int ls_session_lesion(ls_session *s, const char *specs, const char *mode, const char *match, int with_bias,
                      uint64_t seed, const char *rng, ls_error *err) {
    char *copy = NULL, *items[MAX_ITEMS];
    ls_lesion *l = NULL;
    int n = specs ? split_list(specs, &copy, items, MAX_ITEMS, "lesion specs", err) : ls_fail(err, "no lesion spec given");
    if (n > 0 && !(l = malloc((size_t)n * sizeof *l))) n = ls_fail(err, "out of memory");
    for (int i = 0; i < n && n > 0; i++)
        if (ls_lesion_parse(&l[i], ls_model_config(s->model), items[i], mode, match, with_bias, seed, rng, err) != 0)
            n = -1;
    /* Parsed: now the only failures left are out of memory, which
     * ls_overlay_apply reports with nothing changed. */
    for (int i = 0; i < n && n > 0; i++)
        if (ls_overlay_apply(s->overlay, &l[i], err) != 0) n = -1;
    if (n > 0) s->n_lesions++;
    free(l);
    free(copy);
    return n;
}

void ls_session_reset(ls_session *s) {
    ls_overlay_reset(s->overlay);
    s->n_lesions = 0;
}

char *ls_session_lesions_json(const ls_session *s) { return ls_overlay_stats_json(s->overlay, s->model); }

char *ls_overlay_stats_json(const ls_overlay *ov, const ls_model *m) {
    int n;
    const ls_slice_stats *st = ls_overlay_stats(ov, &n);
    if (n == 0) return NULL;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "tensor", ls_model_tensor_info(m, st[i].id)->name);
        cJSON_AddNumberToObject(o, "lesion", st[i].lesion);
        cJSON_AddNumberToObject(o, "head", st[i].head);
        cJSON_AddBoolToObject(o, "bias", st[i].is_bias);
        cJSON_AddNumberToObject(o, "elements", (double)st[i].n);
        cJSON_AddNumberToObject(o, "mean_before", st[i].mean_before);
        cJSON_AddNumberToObject(o, "std_before", st[i].std_before);
        cJSON_AddNumberToObject(o, "mean_after", st[i].mean_after);
        cJSON_AddNumberToObject(o, "std_after", st[i].std_after);
        cJSON_AddItemToArray(arr, o);
    }
    char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

void ls_session_clear_interventions(ls_session *s) {
    ls_interventions_free(s->iv);
    s->iv = NULL;
    s->n_active = 0;
    s->patch_len = 0;
}

ls_interventions *ls_session_interventions(ls_session *s) { return s->iv; }

/* Adds one rule per site of the list; -1 with err naming the site. */
static int add_rules(ls_session *s, const char *sites, ls_act_op op, const char *what, ls_error *err) {
    char *copy = NULL, *items[MAX_ITEMS];
    int n = split_list(sites, &copy, items, MAX_ITEMS, what, err), first = -1;
    for (int i = 0; i < n && n > 0; i++) {
        ls_site_spec sp;
        int r;
        if (ls_site_spec_parse(&sp, ls_model_config(s->model), items[i], err) != 0 ||
            (r = ls_interventions_add(s->iv, &sp, op, err)) < 0) {
            ls_fail_context(err, "%s", items[i]);
            n = -1;
        } else if (first < 0) {
            first = r;
        }
    }
    free(copy);
    return n > 0 ? first : -1;
}

int ls_session_intervene(ls_session *s, const char *ablate, const char *ablate_mode, uint64_t ablate_seed,
                         const int32_t *reference, int64_t n_reference, const char *patch, const int32_t *patch_from,
                         int n_patch_from, ls_error *err) {
    ls_session_clear_interventions(s);
    const ls_config *cfg = ls_model_config(s->model);
    int op = ls_act_op_parse(ablate_mode ? ablate_mode : "zero");
    if (op != LS_ACT_ZERO && op != LS_ACT_MEAN && op != LS_ACT_RESAMPLE)
        return ls_fail(err, "ablate mode %s: expected zero, mean or resample", ablate_mode);
    if (ablate && op != LS_ACT_ZERO && (!reference || n_reference < 2))
        return ls_fail(err, "mean and resample ablations need a reference text of at least 2 tokens");
    if (patch && (!patch_from || n_patch_from < 1)) return ls_fail(err, "patching needs a source input");
    if (ls_interventions_new(&s->iv, cfg, ablate_seed, err) != 0) return -1;
    int rc = 0;
    if (ablate && add_rules(s, ablate, (ls_act_op)op, "sites to ablate", err) < 0) rc = -1;
    if (rc == 0 && patch && add_rules(s, patch, LS_ACT_PATCH, "sites to patch", err) < 0) rc = -1;
    if (rc == 0 &&
        ls_interventions_prepare(s->iv, &s->clean, ablate && op != LS_ACT_ZERO ? reference : NULL,
                                 ablate && op != LS_ACT_ZERO ? n_reference : 0, patch ? patch_from : NULL,
                                 patch ? n_patch_from : 0, s->n_threads, err) != 0)
        rc = -1;
    if (rc != 0) {
        ls_session_clear_interventions(s);
        return -1;
    }
    s->n_active = ls_interventions_count(s->iv);
    s->patch_len = patch ? n_patch_from : 0;
    return 0;
}

int ls_session_record(ls_session *s, const char *sites, ls_error *err) {
    if (!sites) return ls_fail(err, "no sites given");
    if (!s->iv && ls_interventions_new(&s->iv, ls_model_config(s->model), 0, err) != 0) return -1;
    return add_rules(s, sites, LS_ACT_RECORD, "sites", err);
}

/* A state for B sequences of T positions with the session's hooks installed. */
static int run_state(ls_session *s, int B, int T, ls_state **st, ls_error *err) {
    if (ls_state_new(st, ls_model_config(s->model), B, T, s->n_threads, err) != 0) return -1;
    if (s->iv && ls_interventions_count(s->iv)) {
        ls_hooks h = ls_interventions_hooks(s->iv);
        if (ls_state_set_hooks(*st, &h, err) != 0) {
            ls_state_free(*st);
            *st = NULL;
            return -1;
        }
    }
    return 0;
}

static int check_input(const ls_session *s, const int32_t *ids, int n, int n_new, const char *what, ls_error *err) {
    const ls_config *cfg = ls_model_config(s->model);
    if (!ids || n < 1) return ls_fail(err, "%s is empty (need at least one token)", what);
    if ((int64_t)n + n_new > cfg->n_ctx) {
        if (n_new) return ls_fail(err, "%s of %d tokens + %d new tokens exceeds the context length %d", what, n, n_new, cfg->n_ctx);
        return ls_fail(err, "%d tokens exceed the context length %d", n, cfg->n_ctx);
    }
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= cfg->vocab_size)
            return ls_fail(err, "token id %d is outside the vocabulary (0..%d)", ids[i], cfg->vocab_size - 1);
    if (s->patch_len && n != s->patch_len)
        return ls_fail(err, "the patch source has %d tokens but the input has %d (patching needs equal lengths)",
                       s->patch_len, n);
    return 0;
}

int ls_session_logits(ls_session *s, const int32_t *ids, int n, float *logits, ls_error *err) {
    if (check_input(s, ids, n, 0, "the input", err) != 0) return -1;
    if (!logits) return ls_fail(err, "no output array");
    ls_state *st;
    if (run_state(s, 1, n, &st, err) != 0) return -1;
    ls_weights w = ls_session_view(s);
    int rc = ls_forward(st, &w, ids, 1, n, 0, logits, LS_LOGITS_ALL, err);
    ls_state_free(st);
    return rc;
}

int ls_session_generate(ls_session *s, const int32_t *prompt, int n_prompt, int n_new, double temperature, int top_k,
                        double top_p, uint64_t seed, int32_t *out, int *n_out, ls_error *err) {
    *n_out = 0;
    if (n_new < 0) return ls_fail(err, "tokens %d: expected 0 or more", n_new);
    if (!(temperature >= 0 && temperature <= 100)) return ls_fail(err, "temperature %g: expected 0..100", temperature);
    if (top_k < 0) return ls_fail(err, "top_k %d: expected 0 (off) or more", top_k);
    if (!(top_p > 0 && top_p <= 1)) return ls_fail(err, "top_p %g: expected (0, 1] (1 keeps every token)", top_p);
    if (check_input(s, prompt, n_prompt, n_new, "the prompt", err) != 0) return -1;
    ls_state *st;
    if (run_state(s, 1, n_prompt + n_new, &st, err) != 0) return -1;
    ls_weights w = ls_session_view(s);
    ls_sampler sp = {.temperature = (float)temperature, .top_k = top_k, .top_p = (float)top_p, .seed = seed};
    int rc = ls_generate(st, &w, prompt, n_prompt, n_new, &sp, -1, out, n_out, err);
    ls_state_free(st);
    return rc;
}

int ls_session_eval(ls_session *s, const char *text, size_t len, int ctx, int stride, int64_t max_tokens, int batch,
                    ls_text_eval *out, ls_error *err) {
    memset(out, 0, sizeof *out);
    const ls_config *cfg = ls_model_config(s->model);
    if (!text) return ls_fail(err, "no text given");
    if (batch == 0) batch = 8;
    if (batch < 1 || batch > 1024) return ls_fail(err, "batch %d: expected 1..1024", batch);
    if (ctx < 0 || ctx > cfg->n_ctx || stride < 0)
        return ls_fail(err, "ctx %d / stride %d: expected ctx <= %d and stride < ctx", ctx, stride, cfg->n_ctx);
    ls_state *st;
    if (run_state(s, batch, ctx ? ctx : cfg->n_ctx, &st, err) != 0) return -1;
    ls_weights w = ls_session_view(s);
    int rc = ls_eval_text(st, &w, s->tok, text, len, ctx, stride, max_tokens, out, NULL, err);
    ls_state_free(st);
    return rc;
}
