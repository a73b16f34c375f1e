/* fuzz_store.c: a sweep's results.jsonl as a crash (or anything) left it.
 *
 * The input is written as results.jsonl and opened with ls_store_open. Lines
 * are good rows (complete, without NUL bytes, JSON objects with a string
 * "key") up to the first bad one. The store must:
 *   - when there is no bad line, or the bad line is the file's last line (a
 *     torn write): open, keep exactly the good rows (the first of each key)
 *     byte for byte, truncate the file to their end, and report the bad
 *     line's number as dropped_line (0 when nothing was cut);
 *   - when a bad line has more after it: fail with a message naming that
 *     line, and leave the file exactly as it was;
 *   - agree with ls_store_read, which never cuts (it ignores a bad last line);
 *   - refuse a second open while the first is open (the file is locked);
 *   - after appending a row, reopen to the same rows plus that one. */
#include "fuzz_util.h"

#include <cJSON.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fuzz_write("results.jsonl", data, size, path, sizeof path);
    ls_store *s = NULL, *again = NULL, *reader = NULL;
    ls_error err = {{0}};
    int dropped = -1, ignored = -1;

    /* What the store must make of it, computed here line by line. */
    size_t good = 0;
    int bad_line = 0, bad_is_last = 0, line = 0;
    for (size_t at = 0; at < size;) {
        line++;
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t n = nl ? (size_t)(nl - (data + at)) : size - at;
        int keyed = 0;
        if (nl && !memchr(data + at, 0, n)) {
            cJSON *o = cJSON_ParseWithLength((const char *)data + at, n);
            keyed = o && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "key"));
            cJSON_Delete(o);
        }
        if (!keyed) {
            bad_line = line;
            bad_is_last = !nl || at + n + 1 == size;
            break;
        }
        at += n + 1;
        good = at;
    }
    int rc_read = ls_store_read(&reader, path, &ignored, &err);
    int rc = ls_store_open(&s, path, &dropped, &err);
    struct stat st;
    if (bad_line && !bad_is_last) {
        char want[64];
        snprintf(want, sizeof want, "line %d is not a lesion row", bad_line);
        FUZZ_CHECK(rc != 0 && s == NULL && strstr(err.msg, want), "bad line %d in the middle: open gave %d (%s)", bad_line,
                   rc, err.msg);
        FUZZ_CHECK(rc_read != 0 && reader == NULL, "bad line %d in the middle: read succeeded", bad_line);
        FUZZ_CHECK(stat(path, &st) == 0 && (size_t)st.st_size == size, "refused file was changed");
        return 0;
    }
    FUZZ_CHECK(rc == 0, "open: %s", err.msg);
    FUZZ_CHECK(rc_read == 0, "read: %s", err.msg);
    FUZZ_CHECK(dropped == bad_line && ignored == bad_line, "dropped %d, ignored %d, expected line %d", dropped, ignored,
               bad_line);
    FUZZ_CHECK(ls_store_count(reader) == ls_store_count(s), "reader kept %d rows, store %d", ls_store_count(reader),
               ls_store_count(s));
    /* The kept rows: the good lines, first of each key, byte for byte. */
    int rows = 0;
    for (size_t at = 0; at < good;) {
        const uint8_t *nl = memchr(data + at, '\n', good - at);
        size_t n = (size_t)(nl - (data + at));
        cJSON *o = cJSON_ParseWithLength((const char *)data + at, n);
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
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
        cJSON_Delete(o);
        at += n + 1;
    }
    ls_store_close(reader);
    FUZZ_CHECK(ls_store_count(s) == rows, "store kept %d rows, expected %d", ls_store_count(s), rows);
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
