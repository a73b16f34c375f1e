/* fake_weights.h: a small GPT-2 config and clean weights built in memory for
 * the lesion tests (no file needed). Every tensor is filled with a
 * deterministic, non-constant pattern with a per-tensor offset, and a
 * second copy ("pristine") lets tests prove the clean arrays are never
 * written. */
#ifndef LESION_TESTS_FAKE_WEIGHTS_H
#define LESION_TESTS_FAKE_WEIGHTS_H
#include "test_util.h"

typedef struct fake_weights {
    ls_config cfg;
    int n;                 /* tensor count */
    float **data;          /* [n] the clean arrays */
    float **pristine;      /* [n] copies to compare against */
    int64_t *numel;        /* [n] */
    const float **ptrs;    /* [n] the clean view's pointers */
    ls_weights view;
} fake_weights;

static inline ls_config fake_config(int n_layer, int n_head, int n_embd) {
    return ls_config_gpt2(n_layer, n_head, n_embd, 8, 20);
}

static inline void fake_weights_init(fake_weights *f, ls_config cfg) {
    f->cfg = cfg;
    f->n = ls_tensor_count(&f->cfg);
    f->data = calloc((size_t)f->n, sizeof *f->data);
    f->pristine = calloc((size_t)f->n, sizeof *f->pristine);
    f->numel = calloc((size_t)f->n, sizeof *f->numel);
    f->ptrs = calloc((size_t)f->n, sizeof *f->ptrs);
    assert_true(f->data && f->pristine && f->numel && f->ptrs);
    for (int id = 0; id < f->n; id++) {
        ls_tensor_info info;
        ls_tensor_expected(&f->cfg, id, &info);
        if (!info.n_elems || info.alias_of >= 0) continue; /* absent, or the tied output (below) */
        f->numel[id] = info.n_elems;
        f->data[id] = malloc((size_t)info.n_elems * sizeof(float));
        f->pristine[id] = malloc((size_t)info.n_elems * sizeof(float));
        assert_true(f->data[id] && f->pristine[id]);
        int k = info.ordinal; /* GPT-2's historical tensor numbering */
        for (int64_t i = 0; i < info.n_elems; i++) {
            /* uniform in [-0.5, 0.5) from the mix hash, plus an offset per tensor */
            double u = (double)(ls_mix64((uint64_t)k, (uint64_t)i) >> 11) * 0x1p-53 - 0.5;
            f->data[id][i] = (float)(0.01 * (k % 5) + 0.2 * u);
        }
        memcpy(f->pristine[id], f->data[id], (size_t)info.n_elems * sizeof(float));
        f->ptrs[id] = f->data[id];
    }
    if (cfg.tied_head) f->ptrs[LS_OUTPUT] = f->data[LS_EMBED];
    f->view = (ls_weights){.cfg = &f->cfg, .t = f->ptrs};
}

static inline void fake_weights_free(fake_weights *f) {
    for (int id = 0; id < f->n; id++) free(f->data[id]), free(f->pristine[id]);
    free(f->data), free(f->pristine), free(f->numel), free(f->ptrs);
}

/* The clean arrays hold exactly what they were built with. */
static inline void assert_clean_untouched(const fake_weights *f) {
    for (int id = 0; id < f->n; id++)
        if (f->numel[id] && memcmp(f->data[id], f->pristine[id], (size_t)f->numel[id] * sizeof(float)) != 0) /* absent tensors: NULL */
            fail_msg("clean tensor %d was written", id);
}

/* Parses a lesion or fails the test with the parser's message. */
static inline ls_lesion fake_lesion(const fake_weights *f, const char *spec, const char *mode, const char *match,
                                    int with_bias, uint64_t seed, const char *rng) {
    ls_lesion l;
    ls_error err = {{0}};
    if (ls_lesion_parse(&l, &f->cfg, spec, mode, match, with_bias, seed, rng, &err) != 0) fail_msg("%s", err.msg);
    return l;
}

static inline void apply_ok(ls_overlay *ov, const ls_lesion *l) {
    ls_error err = {{0}};
    if (ls_overlay_apply(ov, l, &err) != 0) fail_msg("%s", err.msg);
}

#endif
