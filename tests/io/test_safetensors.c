/* test_safetensors.c: proves that the safetensors reader accepts a valid file
 * and reads its bytes back exactly, that it rejects every kind of malformed
 * file (too short, header length past the end, header not JSON or not an
 * object, unknown dtype, shape/offset size mismatch, offsets outside the
 * data, overlap, gap, uncovered trailing bytes, negative / fractional /
 * overflowing shapes) with a message naming the file and the problem, and
 * that the writer round-trips F32 exactly and F16/BF16 with IEEE
 * round-to-nearest-even (bit patterns checked), with an 8-byte aligned header.
 *
 * Files are built byte by byte in a private temp dir. */
#include "test_util.h"

#include "io/safetensors.h"

#include <cJSON.h>
#include <math.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

/* Writes u64 LE len(header) + header + data to dir/name; returns the path. */
static const char *write_st(const char *name, const char *header, const void *data, size_t data_len) {
    static char path[256];
    test_path(path, sizeof path, g_dir, name);
    size_t hlen = strlen(header);
    uint8_t *buf = malloc(8 + hlen + data_len + 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (data_len) memcpy(buf + 8 + hlen, data, data_len);
    test_write_bytes(path, buf, 8 + hlen + data_len);
    free(buf);
    return path;
}

/* Opens a file that must be rejected; checks the message names path and problem. */
static void expect_reject(const char *path, const char *problem) {
    ls_st_file f;
    ls_error err = {{0}};
    assert_int_equal(ls_st_open(&f, path, &err), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, problem);
    /* A failed open leaves nothing to close, and closing it anyway is harmless. */
    assert_null(f.map);
    assert_null(f.tensors);
}

static const uint8_t zeros[64];

static void test_valid_file_reads_back_exactly(void **state) {
    (void)state;
    /* a: F32 (2,2) at [0,16); b: F16 (3) at [16,22); c: BF16 scalar at [22,24);
     * e: an empty F32 (0) tensor sharing its offset with b, listed after it. */
    const float a[4] = {1.5f, -2.25f, 3e-8f, 65504.0f};
    const uint16_t b[3] = {0x3c00, 0xc000, 0x0001}; /* 1, -2, 2^-24 in F16 */
    const uint16_t c = 0x3f80;                       /* 1 in BF16 */
    uint8_t data[24];
    memcpy(data, a, 16);
    memcpy(data + 16, b, 6);
    memcpy(data + 22, &c, 2);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                      "\"b\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]},"
                      "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[22,24]}}   ";
    const char *path = write_st("valid.safetensors", hdr, data, sizeof data);
    ls_st_file f;
    ls_error err = {{0}};
    if (ls_st_open(&f, path, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(f.n_tensors, 4);
    assert_int_equal(f.data_size, 24);

    const ls_st_tensor *ta = ls_st_find(&f, "a");
    assert_non_null(ta);
    assert_string_equal(ta->dtype, "F32");
    assert_int_equal(ta->elem_bytes, 4);
    assert_int_equal(ta->ndim, 2);
    assert_int_equal(ta->shape[0], 2);
    assert_int_equal(ta->shape[1], 2);
    assert_int_equal(ta->begin, 0);
    assert_int_equal(ta->end, 16);
    float back[4];
    memcpy(back, f.data + ta->begin, 16);
    assert_memory_equal(back, a, 16);

    const ls_st_tensor *tb = ls_st_find(&f, "b");
    assert_non_null(tb);
    assert_string_equal(tb->dtype, "F16");
    assert_int_equal(tb->elem_bytes, 2);
    assert_int_equal(tb->ndim, 1);
    assert_int_equal(tb->shape[0], 3);
    assert_memory_equal(f.data + tb->begin, b, 6);

    const ls_st_tensor *tc = ls_st_find(&f, "c");
    assert_non_null(tc);
    assert_int_equal(tc->ndim, 0);
    assert_int_equal(tc->begin, 22);
    assert_memory_equal(f.data + tc->begin, &c, 2);

    const ls_st_tensor *te = ls_st_find(&f, "e");
    assert_non_null(te);
    assert_int_equal(te->begin, te->end);

    assert_null(ls_st_find(&f, "nope"));
    assert_null(ls_st_find(&f, "__metadata__"));
    assert_non_null(f.metadata);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive((const cJSON *)f.metadata, "format");
    assert_true(cJSON_IsString(fmt));
    assert_string_equal(fmt->valuestring, "pt");
    ls_st_close(&f);
    assert_null(f.map);
}

static void test_empty_header_object_and_missing_file(void **state) {
    (void)state;
    ls_st_file f;
    ls_error err = {{0}};
    /* {} with no data: a valid file with no tensors. */
    const char *path = write_st("empty.safetensors", "{}", NULL, 0);
    if (ls_st_open(&f, path, &err) != 0) fail_msg("%s", err.msg);
    assert_int_equal(f.n_tensors, 0);
    ls_st_close(&f);

    char missing[256];
    test_path(missing, sizeof missing, g_dir, "missing.safetensors");
    expect_reject(missing, "cannot open");
    expect_reject(g_dir, "not a regular file");
}

static void test_reject_short_file(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "short.safetensors");
    test_write_bytes(path, "\x02\0\0\0\0", 5);
    expect_reject(path, "too short");
    test_write_bytes(path, "", 0);
    expect_reject(path, "too short");
}

static void test_reject_header_longer_than_file(void **state) {
    (void)state;
    char path[256];
    test_path(path, sizeof path, g_dir, "long_header.safetensors");
    uint8_t buf[20] = {0xe8, 0x03}; /* header length 1000 in a 20-byte file */
    memcpy(buf + 8, "{}          ", 12);
    test_write_bytes(path, buf, sizeof buf);
    expect_reject(path, "header length 1000 exceeds the file");
    /* A length with the top bit set must not wrap around in the check. */
    memset(buf, 0xff, 8);
    test_write_bytes(path, buf, sizeof buf);
    expect_reject(path, "exceeds the file");
}

static void test_reject_header_not_json(void **state) {
    (void)state;
    expect_reject(write_st("notjson.safetensors", "{\"a\": {\"dtype\": ", zeros, 4), "header is not a JSON object");
    expect_reject(write_st("notjson2.safetensors", "hello", NULL, 0), "header is not a JSON object");
}

static void test_reject_header_not_object(void **state) {
    (void)state;
    expect_reject(write_st("array.safetensors", "[1, 2, 3]", NULL, 0), "header is not a JSON object");
    expect_reject(write_st("string.safetensors", "\"x\"", NULL, 0), "header is not a JSON object");
    expect_reject(write_st("entry.safetensors", "{\"a\": 5}", NULL, 0), "tensor \"a\": entry is not an object");
    expect_reject(write_st("meta.safetensors", "{\"__metadata__\": [1]}", NULL, 0), "__metadata__ is not an object");
    expect_reject(write_st("fields.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", zeros, 4),
                  "tensor \"a\": needs");
}

static void test_reject_unknown_dtype(void **state) {
    (void)state;
    expect_reject(write_st("dtype.safetensors", "{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                           zeros, 4),
                  "tensor \"w\": unknown dtype \"F33\"");
    /* Longer than any known name (and than the dtype buffer). */
    expect_reject(write_st("dtype2.safetensors",
                           "{\"w\":{\"dtype\":\"FLOAT32_XXXXXXXX\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4),
                  "unknown dtype");
}

static void test_reject_size_mismatch(void **state) {
    (void)state;
    /* F32 (3) needs 12 bytes, offsets give 8. */
    expect_reject(write_st("size.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                           zeros, 8),
                  "tensor \"w\": shape needs 12 bytes of F32 but data_offsets span 8");
    /* BF16 (2,3) needs 12 bytes, offsets give 24. */
    expect_reject(write_st("size2.safetensors", "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                           zeros, 24),
                  "shape needs 12 bytes of BF16 but data_offsets span 24");
}

static void test_reject_offsets_outside_data(void **state) {
    (void)state;
    expect_reject(write_st("outside.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                           zeros, 8),
                  "tensor \"w\": data_offsets [0, 16] outside the 8-byte data section");
    /* begin after end */
    expect_reject(write_st("reversed.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}",
                           zeros, 8),
                  "data_offsets [8, 4] outside");
    expect_reject(write_st("neg_off.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-4,0]}}",
                           zeros, 4),
                  "data_offsets must be two non-negative integers");
    expect_reject(write_st("three_off.safetensors", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,2,4]}}",
                           zeros, 4),
                  "data_offsets must be two non-negative integers");
}

static void test_reject_overlap(void **state) {
    (void)state;
    expect_reject(write_st("overlap.safetensors",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                           zeros, 12),
                  "tensor \"b\" overlaps the tensor before it");
    /* Two tensors on exactly the same bytes. */
    expect_reject(write_st("alias.safetensors",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                           zeros, 8),
                  "overlaps");
}

static void test_reject_gap(void **state) {
    (void)state;
    expect_reject(write_st("gap.safetensors",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                           zeros, 12),
                  "gap in the data section before tensor \"b\" (offset 8, expected 4)");
    /* A gap at the very start. */
    expect_reject(write_st("gap0.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                           zeros, 8),
                  "gap in the data section before tensor \"a\"");
}

static void test_reject_trailing_bytes(void **state) {
    (void)state;
    expect_reject(write_st("trailing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                           zeros, 12),
                  "data section is 12 bytes but the tensors cover 8");
    expect_reject(write_st("trailing0.safetensors", "{}", zeros, 3), "data section is 3 bytes but the tensors cover 0");
}

static void test_reject_bad_shape_entries(void **state) {
    (void)state;
    expect_reject(write_st("negshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                           zeros, 4),
                  "tensor \"w\": shape[0] is not a non-negative integer");
    expect_reject(write_st("fracshape.safetensors",
                           "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,12]}}", zeros, 12),
                  "tensor \"w\": shape[1] is not a non-negative integer");
    expect_reject(write_st("strshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}",
                           zeros, 4),
                  "shape[0] is not a non-negative integer");
    expect_reject(write_st("bigdims.safetensors",
                           "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", zeros, 1),
                  "9 dimensions");
}

static void test_reject_overflowing_shape(void **state) {
    (void)state;
    /* 2^32 * 2^32 elements overflows the 64-bit element count. */
    expect_reject(write_st("overflow.safetensors",
                           "{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
                           NULL, 0),
                  "tensor \"w\": shape overflows");
    /* 2^31 * 2^31 = 2^62 elements fits, but 2^62 F32 elements do not fit in 64-bit bytes. */
    expect_reject(write_st("overflow2.safetensors",
                           "{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,0]}}",
                           NULL, 0),
                  "tensor \"w\": shape needs");
    /* Beyond 2^53 a double no longer holds every integer: refused outright. */
    expect_reject(write_st("overflow3.safetensors",
                           "{\"w\":{\"dtype\":\"U8\",\"shape\":[18446744073709551616],\"data_offsets\":[0,0]}}",
                           NULL, 0),
                  "shape[0] is not a non-negative integer");
}

/* ---- writer ------------------------------------------------------------- */

static uint16_t u16_at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void test_writer_round_trip(void **state) {
    (void)state;
    const float f32[6] = {0.1f, -1e-30f, 3.4e38f, -0.0f, 1.0f / 3.0f, 12345.678f};
    /* F16: exactly representable values, then rounding cases. */
    const float f16_in[] = {
        1.0f, -2.0f, 0.5f, 65504.0f, 0x1p-14f, 0x1p-24f, /* exact: max normal, min normal, min subnormal */
        0x1p-15f, 3 * 0x1p-24f,                          /* exact subnormals */
        1.0f + 0x1p-11f,                                 /* halfway 1 / 1+2^-10 -> even: 1 */
        1.0f + 3 * 0x1p-11f,                             /* halfway -> even: 1 + 2^-9 */
        0x1p-25f,                                        /* halfway 0 / 2^-24 -> even: 0 */
        3 * 0x1p-25f,                                    /* halfway 2^-24 / 2^-23 -> even: 2^-23 */
        65520.0f,                                        /* halfway 65504 / 65536 -> even: inf */
        1e-10f,                                          /* underflows to 0 */
        -70000.0f,                                       /* overflows to -inf */
    };
    const uint16_t f16_want[] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001, 0x0200, 0x0003,
                                 0x3c00, 0x3c02, 0x0000, 0x0002, 0x7c00, 0x0000, 0xfc00};
    const int n16 = (int)(sizeof f16_in / sizeof f16_in[0]);
    /* BF16: exact values, then halfway cases (ulp of 1 is 2^-7). */
    const float bf16_in[] = {1.0f, -3.5f, 0x1p100f, 0.0f,
                             1.00390625f,  /* 1 + 2^-8: halfway 1 / 1+2^-7 -> even: 1 */
                             1.01171875f,  /* 1 + 3*2^-8: halfway -> even: 1.015625 */
                             1.0f + 0x1p-8f + 0x1p-20f, /* just above halfway: up */
                             -1.01171875f};
    const uint16_t bf16_want[] = {0x3f80, 0xc060, 0x7180, 0x0000, 0x3f80, 0x3f82, 0x3f81, 0xbf82};
    const int nb16 = (int)(sizeof bf16_in / sizeof bf16_in[0]);
    assert_int_equal(n16, (int)(sizeof f16_want / sizeof f16_want[0]));
    assert_int_equal(nb16, (int)(sizeof bf16_want / sizeof bf16_want[0]));

    ls_st_entry e[3] = {
        {.name = "f32", .dtype = LS_DTYPE_F32, .ndim = 2, .shape = {2, 3}, .data = f32},
        {.name = "f16", .dtype = LS_DTYPE_F16, .ndim = 1, .shape = {n16}, .data = f16_in},
        {.name = "bf16", .dtype = LS_DTYPE_BF16, .ndim = 1, .shape = {nb16}, .data = bf16_in},
    };
    const char *meta[] = {"format", "pt", "note", "a \"quoted\" value", NULL};
    char path[256];
    test_path(path, sizeof path, g_dir, "written.safetensors");
    ls_error err = {{0}};
    if (ls_safetensors_write(path, e, 3, meta, &err) != 0) fail_msg("%s", err.msg);

    ls_st_file f;
    if (ls_st_open(&f, path, &err) != 0) fail_msg("%s", err.msg);
    /* The header length, and so the data section, is 8-byte aligned. */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | ((const uint8_t *)f.map)[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal((f.data - (const uint8_t *)f.map) % 8, 0);
    assert_int_equal(f.n_tensors, 3);

    const ls_st_tensor *t = ls_st_find(&f, "f32");
    assert_non_null(t);
    assert_string_equal(t->dtype, "F32");
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_memory_equal(f.data + t->begin, f32, sizeof f32); /* bit-exact, -0.0 included */

    t = ls_st_find(&f, "f16");
    assert_non_null(t);
    assert_string_equal(t->dtype, "F16");
    assert_int_equal(t->shape[0], n16);
    for (int i = 0; i < n16; i++) {
        uint16_t got = u16_at(f.data + t->begin + 2 * i);
        if (got != f16_want[i]) fail_msg("F16 of %a: got 0x%04x, want 0x%04x", (double)f16_in[i], got, f16_want[i]);
    }

    t = ls_st_find(&f, "bf16");
    assert_non_null(t);
    assert_string_equal(t->dtype, "BF16");
    for (int i = 0; i < nb16; i++) {
        uint16_t got = u16_at(f.data + t->begin + 2 * i);
        if (got != bf16_want[i])
            fail_msg("BF16 of %.9g: got 0x%04x, want 0x%04x", (double)bf16_in[i], got, bf16_want[i]);
    }
    /* 0x3f82 is 1.015625 and 0x3f80 is 1.0: spell the brief's two cases out. */
    uint32_t u = (uint32_t)bf16_want[5] << 16;
    float v;
    memcpy(&v, &u, 4);
    assert_true(v == 1.015625f);

    const cJSON *note = cJSON_GetObjectItemCaseSensitive((const cJSON *)f.metadata, "note");
    assert_true(cJSON_IsString(note));
    assert_string_equal(note->valuestring, "a \"quoted\" value");
    ls_st_close(&f);

    /* No temp file is left next to the output. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
}

static void test_writer_nan_and_alignment_for_all_header_lengths(void **state) {
    (void)state;
    /* Names of every length 1..16 shift the JSON length through all residues mod 8. */
    const float x[2] = {NAN, -INFINITY};
    for (int len = 1; len <= 16; len++) {
        char name[17];
        memset(name, 'n', (size_t)len);
        name[len] = '\0';
        ls_st_entry e[2] = {
            {.name = name, .dtype = LS_DTYPE_BF16, .ndim = 1, .shape = {2}, .data = x},
            {.name = "h", .dtype = LS_DTYPE_F16, .ndim = 1, .shape = {2}, .data = x},
        };
        char path[256];
        test_path(path, sizeof path, g_dir, "align.safetensors");
        ls_error err = {{0}};
        if (ls_safetensors_write(path, e, 2, NULL, &err) != 0) fail_msg("%s", err.msg);
        ls_st_file f;
        if (ls_st_open(&f, path, &err) != 0) fail_msg("%s", err.msg);
        assert_int_equal((f.data - (const uint8_t *)f.map) % 8, 0);
        assert_null(f.metadata);
        const ls_st_tensor *t = ls_st_find(&f, name);
        assert_non_null(t);
        uint16_t nan_bf = u16_at(f.data + t->begin), ninf_bf = u16_at(f.data + t->begin + 2);
        assert_true((nan_bf & 0x7f80) == 0x7f80 && (nan_bf & 0x7f) != 0); /* still a NaN */
        assert_int_equal(ninf_bf, 0xff80);
        t = ls_st_find(&f, "h");
        uint16_t nan_h = u16_at(f.data + t->begin), ninf_h = u16_at(f.data + t->begin + 2);
        assert_true((nan_h & 0x7c00) == 0x7c00 && (nan_h & 0x3ff) != 0);
        assert_int_equal(ninf_h, 0xfc00);
        ls_st_close(&f);
    }
}

static void test_writer_fails_cleanly(void **state) {
    (void)state;
    const float x[1] = {1};
    ls_st_entry e = {.name = "x", .dtype = LS_DTYPE_F32, .ndim = 1, .shape = {1}, .data = x};
    char path[256];
    test_path(path, sizeof path, g_dir, "no/such/dir/out.safetensors");
    ls_error err = {{0}};
    assert_int_equal(ls_safetensors_write(path, &e, 1, NULL, &err), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "cannot create");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_reads_back_exactly),
        cmocka_unit_test(test_empty_header_object_and_missing_file),
        cmocka_unit_test(test_reject_short_file),
        cmocka_unit_test(test_reject_header_longer_than_file),
        cmocka_unit_test(test_reject_header_not_json),
        cmocka_unit_test(test_reject_header_not_object),
        cmocka_unit_test(test_reject_unknown_dtype),
        cmocka_unit_test(test_reject_size_mismatch),
        cmocka_unit_test(test_reject_offsets_outside_data),
        cmocka_unit_test(test_reject_overlap),
        cmocka_unit_test(test_reject_gap),
        cmocka_unit_test(test_reject_trailing_bytes),
        cmocka_unit_test(test_reject_bad_shape_entries),
        cmocka_unit_test(test_reject_overflowing_shape),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_writer_nan_and_alignment_for_all_header_lengths),
        cmocka_unit_test(test_writer_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
