/* test_session.c: ls_session (src/session/session.c), the handle the Python
 * binding holds, on the bundled model. Proves that:
 *   - its logits are bitwise those of ls_forward on the same view, a lesion
 *     changes them and a reset restores them bitwise; a list of specs with
 *     one bad spec applies none of them;
 *   - generation equals ls_generate, eval equals ls_eval_text;
 *   - interventions change a run and clearing them restores it; records
 *     of the logits site equal the logits;
 *   - every bad argument (empty or out-of-range ids, lengths past the
 *     context, bad sampling settings, bad sites, a missing reference or
 *     patch source, a short text) fails with a one-line message, never a
 *     crash (the suite also runs under ASan + UBSan);
 *   - the config JSON and the struct sizes a binding checks are there.
 * Skips when the bundled model is absent. */
#include "test_util.h"

#include <math.h>
#include <unistd.h>

#define MODEL "models/kjv-gpt2"

static ls_session *g_s;
static int32_t g_ids[] = {320, 331, 11, 1359, 517, 343}; /* "And God said, ..." ids of the bundled vocabulary */
#define N_IDS 6

static int setup(void **state) {
    (void)state;
    ls_error err;
    if (access(MODEL "/model.safetensors", R_OK) != 0) return 0;
    if (ls_session_open(&g_s, MODEL, "f32", 2, &err) != 0) fail_msg("%s", err.msg);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ls_session_close(g_s);
    return 0;
}

#define NEED_MODEL()                                       \
    do {                                                   \
        if (!g_s) skip(); /* models/kjv-gpt2 is absent */ \
    } while (0)

static float *logits_of(const int32_t *ids, int n) {
    int V = ls_model_config(ls_session_model(g_s))->vocab_size;
    float *out = malloc((size_t)n * (size_t)V * sizeof *out);
    ls_error err;
    assert_non_null(out);
    if (ls_session_logits(g_s, ids, n, out, &err) != 0) fail_msg("%s", err.msg);
    return out;
}

static size_t logits_bytes(int n) {
    return (size_t)n * (size_t)ls_model_config(ls_session_model(g_s))->vocab_size * sizeof(float);
}

static void test_open_refusals(void **state) {
    (void)state;
    ls_session *s = (ls_session *)1;
    ls_error err;
    assert_int_equal(ls_session_open(&s, MODEL, "f64", 1, &err), -1);
    assert_null(s);
    assert_contains(err.msg, "f64");
    assert_int_equal(ls_session_open(&s, MODEL, "f32", 0, &err), -1);
    assert_contains(err.msg, "threads");
    assert_int_equal(ls_session_open(&s, "/nonexistent/model", "f32", 1, &err), -1);
    assert_contains(err.msg, "/nonexistent/model");
    assert_int_equal(ls_session_open(&s, NULL, "f32", 1, &err), -1);
    assert_null(strchr(err.msg, '\n'));
}

static void test_logits_lesion_reset(void **state) {
    (void)state;
    NEED_MODEL();
    ls_error err;
    const ls_config *cfg = ls_model_config(ls_session_model(g_s));
    ls_weights w = ls_session_view(g_s);
    ls_state *st;
    float *want = malloc(logits_bytes(N_IDS));
    assert_int_equal(ls_state_new(&st, cfg, 1, N_IDS, 1, &err), 0);
    assert_int_equal(ls_forward(st, &w, g_ids, 1, N_IDS, 0, want, LS_LOGITS_ALL, &err), 0);
    ls_state_free(st);
    float *clean = logits_of(g_ids, N_IDS);
    assert_memory_equal(clean, want, logits_bytes(N_IDS));

    assert_int_equal(ls_session_lesion(g_s, "attn.q@L0-3; mlp.fc@L5D0-15", "gauss", "tensor", 0, 7, "philox", &err), 2);
    assert_int_equal(ls_session_lesion_count(g_s), 1);
    float *lesioned = logits_of(g_ids, N_IDS);
    assert_true(memcmp(lesioned, clean, logits_bytes(N_IDS)) != 0);
    char *stats = ls_session_lesions_json(g_s);
    assert_contains(stats, "h.0.attn.c_attn.weight");
    ls_free(stats);
    /* One bad spec in a list: none of it is applied. */
    assert_int_equal(ls_session_lesion(g_s, "attn.k@L1 attn.q@L99", "gauss", "tensor", 0, 0, "philox", &err), -1);
    assert_contains(err.msg, "L99");
    assert_null(strchr(err.msg, '\n'));
    float *again = logits_of(g_ids, N_IDS);
    assert_memory_equal(again, lesioned, logits_bytes(N_IDS));
    assert_int_equal(ls_session_lesion(g_s, "attn.q@L0", "melt", NULL, 0, 0, NULL, &err), -1);
    assert_int_equal(ls_session_lesion(g_s, "", NULL, NULL, 0, 0, NULL, &err), -1);
    assert_int_equal(ls_session_lesion(g_s, NULL, NULL, NULL, 0, 0, NULL, &err), -1);
    ls_session_reset(g_s);
    assert_int_equal(ls_session_lesion_count(g_s), 0);
    assert_null(ls_session_lesions_json(g_s));
    float *back = logits_of(g_ids, N_IDS);
    assert_memory_equal(back, clean, logits_bytes(N_IDS));
    free(want), free(clean), free(lesioned), free(again), free(back);
}

static void test_input_refusals(void **state) {
    (void)state;
    NEED_MODEL();
    ls_error err;
    const ls_config *cfg = ls_model_config(ls_session_model(g_s));
    float *out = malloc(logits_bytes(cfg->n_ctx + 1));
    int32_t bad[2] = {1, cfg->vocab_size}, neg[1] = {-1};
    assert_int_equal(ls_session_logits(g_s, g_ids, 0, out, &err), -1);
    assert_contains(err.msg, "empty");
    assert_int_equal(ls_session_logits(g_s, NULL, 3, out, &err), -1);
    assert_int_equal(ls_session_logits(g_s, bad, 2, out, &err), -1);
    assert_contains(err.msg, "outside the vocabulary");
    assert_int_equal(ls_session_logits(g_s, neg, 1, out, &err), -1);
    int32_t *many = calloc((size_t)cfg->n_ctx + 1, sizeof *many);
    assert_int_equal(ls_session_logits(g_s, many, cfg->n_ctx + 1, out, &err), -1);
    assert_contains(err.msg, "context length");
    assert_int_equal(ls_session_logits(g_s, g_ids, N_IDS, NULL, &err), -1);
    free(many);
    free(out);
}

static void test_generate(void **state) {
    (void)state;
    NEED_MODEL();
    ls_error err;
    const ls_config *cfg = ls_model_config(ls_session_model(g_s));
    int32_t got[16], want[16];
    int n_got, n_want;
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, 16, 0.8, 20, 0.9, 5, got, &n_got, &err), 0);
    ls_state *st;
    ls_weights w = ls_session_view(g_s);
    ls_sampler sp = {.temperature = 0.8f, .top_k = 20, .top_p = 0.9f, .seed = 5};
    assert_int_equal(ls_state_new(&st, cfg, 1, 19, 1, &err), 0);
    assert_int_equal(ls_generate(st, &w, g_ids, 3, 16, &sp, -1, want, &n_want, &err), 0);
    ls_state_free(st);
    assert_int_equal(n_got, n_want);
    assert_memory_equal(got, want, sizeof(int32_t) * (size_t)n_got);
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, -1, 0, 0, 1, 0, got, &n_got, &err), -1);
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, 4, 0, 0, 0, 0, got, &n_got, &err), -1);
    assert_contains(err.msg, "top_p");
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, 4, NAN, 0, 1, 0, got, &n_got, &err), -1);
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, 4, 0, -3, 1, 0, got, &n_got, &err), -1);
    assert_int_equal(ls_session_generate(g_s, g_ids, 3, cfg->n_ctx, 0, 0, 1, 0, got, &n_got, &err), -1);
    assert_contains(err.msg, "context length");
    assert_int_equal(ls_session_generate(g_s, g_ids, 0, 4, 0, 0, 1, 0, got, &n_got, &err), -1);
}

static void test_eval(void **state) {
    (void)state;
    NEED_MODEL();
    ls_error err;
    const char *text = "In the beginning God created the heaven and the earth. And the earth was without form, and void.";
    ls_text_eval got, want;
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 16, 8, 0, 0, &got, &err), 0);
    ls_state *st;
    ls_weights w = ls_session_view(g_s);
    assert_int_equal(ls_state_new(&st, ls_model_config(ls_session_model(g_s)), 8, 16, 1, &err), 0);
    assert_int_equal(ls_eval_text(st, &w, ls_session_tokenizer(g_s), text, strlen(text), 16, 8, 0, &want, NULL, &err), 0);
    ls_state_free(st);
    assert_memory_equal(&got, &want, sizeof got);
    assert_int_equal(got.scored_tokens, got.tokens - 1);
    assert_int_equal(got.bytes, (int64_t)strlen(text));
    assert_true(got.perplexity > 1 && isfinite(got.perplexity));
    /* max_tokens: fewer tokens, and only their bytes. */
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 16, 8, 5, 0, &got, &err), 0);
    assert_int_equal(got.tokens, 5);
    assert_true(got.bytes < (int64_t)strlen(text));
    assert_int_equal(ls_session_eval(g_s, "", 0, 0, 0, 0, 0, &got, &err), -1);
    assert_contains(err.msg, "need at least 2");
    assert_int_equal(ls_session_eval(g_s, "And", 3, 0, 0, 0, 0, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 16, 16, 0, 0, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 100000, 0, 0, 0, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 0, 0, -1, 0, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, text, strlen(text), 0, 0, 0, 5000, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, "\xff\xfe", 2, 0, 0, 0, 0, &got, &err), -1);
    assert_int_equal(ls_session_eval(g_s, NULL, 0, 0, 0, 0, 0, &got, &err), -1);
}

static void test_interventions_and_records(void **state) {
    (void)state;
    NEED_MODEL();
    ls_error err;
    float *clean = logits_of(g_ids, N_IDS);
    assert_int_equal(ls_session_intervene(g_s, "attn.z@L1H2;mlp.out@L3", "zero", 0, NULL, 0, NULL, NULL, 0, &err), 0);
    float *ablated = logits_of(g_ids, N_IDS);
    assert_true(memcmp(ablated, clean, logits_bytes(N_IDS)) != 0);
    int first = ls_session_record(g_s, "logits", &err);
    assert_true(first >= 2);
    float *again = logits_of(g_ids, N_IDS);
    int64_t rows, dims[3];
    int ndim;
    const float *rec = ls_interventions_recorded(ls_session_interventions(g_s), first, -1, &rows, dims, &ndim);
    assert_non_null(rec);
    assert_memory_equal(rec, again, logits_bytes(N_IDS));
    assert_memory_equal(again, ablated, logits_bytes(N_IDS));
    ls_session_clear_interventions(g_s);
    assert_null(ls_session_interventions(g_s));
    float *back = logits_of(g_ids, N_IDS);
    assert_memory_equal(back, clean, logits_bytes(N_IDS));

    /* Refusals: nothing is left installed after any of them. */
    int32_t ref[4] = {320, 331, 11, 1359}, src[2] = {320, 331}, bad_src[2] = {1, 1 << 20};
    assert_int_equal(ls_session_intervene(g_s, "resid_post@L40", "zero", 0, NULL, 0, NULL, NULL, 0, &err), -1);
    assert_contains(err.msg, "resid_post@L40");
    assert_int_equal(ls_session_intervene(g_s, "attn.z@L0", "mean", 0, NULL, 0, NULL, NULL, 0, &err), -1);
    assert_contains(err.msg, "reference");
    assert_int_equal(ls_session_intervene(g_s, "attn.z@L0", "random", 0, ref, 4, NULL, NULL, 0, &err), -1);
    assert_int_equal(ls_session_intervene(g_s, NULL, "zero", 0, NULL, 0, "resid_post@L0", NULL, 0, &err), -1);
    assert_int_equal(ls_session_intervene(g_s, NULL, "zero", 0, NULL, 0, "resid_post@L0", bad_src, 2, &err), -1);
    assert_contains(err.msg, "outside the vocabulary");
    assert_int_equal(ls_session_intervene(g_s, "", "zero", 0, NULL, 0, NULL, NULL, 0, &err), -1);
    assert_null(ls_session_interventions(g_s));
    /* A patch source of another length than the input is refused at the run. */
    assert_int_equal(ls_session_intervene(g_s, NULL, "zero", 0, NULL, 0, "resid_post@L0", src, 2, &err), 0);
    float out[1];
    assert_int_equal(ls_session_logits(g_s, g_ids, N_IDS, out, &err), -1);
    assert_contains(err.msg, "equal lengths");
    ls_session_clear_interventions(g_s);
    assert_int_equal(ls_session_intervene(g_s, "attn.z@L0", "mean", 0, ref, 4, NULL, NULL, 0, &err), 0);
    ls_session_clear_interventions(g_s);
    assert_int_equal(ls_session_record(g_s, "attn.nothing@L0", &err), -1);
    assert_int_equal(ls_session_record(g_s, NULL, &err), -1);
    ls_session_clear_interventions(g_s);
    free(clean), free(ablated), free(again), free(back);
}

static void test_config_json_and_struct_sizes(void **state) {
    (void)state;
    NEED_MODEL();
    char *cfg = ls_session_config_json(g_s);
    assert_contains(cfg, "\"model_type\":\"gpt2\"");
    assert_contains(cfg, "\"n_layer\":12");
    assert_contains(cfg, "\"vocab_size\":8192");
    ls_free(cfg);
    assert_int_equal(ls_struct_size("ls_error"), sizeof(ls_error));
    assert_int_equal(ls_struct_size("ls_text_eval"), sizeof(ls_text_eval));
    assert_int_equal(ls_struct_size("ls_sweep_options"), sizeof(ls_sweep_options));
    assert_int_equal(ls_struct_size("ls_nothing"), 0);
    assert_int_equal(ls_struct_size(NULL), 0);
    assert_string_equal(ls_version(), LS_VERSION);
    ls_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_logits_lesion_reset),
        cmocka_unit_test(test_input_refusals),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_interventions_and_records),
        cmocka_unit_test(test_config_json_and_struct_sizes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
