/* sweep_table.c: a sweep's summary as a terminal table.
 *
 * Ordered plans (cumulative, reverse) are a series, printed whole. Unordered
 * ones (single, heads, dims, plan files) can run to hundreds of rows, most
 * of them near zero: the clean model and the top N by KL are printed,
 * ranked, each with its interval, and the count of the rest. */
#include "cli/sweep_table.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double field(const cJSON *cfg, const char *metric, const char *f) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "metrics"), metric), f);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* "81.44 [81.40, 81.48]", or "81.44" with no interval. */
static void with_interval(char *buf, size_t cap, const cJSON *cfg, const char *metric, const char *fmt) {
    char c[32], lo[32], hi[32];
    snprintf(c, sizeof c, fmt, field(cfg, metric, "center"));
    double l = field(cfg, metric, "lo"), h = field(cfg, metric, "hi");
    if (isnan(l) || isnan(h)) {
        snprintf(buf, cap, "%s", c);
        return;
    }
    snprintf(lo, sizeof lo, fmt, l);
    snprintf(hi, sizeof hi, fmt, h);
    snprintf(buf, cap, "%s [%s, %s]", c, lo, hi);
}

static void print_row(const cJSON *c) {
    char ppl[128], kl[128], top[128], sample[64] = "";
    with_interval(ppl, sizeof ppl, c, "perplexity", "%.2f");
    with_interval(kl, sizeof kl, c, "kl", "%.3g");
    with_interval(top, sizeof top, c, "top1", "%.3f");
    const cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "samples"), 0);
    if (cJSON_IsString(s)) {
        snprintf(sample, sizeof sample, "%s", s->valuestring);
        for (char *q = sample; *q; q++)
            if (*q == '\n' || *q == '\r' || *q == '\t') *q = ' ';
    }
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(c, "label"), *band = cJSON_GetObjectItemCaseSensitive(c, "band");
    printf("%-12s %-22s %26s %24s %22s %6.3f  %s\n", cJSON_IsString(label) ? label->valuestring : "?",
           cJSON_IsString(band) ? band->valuestring : "?", ppl, kl, top, field(c, "rep4", "center"), sample);
}

/* One configuration's probe accuracies (centers), one column per site. */
static void print_probe_row(const cJSON *c) {
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(c, "label"), *v;
    const cJSON *ce = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "probe"), "center");
    if (!ce) return;
    printf("%-12s", cJSON_IsString(label) ? label->valuestring : "?");
    cJSON_ArrayForEach(v, ce) {
        if (cJSON_IsNumber(v)) printf(" %5.3f", v->valuedouble);
        else printf(" %5s", "-");
    }
    printf("\n");
}

/* The probe table: configurations x sites, when the sweep probed. */
static void print_probe_table(const cJSON *cfgs, const cJSON *ranking, int top_n) {
    const cJSON *c0 = cJSON_GetArrayItem(cfgs, 0), *pr = cJSON_GetObjectItemCaseSensitive(c0, "probe");
    const cJSON *sites = cJSON_GetObjectItemCaseSensitive(pr, "sites"), *task = cJSON_GetObjectItemCaseSensitive(pr, "task"), *s, *c;
    if (!cJSON_IsArray(sites)) return;
    printf("\nprobe %s: held-out accuracy by site (pre = resid_pre@L0, Ln = resid_post@Ln)\n%-12s",
           cJSON_IsString(task) ? task->valuestring : "?", "lesioned");
    cJSON_ArrayForEach(s, sites) {
        const char *name = cJSON_IsString(s) ? s->valuestring : "?", *at = strstr(name, "@L");
        if (!strncmp(name, "resid_pre@", 10)) printf(" %5s", "pre");
        else printf(" %5s", at ? at + 1 : name);
    }
    printf("\n");
    if (!ranking) {
        cJSON_ArrayForEach(c, cfgs) print_probe_row(c);
        return;
    }
    print_probe_row(c0);
    for (int i = 0; i < cJSON_GetArraySize(ranking) && i < top_n; i++) {
        const cJSON *k = cJSON_GetArrayItem(ranking, i);
        if (cJSON_IsNumber(k)) print_probe_row(cJSON_GetArrayItem(cfgs, k->valueint));
    }
}

void cli_print_sweep_table(const void *summary_json, int top_n) {
    const cJSON *summary = summary_json, *cfgs = cJSON_GetObjectItemCaseSensitive(summary, "configs"), *c;
    const cJSON *ranking = cJSON_GetObjectItemCaseSensitive(summary, "ranking");
    printf("\n%-12s %-22s %26s %24s %22s %6s  %s\n", "lesioned", "band", "perplexity [95% CI]", "KL (nats) [95% CI]",
           "top-1 [95% CI]", "rep-4", "sample (lowest seed, first prompt)");
    if (!ranking) {
        cJSON_ArrayForEach(c, cfgs) print_row(c);
    } else {
        print_row(cJSON_GetArrayItem(cfgs, 0));
        int n = cJSON_GetArraySize(ranking), shown = n < top_n ? n : top_n;
        printf("-- top %d of %d by KL --\n", shown, n);
        for (int i = 0; i < shown; i++) {
            const cJSON *k = cJSON_GetArrayItem(ranking, i);
            if (cJSON_IsNumber(k)) print_row(cJSON_GetArrayItem(cfgs, k->valueint));
        }
        if (n > shown) printf("(%d more: every configuration is in summary.json, results.csv and report.html)\n", n - shown);
    }
    print_probe_table(cfgs, ranking, top_n);
    const cJSON *baseline = cJSON_GetObjectItemCaseSensitive(summary, "baseline");
    if (cJSON_IsString(baseline)) printf("\nbaseline: %s\n", baseline->valuestring);
    const cJSON *partial = cJSON_GetObjectItemCaseSensitive(summary, "partial");
    if (cJSON_IsTrue(partial))
        printf("\npartial: %d of %d rows (the sweep is incomplete or still running)\n",
               cJSON_GetObjectItemCaseSensitive(summary, "rows_present")->valueint,
               cJSON_GetObjectItemCaseSensitive(summary, "rows_expected")->valueint);
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(summary, "seeds");
    int S = cJSON_IsNumber(seeds) ? seeds->valueint : 0;
    if (S == 1) printf("\nOne noise seed per configuration: no intervals (use --seeds 5 or more for them).\n");
    else if (S > 1 && S < 5)
        printf("\nWith %d noise seeds the intervals (and any bootstrap) are rough; 5 or more give usable ones.\n", S);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(summary, "transition");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(tr, "statement");
    if (cJSON_IsString(st)) printf("\n%s\n", st->valuestring);
}

char *cli_command_line(const char *cmd, int argc, char **argv) {
    size_t cap = strlen(cmd) + 16;
    for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 3;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    o += sprintf(o, "lesion %s", cmd);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:@+%", *p)) plain = 0;
        *o++ = ' ';
        if (plain) {
            o += sprintf(o, "%s", a);
            continue;
        }
        *o++ = '\'';
        for (const char *p = a; *p; p++) {
            if (*p == '\'') o += sprintf(o, "'\\''");
            else *o++ = *p;
        }
        *o++ = '\'';
    }
    *o = '\0';
    return out;
}
