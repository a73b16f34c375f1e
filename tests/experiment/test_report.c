/* test_report.c: proves that ls_report_write renders a hand-made summary
 * (three configurations with metric means and intervals, samples, a
 * transition statement and a heads grid) into one self-contained HTML page:
 * it starts with the doctype and ends with </html>, holds the inline SVG
 * plots (heatmap + four line plots), the band table and every sample, escapes
 * text from the summary everywhere it appears (samples, labels, statement,
 * model name), and refers to nothing on the network (the only "http" is the
 * SVG namespace); that an empty summary still gives a valid page; and that an
 * unwritable path fails with a message. */
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
    cJSON_AddNumberToObject(m, "mean", mean);
    cJSON_AddNumberToObject(m, "lo", lo);
    cJSON_AddNumberToObject(m, "hi", hi);
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
    cJSON *tr = cJSON_AddObjectToObject(s, "transition");
    cJSON_AddStringToObject(tr, "statement", "Cross-entropy jumps most between L0-1 and L0-3 (agreement > 0.9 & done).");
    cJSON *heads = cJSON_AddObjectToObject(s, "heads");
    cJSON *grid = cJSON_AddArrayToObject(heads, "kl");
    for (int l = 0; l < 2; l++) {
        cJSON *row = cJSON_CreateArray();
        for (int h = 0; h < 3; h++) cJSON_AddItemToArray(row, cJSON_CreateNumber(0.1 * (l * 3 + h)));
        cJSON_AddItemToArray(grid, row);
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

static void test_report_from_summary(void **state) {
    (void)state;
    cJSON *s = make_summary();
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
    assert_contains(html, "L1 H2: KL 0.5");
    assert_self_contained(html);
    free(html);

    /* Atomic write: nothing else was left in the directory. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1);
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
        cmocka_unit_test(test_report_unwritable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
