/* site.c: the activations a probe can read, named in the site grammar of
 * sites.h.
 *
 * A probe classifies one vector per position, so it takes the sites that
 * have one: every per-layer site except attn.pattern (whose width grows
 * with the position), each head-selectable with H. Positions are the
 * task's to choose, so P selectors are refused, and so are the model-wide
 * lnf.out and logits (the head runs on chosen rows only). A spec with
 * several layers gives one probe site per layer, ascending. */
#include <lesion.h>

#include <stdio.h>
#include <string.h>

int ls_probe_site_format(const ls_probe_site *s, char *buf, size_t cap) {
    ls_site_spec spec = {.site = s->site, .heads = s->heads};
    spec.layers.n = 1;
    spec.layers.r[0].lo = spec.layers.r[0].hi = s->layer;
    return ls_site_spec_format(&spec, buf, cap);
}

int ls_probe_site_width(const ls_config *cfg, const ls_probe_site *s) {
    switch (s->site) {
    case LS_SITE_ATTN_Q:
    case LS_SITE_ATTN_Z:
    case LS_SITE_ATTN_K:
    case LS_SITE_ATTN_V: {
        int all = s->site == LS_SITE_ATTN_K || s->site == LS_SITE_ATTN_V ? cfg->n_kv_head : cfg->n_head;
        int heads = 0;
        for (int h = 0; h < all; h++) heads += !s->heads.n || ls_index_set_has(&s->heads, h);
        return heads * cfg->d_head;
    }
    case LS_SITE_MLP_PRE:
    case LS_SITE_MLP_UP:
    case LS_SITE_MLP_POST: return cfg->n_ff;
    default: return cfg->n_embd;
    }
}

int ls_probe_site_parse(const ls_config *cfg, const char *text, ls_probe_site *out, int max, int *n,
                        ls_error *err) {
    ls_site_spec spec;
    if (ls_site_spec_parse(&spec, cfg, text, err) != 0) return -1;
    if (spec.site == LS_SITE_ATTN_PATTERN || spec.site == LS_SITE_LNF_OUT || spec.site == LS_SITE_LOGITS)
        return ls_fail(err, "site \"%.80s\": a probe reads one vector per position of a layer; %s has none "
                            "(probe any other per-layer site, e.g. resid_post@L5 or attn.z@L1H2)",
                       text, ls_site_name(spec.site));
    if (spec.positions.n || spec.last)
        return ls_fail(err, "site \"%.80s\": the task chooses a probe's positions; drop the P selector", text);
    int n_new = 0;
    for (int l = 0; l < cfg->n_layer; l++) n_new += ls_index_set_has(&spec.layers, l);
    if (*n + n_new > max) return ls_fail(err, "too many sites: at most %d", max);
    for (int l = 0; l < cfg->n_layer; l++)
        if (ls_index_set_has(&spec.layers, l)) out[(*n)++] = (ls_probe_site){spec.site, l, spec.heads};
    return 0;
}
