/* report.c: report.html, one self-contained page rendered from summary.json.
 *
 * The page needs no network and no script: plots are inline SVG drawn here,
 * then the band table and the generated samples side by side. Rendering
 * from the summary object, not from sweep internals, keeps one source of
 * truth: what the page shows is what summary.json says.
 *
 * The plots show only what the data supports: an ordered plan (cumulative,
 * reverse) is a series, drawn as a line with its interval band; any other
 * plan's configurations have no order, so they are drawn as points with
 * interval bars, sorted by KL, never joined. Each seed's value is a faint
 * dot behind the center. The heads plan's heat map has a colour scale and
 * marks the heads whose cross-entropy interval excludes the clean model's.
 * The page opens with the provenance (command, generator, seeds, input
 * hashes) and says when the data is partial or the intervals rough. */
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
        case '\'': out(b, "&#39;"); break;
        default: out(b, "%c", *s);
        }
    }
}

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static double metric_field(const cJSON *cfg, const char *metric, const char *field) {
    const cJSON *v = item(item(item(cfg, "metrics"), metric), field);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *metric_values(const cJSON *cfg, const char *metric) {
    return item(item(item(cfg, "metrics"), metric), "values");
}

static const char *str_field(const cJSON *o, const char *key) {
    const cJSON *v = item(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const char *const palette[] = {"#2a5db0", "#c0392b", "#2e8b57", "#8e44ad", "#d4a017", "#16a085", "#7f8c8d"};
#define N_PALETTE (int)(sizeof palette / sizeof palette[0])

/* One series of a plot: configurations cfgs (in x order; NULL entries are
 * gaps), drawn as a line with a band (joined) or as points with bars. */
typedef struct series {
    const cJSON *const *cfgs;
    int n;
    const char *name;  /* legend, or NULL */
    int joined;
} series;

/* Plots metric for one or more series over shared x labels. */
static void plot(sbuf *b, const series *ss, int n_series, const char *const *xlabels, int n_x, const char *metric,
                 const char *title, int log_y, double y_min, double y_max) {
    const int W = 560, L = 64, R = 16, T = n_series > 1 ? 30 + 14 * ((n_series + 2) / 3) : 30, B = 78, H = 270 + T;
    double lo = INFINITY, hi = -INFINITY;
    /* NaN (no value, no interval) stays NaN on either axis: fmax would turn it into a number */
#define TRANS(v) (log_y ? ((v) > 0 ? log10(v) : NAN) : (v))
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < ss[s].n; i++) {
            const cJSON *c = ss[s].cfgs[i], *v;
            if (!c) continue;
            double f[3] = {metric_field(c, metric, "lo"), metric_field(c, metric, "hi"), metric_field(c, metric, "center")};
            for (int k = 0; k < 3; k++)
                if (isfinite(TRANS(f[k]))) lo = fmin(lo, TRANS(f[k])), hi = fmax(hi, TRANS(f[k]));
            cJSON_ArrayForEach(v, metric_values(c, metric)) if (cJSON_IsNumber(v) && isfinite(TRANS(v->valuedouble))) {
                lo = fmin(lo, TRANS(v->valuedouble));
                hi = fmax(hi, TRANS(v->valuedouble));
            }
        }
    if (!isfinite(lo)) return;
    if (hi - lo < 1e-12) hi = lo + (log_y ? 0.1 : fmax(fabs(lo) * 0.01, 1e-6));
    double pad = (hi - lo) * 0.06;
    lo -= pad, hi += pad;
    if (!log_y) lo = fmax(lo, y_min), hi = fmin(hi, y_max); /* no axis beyond what the metric can be */
#define PX(i) (L + (n_x > 1 ? (double)(i) * (W - L - R) / (n_x - 1) : (W - L - R) / 2.0))
#define PY(v) (T + (H - T - B) * (1 - (TRANS(v) - lo) / (hi - lo)))
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' "
           "role='img' aria-label='", W, H, W, H);
    out_text(b, title);
    out(b, "'>\n<text x='%d' y='18' class='t'>", L);
    out_text(b, title);
    out(b, "</text>\n");
    for (int g = 0; g <= 4; g++) { /* horizontal grid with labels */
        double y = T + (H - T - B) * g / 4.0, val = hi - (hi - lo) * g / 4.0;
        out(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='g'/>", L, W - R, y, y);
        out(b, "<text x='%d' y='%.1f' class='a' text-anchor='end'>%.3g</text>\n", L - 6, y + 4, log_y ? pow(10, val) : val);
    }
    for (int s = 0; s < n_series; s++) {
        const series *sr = &ss[s];
        const char *col = palette[s % N_PALETTE];
        /* per-seed values, faint */
        for (int i = 0; i < sr->n; i++) {
            const cJSON *v, *c = sr->cfgs[i];
            if (!c) continue;
            cJSON_ArrayForEach(v, metric_values(c, metric)) if (cJSON_IsNumber(v) && isfinite(TRANS(v->valuedouble)))
                out(b, "<circle cx='%.1f' cy='%.1f' r='2' fill='%s' fill-opacity='.22'/>", PX(i) + (n_series > 1 ? 3.0 * s : 0),
                    PY(v->valuedouble), col);
        }
        if (sr->joined) {
            /* band and line through consecutive configurations that have them */
            out(b, "<polygon fill='%s' fill-opacity='.15' stroke='none' points='", col);
            for (int i = 0; i < sr->n; i++)
                if (sr->cfgs[i] && isfinite(metric_field(sr->cfgs[i], metric, "hi")))
                    out(b, "%.1f,%.1f ", PX(i), PY(metric_field(sr->cfgs[i], metric, "hi")));
            for (int i = sr->n - 1; i >= 0; i--)
                if (sr->cfgs[i] && isfinite(metric_field(sr->cfgs[i], metric, "lo")))
                    out(b, "%.1f,%.1f ", PX(i), PY(metric_field(sr->cfgs[i], metric, "lo")));
            out(b, "'/>\n<polyline fill='none' stroke='%s' stroke-width='2' points='", col);
            for (int i = 0; i < sr->n; i++)
                if (sr->cfgs[i] && isfinite(TRANS(metric_field(sr->cfgs[i], metric, "center"))))
                    out(b, "%.1f,%.1f ", PX(i), PY(metric_field(sr->cfgs[i], metric, "center")));
            out(b, "'/>\n");
        }
        for (int i = 0; i < sr->n; i++) {
            const cJSON *c = sr->cfgs[i];
            double m = c ? metric_field(c, metric, "center") : NAN, l = c ? metric_field(c, metric, "lo") : NAN,
                   h = c ? metric_field(c, metric, "hi") : NAN, x = PX(i) + (n_series > 1 && !sr->joined ? 3.0 * s : 0);
            if (!isfinite(TRANS(m))) continue;
            if (!sr->joined && isfinite(TRANS(l)) && isfinite(TRANS(h)))
                out(b, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='1.5'/>", x, x, PY(l), PY(h), col);
            out(b, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'><title>", x, PY(m), col);
            if (sr->name) out_text(b, sr->name), out(b, " ");
            out_text(b, str_field(c, "label"));
            if (isfinite(l) && isfinite(h)) out(b, ": %.4g [%.4g, %.4g]</title></circle>", m, l, h);
            else out(b, ": %.4g (no interval)</title></circle>", m);
        }
    }
    int every = n_x <= 16 ? 1 : (n_x + 15) / 16;
    for (int i = 0; i < n_x; i += every) {
        out(b, "<text class='a' transform='translate(%.1f,%d) rotate(-45)' text-anchor='end'>", PX(i), H - B + 14);
        out_text(b, xlabels[i]);
        out(b, "</text>\n");
    }
    for (int s = 0; n_series > 1 && s < n_series; s++) { /* the legend: under the title, three to a row */
        int lx = L + (s % 3) * 160, ly = 26 + 14 * (s / 3);
        out(b, "<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' class='a'>", lx, ly,
            palette[s % N_PALETTE], lx + 14, ly + 9);
        out_text(b, ss[s].name ? ss[s].name : "");
        out(b, "</text>\n");
    }
    out(b, "</svg><figcaption>");
    out_text(b, title);
    out(b, ": %s; faint dots: each noise seed%s.</figcaption></figure>\n",
        ss[0].joined ? "center over noise seeds, shaded 95% interval"
                     : "configurations in no order of their own, sorted by KL: center and 95% interval bar",
        log_y ? "; log scale" : "");
#undef PX
#undef PY
#undef TRANS
}

/* Layer x head heat map of KL with a colour scale; heads whose held-out
 * cross-entropy interval excludes the clean value carry a dot. */
static void heatmap(sbuf *b, const cJSON *heads, const char *title) {
    const cJSON *grid = item(heads, "kl"), *marks = item(heads, "differs"), *layers = item(heads, "layers");
    int nl = cJSON_GetArraySize(grid), nh = nl ? cJSON_GetArraySize(cJSON_GetArrayItem(grid, 0)) : 0;
    if (!nl || !nh) return;
    double mx = 1e-12;
    for (int l = 0; l < nl; l++)
        for (int h = 0; h < nh; h++) {
            const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, l), h);
            if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) mx = fmax(mx, v->valuedouble);
        }
    const int cell = 34, L = 50, T = 40, scale_w = 16;
    int W = L + nh * cell + 90, H = T + nl * cell + 30, any_mark = 0;
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' aria-label='%s'>\n", W, H,
        title);
    out(b, "<text x='%d' y='18' class='t'>%s</text>\n", L, title);
    for (int h = 0; h < nh; h++)
        out(b, "<text x='%d' y='%d' class='a' text-anchor='middle'>H%d</text>", L + h * cell + cell / 2, T - 6, h);
    for (int l = 0; l < nl; l++) {
        const cJSON *ly = cJSON_GetArrayItem(layers, l);
        int layer = cJSON_IsNumber(ly) ? ly->valueint : l;
        out(b, "<text x='%d' y='%d' class='a' text-anchor='end'>L%d</text>", L - 6, T + l * cell + cell / 2 + 4, layer);
        for (int h = 0; h < nh; h++) {
            const cJSON *v = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, l), h);
            const cJSON *mk = cJSON_GetArrayItem(cJSON_GetArrayItem(marks, l), h);
            double x = cJSON_IsNumber(v) ? v->valuedouble : NAN, f = sqrt(fmax(x, 0) / mx);
            if (!(f >= 0 && f <= 1)) f = isnan(x) ? 0 : 1; /* inf / inf (an infinite KL): the darkest, never a NaN cast to int */
            int r = 255, g = (int)(255 - 200 * f), bl = (int)(255 - 230 * f);
            out(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='rgb(%d,%d,%d)' stroke='#fff'><title>L%d H%d: "
                   "KL %.4g%s</title></rect>\n", L + h * cell, T + l * cell, cell, cell, r, g, bl, layer, h, x,
                cJSON_IsTrue(mk) ? "; cross-entropy differs from clean beyond noise" : "");
            if (cJSON_IsTrue(mk)) {
                any_mark = 1;
                out(b, "<circle cx='%d' cy='%d' r='4' fill='#000'/>", L + h * cell + cell / 2, T + l * cell + cell / 2);
            }
        }
    }
    /* the colour scale: square root of KL from 0 to the maximum */
    int sx = L + nh * cell + 16, sh = nl * cell;
    out(b, "<defs><linearGradient id='klscale' x1='0' y1='1' x2='0' y2='0'><stop offset='0' stop-color='rgb(255,255,255)'/>"
           "<stop offset='1' stop-color='rgb(255,55,25)'/></linearGradient></defs>");
    out(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='url(#klscale)' stroke='#999'/>", sx, T, scale_w, sh);
    for (int k = 0; k <= 4; k++) {
        double f = k / 4.0, val = f * f * mx; /* the colour is linear in sqrt(KL) */
        out(b, "<text x='%d' y='%.1f' class='a'>%.2g</text>", sx + scale_w + 4, T + sh - f * sh + 4, val);
    }
    out(b, "</svg><figcaption>%s: colour is the square root of KL (the scale, in nats, on the right; max %.3g). ", title,
        mx);
    if (any_mark) out(b, "A dot marks a head whose held-out cross-entropy interval excludes the clean model's value.");
    else out(b, "No head's held-out cross-entropy interval excludes the clean value (or one seed gives no interval).");
    out(b, "</figcaption></figure>\n");
}

static const char *const metric_names[][2] = {
    {"perplexity", "held-out perplexity"}, {"kl", "KL(clean || lesioned), nats/token"},
    {"top1", "top-1 agreement with clean"}, {"gen_ppl", "fluency: clean-model perplexity of generated text"},
    {"rep4", "repeated 4-grams in generations"}, {"distinct2", "distinct-2 of generations"},
};
#define N_NAMES (int)(sizeof metric_names / sizeof metric_names[0])

/* "12.3 [11.9, 12.8]" or "12.3" (no interval). */
static void out_estimate(sbuf *b, const cJSON *c, const char *metric) {
    double m = metric_field(c, metric, "center"), lo = metric_field(c, metric, "lo"), hi = metric_field(c, metric, "hi");
    if (isnan(m)) out(b, "<td>-</td>");
    else if (isnan(lo) || isnan(hi)) out(b, "<td>%.3g</td>", m);
    else out(b, "<td>%.3g <small>[%.3g, %.3g]</small></td>", m, lo, hi);
}

static const char *style(void) {
    return "body{font-family:system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#222}"
           "h1{font-size:1.5em}table{border-collapse:collapse;font-size:.85em;margin:12px 0}"
           "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}"
           "td.l,th.l{text-align:left}figure{display:inline-block;margin:6px}figcaption{font-size:.8em;color:#555;max-width:560px}"
           ".g{stroke:#e5e5e5}.a{font-size:10px;fill:#555}.t{font-size:13px;font-weight:600}"
           ".b0{background:#e7f6e7}.b1{background:#fff6d6}.b2{background:#ffe3cc}.b3{background:#fbd3d3}"
           ".note{background:#fff6d6;border:1px solid #e5c85c;padding:6px 10px}"
           ".samples td{vertical-align:top;text-align:left;font-family:Georgia,serif;font-size:.9em;max-width:260px}"
           "code{word-break:break-all}";
}

/* Provenance: what produced this page, exactly. */
static void provenance(sbuf *b, const cJSON *s) {
    const cJSON *p = item(s, "provenance");
    out(b, "<table><tr><th class='l'>model</th><td class='l'><code>");
    out_text(b, str_field(s, "model"));
    out(b, "</code>");
    const cJSON *m = item(p, "model");
    if (m) {
        out(b, " (weights ");
        out_text(b, str_field(m, "weights_hash"));
        out(b, ", config ");
        out_text(b, str_field(m, "config_hash"));
        out(b, ", tokenizer ");
        out_text(b, str_field(m, "tokenizer_hash"));
        out(b, "; XXH64)");
    }
    out(b, "</td></tr>\n");
    if (p) {
        out(b, "<tr><th class='l'>eval text</th><td class='l'><code>");
        out_text(b, str_field(p, "eval_path"));
        out(b, "</code> (XXH64 ");
        out_text(b, str_field(item(p, "eval"), "hash"));
        const cJSON *tok = item(item(p, "eval"), "tokens"), *ctx = item(item(p, "eval"), "ctx");
        out(b, "), %d tokens in windows of %d</td></tr>\n", cJSON_IsNumber(tok) ? tok->valueint : 0,
            cJSON_IsNumber(ctx) ? ctx->valueint : 0);
        out(b, "<tr><th class='l'>command</th><td class='l'><code>");
        out_text(b, str_field(p, "command"));
        out(b, "</code></td></tr>\n<tr><th class='l'>noise</th><td class='l'>");
        out_text(b, str_field(s, "mode"));
        out(b, ", match ");
        out_text(b, str_field(s, "match"));
        out(b, ", generator ");
        out_text(b, str_field(p, "rng"));
        out(b, ", lesion seeds ");
        out_text(b, str_field(p, "lesion_seed"));
        const cJSON *seeds = item(s, "seeds");
        int S = cJSON_IsNumber(seeds) ? seeds->valueint : 0;
        if (S > 1) out(b, " to +%d", S - 1);
        out(b, " (%d per configuration), weights stored as ", S);
        out_text(b, str_field(p, "weights"));
        out(b, "</td></tr>\n");
    }
    out(b, "</table>\n");
}

static void notes(sbuf *b, const cJSON *s) {
    const cJSON *baseline = item(s, "baseline");
    if (cJSON_IsString(baseline)) {
        out(b, "<p class='note'><b>Baseline:</b> ");
        out_text(b, baseline->valuestring);
        out(b, ".</p>\n");
    }
    const cJSON *present = item(s, "rows_present"), *expected = item(s, "rows_expected");
    if (cJSON_IsTrue(item(s, "partial")) && cJSON_IsNumber(present) && cJSON_IsNumber(expected))
        out(b, "<p class='note'><b>Partial: %d of %d rows.</b> The sweep is incomplete or still running; "
               "configurations without rows are missing from the plots and tables.</p>\n",
            present->valueint, expected->valueint);
    const cJSON *seeds = item(s, "seeds");
    int S = cJSON_IsNumber(seeds) ? seeds->valueint : 0;
    if (S == 1)
        out(b, "<p class='note'>One noise seed per configuration: no intervals are shown (none can be computed), "
               "and the transition has no uncertainty estimate.</p>\n");
    else if (S > 1 && S < LS_ROUGH_BELOW_SEEDS)
        out(b, "<p class='note'>%d noise seeds per configuration: the intervals and the transition's bootstrap are "
               "rough (with %d seeds a Student-t interval is %.1fx as wide as with many); use %d or more seeds for "
               "usable ones.</p>\n", S, S, S == 2 ? 12.706 / 1.96 : S == 3 ? 4.303 / 1.96 : 3.182 / 1.96,
            LS_ROUGH_BELOW_SEEDS);
}

/* The configurations in plot order: as planned (ordered), else clean then by ranking. */
static int plot_order(const cJSON *s, const cJSON **order, const char **labels) {
    const cJSON *configs = item(s, "configs"), *ranking = item(s, "ranking"), *r;
    int n = 0, total = cJSON_GetArraySize(configs);
    if (!ranking || cJSON_IsTrue(item(s, "ordered"))) {
        for (int i = 0; i < total; i++) order[n] = cJSON_GetArrayItem(configs, i), labels[n] = str_field(order[n], "label"), n++;
        return n;
    }
    order[n] = cJSON_GetArrayItem(configs, 0), labels[n] = str_field(order[n], "label"), n++;
    cJSON_ArrayForEach(r, ranking) if (cJSON_IsNumber(r) && r->valueint > 0 && r->valueint < total && n < total) {
        order[n] = cJSON_GetArrayItem(configs, r->valueint);
        labels[n] = str_field(order[n], "label");
        n++;
    }
    return n;
}

static const struct {
    const char *metric, *title;
    int log_y;
    double y_min, y_max; /* the metric's range: the axis never shows beyond it */
} plots[] = {
    {"perplexity", "held-out perplexity", 1, 0, INFINITY},
    {"kl", "KL(clean || lesioned), nats per token", 0, 0, INFINITY},
    {"top1", "top-1 agreement with the clean model", 0, 0, 1},
    {"rep4", "repetition: repeated 4-grams in generations", 0, 0, 1},
};

static int finish(sbuf *b, const char *path, ls_error *err) {
    if (b->oom) {
        free(b->buf);
        return ls_fail(err, "%s: out of memory rendering the report", path);
    }
    int rc = ls_write_file_atomic(path, b->buf, b->len, err);
    free(b->buf);
    return rc;
}

/* Layers x configurations map of the mean normalised attention entropy
 * (per_layer.attn_entropy of each configuration): where attention flattens
 * (towards 1, uniform) or sharpens as the lesion grows. */
static void entropy_map(sbuf *b, const cJSON *configs, const cJSON *const *order, const char *const *labels, int n) {
    int L = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *a = item(item(order[i], "per_layer"), "attn_entropy");
        if (cJSON_GetArraySize(a) > L) L = cJSON_GetArraySize(a);
    }
    (void)configs;
    if (!L || !n) return;
    const int cw = n > 40 ? 14 : 34, ch = 18, left = 50, top = 30, bottom = n > 40 ? 20 : 70, scale_w = 16;
    int W = left + n * cw + 90, H = top + L * ch + bottom;
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' aria-label='attention "
           "entropy'>\n<text x='%d' y='18' class='t'>Mean normalised attention entropy by layer</text>\n", W, H, left);
    for (int l = 0; l < L; l++)
        out(b, "<text x='%d' y='%d' class='a' text-anchor='end'>L%d</text>", left - 6, top + l * ch + ch / 2 + 4, l);
    for (int i = 0; i < n; i++) {
        const cJSON *a = item(item(order[i], "per_layer"), "attn_entropy");
        for (int l = 0; l < L; l++) {
            const cJSON *v = cJSON_GetArrayItem(a, l);
            double e = cJSON_IsNumber(v) ? v->valuedouble : NAN, f = isnan(e) ? 0 : fmin(fmax(e, 0), 1);
            int r = (int)(255 - 200 * (1 - f)), g = (int)(255 - 120 * (1 - f)), bl = 255; /* dark blue: sharp; white: uniform */
            out(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='rgb(%d,%d,%d)' stroke='#fff'><title>", left + i * cw,
                top + l * ch, cw, ch, r, g, bl);
            out_text(b, labels[i]);
            out(b, ", L%d: %.3f</title></rect>\n", l, e);
        }
        if (n <= 40) {
            out(b, "<text class='a' transform='translate(%d,%d) rotate(-60)' text-anchor='end'>", left + i * cw + cw / 2,
                top + L * ch + 12);
            out_text(b, labels[i]);
            out(b, "</text>");
        }
    }
    int sx = left + n * cw + 16, sh = L * ch;
    out(b, "<defs><linearGradient id='entscale' x1='0' y1='1' x2='0' y2='0'><stop offset='0' stop-color='rgb(55,135,255)'/>"
           "<stop offset='1' stop-color='rgb(255,255,255)'/></linearGradient></defs>");
    out(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='url(#entscale)' stroke='#999'/>", sx, top, scale_w, sh);
    for (int k = 0; k <= 4; k++)
        out(b, "<text x='%d' y='%.1f' class='a'>%.2f</text>", sx + scale_w + 4, top + sh - k / 4.0 * sh + 4, k / 4.0);
    out(b, "</svg><figcaption>Each column is a configuration, each row a layer; the colour is the layer's mean "
           "normalised attention entropy over the held-out windows (0: every query on one key, dark; 1: uniform, "
           "white; queries at positions >= 16, averaged over heads and seeds). A lesion that destroys what attention "
           "reads shows as columns turning white from the lesioned layers on.</figcaption></figure>\n");
}

/* Probe accuracy by site (resid_pre@L0, resid_post@L0..): one line per
 * configuration (probe.center of each), the clean model thick and black,
 * the others in the palette; hovering a point names it. */
/* Colour of configuration i of n in an ordered plan: light to dark along the series. */
static void series_colour(char *buf, size_t cap, int i, int n) {
    double t = n > 2 ? (double)(i - 1) / (n - 2) : 1; /* i = 1 .. n-1 (0 is clean) */
    int r = (int)(244 + t * (103 - 244)), g = (int)(165 + t * (0 - 165)), bl = (int)(130 + t * (31 - 130));
    snprintf(buf, cap, "#%02x%02x%02x", r, g, bl);
}

static void probe_plot(sbuf *b, const cJSON *const *order, const char *const *labels, int n, int ordered) {
    const cJSON *sites = NULL, *task = NULL;
    for (int i = 0; i < n && !sites; i++) {
        sites = item(item(order[i], "probe"), "sites");
        task = item(item(order[i], "probe"), "task");
    }
    int S = cJSON_GetArraySize(sites);
    if (S < 1) return;
    const int legend = n <= 24, rows = legend ? (n + 2) / 3 : 0;
    const int W = 620, L = 56, R = 16, T = 30 + 14 * rows, B = 78, H = 260 + T;
    double y0 = 1; /* the axis: from the lowest center (rounded down to 0.1) to 1 */
    for (int i = 0; i < n; i++) {
        const cJSON *v;
        cJSON_ArrayForEach(v, item(item(order[i], "probe"), "center")) if (cJSON_IsNumber(v) && v->valuedouble < y0) y0 = v->valuedouble;
    }
    y0 = fmax(0, floor(y0 * 10 - 1e-9) / 10);
    if (y0 > 0.9) y0 = 0.9;
#define PX(j) (L + (S > 1 ? (double)(j) * (W - L - R) / (S - 1) : (W - L - R) / 2.0))
#define PY(v) (T + (H - T - B) * (1 - ((v) - y0) / (1 - y0)))
    out(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' aria-label='probe "
           "accuracy by layer'>\n<text x='%d' y='18' class='t'>Probe accuracy (", W, H, L);
    out_text(b, cJSON_IsString(task) ? task->valuestring : "?");
    out(b, ") by layer</text>\n");
    for (int g = 0; g <= 4; g++) {
        double v = y0 + (1 - y0) * g / 4.0;
        out(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' class='g'/><text x='%d' y='%.1f' class='a' "
               "text-anchor='end'>%.3g</text>\n", L, W - R, PY(v), PY(v), L - 6, PY(v) + 4, v);
    }
    for (int pass = 0; pass < 2; pass++) /* the clean line last, on top */
        for (int i = 0; i < n; i++) {
            int clean = item(order[i], "index") && item(order[i], "index")->valueint == 0;
            if (clean != pass) continue;
            const cJSON *ce = item(item(order[i], "probe"), "center");
            char shade[8];
            series_colour(shade, sizeof shade, i, n);
            const char *col = clean ? "#000" : ordered ? shade : palette[i % N_PALETTE];
            out(b, "<polyline fill='none' stroke='%s' stroke-width='%s' stroke-opacity='%s' points='", col,
                clean ? "3" : "1.5", clean ? "1" : ".8");
            for (int j = 0; j < S; j++) {
                const cJSON *v = cJSON_GetArrayItem(ce, j);
                if (cJSON_IsNumber(v)) out(b, "%.1f,%.1f ", PX(j), PY(v->valuedouble));
            }
            out(b, "'/>\n");
            for (int j = 0; j < S; j++) {
                const cJSON *v = cJSON_GetArrayItem(ce, j), *lo = cJSON_GetArrayItem(item(item(order[i], "probe"), "lo"), j),
                            *hi = cJSON_GetArrayItem(item(item(order[i], "probe"), "hi"), j);
                if (!cJSON_IsNumber(v)) continue;
                out(b, "<circle cx='%.1f' cy='%.1f' r='%d' fill='%s'><title>", PX(j), PY(v->valuedouble), clean ? 3 : 2, col);
                out_text(b, labels[i]);
                out(b, ", ");
                out_text(b, cJSON_IsString(cJSON_GetArrayItem(sites, j)) ? cJSON_GetArrayItem(sites, j)->valuestring : "");
                if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi))
                    out(b, ": %.3f [%.3f, %.3f]</title></circle>", v->valuedouble, lo->valuedouble, hi->valuedouble);
                else out(b, ": %.3f</title></circle>", v->valuedouble);
            }
        }
    for (int j = 0; j < S; j++) {
        const cJSON *nm = cJSON_GetArrayItem(sites, j);
        out(b, "<text class='a' transform='translate(%.1f,%d) rotate(-45)' text-anchor='end'>", PX(j), H - B + 14);
        out_text(b, cJSON_IsString(nm) ? nm->valuestring : "");
        out(b, "</text>\n");
    }
    for (int i = 0; legend && i < n; i++) {
        int clean = item(order[i], "index") && item(order[i], "index")->valueint == 0;
        int lx = L + (i % 3) * 180, ly = 26 + 14 * (i / 3);
        char shade[8];
        series_colour(shade, sizeof shade, i, n);
        out(b, "<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' class='a'>", lx, ly,
            clean ? "#000" : ordered ? shade : palette[i % N_PALETTE], lx + 14, ly + 9);
        out_text(b, labels[i]);
        out(b, "</text>\n");
    }
    out(b, "</svg><figcaption>Held-out accuracy of linear probes trained on each configuration's own model (its "
           "lesions and interventions), at the residual stream entering block 0 and leaving each block: one line per "
           "configuration (center over noise seeds, on the angular scale of fractions; an ordered plan light to dark "
           "along its series), the clean model thick and black. Where a line drops below the clean one, that information is lost from that depth on."
           "</figcaption></figure>\n");
#undef PX
#undef PY
}

int ls_report_write(const char *path, const void *summary_json, ls_error *err) {
    const cJSON *s = summary_json;
    const cJSON *configs = item(s, "configs");
    int n = cJSON_GetArraySize(configs);
    sbuf b = {0};
    out(&b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>lesion report</title>\n<style>%s"
            "</style></head><body>\n", style());
    out(&b, "<h1>lesion report: ");
    out_text(&b, str_field(s, "target"));
    out(&b, ", ");
    out_text(&b, str_field(s, "plan"));
    out(&b, ", ");
    out_text(&b, str_field(s, "mode"));
    out(&b, "</h1>\n");
    provenance(&b, s);
    const cJSON *seeds = item(s, "seeds"), *tokens = item(s, "eval_tokens");
    out(&b, "<p>%d noise seeds per configuration (the clean model once); %d held-out tokens scored per run.</p>\n",
        cJSON_IsNumber(seeds) ? seeds->valueint : 0, cJSON_IsNumber(tokens) ? tokens->valueint : 0);
    notes(&b, s);
    const cJSON *tr = item(s, "transition");
    if (tr) {
        out(&b, "<p><b>Phase transition.</b> ");
        out_text(&b, str_field(tr, "statement"));
        out(&b, "</p>\n");
    }
    out(&b, "<h2>Damage</h2>\n");
    const cJSON *heads = item(s, "heads");
    if (heads) heatmap(&b, heads, "Per-head lesions: KL to the clean model");
    const cJSON **order = calloc((size_t)n + 1, sizeof *order);
    const char **labels = calloc((size_t)n + 1, sizeof *labels);
    if (!order || !labels) b.oom = 1;
    else {
        int k = plot_order(s, order, labels);
        series sr = {order, k, NULL, cJSON_IsTrue(item(s, "ordered"))};
        for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++)
            plot(&b, &sr, 1, labels, k, plots[i].metric, plots[i].title, plots[i].log_y, plots[i].y_min, plots[i].y_max);
        entropy_map(&b, configs, order, labels, k);
        probe_plot(&b, order, labels, k, cJSON_IsTrue(item(s, "ordered")));
    }
    free(order);
    free(labels);

    out(&b, "<h2>Bands</h2>\n<p>");
    out_text(&b, str_field(s, "band_rule"));
    out(&b, " Values are centers with 95%% intervals on each metric's scale (docs/sweep.md).</p>\n<table><tr>"
            "<th>configuration</th><th>band</th>");
    for (int k = 0; k < N_NAMES; k++) out(&b, "<th>%s</th>", metric_names[k][1]);
    out(&b, "</tr>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *c = cJSON_GetArrayItem(configs, i);
        const cJSON *bi = item(c, "band_index");
        out(&b, "<tr class='b%d'><td class='l'>", cJSON_IsNumber(bi) ? bi->valueint : 0);
        out_text(&b, str_field(c, "label"));
        out(&b, "</td><td class='l'>");
        out_text(&b, str_field(c, "band"));
        out(&b, "</td>");
        for (int k = 0; k < N_NAMES; k++) out_estimate(&b, c, metric_names[k][0]);
        out(&b, "</tr>\n");
    }
    out(&b, "</table>\n<h2>Generated samples</h2>\n<p>The lowest noise seed of each configuration; the same prompts "
            "and sampling seeds for every configuration.</p>\n<table class='samples'><tr><th>configuration</th>");
    const cJSON *p;
    cJSON_ArrayForEach(p, item(s, "prompts")) {
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
        cJSON_ArrayForEach(smp, item(c, "samples")) {
            out(&b, "<td>");
            out_text(&b, cJSON_IsString(smp) ? smp->valuestring : "");
            out(&b, "</td>");
        }
        out(&b, "</tr>\n");
    }
    out(&b, "</table>\n<p><small>Written by lesion from summary.json; per-seed rows are in results.jsonl and "
            "results.csv.</small></p>\n</body></html>\n");
    return finish(&b, path, err);
}

/* ---- several sweeps on one page ------------------------------------------------ */

/* Whether any configuration of summary s carries probe accuracies. */
static int has_probes(const cJSON *s) {
    const cJSON *c;
    cJSON_ArrayForEach(c, item(s, "configs")) if (item(item(c, "probe"), "sites")) return 1;
    return 0;
}

/* One probe figure per sweep that ran probes (lesion sweep --probe), each in
 * its own plot order: their sites and tasks may differ, so they are not
 * overlaid. */
static void probe_figures(sbuf *b, const void *const *summaries, const char *const *names, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) any |= has_probes(summaries[i]);
    if (!any) return;
    out(b, "<h2>Probes</h2>\n");
    for (int i = 0; i < n && !b->oom; i++) {
        const cJSON *s = summaries[i];
        if (!has_probes(s)) continue;
        int total = cJSON_GetArraySize(item(s, "configs"));
        const cJSON **order = calloc((size_t)total + 1, sizeof *order);
        const char **labels = calloc((size_t)total + 1, sizeof *labels);
        if (!order || !labels) b->oom = 1;
        else {
            out(b, "<h3 style='color:%s'>", palette[i % N_PALETTE]);
            out_text(b, names[i]);
            out(b, "</h3>\n");
            probe_plot(b, order, labels, plot_order(s, order, labels), cJSON_IsTrue(item(s, "ordered")));
        }
        free(order);
        free(labels);
    }
}

int ls_report_compare_write(const char *path, const void *const *summaries, const char *const *names, int n,
                            ls_error *err) {
    if (n < 1) return ls_fail(err, "no sweeps to compare");
    const cJSON *first = summaries[0];
    const cJSON *w0 = item(item(item(first, "provenance"), "model"), "weights_hash");
    const cJSON *e0 = item(item(item(first, "provenance"), "eval"), "hash");
    for (int i = 1; i < n; i++) {
        const cJSON *pi = item(summaries[i], "provenance");
        const cJSON *wi = item(item(pi, "model"), "weights_hash"), *ei = item(item(pi, "eval"), "hash");
        if (!cJSON_IsString(w0) || !cJSON_IsString(wi) || strcmp(w0->valuestring, wi->valuestring) != 0)
            return ls_fail(err, "%s and %s are sweeps of different models (weights hash %s vs %s): not comparable",
                           names[0], names[i], cJSON_IsString(w0) ? w0->valuestring : "?",
                           cJSON_IsString(wi) ? wi->valuestring : "?");
        if (!cJSON_IsString(e0) || !cJSON_IsString(ei) || strcmp(e0->valuestring, ei->valuestring) != 0)
            return ls_fail(err, "%s and %s scored different eval texts (hash %s vs %s): not comparable", names[0],
                           names[i], cJSON_IsString(e0) ? e0->valuestring : "?", cJSON_IsString(ei) ? ei->valuestring : "?");
    }
    /* x: the union of labels, in order of first appearance */
    int cap = 0;
    for (int i = 0; i < n; i++) cap += cJSON_GetArraySize(item(summaries[i], "configs"));
    const char **xl = calloc((size_t)cap + 1, sizeof *xl);
    const cJSON **cells = calloc((size_t)n * ((size_t)cap + 1), sizeof *cells);
    series *ss = calloc((size_t)n, sizeof *ss);
    sbuf b = {0};
    if (!xl || !cells || !ss) b.oom = 1;
    int nx = 0, all_ordered = 1;
    for (int i = 0; !b.oom && i < n; i++) {
        const cJSON *c;
        all_ordered &= cJSON_IsTrue(item(summaries[i], "ordered"));
        cJSON_ArrayForEach(c, item(summaries[i], "configs")) {
            const char *lab = str_field(c, "label");
            int x = 0;
            while (x < nx && strcmp(xl[x], lab) != 0) x++;
            if (x == nx) xl[nx++] = lab;
            cells[(size_t)i * (cap + 1) + x] = c;
        }
    }
    out(&b, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>lesion comparison</title>\n<style>%s"
            "</style></head><body>\n<h1>lesion comparison: %d sweeps</h1>\n", style(), n);
    out(&b, "<p>Same model (weights XXH64 ");
    out_text(&b, cJSON_IsString(w0) ? w0->valuestring : "");
    out(&b, ") and eval text (XXH64 ");
    out_text(&b, cJSON_IsString(e0) ? e0->valuestring : "");
    out(&b, "); configurations matched by label.</p>\n<table><tr><th class='l'>sweep</th><th class='l'>target, plan, "
            "mode</th><th>seeds</th><th class='l'>command</th></tr>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *s = summaries[i], *seeds = item(s, "seeds");
        out(&b, "<tr><td class='l' style='color:%s'>", palette[i % N_PALETTE]);
        out_text(&b, names[i]);
        out(&b, "</td><td class='l'>");
        out_text(&b, str_field(s, "target"));
        out(&b, ", ");
        out_text(&b, str_field(s, "plan"));
        out(&b, ", ");
        out_text(&b, str_field(s, "mode"));
        out(&b, "%s</td><td>%d</td><td class='l'><code>", cJSON_IsTrue(item(s, "partial")) ? " (partial)" : "",
            cJSON_IsNumber(seeds) ? seeds->valueint : 0);
        out_text(&b, str_field(item(s, "provenance"), "command"));
        out(&b, "</code></td></tr>\n");
    }
    out(&b, "</table>\n<h2>Damage</h2>\n");
    for (int i = 0; !b.oom && i < n; i++)
        ss[i] = (series){cells + (size_t)i * (cap + 1), nx, names[i], all_ordered};
    for (size_t k = 0; !b.oom && k < sizeof plots / sizeof plots[0]; k++)
        plot(&b, ss, n, xl, nx, plots[k].metric, plots[k].title, plots[k].log_y, plots[k].y_min, plots[k].y_max);
    probe_figures(&b, summaries, names, n);
    out(&b, "<h2>Table</h2>\n<table><tr><th>configuration</th>");
    for (int i = 0; i < n; i++) {
        out(&b, "<th>");
        out_text(&b, names[i]);
        out(&b, ": perplexity</th><th>");
        out_text(&b, names[i]);
        out(&b, ": KL</th>");
    }
    out(&b, "</tr>\n");
    for (int x = 0; !b.oom && x < nx; x++) {
        out(&b, "<tr><td class='l'>");
        out_text(&b, xl[x]);
        out(&b, "</td>");
        for (int i = 0; i < n; i++) {
            const cJSON *c = cells[(size_t)i * (cap + 1) + x];
            if (c) out_estimate(&b, c, "perplexity"), out_estimate(&b, c, "kl");
            else out(&b, "<td>-</td><td>-</td>");
        }
        out(&b, "</tr>\n");
    }
    out(&b, "</table>\n<p><small>Written by lesion report from each sweep's results.</small></p>\n</body></html>\n");
    free(xl);
    free(cells);
    free(ss);
    return finish(&b, path, err);
}
