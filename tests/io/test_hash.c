/* test_hash.c: proves that lesion's XXH64 gives the known answers of the
 * reference implementation (xxhsum -H1) for "" and "abc" and for lengths that
 * exercise every path (tails of 1-31 bytes, exactly one stripe, many
 * stripes), whether fed at once or in pieces of every size; that
 * ls_hash_file hashes a file's bytes and reports its stamp, which changes
 * when the file is rewritten; and that a FIFO is refused at once by
 * ls_hash_file, ls_file_stamp_of and ls_read_file (no wait for a writer). */
#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

/* byte i = (31 i + 7) mod 256; the values below are xxhsum -H1 of these bytes */
static void pattern(uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i * 31 + 7) % 256);
}

static const struct {
    size_t n;
    uint64_t h;
} k_known[] = {
    {1, 0xa96c7f0ce858bbb7ull},  {4, 0xc60d15b1e3ff8f04ull},   {7, 0xafbefc3d6c6f9a8eull},
    {8, 0x3da5c7aa269683e0ull},  {15, 0xae2a37eb9357caa7ull},  {31, 0x4a74f3a1a39ad4a1ull},
    {32, 0x8d57d6a4671cc43dull}, {33, 0x62c9fd21ed857664ull},  {37, 0x5d71d9fc4b676d9full},
    {100, 0xefa0ad2d3e70c151ull}, {1000, 0x99594f4828043d35ull}, {1000003, 0x857fbf0ff5d9fcfcull},
};

static void test_known_answers(void **state) {
    (void)state;
    assert_true(ls_hash64("", 0, 0) == 0xef46db3751d8e999ull);
    assert_true(ls_hash64("abc", 3, 0) == 0x44bc2cf5ad770999ull);
    uint8_t *p = malloc(1000003);
    assert_non_null(p);
    pattern(p, 1000003);
    for (size_t k = 0; k < sizeof k_known / sizeof k_known[0]; k++) {
        uint64_t h = ls_hash64(p, k_known[k].n, 0);
        if (h != k_known[k].h) fail_msg("%zu bytes: %016llx, expected %016llx", k_known[k].n, (unsigned long long)h,
                                        (unsigned long long)k_known[k].h);
        /* streamed in pieces of every size from 1 to 70 bytes: the same */
        if (k_known[k].n > 5000) continue;
        for (size_t piece = 1; piece <= 70; piece++) {
            ls_hasher st;
            ls_hash_init(&st, 0);
            for (size_t at = 0; at < k_known[k].n; at += piece)
                ls_hash_update(&st, p + at, at + piece <= k_known[k].n ? piece : k_known[k].n - at);
            assert_true(ls_hash_final(&st) == k_known[k].h);
        }
    }
    free(p);
}

static void test_hash_file_and_stamp(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "f.bin");
    uint8_t p[1000];
    pattern(p, 1000);
    test_write_bytes(path, p, 1000);
    ls_file_stamp a, b, c;
    uint64_t h;
    ls_error err = {{0}};
    if (ls_hash_file(path, &a, &h, &err) != 0) fail_msg("%s", err.msg);
    assert_true(h == 0x99594f4828043d35ull);
    assert_int_equal(a.size, 1000);
    assert_int_equal(ls_file_stamp_of(path, &b, &err), 0);
    assert_true(ls_file_stamp_equal(&a, &b));
    p[500] ^= 1; /* same size, one bit */
    test_write_bytes(path, p, 1000);
    assert_int_equal(ls_file_stamp_of(path, &c, &err), 0);
    assert_false(ls_file_stamp_equal(&a, &c)); /* ctime moved, whatever mtime says */
    assert_int_equal(ls_hash_file(path, NULL, &h, &err), 0);
    assert_true(h != 0x99594f4828043d35ull);
    test_path(path, sizeof path, g_dir, "missing");
    assert_int_equal(ls_hash_file(path, NULL, &h, &err), -1);
    assert_contains(err.msg, "cannot open");
}

static void test_fifo_refused_at_once(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "fifo");
    assert_int_equal(mkfifo(path, 0644), 0);
    ls_error err = {{0}};
    uint64_t h;
    ls_file_stamp st;
    char *data;
    size_t len;
    alarm(10); /* a hang fails the test (SIGALRM) instead of blocking the suite */
    assert_int_equal(ls_hash_file(path, &st, &h, &err), -1);
    assert_contains(err.msg, "not a regular file");
    assert_int_equal(ls_file_stamp_of(path, &st, &err), -1);
    assert_int_equal(ls_read_file(path, &data, &len, &err), -1);
    assert_contains(err.msg, "not a regular file");
    alarm(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test_setup_teardown(test_hash_file_and_stamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
