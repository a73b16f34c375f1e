/* cmd_init.c: `lesion init`: a random-weight GPT-2 in Hugging Face layout. */
#include "cli/commands.h"
#include "cli/common.h"

#include <string.h>

static const cli_opt opts[] = {
    {"preset", "NAME", "gpt2, gpt2-medium, gpt2-large, gpt2-xl or distilgpt2"},
    {"layers", "L", "number of blocks (instead of --preset)"},
    {"heads", "H", "attention heads"},
    {"embd", "C", "model width (divisible by heads)"},
    {"vocab", "V", "vocabulary size (default 50257)"},
    {"ctx", "N", "context length (default 1024)"},
    {"dtype", "F32|F16|BF16", "storage type of the weights (default F32)"},
    {"seed", "S", "seed of the random weights (default 0)"},
    {"out", "DIR", "output directory (required)"},
    {0},
};

int cmd_init(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, "init", "Writes a random-weight GPT-2 (GPT-2's N(0, 0.02) init) for tests and benchmarks.",
                       opts, argc, argv);
    if (rc) return rc == 1 ? 0 : rc;
    static const struct { const char *name; int L, H, C; } presets[] = {
        {"gpt2", 12, 12, 768}, {"gpt2-medium", 24, 16, 1024}, {"gpt2-large", 36, 20, 1280},
        {"gpt2-xl", 48, 25, 1600}, {"distilgpt2", 6, 12, 768},
    };
    ls_config cfg = {.vocab_size = 50257, .n_ctx = 1024, .ln_eps = 1e-5f};
    const char *preset = cli_str(&a, "preset", NULL);
    if (preset) {
        size_t i = 0;
        while (i < 5 && strcmp(preset, presets[i].name) != 0) i++;
        if (i == 5)
            return cli_error(a.cmd, 2, "--preset %s: unknown (expected gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2)",
                             preset);
        cfg.n_layer = presets[i].L, cfg.n_head = presets[i].H, cfg.n_embd = presets[i].C;
    } else if (!cli_has(&a, "layers") || !cli_has(&a, "heads") || !cli_has(&a, "embd")) {
        return cli_error(a.cmd, 2, "needs --preset NAME or all of --layers, --heads, --embd");
    }
    long long L, H, C, V, N, seed;
    if (cli_int(&a, "layers", cfg.n_layer, 1, LS_MAX_LAYERS, &L) || cli_int(&a, "heads", cfg.n_head, 1, LS_MAX_HEADS, &H) ||
        cli_int(&a, "embd", cfg.n_embd, 1, LS_MAX_EMBD, &C) || cli_int(&a, "vocab", cfg.vocab_size, 1, LS_MAX_VOCAB, &V) ||
        cli_int(&a, "ctx", cfg.n_ctx, 1, LS_MAX_CTX, &N) || cli_int(&a, "seed", 0, 0, INT64_MAX, &seed))
        return 2;
    cfg.n_layer = (int)L, cfg.n_head = (int)H, cfg.n_embd = (int)C, cfg.vocab_size = (int)V, cfg.n_ctx = (int)N;
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
