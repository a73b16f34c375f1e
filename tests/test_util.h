/* test_util.h: what the cmocka unit tests share.
 *
 * Tests run from the repository root (tests/run.sh does this), so fixture
 * paths are relative to it. Each test file states at its top what it proves. */
#ifndef LESION_TEST_UTIL_H
#define LESION_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lesion.h>

#define FIXTURE_TINY "tests/fixtures/tiny-gpt2"

/* ---- shared helpers: temp dirs, files, substring asserts ----------------- */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Fails the test unless hay contains needle, printing both. */
#define assert_contains(hay, needle)                                                      \
    do {                                                                                  \
        const char *hay_ = (hay), *needle_ = (needle);                                    \
        if (!hay_ || !strstr(hay_, needle_))                                              \
            fail_msg("\"%s\" does not contain \"%s\"", hay_ ? hay_ : "(null)", needle_); \
    } while (0)

/* A fresh private directory /tmp/lesion-test-XXXXXX; buf needs >= 32 bytes. */
static inline void test_tmpdir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/lesion-test-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static inline int test_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Removes dir and everything under it (does not follow symlinks). */
static inline void test_rmtree(const char *dir) { nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Defines `static char name[64]` and cmocka setup/teardown functions named
 * setup and teardown that give each test a fresh temporary directory in it. */
#define TEST_TMPDIR_FIXTURE(name)                                   \
    static char name[64];                                           \
    static int setup(void **state) {                                \
        (void)state;                                                \
        test_tmpdir(name, sizeof name);                             \
        return 0;                                                   \
    }                                                               \
    static int teardown(void **state) {                             \
        (void)state;                                                \
        test_rmtree(name);                                          \
        return 0;                                                   \
    }

/* buf = dir/name */
static inline void test_path(char *buf, size_t n, const char *dir, const char *name) {
    assert_true((size_t)snprintf(buf, n, "%s/%s", dir, name) < n);
}

/* Writes exactly len bytes to path (plain, non-atomic: tests build bad files). */
static inline void test_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void test_write_text(const char *path, const char *text) { test_write_bytes(path, text, strlen(text)); }

/* Whole file into a malloc'd NUL-terminated buffer (test asserts on failure).
 * Not inlined: gcc 12 then mistakes the result for a pointer to a local. */
__attribute__((unused, noinline)) static char *test_read_all(const char *path, size_t *len) {
    char *data;
    size_t n;
    ls_error err = {{0}};
    if (ls_read_file(path, &data, &n, &err) != 0) fail_msg("%s", err.msg);
    if (len) *len = n;
    return data;
}

/* ---- ISA paths ------------------------------------------------------------ */

/* Runs `stmt` (typically `failed += cmocka_run_group_tests(...)`) once per
 * ISA path of the kernels that this CPU can run, with that path selected,
 * so that every path is tested on any machine able to run it. Paths the
 * CPU cannot run are named as skipped. Leaves the best path selected. */
#define TEST_FOR_EACH_ISA(stmt)                                                                         \
    do {                                                                                                \
        ls_cpu_info cpu_;                                                                               \
        ls_error err_;                                                                                  \
        ls_cpu_detect(&cpu_);                                                                           \
        for (int isa_ = 0; isa_ < LS_ISA_COUNT; isa_++) {                                               \
            if (!ls_isa_supported(&cpu_, (ls_isa)isa_)) {                                               \
                printf("[ SKIPPED  ] ISA path %s: this CPU cannot run it\n", ls_isa_name((ls_isa)isa_)); \
                continue;                                                                               \
            }                                                                                           \
            if (ls_isa_select((ls_isa)isa_, &err_) != 0) {                                              \
                printf("[  FAILED  ] ISA path %s: %s\n", ls_isa_name((ls_isa)isa_), err_.msg);           \
                return 1;                                                                               \
            }                                                                                           \
            printf("[==========] ISA path %s\n", ls_isa_name((ls_isa)isa_));                            \
            fflush(stdout);                                                                             \
            stmt;                                                                                       \
        }                                                                                               \
        ls_isa_select(ls_isa_best(&cpu_), &err_);                                                       \
    } while (0)

#endif
