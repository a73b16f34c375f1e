/* report.c: report.html, one self-contained page rendered from summary.json.
 *
 * The page needs no network and no script: plots are inline SVG drawn here
 * (a line per metric with its 95% confidence band, a layer x head heatmap
 * for the heads plan), then the band table and the generated samples side
 * by side. Rendering from the summary object, not from sweep internals,
 * keeps one source of truth: what the page shows is what summary.json says. */
#include <lesion.h>

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} sbuf;

static void out(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* The first call measures into a NULL buffer (NULL + 0 is undefined behaviour). */
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)(n > 0 ? n : 0) + 1) * 2;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
}

/* Writes s with HTML escaping. */
static void out_text(sbuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': out(b, "&lt;"); break;
        case '>': out(b, "&gt;"); break;
        case '&': out(b, "&amp;"); break;
        case '"': out(b, "&quot;"); break;
        default: out(b, "%c", *s);
        }
    }
}

static double metric_field(const cJSON *cfg, const char *metric, const char *field) {
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "metrics"), metric);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, field);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str_field(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* A line plot of one metric over the configurations, with its CI band. */
static void line_plot(sbuf *b, const cJSON *configs, const char *metric, const char *title, int log_y) {
    const int W = 560, H = 300, L = 64, R = 16, T = 30, B = 70;
    int n = cJSON_GetArraySize(configs);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(configs, i);
        double v[3] = {metric_field(c, metric, "lo"), metric_field(c, metric, "hi"), metric_field(c, metric, "mean")};
        for (int k = 0; k < 3; k++) {
            double x = log_y ? log10(fmax(v[k], 1e-9)) : v[k];
            if (isfinite(x)) lo = fmin(lo, x), hi = fmax(hi, x);
        }
    }
    if (!isfinite(lo)) return;
    if (hi - lo < 1e-9) hi = lo + 1;
    double pad = (hi - lo) * 0.05;
    lo -= pad, hi += pad;
#define PX(i) (L + (n > 1 ? (double)(i) * (W - L - R) / (n - 1) : (W - L - R) / 2.0))
#define PY(v) (T + (H - T - B) * (1 - ((log_y ? log10(fmax((v), 1e-9)) : (v)) - lo) / (hi - lo)))
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
           "role='img' aria-label='%s'>\n", W, H, W, H, title);
    out(b, "<text x='%d' y='18' class='t'>%s</text>\n", L, title);
    for (int g = 0; g <= 4; g++) { /* horizontal grid with labels */
        double y = T + (H - T - B) * g / 4.0, val = hi - (hi - lo) * g / 4.0;
        out(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='g'/>", L, W - R, y, y);
        out(b, "<text x='%d' y='%.1f' class='a' text-anchor='end'>%.3g</text>\n", L - 6, y + 4,
            log_y ? pow(10, val) : val);
    }
    out(b, "<polygon class='band' points='");
    for (int i = 0; i < n; i++) out(b, "%.1f,%.1f ", PX(i), PY(metric_field(cJSON_GetArrayItem(configs, i), metric, "hi")));
    for (int i = n - 1; i >= 0; i--)
        out(b, "%.1f,%.1f ", PX(i), PY(metric_field(cJSON_GetArrayItem(configs, i), metric, "lo")));
    out(b, "'/>\n<polyline class='line' points='");
    for (int i = 0; i < n; i++) out(b, "%.1f,%.1f ", PX(i), PY(metric_field(cJSON_GetArrayItem(configs, i), metric, "mean")));
    out(b, "'/>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(configs, i);
        out(b, "<circle cx='%.1f' cy='%.1f' r='3' class='pt'><title>", PX(i), PY(metric_field(c, metric, "mean")));
        out_text(b, str_field(c, "label"));
        out(b, ": %.4g [%.4g, %.4g]</title></circle>", metric_field(c, metric, "mean"), metric_field(c, metric, "lo"),
            metric_field(c, metric, "hi"));
        if (n <= 16 || i % ((n + 15) / 16) == 0) {
            out(b, "<text class='a' transform='translate(%.1f,%d) rotate(-45)' text-anchor='end'>", PX(i), H - B + 14);
            out_text(b, str_field(c, "label"));
            out(b, "</text>\n");
        }
    }
    out(b, "</svg><figcaption>%s: mean over noise seeds, shaded 95%% confidence interval%s.</figcaption></figure>\n",
        title, log_y ? " (log scale)" : "");
#undef PX
#undef PY
}

/* Layer x head heatmap of one metric (heads plan). */
static void heatmap(sbuf *b, const cJSON *heads, const char *title) {
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(heads, "kl");
    int nl = cJSON_GetArraySize(grid), nh = nl ? cJSON_GetArraySize(cJSON_GetArrayItem(grid, 0)) : 0;
    if (!nl || !nh) return;
    double mx = 1e-12;
    for (int l = 0; l < nl; l++)
        for (int h = 0; h < nh; h++) {
            const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, l), h);
            if (cJSON_IsNumber(v)) mx = fmax(mx, v->valuedouble);
        }
    const int cell = 34, L = 50, T = 40;
    int W = L + nh * cell + 20, H = T + nl * cell + 30;
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' aria-label='%s'>\n", W, H,
        title);
    out(b, "<text x='%d' y='18' class='t'>%s</text>\n", L, title);
    for (int h = 0; h < nh; h++)
        out(b, "<text x='%d' y='%d' class='a' text-anchor='middle'>H%d</text>", L + h * cell + cell / 2, T - 6, h);
    for (int l = 0; l < nl; l++) {
        out(b, "<text x='%d' y='%d' class='a' text-anchor='end'>L%d</text>", L - 6, T + l * cell + cell / 2 + 4, l);
        for (int h = 0; h < nh; h++) {
            const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, l), h);
            double x = cJSON_IsNumber(v) ? v->valuedouble : 0, f = sqrt(fmax(x, 0) / mx);
            if (!(f >= 0 && f <= 1)) f = 1; /* inf / inf (an infinite KL): the darkest, never a NaN cast to int */
            int r = 255, g = (int)(255 - 200 * f), bl = (int)(255 - 230 * f);
            out(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='rgb(%d,%d,%d)' stroke='#fff'><title>L%d H%d: "
                   "KL %.4g</title></rect>\n", L + h * cell, T + l * cell, cell, cell, r, g, bl, l, h, x);
        }
    }
    out(b, "</svg><figcaption>%s (color: square root of KL, darker = more damage; max %.3g nats).</figcaption>"
           "</figure>\n", title, mx);
}

static const char *const metric_names[][2] = {
    {"perplexity", "held-out perplexity"}, {"kl", "KL(clean || lesioned), nats/token"},
    {"top1", "top-1 agreement with clean"}, {"gen_ppl", "fluency: clean-model perplexity of generated text"},
    {"rep4", "repeated 4-grams in generations"}, {"distinct2", "distinct-2 of generations"},
};

int ls_report_write(const char *path, const void *summary_json, ls_error *err) {
    const cJSON *s = summary_json;
    const cJSON *configs = cJSON_GetObjectItemCaseSensitive(s, "configs");
    sbuf b = {0};
    out(&b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>lesion report</title>\n<style>"
            "body{font-family:system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#222}"
            "h1{font-size:1.5em}table{border-collapse:collapse;font-size:.85em;margin:12px 0}"
            "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}"
            "td.l{text-align:left}figure{display:inline-block;margin:6px}figcaption{font-size:.8em;color:#555;max-width:560px}"
            ".g{stroke:#e5e5e5}.a{font-size:10px;fill:#555}.t{font-size:13px;font-weight:600}"
            ".band{fill:#4a7fd6;fill-opacity:.18;stroke:none}.line{fill:none;stroke:#2a5db0;stroke-width:2}"
            ".pt{fill:#2a5db0}.b0{background:#e7f6e7}.b1{background:#fff6d6}.b2{background:#ffe3cc}.b3{background:#fbd3d3}"
            ".samples td{vertical-align:top;text-align:left;font-family:Georgia,serif;font-size:.9em;max-width:260px}"
            "</style></head><body>\n");
    out(&b, "<h1>lesion report: ");
    out_text(&b, str_field(s, "target"));
    out(&b, ", ");
    out_text(&b, str_field(s, "plan"));
    out(&b, ", ");
    out_text(&b, str_field(s, "mode"));
    out(&b, "</h1>\n<p>");
    out(&b, "Model <code>");
    out_text(&b, str_field(s, "model"));
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(s, "seeds"), *tokens = cJSON_GetObjectItemCaseSensitive(s, "eval_tokens");
    out(&b, "</code>; %d noise seeds per configuration; %d held-out tokens scored per run.</p>\n",
        cJSON_IsNumber(seeds) ? seeds->valueint : 0, cJSON_IsNumber(tokens) ? tokens->valueint : 0);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(s, "transition");
    if (tr) {
        out(&b, "<p><b>Phase transition.</b> ");
        out_text(&b, str_field(tr, "statement"));
        out(&b, "</p>\n");
    }
    out(&b, "<h2>Damage</h2>\n");
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(s, "heads");
    if (heads) heatmap(&b, heads, "Per-head lesions: KL to the clean model");
    line_plot(&b, configs, "perplexity", "held-out perplexity", 1);
    line_plot(&b, configs, "kl", "KL(clean || lesioned), nats per token", 0);
    line_plot(&b, configs, "top1", "top-1 agreement with the clean model", 0);
    line_plot(&b, configs, "rep4", "repetition: repeated 4-grams in generations", 0);

    out(&b, "<h2>Bands</h2>\n<p>");
    out_text(&b, str_field(s, "band_rule"));
    out(&b, "</p>\n<table><tr><th>configuration</th><th>band</th>");
    for (size_t k = 0; k < sizeof metric_names / sizeof metric_names[0]; k++) out(&b, "<th>%s</th>", metric_names[k][1]);
    out(&b, "</tr>\n");
    int n = cJSON_GetArraySize(configs);
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(configs, i);
        const cJSON *bi = cJSON_GetObjectItemCaseSensitive(c, "band_index");
        out(&b, "<tr class='b%d'><td class='l'>", cJSON_IsNumber(bi) ? bi->valueint : 0);
        out_text(&b, str_field(c, "label"));
        out(&b, "</td><td class='l'>");
        out_text(&b, str_field(c, "band"));
        out(&b, "</td>");
        for (size_t k = 0; k < sizeof metric_names / sizeof metric_names[0]; k++) {
            double m = metric_field(c, metric_names[k][0], "mean"), lo = metric_field(c, metric_names[k][0], "lo"),
                   hi = metric_field(c, metric_names[k][0], "hi");
            out(&b, "<td>%.3g <small>[%.3g, %.3g]</small></td>", m, lo, hi);
        }
        out(&b, "</tr>\n");
    }
    out(&b, "</table>\n<h2>Generated samples</h2>\n<p>Noise seed 0; the same prompts and sampling seeds for every "
            "configuration.</p>\n<table class='samples'><tr><th>configuration</th>");
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(s, "prompts");
    const cJSON *p;
    cJSON_ArrayForEach(p, prompts) {
        out(&b, "<th>");
        out_text(&b, cJSON_IsString(p) ? p->valuestring : "");
        out(&b, "</th>");
    }
    out(&b, "</tr>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(configs, i), *smp;
        out(&b, "<tr><td class='l'>");
        out_text(&b, str_field(c, "label"));
        out(&b, "<br><small>");
        out_text(&b, str_field(c, "band"));
        out(&b, "</small></td>");
        cJSON_ArrayForEach(smp, cJSON_GetObjectItemCaseSensitive(c, "samples")) {
            out(&b, "<td>");
            out_text(&b, cJSON_IsString(smp) ? smp->valuestring : "");
            out(&b, "</td>");
        }
        out(&b, "</tr>\n");
    }
    out(&b, "</table>\n<p><small>Written by lesion from summary.json; per-seed rows are in results.jsonl and "
            "results.csv.</small></p>\n</body></html>\n");
    if (b.oom) {
        free(b.buf);
        return ls_fail(err, "%s: out of memory rendering the report", path);
    }
    int rc = ls_write_file_atomic(path, b.buf, b.len, err);
    free(b.buf);
    return rc;
}
