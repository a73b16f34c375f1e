/* hash.c: content hashes of a sweep's inputs.
 *
 * A sweep's identity names its inputs by content, not by path, so that an
 * edited eval text or a retrained model at the same path is noticed. The
 * hash is XXH64 (Yann Collet's 64-bit hash, written here from its published
 * specification): it streams at several GB/s, so hashing a GPT-2 XL
 * checkpoint costs about as much as reading it. It guards against accidents
 * (a file edited or replaced), not against an adversary; a 64-bit digest
 * makes an accidental collision negligible.
 *
 * ls_hash_file also reports the file's stamp (device, inode, size,
 * modification and status-change times): a caller that saw the same stamp
 * before with a hash can skip reading the file again (the sweep keeps the
 * stamps of its inputs in sweep.json). The status-change time cannot be set
 * from user space, so an edit that restores the modification time is still
 * seen. */
#include "lesion.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static uint64_t read64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian hosts only (x86-64, arm64), as the rest of lesion */
    return v;
}
static uint32_t read32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t round64(uint64_t acc, uint64_t in) { return rotl(acc + in * P2, 31) * P1; }
static uint64_t merge64(uint64_t acc, uint64_t v) { return (acc ^ round64(0, v)) * P1 + P4; }

void ls_hash_init(ls_hasher *h, uint64_t seed) {
    memset(h, 0, sizeof *h);
    h->seed = seed;
    h->v[0] = seed + P1 + P2;
    h->v[1] = seed + P2;
    h->v[2] = seed;
    h->v[3] = seed - P1;
}

void ls_hash_update(ls_hasher *h, const void *data, size_t len) {
    const uint8_t *p = data;
    h->total += len;
    if (h->n_buf + len < 32) {
        memcpy(h->buf + h->n_buf, p, len);
        h->n_buf += (unsigned)len;
        return;
    }
    if (h->n_buf) { /* complete the buffered stripe */
        size_t k = 32 - h->n_buf;
        memcpy(h->buf + h->n_buf, p, k);
        for (int i = 0; i < 4; i++) h->v[i] = round64(h->v[i], read64(h->buf + 8 * i));
        p += k, len -= k;
        h->n_buf = 0;
    }
    uint64_t v0 = h->v[0], v1 = h->v[1], v2 = h->v[2], v3 = h->v[3];
    for (; len >= 32; p += 32, len -= 32) {
        v0 = round64(v0, read64(p));
        v1 = round64(v1, read64(p + 8));
        v2 = round64(v2, read64(p + 16));
        v3 = round64(v3, read64(p + 24));
    }
    h->v[0] = v0, h->v[1] = v1, h->v[2] = v2, h->v[3] = v3;
    memcpy(h->buf, p, len);
    h->n_buf = (unsigned)len;
}

uint64_t ls_hash_final(const ls_hasher *h) {
    uint64_t acc;
    if (h->total >= 32) {
        acc = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) + rotl(h->v[3], 18);
        for (int i = 0; i < 4; i++) acc = merge64(acc, h->v[i]);
    } else {
        acc = h->seed + P5;
    }
    acc += h->total;
    const uint8_t *p = h->buf;
    size_t len = h->n_buf;
    for (; len >= 8; p += 8, len -= 8) acc = rotl(acc ^ round64(0, read64(p)), 27) * P1 + P4;
    if (len >= 4) acc = rotl(acc ^ (uint64_t)read32(p) * P1, 23) * P2 + P3, p += 4, len -= 4;
    for (; len > 0; p++, len--) acc = rotl(acc ^ (uint64_t)*p * P5, 11) * P1;
    acc ^= acc >> 33;
    acc *= P2;
    acc ^= acc >> 29;
    acc *= P3;
    acc ^= acc >> 32;
    return acc;
}

uint64_t ls_hash64(const void *data, size_t len, uint64_t seed) {
    ls_hasher h;
    ls_hash_init(&h, seed);
    ls_hash_update(&h, data, len);
    return ls_hash_final(&h);
}

/* Opens path for reading without blocking on a FIFO and checks it is a
 * regular file. Returns the fd, or -1 with err set. */
static int open_regular(const char *path, struct stat *st, ls_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ls_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return ls_fail(err, "%s: not a regular file", path);
    }
    return fd;
}

int ls_file_stamp_of(const char *path, ls_file_stamp *out, ls_error *err) {
    struct stat st;
    int fd = open_regular(path, &st, err);
    if (fd < 0) return -1;
    close(fd);
    *out = (ls_file_stamp){.dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino, .size = (int64_t)st.st_size,
                           .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
                           .ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec};
    return 0;
}

int ls_file_stamp_equal(const ls_file_stamp *a, const ls_file_stamp *b) {
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
           a->ctime_ns == b->ctime_ns;
}

int ls_hash_file(const char *path, ls_file_stamp *stamp, uint64_t *hash, ls_error *err) {
    struct stat st;
    int fd = open_regular(path, &st, err);
    if (fd < 0) return -1;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advisory */
    const size_t chunk = (size_t)4 << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf) {
        close(fd);
        return ls_fail(err, "%s: out of memory hashing", path);
    }
    ls_hasher h;
    ls_hash_init(&h, 0);
    for (;;) {
        ssize_t r = read(fd, buf, chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ls_fail(err, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break;
        ls_hash_update(&h, buf, (size_t)r);
    }
    free(buf);
    /* The stamp after reading: a file modified while we read it gets a new
     * stamp, so the next open hashes it again instead of trusting this hash. */
    struct stat after;
    int stat_rc = fstat(fd, &after);
    close(fd);
    if (stat_rc != 0) return ls_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    *hash = ls_hash_final(&h);
    if (stamp)
        *stamp = (ls_file_stamp){.dev = (uint64_t)after.st_dev, .ino = (uint64_t)after.st_ino,
                                 .size = (int64_t)after.st_size,
                                 .mtime_ns = (int64_t)after.st_mtim.tv_sec * 1000000000 + after.st_mtim.tv_nsec,
                                 .ctime_ns = (int64_t)after.st_ctim.tv_sec * 1000000000 + after.st_ctim.tv_nsec};
    if ((int64_t)h.total != (int64_t)after.st_size) return ls_fail(err, "%s: changed size while being hashed", path);
    return 0;
}
