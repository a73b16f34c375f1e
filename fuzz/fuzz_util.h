/* fuzz_util.h: what the fuzz targets share: a private scratch directory,
 * writing a file into it, and a check that aborts with a message.
 *
 * Each target is a libFuzzer entry point (LLVMFuzzerTestOneInput) over one
 * parser of untrusted input. The same sources are linked two ways: with
 * -fsanitize=fuzzer to search (make fuzz), and with fuzz/replay_main.c to
 * replay fuzz/corpus and fuzz/regress as a plain test
 * (tests/e2e/fuzz_regress.sh), so every crash ever found stays fixed. */
#ifndef LESION_FUZZ_UTIL_H
#define LESION_FUZZ_UTIL_H

#include <lesion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A property the target asserts: on failure print why and abort, which both
 * libFuzzer and the replay driver report as a crash. */
#define FUZZ_CHECK(cond, ...)                                                      \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            abort();                                                               \
        }                                                                          \
    } while (0)

static char fuzz_dir[256];
#define FUZZ_UNUSED __attribute__((unused))

FUZZ_UNUSED static void fuzz_dir_remove(void) {
    DIR *d = opendir(fuzz_dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", fuzz_dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(fuzz_dir);
}

/* Creates the scratch directory once (in $TMPDIR, else /dev/shm or /tmp); removed at exit. */
FUZZ_UNUSED static const char *fuzz_scratch(void) {
    if (!fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* memory: faster */
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/lesion-fuzz.XXXXXX", tmp);
        if (!mkdtemp(fuzz_dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir;
}

/* Writes data to scratch/name (replacing it) and returns the full path in buf. */
FUZZ_UNUSED static const char *fuzz_write(const char *name, const void *data, size_t len, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", fuzz_scratch(), name);
    FILE *f = fopen(buf, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(buf);
        abort();
    }
    return buf;
}

#endif
