/* sweep_dir.c: a sweep's output folder (--out), safe to resume and to share.
 *
 * The folder is locked (flock on the directory itself) from open to close:
 * a second sweep into it is refused while the first lives, --force
 * included, and the lock dies with the process however it ends. What the
 * folder holds decides what a sweep may do with it:
 *   - nothing (or only lesion's own temp files): a new sweep;
 *   - sweep.json of the same identity: resume, computing only missing rows;
 *   - another sweep, files that are not a lesion sweep's, or one of
 *     lesion's output names as a symbolic link: refused, unless force,
 *     which moves the files lesion would write into DIR/replaced-<time>/
 *     (never deletes them, never mixes old rows with new ones) and starts
 *     a new sweep.
 * Output files are never written through links: results.jsonl is opened
 * with O_NOFOLLOW, the others are replaced by rename. */
#include <lesion.h>

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ls_sweep_dir {
    char *path;
    int fd;             /* the directory, locked */
    cJSON *record;      /* sweep.json found, or NULL */
    int record_bad;     /* sweep.json exists but is not a JSON object */
    int n_other;        /* entries that are not lesion's */
    char other[256];    /* the first of them */
    char link[256];     /* the first of lesion's output names that is a symbolic link (or not a regular file) */
};

/* What lesion writes into --out; force moves exactly these aside. */
static const char *const outputs[] = {"results.jsonl", "results.csv", "summary.json", "report.html", "sweep.json"};
#define N_OUTPUTS (int)(sizeof outputs / sizeof outputs[0])

static int is_output(const char *name) {
    for (int i = 0; i < N_OUTPUTS; i++)
        if (strcmp(name, outputs[i]) == 0) return 1;
    return 0;
}

/* "<output>.tmp.<pid>": what an atomic write killed half-way leaves. */
static int is_temp(const char *name) {
    for (int i = 0; i < N_OUTPUTS; i++) {
        size_t n = strlen(outputs[i]);
        if (strncmp(name, outputs[i], n) == 0 && strncmp(name + n, ".tmp.", 5) == 0) return 1;
    }
    return 0;
}

const char *ls_sweep_dir_path(const ls_sweep_dir *d) { return d->path; }
const void *ls_sweep_dir_record(const ls_sweep_dir *d) { return d->record; }

void ls_sweep_dir_close(ls_sweep_dir *d) {
    if (!d) return;
    if (d->fd >= 0) close(d->fd); /* releases the lock */
    cJSON_Delete(d->record);
    free(d->path);
    free(d);
}

/* Reads sweep.json without following a link; a link or non-file is noted. */
static int read_record(ls_sweep_dir *d, ls_error *err) {
    struct stat st;
    if (fstatat(d->fd, "sweep.json", &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    if (!S_ISREG(st.st_mode)) {
        snprintf(d->link, sizeof d->link, "sweep.json");
        return 0;
    }
    char path[4200], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/sweep.json", d->path);
    if (ls_read_file(path, &text, &len, err) != 0) return -1;
    d->record = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(d->record)) {
        cJSON_Delete(d->record);
        d->record = NULL;
        d->record_bad = 1;
    }
    return 0;
}

int ls_sweep_dir_open(ls_sweep_dir **out, const char *dir, ls_error *err) {
    *out = NULL;
    ls_sweep_dir *d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(dir))) {
        free(d);
        return ls_fail(err, "out of memory");
    }
    d->fd = -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        ls_fail(err, "%s: cannot create: %s", dir, strerror(errno));
        goto fail;
    }
    d->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0) {
        ls_fail(err, "%s: cannot open as a folder: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(d->fd, LOCK_EX | LOCK_NB) != 0) {
        ls_fail(err, "%s: another process is writing to it (a sweep into the same --out still running?); --force "
                     "does not override a live sweep", dir);
        goto fail;
    }
    DIR *dp = fdopendir(dup(d->fd));
    if (!dp) {
        ls_fail(err, "%s: cannot list: %s", dir, strerror(errno));
        goto fail;
    }
    for (struct dirent *e; (e = readdir(dp));) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || is_temp(n) || !strncmp(n, "replaced-", 9)) continue;
        if (is_output(n)) {
            struct stat st;
            if (fstatat(d->fd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) && !d->link[0])
                snprintf(d->link, sizeof d->link, "%s", n);
            continue;
        }
        if (!d->n_other++) snprintf(d->other, sizeof d->other, "%s", n);
    }
    closedir(dp);
    if (read_record(d, err) != 0) goto fail;
    *out = d;
    return 0;
fail:
    ls_sweep_dir_close(d);
    return -1;
}

/* Moves lesion's outputs into DIR/replaced-<time>/ (a new name each time). */
static int move_aside(ls_sweep_dir *d, char *moved_to, size_t cap, ls_error *err) {
    char name[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t k = strftime(name, sizeof name, "replaced-%Y%m%d-%H%M%S", &tm);
    for (int i = 0; i < 100; i++) {
        if (i) snprintf(name + k, sizeof name - k, "-%d", i);
        if (mkdirat(d->fd, name, 0755) == 0) break;
        if (errno != EEXIST || i == 99) return ls_fail(err, "%s/%s: cannot create: %s", d->path, name, strerror(errno));
    }
    /* sweep.json last: killed half-way, the folder still names its old sweep
     * with fewer rows (resumed as such), never new rows under an old identity. */
    for (int i = 0; i < N_OUTPUTS; i++) {
        char to[512];
        snprintf(to, sizeof to, "%s/%s", name, outputs[i]);
        if (renameat(d->fd, outputs[i], d->fd, to) != 0 && errno != ENOENT)
            return ls_fail(err, "%s/%s: cannot move into %s: %s", d->path, outputs[i], name, strerror(errno));
    }
    snprintf(moved_to, cap, "%s/%s", d->path, name);
    return 0;
}

int ls_sweep_dir_prepare(ls_sweep_dir *d, const void *record, int force, ls_sweep_dir_outcome *o, ls_error *err) {
    memset(o, 0, sizeof *o);
    char why[512] = "";
    if (d->link[0])
        snprintf(why, sizeof why, "%s is a symbolic link or not a regular file (lesion does not write through links)",
                 d->link);
    else if (d->record_bad)
        snprintf(why, sizeof why, "its sweep.json is not a lesion sweep record");
    else if (d->record && ls_sweep_record_diff(d->record, record, why, sizeof why) == 0)
        o->resumed = 1;
    else if (!d->record && d->n_other)
        snprintf(why, sizeof why, "it is not empty and is not a lesion sweep (it holds %s%s and no sweep.json)", d->other,
                 d->n_other > 1 ? " and more" : "");
    else if (!d->record) {
        /* results of an unrecorded sweep (outputs without sweep.json): not ours to reuse */
        struct stat st;
        if (fstatat(d->fd, "results.jsonl", &st, AT_SYMLINK_NOFOLLOW) == 0)
            snprintf(why, sizeof why, "it holds a results.jsonl without sweep.json (not a lesion sweep)");
    }
    if (!o->resumed && why[0]) {
        if (!force) {
            o->refused = 1;
            return ls_fail(err, "%s %s: %s; use another --out, or --force to move its results into "
                                "%s/replaced-<time>/ and start over", d->path,
                           d->record ? "holds a different sweep" : "cannot hold this sweep", why, d->path);
        }
        if (move_aside(d, o->moved_to, sizeof o->moved_to, err) != 0) return -1;
    }
    /* Written on resume too: the stamps of the inputs (and the command) are refreshed. */
    char *text = cJSON_Print(record), path[4200];
    if (!text) return ls_fail(err, "out of memory");
    snprintf(path, sizeof path, "%s/sweep.json", d->path);
    int rc = ls_write_file_atomic(path, text, strlen(text), err);
    free(text);
    if (rc == 0) {
        cJSON_Delete(d->record);
        d->record = cJSON_Duplicate(record, 1);
    }
    return rc;
}

int ls_sweep_dir_store(ls_sweep_dir *d, ls_store **store, int *dropped_line, ls_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", d->path);
    return ls_store_open(store, path, dropped_line, err);
}
