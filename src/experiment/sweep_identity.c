/* sweep_identity.c: what a sweep is, by content, written as sweep.json.
 *
 * A resumed sweep reuses rows already computed, so it must know that they
 * were computed from the same inputs. Paths are not enough (an eval text
 * edited in place keeps its path), so the identity names every input that
 * changes a number by content:
 *   - the model: XXH64 of model.safetensors, config.json and the tokenizer
 *     files (vocab.json, merges.txt, encoder.json, vocab.bpe, those present);
 *   - the eval text: its hash, and the tokens and window length scored;
 *   - the prompts and the plan themselves (texts, labels and specs), so an
 *     edit of a plan file's comments changes nothing, an edit of a spec does;
 *   - every option that changes rows: weight storage (bf16 only), mode,
 *     match, rng, with-bias, lesion seed, seeds, generated tokens;
 *   - the sweep-wide activation interventions (canonical, mode included)
 *     and, with --probe, the probe's task, text (hashed) and sizes; both
 *     only when used, so older sweeps keep their identity.
 * Not in it: paths, --threads, --batch, --weights f32-copy (no bit of any
 * row depends on them).
 *
 * Hashing a large checkpoint costs about one read of it (GPT-2 XL: 6.2 GB),
 * so sweep.json also keeps each hashed file's stamp (device, inode, size,
 * mtime, ctime): a rerun whose files have the same stamps reuses the hashes
 * without reading the files. docs/sweep.md gives the measured costs. */
#include <lesion.h>

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "lesion-sweep/2"

static void hex64(char out[17], uint64_t h) { snprintf(out, 17, "%016llx", (unsigned long long)h); }

/* The stamps of old's files, looked up by path. */
static const cJSON *old_file(const cJSON *old, const char *path) {
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(old, "inputs"), "files"), *f;
    cJSON_ArrayForEach(f, files) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "path");
        if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0) return f;
    }
    return NULL;
}

static int64_t num64(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strtoll(v->valuestring, NULL, 10) : -1;
}

/* Hashes path (or reuses old's hash when its stamp is unchanged) and records
 * the file in files. 0 or -1. */
static int hash_input(const char *path, const cJSON *old, cJSON *files, char hex[17], ls_error *err) {
    ls_file_stamp now, was;
    if (ls_file_stamp_of(path, &now, err) != 0) return -1;
    const cJSON *f = old_file(old, path), *h = cJSON_GetObjectItemCaseSensitive(f, "hash");
    uint64_t hash = 0;
    if (f && cJSON_IsString(h) && strlen(h->valuestring) == 16) {
        was = (ls_file_stamp){.dev = (uint64_t)num64(f, "dev"), .ino = (uint64_t)num64(f, "ino"), .size = num64(f, "size"),
                              .mtime_ns = num64(f, "mtime_ns"), .ctime_ns = num64(f, "ctime_ns")};
        if (ls_file_stamp_equal(&now, &was)) {
            snprintf(hex, 17, "%s", h->valuestring);
            goto record;
        }
    }
    if (ls_hash_file(path, &now, &hash, err) != 0) return -1;
    hex64(hex, hash);
record:;
    cJSON *e = cJSON_CreateObject();
    char n[32];
    cJSON_AddStringToObject(e, "path", path);
    cJSON_AddStringToObject(e, "hash", hex);
    /* 64-bit values as strings: JSON numbers are doubles */
    snprintf(n, sizeof n, "%llu", (unsigned long long)now.dev), cJSON_AddStringToObject(e, "dev", n);
    snprintf(n, sizeof n, "%llu", (unsigned long long)now.ino), cJSON_AddStringToObject(e, "ino", n);
    snprintf(n, sizeof n, "%lld", (long long)now.size), cJSON_AddStringToObject(e, "size", n);
    snprintf(n, sizeof n, "%lld", (long long)now.mtime_ns), cJSON_AddStringToObject(e, "mtime_ns", n);
    snprintf(n, sizeof n, "%lld", (long long)now.ctime_ns), cJSON_AddStringToObject(e, "ctime_ns", n);
    cJSON_AddItemToArray(files, e);
    return 0;
}

/* The weights' hash: model.safetensors's, or for a sharded checkpoint the
 * index's and every shard's (in the index's order) hashed together. */
static int hash_weights(const char *dir, const cJSON *old, cJSON *files, char hex[17], ls_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ls_file_stamp st;
    ls_error ignore;
    if (ls_file_stamp_of(path, &st, &ignore) == 0) return hash_input(path, old, files, hex, err);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    ls_hasher h;
    ls_hash_init(&h, 0);
    if (hash_input(path, old, files, hex, err) != 0) return -1;
    ls_hash_update(&h, hex, 16);
    char *text;
    size_t len;
    if (ls_read_file(path, &text, &len, err) != 0) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len), *e;
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    char **seen = calloc((size_t)cJSON_GetArraySize(map) + 1, sizeof *seen);
    int n = 0, rc = seen ? 0 : ls_fail(err, "out of memory");
    cJSON_ArrayForEach(e, map) {
        if (rc || !cJSON_IsString(e)) break;
        int dup = 0;
        for (int i = 0; i < n && !dup; i++) dup = !strcmp(seen[i], e->valuestring);
        if (dup) continue;
        seen[n++] = e->valuestring;
        char shard[4400];
        snprintf(shard, sizeof shard, "%s/%s", dir, e->valuestring);
        if ((rc = hash_input(shard, old, files, hex, err)) == 0) ls_hash_update(&h, hex, 16);
    }
    free(seen);
    cJSON_Delete(root);
    if (rc) return -1;
    hex64(hex, ls_hash_final(&h));
    return 0;
}

static cJSON *strings(const char *const *s, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(s[i]));
    return a;
}

void *ls_sweep_record_new(const ls_sweep_inputs *in, const void *old_record, ls_error *err) {
    const cJSON *old = old_record;
    cJSON *r = cJSON_CreateObject(), *id = cJSON_CreateObject(), *inputs = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "format", FORMAT);
    cJSON_AddItemToObject(r, "identity", id);
    cJSON_AddItemToObject(r, "inputs", inputs);
    cJSON *files = cJSON_AddArrayToObject(inputs, "files");
    cJSON_AddStringToObject(inputs, "model", in->model_dir);
    cJSON_AddStringToObject(inputs, "eval", in->eval_path);
    if (in->prompts_path) cJSON_AddStringToObject(inputs, "prompts", in->prompts_path);
    else cJSON_AddNullToObject(inputs, "prompts");
    if (in->plan_path) cJSON_AddStringToObject(inputs, "plan_file", in->plan_path);
    else cJSON_AddNullToObject(inputs, "plan_file");
    cJSON_AddStringToObject(r, "command", in->command ? in->command : "");

    char path[4200], hex[17];
    cJSON *model = cJSON_AddObjectToObject(id, "model");
    if (hash_weights(in->model_dir, old, files, hex, err) != 0) goto fail;
    cJSON_AddStringToObject(model, "weights_hash", hex);
    snprintf(path, sizeof path, "%s/config.json", in->model_dir);
    if (hash_input(path, old, files, hex, err) != 0) goto fail;
    cJSON_AddStringToObject(model, "config_hash", hex);
    /* The tokenizer: the hashes of whichever of its files are present, hashed together. */
    static const char *const tok_files[] = {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "tokenizer.json"};
    ls_hasher th;
    ls_hash_init(&th, 0);
    for (int i = 0; i < 5; i++) {
        ls_file_stamp st;
        ls_error ignore;
        snprintf(path, sizeof path, "%s/%s", in->model_dir, tok_files[i]);
        if (ls_file_stamp_of(path, &st, &ignore) != 0) continue;
        if (hash_input(path, old, files, hex, err) != 0) goto fail;
        ls_hash_update(&th, tok_files[i], strlen(tok_files[i]) + 1);
        ls_hash_update(&th, hex, 16);
    }
    hex64(hex, ls_hash_final(&th));
    cJSON_AddStringToObject(model, "tokenizer_hash", hex);
    cJSON_AddStringToObject(id, "weights", in->weights && strcmp(in->weights, "bf16") == 0 ? "bf16" : "f32");
    cJSON_AddStringToObject(id, "compute", in->compute && strcmp(in->compute, "bf16") == 0 ? "bf16" : "f32");

    cJSON *ev = cJSON_AddObjectToObject(id, "eval");
    if (hash_input(in->eval_path, old, files, hex, err) != 0) goto fail;
    cJSON_AddStringToObject(ev, "hash", hex);
    cJSON_AddNumberToObject(ev, "tokens", (double)in->eval_tokens);
    cJSON_AddNumberToObject(ev, "ctx", in->ctx);

    cJSON *gen = cJSON_AddObjectToObject(id, "generation");
    cJSON_AddItemToObject(gen, "prompts", strings(in->prompts, in->n_prompts));
    cJSON_AddNumberToObject(gen, "tokens", in->gen_tokens);

    const ls_plan *p = in->plan;
    cJSON *pj = cJSON_AddObjectToObject(id, "plan");
    cJSON_AddStringToObject(pj, "kind", ls_plan_kind_name(p->kind));
    if (p->kind != LS_PLAN_FILE) {
        cJSON_AddStringToObject(pj, "target", in->target ? in->target : "attn.q");
        cJSON_AddStringToObject(pj, "layers", in->layers && *in->layers ? in->layers : "all");
        if (p->kind == LS_PLAN_DIMS) cJSON_AddNumberToObject(pj, "dim_block", in->dim_block > 0 ? in->dim_block : 64);
    }
    cJSON_AddItemToObject(pj, "labels", strings((const char *const *)p->labels, p->n));
    cJSON_AddItemToObject(pj, "specs", strings((const char *const *)p->specs, p->n));
    if (p->kind == LS_PLAN_HEADS) {
        cJSON *g = cJSON_AddArrayToObject(pj, "grid_layers");
        for (int i = 0; i < p->grid_rows; i++) cJSON_AddItemToArray(g, cJSON_CreateNumber(p->grid_layers[i]));
        cJSON_AddNumberToObject(pj, "grid_heads", p->grid_cols);
    }

    cJSON *les = cJSON_AddObjectToObject(id, "lesion");
    cJSON_AddStringToObject(les, "mode", in->mode);
    cJSON_AddStringToObject(les, "match", in->match);
    cJSON_AddStringToObject(les, "rng", in->rng);
    cJSON_AddBoolToObject(les, "with_bias", in->with_bias);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->lesion_seed);
    cJSON_AddStringToObject(les, "lesion_seed", seed);
    cJSON_AddNumberToObject(les, "seeds", in->n_seeds);
    /* Only present when used, so that sweeps without them keep their identity. */
    if (in->n_interventions || in->has_resample) {
        cJSON *iv = cJSON_AddObjectToObject(id, "interventions");
        cJSON_AddItemToObject(iv, "sweep_wide", strings(in->interventions, in->n_interventions));
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->ablate_seed);
        if (in->has_resample) cJSON_AddStringToObject(iv, "seed", seed);
        /* a resample draw is keyed by the window's index within its batch */
        if (in->has_resample) cJSON_AddNumberToObject(iv, "batch", in->batch);
    }
    if (in->probe_task) {
        cJSON *pj = cJSON_AddObjectToObject(id, "probe");
        cJSON_AddStringToObject(pj, "task", in->probe_task);
        cJSON_AddStringToObject(inputs, "probe_text", in->probe_path);
        if (hash_input(in->probe_path, old, files, hex, err) != 0) goto fail;
        cJSON_AddStringToObject(pj, "text_hash", hex);
        cJSON_AddNumberToObject(pj, "tokens", (double)in->probe_tokens);
        if (!strcmp(in->probe_task, "position")) cJSON_AddNumberToObject(pj, "buckets", in->probe_buckets);
        else cJSON_AddNumberToObject(pj, "top", in->probe_top);
    }
    return r;
fail:
    cJSON_Delete(r);
    return NULL;
}

int ls_sweep_record_rows(const void *record) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(record, "identity");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(id, "plan"), "labels");
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(id, "lesion"), "seeds");
    int n = cJSON_GetArraySize(labels), s = cJSON_IsNumber(seeds) ? seeds->valueint : 1;
    return n > 0 ? 1 + (n - 1) * s : 0;
}

/* What each identity field is, for the one-line reason of a refusal. */
static const struct {
    const char *path, *what;
} fields[] = {
    {"model.weights_hash", "the model weights changed"},
    {"model.config_hash", "the model's config.json changed"},
    {"model.tokenizer_hash", "the tokenizer files changed"},
    {"weights", "the weight storage differs (--weights bf16 changes the numbers)"},
    {"compute", "the compute mode differs (--compute bf16 changes the numbers)"},
    {"eval.hash", "the eval text changed"},
    {"eval.tokens", "the eval tokens scored differ (--eval-tokens, or a shorter eval text)"},
    {"eval.ctx", "the eval window differs (--ctx)"},
    {"generation.prompts", "the prompts changed"},
    {"generation.tokens", "--gen-tokens differs"},
    {"plan.kind", "the plan differs (--plan / --plan-file)"},
    {"plan.target", "--target differs"},
    {"plan.layers", "--layers differs"},
    {"plan.dim_block", "--dim-block differs"},
    {"plan.labels", "the plan's configurations changed"},
    {"plan.specs", "the plan's lesion specs changed"},
    {"lesion.mode", "--mode differs"},
    {"lesion.match", "--match differs"},
    {"lesion.rng", "--rng differs"},
    {"lesion.with_bias", "--with-bias differs"},
    {"lesion.lesion_seed", "--lesion-seed differs"},
    {"lesion.seeds", "--seeds differs"},
    {"interventions.sweep_wide", "the sweep-wide activation interventions changed (--ablate, --ablate-mode)"},
    {"interventions.seed", "--ablate-seed differs"},
    {"interventions.batch", "--batch differs (resample ablations draw per window of a batch)"},
    {"probe.task", "the probe differs (--probe)"},
    {"probe.text_hash", "the probe text changed"},
    {"probe.tokens", "--probe-tokens differs (or a shorter probe text)"},
    {"probe.top", "--probe-top differs"},
    {"probe.buckets", "--probe-buckets differs"},
};

static const cJSON *at_path(const cJSON *o, const char *path) {
    char key[64];
    const char *dot = strchr(path, '.');
    if (!dot) return cJSON_GetObjectItemCaseSensitive(o, path);
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    return at_path(cJSON_GetObjectItemCaseSensitive(o, key), dot + 1);
}

/* A short rendering of a value for the message ("gauss", 5, [4 items]). */
static void show(const cJSON *v, char *buf, size_t cap) {
    if (!v) snprintf(buf, cap, "none");
    else if (cJSON_IsString(v)) snprintf(buf, cap, "%.40s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%g", v->valuedouble);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "yes" : "no");
    else if (cJSON_IsArray(v)) snprintf(buf, cap, "%d items", cJSON_GetArraySize(v));
    else snprintf(buf, cap, "?");
}

/* "K/N" of a record's shard, or "the whole sweep". */
static void shard_name(const cJSON *shard, char *buf, size_t cap) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(shard, "index"), *n = cJSON_GetObjectItemCaseSensitive(shard, "count");
    if (cJSON_IsNumber(k) && cJSON_IsNumber(n)) snprintf(buf, cap, "%d/%d", k->valueint, n->valueint);
    else snprintf(buf, cap, "the whole sweep");
}

int ls_sweep_record_diff(const void *old_record, const void *now_record, char *why, size_t cap) {
    const cJSON *old = old_record, *now = now_record;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(old, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, FORMAT) != 0) {
        snprintf(why, cap, "it was written by an older lesion, which named inputs by path, not content");
        return 1;
    }
    /* A shard's folder holds only its rows: another shard (or the whole
     * sweep) resuming into it would mix scopes, so the shard counts here,
     * although it is not part of the identity that merge compares. */
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(old, "shard"), *sb = cJSON_GetObjectItemCaseSensitive(now, "shard");
    if ((sa || sb) && !(sa && sb && cJSON_Compare(sa, sb, 1))) {
        char was[64], is[64];
        shard_name(sa, was, sizeof was);
        shard_name(sb, is, sizeof is);
        snprintf(why, cap, "the shard differs (--shard): was %s, now %s", was, is);
        return 1;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, "identity"), *b = cJSON_GetObjectItemCaseSensitive(now, "identity");
    if (cJSON_Compare(a, b, 1)) return 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *x = at_path(a, fields[i].path), *y = at_path(b, fields[i].path);
        if ((!x && !y) || (x && y && cJSON_Compare(x, y, 1))) continue;
        char was[64], is[64];
        if (cJSON_IsArray(x) && cJSON_IsArray(y) && cJSON_GetArraySize(x) == cJSON_GetArraySize(y)) {
            /* the first element that differs, e.g. configuration 3 of the plan */
            int k = 0;
            while (cJSON_Compare(cJSON_GetArrayItem(x, k), cJSON_GetArrayItem(y, k), 1)) k++;
            show(cJSON_GetArrayItem(x, k), was, sizeof was);
            show(cJSON_GetArrayItem(y, k), is, sizeof is);
            snprintf(why, cap, "%s: item %d was \"%s\", now \"%s\"", fields[i].what, k, was, is);
            return 1;
        }
        show(x, was, sizeof was);
        show(y, is, sizeof is);
        if (strstr(fields[i].path, "hash")) {
            /* name the file: the model folder or the eval text as given now */
            const cJSON *in = cJSON_GetObjectItemCaseSensitive(now, "inputs");
            const char *input = !strncmp(fields[i].path, "eval", 4)    ? "eval"
                                : !strncmp(fields[i].path, "probe", 5) ? "probe_text"
                                                                       : "model";
            const cJSON *where = cJSON_GetObjectItemCaseSensitive(in, input);
            snprintf(why, cap, "%s (%.200s): content hash %s, now %s", fields[i].what,
                     cJSON_IsString(where) ? where->valuestring : "?", was, is);
        }
        else snprintf(why, cap, "%s: was %s, now %s", fields[i].what, was, is);
        return 1;
    }
    snprintf(why, cap, "its identity differs");
    return 1;
}
