/* probe_labels.c: what a probe is asked to predict at each position.
 *
 * The tasks of include/lesion/probe.h take their labels from the text, so a
 * probe needs no labelled data set: the previous token or the current one
 * (among the most frequent tokens of the train text, so that every class
 * has examples to learn from and the classifier stays small), or the
 * position in the window. A user's own labels come from a file with one
 * line per token. Labels are class numbers, -1 where a position is left
 * out; positions are laid out in the same disjoint windows the probe runs. */
#include <lesion.h>

#include <stdlib.h>
#include <string.h>

static const char *const task_names[] = {"prev-token", "token", "position", "labels"};

int ls_probe_task_parse(const char *name, ls_probe_task *out, ls_error *err) {
    for (int i = 0; i < (int)(sizeof task_names / sizeof task_names[0]); i++)
        if (strcmp(name, task_names[i]) == 0) {
            *out = (ls_probe_task)i;
            return 0;
        }
    return ls_fail(err, "unknown probe task \"%s\" (expected prev-token, token, position or labels)", name);
}

const char *ls_probe_task_name(ls_probe_task task) {
    return (unsigned)task < sizeof task_names / sizeof task_names[0] ? task_names[task] : "?";
}

int ls_probe_top_tokens(const int32_t *tokens, int64_t n, int vocab_size, int top, int32_t *class_of,
                        int32_t *class_ids) {
    int64_t *count = calloc((size_t)vocab_size, sizeof *count);
    for (int v = 0; v < vocab_size; v++) class_of[v] = -1;
    if (!count) return 0; /* ls_probe_new checks for zero classes */
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] >= 0 && tokens[i] < vocab_size) count[tokens[i]]++;
    /* top passes of a linear scan: top is small (tens), V is thousands. */
    int k = 0;
    for (; k < top; k++) {
        int best = -1;
        for (int v = 0; v < vocab_size; v++)
            if (class_of[v] < 0 && count[v] > 0 && (best < 0 || count[v] > count[best])) best = v;
        if (best < 0) break;
        class_of[best] = k;
        if (class_ids) class_ids[k] = best;
    }
    free(count);
    return k;
}

void ls_probe_derive_labels(ls_probe_task task, const int32_t *tokens, int64_t n, int ctx, const int32_t *class_of,
                            int buckets, int32_t *labels) {
    for (int64_t i = 0; i < n; i++) {
        int t = (int)(i % ctx);
        switch (task) {
        case LS_PROBE_PREV_TOKEN: labels[i] = t == 0 ? -1 : class_of[tokens[i - 1]]; break;
        case LS_PROBE_TOKEN: labels[i] = class_of[tokens[i]]; break;
        case LS_PROBE_POSITION: labels[i] = (int32_t)((int64_t)t * buckets / ctx); break;
        default: labels[i] = -1; break;
        }
    }
}

void ls_label_names_free(ls_label_names *names) {
    for (int i = 0; i < names->n; i++) free(names->name[i]);
    free(names->name);
    memset(names, 0, sizeof *names);
}

/* The class of a name, added at the end if new; -1 when out of memory. */
static int32_t class_of_name(ls_label_names *names, const char *s, size_t len) {
    for (int i = 0; i < names->n; i++)
        if (strlen(names->name[i]) == len && memcmp(names->name[i], s, len) == 0) return i;
    if (names->n == names->cap) {
        int cap = names->cap ? 2 * names->cap : 16;
        char **grown = realloc(names->name, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        names->name = grown;
        names->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, s, len);
    copy[len] = 0;
    names->name[names->n] = copy;
    return names->n++;
}

int ls_probe_labels_parse(const char *text, size_t len, int64_t n_tokens, ls_label_names *names, int32_t *labels,
                          ls_error *err) {
    int64_t line = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl != NULL);
        if (n > 0 && s[n - 1] == '\r') n--;
        line++;
        if (n == 0) return ls_fail(err, "line %lld is empty (expected a label, or - to leave the token out)",
                                   (long long)line);
        if (memchr(s, '\t', n) || memchr(s, '\0', n))
            return ls_fail(err, "line %lld: a label may not contain tabs or NUL bytes", (long long)line);
        if (line > n_tokens) continue; /* counted for the message below */
        if (n == 1 && s[0] == '-') {
            labels[line - 1] = -1;
        } else {
            int32_t c = class_of_name(names, s, n);
            if (c < 0) return ls_fail(err, "out of memory");
            labels[line - 1] = c;
        }
    }
    if (line != n_tokens)
        return ls_fail(err, "%lld lines, expected one per token of the text: %lld", (long long)line,
                       (long long)n_tokens);
    return 0;
}
