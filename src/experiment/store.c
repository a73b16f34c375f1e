/* store.c: the append-only results file of a sweep (results.jsonl).
 *
 * One JSON object per line, each with a unique "key" (configuration and
 * seed). A row is appended with a single write() of the whole line and then
 * fdatasync'd, so after a crash or SIGKILL the file holds every finished row
 * plus at most one torn last line. Opening the store drops such a tail (a
 * line without its newline, or one that is not a JSON object with a key) by
 * truncating the file to the last good row, so resuming never keeps half a
 * row and never duplicates one. A bad line with rows after it cannot come
 * from a torn write: it is an error naming the line, and nothing is cut (the
 * rows after it would otherwise be recomputed and the file silently
 * rewritten). An open store holds an exclusive lock on the file, so a second
 * sweep into the same file is refused, not merged, and never follows a
 * symbolic link: results.jsonl is written where it is, not where a link
 * points. */
#include <lesion.h>

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* Opens path without following a link (and without waiting on a FIFO). */
static int open_file(const char *path, int flags, ls_error *err) {
    int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ELOOP)
        return ls_fail(err, "%s: is a symbolic link; lesion does not write results through links", path);
    if (fd < 0)
        return ls_fail(err, "%s: cannot open%s: %s", path, flags & O_APPEND ? " for appending" : "", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_fail(err, "%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static int read_fd(int fd, const char *path, char **text, size_t *len, ls_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) return ls_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) return ls_fail(err, "%s: out of memory reading %zu bytes", path, size);
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* shrank while read: keep what was read */
        got += (size_t)r;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    return 0;
}

/* Keeps the leading rows of text. *good is the end of the last good row; a
 * bad line (1-based *bad_line, else 0) ends the scan; *bad_is_last says it
 * is the file's last line (what a torn write leaves); why says what is wrong. */
static int scan(ls_store *s, const char *text, size_t len, size_t *good, int *bad_line, int *bad_is_last,
                const char **why, ls_error *err) {
    *good = 0, *bad_line = 0, *bad_is_last = 0, *why = NULL;
    int line = 0;
    for (size_t at = 0; at < len;) {
        line++;
        const char *nl = memchr(text + at, '\n', len - at);
        size_t line_len = nl ? (size_t)(nl - (text + at)) : len - at;
        cJSON *row = NULL;
        const cJSON *key = NULL;
        if (!nl) *why = "no newline: an interrupted write";
        else if (memchr(text + at, '\0', line_len)) *why = "NUL bytes";
        else if (!(row = cJSON_ParseWithLength(text + at, line_len))) *why = "not JSON";
        else if (!cJSON_IsString(key = cJSON_GetObjectItemCaseSensitive(row, "key"))) *why = "no string \"key\"";
        if (*why) {
            cJSON_Delete(row);
            *bad_line = line;
            *bad_is_last = !nl || at + line_len + 1 == len;
            return 0;
        }
        if (!ls_store_has(s, key->valuestring) && remember(s, text + at, line_len, key->valuestring) != 0) {
            cJSON_Delete(row);
            return ls_fail(err, "out of memory");
        }
        cJSON_Delete(row);
        at += line_len + 1;
        *good = at;
    }
    return 0;
}

static ls_store *store_new(const char *path, ls_error *err) {
    ls_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        ls_fail(err, "out of memory");
        return NULL;
    }
    s->fd = -1;
    return s;
}

static int middle_line_error(const char *path, int line, const char *why, ls_error *err) {
    return ls_fail(err, "%s: line %d is not a lesion row (%s) and rows follow it, so it is not a torn last write: "
                        "fix or delete line %d (the rows after it are kept), or use another --out",
                   path, line, why, line);
}

int ls_store_open(ls_store **out, const char *path, int *dropped_line, ls_error *err) {
    *out = NULL;
    *dropped_line = 0;
    ls_store *s = store_new(path, err);
    if (!s) return -1;
    char *text = NULL;
    size_t len = 0, good;
    int bad_line, bad_is_last;
    const char *why;
    s->fd = open_file(path, O_RDWR | O_CREAT | O_APPEND, err);
    if (s->fd < 0) goto fail;
    /* One writer at a time: two sweeps appending to one file would both
     * compute the missing rows and write each of them twice. The lock goes
     * away with the process, however it ends (SIGKILL included). */
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        ls_fail(err, "%s: another process is writing to it (a sweep into the same --out still running?)", path);
        goto fail;
    }
    if (read_fd(s->fd, path, &text, &len, err) != 0) goto fail;
    if (scan(s, text, len, &good, &bad_line, &bad_is_last, &why, err) != 0) goto fail;
    free(text);
    text = NULL;
    if (bad_line && !bad_is_last) {
        middle_line_error(path, bad_line, why, err);
        goto fail;
    }
    if (bad_line) {
        *dropped_line = bad_line;
        if (ftruncate(s->fd, (off_t)good) != 0) {
            ls_fail(err, "%s: cannot drop the torn last line %d: %s", path, bad_line, strerror(errno));
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

int ls_store_read(ls_store **out, const char *path, int *ignored_line, ls_error *err) {
    *out = NULL;
    *ignored_line = 0;
    ls_store *s = store_new(path, err);
    if (!s) return -1;
    char *text = NULL;
    size_t len = 0, good;
    int bad_line, bad_is_last, fd = open_file(path, O_RDONLY, err);
    const char *why;
    if (fd < 0) goto fail;
    int rc = read_fd(fd, path, &text, &len, err);
    close(fd);
    if (rc != 0 || scan(s, text, len, &good, &bad_line, &bad_is_last, &why, err) != 0) goto fail;
    if (bad_line && !bad_is_last) {
        middle_line_error(path, bad_line, why, err);
        goto fail;
    }
    *ignored_line = bad_line;
    free(text);
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
    if (s->fd < 0) return ls_fail(err, "%s: opened read-only", s->path);
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
