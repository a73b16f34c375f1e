/* interventions.h: the activation-intervention flags (--ablate, --patch)
 * shared by every command that runs the model: parses the sites, gathers
 * what mean/resample/patch need, and hands out the hooks. */
#ifndef LESION_CLI_INTERVENTIONS_H
#define LESION_CLI_INTERVENTIONS_H
#include "cli/weights.h"

#define CLI_INTERVENTION_OPTS                                                                                       \
    {"ablate", "SITE", "ablate an activation (repeatable), e.g. attn.z@L1H2, resid_post@L3P5: see --ablate-mode"}, \
    {"ablate-mode", "MODE", "zero (default), mean (over --reference) or resample (from another position of it)"},  \
    {"reference", "F", "reference text of mean and resample ablations (default: the model's heldout.txt)"},        \
    {"ablate-seed", "S", "seed of resample ablation (default 0)"},                                                \
    {"patch", "SITE", "replace an activation by its value in a run on --from-prompt / --from-ids (repeatable)"},   \
    {"from-prompt", "TEXT", "the source input of --patch (as many tokens as the input)"},                          \
    {"from-ids", "IDS", "the source input of --patch, as token ids"}

typedef struct cli_interventions {
    ls_interventions *iv; /* always made, so a command may add record rules */
    int n_active;         /* ablate and patch rules */
} cli_interventions;

/* Parses the flags, and runs once what the rules need (the reference text
 * for mean/resample, the source for patch) on w's clean weights. target_len
 * > 0: the input's length, which a patch source must match. Returns 0 or
 * the exit status after printing the error. */
int cli_interventions_build(const cli_args *a, const ls_model *m, const ls_tokenizer *tok, const cli_weights *w,
                            int target_len, int n_threads, cli_interventions *out);
/* Whether the flags need the tokenizer (a --from-prompt, or a reference text to tokenize). */
int cli_interventions_need_tokenizer(const cli_args *a);
/* Installs the hooks on s when there is anything to run (0, or 1 after printing an error). */
int cli_interventions_install(const cli_args *a, cli_interventions *ci, ls_state *s);
void cli_interventions_free(cli_interventions *ci);

#endif
