/* test_damage.c: proves on the tiny fixture model (2 layers, vocab 64) that
 * the damage metrics of the clean model against itself are exact: KL 0 (not
 * a rounding residue such as 1e-9 or -7e-10) and top-1 agreement 1, for the
 * clean row and for any later measurement of the clean view; that a lesion
 * gives KL > 0; and that the two halves of the tied embedding restart where
 * they must: wte.out reruns only the head (first_layer = n_layer), wte.in
 * re-embeds (first_layer 0), and both move the metrics; and that the
 * per-layer attention entropy a row carries equals context.c's measurement
 * of the same weights over the same windows, for the clean row and for a
 * lesioned one whose earlier layers come from the clean pass; and that with
 * activation interventions (a sweep's): baseline hooks make the clean row
 * "clean + them" (KL 0, a cross-entropy of its own), a row's own
 * intervention at layer 1 restarts the prefix there, and that row equals
 * the same measurement without prefix reuse bitwise; a rule switched off
 * does not count in first_write_layer. */
#include "test_util.h"

#include <math.h>

static void test_clean_is_exact_and_halves(void **state) {
    (void)state;
    ls_model *m;
    ls_error err = {{0}};
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    int32_t tokens[64], prompt[3] = {1, 2, 3};
    for (int i = 0; i < 64; i++) tokens[i] = (int32_t)((i * 7 + 3) % cfg->vocab_size);
    const int32_t *prompts[1] = {prompt};
    int prompt_lens[1] = {3};
    ls_damage_setup su = {.tokens = tokens, .n_tokens = 64, .ctx = 16, .batch = 2, .prompts = prompts,
                          .prompt_lens = prompt_lens, .n_prompts = 1, .gen_tokens = 8,
                          .sampler = {.temperature = 0.7f, .top_k = 40, .top_p = 1.0f, .seed = 1}, .n_threads = 2,
                          .reuse_prefix = 1};
    ls_weights clean = ls_model_weights(m);
    ls_damage *d;
    if (ls_damage_new(&d, &clean, &su, &err) != 0) fail_msg("%s", err.msg);
    const ls_damage_row *c = ls_damage_clean(d);
    assert_true(c->kl == 0.0);
    assert_true(c->top1 == 1.0);
    ls_damage_row row;
    assert_int_equal(ls_damage_row_alloc(d, &row), 0);
    assert_int_equal(ls_damage_measure(d, &clean, &row, &err), 0);
    assert_true(row.kl == 0.0 && row.top1 == 1.0 && row.cross_entropy == c->cross_entropy);

    ls_overlay *ov = ls_overlay_new(&clean);
    static const struct {
        const char *spec;
        int first_layer;
    } cases[] = {{"wte.out@D0-7", 2}, {"wte.in@D0-7", 0}, {"wte@D0-7", 0}, {"attn.q@L1", 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ls_lesion l;
        assert_int_equal(ls_lesion_parse(&l, cfg, cases[k].spec, "zero", NULL, 0, 0, NULL, &err), 0);
        ls_overlay_reset(ov);
        if (ls_overlay_apply(ov, &l, &err) != 0) fail_msg("%s", err.msg);
        ls_weights v = ls_overlay_view(ov);
        assert_int_equal(ls_damage_measure(d, &v, &row, &err), 0);
        if (row.first_layer != cases[k].first_layer)
            fail_msg("%s: restarted at %d, expected %d", cases[k].spec, row.first_layer, cases[k].first_layer);
        if (!(row.kl > 0)) fail_msg("%s: KL %g, expected > 0", cases[k].spec, row.kl);
    }
    ls_overlay_free(ov);
    ls_damage_row_free(&row);
    ls_damage_free(d);
    ls_model_close(m);
}

/* The entropy of one view over the damage windows (chunks of ctx), by context.c directly. */
static void direct_entropy(const ls_weights *w, const int32_t *tokens, int n_chunks, int ctx, double *out) {
    ls_state *s;
    ls_context_stats *cs;
    ls_error err = {{0}};
    if (ls_state_new(&s, w->cfg, 1, ctx, 1, &err) != 0 || ls_state_track_attention(s, 1, &err) != 0 ||
        ls_context_stats_new(&cs, w->cfg, ctx, ctx > 16 ? 16 : 1, 1, &err) != 0)
        fail_msg("%s", err.msg);
    for (int k = 0; k < n_chunks; k++) {
        if (ls_forward(s, w, tokens + k * ctx, 1, ctx, 0, NULL, LS_LOGITS_NONE, &err) != 0) fail_msg("%s", err.msg);
        ls_context_add_attention(cs, s, 1, ctx, 0, w->cfg->n_layer);
    }
    for (int l = 0; l < w->cfg->n_layer; l++) out[l] = ls_context_layer_entropy(cs, l);
    ls_context_stats_free(cs);
    ls_state_free(s);
}

static void test_attention_entropy_per_layer(void **state) {
    (void)state;
    ls_model *m;
    ls_error err = {{0}};
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    enum { CTX = 24, CHUNKS = 3 };
    int32_t tokens[CTX * CHUNKS], prompt[2] = {5, 6};
    for (int i = 0; i < CTX * CHUNKS; i++) tokens[i] = (int32_t)((i * 11 + 5) % cfg->vocab_size);
    const int32_t *prompts[1] = {prompt};
    int prompt_lens[1] = {2};
    ls_damage_setup su = {.tokens = tokens, .n_tokens = CTX * CHUNKS, .ctx = CTX, .batch = 2, .prompts = prompts,
                          .prompt_lens = prompt_lens, .n_prompts = 1, .gen_tokens = 4,
                          .sampler = {.temperature = 0.0f, .top_p = 1.0f}, .n_threads = 2, .reuse_prefix = 1};
    ls_weights clean = ls_model_weights(m);
    ls_damage *d;
    if (ls_damage_new(&d, &clean, &su, &err) != 0) fail_msg("%s", err.msg);
    double want[8], got_clean[8];
    assert_true(cfg->n_layer <= 8);
    direct_entropy(&clean, tokens, CHUNKS, CTX, want);
    const ls_damage_row *c = ls_damage_clean(d);
    assert_int_equal(c->n_layer, cfg->n_layer);
    for (int l = 0; l < cfg->n_layer; l++) {
        got_clean[l] = c->attn_entropy[l];
        if (!(fabs(c->attn_entropy[l] - want[l]) < 1e-12)) fail_msg("clean L%d: %.9g vs %.9g", l, c->attn_entropy[l], want[l]);
        assert_true(want[l] > 0 && want[l] <= 1);
    }
    /* A lesion of layer 1's queries: layer 0 is the clean pass's value, layer 1 is remeasured and moves. */
    ls_overlay *ov = ls_overlay_new(&clean);
    ls_lesion l;
    assert_int_equal(ls_lesion_parse(&l, cfg, "attn.q@L1", "scale:8", NULL, 0, 0, NULL, &err), 0);
    if (ls_overlay_apply(ov, &l, &err) != 0) fail_msg("%s", err.msg);
    ls_weights v = ls_overlay_view(ov);
    ls_damage_row row;
    assert_int_equal(ls_damage_row_alloc(d, &row), 0);
    assert_int_equal(ls_damage_measure(d, &v, &row, &err), 0);
    assert_int_equal(row.first_layer, 1);
    direct_entropy(&v, tokens, CHUNKS, CTX, want);
    for (int k = 0; k < cfg->n_layer; k++)
        if (!(fabs(row.attn_entropy[k] - want[k]) < 1e-12)) fail_msg("lesioned L%d: %.9g vs %.9g", k, row.attn_entropy[k], want[k]);
    assert_true(row.attn_entropy[0] == got_clean[0]);
    assert_true(row.attn_entropy[1] < got_clean[1] - 1e-3); /* queries x8: sharper attention */
    ls_damage_row_free(&row);
    ls_overlay_free(ov);
    ls_damage_free(d);
    ls_model_close(m);
}

/* One damage setup on the tiny model, with or without prefix reuse and baseline hooks. */
static ls_damage *hooked_damage(const ls_weights *clean, const int32_t *tokens, int reuse, const ls_hooks *base) {
    static const int32_t prompt[3] = {1, 2, 3};
    static const int32_t *const prompts[1] = {prompt};
    static const int prompt_lens[1] = {3};
    ls_damage_setup su = {.tokens = tokens, .n_tokens = 64, .ctx = 16, .batch = 2, .prompts = prompts,
                          .prompt_lens = prompt_lens, .n_prompts = 1, .gen_tokens = 6,
                          .sampler = {.temperature = 0.7f, .top_k = 40, .top_p = 1.0f, .seed = 1}, .n_threads = 2,
                          .reuse_prefix = reuse, .hooks = base};
    ls_damage *d;
    ls_error err = {{0}};
    if (ls_damage_new(&d, clean, &su, &err) != 0) fail_msg("%s", err.msg);
    return d;
}

static void test_interventions(void **state) {
    (void)state;
    ls_model *m;
    ls_error err = {{0}};
    if (ls_model_open(&m, FIXTURE_TINY, &err) != 0) fail_msg("%s", err.msg);
    const ls_config *cfg = ls_model_config(m);
    int32_t tokens[64];
    for (int i = 0; i < 64; i++) tokens[i] = (int32_t)((i * 5 + 1) % cfg->vocab_size);
    ls_weights clean = ls_model_weights(m);
    ls_interventions *iv;
    ls_site_spec wide, own;
    if (ls_interventions_new(&iv, cfg, 0, &err) != 0 || ls_site_spec_parse(&wide, cfg, "attn.z@L0H0", &err) != 0 ||
        ls_site_spec_parse(&own, cfg, "resid_pre@L1P3", &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(ls_interventions_add(iv, &wide, LS_ACT_ZERO, &err), 0);
    assert_int_equal(ls_interventions_add(iv, &own, LS_ACT_ZERO, &err), 1);
    /* The baseline: only the sweep-wide rule. */
    ls_interventions_enable(iv, 1, 0);
    assert_int_equal(ls_interventions_first_write_layer(iv), 0);
    ls_hooks base = ls_interventions_hooks(iv);
    ls_damage *plain = hooked_damage(&clean, tokens, 1, NULL), *d = hooked_damage(&clean, tokens, 1, &base),
              *full = hooked_damage(&clean, tokens, 0, &base);
    const ls_damage_row *c = ls_damage_clean(d);
    assert_true(c->kl == 0.0 && c->top1 == 1.0);
    assert_true(c->cross_entropy != ls_damage_clean(plain)->cross_entropy); /* the baseline is clean + the ablation */
    assert_true(c->cross_entropy == ls_damage_clean(full)->cross_entropy);
    /* A row with its own rule at layer 1: where it restarts is its own rule's layer. */
    ls_interventions_enable(iv, 0, 0);
    ls_interventions_enable(iv, 1, 1);
    int first = ls_interventions_first_write_layer(iv);
    assert_int_equal(first, 1);
    ls_interventions_enable(iv, 0, 1);
    ls_hooks row_hooks = ls_interventions_hooks(iv);
    row_hooks.first_write_layer = first;
    ls_damage_row a, b;
    assert_int_equal(ls_damage_row_alloc(d, &a), 0);
    assert_int_equal(ls_damage_row_alloc(full, &b), 0);
    assert_int_equal(ls_damage_measure_hooked(d, &clean, &row_hooks, &a, &err), 0);
    assert_int_equal(ls_damage_measure_hooked(full, &clean, &row_hooks, &b, &err), 0);
    assert_int_equal(a.first_layer, 1);
    assert_int_equal(b.first_layer, 0);
    assert_true(a.cross_entropy == b.cross_entropy && a.kl == b.kl && a.top1 == b.top1 && a.gen_ppl == b.gen_ppl);
    assert_true(a.kl > 0);
    for (int q = 0; q < 6; q++) assert_int_equal(a.gen_ids[q], b.gen_ids[q]);
    ls_damage_row_free(&a);
    ls_damage_row_free(&b);
    ls_damage_free(plain);
    ls_damage_free(d);
    ls_damage_free(full);
    ls_interventions_free(iv);
    ls_model_close(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_is_exact_and_halves),
        cmocka_unit_test(test_attention_entropy_per_layer),
        cmocka_unit_test(test_interventions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
