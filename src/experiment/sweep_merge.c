/* sweep_merge.c: one sweep folder from several (`lesion merge OUT DIR...`).
 *
 * Shards of a job array (`--shard K/N`), or parts of one sweep run on
 * different machines, each hold some rows of the same sweep. Merging checks
 * that every folder is the same sweep by content (the identity of
 * sweep.json; the shard is not part of it) and that no two folders hold
 * the same row with different numbers, then writes OUT as if one process
 * had run it: sweep.json without the shard, the rows in row order, and the
 * summary, CSV and report. Rows are bitwise reproducible whatever computed
 * them, so a row met twice must be equal but for its timing ("secs"); a
 * difference means the folders are not what they claim, and nothing is
 * written. OUT is locked as a sweep's --out is; it may already hold the
 * same sweep (the rows it lacks are added, so merging is resumable too). */
#include <lesion.h>

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The fields of a row that say how long it took, not what it measured. */
static const char *const timing_fields[] = {"secs"};

#define USAGE(call) ((call), LS_SWEEP_USAGE)

/* A row without its timing fields (to compare), or NULL if it is not JSON. */
static cJSON *numbers_of(const char *line) {
    cJSON *r = cJSON_Parse(line);
    for (size_t i = 0; r && i < sizeof timing_fields / sizeof timing_fields[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(r, timing_fields[i]);
    return r;
}

/* A folder's sweep.json (caller deletes) and rows (store may stay NULL: no rows yet). */
static int load(const char *dir, cJSON **record, ls_store **store, ls_error *err) {
    char path[4200], *text;
    size_t len;
    *record = NULL;
    *store = NULL;
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (ls_read_file(path, &text, &len, err) != 0)
        return USAGE(ls_fail_context(err, "%s is not a lesion sweep folder", dir));
    *record = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*record) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*record, "identity")))
        return USAGE(ls_fail(err, "%s: not a lesion sweep record", path));
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) return 0;
    int ignored;
    return ls_store_read(store, path, &ignored, err);
}

/* The record without its shard: what every part must share. */
static cJSON *identity_only(const cJSON *record) {
    cJSON *r = cJSON_Duplicate(record, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(r, "shard");
    return r;
}

/* Rows by key: key -> {"line": original text, "numbers": row without timing, "from": folder}. */
typedef struct merged {
    cJSON *by_key;
    int n_configs, n_seeds;
} merged;

/* Adds one row; a key of another sweep or a different row under a known key is refused. */
static int add_row(merged *m, const char *line, const char *from, ls_error *err) {
    cJSON *numbers = numbers_of(line);
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(numbers, "key");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(numbers, "config");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(numbers, "seed_index");
    char want[64] = "";
    if (cJSON_IsNumber(c) && cJSON_IsNumber(s)) ls_sweep_row_key(want, sizeof want, c->valueint, s->valueint);
    if (!cJSON_IsString(key) || strcmp(key->valuestring, want) != 0 || c->valueint < 0 || c->valueint >= m->n_configs ||
        s->valueint < 0 || s->valueint >= (c->valueint ? m->n_seeds : 1)) {
        cJSON_Delete(numbers);
        return USAGE(ls_fail(err, "%s/results.jsonl: row \"%.40s\" is not a row of this sweep",
                             from, cJSON_IsString(key) ? key->valuestring : "?"));
    }
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(m->by_key, key->valuestring);
    if (seen) {
        int same = cJSON_Compare(cJSON_GetObjectItemCaseSensitive(seen, "numbers"), numbers, 1);
        const char *other = cJSON_GetObjectItemCaseSensitive(seen, "from")->valuestring;
        int rc = same ? 0 : USAGE(ls_fail(err, "row %s differs between %s and %s (the same sweep gives the same numbers: "
                                               "one of them is not what its sweep.json says)", key->valuestring, other, from));
        cJSON_Delete(numbers);
        return rc;
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "line", line);
    cJSON_AddStringToObject(e, "from", from);
    cJSON_AddItemToObject(e, "numbers", numbers);
    cJSON_AddItemToObject(m->by_key, key->valuestring, e);
    return 0;
}

static int add_store(merged *m, const ls_store *st, const char *from, ls_error *err) {
    for (int i = 0; st && i < ls_store_count(st); i++) {
        int rc = add_row(m, ls_store_row(st, i), from, err);
        if (rc != 0) return rc;
    }
    return 0;
}

int ls_sweep_merge(const char *out_dir, const char *const *dirs, int n_dirs, const char *command, int force,
                   int *added, void **summary, ls_error *err) {
    *added = 0;
    if (summary) *summary = NULL;
    if (n_dirs < 1) return USAGE(ls_fail(err, "no sweep folders to merge"));
    cJSON **records = calloc((size_t)n_dirs, sizeof *records);
    ls_store **stores = calloc((size_t)n_dirs, sizeof *stores);
    cJSON *first = NULL, *out_record = NULL;
    ls_sweep_dir *dir = NULL;
    ls_store *out = NULL;
    const char **rows = NULL;
    merged m = {.by_key = cJSON_CreateObject()};
    int rc = records && stores && m.by_key ? 0 : ls_fail(err, "out of memory");
    for (int i = 0; rc == 0 && i < n_dirs; i++) rc = load(dirs[i], &records[i], &stores[i], err);
    if (rc == 0) {
        first = identity_only(records[0]);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(first, "identity");
        const cJSON *plan = cJSON_GetObjectItemCaseSensitive(id, "plan");
        const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(id, "lesion"), "seeds");
        m.n_configs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plan, "labels"));
        m.n_seeds = cJSON_IsNumber(seeds) ? seeds->valueint : 0;
        if (m.n_configs < 1 || m.n_seeds < 1) rc = USAGE(ls_fail(err, "%s/sweep.json: no plan or seeds", dirs[0]));
    }
    for (int i = 1; rc == 0 && i < n_dirs; i++) {
        char why[512];
        cJSON *other = identity_only(records[i]);
        if (ls_sweep_record_diff(first, other, why, sizeof why) != 0)
            rc = USAGE(ls_fail(err, "%s and %s are different sweeps: %s", dirs[0], dirs[i], why));
        cJSON_Delete(other);
    }
    for (int i = 0; rc == 0 && i < n_dirs; i++) rc = add_store(&m, stores[i], dirs[i], err);

    /* The merged folder: locked, the same identity or empty (or forced), then its own rows checked too. */
    if (rc == 0) {
        out_record = cJSON_Duplicate(first, 1);
        cJSON_ReplaceItemInObjectCaseSensitive(out_record, "command", cJSON_CreateString(command ? command : "lesion merge"));
        if (ls_sweep_dir_open(&dir, out_dir, err) != 0) rc = -1;
    }
    if (rc == 0) {
        ls_sweep_dir_outcome outcome;
        if (ls_sweep_dir_prepare(dir, out_record, force, &outcome, err) != 0) rc = outcome.refused ? LS_SWEEP_USAGE : -1;
    }
    int dropped;
    if (rc == 0 && ls_sweep_dir_store(dir, &out, &dropped, err) != 0) rc = -1;
    if (rc == 0) rc = add_store(&m, out, out_dir, err);
    /* Appended in row order, each with its original line (timing included). */
    for (int c = 0; rc == 0 && c < m.n_configs; c++)
        for (int s = 0; rc == 0 && s < (c ? m.n_seeds : 1); s++) {
            char key[64];
            ls_sweep_row_key(key, sizeof key, c, s);
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(m.by_key, key);
            if (!e || ls_store_has(out, key)) continue;
            if (ls_store_append(out, key, cJSON_GetObjectItemCaseSensitive(e, "line")->valuestring, err) != 0) rc = -1;
            else ++*added;
        }
    if (rc == 0) {
        int n = ls_store_count(out);
        if (!(rows = malloc((size_t)n * sizeof *rows + 1))) rc = ls_fail(err, "out of memory");
        for (int i = 0; rc == 0 && i < n; i++) rows[i] = ls_store_row(out, i);
        if (rc == 0 && ls_sweep_write_outputs(out_dir, ls_sweep_dir_record(dir), rows, n, summary, err) != 0) rc = -1;
    }
    free(rows);
    ls_store_close(out);
    ls_sweep_dir_close(dir);
    cJSON_Delete(out_record);
    cJSON_Delete(first);
    cJSON_Delete(m.by_key);
    for (int i = 0; i < n_dirs; i++) {
        if (records) cJSON_Delete(records[i]);
        if (stores) ls_store_close(stores[i]);
    }
    free(records);
    free(stores);
    return rc;
}
