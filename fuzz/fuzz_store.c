/* fuzz_store.c: a sweep's results.jsonl as a crash (or anything) left it.
 *
 * The input is written as results.jsonl and opened with ls_store_open, which
 * must succeed (any content is a valid store plus a tail to drop) and:
 *   - keep exactly the leading complete lines, without NUL bytes, that are
 *     JSON objects with a string "key" (the first of each key), each row
 *     byte for byte;
 *   - truncate the file to the end of the last kept line, and say so
 *     (dropped_tail) exactly when it cut something;
 *   - refuse a second open while the first is open (the file is locked);
 *   - after appending a row, reopen to the same rows plus that one. */
#include "fuzz_util.h"

#include <cJSON.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write("results.jsonl", data, size, path, sizeof path);
    ls_store *s = NULL, *again = NULL;
    ls_error err = {{0}};
    int dropped = -1;
    FUZZ_CHECK(ls_store_open(&s, path, &dropped, &err) == 0, "open: %s", err.msg);

    /* The prefix the store must keep, computed here line by line. */
    size_t good = 0;
    int rows = 0;
    for (size_t at = 0; at < size;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        if (!nl) break;
        size_t n = (size_t)(nl - (data + at));
        if (memchr(data + at, 0, n)) break; /* NUL bytes: what a crash leaves in a zero-filled block */
        cJSON *o = cJSON_ParseWithLength((const char *)data + at, n);
        const cJSON *k = o ? cJSON_GetObjectItemCaseSensitive(o, "key") : NULL;
        int keyed = cJSON_IsString(k);
        if (keyed) {
            int seen = 0;
            for (int i = 0; i < rows && !seen; i++) {
                cJSON *r = cJSON_Parse(ls_store_row(s, i));
                seen = strcmp(cJSON_GetObjectItemCaseSensitive(r, "key")->valuestring, k->valuestring) == 0;
                cJSON_Delete(r);
            }
            if (!seen) {
                FUZZ_CHECK(rows < ls_store_count(s), "store kept %d rows, expected more", ls_store_count(s));
                FUZZ_CHECK(strlen(ls_store_row(s, rows)) == n && memcmp(ls_store_row(s, rows), data + at, n) == 0,
                           "row %d differs from line at byte %zu", rows, at);
                FUZZ_CHECK(ls_store_has(s, k->valuestring), "key not found");
                rows++;
            }
        }
        cJSON_Delete(o);
        if (!keyed) break;
        at += n + 1;
        good = at;
    }
    FUZZ_CHECK(ls_store_count(s) == rows, "store kept %d rows, expected %d", ls_store_count(s), rows);
    FUZZ_CHECK(dropped == (good < size), "dropped_tail %d with %zu of %zu bytes good", dropped, good, size);
    struct stat st;
    FUZZ_CHECK(stat(path, &st) == 0 && (size_t)st.st_size == good, "file is %lld bytes, expected %zu",
               (long long)st.st_size, good);

    FUZZ_CHECK(ls_store_open(&again, path, &dropped, &err) != 0 && again == NULL, "second open while locked");

    FUZZ_CHECK(ls_store_has(s, "fuzz-new") || ls_store_append(s, "fuzz-new", "{\"key\":\"fuzz-new\",\"v\":1}", &err) == 0,
               "append: %s", err.msg);
    int before = ls_store_count(s);
    ls_store_close(s);
    FUZZ_CHECK(ls_store_open(&s, path, &dropped, &err) == 0, "reopen: %s", err.msg);
    FUZZ_CHECK(dropped == 0 && ls_store_count(s) == before && ls_store_has(s, "fuzz-new"),
               "reopen: %d rows (expected %d), dropped %d", ls_store_count(s), before, dropped);
    ls_store_close(s);
    return 0;
}
