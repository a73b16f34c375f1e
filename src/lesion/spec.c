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
    "attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc", "mlp.proj", "ln1", "ln2", "lnf", "wte", "wpe", "wte.in", "wte.out",
    "mlp.gate", "mlp.up", "mlp.down", "head",
};

const char *ls_component_name(ls_component c) {
    return (unsigned)c < LS_COMP_COUNT ? comp_names[c] : "?";
}

static int has_heads(ls_component c) { return c <= LS_COMP_ATTN_O; }

/* "attn.q, attn.k, ..., wte": the components cfg's model has (dims_only:
 * those a D selector applies to). */
static void components_of(const ls_config *cfg, int dims_only, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    ls_comp_geom g;
    for (int c = 0; c < LS_COMP_COUNT && k < cap; c++)
        if (ls_component_geometry(cfg, (ls_component)c, &g) == 0 && !(dims_only && g.heads))
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", comp_names[c]);
}

int ls_component_parse(const char *name, size_t len, ls_component *out) {
    for (int c = 0; c < LS_COMP_COUNT; c++)
        if (strlen(comp_names[c]) == len && strncmp(name, comp_names[c], len) == 0) {
            *out = (ls_component)c;
            return 0;
        }
    return -1;
}

int ls_component_per_layer(ls_component c) {
    return c != LS_COMP_LNF && c != LS_COMP_WTE && c != LS_COMP_WPE && c != LS_COMP_WTE_IN && c != LS_COMP_WTE_OUT &&
           c != LS_COMP_HEAD;
}
int ls_component_has_heads(ls_component c) { return has_heads(c); }
int ls_component_dims(ls_component c, const ls_config *cfg) {
    ls_comp_geom g;
    if (has_heads(c) || ls_component_geometry(cfg, c, &g) != 0) return 0;
    return (int)g.n_units;
}

/* ---- parser ------------------------------------------------------------------- */

typedef struct parser {
    const char *kind; /* what the text is, for messages: "lesion spec" or "list" */
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
    return ls_fail(p->err, "%s \"%.120s\": %s", p->kind, p->text, msg);
}


/* ---- index lists (shared with the activation-site grammar) ----------------------- */

/* The message for an unexpected character at text[pos] ("ends early" at the end). */
static void unexpected_msg(const char *text, size_t pos, const char *expected, char *msg, size_t cap) {
    unsigned char c = (unsigned char)text[pos];
    if (c == 0) snprintf(msg, cap, "ends early (expected %s)", expected);
    else if (isprint(c)) snprintf(msg, cap, "unexpected '%c' at offset %zu (expected %s)", c, pos, expected);
    else snprintf(msg, cap, "unexpected character 0x%02x at offset %zu (expected %s)", c, pos, expected);
}

static int number_at(const char *text, size_t *pos, int *out, const char *expected, char *msg, size_t cap) {
    if (!isdigit((unsigned char)text[*pos])) {
        unexpected_msg(text, *pos, expected, msg, cap);
        return -1;
    }
    long v = 0;
    while (isdigit((unsigned char)text[*pos])) {
        v = v * 10 + (text[(*pos)++] - '0');
        if (v > 1000000000L) {
            snprintf(msg, cap, "number too large at offset %zu", *pos);
            return -1;
        }
    }
    *out = (int)v;
    return 0;
}

int ls_index_list_scan(const char *text, size_t *pos, int max, const char *what, const char *range_msg, char letter,
                       ls_index_set *set, char *msg, size_t cap) {
    struct { int lo, hi; } items[LS_SPEC_MAX_RANGES];
    int n = 0;
    char expected[64];
    if (letter == ' ') snprintf(expected, sizeof expected, "a %s number", what);
    else snprintf(expected, sizeof expected, "a %s number after '%c'", what, letter);
    for (;;) {
        int lo, hi;
        if (number_at(text, pos, &lo, n == 0 ? expected : "a number after ','", msg, cap) != 0) return -1;
        hi = lo;
        if (text[*pos] == '-') {
            (*pos)++;
            if (number_at(text, pos, &hi, "the upper bound of a range after '-'", msg, cap) != 0) return -1;
            if (hi < lo) {
                snprintf(msg, cap, "reversed range %d-%d (write %d-%d)", lo, hi, hi, lo);
                return -1;
            }
        }
        if (hi >= max) {
            snprintf(msg, cap, "%s %d out of range: %s", what, hi, range_msg);
            return -1;
        }
        if (n == LS_SPEC_MAX_RANGES) {
            snprintf(msg, cap, "more than %d items in the %s list", LS_SPEC_MAX_RANGES, what);
            return -1;
        }
        items[n].lo = lo, items[n].hi = hi, n++;
        if (text[*pos] != ',') break;
        (*pos)++;
    }
    for (int i = 1; i < n; i++) /* insertion sort by lo */
        for (int j = i; j > 0 && items[j].lo < items[j - 1].lo; j--) {
            int lo = items[j].lo, hi = items[j].hi;
            items[j] = items[j - 1];
            items[j - 1].lo = lo, items[j - 1].hi = hi;
        }
    set->n = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && items[i].lo <= items[i - 1].hi) {
            snprintf(msg, cap, "%s %d listed twice", what, items[i].lo > items[i - 1].lo ? items[i].lo : items[i - 1].lo);
            return -1;
        }
        if (set->n > 0 && items[i].lo == set->r[set->n - 1].hi + 1) set->r[set->n - 1].hi = items[i].hi; /* adjacent: merge */
        else set->r[set->n].lo = items[i].lo, set->r[set->n].hi = items[i].hi, set->n++;
    }
    return 0;
}

int ls_index_set_has(const ls_index_set *s, int i) {
    for (int k = 0; k < s->n; k++)
        if (i >= s->r[k].lo && i <= s->r[k].hi) return 1;
    return 0;
}

static int unexpected(parser *p, const char *expected) {
    char msg[256];
    unexpected_msg(p->text, p->pos, expected, msg, sizeof msg);
    return spec_fail(p, "%s", msg);
}

typedef struct axis {
    const char *what;  /* "layer", "head", "dim" */
    int max;           /* valid indices 0 .. max-1 */
    char range_msg[96]; /* "this model has layers 0-11" */
} axis;

/* LIST = ITEM {"," ITEM}, ITEM = N | N "-" N; sorted, checked, merged into set. */
static int parse_list(parser *p, ls_index_set *set, const axis *ax, char letter) {
    char msg[256];
    if (ls_index_list_scan(p->text, &p->pos, ax->max, ax->what, ax->range_msg, letter, set, msg, sizeof msg) != 0)
        return spec_fail(p, "%s", msg);
    return 0;
}

int ls_index_list_parse(ls_index_set *out, const char *text, int max, const char *what, ls_error *err) {
    memset(out, 0, sizeof *out);
    parser p = {.kind = what, .text = text ? text : "", .err = err};
    axis ax = {what, max, ""};
    snprintf(ax.range_msg, sizeof ax.range_msg, "valid: 0-%d", max - 1);
    if (!text || !*text) return ls_fail(err, "empty %s list (expected e.g. 0-3 or 0,4,7)", what);
    if (parse_list(&p, out, &ax, ' ') != 0) return -1;
    if (text[p.pos]) return unexpected(&p, "',' or '-' in the list, or the end");
    return 0;
}

int ls_spec_parse(ls_spec *out, const ls_config *cfg, const char *text, ls_error *err) {
    memset(out, 0, sizeof *out);
    parser p = {.kind = "lesion spec", .text = text ? text : "", .cfg = cfg, .err = err};
    if (!text || !*text) return ls_fail(err, "empty lesion spec (expected COMPONENT[@SELECTOR], e.g. attn.q@L0)");
    size_t len = strcspn(text, "@");
    ls_component parsed;
    int comp = ls_component_parse(text, len, &parsed) == 0 ? (int)parsed : -1;
    char have[256];
    components_of(cfg, 0, have, sizeof have);
    if (comp < 0)
        return spec_fail(&p, "unknown component \"%.*s\" (this model has: %s)", (int)(len > 40 ? 40 : len), text, have);
    p.comp = out->comp = (ls_component)comp;
    const char *name = comp_names[comp];
    ls_comp_geom g;
    if (ls_component_geometry(cfg, out->comp, &g) != 0) {
        if (out->comp == LS_COMP_HEAD && cfg->tied_head)
            return spec_fail(&p, "this model's output matrix is tied to wte (lesion wte, or use an untied model); "
                                 "it has: %s", have);
        return spec_fail(&p, "a %s model has no %s (it has: %s)", ls_arch_name(cfg->arch), name, have);
    }
    p.pos = len;

    if (text[p.pos] == '@') {
        p.pos++;
        if (!text[p.pos]) return spec_fail(&p, "nothing after '@' (expected L<layers>, all, H<heads> or D<dims>)");
        int layer_sel = text[p.pos] == 'L' || strncmp(text + p.pos, "all", 3) == 0;
        if (layer_sel && !g.per_layer)
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
            axis ax = {"head", g.heads, ""};
            if (g.heads == cfg->n_head)
                snprintf(ax.range_msg, sizeof ax.range_msg, "this model has heads 0-%d", g.heads - 1);
            else
                snprintf(ax.range_msg, sizeof ax.range_msg, "this model has key/value heads 0-%d", g.heads - 1);
            if (parse_list(&p, &out->heads, &ax, 'H') != 0) return -1;
        }
        if (text[p.pos] == 'D') {
            if (out->heads.n) return spec_fail(&p, "H and D cannot be combined (H selects heads of attn.*, D dims of the rest)");
            if (g.heads) {
                components_of(cfg, 1, have, sizeof have);
                return spec_fail(&p, "%s has no D selector (D applies to %s); select heads with H", name, have);
            }
            p.pos++;
            axis ax = {"dim", (int)g.n_units, ""};
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
    if (g.per_layer && !out->layers.n)
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

static const char *const rng_names[] = {"philox", "torch", "torch-avx512", "torch-scalar", "torch-stream"};

static int parse_rng(ls_lesion *l, const char *rng, ls_error *err) {
    l->rng = LS_RNG_PHILOX;
    l->torch_threads = 1;
    if (!rng || strcmp(rng, "philox") == 0) return 0;
    const char *rest = NULL;
    if (strncmp(rng, "torch-stream", 12) == 0) l->rng = LS_RNG_TORCH_STREAM, rest = rng + 12;
    else if (strncmp(rng, "torch-scalar", 12) == 0) l->rng = LS_RNG_TORCH_SCALAR, rest = rng + 12;
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
    return ls_fail(err, "unknown rng \"%.60s\" (valid: philox, torch, torch-avx512, torch-scalar, torch-stream, each torch* with an "
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
