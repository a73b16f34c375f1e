/* test_report.c: proves that ls_report_write renders a hand-made summary
 * (three configurations with metric means and intervals, samples, a
 * transition statement and a heads grid) into one self-contained HTML page:
 * it starts with the doctype and ends with </html>, holds the inline SVG
 * plots (heatmap + four line plots), the band table and every sample, escapes
 * text from the summary everywhere it appears (samples, labels, statement,
 * model name), and refers to nothing on the network (the only "http" is the
 * SVG namespace); that it shows the provenance (command, generator,
 * hashes), the partial and rough-interval notes, per-seed dots, the heat
 * map's colour scale and a mark on each head whose cross-entropy differs
 * from clean beyond noise; that an unordered plan is drawn as points in
 * ranking order, never joined; that the comparison page draws one series per
 * sweep and refuses sweeps of different models; that an empty summary still
 * gives a valid page; and that an unwritable path fails with a message. */
#include "test_util.h"

#include <cJSON.h>
#include <unistd.h>

TEST_TMPDIR_FIXTURE(g_dir)

static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void add_metric(cJSON *metrics, const char *name, double mean, double lo, double hi) {
    cJSON *m = cJSON_AddObjectToObject(metrics, name);
    cJSON_AddNumberToObject(m, "center", mean);
    cJSON_AddNumberToObject(m, "mean", mean);
    cJSON_AddNumberToObject(m, "lo", lo);
    cJSON_AddNumberToObject(m, "hi", hi);
    cJSON *v = cJSON_AddArrayToObject(m, "values");
    cJSON_AddItemToArray(v, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(v, cJSON_CreateNumber(hi));
}

static cJSON *make_summary(void) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "model", "models/tiny<&>");
    cJSON_AddStringToObject(s, "plan", "cumulative");
    cJSON_AddStringToObject(s, "target", "attn.v");
    cJSON_AddStringToObject(s, "mode", "zero");
    cJSON_AddNumberToObject(s, "seeds", 3);
    cJSON_AddNumberToObject(s, "eval_tokens", 4096);
    cJSON_AddStringToObject(s, "band_rule", "Bands: first rule that holds.");
    cJSON *pr = cJSON_AddArrayToObject(s, "prompts");
    cJSON_AddItemToArray(pr, cJSON_CreateString("In the beginning"));
    cJSON_AddItemToArray(pr, cJSON_CreateString("And God said"));
    cJSON *cfgs = cJSON_AddArrayToObject(s, "configs");
    const char *labels[3] = {"clean", "L0-1 <k&v>", "L0-3"};
    const char *bands[3] = {"about normal", "meaning lost", "noise"};
    for (int i = 0; i < 3; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", i);
        cJSON_AddStringToObject(c, "label", labels[i]);
        cJSON_AddStringToObject(c, "band", bands[i]);
        cJSON_AddNumberToObject(c, "band_index", i == 2 ? 3 : i);
        cJSON *m = cJSON_AddObjectToObject(c, "metrics");
        add_metric(m, "perplexity", 20 * (1 + 3 * i), 18 * (1 + 3 * i), 22 * (1 + 3 * i));
        add_metric(m, "kl", 0.5 * i, 0.4 * i, 0.6 * i);
        add_metric(m, "top1", 1 - 0.3 * i, 0.95 - 0.3 * i, 1 - 0.25 * i);
        add_metric(m, "gen_ppl", 30 + 100 * i, 25 + 90 * i, 35 + 110 * i);
        add_metric(m, "rep4", 0.05 + 0.1 * i, 0.04 + 0.1 * i, 0.06 + 0.1 * i);
        add_metric(m, "distinct2", 0.9 - 0.2 * i, 0.85 - 0.2 * i, 0.95 - 0.2 * i);
        cJSON *smp = cJSON_AddArrayToObject(c, "samples");
        char a[64], b[64];
        snprintf(a, sizeof a, "sample %d first", i);
        if (i == 1) snprintf(b, sizeof b, "text <b>& more \"quoted\"");
        else snprintf(b, sizeof b, "sample %d second", i);
        cJSON_AddItemToArray(smp, cJSON_CreateString(a));
        cJSON_AddItemToArray(smp, cJSON_CreateString(b));
        cJSON_AddItemToArray(cfgs, c);
    }
    cJSON_AddBoolToObject(s, "ordered", 1);
    cJSON_AddBoolToObject(s, "partial", 1);
    cJSON_AddNumberToObject(s, "rows_present", 7);
    cJSON_AddNumberToObject(s, "rows_expected", 9);
    cJSON *pv = cJSON_AddObjectToObject(s, "provenance");
    cJSON_AddStringToObject(pv, "command", "lesion sweep --target attn.v --mode zero <&>");
    cJSON_AddStringToObject(pv, "rng", "torch-stream");
    cJSON_AddStringToObject(pv, "lesion_seed", "42");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(pv, "model"), "weights_hash", "00112233deadbeef");
    cJSON *ev = cJSON_AddObjectToObject(pv, "eval");
    cJSON_AddStringToObject(ev, "hash", "cafef00d12345678");
    cJSON *tr = cJSON_AddObjectToObject(s, "transition");
    cJSON_AddStringToObject(tr, "statement", "Cross-entropy jumps most between L0-1 and L0-3 (agreement > 0.9 & done).");
    cJSON *heads = cJSON_AddObjectToObject(s, "heads");
    cJSON *grid = cJSON_AddArrayToObject(heads, "kl"), *marks = cJSON_AddArrayToObject(heads, "differs");
    for (int l = 0; l < 2; l++) {
        cJSON *row = cJSON_CreateArray(), *mrow = cJSON_CreateArray();
        for (int h = 0; h < 3; h++) {
            cJSON_AddItemToArray(row, cJSON_CreateNumber(0.1 * (l * 3 + h)));
            cJSON_AddItemToArray(mrow, cJSON_CreateBool(l == 1 && h == 2)); /* one head beyond noise */
        }
        cJSON_AddItemToArray(grid, row);
        cJSON_AddItemToArray(marks, mrow);
    }
    return s;
}

/* Every "http" in the page must be the SVG namespace inside an xmlns attribute. */
static void assert_self_contained(const char *html) {
    for (const char *p = html; (p = strstr(p, "http")); p += 4) {
        const char *ns = "xmlns='http://www.w3.org/2000/svg'";
        if ((size_t)(p - html) < 7 || strncmp(p - 7, ns, strlen(ns)) != 0)
            fail_msg("reference to the network at offset %lld: \"%.60s\"", (long long)(p - html), p);
    }
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "@import"));
}

/* No axis label is a tiny number such as 6.4e-319 (what a missing interval
 * turned into on a log axis before). */
static void assert_sane_axes(const char *html) {
    const char *tag = "text-anchor='end'>";
    for (const char *p = html; (p = strstr(p, tag)); p += strlen(tag)) {
        const char *v = p + strlen(tag), *end = strchr(v, '<');
        if (end && memchr(v, 'e', (size_t)(end - v)) && strstr(v, "e-") && strstr(v, "e-") < end)
            fail_msg("axis label \"%.*s\"", (int)(end - v), v);
    }
}

static void test_report_from_summary(void **state) {
    (void)state;
    cJSON *s = make_summary();
    /* the clean model has no interval (one row): null bounds */
    cJSON *ppl0 = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "configs"), 0), "metrics"),
        "perplexity");
    cJSON_ReplaceItemInObject(ppl0, "lo", cJSON_CreateNull());
    cJSON_ReplaceItemInObject(ppl0, "hi", cJSON_CreateNull());
    char path[256];
    test_path(path, sizeof path, g_dir, "report.html");
    ls_error err = {{0}};
    if (ls_report_write(path, s, &err) != 0) fail_msg("%s", err.msg);
    cJSON_Delete(s);

    size_t len;
    char *html = test_read_all(path, &len);
    assert_int_equal(strlen(html), len);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_true(len > 8 && strcmp(html + len - 8, "</html>\n") == 0);
    int svgs = count_of(html, "<svg");
    if (svgs < 4) fail_msg("%d <svg> elements, expected at least 4", svgs);
    assert_int_equal(svgs, count_of(html, "</svg>"));
    assert_int_equal(svgs, 5); /* heads heatmap + perplexity, KL, top-1, repetition */

    /* Text from the summary is escaped wherever it lands. */
    assert_contains(html, "text &lt;b&gt;&amp; more &quot;quoted&quot;");
    assert_null(strstr(html, "<b>&"));
    assert_contains(html, "models/tiny&lt;&amp;&gt;");
    assert_null(strstr(html, "tiny<&>"));
    assert_contains(html, "L0-1 &lt;k&amp;v&gt;");
    assert_null(strstr(html, "<k&v>"));
    assert_contains(html, "agreement &gt; 0.9 &amp; done");

    /* Everything else that should be there. */
    assert_contains(html, "In the beginning");
    assert_contains(html, "And God said");
    for (int i = 0; i < 3; i++) {
        char a[32];
        snprintf(a, sizeof a, "sample %d first", i);
        assert_contains(html, a);
    }
    assert_contains(html, "Bands: first rule that holds.");
    assert_contains(html, "meaning lost");
    assert_contains(html, "class='b3'"); /* the noise row's band colour */
    assert_contains(html, "3 noise seeds");
    assert_contains(html, "4096 held-out tokens");
    assert_contains(html, "L1 H2: KL 0.5; cross-entropy differs from clean beyond noise");
    assert_int_equal(count_of(html, "differs from clean beyond noise"), 1); /* one marked head */
    assert_contains(html, "A dot marks a head"); /* the mark is explained */
    assert_contains(html, "linearGradient id='klscale'"); /* the heat map's colour scale */
    /* Provenance, escaped; the partial and rough notes. */
    assert_contains(html, "lesion sweep --target attn.v --mode zero &lt;&amp;&gt;");
    assert_contains(html, "torch-stream");
    assert_contains(html, "00112233deadbeef");
    assert_contains(html, "cafef00d12345678");
    assert_contains(html, "Partial: 7 of 9 rows");
    assert_contains(html, "3 noise seeds per configuration: the intervals and the transition's bootstrap are rough");
    /* An ordered plan is a series: lines, and per-seed dots behind them. */
    assert_int_equal(count_of(html, "<polyline"), 4);
    assert_sane_axes(html);
    assert_true(count_of(html, "fill-opacity='.22'") >= 4 * 3 * 2);
    assert_self_contained(html);
    free(html);

    /* Atomic write: nothing else was left in the directory. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
}

/* An unordered plan: points with interval bars in ranking order, never lines. */
static void test_report_unordered_is_points(void **state) {
    (void)state;
    cJSON *s = make_summary();
    cJSON_ReplaceItemInObject(s, "ordered", cJSON_CreateBool(0));
    cJSON_ReplaceItemInObject(s, "seeds", cJSON_CreateNumber(1));
    cJSON *rank = cJSON_AddArrayToObject(s, "ranking");
    cJSON_AddItemToArray(rank, cJSON_CreateNumber(2));
    cJSON_AddItemToArray(rank, cJSON_CreateNumber(1));
    char path[256];
    test_path(path, sizeof path, g_dir, "points.html");
    ls_error err = {{0}};
    if (ls_report_write(path, s, &err) != 0) fail_msg("%s", err.msg);
    cJSON_Delete(s);
    char *html = test_read_all(path, NULL);
    assert_int_equal(count_of(html, "<polyline"), 0);
    assert_int_equal(count_of(html, "<polygon"), 0);
    assert_contains(html, "sorted by KL: center and 95% interval bar");
    assert_contains(html, "One noise seed per configuration: no intervals");
    /* x order: clean, then the ranking (L0-3 before L0-1) */
    const char *a = strstr(html, ">L0-3</text>"), *b = strstr(html, ">L0-1 &lt;k&amp;v&gt;</text>");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(html);
}

/* Several sweeps on one page: one series each; refused for different models. */
static void test_compare(void **state) {
    (void)state;
    cJSON *a = make_summary(), *b = make_summary();
    const void *both[2] = {a, b};
    const char *names[2] = {"attn-q", "mlp-fc"};
    char path[256];
    test_path(path, sizeof path, g_dir, "compare.html");
    ls_error err = {{0}};
    if (ls_report_compare_write(path, both, names, 2, &err) != 0) fail_msg("%s", err.msg);
    char *html = test_read_all(path, NULL);
    assert_int_equal(count_of(html, "<svg"), 4);
    assert_int_equal(count_of(html, "<polyline"), 8); /* 4 plots x 2 series */
    assert_contains(html, "attn-q: perplexity");
    assert_contains(html, "mlp-fc: KL");
    free(html);
    cJSON *pv = cJSON_GetObjectItemCaseSensitive(b, "provenance");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItemCaseSensitive(pv, "model"), "weights_hash", cJSON_CreateString("ffff"));
    test_path(path, sizeof path, g_dir, "refused.html");
    assert_int_equal(ls_report_compare_write(path, both, names, 2, &err), -1);
    assert_contains(err.msg, "different models");
    assert_int_equal(access(path, F_OK), -1);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_report_from_empty_summary(void **state) {
    (void)state;
    cJSON *s = cJSON_CreateObject();
    char path[256];
    test_path(path, sizeof path, g_dir, "empty.html");
    ls_error err = {{0}};
    if (ls_report_write(path, s, &err) != 0) fail_msg("%s", err.msg);
    cJSON_Delete(s);
    size_t len;
    char *html = test_read_all(path, &len);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_true(len > 8 && strcmp(html + len - 8, "</html>\n") == 0);
    assert_int_equal(count_of(html, "<svg"), 0); /* no data, no plots */
    assert_self_contained(html);
    free(html);
}

static void test_report_unwritable(void **state) {
    (void)state;
    cJSON *s = make_summary();
    char path[256];
    test_path(path, sizeof path, g_dir, "missing/dir/report.html");
    ls_error err = {{0}};
    assert_int_equal(ls_report_write(path, s, &err), -1);
    assert_contains(err.msg, path);
    cJSON_Delete(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_from_summary),
        cmocka_unit_test(test_report_from_empty_summary),
        cmocka_unit_test(test_report_unordered_is_points),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_report_unwritable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
