/* test_model.c: proves that a random GPT-2 written by ls_model_init_random
 * opens with the config it was written with, the GPT-2 parameter count,
 * every tensor named and shaped as Hugging Face does, and GPT-2's init
 * (LayerNorm weights 1, biases 0, weight matrices N(0, 0.02)); that F16 and
 * BF16 checkpoints load as the F32 values rounded to nearest even; that the
 * "transformer." key prefix and a tied lm_head are accepted and an untied
 * head refused; that a checkpoint disagreeing with its config (missing file,
 * missing or extra layer, wrong shape, integer dtype) is refused with a
 * message naming the tensor; and that the forward pass over the committed
 * tiny-gpt2 fixture matches the independent PyTorch reference logits, clean
 * and with one head's keys zeroed. */
#include "test_util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static char g_f32[128]; /* the reference random model, F32 */

static ls_config k_cfg; /* GPT-2: 2 layers, 2 heads, C 8, context 16, V 11 (set in main) */
#define SEED 7u

static int setup(void **state) {
    (void)state;
    test_tmpdir(g_dir, sizeof g_dir);
    test_path(g_f32, sizeof g_f32, g_dir, "f32");
    ls_error err = {{0}};
    if (ls_model_init_random(&k_cfg, SEED, LS_DTYPE_F32, g_f32, &err) != 0) {
        fprintf(stderr, "init: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_rmtree(g_dir);
    return 0;
}

static ls_model *open_ok(const char *dir) {
    ls_model *m = NULL;
    ls_error err = {{0}};
    if (ls_model_open(&m, dir, &err) != 0) fail_msg("%s", err.msg);
    return m;
}

/* A fresh random model in g_dir/name, with cfg written over its config.json afterwards if given. */
static void make_model(const char *name, const ls_config *file_cfg, const ls_config *claimed_cfg, char *dir, size_t n) {
    test_path(dir, n, g_dir, name);
    ls_error err = {{0}};
    if (ls_model_init_random(file_cfg, SEED, LS_DTYPE_F32, dir, &err) != 0) fail_msg("%s", err.msg);
    if (claimed_cfg) {
        char path[300];
        test_path(path, sizeof path, dir, "config.json");
        if (ls_config_write(claimed_cfg, path, &err) != 0) fail_msg("%s", err.msg);
    }
}

static void expect_open_error(const char *dir, const char *p1, const char *p2, const char *p3) {
    ls_model *m = (ls_model *)1;
    ls_error err = {{0}};
    assert_int_equal(ls_model_open(&m, dir, &err), -1);
    assert_null(m);
    assert_contains(err.msg, dir);
    if (p1) assert_contains(err.msg, p1);
    if (p2) assert_contains(err.msg, p2);
    if (p3) assert_contains(err.msg, p3);
}

static void test_open_config_count_and_infos(void **state) {
    (void)state;
    ls_model *m = open_ok(g_f32);
    const ls_config *c = ls_model_config(m);
    assert_int_equal(c->n_layer, 2);
    assert_int_equal(c->n_head, 2);
    assert_int_equal(c->n_embd, 8);
    assert_int_equal(c->n_ctx, 16);
    assert_int_equal(c->vocab_size, 11);
    assert_true(c->ln_eps == 1e-5f);
    assert_string_equal(ls_model_dir(m), g_f32);

    /* GPT-2: V*C + ctx*C + 2C (ln_f) + L * (12 C^2 + 13 C). */
    const int64_t C = 8, L = 2, V = 11, T = 16;
    assert_int_equal(ls_model_param_count(m), V * C + T * C + 2 * C + L * (12 * C * C + 13 * C));
    assert_int_equal(ls_model_param_count(m), 1976);
    assert_int_equal(ls_tensor_count(c), LS_GLOBAL_ROLES + 2 * LS_LAYER_ROLES); /* every role has an id; GPT-2 has 4 + 12 per layer of them */
    int files = 0;
    for (ls_tensor_id id = 0; id < ls_tensor_count(c); id++) files += ls_model_tensor_file(m, id) >= 0;
    assert_int_equal(files, 4 + 2 * 12);
    /* The tied output is the embedding: the same pointer, not a tensor of the file. */
    assert_int_equal(ls_model_tensor_info(m, LS_OUTPUT)->alias_of, LS_EMBED);
    assert_ptr_equal(ls_model_weights(m).t[LS_OUTPUT], ls_model_weights(m).t[LS_EMBED]);

    static const struct { ls_tensor_id id; const char *name; int ndim; int64_t r, cols; } want[] = {
        {LS_EMBED, "wte.weight", 2, 11, 8},
        {LS_POS_EMBED, "wpe.weight", 2, 16, 8},
        {LS_OUT_NORM_W, "ln_f.weight", 1, 8, 0},
        {LS_OUT_NORM_B, "ln_f.bias", 1, 8, 0},
        {LS_GLOBAL_ROLES + LS_ATTN_NORM_W, "h.0.ln_1.weight", 1, 8, 0},
        {LS_GLOBAL_ROLES + LS_QKV_W, "h.0.attn.c_attn.weight", 2, 8, 24},
        {LS_GLOBAL_ROLES + LS_QKV_B, "h.0.attn.c_attn.bias", 1, 24, 0},
        {LS_GLOBAL_ROLES + LS_ATTN_OUT_W, "h.0.attn.c_proj.weight", 2, 8, 8},
        {LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_NORM_W, "h.1.ln_2.weight", 1, 8, 0},
        {LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_UP_W, "h.1.mlp.c_fc.weight", 2, 8, 32},
        {LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_UP_B, "h.1.mlp.c_fc.bias", 1, 32, 0},
        {LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_DOWN_W, "h.1.mlp.c_proj.weight", 2, 32, 8},
        {LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_DOWN_B, "h.1.mlp.c_proj.bias", 1, 8, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ls_tensor_info *ti = ls_model_tensor_info(m, want[i].id);
        assert_string_equal(ti->name, want[i].name);
        assert_string_equal(ti->file_key, want[i].name); /* written without prefix */
        assert_int_equal(ti->dtype, LS_DTYPE_F32);
        assert_int_equal(ti->ndim, want[i].ndim);
        assert_int_equal(ti->shape[0], want[i].r);
        if (want[i].ndim == 2) assert_int_equal(ti->shape[1], want[i].cols);
        assert_int_equal(ti->n_elems, want[i].ndim == 2 ? want[i].r * want[i].cols : want[i].r);
    }
    assert_int_equal(ls_layer_tensor(1, LS_FFN_UP_W), LS_GLOBAL_ROLES + LS_LAYER_ROLES + LS_FFN_UP_W);

    /* Name lookup is the inverse of the table, with or without the prefix. */
    for (ls_tensor_id id = 0; id < ls_tensor_count(c); id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(m, id);
        if (ls_model_tensor_file(m, id) < 0) continue; /* roles GPT-2 lacks, and its tied output */
        assert_int_equal(ls_tensor_by_name(c, ti->name), id);
        char pref[128];
        snprintf(pref, sizeof pref, "transformer.%s", ti->name);
        assert_int_equal(ls_tensor_by_name(c, pref), id);
    }
    assert_int_equal(ls_tensor_by_name(c, "h.2.ln_1.weight"), -1);
    assert_int_equal(ls_tensor_by_name(c, "lm_head.weight"), -1);
    assert_int_equal(ls_tensor_by_name(c, ""), -1);

    const void *meta = ls_model_metadata(m);
    assert_non_null(meta);
    ls_model_close(m);
    ls_model_close(NULL); /* allowed */
}

static void test_weights_follow_gpt2_init(void **state) {
    (void)state;
    ls_model *m = open_ok(g_f32);
    const ls_config *c = ls_model_config(m);
    ls_weights w = ls_model_weights(m);
    assert_ptr_equal(w.cfg, c);
    double sum = 0, sumsq = 0;
    int64_t n = 0;
    for (ls_tensor_id id = 0; id < ls_tensor_count(c); id++) {
        if (ls_model_tensor_file(m, id) < 0) continue;
        assert_non_null(w.t[id]);
        const ls_tensor_info *ti = ls_model_tensor_info(m, id);
        int is_ln = strstr(ti->name, "ln_") != NULL, is_w = strstr(ti->name, ".weight") != NULL;
        for (int64_t i = 0; i < ti->n_elems; i++) {
            float v = w.t[id][i];
            if (is_ln) assert_true(v == (is_w ? 1.0f : 0.0f));
            else if (!is_w) assert_true(v == 0.0f); /* biases */
            else {
                assert_true(isfinite(v));
                sum += v, sumsq += (double)v * v, n++;
            }
        }
    }
    /* 1752 N(0, 0.02) draws: mean within ~4 standard errors of 0, std within 10%. */
    assert_int_equal(n, 11 * 8 + 16 * 8 + 2 * (8 * 24 + 8 * 8 + 8 * 32 + 32 * 8));
    double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
    if (fabs(mean) > 0.002 || fabs(sd - 0.02) > 0.002) fail_msg("weights mean %g sd %g, expected 0 and 0.02", mean, sd);
    /* Different tensors are different draws. */
    assert_memory_not_equal(w.t[ls_layer_tensor(0, LS_ATTN_OUT_W)], w.t[ls_layer_tensor(1, LS_ATTN_OUT_W)],
                            64 * sizeof(float));
    ls_model_close(m);
}

static void test_init_is_deterministic_in_seed(void **state) {
    (void)state;
    char a[128], b[128], p1[300], p2[300];
    make_model("same_seed", &k_cfg, NULL, a, sizeof a);
    test_path(b, sizeof b, g_dir, "other_seed");
    ls_error err = {{0}};
    if (ls_model_init_random(&k_cfg, SEED + 1, LS_DTYPE_F32, b, &err) != 0) fail_msg("%s", err.msg);
    test_path(p1, sizeof p1, g_f32, "model.safetensors");
    test_path(p2, sizeof p2, a, "model.safetensors");
    size_t n1, n2;
    char *x = test_read_all(p1, &n1), *y = test_read_all(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(x, y, n1);
    free(y);
    test_path(p2, sizeof p2, b, "model.safetensors");
    y = test_read_all(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_not_equal(x, y, n1);
    free(x);
    free(y);

    /* An invalid config is refused before anything is written. */
    ls_config bad = k_cfg;
    bad.n_head = 3;
    char d[128];
    test_path(d, sizeof d, g_dir, "never_created");
    assert_int_equal(ls_model_init_random(&bad, 1, LS_DTYPE_F32, d, &err), -1);
    assert_contains(err.msg, "not divisible");
    assert_int_equal(access(d, F_OK), -1);
}

/* Independent reference: round x to `bits` significant bits, nearest even, via rint(). */
static float round_to_bits(float x, int bits, int min_exp, double max_finite) {
    if (x == 0 || !isfinite(x)) return x;
    int e;
    frexp(x, &e);                    /* x = m 2^e, 0.5 <= |m| < 1 */
    if (e - 1 < min_exp) e = min_exp + 1; /* subnormal range: fixed quantum */
    double q = ldexp(1.0, e - bits); /* unit in the last place */
    double r = rint((double)x / q) * q;
    if (fabs(r) > max_finite) return x > 0 ? INFINITY : -INFINITY;
    return (float)r;
}

static void check_low_precision(ls_dtype dt, const char *name, int bits, int min_exp, double max_finite) {
    char dir[128];
    test_path(dir, sizeof dir, g_dir, name);
    ls_error err = {{0}};
    if (ls_model_init_random(&k_cfg, SEED, dt, dir, &err) != 0) fail_msg("%s", err.msg);
    ls_model *ref = open_ok(g_f32), *m = open_ok(dir);
    assert_int_equal(ls_model_param_count(m), ls_model_param_count(ref));
    ls_weights wr = ls_model_weights(ref), wm = ls_model_weights(m);
    int n_sub = 0;
    for (ls_tensor_id id = 0; id < ls_tensor_count(&k_cfg); id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(m, id);
        if (ls_model_tensor_file(m, id) < 0) continue;
        assert_int_equal(ti->dtype, dt);
        for (int64_t i = 0; i < ti->n_elems; i++) {
            float want = round_to_bits(wr.t[id][i], bits, min_exp, max_finite), got = wm.t[id][i];
            if (memcmp(&want, &got, 4) != 0)
                fail_msg("%s %s[%lld]: f32 %a -> %a, expected %a", name, ti->name, (long long)i,
                         (double)wr.t[id][i], (double)got, (double)want);
            n_sub += fabsf(got) > 0 && fabsf(got) < 0x1p-14f;
        }
    }
    if (dt == LS_DTYPE_F16) print_message("F16 load: %d subnormal half values checked\n", n_sub);
    ls_model_close(ref);
    ls_model_close(m);
}

static void test_f16_and_bf16_load_as_rounded_f32(void **state) {
    (void)state;
    /* F16: 11 significant bits, normal exponents down to -14, max 65504. */
    check_low_precision(LS_DTYPE_F16, "f16", 11, -14, 65504.0);
    /* BF16: 8 significant bits, float's exponent range. */
    check_low_precision(LS_DTYPE_BF16, "bf16", 8, -126, 3.3895313892515355e38);
}

static void test_prefixed_keys_and_tied_head(void **state) {
    (void)state;
    ls_model *ref = open_ok(g_f32);
    ls_weights w = ls_model_weights(ref);
    int n = ls_tensor_count(&k_cfg);
    ls_st_entry *e = calloc((size_t)n + 1, sizeof *e);
    char (*names)[128] = calloc((size_t)n, sizeof *names);
    assert_non_null(e);
    assert_non_null(names);
    int k = 0;
    for (ls_tensor_id id = 0; id < n; id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(ref, id);
        if (ls_model_tensor_file(ref, id) < 0) continue;
        snprintf(names[k], sizeof names[k], "transformer.%s", ti->name);
        e[k] = (ls_st_entry){.name = names[k], .dtype = LS_DTYPE_F32, .ndim = ti->ndim, .data = w.t[id]};
        e[k].shape[0] = ti->shape[0];
        e[k].shape[1] = ti->shape[1];
        k++;
    }
    e[k] = e[0]; /* a stored copy of the tied head, as some exports write it */
    e[k].name = "lm_head.weight";
    char dir[128], path[300];
    test_path(dir, sizeof dir, g_dir, "prefixed");
    assert_int_equal(mkdir(dir, 0755), 0);
    ls_error err = {{0}};
    test_path(path, sizeof path, dir, "config.json");
    if (ls_config_write(&k_cfg, path, &err) != 0) fail_msg("%s", err.msg);
    test_path(path, sizeof path, dir, "model.safetensors");
    if (ls_safetensors_write(path, e, k + 1, NULL, &err) != 0) fail_msg("%s", err.msg);

    ls_model *m = open_ok(dir);
    ls_weights wm = ls_model_weights(m);
    for (ls_tensor_id id = 0, j = 0; id < n; id++) {
        const ls_tensor_info *ti = ls_model_tensor_info(m, id);
        if (ls_model_tensor_file(m, id) < 0) continue;
        assert_string_equal(ti->file_key, names[j]);
        assert_string_equal(ti->name, names[j] + 12);
        assert_memory_equal(wm.t[id], w.t[id], (size_t)ti->n_elems * sizeof(float));
        j++;
    }
    assert_null(ls_model_metadata(m));
    ls_model_close(m);

    /* An lm_head that is not wte: refused (lesion implements the tied head only). */
    float *other = malloc(11 * 8 * sizeof *other);
    assert_non_null(other);
    for (int i = 0; i < 88; i++) other[i] = w.t[LS_EMBED][i] * 2;
    e[k].data = other;
    if (ls_safetensors_write(path, e, k + 1, NULL, &err) != 0) fail_msg("%s", err.msg);
    expect_open_error(dir, "lm_head.weight differs from wte.weight", NULL, NULL);
    free(other);
    free(names);
    free(e);
    ls_model_close(ref);
}

static void test_missing_files(void **state) {
    (void)state;
    char dir[128], path[300];
    make_model("no_weights", &k_cfg, NULL, dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.safetensors");
    assert_int_equal(unlink(path), 0);
    expect_open_error(dir, "model.safetensors", "cannot open", NULL);

    make_model("no_config", &k_cfg, NULL, dir, sizeof dir);
    test_path(path, sizeof path, dir, "config.json");
    assert_int_equal(unlink(path), 0);
    expect_open_error(dir, "config.json", "cannot open", NULL);

    test_path(dir, sizeof dir, g_dir, "no_such_model");
    expect_open_error(dir, "config.json", NULL, NULL);
}

static void test_config_and_file_disagree(void **state) {
    (void)state;
    char dir[128];
    ls_config c = k_cfg;
    /* Config says 3 layers, the file has 2. */
    c.n_layer = 3;
    make_model("more_layers", &k_cfg, &c, dir, sizeof dir);
    expect_open_error(dir, "model.safetensors", "tensor \"h.2.ln_1.weight\" is missing", "n_layer=3");

    /* Config says 1 layer, the file has 2. */
    c.n_layer = 1;
    make_model("fewer_layers", &k_cfg, &c, dir, sizeof dir);
    expect_open_error(dir, "has tensor \"h.1.ln_1.weight\"", "n_layer=1", NULL);

    /* Config's context is 12, the file's wpe has 16 rows. */
    c = k_cfg;
    c.n_ctx = 12;
    make_model("wrong_ctx", &k_cfg, &c, dir, sizeof dir);
    expect_open_error(dir, "tensor \"wpe.weight\" has shape [16, 8]", "config.json implies [12, 8]", NULL);

    /* Config's vocabulary is 12, the file's wte has 11 rows. */
    c = k_cfg;
    c.vocab_size = 12;
    make_model("wrong_vocab", &k_cfg, &c, dir, sizeof dir);
    expect_open_error(dir, "tensor \"wte.weight\" has shape [11, 8]", "[12, 8]", NULL);

    /* Same parameter count per layer would not help: n_embd 8 -> 16 changes every shape. */
    c = k_cfg;
    c.n_embd = 16;
    make_model("wrong_embd", &k_cfg, &c, dir, sizeof dir);
    expect_open_error(dir, "wte.weight", "[11, 8]", "[11, 16]");
}

static void test_integer_dtype_refused(void **state) {
    (void)state;
    char dir[128], path[300];
    make_model("int_dtype", &k_cfg, NULL, dir, sizeof dir);
    test_path(path, sizeof path, dir, "model.safetensors");
    size_t len;
    char *buf = test_read_all(path, &len);
    /* Patch h.0.attn.c_attn.bias's "F32" to "I32": same size, so the file stays well formed. */
    char *key = strstr(buf + 8, "\"h.0.attn.c_attn.bias\"");
    assert_non_null(key);
    char *dt = strstr(key, "\"F32\"");
    assert_non_null(dt);
    dt[1] = 'I';
    test_write_bytes(path, buf, len);
    free(buf);
    expect_open_error(dir, "tensor \"h.0.attn.c_attn.bias\" has dtype I32", "expected F32, F16 or BF16", NULL);
}

/* ---- the committed fixture vs the PyTorch reference ---------------------- */

/* Reads a float32 C-order .npy of shape (rows, cols). */
static float *read_npy_2d(const char *path, int64_t *rows, int64_t *cols) {
    size_t len;
    char *buf = test_read_all(path, &len);
    assert_true(len > 10);
    assert_memory_equal(buf, "\x93NUMPY", 6);
    size_t hl = (size_t)((uint8_t)buf[8] | (uint8_t)buf[9] << 8), at = 10 + hl;
    if (buf[6] != 1) { /* v2/v3: u32 header length */
        hl = (size_t)((uint8_t)buf[8] | (uint8_t)buf[9] << 8 | (uint8_t)buf[10] << 16 | (size_t)(uint8_t)buf[11] << 24);
        at = 12 + hl;
    }
    assert_true(at <= len);
    char *hdr = strndup(buf + 10, at - 10);
    assert_contains(hdr, "'descr': '<f4'");
    assert_contains(hdr, "'fortran_order': False");
    const char *sh = strstr(hdr, "'shape': (");
    assert_non_null(sh);
    long long r, c;
    assert_int_equal(sscanf(sh, "'shape': (%lld, %lld", &r, &c), 2);
    free(hdr);
    assert_int_equal(len - at, (size_t)(r * c) * 4);
    float *out = malloc((size_t)(r * c) * sizeof *out);
    assert_non_null(out);
    memcpy(out, buf + at, (size_t)(r * c) * 4);
    free(buf);
    *rows = r;
    *cols = c;
    return out;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs((double)a[i] - b[i]));
    return mx;
}

static void test_fixture_matches_pytorch_reference(void **state) {
    (void)state;
    if (access(FIXTURE_TINY "/model.safetensors", R_OK) != 0 || access(FIXTURE_TINY "/logits.npy", R_OK) != 0) {
        print_message("skip: %s not found\n", FIXTURE_TINY);
        skip();
    }
    ls_model *m = open_ok(FIXTURE_TINY);
    const ls_config *c = ls_model_config(m);
    int32_t ids[64];
    int T = 0;
    char *text = test_read_all(FIXTURE_TINY "/ids.txt", NULL);
    for (char *p = text, *end; T < 64; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        ids[T++] = (int32_t)v;
    }
    free(text);
    assert_true(T >= 2);

    int64_t rows, cols;
    float *want = read_npy_2d(FIXTURE_TINY "/logits.npy", &rows, &cols);
    assert_int_equal(rows, T);
    assert_int_equal(cols, c->vocab_size);

    ls_state *s;
    ls_error err = {{0}};
    if (ls_state_new(&s, c, 1, T, 1, &err) != 0) fail_msg("%s", err.msg);
    float *got = malloc((size_t)T * (size_t)c->vocab_size * sizeof *got);
    assert_non_null(got);
    ls_weights w = ls_model_weights(m);
    if (ls_forward(s, &w, ids, 1, T, 0, got, LS_LOGITS_ALL, &err) != 0) fail_msg("%s", err.msg);
    double d = max_abs_diff(got, want, rows * cols);
    print_message("tiny-gpt2 clean logits: max |diff| vs PyTorch = %.3g\n", d);
    assert_true(d <= 1e-4);
    free(want);

    /* The same with layer 1, head 1's key columns of c_attn zeroed (C=16, D=8:
     * columns C + 8 .. C + 15), against the reference's attn.k@L1H1 ablation. */
    if (access(FIXTURE_TINY "/logits_zero_attn_k_L1H1.npy", R_OK) == 0 && c->n_layer >= 2 && c->n_head == 2) {
        const int C = c->n_embd, D = C / c->n_head;
        ls_tensor_id id = ls_layer_tensor(1, LS_QKV_W);
        float *wk = malloc((size_t)C * 3 * C * sizeof *wk);
        assert_non_null(wk);
        memcpy(wk, w.t[id], (size_t)C * 3 * C * sizeof *wk);
        for (int r = 0; r < C; r++)
            for (int k = C + D; k < C + 2 * D; k++) wk[r * 3 * C + k] = 0;
        const float **view = malloc((size_t)ls_tensor_count(c) * sizeof *view);
        assert_non_null(view);
        memcpy(view, w.t, (size_t)ls_tensor_count(c) * sizeof *view);
        view[id] = wk;
        ls_weights lw = {.cfg = c, .t = view};
        if (ls_forward(s, &lw, ids, 1, T, 0, got, LS_LOGITS_ALL, &err) != 0) fail_msg("%s", err.msg);
        want = read_npy_2d(FIXTURE_TINY "/logits_zero_attn_k_L1H1.npy", &rows, &cols);
        d = max_abs_diff(got, want, rows * cols);
        print_message("tiny-gpt2 attn.k@L1H1 zeroed: max |diff| vs PyTorch = %.3g\n", d);
        assert_true(d <= 1e-4);
        free(want);
        free(view);
        free(wk);
    }
    free(got);
    ls_state_free(s);
    ls_model_close(m);
}

/* KiB of path's file mapped into this process and resident (its VMAs' Rss in /proc/self/smaps). */
static long mapped_kib(const char *path) {
    char want[PATH_MAX], line[PATH_MAX + 128];
    if (!realpath(path, want)) fail_msg("realpath %s", path);
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) fail_msg("cannot read /proc/self/smaps");
    long total = 0, kib;
    int in_file = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        size_t n = strlen(line), w = strlen(want);
        if (strchr(line, '-') == line + strspn(line, "0123456789abcdef") && line[0] != 0)
            in_file = n >= w && strcmp(line + n - w, want) == 0; /* a VMA's header line */
        else if (in_file && sscanf(line, "Rss: %ld kB", &kib) == 1)
            total += kib;
    }
    fclose(f);
    return total;
}

/* After ls_model_store_bf16, reading what the forward pass reads in fp32
 * (the vectors: biases, norms, wpe) maps nothing of the file beyond the
 * pages at tensors' edges: the vectors are private copies, and the
 * matrices' fp32 pages are handed back. Reading a vector in the mapping
 * used to map the large page-cache folio around it, pieces of the
 * neighbouring matrices included (Linux 6.18: 2-3 MiB per matrix). */
static void test_bf16_store_releases_the_file(void **state) {
    (void)state;
    char dir[128], file[160];
    const ls_config cfg = ls_config_gpt2(2, 4, 512, 64, 4096); /* 31 MiB of fp32: wte 8 MiB, c_fc 4 MiB */
    make_model("bf16_release", &cfg, NULL, dir, sizeof dir);
    test_path(file, sizeof file, dir, "model.safetensors");
    ls_model *m = open_ok(dir);
    ls_error err = {{0}};
    if (ls_model_store_bf16(m, &err) != 0) fail_msg("%s", err.msg);
    ls_weights w = ls_model_weights(m);
    double sum = 0;
    for (ls_tensor_id id = 0; id < ls_tensor_count(&cfg); id++) {
        if (ls_tensor_is_matrix(&cfg, id) || !w.t[id]) continue;
        for (int64_t i = 0; i < ls_model_tensor_info(m, id)->n_elems; i++) sum += w.t[id][i];
    }
    assert_true(isfinite(sum));
    const long kib = mapped_kib(file), tensors = ls_tensor_count(&cfg);
    if (kib > 8 * tensors + 64) /* two partial pages per tensor, and the header */
        fail_msg("%ld KiB of %s still resident after bf16 storage (expected at most %ld)", kib, file,
                 8 * tensors + 64);
    ls_model_close(m);
}

int main(void) {
    k_cfg = ls_config_gpt2(2, 2, 8, 16, 11);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_config_count_and_infos),
        cmocka_unit_test(test_weights_follow_gpt2_init),
        cmocka_unit_test(test_init_is_deterministic_in_seed),
        cmocka_unit_test(test_f16_and_bf16_load_as_rounded_f32),
        cmocka_unit_test(test_prefixed_keys_and_tied_head),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_config_and_file_disagree),
        cmocka_unit_test(test_integer_dtype_refused),
        cmocka_unit_test(test_fixture_matches_pytorch_reference),
        cmocka_unit_test(test_bf16_store_releases_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
