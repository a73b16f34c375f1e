/* sweep_rows.c: one row of a sweep, as results.jsonl holds it.
 *
 * A row is one configuration measured with one noise seed; its key
 * "c<config>-s<seed index>" is what a resumed sweep looks up to skip work.
 * The clean configuration (0) has one row; every other has one per seed. */
#include <lesion.h>

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>

void ls_sweep_row_key(char *buf, size_t cap, int config, int seed_index) {
    snprintf(buf, cap, "c%d-s%d", config, seed_index);
}

int ls_sweep_rows_done(const ls_store *s, int n_configs, int n_seeds) {
    int done = 0;
    char key[64];
    for (int c = 0; c < n_configs; c++)
        for (int k = 0; k < (c ? n_seeds : 1); k++) {
            ls_sweep_row_key(key, sizeof key, c, k);
            done += ls_store_has(s, key);
        }
    return done;
}

char *ls_sweep_row_json(const ls_sweep_row_id *id, const ls_damage_row *r, double secs, const char *const *samples,
                        int n_samples) {
    cJSON *o = cJSON_CreateObject();
    char key[64], seed[32];
    ls_sweep_row_key(key, sizeof key, id->config, id->seed_index);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddNumberToObject(o, "config", id->config);
    cJSON_AddStringToObject(o, "label", id->label);
    cJSON_AddStringToObject(o, "spec", id->spec);
    cJSON_AddNumberToObject(o, "seed_index", id->seed_index);
    /* below 2^53 a number (as before); a string keeps larger seeds exact */
    if (id->lesion_seed < (1ull << 53)) cJSON_AddNumberToObject(o, "lesion_seed", (double)id->lesion_seed);
    else snprintf(seed, sizeof seed, "%llu", (unsigned long long)id->lesion_seed), cJSON_AddStringToObject(o, "lesion_seed", seed);
    cJSON_AddNumberToObject(o, "cross_entropy", r->cross_entropy);
    cJSON_AddNumberToObject(o, "perplexity", r->perplexity);
    cJSON_AddNumberToObject(o, "kl", r->kl);
    cJSON_AddNumberToObject(o, "top1", r->top1);
    cJSON_AddNumberToObject(o, "gen_ppl", r->gen_ppl);
    cJSON_AddNumberToObject(o, "rep4", r->rep4);
    cJSON_AddNumberToObject(o, "distinct2", r->distinct2);
    /* Per-layer measurements: arrays of L numbers (summary.c aggregates them per layer). */
    if (r->attn_entropy && r->n_layer > 0) {
        cJSON *ae = cJSON_AddArrayToObject(o, "attn_entropy");
        for (int l = 0; l < r->n_layer; l++)
            cJSON_AddItemToArray(ae, isfinite(r->attn_entropy[l]) ? cJSON_CreateNumber(r->attn_entropy[l]) : cJSON_CreateNull());
    }
    if (id->probe_task) { /* held-out probe accuracy per site, of this row's model */
        cJSON *pj = cJSON_AddObjectToObject(o, "probe");
        cJSON_AddStringToObject(pj, "task", id->probe_task);
        cJSON *sites = cJSON_AddArrayToObject(pj, "sites"), *acc = cJSON_AddArrayToObject(pj, "accuracy");
        for (int i = 0; i < id->n_probe_sites; i++) {
            cJSON_AddItemToArray(sites, cJSON_CreateString(id->probe_sites[i]));
            cJSON_AddItemToArray(acc, cJSON_CreateNumber(id->probe_accuracy[i]));
        }
    }
    cJSON_AddNumberToObject(o, "first_layer", r->first_layer);
    cJSON_AddNumberToObject(o, "secs", secs);
    cJSON *s = cJSON_AddArrayToObject(o, "samples");
    for (int p = 0; p < n_samples; p++) cJSON_AddItemToArray(s, cJSON_CreateString(samples[p]));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}
