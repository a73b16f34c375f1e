/* file.c: whole-file reads and crash-safe whole-file writes.
 *
 * Every output that is not append-only goes through ls_write_file_atomic:
 * the bytes go to "<path>.tmp.<pid>", are fsynced, and the temp file is
 * renamed over the target, so a reader sees the old file or the new one,
 * never a torn one, and a failed write (disk full, no permission) leaves
 * the previous file intact and no partial file behind. */
#include "lesion.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ls_read_file(const char *path, char **data, size_t *len, ls_error *err) {
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever; it is then refused as not a regular file. (Reads of a
     * regular file ignore the flag.) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ls_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ls_fail(err, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return ls_fail(err, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return ls_fail(err, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 0;
}

/* Writes all of buf to fd, retrying on short writes. */
static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int ls_write_file_atomic(const char *path, const void *data, size_t len, ls_error *err) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return ls_fail(err, "%s: path too long", path);
    /* The rename would replace whatever path names, and root may rename over
     * a device: `--out /dev/null` once turned the system's /dev/null into a
     * regular file. Devices, FIFOs and sockets are refused, never replaced. */
    struct stat st;
    if (lstat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
                                  S_ISSOCK(st.st_mode)))
        return ls_fail(err, "%s: is a device, FIFO or socket, not a file: refusing to replace it", path);
    /* Exclusive and no-follow: a stale temp file of a dead process with the
     * same pid is removed first, and a link planted at the temp name is never
     * followed (rename below replaces a link at path itself, not its target). */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return ls_fail(err, "%s: cannot create: %s", path, strerror(errno));
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return ls_fail(err, "%s: write failed: %s", path, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ls_fail(err, "%s: cannot replace: %s", path, strerror(e));
    }
    return 0;
}

void ls_remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
        }
    closedir(d);
    rmdir(dir);
}
