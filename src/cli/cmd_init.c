/* cmd_init.c: `lesion init`: a random-weight GPT-2 in Hugging Face layout. */
#include "cli/commands.h"
#include "cli/common.h"

#include <string.h>

static const cli_opt opts[] = {
    {"preset", "NAME", "gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2, smollm2-135m, pythia-160m, llama-3.2-1b, "
                       "qwen2-0.5b or tinyllama-1.1b (shapes only: the weights are random)"},
    {"arch", "TYPE", "gpt2 (default), llama, mistral, qwen2 or gpt_neox (with --layers ...)"},
    {"layers", "L", "number of blocks (instead of --preset)"},
    {"heads", "H", "attention heads"},
    {"embd", "C", "model width"},
    {"kv-heads", "KV", "key/value heads (default: --heads)"},
    {"head-dim", "D", "head size (default: C / H)"},
    {"ff", "F", "MLP hidden width (default: 4C)"},
    {"vocab", "V", "vocabulary size (default 50257)"},
    {"ctx", "N", "context length (default 1024)"},
    {"tied", NULL, "tie the output matrix to the embedding (GPT-2: always)"},
    {"rope-theta", "X", "rotary base (default 10000)"},
    {"rotary-pct", "P", "gpt_neox: fraction of each head that rotates (default 0.25)"},
    {"sequential", NULL, "gpt_neox: sequential residual instead of the parallel one"},
    {"dtype", "F32|F16|BF16", "storage type of the weights (default F32)"},
    {"seed", "S", "seed of the random weights (default 0)"},
    {"out", "DIR", "output directory (required)"},
    {0},
};

/* Real models' shapes, for benchmarks (their config.json values). */
static const struct preset {
    const char *name;
    ls_arch arch;
    int L, H, KV, C, F, V, ctx, tied;
    double theta;
    int llama3; /* rope_scaling llama3, factor 32, as Llama 3.2 */
} presets[] = {
    {"gpt2", LS_ARCH_GPT2, 12, 12, 12, 768, 0, 50257, 1024, 1, 0, 0},
    {"gpt2-medium", LS_ARCH_GPT2, 24, 16, 16, 1024, 0, 50257, 1024, 1, 0, 0},
    {"gpt2-large", LS_ARCH_GPT2, 36, 20, 20, 1280, 0, 50257, 1024, 1, 0, 0},
    {"gpt2-xl", LS_ARCH_GPT2, 48, 25, 25, 1600, 0, 50257, 1024, 1, 0, 0},
    {"distilgpt2", LS_ARCH_GPT2, 6, 12, 12, 768, 0, 50257, 1024, 1, 0, 0},
    {"smollm2-135m", LS_ARCH_LLAMA, 30, 9, 3, 576, 1536, 49152, 8192, 1, 100000, 0},
    {"pythia-160m", LS_ARCH_GPT_NEOX, 12, 12, 12, 768, 3072, 50304, 2048, 0, 10000, 0},
    {"llama-3.2-1b", LS_ARCH_LLAMA, 16, 32, 8, 2048, 8192, 128256, 131072, 1, 500000, 1},
    {"qwen2-0.5b", LS_ARCH_QWEN2, 24, 14, 2, 896, 4864, 151936, 32768, 1, 1000000, 0},
    {"tinyllama-1.1b", LS_ARCH_LLAMA, 22, 32, 4, 2048, 5632, 32000, 2048, 0, 10000, 0},
};

int cmd_init(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "init", "Writes a random-weight model (GPT-2's N(0, 0.02) init) in a family's Hugging Face "
                                   "layout, for tests and benchmarks.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    ls_config cfg = {.arch = LS_ARCH_GPT2, .vocab_size = 50257, .n_ctx = 1024, .ln_eps = 1e-5f, .bos_id = -1,
                     .eos_id = -1};
    const char *preset = cli_str(&a, "preset", NULL), *arch = cli_str(&a, "arch", NULL);
    const size_t n_presets = sizeof presets / sizeof presets[0];
    if (preset) {
        size_t i = 0;
        while (i < n_presets && strcmp(preset, presets[i].name) != 0) i++;
        if (i == n_presets)
            return cli_error(a.cmd, 2, "--preset %s: unknown (expected gpt2, gpt2-medium, gpt2-large, gpt2-xl, "
                                       "distilgpt2, smollm2-135m, pythia-160m, llama-3.2-1b, qwen2-0.5b, tinyllama-1.1b)",
                             preset);
        if (arch) return cli_error(a.cmd, 2, "--arch: a preset fixes the family");
        const struct preset *p = &presets[i];
        cfg.arch = p->arch, cfg.n_layer = p->L, cfg.n_head = p->H, cfg.n_kv_head = p->KV, cfg.n_embd = p->C;
        cfg.n_ff = p->F, cfg.vocab_size = p->V, cfg.n_ctx = p->ctx, cfg.tied_head = p->tied, cfg.rope_theta = p->theta;
        if (p->llama3) {
            cfg.rope_scaling = LS_ROPE_LLAMA3, cfg.rope_factor = 32, cfg.rope_low_freq_factor = 1;
            cfg.rope_high_freq_factor = 4, cfg.rope_original_ctx = 8192;
        }
        if (p->arch == LS_ARCH_GPT_NEOX) cfg.parallel_residual = 1;
    } else if (!cli_has(&a, "layers") || !cli_has(&a, "heads") || !cli_has(&a, "embd")) {
        return cli_error(a.cmd, 2, "needs --preset NAME or all of --layers, --heads, --embd");
    } else if (arch) {
        int found = 0;
        for (int k = 0; k < LS_ARCH_COUNT; k++)
            if (!strcmp(arch, ls_arch_name((ls_arch)k))) cfg.arch = (ls_arch)k, found = 1;
        if (!found) return cli_error(a.cmd, 2, "--arch %s: expected gpt2, llama, mistral, qwen2 or gpt_neox", arch);
        if (cfg.arch == LS_ARCH_GPT_NEOX) cfg.parallel_residual = !cli_has(&a, "sequential");
    }
    if (cfg.arch == LS_ARCH_GPT2) cfg.tied_head = 1;
    else if (cli_has(&a, "tied")) cfg.tied_head = 1;
    long long L, H, KV, C, D, F, V, N, seed;
    double theta, pct;
    if (cli_int(&a, "layers", cfg.n_layer, 1, LS_MAX_LAYERS, &L) || cli_int(&a, "heads", cfg.n_head, 1, LS_MAX_HEADS, &H) ||
        cli_int(&a, "embd", cfg.n_embd, 1, LS_MAX_EMBD, &C) || cli_int(&a, "vocab", cfg.vocab_size, 1, LS_MAX_VOCAB, &V) ||
        cli_int(&a, "kv-heads", cfg.n_kv_head, 0, LS_MAX_HEADS, &KV) || cli_int(&a, "head-dim", 0, 0, LS_MAX_EMBD, &D) ||
        cli_int(&a, "ff", cfg.n_ff, 0, LS_MAX_FF, &F) || cli_int(&a, "ctx", cfg.n_ctx, 1, LS_MAX_CTX, &N) ||
        cli_int(&a, "seed", 0, 0, INT64_MAX, &seed) || cli_float(&a, "rope-theta", cfg.rope_theta, 0, 1e12, &theta) ||
        cli_float(&a, "rotary-pct", 0.25, 0.01, 1, &pct))
        return 2;
    cfg.n_layer = (int)L, cfg.n_head = (int)H, cfg.n_embd = (int)C, cfg.vocab_size = (int)V, cfg.n_ctx = (int)N;
    cfg.n_kv_head = (int)KV, cfg.d_head = (int)D, cfg.n_ff = (int)F, cfg.rope_theta = theta;
    if (cfg.arch == LS_ARCH_GPT_NEOX) {
        int d = cfg.n_embd / cfg.n_head;
        cfg.rope_dims = (int)(d * pct);
        cfg.rope_dims -= cfg.rope_dims % 2;
        cfg.act = LS_ACT_GELU_ERF;
    }
    if (cfg.arch != LS_ARCH_GPT2 && cfg.arch != LS_ARCH_GPT_NEOX) cfg.ln_eps = 1e-5f;
    ls_config_derive(&cfg);
    const char *dt = cli_str(&a, "dtype", "F32"), *out = cli_str(&a, "out", NULL);
    ls_dtype dtype = LS_DTYPE_F32;
    if (strcmp(dt, "F16") == 0) dtype = LS_DTYPE_F16;
    else if (strcmp(dt, "BF16") == 0) dtype = LS_DTYPE_BF16;
    else if (strcmp(dt, "F32") != 0) return cli_error(a.cmd, 2, "--dtype %s: expected F32, F16 or BF16", dt);
    if (!out) return cli_error(a.cmd, 2, "needs --out DIR");
    ls_error err;
    if (ls_config_validate(&cfg, &err) != 0) return cli_error(a.cmd, 2, "%s", err.msg);
    if (ls_model_init_random(&cfg, (uint64_t)seed, dtype, out, &err) != 0) return cli_error(a.cmd, 1, "%s", err.msg);
    return 0;
}
