/* main.c: the lesion command-line tool: dispatch to one file per command.
 *
 * Exit status: 0 success, 1 runtime error (bad file, model, I/O), 2 usage
 * error (unknown flag, bad value, bad spec). Errors are one line on stderr. */
#include "cli/commands.h"
#include "cli/system.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"sweep", cmd_sweep, "run a lesion experiment and write a report (the main job)"},
    {"report", cmd_report, "rebuild a sweep's report from its rows, or compare several sweeps"},
    {"merge", cmd_merge, "combine the folders of one sweep's shards (sweep --shard K/N) into one"},
    {"generate", cmd_generate, "generate text, optionally from a lesioned model"},
    {"eval", cmd_eval, "cross-entropy, perplexity and bits per byte on a text file"},
    {"attention", cmd_attention, "per-head attention entropy and most-attended offset"},
    {"activations", cmd_activations, "named activations of one input as .npy files (clean or lesioned)"},
    {"probe", cmd_probe, "linear probes on activations (previous token, token, position), clean vs lesioned"},
    {"logits", cmd_logits, "write the logits of a token sequence as a .npy file"},
    {"tokenize", cmd_tokenize, "text to token ids"},
    {"detokenize", cmd_detokenize, "token ids to text"},
    {"inspect", cmd_inspect, "config, parameter count and per-tensor statistics"},
    {"export", cmd_export, "write a lesioned model in Hugging Face layout"},
    {"init", cmd_init, "create a random-weight GPT-2 model (for tests and benchmarks)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: lesion COMMAND [options]   (lesion COMMAND --help for its options)\n"
               "       lesion --version [--json]  (the CPU, the kernel paths in use, the BLAS and its kernel)\n\n"
               "environment: LESION_ISA=generic|avx2|avx512|avx512bf16 forces the kernels' instruction-set path\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    int rc = cli_system_setup(argv);
    if (rc) return rc;
    if (argc < 2) return cmd_sweep(0, argv + 1); /* the main job: the seed's experiment, with defaults */
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        int json = argc > 2 && strcmp(argv[2], "--json") == 0;
        if (argc > 2 + json) {
            fprintf(stderr, "lesion: --version takes only --json (got \"%s\")\n", argv[2 + json]);
            return 2;
        }
        cli_print_version(json);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "lesion: unknown command \"%s\" (expected one of: sweep, report, merge, generate, eval, attention, activations, probe, "
                    "logits, tokenize, detokenize, inspect, export, init)\n", argv[1]);
    return 2;
}
