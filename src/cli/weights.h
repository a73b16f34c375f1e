/* weights.h: the --lesion family of flags, shared by every command that
 * runs the model: parses the specs and builds the overlay view. */
#ifndef LESION_CLI_WEIGHTS_H
#define LESION_CLI_WEIGHTS_H
#include "cli/common.h"

#define CLI_LESION_OPTS                                                                                         \
    {"lesion", "SPEC", "lesion a weight slice, e.g. attn.q@L0, attn.k@L5H2,7, wte@D0-63 (repeatable)"},       \
    {"mode", "MODE", "gauss (default), zero, mean, shuffle, uniform, scale:F"},                                \
    {"match", "tensor|head", "gauss/uniform statistics over the whole slice (default) or per head"},          \
    {"with-bias", NULL, "also lesion the matching bias slice"},                                               \
    {"lesion-seed", "S", "seed of the lesion noise (default 0)"},                                            \
    {"rng", "GEN", "noise generator: philox (default, counter-based), torch[:T], torch-avx512[:T], torch-scalar[:T] (PyTorch 1.13's CPU generator, bit for bit)"}

/* How lesions are applied (--mode, --match, --with-bias, --lesion-seed, --rng). */
typedef struct cli_lesion_opts {
    const char *mode, *match, *rng;
    int with_bias;
    uint64_t seed;
} cli_lesion_opts;

/* The weights a command runs: the clean view, or an overlay of lesions on it. */
typedef struct cli_weights {
    ls_overlay *overlay; /* NULL when no --lesion was given */
    ls_weights clean;    /* what the overlay reads (it keeps a pointer to it) */
    ls_weights view;
    cli_lesion_opts opts;           /* as given, for reports */
    const char *specs[CLI_MAX_VALUES];
    int n_specs;
} cli_weights;

/* Reads the lesion flags; 0, or 2 after printing a usage error. */
int cli_lesion_opts_parse(const cli_args *a, cli_lesion_opts *o);
/* A clean view with an (empty) overlay ready for lesions. */
int cli_weights_init(cli_weights *w, const ls_model *m, ls_error *err);
/* Applies one spec, or several separated by ';' or spaces, on top of what is applied. */
int cli_weights_apply(cli_weights *w, const ls_model *m, const char *specs, const cli_lesion_opts *o, ls_error *err);
/* Undoes every lesion: the view is the clean model again, bitwise. */
void cli_weights_reset(cli_weights *w, const ls_model *m);

/* Builds the view from the --lesion flags. Returns 0, or the exit status after printing the error. */
int cli_weights_build(const cli_args *a, const ls_model *m, cli_weights *out);
void cli_weights_free(cli_weights *w);
/* Describes each lesioned slice (spec, mode, statistics before and after):
 * into json (a cJSON object, key "lesions") if given, else as a table on stdout. */
void cli_weights_report(const cli_weights *w, const ls_model *m, void *json);

#endif
