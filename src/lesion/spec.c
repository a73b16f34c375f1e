/* spec.c: the lesion spec grammar (attn.q@L5H2,7) and the lesion options.
 *
 * The grammar is in include/lesion/lesion.h. Parsing needs the config so
 * that every index is checked against the model it will be applied to;
 * every error is one line that quotes the spec and says what is valid,
 * because users type these by hand on the command line. */
#include <lesion.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const comp_names[LS_COMP_COUNT] = {
    "attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc", "mlp.proj", "ln1", "ln2", "lnf", "wte", "wpe",
};
#define VALID_COMPONENTS "attn.q, attn.k, attn.v, attn.o, mlp.fc, mlp.proj, ln1, ln2, lnf, wte, wpe"

const char *ls_component_name(ls_component c) {
    return (unsigned)c < LS_COMP_COUNT ? comp_names[c] : "?";
}

static int per_layer(ls_component c) { return c != LS_COMP_LNF && c != LS_COMP_WTE && c != LS_COMP_WPE; }
static int has_heads(ls_component c) { return c <= LS_COMP_ATTN_O; }
static int has_dims(ls_component c) { return c >= LS_COMP_MLP_FC; }
static int n_dims(ls_component c, const ls_config *cfg) { return c == LS_COMP_MLP_FC ? 4 * cfg->n_embd : cfg->n_embd; }

/* ---- parser ------------------------------------------------------------------- */

typedef struct parser {
    const char *text;
    size_t pos;
    const ls_config *cfg;
    ls_component comp;
    ls_error *err;
} parser;

static int spec_fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int spec_fail(parser *p, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_fail(p->err, "lesion spec \"%.120s\": %s", p->text, msg);
}

static int unexpected(parser *p, const char *expected) {
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c == 0) return spec_fail(p, "ends early (expected %s)", expected);
    if (isprint(c)) return spec_fail(p, "unexpected '%c' at offset %zu (expected %s)", c, p->pos, expected);
    return spec_fail(p, "unexpected character 0x%02x at offset %zu (expected %s)", c, p->pos, expected);
}

static int parse_number(parser *p, int *out, const char *expected) {
    if (!isdigit((unsigned char)p->text[p->pos])) return unexpected(p, expected);
    long v = 0;
    while (isdigit((unsigned char)p->text[p->pos])) {
        v = v * 10 + (p->text[p->pos++] - '0');
        if (v > 1000000000L) return spec_fail(p, "number too large at offset %zu", p->pos);
    }
    *out = (int)v;
    return 0;
}

typedef struct axis {
    const char *what;  /* "layer", "head", "dim" */
    int max;           /* valid indices 0 .. max-1 */
    char range_msg[96]; /* "this model has layers 0-11" */
} axis;

/* LIST = ITEM {"," ITEM}, ITEM = N | N "-" N; sorted, checked, merged into set. */
static int parse_list(parser *p, ls_index_set *set, const axis *ax, char letter) {
    struct { int lo, hi; } items[LS_SPEC_MAX_RANGES];
    int n = 0;
    char expected[64];
    snprintf(expected, sizeof expected, "a %s number after '%c'", ax->what, letter);
    for (;;) {
        int lo, hi;
        if (parse_number(p, &lo, n == 0 ? expected : "a number after ','") != 0) return -1;
        hi = lo;
        if (p->text[p->pos] == '-') {
            p->pos++;
            if (parse_number(p, &hi, "the upper bound of a range after '-'") != 0) return -1;
            if (hi < lo) return spec_fail(p, "reversed range %d-%d (write %d-%d)", lo, hi, hi, lo);
        }
        if (hi >= ax->max) return spec_fail(p, "%s %d out of range: %s", ax->what, hi, ax->range_msg);
        if (n == LS_SPEC_MAX_RANGES) return spec_fail(p, "more than %d items in the %s list", LS_SPEC_MAX_RANGES, ax->what);
        items[n].lo = lo, items[n].hi = hi, n++;
        if (p->text[p->pos] != ',') break;
        p->pos++;
    }
    for (int i = 1; i < n; i++) /* insertion sort by lo */
        for (int j = i; j > 0 && items[j].lo < items[j - 1].lo; j--) {
            int lo = items[j].lo, hi = items[j].hi;
            items[j] = items[j - 1];
            items[j - 1].lo = lo, items[j - 1].hi = hi;
        }
    set->n = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && items[i].lo <= items[i - 1].hi)
            return spec_fail(p, "%s %d listed twice", ax->what, items[i].lo > items[i - 1].lo ? items[i].lo : items[i - 1].lo);
        if (set->n > 0 && items[i].lo == set->r[set->n - 1].hi + 1) set->r[set->n - 1].hi = items[i].hi; /* adjacent: merge */
        else set->r[set->n].lo = items[i].lo, set->r[set->n].hi = items[i].hi, set->n++;
    }
    return 0;
}

int ls_spec_parse(ls_spec *out, const ls_config *cfg, const char *text, ls_error *err) {
    memset(out, 0, sizeof *out);
    parser p = {.text = text ? text : "", .cfg = cfg, .err = err};
    if (!text || !*text) return ls_fail(err, "empty lesion spec (expected COMPONENT[@SELECTOR], e.g. attn.q@L0)");
    size_t len = strcspn(text, "@");
    int comp = -1;
    for (int c = 0; c < LS_COMP_COUNT; c++)
        if (strlen(comp_names[c]) == len && strncmp(text, comp_names[c], len) == 0) comp = c;
    if (comp < 0) return spec_fail(&p, "unknown component \"%.*s\" (valid: " VALID_COMPONENTS ")", (int)(len > 40 ? 40 : len), text);
    p.comp = out->comp = (ls_component)comp;
    const char *name = comp_names[comp];
    p.pos = len;

    if (text[p.pos] == '@') {
        p.pos++;
        if (!text[p.pos]) return spec_fail(&p, "nothing after '@' (expected L<layers>, all, H<heads> or D<dims>)");
        int layer_sel = text[p.pos] == 'L' || strncmp(text + p.pos, "all", 3) == 0;
        if (layer_sel && !per_layer(out->comp))
            return spec_fail(&p, "%s is model-wide and takes no layer selector (e.g. %s or %s@D0-63)", name, name, name);
        if (text[p.pos] == 'L') {
            p.pos++;
            axis ax = {"layer", cfg->n_layer, ""};
            snprintf(ax.range_msg, sizeof ax.range_msg, "this model has layers 0-%d", cfg->n_layer - 1);
            if (parse_list(&p, &out->layers, &ax, 'L') != 0) return -1;
        } else if (layer_sel) {
            p.pos += 3;
            out->layers.n = 1;
            out->layers.r[0].lo = 0, out->layers.r[0].hi = cfg->n_layer - 1;
        }
        if (text[p.pos] == 'H') {
            if (!has_heads(out->comp))
                return spec_fail(&p, "%s has no heads (H applies to attn.q, attn.k, attn.v, attn.o)", name);
            p.pos++;
            axis ax = {"head", cfg->n_head, ""};
            snprintf(ax.range_msg, sizeof ax.range_msg, "this model has heads 0-%d", cfg->n_head - 1);
            if (parse_list(&p, &out->heads, &ax, 'H') != 0) return -1;
        }
        if (text[p.pos] == 'D') {
            if (out->heads.n) return spec_fail(&p, "H and D cannot be combined (H selects heads of attn.*, D dims of the rest)");
            if (!has_dims(out->comp))
                return spec_fail(&p, "%s has no D selector (D applies to mlp.fc, mlp.proj, ln1, ln2, lnf, wte, wpe); "
                                     "select heads with H", name);
            p.pos++;
            axis ax = {"dim", n_dims(out->comp, cfg), ""};
            snprintf(ax.range_msg, sizeof ax.range_msg, "%s has dims 0-%d", name, ax.max - 1);
            if (parse_list(&p, &out->dims, &ax, 'D') != 0) return -1;
        }
        if (text[p.pos]) {
            const char *expected = out->dims.n    ? "',' or '-' in the dim list, or the end"
                                   : out->heads.n ? "',' or '-' in the head list, D, or the end"
                                   : out->layers.n ? "',' or '-' in the layer list, H, D, or the end"
                                                   : "L<layers>, all, H<heads> or D<dims>";
            if (out->layers.n && !out->heads.n && !out->dims.n && text[p.pos - 1] == 'l') /* after "all" */
                expected = "H, D, or the end";
            return unexpected(&p, expected);
        }
    }
    if (per_layer(out->comp) && !out->layers.n)
        return spec_fail(&p, "%s needs a layer selector, e.g. %s@L0, %s@L0-3, %s@L0,4,7 or %s@all", name, name, name, name, name);
    return 0;
}

/* ---- formatting ---------------------------------------------------------------- */

typedef struct sbuf {
    char *buf;
    size_t cap;
    int len; /* what snprintf would have written */
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t at = (size_t)b->len < b->cap ? (size_t)b->len : b->cap;
    int n = vsnprintf(b->buf ? b->buf + at : NULL, b->buf ? b->cap - at : 0, fmt, ap);
    va_end(ap);
    if (n > 0) b->len += n;
}

static void sb_list(sbuf *b, char letter, const ls_index_set *s) {
    if (!s->n) return;
    sb_printf(b, "%c", letter);
    for (int i = 0; i < s->n; i++) {
        if (s->r[i].lo == s->r[i].hi) sb_printf(b, "%s%d", i ? "," : "", s->r[i].lo);
        else sb_printf(b, "%s%d-%d", i ? "," : "", s->r[i].lo, s->r[i].hi);
    }
}

static void sb_spec(sbuf *b, const ls_spec *s) {
    sb_printf(b, "%s", ls_component_name(s->comp));
    if (s->layers.n || s->heads.n || s->dims.n) sb_printf(b, "@");
    sb_list(b, 'L', &s->layers);
    sb_list(b, 'H', &s->heads);
    sb_list(b, 'D', &s->dims);
}

int ls_spec_format(const ls_spec *s, char *buf, size_t cap) {
    if (buf && cap) buf[0] = 0;
    sbuf b = {buf, buf ? cap : 0, 0};
    sb_spec(&b, s);
    return b.len;
}

/* ---- lesion options --------------------------------------------------------------- */

static const char *const mode_names[] = {"gauss", "uniform", "zero", "mean", "shuffle", "scale"};

static int parse_mode(ls_lesion *l, const char *mode, ls_error *err) {
    l->scale = 1.0;
    if (!mode) {
        l->mode = LS_MODE_GAUSS;
        return 0;
    }
    for (int m = 0; m < 5; m++)
        if (strcmp(mode, mode_names[m]) == 0) {
            l->mode = (ls_mode)m;
            return 0;
        }
    if (strcmp(mode, "scale") == 0 || strcmp(mode, "scale:") == 0)
        return ls_fail(err, "mode scale needs a factor: scale:F, e.g. scale:0.5");
    if (strncmp(mode, "scale:", 6) == 0) {
        char *end;
        double f = strtod(mode + 6, &end);
        if (*end || end == mode + 6 || !isfinite(f) || isspace((unsigned char)mode[6]))
            return ls_fail(err, "bad factor in mode \"%.60s\" (expected a finite number, e.g. scale:0.5)", mode);
        l->mode = LS_MODE_SCALE;
        l->scale = f;
        return 0;
    }
    return ls_fail(err, "unknown mode \"%.60s\" (valid: gauss, uniform, zero, mean, shuffle, scale:F)", mode);
}

static const char *const rng_names[] = {"philox", "torch", "torch-avx512", "torch-scalar"};

static int parse_rng(ls_lesion *l, const char *rng, ls_error *err) {
    l->rng = LS_RNG_PHILOX;
    l->torch_threads = 1;
    if (!rng || strcmp(rng, "philox") == 0) return 0;
    const char *rest = NULL;
    if (strncmp(rng, "torch-scalar", 12) == 0) l->rng = LS_RNG_TORCH_SCALAR, rest = rng + 12;
    else if (strncmp(rng, "torch-avx512", 12) == 0) l->rng = LS_RNG_TORCH_AVX512, rest = rng + 12;
    else if (strncmp(rng, "torch", 5) == 0) l->rng = LS_RNG_TORCH, rest = rng + 5;
    if (rest && *rest == ':') {
        char *end;
        long t = strtol(rest + 1, &end, 10);
        if (!isdigit((unsigned char)rest[1]) || *end || t < 1 || t > 1024)
            return ls_fail(err, "bad thread count in rng \"%.60s\" (expected 1-1024, e.g. torch:8)", rng);
        l->torch_threads = (int)t;
        return 0;
    }
    if (rest && !*rest) return 0;
    return ls_fail(err, "unknown rng \"%.60s\" (valid: philox, torch, torch-avx512, torch-scalar, each torch* with an "
                        "optional :THREADS, e.g. torch:8)", rng);
}

int ls_lesion_parse(ls_lesion *out, const ls_config *cfg, const char *spec, const char *mode, const char *match,
                    int with_bias, uint64_t seed, const char *rng, ls_error *err) {
    memset(out, 0, sizeof *out);
    if (ls_spec_parse(&out->spec, cfg, spec, err) != 0) return -1;
    if (parse_mode(out, mode, err) != 0 || parse_rng(out, rng, err) != 0) return -1;
    out->match = LS_MATCH_TENSOR;
    if (match && strcmp(match, "head") == 0) out->match = LS_MATCH_HEAD;
    else if (match && strcmp(match, "tensor") != 0)
        return ls_fail(err, "unknown match \"%.60s\" (valid: tensor, head)", match);
    if (out->match == LS_MATCH_HEAD && !has_heads(out->spec.comp))
        return ls_fail(err, "match head needs heads, and %s has none (use match tensor)", ls_component_name(out->spec.comp));
    if (out->rng != LS_RNG_PHILOX && (out->mode == LS_MODE_SHUFFLE || out->mode == LS_MODE_UNIFORM))
        return ls_fail(err, "rng torch reproduces torch.randn: it serves mode gauss (and zero, mean, scale, which draw "
                            "nothing), not %s", mode_names[out->mode]);
    out->with_bias = with_bias != 0;
    out->seed = seed;
    return 0;
}

int ls_lesion_format(const ls_lesion *l, char *buf, size_t cap) {
    if (buf && cap) buf[0] = 0;
    sbuf b = {buf, buf ? cap : 0, 0};
    sb_spec(&b, &l->spec);
    if (l->mode == LS_MODE_SCALE) {
        char f[40];
        snprintf(f, sizeof f, "%.15g", l->scale);
        if (strtod(f, NULL) != l->scale) snprintf(f, sizeof f, "%.17g", l->scale);
        sb_printf(&b, " scale:%s", f);
    } else {
        sb_printf(&b, " %s", mode_names[l->mode]);
    }
    sb_printf(&b, " match=%s seed=%llu rng=%s", l->match == LS_MATCH_HEAD ? "head" : "tensor",
              (unsigned long long)l->seed, rng_names[l->rng]);
    if (l->rng != LS_RNG_PHILOX && l->torch_threads != 1) sb_printf(&b, ":%d", l->torch_threads);
    if (l->with_bias) sb_printf(&b, " with-bias");
    return b.len;
}
