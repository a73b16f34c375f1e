/* fuzz_lesion_spec.c: the lesion spec grammar and options, typed by hand.
 *
 * Input: one flags byte, then up to four strings separated by NUL bytes:
 * spec, mode, match, rng (a missing string is NULL, i.e. the default).
 * Flags: bit 0 with_bias, bits 1-3 the seed.
 *
 * ls_lesion_parse must accept or fail with a one-line message that quotes
 * nothing beyond the input. When it accepts, on a small config (3 layers,
 * 4 heads, n_embd 8, context 5, vocab 11):
 *   - the canonical text (ls_spec_format) parses back to the same text;
 *   - ls_lesion_format fits any buffer size without overrunning it;
 *   - every rectangle of ls_lesion_rects lies inside its tensor, and
 *     rectangles do not overlap;
 *   - applying the lesion to an overlay leaves the clean weights untouched
 *     and reset gives back the clean view pointer for pointer.
 * The spec is also parsed against GPT-2 XL's shape (48 layers, 25 heads,
 * n_embd 1600), which needs no weights. */
#include "fuzz_util.h"

static ls_config small, xl; /* GPT-2 shapes: 3 layers x 4 heads, C 8; and GPT-2 XL (LLVMFuzzerInitialize) */
static int n_tensors;
static float **clean_data, **pristine;
static const float **clean_ptrs;
static int64_t *numel;
static ls_weights clean;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    small = ls_config_gpt2(3, 4, 8, 5, 11);
    xl = ls_config_gpt2(48, 25, 1600, 1024, 50257);
    n_tensors = ls_tensor_count(&small);
    clean_data = calloc((size_t)n_tensors, sizeof *clean_data);
    pristine = calloc((size_t)n_tensors, sizeof *pristine);
    clean_ptrs = calloc((size_t)n_tensors, sizeof *clean_ptrs);
    numel = calloc((size_t)n_tensors, sizeof *numel);
    for (int id = 0; id < n_tensors; id++) {
        ls_tensor_info info;
        ls_tensor_expected(&small, id, &info);
        if (!info.n_elems || info.alias_of >= 0) continue; /* absent; the tied output is set below */
        numel[id] = info.n_elems;
        clean_data[id] = malloc((size_t)info.n_elems * sizeof(float));
        pristine[id] = malloc((size_t)info.n_elems * sizeof(float));
        for (int64_t i = 0; i < info.n_elems; i++)
            clean_data[id][i] = (float)((double)(ls_mix64((uint64_t)id, (uint64_t)i) >> 11) * 0x1p-53 - 0.5);
        memcpy(pristine[id], clean_data[id], (size_t)info.n_elems * sizeof(float));
        clean_ptrs[id] = clean_data[id];
    }
    clean_ptrs[LS_OUTPUT] = clean_data[LS_EMBED];
    clean = (ls_weights){.cfg = &small, .t = clean_ptrs};
    return 0;
}

static void check_message(const ls_error *err) {
    FUZZ_CHECK(err->msg[0] && strchr(err->msg, '\n') == NULL, "error message empty or not one line: %s", err->msg);
}

static void check_format_roundtrip(const ls_spec *s, const ls_config *cfg) {
    char text[4096], again[4096];
    int n = ls_spec_format(s, text, sizeof text);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof text, "format length %d", n);
    FUZZ_CHECK(ls_spec_format(s, NULL, 0) == n, "format length depends on the buffer");
    ls_spec back;
    ls_error err = {{0}};
    FUZZ_CHECK(ls_spec_parse(&back, cfg, text, &err) == 0, "canonical text \"%s\" does not parse: %s", text, err.msg);
    ls_spec_format(&back, again, sizeof again);
    FUZZ_CHECK(strcmp(text, again) == 0, "\"%s\" reparses as \"%s\"", text, again);
}

static void check_rects(const ls_lesion *l) {
    ls_rect *r = NULL;
    int n = 0;
    ls_error err = {{0}};
    FUZZ_CHECK(ls_lesion_rects(l, &small, &r, &n, &err) == 0, "rects of a parsed lesion: %s", err.msg);
    FUZZ_CHECK(n > 0, "a lesion with no rectangles");
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(r[i].id >= 0 && r[i].id < n_tensors, "rect %d: tensor id %d", i, r[i].id);
        ls_tensor_info info;
        ls_tensor_expected(&small, r[i].id, &info);
        int64_t rows = info.ndim == 2 ? info.shape[0] : 1, cols = info.ndim == 2 ? info.shape[1] : info.shape[0];
        FUZZ_CHECK(r[i].row0 >= 0 && r[i].rows > 0 && r[i].row0 + r[i].rows <= rows && r[i].col0 >= 0 &&
                       r[i].cols > 0 && r[i].col0 + r[i].cols <= cols,
                   "rect %d [%lld+%lld, %lld+%lld] outside %s (%lld, %lld)", i, (long long)r[i].row0,
                   (long long)r[i].rows, (long long)r[i].col0, (long long)r[i].cols, info.name, (long long)rows,
                   (long long)cols);
        for (int j = 0; j < i; j++)
            if (r[j].id == r[i].id)
                FUZZ_CHECK(r[j].row0 + r[j].rows <= r[i].row0 || r[i].row0 + r[i].rows <= r[j].row0 ||
                               r[j].col0 + r[j].cols <= r[i].col0 || r[i].col0 + r[i].cols <= r[j].col0,
                           "rects %d and %d overlap in %s", j, i, info.name);
    }
    free(r);
}

static void check_overlay(const ls_lesion *l) {
    ls_overlay *ov = ls_overlay_new(&clean);
    FUZZ_CHECK(ov != NULL, "overlay");
    ls_error err = {{0}};
    int rc = ls_overlay_apply(ov, l, &err);
    if (rc != 0) check_message(&err); /* e.g. rng torch on a non-rectangular group */
    else FUZZ_CHECK(ls_overlay_apply(ov, l, &err) == 0, "a lesion applied once fails the second time: %s", err.msg);
    ls_weights v = ls_overlay_view(ov);
    for (int id = 0; id < n_tensors; id++) {
        float acc = 0;
        for (int64_t i = 0; i < numel[id]; i++) acc += v.t[id][i];
        (void)acc;
    }
    ls_overlay_reset(ov);
    v = ls_overlay_view(ov);
    for (int id = 0; id < n_tensors; id++) FUZZ_CHECK(v.t[id] == clean_ptrs[id], "reset left tensor %d lesioned", id);
    FUZZ_CHECK(ls_overlay_bytes(ov) == 0, "reset kept %zu bytes", ls_overlay_bytes(ov));
    ls_overlay_free(ov);
    for (int id = 0; id < n_tensors; id++)
        FUZZ_CHECK(numel[id] == 0 || memcmp(clean_data[id], pristine[id], (size_t)numel[id] * sizeof(float)) == 0,
                   "clean tensor %d was written", id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    int flags = data[0];
    /* Copy into a NUL-terminated buffer and split into at most four strings. */
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *part[4] = {NULL, NULL, NULL, NULL};
    size_t at = 0;
    for (int k = 0; k < 4 && at < size; k++) {
        part[k] = buf + at;
        at += strlen(buf + at) + 1;
    }
    const char *spec = part[0] ? part[0] : "";
    int with_bias = flags & 1;
    uint64_t seed = (uint64_t)(flags >> 1 & 7);

    ls_lesion l;
    ls_error err = {{0}};
    if (ls_lesion_parse(&l, &small, spec, part[1], part[2], with_bias, seed, part[3], &err) != 0) {
        check_message(&err);
    } else {
        check_format_roundtrip(&l.spec, &small);
        char line[512];
        int n = ls_lesion_format(&l, line, sizeof line);
        FUZZ_CHECK(n > 0 && (size_t)n < sizeof line, "lesion format length %d", n);
        for (size_t cap = 0; cap < (size_t)n + 2; cap += 7) {
            char *tiny = malloc(cap ? cap : 1);
            int m = ls_lesion_format(&l, cap ? tiny : NULL, cap);
            FUZZ_CHECK(m == n && (cap == 0 || strlen(tiny) < cap), "format into %zu bytes", cap);
            free(tiny);
        }
        check_rects(&l);
        check_overlay(&l);
    }
    ls_spec s;
    if (ls_spec_parse(&s, &xl, spec, &err) == 0) check_format_roundtrip(&s, &xl);
    else check_message(&err);
    free(buf);
    return 0;
}
