/* sites.h: reading and changing activations by name: the site grammar,
 * recording, ablation (zero, mean, resample) and patching, all through the
 * forward pass's one hook mechanism (ls_hooks in forward.h).
 *
 * ---- the site grammar ----------------------------------------------------------
 *
 *   SITE      = NAME [ "@" SELECTOR ]
 *   SELECTOR  = [ "L" LIST | "all" ] [ "H" LIST ] [ "P" LIST | "Plast" ]
 *
 *   NAME: resid_pre, ln1.out, attn.q, attn.k, attn.v, attn.pattern, attn.z,
 *   attn.out, resid_mid, ln2.out, mlp.pre, mlp.up, mlp.post, mlp.out,
 *   resid_post (per layer: need L or all) and lnf.out, logits (model-wide).
 *   H selects heads of the attn.* sites (key/value heads for attn.k and
 *   attn.v under grouped-query attention). P selects positions (absolute,
 *   0-based; Plast: the last position of each call). Shapes are in
 *   forward.h (ls_site). Examples: resid_post@all, attn.z@L1H2,
 *   attn.pattern@L3H0-3, mlp.out@L0-5P10-20, resid_pre@L4Plast, lnf.out.
 *
 * ---- interventions ----------------------------------------------------------------
 *
 *   zero      the selected values become 0
 *   mean      their mean over a reference text, per layer, head and
 *             feature (ls_interventions_fit runs the text once)
 *   resample  the values at another position of the reference text, drawn
 *             per (layer, position, sequence) from the seed
 *   patch     the values the same site had at the same position in a run
 *             on another input (ls_interventions_fit runs it once)
 * A recording keeps the selected values of every call, in order.
 */
#ifndef LESION_SITES_H
#define LESION_SITES_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ls_site_spec {
    ls_site site;
    ls_index_set layers;    /* per-layer sites: never empty; lnf.out, logits: empty */
    ls_index_set heads;     /* attn.* sites: empty means all */
    ls_index_set positions; /* empty means all */
    int last;               /* Plast */
} ls_site_spec;

/* Parses text against cfg; one-line errors that say what is valid. */
int ls_site_spec_parse(ls_site_spec *out, const ls_config *cfg, const char *text, ls_error *err);
/* Canonical text ("attn.z@L1H2"); returns what snprintf returns. */
int ls_site_spec_format(const ls_site_spec *s, char *buf, size_t cap);

typedef enum ls_act_op { LS_ACT_RECORD, LS_ACT_ZERO, LS_ACT_MEAN, LS_ACT_RESAMPLE, LS_ACT_PATCH } ls_act_op;
/* "record", "zero", ...; and back (-1 if unknown). */
const char *ls_act_op_name(ls_act_op op);
int ls_act_op_parse(const char *name);

typedef struct ls_interventions ls_interventions;

int ls_interventions_new(ls_interventions **out, const ls_config *cfg, uint64_t seed, ls_error *err);
void ls_interventions_free(ls_interventions *iv);
/* Adds a rule; returns its index. mean, resample and patch need
 * ls_interventions_fit before they can run. */
int ls_interventions_add(ls_interventions *iv, const ls_site_spec *where, ls_act_op op, ls_error *err);
int ls_interventions_count(const ls_interventions *iv);
/* Switches a rule off (on = 0) or back on. An off rule changes and records
 * nothing and does not count in ls_interventions_first_write_layer, but is
 * still fitted: a sweep adds every configuration's rules to one object,
 * fits them in one pass, and switches on those of the row it runs. Install
 * the hooks again (ls_state_set_hooks) after switching. */
void ls_interventions_enable(ls_interventions *iv, int rule, int on);
/* Whether any rule changes activations, and the earliest layer one changes
 * (INT_MAX if none): where prefix reuse must restart. */
int ls_interventions_first_write_layer(const ls_interventions *iv);

/* Runs what the rules need once, on weights w: the reference text
 * (tokens (n), windows of ctx) for mean and resample, the source input
 * (patch_from, n_patch_from) for patch. */
int ls_interventions_fit(ls_interventions *iv, ls_state *s, const ls_weights *w, const int32_t *tokens, int64_t n,
                         int ctx, const int32_t *patch_from, int n_patch_from, ls_error *err);

/* Tokens of the reference text that mean and resample ablations run, at most. */
#define LS_REFERENCE_TOKENS 4096

/* ls_interventions_fit with a state of its own, as every command runs it:
 * the reference's first LS_REFERENCE_TOKENS tokens in windows of up to
 * min(n_ctx, 1024) tokens; the patch source (ids checked against the
 * vocabulary, 1..n_ctx of them) in one pass. */
int ls_interventions_prepare(ls_interventions *iv, const ls_weights *w, const int32_t *reference, int64_t n_reference,
                             const int32_t *patch_from, int n_patch_from, int n_threads, ls_error *err);

/* The hooks to install (ls_state_set_hooks); valid while iv lives. */
ls_hooks ls_interventions_hooks(ls_interventions *iv);

/* What a record rule kept for one layer (layer -1 for lnf.out and logits):
 * the values in call order, shape (calls, B, T_sel, H_sel, width) flattened;
 * dims[] gives the shape without the leading calls*B (T_sel, H_sel, width,
 * or for attn.pattern H_sel, T_sel, keys) and *rows how many calls*B
 * blocks there are. NULL if that layer was never seen. */
const float *ls_interventions_recorded(const ls_interventions *iv, int rule, int layer, int64_t *rows,
                                       int64_t dims[3], int *ndim);
/* Forgets recorded values (keeps the rules). */
void ls_interventions_clear(ls_interventions *iv);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
