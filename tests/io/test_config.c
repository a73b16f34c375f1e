/* test_config.c: proves that config.json is read to known answers
 * (n_positions preferred over n_ctx, n_ctx as fallback, default epsilon),
 * that each kind of bad config is refused with a message naming the file and
 * the field (missing, not an integer, out of range, n_embd not divisible by
 * n_head, not JSON), that ls_config_write -> ls_config_load round-trips; that
 * ls_write_file_atomic replaces files without leaving temp files and fails
 * cleanly (creating nothing) when the target cannot be written; and that
 * ls_npy_write_f32 writes a valid .npy v1.0 header (magic, dict, 64-byte
 * aligned data) followed by the exact data bytes. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

/* Writes text to dir/name and loads it as a config. */
static int load_text(const char *name, const char *text, ls_config *cfg, ls_error *err, char *path, size_t n) {
    test_path(path, n, g_dir, name);
    test_write_text(path, text);
    return ls_config_load(cfg, path, err);
}

static void expect_config_error(const char *text, const char *problem) {
    char path[256];
    ls_config cfg = {.n_layer = -7};
    ls_error err = {{0}};
    assert_int_equal(load_text("bad.json", text, &cfg, &err, path, sizeof path), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, problem);
    assert_int_equal(cfg.n_layer, -7); /* untouched on failure */
}

/* Number of directory entries other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_load_known_answers(void **state) {
    (void)state;
    char path[256];
    ls_config c;
    ls_error err = {{0}};
    /* n_positions wins over n_ctx; epsilon given; unrelated fields ignored. */
    if (load_text("a.json",
                  "{\"n_layer\": 12, \"n_head\": 12, \"n_embd\": 768, \"n_positions\": 1024, \"n_ctx\": 512,"
                  " \"vocab_size\": 50257, \"layer_norm_epsilon\": 1e-6, \"activation_function\": \"gelu_new\","
                  " \"resid_pdrop\": 0.1, \"task_specific_params\": {\"x\": 1}}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.n_layer, 12);
    assert_int_equal(c.n_head, 12);
    assert_int_equal(c.n_embd, 768);
    assert_int_equal(c.n_ctx, 1024);
    assert_int_equal(c.vocab_size, 50257);
    assert_true(c.ln_eps == 1e-6f);

    /* Older files: only n_ctx; no epsilon -> 1e-5. Integers written as 2.0 are integers. */
    if (load_text("b.json", "{\"n_layer\": 2.0, \"n_head\": 1, \"n_embd\": 4, \"n_ctx\": 8, \"vocab_size\": 3}", &c,
                  &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.n_layer, 2);
    assert_int_equal(c.n_ctx, 8);
    assert_true(c.ln_eps == 1e-5f);

    /* null counts as absent: n_positions null falls back to n_ctx, eps null to the default. */
    if (load_text("c.json",
                  "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": null, \"n_ctx\": 16,"
                  " \"vocab_size\": 3, \"layer_norm_epsilon\": null}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.n_ctx, 16);
    assert_true(c.ln_eps == 1e-5f);
}

static void test_missing_fields_are_named(void **state) {
    (void)state;
    expect_config_error("{\"n_layer\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "missing field \"n_head\"");
    expect_config_error("{\"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "missing field \"n_layer\"");
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8}",
                        "missing field \"vocab_size\"");
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"vocab_size\": 3}",
                        "missing field \"n_positions\" (or \"n_ctx\")");
}

static void test_non_integer_fields(void **state) {
    (void)state;
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4.5, \"n_positions\": 8, \"vocab_size\": 3}",
                        "field \"n_embd\" must be an integer");
    expect_config_error("{\"n_layer\": \"2\", \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "field \"n_layer\" must be an integer");
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 1e12}",
                        "field \"vocab_size\" must be an integer");
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": [8], \"vocab_size\": 3}",
                        "field \"n_positions\" must be an integer");
    expect_config_error("{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3,"
                        " \"layer_norm_epsilon\": \"small\"}",
                        "field \"layer_norm_epsilon\" must be a number");
}

static void test_out_of_range_and_divisibility(void **state) {
    (void)state;
    expect_config_error("{\"n_layer\": 2, \"n_head\": 3, \"n_embd\": 10, \"n_positions\": 8, \"vocab_size\": 3}",
                        "n_embd = 10 is not divisible by n_head = 3");
    expect_config_error("{\"n_layer\": 1000000000, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "n_layer = 1000000000 is out of range");
    expect_config_error("{\"n_layer\": 0, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "n_layer = 0 is out of range");
    expect_config_error("{\"n_layer\": 1, \"n_head\": -2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3}",
                        "n_head = -2 is out of range");
    expect_config_error("{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 2000000, \"vocab_size\": 3}",
                        "n_positions = 2000000 is out of range");
    expect_config_error("{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3,"
                        " \"layer_norm_epsilon\": 0}",
                        "layer_norm_epsilon = 0 is out of range");
    /* The default n_inner (4 x n_embd) must not overflow int before validation sees n_embd (fuzz_config). */
    expect_config_error("{\"n_layer\": 1, \"n_head\": 1, \"n_embd\": 2147483647, \"n_positions\": 8,"
                        " \"vocab_size\": 3}",
                        "n_embd = 2147483647 is out of range");
    expect_config_error("{\"n_layer\": 1, \"n_head\": 1, \"n_embd\": 1073741824, \"n_positions\": 8,"
                        " \"vocab_size\": 3}",
                        "n_embd = 1073741824 is out of range");
    /* An epsilon beyond float's range is refused before it is narrowed. */
    expect_config_error("{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 4, \"n_positions\": 8, \"vocab_size\": 3,"
                        " \"layer_norm_epsilon\": 1e300}",
                        "layer_norm_epsilon = 1e+300 is out of range");
}

static void test_not_json(void **state) {
    (void)state;
    expect_config_error("{\"n_layer\": 2,", "not a JSON object");
    expect_config_error("[1, 2]", "not a JSON object");
    expect_config_error("", "not a JSON object");
    char path[256];
    test_path(path, sizeof path, g_dir, "absent.json");
    ls_config c;
    ls_error err = {{0}};
    assert_int_equal(ls_config_load(&c, path, &err), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot open");
}

static void test_write_load_round_trip(void **state) {
    (void)state;
    ls_config cases[] = {
        ls_config_gpt2(12, 12, 768, 1024, 50257),
        ls_config_gpt2(1, 1, 1, 1, 1),
        ls_config_gpt2(LS_MAX_LAYERS, 4, 64, LS_MAX_CTX, LS_MAX_VOCAB),
    };
    cases[1].ln_eps = 3e-7f;
    cases[2].ln_eps = 0.1f;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        test_path(path, sizeof path, g_dir, "rt.json");
        ls_error err = {{0}};
        if (ls_config_write(&cases[i], path, &err) != 0) fail_msg("%s", err.msg);
        ls_config c;
        if (ls_config_load(&c, path, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal(c.n_layer, cases[i].n_layer);
        assert_int_equal(c.n_head, cases[i].n_head);
        assert_int_equal(c.n_embd, cases[i].n_embd);
        assert_int_equal(c.n_ctx, cases[i].n_ctx);
        assert_int_equal(c.vocab_size, cases[i].vocab_size);
        assert_memory_equal(&c.ln_eps, &cases[i].ln_eps, sizeof c.ln_eps); /* bit-exact */
    }
}

/* Each family's config.json, as downloads have it, read to known answers. */
static void test_families_known_answers(void **state) {
    (void)state;
    char path[256];
    ls_config c;
    ls_error err = {{0}};
    /* Llama 3.2 1B: GQA, tied, llama3 rope scaling, a list of eos ids. */
    if (load_text("llama.json",
                  "{\"model_type\": \"llama\", \"hidden_size\": 2048, \"intermediate_size\": 8192,"
                  " \"num_hidden_layers\": 16, \"num_attention_heads\": 32, \"num_key_value_heads\": 8,"
                  " \"head_dim\": 64, \"max_position_embeddings\": 131072, \"vocab_size\": 128256,"
                  " \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0, \"hidden_act\": \"silu\","
                  " \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0,"
                  " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
                  " \"tie_word_embeddings\": true, \"attention_bias\": false, \"mlp_bias\": false,"
                  " \"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009], \"pretraining_tp\": 1}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.arch, LS_ARCH_LLAMA);
    assert_int_equal(c.n_layer, 16);
    assert_int_equal(c.n_head, 32);
    assert_int_equal(c.n_kv_head, 8);
    assert_int_equal(c.d_head, 64);
    assert_int_equal(c.n_ff, 8192);
    assert_int_equal(c.n_ctx, 131072);
    assert_int_equal(c.norm, LS_NORM_RMS);
    assert_int_equal(c.act, LS_ACT_SILU);
    assert_int_equal(c.rope_dims, 64);
    assert_true(c.rope_theta == 500000.0);
    assert_int_equal(c.rope_scaling, LS_ROPE_LLAMA3);
    assert_true(c.rope_factor == 32 && c.rope_low_freq_factor == 1 && c.rope_high_freq_factor == 4);
    assert_int_equal(c.rope_original_ctx, 8192);
    assert_true(c.tied_head && !c.fused_qkv && !c.qkv_bias && !c.out_bias && !c.learned_pos);
    assert_int_equal(c.bos_id, 128000);
    assert_int_equal(c.eos_id, 128001);
    /* Pythia 160M: partial rotary (25% of 64 = 16 dims), parallel residual, exact GELU, untied. */
    if (load_text("neox.json",
                  "{\"model_type\": \"gpt_neox\", \"hidden_size\": 768, \"intermediate_size\": 3072,"
                  " \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"max_position_embeddings\": 2048,"
                  " \"vocab_size\": 50304, \"layer_norm_eps\": 1e-05, \"rotary_pct\": 0.25,"
                  " \"rotary_emb_base\": 10000, \"use_parallel_residual\": true, \"hidden_act\": \"gelu\","
                  " \"tie_word_embeddings\": false, \"bos_token_id\": 0, \"eos_token_id\": 0}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.arch, LS_ARCH_GPT_NEOX);
    assert_int_equal(c.d_head, 64);
    assert_int_equal(c.rope_dims, 16);
    assert_int_equal(c.act, LS_ACT_GELU_ERF);
    assert_true(c.parallel_residual && c.fused_qkv && c.qkv_bias && c.out_bias && !c.tied_head);
    /* Mistral's window and Qwen2's biases; newer files' rope_parameters. */
    if (load_text("mistral.json",
                  "{\"model_type\": \"mistral\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                  " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                  " \"max_position_embeddings\": 512, \"vocab_size\": 100, \"sliding_window\": 16,"
                  " \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.sliding_window, 16);
    assert_true(c.rope_theta == 1e6);
    assert_true(c.ln_eps == 1e-6f); /* the family's default */
    if (load_text("qwen2.json",
                  "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                  " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                  " \"max_position_embeddings\": 512, \"vocab_size\": 100, \"use_sliding_window\": false,"
                  " \"sliding_window\": 4096, \"layer_types\": [\"full_attention\", \"full_attention\"]}",
                  &c, &err, path, sizeof path) != 0)
        fail_msg("%s", err.msg);
    assert_true(c.qkv_bias && !c.out_bias && c.sliding_window == 0);
}

/* Keys whose value would change the math in a way lesion does not compute:
 * one line naming the key and the value. */
static void test_families_refusals(void **state) {
    (void)state;
    static const char *const base =
        "\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2,"
        " \"num_attention_heads\": 4, \"max_position_embeddings\": 64, \"vocab_size\": 100";
    static const struct { const char *type, *extra, *want; } cases[] = {
        {"bert", "", "model_type \"bert\" is not supported"},
        {"llama", ", \"attention_bias\": true", "attention_bias = true"},
        {"llama", ", \"mlp_bias\": true", "mlp_bias = true"},
        {"llama", ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}", "rope_scaling type = \"yarn\""},
        {"llama", ", \"rope_scaling\": {\"rope_type\": \"linear\"}", "needs a \"factor\""},
        {"llama", ", \"hidden_act\": \"gelu\"", "hidden_act = \"gelu\""},
        {"llama", ", \"partial_rotary_factor\": 0.5", "partial_rotary_factor = 0.5"},
        {"llama", ", \"num_key_value_heads\": 3", "not a multiple of num_key_value_heads = 3"},
        {"qwen2", ", \"use_sliding_window\": true", "use_sliding_window = true"},
        {"qwen2", ", \"layer_types\": [\"full_attention\", \"sliding_attention\"]", "layer_types"},
        {"gpt_neox", ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}", "rope_scaling = (set)"},
        {"gpt_neox", ", \"hidden_act\": \"relu\"", "hidden_act = \"relu\""},
        {"mistral", ", \"sliding_window\": -1", "sliding_window = -1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[768];
        snprintf(text, sizeof text, "{\"model_type\": \"%s\", %s%s}", cases[i].type, base, cases[i].extra);
        expect_config_error(text, cases[i].want);
    }
    expect_config_error("{\"model_type\": \"gpt2\", \"n_layer\": 1, \"n_head\": 1, \"n_embd\": 4, \"n_ctx\": 8,"
                        " \"vocab_size\": 3, \"scale_attn_weights\": false}",
                        "scale_attn_weights = false");
    expect_config_error("{\"model_type\": \"gpt2\", \"n_layer\": 1, \"n_head\": 1, \"n_embd\": 4, \"n_ctx\": 8,"
                        " \"vocab_size\": 3, \"activation_function\": \"relu\"}",
                        "activation_function = \"relu\"");
}

/* Every family's config survives ls_config_write -> ls_config_load. */
static void test_families_round_trip(void **state) {
    (void)state;
    ls_config cases[4] = {
        {.arch = LS_ARCH_LLAMA, .n_layer = 3, .n_head = 6, .n_kv_head = 2, .d_head = 16, .n_embd = 64, .n_ff = 100,
         .n_ctx = 4096, .vocab_size = 300, .ln_eps = 1e-5f, .rope_theta = 5e5, .rope_scaling = LS_ROPE_LLAMA3,
         .rope_factor = 8, .rope_low_freq_factor = 1, .rope_high_freq_factor = 4, .rope_original_ctx = 1024,
         .tied_head = 1, .bos_id = 1, .eos_id = 2},
        {.arch = LS_ARCH_MISTRAL, .n_layer = 2, .n_head = 4, .n_kv_head = 1, .n_embd = 32, .n_ff = 64, .n_ctx = 128,
         .vocab_size = 50, .ln_eps = 1e-6f, .sliding_window = 16, .bos_id = 1, .eos_id = 2},
        {.arch = LS_ARCH_QWEN2, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_embd = 32, .n_ff = 64, .n_ctx = 128,
         .vocab_size = 50, .ln_eps = 1e-6f, .rope_theta = 1e6, .rope_scaling = LS_ROPE_LINEAR, .rope_factor = 2,
         .bos_id = 3, .eos_id = 4},
        {.arch = LS_ARCH_GPT_NEOX, .n_layer = 2, .n_head = 4, .n_embd = 32, .n_ff = 128, .n_ctx = 128,
         .vocab_size = 50, .ln_eps = 1e-5f, .rope_dims = 4, .act = LS_ACT_GELU_ERF, .parallel_residual = 0,
         .bos_id = 0, .eos_id = 0},
    };
    for (size_t i = 0; i < 4; i++) {
        ls_config_derive(&cases[i]);
        char path[256];
        test_path(path, sizeof path, g_dir, "family_rt.json");
        ls_error err = {{0}};
        if (ls_config_validate(&cases[i], &err) != 0 || ls_config_write(&cases[i], path, &err) != 0)
            fail_msg("%s", err.msg);
        ls_config c;
        if (ls_config_load(&c, path, &err) != 0) fail_msg("%s: %s", ls_arch_name(cases[i].arch), err.msg);
        if (memcmp(&c, &cases[i], sizeof c) != 0) fail_msg("%s: config differs after a round trip", ls_arch_name(c.arch));
    }
}

static void test_validate_directly(void **state) {
    (void)state;
    ls_config ok = ls_config_gpt2(2, 2, 8, 16, 11);
    ls_error err = {{0}};
    assert_int_equal(ls_config_validate(&ok, &err), 0);
    ls_config bad = ok;
    bad.vocab_size = LS_MAX_VOCAB + 1;
    assert_int_equal(ls_config_validate(&bad, &err), -1);
    assert_contains(err.msg, "vocab_size");
    bad = ok;
    bad.n_embd = LS_MAX_EMBD + 2;
    assert_int_equal(ls_config_validate(&bad, &err), -1);
    assert_contains(err.msg, "n_embd");
    bad = ok;
    bad.ln_eps = 1.0f;
    assert_int_equal(ls_config_validate(&bad, &err), -1);
    assert_contains(err.msg, "layer_norm_epsilon");
    /* A NULL error is allowed: the return value alone reports failure. */
    assert_int_equal(ls_config_validate(&bad, NULL), -1);
}

/* ---- atomic files ------------------------------------------------------- */

static void test_atomic_write_replaces_without_temp_files(void **state) {
    (void)state;
    char sub[256], path[300];
    test_path(sub, sizeof sub, g_dir, "atomic");
    assert_int_equal(mkdir(sub, 0755), 0);
    test_path(path, sizeof path, sub, "file.txt");
    ls_error err = {{0}};
    if (ls_write_file_atomic(path, "first version", 13, &err) != 0) fail_msg("%s", err.msg);
    if (ls_write_file_atomic(path, "second", 6, &err) != 0) fail_msg("%s", err.msg);
    size_t len;
    char *back = test_read_all(path, &len);
    assert_int_equal(len, 6);
    assert_string_equal(back, "second");
    free(back);
    assert_int_equal(count_entries(sub), 1); /* only file.txt: no .tmp.<pid> left */
    /* Empty content is a valid file. */
    if (ls_write_file_atomic(path, "", 0, &err) != 0) fail_msg("%s", err.msg);
    back = test_read_all(path, &len);
    assert_int_equal(len, 0);
    free(back);
    assert_int_equal(count_entries(sub), 1);
}

static void test_atomic_write_fails_cleanly(void **state) {
    (void)state;
    char path[300], missing_dir[256];
    ls_error err = {{0}};
    /* Into a directory that does not exist: error, and the directory is not created. */
    test_path(missing_dir, sizeof missing_dir, g_dir, "nonexistent");
    test_path(path, sizeof path, missing_dir, "out.bin");
    assert_int_equal(ls_write_file_atomic(path, "x", 1, &err), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot create");
    assert_int_equal(access(missing_dir, F_OK), -1);

    /* Below a regular file (ENOTDIR): works even when running as root. */
    char plain[256];
    test_path(plain, sizeof plain, g_dir, "plain");
    test_write_text(plain, "not a dir");
    test_path(path, sizeof path, plain, "out.bin");
    assert_int_equal(ls_write_file_atomic(path, "x", 1, &err), -1);
    assert_contains(err.msg, "cannot create");

    /* Over an existing directory: the rename fails; the directory and its
     * contents survive and the temp file is removed. */
    char box[256], inner[300];
    test_path(box, sizeof box, g_dir, "box");
    assert_int_equal(mkdir(box, 0755), 0);
    char target[256];
    test_path(target, sizeof target, box, "target");
    assert_int_equal(mkdir(target, 0755), 0);
    test_path(inner, sizeof inner, target, "keep");
    test_write_text(inner, "kept");
    assert_int_equal(ls_write_file_atomic(target, "x", 1, &err), -1);
    assert_contains(err.msg, target);
    assert_contains(err.msg, "cannot replace");
    assert_int_equal(count_entries(box), 1);
    char *back = test_read_all(inner, NULL);
    assert_string_equal(back, "kept");
    free(back);

    /* Over a FIFO (or a device: `--out /dev/null` as root): refused, the
     * FIFO is still a FIFO and no temp file is left. */
    char fifo_dir[256], fifo[300];
    test_path(fifo_dir, sizeof fifo_dir, g_dir, "fifo_dir");
    assert_int_equal(mkdir(fifo_dir, 0755), 0);
    test_path(fifo, sizeof fifo, fifo_dir, "pipe");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(ls_write_file_atomic(fifo, "x", 1, &err), -1);
    assert_contains(err.msg, "not a file");
    struct stat st;
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(fifo_dir), 1);

    /* Where the directory is read-only (meaningful only without root's override). */
    if (geteuid() != 0) {
        char ro[256];
        test_path(ro, sizeof ro, g_dir, "readonly");
        assert_int_equal(mkdir(ro, 0555), 0);
        test_path(path, sizeof path, ro, "out.bin");
        assert_int_equal(ls_write_file_atomic(path, "x", 1, &err), -1);
        assert_contains(err.msg, "cannot create");
        assert_int_equal(count_entries(ro), 0);
        chmod(ro, 0755);
    }
}

/* ---- npy ------------------------------------------------------------------ */

static void check_npy(const char *name, const float *data, const int64_t *shape, int ndim, const char *want_dict) {
    char path[256];
    test_path(path, sizeof path, g_dir, name);
    ls_error err = {{0}};
    if (ls_npy_write_f32(path, data, shape, ndim, &err) != 0) fail_msg("%s", err.msg);
    size_t len;
    char *buf = test_read_all(path, &len);
    const uint8_t *u = (const uint8_t *)buf;
    assert_true(len >= 10);
    assert_memory_equal(buf, "\x93NUMPY", 6);
    assert_int_equal(u[6], 1); /* version 1.0 */
    assert_int_equal(u[7], 0);
    size_t hl = (size_t)(u[8] | u[9] << 8);
    size_t data_at = 10 + hl;
    assert_int_equal(data_at % 64, 0);
    /* The dict, then space padding, then exactly one newline ending the header. */
    size_t dl = strlen(want_dict);
    assert_true(dl < hl);
    assert_memory_equal(buf + 10, want_dict, dl);
    for (size_t i = 10 + dl; i < data_at - 1; i++) assert_int_equal(buf[i], ' ');
    assert_int_equal(buf[data_at - 1], '\n');
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    assert_int_equal(len, data_at + (size_t)count * 4);
    assert_memory_equal(buf + data_at, data, (size_t)count * 4);
    free(buf);
}

static void test_npy_header_and_data(void **state) {
    (void)state;
    const float d[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-30f, -7.0f};
    const int64_t s2[2] = {2, 3}, s1[1] = {6}, s3[3] = {1, 2, 3}, s0[1] = {0};
    check_npy("a.npy", d, s2, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,), }");
    check_npy("b.npy", d, s1, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }");
    check_npy("c.npy", d, s3, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3,), }");
    check_npy("d.npy", d, s0, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }");
    check_npy("e.npy", d, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
    /* A large shape still gives a 64-byte aligned header. */
    float *big = calloc(70000, sizeof *big);
    assert_non_null(big);
    for (int i = 0; i < 70000; i++) big[i] = (float)i;
    const int64_t sb[2] = {7, 10000};
    check_npy("big.npy", big, sb, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 10000,), }");
    free(big);

    char path[300];
    test_path(path, sizeof path, g_dir, "no/such/dir/x.npy");
    ls_error err = {{0}};
    assert_int_equal(ls_npy_write_f32(path, d, s1, 1, &err), -1);
    assert_contains(err.msg, path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_known_answers),
        cmocka_unit_test(test_missing_fields_are_named),
        cmocka_unit_test(test_non_integer_fields),
        cmocka_unit_test(test_out_of_range_and_divisibility),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_write_load_round_trip),
        cmocka_unit_test(test_validate_directly),
        cmocka_unit_test(test_families_known_answers),
        cmocka_unit_test(test_families_refusals),
        cmocka_unit_test(test_families_round_trip),
        cmocka_unit_test(test_atomic_write_replaces_without_temp_files),
        cmocka_unit_test(test_atomic_write_fails_cleanly),
        cmocka_unit_test(test_npy_header_and_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
