/* test_sweep.c: proves the sweep's library pieces:
 *  - plans: cumulative, reverse, single, heads and dims over all layers or
 *    the ones listed (--layers 0,2-3), with the labels and specs expected,
 *    and one-line errors for a target with a selector, a model-wide target
 *    outside dims, heads of a component without heads;
 *  - plan files: comments and blank lines skipped; a NUL byte, a bad spec, a
 *    configuration listed twice (in any spec order) and two overlapping
 *    specs on one line (attn.q@L1;attn.q@L1, wte;wte.out) are errors naming
 *    the file and line, the last two accepted with allow_duplicates;
 *  - activation interventions in plan files (ablate:, ablate-mean:,
 *    ablate-resample:): mixed with specs, compared in canonical form for
 *    duplicates; an unknown site, a layer or head out of range, patch:,
 *    mean of attn.pattern and an unknown "word:" item name file and line;
 *  - identity: a record of the same inputs has the same identity; editing
 *    the eval text, the model weights, the prompts or the plan at the same
 *    path is seen and named; the stamps let an unchanged file skip hashing;
 *  - the output folder: an empty folder is used, the same sweep resumed, a
 *    different one, a folder of other files, and a results.jsonl that is a
 *    symbolic link are refused (force moves the old files aside, the link's
 *    target untouched); a second open of a locked folder fails, force or not. */
#include "test_util.h"

#include <cJSON.h>
#include <dirent.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

static ls_config k_cfg; /* GPT-2: 4 layers, 2 heads, C 16, context 64, V 300 (set in main) */

static void expect_plan(const ls_plan_request *req, int n, const char *const *labels, const char *const *specs) {
    ls_plan p;
    ls_error err = {{0}};
    if (ls_plan_build(&p, &k_cfg, req, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(p.n, n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(p.labels[i], labels[i]);
        assert_string_equal(p.specs[i], specs[i]);
    }
    ls_plan_free(&p);
}

static void test_plans(void **state) {
    (void)state;
    expect_plan(&(ls_plan_request){0}, 5, (const char *[]){"clean", "L0", "L0-1", "L0-2", "L0-3"},
                (const char *[]){"", "attn.q@L0", "attn.q@L0-1", "attn.q@L0-2", "attn.q@L0-3"});
    expect_plan(&(ls_plan_request){.name = "cumulative", .target = "mlp.fc", .layers = "0,2-3"}, 4,
                (const char *[]){"clean", "L0", "L0,2", "L0,2-3"},
                (const char *[]){"", "mlp.fc@L0", "mlp.fc@L0,2", "mlp.fc@L0,2-3"});
    expect_plan(&(ls_plan_request){.name = "reverse", .layers = "1-2"}, 3, (const char *[]){"clean", "L2", "L1-2"},
                (const char *[]){"", "attn.q@L2", "attn.q@L1-2"});
    expect_plan(&(ls_plan_request){.name = "single", .target = "ln2", .layers = "3"}, 2, (const char *[]){"clean", "L3"},
                (const char *[]){"", "ln2@L3"});
    expect_plan(&(ls_plan_request){.name = "heads", .target = "attn.k", .layers = "1,3"}, 5,
                (const char *[]){"clean", "L1H0", "L1H1", "L3H0", "L3H1"},
                (const char *[]){"", "attn.k@L1H0", "attn.k@L1H1", "attn.k@L3H0", "attn.k@L3H1"});
    expect_plan(&(ls_plan_request){.name = "dims", .target = "wte", .dim_block = 6}, 4,
                (const char *[]){"clean", "D0-5", "D6-11", "D12-15"},
                (const char *[]){"", "wte@D0-5", "wte@D6-11", "wte@D12-15"});
    expect_plan(&(ls_plan_request){.name = "dims", .target = "mlp.proj", .layers = "2", .dim_block = 16}, 2,
                (const char *[]){"clean", "L2D0-15"}, (const char *[]){"", "mlp.proj@L2D0-15"});
    ls_plan p;
    ls_error err = {{0}};
    assert_int_equal(ls_plan_build(&p, &k_cfg, &(ls_plan_request){.name = "heads", .layers = "1,3"}, &err), 0);
    assert_int_equal(p.grid_rows, 2);
    assert_int_equal(p.grid_cols, 2);
    assert_int_equal(p.grid_layers[1], 3);
    ls_plan_free(&p);
    static const struct {
        ls_plan_request req;
        const char *needle;
    } bad[] = {
        {{.name = "heads", .target = "attn.q@L0"}, "choose layers with --layers"},
        {{.name = "cumulative", .target = "wte"}, "model-wide"},
        {{.name = "heads", .target = "mlp.fc"}, "needs a component with heads"},
        {{.name = "dims", .target = "attn.q"}, "needs a component with dims"},
        {{.name = "single", .layers = "4"}, "layer 4 out of range"},
        {{.name = "dims", .target = "wte", .layers = "0"}, "takes no layers"},
        {{.name = "spiral"}, "unknown"},
        {{.target = "attn.x"}, "unknown component"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(ls_plan_build(&p, &k_cfg, &bad[i].req, &err), -1);
        assert_contains(err.msg, bad[i].needle);
        assert_null(strchr(err.msg, '\n'));
    }

    /* Grouped-query attention: a heads plan of attn.k or attn.v walks the
     * key/value heads, of attn.q the query heads; parts the family lacks
     * are refused with what it has. */
    ls_config gqa = {.arch = LS_ARCH_LLAMA, .n_layer = 2, .n_head = 4, .n_kv_head = 2, .n_embd = 32, .n_ff = 64,
                     .n_ctx = 64, .vocab_size = 300, .ln_eps = 1e-5f};
    ls_config_derive(&gqa);
    assert_int_equal(ls_plan_build(&p, &gqa, &(ls_plan_request){.name = "heads", .target = "attn.v", .layers = "1"}, &err), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.grid_cols, 2);
    assert_string_equal(p.specs[2], "attn.v@L1H1");
    ls_plan_free(&p);
    assert_int_equal(ls_plan_build(&p, &gqa, &(ls_plan_request){.name = "heads", .layers = "1"}, &err), 0);
    assert_int_equal(p.grid_cols, 4);
    assert_string_equal(p.specs[4], "attn.q@L1H3");
    ls_plan_free(&p);
    assert_int_equal(ls_plan_build(&p, &gqa, &(ls_plan_request){.target = "mlp.fc"}, &err), -1);
    assert_contains(err.msg, "a llama model has no such part (it has: attn.q, attn.k");
    assert_contains(err.msg, "mlp.gate");
}

static int parse_text(ls_plan *p, const char *text, size_t len, int allow, ls_error *err) {
    return ls_plan_parse_file(p, &k_cfg, "plan.txt", text, len, allow, err);
}

static void expect_file_error(const char *text, size_t len, const char *needle) {
    ls_plan p;
    ls_error err = {{0}};
    assert_int_equal(parse_text(&p, text, len, 0, &err), -1);
    assert_contains(err.msg, needle);
}

static void test_plan_files(void **state) {
    (void)state;
    const char *ok = "# layers\n\nattn.q@L0 ; mlp.fc@L1  # two\r\n  wte.in@D0-3\n";
    ls_plan p;
    ls_error err = {{0}};
    if (parse_text(&p, ok, strlen(ok), 0, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.kind, LS_PLAN_FILE);
    assert_string_equal(p.labels[1], "attn.q@L0 ; mlp.fc@L1");
    assert_string_equal(p.specs[2], "wte.in@D0-3");
    ls_plan_free(&p);
    expect_file_error("attn.q@L0\nattn.q@L0\0mlp.fc@L1\n", 30, "plan.txt:2: NUL byte");
    expect_file_error("attn.q@L0\n\nattn.q@L9\n", 21, "plan.txt:3: lesion spec \"attn.q@L9\": layer 9 out of range");
    expect_file_error("attn.q@L0;mlp.fc@L1\nmlp.fc@L1 ; attn.q@L0\n", 41, "plan.txt:2: the same configuration as line 1");
    expect_file_error("attn.q@L1;attn.q@L1\n", 20, "plan.txt:1: attn.q@L1 and attn.q@L1 lesion the same weights");
    expect_file_error("attn.q@L0-2;attn.q@L2H1\n", 24, "lesion the same weights");
    expect_file_error("wte@D0-3;wte.out@D3\n", 20, "wte@D0-3 and wte.out@D3 lesion the same weights");
    expect_file_error("# nothing\n", 10, "no configurations");
    /* Not overlapping: different heads, the two halves of wte. */
    const char *fine = "attn.q@L1H0;attn.q@L1H1\nwte.in@D0;wte.out@D0\n";
    assert_int_equal(parse_text(&p, fine, strlen(fine), 0, &err), 0);
    ls_plan_free(&p);
    const char *dup = "attn.q@L1;attn.q@L1\nattn.q@L0\nattn.q@L0\n";
    assert_int_equal(parse_text(&p, dup, strlen(dup), 1, &err), 0);
    assert_int_equal(p.n, 4);
    ls_plan_free(&p);
}

static void test_plan_file_interventions(void **state) {
    (void)state;
    const char *ok = "ablate:attn.z@L1H1\nattn.q@L3; ablate-mean:resid_post@L0P5\nablate-resample:mlp.out@all\n";
    ls_plan p;
    ls_error err = {{0}};
    if (parse_text(&p, ok, strlen(ok), 0, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(p.n, 4);
    assert_string_equal(p.specs[2], "attn.q@L3; ablate-mean:resid_post@L0P5");
    ls_plan_free(&p);
    ls_site_spec where;
    ls_act_op op;
    assert_int_equal(ls_plan_intervention(&k_cfg, "ablate-mean:attn.z@L1H1", &where, &op, &err), 1);
    assert_int_equal(op, LS_ACT_MEAN);
    assert_int_equal(where.site, LS_SITE_ATTN_Z);
    char buf[128];
    ls_plan_intervention_format(&where, op, buf, sizeof buf);
    assert_string_equal(buf, "ablate-mean:attn.z@L1H1");
    assert_int_equal(ls_plan_intervention(&k_cfg, "attn.q@L1", &where, &op, &err), 0);
    /* Canonical comparison: the same items in another order, another spelling of the layers. */
    expect_file_error("ablate:attn.z@L1H1;attn.q@L0\nattn.q@L0 ablate:attn.z@L1H1\n", 58,
                      "plan.txt:2: the same configuration as line 1");
    expect_file_error("attn.q@L0\nablate:attn.zz@L1\n", 28, "plan.txt:2: ablate: site \"attn.zz@L1\": unknown name");
    expect_file_error("ablate:attn.z@L4\n", 17, "plan.txt:1: ablate: site \"attn.z@L4\": layer 4 out of range");
    expect_file_error("ablate:attn.z@L0H2\n", 19, "plan.txt:1: ablate: site \"attn.z@L0H2\": head 2 out of range");
    expect_file_error("ablate:attn.z\n", 14, "plan.txt:1: ablate: site \"attn.z\": attn.z needs a layer selector");
    expect_file_error("patch:resid_pre@L0\n", 19, "plan.txt:1: patch:resid_pre@L0: patching is not supported in a sweep");
    expect_file_error("ablate-mean:attn.pattern@L0\n", 28, "attn.pattern can only be zero-ablated");
    expect_file_error("zero:attn.z@L0\n", 15, "plan.txt:1: \"zero:attn.z@L0\": unknown item");
}

/* ---- identity ------------------------------------------------------------------ */

static char g_model[300], g_eval[300];

static void make_inputs(void) {
    test_path(g_model, sizeof g_model, g_dir, "model");
    assert_int_equal(mkdir(g_model, 0755), 0);
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors", g_model), test_write_text(p, "weights v1");
    snprintf(p, sizeof p, "%s/config.json", g_model), test_write_text(p, "{}");
    snprintf(p, sizeof p, "%s/vocab.json", g_model), test_write_text(p, "{}");
    snprintf(p, sizeof p, "%s/merges.txt", g_model), test_write_text(p, "#\n");
    test_path(g_eval, sizeof g_eval, g_dir, "eval.txt");
    test_write_text(g_eval, "In the beginning");
}

static const char *const k_prompts[] = {"And God said", "In the beginning"};

static cJSON *record(const ls_plan *p, const char *const *prompts, const cJSON *old) {
    ls_sweep_inputs in = {.model_dir = g_model, .weights = "f32", .eval_path = g_eval, .prompts = prompts,
                          .n_prompts = 2, .plan = p, .target = "attn.q", .mode = "gauss", .match = "tensor",
                          .rng = "philox", .lesion_seed = 0, .n_seeds = 3, .eval_tokens = 128, .ctx = 64,
                          .gen_tokens = 8, .command = "lesion sweep"};
    ls_error err = {{0}};
    cJSON *r = ls_sweep_record_new(&in, old, &err);
    if (!r) fail_msg("%s", err.msg);
    return r;
}

static void expect_diff(const cJSON *a, const cJSON *b, const char *needle) {
    char why[600];
    assert_int_equal(ls_sweep_record_diff(a, b, why, sizeof why), 1);
    assert_contains(why, needle);
}

static void test_identity(void **state) {
    (void)state;
    make_inputs();
    ls_plan p, q;
    ls_error err = {{0}};
    assert_int_equal(ls_plan_build(&p, &k_cfg, &(ls_plan_request){0}, &err), 0);
    cJSON *a = record(&p, k_prompts, NULL), *b = record(&p, k_prompts, a);
    char why[600];
    assert_int_equal(ls_sweep_record_diff(a, b, why, sizeof why), 0);
    assert_int_equal(ls_sweep_record_rows(a), 1 + 4 * 3);
    /* The eval text edited at the same path. */
    test_write_text(g_eval, "In the beginning God");
    cJSON *c = record(&p, k_prompts, a);
    expect_diff(a, c, "the eval text changed");
    expect_diff(a, c, g_eval);
    /* The weights rewritten, same size. */
    char w[400];
    snprintf(w, sizeof w, "%s/model.safetensors", g_model);
    test_write_text(w, "weights v2");
    cJSON *d = record(&p, k_prompts, c);
    expect_diff(c, d, "the model weights changed");
    /* Prompts and plan. */
    const char *const other[] = {"And God said", "Let there be"};
    cJSON *e = record(&p, other, d);
    expect_diff(d, e, "the prompts changed");
    assert_int_equal(ls_plan_build(&q, &k_cfg, &(ls_plan_request){.target = "mlp.fc"}, &err), 0);
    cJSON *f = record(&q, k_prompts, d);
    expect_diff(d, f, "the plan's lesion specs changed: item 1 was \"attn.q@L0\", now \"mlp.fc@L0\"");
    /* An older record (no format): refused with the reason. */
    cJSON *old = cJSON_Parse("{\"model\":\"m\",\"plan\":\"cumulative\"}");
    expect_diff(old, d, "older lesion");
    /* A stamp reused: an unchanged file's recorded hash is trusted, not recomputed
     * (seen by planting a wrong hash beside the right stamp). */
    cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "inputs"), "files"), *fe;
    cJSON_ArrayForEach(fe, files)
        if (strstr(cJSON_GetObjectItemCaseSensitive(fe, "path")->valuestring, "model.safetensors"))
            cJSON_ReplaceItemInObject(fe, "hash", cJSON_CreateString("0123456789abcdef"));
    cJSON *g = record(&p, k_prompts, d);
    const cJSON *wh = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g, "identity"), "model"), "weights_hash");
    assert_string_equal(wh->valuestring, "0123456789abcdef");
    cJSON *objs[] = {a, b, c, d, e, f, g, old};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) cJSON_Delete(objs[i]);
    ls_plan_free(&p);
    ls_plan_free(&q);
}

/* ---- the output folder ------------------------------------------------------------- */

static int count_entries(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return n;
}

static void test_output_folder(void **state) {
    (void)state;
    make_inputs();
    ls_plan p;
    ls_error err = {{0}};
    assert_int_equal(ls_plan_build(&p, &k_cfg, &(ls_plan_request){0}, &err), 0);
    cJSON *r1 = record(&p, k_prompts, NULL);
    const char *const other[] = {"x", "y"};
    cJSON *r2 = record(&p, other, NULL);
    char out[300], path[4400];
    test_path(out, sizeof out, g_dir, "out");
    ls_sweep_dir *d = NULL, *d2 = NULL;
    ls_sweep_dir_outcome o;
    /* new folder: used; then locked against a second writer, force or not */
    assert_int_equal(ls_sweep_dir_open(&d, out, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 0, &o, &err), 0);
    assert_false(o.resumed);
    assert_int_equal(ls_sweep_dir_open(&d2, out, &err), -1);
    assert_contains(err.msg, "another process is writing to it");
    ls_store *st;
    int dropped;
    assert_int_equal(ls_sweep_dir_store(d, &st, &dropped, &err), 0);
    assert_int_equal(ls_store_append(st, "c0-s0", "{\"key\":\"c0-s0\"}", &err), 0);
    ls_store_close(st);
    ls_sweep_dir_close(d);
    /* same sweep: resumed */
    assert_int_equal(ls_sweep_dir_open(&d, out, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 0, &o, &err), 0);
    assert_true(o.resumed);
    ls_sweep_dir_close(d);
    /* a different sweep: refused (a usage error), then with force moved aside */
    assert_int_equal(ls_sweep_dir_open(&d, out, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r2, 0, &o, &err), -1);
    assert_true(o.refused);
    assert_contains(err.msg, "holds a different sweep: the prompts changed");
    assert_int_equal(ls_sweep_dir_prepare(d, r2, 1, &o, &err), 0);
    assert_contains(o.moved_to, "/replaced-");
    snprintf(path, sizeof path, "%s/results.jsonl", o.moved_to);
    assert_int_equal(access(path, F_OK), 0); /* the old rows, kept */
    snprintf(path, sizeof path, "%s/results.jsonl", out);
    assert_int_equal(access(path, F_OK), -1); /* not mixed with the new sweep */
    assert_int_equal(count_entries(out, "replaced-"), 1);
    ls_sweep_dir_close(d);

    /* a folder of other files */
    char foreign[300];
    test_path(foreign, sizeof foreign, g_dir, "foreign");
    assert_int_equal(mkdir(foreign, 0755), 0);
    snprintf(path, sizeof path, "%s/results.jsonl", foreign);
    test_write_text(path, "{\"key\":\"theirs\"}\n");
    assert_int_equal(ls_sweep_dir_open(&d, foreign, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 0, &o, &err), -1);
    assert_true(o.refused);
    assert_contains(err.msg, "without sweep.json");
    ls_sweep_dir_close(d);
    char *t = test_read_all(path, NULL);
    assert_string_equal(t, "{\"key\":\"theirs\"}\n"); /* untouched */
    free(t);
    snprintf(path, sizeof path, "%s/notes.txt", foreign);
    test_write_text(path, "mine");
    assert_int_equal(ls_sweep_dir_open(&d, foreign, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 0, &o, &err), -1);
    assert_contains(err.msg, "not a lesion sweep");
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 1, &o, &err), 0); /* force: lesion's names moved, notes.txt stays */
    assert_int_equal(access(path, F_OK), 0);
    ls_sweep_dir_close(d);

    /* results.jsonl as a symbolic link */
    char linked[300], target[300];
    test_path(linked, sizeof linked, g_dir, "linked");
    test_path(target, sizeof target, g_dir, "target.jsonl");
    test_write_text(target, "precious\n");
    assert_int_equal(mkdir(linked, 0755), 0);
    snprintf(path, sizeof path, "%s/results.jsonl", linked);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(ls_sweep_dir_open(&d, linked, &err), 0);
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 0, &o, &err), -1);
    assert_contains(err.msg, "results.jsonl is a symbolic link");
    assert_int_equal(ls_sweep_dir_prepare(d, r1, 1, &o, &err), 0);
    assert_int_equal(ls_sweep_dir_store(d, &st, &dropped, &err), 0);
    assert_int_equal(ls_store_append(st, "c0-s0", "{\"key\":\"c0-s0\"}", &err), 0);
    ls_store_close(st);
    ls_sweep_dir_close(d);
    t = test_read_all(target, NULL);
    assert_string_equal(t, "precious\n");
    free(t);
    cJSON_Delete(r1);
    cJSON_Delete(r2);
    ls_plan_free(&p);
}

int main(void) {
    k_cfg = ls_config_gpt2(4, 2, 16, 64, 300);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans),
        cmocka_unit_test(test_plan_files),
        cmocka_unit_test(test_plan_file_interventions),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_folder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
