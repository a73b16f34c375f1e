/* test_store.c: proves that the results store keeps every appended row
 * across reopening; that a torn last line (no newline, or half a JSON
 * object, or a line without a "key") is dropped and reported by its line
 * number, the rows before it are intact, and the file is truncated so that
 * the next append leaves a valid file; that a bad line with rows after it is
 * an error naming the line, with nothing cut; that a results file that is a
 * symbolic link or a FIFO is refused (the link's target untouched, no hang);
 * that ls_store_read reads a store another handle holds locked, ignoring
 * (not cutting) a torn last line; that a key stored twice is kept once (the first row);
 * and that failures (unopenable path, a write cut short by the file-size
 * limit, a write refused outright) return a message naming the file and
 * leave a valid file behind. */
#include "test_util.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **state) {
    (void)state;
    test_tmpdir(g_dir, sizeof g_dir);
    /* Writes past RLIMIT_FSIZE raise SIGXFSZ; we want the EFBIG / short write instead. */
    signal(SIGXFSZ, SIG_IGN);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_rmtree(g_dir);
    return 0;
}

static ls_store *open_ok(const char *path, int *dropped) {
    ls_store *s = NULL;
    ls_error err = {{0}};
    if (ls_store_open(&s, path, dropped, &err) != 0) fail_msg("%s", err.msg);
    return s;
}

static void append_ok(ls_store *s, const char *key, const char *row) {
    ls_error err = {{0}};
    if (ls_store_append(s, key, row, &err) != 0) fail_msg("%s", err.msg);
}

static const char *const k_rows[3] = {
    "{\"key\":\"c0/s0\",\"config\":0,\"seed_index\":0,\"kl\":0}",
    "{\"key\":\"c1/s0\",\"config\":1,\"seed_index\":0,\"kl\":0.25,\"samples\":[\"a \\\"quoted\\\" line\"]}",
    "{\"key\":\"c1/s1\",\"config\":1,\"seed_index\":1,\"kl\":0.5}",
};
static const char *const k_keys[3] = {"c0/s0", "c1/s0", "c1/s1"};

static void test_append_and_reopen(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "results.jsonl");
    int dropped = -1;
    ls_store *s = open_ok(path, &dropped); /* does not exist yet: created empty */
    assert_int_equal(dropped, 0);
    assert_int_equal(ls_store_count(s), 0);
    assert_false(ls_store_has(s, "c0/s0"));
    for (int i = 0; i < 3; i++) append_ok(s, k_keys[i], k_rows[i]);
    assert_int_equal(ls_store_count(s), 3);
    assert_true(ls_store_has(s, "c1/s0"));
    assert_false(ls_store_has(s, "c2/s0"));
    ls_store_close(s);

    /* The file is exactly the rows, one per line. */
    char want[1024] = "";
    for (int i = 0; i < 3; i++) strcat(strcat(want, k_rows[i]), "\n");
    char *text = test_read_all(path, NULL);
    assert_string_equal(text, want);
    free(text);

    s = open_ok(path, &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(ls_store_count(s), 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(ls_store_row(s, i), k_rows[i]);
        assert_true(ls_store_has(s, k_keys[i]));
    }
    /* Appending after a reopen continues the file. */
    append_ok(s, "c2/s0", "{\"key\":\"c2/s0\"}");
    ls_store_close(s);
    s = open_ok(path, &dropped);
    assert_int_equal(ls_store_count(s), 4);
    assert_string_equal(ls_store_row(s, 3), "{\"key\":\"c2/s0\"}");
    ls_store_close(s);
    ls_store_close(NULL);
}

/* Writes two good rows plus `tail`, opens, and checks the tail is dropped and appending repairs. */
static void check_torn_tail(const char *name, const char *tail) {
    char path[256];
    test_path(path, sizeof path, g_dir, name);
    char good[1024] = "";
    strcat(strcat(good, k_rows[0]), "\n");
    strcat(strcat(good, k_rows[1]), "\n");
    char all[2048];
    snprintf(all, sizeof all, "%s%s", good, tail);
    test_write_text(path, all);

    int dropped = -1;
    ls_store *s = open_ok(path, &dropped);
    if (dropped != 3) fail_msg("%s: tail \"%s\" was not reported as dropped line 3 (got %d)", name, tail, dropped);
    assert_int_equal(ls_store_count(s), 2);
    assert_string_equal(ls_store_row(s, 0), k_rows[0]);
    assert_string_equal(ls_store_row(s, 1), k_rows[1]);
    assert_false(ls_store_has(s, "c1/s1"));
    /* The file was truncated to the good rows. */
    size_t len;
    char *text = test_read_all(path, &len);
    assert_string_equal(text, good);
    free(text);

    append_ok(s, k_keys[2], k_rows[2]);
    ls_store_close(s);
    text = test_read_all(path, &len);
    char want[2048];
    snprintf(want, sizeof want, "%s%s\n", good, k_rows[2]);
    assert_string_equal(text, want);
    free(text);
    s = open_ok(path, &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(ls_store_count(s), 3);
    assert_string_equal(ls_store_row(s, 2), k_rows[2]);
    ls_store_close(s);
}

static void test_torn_last_line_is_dropped(void **state) {
    (void)state;
    check_torn_tail("no_newline.jsonl", "{\"key\":\"c1/s1\",\"config\":1,\"seed_index\":1,\"kl\":0.5}");
    check_torn_tail("half_json.jsonl", "{\"key\":\"c1/s1\",\"conf");
    check_torn_tail("half_json_nl.jsonl", "{\"key\":\"c1/s1\",\"conf\n");
    check_torn_tail("no_key.jsonl", "{\"config\":1}\n");
    check_torn_tail("one_byte.jsonl", "{");
    check_torn_tail("empty_line.jsonl", "\n");
}

static void test_bad_middle_line_is_an_error(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "middle.jsonl");
    char text[2048];
    snprintf(text, sizeof text, "%s\n{\"key\": broken\n%s\n%s\n", k_rows[0], k_rows[1], k_rows[2]);
    test_write_text(path, text);
    ls_store *s = (ls_store *)1;
    int dropped = -1;
    ls_error err = {{0}};
    assert_int_equal(ls_store_open(&s, path, &dropped, &err), -1);
    assert_null(s);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "line 2 is not a lesion row (not JSON)");
    assert_contains(err.msg, "fix or delete line 2");
    char *after = test_read_all(path, NULL);
    assert_string_equal(after, text); /* nothing cut: the rows after it are kept */
    free(after);
    /* The reader refuses it too. */
    assert_int_equal(ls_store_read(&s, path, &dropped, &err), -1);
    assert_contains(err.msg, "line 2");
    /* A NUL-filled line in the middle, as well. */
    snprintf(text, sizeof text, "%s\n", k_rows[0]);
    size_t n = strlen(text);
    memcpy(text + n, "\0\0\0\n", 4);
    snprintf(text + n + 4, sizeof text - n - 4, "%s\n", k_rows[1]);
    test_write_bytes(path, text, n + 4 + strlen(k_rows[1]) + 1);
    assert_int_equal(ls_store_open(&s, path, &dropped, &err), -1);
    assert_contains(err.msg, "line 2 is not a lesion row (NUL bytes)");
}

static void test_links_and_fifos_refused(void **state) {
    (void)state;
    char target[256], link[256], fifo[256];
    test_path(target, sizeof target, g_dir, "elsewhere.txt");
    test_path(link, sizeof link, g_dir, "linked.jsonl");
    test_path(fifo, sizeof fifo, g_dir, "fifo.jsonl");
    test_write_text(target, "precious\n");
    assert_int_equal(symlink(target, link), 0);
    ls_store *s = NULL;
    int dropped;
    ls_error err = {{0}};
    assert_int_equal(ls_store_open(&s, link, &dropped, &err), -1);
    assert_contains(err.msg, "symbolic link");
    assert_int_equal(ls_store_read(&s, link, &dropped, &err), -1);
    char *t = test_read_all(target, NULL);
    assert_string_equal(t, "precious\n");
    free(t);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(ls_store_open(&s, fifo, &dropped, &err), -1); /* returns at once: no writer is waited for */
    assert_contains(err.msg, "not a regular file");
    assert_int_equal(ls_store_read(&s, fifo, &dropped, &err), -1);
    assert_contains(err.msg, "not a regular file");
}

static void test_read_while_locked(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "live.jsonl");
    int dropped;
    ls_store *w = open_ok(path, &dropped), *r = NULL;
    append_ok(w, k_keys[0], k_rows[0]);
    append_ok(w, k_keys[1], k_rows[1]);
    /* a write in progress: half a row at the end */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("{\"key\":\"c9", f);
    fclose(f);
    ls_error err = {{0}};
    int ignored = -1;
    if (ls_store_read(&r, path, &ignored, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(ignored, 3);
    assert_int_equal(ls_store_count(r), 2);
    assert_string_equal(ls_store_row(r, 1), k_rows[1]);
    assert_int_equal(ls_store_append(r, "x", "{\"key\":\"x\"}", &err), -1); /* read-only */
    ls_store_close(r);
    size_t len;
    char *text = test_read_all(path, &len);
    assert_int_equal(len, strlen(k_rows[0]) + strlen(k_rows[1]) + 2 + strlen("{\"key\":\"c9")); /* not cut */
    free(text);
    ls_store_close(w);
}

static void test_duplicate_keys_kept_once(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "dups.jsonl");
    test_write_text(path, "{\"key\":\"a\",\"v\":1}\n{\"key\":\"b\",\"v\":2}\n{\"key\":\"a\",\"v\":3}\n");
    int dropped = -1;
    ls_store *s = open_ok(path, &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(ls_store_count(s), 2);
    assert_string_equal(ls_store_row(s, 0), "{\"key\":\"a\",\"v\":1}");
    assert_string_equal(ls_store_row(s, 1), "{\"key\":\"b\",\"v\":2}");
    ls_store_close(s);
    /* The file itself is left alone: duplicates are harmless, only torn rows are cut. */
    size_t len;
    char *text = test_read_all(path, &len);
    assert_int_equal(len, strlen("{\"key\":\"a\",\"v\":1}\n{\"key\":\"b\",\"v\":2}\n{\"key\":\"a\",\"v\":3}\n"));
    free(text);
}

static void test_open_fails_with_message(void **state) {
    (void)state;
    char path[256];
    ls_error err = {{0}};
    ls_store *s = (ls_store *)1;
    int dropped;
    test_path(path, sizeof path, g_dir, "no/such/dir/results.jsonl");
    assert_int_equal(ls_store_open(&s, path, &dropped, &err), -1);
    assert_null(s);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot open for appending");
    /* A directory is not a results file. */
    assert_int_equal(ls_store_open(&s, g_dir, &dropped, &err), -1);
    assert_contains(err.msg, g_dir);
}

static void test_append_failure_leaves_valid_file(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "limited.jsonl");
    int dropped;
    ls_store *s = open_ok(path, &dropped);
    append_ok(s, k_keys[0], k_rows[0]);
    off_t size = (off_t)strlen(k_rows[0]) + 1;

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    ls_error err = {{0}};

    /* Room for 10 more bytes: the kernel writes part of the row; the store cuts it off again. */
    lim.rlim_cur = (rlim_t)size + 10;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = ls_store_append(s, k_keys[1], k_rows[1], &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot append a row");
    assert_false(ls_store_has(s, k_keys[1]));
    assert_int_equal(ls_store_count(s), 1);

    /* No room at all: the write is refused (EFBIG). */
    lim.rlim_cur = (rlim_t)size;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = ls_store_append(s, k_keys[1], k_rows[1], &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -1);
    assert_contains(err.msg, "cannot append a row");

    /* The file still holds exactly the one good row, and appending works again. */
    size_t len;
    char *text = test_read_all(path, &len);
    assert_int_equal(len, (size_t)size);
    free(text);
    append_ok(s, k_keys[2], k_rows[2]);
    ls_store_close(s);
    s = open_ok(path, &dropped);
    assert_int_equal(dropped, 0);
    assert_int_equal(ls_store_count(s), 2);
    assert_string_equal(ls_store_row(s, 1), k_rows[2]);
    ls_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_reopen),
        cmocka_unit_test(test_torn_last_line_is_dropped),
        cmocka_unit_test(test_duplicate_keys_kept_once),
        cmocka_unit_test(test_bad_middle_line_is_an_error),
        cmocka_unit_test(test_links_and_fifos_refused),
        cmocka_unit_test(test_read_while_locked),
        cmocka_unit_test(test_open_fails_with_message),
        cmocka_unit_test(test_append_failure_leaves_valid_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
