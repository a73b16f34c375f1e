/* store.c: the append-only results file of a sweep (results.jsonl).
 *
 * One JSON object per line, each with a unique "key" (configuration and
 * seed). A row is appended with a single write() of the whole line and then
 * fdatasync'd, so after a crash or SIGKILL the file holds every finished row
 * plus at most one torn last line. Opening the store drops such a tail (a
 * line without its newline, or one that is not a JSON object with a key)
 * by truncating the file to the last good row, so resuming never keeps half
 * a row and never duplicates one. An open store holds an exclusive lock on
 * the file, so a second sweep into the same file is refused, not merged. */
#include <lesion.h>

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct ls_store {
    int fd;
    char *path;
    char **rows;   /* each row's text, without newline */
    char **keys;
    int n, cap;
};

static int remember(ls_store *s, const char *line, size_t len, const char *key) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        char **r = realloc(s->rows, (size_t)cap * sizeof *r), **k;
        if (!r) return -1;
        s->rows = r;
        k = realloc(s->keys, (size_t)cap * sizeof *k);
        if (!k) return -1;
        s->keys = k;
        s->cap = cap;
    }
    s->rows[s->n] = strndup(line, len);
    s->keys[s->n] = strdup(key);
    if (!s->rows[s->n] || !s->keys[s->n]) return -1;
    s->n++;
    return 0;
}

int ls_store_open(ls_store **out, const char *path, int *dropped_tail, ls_error *err) {
    *out = NULL;
    *dropped_tail = 0;
    ls_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return ls_fail(err, "out of memory");
    }
    s->fd = -1;
    char *text = NULL;
    size_t len = 0, good = 0;
    s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        ls_fail(err, "%s: cannot open for appending: %s", path, strerror(errno));
        goto fail;
    }
    /* One writer at a time: two sweeps appending to one file would both
     * compute the missing rows and write each of them twice. The lock goes
     * away with the process, however it ends (SIGKILL included). */
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        ls_fail(err, "%s: another process is writing to it (a sweep into the same --out still running?)", path);
        goto fail;
    }
    if (ls_read_file(path, &text, &len, err) != 0) goto fail;
    for (size_t at = 0; at < len;) {
        char *nl = memchr(text + at, '\n', len - at);
        if (!nl) break; /* torn: no newline */
        size_t line_len = (size_t)(nl - (text + at));
        if (memchr(text + at, '\0', line_len)) break; /* NUL bytes (a zero-filled block after a crash): torn */
        cJSON *row = cJSON_ParseWithLength(text + at, line_len);
        const cJSON *key = row ? cJSON_GetObjectItemCaseSensitive(row, "key") : NULL;
        if (!cJSON_IsString(key)) {
            cJSON_Delete(row);
            break; /* torn or foreign: everything from here is discarded */
        }
        if (!ls_store_has(s, key->valuestring) && remember(s, text + at, line_len, key->valuestring) != 0) {
            cJSON_Delete(row);
            ls_fail(err, "out of memory");
            goto fail;
        }
        cJSON_Delete(row);
        at += line_len + 1;
        good = at;
    }
    free(text);
    text = NULL;
    if (good < len) {
        *dropped_tail = 1;
        if (ftruncate(s->fd, (off_t)good) != 0) {
            ls_fail(err, "%s: cannot drop the torn last row: %s", path, strerror(errno));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    free(text);
    ls_store_close(s);
    return -1;
}

int ls_store_has(const ls_store *s, const char *key) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) return 1;
    return 0;
}

int ls_store_count(const ls_store *s) { return s->n; }
const char *ls_store_row(const ls_store *s, int i) { return s->rows[i]; }

int ls_store_append(ls_store *s, const char *key, const char *row, ls_error *err) {
    size_t len = strlen(row);
    char *line = malloc(len + 2);
    if (!line) return ls_fail(err, "out of memory");
    memcpy(line, row, len);
    line[len] = '\n';
    ssize_t w = write(s->fd, line, len + 1); /* one write: O_APPEND makes it a single append */
    int e = errno;
    free(line);
    if (w != (ssize_t)(len + 1)) {
        /* A short write leaves a torn line; cut it off so the file stays valid. */
        off_t end = lseek(s->fd, 0, SEEK_END);
        if (w > 0 && end >= w && ftruncate(s->fd, end - w) != 0) { /* best effort */ }
        return ls_fail(err, "%s: cannot append a row: %s", s->path, w < 0 ? strerror(e) : "short write (disk full?)");
    }
    if (fdatasync(s->fd) != 0) return ls_fail(err, "%s: cannot flush: %s", s->path, strerror(errno));
    return remember(s, row, len, key) == 0 ? 0 : ls_fail(err, "out of memory");
}

void ls_store_close(ls_store *s) {
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    for (int i = 0; i < s->n; i++) {
        free(s->rows[i]);
        free(s->keys[i]);
    }
    free(s->rows);
    free(s->keys);
    free(s->path);
    free(s);
}
