/* fuzz_sweep_rows.c: the rows a resumed sweep reads back from results.jsonl.
 *
 * results.jsonl may have been edited by hand, or come from another version;
 * the store only guarantees that each row is a JSON object with a "key".
 * The input is split into lines (the first byte picks the plan shape) and
 * each line becomes a row; ls_sweep_summarize must return a summary or fail
 * with a message, and the summary must render with ls_report_write into a
 * whole HTML document. Rows with missing, non-numeric, fractional or
 * out-of-range "config" / "seed_index" must be ignored, not cast. */
#include "fuzz_util.h"

#include <cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1 << 16) return 0;
    int flags = data[0];
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    const char *rows[256];
    int n = 0;
    for (char *line = text, *nl; line && n < 256; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        rows[n++] = line;
    }
    static const char *const prompts[] = {"And God said", "In the beginning"};
    static const char *const labels[] = {"clean", "L0", "L0-1", "L0-2"};
    static const char *const specs[] = {"", "attn.q@L0", "attn.q@L0-1", "attn.q@L0-2"};
    static const char *const head_labels[] = {"clean", "L0H0", "L0H1", "L0H2"};
    static const char *const head_specs[] = {"", "attn.q@L0H0", "attn.q@L0H1", "attn.q@L0H2"};
    int heads = flags & 2;
    ls_sweep_meta meta = {
        .model = "models/kjv-gpt2", .plan = heads ? "heads" : "cumulative", .target = "attn.q", .mode = "gauss",
        .match = "tensor", .n_seeds = 1 + (flags >> 2 & 3), .eval_tokens = 256, .prompts = prompts,
        .n_prompts = 2, .labels = heads ? head_labels : labels, .specs = heads ? head_specs : specs, .n_configs = 4,
        .ordered = flags & 1 && !heads, .heads_layers = heads ? 1 : 0, .heads_per_layer = heads ? 3 : 0,
    };
    ls_error err = {{0}};
    cJSON *summary = ls_sweep_summarize(&meta, rows, n, &err);
    if (!summary) {
        FUZZ_CHECK(err.msg[0], "summarize failed without a message");
    } else {
        char *json = cJSON_Print(summary);
        FUZZ_CHECK(json != NULL, "summary does not print");
        free(json);
        char path[512], *html = NULL;
        snprintf(path, sizeof path, "%s/report.html", fuzz_scratch());
        if (ls_report_write(path, summary, &err) == 0) {
            size_t len;
            FUZZ_CHECK(ls_read_file(path, &html, &len, &err) == 0, "read back: %s", err.msg);
            FUZZ_CHECK(len > 30 && strncmp(html, "<!DOCTYPE html>", 15) == 0, "report does not start as HTML");
            FUZZ_CHECK(strstr(html, "</html>") != NULL, "report does not end as HTML");
            free(html);
        } else {
            FUZZ_CHECK(err.msg[0], "report failed without a message");
        }
        cJSON_Delete(summary);
    }
    free(text);
    return 0;
}
