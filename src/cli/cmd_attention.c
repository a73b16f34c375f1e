/* cmd_attention.c: `lesion attention`: what each attention head looks at.
 *
 * Per layer and head, over held-out text (or one prompt): the mean
 * normalised entropy of the attention weights (0 = all weight on one key,
 * 1 = uniform) and the most-attended relative offset (0 = the token itself,
 * 1 = the previous token, F = the first position of the window), as a
 * layers x heads grid. With --lesion, the clean grid and the lesioned one.
 * The measurement itself lives in src/experiment/context.c.
 *
 * Patterns: with --prompt, --show L0H1,3 prints the attention weights of
 * those heads over the prompt as text heat maps (rows: queries, columns:
 * keys), and --html F writes a page with one heat map per head (the --show
 * heads, default all), tokens on both axes, clean and lesioned side by side.
 * The weights are read through the attn.pattern site (src/experiment/sites.c). */
#include "cli/commands.h"
#include "cli/weights.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_MODEL_OPTS,
    CLI_WEIGHTS_OPT,
    {"file", "F", "text to run (default: the bundled model's heldout.txt)"},
    {"prompt", "TEXT", "run one text given here instead (one window of its length)"},
    {"ctx", "N", "window length in tokens (default: the model's context)"},
    {"max-tokens", "N", "use only the first N tokens of the file (default 8192)"},
    {"min-pos", "N", "count queries at window positions >= N (default 16, lowered for short prompts)"},
    {"batch", "B", "windows per forward batch (default 8)"},
    {"show", "HEADS", "with --prompt: print these heads' attention patterns as heat maps, e.g. L0H1,3 or L2"},
    {"html", "F", "with --prompt: write an HTML page of heat maps (the --show heads, default all), clean and lesioned"},
    {"json", NULL, "print one JSON object"},
    CLI_LESION_OPTS,
    {0},
};

/* A head is "sharp" below this mean normalised entropy. */
#define SHARP_BELOW 0.5

static void offset_text(int off, char *out, size_t n) {
    if (off == LS_OFFSET_FIRST) snprintf(out, n, "F");
    else if (off == LS_OFFSET_NONE) snprintf(out, n, "-");
    else snprintf(out, n, "%d", off);
}

static int sharp_heads(const ls_context_stats *cs, const ls_config *cfg) {
    int n = 0;
    for (int l = 0; l < cfg->n_layer; l++)
        for (int h = 0; h < cfg->n_head; h++) n += ls_context_head_entropy(cs, l, h) < SHARP_BELOW;
    return n;
}

static double mean_entropy(const ls_context_stats *cs, const ls_config *cfg) {
    double s = 0;
    for (int l = 0; l < cfg->n_layer; l++) s += ls_context_layer_entropy(cs, l);
    return s / cfg->n_layer;
}

static cJSON *grid_json(const ls_context_stats *cs, const ls_config *cfg) {
    cJSON *o = cJSON_CreateObject();
    cJSON *ent = cJSON_AddArrayToObject(o, "entropy"), *off = cJSON_AddArrayToObject(o, "top_offset");
    cJSON *share = cJSON_AddArrayToObject(o, "top_offset_share"), *lay = cJSON_AddArrayToObject(o, "layer_entropy");
    for (int l = 0; l < cfg->n_layer; l++) {
        cJSON *er = cJSON_CreateArray(), *or = cJSON_CreateArray(), *sr = cJSON_CreateArray();
        for (int h = 0; h < cfg->n_head; h++) {
            double sh;
            int k = ls_context_head_offset(cs, l, h, &sh);
            cJSON_AddItemToArray(er, cJSON_CreateNumber(ls_context_head_entropy(cs, l, h)));
            cJSON_AddItemToArray(or, k == LS_OFFSET_FIRST ? cJSON_CreateString("first") : cJSON_CreateNumber(k));
            cJSON_AddItemToArray(sr, cJSON_CreateNumber(sh));
        }
        cJSON_AddItemToArray(ent, er);
        cJSON_AddItemToArray(off, or);
        cJSON_AddItemToArray(share, sr);
        cJSON_AddItemToArray(lay, cJSON_CreateNumber(ls_context_layer_entropy(cs, l)));
    }
    int sharp = sharp_heads(cs, cfg);
    cJSON_AddNumberToObject(o, "mean_entropy", mean_entropy(cs, cfg));
    cJSON_AddNumberToObject(o, "sharp_heads", sharp);
    cJSON_AddNumberToObject(o, "sharp_fraction", (double)sharp / (cfg->n_layer * cfg->n_head));
    return o;
}

static void grid_print(const char *title, const ls_context_stats *cs, const ls_config *cfg) {
    printf("\n%s%slayer ", title, *title ? "\n" : "");
    for (int h = 0; h < cfg->n_head; h++) {
        char hh[16];
        snprintf(hh, sizeof hh, "H%d", h);
        printf(" %-7s", hh);
    }
    printf("  mean\n");
    for (int l = 0; l < cfg->n_layer; l++) {
        printf("L%-4d ", l);
        for (int h = 0; h < cfg->n_head; h++) {
            double sh;
            char o[16], cell[32];
            offset_text(ls_context_head_offset(cs, l, h, &sh), o, sizeof o);
            snprintf(cell, sizeof cell, "%.2f/%s", ls_context_head_entropy(cs, l, h), o);
            printf(" %-7s", cell);
        }
        printf("  %.3f\n", ls_context_layer_entropy(cs, l));
    }
    int sharp = sharp_heads(cs, cfg), n = cfg->n_layer * cfg->n_head;
    printf("mean normalised entropy %.3f; heads below %.1f: %d of %d (%.1f%%)\n", mean_entropy(cs, cfg), SHARP_BELOW,
           sharp, n, 100.0 * sharp / n);
}

/* ---- patterns of one prompt ----------------------------------------------------------- */

/* The patterns (H_sel, T, T) of every layer the site spec names, from one run of ids on w. */
static int record_patterns(ls_state *st, const ls_weights *w, const ls_site_spec *sp, const int32_t *ids, int n,
                           ls_interventions **out, ls_error *err) {
    ls_interventions *iv;
    if (ls_interventions_new(&iv, w->cfg, 0, err) != 0) return -1;
    int rc = ls_interventions_add(iv, sp, LS_ACT_RECORD, err) < 0 ? -1 : 0;
    ls_hooks h = ls_interventions_hooks(iv);
    if (rc == 0) rc = ls_state_set_hooks(st, &h, err);
    if (rc == 0) rc = ls_forward(st, w, ids, 1, n, 0, NULL, LS_LOGITS_NONE, err);
    ls_state_set_hooks(st, NULL, NULL);
    if (rc != 0) {
        ls_interventions_free(iv);
        return -1;
    }
    *out = iv;
    return 0;
}

/* A token as a short printable label (at most cap-1 bytes; control bytes shown as '?'; HTML-escaped if html). */
static void token_label(const ls_tokenizer *tok, int32_t id, char *buf, size_t cap, int html) {
    const char *b;
    size_t len, k = 0;
    buf[0] = 0;
    if (ls_tokenizer_token_bytes(tok, id, &b, &len) != 0) return;
    for (size_t i = 0; i < len && k + (html ? 7 : 2) < cap; i++) {
        unsigned char c = (unsigned char)b[i];
        const char *esc = !html ? NULL : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : NULL;
        if (esc) k += (size_t)snprintf(buf + k, cap - k, "%s", esc);
        else buf[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c, buf[k] = 0;
    }
}

/* One head's (T,T) weights as a text heat map, rows = queries. */
static void print_heatmap(const char *title, const float *p, int T, const int32_t *ids, const ls_tokenizer *tok) {
    static const char shades[] = " .:-=+*#%@";
    const int first = T > 60 ? T - 60 : 0; /* one screen: the last 60 positions */
    printf("\n%s  (rows: query positions, columns: keys %d..%d; shade: weight 0 ' ' .. 1 '@')\n", title, first, T - 1);
    for (int t = first; t < T; t++) {
        char label[64];
        token_label(tok, ids[t], label, 11, 0);
        printf("%4d %-10s ", t, label);
        for (int j = first; j <= t; j++) {
            int k = (int)(p[(int64_t)t * T + j] * 9.0f + 0.5f);
            putchar(shades[k < 0 ? 0 : k > 9 ? 9 : k]);
        }
        putchar('\n');
    }
}

/* A growing string for the HTML page. */
typedef struct page {
    char *s;
    size_t len, cap;
    int oom;
} page;

static void emit(page *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(page *pg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (pg->oom || need < 0) return;
    if (pg->len + (size_t)need + 1 > pg->cap) {
        size_t cap = pg->cap ? pg->cap : 1 << 16;
        while (pg->len + (size_t)need + 1 > cap) cap *= 2;
        char *g = realloc(pg->s, cap);
        if (!g) {
            pg->oom = 1;
            return;
        }
        pg->s = g, pg->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(pg->s + pg->len, pg->cap - pg->len, fmt, ap);
    va_end(ap);
    pg->len += (size_t)need;
}

/* One head's heat map as an HTML table: tokens on both axes, white 0 to black 1. */
static void emit_table(page *pg, const char *title, const float *p, int T, const int32_t *ids, const ls_tokenizer *tok) {
    char label[64];
    emit(pg, "<div><b>%s</b><table><tr><th></th>", title);
    for (int j = 0; j < T; j++) {
        token_label(tok, ids[j], label, sizeof label, 1);
        emit(pg, "<th class=\"k\">%s</th>", label);
    }
    emit(pg, "</tr>");
    for (int t = 0; t < T; t++) {
        token_label(tok, ids[t], label, sizeof label, 1);
        emit(pg, "<tr><th>%s</th>", label);
        for (int j = 0; j < T; j++) {
            float v = p[(int64_t)t * T + j];
            int g = 255 - (int)(v * 255.0f + 0.5f);
            emit(pg, "<td style=\"background:rgb(%d,%d,%d)\" title=\"%.3f\"></td>", g, g, g, (double)v);
        }
        emit(pg, "</tr>");
    }
    emit(pg, "</table></div>");
}

/* The patterns of each layer and selected head, clean (and lesioned): printed, or into the page. */
static void for_each_head(const ls_site_spec *sp, const ls_interventions *clean, const ls_interventions *lesioned,
                          const ls_config *cfg, const int32_t *ids, int T, const ls_tokenizer *tok, page *pg) {
    for (int l = 0; l < cfg->n_layer; l++) {
        int64_t rows, dims[3];
        int ndim;
        const float *pc = ls_interventions_recorded(clean, 0, l, &rows, dims, &ndim);
        if (!pc) continue;
        const float *pl = lesioned ? ls_interventions_recorded(lesioned, 0, l, &rows, dims, &ndim) : NULL;
        for (int hi = 0, h = 0; h < cfg->n_head; h++) {
            if (sp->heads.n && !ls_index_set_has(&sp->heads, h)) continue;
            const int64_t at = (int64_t)hi++ * T * T;
            char title[64];
            if (pg) {
                emit(pg, "<h2>layer %d, head %d</h2><div class=\"pair\">", l, h);
                emit_table(pg, "clean", pc + at, T, ids, tok);
                if (pl) emit_table(pg, "lesioned", pl + at, T, ids, tok);
                emit(pg, "</div>");
                continue;
            }
            snprintf(title, sizeof title, "L%dH%d%s", l, h, pl ? " clean" : "");
            print_heatmap(title, pc + at, T, ids, tok);
            if (pl) {
                snprintf(title, sizeof title, "L%dH%d lesioned", l, h);
                print_heatmap(title, pl + at, T, ids, tok);
            }
        }
    }
}

/* --show / --html for one prompt. 0, or the exit status after printing the error. */
static int show_patterns(const cli_args *a, const ls_tokenizer *tok, const ls_config *cfg, const cli_weights *w,
                         const int32_t *ids, int n, int threads) {
    char spec_text[300];
    snprintf(spec_text, sizeof spec_text, "attn.pattern@%s", cli_str(a, "show", "all"));
    ls_site_spec sp;
    ls_error err;
    if (ls_site_spec_parse(&sp, cfg, spec_text, &err) != 0) return cli_error(a->cmd, 2, "--show: %s", err.msg);
    ls_state *st = NULL;
    ls_interventions *clean = NULL, *lesioned = NULL;
    int rc = 0;
    if (ls_state_new(&st, cfg, 1, n, threads, &err) != 0 || record_patterns(st, &w->clean, &sp, ids, n, &clean, &err) != 0 ||
        (w->n_specs && record_patterns(st, &w->view, &sp, ids, n, &lesioned, &err) != 0))
        rc = cli_error(a->cmd, 1, "%s", err.msg);
    if (rc == 0 && cli_has(a, "show")) for_each_head(&sp, clean, lesioned, cfg, ids, n, tok, NULL);
    if (rc == 0 && cli_has(a, "html")) {
        page pg = {0};
        char desc[512] = "";
        for (int i = 0, k = 0; i < w->n_specs && k < (int)sizeof desc - 1; i++)
            k += snprintf(desc + k, sizeof desc - (size_t)k, "%s%s", i ? ", " : "", w->specs[i]);
        emit(&pg, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>lesion attention patterns</title><style>"
                  "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;font-size:10px}"
                  "td{width:14px;height:14px;padding:0;border:1px solid #eee}"
                  "th{font-weight:normal;white-space:pre;font-family:monospace}"
                  "th.k{writing-mode:vertical-rl;transform:rotate(180deg);height:6em;text-align:left}"
                  ".pair{display:flex;gap:2em;margin-bottom:2em}</style></head><body>"
                  "<h1>Attention patterns</h1><p>Rows are query positions, columns key positions; the darker a cell, "
                  "the more weight the query gives that key (white 0, black 1; hover for the value).%s%s</p>",
             lesioned ? " Left: clean; right: lesioned with " : "", lesioned ? desc : "");
        for_each_head(&sp, clean, lesioned, cfg, ids, n, tok, &pg);
        emit(&pg, "</body></html>\n");
        if (pg.oom) rc = cli_error(a->cmd, 1, "--html: out of memory");
        else if (ls_write_file_atomic(cli_str(a, "html", ""), pg.s, pg.len, &err) != 0)
            rc = cli_error(a->cmd, 1, "--html: %s", err.msg);
        free(pg.s);
    }
    ls_interventions_free(clean);
    ls_interventions_free(lesioned);
    ls_state_free(st);
    return rc;
}

int cmd_attention(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "attention",
                       "Per layer and head: mean normalised attention entropy and most-attended relative offset "
                       "on held-out text; with --lesion, clean and lesioned side by side.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    int threads;
    long long ctx, max_tokens, min_pos, batch;
    if (cli_threads(&a, &threads) || cli_int(&a, "ctx", 0, 2, LS_MAX_CTX, &ctx) ||
        cli_int(&a, "max-tokens", 8192, 2, INT64_MAX, &max_tokens) ||
        cli_int(&a, "min-pos", LS_CONTEXT_MIN_POS, 1, LS_MAX_CTX, &min_pos) ||
        cli_int(&a, "batch", 8, 1, 1024, &batch))
        return 2;
    if (cli_has(&a, "prompt") && cli_has(&a, "file")) return cli_error(a.cmd, 2, "give --prompt or --file, not both");
    if ((cli_has(&a, "show") || cli_has(&a, "html")) && !cli_has(&a, "prompt"))
        return cli_error(a.cmd, 2, "--show and --html draw the patterns of one --prompt");
    ls_model *model;
    ls_tokenizer *tok;
    if ((rc = cli_open_model(&a, &model, &tok))) return rc;
    const ls_config *cfg = ls_model_config(model);
    char path[4200], *text = NULL;
    size_t len = 0, n_ids = 0;
    int32_t *ids = NULL;
    ls_state *st = NULL;
    ls_context_stats *clean = NULL, *lesioned = NULL;
    cli_weights w = {0};
    ls_error err;
    snprintf(path, sizeof path, "%s/heldout.txt", ls_model_dir(model));
    const char *prompt = cli_str(&a, "prompt", NULL), *file = cli_str(&a, "file", path);
    if ((rc = cli_weights_build(&a, model, &w))) goto done;
    if (prompt) {
        text = strdup(prompt);
        len = strlen(prompt);
        if (!text) {
            rc = cli_error(a.cmd, 1, "out of memory");
            goto done;
        }
    } else if (ls_read_file(file, &text, &len, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (ls_tokenizer_encode_input(tok, text, len, &ids, &n_ids, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", prompt ? "--prompt" : file, err.msg);
        goto done;
    }
    if ((size_t)max_tokens < n_ids) n_ids = (size_t)max_tokens;
    if (prompt) {
        /* One window: the prompt's tokens but the last, which is its target. */
        if (n_ids < 3) {
            rc = cli_error(a.cmd, 1, "--prompt: %zu tokens; need at least 3", n_ids);
            goto done;
        }
        if (ctx == 0) ctx = (long long)n_ids - 1 < cfg->n_ctx ? (long long)n_ids - 1 : cfg->n_ctx;
        if (!cli_has(&a, "min-pos") && min_pos >= ctx) min_pos = 1;
        if ((cli_has(&a, "show") || cli_has(&a, "html")) && n_ids > (size_t)cfg->n_ctx) {
            rc = cli_error(a.cmd, 2, "--prompt: %zu tokens exceed the context length %d", n_ids, cfg->n_ctx);
            goto done;
        }
        if ((cli_has(&a, "show") || cli_has(&a, "html")) &&
            (rc = show_patterns(&a, tok, cfg, &w, ids, (int)n_ids, threads)))
            goto done;
    } else if (ctx == 0) {
        ctx = cfg->n_ctx;
    }
    if (ctx > cfg->n_ctx) {
        rc = cli_error(a.cmd, 2, "--ctx %lld: expected at most the model's context, %d", ctx, cfg->n_ctx);
        goto done;
    }
    if (min_pos >= ctx) {
        rc = cli_error(a.cmd, 2, "--min-pos %lld: expected below the window of %lld tokens", min_pos, ctx);
        goto done;
    }
    if (ls_state_new(&st, cfg, (int)batch, (int)ctx, threads, &err) != 0 ||
        ls_state_track_attention(st, 1, &err) != 0 ||
        ls_context_stats_new(&clean, cfg, (int)ctx, (int)min_pos, 1, &err) != 0 ||
        ls_context_measure(st, &w.clean, ids, (int64_t)n_ids, clean, &err) != 0) {
        rc = cli_error(a.cmd, 1, "%s: %s", prompt ? "--prompt" : file, err.msg);
        goto done;
    }
    if (w.n_specs > 0 && (ls_context_stats_new(&lesioned, cfg, (int)ctx, (int)min_pos, 1, &err) != 0 ||
                          ls_context_measure(st, &w.view, ids, (int64_t)n_ids, lesioned, &err) != 0)) {
        rc = cli_error(a.cmd, 1, "%s", err.msg);
        goto done;
    }
    if (cli_has(&a, "json")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", ls_model_dir(model));
        if (prompt) cJSON_AddStringToObject(o, "prompt", prompt);
        else cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "tokens", (double)n_ids);
        cJSON_AddNumberToObject(o, "windows", (double)ls_context_stats_windows(clean));
        cJSON_AddNumberToObject(o, "ctx", (double)ctx);
        cJSON_AddNumberToObject(o, "min_pos", (double)min_pos);
        cJSON_AddNumberToObject(o, "sharp_below", SHARP_BELOW);
        cJSON_AddItemToObject(o, "clean", grid_json(clean, cfg));
        if (lesioned) {
            cJSON_AddItemToObject(o, "lesioned", grid_json(lesioned, cfg));
            cli_weights_report(&w, model, o);
        }
        cli_print_json(o);
    } else {
        printf("attention of %s on %s: %lld windows of %lld tokens, queries at positions >= %lld\n"
               "cell: mean normalised entropy (0 = one key, 1 = uniform) / most-attended offset "
               "(0 = self, 1 = previous token, F = first position)\n",
               ls_model_dir(model), prompt ? "the prompt" : file, (long long)ls_context_stats_windows(clean), ctx,
               min_pos);
        grid_print(lesioned ? "clean" : "", clean, cfg);
        if (lesioned) {
            char title[512];
            int k = snprintf(title, sizeof title, "lesioned:");
            for (int i = 0; i < w.n_specs && k < (int)sizeof title - 1; i++)
                k += snprintf(title + k, sizeof title - (size_t)k, " %s", w.specs[i]);
            grid_print(title, lesioned, cfg);
        }
    }
done:
    free(ids);
    free(text);
    ls_context_stats_free(clean);
    ls_context_stats_free(lesioned);
    ls_state_free(st);
    cli_weights_free(&w);
    ls_tokenizer_free(tok);
    ls_model_close(model);
    return rc;
}
