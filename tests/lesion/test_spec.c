/* test_spec.c: proves the lesion spec grammar and the lesion options parse
 * every documented example to the right sets (checked through the canonical
 * text and the raw ranges), and that every kind of bad input is rejected
 * with a one-line message that says what is valid; that wte.in and wte.out
 * parse as the model-wide halves of wte (D only), rng torch-stream parses
 * and formats, and a bare index list (--layers) parses and is checked
 * against its range. GPT-2 small's config:
 * 12 layers, 12 heads, width 768. */
#include "test_util.h"

static ls_config gpt2; /* GPT-2 124M's shape (set in main) */

static void expect_canonical(const char *text, const char *canonical) {
    ls_spec s;
    ls_error err = {{0}};
    if (ls_spec_parse(&s, &gpt2, text, &err) != 0) fail_msg("%s: %s", text, err.msg);
    char buf[256];
    assert_int_equal(ls_spec_format(&s, buf, sizeof buf), (int)strlen(canonical));
    assert_string_equal(buf, canonical);
}

static void expect_error(const char *text, const char *needle) {
    ls_spec s;
    ls_error err = {{0}};
    assert_int_equal(ls_spec_parse(&s, &gpt2, text, &err), -1);
    assert_contains(err.msg, needle);
    assert_null(strchr(err.msg, '\n'));
}

static void test_examples(void **state) {
    (void)state;
    expect_canonical("attn.q@L0", "attn.q@L0");
    expect_canonical("attn.q@L0-3", "attn.q@L0-3");
    expect_canonical("attn.q@L0,4,7", "attn.q@L0,4,7");
    expect_canonical("attn.q@all", "attn.q@L0-11");
    expect_canonical("attn.q@L5H2,7", "attn.q@L5H2,7");
    expect_canonical("attn.q@L3-5H0-3", "attn.q@L3-5H0-3");
    expect_canonical("wte@D0-63", "wte@D0-63");
    expect_canonical("mlp.fc@L2D100-199", "mlp.fc@L2D100-199");
    expect_canonical("attn.k@L0-2,5", "attn.k@L0-2,5");
    expect_canonical("attn.v@L7,0,4", "attn.v@L0,4,7");      /* sorted */
    expect_canonical("attn.o@L0-2,3H1,0", "attn.o@L0-3H0-1"); /* adjacent items merged */
    expect_canonical("attn.q@allH11", "attn.q@L0-11H11");
    expect_canonical("mlp.proj@L11D767", "mlp.proj@L11D767");
    expect_canonical("ln1@L0", "ln1@L0");
    expect_canonical("ln2@L1D0,2,4", "ln2@L1D0,2,4");
    expect_canonical("lnf", "lnf");
    expect_canonical("lnf@D5-9", "lnf@D5-9");
    expect_canonical("wte", "wte");
    expect_canonical("wpe@D0-767", "wpe@D0-767");
    expect_canonical("mlp.fc@L0D3071", "mlp.fc@L0D3071");
}

static void test_ranges(void **state) {
    (void)state;
    ls_spec s;
    ls_error err;
    assert_int_equal(ls_spec_parse(&s, &gpt2, "attn.q@L3-5H0-3", &err), 0);
    assert_int_equal(s.comp, LS_COMP_ATTN_Q);
    assert_int_equal(s.layers.n, 1);
    assert_int_equal(s.layers.r[0].lo, 3);
    assert_int_equal(s.layers.r[0].hi, 5);
    assert_int_equal(s.heads.n, 1);
    assert_int_equal(s.heads.r[0].hi, 3);
    assert_int_equal(s.dims.n, 0);
    assert_int_equal(ls_spec_parse(&s, &gpt2, "wte@D0-63", &err), 0);
    assert_int_equal(s.comp, LS_COMP_WTE);
    assert_int_equal(s.layers.n, 0);
    assert_int_equal(s.dims.n, 1);
    assert_int_equal(s.dims.r[0].hi, 63);
    assert_int_equal(ls_spec_parse(&s, &gpt2, "attn.q@L0,4,7", &err), 0);
    assert_int_equal(s.layers.n, 3);
    assert_int_equal(s.layers.r[2].lo, 7);
    /* a small buffer truncates but reports the full length */
    char small[5];
    assert_int_equal(ls_spec_format(&s, small, sizeof small), (int)strlen("attn.q@L0,4,7"));
    assert_string_equal(small, "attn");
}

static void test_errors(void **state) {
    (void)state;
    expect_error("attn.x@L0", "unknown component \"attn.x\" (this model has: attn.q, attn.k, attn.v, attn.o, mlp.fc, mlp.proj, "
                              "ln1, ln2, lnf, wte, wpe, wte.in, wte.out)");
    expect_error("@L0", "unknown component \"\"");
    expect_error("", "empty lesion spec");
    expect_error("attn.q@L12", "layer 12 out of range: this model has layers 0-11");
    expect_error("attn.q@L3-12", "layer 12 out of range: this model has layers 0-11");
    expect_error("attn.q@L0H12", "head 12 out of range: this model has heads 0-11");
    expect_error("mlp.fc@L0D3072", "dim 3072 out of range: mlp.fc has dims 0-3071");
    expect_error("wte@D768", "dim 768 out of range: wte has dims 0-767");
    expect_error("attn.q@L5-3", "reversed range 5-3 (write 3-5)");
    expect_error("attn.q@L0H3-1", "reversed range 3-1");
    expect_error("attn.q@L", "ends early (expected a layer number after 'L')");
    expect_error("attn.q@L5-", "ends early (expected the upper bound of a range after '-')");
    expect_error("attn.q@L0,", "ends early (expected a number after ',')");
    expect_error("attn.q@LH2", "unexpected 'H' at offset 8 (expected a layer number after 'L')");
    expect_error("attn.q@L0H", "expected a head number after 'H'");
    expect_error("mlp.fc@L0D", "expected a dim number after 'D'");
    expect_error("mlp.fc@L0H1", "mlp.fc has no heads (H applies to attn.q, attn.k, attn.v, attn.o)");
    expect_error("wte@H1", "wte has no heads");
    expect_error("attn.q@L0D1", "attn.q has no D selector (D applies to mlp.fc, mlp.proj, ln1, ln2, lnf, wte, wpe, wte.in, wte.out)");
    expect_error("attn.q@L0H1D2", "H and D cannot be combined");
    expect_error("attn.q@L5x", "unexpected 'x' at offset 9");
    expect_error("attn.q@L 5", "unexpected ' ' at offset 8");
    expect_error("attn.q@l5", "unexpected 'l' at offset 7 (expected L<layers>, all, H<heads> or D<dims>)");
    expect_error("attn.q@L5\x01", "unexpected character 0x01 at offset 9");
    expect_error("attn.q@L0@L1", "unexpected '@'");
    expect_error("attn.q@allx", "unexpected 'x' at offset 10 (expected H, D, or the end)");
    expect_error("mlp.fc@L0D1H2", "unexpected 'H'");
    expect_error("attn.q@L1-4,3", "layer 3 listed twice");
    expect_error("attn.q@L0,0", "layer 0 listed twice");
    expect_error("attn.q@L0H2,2", "head 2 listed twice");
    expect_error("wte@D0-9,5-20", "dim 5 listed twice");
    expect_error("attn.q", "attn.q needs a layer selector, e.g. attn.q@L0, attn.q@L0-3, attn.q@L0,4,7 or attn.q@all");
    expect_error("ln1@D0", "ln1 needs a layer selector");
    expect_error("attn.o@H1", "attn.o needs a layer selector");
    expect_error("wte@L0", "wte is model-wide and takes no layer selector (e.g. wte or wte@D0-63)");
    expect_error("lnf@all", "lnf is model-wide");
    expect_error("attn.q@", "nothing after '@'");
    expect_error("attn.q@L99999999999", "number too large");
    /* the spec is quoted */
    expect_error("attn.q@L12", "lesion spec \"attn.q@L12\": ");
}

static void test_lesion_options(void **state) {
    (void)state;
    ls_lesion l;
    ls_error err = {{0}};
    char buf[256];
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "attn.q@L0", NULL, NULL, 0, 0, NULL, &err), 0);
    assert_int_equal(l.mode, LS_MODE_GAUSS);
    assert_int_equal(l.match, LS_MATCH_TENSOR);
    assert_int_equal(l.rng, LS_RNG_PHILOX);
    ls_lesion_format(&l, buf, sizeof buf);
    assert_string_equal(buf, "attn.q@L0 gauss match=tensor seed=0 rng=philox");

    const char *modes[] = {"gauss", "uniform", "zero", "mean", "shuffle"};
    for (int m = 0; m < 5; m++) {
        assert_int_equal(ls_lesion_parse(&l, &gpt2, "attn.q@L0", modes[m], "tensor", 0, 1, "philox", &err), 0);
        assert_int_equal((int)l.mode, m);
    }
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "attn.o@L1H2", "scale:0.5", "head", 1, 7, "torch:4", &err), 0);
    assert_int_equal(l.mode, LS_MODE_SCALE);
    assert_true(l.scale == 0.5);
    assert_int_equal(l.match, LS_MATCH_HEAD);
    assert_int_equal(l.rng, LS_RNG_TORCH);
    assert_int_equal(l.torch_threads, 4);
    assert_int_equal(l.with_bias, 1);
    ls_lesion_format(&l, buf, sizeof buf);
    assert_string_equal(buf, "attn.o@L1H2 scale:0.5 match=head seed=7 rng=torch:4 with-bias");
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "wte", "scale:-2e-3", NULL, 0, 0, "torch-scalar", &err), 0);
    assert_true(l.scale == -2e-3);
    assert_int_equal(l.rng, LS_RNG_TORCH_SCALAR);
    assert_int_equal(l.torch_threads, 1);
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "wte", NULL, NULL, 0, 0, "torch-avx512:16", &err), 0);
    assert_int_equal(l.rng, LS_RNG_TORCH_AVX512);
    assert_int_equal(l.torch_threads, 16);
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "wte", "scale:0.1", NULL, 0, 0, "torch-scalar:2", &err), 0);
    ls_lesion_format(&l, buf, sizeof buf);
    assert_string_equal(buf, "wte scale:0.1 match=tensor seed=0 rng=torch-scalar:2");

    struct {
        const char *spec, *mode, *match, *rng, *needle;
    } bad[] = {
        {"attn.q@L0", "gaus", NULL, NULL, "unknown mode \"gaus\" (valid: gauss, uniform, zero, mean, shuffle, scale:F)"},
        {"attn.q@L0", "scale", NULL, NULL, "mode scale needs a factor: scale:F"},
        {"attn.q@L0", "scale:", NULL, NULL, "mode scale needs a factor"},
        {"attn.q@L0", "scale:abc", NULL, NULL, "bad factor in mode \"scale:abc\""},
        {"attn.q@L0", "scale:1x", NULL, NULL, "bad factor"},
        {"attn.q@L0", "scale:inf", NULL, NULL, "bad factor"},
        {"attn.q@L0", NULL, "heads", NULL, "unknown match \"heads\" (valid: tensor, head)"},
        {"mlp.fc@L0", NULL, "head", NULL, "match head needs heads, and mlp.fc has none"},
        {"attn.q@L0", NULL, NULL, "mt", "unknown rng \"mt\" (valid: philox, torch, torch-avx512, torch-scalar, torch-stream, each torch* with an optional :THREADS"},
        {"attn.q@L0", NULL, NULL, "torch-", "unknown rng"},
        {"attn.q@L0", NULL, NULL, "torchx", "unknown rng"},
        {"attn.q@L0", NULL, NULL, "torch:0", "bad thread count in rng \"torch:0\""},
        {"attn.q@L0", NULL, NULL, "torch:", "bad thread count"},
        {"attn.q@L0", NULL, NULL, "torch:2x", "bad thread count"},
        {"attn.q@L0", "shuffle", NULL, "torch", "not shuffle"},
        {"attn.q@L0", "uniform", NULL, "torch-scalar", "not uniform"},
        {"attn.q@L12", NULL, NULL, NULL, "layer 12 out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(ls_lesion_parse(&l, &gpt2, bad[i].spec, bad[i].mode, bad[i].match, 0, 0, bad[i].rng, &err), -1);
        assert_contains(err.msg, bad[i].needle);
    }
}

static void test_tied_embedding_halves_and_stream(void **state) {
    (void)state;
    expect_canonical("wte.in", "wte.in");
    expect_canonical("wte.out@D0-63", "wte.out@D0-63");
    expect_error("wte.in@L0", "model-wide");
    expect_error("wte.out@H0", "no heads");
    ls_spec s;
    ls_error err = {{0}};
    assert_int_equal(ls_spec_parse(&s, &gpt2, "wte.in@D5", &err), 0);
    assert_int_equal(s.comp, LS_COMP_WTE_IN);
    assert_int_equal(ls_component_dims(LS_COMP_WTE_OUT, &gpt2), 768);
    assert_int_equal(ls_component_dims(LS_COMP_MLP_FC, &gpt2), 4 * 768);
    assert_int_equal(ls_component_dims(LS_COMP_ATTN_Q, &gpt2), 0);
    assert_false(ls_component_per_layer(LS_COMP_WTE_OUT));
    assert_true(ls_component_per_layer(LS_COMP_LN2));

    ls_lesion l;
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "attn.q@L0-2", NULL, NULL, 0, 7, "torch-stream", &err), 0);
    assert_int_equal(l.rng, LS_RNG_TORCH_STREAM);
    char buf[128];
    ls_lesion_format(&l, buf, sizeof buf);
    assert_string_equal(buf, "attn.q@L0-2 gauss match=tensor seed=7 rng=torch-stream");
    assert_int_equal(ls_lesion_parse(&l, &gpt2, "attn.q@L0", "shuffle", NULL, 0, 7, "torch-stream", &err), -1);
    assert_contains(err.msg, "not shuffle");

    ls_index_set set;
    assert_int_equal(ls_index_list_parse(&set, "3,0-1", 12, "layer", &err), 0);
    assert_int_equal(set.n, 2);
    assert_true(set.r[0].lo == 0 && set.r[0].hi == 1 && set.r[1].lo == 3 && set.r[1].hi == 3);
    assert_int_equal(ls_index_list_parse(&set, "0-12", 12, "layer", &err), -1);
    assert_contains(err.msg, "layer 12 out of range");
    assert_int_equal(ls_index_list_parse(&set, "2x", 12, "layer", &err), -1);
    assert_contains(err.msg, "unexpected 'x'");
    assert_int_equal(ls_index_list_parse(&set, "", 12, "layer", &err), -1);
    assert_contains(err.msg, "empty layer list");
}

int main(void) {
    gpt2 = ls_config_gpt2(12, 12, 768, 1024, 50257);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tied_embedding_halves_and_stream),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_lesion_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
