/* bench_lesion.c: lesion's side of `make bench` (bench/run.sh drives it).
 *
 * One process runs one workload: it opens the model, runs --warmup untimed
 * repetitions, then --reps timed ones, and prints one JSON object on stdout
 * with the seconds of every repetition, tokens/s, the FLOPs of one
 * repetition and the process's peak RSS. tools/bench_torch.py prints the
 * same object for PyTorch, so bench/report.py can pair them.
 *
 * Workloads (the shapes of the performance issue):
 *   prefill-1x1024  one sequence of 1024 tokens, logits for every position
 *   prefill-1x512   one sequence of 512 tokens (the model-family rows)
 *   prefill-8x128   8 sequences of 128 tokens, logits for every position
 *   decode          batch 1: a 16-token prompt (untimed), then --steps
 *                   single-token forwards through the KV cache, greedy
 *   first-token     main() entry -> model open -> 16-token prompt -> the
 *                   first sampled token; run once per process (run.sh also
 *                   times the whole process from outside)
 *   sgemm           cblas_sgemm of (1024,768) x (768,3072), the c_fc shape
 *                   of a 1024-token prefill, OpenBLAS-threaded and split
 *                   by columns over threads: the machine's practical peak
 *
 * The model may be of any family ls_model_open reads (GPT-2, the Llama
 * family, GPT-NeoX); the FLOP count follows its shapes.
 *
 * --weights f32|f32-copy|bf16 picks the weight storage, --compute bf16
 * (with bf16 weights) the bf16 products; --label NAME reports the process
 * under another workload name (the scale rows: "xl-prefill-1x1024", the
 * family rows: "smollm2-135m/prefill-1x512"). --hook SITE (a site spec,
 * "resid_post@L5") installs a hook through the public API that asks for that
 * site and sums every value it is shown: the cost of observing one site,
 * against the same workload with no hooks.
 * $LESION_ISA forces a kernel path as for the CLI; every line records the
 * path and the OpenBLAS kernel that ran.
 *
 * It also writes the benchmark checkpoint (--init DIR), with the library's
 * own random GPT-2 init, so the harness never depends on the CLI.
 *
 * Token ids are a fixed hash of the position, so both implementations see
 * the same ids; timing does not depend on them. */
#include <lesion.h>
#include <lesion/sites.h>

#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_secs(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

/* The ids both implementations use: a fixed hash of the index, in [0, V). */
static void fill_ids(int32_t *ids, int64_t n, int V) {
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)(ls_mix64(1234, (uint64_t)i) % (uint64_t)V);
}

/* Matmul FLOPs (2 per multiply-add) of running positions pos0..pos0+T-1 of B
 * sequences, with n_logits rows through the head. Per token and layer, with
 * C the width, H query and KV key/value heads of D dims, F the MLP width:
 * queries and the output projection 2C(HD) each, keys and values 2C(KV D)
 * each, the MLP 2CF per matrix (two, or three when gated); attention at
 * position p reads p+1 keys: 2HD(p+1) for q.k and 2HD(p+1) for the
 * weighted sum of values. GPT-2 (HD = KV D = C, F = 4C): 24C^2 + 4C(p+1). */
static double forward_flops(const ls_config *c, int B, int T, int pos0, int64_t n_logits) {
    double C = c->n_embd, HD = (double)c->n_head * c->d_head, KVD = (double)c->n_kv_head * c->d_head, keys = 0;
    double mlp_mats = c->act == LS_ACT_SILU ? 3 : 2;
    for (int t = 0; t < T; t++) keys += pos0 + t + 1;
    double per_layer = (4.0 * C * HD + 4.0 * C * KVD + 2.0 * mlp_mats * C * c->n_ff) * T + 4.0 * HD * keys;
    return B * c->n_layer * per_layer + 2.0 * C * c->vocab_size * (double)n_logits;
}

static int32_t argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct bench {
    const char *workload;
    const char *label;   /* the workload name printed (default: workload) */
    const char *weights; /* "f32", "f32-copy" or "bf16" (ls_model_store_bf16) */
    const char *compute; /* "f32" or "bf16" (ls_model_compute_bf16) */
    int threads, warmup, reps, steps;
    double *secs;       /* [reps] */
    double flops;       /* of one repetition */
    double tokens;      /* tokens processed (prefill) or generated (decode) per repetition */
    double load_secs;   /* ls_model_open */
    double extra;       /* first-token: seconds from main() to the first token */
    double sgemm_best[2]; /* sgemm: best seconds with OpenBLAS threads, and split by columns */
    const char *hook;   /* --hook SITE, or NULL */
    struct observer *observer; /* the installed hook's state (NULL without --hook) */
} bench;

/* --hook: one site observed through the public hooks API (forward.h), the
 * way a reader of activations uses it: ask names the site at the layers the
 * spec selects, visit sums every value it is shown (the sum is printed, so
 * the reading cannot be optimised away) and changes nothing. */
typedef struct observer {
    ls_site_spec spec;
    double sum;
    long visits;
} observer;

static uint32_t observer_ask(void *ctx, int layer) {
    const observer *o = ctx;
    int wanted = o->spec.layers.n ? layer >= 0 && ls_index_set_has(&o->spec.layers, layer) : layer < 0;
    return wanted ? 1u << o->spec.site : 0;
}

static int observer_visit(void *ctx, const ls_act *a) {
    observer *o = ctx;
    double sum = 0;
    for (int b = 0; b < a->B; b++)
        for (int t = 0; t < a->T; t++)
            for (int h = 0; h < a->heads; h++) {
                const float *row = a->x + b * a->seq_stride + t * a->row_stride + h * a->head_stride;
                for (int i = 0; i < a->width; i++) sum += row[i];
            }
    o->sum += sum;
    o->visits++;
    return 0; /* read only */
}

/* Installs b->observer's hook on s (nothing without --hook). */
static int install_observer(bench *b, ls_state *s, ls_error *err) {
    if (!b->observer) return 0;
    ls_hooks h = {.ask = observer_ask, .visit = observer_visit, .ctx = b->observer, .first_write_layer = INT_MAX};
    return ls_state_set_hooks(s, &h, err);
}

static void print_json(const bench *b, const ls_config *cfg) {
    printf("{\"impl\": \"lesion\", \"workload\": \"%s\", \"weights\": \"%s\", \"compute\": \"%s\", \"threads\": %d, "
           "\"warmup\": %d, \"isa\": \"%s\", \"blas_kernel\": \"%s\"",
           b->label ? b->label : b->workload, b->weights, b->compute, b->threads, b->warmup,
           ls_isa_name(ls_isa_active()), openblas_get_corename());
    if (cfg)
        printf(", \"model\": {\"arch\": \"%s\", \"n_layer\": %d, \"n_head\": %d, \"n_kv_head\": %d, \"d_head\": %d, "
               "\"n_embd\": %d, \"n_ff\": %d, \"vocab_size\": %d, \"n_ctx\": %d}",
               ls_arch_name(cfg->arch), cfg->n_layer, cfg->n_head, cfg->n_kv_head, cfg->d_head, cfg->n_embd, cfg->n_ff,
               cfg->vocab_size, cfg->n_ctx);
    if (b->observer)
        printf(", \"hook\": \"%s\", \"hook_visits\": %ld, \"hook_sum\": %.9g", b->hook, b->observer->visits,
               b->observer->sum);
    printf(", \"secs\": [");
    for (int i = 0; i < b->reps; i++) printf("%s%.6f", i ? ", " : "", b->secs[i]);
    printf("], \"tokens_per_s\": [");
    for (int i = 0; i < b->reps; i++) printf("%s%.3f", i ? ", " : "", b->tokens / b->secs[i]);
    printf("], \"tokens\": %.0f, \"flops\": %.6g, \"load_secs\": %.6f", b->tokens, b->flops, b->load_secs);
    if (strcmp(b->workload, "first-token") == 0) printf(", \"secs_to_first_token\": %.6f", b->extra);
    if (strcmp(b->workload, "sgemm") == 0)
        printf(", \"gflops_openblas_threads\": %.1f, \"gflops_split_columns\": %.1f", b->flops / b->sgemm_best[0] / 1e9,
               b->flops / b->sgemm_best[1] / 1e9);
    printf(", \"peak_rss_mib\": %.1f}\n", peak_rss_mib());
}

/* Times a (B,T) prefill with logits for every position. */
static int run_prefill(bench *b, ls_model *m, int B, int T, ls_error *err) {
    const ls_config *cfg = ls_model_config(m);
    ls_weights w = ls_model_weights(m);
    ls_state *s;
    if (ls_state_new(&s, cfg, B, T, b->threads, err) != 0) return -1;
    int32_t *ids = malloc((size_t)B * T * sizeof *ids);
    float *logits = malloc((size_t)B * T * (size_t)cfg->vocab_size * sizeof *logits); /* (B,T,V) */
    int rc = ids && logits ? install_observer(b, s, err) : ls_fail(err, "out of memory");
    if (rc == 0) fill_ids(ids, (int64_t)B * T, cfg->vocab_size);
    for (int i = 0; rc == 0 && i < b->warmup + b->reps; i++) {
        double t0 = now_secs();
        rc = ls_forward(s, &w, ids, B, T, 0, logits, LS_LOGITS_ALL, err);
        if (i >= b->warmup) b->secs[i - b->warmup] = now_secs() - t0;
    }
    b->tokens = (double)B * T;
    b->flops = forward_flops(cfg, B, T, 0, (int64_t)B * T);
    free(logits);
    free(ids);
    ls_state_free(s);
    return rc;
}

/* Times --steps greedy single-token forwards after an untimed 16-token prompt. */
static int run_decode(bench *b, ls_model *m, ls_error *err) {
    const ls_config *cfg = ls_model_config(m);
    const int n_prompt = 16, S = n_prompt + b->steps;
    if (S > cfg->n_ctx) return ls_fail(err, "--steps %d: prompt + steps exceed the context %d", b->steps, cfg->n_ctx);
    ls_weights w = ls_model_weights(m);
    ls_state *s;
    if (ls_state_new(&s, cfg, 1, S, b->threads, err) != 0) return -1;
    int32_t prompt[16];
    fill_ids(prompt, n_prompt, cfg->vocab_size);
    float *logits = malloc((size_t)cfg->vocab_size * sizeof *logits);
    int rc = logits ? install_observer(b, s, err) : ls_fail(err, "out of memory");
    for (int i = 0; rc == 0 && i < b->warmup + b->reps; i++) {
        rc = ls_forward(s, &w, prompt, 1, n_prompt, 0, logits, LS_LOGITS_LAST, err);
        double t0 = now_secs();
        for (int p = n_prompt; rc == 0 && p < S; p++) {
            int32_t next = argmax(logits, cfg->vocab_size);
            rc = ls_forward(s, &w, &next, 1, 1, p, logits, LS_LOGITS_LAST, err);
        }
        if (i >= b->warmup) b->secs[i - b->warmup] = now_secs() - t0;
    }
    b->tokens = b->steps;
    b->flops = 0;
    for (int p = n_prompt; p < S; p++) b->flops += forward_flops(cfg, 1, 1, p, 1);
    free(logits);
    ls_state_free(s);
    return rc;
}

/* From main() entry: the model is opened by the caller; prompt, first token. */
static int run_first_token(bench *b, ls_model *m, double t_main, ls_error *err) {
    const ls_config *cfg = ls_model_config(m);
    const int n_prompt = 16;
    ls_weights w = ls_model_weights(m);
    ls_state *s;
    if (ls_state_new(&s, cfg, 1, n_prompt + 1, b->threads, err) != 0) return -1;
    int32_t prompt[16];
    fill_ids(prompt, n_prompt, cfg->vocab_size);
    float *logits = malloc((size_t)cfg->vocab_size * sizeof *logits);
    int rc = logits ? 0 : ls_fail(err, "out of memory");
    double t0 = now_secs();
    if (rc == 0) rc = ls_forward(s, &w, prompt, 1, n_prompt, 0, logits, LS_LOGITS_LAST, err);
    if (rc == 0) {
        volatile int32_t tok = argmax(logits, cfg->vocab_size);
        (void)tok;
        double t1 = now_secs();
        b->secs[0] = t1 - t0;
        b->extra = t1 - t_main;
    }
    b->tokens = 1;
    b->flops = forward_flops(cfg, 1, n_prompt, 0, 1);
    free(logits);
    ls_state_free(s);
    return rc;
}

/* The practical sgemm peak on this machine, (M,K) x (K,N) with M=1024, K=768,
 * N=3072, computed two ways: one call with OpenBLAS's own threads, and (as
 * lesion's kernels do) each thread a single-threaded call on its share of
 * the columns. secs holds the faster way's repetitions. */
static int run_sgemm(bench *b, ls_error *err) {
    const int M = 1024, K = 768, N = 3072, nt = b->threads;
    float *a = malloc((size_t)M * K * sizeof *a), *w = malloc((size_t)K * N * sizeof *w),
          *c = malloc((size_t)M * N * sizeof *c);
    double *other = malloc((size_t)b->reps * sizeof *other);
    int rc = a && w && c && other ? 0 : ls_fail(err, "out of memory");
    for (int64_t i = 0; rc == 0 && i < (int64_t)M * K; i++) a[i] = (float)(i % 17) * 0.01f;
    for (int64_t i = 0; rc == 0 && i < (int64_t)K * N; i++) w[i] = (float)(i % 13) * 0.01f;
    for (int i = 0; rc == 0 && i < b->warmup + b->reps; i++) {
        openblas_set_num_threads(nt);
        double t0 = now_secs();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, w, N, 0.0f, c, N);
        double t1 = now_secs();
        openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
        {
            int t = omp_get_thread_num(), c0 = N * t / nt, c1 = N * (t + 1) / nt;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, c1 - c0, K, 1.0f, a, K, w + c0, N, 0.0f, c + c0,
                        N);
        }
        double t2 = now_secs();
        if (i >= b->warmup) b->secs[i - b->warmup] = t1 - t0, other[i - b->warmup] = t2 - t1;
    }
    double best_blas = 1e30, best_split = 1e30;
    for (int i = 0; rc == 0 && i < b->reps; i++) {
        best_blas = b->secs[i] < best_blas ? b->secs[i] : best_blas;
        best_split = other[i] < best_split ? other[i] : best_split;
    }
    if (rc == 0 && best_split < best_blas) memcpy(b->secs, other, (size_t)b->reps * sizeof *other);
    b->sgemm_best[0] = best_blas, b->sgemm_best[1] = best_split;
    b->tokens = M;
    b->flops = 2.0 * M * N * K;
    free(other);
    free(a);
    free(w);
    free(c);
    return rc;
}

static int usage(void) {
    fprintf(stderr,
            "usage: bench_lesion --model DIR --workload prefill-1x1024|prefill-1x512|prefill-8x128|decode|first-token|sgemm\n"
            "                    [--threads N] [--warmup N] [--reps N] [--steps N] [--weights f32|f32-copy|bf16]\n"
            "                    [--compute f32|bf16] [--label NAME] [--hook SITE (prefill, decode)]\n"
            "       bench_lesion --init DIR [--layers L --heads H --embd C --vocab V --ctx N]  (default: GPT-2 124M)\n");
    return 2;
}

int main(int argc, char **argv) {
    double t_main = now_secs();
    const char *model_dir = NULL, *init_dir = NULL;
    bench b = {.workload = NULL, .weights = "f32", .compute = "f32", .threads = 2, .warmup = 1, .reps = 3, .steps = 128};
    ls_config cfg = ls_config_gpt2(12, 12, 768, 1024, 50257);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        i++;
        if (strcmp(k, "--model") == 0) model_dir = v;
        else if (strcmp(k, "--init") == 0) init_dir = v;
        else if (strcmp(k, "--workload") == 0) b.workload = v;
        else if (strcmp(k, "--threads") == 0) b.threads = atoi(v);
        else if (strcmp(k, "--warmup") == 0) b.warmup = atoi(v);
        else if (strcmp(k, "--reps") == 0) b.reps = atoi(v);
        else if (strcmp(k, "--steps") == 0) b.steps = atoi(v);
        else if (strcmp(k, "--weights") == 0) b.weights = v;
        else if (strcmp(k, "--compute") == 0) b.compute = v;
        else if (strcmp(k, "--label") == 0) b.label = v;
        else if (strcmp(k, "--hook") == 0) b.hook = v;
        else if (strcmp(k, "--layers") == 0) cfg.n_layer = atoi(v);
        else if (strcmp(k, "--heads") == 0) cfg.n_head = atoi(v);
        else if (strcmp(k, "--embd") == 0) cfg.n_embd = atoi(v);
        else if (strcmp(k, "--vocab") == 0) cfg.vocab_size = atoi(v);
        else if (strcmp(k, "--ctx") == 0) cfg.n_ctx = atoi(v);
        else return usage();
    }
    cfg = ls_config_gpt2(cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.n_ctx, cfg.vocab_size); /* derive D, F from the sizes */
    ls_error err;
    const char *isa = getenv("LESION_ISA");
    if (isa && isa[0] && ls_isa_select_by_name(isa, &err) != 0) {
        fprintf(stderr, "bench_lesion: LESION_ISA=%s: %s\n", isa, err.msg);
        return 2;
    }
    if (init_dir) {
        if (ls_model_init_random(&cfg, 0, LS_DTYPE_F32, init_dir, &err) != 0) {
            fprintf(stderr, "bench_lesion: %s\n", err.msg);
            return 1;
        }
        return 0;
    }
    if (!b.workload || (!model_dir && strcmp(b.workload, "sgemm") != 0) || b.threads < 1 || b.warmup < 0 ||
        (strcmp(b.weights, "f32") != 0 && strcmp(b.weights, "f32-copy") != 0 && strcmp(b.weights, "bf16") != 0) ||
        (strcmp(b.compute, "f32") != 0 && strcmp(b.compute, "bf16") != 0) ||
        b.reps < 1 || b.steps < 1)
        return usage();
    int first = strcmp(b.workload, "first-token") == 0;
    if (first) b.warmup = 0, b.reps = 1;
    double secs[b.reps];
    b.secs = secs;

    if (b.hook && (first || strcmp(b.workload, "sgemm") == 0)) return usage();
    observer obs = {.sum = 0};
    ls_model *m = NULL;
    int rc;
    if (strcmp(b.workload, "sgemm") == 0) {
        rc = run_sgemm(&b, &err);
    } else {
        double t0 = now_secs();
        rc = ls_model_open(&m, model_dir, &err);
        if (rc == 0 && strcmp(b.weights, "bf16") == 0) rc = ls_model_store_bf16(m, &err);
        if (rc == 0 && strcmp(b.compute, "bf16") == 0) rc = ls_model_compute_bf16(m, &err);
        if (rc == 0 && strcmp(b.weights, "f32-copy") == 0) rc = ls_model_copy_f32(m, &err);
        b.load_secs = now_secs() - t0;
        if (rc == 0 && b.hook) {
            rc = ls_site_spec_parse(&obs.spec, ls_model_config(m), b.hook, &err);
            b.observer = &obs;
        }
        if (rc != 0) {
        } else if (strcmp(b.workload, "prefill-1x1024") == 0) {
            rc = run_prefill(&b, m, 1, 1024, &err);
        } else if (strcmp(b.workload, "prefill-1x512") == 0) {
            rc = run_prefill(&b, m, 1, 512, &err);
        } else if (strcmp(b.workload, "prefill-8x128") == 0) {
            rc = run_prefill(&b, m, 8, 128, &err);
        } else if (strcmp(b.workload, "decode") == 0) {
            rc = run_decode(&b, m, &err);
        } else if (first) {
            rc = run_first_token(&b, m, t_main, &err);
        } else {
            ls_model_close(m);
            return usage();
        }
    }
    if (rc != 0) {
        fprintf(stderr, "bench_lesion: %s: %s\n", b.workload, err.msg);
        ls_model_close(m);
        return 1;
    }
    print_json(&b, m ? ls_model_config(m) : NULL);
    ls_model_close(m);
    return 0;
}
