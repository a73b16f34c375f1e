/* test_sweep_run.c: proves the sweep as a library (include/lesion/sweep.h)
 * on a tiny random GPT-2 (2 layers, 2 heads, C 16, context 64) with the
 * bundled model's tokenizer and 3 KB of its held-out text:
 *  - ls_sweep_open + ls_sweep_run runs every row of a cumulative plan
 *    (1 + 2 configurations x 2 seeds = 5 rows), reporting each through the
 *    progress callback with its index and label; the clean row's KL is 0
 *    exactly and its top-1 agreement 1; ls_sweep_finish writes the outputs;
 *    the summary of the rows in reverse order equals the summary in order;
 *  - opening the same sweep again resumes: 0 rows pending, run calls
 *    progress 0 times, the store is unchanged;
 *  - a cancel callback stops ls_sweep_run between rows (LS_SWEEP_CANCELLED,
 *    the finished rows kept); the resumed run completes, and its rows equal
 *    the uninterrupted run's but for "secs";
 *  - a shard (1/2) runs only the odd rows, into its own folder, and a
 *    folder of another shard is refused as usage;
 *  - a bad target is LS_SWEEP_USAGE before any folder is touched. */
#include "test_util.h"

#include <cJSON.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

#define TOK "models/kjv-gpt2"

static char g_model[128];

/* The tiny model with the bundled tokenizer; 0, or skip when the bundled files are absent. */
static int make_model(void) {
    char src[256], dst[256];
    ls_error err = {{0}};
    if (access(TOK "/vocab.json", R_OK) != 0) return -1;
    test_path(g_model, sizeof g_model, g_dir, "model");
    ls_config cfg = ls_config_gpt2(2, 2, 16, 64, 8192);
    if (ls_model_init_random(&cfg, 7, LS_DTYPE_F32, g_model, &err) != 0) fail_msg("%s", err.msg);
    static const char *const files[] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        size_t len;
        snprintf(src, sizeof src, TOK "/%s", files[i]);
        char *data = test_read_all(src, &len);
        test_path(dst, sizeof dst, g_model, files[i]);
        test_write_bytes(dst, data, len);
        free(data);
    }
    size_t len;
    char *text = test_read_all(TOK "/heldout.txt", &len);
    test_path(dst, sizeof dst, g_model, "heldout.txt");
    test_write_bytes(dst, text, len < 3000 ? len : 3000);
    free(text);
    return 0;
}

typedef struct calls {
    int n, rows[16], done[16], total;
    char labels[16][32];
    int cancel_after; /* cancelled() says yes once n reaches it (0: never) */
} calls;

static void on_row(void *user, int row, int done, int total, const char *label) {
    calls *c = user;
    assert_true(c->n < 16);
    c->rows[c->n] = row;
    c->done[c->n] = done;
    snprintf(c->labels[c->n], sizeof c->labels[0], "%s", label);
    c->total = total;
    c->n++;
}

static int stop(void *user) {
    const calls *c = user;
    return c->cancel_after && c->n >= c->cancel_after;
}

static ls_sweep_options options(const char *out, calls *c) {
    return (ls_sweep_options){.model_dir = g_model, .n_seeds = 2, .eval_tokens = 128, .ctx = 32, .gen_tokens = 4,
                              .out_dir = out, .n_threads = 1, .progress = on_row, .cancelled = stop, .user = c};
}

/* The rows of dir/results.jsonl by key, "secs" removed (a cJSON object of rows). */
static cJSON *rows_of(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    char *text = test_read_all(path, NULL), *save = NULL;
    cJSON *by_key = cJSON_CreateObject();
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *r = cJSON_Parse(line);
        assert_non_null(r);
        cJSON_DeleteItemFromObjectCaseSensitive(r, "secs");
        const char *key = cJSON_GetObjectItemCaseSensitive(r, "key")->valuestring;
        assert_null(cJSON_GetObjectItemCaseSensitive(by_key, key)); /* no key twice */
        cJSON_AddItemToObject(by_key, key, r);
    }
    free(text);
    return by_key;
}

static void test_run_resume_cancel(void **state) {
    (void)state;
    if (make_model() != 0) skip();
    char a[128], b[128];
    test_path(a, sizeof a, g_dir, "A");
    test_path(b, sizeof b, g_dir, "B");
    ls_error err = {{0}};
    ls_sweep *sw;
    calls c = {0};
    ls_sweep_options o = options(a, &c);
    if (ls_sweep_open(&sw, &o, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_sweep_total(sw), 5);
    assert_int_equal(ls_sweep_configs(sw), 3);
    int row, seed;
    ls_sweep_row_of(sw, 4, &row, &seed);
    assert_int_equal(row, 2);
    assert_int_equal(seed, 1);
    assert_int_equal(ls_sweep_run(sw, &err), 0);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.total, 5);
    static const char *const labels[] = {"clean", "L0", "L0", "L0-1", "L0-1"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(c.rows[i], i);
        assert_int_equal(c.done[i], i + 1);
        assert_string_equal(c.labels[i], labels[i]);
    }
    void *summary;
    if (ls_sweep_finish(sw, &summary, &err) != 0) fail_msg("%s", err.msg);
    assert_non_null(summary);
    cJSON_Delete(summary);
    ls_sweep_free(sw);
    char path[256];
    snprintf(path, sizeof path, "%s/report.html", a);
    assert_int_equal(access(path, R_OK), 0);
    /* The summary takes rows in plan order whatever order they were stored in (MPI, resume, merge). */
    snprintf(path, sizeof path, "%s/sweep.json", a);
    char *rec_text = test_read_all(path, NULL);
    cJSON *record = cJSON_Parse(rec_text);
    snprintf(path, sizeof path, "%s/results.jsonl", a);
    char *rows_text = test_read_all(path, NULL), *save = NULL, *lines[8];
    int n_lines = 0;
    for (char *l = strtok_r(rows_text, "\n", &save); l && n_lines < 8; l = strtok_r(NULL, "\n", &save)) lines[n_lines++] = l;
    assert_int_equal(n_lines, 5);
    const char *forward[5], *backward[5];
    for (int i = 0; i < 5; i++) forward[i] = lines[i], backward[i] = lines[4 - i];
    cJSON *s_fwd = ls_sweep_summary_of(record, forward, 5, &err), *s_bwd = ls_sweep_summary_of(record, backward, 5, &err);
    assert_non_null(s_fwd);
    assert_non_null(s_bwd);
    assert_true(cJSON_Compare(s_fwd, s_bwd, 1));
    cJSON_Delete(s_fwd);
    cJSON_Delete(s_bwd);
    cJSON_Delete(record);
    free(rec_text);
    free(rows_text);
    cJSON *ra = rows_of(a);
    assert_int_equal(cJSON_GetArraySize(ra), 5);
    const cJSON *clean = cJSON_GetObjectItemCaseSensitive(ra, "c0-s0");
    assert_true(cJSON_GetObjectItemCaseSensitive(clean, "kl")->valuedouble == 0.0);
    assert_true(cJSON_GetObjectItemCaseSensitive(clean, "top1")->valuedouble == 1.0);

    /* Resume of a finished sweep: nothing to run. */
    c = (calls){0};
    if (ls_sweep_open(&sw, &o, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_sweep_resumed(sw), 1);
    int *pending, n_pending;
    assert_int_equal(ls_sweep_pending(sw, &pending, &n_pending, &err), 0);
    assert_int_equal(n_pending, 0);
    free(pending);
    assert_int_equal(ls_sweep_run(sw, &err), 0);
    assert_int_equal(c.n, 0);
    ls_sweep_free(sw);
    cJSON *again = rows_of(a);
    assert_true(cJSON_Compare(ra, again, 1));
    cJSON_Delete(again);

    /* Cancelled after 2 rows, then resumed: the same rows as A. */
    c = (calls){.cancel_after = 2};
    o = options(b, &c);
    if (ls_sweep_open(&sw, &o, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_sweep_run(sw, &err), LS_SWEEP_CANCELLED);
    int done, total;
    ls_sweep_counts(sw, &done, &total);
    assert_int_equal(done, 2);
    assert_int_equal(total, 5);
    ls_sweep_free(sw);
    c = (calls){0};
    if (ls_sweep_open(&sw, &o, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_sweep_run(sw, &err), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.rows[0], 2);
    ls_sweep_free(sw);
    cJSON *rb = rows_of(b);
    assert_true(cJSON_Compare(ra, rb, 1));
    cJSON_Delete(rb);
    cJSON_Delete(ra);
}

static void test_shard_and_usage(void **state) {
    (void)state;
    if (make_model() != 0) skip();
    char s1[128];
    test_path(s1, sizeof s1, g_dir, "S1");
    ls_error err = {{0}};
    ls_sweep *sw;
    calls c = {0};
    ls_sweep_options o = options(s1, &c);
    o.shard_index = 1;
    o.shard_count = 2;
    if (ls_sweep_open(&sw, &o, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ls_sweep_run(sw, &err), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.rows[0], 1);
    assert_int_equal(c.rows[1], 3);
    assert_int_equal(c.total, 2);
    ls_sweep_free(sw);
    /* Shard 0/2 into shard 1/2's folder: a different scope, refused. */
    o.shard_index = 0;
    assert_int_equal(ls_sweep_open(&sw, &o, &err), LS_SWEEP_USAGE);
    assert_contains(err.msg, "shard");
    assert_null(sw);
    /* A bad target: usage, and no folder made. */
    char bad[128];
    test_path(bad, sizeof bad, g_dir, "bad");
    o = options(bad, &c);
    o.target = "attn.x";
    assert_int_equal(ls_sweep_open(&sw, &o, &err), LS_SWEEP_USAGE);
    assert_contains(err.msg, "unknown component");
    assert_int_not_equal(access(bad, F_OK), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_resume_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_and_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
