/* probe.h: linear probes on activations, clean vs lesioned.
 *
 * A probe asks whether a piece of information can be read off an
 * activation by a linear classifier: one is trained on the activations of
 * a train text and scored (accuracy) on those of a held-out test text. The
 * tasks take their labels from the text itself, so no labelled data set is
 * needed:
 *
 *   prev-token  the previous token, among the `top` most frequent tokens of
 *               the train text; positions whose previous token is not among
 *               them are left out. Attention must move it into the current
 *               position: the most direct test of what a Q lesion destroys.
 *   token       the current token, same classes and rule: a control that
 *               needs no attention (the embedding already holds it).
 *   position    the position in the window, in `buckets` equal bins:
 *               bucket = t * buckets / ctx for window position t.
 *   labels      the caller's label per token (ls_probe_labels_parse).
 *
 * A text runs as disjoint windows of ctx tokens, as `lesion attention` and
 * `eval --by-position` run it: window k is tokens [k ctx, (k+1) ctx) (the
 * last one may be shorter), and window position t sees t + 1 tokens. The
 * first position of a window has no previous token (prev-token leaves it
 * out). Classes of the token tasks are counted on the train text only.
 *
 * The classifier is LIBLINEAR's L2-regularised logistic regression over
 * standardised features (ls_classifier below; docs/probes.md says why this
 * solver, scaling and constant, with the measurements). It is
 * deterministic: the same inputs give bitwise the same classifier, whatever
 * the thread count. */
#ifndef LESION_PROBE_H
#define LESION_PROBE_H
#include <lesion.h>

#pragma GCC visibility push(default) /* public API: see lesion.h */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- what a probe reads --------------------------------------------------------
 *
 * Sites in the grammar of sites.h, one vector per position: any per-layer
 * site but attn.pattern, with layer selectors (one probe site per layer)
 * and, on attn.q/k/v/z, head selectors (the selected heads' values side by
 * side). Examples: resid_post@all, attn.z@L1H2, mlp.post@L0-3. */
typedef struct ls_probe_site {
    ls_site site;
    int layer;
    ls_index_set heads; /* attn.* sites: empty means all */
} ls_probe_site;

/* Parses one site spec and appends its sites (one per layer, ascending) to
 * out[*n..], at most max in all; appends nothing on failure. */
int ls_probe_site_parse(const ls_config *cfg, const char *text, ls_probe_site *out, int max, int *n,
                        ls_error *err);
/* "attn.z@L1H2". Returns the length written (as snprintf). */
int ls_probe_site_format(const ls_probe_site *s, char *buf, size_t cap);
/* Features the site gives per position. */
int ls_probe_site_width(const ls_config *cfg, const ls_probe_site *s);

/* ---- tasks and their labels ---------------------------------------------------- */

typedef enum ls_probe_task { LS_PROBE_PREV_TOKEN, LS_PROBE_TOKEN, LS_PROBE_POSITION, LS_PROBE_LABELS } ls_probe_task;

/* "prev-token", "token", "position", "labels". */
int ls_probe_task_parse(const char *name, ls_probe_task *out, ls_error *err);
const char *ls_probe_task_name(ls_probe_task task);

/* The classes of the token tasks: the top most frequent ids of tokens get
 * classes 0..k-1 by decreasing count (ties: lower id first), every other id
 * -1. class_of is (vocab_size); class_ids (top, may be NULL) receives the
 * id of each class. Returns k, which is below top when the text has fewer
 * distinct tokens. */
int ls_probe_top_tokens(const int32_t *tokens, int64_t n, int vocab_size, int top, int32_t *class_of,
                        int32_t *class_ids);

/* labels (n) of every position of tokens laid out in windows of ctx: a
 * class >= 0, or -1 where the task leaves the position out. class_of is
 * used by the token tasks, buckets by position; not for LS_PROBE_LABELS. */
void ls_probe_derive_labels(ls_probe_task task, const int32_t *tokens, int64_t n, int ctx, const int32_t *class_of,
                            int buckets, int32_t *labels);

/* The names of user-supplied classes, in order of first appearance. */
typedef struct ls_label_names {
    char **name;
    int n, cap;
} ls_label_names;
void ls_label_names_free(ls_label_names *names);

/* A labels file: one line per token of the text it labels (in order, the
 * ids `lesion tokenize` prints), each the token's label: any text without
 * tabs or NULs, or "-" to leave the token out. A trailing \r is dropped;
 * an empty line is an error (write "-"); the last newline is optional.
 * Fills labels (n_tokens) with class numbers, adding unseen names to names
 * (shared between a train and a test file, so equal names get equal
 * classes). Fails unless the file has exactly n_tokens lines. */
int ls_probe_labels_parse(const char *text, size_t len, int64_t n_tokens, ls_label_names *names, int32_t *labels,
                          ls_error *err);

/* ---- the classifier (classifier.c) ------------------------------------------- */

/* Multiclass linear classifier: LIBLINEAR's L2-regularised logistic
 * regression (one-vs-rest), with a bias feature, on features standardised
 * to the training set's mean and standard deviation. */
typedef struct ls_classifier ls_classifier;

/* LIBLINEAR's C (inverse regularisation strength) used by the probes:
 * measured in docs/probes.md. */
#define LS_PROBE_C 1.0

/* Trains on x (n, d) with classes y (n), each >= 0; needs two classes at least. */
int ls_classifier_fit(ls_classifier **out, const float *x, const int32_t *y, int64_t n, int d, double C,
                      ls_error *err);
/* pred (n): the class with the highest decision value for each row of x (n, d). */
void ls_classifier_predict(const ls_classifier *c, const float *x, int64_t n, int32_t *pred);
void ls_classifier_free(ls_classifier *c);

/* ---- a whole probe (probe.c) --------------------------------------------------- */

/* A probe needs this many labelled positions in each text at least. */
#define LS_PROBE_MIN_TRAIN 20
#define LS_PROBE_MIN_TEST 10
/* Class numbers of the labels task are below this. */
#define LS_PROBE_MAX_CLASSES (1 << 20)

typedef struct ls_probe_setup {
    ls_probe_task task;
    const int32_t *train_tokens; /* the text the classifiers learn from */
    int64_t n_train;
    const int32_t *test_tokens;  /* the held-out text they are scored on */
    int64_t n_test;
    int ctx;                     /* window length, 1..n_ctx */
    int top;                     /* token tasks: number of classes asked for */
    int buckets;                 /* position: number of classes */
    const int32_t *train_labels; /* labels: (n_train) and (n_test) classes 0..LS_PROBE_MAX_CLASSES-1, -1 = left out */
    const int32_t *test_labels;
    const ls_probe_site *sites;
    int n_sites;
    int batch;                   /* windows per forward batch */
    int n_threads;
} ls_probe_setup;

/* A prepared probe: labels derived, texts checked, a forward state, no
 * classifier yet. Reusable across weights views (a sweep calls it per row). */
typedef struct ls_probe ls_probe;

int ls_probe_new(ls_probe **out, const ls_config *cfg, const ls_probe_setup *setup, ls_error *err);
void ls_probe_free(ls_probe *p);

/* Number of classes (the chance level is 1 / classes). */
int ls_probe_classes(const ls_probe *p);
/* Token tasks: the token id of each class (ls_probe_classes of them); NULL otherwise. */
const int32_t *ls_probe_class_tokens(const ls_probe *p);
int64_t ls_probe_train_samples(const ls_probe *p);
int64_t ls_probe_test_samples(const ls_probe *p);
/* The majority-class baseline: the test accuracy of always answering the
 * train text's most frequent class (*cls, may be NULL). */
double ls_probe_majority(const ls_probe *p, int *cls);

/* The current-token baseline: the test accuracy of answering, at each
 * labelled position, the class most frequent in the train text among
 * positions holding the same token (the majority class for a token the
 * train text never labels). What can be known from the current token
 * alone: for prev-token, the text's bigram statistics (a probe must beat
 * this to show that attention moved the previous token in); for token, 1. */
double ls_probe_token_baseline(const ls_probe *p);

/* Hooks (NULL: none) that run on every activation before the probe reads
 * it, in fitting and scoring alike: activation interventions, so that the
 * probe reads the intervened model (a sweep row's). Copied; their ctx must
 * outlive their use. */
int ls_probe_set_hooks(ls_probe *p, const ls_hooks *hooks, ls_error *err);

/* Trains one classifier per site on the train text's activations under w
 * (replacing any earlier ones). */
int ls_probe_fit(ls_probe *p, const ls_weights *w, ls_error *err);
/* accuracy (n_sites): the fitted classifiers scored on the test text's
 * activations under w, which may be another view than the one they were
 * fitted on (probes trained on the clean model, read on a lesioned one). */
int ls_probe_score(ls_probe *p, const ls_weights *w, double *accuracy, ls_error *err);
/* ls_probe_fit and ls_probe_score with the same view. */
int ls_probe_run(ls_probe *p, const ls_weights *w, double *accuracy, ls_error *err);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
