/* stats.c: the statistics a sweep reports.
 *
 * Means with Student-t 95% confidence intervals over noise seeds, text
 * metrics of generated token sequences, and the phase transition: the step
 * between consecutive configurations where a metric jumps most, with a
 * bootstrap over seeds to say how sure that location is. */
#include <lesion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 97.5% quantiles of Student's t: a table for 1..30 degrees of freedom, then
 * the Cornish-Fisher expansion around the normal quantile (Abramowitz and
 * Stegun 26.7.5), within 1e-6 of the exact value from df = 30 on. (1.96 for
 * every df > 30 would make intervals up to 4% too narrow.) */
static double t975(int df) {
    static const double t[] = {0,      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201,  2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                               2.074,  2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return 0;
    if (df <= 30) return t[df];
    const double z = 1.959963984540054, z2 = z * z, v = df;
    const double g1 = (z2 + 1) * z / 4, g2 = ((5 * z2 + 16) * z2 + 3) * z / 96,
                 g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384,
                 g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v;
}

ls_summary ls_summarize(const double *x, int n) {
    ls_summary s = {.n = n};
    if (n == 0) return s;
    for (int i = 0; i < n; i++) s.mean += x[i];
    s.mean /= n;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    double half = n > 1 ? t975(n - 1) * s.sd / sqrt((double)n) : 0;
    s.lo = s.mean - half;
    s.hi = s.mean + half;
    return s;
}

const char *ls_scale_name(ls_scale s) {
    static const char *const names[] = {"linear", "log", "sqrt", "angular"};
    return (unsigned)s < 4 ? names[s] : "?";
}

static const double half_pi = 1.57079632679489661923;

static double to_scale(ls_scale s, double x) {
    switch (s) {
    case LS_SCALE_LOG: return log(x);
    case LS_SCALE_SQRT: return sqrt(fmax(x, 0));
    case LS_SCALE_ANGULAR: return asin(sqrt(fmin(fmax(x, 0), 1)));
    default: return x;
    }
}

static double from_scale(ls_scale s, double y) {
    switch (s) {
    case LS_SCALE_LOG: return exp(y);
    case LS_SCALE_SQRT: return y * y;
    case LS_SCALE_ANGULAR: {
        double r = sin(y);
        return r * r;
    }
    default: return y;
    }
}

ls_estimate ls_estimate_on(const double *x, int n, ls_scale scale, double lower) {
    ls_estimate e = {.n = n, .mean = NAN, .sd = NAN, .center = NAN, .lo = NAN, .hi = NAN};
    if (n <= 0) return e;
    ls_summary raw = ls_summarize(x, n);
    e.mean = raw.mean;
    e.sd = raw.sd;
    e.has_interval = n >= 2;
    int same = 1;
    for (int i = 1; i < n; i++) same &= x[i] == x[0];
    if (same) { /* the value itself, not a round trip through the scale */
        e.center = e.lo = e.hi = x[0];
        if (!e.has_interval) e.lo = e.hi = NAN;
        return e;
    }
    if (scale == LS_SCALE_LOG)
        for (int i = 0; i < n; i++)
            if (!(x[i] > 0)) scale = LS_SCALE_LINEAR; /* log needs positive values */
    double my = 0, ss = 0;
    for (int i = 0; i < n; i++) my += to_scale(scale, x[i]);
    my /= n;
    for (int i = 0; i < n; i++) {
        double d = to_scale(scale, x[i]) - my;
        ss += d * d;
    }
    double half = n > 1 ? t975(n - 1) * sqrt(ss / (n - 1)) / sqrt((double)n) : 0, lo = my - half, hi = my + half;
    if (scale == LS_SCALE_SQRT || scale == LS_SCALE_ANGULAR) lo = fmax(lo, 0);
    if (scale == LS_SCALE_ANGULAR) hi = fmin(hi, half_pi);
    e.center = from_scale(scale, my);
    if (e.has_interval) {
        e.lo = from_scale(scale, lo);
        e.hi = from_scale(scale, hi);
        if (scale == LS_SCALE_LINEAR && e.lo < lower) e.lo = lower;
    }
    return e;
}

double ls_repeated_ngram_fraction(const int32_t *ids, int n, int k) {
    int total = n - k + 1;
    if (total <= 0) return 0;
    int repeats = 0;
    for (int i = 1; i < total; i++)
        for (int j = 0; j < i; j++)
            if (memcmp(ids + i, ids + j, (size_t)k * sizeof *ids) == 0) {
                repeats++;
                break;
            }
    return (double)repeats / total;
}

double ls_distinct_ngrams(const int32_t *ids, int n, int k) {
    int total = n - k + 1;
    if (total <= 0) return 0;
    int distinct = 0;
    for (int i = 0; i < total; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = memcmp(ids + i, ids + j, (size_t)k * sizeof *ids) == 0;
        distinct += !seen;
    }
    return (double)distinct / total;
}

ls_transition ls_find_transition(const double *values, int n_configs, int n_seeds, uint64_t seed) {
    /* values: (n_configs, n_seeds) row-major; NaN marks a missing seed. */
    ls_transition tr = {.step = -1};
    if (n_configs < 2) return tr;
    double *mean = calloc((size_t)n_configs, sizeof *mean);
    int *votes = calloc((size_t)n_configs, sizeof *votes);
    double *jumps = malloc(1000 * sizeof *jumps);
    if (!mean || !votes || !jumps) goto out;
    for (int c = 0; c < n_configs; c++) {
        int k = 0;
        for (int s = 0; s < n_seeds; s++)
            if (!isnan(values[c * n_seeds + s])) mean[c] += values[c * n_seeds + s], k++;
        mean[c] = k ? mean[c] / k : NAN;
    }
    for (int c = 1; c < n_configs; c++)
        if (tr.step < 0 || mean[c] - mean[c - 1] > tr.jump) tr.step = c, tr.jump = mean[c] - mean[c - 1];
    /* Bootstrap: resample seeds within each configuration, relocate the jump. */
    const int B = 1000;
    double *boot = malloc((size_t)n_configs * sizeof *boot);
    if (!boot) goto out;
    for (int b = 0; b < B; b++) {
        for (int c = 0; c < n_configs; c++) {
            double sum = 0;
            int k = 0;
            for (int s = 0; s < n_seeds; s++) {
                /* Counter stride max(64, n_seeds): no two (config, seed) draws share a counter. */
                uint64_t stride = n_seeds > 64 ? (uint64_t)n_seeds : 64;
                uint64_t ctr = ((uint64_t)b * (uint64_t)n_configs + (uint64_t)c) * stride + (uint64_t)s;
                int pick = (int)(ls_mix64(seed, ctr) % (uint64_t)n_seeds);
                double v = values[c * n_seeds + pick];
                if (!isnan(v)) sum += v, k++;
            }
            boot[c] = k ? sum / k : mean[c];
        }
        int best = 1;
        for (int c = 2; c < n_configs; c++)
            if (boot[c] - boot[c - 1] > boot[best] - boot[best - 1]) best = c;
        votes[best]++;
        jumps[b] = boot[tr.step] - boot[tr.step - 1];
    }
    free(boot);
    tr.agreement = (double)votes[tr.step] / B;
    /* 95% interval of the jump at the chosen step: 2.5% and 97.5% of the resampled jumps. */
    for (int i = 1; i < B; i++) /* insertion sort: B is small */
        for (int j = i; j > 0 && jumps[j] < jumps[j - 1]; j--) {
            double t = jumps[j];
            jumps[j] = jumps[j - 1];
            jumps[j - 1] = t;
        }
    tr.jump_lo = jumps[(int)(0.025 * B)];
    tr.jump_hi = jumps[(int)(0.975 * B) - 1];
out:
    free(mean);
    free(votes);
    free(jumps);
    return tr;
}
